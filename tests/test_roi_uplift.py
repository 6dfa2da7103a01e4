"""Uplift methods on simulated pilots with known individual effects."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from crm_lib.roi import uplift as U


def _pilot(n=6000, seed=0, confounded=False):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.standard_normal((n, 5)), columns=[f"x{i}" for i in range(5)])
    p0 = 1 / (1 + np.exp(-(-1.2 + 0.8 * X["x0"])))
    true_uplift = 0.20 / (1 + np.exp(-2.5 * X["x1"])) - 0.05  # do-not-disturbs where x1 << 0
    p1 = np.clip(p0 - true_uplift, 0.001, 0.999)
    if confounded:  # the campaign went to risky customers
        t = rng.random(n) < 1 / (1 + np.exp(-(1.5 * X["x0"])))
    else:
        t = rng.random(n) < 0.5
    y = rng.random(n) < np.where(t, p1, p0)
    return X, y, t, true_uplift.to_numpy(), p0.to_numpy(), p1


def test_ate_interval_covers_and_is_valid():
    # coverage over 400 simulated small pilots with a known effect of -0.03
    rng = np.random.default_rng(5)
    hits = 0
    for _ in range(400):
        t = rng.random(600) < 0.5
        y = rng.random(600) < np.where(t, 0.07, 0.10)
        a = U.average_treatment_effect(y, t)
        hits += a.ci_low <= -0.03 <= a.ci_high
    assert 0.92 <= hits / 400 <= 0.98
    X, y, t, tau, p0, p1 = _pilot()
    a = U.average_treatment_effect(y, t)
    truth = float(np.mean(p1 - p0))
    assert a.ci_low <= truth <= a.ci_high
    adj = U.average_treatment_effect(y, t, covariates=X)
    assert adj.ci_low <= truth <= adj.ci_high
    assert adj.se < a.se  # x0 predicts churn: adjustment buys precision
    assert a.effect == pytest.approx(a.rate_treated - a.rate_control)


def test_randomisation_check_passes_random_and_flags_confounded():
    X, y, t, *_ = _pilot(3000, seed=1)
    ok = U.randomisation_check(X, t, seed=0)
    assert ok.randomised and ok.propensity_auc < 0.55
    Xc, yc, tc, tau, p0, p1 = _pilot(3000, seed=2, confounded=True)
    bad = U.randomisation_check(Xc, tc, seed=0)
    assert not bad.randomised
    assert bad.propensity_auc > 0.7 and bad.table["covariate"].iloc[0] == "x0"
    a = U.average_treatment_effect(yc, tc).with_balance(bad)
    assert a.causal is False and "NOT CAUSAL" in a.note
    # the naive difference is biased by the selection: it misses the truth badly
    assert not (a.ci_low <= float(np.mean(p1 - p0)) <= a.ci_high)


@pytest.mark.parametrize("model", [U.TwoModelUplift(), U.XLearnerUplift(propensity=0.5),
                                   U.InteractionUplift(modifiers=["x1"])])
def test_uplift_models_recover_heterogeneous_effects(model):
    X, y, t, tau, *_ = _pilot(8000, seed=3)
    oof = U.cross_fit_uplift(model, X, y, t, cv=4, seed=0)
    assert stats.spearmanr(oof, tau).statistic > 0.6
    q_true = U.qini_auc(y, t, tau)
    q_model = U.qini_auc(y, t, oof)
    rng = np.random.default_rng(0)
    q_random = [U.qini_auc(y, t, rng.random(len(y))) for _ in range(5)]
    assert q_model > 0.6 * q_true and q_model > max(q_random)
    p0, p1 = model.fit(X, y, t).predict_outcomes(X)
    groups = U.response_groups(p0, p1)
    # persuadables have the larger true effect, do-not-disturbs a negative one
    by = pd.Series(tau).groupby(groups["group"].to_numpy()).mean()
    assert by["persuadable"] > 0.05 and by["do_not_disturb"] < 0


def test_interaction_uplift_finds_a_threshold_the_other_learners_blur():
    """A step effect (the offer cuts churn by 0.08 below age 35, nothing above) with few
    events, as in the demo pilot: the interaction S-learner's out-of-fold ranking puts the
    under-35s first (AUC of the score for "age < 35" above 0.9), its Qini interval lies
    above zero, and its effect sizes are closer to the truth than those of the two-model and
    X-learner (mean absolute error below 0.75 x theirs; measured 0.014 vs 0.025)."""
    rng = np.random.default_rng(11)
    n = 6000
    X = pd.DataFrame({"age": rng.uniform(18, 80, n), "n_products": rng.integers(1, 4, n),
                      "noise": rng.standard_normal(n)})
    young = (X["age"] < 35).to_numpy()
    p0 = 0.03 + 0.08 * young
    t = rng.random(n) < 0.5
    y = rng.random(n) < np.where(t & young, p0 - 0.08, p0)
    from sklearn.metrics import roc_auc_score
    mae = {}
    for name, m in {"interaction": U.InteractionUplift(modifiers=["age", "n_products"]),
                    "two_model": U.TwoModelUplift(),
                    "x_learner": U.XLearnerUplift(propensity=0.5)}.items():
        oof = U.cross_fit_uplift(m, X, y, t, cv=5, seed=0)
        mae[name] = np.abs(oof - 0.08 * young).mean()
        if name == "interaction":
            assert roc_auc_score(young, oof) > 0.9
            assert 0.03 < oof[young].mean() < 0.13 and abs(oof[~young].mean()) < 0.03
            est, lo, hi = U.qini_interval(y, t, oof, seed=0)
            assert lo < est < hi and lo > 0
    assert mae["interaction"] < 0.75 * min(mae["two_model"], mae["x_learner"])


def test_qini_curve_by_hand():
    # ranked: T retained, C churned, T retained, C retained
    churned = np.array([0, 1, 0, 0])
    treated = np.array([1, 0, 1, 0])
    c = U.uplift_curves(churned, treated, score=[4, 3, 2, 1])
    # k=2: R_T=1, R_C=0 -> 1 ; k=4: R_T=2, R_C=1, N_T/N_C=1 -> 1 ; per customer /4
    np.testing.assert_allclose(c["qini"], [0, 0, 0.25, 0.5, 0.25])
    np.testing.assert_allclose(c["random"], np.linspace(0, 0.25, 5))


def test_policy_curve_whole_pilot_is_the_difference_in_means():
    X, y, t, *_ = _pilot(2000, seed=4)
    v = np.full(len(y), 300.0)
    pc = U.policy_curve(y, t, X["x1"], value=v, cost=8.0, fractions=[1.0])
    a = U.average_treatment_effect(y, t)
    assert pc["uplift"].iloc[0] == pytest.approx(-a.effect)
    assert pc["profit"].iloc[0] == pytest.approx(-a.effect * 300 - 8.0)
    comp = U.compare_policies(y, t, {"x1": X["x1"].to_numpy()}, value=v, cost=8.0)
    rnd = comp[comp["policy"] == "random"]
    assert rnd["profit"].iloc[-1] == pytest.approx(pc["profit"].iloc[0])
    best = comp[comp["policy"] == "x1"]["profit"].max()
    assert best > rnd["profit"].max()  # ranking by the true effect driver beats random


def test_calibrated_uplift_tracks_the_bins():
    X, y, t, tau, *_ = _pilot(20000, seed=6)
    cal = U.calibrate_uplift(X["x1"], y, t, X["x1"], bins=5)
    by_bin = pd.Series(tau).groupby(pd.qcut(X["x1"], 5, labels=False)).mean()
    got = pd.Series(cal).groupby(pd.qcut(X["x1"], 5, labels=False)).mean()
    np.testing.assert_allclose(got, by_bin, atol=0.03)
    shrunk = U.calibrate_uplift(X["x1"], y, t, X["x1"], bins=5, shrink_to=0.0)
    assert np.abs(shrunk).mean() <= np.abs(cal).mean() + 1e-12


def test_bootstrap_qini_area_is_qini_auc_to_the_last_bit():
    """qini_interval's resamples use the frame-free area: the numbers of qini_auc."""
    rng = np.random.default_rng(8)
    for n in (40, 500, 2001):
        y, t = rng.random(n) < 0.25, rng.random(n) < 0.5
        s = np.round(rng.normal(size=n), 1)  # ties: the stable order matters
        area = U._qini_area(y.astype(float), t.astype(float), s)
        assert area == U.qini_auc(y, t, s)
    assert U._qini_area(y.astype(float), t.astype(float), -s) != area
