"""Interpretive sentences generated from the numbers (one function per sentence).

A sentence on a report must follow from the figures it quotes, so each one is
written by a function of those figures: when the numbers change sides (a trend
whose interval moves off zero, a budget that stops binding) the sentence
changes with them. Numbers are formatted by :mod:`crm_lib.fmt`.
"""

from __future__ import annotations

import math

from . import fmt


def _ok(*xs: object) -> bool:
    return all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
               for x in xs)


def churn_trend(slope: float, ci_low: float, ci_high: float, months: int = 12) -> str:
    """Rising / falling / no clear trend of the monthly churn rate (95% interval vs 0)."""
    if not _ok(slope, ci_low, ci_high):
        return "The churn trend could not be estimated in this run."
    trend = (f"{fmt.pp(slope, 3)} a month over the last {months} months (95% interval "
             f"{fmt.pp(ci_low, 3)} to {fmt.pp(ci_high, 3)})")
    if ci_low > 0:
        return f"Monthly churn is rising: {trend}."
    if ci_high < 0:
        return f"Monthly churn is falling: {trend}."
    return (f"Monthly churn shows no clear trend: {trend}; the interval includes zero, so "
            "neither a rise nor a fall is supported.")


def value_at_risk(at_risk: float, total: float, n_at_risk: int, at_risk_loss: float,
                  basis: str = "") -> str:
    """How much of the value churn is expected to take, and how concentrated that loss is."""
    if not _ok(at_risk, total) or total <= 0:
        return "The value at risk could not be computed in this run."
    share = at_risk / total
    conc = at_risk_loss / at_risk if at_risk > 0 and _ok(at_risk_loss) else float("nan")
    text = (f"Churn is expected to take {fmt.currency(at_risk)} of {fmt.currency(total)} "
            f"customer value ({fmt.percent(share)})")
    if _ok(conc) and n_at_risk:
        where = "concentrated" if conc >= 0.3 else "spread out"
        text += (f"; the loss is {where}: the {fmt.count(n_at_risk)} customers at risk carry "
                 f"{fmt.percent(conc)} of it")
    return text + (f" (value: {basis})." if basis else ".")


def budget(optimum_spend: float, budget_limit: float, marginal_return: float,
           optimum_n: int | None = None, depth: float | None = None) -> str:
    """Whether the budget limit binds, and what the next unit of budget would return."""
    if not _ok(optimum_spend, budget_limit):
        return "The profit-maximising budget could not be computed in this run."
    where = ""
    if optimum_n is not None and _ok(depth):
        where = f" ({fmt.count(optimum_n)} customers, {fmt.percent(depth)} of the active base)"
    if optimum_spend > budget_limit:
        ret = (f"; at the limit each extra unit of budget still returns "
               f"{fmt.ratio(marginal_return, 2)} in expected profit"
               if _ok(marginal_return) else "")
        return (f"The budget limit of {fmt.currency(budget_limit)} binds: the "
                f"profit-maximising campaign would spend {fmt.currency(optimum_spend)}"
                f"{where}{ret}.")
    return (f"The budget limit of {fmt.currency(budget_limit)} does not bind: the "
            f"profit-maximising campaign spends {fmt.currency(optimum_spend)}{where}, where "
            "one more contact no longer pays for itself.")


def no_contact(budget_limit: float, ate: float | None = None, ci_low: float | None = None,
               ci_high: float | None = None) -> str:
    """Why the optimiser recommends contacting nobody, from the pilot's effect on churn.

    ``ate`` is the pilot's change in churn from the offer (treated minus control, so
    negative is good) with its 95% interval. The sentence names what the interval
    supports: no measurable effect (it includes zero), an offer that raises churn, or an
    offer that lowers churn by too little to repay its costs at these economics.
    """
    limit = (f"none of the {fmt.currency(budget_limit)} budget limit"
             if _ok(budget_limit) else "nothing")
    rec = f"the optimiser recommends contacting nobody and spending {limit}"
    if not _ok(ate, ci_low, ci_high):
        return (f"No customer is expected to repay the offer and contact costs, so {rec}.")
    effect = (f"{fmt.pp(ate, 2)} (95% interval {fmt.pp(ci_low, 2)} to "
              f"{fmt.pp(ci_high, 2)})")
    if ci_low <= 0 <= ci_high:
        return (f"The pilot shows no measurable effect of the offer on churn: {effect}, an "
                f"interval that includes zero. No customer is expected to repay the offer and "
                f"contact costs, so {rec}; only a larger pilot could show a small effect.")
    if ci_low > 0:
        return (f"The pilot shows that the offer raises churn: {effect}. Contacting anyone "
                f"is expected to lose money, so {rec}.")
    return (f"The pilot shows that the offer lowers churn: {effect}; but at these economics "
            f"no customer's expected saved value covers the offer and contact costs, so {rec}.")


def nps(score: float, ci_low: float, ci_high: float) -> str:
    """More promoters or more detractors, and whether the interval can tell."""
    if not _ok(score, ci_low, ci_high):
        return "No Net Promoter Score in this run."
    interval = f"{fmt.number(score, 1)} (95% interval {fmt.number(ci_low, 1)} to " \
               f"{fmt.number(ci_high, 1)})"
    if ci_low > 0:
        return f"Promoters outnumber detractors: NPS {interval}."
    if ci_high < 0:
        return f"Detractors outnumber promoters: NPS {interval}."
    return f"Promoters and detractors are about even: NPS {interval} includes zero."


def roi(expected_roi: float, prob_loss: float | None = None) -> str:
    """The expected return on the spend, with the chance of losing money."""
    if not _ok(expected_roi):
        return "No expected return on the campaign in this run."
    verb = "earns" if expected_roi > 0 else "loses"
    text = f"The campaign is expected to {verb[:-1]} {fmt.percent(abs(expected_roi))} on its spend"
    if _ok(prob_loss):
        text += f", with a {fmt.percent(prob_loss)} chance of losing money"
    return text + "."


def retention_vs_acquisition(cost_per_save: float, acquisition_cost: float,
                             textbook_ratio: float = 5.0) -> str:
    """Cost of saving a customer against the acquisition cost and the textbooks' 5x."""
    if not _ok(cost_per_save, acquisition_cost) or cost_per_save <= 0:
        return "The cost of saving a customer could not be computed in this run."
    ratio = acquisition_cost / cost_per_save
    side = "below" if ratio < textbook_ratio else "at or above"
    return (f"Saving a customer costs {fmt.currency(cost_per_save)}; acquiring one costs "
            f"{fmt.number(ratio, 1)}x as much ({fmt.currency(acquisition_cost)}): {side} the "
            f"{fmt.number(textbook_ratio, 0)}x the textbooks cite.")


def model_strength(auc: float, weak: float = 0.70) -> str:
    """Whether the churn model separates leavers from stayers well enough to target on."""
    if not _ok(auc):
        return "No churn model in this run."
    if auc < weak:
        return (f"The churn model is weak (cross-validated ROC AUC {fmt.ratio(auc)}, below "
                f"{fmt.ratio(weak, 2)}): treat its probabilities and the value at risk with "
                "caution.")
    return (f"The churn model ranks customers usefully (cross-validated ROC AUC "
            f"{fmt.ratio(auc)}).")


def data_quality(table: str, rows_in: int, quarantined: int, duplicates: int,
                 limit: float = 0.01, serious: float = 0.05) -> str | None:
    """A warning when more than ``limit`` of a table's rows were quarantined or dropped as
    duplicates ("serious" above ``serious``); None when the table is clean enough."""
    if not _ok(rows_in) or rows_in <= 0:
        return None
    q, d = (quarantined or 0) / rows_in, (duplicates or 0) / rows_in
    if q <= limit and d <= limit:
        return None
    level = "Serious: " if q > serious else ""
    return (f"{level}{table}: {fmt.count(quarantined)} of {fmt.count(rows_in)} rows quarantined "
            f"({fmt.percent(q)}) and {fmt.count(duplicates)} duplicates dropped "
            f"({fmt.percent(d)}); figures built on this table rest on fewer rows than were sent.")
