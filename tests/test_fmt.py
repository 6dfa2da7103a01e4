"""The formatting helper: separators, percentages, currency, p-values, no scientific notation."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_lib import fmt


@pytest.mark.parametrize("value,kind,expected", [
    (16714.2312, "currency", "16,714"),
    (1.671423e+04, "count", "16,714"),
    (1.19e6, "number", "1,190,000"),
    (0.2695, "percent", "27.0%"),
    (-0.0159801, "pp", "-1.60 pp"),
    (0.0, "pvalue", "< 0.001"),
    (0.0004, "pvalue", "< 0.001"),
    (0.5213, "pvalue", "0.521"),
    (0.01386, "rate", "1.39% a month"),
    (0.61675, "ratio", "0.617"),
    (True, "flag", "yes"),
    (None, "currency", "n/a"),
    (float("nan"), "percent", "n/a"),
    (-0.00001, "percent", "0.0%"),  # never "-0.0%"
])
def test_value_formats(value, kind, expected):
    assert fmt.value(value, kind) == expected


def test_small_numbers_keep_three_significant_digits_without_exponent():
    assert fmt.number(0.000123) == "0.000123"
    assert fmt.number(1.3385997019035943e-05) == "0.0000134"
    assert not fmt.scientific_notation(fmt.number(1e-9))


def test_currency_setting_symbol_or_code():
    assert fmt.currency(1234.5, currency="$") == "$1,234"
    assert fmt.currency(-1234.5, currency="€") == "-€1,234"
    assert fmt.currency(10_000, currency="EUR") == "10,000 EUR"
    old = fmt.get_currency()
    try:
        fmt.set_currency("USD")
        assert fmt.value(5e6, "currency") == "5,000,000 USD"
    finally:
        fmt.set_currency(old)


def test_metric_uses_registry_label_interval_and_frame():
    m = {"survey.nps": -11.735, "survey.nps_ci_low": -15.897, "survey.nps_ci_high": -7.573,
         "churn.horizon_months": 6, "churn.horizon_rate": 0.08346}
    assert fmt.metric("survey.nps", m["survey.nps"], m) == (
        "-11.7 points (95% interval -15.9 to -7.6)")
    text = fmt.metric("churn.horizon_rate", m["churn.horizon_rate"], m, frame=True, label=True)
    assert text.startswith("Churn within the prediction horizon: 8.3%") and "(6 months)" in text
    assert fmt.metric("churn.sbg.alpha", 17755875789012.883) == "17,755,875,789,012.88"


def test_table_formats_columns_and_shows_no_dtype_line():
    df = pd.DataFrame({"share": [0.1234, 0.5], "n": [1000, 20000], "p": [0.0, 0.3],
                      "money": [1.671423e+04, 3.0], "x": [1.3e-05, 2.2e-05]})
    out = fmt.table(df, {"share": "percent", "p": "pvalue", "money": "currency"})
    assert out.loc[0].tolist() == ["12.3%", "1,000", "< 0.001", "16,714", "0.0000130"]
    text = out.to_string() + fmt.table(df["share"]).to_string()
    assert "dtype" not in text and not fmt.scientific_notation(text)
    assert list(fmt.table(df, {"share": "percent:0"})["share"]) == ["12%", "50%"]


def test_scientific_notation_finder():
    assert fmt.scientific_notation("alpha 1.671423e+04, beta 1e-5; not e5 or v1e5") == [
        "1.671423e+04", "1e-5"]
