"""Every notebook runs in batch on the small demo company, and again under nbval."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import nbformat

from crm_lib import config, runner


def test_batch_on_demo_runs_every_notebook_ok(demo_run):
    names = [p.stem for p in runner.list_notebooks()]
    statuses = {n["name"]: (n["status"], n["message"]) for n in demo_run["manifest"]["notebooks"]}
    assert sorted(statuses) == names  # run in graph order (04 before 03), all present
    assert all(s == "ok" for s, _ in statuses.values()), statuses
    index = (demo_run["run_dir"] / "index.html").read_text()
    for n in names:
        assert f'href="{n}.html"' in index
        html = (demo_run["run_dir"] / f"{n}.html").read_text()
        assert "crm.start(" not in html  # no code in the HTML report
    assert demo_run["manifest"]["parameters"]["n_customers"] == 3000
    assert [index.index(f'href="{n}.html"') for n in names] == sorted(
        index.index(f'href="{n}.html"') for n in names)  # linked in order


def test_html_reports_hide_solution_cells(demo_run):
    checked = 0
    for p in runner.list_notebooks():
        html = (demo_run["run_dir"] / f"{p.stem}.html").read_text()
        for c in nbformat.read(p, as_version=4).cells:
            if "solution" in c.metadata.get("tags", []) and c.cell_type == "markdown":
                line = max(c.source.splitlines(), key=len).strip()
                assert line[:60] not in html, (p.name, line[:60])
                checked += 1
    assert checked >= 3


def test_cleaning_conserves_rows_on_demo(demo_run):
    m = demo_run["metrics"]
    tables = {k.split(".")[1] for k in m if k.startswith("cleaning.") and k.endswith(".rows_in")}
    assert {"customers", "transactions", "survey_responses", "interactions",
            "campaigns"} <= tables
    for t in tables:
        assert m[f"cleaning.{t}.rows_in"] == (m[f"cleaning.{t}.rows_clean"]
                                              + m[f"cleaning.{t}.rows_quarantined"]
                                              + m[f"cleaning.{t}.rows_duplicate_dropped"])


def test_notebooks_pass_nbval(demo_run, tmp_path):
    """nbval (lax) re-executes each executed notebook (small injected parameters) top to bottom."""
    folder = tmp_path / "nbval"
    folder.mkdir()
    for p in runner.list_notebooks():
        nb = nbformat.read(demo_run["run_dir"] / p.name, as_version=4)
        for c in nb.cells:
            if c.cell_type == "code":
                c.outputs, c.execution_count = [], None
            if "injected-parameters" in c.metadata.get("tags", []):
                c.source = c.source.replace(str(demo_run["run_dir"]), str(tmp_path / "run"))
        nb.cells = [c for c in nb.cells
                    if "papermill-error-cell-tag" not in c.metadata.get("tags", [])]
        nbformat.write(nb, folder / p.name)
    env = dict(os.environ, JUPYTER_PATH=str(config.package_root() / ".venv/share/jupyter"))
    r = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-kernel-name",
                        config.KERNEL_NAME, "-p", "no:cacheprovider", "-q", str(folder)],
                       capture_output=True, text=True, env=env, cwd=str(folder), timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    shutil.rmtree(folder)
