"""Transaction summaries, RFM, concentration, lifecycle and tiers on small hand-made cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_lib import value as V
from crm_lib.value import lifecycle, rfm, tiers
from crm_lib.value.summary import resolve_grain


def _tx(rows):
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"])


LOG = _tx([
    ("a", "2024-01-01", 10.0), ("a", "2024-01-01", 5.0),   # same day: one occasion of 15
    ("a", "2024-01-15", 20.0), ("a", "2024-01-20", -20.0),  # a refund is not a purchase
    ("a", "2024-02-12", 40.0),                              # holdout purchase
    ("b", "2024-01-08", 0.0),                               # free order: still a purchase
    ("c", "2024-02-05", 30.0),                              # first purchase after calibration
])


def test_summary_counts_days_refunds_and_holdout():
    s = V.rfm_summary(LOG, calibration_end="2024-01-29", observation_end="2024-02-26")
    assert resolve_grain(LOG) == "day"
    s = s.set_index("customer_id")
    assert list(s.index) == ["a", "b"]  # c did not exist at the calibration end
    a = s.loc["a"]
    assert a["frequency"] == 1 and a["recency"] == pytest.approx(2.0)
    assert a["T"] == pytest.approx(4.0) and a["monetary"] == pytest.approx(20.0)
    assert a["revenue"] == pytest.approx(35.0) and a["refunds"] == pytest.approx(20.0)
    assert a["frequency_holdout"] == 1 and a["spend_holdout"] == pytest.approx(40.0)
    assert a["duration_holdout"] == pytest.approx(4.0)
    assert s.loc["b", "frequency"] == 0 and s.loc["b", "T"] == pytest.approx(3.0)
    days = V.rfm_summary(LOG, calibration_end="2024-01-29", time_unit="D").set_index(
        "customer_id")
    assert days.loc["a", "T"] == pytest.approx(28.0)


def test_exact_grain_keeps_clock_times():
    tx = _tx([("a", "2024-01-01 08:00", 10.0), ("a", "2024-01-01 20:00", 10.0),
              ("a", "2024-01-08 08:00", 10.0)])
    s = V.rfm_summary(tx, calibration_end="2024-01-15")
    assert resolve_grain(tx) == "exact"
    assert s["frequency"].iloc[0] == 2
    assert s["recency"].iloc[0] == pytest.approx(1.0)
    day = V.rfm_summary(tx, calibration_end="2024-01-15", grain="day")
    assert day["frequency"].iloc[0] == 1


def test_bad_transactions_name_table_column_and_rule():
    with pytest.raises(ValueError, match="table transactions: missing required column.*amount"):
        V.rfm_summary(LOG.drop(columns="amount"), calibration_end="2024-01-29")
    bad = LOG.assign(date=LOG["date"].where(LOG.index != 2, "not a date"))
    with pytest.raises(ValueError, match="column date"):
        V.rfm_summary(bad, calibration_end="2024-01-29")
    with pytest.raises(ValueError, match="column amount"):
        V.rfm_summary(LOG.assign(amount="x"), calibration_end="2024-01-29")
    with pytest.raises(ValueError, match="time_unit"):
        V.rfm_summary(LOG, calibration_end="2024-01-29", time_unit="M")


def test_rfm_rules_cover_the_grid_and_score_ties_low():
    r, f = np.meshgrid(np.arange(1, 6), np.arange(1, 6))
    seg = rfm.rfm_segment(pd.Series(r.ravel()), pd.Series(f.ravel()))
    assert "unassigned" not in set(seg)
    assert set(seg) == set(rfm.RFM_RULES["segment"])
    scores = rfm.quintile_score(pd.Series([1, 1, 1, 1, 1, 1, 2, 2, 5, 9]))
    assert list(scores) == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    assert list(rfm.quintile_score(pd.Series([1.0, 2, 3, 4, 5]), higher_is_better=False)) == \
        [5, 4, 3, 2, 1]


def test_rfm_table_as_of():
    t = V.rfm_table(LOG, as_of="2024-02-12").set_index("customer_id")
    assert t.loc["a", "recency_days"] == 0 and t.loc["a", "n_purchases"] == 3
    assert t.loc["a", "total_spend"] == pytest.approx(75.0)
    assert t.loc["a", "refunds"] == pytest.approx(20.0)
    assert t.loc["c", "recency_days"] == 7
    summ = V.segment_summary(t.reset_index())
    assert summ["customers"].sum() == 3
    assert summ["revenue_share"].sum() == pytest.approx(1.0)


def test_concentration_known_values():
    assert V.gini([5, 5, 5, 5]) == pytest.approx(0.0)
    assert V.gini([0, 0, 0, 10]) == pytest.approx(0.75)  # (n - 1) / n
    assert V.gini([1, 2, 3, 4]) == pytest.approx(0.25)
    assert V.top_share([1] * 8 + [46, 46]) == pytest.approx(0.92)
    lc = V.lorenz_curve([1, 2, 3, 4])
    assert lc["value_share"].tolist() == pytest.approx([0, 0.1, 0.3, 0.6, 1.0])
    # the Gini equals twice the area between diagonal and Lorenz curve
    area = np.trapezoid(lc["value_share"], lc["customer_share"])
    assert 1 - 2 * area == pytest.approx(V.gini([1, 2, 3, 4]))
    c = V.concentration_summary([100, 10, 10, 10, 10], [1, 1, 1, 1, 1], margin_rate=0.5,
                                cost_per_order=6)
    assert c.top20_share == pytest.approx(100 / 140)
    assert c.unprofitable_share == pytest.approx(0.8)
    assert c.profit_top20_share == pytest.approx(44 / 40)  # > 100%: the whale curve
    assert c.peak_profit_share == pytest.approx(44 / 40)


def test_lifecycle_rule_order():
    rules = lifecycle.LifecycleRules()
    stage = lifecycle.lifecycle_stage(
        tenure_weeks=[5, 30, 80, 80, 80, 80], weeks_since_last=[1, 2, 2, 70, 10, 10],
        p_alive=[0.1, 0.1, 0.9, 0.9, 0.2, 0.9], ended=None, rules=rules)
    assert list(stage) == ["acquisition", "growth", "maturity", "lapsed", "decline",
                           "maturity"]
    observed = lifecycle.lifecycle_stage([80, 80], [70, 2], [0.9, 0.9], ended=[False, True])
    assert list(observed) == ["maturity", "lapsed"]
    assert list(rules.table()["stage"]) == ["lapsed", "acquisition", "growth", "decline",
                                            "maturity"]


def test_tiers_and_actions():
    clv = np.arange(10.0)
    assert list(tiers.value_tier(clv)) == ["low"] * 5 + ["medium"] * 3 + ["high"] * 2
    assert list(tiers.risk_tier([0.1, 0.3, 0.59, 0.6])) == ["low", "medium", "medium", "high"]
    assert len(tiers.ACTIONS) == 9
    df = pd.DataFrame({"value_tier": ["high", "low"], "risk_tier": ["high", "low"],
                       "clv": [10.0, 1.0], "clv_if_alive": [20.0, 1.0]})
    m = V.value_risk_matrix(df, "customers")
    assert m.loc["high", "high"] == 1 and m.loc["medium", "low"] == 0
    assert m.shape == (3, 3)
    cells = V.matrix_cells(df).set_index(["value_tier", "risk_tier"])
    assert cells.loc[("high", "high"), "potential_if_retained"] == 20.0
    assert cells["value_at_stake"].sum() == 11.0


def test_churn_scores_feed_the_risk():
    none = tiers.churn_risk_from_scores(None)  # notebook 04 not in the run
    assert none.risk is None and not none.from_churn_model and "P(alive)" in none.source
    scores = pd.DataFrame({"customer_id": ["a", "b"], "churn_probability": [0.9, 0.05],
                           "risk_tier": ["high", "low"], "top_reasons": ["", ""]})
    customers = pd.DataFrame({"customer_id": ["a", "b", "c"],
                              "signup_date": ["2023-01-01"] * 3,
                              "end_date": [None, None, "2023-12-01"], "churned": [False, False, True]})
    scored = tiers.churn_risk_from_scores(scores, customers, as_of="2024-02-01")
    assert scored.from_churn_model and scored.metrics() == {"value.risk_from_churn_model": True}
    assert scored.risk["a"] == 0.9 and scored.risk["c"] == 1.0  # c's plan ended: already left
    assert scored.tiers.to_dict() == {"a": "high", "b": "low", "c": "high"}
    risk = scored.risk.drop(["b", "c"])
    tx = _tx([("a", "2024-01-01", 10.0), ("a", "2024-01-10", 12.0), ("b", "2024-01-02", 9.0),
              ("b", "2024-01-20", 11.0), ("c", "2024-01-03", 8.0), ("c", "2024-01-04", 7.0),
              ("d", "2024-01-05", 5.0), ("d", "2024-01-25", 6.0), ("e", "2024-01-06", 5.0)])
    models = V.ValueModels(V.BetaGeo(), V.GammaGamma())
    models.bgnbd.params_ = pd.Series([0.25, 4.0, 0.8, 2.5], index=["r", "alpha", "a", "b"])
    models.gamma_gamma.params_ = pd.Series([6.0, 4.0, 15.0], index=["p", "q", "gamma"])
    cv = V.customer_value(tx, as_of="2024-02-01", models=models, risk=risk).set_index(
        "customer_id")
    assert cv.loc["a", "risk"] == 0.9 and cv.loc["a", "risk_tier"] == "high"
    assert cv.loc["b", "risk"] == pytest.approx(1 - cv.loc["b", "p_alive"])


def test_lifecycle_outcomes_per_stage_on_the_period_of_the_summary():
    tx = pd.concat([LOG, _tx([("d", "2023-12-01", 5.0), ("d", "2023-12-20", 5.0)])])
    customers = pd.DataFrame({"customer_id": ["a", "b", "d"],
                              "end_date": [None, "2024-02-10", "2024-01-10"]})
    period = V.study_period("2024-02-26", "2024-01-29")
    calhold = V.calibration_holdout(tx, calibration_end=period.calibration_end,
                                    observation_end=period.as_of)
    models = V.ValueModels(V.BetaGeo(), V.GammaGamma())
    models.bgnbd.params_ = pd.Series([0.25, 4.0, 0.8, 2.5], index=["r", "alpha", "a", "b"])
    out = V.lifecycle_outcomes(calhold, models, customers, period=period)
    assert out.index.name == "stage at 2024-01-29"
    # a and b are new (tenure 4 and 3 weeks); b's plan ends in the holdout; d ended before it
    new, lapsed = out.loc["acquisition"], out.loc["lapsed"]
    assert new["customers"] == 2 and new["no_purchase_rate"] == 0.5
    assert new["mean_holdout_purchases"] == 0.5 and new["plan_end_rate"] == 0.5
    assert lapsed["customers"] == 1 and lapsed["no_purchase_rate"] == 1.0
    assert np.isnan(lapsed["plan_end_rate"])  # not under contract at the holdout start
    with pytest.raises(ValueError, match="not the period of calhold"):
        V.lifecycle_outcomes(calhold, models, customers,
                             period=V.study_period("2024-02-26", "2024-01-15"))
