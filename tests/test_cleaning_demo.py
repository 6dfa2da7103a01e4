"""Cleaning the demo company: zero quarantined rows, refunds kept; and the messy
copy of it, where every injected problem is found exactly once."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_lib import cleaning, contract
from crm_lib.cleaning import messy
from crm_lib.sources import demo

AS_OF = "2026-06-30"


@pytest.fixture(scope="module")
def demo_clean(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    demo.write_demo(root / "raw", root / "truth",
                    demo.DemoParams(n_customers=1500, seed=7, as_of=AS_OF))
    report = cleaning.clean_folder(root / "raw", root / "out", root / "q",
                                   tables=contract.TABLES, as_of=AS_OF)
    return root, report


def test_demo_passes_with_zero_quarantined_rows_and_keeps_refunds(demo_clean):
    root, report = demo_clean
    raw_tx = pd.read_csv(root / "raw" / "transactions.csv")
    for t in contract.TABLES:
        r = report["tables"][t]
        assert r["rows_quarantined"] == 0 and r["rows_duplicate_dropped"] == 0, t
        assert r["rows_clean"] == r["rows_in"] == len(pd.read_csv(root / "raw" / f"{t}.csv"))
    assert not any((root / "q").glob("*.csv"))
    tx = pd.read_parquet(root / "out" / "transactions.parquet")
    n_refunds = int((raw_tx["amount"] < 0).sum())
    assert n_refunds > 0 and int((tx["amount"] < 0).sum()) == n_refunds
    # the demo's spellings are kept (canonical spelling = the usual one)
    cust = pd.read_parquet(root / "out" / "customers.parquet")
    raw_c = pd.read_csv(root / "raw" / "customers.csv")
    assert sorted(cust["region"].unique()) == sorted(raw_c["region"].unique())
    assert cust["monthly_charges"].sum() == pytest.approx(raw_c["monthly_charges"].sum())


def test_messy_copy_of_the_demo_finds_exactly_what_was_injected(demo_clean, tmp_path):
    root, _ = demo_clean
    tables = {t: pd.read_parquet(root / "out" / f"{t}.parquet")
              for t in ("customers", "transactions")}
    report, cmp = messy.messy_lab(tables, tmp_path, seed=11, as_of=AS_OF, n_customers=300)
    mismatch = cmp[cmp["injected"] != cmp["found"]]
    assert mismatch.empty, mismatch.to_string()
    assert len(cmp) >= 20  # counts, reasons, repairs, refunds
    assert report["tables"]["transactions"]["encoding"] == "gb18030"
    assert report["tables"]["customers"]["encoding"] == "utf-8-sig"
    assert report["conserved"]


def test_messy_copy_without_customers_has_no_orphans(demo_clean, tmp_path):
    root, _ = demo_clean
    tx = pd.read_parquet(root / "out" / "transactions.parquet")
    report, cmp = messy.messy_lab({"transactions": tx}, tmp_path, seed=2, as_of=AS_OF)
    assert (cmp["injected"] == cmp["found"]).all(), cmp.to_string()
    assert "orphan:customer_id" not in report["tables"]["transactions"]["quarantine_reasons"]


def test_fatal_example_message_names_file_column_and_rule(tmp_path):
    msg = messy.fatal_example(tmp_path)
    assert "customers.csv" in msg and "'signup_date'" in msg and "rule:" in msg
