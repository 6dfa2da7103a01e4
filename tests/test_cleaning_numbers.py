"""Numbers: the decimal mark is one decision per column, from all of its values.

Issue 11, case 1: in a ``;`` file with decimal commas, ``0,125`` was read as 125
and ``1,500`` as 1500 (each value decided alone). Now ``0,125`` (a thousands
group never starts with 0) decides the whole column: 0.125 and 1.5.
"""

from __future__ import annotations

import pandas as pd
import pytest

from crm_lib import cleaning
from crm_lib.cleaning import DataContractError, rules
from crm_lib.cleaning import repairs as r

AS_OF = "2026-06-30"


def _clean(tmp_path, text: str, **options):
    raw = tmp_path / "raw"
    raw.mkdir(exist_ok=True)
    (raw / "customers.csv").write_text(text, encoding="utf-8")
    rep = cleaning.clean_folder(raw, tmp_path / "out", tmp_path / "q", tables=("customers",),
                                as_of=AS_OF, **options)
    return rep, pd.read_parquet(tmp_path / "out" / "customers.parquet")


def test_issue_case_decimal_comma_column_is_read_as_decimals(tmp_path):
    rep, c = _clean(tmp_path, "customer_id;signup_date;monthly_charges\n"
                              "C1;2024-01-01;0,125\nC2;2024-01-01;1,500\nC3;2024-01-01;12\n")
    assert c["monthly_charges"].tolist() == [0.125, 1.5, 12.0]
    kinds = {e["repair"]: e["n"] for e in rep["tables"]["customers"]["repairs"]
             if e["column"] == "monthly_charges"}
    assert kinds == {"decimal_comma": 2}


def test_point_evidence_makes_commas_thousands_separators():
    p = r.parse_numbers(pd.Series(["1,500", "12.25", "2,300,000", "(1,200.50)"]))
    assert p.values.tolist() == [1500.0, 12.25, 2300000.0, -1200.5]
    p = r.parse_numbers(pd.Series(["1.500", "1.234,5", "7"]))
    assert p.values.tolist() == [1500.0, 1234.5, 7.0]


@pytest.mark.parametrize("values,problem", [
    (["1,500", "2,250"], "no value of the column decides"),
    (["0,5", "0.5"], "decimal comma"),
])
def test_ambiguous_or_contradictory_columns_stop_naming_the_option(tmp_path, values, problem):
    body = "".join(f"C{i};2024-01-01;{v}\n" for i, v in enumerate(values))
    with pytest.raises(DataContractError) as e:
        _clean(tmp_path, "customer_id;signup_date;monthly_charges\n" + body)
    msg = e.value.message
    assert problem in msg
    for part in ("customers.csv", "table 'customers'", "column 'monthly_charges'",
                 "rule: one decimal mark per column", 'decimal: ","'):
        assert part in msg, part
    assert e.value.column == "monthly_charges" and e.value.table == "customers"


def test_the_option_resolves_and_misfits_are_quarantined_not_reread(tmp_path):
    rep, c = _clean(tmp_path, "customer_id;signup_date;monthly_charges\n"
                              "C1;2024-01-01;1,500\nC2;2024-01-01;2,250\nC3;2024-01-01;3.5\n",
                    decimal={"customers": ","})
    assert c.set_index("customer_id")["monthly_charges"].to_dict() == {"C1": 1.5, "C2": 2.25}
    # "3.5" does not fit a decimal comma (a dot groups thousands): quarantined, not 35
    assert rep["tables"]["customers"]["quarantine_reasons"] == {
        "unparseable:monthly_charges": 1}
    # per column works too
    _, c = _clean(tmp_path, "customer_id;signup_date;monthly_charges\nC1;2024-01-01;1,500\n",
                  decimal={"customers": {"monthly_charges": "."}})
    assert c["monthly_charges"].tolist() == [1500.0]


def test_evidence_rules_are_declared_once_in_the_rule_set():
    t = pd.Series(["0,125", "1,500", "1.234,5", "1,234.5", "0.125", "1.500", "1,234,567"],
                  dtype="string")
    ev = rules.decimal_evidence(t)
    assert ev["comma"].tolist() == [True, False, True, False, False, False, False]
    assert ev["point"].tolist() == [False, False, False, True, True, False, True]
    assert ev["ambiguous"].tolist() == [False, True, False, False, False, True, False]
    assert set(rules.DECIMAL_PATTERNS) >= {"ambiguous", "valid_point", "valid_comma"}


def test_numbers_read_by_another_engine_join_the_decision():
    """An engine (DuckDB) that reads plain numbers itself passes them as evidence."""
    p = r.parse_numbers(pd.Series(["0,125"]), parsed_ambiguous=pd.Series(["1.500"]))
    assert p.decimal == "," and p.values.tolist() == [0.125]  # so 1.500 means 1500
    with pytest.raises(DataContractError, match="decimal point"):
        r.parse_numbers(pd.Series(["0,125"]), parsed_point=pd.Series(["12.5"]))
    with pytest.raises(DataContractError, match="no value of the column decides"):
        r.parse_numbers(pd.Series(["$7"]), parsed_ambiguous=pd.Series(["1.500"]))
    assert r.parse_numbers(pd.Series(["1,500"]), parsed_point=pd.Series(["2.5"])).decimal == "."
