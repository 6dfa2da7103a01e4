"""Per-customer summaries of event tables, written once as Ibis expressions.

Each function takes Ibis tables (see :func:`crm_lib.engine.connection.table`)
and returns an Ibis expression with one row per customer (or per customer and
occasion); the backend (DuckDB or Spark) runs it where the data live. The
counting rules are those of the in-memory reference code, which the tests
compare against (pandas vs DuckDB vs Spark):

- purchase occasions, refunds and the BG/NBD / Gamma-Gamma inputs of
  :mod:`crm_lib.value.summary` (Fader, Hardie & Lee 2005, "Counting your
  customers the easy way"; Fader & Hardie 2013 for the spend of repeat
  transactions): a purchase occasion is a calendar day (``grain="day"``) or a
  distinct timestamp (``grain="exact"``); refunds (amount < 0) are never
  purchases;
- RFM inputs of :mod:`crm_lib.value.rfm` (Hughes 1994);
- inactivity churn and the backward-looking churn features of
  :mod:`crm_lib.churn.definition` (Ascarza et al. 2018; complaint history as in
  Knox & van Oest 2014).

Times are returned as timestamps; the conversion to weeks or days, scores and
labels happen on the per-customer frames (:mod:`crm_lib.engine.api`), so both
backends share them.
"""

from __future__ import annotations

import ibis
import pandas as pd


def _ts(value) -> ibis.expr.types.TimestampScalar:
    return ibis.timestamp(pd.Timestamp(value).to_pydatetime())


def transactions_view(tx):
    """customer_id (string), date (timestamp), amount (float64) of a transactions table."""
    return tx.select(customer_id=tx.customer_id.cast("string"),
                     date=tx.date.cast("timestamp"), amount=tx.amount.cast("float64"))


def transaction_checks(tx):
    """One row: rows, empty customer ids, empty dates, empty amounts, rows off midnight
    (the ``grain="auto"`` decision: day grain when every timestamp is at midnight)."""
    return tx.aggregate(
        rows=tx.count(),
        null_customer=tx.customer_id.isnull().cast("int64").sum(),
        null_date=tx.date.isnull().cast("int64").sum(),
        null_amount=tx.amount.isnull().cast("int64").sum(),
        off_midnight=(tx.date != tx.date.truncate("D")).cast("int64").sum(),
    )


def _dated(tx, *, grain: str, end=None):
    """The rows with their occasion time ``day`` (the calendar day, or the timestamp for
    grain ``"exact"``), those after ``end`` dropped."""
    t = tx.mutate(day=tx.date.truncate("D") if grain == "day" else tx.date)
    return t if end is None else t.filter(t.day <= _ts(end))


def _occasion_groups(tx, *, grain: str, end=None):
    """The customer x occasion groups of :func:`occasions` as filtered sums and counts (no
    CASE or cast a row): ``spend`` and ``refund`` are NULL, not 0, where an occasion has
    none (a filtered sum skips the zeros a CASE would add: the same sums)."""
    t = _dated(tx, grain=grain, end=end)
    buy = t.amount >= 0
    return t.group_by(["customer_id", "day"]).aggregate(
        spend=t.amount.sum(where=buy), rows=t.count(where=buy),
        refund=(-t.amount).sum(where=~buy))


def occasions(tx, *, grain: str, end=None):
    """One row per customer and purchase occasion: ``day`` (its time), ``spend`` (sum
    of non-negative amounts), ``rows`` (non-negative rows), ``refund`` (refunds as a
    positive sum). ``end`` drops later occasions."""
    occ = _occasion_groups(tx, grain=grain, end=end)
    return occ.mutate(spend=occ.spend.fill_null(0.0), refund=occ.refund.fill_null(0.0))


def bgnbd_inputs(tx, *, calibration_end, observation_end, grain: str):
    """BG/NBD and Gamma-Gamma inputs per customer whose first purchase is on or before
    ``calibration_end``: first_day, last_day (last calibration occasion), frequency
    (repeat occasions), revenue, repeat_spend (spend of the repeat occasions),
    frequency_holdout and spend_holdout (occasions in (calibration_end,
    observation_end]) and refunds (calibration period).

    The occasions are grouped from the purchase rows only (amount >= 0): one sum a
    group, and no purchase filter on every aggregate after it. One aggregation per
    customer over them: the repeat spend is the calibration revenue less the first
    occasion's spend (``argmin`` by day; a customer's occasions have distinct days), so
    no join back to the first day. Refunds need no occasions: they are summed from the
    refund rows (about 1 in 100) per customer and joined to the customers kept."""
    cal = _ts(calibration_end)
    t = _dated(tx, grain=grain, end=observation_end)
    b = t.filter(t.amount >= 0)
    occ = b.group_by(["customer_id", "day"]).aggregate(spend=b.amount.sum())
    in_cal = occ.day <= cal
    cc = occ.group_by("customer_id").aggregate(
        first_day=occ.day.min(),
        first_spend=occ.spend.argmin(occ.day),
        n_cal=occ.count(where=in_cal),
        last_day=occ.day.max(where=in_cal),
        revenue=occ.spend.sum(where=in_cal),
        frequency_holdout=occ.count(where=~in_cal),
        spend_holdout=occ.spend.sum(where=~in_cal).fill_null(0.0),
    )
    cc = cc.filter(cc.first_day <= cal)
    r = t.filter((t.amount < 0) & (t.day <= cal))
    rf = r.group_by("customer_id").aggregate(refund_sum=(-r.amount).sum())
    out = cc.left_join(rf, "customer_id")
    return out.select(
        customer_id=out.customer_id, first_day=out.first_day, last_day=out.last_day,
        frequency=out.n_cal - 1, revenue=out.revenue,
        repeat_spend=ibis.ifelse(out.n_cal > 1, out.revenue - out.first_spend, 0.0),
        frequency_holdout=out.frequency_holdout, spend_holdout=out.spend_holdout,
        refunds=out.refund_sum.fill_null(0.0))


def rfm_inputs(tx, *, as_of, grain: str, window_days: int | None = None):
    """RFM inputs per customer with a purchase on or before ``as_of`` (in the window
    of ``window_days`` before it, when given): last_day, n_purchases (occasions),
    total_spend (non-negative spend) and refunds."""
    occ = occasions(tx, grain=grain, end=as_of)
    if window_days is not None:
        occ = occ.filter(occ.day > _ts(pd.Timestamp(as_of) - pd.Timedelta(days=int(window_days))))
    buy = occ.rows > 0
    out = occ.group_by("customer_id").aggregate(
        last_day=occ.day.max(where=buy), n_purchases=buy.cast("int64").sum(),
        total_spend=occ.spend.sum(where=buy), refunds=occ.refund.sum())
    return out.filter(out.n_purchases > 0)


def last_event(tx, *, at, column: str = "date"):
    """Last event time per customer on or before ``at`` (inactivity churn)."""
    t = tx.filter(tx[column] <= _ts(at))
    return t.group_by("customer_id").aggregate(last=t[column].max())


def transaction_features(tx, *, at):
    """Shop activity per customer on or before ``at``: purchases (amount > 0) and net
    spend in the last 365 days, purchases in the last 90 days and in the 90 days before
    (the activity trend), and the last purchase date."""
    at_ = _ts(at)
    t = tx.filter(tx.date <= at_)
    recent = t.date > _ts(pd.Timestamp(at) - pd.Timedelta(days=365))
    last90 = t.date > _ts(pd.Timestamp(at) - pd.Timedelta(days=90))
    prior90 = ~last90 & (t.date > _ts(pd.Timestamp(at) - pd.Timedelta(days=180)))
    buy = t.amount > 0
    # filtered counts and sums: no cast or CASE a row (the same numbers: a count of the
    # rows, and a sum that only left out zeros)
    return t.group_by("customer_id").aggregate(
        purchases_365d=t.count(where=recent & buy).cast("float64"),
        spend_365d=t.amount.sum(where=recent).fill_null(0.0),
        purchases_90d=t.count(where=last90 & buy).cast("float64"),
        purchases_prior_90d=t.count(where=prior90 & buy).cast("float64"),
        last=t.date.max(),
    )


def interactions_view(it):
    """customer_id, opened_at, resolved_at (null when absent), category ('missing'
    when empty; 'all' without the column) of an interactions table."""
    cols = it.columns
    return it.select(
        customer_id=it.customer_id.cast("string"),
        opened_at=it.opened_at.cast("timestamp"),
        resolved_at=(it.resolved_at.cast("timestamp") if "resolved_at" in cols
                     else ibis.null().cast("timestamp")),
        category=(it.category.cast("string").fill_null("missing") if "category" in cols
                  else ibis.literal("all")),
    )


def _complaints(it, at):
    at_ = _ts(at)
    i = it.filter(it.opened_at <= at_)
    resolved_by = i.resolved_at.notnull() & (i.resolved_at <= at_)
    seconds = (i.resolved_at.epoch_seconds() - i.opened_at.epoch_seconds()).cast("float64")
    hours = seconds / 3600.0  # a float division on every backend (Spark reads 3600.0 as decimal)
    return i.mutate(resolved_by=resolved_by, hours=ibis.ifelse(resolved_by, hours, None))


def interaction_features(it, *, at):
    """Complaint history per customer as seen at ``at``: tickets opened, still
    unresolved at ``at``, opened in the last 90 days, median resolution time (hours)
    of those resolved by ``at``, and the last ticket's opening time."""
    i = _complaints(it, at)
    return i.group_by("customer_id").aggregate(
        complaints=i.count().cast("float64"),
        complaints_unresolved=(~i.resolved_by).cast("float64").sum(),
        complaints_90d=(i.opened_at > _ts(pd.Timestamp(at) - pd.Timedelta(days=90)))
        .cast("float64").sum(),
        resolution_hours_median=i.hours.median(),
        last=i.opened_at.max(),
    )


def complaint_categories(it, *, at):
    """Tickets per customer and category opened on or before ``at``, and in the last 90 days."""
    i = _complaints(it, at)
    recent = i.opened_at > _ts(pd.Timestamp(at) - pd.Timedelta(days=90))
    return i.group_by(["customer_id", "category"]).aggregate(
        n=i.count(), n_90d=recent.cast("int64").sum())
