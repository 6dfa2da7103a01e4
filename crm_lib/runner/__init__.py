"""Batch runner: execute the numbered notebooks with papermill and publish a report.

``crm-report`` (no arguments) runs every notebook on the demo company and
writes ``reports/<run-id>/`` with the executed notebooks, HTML without code
(and without ``solution`` cells), ``index.html`` (status, duration and
headline figures per notebook), ``metrics.json`` (flat dotted keys) and
``manifest.json`` (parameters, as_of and where it came from, package
versions, input file hashes, each notebook's outcome).

The run is made of steps (:mod:`.steps`) that schedulers call one by one
(``--plan``, ``--run-id ID --stage-only --notebooks NN``, ``--run-id ID
--publish``) and the batch (:mod:`.batch`) calls in one go: notebooks run in
the order of the artefact graph (:func:`crm_lib.artefacts.notebook_graph`),
two at a time by default, each notebook in a fresh kernel that an idle worker
may have started and warmed up (its set-up imports) in advance (:mod:`.kernels`);
each result has the notebook's ``timeline``. A run with a failure is published as
``<run-id>-failed`` and never replaces the last good report
(``reports/latest.txt``).
"""

from __future__ import annotations

from . import _lean  # noqa: F401  (first: before nbformat and papermill)
from .batch import DEFAULT_JOBS, find_resume, new_run_id, run
from .cli import main
from .notebooks import (
                        RunError,
                        crm_metadata,
                        headline,
                        list_notebooks,
                        order_notebooks,
                        plan_json,
                        requires,
                        select_notebooks,
)
from .report import export_html, write_index
from .steps import (
                        EXIT_FAILED,
                        EXIT_OK,
                        EXIT_PERMANENT,
                        EXIT_RETRIABLE,
                        EXIT_SKIPPED,
                        NotebookResult,
                        RunContext,
                        init_staging,
                        merge_metrics,
                        package_versions,
                        prepare,
                        publish,
                        run_notebook,
)

__all__ = ["DEFAULT_JOBS", "EXIT_FAILED", "EXIT_OK", "EXIT_PERMANENT", "EXIT_RETRIABLE",
           "EXIT_SKIPPED", "NotebookResult", "RunContext", "RunError", "crm_metadata",
           "export_html", "find_resume", "headline", "init_staging", "list_notebooks", "main",
           "merge_metrics", "new_run_id", "order_notebooks", "package_versions", "plan_json",
           "prepare", "publish", "requires", "run", "run_notebook", "select_notebooks",
           "write_index"]
