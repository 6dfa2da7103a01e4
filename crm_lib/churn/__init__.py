"""Churn: when, who and why customers leave (notebook 04).

Modules: :mod:`.definition` (what churn means, look-ahead-free features),
:mod:`.survival` (cohorts, Kaplan-Meier, log-rank, Cox), :mod:`.sbg`
(shifted-beta-geometric retention), :mod:`.models` (classifiers for any
schema), :mod:`.evaluation` (repeated CV, calibration, lift),
:mod:`.explain` (importance, partial dependence, reasons per customer),
:mod:`.reasons` (taxonomy shares, complaints, switching costs,
satisfaction) and :mod:`.scoring` (scores for action).
"""

from .._face import lazy_face

__getattr__, __dir__, __all__ = lazy_face(__name__, {
    **dict.fromkeys(("ChurnModel", "fit_churn_model", "out_of_fold_scores", "score_customers"), "scoring"),
})

