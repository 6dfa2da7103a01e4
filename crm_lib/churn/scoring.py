"""From a customers table to action: fitted churn model, scores, tiers and reasons.

``score_customers`` is the interface other notebooks use: it learns churn
within the horizon from the customers active at ``as_of - horizon``
(features dated before that cutoff only, see
:mod:`crm_lib.churn.definition`), then scores everybody active at
``as_of`` with features as of ``as_of``: a calibrated probability, a risk
tier and the top reasons. ``out_of_fold_scores`` gives honest
(cross-validated) probabilities of the training customers, for profit and
ROI evaluation against known outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

from ..privacy import pseudonymise
from . import definition, explain, models

#: Risk tiers by score quantile among the scored customers: bottom 70% low,
#: next 20% medium, top 10% high (a retention team's contact capacity).
TIER_QUANTILES = (0.7, 0.9)


@dataclass
class ChurnModel:
    """A fitted churn model with its window, training features and reference profile."""

    estimator: object
    window: definition.ChurnWindow
    features: list[str]
    reference: dict
    binary: list[str]
    base_rate: float
    kind: str
    n_train: int
    reason_features: list[str] = field(default_factory=list)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated churn probability within the horizon for feature rows ``X``."""
        return self.estimator.predict_proba(self._align(X))[:, 1]

    def top_reasons(self, X: pd.DataFrame, k: int = 3) -> pd.DataFrame:
        """Top ``k`` reasons per row of ``X`` among the model's reason candidates."""
        ref = {c: self.reference[c] for c in (self.reason_features or self.features)}
        return explain.top_reasons(self.estimator, self._align(X), ref, k=k, binary=self.binary)

    def _align(self, X: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.features if c not in X]
        if missing:
            X = X.copy()
            for c in missing:  # a table without history rows: the feature is absent
                X[c] = np.nan
        return X[self.features]


def display_scores(scores: pd.DataFrame, n: int = 10, salt: str | None = None) -> pd.DataFrame:
    """The ``n`` highest-risk customers with pseudonymised ids (for HTML reports)."""
    top = scores.sort_values("churn_probability", ascending=False).head(n).copy()
    top["customer_id"] = pseudonymise(top["customer_id"], salt).to_numpy()
    return top.rename(columns={"customer_id": "customer (pseudonym)"}).reset_index(drop=True)


def risk_tiers(p, quantiles=TIER_QUANTILES) -> pd.Series:
    """low / medium / high by score quantile (ties broken by rank order)."""
    p = np.asarray(p, float)
    q = pd.Series(p).rank(method="first", pct=True).to_numpy()
    lo, hi = quantiles
    return pd.Series(np.select([q > hi, q > lo], ["high", "medium"], "low"), dtype=object)


def _tables(interactions, transactions) -> dict:
    return {"interactions": interactions, "transactions": transactions}


def fit_churn_model(customers: pd.DataFrame, *, as_of, seed: int = 42, horizon_months: int = 6,
                    kind: str = "ensemble", calibration: str = "sigmoid",
                    interactions: pd.DataFrame | None = None,
                    transactions: pd.DataFrame | None = None,
                    frame: tuple | None = None) -> ChurnModel:
    """Fit the calibrated churn model on the training frame (see module docstring).

    ``frame``: the ``(X, y, window)`` that :func:`definition.training_frame` returns
    for these same arguments, when the caller has built it already (notebook 04
    does); it is checked to be the frame of this ``as_of`` and horizon.
    """
    if frame is None:
        frame = definition.training_frame(customers, as_of=as_of,
                                          horizon_months=horizon_months,
                                          **_tables(interactions, transactions))
    else:
        expect = definition.churn_window(customers, as_of, horizon_months)
        if frame[2] != expect:
            raise ValueError(f"frame was built for {frame[2].describe()}, not for "
                             f"{expect.describe()}")
    X, y, w = frame
    est = models.make_model(kind, calibration=calibration, seed=seed).fit(X, y)
    ref = explain.reference_values(X)
    return ChurnModel(est, w, list(X.columns), ref, explain.binary_columns(X),
                      float(y.mean()), kind, len(X),
                      explain.reason_candidates(est, X, ref, seed=seed))


def score_customers(customers: pd.DataFrame, *, as_of, seed: int = 42,
                    interactions: pd.DataFrame | None = None,
                    transactions: pd.DataFrame | None = None, horizon_months: int = 6,
                    kind: str = "ensemble", calibration: str = "sigmoid",
                    n_reasons: int = 3, model: ChurnModel | None = None
                    ) -> tuple[pd.DataFrame, ChurnModel]:
    """Score every customer active at ``as_of``; returns ``(scores, fitted_model)``.

    ``scores`` columns: customer_id, churn_probability (calibrated, churn
    within the horizon), risk_tier (low / medium / high: bottom 70%, next
    20%, top 10% of scores), top_reasons (the columns raising this
    customer's probability most versus a typical value, "; "-separated) and
    reason_points (those rises in percentage points). Pass ``model`` to
    reuse a fitted :class:`ChurnModel`.
    """
    m = model or fit_churn_model(customers, as_of=as_of, seed=seed,
                                 horizon_months=horizon_months, kind=kind,
                                 calibration=calibration,
                                 **_tables(interactions, transactions))
    X = m._align(definition.scoring_frame(customers, as_of=as_of,
                                          **_tables(interactions, transactions)))
    p = m.predict_proba(X)
    scores = pd.DataFrame({"customer_id": X.index.to_numpy(str), "churn_probability": p})
    scores["risk_tier"] = risk_tiers(p).to_numpy()
    reasons = m.top_reasons(X, k=n_reasons)
    scores["top_reasons"] = reasons["top_reasons"].to_numpy()
    scores["reason_points"] = reasons["reason_points"].to_numpy()
    return scores, m


def out_of_fold_scores(customers: pd.DataFrame, *, seed: int = 42, as_of=None,
                       horizon_months: int = 6, kind: str = "ensemble",
                       calibration: str = "sigmoid", n_splits: int = 5,
                       interactions: pd.DataFrame | None = None,
                       transactions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Cross-validated churn probabilities of the training customers (one seeded k-fold).

    Columns: customer_id, churned (churn within the horizon, 0/1),
    oof_probability (from a model that never saw that customer). ``as_of``
    defaults to the latest signup or end date in the table.
    """
    if as_of is None:
        dates = [pd.to_datetime(customers[c], errors="coerce").max()
                 for c in ("signup_date", "end_date") if c in customers]
        as_of = max(d for d in dates if pd.notna(d))
    X, y, _ = definition.training_frame(customers, as_of=as_of, horizon_months=horizon_months,
                                        **_tables(interactions, transactions))
    est = models.make_model(kind, calibration=calibration, seed=seed)
    p = np.full(len(X), np.nan)
    for tr, te in StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(X, y):
        p[te] = clone(est).fit(X.iloc[tr], y.iloc[tr]).predict_proba(X.iloc[te])[:, 1]
    return pd.DataFrame({"customer_id": X.index.to_numpy(str), "churned": y.to_numpy(int),
                         "oof_probability": p})
