"""Student copies of the notebooks: the same notebooks without their solutions.

Every notebook closes with exercises whose solutions sit in cells tagged
``solution`` (the HTML report hides them). This module writes a copy of each
numbered notebook with those cells removed, outputs cleared, and one empty
``exercise`` cell where each run of solution cells was, for the student's
answer. Run it as ``python -m crm_lib.student`` (``make student``); the
copies go to ``student/`` in the project root.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

from . import config

SOLUTION_TAG = "solution"
#: Text that marks a solution in a cell that someone forgot to tag.
UNTAGGED = re.compile(r"^\s*(#+\s*|[*_]+\s*)*solutions?\b", re.IGNORECASE)


def is_solution(cell) -> bool:
    """Whether a cell is tagged ``solution``."""
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def untagged_solutions(nb) -> list[int]:
    """Indices of cells that look like a solution ("Solution ...") but are not tagged."""
    return [i for i, c in enumerate(nb.cells)
            if not is_solution(c) and UNTAGGED.match(c.get("source", ""))]


def strip_solutions(nb, placeholder: bool = True):
    """A copy of ``nb`` without solution cells and without outputs; returns (notebook, removed).

    Each run of consecutive solution cells becomes one empty code cell tagged
    ``exercise`` (when ``placeholder``), so the student sees where to answer.
    """
    out = nbformat.from_dict(nb)
    cells, removed, in_run = [], 0, False
    for cell in out.cells:
        if is_solution(cell):
            removed += 1
            if placeholder and not in_run:
                blank = nbformat.v4.new_code_cell("# Your answer here\n")
                blank.metadata["tags"] = ["exercise"]
                cells.append(blank)
            in_run = True
            continue
        in_run = False
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    out.cells = cells
    for i, cell in enumerate(out.cells):  # unique, stable ids
        cell["id"] = f"student-{i:03d}"
    return out, removed


def make_student_copy(notebooks_dir: str | Path | None = None,
                      out_dir: str | Path | None = None,
                      placeholder: bool = True) -> dict[str, int]:
    """Write solution-free copies of ``NN_*.ipynb`` to ``out_dir``; returns name -> cells removed.

    Raises ``ValueError`` naming the notebook and cell when a cell looks like a
    solution but is not tagged, so nothing is leaked to students.
    """
    src = Path(notebooks_dir) if notebooks_dir else config.paths().notebooks
    dst = Path(out_dir) if out_dir else config.paths().root / "student"
    nbs = sorted(src.glob("[0-9][0-9]_*.ipynb"))
    if not nbs:
        raise FileNotFoundError(f"no numbered notebooks (NN_name.ipynb) in {src}")
    problems = []
    for p in nbs:
        bad = untagged_solutions(nbformat.read(p, as_version=4))
        problems += [f"{p.name}, cell {i + 1}" for i in bad]
    if problems:
        raise ValueError("cells that look like solutions are not tagged 'solution': "
                         + "; ".join(problems) + ". Tag them so the student copy and the "
                         "HTML report hide them.")
    dst.mkdir(parents=True, exist_ok=True)
    report = {}
    for p in nbs:
        copy, removed = strip_solutions(nbformat.read(p, as_version=4), placeholder)
        nbformat.write(copy, dst / p.name)
        report[p.name] = removed
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m crm_lib.student",
                                 description="Write student copies of the notebooks "
                                             "(solution cells removed).")
    ap.add_argument("--notebooks", help="folder of NN_*.ipynb (default: the project's notebooks/)")
    ap.add_argument("--out", help="output folder (default: student/ in the project root)")
    ap.add_argument("--no-placeholder", action="store_true",
                    help="do not leave an empty answer cell where solutions were")
    a = ap.parse_args(argv)
    try:
        report = make_student_copy(a.notebooks, a.out, placeholder=not a.no_placeholder)
    except (FileNotFoundError, ValueError) as exc:
        print(f"crm_lib.student: {exc}", file=sys.stderr)
        return 2
    dst = Path(a.out) if a.out else config.paths().root / "student"
    for name, n in report.items():
        print(f"{name}: {n} solution cell(s) removed")
    print(f"student copies written to {dst}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
