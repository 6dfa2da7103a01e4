"""Survey analytics: satisfaction, loyalty and what drives them (notebook 02).

Modules, one concern each:

- :mod:`~crm_lib.survey.items`: codebook-driven item preparation (reverse
  coding, checks with documented treatments);
- :mod:`~crm_lib.survey.reliability`: alpha (Feldt CI), omega, rho_C, AVE,
  item-total, KMO, Bartlett;
- :mod:`~crm_lib.survey.pls`: PLS path modelling (mode A; path, centroid,
  factorial schemes) and consistent PLS, bootstrap, GoF, HTMT;
- :mod:`~crm_lib.survey.sem`: CB-SEM/CFA by ML (semopy) with lavaan-style fit;
- :mod:`~crm_lib.survey.model`: the ECSI model estimated three ways;
- :mod:`~crm_lib.survey.nps`: NPS with trinomial and bootstrap intervals, tests;
- :mod:`~crm_lib.survey.drivers`: relative weights, LMG, importance-performance;
- :mod:`~crm_lib.survey.loyalty`: attitudes joined to behaviour, response
  curves, zones, satisfied defectors, loyalty typology;
- :mod:`~crm_lib.survey.report`: one call per notebook step and the metrics.
"""

from .drivers import (
                      DriverImportance,
                      ImportancePerformance,
                      driver_importance,
                      importance_performance,
                      lmg,
                      relative_weights,
)
from .items import PreparedSurvey, SurveyInputError, prepare_items
from .loyalty import (
                      FollowUp,
                      LoyaltyTypology,
                      loyalty_typology,
                      respondent_behaviour,
                      response_curve,
                      satisfaction_loyalty_table,
                      zones,
)
from .model import ECSI_PATHS, StructuralModel, estimate_structural_model, latest_per_respondent
from .nps import nps_by, nps_difference, nps_pairwise
from .pls import PLSPathModel, fornell_larcker, htmt
from .reliability import cronbach_alpha, item_table, kmo, mcdonald_omega, reliability_table
from .report import (
                      behavioural_loyalty,
                      codebook_overview,
                      driver_inputs,
                      headline_nps,
                      loyalty_frame,
                      measurement_table,
                      nps_overview,
                      survey_metrics,
                      with_segment,
)
from .sem import fit_sem

__all__ = [
    "DriverImportance", "ECSI_PATHS", "FollowUp", "ImportancePerformance", "LoyaltyTypology",
    "PLSPathModel", "PreparedSurvey", "StructuralModel", "SurveyInputError",
    "behavioural_loyalty", "codebook_overview", "cronbach_alpha", "driver_importance",
    "driver_inputs", "estimate_structural_model", "fit_sem", "fornell_larcker",
    "headline_nps", "htmt", "importance_performance", "item_table", "kmo",
    "latest_per_respondent", "lmg", "loyalty_frame", "loyalty_typology", "mcdonald_omega",
    "measurement_table", "nps_by", "nps_difference", "nps_overview", "nps_pairwise",
    "prepare_items", "relative_weights", "reliability_table", "respondent_behaviour",
    "response_curve", "satisfaction_loyalty_table", "survey_metrics", "with_segment", "zones",
]
