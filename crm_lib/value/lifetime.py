"""Customer lifetime value under constant retention, the retention lift and word of mouth.

The one home of three CRM formulas that notebooks 00 and 05, the claims and
the summary all use (docs/CONVENTIONS.md lists where every formula lives):

- :func:`clv`: the CLV of a customer with a constant retention rate ``r`` per
  period, margin amount ``m`` per period received at the *end* of each period
  survived, discount rate ``d`` per period and margin growth ``g`` per period
  of tenure (Gupta & Lehmann 2003, *J. Interactive Marketing* 17(1);
  Gupta, Lehmann & Stuart 2004, *JMR* 41(1))::

      CLV = sum_{t=1..T} m (1+g)^(t-1) r^t / (1+d)^t
      T = infinity:  m r / (1 + d - r (1 + g))

  :func:`retained_value` is the same formula on a monthly grid (the value of
  keeping a subscriber over a finite horizon), not a second formula.
- :func:`retention_lift`: the relative change of profit per acquired customer,
  ``CLV - acquisition cost``, when retention rises by ``delta`` points: the
  calculation behind Reichheld & Sasser's (1990, *HBR* 68(5)) "5 points of
  retention = 25-85% more profit". Without an acquisition cost the margin
  cancels and the lift is the CLV ratio minus one. :func:`retention_claim`
  adds how far each assumption moves it.
- :func:`word_of_mouth_value`: a customer's value plus the customers their
  recommendations win and minus those their complaints lose (the texts' "8
  deals vs 25 people" are claims, kept as parameters).

``margin`` is always an *amount* per period here; a share of revenue is
called ``margin_rate`` (docs/CONVENTIONS.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

__all__ = ["clv", "clv_grid", "retained_value", "monthly_discount_rate", "retention_lift",
           "RetentionLift", "retention_claim", "RetentionClaim", "retention_lift_grid",
           "WordOfMouth", "word_of_mouth_value", "word_of_mouth_grid"]


def _scalar(x):
    return float(x) if np.ndim(x) == 0 else x


def clv(margin, retention, discount_rate, *, margin_growth=0.0, periods: int | None = None):
    """Customer lifetime value under constant retention (see module docstring).

    ``margin``: amount per period; ``retention``: probability of staying each
    period, in [0, 1]; ``discount_rate`` per period (> -1); ``periods`` None for
    the infinite sum (requires ``r (1+g) < 1+d``). Broadcasts over arrays.
    """
    m = np.asarray(margin, dtype=float)
    r = np.asarray(retention, dtype=float)
    d = np.asarray(discount_rate, dtype=float)
    g = np.asarray(margin_growth, dtype=float)
    if np.any((r < 0) | (r > 1)) or np.isnan(r).any():
        raise ValueError("retention must lie in [0, 1]")
    if np.any(d <= -1):
        raise ValueError("discount_rate must be above -1")
    q = r * (1 + g) / (1 + d)
    if periods is None:
        if np.any(q >= 1):
            raise ValueError("infinite-horizon CLV diverges: need retention*(1+growth) < "
                             "1+discount_rate (set periods for a finite horizon)")
        out = m * r / (1 + d - r * (1 + g))
    else:
        n = int(periods)
        if n < 1:
            raise ValueError("periods must be at least 1")
        one = np.isclose(q, 1.0)
        geo = np.where(one, n, (1 - q ** n) / np.where(one, 1.0, 1 - q))
        out = m * r / (1 + d) * geo
    return _scalar(out)


def clv_grid(margins, retentions, discount_rate: float = 0.10, margin_growth: float = 0.0,
             periods: int | None = None) -> pd.DataFrame:
    """:func:`clv` on a grid of margins x retention rates (long format, for plotting)."""
    mm, rr = np.meshgrid(np.asarray(margins, dtype=float), np.asarray(retentions, dtype=float),
                         indexing="ij")
    values = clv(mm, rr, discount_rate, margin_growth=margin_growth, periods=periods)
    return pd.DataFrame({"margin": mm.ravel(), "retention": rr.ravel(),
                         "clv": np.asarray(values).ravel()})


def monthly_discount_rate(annual_discount_rate: float) -> float:
    """The monthly rate equivalent to an annual one: ``(1 + annual)^(1/12) - 1``."""
    return float((1 + annual_discount_rate) ** (1 / 12) - 1)


def retained_value(monthly_margin, *, horizon_months: int = 24,
                   annual_discount_rate: float = 0.10, monthly_retention: float = 1.0,
                   extra_value=0.0):
    """Value of keeping a customer: :func:`clv` per month over ``horizon_months``.

    ``clv(monthly_margin, monthly_retention, monthly_discount_rate(annual),
    periods=horizon_months)`` plus ``extra_value`` (e.g. the shop CLV of
    notebook 03, already a lifetime value). Vectorised over ``monthly_margin``.
    """
    if horizon_months < 1:
        raise ValueError("horizon_months must be >= 1")
    if not 0 < monthly_retention <= 1:
        raise ValueError("monthly_retention must be in (0, 1]")
    base = clv(np.asarray(monthly_margin, dtype=float), monthly_retention,
               monthly_discount_rate(annual_discount_rate), periods=horizon_months)
    return np.asarray(base, dtype=float) + np.asarray(extra_value, dtype=float)


def retention_lift(retention, delta: float = 0.05, discount_rate: float = 0.10,
                   margin_growth: float = 0.0, periods: int | None = None, *,
                   margin=1.0, acquisition_cost=0.0):
    """Relative profit change per acquired customer when retention rises by ``delta``.

    ``(CLV(r + delta) - CLV(r)) / (CLV(r) - acquisition_cost)`` with
    ``r + delta`` capped at 1 (:func:`clv`); NaN where the customer does not pay
    back the acquisition cost. With ``acquisition_cost = 0`` the margin cancels
    (the lift is ``CLV(r + delta) / CLV(r) - 1``). Broadcasts over arrays.
    """
    r = np.asarray(retention, dtype=float)
    before = np.asarray(clv(margin, r, discount_rate, margin_growth=margin_growth,
                            periods=periods), dtype=float)
    after = np.asarray(clv(margin, np.minimum(r + delta, 1.0), discount_rate,
                           margin_growth=margin_growth, periods=periods), dtype=float)
    base = before - np.asarray(acquisition_cost, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(base > 0, (after - before) / np.where(base > 0, base, 1.0), np.nan)
    return _scalar(out)


@dataclass(frozen=True)
class RetentionLift:
    """The retention lift for one set of assumptions (:func:`retention_claim`)."""

    retention: float
    delta: float
    margin: float
    discount_rate: float
    margin_growth: float
    acquisition_cost: float
    clv_before: float
    clv_after: float
    profit_lift: float  # relative change of (CLV - acquisition cost) per customer

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"figure": list(asdict(self)), "value": list(asdict(self).values())})


@dataclass(frozen=True)
class RetentionClaim:
    """Reichheld & Sasser's claim recomputed: the lift and what moves it.

    ``sensitivity``: one row per assumption moved to a low and a high value
    (the others held), with the lift at each, sorted by how far it moves it.
    """

    lift: RetentionLift
    sensitivity: pd.DataFrame

    @property
    def profit_lift(self) -> float:
        return self.lift.profit_lift

    def to_frame(self) -> pd.DataFrame:
        """The sensitivity for readers: each assumption's low and high value and the lift."""
        names = {"retention": "retention rate", "discount_rate": "discount rate",
                 "margin_growth": "margin growth per period", "acquisition_cost":
                 "acquisition cost"}
        show = {"acquisition_cost": lambda v: f"{v:,.0f}"}
        t = self.sensitivity
        fmt_v = [show.get(a, lambda v: f"{v:.1%}") for a in t["assumption"]]
        return pd.DataFrame({"assumption": [names[a] for a in t["assumption"]],
                             "low": [f(v) for f, v in zip(fmt_v, t["low"], strict=True)],
                             "high": [f(v) for f, v in zip(fmt_v, t["high"], strict=True)],
                             "lift at low": t["lift_low"].to_numpy(),
                             "lift at high": t["lift_high"].to_numpy()})

    def within_claim(self, low: float = 0.25, high: float = 0.85) -> bool:
        """Whether the lift falls in the 25-85% band the sources report."""
        return bool(low <= self.lift.profit_lift <= high)

    def sentence(self) -> str:
        """The claim in words, generated from the numbers (it flips when they do)."""
        lf = self.lift
        where = ("inside" if self.within_claim() else
                 "below" if lf.profit_lift < 0.25 else "above")
        top = self.to_frame().iloc[0]
        return (f"+{lf.delta * 100:.0f} points of retention (from {lf.retention:.1%}) raise "
                f"profit per customer by {lf.profit_lift:+.0%}, {where} the 25-85% Reichheld & "
                f"Sasser reported; the assumption that moves it most is the {top['assumption']} "
                f"({top['lift at low']:+.0%} at {top['low']} to {top['lift at high']:+.0%} at "
                f"{top['high']}).")

    def metrics(self, prefix: str) -> dict[str, float]:
        return {f"{prefix}.retention_5pt_profit_lift": self.lift.profit_lift}


def retention_claim(margin: float, retention: float, discount_rate: float, *,
                    delta: float = 0.05, acquisition_cost: float = 0.0,
                    margin_growth: float = 0.0, periods: int | None = None) -> RetentionClaim:
    """:func:`retention_lift` at the given assumptions, and its sensitivity to each.

    Moved one at a time: retention by -/+ 10 points (within 0.01-0.99), the
    discount rate halved/doubled, margin growth 0 and +5 points, the
    acquisition cost halved/doubled (or 0 and half a CLV when it is 0).
    """
    kw = dict(margin=margin, retention=retention, discount_rate=discount_rate, delta=delta,
              acquisition_cost=acquisition_cost, margin_growth=margin_growth)

    def lift(**over) -> float:
        k = {**kw, **over}
        return float(retention_lift(k["retention"], k["delta"], k["discount_rate"],
                                    k["margin_growth"], periods, margin=k["margin"],
                                    acquisition_cost=k["acquisition_cost"]))

    before = float(clv(margin, retention, discount_rate, margin_growth=margin_growth,
                       periods=periods))
    after = float(clv(margin, min(retention + delta, 1.0), discount_rate,
                      margin_growth=margin_growth, periods=periods))
    base = RetentionLift(float(retention), float(delta), float(margin), float(discount_rate),
                         float(margin_growth), float(acquisition_cost), before, after, lift())
    cac = ((acquisition_cost / 2, acquisition_cost * 2) if acquisition_cost > 0
           else (0.0, before / 2))
    moves = {"retention": (max(retention - 0.10, 0.01), min(retention + 0.10, 0.99)),
             "discount_rate": (discount_rate / 2, discount_rate * 2),
             "margin_growth": (0.0, margin_growth + 0.05),
             "acquisition_cost": cac}
    rows = []
    for name, (lo, hi) in moves.items():
        try:
            a, b = lift(**{name: lo}), lift(**{name: hi})
        except ValueError:  # e.g. a diverging infinite sum at high retention x growth
            a, b = np.nan, np.nan
        rows.append({"assumption": name, "low": lo, "high": hi, "lift_low": a, "lift_high": b,
                     "swing": abs(b - a) if np.isfinite(a) and np.isfinite(b) else np.nan})
    sens = pd.DataFrame(rows).sort_values("swing", ascending=False, na_position="last")
    return RetentionClaim(base, sens.reset_index(drop=True))


def retention_lift_grid(margin: float, retentions, discount_rates, *, delta: float = 0.05,
                        acquisition_costs=(0.0,), margin_growth: float = 0.0) -> pd.DataFrame:
    """:func:`retention_lift` over retention x discount rate x acquisition cost (long format)."""
    r, d, a = (x.ravel() for x in np.meshgrid(np.asarray(retentions, float),
                                              np.asarray(discount_rates, float),
                                              np.asarray(acquisition_costs, float)))
    before = clv(margin, r, d, margin_growth=margin_growth)
    after = clv(margin, np.minimum(r + delta, 1.0), d, margin_growth=margin_growth)
    lift = retention_lift(r, delta, d, margin_growth, margin=margin, acquisition_cost=a)
    return pd.DataFrame({"retention": r, "discount_rate": d, "acquisition_cost": a,
                         "clv_before": before, "clv_after": after, "profit_lift": lift})


@dataclass(frozen=True)
class WordOfMouth:
    """A value with word of mouth: the value, the referral gain, the loss and the total."""

    clv: object
    referral_gain: float
    word_of_mouth_loss: float
    value: object  # clv + referral_gain - word_of_mouth_loss

    def to_frame(self) -> pd.DataFrame:
        mean = float(np.mean(self.clv))
        return pd.DataFrame({"figure": ["customer value", "gain from referrals",
                                        "loss from negative word of mouth",
                                        "value with word of mouth"],
                             "value": [mean, self.referral_gain, self.word_of_mouth_loss,
                                       float(np.mean(self.value))]})

    def metrics(self, prefix: str) -> dict[str, float]:
        return {f"{prefix}.clv_with_word_of_mouth": float(np.mean(self.value))}


def word_of_mouth_value(clv, *, promoter_share: float, detractor_share: float,
                        referrals_per_promoter: float = 8.0,
                        people_swayed_per_detractor: float = 25.0,
                        referral_conversion: float = 0.02, sway_loss_rate: float = 0.02,
                        new_customer_value: float | None = None) -> WordOfMouth:
    """Word-of-mouth-adjusted customer value.

    ``clv + promoter_share x referrals x conversion x V - detractor_share x
    swayed x loss rate x V``, with ``V`` the value of a customer won or lost
    through word of mouth (default: the mean of ``clv``). The 8 and 25 are the
    sources' claimed counts: parameters, not facts; the conversion and loss
    rates are pure assumptions to vary. Notebook 00 (no survey) reads the
    satisfied share as promoters and the rest as detractors.
    """
    for name, v in (("promoter_share", promoter_share), ("detractor_share", detractor_share)):
        if not 0 <= v <= 1:
            raise ValueError(f"{name}={v!r} must lie in [0, 1]")
    if promoter_share + detractor_share > 1 + 1e-12:
        raise ValueError("promoter_share + detractor_share must not exceed 1")
    c = np.asarray(clv, dtype=float)
    v = float(np.mean(c)) if new_customer_value is None else float(new_customer_value)
    gain = promoter_share * referrals_per_promoter * referral_conversion * v
    loss = detractor_share * people_swayed_per_detractor * sway_loss_rate * v
    return WordOfMouth(_scalar(c), float(gain), float(loss), _scalar(c + gain - loss))


def word_of_mouth_grid(mean_clv: float, *, promoter_share: float, detractor_share: float,
                       conversions, referrals=(4.0, 8.0, 12.0),
                       people_swayed_per_detractor: float = 25.0) -> pd.DataFrame:
    """Mean word-of-mouth-adjusted value over conversion (= loss) rates and referral counts."""
    rows = []
    for k in referrals:
        for cv in np.asarray(conversions, float):
            w = word_of_mouth_value(mean_clv, promoter_share=promoter_share,
                                    detractor_share=detractor_share, referrals_per_promoter=k,
                                    people_swayed_per_detractor=people_swayed_per_detractor,
                                    referral_conversion=cv, sway_loss_rate=cv)
            rows.append((k, cv, float(w.value)))
    out = pd.DataFrame(rows, columns=["referrals_per_promoter", "conversion", "value"])
    out["relative_to_clv"] = out["value"] / mean_clv
    return out
