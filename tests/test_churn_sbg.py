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
