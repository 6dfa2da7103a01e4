"""Type repairs value by value: dates, numbers, booleans, categories, outlier fences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_lib.cleaning import DataContractError, outliers
from crm_lib.cleaning import repairs as r

T = pd.Timestamp


def _kinds(p):
    return {k: np.flatnonzero(v).tolist() for k, v in p.repairs.items()}


def test_dates_in_every_supported_format():
    s = pd.Series(["2024-01-05", " 2024/1/5 ", "31/01/2024", "05/02/2024", "45123",
                   "20240105", "31 Jan 2024", "Jan 31, 2024", "2024年1月31日", "N/A", "",
                   None, "garbage", "2024", "2024-01-05T10:00:00+02:00", "9999-12-31"])
    p = r.parse_dates(s)
    want = [T("2024-01-05"), T("2024-01-05"), T("2024-01-31"), T("2024-02-05"),
            T("2023-07-16"), T("2024-01-05"), T("2024-01-31"), T("2024-01-31"),
            T("2024-01-31"), None, None, None, None, None, T("2024-01-05 08:00"), None]
    got = [None if pd.isna(v) else v for v in p.values]
    assert got == want
    assert np.flatnonzero(p.failed).tolist() == [12, 13, 15]  # garbage, year only, 9999
    assert str(p.values.dtype) == "datetime64[ns]"
    k = _kinds(p)
    assert k["dmy_date"] == [2, 3] and k["excel_serial"] == [4]
    assert k["month_name_or_chinese_date"] == [6, 7, 8] and k["missing_marker"] == [9]
    assert p.note.startswith("dmy (auto")


def test_month_first_by_evidence_or_option_and_ambiguity_is_fatal():
    assert r.parse_dates(pd.Series(["01/31/2024", "02/03/2024"])).values.tolist() == \
        [T("2024-01-31"), T("2024-02-03")]
    assert r.parse_dates(pd.Series(["02/03/2024"]), "dmy").values.tolist() == [T("2024-03-02")]
    assert r.parse_dates(pd.Series(["02/03/24"]), "mdy").values.tolist() == [T("2024-02-03")]
    with pytest.raises(DataContractError, match="date_order"):
        r.parse_dates(pd.Series(["02/03/2024"]), column="date", table="transactions")
    with pytest.raises(DataContractError, match="date_order"):
        r.parse_dates(pd.Series(["2024-01-01"]), "ymd")


def test_dates_from_native_types():
    p = r.parse_dates(pd.Series([45300, 45300.5, 12, None]))  # Excel serial numbers
    assert p.values.tolist()[:2] == [T("2024-01-09"), T("2024-01-09 12:00")]
    assert p.failed.tolist() == [False, False, True, False]  # 12 is not a plausible serial
    tz = pd.Series(pd.to_datetime(["2024-01-01 12:00"]).tz_localize("Europe/Berlin"))
    assert r.parse_dates(tz).values.tolist() == [T("2024-01-01 11:00")]


@pytest.mark.parametrize("text,value,kinds", [
    ("12.5", 12.5, set()),
    ("$1,234.50", 1234.5, {"currency_symbol", "thousands_separator"}),
    ("1.234,56", 1234.56, {"decimal_comma", "thousands_separator"}),
    ("12,5", 12.5, {"decimal_comma"}),
    ("1,234,567", 1234567.0, {"thousands_separator"}),
    ("0,125", 0.125, {"decimal_comma"}),
    ("(12.50)", -12.5, {"accounting_negative"}),
    ("€ 3 000", 3000.0, {"currency_symbol"}),
    ("￥100元", 100.0, {"currency_symbol"}),
    ("1 234,50 EUR", 1234.5, {"currency_symbol", "decimal_comma"}),
    ("-7", -7.0, set()),
    ("1e3", 1000.0, set()),
])
def test_numbers(text, value, kinds):
    p = r.parse_numbers(pd.Series([text]))
    assert p.values[0] == pytest.approx(value)
    assert set(p.repairs) == kinds
    assert not p.failed.any()


def test_numbers_that_fail_and_decimal_option():
    p = r.parse_numbers(pd.Series(["abc", "inf", "", "N/A", "12%"]))
    assert p.failed.tolist() == [True, True, False, False, True]
    assert r.parse_numbers(pd.Series(["1,234"]), decimal=",").values[0] == 1.234
    assert r.parse_numbers(pd.Series(["1.234"]), decimal=",").values[0] == 1234.0
    q = r.parse_numbers(pd.Series(["1", "2.5", "x", None]), integer=True)
    assert q.values.tolist()[0] == 1 and str(q.values.dtype) == "Int64"
    assert {k: v.tolist() for k, v in q.failures().items()} == {
        "unparseable": [False, False, True, False], "not_integer": [False, True, False, False]}


def test_booleans():
    s = pd.Series(["Yes", "no", "是", "否", "TRUE", "false", "1", "0", "maybe", None, " Y "])
    p = r.parse_bools(s)
    assert p.values.tolist() == [True, False, True, False, True, False, True, False, pd.NA,
                                 pd.NA, True]
    assert np.flatnonzero(p.failed).tolist() == [8]
    assert _kinds(p)["bool_text"] == [0, 1, 2, 3, 6, 7, 10]  # TRUE/false are canonical
    n = r.parse_bools(pd.Series([1, 0, 2]))
    assert n.values.tolist()[:2] == [True, False] and n.failed.tolist() == [False, False, True]


def test_categories_take_one_canonical_spelling():
    s = pd.Series([" North", "north", "NORTH  east", "North", "North", "South", None, "N/A"])
    p = r.parse_text(s, category=True)
    assert p.values.tolist()[:6] == ["North", "North", "NORTH east", "North", "North", "South"]
    assert p.values.isna().tolist()[6:] == [True, True]
    k = _kinds(p)
    assert k["trimmed"] == [0] and k["whitespace_collapsed"] == [2]
    assert k["case_folded"] == [1] and k["missing_marker"] == [7]
    # the contract's allowed spelling wins over frequency; value_map recodes
    q = r.parse_text(pd.Series(["Natural", "NATURAL", "Competitor"]), category=True,
                     value_map={"competitor": "competitive"},
                     allowed=("natural", "competitive"))
    assert q.values.tolist() == ["natural", "natural", "competitive"]


def test_identifiers_stored_as_numbers_become_text():
    p = r.parse_text(pd.Series([1234.0, 55.0, None]))
    assert p.values.tolist()[:2] == ["1234", "55"] and _kinds(p)["number_as_text"] == [0, 1]


def test_extra_columns_are_typed_by_inference():
    assert str(r.infer_extra(pd.Series(["1", "2", ""])).values.dtype) == "Int64"
    assert str(r.infer_extra(pd.Series(["1.5", "2"])).values.dtype) == "Float64"
    assert r.infer_extra(pd.Series(["Yes", "No"])).values.tolist() == [True, False]
    assert r.infer_extra(pd.Series(["a", " b"])).values.tolist() == ["a", "b"]


def test_tukey_fences_against_a_hand_computation():
    x = pd.Series([1.0, 2, 3, 4, 5, 6, 7, 8, 100])
    q1, q3 = np.percentile(x, [25, 75])  # 3 and 7
    assert outliers.tukey_fences(x, k=3) == (q1 - 12, q3 + 12)
    flags, summary = outliers.flag_outliers(pd.DataFrame({"customer_id": list("abcdefghi"),
                                                          "n_products": x}), "customers")
    assert flags["customer_id"].tolist() == ["i"] and summary["n_products"]["n_flagged"] == 1
    money = pd.DataFrame({"transaction_id": [f"t{i}" for i in range(9)],
                          "amount": [10.0, 12, 9, 11, -10, 10.5, 9.5, 5000, 0]})
    flags, summary = outliers.flag_outliers(money, "transactions")
    assert flags["value"].tolist() == [5000.0]  # the refund of -10 is not an outlier
