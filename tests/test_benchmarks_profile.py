"""benchmarks/notebook_profile.py: per-cell times read back from executed notebooks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("profile_bench", ROOT / "benchmarks" / "notebook_profile.py")
profile = importlib.util.module_from_spec(spec)
spec.loader.exec_module(profile)


def _executed(tmp_path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    cells = [nbformat.v4.new_code_cell("x: int = 1  # a parameter"),
             nbformat.v4.new_markdown_cell("# Title\n\n## 3. Who will leave next?\n\ntext"),
             nbformat.v4.new_code_cell("fit = model.fit(X, y)\nprint(fit)"),
             nbformat.v4.new_code_cell("# Solution 1: try a shorter horizon\nrun()"),
             nbformat.v4.new_code_cell("")]
    cells[0].metadata["tags"] = ["parameters"]
    for c, d in zip([cells[0], cells[2], cells[3]], (0.01, 12.5, 0.75), strict=True):
        c.metadata["papermill"] = {"duration": d}
    nb.cells = cells
    path = tmp_path / "04_demo.ipynb"
    nbformat.write(nb, path)
    return path


def test_steps_carry_papermill_durations_and_readable_labels(tmp_path):
    steps = profile.notebook_steps(_executed(tmp_path))
    assert list(steps["cell"]) == [0, 2, 3, 4]
    assert list(steps["step"]) == ["parameters", "3. Who will leave next? | fit = model.fit(X, y)",
                                   "3. Who will leave next? | Solution 1: try a shorter horizon",
                                   "3. Who will leave next? | (empty)"]
    assert steps["seconds"].iloc[:3].tolist() == [0.01, 12.5, 0.75]
    assert steps["seconds"].isna().iloc[3]  # no duration recorded: NaN, not 0
    assert set(steps["notebook"]) == {"04_demo"}


def test_long_lines_are_shortened_and_tables_render():
    label = profile.cell_label("y = " + "a" * 200, "", width=30)
    assert len(label) == 30 and label.endswith("...")
    steps = profile.notebook_steps.__doc__  # documented
    assert "papermill.duration" in steps
    table = profile.markdown_table(__import__("pandas").DataFrame({"step": ["a"], "seconds": [1.234]}))
    assert table.splitlines()[2] == "| a | 1.23 |"
