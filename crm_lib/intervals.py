"""Confidence intervals for counts, shared by every module that reports a share or a rate.

- :func:`wilson_interval`: the Wilson (1927) score interval for binomial
  proportions (churn-reason shares, simulated retention by satisfaction score).
- :func:`poisson_interval`: the exact (Garwood 1936) interval for a Poisson
  rate, events / exposure (churn per 100 customer-months).

Both take ``level`` (never ``ci=``) and broadcast over arrays.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["wilson_interval", "poisson_interval"]


def wilson_interval(successes, trials, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``successes`` out of ``trials`` (NaN where trials = 0)."""
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return centre - half, centre + half


def poisson_interval(k, exposure, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval for a Poisson rate ``k / exposure``."""
    k, e = np.asarray(k, float), np.asarray(exposure, float)
    a = 1 - level
    lo = np.where(k > 0, stats.chi2.ppf(a / 2, 2 * k) / 2, 0.0)
    hi = stats.chi2.ppf(1 - a / 2, 2 * k + 2) / 2
    return lo / e, hi / e
