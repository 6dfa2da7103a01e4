"""Key-driver analysis: which drivers matter for satisfaction, and where to act.

- Johnson's (2000) relative weights ("A heuristic method for estimating the
  relative weight of predictor variables in multiple regression",
  *Multivariate Behavioral Research* 35(1)): the predictors are replaced by
  their closest orthogonal counterparts Z = X (X'X)^-1/2; R^2 splits exactly
  over the predictors even when they are correlated.
- LMG / Shapley decomposition (Lindeman, Merenda & Gold 1980; Groemping
  2006, "Relative importance for linear regression in R: the package
  relaimpo", *JSS* 17(1)): each predictor's R^2 increment averaged over all
  orders of entry, computed exactly over the 2^p subsets (p <= 15).
- Percentile bootstrap intervals for both (Johnson 2004; Tonidandel,
  LeBreton & Johnson 2009).
- Importance-performance matrix (Martilla & James 1977, "Importance-performance
  analysis", *Journal of Marketing* 41(1)) with the four named quadrants, cut
  at the mean importance and mean performance of the drivers.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import factorial

import numpy as np
import pandas as pd


def _corr(X: pd.DataFrame, y: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    d = pd.concat([X, y.rename("__y__")], axis=1).dropna()
    R = np.corrcoef(d.values, rowvar=False)
    return R[:-1, :-1], R[:-1, -1]


def _relative_weights(Rxx: np.ndarray, rxy: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh(Rxx)
    vals = np.clip(vals, 1e-12, None)
    lam = vecs @ np.diag(np.sqrt(vals)) @ vecs.T  # corr(X, Z)
    beta = np.linalg.solve(lam, rxy)  # regression of y on Z
    return (lam ** 2) @ (beta ** 2)


def relative_weights(X: pd.DataFrame, y: pd.Series) -> pd.Series:
    """Johnson's (2000) raw relative weights; they sum to the model R^2."""
    Rxx, rxy = _corr(X, y)
    return pd.Series(_relative_weights(Rxx, rxy), index=X.columns, name="relative_weight")


def _r2(Rxx: np.ndarray, rxy: np.ndarray, idx: tuple[int, ...]) -> float:
    if not idx:
        return 0.0
    i = list(idx)
    return float(rxy[i] @ np.linalg.solve(Rxx[np.ix_(i, i)], rxy[i]))


def _lmg(Rxx: np.ndarray, rxy: np.ndarray) -> np.ndarray:
    p = len(rxy)
    if p > 15:
        raise ValueError("LMG enumerates 2^p subsets; use relative weights for p > 15")
    r2 = {s: _r2(Rxx, rxy, s) for k in range(p + 1) for s in combinations(range(p), k)}
    out = np.zeros(p)
    for j in range(p):
        others = [i for i in range(p) if i != j]
        for k in range(p):
            w = factorial(k) * factorial(p - k - 1) / factorial(p)
            for s in combinations(others, k):
                out[j] += w * (r2[tuple(sorted((*s, j)))] - r2[s])
    return out


def lmg(X: pd.DataFrame, y: pd.Series) -> pd.Series:
    """LMG (Shapley) decomposition of R^2 over the predictors (exact enumeration)."""
    Rxx, rxy = _corr(X, y)
    return pd.Series(_lmg(Rxx, rxy), index=X.columns, name="lmg")


@dataclass
class DriverImportance:
    """Importance of each driver with percentile bootstrap intervals (:func:`driver_importance`).

    ``table``: one row per driver: weight (share of the outcome's variance it explains),
    share (weight / R^2), ci_low, ci_high (of the weight), boot_se; ``r2``: the model
    R^2 (the sum of the weights).
    """

    table: pd.DataFrame
    r2: float
    method: str
    n_boot: int
    level: float

    def to_frame(self) -> pd.DataFrame:
        """The per-driver table."""
        return self.table.copy()

    def metrics(self) -> dict[str, float]:
        """``survey.driver.<driver>``: each driver's share of the explained variance."""
        return {f"survey.driver.{d}": float(v) for d, v in self.table["share"].items()}


def driver_importance(X: pd.DataFrame, y: pd.Series, method: str = "relative_weights",
                      n_boot: int = 500, seed: int = 42, level: float = 0.95
                      ) -> DriverImportance:
    """Importance of each driver with percentile bootstrap intervals.

    ``method``: 'relative_weights' (Johnson 2000) or 'lmg' (Shapley). Returns a
    :class:`DriverImportance`: per driver the weight (share of R^2 explained), share
    (weight / R^2), ci_low, ci_high (of the weight), and the model R^2.
    """
    fun = {"relative_weights": _relative_weights, "lmg": _lmg}.get(method)
    if fun is None:
        raise ValueError("method must be 'relative_weights' or 'lmg'")
    d = pd.concat([X, y.rename("__y__")], axis=1).dropna()
    A = d.values
    R = np.corrcoef(A, rowvar=False)
    w = fun(R[:-1, :-1], R[:-1, -1])
    rng = np.random.default_rng(seed)
    n = len(A)
    boots = np.empty((n_boot, len(w)))
    for b in range(n_boot):
        Rb = np.corrcoef(A[rng.integers(0, n, n)], rowvar=False)
        boots[b] = fun(Rb[:-1, :-1], Rb[:-1, -1])
    a = (1 - level) / 2
    out = pd.DataFrame({"weight": w, "share": w / w.sum(),
                        "ci_low": np.quantile(boots, a, axis=0),
                        "ci_high": np.quantile(boots, 1 - a, axis=0),
                        "boot_se": boots.std(axis=0, ddof=1)}, index=X.columns)
    out.index.name = "driver"
    return DriverImportance(out, float(w.sum()), method, n_boot, level)


QUADRANTS = {
    (True, False): "Concentrate here",
    (True, True): "Keep up the good work",
    (False, False): "Low priority",
    (False, True): "Possible overkill",
}


UNCLEAR = "no clear priority"


def _side(value: pd.Series, low: pd.Series | None, high: pd.Series | None,
          cut: float) -> pd.Series:
    """True above the cut, False below, None when the interval straddles it."""
    if low is None or high is None:
        return value >= cut
    return pd.Series([True if lo > cut else False if hi < cut else None
                      for lo, hi in zip(low, high, strict=True)], index=value.index,
                     dtype=object)


@dataclass
class ImportancePerformance:
    """The importance-performance matrix (:func:`importance_performance`).

    ``table``: one row per driver: importance (with imp_ci_low/imp_ci_high when
    known), performance (with perf_ci_low/perf_ci_high when known) and quadrant;
    ``importance_cut``, ``performance_cut``: the means over the drivers that split
    the quadrants.
    """

    table: pd.DataFrame
    importance_cut: float
    performance_cut: float

    def to_frame(self) -> pd.DataFrame:
        """The per-driver table with its quadrant."""
        return self.table.copy()


def importance_performance(importance: DriverImportance | pd.Series | pd.DataFrame,
                           performance: pd.Series | pd.DataFrame) -> ImportancePerformance:
    """Importance-performance matrix with the Martilla & James (1977) quadrant of each driver.

    ``importance``: e.g. the relative-weight share (a Series), or the result of
    :func:`driver_importance` (its ``share`` with bootstrap intervals rescaled
    from the weights; its table works too); ``performance``: e.g. the mean 0-100 index of each driver
    (a Series, or a frame with a ``performance`` column and optional
    ``perf_ci_low``/``perf_ci_high``). Cut-offs are the means over the drivers
    (the "data-centred" variant). When intervals are given a driver is placed
    on a side of a cut only if its 95% interval lies wholly on that side;
    otherwise its quadrant is "no clear priority", so a priority is never
    decided by a difference smaller than its uncertainty.
    """
    if isinstance(importance, DriverImportance):
        importance = importance.table
    perf = performance if isinstance(performance, pd.DataFrame) else \
        performance.rename("performance").to_frame()
    if isinstance(importance, pd.DataFrame):
        imp = importance[["share"]].rename(columns={"share": "importance"})
        if {"ci_low", "ci_high", "weight"} <= set(importance.columns):
            scale = importance["share"] / importance["weight"]
            imp["imp_ci_low"] = importance["ci_low"] * scale
            imp["imp_ci_high"] = importance["ci_high"] * scale
    else:
        imp = importance.rename("importance").to_frame()
    d = perf.join(imp, how="inner")
    d = d[[*imp.columns, *perf.columns]].dropna()
    xc, yc = float(d["importance"].mean()), float(d["performance"].mean())
    hi_i = _side(d["importance"], d.get("imp_ci_low"), d.get("imp_ci_high"), xc)
    hi_p = _side(d["performance"], d.get("perf_ci_low"), d.get("perf_ci_high"), yc)
    d["quadrant"] = [UNCLEAR if a is None or b is None else QUADRANTS[(bool(a), bool(b))]
                     for a, b in zip(hi_i, hi_p, strict=True)]
    return ImportancePerformance(d, xc, yc)
