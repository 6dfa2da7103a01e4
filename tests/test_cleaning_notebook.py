"""Notebook 01 end to end (demo), and the runner's exit code on a fatal data error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import papermill as pm

from crm_lib import contract

ROOT = Path(__file__).resolve().parents[1]
NB = ROOT / "notebooks" / "01_data_cleaning.ipynb"


def test_notebook_01_records_conservation_for_every_table(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_HOME", str(tmp_path / "home"))
    run_dir = tmp_path / "run"
    pm.execute_notebook(str(NB), str(tmp_path / "out.ipynb"), kernel_name="crm",
                        parameters={"n_customers": 1500, "seed": 5, "run_dir": str(run_dir),
                                    "messy_customers": 250},
                        progress_bar=False, cwd=str(NB.parent))
    m = json.loads((run_dir / "metrics.json").read_text())
    for t in contract.TABLES:
        k = f"cleaning.{t}"
        assert m[f"{k}.rows_in"] > 0
        assert m[f"{k}.rows_in"] == m[f"{k}.rows_clean"] + m[f"{k}.rows_quarantined"] + \
            m[f"{k}.rows_duplicate_dropped"]
        # the demo company passes with zero quarantined rows (its refunds are valid)
        assert m[f"{k}.rows_quarantined"] == 0 and m[f"{k}.rows_duplicate_dropped"] == 0
    assert m["cleaning.conserved"] is True
    assert m["cleaning.messy_lab.checks"] >= 20
    assert m["cleaning.messy_lab.matched"] == m["cleaning.messy_lab.checks"]
    # raw files untouched: the stamp's input hashes still match the files
    raw = next((tmp_path / "home" / "data" / "raw").glob("demo-*"))
    stamp = json.loads(next((tmp_path / "home" / "data" / "processed").glob(
        "demo-*/_stamp.json")).read_text())
    from crm_lib.data import file_hashes
    assert file_hashes(raw) == stamp["inputs"]


def test_crm_report_exits_non_zero_with_one_paragraph_on_a_fatal_error(tmp_path):
    folder = tmp_path / "mydata"
    folder.mkdir()
    (folder / "customers.csv").write_text("customer_id,joined\nC1,2024-01-01\n")
    env = {**os.environ, "CRM_HOME": str(tmp_path / "home")}
    # `python -m crm_lib.runner` is the `crm-report` entry point (same main())
    res = subprocess.run([sys.executable, "-m", "crm_lib.runner", "--source", "folder", "--data-dir", str(folder),
                          "--notebooks", "01", "--out", str(tmp_path / "reports")],
                         capture_output=True, text=True, env=env, timeout=300, check=False)
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert "DataContractError" in out and "customers.csv" in out and "'signup_date'" in out
    assert "Traceback" not in out
    assert (folder / "customers.csv").read_text() == "customer_id,joined\nC1,2024-01-01\n"
