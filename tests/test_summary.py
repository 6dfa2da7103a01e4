"""Executive summary and front page: figures that agree, at-risk customers, the budget choice,
generated sentences, and the demo run's index.html."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from crm_lib import fmt, sentences
from crm_lib import summary as sm
from crm_lib.churn import trend
from crm_lib.roi import economics as eco
from crm_lib.value import at_risk

FULL = {
    "churn.rate": 0.26543219876, "churn.horizon_months": 6, "churn.horizon_rate": 0.0834,
    "churn.cv_auc": 0.8412345678901, "churn.preventable_share": 0.7,
    "survey.nps": 17.333333333333332, "survey.nps_ci_low": 12.1, "survey.nps_ci_high": 22.55,
    "survey.satisfied_defectors_share": 0.3125,
    "survey.pls.path.value->satisfaction": 0.41, "survey.plsc.path.value->satisfaction": 0.52,
    "value.gini": 0.6123, "value.top20_share": 0.5987, "clv.total": 1234567.8912,
    "roi.budget": 15000.0, "roi.expected_profit": 4321.987654321, "roi.prob_loss": 0.0734,
    "summary.at_risk_value": 16714.23, "summary.total_value": 118883.0,
    "summary.optimum_spend": 46500.0, "summary.marginal_return": 0.8,
    "summary.churn_trend_pp_per_month": 1.3385997019035943e-05,
    "summary.churn_trend_ci_low": -0.0004616, "summary.churn_trend_ci_high": 0.000488,
}


# ----------------------------------------------------------------------------- domain pieces

def _customers(n=400, seed=0):
    rng = np.random.default_rng(seed)
    signup = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 700, n), "D")
    churned = rng.random(n) < 0.3
    end = signup + pd.to_timedelta(rng.integers(30, 600, n), "D")
    end = end.where(churned & (end < pd.Timestamp("2026-06-30")))
    return pd.DataFrame({"customer_id": [f"C{i}" for i in range(n)], "signup_date": signup,
                         "end_date": end, "churned": end.notna(),
                         "monthly_charges": rng.uniform(20, 120, n)})


def test_monthly_churn_counts_by_hand():
    c = pd.DataFrame({"customer_id": ["a", "b", "c"],
                      "signup_date": pd.to_datetime(["2025-01-15", "2025-01-20", "2025-03-01"]),
                      "end_date": pd.to_datetime(["2025-03-10", None, None]),
                      "churned": [True, False, False]})
    m = trend.monthly_churn(c, "2025-04-30", months=3).set_index("month")
    assert m.loc["2025-02", "active_start"] == 2 and m.loc["2025-02", "churned"] == 0
    assert m.loc["2025-03", "churned"] == 1 and m.loc["2025-03", "rate"] == 0.5
    assert m.loc["2025-04", "active_start"] == 2  # c joined 1 March, a left


def test_churn_trend_matches_scipy_and_its_direction():
    rates = 0.01 + 0.001 * np.arange(12) + np.r_[0.0002, -0.0002] .repeat(6)
    monthly = pd.DataFrame({"month": range(12), "active_start": 1000,
                            "churned": (rates * 1000).round(), "rate": rates})
    t = trend.churn_trend(monthly, 12)
    ref = stats.linregress(np.arange(12), rates)
    assert t.slope == pytest.approx(ref.slope, rel=1e-9)
    assert t.p_value == pytest.approx(ref.pvalue, rel=1e-6)
    assert t.direction == "rising"
    flat = monthly.assign(rate=0.012 + 0.0005 * np.sin(np.arange(12)))
    assert trend.churn_trend(flat, 12).direction == "flat"


def test_ols_line_is_statsmodels_ols_to_the_last_bit():
    """trend.ols_line replays statsmodels' OLS (pinv), so the trend figures stay its numbers."""
    from statsmodels.regression.linear_model import OLS
    from statsmodels.tools.tools import add_constant
    rng = np.random.default_rng(3)
    for n in (4, 5, 12, 13, 24):
        for rounded in (False, True):
            y = rng.uniform(0.01, 0.05, n) + 0.0005 * np.arange(n)
            y = np.round(y, 3) if rounded else y
            fit = OLS(y, add_constant(np.arange(n, dtype=float))).fit()
            lo, hi = fit.conf_int(0.05)[1]
            assert trend.ols_line(y) == (fit.params[1], lo, hi, fit.pvalues[1])
    y = np.array([0.02, 0.021, 0.019, 0.024, 0.03])
    assert trend.ols_line(y)[0] != trend.ols_line(y[::-1])[0]


def test_value_at_risk_has_at_risk_customers_and_never_exceeds_total_value():
    cust = _customers()
    active = cust[~cust["churned"]]
    rng = np.random.default_rng(1)
    scores = pd.DataFrame({"customer_id": active["customer_id"],
                           "churn_probability": rng.uniform(0.01, 0.22, len(active))})
    values = at_risk.customer_values(cust, None, "2026-06-30")
    r = at_risk.value_at_risk(scores, values, top_share=0.10)
    assert r.n_at_risk == int(np.ceil(0.10 * len(active))) > 0  # max score 0.22 < 0.5
    assert 0 < r.value_at_risk <= r.total_value
    assert r.total_value == pytest.approx(values.reindex(active["customer_id"]).sum())
    t = r.table
    assert t.loc[t["at_risk"], "expected_loss"].min() >= t.loc[~t["at_risk"],
                                                               "expected_loss"].max()
    # the same basis as notebook 05: retention value with the observed retention
    from crm_lib.roi import claims, pipeline
    v05 = pipeline.retention_value(cust, None, margin_rate=0.35, horizon_months=24,
                                   annual_discount_rate=0.10,
                                   monthly_retention=claims.observed_retention(
                                       cust, "2026-06-30", period_months=1))
    pd.testing.assert_series_equal(values, v05)


def test_budget_choice_is_the_profit_curve_optimum_and_says_whether_the_budget_binds():
    rng = np.random.default_rng(2)
    p = rng.uniform(0.01, 0.3, 500)
    v = rng.uniform(100, 900, 500)
    prm = eco.CampaignParams(offer_cost=20.0, contact_cost=1.0, accept_rate=0.3,
                             accept_rate_nonchurner=0.3)
    curve = eco.profit_curve(p, eco.expected_profit(p, v, prm), eco.contact_cost_expected(p, prm))
    best = eco.optimal_depth(curve)
    loose = sm.budget_choice(curve, budget=1e9)
    assert loose["summary.optimum_spend"] == best.spend and loose["summary.optimum_n"] == best.n
    assert loose["summary.budget_binds"] is False and loose["summary.marginal_return"] <= 0
    tight = sm.budget_choice(curve, budget=best.spend / 4)
    assert tight["summary.budget_binds"] is True and tight["summary.marginal_return"] > 0
    assert tight["summary.chosen_n"] < best.n


# ----------------------------------------------------------------------------- sentences

def test_generated_sentences_flip_with_the_numbers():
    up = sentences.churn_trend(0.0005, 0.0002, 0.0008)
    flat = sentences.churn_trend(1.3e-05, -0.00046, 0.00049)
    assert up.startswith("Monthly churn is rising") and "no clear trend" in flat
    assert "falling" in sentences.churn_trend(-0.0005, -0.0008, -0.0002)
    binds = sentences.budget(46_500, 10_000, 0.8)
    free = sentences.budget(4_200, 10_000, -0.1)
    assert "binds" in binds and "46,500" in binds and "does not bind" in free
    assert "below the 5x" in sentences.retention_vs_acquisition(300, 300)
    assert "at or above the 5x" in sentences.retention_vs_acquisition(50, 300)
    assert "Detractors outnumber" in sentences.nps(-11.7, -15.9, -7.6)
    assert "about even" in sentences.nps(2.0, -3.0, 7.0)


def test_two_data_sets_flip_the_trend_sentence_of_the_page():
    def page_sentence(rates):
        monthly = pd.DataFrame({"month": range(12), "active_start": 1000,
                                "churned": (np.asarray(rates) * 1000).round(), "rate": rates})
        t = trend.churn_trend(monthly, 12)
        m = {"summary.churn_trend_pp_per_month": t.slope, "summary.churn_trend_ci_low": t.ci_low,
             "summary.churn_trend_ci_high": t.ci_high}
        return sm.messages(m)[0]
    rising = page_sentence(0.010 + 0.0008 * np.arange(12))
    falling = page_sentence(0.020 - 0.0008 * np.arange(12))
    assert "rising" in rising and "falling" in falling


def test_no_contact_recommendation_says_why_and_draws_no_empty_profit_curve(tmp_path):
    """05's optimiser contacting nobody (seed-7 demo: pilot +0.97 pp, 95% interval -2.52 to
    +4.46 pp) gets a sentence naming the pilot's effect, not a silent gap, and no empty axis."""
    m = {"roi.budget": 10_000.0, "roi.recommended_budget": 0.0, "roi.recommended_n": 0,
         "roi.recommended_depth": 0.0, "roi.budget_binds": False, "roi.expected_profit": 0.0,
         "roi.ate": 0.0097, "roi.ate_ci_low": -0.0252, "roi.ate_ci_high": 0.0446}
    said = " ".join(sm.messages(m))
    assert "no measurable effect" in said and "includes zero" in said
    assert "contacting nobody" in said and "10,000" in said and "+0.97 pp" in said
    assert "binds" not in said  # not the budget sentence about a 0 spend
    harmful = sentences.no_contact(10_000, 0.03, 0.01, 0.05)
    weak = sentences.no_contact(10_000, -0.02, -0.035, -0.005)
    assert "raises churn" in harmful and "lowers churn" in weak and "covers" in weak
    assert "contacting nobody" in sentences.no_contact(10_000)
    # a positive recommendation keeps the budget sentence
    m_pos = {**m, "roi.recommended_budget": 4_200.0, "roi.recommended_n": 1_780,
             "roi.recommended_depth": 0.11, "roi.marginal_return": -0.1}
    assert "does not bind" in " ".join(sm.messages(m_pos))
    # the page's figures: a curve of only its origin is not drawn
    origin = pd.DataFrame({"n": [0], "spend": [0.0], "expected_profit": [0.0]})
    d = sm.Derived({}, curve=origin, curve_source="05")
    assert "profit_curve" not in sm.save_figures(d, m, tmp_path)
    two = pd.DataFrame({"n": [0, 1], "spend": [0.0, 5.0], "expected_profit": [0.0, 3.0]})
    d2 = sm.Derived({}, curve=two, curve_source="05")
    assert "profit_curve" in sm.save_figures(d2, m_pos, tmp_path)


# ----------------------------------------------------------------------------- the page

def test_page_takes_labels_from_the_registry_and_shows_no_scientific_notation():
    md = sm.render_markdown(FULL)
    assert "Customers who have ever churned" in md and "cumulative" in md
    assert "Churn within the prediction horizon" in md and "(6 months)" in md
    assert "Budget limit (input parameter)" in md and "binds" in md
    body = md.split("<details>")[0]
    assert not fmt.scientific_notation(body), fmt.scientific_notation(body)
    assert "17.3 points (95% interval 12.1 to 22.6)" in md
    pairs = sm.quoted_numbers(md)
    assert len(pairs) > 10
    for key, text in pairs:  # the exact block quotes metrics.json exactly, without exponents
        assert float(text) == FULL[key] and not fmt.scientific_notation(text), (key, text)
    # drivers come from PLSc when notebook 02 records it
    assert "PLSc path value->satisfaction" in md and "PLS path value" not in md


def test_missing_notebook_figures_are_named():
    m = {k: v for k, v in FULL.items() if not k.startswith("survey.")}
    gone = sm.missing(m)
    assert "02_survey_satisfaction_loyalty" in gone
    assert "not available" in sm.render_markdown(m).lower()


def test_demo_run_summary_and_front_page(demo_run):
    m = demo_run["metrics"]
    run_dir = demo_run["run_dir"]
    assert m["summary.at_risk_customers"] > 0
    assert 0 < m["summary.at_risk_value"] <= m["summary.total_value"]
    assert m["summary.at_risk_value_share"] == pytest.approx(
        m["summary.at_risk_value"] / m["summary.total_value"])
    assert "plus the shop purchase CLV" in m["summary.at_risk_basis"]
    if "roi.recommended_budget" in m:  # notebook 05's optimiser
        spend_key = "roi.recommended_budget"
    else:  # the profit-curve optimum of 05's campaign economics, recomputed on this run
        spend_key = "summary.optimum_spend"
        assert m["summary.budget_binds"] == (m["summary.optimum_spend"] > m["roi.budget"])
    index = (run_dir / "index.html").read_text(encoding="utf-8")
    body = re.sub(r"<details>.*?</details>", "", index, flags=re.S)
    assert "<h2>Summary</h2>" in index and index.index("<h2>Summary</h2>") < index.index(
        "Company results")
    nobody = m.get("roi.recommended_n") == 0  # the small company's pilot shows no effect
    for name in sm.FIGURES:
        if name == "profit_curve" and nobody:  # no empty axis; the sentence says why
            assert f'src="{sm.FIG_DIR}/{name}.png"' not in index
            assert "recommends contacting nobody" in index
            continue
        assert f'src="{sm.FIG_DIR}/{name}.png"' in index, name
        assert (run_dir / sm.FIG_DIR / f"{name}.png").stat().st_size > 5000
    assert fmt.metric(spend_key, m[spend_key]) in body
    text = re.sub(r"<[^>]+>", " ", body)
    assert not fmt.scientific_notation(text), fmt.scientific_notation(text)[:5]
    assert "concepts." not in text and "roi.budget" not in text  # raw keys only in <details>
    assert index.index("Teaching simulations") > index.index("Company results")


def test_data_quality_warning_appears_and_disappears_with_the_counts():
    m = {"cleaning.customers.rows_in": 3000, "cleaning.customers.rows_quarantined": 90,
         "cleaning.customers.rows_duplicate_dropped": 10}
    w = sm.quality_warnings(m)
    assert len(w) == 1 and "customers: 90 of 3,000 rows quarantined (3.0%)" in w[0]
    assert "No warnings" in sm.render_markdown({**m, "cleaning.customers.rows_quarantined": 3})
    assert sm.quality_warnings({**m, "cleaning.customers.rows_quarantined": 300})[0].startswith(
        "Serious")
