"""Customer lifecycle stage from tenure and activity.

The CRM lifecycle (initial/exploration, purchase, consumption and repeat or
end; Dwyer, Schurr & Oh 1987, "Developing buyer-seller relationships",
Journal of Marketing 51(2)) is turned into five stages with a rule anyone
can check. The first matching rule wins:

1. lapsed: the relationship has ended. In a contractual setting this is
   observed (customers.end_date on or before the as-of date); without a
   customers table (non-contractual, e.g. CDNOW) it is inferred from
   silence longer than ``lapsed_weeks``.
2. acquisition (new): first purchase or signup less than ``new_weeks`` ago.
3. growth: tenure under ``maturity_weeks``.
4. decline: the purchase model says the customer has probably stopped
   buying: P(alive) below ``decline_p_alive``.
5. maturity: everyone else (established and still buying).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

STAGES = ("acquisition", "growth", "maturity", "decline", "lapsed")

#: The retention task of each stage (CRM_CONCEPTS.md section 9).
STAGE_TASKS = {
    "acquisition": "onboard: welcome, first-use help, earn the second purchase",
    "growth": "develop: cross-sell, raise switching costs, collect feedback",
    "maturity": "retain: loyalty rewards, service quality, referrals",
    "decline": "rescue: find the cause, reactivation offer if the value justifies it",
    "lapsed": "win back selectively, or let go (natural and malicious churn)",
}


@dataclass(frozen=True)
class LifecycleRules:
    """Thresholds of the lifecycle rule (weeks and a probability)."""

    new_weeks: float = 13.0
    maturity_weeks: float = 52.0
    lapsed_weeks: float = 52.0
    decline_p_alive: float = 0.5

    def table(self, contractual: bool = True) -> pd.DataFrame:
        """The rule as a table: order, stage, condition, task."""
        lapsed = ("customers.end_date on or before the as-of date (relationship ended)"
                  if contractual else
                  f"no purchase for more than {self.lapsed_weeks:g} weeks")
        rows = [
            ("lapsed", lapsed),
            ("acquisition", f"tenure under {self.new_weeks:g} weeks"),
            ("growth", f"tenure under {self.maturity_weeks:g} weeks"),
            ("decline", f"P(alive) under {self.decline_p_alive:g}"),
            ("maturity", "everyone else: established and still buying"),
        ]
        return pd.DataFrame({"order": range(1, 6), "stage": [r[0] for r in rows],
                             "condition": [r[1] for r in rows],
                             "task": [STAGE_TASKS[r[0]] for r in rows]})


def lifecycle_stage(tenure_weeks: object, weeks_since_last: object, p_alive: object,
                    ended: object | None = None, rules: LifecycleRules | None = None
                    ) -> np.ndarray:
    """Stage per customer by the rule in the module docstring.

    ``ended`` (bool per customer) marks observed relationship ends; when it
    is None, lapsing is inferred from ``weeks_since_last`` > lapsed_weeks.
    """
    rules = rules or LifecycleRules()
    tenure = np.asarray(tenure_weeks, dtype=float)
    silent = np.asarray(weeks_since_last, dtype=float)
    pa = np.asarray(p_alive, dtype=float)
    if ended is None:
        lapsed = silent > rules.lapsed_weeks
    else:
        lapsed = np.asarray(pd.Series(ended).fillna(False).astype(bool), dtype=bool)
    return np.select(
        [lapsed, tenure < rules.new_weeks, tenure < rules.maturity_weeks,
         pa < rules.decline_p_alive],
        ["lapsed", "acquisition", "growth", "decline"], default="maturity")


def stage_summary(values: pd.DataFrame, outcome: str | None = None) -> pd.DataFrame:
    """Customers, share, value and (optionally) an outcome rate per lifecycle stage.

    ``values`` has lifecycle_stage, clv and revenue columns (``customer_value``
    output); ``outcome`` names a 0/1 column (e.g. churned, no holdout purchase)
    whose mean is reported as ``<outcome>_rate``.
    """
    g = values.groupby("lifecycle_stage")
    out = pd.DataFrame({
        "customers": g.size(),
        "share": g.size() / len(values),
        "mean_clv": g["clv"].mean(),
        "clv_share": g["clv"].sum() / values["clv"].sum(),
        "mean_revenue": g["revenue"].mean(),
    })
    if outcome is not None:
        out[f"{outcome}_rate"] = g[outcome].mean()
    out = out.reindex([s for s in STAGES if s in out.index])
    out["task"] = [STAGE_TASKS[s] for s in out.index]
    return out
