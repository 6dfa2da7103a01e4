"""Glue for notebook 02: one call per step, tables ready to show, the headline metrics.

Each function here composes the method modules (items, reliability, model,
nps, drivers, loyalty) so the notebook cells stay short; the methods and
their references are documented in those modules.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import loyalty as _loyalty
from . import nps as _nps
from . import reliability as _rel
from .drivers import DriverImportance
from .items import PreparedSurvey
from .model import StructuralModel, latest_per_respondent


def find_construct(prepared: PreparedSurvey, name: str) -> str | None:
    """The codebook's construct called ``name`` (case-insensitive), or None."""
    for c in prepared.constructs:
        if c.lower() == name.lower():
            return c
    return None


def codebook_overview(prepared: PreparedSurvey) -> pd.DataFrame:
    """One row per construct: items kept, reverse-coded items, share of missing answers."""
    cb = prepared.codebook.set_index("item")
    rows = []
    for con, its in prepared.constructs.items():
        rows.append({"construct": con, "items": ", ".join(its),
                     "reverse_coded": ", ".join(i for i in its if cb.at[i, "reverse"]) or "-",
                     "missing_share": float(prepared.items[its].isna().mean().mean())})
    return pd.DataFrame(rows).set_index("construct")


def measurement_table(prepared: PreparedSurvey, model: StructuralModel) -> pd.DataFrame:
    """Reliability and convergent validity per construct (alpha, omega, rho_C, AVE from the CFA)."""
    cons = {c: prepared.constructs[c] for c in model.pls.spec_.constructs}
    t = _rel.reliability_table(prepared.items, cons, loadings=model.loadings["cfa"])
    t["rho_a_plsc"] = model.pls.rho_a_.reindex(t.index)
    return t


def nps_overview(meta: pd.DataFrame, n_boot: int = 2000, seed: int = 42) -> pd.DataFrame:
    """NPS of all responses and of the latest wave, with trinomial and bootstrap intervals.

    Empty when the responses have no ``nps`` column (the item is optional).
    """
    if "nps" not in meta:
        return pd.DataFrame()
    rows = {}
    sets = {"all responses": meta}
    if "wave" in meta and meta["wave"].notna().any():
        last = sorted(meta["wave"].dropna().unique())[-1]
        sets[f"latest wave ({last})"] = meta[meta["wave"] == last]
    for name, d in sets.items():
        for method in ("trinomial", "bootstrap"):
            r = _nps.nps(d["nps"], method=method, n_boot=n_boot, seed=seed)
            rows[(name, method)] = r.as_dict()
    out = pd.DataFrame(rows).T
    out.index.names = ["sample", "interval"]
    return out


def headline_nps(meta: pd.DataFrame) -> _nps.NPS:
    """The headline NPS: the latest wave (all responses when there is no wave); NaN without NPS."""
    if "nps" not in meta:
        return _nps.nps(pd.Series(dtype=float))
    d = meta
    if "wave" in meta and meta["wave"].notna().any():
        d = meta[meta["wave"] == sorted(meta["wave"].dropna().unique())[-1]]
    return _nps.nps(d["nps"])


def with_segment(meta: pd.DataFrame, customers: pd.DataFrame, column: str) -> pd.DataFrame:
    """Responses with a customer attribute attached (anonymous responses: 'anonymous').

    When ``customers`` has no such column (it is optional in the contract),
    every response gets the segment 'all customers' and a warning names the
    column and the available ones.
    """
    out = meta.copy()
    if column not in customers:
        import warnings
        warnings.warn(f"customers has no column {column!r} to segment the NPS by (available: "
                      f"{', '.join(customers.columns)}); using one segment", stacklevel=2)
        out[column] = "all customers"
        return out
    seg = customers.set_index("customer_id")[column].astype("string")
    out[column] = out["customer_id"].map(seg).fillna("anonymous")
    return out


def driver_inputs(prepared: PreparedSurvey, model: StructuralModel,
                  outcome: str = "satisfaction") -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Construct scores of the drivers of ``outcome`` (its predecessors in the model),
    the outcome's scores, and each driver's performance: mean 0-100 index with its
    95% interval (``performance``, ``perf_ci_low``, ``perf_ci_high``)."""
    out = find_construct(prepared, outcome)
    if out is None:
        raise ValueError(f"the codebook has no construct {outcome!r}")
    preds = [p.split("->")[0] for p in model.paths.index if p.split("->")[1] == out]
    if not preds:
        raise ValueError(f"no path into {out!r} in the model: no drivers to rank")
    X = prepared.items
    scores = model.pls.transform(X)
    rows = {}
    for c in preds:
        idx = prepared.construct_index(c).dropna()
        half = 1.959964 * idx.std() / np.sqrt(len(idx))
        rows[c] = {"performance": idx.mean(), "perf_ci_low": idx.mean() - half,
                   "perf_ci_high": idx.mean() + half}
    perf = pd.DataFrame(rows).T
    return scores[preds], scores[out], perf


def loyalty_frame(prepared: PreparedSurvey, customers: pd.DataFrame, as_of,
                  transactions: pd.DataFrame | None = None,
                  horizon_days: int = 180) -> _loyalty.FollowUp:
    """Followed-up respondents (latest usable response per customer) with their indices and
    behaviour: satisfaction and loyalty indices (0-100), churned, purchases, repurchased;
    with the responses left out and why (:class:`crm_lib.survey.loyalty.FollowUp`)."""
    follow = _loyalty.respondent_behaviour(prepared.meta, customers, as_of, transactions,
                                           horizon_days=horizon_days)
    beh = follow.frame
    sat = find_construct(prepared, "satisfaction")
    loy = find_construct(prepared, "loyalty")
    if sat is not None:
        beh["satisfaction_index"] = prepared.construct_index(sat).to_numpy()[beh["row"]]
    if loy is not None:
        beh["loyalty_index"] = prepared.construct_index(loy).to_numpy()[beh["row"]]
    if "nps" in prepared.meta:
        beh["nps"] = pd.to_numeric(prepared.meta["nps"], errors="coerce").to_numpy()[beh["row"]]
    keep = latest_per_respondent(beh)
    return _loyalty.FollowUp(beh[keep.to_numpy()].reset_index(drop=True), follow.excluded,
                             follow.horizon_days, int((~keep).sum()))


def behavioural_loyalty(frame: pd.DataFrame) -> pd.Series:
    """Behaviourally loyal: retained through the horizon, and repurchasing when purchases
    are known."""
    b = ~frame["churned"].astype(bool)
    if "repurchased" in frame:
        b = b & frame["repurchased"].astype(bool)
    return b.rename("behavioural_loyalty")


def survey_metrics(reliability: pd.DataFrame, model: StructuralModel, nps_result: _nps.NPS,
                   satisfied_defectors_share: float | None,
                   importance: DriverImportance | None = None) -> dict[str, object]:
    """The notebook's headline metrics under the keys of issue 4.

    With ``importance`` (from :func:`crm_lib.survey.driver_importance`) the
    share of explained satisfaction variance of each driver is added as
    ``survey.driver.<driver>`` (read by the executive summary).
    """
    m: dict[str, object] = {}
    for con, r in reliability.iterrows():
        m[f"survey.alpha.{con}"] = r["alpha"]
        m[f"survey.omega.{con}"] = r["omega"]
    for p, v in model.paths["pls"].items():
        m[f"survey.pls.path.{p}"] = v
    m["survey.pls.gof"] = model.pls.gof_
    m["survey.sem.cfi"] = model.fit.cfi
    m["survey.sem.rmsea"] = model.fit.rmsea
    m["survey.nps"] = nps_result.nps
    m["survey.nps_ci_low"] = nps_result.ci_low
    m["survey.nps_ci_high"] = nps_result.ci_high
    m["survey.satisfied_defectors_share"] = (np.nan if satisfied_defectors_share is None
                                             else satisfied_defectors_share)
    if importance is not None:
        m.update(importance.metrics())
    return m


__all__ = ["find_construct", "codebook_overview", "measurement_table", "nps_overview",
           "headline_nps", "with_segment", "driver_inputs", "loyalty_frame",
           "behavioural_loyalty", "survey_metrics"]
