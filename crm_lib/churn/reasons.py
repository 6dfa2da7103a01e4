"""Why customers leave: the churn-reason taxonomy, complaints, switching costs, satisfaction.

- Reason shares among churners by taxonomy class (concept 6 of docs/teaching.md,
  after the voluntary / involuntary typology of churn in telecoms,
  e.g. Kim & Yoon 2004), with Wilson 95% intervals (Wilson 1927), and
  which reasons are preventable and worth targeting (natural and malicious
  churn are not).
- Churn by complaint status and by resolution time: rates per 100
  customer-months of exposure, so long-tenure customers (who had more time
  to complain) do not bias the comparison, with exact Poisson intervals
  (Garwood 1936; both from :mod:`crm_lib.intervals`) and a rate-ratio test of "resolved complainers vs silent
  customers" (the service-recovery idea: Fornell & Wernerfelt 1987).
- Switching-cost effects: exposure-adjusted churn by products held and
  contract (Burnham, Frels & Mahajan 2003).
- The satisfaction-churn link from the survey: churn after the survey by
  satisfaction band (Jones & Sasser 1995: zones of defection,
  indifference and affection).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .. import contract
from ..intervals import poisson_interval, wilson_interval  # noqa: F401 - re-exported
from .definition import DAYS_PER_MONTH, active_at, prepare_customers

#: Interaction categories that are contacts, not complaints: a late-payment reminder the
#: company sends and a customer's request to downgrade the plan. Every other interaction
#: (billing, network, service, device, another category or none) is a complaint. Categories
#: are compared after :func:`_category_key` (case, spaces and hyphens do not matter).
NON_COMPLAINT_CATEGORIES = frozenset({"late_payment", "plan_downgrade"})


def _category_key(category: pd.Series) -> pd.Series:
    return (category.astype("string").str.strip().str.lower()
            .str.replace(r"[\s\-]+", "_", regex=True))


def is_complaint(interactions: pd.DataFrame) -> pd.Series:
    """True for the interaction rows that are complaints (the one definition of a complaint).

    A row is a complaint unless its ``category`` is one of
    :data:`NON_COMPLAINT_CATEGORIES` (contacts such as payment reminders and downgrade
    requests); without a ``category`` column every row is a complaint (the contract's
    interactions table holds "complaints and service tickets").
    """
    if "category" not in interactions:
        return pd.Series(True, index=interactions.index)
    key = _category_key(interactions["category"])
    return ~key.isin(NON_COMPLAINT_CATEGORIES).fillna(False).astype(bool)


def complaints_only(interactions: pd.DataFrame) -> pd.DataFrame:
    """The complaint rows of ``interactions`` (:func:`is_complaint`)."""
    return interactions[is_complaint(interactions).to_numpy()]


def reason_shares(customers: pd.DataFrame) -> pd.DataFrame:
    """Share of churners by ``churn_reason`` with Wilson intervals and taxonomy flags.

    Columns: reason, type, preventable, targetable, churners, share, ci_low,
    ci_high. Churners with no recorded reason (or no ``churn_reason``
    column at all) count as ``unknown``.
    """
    churned = customers["churned"].astype("boolean").fillna(False).astype(bool)
    if "churn_reason" in customers:
        r = customers.loc[churned, "churn_reason"].astype("string").fillna("unknown")
        bad = ~r.isin(list(contract.CHURN_REASONS))
        if bad.any():
            raise ValueError(f"table 'customers', column 'churn_reason': {r[bad].iloc[0]!r} is "
                             "not in the churn taxonomy (rule: one of "
                             + ", ".join(contract.CHURN_REASONS) + ")")
    else:  # the column is optional: every churner's reason is unknown
        r = pd.Series("unknown", index=customers.index[churned], dtype="string")
    counts = r.value_counts().reindex(list(contract.CHURN_REASONS), fill_value=0)
    n = counts.sum()
    lo, hi = wilson_interval(counts.to_numpy(), n)
    tax = contract.CHURN_REASONS
    out = pd.DataFrame({
        "reason": counts.index,
        "type": [tax[k]["type"] for k in counts.index],
        "preventable": [tax[k]["preventable"] for k in counts.index],
        "targetable": [None if k == "unknown" else k not in contract.NOT_TARGETABLE
                       for k in counts.index],
        "churners": counts.to_numpy(), "share": counts.to_numpy() / max(n, 1),
        "ci_low": lo, "ci_high": hi})
    return out


def class_shares(shares: pd.DataFrame) -> pd.DataFrame:
    """Shares of churners by taxonomy class (voluntary / involuntary / unknown) and by
    preventable and targetable, with Wilson intervals (from :func:`reason_shares`)."""
    n = shares["churners"].sum()
    rows = []
    for col in ("type", "preventable", "targetable"):
        g = shares.groupby(shares[col].astype("string").fillna("unknown"))["churners"].sum()
        for level, k in g.items():
            lo, hi = wilson_interval(k, n)
            rows.append({"grouping": col, "level": level, "churners": int(k),
                         "share": k / max(n, 1), "ci_low": float(lo), "ci_high": float(hi)})
    return pd.DataFrame(rows)


def preventable_share(customers: pd.DataFrame) -> float:
    """Share of churners with a known reason whose reason is preventable (NaN if none known)."""
    s = reason_shares(customers)
    known = s[s["reason"] != "unknown"]
    n = known["churners"].sum()
    if n == 0:
        return float("nan")
    return float(known.loc[known["preventable"].astype(bool), "churners"].sum() / n)


def _exposure(c: pd.DataFrame, as_of) -> np.ndarray:
    end = c["end_date"].where(c["churned"], pd.Timestamp(as_of))
    return ((end - c["signup_date"]).dt.days / DAYS_PER_MONTH).clip(lower=0).to_numpy(float)


def rate_table(customers: pd.DataFrame, group: pd.Series, *, as_of, name: str = "group"
               ) -> pd.DataFrame:
    """Churners, customer-months and churn per 100 customer-months by ``group`` (exact CI)."""
    c = prepare_customers(customers, as_of)
    g = pd.Series(np.asarray(group), index=c.index).astype("string").fillna("missing")
    d = pd.DataFrame({name: g, "customers": 1, "churners": c["churned"].astype(int),
                      "months": _exposure(c, as_of)})
    t = d.groupby(name, sort=True).sum()
    lo, hi = poisson_interval(t["churners"], t["months"])
    t["rate_per_100"] = 100 * t["churners"] / t["months"]
    t["ci_low"], t["ci_high"] = 100 * lo, 100 * hi
    t["churn_share"] = t["churners"] / t["customers"]
    return t.reset_index()


def complaint_status(customers: pd.DataFrame, interactions: pd.DataFrame, *, at
                     ) -> pd.DataFrame:
    """Complaint status of the customers active at ``at``, from complaints opened by ``at``.

    Only complaint rows count (:func:`is_complaint`: payment reminders and downgrade
    requests are contacts, not complaints). ``status``: ``none``, ``all resolved`` or
    ``unresolved`` (a complaint still open at ``at``); ``resolution``: band of the slowest
    resolved complaint (<1 day, 1-3 days, 3-7 days, >7 days) for the all-resolved, else
    the status.
    """
    at = pd.Timestamp(at)
    c = customers[active_at(customers, at)]
    interactions = complaints_only(interactions)
    i = interactions[["customer_id", "opened_at"]].copy()
    i["customer_id"] = i["customer_id"].astype(str)
    i["opened_at"] = pd.to_datetime(i["opened_at"])
    res = (pd.to_datetime(interactions["resolved_at"]) if "resolved_at" in interactions
           else pd.Series(pd.NaT, index=i.index))
    keep = i["opened_at"] <= at
    i, res = i[keep], res[keep]
    done = res.notna() & (res <= at)
    hours = ((res - i["opened_at"]).dt.total_seconds() / 3600).where(done)
    g = pd.DataFrame({"customer_id": i["customer_id"], "n": 1, "open": (~done).astype(int),
                      "hours": hours}).groupby("customer_id")
    per = pd.DataFrame({"complaints": g["n"].sum(), "unresolved": g["open"].sum(),
                        "max_hours": g["hours"].max()}).reindex(c["customer_id"].astype(str))
    per["complaints"] = per["complaints"].fillna(0).astype(int)
    per["unresolved"] = per["unresolved"].fillna(0).astype(int)
    per["status"] = np.select([per["complaints"] == 0, per["unresolved"] > 0],
                              ["none", "unresolved"], "all resolved")
    band = pd.cut(per["max_hours"], [0, 24, 72, 168, np.inf],
                  labels=["<1 day", "1-3 days", "3-7 days", ">7 days"], include_lowest=True)
    per["resolution"] = band.astype("string").where(per["status"] == "all resolved",
                                                   per["status"])
    return per.reset_index()


def churn_by_complaints(customers: pd.DataFrame, interactions: pd.DataFrame, *, as_of,
                        landmark_months: int = 12) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Churn after a landmark date by complaint status and by resolution time.

    Landmark analysis (Anderson, Cain & Gelber 1983): customers active at
    ``as_of - landmark_months`` are grouped by their complaint history up to
    that date and followed to ``as_of``. Comparing complainers with
    non-complainers over their whole tenure would be biased (a customer
    must survive to complain: "immortal time"). Returns (by status, by
    resolution band, test); the test compares customers whose complaints
    were all resolved with customers who never complained: rate ratio,
    exact 95% interval (conditional binomial) and p-value.
    """
    as_of = pd.Timestamp(as_of)
    L = as_of - pd.DateOffset(months=landmark_months)
    c = prepare_customers(customers, as_of)
    per = complaint_status(c, interactions, at=L).set_index("customer_id")
    c = c[active_at(c, L)].copy()
    c["signup_date"] = L  # exposure counted from the landmark
    per = per.reindex(c["customer_id"])
    by_status = rate_table(c, per["status"].to_numpy(), as_of=as_of, name="status")
    by_res = rate_table(c, per["resolution"].to_numpy(), as_of=as_of, name="resolution")
    order = ["none", "<1 day", "1-3 days", "3-7 days", ">7 days", "all resolved", "unresolved"]
    rank = {k: i for i, k in enumerate(order)}
    by_status, by_res = (t.sort_values(key, key=lambda s_: s_.map(rank)).reset_index(drop=True)
                         for t, key in ((by_status, "status"), (by_res, "resolution")))
    s = by_status.set_index("status")
    test = {"rate_ratio": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan}
    if {"none", "all resolved"} <= set(s.index):
        k1, e1 = s.loc["all resolved", ["churners", "months"]]
        k0, e0 = s.loc["none", ["churners", "months"]]
        test = rate_ratio_test(k1, e1, k0, e0)
    test["landmark"] = f"{L:%Y-%m-%d}"
    return by_status, by_res, test


def rate_ratio_test(k1, e1, k0, e0) -> dict:
    """Rate ratio (k1/e1)/(k0/e0) with the exact conditional-binomial interval and p-value."""
    k1, k0 = int(k1), int(k0)
    n = k1 + k0
    odds = e1 / e0
    res = stats.binomtest(k1, n, odds / (1 + odds)) if n else None
    if res is None:
        return {"rate_ratio": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan}
    ci = res.proportion_ci(0.95, method="exact")
    to_rr = lambda p: (p / (1 - p)) / odds if p < 1 else np.inf  # noqa: E731
    return {"rate_ratio": float((k1 / e1) / (k0 / e0)) if k0 else np.inf,
            "ci_low": float(to_rr(ci.low)), "ci_high": float(to_rr(ci.high)),
            "p_value": float(res.pvalue)}


def switching_cost_effects(customers: pd.DataFrame, *, as_of) -> dict[str, pd.DataFrame]:
    """Churn per 100 customer-months by products held and by contract (when present)."""
    c = prepare_customers(customers, as_of)
    out = {}
    if "n_products" in c and c["n_products"].notna().any():
        k = pd.to_numeric(c["n_products"], errors="coerce")
        top = int(min(k.max(), max(4, k.quantile(0.95))))
        lab = k.clip(upper=top).astype("Int64").astype("string")
        lab = lab.where(k < top, f"{top}+") if (k > top).any() else lab
        out["n_products"] = rate_table(c, lab, as_of=as_of, name="n_products")
    if "contract" in c and c["contract"].notna().any():
        out["contract"] = rate_table(c, c["contract"], as_of=as_of, name="contract")
    return out


def satisfaction_scores(survey: pd.DataFrame, codebook: pd.DataFrame | None = None,
                        construct: str = "satisfaction") -> pd.DataFrame:
    """Latest survey score per customer: mean of the construct's items (reverse-coded fixed).

    Without a codebook (or the construct) the 0-10 ``nps`` item is used.
    Returns customer_id, date, score, scale ("construct mean" or "nps").
    """
    s = survey[survey["customer_id"].notna()].copy()
    s["date"] = pd.to_datetime(s["date"]) if "date" in s else pd.NaT
    items = []
    if codebook is not None and "construct" in codebook:
        cb = codebook[codebook["construct"] == construct]
        items = [i for i in cb["item"] if i in s]
    if items:
        cb = cb.set_index("item").loc[items]
        vals = s[items].apply(pd.to_numeric, errors="coerce").astype(float).to_numpy()
        rev = cb["reverse"].astype(bool).to_numpy()
        lo, hi = cb["scale_min"].astype(float).to_numpy(), cb["scale_max"].astype(float).to_numpy()
        vals = np.where(rev[None, :], lo + hi - vals, vals)
        s["score"] = np.nanmean(vals, axis=1)
        scale = f"{construct} (mean of {len(items)} items, {lo.min():g}-{hi.max():g})"
    elif "nps" in s:
        s["score"] = pd.to_numeric(s["nps"], errors="coerce").astype(float)
        scale = "nps (0-10)"
    else:
        raise ValueError("survey_responses has neither codebook items for "
                         f"'{construct}' nor an 'nps' column")
    s = s.sort_values("date").drop_duplicates("customer_id", keep="last")
    out = s[["customer_id", "date", "score"]].dropna(subset=["score"]).copy()
    out["customer_id"] = out["customer_id"].astype(str)
    out["scale"] = scale
    return out.reset_index(drop=True)


def churn_after_survey(customers: pd.DataFrame, scores: pd.DataFrame, *, as_of,
                       n_bands: int = 5) -> pd.DataFrame:
    """Churn after answering the survey, per 100 customer-months, by score band (quantiles)."""
    c = prepare_customers(customers, as_of).set_index("customer_id")
    d = scores.set_index("customer_id").join(c[["end_date", "churned"]], how="inner")
    d = d[~(d["end_date"] <= d["date"])]  # still a customer when answering
    end = d["end_date"].where(d["churned"], pd.Timestamp(as_of))
    d["months"] = ((end - d["date"]).dt.days / DAYS_PER_MONTH).clip(lower=0.5)
    d["band"] = pd.qcut(d["score"].rank(method="first"), n_bands,
                        labels=[f"Q{i + 1}" for i in range(n_bands)])
    t = d.groupby("band", observed=True).agg(
        respondents=("score", "size"), score_low=("score", "min"), score_high=("score", "max"),
        churners=("churned", "sum"), months=("months", "sum"))
    lo, hi = poisson_interval(t["churners"], t["months"])
    t["rate_per_100"] = 100 * t["churners"] / t["months"]
    t["ci_low"], t["ci_high"] = 100 * lo, 100 * hi
    return t.reset_index()
