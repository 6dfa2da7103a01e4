"""Expected maximum profit for customer churn (Verbraken, Verbeke & Baesens 2013).

A retention campaign contacts the fraction of customers a churn model ranks
highest. Following Verbraken, Verbeke & Baesens (2013, IEEE TKDE 25(5),
961-973), a contacted churner accepts the offer with probability ``gamma``
and is then retained (worth ``clv - incentive``); every contact costs
``contact_cost``; contacted non-churners take the offer too (cost
``incentive``). The profit per customer of targeting the top ``k`` is then a
straight line in ``gamma``::

    profit_k(gamma) = gamma * A_k + B_k
    A_k = sum over top-k churners of (clv_i - incentive) / N
    B_k = -(contact_cost * (churners in top k)
            + (incentive + contact_cost) * (non-churners in top k)) / N

* MPC (maximum profit) fixes ``gamma`` and takes the best ``k``.
* EMPC (expected maximum profit) lets ``gamma`` follow a Beta(alpha, beta)
  distribution and integrates the best ``k`` over it. The best ``k`` for each
  ``gamma`` lies on the upper convex hull of the points ``(A_k, B_k)``, so the
  integral is a finite sum of incomplete Beta functions (exact, no sampling).

With one constant ``clv`` this equals ``empulse.metrics.empc_score`` /
``mpc_score``; :func:`empc_clv` uses each customer's own CLV instead (the
CLV-aware variant: the ranking is judged by the value it saves, not only by
how many churners it finds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

__all__ = ["MaxProfit", "empc", "mpc", "empc_clv", "mpc_clv", "profit_lines",
           "expected_profit_by_fraction"]


@dataclass(frozen=True)
class MaxProfit:
    """A maximum-profit measure: the profit per customer and the fraction to target.

    ``value``: (expected) maximum profit per customer in the base, in CLV units
    (currency). ``fraction``: the (expected) share of customers targeted at the
    optimum. ``threshold``: the score cut-off at the optimum (MPC) or at the
    mean acceptance rate (EMPC). ``perfect``: the same measure for a model that
    ranks every churner first (the upper bound).
    """

    measure: str
    value: float
    fraction: float
    threshold: float
    perfect: float
    params: dict


def _as_arrays(y_true, y_score, clv=None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    y = np.asarray(y_true)
    s = np.asarray(y_score, dtype=float)
    if y.ndim != 1 or s.ndim != 1 or len(y) != len(s):
        raise ValueError("y_true and y_score must be 1-D and of equal length "
                         f"(got {y.shape} and {s.shape})")
    if len(y) == 0:
        raise ValueError("y_true is empty: no customers to evaluate")
    if not np.isin(y, [0, 1, True, False]).all():
        raise ValueError("y_true must be binary churn labels (1/True = churned)")
    if np.isnan(s).any():
        raise ValueError("y_score has missing values: score every customer")
    c = None
    if clv is not None:
        c = np.broadcast_to(np.asarray(clv, dtype=float), s.shape).astype(float)
        if np.isnan(c).any():
            raise ValueError("clv has missing values: give every customer a CLV")
    return y.astype(float), s, c


def profit_lines(y_true, y_score, *, clv=200.0, incentive: float = 10.0,
                 contact_cost: float = 1.0) -> pd.DataFrame:
    """Profit lines ``gamma * A + B`` of targeting the top-scored customers.

    One row per distinct score cut-off (tied scores enter together), starting
    with "target nobody": columns ``threshold``, ``fraction`` (share of the base
    targeted), ``A`` and ``B`` (per customer in the base, see the module
    docstring). ``clv`` is a constant or one value per customer.
    """
    y, s, c = _as_arrays(y_true, y_score, clv)
    n = len(y)
    order = np.argsort(-s, kind="mergesort")
    y, s, c = y[order], s[order], c[order]
    a = np.cumsum(y * (c - incentive))
    b = -np.cumsum(y * contact_cost + (1 - y) * (incentive + contact_cost))
    last = np.r_[s[1:] != s[:-1], True]  # end of each tie group
    return pd.DataFrame({
        "threshold": np.r_[np.inf, s[last]],
        "fraction": np.r_[0.0, (np.arange(1, n + 1))[last] / n],
        "A": np.r_[0.0, a[last] / n],
        "B": np.r_[0.0, b[last] / n],
    })


def _upper_envelope(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Indices of lines ``g*a + b`` forming the upper envelope for g in (-inf, inf), by slope.

    The upper convex hull of the points (a, b), found by vectorised passes that
    drop every point lying on or below the chord of its neighbours.
    """
    order = np.lexsort((-b, a))  # by slope, highest intercept first among equal slopes
    a, b = a[order], b[order]
    keep = np.r_[True, a[1:] != a[:-1]]  # equal slope: keep the highest intercept
    idx = order[keep]
    a, b = a[keep], b[keep]
    while len(idx) > 2:
        # middle point j is redundant if it lies on or below the chord of its neighbours
        cross = (a[1:-1] - a[:-2]) * (b[2:] - b[:-2]) - (b[1:-1] - b[:-2]) * (a[2:] - a[:-2])
        bad = cross >= 0  # not a strict right (concave) turn
        if not bad.any():
            break
        # a point on or below the chord of two others is not a hull vertex, and
        # dropping non-vertices leaves the hull unchanged: drop them all at once
        drop = np.r_[False, bad, False]
        idx, a, b = idx[~drop], a[~drop], b[~drop]
    return idx


def _expected_max(lines: pd.DataFrame, alpha: float, beta: float) -> tuple[float, float, float]:
    """E over gamma ~ Beta(alpha, beta) of max_k (gamma A_k + B_k); expected fraction, threshold."""
    a, b = lines["A"].to_numpy(), lines["B"].to_numpy()
    env = _upper_envelope(a, b)
    ea, eb = a[env], b[env]
    # breakpoints where the next (steeper) line takes over, clipped to [0, 1]
    cuts = np.clip((eb[:-1] - eb[1:]) / (ea[1:] - ea[:-1]), 0.0, 1.0)
    lo = np.r_[0.0, cuts]
    hi = np.r_[cuts, 1.0]
    prob = special.betainc(alpha, beta, hi) - special.betainc(alpha, beta, lo)
    mean = alpha / (alpha + beta)
    pmean = mean * (special.betainc(alpha + 1, beta, hi) - special.betainc(alpha + 1, beta, lo))
    value = float(np.sum(ea * pmean + eb * prob))
    fraction = float(np.sum(lines["fraction"].to_numpy()[env] * prob))
    at_mean = env[np.searchsorted(hi, mean, side="left").clip(0, len(env) - 1)]
    return value, fraction, float(lines["threshold"].to_numpy()[at_mean])


def _max_at(lines: pd.DataFrame, gamma: float) -> tuple[float, float, float]:
    profit = gamma * lines["A"].to_numpy() + lines["B"].to_numpy()
    k = int(np.argmax(profit))
    return float(profit[k]), float(lines["fraction"].iloc[k]), float(lines["threshold"].iloc[k])


def _perfect_scores(y_true, clv) -> np.ndarray:
    y = np.asarray(y_true, dtype=float)
    c = np.broadcast_to(np.asarray(clv, dtype=float), y.shape)
    return y * (1.0 + c / (np.abs(c).max() + 1.0) + 1.0)  # churners first, by CLV


def empc(y_true, y_score, *, clv: float = 200.0, incentive: float = 10.0,
         contact_cost: float = 1.0, alpha: float = 6.0, beta: float = 14.0) -> MaxProfit:
    """EMPC of Verbraken, Verbeke & Baesens (2013) with a constant CLV.

    Defaults are the paper's: CLV 200, incentive 10, contact cost 1, acceptance
    rate ~ Beta(6, 14). ``y_true``: 1 = churned; ``y_score``: higher = more
    likely to churn (use out-of-fold scores so the model is not judged on the
    customers it learned from).
    """
    return empc_clv(y_true, y_score, clv=clv, incentive=incentive, contact_cost=contact_cost,
                    alpha=alpha, beta=beta, _measure="EMPC")


def mpc(y_true, y_score, *, clv: float = 200.0, incentive: float = 10.0,
        contact_cost: float = 1.0, accept_rate: float = 0.3) -> MaxProfit:
    """MPC of Verbraken, Verbeke & Baesens (2013): maximum profit at a fixed acceptance rate."""
    return mpc_clv(y_true, y_score, clv=clv, incentive=incentive, contact_cost=contact_cost,
                   accept_rate=accept_rate, _measure="MPC")


def empc_clv(y_true, y_score, *, clv, incentive: float = 10.0, contact_cost: float = 1.0,
             alpha: float = 6.0, beta: float = 14.0, _measure: str = "EMPC-CLV") -> MaxProfit:
    """CLV-aware EMPC: as :func:`empc` but each churner is worth their own ``clv``.

    A retained churner contributes ``clv_i - incentive`` instead of one constant;
    the perfect model here ranks churners first (highest CLV first).
    """
    if alpha <= 0 or beta <= 0:
        raise ValueError("alpha and beta of the acceptance-rate Beta distribution must be > 0")
    params = dict(clv=clv if np.ndim(clv) == 0 else "per customer", incentive=incentive,
                  contact_cost=contact_cost, alpha=alpha, beta=beta)
    kw = dict(clv=clv, incentive=incentive, contact_cost=contact_cost)
    value, frac, thr = _expected_max(profit_lines(y_true, y_score, **kw), alpha, beta)
    perfect, _, _ = _expected_max(profit_lines(y_true, _perfect_scores(y_true, clv), **kw),
                                  alpha, beta)
    return MaxProfit(_measure, value, frac, thr, perfect, params)


def mpc_clv(y_true, y_score, *, clv, incentive: float = 10.0, contact_cost: float = 1.0,
            accept_rate: float = 0.3, _measure: str = "MPC-CLV") -> MaxProfit:
    """CLV-aware MPC: maximum profit at a fixed acceptance rate with per-customer CLV."""
    if not 0 <= accept_rate <= 1:
        raise ValueError("accept_rate must be between 0 and 1")
    params = dict(clv=clv if np.ndim(clv) == 0 else "per customer", incentive=incentive,
                  contact_cost=contact_cost, accept_rate=accept_rate)
    kw = dict(clv=clv, incentive=incentive, contact_cost=contact_cost)
    value, frac, thr = _max_at(profit_lines(y_true, y_score, **kw), accept_rate)
    perfect, _, _ = _max_at(profit_lines(y_true, _perfect_scores(y_true, clv), **kw), accept_rate)
    return MaxProfit(_measure, value, frac, thr, perfect, params)


def expected_profit_by_fraction(y_true, y_score, *, clv=200.0, incentive: float = 10.0,
                                contact_cost: float = 1.0, alpha: float = 6.0,
                                beta: float = 14.0, quantiles: tuple[float, float] = (0.05, 0.95)
                                ) -> pd.DataFrame:
    """Profit per customer of targeting each top fraction, at the mean acceptance rate
    and at the ``quantiles`` of the Beta(alpha, beta) acceptance rate (for a band)."""
    lines = profit_lines(y_true, y_score, clv=clv, incentive=incentive, contact_cost=contact_cost)
    g_mean = alpha / (alpha + beta)
    g_lo, g_hi = special.betaincinv(alpha, beta, np.asarray(quantiles, dtype=float))
    return pd.DataFrame({
        "fraction": lines["fraction"],
        "profit": g_mean * lines["A"] + lines["B"],
        "profit_low": g_lo * lines["A"] + lines["B"],
        "profit_high": g_hi * lines["A"] + lines["B"],
    })
