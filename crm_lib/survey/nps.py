"""Net Promoter Score with honest uncertainty.

NPS (Reichheld 2003, "The one number you need to grow", *Harvard Business
Review*) = % promoters (9-10) - % detractors (0-6) on the 0-10
likelihood-to-recommend item, reported here on the -100..100 scale.

The answer to one respondent is a trinomial draw (promoter, passive,
detractor), so with shares p_P, p_D the NPS estimate p_P - p_D has variance
[p_P + p_D - (p_P - p_D)^2] / n (the variance of a difference of two
multinomial shares; e.g. Rocks 2016, "Interval estimation for the net
promoter score", *The American Statistician* 70(4)). Intervals:

- ``trinomial``: the Wald interval from that variance;
- ``bootstrap``: percentile interval of the NPS of multinomial resamples
  (equivalent to resampling respondents, Efron & Tibshirani 1993).

Differences between two independent groups (waves, segments) use
se = sqrt(v1/n1 + v2/n2) and a z test; several comparisons get Holm's
(1979) step-down adjustment. Repeated respondents across waves make the
samples dependent; :func:`nps_difference` then states that it assumes
independence.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from .. import fmt

CATEGORIES = ("promoter", "passive", "detractor")


def nps_category(scores: pd.Series) -> pd.Series:
    """Promoter (9-10), passive (7-8), detractor (0-6); NaN for missing or off-scale answers."""
    s = pd.to_numeric(scores, errors="coerce")
    s = s.where((s >= 0) & (s <= 10))
    cat = np.select([s >= 9, s >= 7, s >= 0], list(CATEGORIES), default="")
    return pd.Series(pd.Categorical(np.where(s.isna(), None, cat), categories=CATEGORIES),
                     index=scores.index, name="nps_category")


@dataclass
class NPS:
    """An NPS estimate (-100..100) with its interval and category shares."""

    nps: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    promoters: float
    passives: float
    detractors: float
    method: str

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def _counts(scores: pd.Series) -> np.ndarray:
    cat = nps_category(scores)
    return np.array([(cat == c).sum() for c in CATEGORIES], dtype=float)


def nps_from_counts(counts, level: float = 0.95, method: str = "trinomial",
                    n_boot: int = 2000, seed: int = 42) -> NPS:
    """NPS and interval from counts (promoters, passives, detractors)."""
    c = np.asarray(counts, dtype=float)
    n = int(c.sum())
    if n == 0:
        return NPS(np.nan, np.nan, np.nan, np.nan, 0, np.nan, np.nan, np.nan, method)
    p = c / n
    est = p[0] - p[2]
    var = (p[0] + p[2] - est ** 2) / n
    se = float(np.sqrt(var))
    if method == "trinomial":
        z = stats.norm.ppf((1 + level) / 2)
        lo, hi = est - z * se, est + z * se
    elif method == "bootstrap":
        rng = np.random.default_rng(seed)
        draws = rng.multinomial(n, p, size=n_boot)
        b = (draws[:, 0] - draws[:, 2]) / n
        lo, hi = np.quantile(b, [(1 - level) / 2, (1 + level) / 2])
        se = float(b.std(ddof=1))
    else:
        raise ValueError("method must be 'trinomial' or 'bootstrap'")
    lo, hi = max(lo, -1.0), min(hi, 1.0)
    return NPS(100 * est, 100 * se, 100 * lo, 100 * hi, n, p[0], p[1], p[2], method)


def nps(scores: pd.Series, level: float = 0.95, method: str = "trinomial", n_boot: int = 2000,
        seed: int = 42) -> NPS:
    """NPS of 0-10 recommend scores with a ``trinomial`` (Wald) or ``bootstrap`` interval."""
    return nps_from_counts(_counts(scores), level=level, method=method, n_boot=n_boot, seed=seed)


def nps_by(df: pd.DataFrame, by: str, score: str = "nps", level: float = 0.95) -> pd.DataFrame:
    """NPS with trinomial interval and category shares per group of ``by``.

    Empty when ``score`` is not a column (the recommend item is optional).
    """
    if score not in df:
        return pd.DataFrame()
    rows = []
    for g, sub in df.groupby(by, observed=True, dropna=True):
        r = nps(sub[score], level=level)
        rows.append({by: g, **r.as_dict()})
    return pd.DataFrame(rows).set_index(by)


@dataclass
class NPSDifference:
    """Difference of two independent NPS (a - b) with its interval and z test."""

    a: str
    b: str
    diff: float
    se: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float
    level: float = 0.95

    def text(self) -> str:
        """The difference in words, with its interval and test (flips with the interval)."""
        p = fmt.pvalue(self.p_value)
        p = p if p.startswith("<") else f"= {p}"
        gap = (f"NPS {self.a} minus {self.b}: {fmt.number(self.diff, 1, sign=True)} points "
               f"({self.level:.0%} interval {fmt.number(self.ci_low, 1, sign=True)} to "
               f"{fmt.number(self.ci_high, 1, sign=True)}; z test p {p})")
        if self.ci_low > 0 or self.ci_high < 0:
            higher = self.a if self.diff > 0 else self.b
            return f"{gap}: the {higher} group's NPS is higher."
        return f"{gap}: the interval includes zero, so the data cannot tell the groups apart."

    def __str__(self) -> str:
        return self.text()

    def _repr_markdown_(self) -> str:
        return self.text()


def nps_difference(scores_a: pd.Series, scores_b: pd.Series, level: float = 0.95,
                   labels: tuple[str, str] = ("a", "b")) -> NPSDifference:
    """Test NPS_a - NPS_b for two independent samples (Wald z test).

    Assumes the two groups are independent samples; respondents answering in
    both waves make the test conservative or liberal depending on the
    correlation of their answers.
    """
    ra, rb = nps(scores_a), nps(scores_b)
    d = ra.nps - rb.nps
    se = float(np.hypot(ra.se, rb.se))
    z = d / se if se > 0 else np.nan
    q = stats.norm.ppf((1 + level) / 2)
    p = float(2 * stats.norm.sf(abs(z))) if np.isfinite(z) else np.nan
    return NPSDifference(str(labels[0]), str(labels[1]), d, se, d - q * se, d + q * se, z, p,
                         level)


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values."""
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    order = np.argsort(p)
    adj = np.empty(m)
    run = 0.0
    for k, i in enumerate(order):
        run = max(run, min(1.0, (m - k) * p[i]))
        adj[i] = run
    return adj


def nps_pairwise(df: pd.DataFrame, by: str, score: str = "nps", level: float = 0.95) -> pd.DataFrame:
    """All pairwise NPS differences between the groups of ``by``, Holm-adjusted p-values."""
    if score not in df:
        return pd.DataFrame()
    groups = [g for g, _ in df.groupby(by, observed=True, dropna=True)]
    rows = []
    for a, b in combinations(groups, 2):
        r = nps_difference(df.loc[df[by] == a, score], df.loc[df[by] == b, score],
                           level=level, labels=(a, b))
        rows.append(r.__dict__)
    out = pd.DataFrame(rows, columns=["a", "b", "diff", "se", "ci_low", "ci_high", "z",
                                      "p_value"])
    out["p_holm"] = holm(out["p_value"].values) if len(out) else []
    return out


def coverage_simulation(p: tuple[float, float, float], n: int, n_sim: int = 2000,
                        level: float = 0.95, method: str = "trinomial", n_boot: int = 1000,
                        seed: int = 42) -> float:
    """Share of simulated samples whose interval covers the true NPS (vectorised).

    Draws ``n_sim`` trinomial samples of size ``n`` from shares ``p``
    (promoter, passive, detractor) and computes each interval as :func:`nps`
    does.
    """
    rng = np.random.default_rng(seed)
    p = np.asarray(p, dtype=float)
    truth = p[0] - p[2]
    c = rng.multinomial(n, p, size=n_sim) / n
    est = c[:, 0] - c[:, 2]
    if method == "trinomial":
        se = np.sqrt((c[:, 0] + c[:, 2] - est ** 2) / n)
        z = stats.norm.ppf((1 + level) / 2)
        lo, hi = est - z * se, est + z * se
    else:
        b = rng.multinomial(n, c, size=(n_boot, n_sim)) / n
        bn = b[:, :, 0] - b[:, :, 2]
        lo = np.quantile(bn, (1 - level) / 2, axis=0)
        hi = np.quantile(bn, (1 + level) / 2, axis=0)
    return float(np.mean((lo <= truth) & (truth <= hi)))
