"""Value x churn-risk matrix: value tiers first, risk tiers second, an action per cell.

The CRM texts put value-based tiers first and risk second (utility sector
practice; concept 8 of docs/teaching.md). Value tiers cut CLV at quantiles (by
default the bottom 50% "low", the next 30% "medium", the top 20% "high");
risk tiers cut a churn-risk score, by default 1 - P(alive) from BG/NBD, or a
churn model's probability when one is available. Each of the nine cells
gets a named action; the matrix reports per cell the customers, the value at
stake (their total CLV: what the firm expects from them, and stands to lose
if they all left now) and the potential if retained.

Potential if retained: BG/NBD's conditional expectation factorises as
P(alive) x E[purchases | alive], so ``clv_if_alive`` is the CLV had the
customer certainly still been active; its sum is an upper bound for what
retention or win-back could reach in the cell. The gap between the two is
the value the model thinks is probably already lost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

VALUE_TIERS = ("low", "medium", "high")
RISK_TIERS = ("low", "medium", "high")

#: Named action per (value tier, risk tier).
ACTIONS: dict[tuple[str, str], str] = {
    ("high", "high"): "save: personal call and a retention offer",
    ("high", "medium"): "protect: account manager, proactive service",
    ("high", "low"): "reward and grow: VIP service, referral programme",
    ("medium", "high"): "win back: targeted offer, capped by the value at stake",
    ("medium", "medium"): "engage: personalised campaigns, loyalty points",
    ("medium", "low"): "develop: cross-sell and upsell",
    ("low", "high"): "let go: low-cost automated reactivation only",
    ("low", "medium"): "automate: e-mail nurture, self-service",
    ("low", "low"): "serve efficiently: self-service, grow basket size",
}


def value_tier(clv: object, cuts: tuple[float, float] = (0.5, 0.8)) -> np.ndarray:
    """low / medium / high by CLV rank quantiles ``cuts`` (ties share the lower tier)."""
    s = pd.Series(np.asarray(clv, dtype=float))
    q = (s.rank(method="min") - 1) / max(len(s), 1)
    return np.select([q >= cuts[1], q >= cuts[0]], ["high", "medium"], default="low")


def risk_tier(risk: object, cuts: tuple[float, float] = (0.3, 0.6)) -> np.ndarray:
    """low / medium / high by fixed cut points on a churn-risk score in [0, 1]."""
    r = np.asarray(risk, dtype=float)
    return np.select([r >= cuts[1], r >= cuts[0]], ["high", "medium"], default="low")


def action(value: object, risk: object) -> np.ndarray:
    """The named action of each customer's (value tier, risk tier) cell."""
    keys = pd.Series(list(zip(np.asarray(value), np.asarray(risk), strict=True)))
    return keys.map(ACTIONS).to_numpy(dtype=object)


def value_risk_matrix(values: pd.DataFrame, stat: str = "customers") -> pd.DataFrame:
    """3 x 3 matrix (value tier rows, risk tier columns) of ``stat``.

    ``stat``: customers, value_at_stake, potential_if_retained, clv_share or action.
    """
    cells = matrix_cells(values)
    m = cells.pivot(index="value_tier", columns="risk_tier", values=stat)
    return m.reindex(index=VALUE_TIERS[::-1], columns=RISK_TIERS)


def matrix_cells(values: pd.DataFrame) -> pd.DataFrame:
    """One row per cell: tiers, action, customers, share, value at stake, CLV share, potential.

    ``value_at_stake`` = sum of CLV; ``potential_if_retained`` = sum of
    ``clv_if_alive`` (see module docstring).
    """
    need = [c for c in ("value_tier", "risk_tier", "clv", "clv_if_alive")
            if c not in values.columns]
    if need:
        raise ValueError(f"value_risk_matrix needs columns {', '.join(need)} "
                         "(from crm_lib.value.customer_value)")
    full = pd.MultiIndex.from_product([VALUE_TIERS[::-1], RISK_TIERS],
                                      names=["value_tier", "risk_tier"])
    g = values.groupby(["value_tier", "risk_tier"])
    nums = ["customers", "value_at_stake", "potential_if_retained"]
    out = pd.DataFrame({"customers": g.size(), "value_at_stake": g["clv"].sum(),
                        "potential_if_retained": g["clv_if_alive"].sum()}).reindex(full)
    out[nums] = out[nums].fillna(0)
    out["customers"] = out["customers"].astype("int64")
    out["share"] = out["customers"] / max(len(values), 1)
    out["clv_share"] = out["value_at_stake"] / values["clv"].sum()
    out = out.reset_index()
    out["action"] = [ACTIONS[(v, r)] for v, r in zip(out["value_tier"], out["risk_tier"],
                                                     strict=True)]
    return out[["value_tier", "risk_tier", "action", "customers", "share", "value_at_stake",
                "clv_share", "potential_if_retained"]]

@dataclass(frozen=True)
class RiskScores:
    """The churn-risk score of the value x risk matrix and where it came from."""

    risk: pd.Series | None  # per customer_id; None: use 1 - P(alive)
    source: str
    from_churn_model: bool
    tiers: pd.Series | None = None  # per customer_id: notebook 04's risk tier, "high" if ended

    def metrics(self) -> dict[str, bool]:
        return {"value.risk_from_churn_model": self.from_churn_model}


def apply_risk_tiers(values: pd.DataFrame, risk: RiskScores) -> pd.DataFrame:
    """Risk tiers from the churn model's own tiers when there are scores.

    Notebook 04 cuts its probabilities by rank (top 10% high, next 20% medium:
    a contact capacity), because a calibrated churn probability over a short
    horizon rarely reaches fixed cut points such as 0.3 and 0.6, which would
    leave the medium and high tiers empty by construction. Customers whose plan
    has ended are high. Without scores (``risk.tiers`` None) the fixed cuts on
    1 - P(alive) stay. The action of each cell follows the new tier.
    """
    if risk.tiers is None:
        return values
    out = values.copy()
    tier = out["customer_id"].astype(str).map(risk.tiers)
    out["risk_tier"] = tier.fillna(out["risk_tier"]).to_numpy(dtype=object)
    out["action"] = action(out["value_tier"], out["risk_tier"])
    return out


def churn_risk_from_scores(scores: pd.DataFrame | None, customers: pd.DataFrame | None = None,
                           *, as_of=None) -> RiskScores:
    """Churn risk per customer from notebook 04's ``churn_scores`` artefact.

    ``scores`` (``crm_lib.artefacts.read(run_dir, "churn_scores")``) covers the
    customers active at ``as_of``; with the ``customers`` table, a customer whose
    plan ended by ``as_of`` (:func:`crm_lib.churn.definition.active_at`) has
    already left and gets risk 1, instead of silently falling back to
    1 - P(alive) in the low-risk column. Without scores (04 has not run in this
    run folder) the risk is None and the matrix uses 1 - P(alive) from BG/NBD;
    ``source`` says which.
    """
    if scores is None:
        return RiskScores(None, "1 - P(alive) from BG/NBD (notebook 04 has not written churn "
                          "scores to this run folder)", False)
    risk = pd.Series(scores["churn_probability"].to_numpy(float),
                     index=scores["customer_id"].astype(str), name="churn_probability")
    tiers = pd.Series(scores["risk_tier"].astype(str).to_numpy(), index=risk.index)
    ended = 0
    if customers is not None and as_of is not None:
        from ..churn.definition import active_at, prepare_customers
        c = prepare_customers(customers, as_of)
        gone = c.loc[~active_at(c, as_of), "customer_id"].astype(str)
        gone = gone[~gone.isin(risk.index)]
        ended = len(gone)
        risk = pd.concat([risk, pd.Series(1.0, index=gone.to_numpy(), name=risk.name)])
        tiers = pd.concat([tiers, pd.Series("high", index=gone.to_numpy())])
    return RiskScores(risk, "churn probability and risk tier of notebook 04's model (this run:"
                      " top 10% high, next 20% medium)"
                      + (f"; {ended:,} customers whose plan had ended by the analysis date "
                         "count as risk 1, high (already left)" if ended else ""), True, tiers)
