"""Campaign economics and the recomputed claims: formulas against hand calculations."""

import numpy as np
import pandas as pd
import pytest

from crm_lib.roi import claims
from crm_lib.roi import economics as ec


def test_expected_profit_formula_and_curve():
    prm = ec.CampaignParams(offer_cost=10, contact_cost=1, accept_rate=0.3)
    p = np.array([0.5, 0.1, 0.9])
    v = np.array([200.0, 400.0, 100.0])
    got = ec.expected_profit(p, v, prm)
    # by hand: p a v - offer (p a + (1 - p)) - contact
    want = [0.5 * 0.3 * 200 - 10 * (0.15 + 0.5) - 1, 0.1 * 0.3 * 400 - 10 * (0.03 + 0.9) - 1,
            0.9 * 0.3 * 100 - 10 * (0.27 + 0.1) - 1]
    np.testing.assert_allclose(got, want)
    curve = ec.profit_curve(p, got, ec.contact_cost_expected(p, prm))
    np.testing.assert_allclose(curve["expected_profit"], np.r_[0, np.cumsum(got[[2, 0, 1]])])
    best = ec.optimal_depth(curve)
    assert best.n == int(np.argmax(curve["expected_profit"]))
    with pytest.raises(ValueError, match="probability"):
        ec.CampaignParams(accept_rate=1.5)


def test_break_even_offer_cost_zeroes_the_profit():
    rng = np.random.default_rng(0)
    p, v = rng.random(50), rng.gamma(2, 150, 50)
    be = ec.break_even_offer_cost(p, v, ec.CampaignParams(accept_rate=0.3, contact_cost=2))
    k = 20
    c = float(be["break_even_offer_cost"].iloc[k - 1])
    top = np.argsort(-p, kind="mergesort")[:k]
    prof = ec.expected_profit(p[top], v[top], ec.CampaignParams(offer_cost=c, contact_cost=2,
                                                                 accept_rate=0.3))
    assert prof.sum() == pytest.approx(0.0, abs=1e-8)


def test_retained_value_is_the_clv_formula_on_months():
    d = 1.1 ** (1 / 12) - 1
    got = ec.retained_value(30.0, horizon_months=36, annual_discount_rate=0.10)
    assert float(got) == pytest.approx(30 * (1 - (1 + d) ** -36) / d, rel=1e-12)
    # with retention r the margin of month t is received with probability r^t (Gupta & Lehmann)
    r, t = 0.98, np.arange(1, 25)
    by_hand = np.sum(20 * r ** t / (1 + d) ** t)
    assert float(ec.retained_value(20.0, horizon_months=24, monthly_retention=r)) == \
        pytest.approx(by_hand, rel=1e-12)


def test_clv_and_retention_lift_by_hand():
    # m r / (1 + d - r): r = 0.8, d = 0.1 -> 2.667 m; r = 0.85 -> 3.4 m; lift 27.5 %
    claim = claims.retention_claim(100.0, 0.8, 0.1)
    assert claim.lift.clv_before == pytest.approx(800 / 3)
    assert claim.profit_lift == pytest.approx(3.4 / (8 / 3) - 1)
    # the closed form is the limit of the finite sum
    assert float(claims.clv(100, 0.8, 0.1, periods=400)) == pytest.approx(
        claim.lift.clv_before, rel=1e-9)
    # an acquisition cost makes the same retention gain worth more, relatively
    assert claims.retention_claim(100, 0.8, 0.1, acquisition_cost=100).profit_lift > \
        claim.profit_lift
    grid = claims.retention_lift_grid(100.0, [0.8], [0.1])
    assert grid["profit_lift"].iloc[0] == pytest.approx(claim.profit_lift)
    # retention cannot pass 1: at r = 0.97 the +5 points stop at 1.0 (CLV 10 m vs 7.46 m)
    assert claims.retention_lift(0.97, 0.05, 0.10) == pytest.approx((1 / 0.1) / (0.97 / 0.13) - 1)
    # the sensitivity moves each assumption; acquisition cost moves it, the margin alone not
    sens = claims.retention_claim(100.0, 0.8, 0.1, acquisition_cost=100).sensitivity
    assert set(sens["assumption"]) == {"retention", "discount_rate", "margin_growth",
                                       "acquisition_cost"}
    row = sens.set_index("assumption").loc["acquisition_cost"]
    assert row["lift_high"] > row["lift_low"]


def test_retention_claim_sentence_flips_with_the_numbers():
    low = claims.retention_claim(100.0, 0.5, 0.10)   # +5 points at 50%: about +13%
    high = claims.retention_claim(100.0, 0.9, 0.10)  # at 90%: +45%
    assert low.profit_lift < 0.25 <= high.profit_lift <= 0.85
    assert "below the 25-85%" in low.sentence() and "inside the 25-85%" in high.sentence()


def test_observed_retention_recovers_a_constant_hazard():
    rng = np.random.default_rng(1)
    n, h = 20000, 0.02  # monthly hazard
    as_of = pd.Timestamp("2026-06-30")
    signup = as_of - pd.to_timedelta(rng.integers(30, 1500, n), unit="D")
    life = rng.exponential(1 / h, n) * 30.4375
    end = signup + pd.to_timedelta(life, unit="D")
    churned = end <= as_of
    cust = pd.DataFrame({"customer_id": np.arange(n), "signup_date": signup,
                         "end_date": end.where(churned),
                         "churned": churned})
    r = claims.observed_retention(cust, as_of)
    assert r == pytest.approx(np.exp(-12 * h), abs=0.01)


def test_word_of_mouth_and_acquisition_ratio():
    w = claims.word_of_mouth_value(np.array([100.0, 300.0]), promoter_share=0.4,
                                   detractor_share=0.1, referral_conversion=0.05,
                                   sway_loss_rate=0.01)
    adj = 0.4 * 8 * 0.05 * 200 - 0.1 * 25 * 0.01 * 200
    np.testing.assert_allclose(w.value, [100 + adj, 300 + adj])
    assert w.referral_gain == pytest.approx(0.4 * 8 * 0.05 * 200)
    assert claims.cost_per_saved_customer(8.0, 0.02) == pytest.approx(400.0)
    assert claims.cost_per_saved_customer(8.0, -0.01) == np.inf
    tab = claims.acquisition_vs_retention([400, 2000], 400.0)
    np.testing.assert_allclose(tab["ratio"], [1, 5])


def test_saving_cost_sentence_flips_with_the_ratio():
    plan = pd.DataFrame({"selected": [True, True, False], "cost": [10.0, 10.0, 10.0],
                         "uplift": [0.05, 0.05, 0.9]})
    cheap = claims.saving_cost(plan, acquisition_cost=1000.0)  # 200 per save, 5x
    assert cheap.cost_per_saved_customer == pytest.approx(200.0)
    assert cheap.ratio == pytest.approx(5.0) and "in line with the 5x" in cheap.sentence()
    dear = claims.saving_cost(plan, acquisition_cost=200.0)
    assert "1.0x as much: below the 5x" in dear.sentence()
    assert "above" in claims.saving_cost(plan, acquisition_cost=5000.0).sentence()


def test_active_customers_do_not_look_ahead():
    """One definition of 'active at as_of': an end after as_of has not happened yet."""
    from crm_lib.roi import pipeline
    cust = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
                         "signup_date": ["2024-01-01", "2024-01-01", "2024-01-01", "2026-08-01"],
                         "end_date": [None, "2026-03-01", "2026-09-01", None],
                         "churned": [False, True, True, False]})
    act = pipeline.active_customers(cust, "2026-06-30")
    # b ended before as_of; c churns only later (the final flag would look ahead); d not yet
    assert act["customer_id"].tolist() == ["a", "c"]
    assert claims.observed_retention(cust, "2026-06-30") < 1.0
