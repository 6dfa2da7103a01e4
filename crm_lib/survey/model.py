"""The ECSI satisfaction model end to end: specification, estimation, comparison tables.

The European Customer Satisfaction Index model (Fornell et al. 1996 for the
ACSI; Tenenhaus et al. 2005 for the ECSI layout used by R plspm/seminr):
image -> expectations, satisfaction, loyalty; expectations -> quality,
value, satisfaction; quality -> value, satisfaction; value -> satisfaction;
satisfaction -> complaints, loyalty; complaints -> loyalty. The codebook
decides which constructs exist; paths touching an absent construct are
dropped (and reported).

:func:`estimate_structural_model` fits three estimators on one response per
respondent (independent observations):

- PLS-PM mode A (composites; Tenenhaus et al. 2005), bootstrap intervals;
- consistent PLS (PLSc; Dijkstra & Henseler 2015): consistent paths and
  loadings for reflective constructs, bootstrap intervals;
- CB-SEM / CFA by maximum likelihood (semopy): loadings with Wald
  intervals and global fit.

Composite loadings are biased upward and composite paths downward relative
to a common-factor model, so the notebook reads loadings from the CFA and
paths from PLSc. Every interval is given twice: per parameter (95%) and
family-wise (Bonferroni over the loadings, or over the paths: all
parameters of the family are covered together with probability >= 95%).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from . import sem as _sem
from .items import PreparedSurvey
from .pls import PLSPathModel, parse_paths, path_label

ECSI_PATHS = (
    "image->expectations", "image->satisfaction", "image->loyalty",
    "expectations->quality", "expectations->value", "expectations->satisfaction",
    "quality->value", "quality->satisfaction", "value->satisfaction",
    "satisfaction->complaints", "satisfaction->loyalty", "complaints->loyalty",
)


def model_paths(constructs: Iterable[str], paths: Iterable | None = None
                ) -> tuple[list[str], list[str]]:
    """Paths whose two constructs both exist (case-insensitive match); and the dropped ones."""
    names = {c.lower(): c for c in constructs}
    keep, dropped = [], []
    for a, b in parse_paths(paths or ECSI_PATHS):
        if a.lower() in names and b.lower() in names:
            keep.append(path_label(names[a.lower()], names[b.lower()]))
        else:
            dropped.append(path_label(a, b))
    return keep, dropped


def latest_per_respondent(meta: pd.DataFrame) -> pd.Series:
    """True for the latest response of each identified customer and for anonymous ones.

    Customers answering in several waves would otherwise count twice and make
    intervals too narrow.
    """
    if "customer_id" not in meta:
        return pd.Series(True, index=meta.index)
    d = pd.to_datetime(meta["date"], errors="coerce") if "date" in meta else None
    order = meta.assign(_d=d).sort_values("_d", kind="stable") if d is not None else meta
    anon = order["customer_id"].isna()
    last = anon | ~order["customer_id"].duplicated(keep="last")
    return last.reindex(meta.index)


def _fw_z(k: int, level: float) -> float:
    return float(stats.norm.ppf(1 - (1 - level) / (2 * max(k, 1))))


@dataclass
class StructuralModel:
    """Estimates of the satisfaction model by PLS, PLSc and CB-SEM."""

    paths: pd.DataFrame
    loadings: pd.DataFrame
    pls: PLSPathModel
    plsc: PLSPathModel
    cfa: _sem.SEMResult
    sem: _sem.SEMResult | None
    n: int
    dropped_paths: list[str] = field(default_factory=list)

    @property
    def fit(self) -> _sem.FitIndices:
        """Global fit of the full CB-SEM (or of the CFA when the SEM failed)."""
        return (self.sem or self.cfa).fit


def estimate_structural_model(prepared: PreparedSurvey, paths: Iterable | None = None,
                              n_boot: int = 500, seed: int = 42, level: float = 0.95,
                              scheme: str = "path", one_per_respondent: bool = True,
                              cb_sem: bool = True) -> StructuralModel:
    """Fit PLS-PM, PLSc and CB-SEM/CFA to the prepared items (see module docstring)."""
    keep, dropped = model_paths(prepared.constructs, paths)
    used = [c for c in prepared.constructs if any(c in p.split("->") for p in keep)]
    cons = {c: prepared.constructs[c] for c in used}
    X = prepared.items
    if one_per_respondent:
        X = X[latest_per_respondent(prepared.meta).to_numpy()]
    pls = PLSPathModel(cons, keep, scheme=scheme).fit(X)
    bp = pls.bootstrap(X, n_boot=n_boot, seed=seed, level=level)
    plsc = PLSPathModel(cons, keep, scheme=scheme, consistent=True).fit(X)
    bc = plsc.bootstrap(X, n_boot=n_boot, seed=seed, level=level)
    cfa = _sem.fit_sem(X, cons, level=level)
    full = None
    if cb_sem:
        try:
            full = _sem.fit_sem(X, cons, keep, level=level)
        except (np.linalg.LinAlgError, ValueError):  # inadmissible/unidentified: report CFA only
            full = None
    zp = _fw_z(len(keep), level)
    P = bc[bc["kind"] == "path"].set_index("name")
    B = bp[bp["kind"] == "path"].set_index("name")
    paths_df = pd.DataFrame({
        "pls": B["estimate"], "pls_ci_low": B["ci_low"], "pls_ci_high": B["ci_high"],
        "plsc": P["estimate"], "plsc_se": P["boot_se"], "plsc_ci_low": P["ci_low"],
        "plsc_ci_high": P["ci_high"],
        "plsc_fw_low": P["estimate"] - zp * P["boot_se"],
        "plsc_fw_high": P["estimate"] + zp * P["boot_se"],
    })
    if full is not None:
        paths_df["cbsem"] = full.paths["estimate"].reindex(paths_df.index)
    paths_df.index.name = "path"
    multi = [i for c in cons for i in cons[c] if len(cons[c]) > 1]
    zl = _fw_z(len(multi), level)
    L = cfa.loadings
    LB = bp[bp["kind"] == "loading"].set_index("name")
    loadings_df = pd.DataFrame({
        "construct": L["construct"], "pls": LB["estimate"].reindex(L.index),
        "plsc": plsc.loadings_.reindex(L.index), "cfa": L["estimate"], "cfa_se": L["se"],
        "cfa_ci_low": L["ci_low"], "cfa_ci_high": L["ci_high"],
        "cfa_fw_low": L["estimate"] - zl * L["se"], "cfa_fw_high": L["estimate"] + zl * L["se"],
    })
    loadings_df.index.name = "item"
    return StructuralModel(paths_df, loadings_df, pls, plsc, cfa, full, len(X), dropped)
