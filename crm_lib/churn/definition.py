"""What churn means here, and features that only look backwards.

Two definitions (Ascarza et al. 2018, "In pursuit of enhanced customer
retention management", *Customer Needs and Solutions* 5: 65-81):

- **contractual** churn: the relationship has an end date (the plan was
  cancelled). A customer churns in the window ``(cutoff, as_of]`` when
  their ``end_date`` falls inside it.
- **non-contractual** churn: nobody cancels a shop visit, so a customer is
  called churned after an *inactivity window* with no purchase
  (a parameter, e.g. 180 days).

Prediction is framed without look-ahead: the model is trained on customers
active at ``cutoff = as_of - horizon`` with features computed **only from
information dated on or before the cutoff**, and labelled by churn inside
the horizon. The fitted model is then applied to customers active at
``as_of`` with features computed at ``as_of``. :func:`build_features`
never reads ``end_date``, ``churned`` or ``churn_reason``, and drops every
interaction or transaction dated after its reference date (a test perturbs
all later data and gets identical features).

The per-customer history features, :func:`inactivity_churn` and the value
summaries run on the current engine (:mod:`crm_lib.engine`: DuckDB by default,
Spark for a cluster), so the event tables may be Parquet folders far larger
than memory; ``engine="pandas"`` runs the in-memory code below, the reference
the engines are tested against (tests/test_engine.py).

Extra attribute columns of the customers table are taken as known at any
date (a static profile); a source whose attributes change over time should
provide them as dated tables instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Columns of the customers table that are never model features (keys, dates, outcomes).
NON_FEATURES = ("customer_id", "signup_date", "end_date", "churned", "churn_reason",
                "churn_reason_raw")
DAYS_PER_MONTH = 30.4375


class ChurnDataError(ValueError):
    """A user-data problem, named by table, column and rule."""


@dataclass(frozen=True)
class ChurnWindow:
    """The prediction frame: features at ``cutoff``, churn observed in ``(cutoff, as_of]``."""

    as_of: pd.Timestamp
    horizon_months: int
    snapshot: bool  # the source records churn only in its last period (e.g. IBM Telco)

    @property
    def cutoff(self) -> pd.Timestamp:
        return self.as_of - pd.DateOffset(months=self.horizon_months)

    def describe(self) -> str:
        kind = ("snapshot data: churners all left in the last month, so the horizon is "
                "that month" if self.snapshot else "dated end dates")
        return (f"features at {self.cutoff:%Y-%m-%d}, churn observed from then to "
                f"{self.as_of:%Y-%m-%d} ({self.horizon_months} month(s); {kind})")


def _need(df: pd.DataFrame, table: str, cols: tuple[str, ...]) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ChurnDataError(
            f"table '{table}' lacks column '{missing[0]}' (rule: churn analysis needs "
            f"{', '.join(cols)}).")


def _dates(s: pd.Series, table: str, col: str) -> pd.Series:
    out = pd.to_datetime(s, errors="coerce")
    bad = s.notna() & out.isna()
    if bad.any():
        raise ChurnDataError(f"table '{table}', column '{col}': {int(bad.sum())} value(s) are "
                             f"not dates (rule: ISO dates), e.g. {s[bad].iloc[0]!r}.")
    return out.astype("datetime64[ns]")


def prepare_customers(customers: pd.DataFrame, as_of) -> pd.DataFrame:
    """Customers with parsed dates and a boolean ``churned`` (end date before ``as_of``).

    A churner without an end date is taken to have left at ``as_of``
    (snapshot sources record only the flag). Raises :class:`ChurnDataError`
    naming the column for missing or unparsable keys and dates.
    """
    _need(customers, "customers", ("customer_id", "signup_date"))
    c = customers.copy()
    as_of = pd.Timestamp(as_of)
    c["signup_date"] = _dates(c["signup_date"], "customers", "signup_date")
    if c["signup_date"].isna().any():
        raise ChurnDataError("table 'customers', column 'signup_date': empty values "
                             "(rule: every customer has a signup date).")
    end = (_dates(c["end_date"], "customers", "end_date") if "end_date" in c
           else pd.Series(pd.NaT, index=c.index, dtype="datetime64[ns]"))
    flag = (c["churned"].astype("boolean").fillna(False).astype(bool) if "churned" in c
            else end.notna())
    end = end.where(~(flag & end.isna()), as_of)
    end = end.where(end <= as_of)  # ends after the analysis date have not happened yet
    c["end_date"] = end
    c["churned"] = end.notna()
    if c["customer_id"].isna().any() or c["customer_id"].duplicated().any():
        raise ChurnDataError("table 'customers', column 'customer_id': empty or duplicated "
                             "ids (rule: unique, not empty).")
    c["customer_id"] = c["customer_id"].astype(str)
    return c.reset_index(drop=True)


def churn_window(customers: pd.DataFrame, as_of, horizon_months: int = 6) -> ChurnWindow:
    """The prediction window; detects snapshot data and then uses a one-month horizon.

    Snapshot sources (IBM Telco: "left within the last month") put every
    churner's end date in the last month before ``as_of``; a longer horizon
    would silently relabel the recent joiners, so the horizon is one month.
    """
    as_of = pd.Timestamp(as_of)
    c = prepare_customers(customers, as_of)
    ends = c.loc[c["churned"], "end_date"]
    snapshot = bool(len(ends) and ends.min() > as_of - pd.DateOffset(months=1))
    if horizon_months < 1:
        raise ValueError("horizon_months must be at least 1")
    return ChurnWindow(as_of, 1 if snapshot else int(horizon_months), snapshot)


def active_at(customers: pd.DataFrame, at) -> pd.Series:
    """Boolean mask: signed up on or before ``at`` and not ended by ``at``."""
    at = pd.Timestamp(at)
    return (customers["signup_date"] <= at) & ~(customers["end_date"] <= at)


def _coerce_attribute(s: pd.Series) -> pd.Series:
    """Text attributes that are really numbers or booleans become floats; others stay text."""
    if pd.api.types.is_bool_dtype(s):
        return s.astype("Float64").astype(float)
    if pd.api.types.is_numeric_dtype(s):
        return s.astype("Float64").astype(float)
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    txt = s.astype("string").str.strip()
    low = txt.str.lower()
    if low.dropna().isin(["true", "false"]).all() and low.notna().any():
        return low.map({"true": 1.0, "false": 0.0}).astype(float)
    distinct = pd.Series(pd.unique(txt.dropna()), dtype="string")  # a category has few
    if distinct.empty or pd.to_numeric(distinct, errors="coerce").isna().any():
        return txt.astype(object).where(txt.notna(), None)  # some text is not a number
    num = pd.to_numeric(txt, errors="coerce")
    if txt.notna().any() and (num.notna() == txt.notna()).all():
        return num.astype(float)
    return txt.astype(object).where(txt.notna(), None)


def _tenure_months(signup: pd.Series, at: pd.Timestamp) -> np.ndarray:
    return ((at - signup).dt.days / DAYS_PER_MONTH).to_numpy(float)


def interaction_features(interactions: pd.DataFrame, at) -> pd.DataFrame:
    """Complaint history per customer as seen at ``at`` (Knox & van Oest 2014).

    Counts of tickets opened on or before ``at``, those still unresolved at
    ``at`` (resolved later counts as unresolved then), tickets in the last
    90 days, per category (up to six most common), the median resolution
    time (hours) of tickets resolved by ``at`` and days since the last
    ticket. :func:`build_features` adds the complaint rate per year of
    tenure. Indexed by customer_id.
    """
    from .. import engine as _engine  # on first use: the engine imports ibis

    if _engine.uses_engine(interactions):
        return _engine.interaction_features(interactions, at=at)
    _need(interactions, "interactions", ("customer_id", "opened_at"))
    at = pd.Timestamp(at)
    i = interactions[["customer_id", "opened_at"]].copy()
    i["opened_at"] = _dates(interactions["opened_at"], "interactions", "opened_at")
    res = (_dates(interactions["resolved_at"], "interactions", "resolved_at")
           if "resolved_at" in interactions else pd.Series(pd.NaT, index=i.index))
    i["customer_id"] = i["customer_id"].astype(str)
    i["category"] = (interactions["category"].astype("string").fillna("missing")
                     if "category" in interactions else "all")
    i = i[i["opened_at"] <= at]
    res = res.loc[i.index]
    resolved_by = res.notna() & (res <= at)
    hours = ((res - i["opened_at"]).dt.total_seconds() / 3600).where(resolved_by)
    g = pd.DataFrame({
        "customer_id": i["customer_id"],
        "complaints": 1.0,
        "complaints_unresolved": (~resolved_by).astype(float),
        "complaints_90d": (i["opened_at"] > at - pd.Timedelta(days=90)).astype(float),
        "resolution_hours": hours,
        "opened": i["opened_at"],
    }).groupby("customer_id")
    out = g[["complaints", "complaints_unresolved", "complaints_90d"]].sum()
    out["resolution_hours_median"] = g["resolution_hours"].median()
    out["days_since_complaint"] = (at - g["opened"].max()).dt.days.astype(float)
    top = i["category"].value_counts().index[:6]
    if len(top) > 1:
        by_cat = pd.crosstab(i["customer_id"], i["category"])[list(top)].astype(float)
        by_cat.columns = [f"complaints_{c}" for c in top]
        out = out.join(by_cat)
        recent = i[i["opened_at"] > at - pd.Timedelta(days=90)]
        by_cat = pd.crosstab(recent["customer_id"], recent["category"]).reindex(
            columns=list(top), fill_value=0).astype(float)
        by_cat.columns = [f"complaints_{c}_90d" for c in top]
        out = out.join(by_cat)
        out[by_cat.columns] = out[by_cat.columns].fillna(0.0)  # complainers, none recent
    return out


def transaction_features(transactions: pd.DataFrame, at) -> pd.DataFrame:
    """Shop activity per customer as seen at ``at``: counts and spend (last 365 days), recency.

    The trend is two windows: purchases in the last 90 days and in the 90 days before
    (falling activity before churn; Ascarza et al. 2018).
    """
    from .. import engine as _engine  # on first use: the engine imports ibis

    if _engine.uses_engine(transactions):
        return _engine.transaction_features(transactions, at=at)
    _need(transactions, "transactions", ("customer_id", "date", "amount"))
    at = pd.Timestamp(at)
    t = pd.DataFrame({"customer_id": transactions["customer_id"].astype(str),
                      "date": _dates(transactions["date"], "transactions", "date"),
                      "amount": pd.to_numeric(transactions["amount"], errors="coerce")})
    t = t[t["date"] <= at]
    recent = t["date"] > at - pd.Timedelta(days=365)
    t["p365"] = (recent & (t["amount"] > 0)).astype(float)
    t["s365"] = t["amount"].where(recent, 0.0)
    age = (at - t["date"]).dt.days
    t["p90"] = ((age < 90) & (t["amount"] > 0)).astype(float)
    t["p90_180"] = ((age >= 90) & (age < 180) & (t["amount"] > 0)).astype(float)
    g = t.groupby("customer_id")
    out = pd.DataFrame({"purchases_365d": g["p365"].sum(), "spend_365d": g["s365"].sum(),
                        "purchases_90d": g["p90"].sum(), "purchases_prior_90d": g["p90_180"].sum()})
    out["days_since_purchase"] = (at - g["date"].max()).dt.days.astype(float)
    return out


def build_features(customers: pd.DataFrame, at, *, as_of=None,
                   interactions: pd.DataFrame | None = None,
                   transactions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Model features of the customers active at ``at``, from information up to ``at`` only.

    Returns one row per active customer, indexed by ``customer_id``: tenure
    in months at ``at``, every contract and extra attribute column except
    keys, dates and outcomes (text attributes that hold numbers become
    numbers), plus complaint and shop history features when those tables
    are given (customers without history get zero counts and missing
    recency). A derived feature replaces an attribute of the same name.
    ``as_of`` (default ``at``) is the date the data were extracted, used
    only to place churners recorded without an end date.
    """
    at = pd.Timestamp(at)
    c = prepare_customers(customers, at if as_of is None else as_of)
    # the end date is consulted only to decide who is active at ``at`` (ended on or before it)
    c = c[active_at(c, at)]
    X = pd.DataFrame(index=pd.Index(c["customer_id"].astype(str), name="customer_id"))
    X["tenure_months"] = _tenure_months(c["signup_date"], at)
    for col in c.columns:
        if col in NON_FEATURES or col in X.columns:
            continue
        if pd.api.types.is_datetime64_any_dtype(c[col]):
            continue
        X[col] = _coerce_attribute(c[col]).to_numpy()
    for table, fn in (("interactions", interaction_features),
                      ("transactions", transaction_features)):
        frame = {"interactions": interactions, "transactions": transactions}[table]
        if frame is None:
            continue
        f = fn(frame, at).reindex(X.index)
        counts = [k for k in f.columns if not k.startswith(("days_since", "resolution"))]
        f[counts] = f[counts].fillna(0.0)
        for k in f.columns:
            X[k] = f[k].to_numpy(float)
        if table == "interactions":
            X["complaints_per_year"] = 12 * X["complaints"] / np.maximum(X["tenure_months"], 1)
    X = X.drop(columns=[k for k in X.columns if X[k].isna().all()])
    return X


def training_frame(customers: pd.DataFrame, *, as_of, horizon_months: int = 6,
                   interactions: pd.DataFrame | None = None,
                   transactions: pd.DataFrame | None = None
                   ) -> tuple[pd.DataFrame, pd.Series, ChurnWindow]:
    """Features at the cutoff and the churn-within-horizon label of the customers active then.

    Returns ``(X, y, window)``; ``y`` (indexed like ``X``) is 1 when the
    customer's end date falls in ``(cutoff, as_of]``.
    """
    as_of = pd.Timestamp(as_of)
    c = prepare_customers(customers, as_of)
    w = churn_window(c, as_of, horizon_months)
    X = build_features(c, w.cutoff, as_of=as_of, interactions=interactions,
                       transactions=transactions)
    ended = c.set_index("customer_id")["end_date"].reindex(X.index)
    y = (ended.notna() & (ended > w.cutoff) & (ended <= as_of)).astype(int)
    y.name = "churned"
    if y.nunique() < 2:
        raise ChurnDataError(_single_class_message(y, w, as_of, c))
    return X, y, w


def _single_class_message(y: pd.Series, w: ChurnWindow, as_of: pd.Timestamp,
                          c: pd.DataFrame) -> str:
    """Which class is missing from the training labels, and what to change."""
    frame = (f"{len(y)} customer(s) active at {w.cutoff:%Y-%m-%d}, churn observed to "
             f"{as_of:%Y-%m-%d} ({w.horizon_months} month(s))")
    last_end = c["end_date"].max()
    if len(y) == 0:
        missing = "no customer is active at the cutoff, so there is nothing to learn from"
        fix = "move as_of later or shorten horizon_months"
    elif y.iloc[0] == 0:
        missing = "no churner: every one of them stayed"
        fix = (f"set as_of (--as-of) to the end of the data (the last end_date is {last_end:%Y-%m-%d})"
               if pd.notna(last_end) and last_end < w.cutoff else
               "lengthen horizon_months or move as_of so that some end dates fall inside")
    else:
        missing = "no stayer: every one of them churned"
        fix = "move as_of earlier or shorten horizon_months"
    return (f"table 'customers': the churn model needs churners and stayers, but of {frame} "
            f"there is {missing} (rule: both classes inside the horizon). To fix it, {fix}.")


def scoring_frame(customers: pd.DataFrame, *, as_of,
                  interactions: pd.DataFrame | None = None,
                  transactions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Features at ``as_of`` of the customers active at ``as_of`` (whom to score)."""
    return build_features(customers, pd.Timestamp(as_of), interactions=interactions,
                          transactions=transactions)


def inactivity_churn(transactions: pd.DataFrame, *, as_of, window_days: int = 180
                     ) -> pd.DataFrame:
    """Non-contractual churn: no purchase within ``window_days`` before ``as_of``.

    One row per customer with a purchase on or before ``as_of``: ``last_purchase``,
    ``days_inactive``, ``churned`` (inactive longer than the window) and the
    implied ``churn_date`` (last purchase + window) for churners. The
    window is a business choice; :func:`inactivity_sensitivity` shows how
    the churn rate moves with it.
    """
    as_of = pd.Timestamp(as_of)
    from .. import engine as _engine  # on first use: the engine imports ibis

    if _engine.uses_engine(transactions):
        last = _engine.last_purchase(transactions, at=as_of)
    else:
        _need(transactions, "transactions", ("customer_id", "date"))
        d = _dates(transactions["date"], "transactions", "date")
        t = pd.DataFrame({"customer_id": transactions["customer_id"].astype(str), "date": d})
        t = t[t["date"] <= as_of]
        last = t.groupby("customer_id")["date"].max()
    out = pd.DataFrame({"last_purchase": last})
    out["days_inactive"] = (as_of - last).dt.days
    out["churned"] = out["days_inactive"] > window_days
    out["churn_date"] = (last + pd.Timedelta(days=window_days)).where(out["churned"])
    return out


def inactivity_sensitivity(transactions: pd.DataFrame, *, as_of,
                           windows=(60, 90, 180, 270, 365)) -> pd.DataFrame:
    """Share of shop customers called churned for each inactivity window (days)."""
    base = inactivity_churn(transactions, as_of=as_of, window_days=0)
    days = base["days_inactive"].to_numpy()
    return pd.DataFrame({"window_days": list(windows),
                         "churn_rate": [float(np.mean(days > w)) for w in windows]})
