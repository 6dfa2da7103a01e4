"""Whom to contact under a budget, and what the campaign may return.

* :func:`greedy_select`: rank by expected incremental profit per unit of
  expected cost and take customers while the budget lasts (Dantzig's greedy
  rule for the 0/1 knapsack, 1957); :func:`exact_select` solves the same
  knapsack exactly with a mixed-integer program (scipy ``milp``, HiGHS) to
  check it on small cases. Greedy is never worse than the exact optimum
  minus the most profitable single customer.
* :func:`nontargetable_probability`: the chance that a customer's churn,
  should it happen, is natural or malicious (``contract.NOT_TARGETABLE``),
  learnt from past churners' recorded reasons; such customers are excluded.
* :func:`plan_campaign`: the selection with its reasons.
* :func:`monte_carlo_roi`: a seeded Monte Carlo over the uncertain effect,
  acceptance rate and customer value, giving the ROI distribution and the
  probability that the campaign loses money.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

from .. import contract
from ..privacy import pseudonymise  # noqa: F401 - re-exported (roi.budget.pseudonymise)

__all__ = ["greedy_select", "exact_select", "nontargetable_probability", "plan_campaign",
           "MonteCarlo", "monte_carlo_roi", "pseudonymise"]


def _pc(profit, cost) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(profit, dtype=float)
    c = np.broadcast_to(np.asarray(cost, dtype=float), p.shape).astype(float)
    if np.isnan(p).any() or np.isnan(c).any():
        raise ValueError("profit and cost must not have missing values")
    if (c <= 0).any():
        raise ValueError("every contact must have a positive cost")
    return p, c


def greedy_select(profit, cost, budget: float) -> np.ndarray:
    """Boolean mask: customers with positive ``profit``, best profit/cost ratio first,
    while the cumulative ``cost`` stays within ``budget``; then a few passes fill
    the leftover budget with the best customers that still fit."""
    p, c = _pc(profit, cost)
    chosen = np.zeros(len(p), dtype=bool)
    order = np.argsort(-(p / c), kind="mergesort")
    order = order[p[order] > 0]
    left = float(budget)
    for _ in range(5):  # first pass = the classic greedy prefix; later passes fill the gaps
        cand = order[~chosen[order] & (c[order] <= left)]
        if not len(cand):
            break
        take = cand[np.cumsum(c[cand]) <= left]
        if not len(take):
            take = cand[:1]
        chosen[take] = True
        left -= float(c[take].sum())
    return chosen


def exact_select(profit, cost, budget: float) -> np.ndarray:
    """Boolean mask of the exact 0/1 knapsack optimum (scipy ``milp``; small cases only)."""
    p, c = _pc(profit, cost)
    res = milp(c=-p, constraints=LinearConstraint(c[None, :], -np.inf, float(budget)),
               integrality=np.ones(len(p)), bounds=Bounds(0, 1),
               options={"mip_rel_gap": 0.0})
    if not res.success:
        raise RuntimeError(f"knapsack solver failed: {res.message}")
    return np.round(res.x).astype(bool)


def nontargetable_probability(customers: pd.DataFrame, X: pd.DataFrame, *,
                              min_labelled: int = 30) -> pd.Series:
    """P(churn would be natural or malicious | churn, x) for every customer in ``X``.

    A logistic regression of "reason in NOT_TARGETABLE" on the features of
    past churners whose reason is known. With fewer than ``min_labelled``
    labelled churners (or no ``churn_reason`` column, e.g. telco), the overall
    share is used, or 0 when nothing is known.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if "churn_reason" not in customers:
        return pd.Series(0.0, index=X.index, name="p_nontargetable")
    c = customers.set_index("customer_id")
    reason = c["churn_reason"].astype("string").str.lower().fillna("")
    churned = c["churned"].astype("boolean").fillna(False).to_numpy(dtype=bool) \
        if "churned" in c else (reason != "").to_numpy()
    known = ((reason != "") & (reason != "unknown")).to_numpy(dtype=bool)
    lab = reason[churned & known]
    lab = lab[lab.index.isin(X.index)]
    if len(lab) < min_labelled:
        return pd.Series(0.0, index=X.index, name="p_nontargetable")
    ylab = lab.isin(contract.NOT_TARGETABLE).astype(int)
    if ylab.nunique() < 2:
        return pd.Series(float(ylab.mean()), index=X.index, name="p_nontargetable")
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=5000))
    model.fit(X.loc[ylab.index].to_numpy(), ylab.to_numpy())
    return pd.Series(model.predict_proba(X.to_numpy())[:, 1], index=X.index,
                     name="p_nontargetable")


def plan_campaign(candidates: pd.DataFrame, budget: float, *,
                  exclude_above: float = 0.5) -> pd.DataFrame:
    """Choose whom to contact within ``budget``.

    ``candidates``: one row per customer with ``customer_id``,
    ``expected_incremental_profit``, ``cost`` (expected spend of contacting)
    and optionally ``p_nontargetable`` (customers above ``exclude_above`` are
    excluded: their churn would most likely be natural or malicious) and
    ``basis`` (a short phrase on where the profit comes from). Returns the
    candidates with ``selected``, ``rank`` and a plain-English ``reason``.
    """
    need = {"customer_id", "expected_incremental_profit", "cost"}
    missing = need - set(candidates.columns)
    if missing:
        raise ValueError(f"candidates: missing column(s) {', '.join(sorted(missing))}")
    out = candidates.reset_index(drop=True).copy()
    pnt = out["p_nontargetable"] if "p_nontargetable" in out else pd.Series(0.0, index=out.index)
    excluded = pnt.to_numpy() > exclude_above
    profit = np.where(excluded, -np.inf, out["expected_incremental_profit"].to_numpy())
    profit = np.where(np.isfinite(profit), profit, -1.0)
    out["selected"] = greedy_select(profit, out["cost"], budget) & ~excluded
    ratio = out["expected_incremental_profit"] / out["cost"]
    out["rank"] = ratio.where(out["selected"]).rank(ascending=False, method="first")
    basis = out["basis"].astype(str) if "basis" in out else pd.Series("", index=out.index)
    prof = out["expected_incremental_profit"].map("{:,.1f}".format)
    out["reason"] = np.select(
        [excluded, out["selected"], out["expected_incremental_profit"] <= 0],
        ["excluded: churn most likely natural or malicious (not worth retaining)",
         "selected: expected incremental profit " + prof + " (" + basis + ")",
         "not selected: offer not expected to pay (" + prof + ")"],
        default="not selected: budget exhausted")
    return out


@dataclass(frozen=True)
class MonteCarlo:
    """Distribution of a campaign's profit and ROI over parameter uncertainty."""

    draws: pd.DataFrame = field(repr=False)
    expected_profit: float
    profit_interval: tuple[float, float]
    expected_spend: float
    roi_mean: float
    roi_interval: tuple[float, float]
    prob_loss: float
    n_draws: int
    seed: int


def monte_carlo_roi(uplift, value, cost, *, contact_cost: float, accept_rate: float,
                    outcome_noise: bool = True, effect_rel_sd: float = 0.5,
                    value_rel_sd: float = 0.2,
                    accept_concentration: float = 50.0, effect_from_acceptance: bool = False,
                    n_draws: int = 4000, seed: int = 42, level: float = 0.90) -> MonteCarlo:
    """Monte Carlo of the profit of contacting the selected customers.

    ``cost``: each customer's expected spend at the mean ``accept_rate``
    (contact cost + offer cost x acceptance). Per draw: the acceptance rate
    follows ``Beta(accept_rate k, (1 - accept_rate) k)`` with ``k =
    accept_concentration`` and scales the offer part of the spend; the effect
    is scaled by ``m_e ~ Normal(1, effect_rel_sd)`` (a pilot's relative
    standard error) or, with ``effect_from_acceptance`` (no pilot: the effect
    *is* churners accepting), by the same acceptance ratio; customer values by
    ``m_v ~ LogNormal`` with mean 1 and sd ``value_rel_sd``. With
    ``outcome_noise``, which customers are actually saved is luck too: each
    contacted customer is saved with probability ``uplift_i`` (monotonicity),
    so the retained value gets variance ``sum v_i^2 u_i (1 - u_i)`` (normal
    approximation). Profit = retained value - spend; ROI = profit / spend.
    """
    u = np.asarray(uplift, dtype=float)
    v = np.broadcast_to(np.asarray(value, dtype=float), u.shape)
    c = np.broadcast_to(np.asarray(cost, dtype=float), u.shape)
    if len(u) == 0:
        empty = pd.DataFrame(columns=["effect_multiplier", "value_multiplier", "accept_rate",
                                      "profit", "spend", "roi"], dtype=float)
        return MonteCarlo(empty, 0.0, (0.0, 0.0), 0.0, float("nan"), (float("nan"),) * 2,
                          float("nan"), n_draws, seed)
    rng = np.random.default_rng(seed)
    a = float(np.clip(accept_rate, 1e-6, 1 - 1e-6))
    acc = rng.beta(a * accept_concentration, (1 - a) * accept_concentration, n_draws)
    ratio = acc / a
    m_e = ratio if effect_from_acceptance else rng.normal(1.0, effect_rel_sd, n_draws)
    s2 = np.log1p(value_rel_sd ** 2)
    m_v = rng.lognormal(-s2 / 2, np.sqrt(s2), n_draws)
    uu = np.clip(u, 0, 1)
    noise_sd = float(np.sqrt(np.sum(v ** 2 * uu * (1 - uu)))) if outcome_noise else 0.0
    benefit = m_e * m_v * float(np.sum(u * v)) + m_v * rng.normal(0, noise_sd, n_draws)
    spend = len(u) * contact_cost + ratio * float(np.sum(c - contact_cost))
    profit = benefit - spend
    with np.errstate(divide="ignore", invalid="ignore"):
        roi = np.where(spend > 0, profit / spend, np.nan)
    q = [(1 - level) / 2, (1 + level) / 2]
    draws = pd.DataFrame({"effect_multiplier": m_e, "value_multiplier": m_v,
                          "accept_rate": acc, "profit": profit, "spend": spend, "roi": roi})
    return MonteCarlo(draws, float(profit.mean()), tuple(np.quantile(profit, q)),
                      float(spend.mean()), float(np.nanmean(roi)),
                      tuple(np.nanquantile(roi, q)), float(np.mean(profit < 0)), n_draws, seed)

