"""BG/NBD and Gamma-Gamma estimators: gradients, recovery of known parameters, CLV algebra."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_lib import value as V
from crm_lib.value import bgnbd, gammagamma

TRUE_BG = np.array([0.25, 4.0, 0.8, 2.5])
TRUE_GG = np.array([6.0, 4.0, 15.0])


@pytest.fixture(scope="module")
def simulated():
    rng = np.random.default_rng(11)
    T = rng.uniform(10, 100, 20000)
    sim = bgnbd.simulate(TRUE_BG, T, seed=12, holdout=26.0)
    sim["monetary"] = gammagamma.simulate(TRUE_GG, sim["frequency"], seed=13)
    return sim


def _numgrad(f, th, h=1e-6):
    return np.array([(f(th + h * e) - f(th - h * e)) / (2 * h) for e in np.eye(th.size)])


def test_analytic_gradients_match_finite_differences(simulated):
    sim = simulated
    d = bgnbd._Data(sim["frequency"].to_numpy(float), sim["recency"].to_numpy(),
                    sim["T"].to_numpy())
    th = np.array([0.4, 3.0, 1.2, 1.7])
    _, g = bgnbd._loglik_grad(th, d)
    np.testing.assert_allclose(g, _numgrad(lambda t: bgnbd._loglik_grad(t, d, False)[0], th),
                               rtol=1e-5)
    rep = sim[sim["frequency"] > 0]
    x, m = rep["frequency"].to_numpy(float), rep["monetary"].to_numpy()
    w = np.ones_like(x)
    th = np.array([4.0, 3.0, 12.0])
    _, g = gammagamma._loglik_grad(th, x, m, w)
    np.testing.assert_allclose(
        g, _numgrad(lambda t: gammagamma._loglik_grad(t, x, m, w, False)[0], th), rtol=1e-5)


def test_grouped_likelihood_equals_per_customer_sum(simulated):
    sim = simulated.head(3000)
    ll = bgnbd.log_likelihood(TRUE_BG, sim["frequency"], sim["recency"], sim["T"]).sum()
    d = bgnbd._Data(sim["frequency"].to_numpy(float), sim["recency"].to_numpy(),
                    sim["T"].to_numpy())
    assert bgnbd._loglik_grad(TRUE_BG, d, False)[0] == pytest.approx(ll, rel=1e-12)


def test_simulated_truth_inside_95pct_intervals(simulated):
    b = bgnbd.BetaGeo().fit(simulated)
    g = gammagamma.GammaGamma().fit(simulated)
    for model, truth in ((b, TRUE_BG), (g, TRUE_GG)):
        t = model.summary()
        assert ((truth >= t["lower_95%"]) & (truth <= t["upper_95%"])).all(), t
        assert (np.abs(np.log(t["estimate"] / truth)) < 0.15).all()


def test_simulated_holdout_forecast_is_unbiased(simulated):
    """Conditional expectations (FHL eq. 10) at the true parameters add up to the holdout."""
    pred = bgnbd.conditional_expected_purchases(TRUE_BG, 26.0, simulated["frequency"],
                                                simulated["recency"], simulated["T"])
    act = simulated["frequency_holdout"]
    assert pred.sum() == pytest.approx(act.sum(), rel=0.04)
    # and unconditional E[X(t)] matches the simulated mean calibration count
    T = np.full(40000, 52.0)
    sim = bgnbd.simulate(TRUE_BG, T, seed=5)
    se = sim["frequency"].std() / np.sqrt(len(sim))
    assert abs(sim["frequency"].mean() - bgnbd.expected_purchases(TRUE_BG, 52.0)) < 3 * se


def test_p_alive_properties():
    # no repeat purchase: alive for sure (BG/NBD drops out only after a repeat purchase)
    assert bgnbd.p_alive(TRUE_BG, 0, 0.0, 30.0) == 1.0
    # a recent last purchase is better news than an old one
    assert bgnbd.p_alive(TRUE_BG, 5, 29.0, 30.0) > bgnbd.p_alive(TRUE_BG, 5, 5.0, 30.0)
    m = bgnbd.BetaGeo().fit(bgnbd.simulate(TRUE_BG, np.full(3000, 40.0), seed=1))
    mat = m.p_alive_matrix(40.0, max_frequency=5, n_recency=5)
    assert mat.shape == (6, 5) and mat.to_numpy().min() >= 0 and mat.to_numpy().max() <= 1


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="frequency, recency, T"):
        bgnbd.BetaGeo().fit(pd.DataFrame({"frequency": [1]}))
    with pytest.raises(ValueError, match="recency must lie between 0 and T"):
        bgnbd.p_alive(TRUE_BG, 2, 50.0, 30.0)
    with pytest.raises(ValueError, match="at least 3 repeat buyers"):
        gammagamma.GammaGamma().fit(pd.DataFrame({"frequency": [0, 1], "monetary": [0, 5.0]}))


def test_discounted_clv_algebra(simulated):
    s = simulated.head(2000).reset_index(drop=True)
    spend = np.full(len(s), 30.0)
    undiscounted = V.discounted_clv(TRUE_BG, s, spend, horizon_weeks=52, margin_rate=0.3,
                                    annual_discount_rate=0.0)
    direct = 0.3 * 30.0 * bgnbd.conditional_expected_purchases(
        TRUE_BG, 52.0, s["frequency"], s["recency"], s["T"])
    np.testing.assert_allclose(undiscounted["clv"], direct, rtol=1e-9)
    np.testing.assert_allclose(undiscounted["expected_purchases"] * 9.0, direct, rtol=1e-9)
    disc = V.discounted_clv(TRUE_BG, s, spend, horizon_weeks=52, annual_discount_rate=0.1)
    assert (disc["clv"] <= undiscounted["clv"] + 1e-12).all()
    # one year at 10%: the discount factor lies between 1/1.1 (all at the end) and 1
    ratio = disc["clv"].sum() / undiscounted["clv"].sum()
    assert 1 / 1.1 < ratio < 1
    longer = V.discounted_clv(TRUE_BG, s, spend, horizon_weeks=104)
    assert (longer["clv"] >= disc["clv"] - 1e-12).all()
    # clv = P(alive) x clv_if_alive
    np.testing.assert_allclose(disc["clv"], bgnbd.p_alive(TRUE_BG, s["frequency"], s["recency"],
                                                          s["T"]) * disc["clv_if_alive"])
    days = s.assign(recency=s["recency"] * 7, T=s["T"] * 7)
    in_days = V.discounted_clv(TRUE_BG * [1, 7, 1, 1], days, spend, time_unit="D")
    np.testing.assert_allclose(in_days["clv"], disc["clv"], rtol=1e-9)


def test_discounted_clv_per_distinct_pair_equals_per_customer(simulated):
    """E[Y | alive] is evaluated once per distinct (frequency, T): the numbers are those of
    evaluating it for every customer, to the last bit (and a NaN age stays its own pair)."""
    s = simulated.assign(T=np.ceil(simulated["T"]))  # ages in whole weeks: shared pairs
    x, tx, big_t = (s[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    assert len(np.unique(np.column_stack([x, big_t]), axis=0)) < len(s) / 2
    spend = np.full(len(s), 20.0)
    got = V.discounted_clv(TRUE_BG, s, spend, horizon_weeks=26, step_weeks=13.0)
    prev = pv = 0.0
    for w in (13.0, 26.0):
        cur = bgnbd.expected_purchases_if_alive(TRUE_BG, w, x, tx, big_t)
        pv = pv + (cur - prev) / 1.1 ** (w / V.clv.WEEKS_PER_YEAR)
        prev = cur
    pa = bgnbd.p_alive(TRUE_BG, x, tx, big_t)
    assert np.array_equal(got["clv_if_alive"].to_numpy(), 0.3 * spend * pv)
    assert np.array_equal(got["expected_purchases"].to_numpy(), pa * prev)
    ux, _, ut, back = V.clv._distinct_pairs(x, tx, big_t)
    assert np.array_equal(ux[back], x) and np.array_equal(ut[back], big_t)
    nan_t = big_t.copy()
    nan_t[0] = np.nan
    assert len(V.clv._distinct_pairs(x, tx, nan_t)[0]) == len(s)


def test_gamma_gamma_conditional_spend_shrinks_to_the_mean():
    p, q, g = TRUE_GG
    mean = p * g / (q - 1)
    spend = gammagamma.conditional_expected_spend(TRUE_GG, [0, 1, 100], [0.0, 80.0, 80.0])
    assert spend[0] == pytest.approx(mean)
    assert mean < spend[1] < spend[2] < 80.0
