"""Shared fixtures: one demo of each size and one executed run per test session.

Every test session works in a throwaway project home (``CRM_HOME``), so
data/ and reports/ of the checkout are never touched.

- ``demo_small`` (3,000 customers, seed 7) and ``demo_20k`` (20,000
  customers, seed 42: the default company) are generated once per session
  (per xdist worker), never in module fixtures.
- ``demo_run`` runs the whole notebook batch once on the small demo company
  and is shared by all notebook tests (and by both pytest-xdist workers,
  through a file lock); tests read its executed notebooks instead of
  executing them again.
- ``run_notebook`` is the one papermill helper for tests that need a
  notebook on other parameters than the shared run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

SMALL_DEMO = {"n_customers": 3000, "seed": 7}
DEFAULT_DEMO = {"n_customers": 20000, "seed": 42}  # the notebooks' default company


@pytest.fixture(scope="session", autouse=True)
def crm_home(tmp_path_factory) -> Path:
    """A shared project home for the whole test session (all workers)."""
    root = tmp_path_factory.getbasetemp()
    shared = root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root
    home = shared / "crm_home"
    home.mkdir(exist_ok=True)
    os.environ["CRM_HOME"] = str(home)
    return home


@pytest.fixture(scope="session")
def demo_small():
    """The small demo company in memory (tables, truth, per-customer truth)."""
    from crm_lib.sources import demo
    return demo.generate(demo.DemoParams(**SMALL_DEMO))


@pytest.fixture(scope="session")
def demo_20k():
    """The default demo company (20,000 customers, seed 42) in memory, generated once."""
    from crm_lib.sources import demo
    return demo.generate(demo.DemoParams(**DEFAULT_DEMO))


@dataclass
class ExecutedNotebook:
    """A notebook executed by :func:`run_notebook`: output file, run folder, metrics, text."""

    path: Path
    run_dir: Path
    metrics: dict
    text: str  # every stream and text/plain output of the code cells, joined

    @property
    def notebook(self):
        import nbformat
        return nbformat.read(self.path, as_version=4)


def execute_notebook(stem: str, folder: Path, **parameters) -> ExecutedNotebook:
    """Run ``notebooks/<stem>.ipynb`` with papermill (kernel ``crm``) into ``folder``."""
    import nbformat
    import papermill as pm

    from crm_lib import config
    run_dir = Path(parameters.pop("run_dir", folder / "run"))
    out = folder / f"{stem}.out.ipynb"
    pm.execute_notebook(str(config.package_root() / "notebooks" / f"{stem}.ipynb"), str(out),
                        parameters=dict(parameters, run_dir=str(run_dir)),
                        kernel_name=config.KERNEL_NAME, progress_bar=False, cwd=str(folder))
    nb = nbformat.read(out, as_version=4)
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                     for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    mfile = run_dir / "metrics.json"
    metrics = json.loads(mfile.read_text()) if mfile.exists() else {}
    return ExecutedNotebook(out, run_dir, metrics, text)


@pytest.fixture
def run_notebook(tmp_path, monkeypatch):
    """``run_notebook(stem, **parameters)``: papermill in a fresh folder (shared project home,
    so cleaned data are reused)."""
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel draws inline, as in a real run

    def run(stem: str, **parameters) -> ExecutedNotebook:
        folder = tmp_path / stem
        folder.mkdir(exist_ok=True)
        return execute_notebook(stem, folder, **parameters)
    return run


def _run_once(crm_home: Path, name: str, **kwargs) -> dict:
    """Run the batch once per test session (shared across xdist workers)."""
    from crm_lib import runner
    out = crm_home / "reports-shared"
    marker = out / f"{name}.json"
    with FileLock(str(crm_home / f"{name}.lock")):
        if not marker.exists():
            code, run_dir = runner.run(out=str(out), quiet=True, **kwargs)
            out.mkdir(parents=True, exist_ok=True)
            marker.write_text(json.dumps({"code": code, "run_dir": str(run_dir)}))
    return json.loads(marker.read_text())


@pytest.fixture(scope="session")
def demo_run(crm_home) -> dict:
    """Every notebook run once on the small demo company.

    Returns ``{"code": exit code, "run_dir": Path, "metrics": dict,
    "manifest": dict}``.
    """
    r = _run_once(crm_home, "demo_run", overrides=dict(SMALL_DEMO))
    run_dir = Path(r["run_dir"])
    return {"code": r["code"], "run_dir": run_dir,
            "metrics": json.loads((run_dir / "metrics.json").read_text()),
            "manifest": json.loads((run_dir / "manifest.json").read_text())}
