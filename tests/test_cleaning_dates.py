"""Dates: day/month order decided per column (never by majority), and sentinel
"no end" dates read as open.

Issue 11, case 2: a column where some dates are only valid day-first and others
only month-first was decided by majority vote (84 swapped, 207 quarantined).
Case 3: ``9999-12-31`` end dates were quarantined, dropping active customers.
"""

from __future__ import annotations

import pandas as pd
import pytest
from _messy_fixture import write_excel

from crm_lib import cleaning
from crm_lib.cleaning import DataContractError
from crm_lib.cleaning import repairs as r

AS_OF = "2026-06-30"
T = pd.Timestamp


def _folder(tmp_path, name: str, text: str):
    raw = tmp_path / "raw"
    raw.mkdir(exist_ok=True)
    (raw / name).write_text(text, encoding="utf-8")
    return raw


def _clean(raw, tmp_path, tables=("customers",), **options):
    rep = cleaning.clean_folder(raw, tmp_path / "out", tmp_path / "q", tables=tables,
                                as_of=AS_OF, **options)
    return rep, {t: pd.read_parquet(tmp_path / "out" / f"{t}.parquet") for t in tables}


def test_mixed_day_and_month_first_stops_naming_dayfirst(tmp_path):
    rows = ["C1,25/01/2024", "C2,26/01/2024", "C3,27/01/2024", "C4,01/30/2024",
            "C5,03/04/2024"]
    raw = _folder(tmp_path, "customers.csv", "customer_id,signup_date\n" + "\n".join(rows))
    with pytest.raises(DataContractError) as e:
        _clean(raw, tmp_path)
    msg = e.value.message
    for part in ("customers.csv", "table 'customers'", "column 'signup_date'",
                 "3 date(s) are only valid day-first", "1 only month-first",
                 "rule: one day/month order per column", "dayfirst"):
        assert part in msg, part


def test_the_option_resolves_and_misfits_are_quarantined_never_swapped(tmp_path):
    raw = _folder(tmp_path, "customers.csv", "customer_id,signup_date\n"
                  "C1,25/01/2024\nC2,01/30/2024\nC3,03/04/2024\n")
    rep, t = _clean(raw, tmp_path, dayfirst=True)
    c = t["customers"].set_index("customer_id")["signup_date"].to_dict()
    assert c == {"C1": T("2024-01-25"), "C3": T("2024-04-03")}  # 3 April, day first
    assert rep["tables"]["customers"]["quarantine_reasons"] == {"unparseable:signup_date": 1}
    rep, t = _clean(raw, tmp_path, dayfirst={"customers": False})
    assert t["customers"].set_index("customer_id")["signup_date"].to_dict() == {
        "C2": T("2024-01-30"), "C3": T("2024-03-04")}


def test_one_kind_of_evidence_decides_the_whole_column():
    p = r.parse_dates(pd.Series(["13/02/2024", "03/04/2024", "2024-05-06"]))
    assert p.values.tolist() == [T("2024-02-13"), T("2024-04-03"), T("2024-05-06")]
    assert p.note.startswith("dmy (auto: 1 value(s) only valid day-first")


def test_sentinel_end_dates_are_open_and_counted(tmp_path):
    raw = _folder(tmp_path, "customers.csv",
                  "customer_id,signup_date,end_date,churned\n"
                  "C1,2024-01-01,9999-12-31,no\nC2,2024-01-01,31/12/2099,no\n"
                  "C3,2024-01-01,1900-01-01 00:00:00,no\nC4,2024-01-01,2025-03-01,yes\n"
                  "C5,2024-01-01,,no\n")
    rep, t = _clean(raw, tmp_path)
    c = t["customers"].set_index("customer_id")
    assert c["end_date"].isna().tolist() == [True, True, True, False, True]
    r_ = rep["tables"]["customers"]
    assert r_["rows_clean"] == 5 and r_["quarantine_reasons"] == {}
    assert r_["open_end_sentinels"] == {"end_date": 3}
    assert "3 'end_date' value(s) were a 'no end' date" in \
        cleaning.summary_frame(rep).loc["customers", "notes"]
    # the list is configurable; without it 9999-12-31 is not a date the project can hold
    rep, t = _clean(raw, tmp_path, open_end_dates=["2099-12-31"])
    reasons = rep["tables"]["customers"]["quarantine_reasons"]
    assert rep["tables"]["customers"]["open_end_sentinels"] == {"end_date": 1}
    assert reasons == {"unparseable:end_date": 1, "signup_after_end": 1}


def test_sentinels_in_excel_cells_and_ticket_resolution(tmp_path):
    import datetime as dt
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "customers.csv").write_text("customer_id,signup_date\nC1,2024-01-01\n")
    write_excel(raw / "interactions.xlsx", [
        ("interaction_id", "customer_id", "opened_at", "resolved_at"),
        ("I1", "C1", dt.datetime(2024, 3, 1), dt.datetime(9999, 12, 31)),
        ("I2", "C1", dt.datetime(2024, 3, 2), dt.datetime(2024, 3, 3))])
    rep, t = _clean(raw, tmp_path, tables=("customers", "interactions"))
    i = t["interactions"].set_index("interaction_id")
    assert pd.isna(i.loc["I1", "resolved_at"]) and i.loc["I2", "resolved_at"] == T("2024-03-03")
    assert rep["tables"]["interactions"]["open_end_sentinels"] == {"resolved_at": 1}
    # a sentinel only means "open" in an end column: a signup on 1900-01-01 stays a date
    assert rep["tables"]["customers"]["open_end_sentinels"] == {}
