"""RFM: recency, frequency and monetary value with quintile scores and named segments.

RFM goes back to direct marketing (Hughes 1994, *Strategic Database
Marketing*); the named segments follow the common R x F grid used in CRM
practice (e.g. the ``rfm`` R package and Putler's segment map). As of a date:

- recency_days: days since the last purchase (lower is better);
- n_purchases: purchase occasions (FHL counting, see ``summary``);
- total_spend: non-negative spend in the window, before refunds;
- R, F, M: quintile scores 1-5 (5 best). A score is the quintile of the
  customer's rank; tied customers share the *lowest* quintile they reach, so
  all one-time buyers get F = 1 rather than being split arbitrarily.

Segments come from R and F only (M is shown alongside), with the first
matching rule of :data:`RFM_RULES` winning; the grid covers all 25 cells.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import engine as _engine
from .summary import purchase_days

#: Segment rules on R and F scores (inclusive ranges; first match wins) and the CRM task.
RFM_RULES = pd.DataFrame([
    ("champions", (4, 5), (4, 5), "bought recently and often: reward, ask for referrals"),
    ("loyal", (3, 5), (3, 5), "regular buyers: loyalty programme, upsell"),
    ("cannot lose", (1, 2), (5, 5), "were the most frequent, gone quiet: personal win-back"),
    ("at risk", (1, 2), (3, 4), "used to buy often, not lately: reactivation offer"),
    ("new", (5, 5), (1, 1), "first purchase just now: onboarding, second purchase"),
    ("potential loyalist", (4, 5), (2, 2), "recent, a few purchases: membership, recommend"),
    ("promising", (4, 4), (1, 1), "recent one-time buyers: build the relationship"),
    ("about to sleep", (3, 3), (1, 2), "fading few-time buyers: limited-time offer"),
    ("lost", (1, 1), (1, 1), "one purchase long ago: low-cost reactivation or let go"),
    ("hibernating", (1, 2), (1, 2), "few purchases, long ago: low-cost automated contact"),
], columns=["segment", "R", "F", "task"])


def quintile_score(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """Score 1-5 by quintile of rank; ties share the lowest quintile they reach."""
    v = values if higher_is_better else -values
    rank = v.rank(method="min")
    n = len(v)
    return (1 + np.floor(5 * (rank - 1) / max(n, 1))).clip(1, 5).astype("int64")


def rfm_segment(r: pd.Series, f: pd.Series) -> pd.Series:
    """Named segment from R and F scores by :data:`RFM_RULES` (first match wins)."""
    conds = [r.between(*rr) & f.between(*ff) for rr, ff in zip(RFM_RULES["R"], RFM_RULES["F"],
                                                                 strict=True)]
    return pd.Series(np.select(conds, RFM_RULES["segment"].to_numpy(), default="unassigned"),
                     index=r.index, name="segment")


def _reference_aggregates(transactions: pd.DataFrame, end: pd.Timestamp,
                          window_days: int | None, grain: str) -> pd.DataFrame:
    """RFM inputs per customer in memory (the reference the engines are tested
    against): last_day, n_purchases, total_spend, refunds, indexed by customer_id."""
    days = purchase_days(transactions, end=end, grain=grain)
    if window_days is not None:
        days = days[days["day"] > end - pd.Timedelta(days=int(window_days))]
    buys = days[days["rows"] > 0]
    g = buys.groupby("customer_id", sort=True)
    out = pd.DataFrame({"last_day": g["day"].max(), "n_purchases": g.size(),
                        "total_spend": g["spend"].sum()})
    out["refunds"] = days.groupby("customer_id")["refund"].sum().reindex(out.index).fillna(0.0)
    return out


def rfm_table(transactions: pd.DataFrame, *, as_of: object, window_days: int | None = None,
              grain: str = "auto") -> pd.DataFrame:
    """RFM per customer as of ``as_of`` (optionally only the last ``window_days``).

    Columns: customer_id, recency_days, n_purchases, total_spend, refunds,
    R, F, M, rfm (the three digits), segment.
    """
    end = pd.Timestamp(as_of)
    if _engine.uses_engine(transactions):
        agg = _engine.rfm_aggregates(transactions, as_of=end, window_days=window_days,
                                     grain=grain).set_index("customer_id")
    else:
        agg = _reference_aggregates(transactions, end, window_days, grain)
    if agg.empty:
        raise ValueError(f"table transactions: no purchases on or before {end.date()}")
    out = pd.DataFrame({
        "recency_days": (end - agg["last_day"]).dt.total_seconds() / 86400.0,
        "n_purchases": agg["n_purchases"].astype("int64"),
        "total_spend": agg["total_spend"].astype(float),
    })
    out["recency_days"] = out["recency_days"].clip(lower=0)
    out["refunds"] = agg["refunds"].astype(float)
    out["R"] = quintile_score(out["recency_days"], higher_is_better=False)
    out["F"] = quintile_score(out["n_purchases"])
    out["M"] = quintile_score(out["total_spend"])
    out["rfm"] = out["R"].astype(str) + out["F"].astype(str) + out["M"].astype(str)
    out["segment"] = rfm_segment(out["R"], out["F"])
    return out.rename_axis("customer_id").reset_index()


def segment_summary(rfm: pd.DataFrame) -> pd.DataFrame:
    """Customers, share, revenue share and average R/F/M per segment, in rule order."""
    g = rfm.groupby("segment")
    out = pd.DataFrame({
        "customers": g.size(),
        "share": g.size() / len(rfm),
        "revenue_share": g["total_spend"].sum() / rfm["total_spend"].sum(),
        "mean_recency_days": g["recency_days"].mean(),
        "mean_purchases": g["n_purchases"].mean(),
        "mean_spend": g["total_spend"].mean(),
    })
    order = [s for s in RFM_RULES["segment"] if s in out.index]
    out = out.loc[order]
    out["task"] = RFM_RULES.set_index("segment").loc[order, "task"].to_numpy()
    return out


def rules_table() -> pd.DataFrame:
    """The segment rule table, readable (score ranges as text)."""
    t = RFM_RULES.copy()
    for c in ("R", "F"):
        t[c] = [f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in t[c]]
    return t
