"""Campaign economics: expected profit of contacting a customer, profit curves.

The retention-campaign profit model of Neslin et al. (2006, JMR 43(2)) and
Verbraken, Verbeke & Baesens (2013): contacting customer ``i`` costs
``contact_cost``; a churner accepts the offer with probability
``accept_rate`` and is then retained, worth ``value_i``; whoever accepts
(churners with ``accept_rate``, non-churners with ``accept_rate_nonchurner``,
1 in Verbraken's model) costs ``offer_cost``::

    E[profit_i] = p_i * accept_rate * value_i
                  - offer_cost * P(accept_i) - contact_cost
    P(accept_i) = p_i * accept_rate + (1 - p_i) * accept_rate_nonchurner

With an uplift estimate (a randomised pilot) the benefit term is replaced by
the measured reduction in churn probability: ``uplift_i * value_i``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..value.lifetime import retained_value  # re-exported too: one CLV formula

__all__ = ["CampaignParams", "expected_profit", "incremental_profit", "contact_cost_expected",
           "profit_curve", "optimal_depth", "Depth", "break_even_offer_cost",
           "retained_value", "plan_margin", "retention_value"]


@dataclass(frozen=True)
class CampaignParams:
    """The economics of one retention offer (currency units per contacted customer)."""

    offer_cost: float = 10.0  # cost of the incentive, paid when accepted
    contact_cost: float = 1.0  # cost of one contact, always paid
    accept_rate: float = 0.3  # P(accept | would churn): a contacted churner takes the offer
    accept_rate_nonchurner: float = 1.0  # P(accept | would stay) (Verbraken: 1)

    def __post_init__(self):
        for name in ("accept_rate", "accept_rate_nonchurner"):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                raise ValueError(f"{name} must be a probability in [0, 1], got {v}")
        for name in ("offer_cost", "contact_cost"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")


def _arr(x, n: int | None = None, name: str = "value") -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if n is not None:
        a = np.broadcast_to(a, (n,)).astype(float)
    if np.isnan(a).any():
        raise ValueError(f"{name} has missing values")
    return a


def contact_cost_expected(p_churn, params: CampaignParams) -> np.ndarray:
    """Expected spend per contacted customer: offer cost x P(accept) + contact cost."""
    p = _arr(p_churn, name="p_churn")
    p_accept = p * params.accept_rate + (1 - p) * params.accept_rate_nonchurner
    return params.offer_cost * p_accept + params.contact_cost


def expected_profit(p_churn, value, params: CampaignParams = CampaignParams()) -> np.ndarray:
    """Expected profit of contacting each customer (Neslin et al. 2006; see module docstring)."""
    p = _arr(p_churn, name="p_churn")
    if ((p < 0) | (p > 1)).any():
        raise ValueError("p_churn must be probabilities in [0, 1]")
    v = _arr(value, len(p), "value")
    return p * params.accept_rate * v - contact_cost_expected(p, params)


def incremental_profit(uplift, value, cost) -> np.ndarray:
    """Expected incremental profit of contacting: ``uplift_i * value_i - cost_i``.

    ``uplift``: reduction in churn probability caused by the contact (from a
    randomised pilot; negative for do-not-disturbs), ``cost``: expected spend.
    """
    u = _arr(uplift, name="uplift")
    return u * _arr(value, len(u), "value") - _arr(cost, len(u), "cost")


def profit_curve(score, profit, cost, *, realised=None) -> pd.DataFrame:
    """Cumulative profit of contacting customers in decreasing ``score`` order.

    One row per targeting depth (0 = nobody): ``n``, ``fraction``,
    ``expected_profit`` and ``spend`` (cumulative), ``realised_profit`` when
    per-customer ``realised`` profits (e.g. from known outcomes) are given.
    """
    s = _arr(score, name="score")
    order = np.argsort(-s, kind="mergesort")
    prof = _arr(profit, len(s), "profit")[order]
    out = pd.DataFrame({
        "n": np.arange(len(s) + 1),
        "fraction": np.arange(len(s) + 1) / max(len(s), 1),
        "score": np.r_[np.inf, s[order]],
        "expected_profit": np.r_[0.0, np.cumsum(prof)],
        "spend": np.r_[0.0, np.cumsum(_arr(cost, len(s), "cost")[order])],
    })
    if realised is not None:
        out["realised_profit"] = np.r_[0.0, np.cumsum(_arr(realised, len(s), "realised")[order])]
    return out


@dataclass(frozen=True)
class Depth:
    """The profit-maximising targeting depth of a profit curve."""

    n: int
    fraction: float
    profit: float
    spend: float
    score_cutoff: float


def optimal_depth(curve: pd.DataFrame, column: str = "expected_profit") -> Depth:
    """The depth with the largest cumulative ``column`` profit (0 = contact nobody)."""
    i = int(np.argmax(curve[column].to_numpy()))
    r = curve.iloc[i]
    return Depth(int(r["n"]), float(r["fraction"]), float(r[column]), float(r["spend"]),
                 float(r["score"]))


def break_even_offer_cost(p_churn, value, params: CampaignParams = CampaignParams(), *,
                          score=None) -> pd.DataFrame:
    """Largest offer cost at which contacting the top ``n`` customers still breaks even.

    For each depth ``n`` (customers in decreasing ``score`` order, default
    ``p_churn``), solves ``sum(p a v) - c * sum(P(accept)) - n * contact = 0``
    for the offer cost ``c``. Columns ``n``, ``fraction``, ``break_even_offer_cost``.
    """
    p = _arr(p_churn, name="p_churn")
    v = _arr(value, len(p), "value")
    order = np.argsort(-(p if score is None else _arr(score, len(p), "score")), kind="mergesort")
    p, v = p[order], v[order]
    benefit = np.cumsum(p * params.accept_rate * v)
    accept = np.cumsum(p * params.accept_rate + (1 - p) * params.accept_rate_nonchurner)
    n = np.arange(1, len(p) + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = (benefit - n * params.contact_cost) / accept
    return pd.DataFrame({"n": n, "fraction": n / len(p), "break_even_offer_cost": c})


def plan_margin(customers: pd.DataFrame, *, margin_rate: float,
                default_monthly_charges: float = 50.0) -> pd.Series:
    """Monthly plan margin per customer (amount): ``margin_rate`` x ``monthly_charges``
    (``default_monthly_charges`` where the column or a value is missing)."""
    c = customers.set_index("customer_id")
    charges = pd.to_numeric(c["monthly_charges"], errors="coerce") \
        if "monthly_charges" in c else pd.Series(np.nan, index=c.index)
    return (margin_rate * charges.fillna(default_monthly_charges).astype(float)).rename(
        "monthly_margin")


def retention_value(customers: pd.DataFrame, clv: pd.DataFrame | None = None, *,
                    margin_rate: float, horizon_months: int, annual_discount_rate: float,
                    monthly_retention: float = 1.0, default_monthly_charges: float = 50.0
                    ) -> pd.Series:
    """Value of keeping each customer: discounted plan margin over a horizon + shop CLV.

    :func:`plan_margin` through :func:`crm_lib.value.lifetime.retained_value` (the
    one CLV formula, monthly), plus the customer's shop CLV (notebook 03) when given.
    """
    m = plan_margin(customers, margin_rate=margin_rate,
                    default_monthly_charges=default_monthly_charges)
    extra = 0.0
    if clv is not None:
        extra = clv.set_index("customer_id")["clv"].reindex(m.index).fillna(0.0).clip(lower=0)
        extra = extra.to_numpy(dtype=float)
    v = retained_value(m.to_numpy(), horizon_months=horizon_months,
                       annual_discount_rate=annual_discount_rate,
                       monthly_retention=monthly_retention, extra_value=extra)
    return pd.Series(v, index=m.index, name="retention_value")
