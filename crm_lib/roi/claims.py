"""The "retention pays" claims (CRM_CONCEPTS.md section 2) recomputed as sensitivities.

The sources quote Reichheld & Sasser (1990, HBR 68(5)): cutting defections
by 5 points raises profits by 25-85%; acquiring a customer costs about five
times as much as keeping one; a satisfied customer brings about 8 potential
deals and a dissatisfied one sways about 25 people. None of these is a
fact about *this* company. Each function here turns one claim into a
formula whose inputs come from the data (margins, retention, the pilot's
cost per saved customer) or are explicit parameters, so a notebook can show
how the answer moves with the assumptions.

CLV with constant retention ``r``, margin ``m`` per period received at the
end of each period survived and discount rate ``d`` (Gupta & Lehmann 2003,
J Interactive Marketing 17(1))::

    CLV = m * sum_{t>=1} r**t / (1+d)**t = m * r / (1 + d - r)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["observed_retention", "clv_constant_retention", "retention_profit_lift",
           "retention_lift_grid", "RetentionLift", "cost_per_saved_customer",
           "acquisition_vs_retention", "word_of_mouth_value", "word_of_mouth_grid"]


def observed_retention(customers: pd.DataFrame, as_of, *, period_months: float = 12.0,
                       exclude_reasons: tuple[str, ...] = ()) -> float:
    """Retention per period from the customer table: ``exp(-h * period)``.

    ``h`` = churn events / months at risk (every customer contributes the
    months from signup to churn or ``as_of``): the constant-hazard
    (exponential) estimate. ``exclude_reasons`` drops churn events of those
    reasons from the numerator (e.g. natural churn no campaign can prevent).
    """
    for col in ("signup_date", "churned"):
        if col not in customers:
            raise ValueError(f"customers: column '{col}' is required to measure retention")
    as_of = pd.Timestamp(as_of)
    start = pd.to_datetime(customers["signup_date"], errors="coerce")
    churned = customers["churned"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    end = pd.to_datetime(customers.get("end_date"), errors="coerce") \
        if "end_date" in customers else pd.Series(pd.NaT, index=customers.index)
    stop = end.where(churned & end.notna(), as_of).clip(upper=as_of)
    months = ((stop - start).dt.days / 30.4375).clip(lower=0)
    if "tenure" in customers and months.isna().all():
        months = pd.to_numeric(customers["tenure"], errors="coerce")
    events = churned.copy()
    if exclude_reasons and "churn_reason" in customers:
        events &= ~customers["churn_reason"].astype("string").isin(exclude_reasons).fillna(False)
    exposure = float(np.nansum(months))
    if exposure <= 0:
        raise ValueError("customers: no months at risk (check signup_date and as_of)")
    return float(np.exp(-events.sum() / exposure * period_months))


def clv_constant_retention(margin, retention, discount_rate, horizon: int | None = None):
    """CLV of a margin stream with constant retention (see module docstring).

    ``horizon`` None: the infinite-horizon closed form ``m r / (1 + d - r)``;
    else the sum over ``horizon`` periods. Vectorised over its inputs.
    """
    m, r, d = (np.asarray(x, dtype=float) for x in (margin, retention, discount_rate))
    if np.any((r < 0) | (r >= 1 + d)):
        raise ValueError("retention must be in [0, 1 + discount_rate)")
    if horizon is None:
        return m * r / (1 + d - r)
    q = r / (1 + d)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(np.isclose(q, 1), horizon, q * (1 - q ** horizon) / (1 - q))
    return m * s


@dataclass(frozen=True)
class RetentionLift:
    """Profit effect of raising retention by ``delta`` for one set of assumptions."""

    retention: float
    delta: float
    margin: float
    discount_rate: float
    acquisition_cost: float
    clv_before: float
    clv_after: float
    profit_lift: float  # relative change of (CLV - acquisition cost) per customer


def retention_profit_lift(margin: float, retention: float, discount_rate: float, *,
                          delta: float = 0.05, acquisition_cost: float = 0.0,
                          horizon: int | None = None) -> RetentionLift:
    """Relative profit change per acquired customer when retention rises by ``delta``.

    Profit per acquired customer = CLV - acquisition cost, so the margin
    matters when there is an acquisition cost; without it the lift is the CLV
    ratio. This is the calculation behind Reichheld & Sasser's claim, with
    this company's own inputs instead of theirs.
    """
    r1 = min(retention + delta, 0.999)
    before = float(clv_constant_retention(margin, retention, discount_rate, horizon))
    after = float(clv_constant_retention(margin, r1, discount_rate, horizon))
    base = before - acquisition_cost
    lift = (after - before) / base if base > 0 else float("nan")
    return RetentionLift(retention, delta, margin, discount_rate, acquisition_cost, before,
                         after, float(lift))


def retention_lift_grid(margin: float, retentions, discount_rates, *, delta: float = 0.05,
                        acquisition_costs=(0.0,)) -> pd.DataFrame:
    """:func:`retention_profit_lift` over retention x discount rate x acquisition cost."""
    r, d, a = (x.ravel() for x in np.meshgrid(np.asarray(retentions, float),
                                              np.asarray(discount_rates, float),
                                              np.asarray(acquisition_costs, float)))
    before = clv_constant_retention(margin, r, d)
    after = clv_constant_retention(margin, np.minimum(r + delta, 0.999), d)
    base = before - a
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(base > 0, (after - before) / base, np.nan)
    return pd.DataFrame({"retention": r, "discount_rate": d, "acquisition_cost": a,
                         "clv_before": before, "clv_after": after, "profit_lift": lift})


def cost_per_saved_customer(spend_per_contact: float, uplift: float) -> float:
    """Spend per customer kept by a campaign: cost per contact / churn reduction.

    ``uplift``: the reduction in churn probability per contact (e.g. minus the
    pilot's ATE). Infinite when the campaign saves nobody.
    """
    return float(spend_per_contact / uplift) if uplift > 0 else float("inf")


def acquisition_vs_retention(acquisition_costs, cost_per_save: float) -> pd.DataFrame:
    """How many times more expensive winning a customer is than keeping one, per assumed
    acquisition cost (the sources claim about 5x)."""
    a = np.asarray(acquisition_costs, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(np.isfinite(cost_per_save) & (cost_per_save > 0),
                         a / cost_per_save, 0.0)
    return pd.DataFrame({"acquisition_cost": a, "cost_per_saved_customer": cost_per_save,
                         "ratio": ratio})


def word_of_mouth_value(clv, *, promoter_share: float, detractor_share: float,
                        referrals_per_promoter: float = 8.0,
                        people_swayed_per_detractor: float = 25.0,
                        referral_conversion: float = 0.02, sway_loss_rate: float = 0.02,
                        new_customer_value: float | None = None):
    """Word-of-mouth-adjusted customer value.

    ``clv + promoter_share x referrals x conversion x V - detractor_share x
    swayed x loss rate x V``, with ``V`` the value of a customer won or lost
    through word of mouth (default: the mean CLV). The 8 and 25 are the
    sources' claimed counts: parameters, not facts; the conversion and loss
    rates are pure assumptions to vary.
    """
    c = np.asarray(clv, dtype=float)
    v = float(np.mean(c)) if new_customer_value is None else float(new_customer_value)
    gain = promoter_share * referrals_per_promoter * referral_conversion * v
    loss = detractor_share * people_swayed_per_detractor * sway_loss_rate * v
    return c + gain - loss


def word_of_mouth_grid(mean_clv: float, *, promoter_share: float, detractor_share: float,
                       conversions, referrals=(4.0, 8.0, 12.0),
                       people_swayed_per_detractor: float = 25.0) -> pd.DataFrame:
    """Mean word-of-mouth-adjusted value over conversion rates and referral counts."""
    rows = []
    for k in referrals:
        for cv in np.asarray(conversions, float):
            val = word_of_mouth_value(mean_clv, promoter_share=promoter_share,
                                      detractor_share=detractor_share,
                                      referrals_per_promoter=k,
                                      people_swayed_per_detractor=people_swayed_per_detractor,
                                      referral_conversion=cv, sway_loss_rate=cv,
                                      new_customer_value=mean_clv)
            rows.append((k, cv, float(val)))
    out = pd.DataFrame(rows, columns=["referrals_per_promoter", "conversion", "value"])
    out["relative_to_clv"] = out["value"] / mean_clv
    return out
