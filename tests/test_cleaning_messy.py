"""The messy fixture: every cleaning rule fires an exactly known number of times.

Expected counts come from the fixture's construction (tests/data/messy/README.md
lists every row's intent), not from running the code.
"""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest
from _messy_fixture import OPTIONS, TABLES, build

from crm_lib import cleaning

AS_OF = "2026-06-30"

EXPECTED_COUNTS = {  # rows_in, rows_clean, rows_quarantined, rows_duplicate_dropped
    "customers": (19, 8, 10, 1),  # C011's reason "bored" is read as unknown (kept)
    "transactions": (15, 6, 8, 1),
    "survey_codebook": (4, 3, 1, 0),
    "survey_responses": (7, 3, 4, 0),
    "interactions": (6, 3, 3, 0),
    "campaigns": (9, 3, 5, 1),
}

EXPECTED_REASONS = {
    "customers": {
        "conflicting_duplicate:customer_id": 2, "future_date:signup_date": 2,
        "negative:monthly_charges": 2, "signup_after_end": 1, "unparseable:signup_date": 1,
        "missing:customer_id": 1,
        "not_integer:n_products": 1, "unparseable:churned": 1,
    },
    "transactions": {
        "orphan:customer_id": 1, "customer_quarantined:customer_id": 1,
        "future_date:date": 1, "unparseable:amount": 1,
        "conflicting_duplicate:transaction_id": 2, "malformed_row": 1,
        "missing:customer_id": 1,
    },
    "survey_codebook": {"scale_max_not_above_min": 1},
    "survey_responses": {"out_of_scale:SAT1": 1, "out_of_range:nps": 1,
                         "orphan:customer_id": 1, "future_date:date": 1},
    "interactions": {"resolved_before_opened": 1, "orphan:customer_id": 1,
                     "future_date:opened_at": 1},
    "campaigns": {"negative:offer_cost": 1,
                  "conflicting_duplicate:customer_id+campaign_id": 2,
                  "customer_quarantined:customer_id": 1, "unparseable:treated": 1},
}


def _hashes(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    root = tmp_path_factory.mktemp("messy")
    raw = build(root / "raw")
    before = _hashes(raw)
    report = cleaning.clean_folder(raw, root / "out", root / "quarantine", tables=TABLES,
                                   as_of=AS_OF, **OPTIONS)
    return {"root": root, "raw": raw, "before": before, "report": report}


def test_raw_files_are_byte_identical_after_cleaning(messy):
    assert _hashes(messy["raw"]) == messy["before"]
    assert len(messy["before"]) == 6


def test_counts_per_table_are_exact_and_conserved(messy):
    tables = messy["report"]["tables"]
    assert set(tables) == set(TABLES)
    for t, (rin, rclean, rq, rdup) in EXPECTED_COUNTS.items():
        r = tables[t]
        assert (r["rows_in"], r["rows_clean"], r["rows_quarantined"],
                r["rows_duplicate_dropped"]) == (rin, rclean, rq, rdup), t
        assert r["rows_in"] == r["rows_clean"] + r["rows_quarantined"] + \
            r["rows_duplicate_dropped"]
        assert r["conserved"]
    assert messy["report"]["conserved"]


def test_quarantine_reasons_are_exact(messy):
    for t, reasons in EXPECTED_REASONS.items():
        assert messy["report"]["tables"][t]["quarantine_reasons"] == reasons, t


def test_every_quarantined_row_is_written_with_original_values_and_reason(messy):
    qdir = messy["root"] / "quarantine"
    for t, (_, _, rq, _) in EXPECTED_COUNTS.items():
        q = pd.read_csv(qdir / f"{t}.csv", dtype=str, keep_default_na=False)
        assert len(q) == rq, t
        assert (q["reason"] != "").all()
        # every reason count in the report is the number of lines carrying it
        counts = q["reason"].str.split("; ").explode().value_counts().to_dict()
        assert counts == EXPECTED_REASONS[t], t
    cust = pd.read_csv(qdir / "customers.csv", dtype=str, keep_default_na=False)
    # original headers and original text, not the repaired values
    assert "Customer ID" in cust and "Monthly Fee" in cust
    c015 = cust[cust["Customer ID"] == "C015"].iloc[0]
    assert c015["Monthly Fee"] == "-1" and c015["signup_date"] == "2031-05-05"
    assert set(c015["reason"].split("; ")) == {"negative:monthly_charges",
                                               "future_date:signup_date"}
    assert cust.loc[cust["Customer ID"] == "C010", "signup_date"].item() == "not a date"
    tx = pd.read_csv(qdir / "transactions.csv", dtype=str, keep_default_na=False)
    assert tx.loc[tx["transaction_id"] == "T05", "product"].item() == "手机壳"  # GBK decoded
    bad = tx[tx["reason"] == "malformed_row"]
    assert bad["raw_line"].item() == "T11,C001,2024-04-05,10,case,web,extra,extra"


def test_processed_tables_have_contract_types_and_repaired_values(messy):
    out = messy["root"] / "out"
    c = pd.read_parquet(out / "customers.parquet").set_index("customer_id")
    assert list(c.index) == ["C001", "C002", "C003", "C004", "C005", "C011",
                             "C014", "C016"]
    assert str(c["signup_date"].dtype) == "datetime64[ns]"
    assert c.loc["C002", "signup_date"] == pd.Timestamp("2024-01-31")  # 31/01/2024
    assert c.loc["C003", "signup_date"] == pd.Timestamp("2024-02-05")  # day-first decided
    assert c.loc["C004", "signup_date"] == pd.Timestamp("2024-01-09")  # Excel serial 45300
    assert c.loc["C002", "monthly_charges"] == 1049.0  # "$1,049.00"
    assert bool(c.loc["C002", "churned"]) and not bool(c.loc["C003", "churned"])  # 是 / 否
    assert c.loc["C002", "churn_reason"] == "competitive"
    # outside the taxonomy: kept as unknown, the text in churn_reason_raw
    assert c.loc["C011", "churn_reason"] == "unknown"
    assert c.loc["C011", "churn_reason_raw"] == "bored"
    assert pd.isna(c.loc["C002", "churn_reason_raw"])  # only case and spacing changed
    assert c.loc["C002", "region"] == "South" and c.loc["C003", "plan"] == "basic"
    assert pd.isna(c.loc["C014", "region"])  # "N/A"
    assert str(c["age"].dtype) == "Int64"  # extra attribute typed
    t = pd.read_parquet(out / "transactions.parquet").set_index("transaction_id")
    assert t.loc["T02", "amount"] == -19.99  # refunds are valid rows
    assert t.loc["T03", "amount"] == 1200.0 and t.loc["T01", "product"] == "手机壳"
    assert t.loc["T12", "date"] == pd.Timestamp("2024-05-01")
    i = pd.read_parquet(out / "interactions.parquet").set_index("interaction_id")
    assert i.loc["I02", "opened_at"] == pd.Timestamp("2024-04-18")  # serial in Excel
    assert i.loc["I06", "category"] == "billing" and bool(i.loc["I06", "resolved"])
    camp = pd.read_parquet(out / "campaigns.parquet").set_index("customer_id")
    assert camp.loc["C001", "offer_cost"] == 20.0 and bool(camp.loc["C001", "treated"])
    s = pd.read_parquet(out / "survey_responses.parquet").set_index("response_id")
    assert pd.isna(s.loc["R02", "customer_id"]) and pd.isna(s.loc["R07", "nps"])
    assert list(pd.read_parquet(out / "survey_codebook.parquet")["item"]) == \
        ["SAT1", "SAT2", "LOY1"]


def test_repairs_are_logged_with_counts_and_examples(messy):
    rep = cleaning.repairs_frame(messy["report"]).set_index(["table", "column", "repair"])
    assert rep.loc[("customers", "signup_date", "dmy_date"), "values"] == 2
    assert rep.loc[("customers", "signup_date", "excel_serial"), "values"] == 1
    assert rep.loc[("customers", "monthly_charges", "currency_symbol"), "values"] == 1
    assert rep.loc[("transactions", "amount", "thousands_separator"), "values"] == 1
    assert rep.loc[("campaigns", "offer_cost", "decimal_comma"), "values"] == 9
    assert rep.loc[("customers", "region", "missing_marker"), "values"] == 1
    assert "'$1,049.00' -> '1049.0'" in rep.loc[("customers", "monthly_charges",
                                                 "currency_symbol"), "examples"]
    renamed = messy["report"]["tables"]["customers"]["renamed_columns"]
    assert {"from": "Monthly Fee", "to": "monthly_charges", "how": "column_map"} in renamed
    assert {"from": "Customer ID", "to": "customer_id", "how": "header_normalised"} in renamed
    reads = {t: (r["format"], r["encoding"]) for t, r in
             messy["report"]["tables"].items()}
    assert reads["transactions"] == ("csv", "gb18030")
    assert reads["survey_codebook"] == ("csv", "utf-8-sig")
    assert reads["interactions"][0] == "excel"
    assert messy["report"]["tables"]["campaigns"]["sep"] == ";"


def test_outliers_are_flagged_not_dropped(messy):
    flags = pd.read_csv(messy["root"] / "out" / "outlier_flags.csv", dtype={"value": float})
    got = {(r.table, r.column, r.value) for r in flags.itertuples()}
    assert got == {("customers", "monthly_charges", 1049.0),
                   ("transactions", "amount", 1200.0)}
    assert flags["rule"].str.startswith("Tukey far-out fences k=3").all()
    tables = messy["report"]["tables"]
    assert tables["customers"]["outliers"]["monthly_charges"]["n_flagged"] == 1
    # the flagged rows are still in the processed tables
    c = pd.read_parquet(messy["root"] / "out" / "customers.parquet")
    assert (c["monthly_charges"] == 1049.0).sum() == 1


def test_report_is_json_and_metrics_hold_conservation(messy):
    report = json.loads(json.dumps(messy["report"]))
    m = cleaning.conservation_metrics(report)
    for t, (rin, rclean, rq, rdup) in EXPECTED_COUNTS.items():
        assert m[f"cleaning.{t}.rows_in"] == rin
        assert m[f"cleaning.{t}.rows_in"] == m[f"cleaning.{t}.rows_clean"] + \
            m[f"cleaning.{t}.rows_quarantined"] + m[f"cleaning.{t}.rows_duplicate_dropped"]
        assert (m[f"cleaning.{t}.rows_clean"], m[f"cleaning.{t}.rows_quarantined"],
                m[f"cleaning.{t}.rows_duplicate_dropped"]) == (rclean, rq, rdup)


def test_stale_quarantine_files_are_removed_on_a_clean_rerun(messy, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "customers.csv").write_text("customer_id,signup_date\nC1,2024-01-01\n")
    qdir = tmp_path / "q"
    qdir.mkdir()
    (qdir / "customers.csv").write_text("stale\n")
    rep = cleaning.clean_folder(raw, tmp_path / "out", qdir, tables=("customers",),
                                as_of=AS_OF)
    assert rep["tables"]["customers"]["rows_quarantined"] == 0
    assert not (qdir / "customers.csv").exists()
