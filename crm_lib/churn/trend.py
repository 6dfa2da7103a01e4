"""Churn over calendar time: the monthly churn rate and its linear trend.

The monthly rate of month M is the customers whose plan ended in M divided by
the customers active at the start of M (a period rate, as in Ascarza et al.
2018); the trend is the ordinary-least-squares slope of the last months' rates
with a 95% t interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def monthly_churn(customers: pd.DataFrame, as_of, months: int = 24) -> pd.DataFrame:
    """Monthly churn rate for the ``months`` full calendar months before ``as_of``.

    Rate of month M = customers whose plan ended in M (``churned``) / customers
    active at the start of M (signed up before, not ended before). Vectorised
    over customers x months. A partial last month is dropped.
    """
    for col in ("signup_date", "end_date", "churned"):
        if col not in customers.columns:
            raise ValueError(f"customers: column '{col}' is needed for the churn trend")
    as_of = pd.Timestamp(as_of)
    last = as_of.to_period("M") - (0 if as_of == as_of.to_period("M").end_time.normalize() else 1)
    periods = pd.period_range(end=last, periods=int(months), freq="M")
    starts = periods.start_time.to_numpy()
    ends = (periods + 1).start_time.to_numpy()
    signup = pd.to_datetime(customers["signup_date"]).to_numpy()[:, None]
    end = pd.to_datetime(customers["end_date"]).to_numpy()[:, None]
    churned = customers["churned"].fillna(False).astype(bool).to_numpy()[:, None]
    has_end = ~pd.isna(end)
    active = (signup < starts) & (~has_end | (end >= starts))
    left = active & churned & has_end & (end < ends)
    n_active, n_left = active.sum(axis=0), left.sum(axis=0)
    return pd.DataFrame({"month": periods.astype(str), "active_start": n_active,
                         "churned": n_left,
                         "rate": np.divide(n_left, n_active, out=np.full(len(periods), np.nan),
                                           where=n_active > 0)})


@dataclass(frozen=True)
class Trend:
    """Linear trend of the monthly churn rate (shares per month)."""

    slope: float  # change of the monthly rate per month (share; x100 = percentage points)
    ci_low: float
    ci_high: float
    p_value: float
    months: int  # months in the fit
    recent_rate: float  # pooled rate of the last ``recent`` months
    recent: int

    @property
    def direction(self) -> str:
        """'rising' / 'falling' when the 95% interval excludes 0, else 'flat'."""
        if self.ci_low > 0:
            return "rising"
        if self.ci_high < 0:
            return "falling"
        return "flat"


def ols_line(y: np.ndarray, alpha: float = 0.05) -> tuple[float, float, float, float]:
    """``(slope, ci_low, ci_high, p_value)`` of the OLS line of ``y`` on ``0, 1, ..., n-1``.

    statsmodels' ``OLS(y, add_constant(x)).fit()`` (pseudo-inverse method) step by step,
    the same operations in the same order, so the numbers are statsmodels' to the last
    bit (tests/test_summary.py compares them): importing statsmodels' regression module
    (and the scipy.stats it loads) would cost notebook 06 more than all its work.
    """
    from scipy.special import stdtr, stdtrit

    y = np.asarray(y, dtype=float)
    x = np.column_stack([np.ones(len(y)), np.arange(len(y), dtype=float)])
    u, s, vt = np.linalg.svd(x, False)  # statsmodels.tools.tools.pinv_extended
    s_orig = np.copy(s)
    cutoff = 1e-15 * np.maximum.reduce(s)
    for i in range(min(vt.shape[1], u.shape[0])):
        s[i] = 1.0 / s[i] if s[i] > cutoff else 0.0
    pinv = np.dot(np.transpose(vt), np.multiply(s[:, np.newaxis], np.transpose(u)))
    normalized_cov = np.dot(pinv, np.transpose(pinv))
    rank = np.linalg.matrix_rank(np.diag(s_orig))
    params = np.dot(pinv, y)
    resid = y - np.dot(x, params)
    df_resid = float(x.shape[0] - rank)
    scale = np.dot(resid, resid) / df_resid
    bse = np.sqrt(np.diag(normalized_cov * scale))
    q = stdtrit(df_resid, 1 - alpha / 2)
    lower, upper = params - q * bse, params + q * bse
    p = stdtr(df_resid, -np.abs(params / bse)) * 2
    return float(params[1]), float(lower[1]), float(upper[1]), float(p[1])


def churn_trend(monthly: pd.DataFrame, window: int = 12, recent: int = 3) -> Trend | None:
    """OLS trend of the last ``window`` monthly rates, 95% t interval; None below 4 months."""
    m = monthly.dropna(subset=["rate"]).tail(int(window))
    if len(m) < 4:
        return None
    slope, lo, hi, p = ols_line(m["rate"].to_numpy())
    r = m.tail(int(recent))
    return Trend(slope, lo, hi, p, len(m),
                 float(r["churned"].sum() / r["active_start"].sum()), len(r))
