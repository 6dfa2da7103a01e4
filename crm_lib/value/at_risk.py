"""Value at risk: the margin a company expects to lose to churn, on one value basis.

One basis for every value figure of a run (notebook 05's value of keeping a
customer, the value at risk and the total it is compared with): the discounted
margin stream of the plan over a horizon (``margin_rate`` x monthly charges,
with the observed monthly retention, Gupta, Lehmann & Stuart 2004) plus the
shop purchase CLV of notebook 03 when the run has it. The per-customer value
is computed by :func:`crm_lib.roi.economics.retention_value` (the formula lives
there once; ``roi.pipeline`` re-exports it); this module adds the expected loss
and who counts as at risk.

Value at risk = sum over active customers of P(churn within the horizon) x
value. Because 0 <= P <= 1 and values are >= 0 it never exceeds the total
value on the same basis. Customers *at risk* are the top share (default the
top decile) by expected loss, a relative cut that cannot be empty by
construction (a fixed probability such as 0.5 is empty whenever a calibrated
model never predicts that high).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ValueBasis:
    """How a customer's value is measured (stated on every page that uses it)."""

    margin_rate: float = 0.35
    horizon_months: int = 24
    annual_discount_rate: float = 0.10

    def describe(self, with_clv: bool) -> str:
        text = (f"discounted margin ({self.margin_rate:.0%} of monthly charges) over "
                f"{self.horizon_months} months at {self.annual_discount_rate:.0%} a year, "
                "with the observed monthly retention")
        return text + (" plus the shop purchase CLV of notebook 03" if with_clv else "")


def customer_values(customers: pd.DataFrame, clv: pd.DataFrame | None, as_of,
                    basis: ValueBasis = ValueBasis()) -> pd.Series:
    """Value of each customer on ``basis`` (index customer_id), as notebook 05 computes it."""
    from ..roi import claims, economics  # not roi.pipeline (scikit-learn, scipy.stats)

    retention = claims.observed_retention(customers, as_of, period_months=1)
    return economics.retention_value(customers, clv, margin_rate=basis.margin_rate,
                                     horizon_months=basis.horizon_months,
                                     annual_discount_rate=basis.annual_discount_rate,
                                     monthly_retention=retention)


@dataclass(frozen=True)
class AtRisk:
    """Expected loss from churn on one value basis, and the customers at risk."""

    value_at_risk: float
    total_value: float
    n_customers: int
    n_at_risk: int
    at_risk_value: float  # expected loss of the at-risk customers
    rule: str
    table: pd.DataFrame  # customer_id, churn_probability, value, expected_loss, at_risk

    @property
    def share_of_value(self) -> float:
        return self.value_at_risk / self.total_value if self.total_value > 0 else float("nan")


def value_at_risk(scores: pd.DataFrame, values: pd.Series, *, top_share: float = 0.10
                  ) -> AtRisk:
    """Value at risk of the scored customers; the top ``top_share`` by expected loss at risk.

    ``scores`` has customer_id and churn_probability (notebook 04); ``values``
    is :func:`customer_values` (customers without a value get 0: they add no
    loss and no value).
    """
    if not 0 < top_share <= 1:
        raise ValueError(f"top_share must be in (0, 1], got {top_share}")
    for col in ("customer_id", "churn_probability"):
        if col not in scores.columns:
            raise ValueError(f"scores: column '{col}' is needed for the value at risk")
    t = scores[["customer_id", "churn_probability"]].copy()
    t["customer_id"] = t["customer_id"].astype(str)
    v = values.copy()
    v.index = v.index.astype(str)
    t["value"] = t["customer_id"].map(v).fillna(0.0).clip(lower=0).astype(float)
    t["expected_loss"] = t["churn_probability"].clip(0, 1) * t["value"]
    n_risk = max(1, int(np.ceil(top_share * len(t)))) if len(t) else 0
    order = t["expected_loss"].rank(method="first", ascending=False)
    t["at_risk"] = order <= n_risk
    rule = (f"the {top_share:.0%} of active customers with the highest expected loss "
            "(churn probability x value)")
    return AtRisk(float(t["expected_loss"].sum()), float(t["value"].sum()), len(t), n_risk,
                  float(t.loc[t["at_risk"], "expected_loss"].sum()), rule, t)
