"""Customer lifetime value from BG/NBD + Gamma-Gamma, with calibration/holdout checks.

CLV over a finite horizon (Fader, Hardie & Lee 2005, "RFM and CLV: using
iso-value curves for customer base analysis", JMR 42(4)): the expected
purchases of each future week (BG/NBD conditional expectation), times the
expected spend per purchase (Gamma-Gamma), times the margin rate (gross
margin as a share of revenue), discounted at the annual rate:

    CLV_i = margin_rate x E[spend_i] x sum_k (E[Y_i(t_k)] - E[Y_i(t_k-1)]) / (1 + d)^(t_k / year)

with weekly steps t_k. Refunds are taken out at the population refund rate
(refunds / gross spend) when ``net_of_refunds``. The model fit is checked
out of sample: fit on a calibration period, predict each customer's
purchases in the holdout period, compare (per-customer MAE, by calibration
frequency, and the weekly repeat-purchase curve).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import bgnbd
from .bgnbd import BetaGeo
from .gammagamma import GammaGamma, conditional_expected_spend
from .lifecycle import STAGES, LifecycleRules, lifecycle_stage
from .period import StudyPeriod
from .summary import purchase_days, resolve_grain, rfm_summary, unit_days
from .tiers import action, risk_tier, value_tier

WEEKS_PER_YEAR = 365.25 / 7

#: Published estimates on the CDNOW sample (calibration to 1997-09-30, weeks):
#: BG/NBD from Fader, Hardie & Lee (2005), Gamma-Gamma from Fader & Hardie (2013).
PUBLISHED_CDNOW = pd.Series(
    {("BG/NBD", "r"): 0.243, ("BG/NBD", "alpha"): 4.414, ("BG/NBD", "a"): 0.793,
     ("BG/NBD", "b"): 2.426, ("Gamma-Gamma", "p"): 6.25, ("Gamma-Gamma", "q"): 3.74,
     ("Gamma-Gamma", "gamma"): 15.44}, name="published (CDNOW sample)")
PUBLISHED_CDNOW_LOGLIK = -9582.4


@dataclass
class ValueModels:
    """The two fitted models behind CLV."""

    bgnbd: BetaGeo
    gamma_gamma: GammaGamma

    def parameters(self, level: float = 0.95) -> pd.DataFrame:
        """Both models' estimates, SEs and intervals in one table."""
        b = self.bgnbd.summary(level).assign(model="BG/NBD")
        g = self.gamma_gamma.summary(level).assign(model="Gamma-Gamma")
        return pd.concat([b, g]).set_index("model", append=True).swaplevel()

    def compare(self, reference: pd.Series, level: float = 0.95) -> pd.DataFrame:
        """Parameters next to reference values (published or known), with relative error."""
        t = self.parameters(level)
        ref = reference.reindex(t.index)
        return t.assign(reference=ref, rel_error=t["estimate"] / ref - 1,
                        inside_interval=(ref >= t.iloc[:, 2]) & (ref <= t.iloc[:, 3]))

    def metrics(self, prefix: str = "clv") -> dict[str, float]:
        """Headline parameter metrics (clv.bgnbd.*, clv.gg.*)."""
        out = {f"{prefix}.bgnbd.{k}": float(v) for k, v in self.bgnbd.params_.items()}
        out[f"{prefix}.bgnbd.loglik"] = float(self.bgnbd.loglik_)
        out.update({f"{prefix}.gg.{k}": float(v) for k, v in self.gamma_gamma.params_.items()})
        out[f"{prefix}.gg.loglik"] = float(self.gamma_gamma.loglik_)
        return out


def fit_value_models(summary: pd.DataFrame) -> ValueModels:
    """Fit BG/NBD on all customers and Gamma-Gamma on the repeat buyers of ``summary``."""
    return ValueModels(BetaGeo().fit(summary), GammaGamma().fit(summary))


def refund_rate(summary: pd.DataFrame) -> float:
    """Refunds as a share of gross spend, over all customers (0 when none)."""
    gross = float(summary["revenue"].sum())
    return float(np.clip(summary["refunds"].sum() / gross, 0, 1)) if gross > 0 else 0.0


def _distinct_pairs(x: np.ndarray, tx: np.ndarray, big_t: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct ``(x, T)`` pairs (with the recency of a customer of each, for the
    checks) and, per customer, the index of its pair (every customer its own pair when a
    value is not finite: NaN never equals itself)."""
    if not (np.isfinite(x).all() and np.isfinite(big_t).all()):
        return x, tx, big_t, np.arange(len(x))
    order = np.lexsort((big_t, x))
    xs, ts = x[order], big_t[order]
    new = np.r_[True, (xs[1:] != xs[:-1]) | (ts[1:] != ts[:-1])][:len(x)]
    back = np.empty(len(x), dtype=np.intp)
    back[order] = np.cumsum(new) - 1
    return xs[new], tx[order[new]], ts[new], back


def _check_clv_args(horizon_weeks: float, margin_rate: float,
                    annual_discount_rate: float) -> None:
    if horizon_weeks <= 0:
        raise ValueError(f"horizon_weeks must be positive, got {horizon_weeks}")
    if not 0 <= margin_rate <= 1:
        raise ValueError(f"margin_rate must be a share of revenue between 0 and 1, "
                         f"got {margin_rate}")
    if annual_discount_rate <= -1:
        raise ValueError("annual_discount_rate must be above -1")


def discounted_clv(params: object, summary: pd.DataFrame, spend: object, *,
                   horizon_weeks: float = 52, margin_rate: float = 0.3,
                   annual_discount_rate: float = 0.1, time_unit: str = "W",
                   step_weeks: float = 1.0) -> pd.DataFrame:
    """Expected purchases and discounted CLV over ``horizon_weeks`` (module docstring).

    Returns expected_purchases (in the horizon), clv and clv_if_alive (the
    CLV had the customer certainly still been active), indexed like ``summary``.
    """
    _check_clv_args(horizon_weeks, margin_rate, annual_discount_rate)
    xtT = tuple(summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    return _clv_frame(params, summary, spend, xtT, _distinct_pairs(*xtT),
                      horizon_weeks=horizon_weeks, margin_rate=margin_rate,
                      annual_discount_rate=annual_discount_rate, time_unit=time_unit,
                      step_weeks=step_weeks)


def _clv_frame(params, summary: pd.DataFrame, spend, xtT: tuple, pairs: tuple, *,
               horizon_weeks: float, margin_rate: float, annual_discount_rate: float,
               time_unit: str, step_weeks: float) -> pd.DataFrame:
    """:func:`discounted_clv` from the customers' ``(x, t_x, T)`` arrays and their
    :func:`_distinct_pairs` (computed once for many parameter draws)."""
    per_unit = 7.0 / unit_days(time_unit)  # time units per week
    x, tx, big_t = xtT
    n_steps = int(np.ceil(horizon_weeks / step_weeks))
    weeks = np.minimum(np.arange(1, n_steps + 1) * step_weeks, horizon_weeks)
    # E[Y(t) | alive] reads a customer's frequency and age only (not the recency): it is
    # computed once per distinct (frequency, T) pair and spread back to the customers,
    # the same numbers (elementwise) for a fraction of the hypergeometric evaluations
    ux, utx, ut, back = pairs
    prev = np.zeros(len(ux))
    pv = np.zeros(len(ux))
    for w in weeks:  # a loop over weeks, vectorised over customers
        cur = bgnbd.expected_purchases_if_alive(params, w * per_unit, ux, utx, ut)
        pv += (cur - prev) / (1 + annual_discount_rate) ** (w / WEEKS_PER_YEAR)
        prev = cur
    prev, pv = prev[back], pv[back]
    pa = bgnbd.p_alive(params, x, tx, big_t)
    value_if_alive = margin_rate * np.asarray(spend, float) * pv
    return pd.DataFrame({"expected_purchases": pa * prev, "clv": pa * value_if_alive,
                         "clv_if_alive": value_if_alive}, index=summary.index)


def clv_total_interval(models: ValueModels, summary: pd.DataFrame, *, horizon_weeks: float = 52,
                       margin_rate: float = 0.3, annual_discount_rate: float = 0.1,
                       time_unit: str = "W", net_of_refunds: bool = True, n_draws: int = 100,
                       level: float = 0.95, seed: int = 42) -> pd.Series:
    """Total CLV with an interval for parameter uncertainty (parametric bootstrap).

    Draws the seven parameters from their asymptotic normal distribution on
    the log scale (the MLE covariance, delta method) and recomputes the total
    CLV (with 13-week discounting steps for speed, rescaled to the weekly-step
    estimate).
    Returns estimate, lower and upper (sums over the customers of ``summary``).
    The randomness of the customers' future purchases is not included: this
    is the uncertainty of the expected value.
    """
    rng = np.random.default_rng(seed)
    keep = 1 - refund_rate(summary) if net_of_refunds else 1.0
    totals = []
    draws = {}
    for name, m in (("b", models.bgnbd), ("g", models.gamma_gamma)):
        th = m.params_.to_numpy()
        cov_log = m.cov_.to_numpy() / np.outer(th, th)
        draws[name] = np.exp(rng.multivariate_normal(np.log(th), cov_log, n_draws))
    kw = dict(horizon_weeks=horizon_weeks, margin_rate=margin_rate,
              annual_discount_rate=annual_discount_rate, time_unit=time_unit, step_weeks=13.0)
    _check_clv_args(horizon_weeks, margin_rate, annual_discount_rate)
    xtT = tuple(summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    pairs = _distinct_pairs(*xtT)  # once for all draws
    for bp, gp in zip(draws["b"], draws["g"], strict=True):
        spend = conditional_expected_spend(gp, summary["frequency"], summary["monetary"])
        totals.append(_clv_frame(bp, summary, spend * keep, xtT, pairs, **kw)["clv"].sum())
    spend = models.gamma_gamma.predict(summary) * keep
    th = models.bgnbd.params_.to_numpy()
    coarse = _clv_frame(th, summary, spend, xtT, pairs, **kw)["clv"].sum()
    kw["step_weeks"] = 1.0
    est = _clv_frame(th, summary, spend, xtT, pairs, **kw)["clv"].sum()
    a = (1 - level) / 2
    scale = est / coarse if coarse else 1.0  # draws use 13-week steps; rescale to weekly steps
    return pd.Series({"estimate": float(est),
                      "lower": float(np.quantile(totals, a) * scale),
                      "upper": float(np.quantile(totals, 1 - a) * scale)}, name="total CLV")


def calibration_holdout(transactions: pd.DataFrame, *, calibration_end: object,
                        observation_end: object, time_unit: str = "W",
                        grain: str = "auto") -> pd.DataFrame:
    """Calibration summary plus holdout purchases per customer (see ``rfm_summary``)."""
    return rfm_summary(transactions, calibration_end=calibration_end,
                       observation_end=observation_end, time_unit=time_unit, grain=grain)


def holdout_predictions(model: BetaGeo, calhold: pd.DataFrame) -> pd.DataFrame:
    """Predicted vs actual holdout purchases per customer, with the absolute error."""
    t = float(calhold["duration_holdout"].iloc[0])
    pred = model.predict(calhold, t)
    return pd.DataFrame({"customer_id": calhold["customer_id"],
                         "frequency": calhold["frequency"],
                         "actual": calhold["frequency_holdout"].astype(float),
                         "predicted": pred,
                         "abs_error": np.abs(pred - calhold["frequency_holdout"])})


def holdout_scores(model: BetaGeo, calhold: pd.DataFrame) -> pd.DataFrame:
    """Holdout accuracy of BG/NBD against two naive forecasts, per customer.

    Naive run rate: calibration repeat purchases per time unit x holdout
    length (assumes nobody leaves). Zero: nobody buys again. Columns: MAE,
    RMSE and the total predicted vs actual holdout purchases.
    """
    p = holdout_predictions(model, calhold)
    t = float(calhold["duration_holdout"].iloc[0])
    rate = np.where(calhold["T"] > 0, calhold["frequency"] / calhold["T"].where(
        calhold["T"] > 0, 1), 0.0)
    preds = {"BG/NBD": p["predicted"].to_numpy(), "naive run rate": rate * t,
             "nobody buys again": np.zeros(len(p))}
    act = p["actual"].to_numpy()
    return pd.DataFrame({
        "MAE": {k: float(np.mean(np.abs(v - act))) for k, v in preds.items()},
        "RMSE": {k: float(np.sqrt(np.mean((v - act) ** 2))) for k, v in preds.items()},
        "total predicted": {k: float(v.sum()) for k, v in preds.items()},
        "total actual": {k: float(act.sum()) for k in preds},
    }).rename_axis("forecast")


def holdout_mae(model: BetaGeo, calhold: pd.DataFrame) -> float:
    """Mean absolute error of per-customer holdout purchases."""
    return float(holdout_predictions(model, calhold)["abs_error"].mean())


def holdout_by_frequency(model: BetaGeo, calhold: pd.DataFrame, max_frequency: int = 7
                         ) -> pd.DataFrame:
    """Mean actual vs predicted holdout purchases by calibration frequency (FHL fig. 4)."""
    p = holdout_predictions(model, calhold)
    p["group"] = p["frequency"].clip(upper=max_frequency)
    g = p.groupby("group")
    out = pd.DataFrame({"customers": g.size(), "actual": g["actual"].mean(),
                        "predicted": g["predicted"].mean()})
    out.index = [str(i) if i < max_frequency else f"{max_frequency}+" for i in out.index]
    out.index.name = "calibration frequency"
    return out


def period_transactions(transactions: pd.DataFrame, model: BetaGeo, *, calibration_end: object,
                        observation_end: object, time_unit: str = "W", grain: str = "auto",
                        period_weeks: float = 1.0) -> pd.DataFrame:
    """Weekly repeat purchases of the calibration cohort: actual vs BG/NBD (FHL fig. 2).

    The cohort is every customer whose first purchase is on or before
    ``calibration_end``; its expected cumulative repeat purchases at calendar
    time c are sum_i E[X(c - first_i)] (FHL eq. 9), evaluated per first-purchase
    day. Periods are full weeks (``period_weeks``) on a grid with the
    calibration end on a boundary (only the last period may be cut short by
    ``observation_end``). Columns: period_end,
    actual, expected (per period), cumulative_actual,
    cumulative_expected, holdout (period after calibration_end).
    """
    grain = resolve_grain(transactions, grain)
    cal = pd.Timestamp(calibration_end)
    obs = pd.Timestamp(observation_end)
    if grain == "day":
        cal, obs = cal.normalize(), obs.normalize()
    days = purchase_days(transactions, end=obs, grain=grain)
    days = days[days["rows"] > 0]
    first = days.groupby("customer_id")["day"].transform("min")
    days = days[first <= cal]
    first = first[first <= cal]
    repeat_times = days.loc[days["day"] > first, "day"]
    step = pd.Timedelta(days=7 * period_weeks)
    # a grid of full periods with the calibration end on a boundary
    n_before = int(np.ceil((cal - first.min()) / step))
    n_after = int(np.ceil((obs - cal) / step))
    edges = pd.DatetimeIndex(cal + step * np.arange(-n_before, n_after + 1))
    edges = edges.where(edges <= obs, obs)
    # periods are right-closed, (e_k-1, e_k], so purchases on the calibration end day count in it
    idx = np.searchsorted(edges.values.astype("datetime64[ns]").astype("int64"),
                          repeat_times.values.astype("datetime64[ns]").astype("int64"))
    actual = np.bincount(idx, minlength=len(edges))[1:len(edges)]
    cohort = days.loc[days["day"] == first, ["customer_id", "day"]].drop_duplicates(
        "customer_id")
    fday = cohort["day"].dt.floor("D").value_counts()
    unit_s = 86400.0 * unit_days(time_unit)
    age = ((edges.values[None, 1:] - fday.index.values[:, None])
           / np.timedelta64(1, "s")) / unit_s
    # E[X(t)] once per distinct age (first-purchase days x weekly edges repeat them)
    ages, back = np.unique(np.clip(age, 0, None), return_inverse=True)
    e_x = bgnbd.expected_purchases(model.params_.to_numpy(), ages)[back.reshape(age.shape)]
    cum_exp = (e_x * fday.to_numpy()[:, None]).sum(axis=0)
    expected = np.diff(np.concatenate([[0.0], cum_exp]))
    return pd.DataFrame({"period_end": edges[1:], "actual": actual, "expected": expected,
                         "cumulative_actual": np.cumsum(actual),
                         "cumulative_expected": cum_exp,
                         "holdout": edges[1:] > cal})


def _add_silent_customers(summary: pd.DataFrame, customers: pd.DataFrame, as_of: pd.Timestamp,
                          time_unit: str) -> pd.DataFrame:
    """Customers with a signup but no purchase: frequency 0, T from signup."""
    if "signup_date" not in customers.columns:
        return summary
    c = customers[["customer_id", "signup_date"]].copy()
    c["customer_id"] = c["customer_id"].astype(str)
    c["signup_date"] = pd.to_datetime(c["signup_date"], errors="coerce")
    c = c[(c["signup_date"] <= as_of) & ~c["customer_id"].isin(summary["customer_id"])]
    if c.empty:
        return summary
    extra = pd.DataFrame({"customer_id": c["customer_id"].to_numpy(), "frequency": 0,
                          "recency": 0.0,
                          "T": ((as_of - c["signup_date"]).dt.total_seconds()
                                / (86400.0 * unit_days(time_unit))).to_numpy(),
                          "monetary": 0.0, "revenue": 0.0, "refunds": 0.0})
    return pd.concat([summary, extra], ignore_index=True)


def customer_value(transactions: pd.DataFrame, customers: pd.DataFrame | None = None, *,
                   as_of: object, horizon_weeks: int = 52, margin_rate: float = 0.3,
                   annual_discount_rate: float = 0.1, time_unit: str = "W",
                   grain: str = "auto", net_of_refunds: bool = True,
                   models: ValueModels | None = None, risk: pd.Series | None = None,
                   value_cuts: tuple[float, float] = (0.5, 0.8),
                   risk_cuts: tuple[float, float] = (0.3, 0.6),
                   lifecycle_rules: LifecycleRules | None = None) -> pd.DataFrame:
    """One row per customer: purchase summary, BG/NBD + Gamma-Gamma predictions, CLV,
    lifecycle stage and value x risk tier with its action.

    Fits both models on all purchases up to ``as_of`` unless fitted ``models``
    are given. Columns: customer_id, frequency, recency, T, monetary (mean
    repeat spend), revenue, refunds, expected_purchases (in the horizon),
    p_alive, expected_spend (per purchase, Gamma-Gamma), expected_revenue
    (undiscounted, horizon), clv (discounted margin, ``margin_rate`` x expected
    revenue, over the horizon, net of the refund rate), clv_if_alive, risk (1 - P(alive), or the given ``risk``
    per customer_id), value_tier, risk_tier, action,
    tenure_weeks, weeks_since_last, lifecycle_stage. ``customers`` (optional)
    adds signed-up customers without purchases and marks ended relationships.
    The refund rate taken out is :func:`refund_rate` of the purchase summary up to
    ``as_of`` (``rfm_summary``); the other settings are the caller's arguments.
    """
    as_of = pd.Timestamp(as_of)
    summary = rfm_summary(transactions, calibration_end=as_of, time_unit=time_unit, grain=grain)
    if summary.empty:
        raise ValueError(f"table transactions: no purchases on or before {as_of.date()}")
    if models is None:
        models = fit_value_models(summary)
    base = summary.drop(columns=["first_purchase", "last_purchase"])
    if customers is not None:
        base = _add_silent_customers(base, customers, as_of, time_unit)
    keep_rate = 1 - refund_rate(summary) if net_of_refunds else 1.0
    spend = models.gamma_gamma.predict(base)
    out = base.copy()
    out["p_alive"] = models.bgnbd.p_alive(base)
    out["expected_spend"] = spend
    v = discounted_clv(models.bgnbd.params_.to_numpy(), base, spend * keep_rate,
                       horizon_weeks=horizon_weeks, margin_rate=margin_rate,
                       annual_discount_rate=annual_discount_rate, time_unit=time_unit)
    out["expected_purchases"] = v["expected_purchases"]
    out["expected_revenue"] = v["expected_purchases"] * spend * keep_rate
    out["clv"] = v["clv"]
    out["clv_if_alive"] = v["clv_if_alive"]
    if risk is not None:
        r = pd.Series(risk).set_axis(pd.Series(risk).index.astype(str))
        out["risk"] = out["customer_id"].map(r).fillna(1 - out["p_alive"]).to_numpy(float)
    else:
        out["risk"] = 1 - out["p_alive"]
    out["value_tier"] = value_tier(out["clv"], value_cuts)
    out["risk_tier"] = risk_tier(out["risk"], risk_cuts)
    out["action"] = action(out["value_tier"], out["risk_tier"])
    weeks = unit_days(time_unit) / 7.0
    out["tenure_weeks"] = out["T"] * weeks
    out["weeks_since_last"] = (out["T"] - out["recency"]) * weeks
    ended = None
    if customers is not None and "end_date" in customers.columns:
        end = pd.to_datetime(customers.set_index(customers["customer_id"].astype(str))["end_date"],
                             errors="coerce")
        ended = out["customer_id"].map(end <= as_of).fillna(False).astype(bool).to_numpy()
    out["lifecycle_stage"] = lifecycle_stage(out["tenure_weeks"], out["weeks_since_last"],
                                             out["p_alive"], ended, lifecycle_rules)
    return out.reset_index(drop=True)


def lifecycle_outcomes(calhold: pd.DataFrame, models: ValueModels,
                       customers: pd.DataFrame | None = None,
                       rules: LifecycleRules | None = None,
                       time_unit: str = "W", *, period: StudyPeriod) -> pd.DataFrame:
    """Lifecycle stage at the end of calibration and what happened in the holdout period.

    A prospective check of the stage rule: stages are assigned with the
    calibration data and models only, then per stage the share of customers
    who made no purchase in the holdout (``no_purchase_rate``), their mean
    holdout purchases, and, with a customers table, the share whose plan
    ended during the holdout among those still under contract at its start
    (``plan_end_rate``, the contractual churn rate). ``period``: the calibration end
    and analysis date ``calhold`` was summarised with (:func:`calibration_holdout`);
    a period whose holdout length differs from ``calhold``'s is an error.
    """
    cal, obs = period.calibration_end, period.as_of
    weeks = unit_days(time_unit) / 7.0
    if len(calhold) and "duration_holdout" in calhold:
        held = float(calhold["duration_holdout"].iloc[0]) * weeks
        if abs(held - (obs - cal) / pd.Timedelta(weeks=1)) > 1 / 7:
            raise ValueError(f"period {cal.date()} to {obs.date()} is not the period of "
                             f"calhold (holdout of {held:.1f} weeks)")
    pa = models.bgnbd.p_alive(calhold)
    ended = plan_end = None
    if customers is not None and "end_date" in customers.columns:
        end = pd.to_datetime(customers.set_index(customers["customer_id"].astype(str))["end_date"],
                             errors="coerce")
        e = calhold["customer_id"].map(end)
        ended = (e <= cal).fillna(False).astype(bool).to_numpy()
        plan_end = np.where(ended, np.nan, ((e > cal) & (e <= obs)).astype(float))
    stage = lifecycle_stage(calhold["T"] * weeks, (calhold["T"] - calhold["recency"]) * weeks,
                            pa, ended, rules)
    d = pd.DataFrame({"stage": stage, "holdout_purchases": calhold["frequency_holdout"],
                      "no_purchase": (calhold["frequency_holdout"] == 0).astype(float)})
    if plan_end is not None:
        d["plan_end"] = plan_end
    g = d.groupby("stage")
    out = pd.DataFrame({"customers": g.size(), "share": g.size() / len(d),
                        "mean_holdout_purchases": g["holdout_purchases"].mean(),
                        "no_purchase_rate": g["no_purchase"].mean()})
    if plan_end is not None:
        out["plan_end_rate"] = g["plan_end"].mean()
    return out.reindex([st for st in STAGES if st in out.index]).rename_axis(
        f"stage at {cal.date()}")
