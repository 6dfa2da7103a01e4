"""From a transaction log to the per-customer summaries the value models use.

The buy-till-you-die models (BG/NBD, Gamma-Gamma) work on three numbers per
customer, counted the way Fader, Hardie & Lee (2005, "Counting your
customers the easy way", Marketing Science 24(2)) count them on CDNOW:

- a *transaction* is a purchase day: all rows of a customer on the same
  calendar day are one transaction, their amounts summed (``grain="day"``).
  Data with real clock times (not all at midnight) are measured exactly
  instead (``grain="exact"``: rows with the same timestamp are one
  transaction): rounding to days would bias the rate parameter (on the demo
  company alpha by about 5%). ``grain="auto"`` (default) picks day when every
  timestamp is at midnight (CDNOW) and exact otherwise;
- ``frequency`` (x) is the number of *repeat* transactions (all but the first);
- ``recency`` (t_x) is the time of the last transaction, measured from the
  first one; ``T`` is the time from the first transaction to the end of the
  calibration period; both in the chosen time unit (weeks by default);
- ``monetary`` is the mean value of the repeat transactions (0 without any);
  the first purchase is left out, as in the Gamma-Gamma note of Fader &
  Hardie (2013).

Refunds (negative amounts) are handled explicitly: they are never purchases
and never lower a transaction's value in the models; their total per
customer is reported in ``refunds`` so that value figures can be shown gross
and net. Rows with a zero amount are purchases worth 0 (CDNOW has a few
free orders, and FHL count them). The per-customer aggregation runs on the
current engine (:mod:`crm_lib.engine`: DuckDB by default, or Spark), so the
log may be a Parquet folder far larger than memory; ``engine="pandas"`` runs
the in-memory reference code. Money is summed with DuckDB's ``FSUM`` (compensated,
exactly rounded in practice) rather than ``SUM``: a parallel ``SUM`` of doubles adds
in thread order, so the same log gave revenues differing in the last bits from run
to run.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from .. import engine as _engine

#: Length of one time unit in days.
TIME_UNITS: dict[str, float] = {"W": 7.0, "D": 1.0}


def unit_days(time_unit: str) -> float:
    """Days in one ``time_unit`` ('W' weeks or 'D' days)."""
    try:
        return TIME_UNITS[str(time_unit).upper()]
    except KeyError:
        raise ValueError(f"time_unit must be one of {', '.join(TIME_UNITS)}; "
                         f"got {time_unit!r}") from None


def check_transactions(transactions: pd.DataFrame) -> pd.DataFrame:
    """Validate and narrow a transactions table to customer_id, date (datetime), amount.

    Raises ``ValueError`` naming the table, the column and the broken rule.
    """
    if not isinstance(transactions, pd.DataFrame):
        raise TypeError("transactions must be a pandas DataFrame")
    missing = [c for c in ("customer_id", "date", "amount") if c not in transactions.columns]
    if missing:
        raise ValueError(f"table transactions: missing required column(s) {', '.join(missing)} "
                         "(rule: transactions need customer_id, date and amount)")
    out = pd.DataFrame({"customer_id": transactions["customer_id"]})
    if out["customer_id"].isna().any():
        raise ValueError("table transactions, column customer_id: "
                         f"{int(out['customer_id'].isna().sum())} empty value(s) (rule: not empty)")
    out["customer_id"] = out["customer_id"].astype(str)
    date = pd.to_datetime(transactions["date"], errors="coerce")
    bad = date.isna() & transactions["date"].notna()
    if bad.any() or date.isna().any():
        raise ValueError("table transactions, column date: "
                         f"{int(date.isna().sum())} value(s) missing or not a date "
                         "(rule: a timestamp)")
    out["date"] = date.astype("datetime64[us]")
    amount = pd.to_numeric(transactions["amount"], errors="coerce")
    if amount.isna().any():
        raise ValueError("table transactions, column amount: "
                         f"{int(amount.isna().sum())} value(s) missing or not a number "
                         "(rule: a number; negative = refund)")
    out["amount"] = amount.astype("float64").to_numpy()
    return out.reset_index(drop=True)


def resolve_grain(transactions: pd.DataFrame, grain: str = "auto") -> str:
    """'day' or 'exact': ``auto`` is day when all timestamps are at midnight."""
    if grain not in ("auto", "day", "exact"):
        raise ValueError(f"grain must be 'auto', 'day' or 'exact'; got {grain!r}")
    if grain != "auto":
        return grain
    d = pd.to_datetime(transactions["date"], errors="coerce")
    return "day" if bool((d.dropna() == d.dropna().dt.normalize()).all()) else "exact"


def purchase_days(transactions: pd.DataFrame, *, end: object = None,
                  grain: str = "auto") -> pd.DataFrame:
    """One row per customer and purchase occasion (FHL 2005 counting, see module doc).

    An occasion is a calendar day (``grain="day"``) or a distinct timestamp
    (``grain="exact"``). Columns: customer_id, day (the occasion's time), spend (sum of non-negative amounts that day), rows
    (non-negative rows that day), refund (sum of refunds that day, as a positive
    number; refund-only days are kept with spend 0 and rows 0). ``end``
    drops later rows (with day grain the whole day of ``end`` is kept; with
    exact grain rows up to the ``end`` timestamp itself).
    """
    tx = check_transactions(transactions)
    grain = resolve_grain(tx, grain)
    occ = "CAST(CAST(date AS DATE) AS TIMESTAMP)" if grain == "day" else "date"
    where = ""
    if end is not None:
        where = f"WHERE {occ} <= TIMESTAMP '{pd.Timestamp(end)}'"
    con = duckdb.connect(config={"threads": 1})  # sums in one order: same bits every run
    try:
        con.register("tx", tx)
        out = con.sql(f"""
            SELECT customer_id, {occ} AS day,
                   FSUM(CASE WHEN amount >= 0 THEN amount ELSE 0 END) AS spend,
                   CAST(SUM(CASE WHEN amount >= 0 THEN 1 ELSE 0 END) AS BIGINT) AS rows,
                   FSUM(CASE WHEN amount < 0 THEN -amount ELSE 0 END) AS refund
            FROM tx {where}
            GROUP BY 1, 2 ORDER BY 1, 2
        """).df()
    finally:
        con.close()
    out["day"] = pd.to_datetime(out["day"])
    return out


def _reference_aggregates(transactions: pd.DataFrame, calibration_end: object,
                          observation_end: object, grain: str
                          ) -> tuple[pd.DataFrame, str, pd.Timestamp, pd.Timestamp]:
    """The per-customer aggregates of :func:`rfm_summary` computed in memory (the
    reference implementation the engines are tested against)."""
    tx = check_transactions(transactions)
    grain = resolve_grain(tx, grain)
    cal = pd.Timestamp(calibration_end)
    obs = pd.Timestamp(observation_end) if observation_end is not None else cal
    if grain == "day":
        cal, obs = cal.normalize(), obs.normalize()
    if obs < cal:
        raise ValueError(f"observation_end {obs} is before calibration_end {cal}")
    days = purchase_days(tx, end=obs, grain=grain)
    c = f"TIMESTAMP '{cal}'"
    con = duckdb.connect(config={"threads": 1})  # sums in one order: same bits every run
    try:
        con.register("d", days)
        out = con.sql(f"""
            WITH p AS (SELECT * FROM d WHERE rows > 0),
            f AS (SELECT customer_id, MIN(day) AS first_day FROM p GROUP BY 1
                  HAVING MIN(day) <= {c}),
            cc AS (
              SELECT p.customer_id, f.first_day,
                     COUNT(*) FILTER (WHERE p.day <= {c}) - 1 AS frequency,
                     MAX(p.day) FILTER (WHERE p.day <= {c}) AS last_day,
                     FSUM(p.spend) FILTER (WHERE p.day <= {c}) AS revenue,
                     COALESCE(FSUM(p.spend) FILTER (WHERE p.day <= {c}
                                                   AND p.day > f.first_day), 0) AS repeat_spend,
                     COUNT(*) FILTER (WHERE p.day > {c}) AS frequency_holdout,
                     COALESCE(FSUM(p.spend) FILTER (WHERE p.day > {c}), 0) AS spend_holdout
              FROM p JOIN f USING (customer_id) GROUP BY 1, 2
            ),
            r AS (SELECT customer_id, FSUM(refund) AS refunds FROM d
                  WHERE day <= {c} GROUP BY 1)
            SELECT cc.*, COALESCE(r.refunds, 0) AS refunds
            FROM cc LEFT JOIN r USING (customer_id) ORDER BY customer_id
        """).df()
    finally:
        con.close()
    return out, grain, cal, obs


def rfm_summary(transactions: pd.DataFrame, *, calibration_end: object,
                observation_end: object = None, time_unit: str = "W",
                grain: str = "auto") -> pd.DataFrame:
    """Per-customer frequency, recency, T and monetary value (FHL 2005 / FH 2013).

    Customers whose first purchase falls after ``calibration_end`` are left
    out (they did not exist yet). With ``observation_end`` the holdout period
    (calibration_end, observation_end] is summarised too: ``frequency_holdout``
    (purchase occasions), ``spend_holdout`` and ``duration_holdout`` (its
    length). Dates given as days mean: with day grain, the whole day is in;
    with exact grain, the period ends at that timestamp (midnight).

    Returns one row per customer: customer_id, frequency, recency, T,
    monetary, first_purchase, last_purchase, revenue (all non-negative spend
    in the calibration period, first purchase included), refunds, and the
    holdout columns when asked. The occasion grain ``auto`` resolves to is
    :func:`resolve_grain` of the same transactions.
    """
    days_per_unit = unit_days(time_unit)
    if _engine.uses_engine(transactions):
        out, grain, cal, obs = _engine.bgnbd_aggregates(
            transactions, calibration_end=calibration_end, observation_end=observation_end,
            grain=grain)
    else:
        out, grain, cal, obs = _reference_aggregates(transactions, calibration_end,
                                                     observation_end, grain)
    first = pd.to_datetime(out["first_day"])
    last = pd.to_datetime(out["last_day"])
    freq = out["frequency"].astype("int64")
    unit_s = 86400.0 * days_per_unit
    res = pd.DataFrame({
        "customer_id": out["customer_id"].astype(str),
        "frequency": freq,
        "recency": (last - first).dt.total_seconds().to_numpy() / unit_s,
        "T": (cal - first).dt.total_seconds().to_numpy() / unit_s,
        "monetary": np.where(freq > 0, out["repeat_spend"] / freq.clip(lower=1), 0.0),
        "first_purchase": first,
        "last_purchase": last,
        "revenue": out["revenue"].astype(float),
        "refunds": out["refunds"].astype(float),
    })
    if observation_end is not None:
        res["frequency_holdout"] = out["frequency_holdout"].astype("int64")
        res["spend_holdout"] = out["spend_holdout"].astype(float)
        res["duration_holdout"] = (obs - cal).total_seconds() / unit_s
    return res.reset_index(drop=True)


def transaction_overview(transactions: pd.DataFrame, *, as_of: object = None,
                         grain: str = "auto") -> pd.DataFrame:
    """What the log holds: rows, purchases, refunds, customers, dates, purchase occasions."""
    tx = check_transactions(transactions)
    if as_of is not None:
        tx = tx[tx["date"] <= pd.Timestamp(as_of) + pd.Timedelta(days=1)]
    g = resolve_grain(tx, grain)
    occ = purchase_days(tx, end=as_of, grain=g)
    buys = tx["amount"] >= 0
    gross = float(tx.loc[buys, "amount"].sum())
    rows = {
        "rows": len(tx),
        "purchase rows (amount >= 0)": int(buys.sum()),
        "refund rows (amount < 0)": int((~buys).sum()),
        "refunds as a share of gross spend": abs(float(tx.loc[~buys, "amount"].sum())) / gross
        if gross else 0.0,
        "customers with a purchase": int(occ.loc[occ["rows"] > 0, "customer_id"].nunique()),
        "purchase occasions (FHL transactions)": int((occ["rows"] > 0).sum()),
        "occasion grain": "calendar day" if g == "day" else "exact timestamp",
        "first date": str(tx["date"].min().date()),
        "last date": str(tx["date"].max().date()),
    }
    return pd.DataFrame({"value": list(rows.values())}, index=list(rows))
