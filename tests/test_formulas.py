"""Each CRM formula exists once: every public path to it gives the same number.

Issue 14 found copies giving different answers on the same inputs (top-20% share
0.927 vs 0.945, word of mouth 1,130 vs 962, retention lift at r = 0.97 0.340 vs
0.326, retained value with r^(t-1) 175.6 vs r^t 172.0). Here every public name a
notebook, the claims or the summary can reach is called on the same inputs and
must agree with the others *and* with an independent implementation written out
in the test (explicit sums and sorts), so a changed convention fails loudly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import crm_lib.value as V
from crm_lib import concepts as cc
from crm_lib import intervals
from crm_lib.churn import reasons
from crm_lib.roi import claims, economics, pipeline
from crm_lib.value import concentration as conc
from crm_lib.value import lifetime


def _clv_by_sum(m, r, d, g=0.0, periods=2000):
    t = np.arange(1, periods + 1)
    return float(np.sum(m * (1 + g) ** (t - 1) * r ** t / (1 + d) ** t))


def test_clv_under_retention_one_formula():
    m, r, d, g = 100.0, 0.8, 0.10, 0.03
    want = _clv_by_sum(m, r, d, g)
    paths = {"value.lifetime.clv": lifetime.clv(m, r, d, margin_growth=g),
             "concepts.clv": cc.clv(m, r, d, margin_growth=g),
             "roi.claims.clv": claims.clv(m, r, d, margin_growth=g),
             "concepts.clv_grid": cc.clv_grid([m], [r], d, g)["clv"].iloc[0],
             "retention_claim": claims.retention_claim(m, r, d, margin_growth=g).lift.clv_before}
    for name, got in paths.items():
        assert float(got) == pytest.approx(want, rel=1e-9), name


def test_retained_value_is_clv_on_a_monthly_grid():
    """05's value of keeping a customer: the same r^t convention as the CLV."""
    m, r, h, annual = 23.0, 0.986, 24, 0.10
    dm = (1 + annual) ** (1 / 12) - 1
    want = _clv_by_sum(m, r, dm, periods=h)
    got = {"roi.economics.retained_value": float(economics.retained_value(
               m, horizon_months=h, annual_discount_rate=annual, monthly_retention=r)),
           "value.retained_value": float(V.retained_value(
               m, horizon_months=h, annual_discount_rate=annual, monthly_retention=r)),
           "lifetime.clv monthly": lifetime.clv(m, r, lifetime.monthly_discount_rate(annual),
                                                periods=h)}
    customers = pd.DataFrame({"customer_id": ["a"], "monthly_charges": [m / 0.35]})
    got["roi.pipeline.retention_value"] = float(pipeline.retention_value(
        customers, margin_rate=0.35, horizon_months=h, annual_discount_rate=annual,
        monthly_retention=r).iloc[0])
    for name, v in got.items():
        assert v == pytest.approx(want, rel=1e-9), name


@pytest.mark.parametrize("r", [0.6, 0.8, 0.97])
def test_retention_lift_one_formula(r):
    d, delta = 0.10, 0.05
    up = min(r + delta, 1.0)
    want = (up / (1 + d - up)) / (r / (1 + d - r)) - 1
    paths = {"concepts.retention_lift": cc.retention_lift(r, delta, d),
             "roi.claims.retention_lift": claims.retention_lift(r, delta, d),
             "value.retention_lift": V.retention_lift(r, delta, d),
             "retention_claim": claims.retention_claim(250.0, r, d, delta=delta).profit_lift,
             "retention_lift_grid": claims.retention_lift_grid(
                 250.0, [r], [d], delta=delta)["profit_lift"].iloc[0]}
    for name, got in paths.items():
        assert float(got) == pytest.approx(want, rel=1e-12), name


def test_retention_lift_with_acquisition_cost_by_hand():
    m, r, d, cac = 120.0, 0.75, 0.10, 150.0
    before, after = m * r / (1 + d - r), m * 0.8 / (1 + d - 0.8)
    want = (after - before) / (before - cac)
    assert claims.retention_claim(m, r, d, acquisition_cost=cac).profit_lift == \
        pytest.approx(want)
    assert cc.retention_lift(r, 0.05, d, margin=m, acquisition_cost=cac) == pytest.approx(want)
    grid = claims.retention_lift_grid(m, [r], [d], acquisition_costs=(cac,))
    assert grid["profit_lift"].iloc[0] == pytest.approx(want)


def test_word_of_mouth_one_formula():
    v, prom, detr = 400.0, 0.45, 0.2
    kw = dict(promoter_share=prom, detractor_share=detr, referrals_per_promoter=8.0,
              people_swayed_per_detractor=25.0, referral_conversion=0.03, sway_loss_rate=0.01)
    want = v + prom * 8 * 0.03 * v - detr * 25 * 0.01 * v
    assert cc.word_of_mouth_value(v, **kw).value == pytest.approx(want)
    assert claims.word_of_mouth_value(v, **kw).value == pytest.approx(want)
    assert V.word_of_mouth_value(v, **kw).value == pytest.approx(want)
    grid = claims.word_of_mouth_grid(v, promoter_share=prom, detractor_share=detr,
                                     conversions=[0.02], referrals=(8.0,))
    both = v + prom * 8 * 0.02 * v - detr * 25 * 0.02 * v
    assert grid["value"].iloc[0] == pytest.approx(both)
    assert lifetime.word_of_mouth_value(v, promoter_share=prom, detractor_share=detr,
                                        referral_conversion=0.02,
                                        sway_loss_rate=0.02).value == pytest.approx(both)


def _top_share_by_hand(x, top):
    """Value share of the top ``top`` of customers, a fractional customer counted pro rata."""
    x = np.sort(np.asarray(x, float))[::-1]
    k = top * len(x)
    whole = int(k)
    return (x[:whole].sum() + (k - whole) * (x[whole] if whole < len(x) else 0)) / x.sum()


@pytest.mark.parametrize("n", [10, 997, 3001])  # 0.2 n whole and fractional
def test_concentration_one_formula(n):
    x = np.random.default_rng(n).lognormal(0, 1.3, n)
    want_top = _top_share_by_hand(x, 0.2)
    xs = np.sort(x)
    want_gini = float(np.abs(x[:, None] - x[None, :]).sum() / (2 * n * n * x.mean()))
    tops = {"concepts.top_share": cc.top_share(x), "value.top_share": V.top_share(x),
            "concentration.top_share": conc.top_share(x, 0.2),
            "concepts.concentration": cc.concentration(x)["top20_share"],
            "value.concentration_summary": V.concentration_summary(x).top20_share,
            "concentration_intervals": conc.concentration_intervals(
                x, n_boot=20).loc["top-20% share", "estimate"]}
    for name, got in tops.items():
        assert float(got) == pytest.approx(want_top, rel=1e-12), name
    ginis = {"concepts.gini": cc.gini(x), "value.gini": V.gini(x),
             "concepts.concentration": cc.concentration(x)["gini"],
             "value.concentration_summary": V.concentration_summary(x).gini,
             "concentration_intervals": conc.concentration_intervals(
                 x, n_boot=20).loc["Gini coefficient", "estimate"]}
    for name, got in ginis.items():
        assert float(got) == pytest.approx(want_gini, rel=1e-9), name
    lz = cc.lorenz(x)
    pd.testing.assert_frame_equal(lz, V.lorenz_curve(x))
    assert lz["value_share"].iloc[-1] == pytest.approx(1.0)
    assert np.interp(0.8, lz["customer_share"], lz["value_share"]) == pytest.approx(
        1 - want_top)
    del xs


def test_bootstrap_top_share_uses_the_same_formula():
    """The bootstrap distribution is centred on the point estimate of the same formula."""
    x = np.random.default_rng(5).lognormal(0, 1.0, 1003)  # 0.2 n fractional
    ci = conc.concentration_intervals(x, n_boot=400, seed=42).loc["top-20% share"]
    assert ci.iloc[1] < conc.top_share(x) < ci.iloc[2]


def test_cost_per_saved_customer_one_formula():
    plan = pd.DataFrame({"selected": [True, True, True, False], "cost": [12.0, 12.0, 6.0, 5.0],
                         "uplift": [0.04, 0.02, 0.04, 0.5]})
    want = 30.0 / 0.10
    assert claims.cost_per_saved_customer(30.0, 0.10) == pytest.approx(want)
    assert claims.saving_cost(plan, acquisition_cost=300.0).cost_per_saved_customer == \
        pytest.approx(want)
    assert claims.acquisition_vs_retention([300.0], want)["ratio"].iloc[0] == pytest.approx(1.0)


def test_wilson_interval_one_formula():
    k, n = np.array([3, 8, 40]), np.array([10, 10, 200])
    want = intervals.wilson_interval(k, n)
    for f in (cc.wilson_interval, reasons.wilson_interval):
        got = f(k, n)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-12)
    # independent: the roots of (p - k/n)^2 = z^2 p (1 - p) / n
    z = 1.959963984540054
    a, b, c = 1 + z * z / n, -(2 * k / n + z * z / n), (k / n) ** 2
    disc = np.sqrt(b * b - 4 * a * c)
    np.testing.assert_allclose(want[0], (-b - disc) / (2 * a), rtol=1e-9)
    np.testing.assert_allclose(want[1], (-b + disc) / (2 * a), rtol=1e-9)
