"""Customer value: RFM, concentration, BG/NBD + Gamma-Gamma CLV, lifecycle, value x risk tiers.

Modules (one concern each): ``summary`` (transaction log -> per-customer
frequency/recency/T/monetary, duckdb), ``rfm``, ``concentration``,
``bgnbd`` (Fader, Hardie & Lee 2005), ``gammagamma`` (Fader & Hardie 2013),
``lifetime`` (CLV under constant retention, retention lift, word of
mouth), ``clv`` (BG/NBD discounted CLV, calibration/holdout checks, :func:`customer_value`),
``lifecycle`` and ``tiers``.
"""

from .._face import lazy_face

__getattr__, __dir__, __all__ = lazy_face(__name__, {
    "BetaGeo": "bgnbd",
    **dict.fromkeys(("PUBLISHED_CDNOW", "PUBLISHED_CDNOW_LOGLIK", "ValueModels",
                     "calibration_holdout", "clv_total_interval", "customer_value", "discounted_clv",
                     "fit_value_models", "holdout_by_frequency", "holdout_mae",
                     "holdout_predictions", "holdout_scores", "lifecycle_outcomes",
                     "period_transactions", "refund_rate"), "clv"),
    **dict.fromkeys(("Concentration", "concentration_intervals", "concentration_summary",
                     "customer_profit", "gini", "lorenz_curve", "net_spend", "top_share",
                     "whale_curve"), "concentration"),
    **dict.fromkeys(("GammaGamma", "IndependenceCheck", "independence_check"), "gammagamma"),
    **dict.fromkeys(("STAGES", "LifecycleRules", "lifecycle_stage", "stage_summary"), "lifecycle"),
    **dict.fromkeys(("RetentionClaim", "RetentionLift", "WordOfMouth", "retained_value",
                     "retention_claim", "retention_lift", "word_of_mouth_value"), "lifetime"),
    **dict.fromkeys(("StudyPeriod", "study_period"), "period"),
    **dict.fromkeys(("RFM_RULES", "rfm_table", "rules_table", "segment_summary"), "rfm"),
    **dict.fromkeys(("purchase_days", "rfm_summary", "transaction_overview"), "summary"),
    **dict.fromkeys(("ACTIONS", "RiskScores", "apply_risk_tiers", "churn_risk_from_scores",
                     "matrix_cells", "value_risk_matrix"), "tiers"),
})

