"""Concentration of customer value: Lorenz curve, Gini coefficient, top-20% share.

The "80/20 rule" (Pareto principle, Juran 1951) claims about 20% of
customers bring about 80% of profit. Here it is computed, not assumed:

- Lorenz curve (Lorenz 1905): customers sorted from smallest to largest,
  cumulative share of customers against cumulative share of value;
- Gini coefficient: twice the area between the diagonal and the Lorenz
  curve, ``G = 2 sum_i i x_(i) / (n sum x) - (n + 1) / n`` (0 = everyone
  equal, 1 = one customer has everything);
- top-share: the share of value from the top ``q`` of customers.

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
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise ValueError("concentration needs at least one customer value")
    return v


def lorenz_curve(values: object) -> pd.DataFrame:
    """Lorenz curve points from (0, 0): customer_share, value_share (ascending order)."""
    v = np.sort(_values(values))
    cum = np.concatenate([[0.0], np.cumsum(v)])
    total = cum[-1] if cum[-1] != 0 else 1.0
    return pd.DataFrame({"customer_share": np.arange(v.size + 1) / v.size,
                         "value_share": cum / total})


def gini(values: object) -> float:
    """Gini coefficient of customer values (Lorenz-curve definition)."""
    v = np.sort(_values(values))
    n, total = v.size, v.sum()
    if total == 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float(2 * np.sum(i * v) / (n * total) - (n + 1) / n)


def top_share(values: object, top: float = 0.2) -> float:
    """Share of total value from the top ``top`` fraction of customers (at least one)."""
    v = np.sort(_values(values))[::-1]
    k = max(int(np.ceil(top * v.size)), 1)
    total = v.sum()
    return float(v[:k].sum() / total) if total != 0 else float("nan")


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

    def table(self) -> pd.DataFrame:
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


def customer_profit(revenue: object, orders: object, margin: float = 0.3,
                    cost_per_order: float = 0.0) -> np.ndarray:
    """Profit per customer: margin x revenue - cost to serve per order x orders."""
    return margin * np.asarray(revenue, float) - cost_per_order * np.asarray(orders, float)


def concentration(revenue: object, orders: object | None = None, *, margin: float = 0.3,
                  cost_per_order: float = 0.0) -> Concentration:
    """Gini, top-20% share and their profit counterparts (see module docstring)."""
    rev = _values(revenue)
    orders_arr = np.zeros_like(rev) if orders is None else np.asarray(orders, float)
    profit = customer_profit(rev, orders_arr, margin, cost_per_order)
    whale = whale_curve(profit)
    return Concentration(
        customers=int(rev.size), gini=gini(rev), top20_share=top_share(rev, 0.2),
        share_for_80pct=share_needed(rev, 0.8), profit_gini=gini(profit),
        profit_top20_share=top_share(profit, 0.2),
        unprofitable_share=float(np.mean(profit < 0)),
        peak_profit_share=float(whale["profit_share"].max()))


def concentration_intervals(values: object, *, n_boot: int = 200, level: float = 0.95,
                            seed: int = 0) -> pd.DataFrame:
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
    k = max(int(np.ceil(0.2 * n)), 1)
    tops = sample[:, n - k:].sum(axis=1) / totals
    a = (1 - level) / 2
    pct = f"{round(level * 100)}%"
    return pd.DataFrame({
        "estimate": [gini(v), top_share(v, 0.2)],
        f"lower_{pct}": [np.quantile(ginis, a), np.quantile(tops, a)],
        f"upper_{pct}": [np.quantile(ginis, 1 - a), np.quantile(tops, 1 - a)],
    }, index=pd.Index(["Gini coefficient", "top-20% share"], name="statistic"))
