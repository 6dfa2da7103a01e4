"""Shared fixtures.

Every test session works in a throwaway project home (``CRM_HOME``), so
data/ and reports/ of the checkout are never touched. ``demo_run`` runs the
whole notebook batch once on a small demo company and is shared by all
notebook tests (and by both pytest-xdist workers, through a file lock).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from filelock import FileLock

SMALL_DEMO = {"n_customers": 3000, "seed": 7}


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
