"""Shifted-beta-geometric model: the published Fader & Hardie (2007) example and recovery."""

from __future__ import annotations

import numpy as np
import pytest

from crm_lib.churn import sbg


@pytest.mark.parametrize("cohort", ["regular", "high_end"])
def test_reproduces_fader_hardie_2007_estimates(cohort):
    """MLE on years 1-7 matches the paper to its three published decimals."""
    fit = sbg.fit_sbg_cohort(sbg.FH2007_SURVIVORS[cohort][:8])
    want = sbg.FH2007_ESTIMATES[cohort]
    assert fit.alpha == pytest.approx(want["alpha"], abs=5e-4)
    assert fit.beta == pytest.approx(want["beta"], abs=5e-4)
    ci = fit.ci()
    assert ci.loc["alpha", "ci_low"] < fit.alpha < ci.loc["alpha", "ci_high"]
    # the projection of years 8-12 (not used in fitting) tracks the observed survivors
    actual = np.array(sbg.FH2007_SURVIVORS[cohort][8:], float)
    projected = 1000 * fit.survival(np.arange(8, 13))
    assert np.max(np.abs(projected / actual - 1)) < 0.05


def test_individual_likelihood_equals_cohort_likelihood():
    s = np.array(sbg.FH2007_SURVIVORS["regular"][:8])
    lost = -np.diff(s)
    periods = np.r_[np.repeat(np.arange(1, 8), lost), np.full(s[-1], 7)]
    churned = np.r_[np.ones(lost.sum(), bool), np.zeros(s[-1], bool)]
    a = sbg.fit_sbg_cohort(s)
    b = sbg.fit_sbg(periods, churned)
    assert (b.alpha, b.beta) == pytest.approx((a.alpha, a.beta), rel=1e-5)
    assert b.loglik == pytest.approx(a.loglik, rel=1e-9)


def test_closed_forms_are_consistent():
    a, b = 0.7, 1.2
    t = np.arange(1, 30)
    pmf = np.exp(sbg.sbg_log_pmf(t, a, b))
    surv = sbg.sbg_survival(np.r_[0, t], a, b)
    assert surv[0] == pytest.approx(1.0)
    np.testing.assert_allclose(surv[:-1] - surv[1:], pmf, rtol=1e-10)
    np.testing.assert_allclose(np.cumprod(sbg.sbg_retention_rate(t, a, b)), surv[1:], rtol=1e-10)
    assert pmf[0] == pytest.approx(a / (a + b))


def test_recovers_simulated_parameters_with_censoring():
    rng = np.random.default_rng(11)
    alpha, beta, n = 1.5, 6.0, 20000
    theta = rng.beta(alpha, beta, n)
    life = rng.geometric(theta)  # period in which each customer leaves
    observed = rng.integers(1, 37, n)  # customers joined at different times
    churned = life <= observed
    periods = np.where(churned, life, observed)
    fit = sbg.fit_sbg(periods, churned)
    ci = fit.ci()
    assert ci.loc["alpha", "ci_low"] < alpha < ci.loc["alpha", "ci_high"]
    assert ci.loc["beta", "ci_low"] < beta < ci.loc["beta", "ci_high"]
    assert fit.mean_churn == pytest.approx(alpha / (alpha + beta), abs=0.01)


def test_bad_survivor_counts_are_rejected():
    with pytest.raises(ValueError, match="non-increasing"):
        sbg.fit_sbg_cohort([1000, 1100, 900])


def test_survival_band_covers_the_true_curve_at_its_nominal_rate():
    """The delta-method band (observed information of log alpha, log beta) is honest:
    over 300 simulated cohorts of 2,000 customers observed for 12 periods
    (sBG(0.7, 1.2), the F&H regular customers), the true S(3) and S(12) fall inside the
    95% band in 92-98% of the fits (binomial SE 1.3 points), and the band at t = 0 is 1."""
    rng = np.random.default_rng(2007)
    alpha, beta, n, horizon = 0.704, 1.182, 2000, 12
    t = np.array([3.0, 12.0])
    truth = sbg.sbg_survival(t, alpha, beta)
    hits = []
    for _ in range(300):
        life = rng.geometric(rng.beta(alpha, beta, n))
        survivors = [n] + [int((life > k).sum()) for k in range(1, horizon + 1)]
        band = sbg.fit_sbg_cohort(survivors).survival_interval(np.r_[0.0, t])
        assert band["ci_low"].iloc[0] == band["ci_high"].iloc[0] == 1.0
        hits.append(((band["ci_low"].iloc[1:] <= truth) & (truth <= band["ci_high"].iloc[1:]))
                    .to_numpy())
    coverage = np.mean(hits, axis=0)
    assert ((0.92 <= coverage) & (coverage <= 0.98)).all(), coverage


def test_projection_carries_the_band():
    fit = sbg.fit_sbg_cohort(sbg.FH2007_SURVIVORS["regular"][:8])
    p = fit.projection(12)
    band = fit.survival_interval(np.arange(13), level=0.9)
    np.testing.assert_allclose(p["survival"], band["survival"])
    assert (p["ci_low"] <= p["survival"]).all() and (p["survival"] <= p["ci_high"]).all()
    assert (band["ci_high"] - band["ci_low"] < p["ci_high"] - p["ci_low"] + 1e-12).all()
