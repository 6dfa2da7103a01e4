"""Concentration of customer value: Lorenz curve, Gini coefficient, top-20% share.

The "80/20 rule" (Pareto principle, Juran 1951) claims about 20% of
customers bring about 80% of profit. Here it is computed, not assumed:

- Lorenz curve (Lorenz 1905): customers sorted from smallest to largest,
  cumulative share of customers against cumulative share of value;
- Gini coefficient: twice the area between the diagonal and the Lorenz
  curve, ``G = 2 sum_i i x_(i) / (n sum x) - (n + 1) / n`` (0 = everyone
  equal, 1 = one customer has everything);
- top-share: the share of value from the top ``q`` of customers, ``1 - L(1 - q)``
  on the piecewise-linear Lorenz curve (a fractional customer counts pro rata).

This module is the one home of these formulas: ``crm_lib.concepts`` (notebook
00) and the executive summary call them (docs/CONVENTIONS.md).

The margin variant turns revenue into profit, ``margin * revenue -
cost_per_order * orders``: with a cost to serve some customers lose money,
the top 20% can bring more than 100% of profit, and the cumulative profit
curve (the "whale curve", Kaplan & Narayanan 2001) rises above 100% before
the unprofitable tail pulls it back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd


def _values(values: object) -> np.ndarray:
    """Finite values with a positive total (negative profits are allowed)."""
    v = np.asarray(values, dtype=float).ravel()
    if v.size == 0:
        raise ValueError("concentration needs at least one customer value")
    if not np.isfinite(v).all():
        raise ValueError(f"concentration: {int((~np.isfinite(v)).sum())} value(s) are missing or "
                         "infinite (rule: every customer has a finite value)")
    if v.sum() <= 0:
        raise ValueError("concentration: the values must have a positive total")
    return v


def lorenz_curve(values: object) -> pd.DataFrame:
    """Lorenz curve (Lorenz 1905) from (0, 0): customer_share, value_share, smallest first."""
    v = np.sort(_values(values))
    cum = np.concatenate([[0.0], np.cumsum(v)]) / v.sum()
    return pd.DataFrame({"customer_share": np.arange(v.size + 1) / v.size, "value_share": cum})


def gini(values: object) -> float:
    """Gini coefficient: twice the area between the diagonal and the Lorenz curve.

    ``G = 2 sum_i i x_(i) / (n sum x) - (n + 1) / n`` for values sorted ascending.
    """
    v = np.sort(_values(values))
    n = v.size
    i = np.arange(1, n + 1)
    return float(2 * np.sum(i * v) / (n * v.sum()) - (n + 1) / n)


def _top_share_desc(desc: np.ndarray, top: float) -> np.ndarray:
    """Top-``top`` share of rows of values sorted descending (last axis): ``1 - L(1 - top)``
    on the piecewise-linear Lorenz curve, so a fractional customer counts pro rata."""
    n = desc.shape[-1]
    k = top * n
    whole = int(np.floor(k))
    part = desc[..., :whole].sum(axis=-1)
    if whole < n:
        part = part + (k - whole) * desc[..., whole]
    return part / desc.sum(axis=-1)


def top_share(values: object, top: float = 0.2) -> float:
    """Share of total value held by the most valuable ``top`` fraction of customers."""
    if not 0 < top <= 1:
        raise ValueError(f"top={top!r} must lie in (0, 1]")
    return float(_top_share_desc(np.sort(_values(values))[::-1], top))


def share_needed(values: object, value_share: float = 0.8) -> float:
    """Smallest share of customers (largest first) that brings ``value_share`` of value."""
    v = np.sort(_values(values))[::-1]
    cum = np.cumsum(v) / v.sum()
    return float((np.searchsorted(cum, value_share) + 1) / v.size)


def whale_curve(profit: object) -> pd.DataFrame:
    """Cumulative profit share with customers sorted from most to least profitable."""
    v = np.sort(_values(profit))[::-1]
    cum = np.concatenate([[0.0], np.cumsum(v)])
    return pd.DataFrame({"customer_share": np.arange(v.size + 1) / v.size,
                         "profit_share": cum / v.sum()})


@dataclass
class Concentration:
    """Headline concentration figures, set against the 80/20 claim."""

    customers: int
    gini: float
    top20_share: float
    share_for_80pct: float
    profit_gini: float
    profit_top20_share: float
    unprofitable_share: float
    peak_profit_share: float

    def metrics(self) -> dict[str, float]:
        """The figures notebook 03 records (registry keys ``value.*``)."""
        return {"value.gini": self.gini, "value.top20_share": self.top20_share}

    def to_frame(self) -> pd.DataFrame:
        labels = {
            "customers": "customers",
            "gini": "Gini coefficient of revenue",
            "top20_share": "revenue share of the top 20% (80/20 claim: 0.80)",
            "share_for_80pct": "share of customers that brings 80% of revenue (claim: 0.20)",
            "profit_gini": "Gini coefficient of profit",
            "profit_top20_share": "profit share of the top 20%",
            "unprofitable_share": "share of customers with negative profit",
            "peak_profit_share": "peak of the whale curve (profit share)",
        }
        d = asdict(self)
        return pd.DataFrame({"figure": [labels[k] for k in d], "value": list(d.values())})


def net_spend(rfm: pd.DataFrame) -> pd.Series:
    """Net revenue per customer: total spend minus refunds, floored at 0 (from
    :func:`crm_lib.value.rfm_table`), the value whose concentration notebook 03 measures."""
    return (rfm["total_spend"] - rfm["refunds"]).clip(lower=0).rename("net_spend")


def customer_profit(revenue: object, orders: object, margin_rate: float = 0.3,
                    cost_per_order: float = 0.0) -> np.ndarray:
    """Profit per customer: margin rate x revenue - cost to serve per order x orders."""
    return margin_rate * np.asarray(revenue, float) - cost_per_order * np.asarray(orders, float)


def concentration_summary(revenue: object, orders: object | None = None, *,
                          margin_rate: float = 0.3, cost_per_order: float = 0.0) -> Concentration:
    """Gini, top-20% share and their profit counterparts (see module docstring)."""
    rev = _values(revenue)
    orders_arr = np.zeros_like(rev) if orders is None else np.asarray(orders, float)
    profit = customer_profit(rev, orders_arr, margin_rate, cost_per_order)
    positive = profit.sum() > 0  # with no total profit, profit shares are undefined
    nan = float("nan")
    return Concentration(
        customers=int(rev.size), gini=gini(rev), top20_share=top_share(rev, 0.2),
        share_for_80pct=share_needed(rev, 0.8),
        profit_gini=gini(profit) if positive else nan,
        profit_top20_share=top_share(profit, 0.2) if positive else nan,
        unprofitable_share=float(np.mean(profit < 0)),
        peak_profit_share=float(whale_curve(profit)["profit_share"].max()) if positive else nan)


def concentration_intervals(values: object, *, n_boot: int = 200, level: float = 0.95,
                            seed: int = 42) -> pd.DataFrame:
    """Bootstrap percentile intervals (Efron 1979) for the Gini and the top-20% share.

    Customers are resampled with replacement ``n_boot`` times (vectorised:
    one sorted resample matrix).
    """
    v = _values(values)
    rng = np.random.default_rng(seed)
    n = v.size
    sample = np.sort(v[rng.integers(0, n, size=(n_boot, n))], axis=1)
    totals = sample.sum(axis=1)
    i = np.arange(1, n + 1)
    ginis = 2 * (sample * i).sum(axis=1) / (n * totals) - (n + 1) / n  # no BLAS: see _mle._dot
    tops = _top_share_desc(sample[:, ::-1], 0.2)  # the same formula as top_share
    a = (1 - level) / 2
    pct = f"{round(level * 100)}%"
    return pd.DataFrame({
        "estimate": [gini(v), top_share(v, 0.2)],
        f"lower_{pct}": [np.quantile(ginis, a), np.quantile(tops, a)],
        f"upper_{pct}": [np.quantile(ginis, 1 - a), np.quantile(tops, 1 - a)],
    }, index=pd.Index(["Gini coefficient", "top-20% share"], name="statistic"))
