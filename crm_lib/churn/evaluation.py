"""How good are churn scores? Discrimination, calibration and targeting value.

- Repeated stratified k-fold cross-validation (5 x 3 by default, seeded):
  every metric is the mean over the 15 test folds, with its standard
  deviation (Kohavi 1995; Bouckaert & Frank 2004 on repeated CV).
- ROC AUC (Hanley & McNeil 1982) and PR AUC (average precision; Davis &
  Goadrich 2006: more telling when churners are rare).
- Brier score (Brier 1950) and expected calibration error (ECE: mean
  absolute gap between predicted and observed churn over 10 equal-width
  probability bins, weighted by bin size; Naeini et al. 2015), with the
  reliability (calibration) curve.
- Lift and cumulative gains by decile (Ling & Li 1998; Neslin et al. 2006,
  the churn-modelling tournament's top-decile lift).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV, _SigmoidCalibration
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import RepeatedStratifiedKFold, check_cv

from .explain import rank_auc
from .models import CalibratedChurnModel, ChurnEnsemble, member_log, threads


def expected_calibration_error(y, p, n_bins: int = 10) -> float:
    """ECE over ``n_bins`` equal-width probability bins, weighted by bin size."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    b = np.minimum((p * n_bins).astype(int), n_bins - 1)
    gap = np.abs(np.bincount(b, y, n_bins) - np.bincount(b, p, n_bins))
    return float(gap.sum() / len(y))


def top_decile_lift(y, p, share: float = 0.1) -> float:
    """Churn rate among the ``share`` highest scores divided by the overall churn rate."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    k = max(1, int(round(share * len(y))))
    top = np.argsort(-p, kind="stable")[:k]
    return float(y[top].mean() / y.mean())


def average_precision(y, p) -> float:
    """PR AUC as scikit-learn's ``average_precision_score``: the sum over distinct score
    thresholds (highest first) of precision times the rise in recall, computed from one
    sort (the metrics are taken on every test fold of every model)."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    order = np.argsort(-p, kind="mergesort")
    ps, ys = p[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(ps)), len(ps) - 1]  # last row of each threshold
    tps = np.cumsum(ys)[last]
    fps = (last + 1) - tps
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def score_metrics(y, p) -> dict[str, float]:
    """ROC AUC, PR AUC, Brier, ECE and top-decile lift of one set of scores.

    ROC AUC, PR AUC and Brier score are scikit-learn's numbers computed directly
    (:func:`~crm_lib.churn.explain.rank_auc`, :func:`average_precision`, the mean
    squared error): the same values without the input checks that cost more than the
    sums on a test fold.
    """
    y, p = np.asarray(y).astype(int), np.asarray(p, float)
    if y.min() == y.max():  # one class: let scikit-learn say what is undefined
        return {"roc_auc": roc_auc_score(y, p), "pr_auc": average_precision_score(y, p),
                "brier": brier_score_loss(y, p), "ece": expected_calibration_error(y, p),
                "top_decile_lift": top_decile_lift(y, p)}
    return {"roc_auc": rank_auc(y, p), "pr_auc": average_precision(y, p),
            "brier": float(np.mean((p - y) ** 2)), "ece": expected_calibration_error(y, p),
            "top_decile_lift": top_decile_lift(y, p)}


def gains_table(y, p, n_groups: int = 10) -> pd.DataFrame:
    """Decile table (highest scores first): churners, rate, lift and cumulative gains."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    order = np.argsort(-p, kind="stable")
    grp = np.arange(len(y)) * n_groups // len(y)
    ys, ps = y[order], p[order]
    d = pd.DataFrame({"decile": grp + 1, "y": ys, "p": ps}).groupby("decile").agg(
        customers=("y", "size"), churners=("y", "sum"), mean_score=("p", "mean"))
    d["churn_rate"] = d["churners"] / d["customers"]
    d["lift"] = d["churn_rate"] / y.mean()
    d["cum_share_customers"] = d["customers"].cumsum() / len(y)
    d["cum_gain"] = d["churners"].cumsum() / y.sum()
    d["cum_lift"] = d["cum_gain"] / d["cum_share_customers"]
    return d.reset_index()


def calibration_table(y, p, n_bins: int = 10, strategy: str = "quantile") -> pd.DataFrame:
    """Reliability curve: mean predicted and observed churn per bin, with counts and 95% CIs.

    ``strategy``: ``quantile`` (equal-size bins: readable when churn is rare and
    most scores are small) or ``uniform`` (equal-width bins, as in the ECE).
    """
    y, p = np.asarray(y, float), np.asarray(p, float)
    if strategy == "quantile":
        b = np.minimum((pd.Series(p).rank(method="first").to_numpy() - 1) * n_bins // len(p),
                       n_bins - 1).astype(int)
    elif strategy == "uniform":
        b = np.minimum((p * n_bins).astype(int), n_bins - 1)
    else:
        raise ValueError("strategy must be 'quantile' or 'uniform'")
    d = pd.DataFrame({"bin": b, "y": y, "p": p}).groupby("bin").agg(
        customers=("y", "size"), predicted=("p", "mean"), observed=("y", "mean"))
    se = np.sqrt(d["observed"] * (1 - d["observed"]) / d["customers"])
    d["ci_low"] = (d["observed"] - 1.96 * se).clip(0, 1)
    d["ci_high"] = (d["observed"] + 1.96 * se).clip(0, 1)
    return d.reset_index()


@dataclass
class CVResult:
    """Per-fold metrics, averaged out-of-fold probabilities and timing of a repeated CV."""

    folds: pd.DataFrame  # one row per (repeat, fold): metrics
    oof: pd.DataFrame  # customer_id index: y, probability (mean over repeats), per-repeat
    seconds: float
    #: what was cross-validated, on which folds (``(n_splits, n_repeats, seed)``), and each
    #: test fold's probabilities: what :func:`compare_models` needs to reuse this result
    model: object = None
    design: tuple | None = None
    probabilities: list = field(default_factory=list, repr=False)
    #: a calibrated ensemble's members, each calibrated as the ensemble is: name -> the
    #: equivalent stand-alone calibrated model and its test-fold probabilities
    members: dict = field(default_factory=dict, repr=False)
    #: the first folds' fitted models with their test rows (positions in X): held-out
    #: explanations reuse them instead of fitting another model
    fitted: list = field(default_factory=list, repr=False)

    def summary(self) -> pd.DataFrame:
        """Mean, SD and a normal 95% interval of each metric over folds."""
        m = self.folds.drop(columns=["repeat", "fold"])
        out = pd.DataFrame({"mean": m.mean(), "sd": m.std(ddof=1)})
        half = 1.96 * out["sd"] / np.sqrt(len(m))
        out["ci_low"], out["ci_high"] = out["mean"] - half, out["mean"] + half
        return out

    def mean(self, metric: str) -> float:
        return float(self.folds[metric].mean())

    def sd(self, metric: str) -> float:
        return float(self.folds[metric].std(ddof=1))


def _splits(X: pd.DataFrame, y: pd.Series, n_splits: int, n_repeats: int, seed: int) -> list:
    cv = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed)
    return list(cv.split(X, y))


def _fold_probabilities(model, X: pd.DataFrame, y: pd.Series, splits,
                        members: dict | None = None, keep: list | None = None,
                        n_keep: int = 0) -> list[np.ndarray]:
    """Test-fold churn probabilities of ``model`` cloned and refitted on each training fold.

    ``members``: a dict to fill, when ``model`` is a calibrated ensemble, with its
    members' test-fold probabilities (:func:`member_probabilities`). ``keep``: a list
    to receive ``(fitted model, test rows)`` of the first ``n_keep`` folds.
    """
    out = []
    for k, (tr, te) in enumerate(splits):
        X_tr, y_tr, X_te = X.iloc[tr], y.iloc[tr], X.iloc[te]  # taken once per fold
        with member_log() as log:  # the members' scores the ensemble computes anyway
            m = clone(model).fit(X_tr, y_tr)
            out.append(m.predict_proba(X_te)[:, 1])
        if keep is not None and k < n_keep:
            keep.append((m, te))
        if members is not None:
            for name, p in member_probabilities(m, X_tr, y_tr, X_te, log=log).items():
                members.setdefault(name, []).append(p)
    return out


def _is_calibrated_ensemble(model) -> bool:
    return (isinstance(model, CalibratedClassifierCV) and model.ensemble is True
            and isinstance(model.estimator, ChurnEnsemble))


def calibrated_members(model) -> dict:
    """The stand-alone calibrated models a calibrated ensemble's members amount to.

    For ``make_model("ensemble", calibration=c, seed=s)`` these are the calibrated
    logistic and boosting models (``make_model("logistic" | "hgb", calibration=c,
    seed=s)``): same members, same calibration method and calibration folds.
    Empty for any other model.
    """
    if not _is_calibrated_ensemble(model):
        return {}
    return {name: CalibratedChurnModel(member, method=model.method, cv=model.cv, ensemble=True)
            for name, member in zip(("logistic", "hgb"), model.estimator.members(), strict=True)}


def member_probabilities(fitted, X_train: pd.DataFrame, y_train, X_test: pd.DataFrame, *,
                         log: list | None = None) -> dict[str, np.ndarray]:
    """Test probabilities of a fitted calibrated ensemble's members, each calibrated alone.

    On each calibration fold the ensemble fitted its two members on the other
    folds; each member gets its own calibration map (the same method) on the
    held-out calibration fold, and a member's probability is the mean over
    the calibration folds, as :class:`~sklearn.calibration.CalibratedClassifierCV`
    computes it. No model is refitted: the result is the test probability of
    the member's stand-alone calibrated model (:func:`calibrated_members`)
    fitted on ``X_train`` (the same folds and deterministic fits).

    ``log``: a :func:`~crm_lib.churn.models.member_log` of fitting ``fitted`` on
    ``X_train`` and predicting ``X_test``; the members' scores it holds (on each
    calibration fold, then on the test rows) are used instead of scoring again.
    """
    if not _is_calibrated_ensemble(fitted):
        return {}
    y_train = np.asarray(y_train)
    cv = check_cv(fitted.cv, y_train, classifier=True)
    halves = list(cv.split(X_train, y_train))
    out: dict[str, list] = {"logistic": [], "hgb": []}
    for (_, cal), pair in zip(halves, fitted.calibrated_classifiers_, strict=True):
        ens = pair.estimator
        y_cal = (y_train[cal] == ens.classes_[1]).astype(float)
        seen = [(n, d, raw) for e, n, d, raw in (log or ()) if e is ens]
        if [n for n, _, _ in seen] == [len(cal), len(X_test)]:  # calibration fold, test rows
            scores = {"logistic": (seen[0][1], seen[1][1]), "hgb": (seen[0][2], seen[1][2])}
        else:
            X_cal = X_train.iloc[cal]
            scores = {name: (m.decision_function(X_cal), m.decision_function(X_test))
                      for name, m in (("logistic", ens.logistic_), ("hgb", ens.hgb_))}
        for name, (d_cal, d_test) in scores.items():
            out[name].append(_calibrated(fitted.method, d_cal, y_cal, d_test))
    return {name: np.mean(ps, axis=0) for name, ps in out.items()}


def _calibrated(method: str, d_cal, y_cal, d_test) -> np.ndarray:
    """Calibrated test probabilities from a member's decision function, the map fitted
    on (d_cal, y_cal) as scikit-learn's ``CalibratedClassifierCV`` fits it."""
    with threads(1):
        cal = (IsotonicRegression(out_of_bounds="clip") if method == "isotonic"
               else _SigmoidCalibration()).fit(d_cal, y_cal)
        p = np.asarray(cal.predict(d_test), float)
    p[(p > 1.0) & (p <= 1.0 + 1e-5)] = 1.0  # as scikit-learn: rounding just above 1
    return p


def _result(probs: list[np.ndarray], X: pd.DataFrame, y: pd.Series, splits, n_splits: int,
            n_repeats: int, seconds: float) -> CVResult:
    rows = []
    oof = np.full((len(X), n_repeats), np.nan)
    for k, ((_, te), p) in enumerate(zip(splits, probs, strict=True)):
        oof[te, k // n_splits] = p
        rows.append({"repeat": k // n_splits, "fold": k % n_splits,
                     **score_metrics(y.iloc[te], p)})
    oof_df = pd.DataFrame(oof, index=X.index, columns=[f"p_repeat{r}" for r in range(n_repeats)])
    oof_df.insert(0, "probability", oof.mean(axis=1))
    oof_df.insert(0, "y", y.to_numpy())
    return CVResult(pd.DataFrame(rows), oof_df, seconds, probabilities=list(probs))


def cross_validate(model, X: pd.DataFrame, y, *, n_splits: int = 5, n_repeats: int = 3,
                   seed: int = 42, keep_models: int = 1) -> CVResult:
    """Repeated stratified k-fold CV of a (calibrated) churn model; see module docstring.

    The model is cloned and refitted for every fold, so any calibration it
    contains is learnt from the training folds only. For a calibrated
    ensemble the result also holds its members' test-fold probabilities,
    each member calibrated on its own (``members``; :func:`member_probabilities`),
    which :func:`compare_models` reuses instead of cross-validating them again.
    ``keep_models``: how many of the first folds' fitted models to keep in ``fitted``
    (with their test rows), for held-out explanations
    (:func:`~crm_lib.churn.explain.fold_importance`).
    """
    y = pd.Series(np.asarray(y).astype(int), index=X.index)
    splits = _splits(X, y, n_splits, n_repeats, seed)
    t0 = time.perf_counter()
    member_probs: dict[str, list] = {}
    fitted: list = []
    probs = _fold_probabilities(model, X, y, splits, member_probs, fitted, keep_models)
    res = _result(probs, X, y, splits, n_splits, n_repeats, time.perf_counter() - t0)
    res.model, res.design, res.fitted = model, (n_splits, n_repeats, seed), fitted
    res.members = {name: (m, member_probs[name])
                   for name, m in calibrated_members(model).items()}
    return res


def _config(obj):
    """A comparable description of an estimator: its type and parameters, nested."""
    if hasattr(obj, "get_params") and not isinstance(obj, type):
        return (type(obj), tuple(sorted((k, _config(v))
                                        for k, v in obj.get_params(deep=False).items())))
    if hasattr(obj, "split") and hasattr(obj, "get_n_splits"):
        return (type(obj), repr(obj))  # a CV splitter: its repr lists its parameters
    return obj


def _same_model(a, b) -> bool:
    return _config(a) == _config(b)


def _reusable(model, reuse: CVResult | None, design: tuple) -> list[np.ndarray] | None:
    """Test-fold probabilities of ``model`` already in ``reuse`` (same folds), if any."""
    if reuse is None or reuse.design != design:
        return None
    if reuse.model is not None and _same_model(model, reuse.model):
        return reuse.probabilities
    for member, probs in reuse.members.values():
        if _same_model(model, member):
            return probs
    return None


def _components(model, candidates: dict) -> tuple[str, str] | None:
    """Names of the candidates that are exactly an (uncalibrated) ensemble's two members."""
    if not isinstance(model, ChurnEnsemble):
        return None
    members = model.members()
    names = [next((n for n, m in candidates.items() if _same_model(m, part)), None)
             for part in members]
    return (names[0], names[1]) if None not in names else None


def compare_models(models: dict, X: pd.DataFrame, y, *, seed: int = 42, n_splits: int = 5,
                   n_repeats: int = 3, reuse: CVResult | None = None
                   ) -> tuple[pd.DataFrame, dict[str, CVResult]]:
    """Cross-validate several models on the same folds; a table of mean metrics and SDs.

    An uncalibrated :class:`~crm_lib.churn.models.ChurnEnsemble` whose two members
    are also candidates is not refitted: on each fold its probability is the
    weighted average of those members' fold probabilities, which is exactly
    what refitting it would give (same folds, same deterministic fits); its
    ``seconds`` are the members' seconds added up.

    ``reuse``: a :func:`cross_validate` result on the same rows and folds (same
    ``n_splits``, ``n_repeats`` and ``seed``). A candidate that is the model it
    cross-validated, or one of that calibrated ensemble's members calibrated
    alone (:func:`calibrated_members`), takes its test-fold probabilities from
    it instead of being refitted (the same numbers); its ``seconds`` are those
    of the reused cross-validation.
    """
    y = pd.Series(np.asarray(y).astype(int), index=X.index)
    if reuse is not None and not reuse.oof.index.equals(X.index):
        raise ValueError("reuse: a cross-validation of other rows than X")
    splits = _splits(X, y, n_splits, n_repeats, seed)
    probs, secs = {}, {}
    ensembles = {n: _components(m, models) for n, m in models.items()}
    for name, m in models.items():
        reused = _reusable(m, reuse, (n_splits, n_repeats, seed))
        if reused is not None:
            probs[name], secs[name], ensembles[name] = reused, reuse.seconds, None
        elif ensembles[name] is None:
            t0 = time.perf_counter()
            probs[name] = _fold_probabilities(m, X, y, splits)
            secs[name] = time.perf_counter() - t0
    for name, parts in ensembles.items():
        if parts is not None:
            a, b = parts
            probs[name] = [models[name].combine(pa, pb)
                           for pa, pb in zip(probs[a], probs[b], strict=True)]
            secs[name] = secs[a] + secs[b]
    res = {name: _result(probs[name], X, y, splits, n_splits, n_repeats, secs[name])
           for name in models}
    for r in res.values():
        r.design = (n_splits, n_repeats, seed)
    rows = []
    for name, r in res.items():
        s = r.summary()
        row = {"model": name, **{k: s.loc[k, "mean"] for k in s.index},
               "roc_auc_sd": s.loc["roc_auc", "sd"], "seconds": r.seconds}
        rows.append(row)
    return pd.DataFrame(rows).set_index("model"), res


def oof_scores(cv: CVResult) -> pd.DataFrame:
    """The out-of-fold scores of :func:`cross_validate` in the shape of the ``churn_oof``
    artefact (:mod:`crm_lib.artefacts`): customer_id, churned (0/1), oof_probability
    (mean over the repeats)."""
    return pd.DataFrame({"customer_id": cv.oof.index.astype(str).to_numpy(),
                         "churned": cv.oof["y"].to_numpy(int),
                         "oof_probability": cv.oof["probability"].to_numpy(float)})
