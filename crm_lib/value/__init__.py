"""Customer value: RFM, concentration, BG/NBD + Gamma-Gamma CLV, lifecycle, value x risk tiers.

Modules (one concern each): ``summary`` (transaction log -> per-customer
frequency/recency/T/monetary, duckdb), ``rfm``, ``concentration``,
``bgnbd`` (Fader, Hardie & Lee 2005), ``gammagamma`` (Fader & Hardie 2013),
``clv`` (discounted CLV, calibration/holdout checks, :func:`customer_value`),
``lifecycle`` and ``tiers``.
"""

from .bgnbd import BetaGeo
from .clv import (
    ValueModels,
    calibration_holdout,
    customer_value,
    discounted_clv,
    fit_value_models,
    holdout_by_frequency,
    holdout_mae,
    holdout_predictions,
    period_transactions,
    refund_rate,
)
from .concentration import Concentration, concentration, gini, lorenz_curve, top_share, whale_curve
from .gammagamma import GammaGamma, IndependenceCheck, independence_check
from .lifecycle import STAGES, LifecycleRules, lifecycle_stage, stage_summary
from .rfm import RFM_RULES, rfm_table, rules_table, segment_summary
from .summary import purchase_days, rfm_summary
from .tiers import ACTIONS, matrix_cells, value_risk_matrix

__all__ = [
    "ACTIONS", "RFM_RULES", "STAGES", "BetaGeo", "Concentration", "GammaGamma",
    "IndependenceCheck", "LifecycleRules", "ValueModels", "calibration_holdout", "concentration",
    "customer_value", "discounted_clv", "fit_value_models", "gini", "holdout_by_frequency",
    "holdout_mae", "holdout_predictions", "independence_check", "lifecycle_stage",
    "lorenz_curve", "matrix_cells", "period_transactions", "purchase_days", "refund_rate",
    "rfm_summary", "rfm_table", "rules_table", "segment_summary", "stage_summary", "top_share",
    "value_risk_matrix", "whale_curve",
]
