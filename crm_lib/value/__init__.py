"""Customer value: RFM, concentration, BG/NBD + Gamma-Gamma CLV, lifecycle, value x risk tiers.

Modules (one concern each): ``summary`` (transaction log -> per-customer
frequency/recency/T/monetary, duckdb), ``rfm``, ``concentration``,
``bgnbd`` (Fader, Hardie & Lee 2005), ``gammagamma`` (Fader & Hardie 2013),
``lifetime`` (CLV under constant retention, retention lift, word of
mouth), ``clv`` (BG/NBD discounted CLV, calibration/holdout checks, :func:`customer_value`),
``lifecycle`` and ``tiers``.
"""

from .bgnbd import BetaGeo
from .clv import (
    PUBLISHED_CDNOW,
    PUBLISHED_CDNOW_LOGLIK,
    ValueModels,
    calibration_holdout,
    clv_total_interval,
    customer_value,
    discounted_clv,
    fit_value_models,
    holdout_by_frequency,
    holdout_mae,
    holdout_predictions,
    holdout_scores,
    lifecycle_outcomes,
    period_transactions,
    refund_rate,
)
from .concentration import (
    Concentration,
    concentration_intervals,
    concentration_summary,
    customer_profit,
    gini,
    lorenz_curve,
    net_spend,
    top_share,
    whale_curve,
)
from .gammagamma import GammaGamma, IndependenceCheck, independence_check
from .lifecycle import STAGES, LifecycleRules, lifecycle_stage, stage_summary
from .lifetime import (
    RetentionClaim,
    RetentionLift,
    WordOfMouth,
    retained_value,
    retention_claim,
    retention_lift,
    word_of_mouth_value,
)
from .period import StudyPeriod, study_period
from .rfm import RFM_RULES, rfm_table, rules_table, segment_summary
from .summary import purchase_days, rfm_summary, transaction_overview
from .tiers import (
    ACTIONS,
    RiskScores,
    apply_risk_tiers,
    churn_risk_from_scores,
    matrix_cells,
    value_risk_matrix,
)

__all__ = [
    "RetentionClaim", "RetentionLift", "WordOfMouth", "retained_value", "retention_claim",
    "retention_lift", "word_of_mouth_value",
    "ACTIONS", "PUBLISHED_CDNOW", "PUBLISHED_CDNOW_LOGLIK", "RFM_RULES", "STAGES", "BetaGeo",
    "Concentration", "GammaGamma", "IndependenceCheck", "LifecycleRules", "StudyPeriod",
    "ValueModels", "calibration_holdout", "churn_risk_from_scores", "clv_total_interval",
    "concentration_intervals", "concentration_summary", "customer_profit", "customer_value", "discounted_clv", "fit_value_models", "gini",
    "holdout_by_frequency", "holdout_mae", "holdout_predictions", "holdout_scores",
    "independence_check", "lifecycle_outcomes", "lifecycle_stage", "lorenz_curve",
    "matrix_cells", "net_spend", "RiskScores", "apply_risk_tiers", "period_transactions", "purchase_days", "refund_rate", "rfm_summary",
    "rfm_table", "rules_table", "segment_summary", "stage_summary",
    "study_period", "top_share", "transaction_overview", "value_risk_matrix", "whale_curve",
]
