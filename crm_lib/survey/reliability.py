"""Reliability and validity of multi-item scales.

- Cronbach's alpha (Cronbach 1951) with the Feldt (1965) F-distribution
  confidence interval, alpha if item deleted, corrected item-total
  correlations (Nunnally & Bernstein 1994);
- McDonald's omega total (McDonald 1999) from a one-factor model fitted by
  minimum residuals (minres/ULS, as ``psych::omega``'s default factoring);
- composite reliability rho_C and average variance extracted (Fornell &
  Larcker 1981) from standardised loadings;
- Kaiser-Meyer-Olkin sampling adequacy (Kaiser 1970; Kaiser & Rice 1974) and
  Bartlett's (1950) test of sphericity: a few lines of linear algebra on the
  correlation matrix.

Item non-response: covariances and correlations are pairwise-complete; the
sample size used for intervals and tests is the smallest pairwise count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats


@dataclass
class Alpha:
    """Cronbach's alpha with its Feldt confidence interval."""

    alpha: float
    ci_low: float
    ci_high: float
    n: int
    k: int


def _cov_n(items: pd.DataFrame) -> tuple[np.ndarray, int]:
    m = items.notna().astype(float).values
    n = int((m.T @ m).min()) if items.shape[1] else 0
    return items.cov().values, n


def _alpha_from_cov(c: np.ndarray) -> float:
    k = c.shape[0]
    return float(k / (k - 1) * (1.0 - np.trace(c) / c.sum()))


def cronbach_alpha(items: pd.DataFrame, level: float = 0.95, standardized: bool = False) -> Alpha:
    """Cronbach's (1951) alpha with the Feldt (1965) confidence interval.

    alpha = k/(k-1) (1 - sum of item variances / variance of the sum);
    ``standardized=True`` uses the item correlations instead of covariances
    (the "standardised alpha" of ``psych::alpha`` and the alpha of R seminr). The
    interval uses (1 - alpha)/(1 - alpha_hat) ~ F(n-1, (n-1)(k-1)) (Feldt,
    Woodruff & Salih 1987), as in ``psych::alpha`` and ``pingouin``. A single
    item gives NaN (reliability not estimable from one item).
    """
    k = items.shape[1]
    if k < 2:
        return Alpha(np.nan, np.nan, np.nan, int(items.notna().sum().min() if k else 0), k)
    c, n = _cov_n(items)
    if standardized:
        c = items.corr().values
    a = _alpha_from_cov(c)
    df1 = n - 1
    df2 = df1 * (k - 1)
    lo = 1 - (1 - a) * stats.f.isf((1 - level) / 2, df1, df2)
    hi = 1 - (1 - a) * stats.f.isf((1 + level) / 2, df1, df2)
    return Alpha(a, float(lo), float(hi), n, k)


def alpha_if_deleted(items: pd.DataFrame) -> pd.Series:
    """Cronbach's alpha of the scale without each item (NaN when fewer than 3 items)."""
    c = items.cov().values
    k = c.shape[0]
    out = {}
    for j, name in enumerate(items.columns):
        keep = [i for i in range(k) if i != j]
        out[name] = _alpha_from_cov(c[np.ix_(keep, keep)]) if k > 2 else np.nan
    return pd.Series(out, name="alpha_if_deleted")


def item_total(items: pd.DataFrame) -> pd.Series:
    """Corrected item-total correlation: each item with the sum of the other items."""
    c = items.cov().values
    tot = c.sum(axis=1)  # cov(item, total)
    rest_cov = tot - np.diag(c)  # cov(item, total - item)
    rest_var = c.sum() - 2 * tot + np.diag(c)  # var(total - item)
    r = rest_cov / np.sqrt(np.diag(c) * rest_var)
    return pd.Series(r, index=items.columns, name="item_total_r")


def one_factor_loadings(corr: np.ndarray) -> np.ndarray:
    """Standardised loadings of a one-factor model by minimum residuals (ULS).

    Minimises the sum of squared off-diagonal residuals r_ij - l_i l_j
    (Harman's minres). The sign is chosen so that the loadings sum positive.
    """
    p = corr.shape[0]
    if p == 1:
        return np.ones(1)
    iu = np.triu_indices(p, 1)
    r = corr[iu]

    def resid(lam):
        return np.outer(lam, lam)[iu] - r

    vals, vecs = np.linalg.eigh(corr)
    start = vecs[:, -1] * np.sqrt(max(vals[-1] - 1 + 1e-6, 1e-3)) if p > 2 else \
        np.full(p, np.sqrt(max(abs(corr[0, 1]), 1e-3)))
    sol = optimize.least_squares(resid, start, method="lm" if len(r) >= p else "trf")
    lam = sol.x
    if lam.sum() < 0:
        lam = -lam
    return lam


def mcdonald_omega(items: pd.DataFrame) -> float:
    """McDonald's omega total from a one-factor minres model of the item correlations.

    omega = (sum l)^2 / ((sum l)^2 + sum(1 - l^2)) with standardised loadings
    (McDonald 1999, ch. 6). NaN for a single item.
    """
    if items.shape[1] < 2:
        return np.nan
    lam = one_factor_loadings(items.corr().values)
    return composite_reliability(lam)


def composite_reliability(loadings) -> float:
    """Composite reliability rho_C (Fornell & Larcker 1981; Joereskog's rho) of standardised loadings."""
    lam = np.asarray(loadings, dtype=float)
    if lam.size < 2:
        return np.nan if lam.size == 0 else 1.0
    s = lam.sum() ** 2
    return float(s / (s + np.sum(1 - lam ** 2)))


def ave(loadings) -> float:
    """Average variance extracted: mean squared standardised loading (Fornell & Larcker 1981)."""
    lam = np.asarray(loadings, dtype=float)
    return float(np.mean(lam ** 2)) if lam.size else np.nan


@dataclass
class KMO:
    """Kaiser-Meyer-Olkin measure: overall and per item (MSA)."""

    overall: float
    per_item: pd.Series


def kmo(items: pd.DataFrame) -> KMO:
    """Kaiser-Meyer-Olkin measure of sampling adequacy (Kaiser 1970; Kaiser & Rice 1974).

    KMO = sum r_ij^2 / (sum r_ij^2 + sum p_ij^2) over i != j, with p the
    partial correlations from the inverse correlation matrix
    (p_ij = -S_ij / sqrt(S_ii S_jj), S = R^-1). Read: >= 0.8 meritorious,
    0.7 middling, 0.6 mediocre, < 0.5 unacceptable.
    """
    r = items.corr().values
    s = np.linalg.pinv(r)
    d = np.sqrt(np.outer(np.diag(s), np.diag(s)))
    p = -s / d
    off = ~np.eye(r.shape[0], dtype=bool)
    r2 = np.where(off, r ** 2, 0.0)
    p2 = np.where(off, p ** 2, 0.0)
    overall = r2.sum() / (r2.sum() + p2.sum())
    per = r2.sum(axis=0) / (r2.sum(axis=0) + p2.sum(axis=0))
    return KMO(float(overall), pd.Series(per, index=items.columns, name="msa"))


@dataclass
class Bartlett:
    """Bartlett's test of sphericity (H0: the correlation matrix is the identity)."""

    chi2: float
    df: int
    p_value: float


def bartlett_sphericity(items: pd.DataFrame) -> Bartlett:
    """Bartlett's (1950) sphericity test: chi2 = -(n - 1 - (2p + 5)/6) ln|R|, df = p(p-1)/2."""
    r = items.corr().values
    _, n = _cov_n(items)
    p = r.shape[0]
    sign, logdet = np.linalg.slogdet(r)
    chi2 = -(n - 1 - (2 * p + 5) / 6) * logdet
    df = p * (p - 1) // 2
    return Bartlett(float(chi2), int(df), float(stats.chi2.sf(chi2, df)))


def item_table(items: pd.DataFrame, constructs: dict[str, list[str]]) -> pd.DataFrame:
    """Per item: construct, mean, sd, missing share, corrected item-total r, alpha if deleted, MSA."""
    rows = []
    for con, its in constructs.items():
        x = items[its]
        it_r = item_total(x) if len(its) > 1 else pd.Series(np.nan, index=its)
        aid = alpha_if_deleted(x) if len(its) > 1 else pd.Series(np.nan, index=its)
        msa = kmo(x).per_item if len(its) > 1 else pd.Series(np.nan, index=its)
        for it in its:
            rows.append({"construct": con, "item": it, "mean": x[it].mean(), "sd": x[it].std(),
                         "missing_share": x[it].isna().mean(), "item_total_r": it_r[it],
                         "alpha_if_deleted": aid[it], "msa": msa[it]})
    return pd.DataFrame(rows).set_index("item")


def reliability_table(items: pd.DataFrame, constructs: dict[str, list[str]],
                      loadings: pd.Series | None = None, level: float = 0.95,
                      standardized: bool = False) -> pd.DataFrame:
    """One row per construct: alpha with Feldt CI, omega, rho_C, AVE, KMO, Bartlett p.

    ``loadings`` (item -> standardised loading, e.g. from the CFA in
    :mod:`crm_lib.survey.sem`) feed rho_C and AVE; without them the one-factor
    minres loadings of each construct are used; ``standardized`` gives the
    standardised alpha (on item correlations). Single-item constructs get NaN
    (reliability is not estimable from one item).
    """
    rows = []
    for con, its in constructs.items():
        x = items[its]
        a = cronbach_alpha(x, level=level, standardized=standardized)
        if len(its) > 1:
            lam = (loadings.reindex(its).values if loadings is not None
                   else one_factor_loadings(x.corr().values))
            k = kmo(x).overall if len(its) > 2 else np.nan
            b = bartlett_sphericity(x).p_value
            om = mcdonald_omega(x)
            cr, av = composite_reliability(lam), ave(lam)
        else:
            k = b = om = cr = av = np.nan
        rows.append({"construct": con, "n_items": len(its), "n": a.n, "alpha": a.alpha,
                     "alpha_ci_low": a.ci_low, "alpha_ci_high": a.ci_high, "omega": om,
                     "rho_c": cr, "ave": av, "kmo": k, "bartlett_p": b})
    return pd.DataFrame(rows).set_index("construct")
