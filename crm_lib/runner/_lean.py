"""Leaner imports for the runner's processes (imported first by :mod:`crm_lib.runner`).

jsonschema, imported by nbformat and papermill, imports rfc3987-syntax when it is
installed (jupyter-events, of JupyterLab, needs it), which compiles 39 Lark grammars at
import: 1-2 CPU s in every process of a run (crm-report, each worker, each scheduler
task), more than papermill and nbformat together. Notebook validation never uses the
IRI formats that package checks, so the runner's processes go without it: jsonschema
skips a format whose checker cannot be imported. A process that imported it already
keeps it. ``crm-report --plan``: 2.9 -> 1.0 CPU s. The test suite loads this module as
a pytest plugin before the others (pyproject.toml, ``addopts``).
"""

import sys

sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
