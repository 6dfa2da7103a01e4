"""Shifted-beta-geometric (sBG) retention model for contractual customers.

Fader, P. S. & Hardie, B. G. S. (2007), "How to project customer
retention", *Journal of Interactive Marketing* 21(1): 76-90.

Each customer renews at the end of every period with a private churn
probability ``theta`` (geometric lifetime); ``theta`` varies across
customers as Beta(alpha, beta). Then

- P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta), t = 1, 2, ...
- S(t) = P(T > t) = B(alpha, beta + t) / B(alpha, beta)
- the retention rate r(t) = S(t) / S(t-1) = (beta + t - 1) / (alpha + beta + t - 1)
  *rises* with t: not because anyone becomes more loyal, but because the
  churn-prone leave first (heterogeneity, "the ruse of the rising
  retention rate").

Fitted by maximum likelihood on the log scale of (alpha, beta), either on a
single cohort's survivor counts (the paper's setting) or on individual
customers with right censoring (customers who joined at different times).
Standard errors from the numerical Hessian (delta method for the CIs and for the
band of the survival curve, :meth:`SBGFit.survival_interval`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special


def sbg_log_pmf(t, alpha: float, beta: float) -> np.ndarray:
    """log P(T = t) for churn in period t (t >= 1)."""
    t = np.asarray(t, float)
    return special.betaln(alpha + 1, beta + t - 1) - special.betaln(alpha, beta)


def sbg_log_survival(t, alpha: float, beta: float) -> np.ndarray:
    """log S(t): still a customer after t periods (S(0) = 1)."""
    t = np.asarray(t, float)
    return special.betaln(alpha, beta + t) - special.betaln(alpha, beta)


def sbg_survival(t, alpha: float, beta: float) -> np.ndarray:
    """S(t) = B(alpha, beta + t) / B(alpha, beta)."""
    return np.exp(sbg_log_survival(t, alpha, beta))


def sbg_retention_rate(t, alpha: float, beta: float) -> np.ndarray:
    """Period-t retention rate r(t) = (beta + t - 1) / (alpha + beta + t - 1)."""
    t = np.asarray(t, float)
    return (beta + t - 1) / (alpha + beta + t - 1)


@dataclass
class SBGFit:
    """Maximum-likelihood sBG estimates with 95% intervals."""

    alpha: float
    beta: float
    loglik: float
    n: int
    cov_log: np.ndarray  # covariance of (log alpha, log beta)

    def ci(self, level: float = 0.95) -> pd.DataFrame:
        """Wald intervals on the log scale, transformed back."""
        z = float(np.sqrt(2) * special.erfinv(level))
        se = np.sqrt(np.diag(self.cov_log))
        est = np.array([self.alpha, self.beta])
        return pd.DataFrame({"estimate": est, "se": est * se,
                             "ci_low": est * np.exp(-z * se), "ci_high": est * np.exp(z * se)},
                            index=["alpha", "beta"])

    @property
    def mean_churn(self) -> float:
        """Mean of the churn-probability distribution, alpha / (alpha + beta)."""
        return self.alpha / (self.alpha + self.beta)

    def survival(self, t) -> np.ndarray:
        return sbg_survival(t, self.alpha, self.beta)

    def retention_rate(self, t) -> np.ndarray:
        return sbg_retention_rate(t, self.alpha, self.beta)

    def survival_interval(self, t, level: float = 0.95) -> pd.DataFrame:
        """S(t) with its ``level`` interval from the parameter uncertainty (delta method).

        log S(t) is a smooth function of (log alpha, log beta); its standard error is
        sqrt(g' V g) with V the inverse observed information (``cov_log``) and g the
        numerical gradient; the interval is S exp(-/+ z se), capped at 1. It covers the
        model's S(t), not the sampling of future survivors.
        """
        t = np.asarray(t, float)
        x = np.log([self.alpha, self.beta])

        def f(v):
            return sbg_log_survival(t, *np.exp(v))

        eps = 1e-5
        grad = np.column_stack([(f(x + e) - f(x - e)) / (2 * eps) for e in np.eye(2) * eps])
        se = np.sqrt(np.einsum("ij,jk,ik->i", grad, self.cov_log, grad))
        z = float(special.ndtri(0.5 + level / 2))
        s = np.exp(f(x))
        return pd.DataFrame({"period": t, "survival": s, "ci_low": s * np.exp(-z * se),
                             "ci_high": np.minimum(s * np.exp(z * se), 1.0)})

    def projection(self, periods: int, level: float = 0.95) -> pd.DataFrame:
        """Survival with its ``level`` band and retention rate for periods 0..``periods``."""
        t = np.arange(periods + 1)
        rr = np.r_[np.nan, self.retention_rate(t[1:])]
        band = self.survival_interval(t, level)
        return pd.DataFrame({"period": t, "survival": self.survival(t),
                             "ci_low": band["ci_low"].to_numpy(),
                             "ci_high": band["ci_high"].to_numpy(), "retention_rate": rr})

    def expected_lifetime(self, discount: float = 0.0, horizon: int = 1000) -> float:
        """Expected number of (discounted) periods paid, from the start of a new customer.

        With ``discount`` d per period: sum over t >= 0 of S(t) / (1 + d)^t
        (Fader & Hardie 2010, discounted expected lifetime), truncated at ``horizon``.
        """
        t = np.arange(horizon)
        return float(np.sum(self.survival(t) / (1 + discount) ** t))


def _fit(negll, n: int, start=(0.0, 1.0)) -> SBGFit:
    res = optimize.minimize(negll, np.asarray(start, float), method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 10000})
    res = optimize.minimize(negll, res.x, method="BFGS")
    x = res.x
    h = _hessian(negll, x)
    try:
        cov = np.linalg.inv(h)
    except np.linalg.LinAlgError:
        cov = np.full((2, 2), np.nan)
    return SBGFit(float(np.exp(x[0])), float(np.exp(x[1])), float(-res.fun), n, cov)


def _hessian(f, x, eps: float = 1e-4) -> np.ndarray:
    k = len(x)
    h = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * eps, np.eye(k)[j] * eps
            h[i, j] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
                4 * eps * eps)
    return h


def fit_sbg_cohort(survivors) -> SBGFit:
    """Fit one cohort from its survivor counts ``[n_0, n_1, ..., n_T]`` (n_0 = cohort size).

    Likelihood: the n_{t-1} - n_t customers lost in period t contribute
    P(T = t); the n_T still active contribute S(T).
    """
    s = np.asarray(survivors, float)
    if s.ndim != 1 or len(s) < 3 or np.any(np.diff(s) > 0) or s[0] <= 0:
        raise ValueError("survivors must be a non-increasing sequence of at least 3 counts "
                         "starting with the cohort size")
    lost = -np.diff(s)
    t = np.arange(1, len(s))

    def negll(x):
        a, b = np.exp(x)
        return -(np.sum(lost * sbg_log_pmf(t, a, b)) + s[-1] * sbg_log_survival(t[-1], a, b))

    return _fit(negll, int(s[0]))


def fit_sbg(periods, churned) -> SBGFit:
    """Fit customers observed for different lengths (individual likelihood, right censoring).

    ``periods``: for a churner, the period in which they left (1 = during
    the first period); for an active customer, the number of completed
    periods (they contribute S(periods)). ``churned``: booleans.
    """
    t = np.asarray(periods, float)
    e = np.asarray(churned, bool)
    if len(t) != len(e) or len(t) == 0:
        raise ValueError("periods and churned must be non-empty and of equal length")
    if np.any(t[e] < 1) or np.any(t < 0):
        raise ValueError("churners need periods >= 1 and every customer periods >= 0")
    te, tc = t[e], t[~e]
    ue, ce = np.unique(te, return_counts=True)
    uc, cc = np.unique(tc, return_counts=True)

    def negll(x):
        a, b = np.exp(x)
        return -(np.sum(ce * sbg_log_pmf(ue, a, b)) + np.sum(cc * sbg_log_survival(uc, a, b)))

    return _fit(negll, len(t))


def customer_periods(customers: pd.DataFrame, *, as_of, period_days: float = 30.4375
                     ) -> pd.DataFrame:
    """Periods for :func:`fit_sbg`: churners' leaving period, survivors' completed periods.

    ``customers`` must have parsed ``signup_date``, ``end_date`` and
    ``churned`` (see :func:`crm_lib.churn.definition.prepare_customers`).
    """
    as_of = pd.Timestamp(as_of)
    end = customers["end_date"].where(customers["churned"], as_of)
    days = (end - customers["signup_date"]).dt.days.to_numpy(float)
    churned = customers["churned"].to_numpy(bool)
    periods = np.where(churned, np.maximum(np.ceil(days / period_days), 1),
                       np.floor(days / period_days))
    return pd.DataFrame({"customer_id": customers["customer_id"].to_numpy(),
                         "periods": periods.astype(int), "churned": churned})


def truncate_periods(periods: pd.DataFrame, max_period: int) -> pd.DataFrame:
    """Observation cut at ``max_period``: later churners become survivors of ``max_period``.

    Fitting on the truncated data and comparing the projection with what
    happened later is the paper's holdout validation.
    """
    p = periods.copy()
    late = p["periods"] > max_period
    p.loc[late, "periods"] = max_period
    p.loc[late, "churned"] = False
    return p


#: Fader & Hardie (2007), Table 1: survivors of two cohorts of 1,000 customers, years 0-12.
FH2007_SURVIVORS = {
    "regular": [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173],
    "high_end": [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394],
}
#: Their maximum-likelihood estimates from years 1-7. (Regular customers lose 37% in year
#: one, so their mean churn probability alpha / (alpha + beta) = 0.37 fixes which pair is
#: which: regular 0.704 / 1.182, high end 0.668 / 3.806.)
FH2007_ESTIMATES = {"regular": {"alpha": 0.704, "beta": 1.182},
                    "high_end": {"alpha": 0.668, "beta": 3.806}}


def compare_with_km(fit: SBGFit, km_curve: pd.DataFrame, months) -> pd.DataFrame:
    """sBG survival next to the Kaplan-Meier estimate (and its interval) at given months."""
    km = km_curve.sort_values("time")
    idx = np.searchsorted(km["time"].to_numpy(), np.asarray(months, float), "right") - 1
    sub = km.iloc[idx]
    out = pd.DataFrame({"months": list(months), "kaplan_meier": sub["survival"].to_numpy(),
                        "km_ci_low": sub["ci_low"].to_numpy(),
                        "km_ci_high": sub["ci_high"].to_numpy(),
                        "sbg": fit.survival(np.asarray(months, float))})
    out["inside_km_ci"] = (out["sbg"] >= out["km_ci_low"]) & (out["sbg"] <= out["km_ci_high"])
    return out
