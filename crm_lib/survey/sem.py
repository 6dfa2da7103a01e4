"""Covariance-based SEM and confirmatory factor analysis (semopy).

Maximum likelihood CFA/SEM (Joereskog 1969; Bollen 1989, *Structural
Equations with Latent Variables*) estimated with semopy (Igolkina & Meshcheryakov
2020). Identification follows lavaan's ``std.lv = TRUE``: exogenous factor
variances fixed at 1, every loading free, so the CFA loadings are on the
factor-standardised scale. Single-item constructs get their error variance
fixed at 0 (the item is the construct).

Standardised loadings lambda / sqrt(lambda^2 + theta) get delta-method
standard errors from semopy's inverse Fisher information, hence Wald
intervals. Fit indices are computed here with lavaan's formulas (chi-square =
N x F_ML, CFI (Bentler 1990), TLI, RMSEA (Steiger 1990) with its 90%
interval, SRMR (Bentler 1995)), so they do not depend on semopy's reporting.

Item non-response: the model is fitted to the pairwise-complete covariance
matrix with N = the smallest pairwise count (a simple, conservative choice;
FIML would use every answer).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats
from threadpoolctl import threadpool_limits

from .pls import parse_paths


def _safe(name: str) -> str:
    return re.sub(r"\W", "_", str(name))


def model_description(constructs: Mapping[str, list[str]],
                      paths: Iterable | None = None) -> str:
    """semopy/lavaan syntax for a CFA (``paths`` None) or a full SEM."""
    lines = []
    for con, its in constructs.items():
        c = _safe(con)
        lines.append(f"{c} =~ " + " + ".join(f"l_{_safe(i)}*{_safe(i)}" for i in its))
        for i in its:
            fixed = "0" if len(its) == 1 else f"e_{_safe(i)}"
            lines.append(f"{_safe(i)} ~~ {fixed}*{_safe(i)}")
    if paths:
        pp = parse_paths(paths)
        for to in dict.fromkeys(b for _, b in pp):
            preds = [a for a, b in pp if b == to]
            lines.append(f"{_safe(to)} ~ " + " + ".join(_safe(a) for a in preds))
    for con in constructs:  # std.lv: (residual) factor variances fixed at 1
        lines.append(f"{_safe(con)} ~~ 1*{_safe(con)}")
    labels = " ".join(f"l_{_safe(i)}" for its in constructs.values() for i in its)
    lines.append(f"START(0.7) {labels}")
    return "\n".join(lines)


@dataclass
class FitIndices:
    """Global fit of a CB-SEM/CFA model (lavaan definitions)."""

    n: int
    chi2: float
    df: int
    p_value: float
    cfi: float
    tli: float
    rmsea: float
    rmsea_ci_low: float
    rmsea_ci_high: float
    srmr: float

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def _rmsea_ci(chi2: float, df: int, n: int, level: float = 0.90) -> tuple[float, float]:
    """Steiger's RMSEA interval from the noncentral chi-square (as lavaan, N in the denominator)."""
    if df <= 0:
        return np.nan, np.nan

    def bound(p):
        f = lambda lam: stats.ncx2.cdf(chi2, df, lam) - p  # noqa: E731
        if f(0) < 0:
            return 0.0
        hi = max(chi2, 1.0)
        while f(hi) > 0:
            hi *= 2
        return optimize.brentq(f, 0, hi)

    lo = bound((1 + level) / 2)
    hi = bound((1 - level) / 2)
    return float(np.sqrt(lo / (df * n))), float(np.sqrt(hi / (df * n)))


def fit_indices(S: np.ndarray, sigma: np.ndarray, n: int, n_params: int) -> FitIndices:
    """Chi-square, CFI, TLI, RMSEA (+90% CI) and SRMR from sample and implied covariances."""
    p = S.shape[0]
    _, ld_s = np.linalg.slogdet(S)
    _, ld_m = np.linalg.slogdet(sigma)
    f_ml = ld_m + np.trace(S @ np.linalg.inv(sigma)) - ld_s - p
    chi2 = max(n * f_ml, 0.0)
    df = p * (p + 1) // 2 - n_params
    chi2_b = n * (np.sum(np.log(np.diag(S))) - ld_s)
    df_b = p * (p - 1) // 2
    d, d_b = max(chi2 - df, 0.0), max(chi2_b - df_b, 0.0)
    cfi = 1.0 - d / max(d, d_b) if max(d, d_b) > 0 else 1.0
    tli = ((chi2_b / df_b) - (chi2 / df)) / ((chi2_b / df_b) - 1) if df > 0 else np.nan
    rmsea = float(np.sqrt(d / (df * n))) if df > 0 else np.nan
    lo, hi = _rmsea_ci(chi2, df, n)
    sd = np.sqrt(np.diag(S))
    R = (S - sigma) / np.outer(sd, sd)
    srmr = float(np.sqrt(np.mean(R[np.tril_indices(p)] ** 2)))
    pval = float(stats.chi2.sf(chi2, df)) if df > 0 else np.nan
    return FitIndices(n, float(chi2), int(df), pval, float(cfi), float(tli), rmsea, lo, hi,
                      srmr)


@dataclass
class SEMResult:
    """A fitted CFA/SEM: standardised loadings and paths with intervals, and global fit."""

    loadings: pd.DataFrame  # item: construct, estimate, se, ci_low, ci_high
    paths: pd.DataFrame  # "A->B": from, to, estimate (standardised), raw, se_raw, p_value
    factor_corr: pd.DataFrame
    fit: FitIndices
    description: str
    converged: bool


def _sample_cov(items: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    m = items.notna().astype(float).values
    n = int((m.T @ m).min())
    # ML uses the biased (divisor N) covariance, as lavaan
    return items.cov() * (n - 1) / n, n


def fit_sem(items: pd.DataFrame, constructs: Mapping[str, list[str]],
            paths: Iterable | None = None, level: float = 0.95) -> SEMResult:
    """Fit a CFA (``paths`` None) or a full SEM by maximum likelihood with semopy.

    Returns standardised loadings with delta-method Wald intervals, standardised
    structural paths (semopy's ``Est. Std``), the factor correlation matrix
    (CFA) and lavaan-style fit indices.
    """
    import semopy

    constructs = {c: list(v) for c, v in constructs.items()}
    cols = [i for its in constructs.values() for i in its]
    ren = {i: _safe(i) for i in cols}
    cov, n = _sample_cov(items[cols].rename(columns=ren))
    desc = model_description(constructs, paths)
    root = logging.getLogger()
    root_level = root.level
    root.setLevel(logging.ERROR)  # semopy warns "No fixed loadings" by design (std.lv)
    try:
        model = semopy.Model(desc)
        with threadpool_limits(1):  # small matrices: extra BLAS threads only oversubscribe
            res = model.fit(cov=cov, n_samples=n)
            _, inv = model.calc_fim(inverse=True)
    finally:
        root.setLevel(root_level)
    names = [k for k, v in model.parameters.items() if v.active]
    pos = {k: j for j, k in enumerate(names)}
    vals = dict(zip(names, model.param_vals, strict=True))
    z = stats.norm.ppf((1 + level) / 2)
    est = model.inspect(std_est=True)
    sigma = model.calc_sigma()[0]
    obs = model.vars["observed"]
    S = cov.loc[obs, obs].values
    fit = fit_indices(S, sigma, n, len(names))
    rows = []
    lat_var = _latent_variances(model)
    for con, its in constructs.items():
        for i in its:
            lk = f"l_{_safe(i)}"
            lam = vals[lk]
            if len(its) == 1:
                rows.append({"item": i, "construct": con, "estimate": 1.0, "se": 0.0,
                             "ci_low": 1.0, "ci_high": 1.0})
                continue
            ek = f"e_{_safe(i)}"
            th = vals[ek]
            v = lat_var.get(_safe(con), 1.0)
            tot = lam ** 2 * v + th
            s = lam * np.sqrt(v) / np.sqrt(tot)
            # delta method on (lambda, theta); latent variance treated as fixed
            g = np.array([np.sqrt(v) * th / tot ** 1.5, -lam * np.sqrt(v) / (2 * tot ** 1.5)])
            idx = [pos[lk], pos[ek]]
            se = float(np.sqrt(g @ inv[np.ix_(idx, idx)] @ g))
            sign = np.sign(s) if s != 0 else 1.0
            rows.append({"item": i, "construct": con, "estimate": float(s * sign), "se": se,
                         "ci_low": float(s * sign - z * se), "ci_high": float(s * sign + z * se)})
    loadings = pd.DataFrame(rows).set_index("item")
    inv_ren = {_safe(c): c for c in constructs}
    preg = est[(est["op"] == "~") & est["rval"].isin(inv_ren) & est["lval"].isin(inv_ren)]
    prow = []
    for _, r in preg.iterrows():
        a, b = inv_ren[r["rval"]], inv_ren[r["lval"]]
        prow.append({"path": f"{a}->{b}", "from": a, "to": b,
                     "estimate": float(r["Est. Std"]), "raw": float(r["Estimate"]),
                     "se_raw": pd.to_numeric(r["Std. Err"], errors="coerce"),
                     "p_value": pd.to_numeric(r["p-value"], errors="coerce")})
    path_df = pd.DataFrame(prow, columns=["path", "from", "to", "estimate", "raw", "se_raw",
                                          "p_value"]).set_index("path")
    fc = _factor_corr(model, list(constructs))
    return SEMResult(loadings, path_df, fc, fit, desc, bool(res.success))


def _latent_variances(model) -> dict[str, float]:
    """Model-implied variances of the latent variables (1 for exogenous under std.lv)."""
    beta, lamb, psi, theta = model.matrices[:4]
    c = np.linalg.inv(model.identity_c - beta)
    cov = c @ psi @ c.T
    inner = model.vars["inner"]
    return {v: float(cov[k, k]) for k, v in enumerate(inner) if v in model.vars["latent"]}


def _factor_corr(model, constructs: list[str]) -> pd.DataFrame:
    beta, lamb, psi, theta = model.matrices[:4]
    c = np.linalg.inv(model.identity_c - beta)
    cov = c @ psi @ c.T
    inner = list(model.vars["inner"])
    idx = [inner.index(_safe(k)) for k in constructs]
    sub = cov[np.ix_(idx, idx)]
    d = np.sqrt(np.diag(sub))
    return pd.DataFrame(sub / np.outer(d, d), index=constructs, columns=constructs)


def structural_from_corr(factor_corr: pd.DataFrame, paths: Iterable) -> pd.Series:
    """Standardised paths by OLS on a latent correlation matrix (two-step estimation).

    Anderson & Gerbing's (1988) two-step approach: the measurement model (CFA)
    gives disattenuated construct correlations; each structural equation is then
    a regression on them.
    """
    pp = parse_paths(paths)
    out = {}
    for to in dict.fromkeys(b for _, b in pp):
        preds = [a for a, b in pp if b == to]
        R = factor_corr.loc[preds, preds].values
        r = factor_corr.loc[preds, to].values
        beta = np.linalg.solve(R, r)
        for a, v in zip(preds, beta, strict=True):
            out[f"{a}->{to}"] = float(v)
    return pd.Series(out, name="path")
