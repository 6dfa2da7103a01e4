"""The "retention pays" claims (concept 2 of docs/teaching.md) recomputed as sensitivities.

The sources quote Reichheld & Sasser (1990, HBR 68(5)): cutting defections
by 5 points raises profits by 25-85%; acquiring a customer costs about five
times as much as keeping one; a satisfied customer brings about 8 potential
deals and a dissatisfied one sways about 25 people. None of these is a
fact about *this* company. Each function here turns one claim into a
formula whose inputs come from the data (margins, retention, the pilot's
cost per saved customer) or are explicit parameters, so a notebook can show
how the answer moves with the assumptions.

The CLV, retention-lift and word-of-mouth formulas themselves live in
:mod:`crm_lib.value.lifetime` (re-exported here); this module adds what the
claims need on top: retention measured from the customer table, the cost of
saving one customer and its ratio to the acquisition cost, in words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..churn.definition import DAYS_PER_MONTH, prepare_customers
from ..value.lifetime import (
    RetentionClaim,
    RetentionLift,
    clv,
    retention_claim,
    retention_lift,
    retention_lift_grid,
    word_of_mouth_grid,
    word_of_mouth_value,
)

__all__ = ["observed_retention", "clv", "retention_lift", "retention_claim", "RetentionClaim",
           "retention_lift_grid", "RetentionLift", "cost_per_saved_customer", "SavingCost",
           "saving_cost", "acquisition_vs_retention", "word_of_mouth_value",
           "word_of_mouth_grid", "TEXTBOOK_COST_RATIO"]

#: The ratio of acquisition to retention cost the sources cite ("five times").
TEXTBOOK_COST_RATIO = 5.0


def observed_retention(customers: pd.DataFrame, as_of, *, period_months: float = 12.0,
                       exclude_reasons: tuple[str, ...] = ()) -> float:
    """Retention per period from the customer table: ``exp(-h * period)``.

    ``h`` = churn events / months at risk, every customer contributing the
    months from signup to their end or ``as_of`` (the constant-hazard,
    exponential estimate). Ends after ``as_of`` have not happened yet
    (:func:`crm_lib.churn.definition.prepare_customers`, the one definition of
    churn at a date). ``exclude_reasons`` drops churn events of those reasons
    from the numerator (e.g. natural churn no campaign can prevent).
    """
    as_of = pd.Timestamp(as_of)
    c = prepare_customers(customers, as_of)
    c = c[c["signup_date"] <= as_of]
    stop = c["end_date"].fillna(as_of)
    months = ((stop - c["signup_date"]).dt.days / DAYS_PER_MONTH).clip(lower=0)
    events = c["churned"].to_numpy(dtype=bool)
    if exclude_reasons and "churn_reason" in c:
        events &= ~c["churn_reason"].astype("string").isin(exclude_reasons).fillna(False)
    exposure = float(months.sum())
    if exposure <= 0:
        raise ValueError("customers: no months at risk (check signup_date and as_of)")
    return float(np.exp(-events.sum() / exposure * period_months))


def cost_per_saved_customer(spend_per_contact: float, uplift: float) -> float:
    """Spend per customer kept by a campaign: spend / churn reduction (the one formula).

    Per contact (``uplift``: the reduction in churn probability per contact,
    e.g. minus the pilot's ATE) or in total (spend of a campaign / customers it
    keeps). Infinite when the campaign saves nobody.
    """
    return float(spend_per_contact / uplift) if uplift > 0 else float("inf")


@dataclass(frozen=True)
class SavingCost:
    """What saving one customer costs, set against the cost of acquiring one."""

    spend: float  # expected spend of the campaign
    saved: float  # expected customers kept (sum of uplifts)
    cost_per_saved_customer: float
    acquisition_cost: float
    basis: str

    @property
    def ratio(self) -> float:
        """Acquisition cost / cost per saved customer (the sources claim about 5)."""
        c = self.cost_per_saved_customer
        return float(self.acquisition_cost / c) if np.isfinite(c) and c > 0 else 0.0

    def sentence(self) -> str:
        """The comparison in words, generated from the numbers."""
        if not np.isfinite(self.cost_per_saved_customer):
            return ("the campaign is not expected to save anyone, so saving a customer has no "
                    "finite cost to compare with acquiring one")
        r = self.ratio
        side = ("below" if r < TEXTBOOK_COST_RATIO * 0.9 else
                "above" if r > TEXTBOOK_COST_RATIO * 1.1 else "in line with")
        return (f"saving a customer costs {self.cost_per_saved_customer:,.0f}; acquiring one "
                f"costs {self.acquisition_cost:,.0f}, {r:.1f}x as much: {side} the "
                f"{TEXTBOOK_COST_RATIO:.0f}x the textbooks cite")

    def metrics(self) -> dict[str, float | None]:
        c = self.cost_per_saved_customer
        return {"roi.cost_per_saved_customer": float(c) if np.isfinite(c) else None,
                "roi.acquisition_to_saving_cost_ratio": self.ratio if np.isfinite(c) else None}


def saving_cost(plan: pd.DataFrame, *, acquisition_cost: float) -> SavingCost:
    """Cost per saved customer of the planned campaign: its expected spend over the
    customers it is expected to keep (:func:`cost_per_saved_customer` of the selected
    customers' summed cost and uplift; all candidates when nobody is selected)."""
    sel = plan[plan["selected"]] if "selected" in plan and plan["selected"].any() else plan
    spend, saved = float(sel["cost"].sum()), float(sel["uplift"].clip(lower=0).sum())
    basis = ("the selected customers of the plan" if "selected" in plan and plan["selected"].any()
             else "all candidates (nobody selected)")
    return SavingCost(spend, saved, cost_per_saved_customer(spend, saved),
                      float(acquisition_cost), basis)


def acquisition_vs_retention(acquisition_costs, cost_per_save: float) -> pd.DataFrame:
    """How many times more expensive winning a customer is than keeping one, per assumed
    acquisition cost (the sources claim about 5x)."""
    a = np.asarray(acquisition_costs, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(np.isfinite(cost_per_save) & (cost_per_save > 0),
                         a / cost_per_save, 0.0)
    return pd.DataFrame({"acquisition_cost": a, "cost_per_saved_customer": cost_per_save,
                         "ratio": ratio})
