"""Student copies: no solution cells remain; every notebook has objectives and exercises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from crm_lib import student

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _cell(kind, text, tags=()):
    c = new_code_cell(text) if kind == "code" else new_markdown_cell(text)
    if tags:
        c.metadata["tags"] = list(tags)
    return c


def _toy(folder: Path, name: str = "00_toy.ipynb", untagged: bool = False) -> Path:
    run = _cell("code", "x = 1\nx")
    run.outputs = [new_output("execute_result", {"text/plain": "1"}, execution_count=1)]
    run.execution_count = 1
    cells = [_cell("md", "# Toy\nLearning objectives: none"),
             _cell("code", "seed: int = 1  # seed", ["parameters"]), run,
             _cell("md", "## Exercises\n1. one\n2. two"),
             _cell("md", "**Solution 1.** it is one", ["solution"]),
             _cell("code", "print('answer one')", ["solution"]),
             _cell("md", "Between the solutions"),
             _cell("code", "print('answer two')", ["solution", "other"])]
    if untagged:
        cells.append(_cell("md", "**Solution 3.** forgot the tag"))
    nb = new_notebook(cells=cells)
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)
    return folder / name


def _solution_cells(nb) -> list:
    return [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]


def test_strip_solutions_removes_every_solution_cell(tmp_path):
    nb = nbformat.read(_toy(tmp_path / "src"), as_version=4)
    out, removed = student.strip_solutions(nb)
    assert removed == 3
    assert not _solution_cells(out)
    assert not any(s in c.source for c in out.cells for s in ("answer one", "answer two", "Solution"))
    # one placeholder per run of consecutive solution cells, in place
    tags = [c.metadata.get("tags", []) for c in out.cells]
    assert tags.count(["exercise"]) == 2
    assert [c.source for c in out.cells][4:7] == ["# Your answer here\n", "Between the solutions",
                                                  "# Your answer here\n"]
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in out.cells if c.cell_type == "code")
    assert _solution_cells(nb)  # the source notebook is untouched
    nbformat.validate(out)
    out2, _ = student.strip_solutions(nb, placeholder=False)
    assert len(out2.cells) == len(nb.cells) - 3


def test_untagged_solution_is_refused(tmp_path):
    _toy(tmp_path / "src", untagged=True)
    with pytest.raises(ValueError, match=r"00_toy.ipynb, cell 9"):
        student.make_student_copy(tmp_path / "src", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_writes_student_copies(tmp_path):
    _toy(tmp_path / "src")
    r = subprocess.run([sys.executable, "-m", "crm_lib.student", "--notebooks",
                        str(tmp_path / "src"), "--out", str(tmp_path / "student")],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert "00_toy.ipynb: 3 solution cell(s) removed" in r.stdout
    assert not _solution_cells(nbformat.read(tmp_path / "student" / "00_toy.ipynb", as_version=4))



def test_cli_error_is_a_message(tmp_path, capsys):
    assert student.main(["--notebooks", str(tmp_path / "empty")]) == 2
    assert "no numbered notebooks" in capsys.readouterr().err


def test_project_student_copy_has_no_solutions(tmp_path):
    report = student.make_student_copy(ROOT / "notebooks", tmp_path / "student")
    assert set(report) == {p.name for p in NOTEBOOKS}
    for p in NOTEBOOKS:
        copy = nbformat.read(tmp_path / "student" / p.name, as_version=4)
        assert not _solution_cells(copy), p.name
        assert not student.untagged_solutions(copy), p.name
        assert report[p.name] == len(_solution_cells(nbformat.read(p, as_version=4)))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_objectives_exercises_and_solutions(path):
    """Teaching convention: objectives first, exercises with tagged solutions at the end."""
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and "objective" in nb.cells[0].source.lower()
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "## Exercises" in text or "## Exercise" in text, path.name
    assert _solution_cells(nb), f"{path.name}: no cell tagged 'solution'"
