"""Notebook 01 end to end (demo), and the runner's exit code on a fatal data error."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from crm_lib import contract


def test_notebook_01_records_conservation_for_every_table(demo_run, crm_home):
    """Uses the shared batch run of the small demo (tests/conftest.py)."""
    statuses = {n["name"]: n["status"] for n in demo_run["manifest"]["notebooks"]}
    assert statuses["01_data_cleaning"] == "ok"
    m = demo_run["metrics"]
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
    # raw files untouched: the cache stamp's input hashes still match the files
    from crm_lib.data import file_hashes
    for stamp_path in (crm_home / "data" / "processed").glob("demo-*/_stamp.json"):
        stamp = json.loads(stamp_path.read_text())
        raw = crm_home / "data" / "raw" / stamp_path.parent.name
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
