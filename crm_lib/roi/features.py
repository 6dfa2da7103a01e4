"""Pre-treatment customer features for uplift models and randomisation checks.

A feature must be known *before* the campaign: customer attributes, tenure
at the campaign date, and complaints opened before it. Outcome columns
(``end_date``, ``churned``, ``churn_reason``) are never features.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..churn.reasons import is_complaint

__all__ = ["pre_treatment_features", "OUTCOME_COLUMNS"]

#: Customer columns that describe the outcome (or leak it) and never enter a model.
OUTCOME_COLUMNS = ("customer_id", "signup_date", "end_date", "churned", "churn_reason",
                   "churn_reason_raw")

_BOOL_TEXT = {"true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0, "1": 1.0, "0": 0.0}


def _numeric_or_none(s: pd.Series) -> pd.Series | None:
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        return pd.to_numeric(s, errors="coerce").astype(float)
    txt = s.astype("string").str.strip().str.lower()
    if txt.dropna().isin(list(_BOOL_TEXT)).all() and txt.notna().any():
        return txt.map(_BOOL_TEXT).astype(float)
    num = pd.to_numeric(s, errors="coerce")
    if num.notna().sum() >= 0.95 * s.notna().sum() and s.notna().any():
        return num.astype(float)
    return None


def pre_treatment_features(customers: pd.DataFrame, at: str | pd.Timestamp, *,
                           interactions: pd.DataFrame | None = None,
                           max_levels: int = 12) -> pd.DataFrame:
    """A numeric feature matrix (index ``customer_id``) as known at date ``at``.

    Numeric and true/false attributes as numbers (missing -> column median plus
    a ``<col>_missing`` flag), text attributes with at most ``max_levels``
    levels one-hot encoded (others dropped), ``tenure_months`` at ``at``, and,
    when ``interactions`` is given, complaint counts opened before ``at``
    (all, unresolved at ``at``, and per category; complaints as defined by
    :func:`crm_lib.churn.reasons.is_complaint`) and the other contacts per category
    (``contacts[late_payment]``...).
    """
    if "customer_id" not in customers:
        raise ValueError("customers: column 'customer_id' is required (rule: the contract key)")
    at = pd.Timestamp(at)
    cust = customers.drop_duplicates("customer_id").set_index("customer_id")
    cols: dict[str, pd.Series] = {}
    for name in cust.columns:
        if name in OUTCOME_COLUMNS:
            continue
        s = cust[name]
        num = _numeric_or_none(s)
        if num is not None:
            if num.isna().any():
                cols[f"{name}_missing"] = num.isna().astype(float)
                num = num.fillna(num.median() if num.notna().any() else 0.0)
            cols[name] = num
            continue
        levels = s.astype("string").fillna("(missing)")
        if levels.nunique() <= max_levels:
            for lev in sorted(levels.unique()):
                cols[f"{name}[{lev}]"] = (levels == lev).astype(float)
    if "signup_date" in cust:
        signup = pd.to_datetime(cust["signup_date"], errors="coerce")
        cols["tenure_months"] = ((at - signup).dt.days / 30.4375).clip(lower=0).fillna(0.0)
    X = pd.DataFrame(cols, index=cust.index)
    if interactions is not None and len(interactions):
        need = {"customer_id", "opened_at"}
        if not need <= set(interactions.columns):
            raise ValueError("interactions: columns customer_id and opened_at are required")
        it = interactions[pd.to_datetime(interactions["opened_at"]) < at]
        resolved_at = pd.to_datetime(it.get("resolved_at"), errors="coerce") \
            if "resolved_at" in it else pd.Series(pd.NaT, index=it.index)
        open_at_date = (resolved_at.isna() | (resolved_at >= at)).astype(float)
        # complaints by the one shared definition; other contacts (payment reminders,
        # downgrade requests) are counted under their own name, never as complaints
        comp = is_complaint(it).to_numpy().astype(float)
        agg = pd.DataFrame({"customer_id": it["customer_id"].to_numpy(), "complaints": comp,
                            "unresolved_complaints": open_at_date.to_numpy() * comp})
        if "category" in it:
            cat = it["category"].astype("string").fillna("other").str.lower()
            for lev in sorted(cat.unique())[:max_levels]:
                rows = (cat == lev).to_numpy()
                kind = "complaints" if comp[rows].all() else "contacts"
                agg[f"{kind}[{lev}]"] = rows.astype(float)
        counts = agg.groupby("customer_id").sum()
        X = X.join(counts, how="left")
        X[counts.columns] = X[counts.columns].fillna(0.0)
    X = X.loc[:, X.std(ddof=0).fillna(0) > 0] if len(X) > 1 else X
    return X.astype(float).replace([np.inf, -np.inf], 0.0)
