"""Executive summary: derived figures, quoting, missing notebooks, and notebook 06."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from crm_lib import summary as sm

ROOT = Path(__file__).resolve().parents[1]

#: A full set of headline metrics as notebooks 01-05 record them (awkward floats on purpose).
FULL = {
    "churn.rate": 0.26543219876, "churn.cv_auc": 0.8412345678901, "churn.preventable_share": 0.7,
    "survey.nps": 17.333333333333332, "survey.nps_ci_low": 12.1, "survey.nps_ci_high": 22.55,
    "survey.satisfied_defectors_share": 0.3125,
    "survey.pls.path.image->satisfaction": 0.2512, "survey.pls.path.value->satisfaction": 0.41,
    "survey.pls.path.image->expectations": 0.5,
    "value.gini": 0.6123, "value.top20_share": 0.5987, "clv.total": 1234567.8912,
    "roi.budget": 15000.0, "roi.expected_profit": 4321.987654321, "roi.prob_loss": 0.0734,
    "roi.ate": -0.0412, "roi.ate_ci_low": -0.0633, "roi.ate_ci_high": -0.0191,
    "cleaning.customers.rows_in": 3000, "cleaning.customers.rows_clean": 2900,
    "cleaning.customers.rows_quarantined": 90, "cleaning.customers.rows_duplicate_dropped": 10,
    "cleaning.transactions.rows_in": 50000, "cleaning.transactions.rows_clean": 50000,
    "cleaning.transactions.rows_quarantined": 0,
    "cleaning.transactions.rows_duplicate_dropped": 0,
}


# ----------------------------------------------------------------------------- helpers

def check_page(markdown: str, metrics: dict) -> set[str]:
    """Assert every quoted number on a page equals metrics.json; return the quoted keys."""
    pairs = sm.quoted_numbers(markdown)
    assert pairs, "the page quotes no metric"
    for key, text in pairs:
        assert key in metrics, f"{key} is quoted but not in metrics.json"
        value = metrics[key]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            assert float(text) == value, (key, text, value)  # exact, not approximate
            assert text == json.dumps(value), (key, text)  # the same text as metrics.json
        else:
            assert text == str(value)
    kinds = {h.key: h.kind for sec in sm.SECTIONS for h in sec.headlines}
    kinds.update({k: h.kind for sec in sm.SECTIONS for h in sec.headlines for k in h.ci or ()})
    allowed = {}
    for key in {k for k, _ in pairs}:
        kind = kinds.get(key, "pct" if key.startswith("summary.driver.") else
                         "count" if key.startswith("cleaning.") else "ratio")
        allowed.setdefault(sm.fmt(metrics[key], kind), []).append((key, kind))
    # every bold number is the rounding of a quoted metric, within half a unit of its last digit
    for bold in re.findall(r"\*\*([^*]+)\*\*", markdown):
        if not re.search(r"\d", bold):
            continue
        assert bold in allowed, f"bold number {bold!r} is not a quoted metric"
        key, kind = allowed[bold][0]
        value, half = sm.parse_fmt(bold, kind)
        assert abs(value - float(metrics[key])) <= half, (bold, key)
    return {k for k, _ in pairs}


def write_run(run_dir: Path, metrics: dict) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True))


def outputs_markdown(nb) -> str:
    return "\n".join(o["data"]["text/markdown"] for c in nb.cells for o in c.get("outputs", [])
                     if "text/markdown" in o.get("data", {}))


# ----------------------------------------------------------------------------- formatting

@pytest.mark.parametrize("value,kind,text", [
    (0.26543219876, "pct", "26.5%"), (-0.0412, "pp", "-4.120 pp"), (15000.0, "money", "15,000"),
    (0.8412345678901, "ratio", "0.841"), (17.333333333333332, "number", "17.3"),
    (0.5, "number", "0.5"), (3000, "count", "3,000"), (None, "pct", "n/a"),
])
def test_fmt_and_its_inverse(value, kind, text):
    assert sm.fmt(value, kind) == text
    if value is not None:
        v, half = sm.parse_fmt(text, kind)
        assert abs(v - value) <= half


def test_exact_is_the_json_text():
    for v in (0.1 + 0.2, 1e-17, 12345678.9, 3, -0.0412):
        assert sm.exact(v) == json.dumps(v)


def test_producer_prefers_the_recording_notebook():
    assert sm.producer("churn.rate") == "04_churn_modeling"
    assert sm.producer("clv.total") == "03_customer_value"
    assert sm.producer("churn.rate", {"99_custom": {"churn.rate": 0.1}}) == "99_custom"
    assert sm.producer("other.key") == "unknown"


# ----------------------------------------------------------------------------- derived values

def test_expected_roi():
    assert sm.expected_roi(FULL) == {"summary.expected_roi": 4321.987654321 / 15000.0}
    assert sm.expected_roi({"roi.budget": 0.0, "roi.expected_profit": 1.0}) == {}
    assert sm.expected_roi({}) == {}


def _loop_monthly(customers: pd.DataFrame, months: list[pd.Period]) -> list[tuple[int, int]]:
    """Independent per-customer implementation of the monthly churn counts."""
    out = []
    for p in months:
        start, end = p.start_time, (p + 1).start_time
        active = left = 0
        for row in customers.itertuples():
            if row.signup_date < start and (pd.isna(row.end_date) or row.end_date >= start):
                active += 1
                if row.churned and not pd.isna(row.end_date) and row.end_date < end:
                    left += 1
        out.append((active, left))
    return out


def test_monthly_churn_against_a_loop(demo_small):
    c = demo_small.tables["customers"].head(400).copy()
    c["signup_date"] = pd.to_datetime(c["signup_date"])
    c["end_date"] = pd.to_datetime(c["end_date"])
    c["churned"] = c["churned"].astype(str).str.lower().isin(["true", "1"])
    got = sm.monthly_churn(c, "2026-06-30", months=6)
    assert got["month"].tolist() == [str(p) for p in pd.period_range("2026-01", "2026-06",
                                                                     freq="M")]
    ref = _loop_monthly(c, list(pd.period_range("2026-01", "2026-06", freq="M")))
    assert list(zip(got["active_start"], got["churned"], strict=True)) == ref
    assert got["churned"].sum() > 0
    # as_of in the middle of a month: that partial month is left out
    assert sm.monthly_churn(c, "2026-06-15", months=2)["month"].tolist() == ["2026-04", "2026-05"]
    with pytest.raises(ValueError, match="signup_date"):
        sm.monthly_churn(c.drop(columns="signup_date"), "2026-06-30")


def test_churn_trend_against_scipy():
    rng = np.random.default_rng(1)
    rate = 0.02 + 0.001 * np.arange(12) + rng.normal(0, 0.002, 12)
    monthly = pd.DataFrame({"month": [str(p) for p in pd.period_range("2025-07", periods=12,
                                                                       freq="M")],
                            "active_start": 1000, "churned": np.rint(rate * 1000).astype(int),
                            "rate": rate})
    t = sm.churn_trend(monthly, window=12, recent=3)
    ref = stats.linregress(np.arange(12), rate)
    half = stats.t.ppf(0.975, 10) * ref.stderr
    assert t["summary.churn_trend_pp_per_month"] == pytest.approx(ref.slope, rel=1e-9)
    assert t["summary.churn_trend_ci_low"] == pytest.approx(ref.slope - half, rel=1e-9)
    assert t["summary.churn_trend_ci_high"] == pytest.approx(ref.slope + half, rel=1e-9)
    assert t["summary.churn_rate_recent"] == pytest.approx(monthly["churned"].tail(3).sum() / 3000)
    assert sm.churn_trend(monthly.head(3)) == {}


def test_value_at_risk_and_reason_drivers():
    scores = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
                           "churn_probability": [0.9, 0.6, 0.2, 0.5],
                           "top_reasons": ["price; contract", "contract", "complaints",
                                           ["contract", "price", "contract"]]})
    customers = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
                              "monthly_charges": [10.0, 20.0, 30.0, 40.0]})
    v = sm.value_at_risk(scores, customers=customers, months_of_revenue=12)
    assert v["summary.at_risk_value"] == pytest.approx(12 * (9 + 12 + 6 + 20))
    assert v["summary.at_risk_customers"] == 3
    clv = pd.DataFrame({"customer_id": ["a", "b"], "clv": [100.0, 50.0]})
    v = sm.value_at_risk(scores, clv)
    assert v["summary.at_risk_value"] == pytest.approx(90 + 30)
    assert v["summary.at_risk_basis"] == "purchase CLV (notebook 03)"
    v = sm.value_at_risk(scores, clv, customers)  # both streams a churner takes away
    assert v["summary.at_risk_value"] == pytest.approx(12 * (9 + 12 + 6 + 20) + 90 + 30)
    d = sm.reason_drivers(scores, top=2)
    assert d == {"summary.driver.contract": 1.0, "summary.driver.price": pytest.approx(2 / 3)}
    with pytest.raises(ValueError, match="churn probability"):
        sm.value_at_risk(scores.drop(columns="churn_probability"), customers=customers)


# ----------------------------------------------------------------------------- the page

def test_page_quotes_every_headline_exactly():
    m = dict(FULL, **sm.expected_roi(FULL))
    page = sm.build(m)
    quoted = check_page(page.to_markdown(), m)
    headline_keys = {h.key for sec in sm.SECTIONS for h in sec.headlines} | {
        k for sec in sm.SECTIONS for h in sec.headlines for k in h.ci or ()}
    assert headline_keys & m.keys() <= quoted  # every headline present in metrics is quoted
    assert page.quoted() == {k: m[k] for k in page.quoted()}
    # drivers: only paths into satisfaction/loyalty, strongest first
    names = [k for k, *_ in page.drivers()]
    assert names == ["survey.pls.path.value->satisfaction", "survey.pls.path.image->satisfaction"]
    # a 3% quarantine is a warning, a clean table is not
    w = page.warnings()
    assert len(w) == 1 and "customers" in w[0] and "Serious" not in w[0]


def test_missing_notebooks_are_named_not_fatal():
    m = {k: v for k, v in FULL.items() if not k.startswith(("survey.", "roi."))}
    page = sm.build(m)
    text = page.to_markdown()
    check_page(text, m)
    assert "02_survey_satisfaction_loyalty" in page.missing()
    assert "05_retention_roi" in page.missing()
    assert "Net Promoter Score" in text and "Not available in this run" in text
    assert sm.build({}).to_markdown().count("Not available in this run") >= 4
    assert "No headline figures" in sm.build({}).headline_sentence()


def test_warnings_fire_on_weak_data():
    m = dict(FULL, **{"cleaning.customers.rows_quarantined": 300, "churn.cv_auc": 0.6,
                      "roi.prob_loss": 0.4, "survey.nps_ci_low": -5.0})
    w = " ".join(sm.build(m).warnings())
    assert "Serious" in w and "weak" in w and "loses money" in w and "wide" in w


# ----------------------------------------------------------------------------- notebook 06

def test_executive_summary_notebook_quotes_metrics_exactly(tmp_path, monkeypatch):
    import papermill as pm

    monkeypatch.setenv("CRM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel draws inline, as in a real run
    run_dir = tmp_path / "run"
    write_run(run_dir, FULL)
    pd.DataFrame({"customer_id": ["a", "b", "c"], "churn_probability": [0.8, 0.3, 0.55],
                  "top_reasons": ["price", "contract", "price; complaints"]}
                 ).to_parquet(run_dir / "scores.parquet")
    pd.DataFrame({"customer_id": ["a", "b", "c"], "clv": [120.5, 80.25, 300.0]}
                 ).to_parquet(run_dir / "customer_value.parquet")
    out = tmp_path / "06_out.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks" / "06_executive_summary.ipynb"), str(out),
                        parameters={"run_dir": str(run_dir), "trend_months": 0},
                        kernel_name="crm", progress_bar=False, cwd=str(tmp_path))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["summary.expected_roi"] == FULL["roi.expected_profit"] / FULL["roi.budget"]
    assert metrics["summary.at_risk_value"] == pytest.approx(0.8 * 120.5 + 0.3 * 80.25 + 0.55 * 300)
    page = outputs_markdown(nbformat.read(out, as_version=4))
    quoted = check_page(page, metrics)
    for key in ("churn.rate", "survey.nps", "survey.nps_ci_low", "roi.budget", "roi.prob_loss",
                "summary.expected_roi", "summary.at_risk_value", "summary.driver.price"):
        assert key in quoted
    saved = json.loads((run_dir / "summary.json").read_text())
    assert saved["quoted"] == {k: metrics[k] for k in saved["quoted"]}
    assert saved["markdown"] in page


def test_executive_summary_on_the_demo_run(demo_run):
    """06 in the shared batch run on the demo company quotes metrics.json exactly."""
    run_dir = demo_run["run_dir"]
    nb = nbformat.read(run_dir / "06_executive_summary.ipynb", as_version=4)
    page = outputs_markdown(nb)
    quoted = check_page(page, demo_run["metrics"])
    assert "summary.churn_rate_recent" in quoted  # the trend ran on the demo customers
    for key in ("churn.rate", "survey.nps", "roi.budget"):  # present whenever recorded
        assert key in quoted or key not in demo_run["metrics"]
