"""Tiny test notebooks for the runner tests."""

from __future__ import annotations

from pathlib import Path

import nbformat

TINY = {"n_customers": 800, "seed": 3}


def _nb(path: Path, code: str, requires: list[str] | None = None) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('source: str = "demo"  # source\nrun_dir: str = ""  # run')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# test"), params, nbformat.v4.new_code_cell(code)]
    nb.metadata["kernelspec"] = {"name": "crm", "display_name": "Python (crm)",
                                 "language": "python"}
    nb.metadata["crm"] = {"requires": requires or []}
    nbformat.write(nb, path)
    return path
