"""Uplift from a randomised retention pilot.

* :func:`average_treatment_effect`: the difference in churn rates between the
  treated and the control arm (Neyman 1923 variance; optionally the
  regression-adjusted estimator of Lin 2013 with HC2 errors) with a
  confidence interval.
* :func:`randomisation_check`: balance tests (standardised mean differences,
  Austin 2009), a joint likelihood-ratio test of treatment on the covariates
  and a cross-validated propensity AUC. A campaign whose treatment can be
  predicted from pre-treatment covariates was not randomised and its effect
  estimate is not causal.
* :class:`TwoModelUplift` (two outcome models, "T-learner") and
  :class:`XLearnerUplift` (Kunzel, Sekhon, Bickel & Yu 2019, PNAS 116(10)):
  scikit-learn style estimators of the individual reduction in churn
  probability caused by the offer.
* :class:`InteractionUplift`: a penalised logistic S-learner with treatment x
  effect-modifier interactions, modifiers expanded into step (threshold) features
  (Tian, Alizadeh, Gentles & Tibshirani 2014, JASA 109; Lo 2002, SIGKDD Explorations 4).
* :func:`uplift_curves`, :func:`qini_auc`: Qini and uplift curves and their
  areas (Radcliffe 2007; Gutierrez & Gerardy 2017).
* :func:`policy_curve`, :func:`compare_policies`: the incremental profit of
  contacting the top of a ranking, estimated inside the randomised pilot.
* :func:`response_groups`: persuadables, sure things, lost causes and
  do-not-disturbs (Kane, Lo & Zheng 2014).

Convention: ``churned`` is 1 when the customer churned within the horizon;
``uplift`` is the *reduction* in churn probability caused by the contact
(positive = the offer helps). :class:`ATE` reports the effect on the churn
rate itself (treated minus control; negative = the offer helps).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

__all__ = ["ATE", "average_treatment_effect", "BalanceReport", "randomisation_check",
           "TwoModelUplift", "XLearnerUplift", "InteractionUplift", "cross_fit_uplift",
           "qini_interval", "uplift_curves",
           "qini_auc", "policy_curve", "compare_policies", "response_groups",
           "calibrate_uplift"]

#: Targeting depths evaluated by default (0%, 5%, ..., 100%).
FRACTIONS = tuple(np.round(np.linspace(0, 1, 21), 4))


def _binary(x, name: str) -> np.ndarray:
    a = pd.Series(np.asarray(x)).astype("boolean")
    if a.isna().any():
        raise ValueError(f"{name} has missing values: every pilot row needs a {name} flag")
    return a.to_numpy(dtype=bool).astype(float)


# ---------------------------------------------------------------- average effect
@dataclass(frozen=True)
class ATE:
    """Average treatment effect of the offer on the churn rate (treated - control).

    ``causal`` is None until a :func:`randomisation_check` has been applied
    (see :meth:`with_balance`); ``note`` says how to read the estimate.
    """

    effect: float
    ci_low: float
    ci_high: float
    se: float
    p_value: float
    n_treated: int
    n_control: int
    rate_treated: float
    rate_control: float
    level: float
    method: str
    causal: bool | None = None
    note: str = ""

    def with_balance(self, report: BalanceReport) -> ATE:
        """The same estimate, marked causal or not by a randomisation check."""
        from dataclasses import replace
        if report.randomised:
            note = ("Treatment passed the randomisation check: the difference is a causal "
                    "estimate of the offer's effect on churn.")
        else:
            note = ("NOT CAUSAL: treatment is predictable from pre-treatment covariates ("
                    + report.verdict + "). The difference mixes the offer's effect with who "
                    "was chosen; it is reported as an association only.")
        return replace(self, causal=report.randomised, note=note)


def average_treatment_effect(churned, treatment, *, level: float = 0.95,
                             covariates: pd.DataFrame | None = None) -> ATE:
    """Difference in churn rates, treated minus control, with a ``level`` interval.

    Without covariates: difference in means with the Neyman (unequal-variance)
    standard error and a normal interval. With ``covariates``: Lin's (2013)
    regression adjustment (treatment, centred covariates and their
    interactions; HC2 standard error), which is unbiased in large samples
    under randomisation and never less precise asymptotically.
    """
    y = _binary(churned, "churned")
    t = _binary(treatment, "treated")
    n1, n0 = int(t.sum()), int((1 - t).sum())
    if n1 < 2 or n0 < 2:
        raise ValueError("campaigns: need at least two treated and two control customers "
                         f"(got {n1} treated, {n0} control)")
    r1, r0 = float(y[t == 1].mean()), float(y[t == 0].mean())
    z = stats.norm.ppf(0.5 + level / 2)
    if covariates is None:
        eff = r1 - r0
        se = float(np.sqrt(y[t == 1].var(ddof=1) / n1 + y[t == 0].var(ddof=1) / n0))
        method = "difference in means (Neyman)"
    else:
        from statsmodels.regression.linear_model import OLS  # not all of statsmodels.api
        Xc = np.asarray(covariates, dtype=float)
        Xc = Xc - Xc.mean(axis=0)
        Xc = Xc[:, Xc.std(axis=0) > 0]
        design = np.column_stack([np.ones_like(t), t, Xc, Xc * t[:, None]])
        fit = OLS(y, design).fit(cov_type="HC2")
        eff, se = float(fit.params[1]), float(fit.bse[1])
        method = "regression adjusted (Lin 2013, HC2)"
    se = max(se, 1e-12)
    p = float(2 * stats.norm.sf(abs(eff) / se))
    return ATE(float(eff), float(eff - z * se), float(eff + z * se), se, p, n1, n0, r1, r0,
               level, method)


# ---------------------------------------------------------------- randomisation check
@dataclass(frozen=True)
class BalanceReport:
    """Covariate balance between arms and the verdict on randomisation."""

    table: pd.DataFrame = field(repr=False)
    max_abs_smd: float
    n_imbalanced: int
    propensity_auc: float
    lr_stat: float
    lr_df: int
    lr_p_value: float
    randomised: bool
    verdict: str


def _standardise(X: np.ndarray) -> np.ndarray:
    sd = X.std(axis=0)
    keep = sd > 0
    return (X[:, keep] - X[:, keep].mean(axis=0)) / sd[keep]


def randomisation_check(X: pd.DataFrame, treatment, *, seed: int = 42,
                        smd_threshold: float = 0.1, auc_threshold: float = 0.55,
                        alpha: float = 0.001, cv: int = 5) -> BalanceReport:
    """Was treatment assigned at random with respect to the pre-treatment covariates ``X``?

    Three views of the same question:

    * standardised mean difference per covariate, ``(mean_T - mean_C) /
      sqrt((var_T + var_C) / 2)``; |SMD| > 0.1 is the usual imbalance flag
      (Austin 2009, Stat Med 28);
    * a likelihood-ratio test of a logistic regression of treatment on all
      covariates against the intercept only (chi-square, df = rank of X);
    * the cross-validated AUC of that propensity model (0.5 = unpredictable).

    The campaign is declared *not randomised* when the joint test rejects at
    ``alpha`` AND the imbalance is material (max |SMD| > ``smd_threshold`` or
    AUC > ``auc_threshold``): significance alone flags trivial imbalances in
    large files, size alone flags chance imbalances in small ones.
    """
    t = _binary(treatment, "treated").astype(int)
    Xdf = pd.DataFrame(X)
    if len(Xdf) != len(t):
        raise ValueError("X and treatment must have one row per pilot customer")
    Xa = Xdf.to_numpy(dtype=float)
    m1, m0 = Xa[t == 1].mean(axis=0), Xa[t == 0].mean(axis=0)
    v1, v0 = Xa[t == 1].var(axis=0, ddof=1), Xa[t == 0].var(axis=0, ddof=1)
    pooled = np.sqrt((v1 + v0) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        smd = np.where(pooled > 0, (m1 - m0) / pooled, 0.0)
    table = pd.DataFrame({"covariate": Xdf.columns, "mean_treated": m1, "mean_control": m0,
                          "smd": smd}).sort_values("smd", key=np.abs, ascending=False,
                                                   ignore_index=True)
    Z = _standardise(Xa)
    df = int(np.linalg.matrix_rank(Z)) if Z.size else 0
    share = t.mean()
    ll0 = float(np.sum(t * np.log(share) + (1 - t) * np.log(1 - share)))
    if df:
        full = LogisticRegression(C=1e4, max_iter=5000).fit(Z, t)
        p = np.clip(full.predict_proba(Z)[:, 1], 1e-12, 1 - 1e-12)
        ll1 = float(np.sum(t * np.log(p) + (1 - t) * np.log(1 - p)))
        lr = max(2 * (ll1 - ll0), 0.0)
        p_lr = float(stats.chi2.sf(lr, df))
        folds = StratifiedKFold(cv, shuffle=True, random_state=seed)
        oof = cross_val_predict(LogisticRegression(C=1.0, max_iter=5000), Z, t, cv=folds,
                                method="predict_proba")[:, 1]
        auc = float(roc_auc_score(t, oof))
    else:
        lr, p_lr, auc = 0.0, 1.0, 0.5
    max_smd = float(np.abs(smd).max()) if len(smd) else 0.0
    n_imb = int((np.abs(smd) > smd_threshold).sum())
    material = (max_smd > smd_threshold) or (auc > auc_threshold)
    randomised = not (p_lr < alpha and material)
    top = table.iloc[0] if len(table) else None
    from ..fmt import pvalue
    verdict = (f"joint test p {pvalue(p_lr)}, propensity AUC = {auc:.3f}, "
               f"max |SMD| = {max_smd:.2f}" + (f" ({top['covariate']})" if top is not None else "")
               + f", {n_imb} covariate(s) with |SMD| > {smd_threshold}")
    return BalanceReport(table, max_smd, n_imb, auc, float(lr), df, p_lr, randomised, verdict)


# ---------------------------------------------------------------- uplift models
def _default_classifier():
    return make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=5000))


def _default_regressor():
    return make_pipeline(StandardScaler(), Ridge(alpha=50.0))


def _xy(X, y, treatment):
    Xa = np.asarray(X, dtype=float)
    y = _binary(y, "churned")
    t = _binary(treatment, "treated")
    if len(Xa) != len(y) or len(y) != len(t):
        raise ValueError("X, y and treatment must have the same number of rows")
    for arm, name in ((1, "treated"), (0, "control")):
        if len(np.unique(y[t == arm])) < 2:
            raise ValueError(f"the {name} arm needs both churners and stayers to fit an "
                             "outcome model")
    return Xa, y, t


class TwoModelUplift(BaseEstimator):
    """Two-model ("T-learner") uplift: separate churn models for the two arms.

    ``predict(X)`` = P(churn | X, control) - P(churn | X, treated): the reduction
    in churn probability caused by the offer (Hansotia & Rukstales 2002).
    ``estimator``: a scikit-learn classifier (default: standardised, strongly
    L2-regularised logistic regression, robust with few churn events).
    """

    def __init__(self, estimator=None):
        self.estimator = estimator

    def fit(self, X, y, treatment):
        Xa, y, t = _xy(X, y, treatment)
        base = self.estimator if self.estimator is not None else _default_classifier()
        self.model_control_ = clone(base).fit(Xa[t == 0], y[t == 0])
        self.model_treated_ = clone(base).fit(Xa[t == 1], y[t == 1])
        return self

    def predict_outcomes(self, X) -> tuple[np.ndarray, np.ndarray]:
        """(P(churn | control), P(churn | treated)) per row."""
        Xa = np.asarray(X, dtype=float)
        return (self.model_control_.predict_proba(Xa)[:, 1],
                self.model_treated_.predict_proba(Xa)[:, 1])

    def predict(self, X) -> np.ndarray:
        p0, p1 = self.predict_outcomes(X)
        return p0 - p1


class XLearnerUplift(BaseEstimator):
    """X-learner uplift (Kunzel, Sekhon, Bickel & Yu 2019).

    Stage 1: churn models per arm (``estimator``). Stage 2: regress the imputed
    individual effects (treated: mu0(x) - y; control: y - mu1(x)) on X in each
    arm (``effect_estimator``). Combine ``tau(x) = g tau0(x) + (1 - g) tau1(x)``
    with ``g`` the treated share (``propensity``; the design's known value in a
    randomised pilot, else the observed share).
    """

    def __init__(self, estimator=None, effect_estimator=None, propensity: float | None = None):
        self.estimator = estimator
        self.effect_estimator = effect_estimator
        self.propensity = propensity

    def fit(self, X, y, treatment):
        Xa, y, t = _xy(X, y, treatment)
        self.outcomes_ = TwoModelUplift(self.estimator).fit(Xa, y, t)
        p0, p1 = self.outcomes_.predict_outcomes(Xa)
        reg = self.effect_estimator if self.effect_estimator is not None else \
            _default_regressor()
        d1 = p0[t == 1] - y[t == 1]
        d0 = y[t == 0] - p1[t == 0]
        self.tau_treated_ = clone(reg).fit(Xa[t == 1], d1)
        self.tau_control_ = clone(reg).fit(Xa[t == 0], d0)
        self.g_ = float(t.mean()) if self.propensity is None else float(self.propensity)
        return self

    def predict_outcomes(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Stage-1 (P(churn | control), P(churn | treated)) per row."""
        return self.outcomes_.predict_outcomes(X)

    def predict(self, X) -> np.ndarray:
        Xa = np.asarray(X, dtype=float)
        return self.g_ * self.tau_control_.predict(Xa) + (1 - self.g_) * \
            self.tau_treated_.predict(Xa)


def _nice_grid(x: np.ndarray, n: int) -> np.ndarray:
    """About ``n`` round-number thresholds between the 5th and 95th percentiles of ``x``."""
    lo, hi = np.quantile(x, [0.05, 0.95])
    raw = (hi - lo) / max(n, 1)
    if raw <= 0:
        return np.unique(x)[1:]
    mag = 10 ** np.floor(np.log10(raw))
    step = next((s * mag for s in (1, 2, 2.5, 5) if s * mag >= raw), 10 * mag)
    return np.arange(np.ceil(lo / step) * step, hi + 1e-9, step)


class InteractionUplift(BaseEstimator):
    """Penalised logistic S-learner with treatment x effect-modifier interactions.

    One churn model for both arms (Lo 2002, "the true lift model"): logit P(churn) =
    b'x + a'm(x) + t (c + d'm(x)), where ``x`` are all features (main effects) and
    ``m(x)`` the *effect modifiers* expanded into step features: each modifier with
    more than ``max_levels`` values gets indicators ``x < c`` at about
    ``n_thresholds`` round-number cut points (so the model can find an age threshold),
    each with fewer gets ``x < level`` per level, plus its raw value (a log-linear
    effect size). Columns are standardised and one L2 penalty (``C``) shrinks
    everything, so only effect variation the pilot supports survives (Tian et al.
    2014 model treatment interactions the same way). ``predict(X)`` = P(churn | X,
    control) - P(churn | X, treated), the reduction in churn probability.

    ``modifiers``: column names (X a DataFrame) of the candidate effect modifiers,
    chosen before looking at outcomes; names absent from X are ignored; ``None`` or
    none present = every column.
    """

    def __init__(self, modifiers: list[str] | None = None, n_thresholds: int = 12,
                 C: float = 0.02, max_levels: int = 10):
        self.modifiers = modifiers
        self.n_thresholds = n_thresholds
        self.C = C
        self.max_levels = max_levels

    def _basis(self, Xa: np.ndarray) -> np.ndarray:
        parts = [Xa[:, self.mod_index_]]
        parts += [(Xa[:, j][:, None] < g[None, :]).astype(float)
                  for j, g in zip(self.mod_index_, self.grids_, strict=True)]
        return np.column_stack(parts)

    def _design(self, Xa: np.ndarray, t: np.ndarray) -> np.ndarray:
        B = self.scale_b_.transform(self._basis(Xa))
        return np.column_stack([self.scale_x_.transform(Xa), B,
                                t[:, None] * np.column_stack([np.ones(len(t)), B])])

    def fit(self, X, y, treatment):
        names = list(X.columns) if isinstance(X, pd.DataFrame) else None
        Xa, y, t = _xy(X, y, treatment)
        wanted = self.modifiers if (self.modifiers is not None and names is not None) else []
        idx = [names.index(c) for c in wanted if c in names]
        self.mod_index_ = idx or list(range(Xa.shape[1]))
        self.grids_ = []
        for j in self.mod_index_:
            u = np.unique(Xa[:, j])
            self.grids_.append(_nice_grid(Xa[:, j], self.n_thresholds)
                               if len(u) > self.max_levels else u[1:])
        self.scale_x_ = StandardScaler().fit(Xa)
        self.scale_b_ = StandardScaler().fit(self._basis(Xa))
        self.model_ = LogisticRegression(C=self.C, max_iter=5000).fit(self._design(Xa, t), y)
        return self

    def predict_outcomes(self, X) -> tuple[np.ndarray, np.ndarray]:
        """(P(churn | control), P(churn | treated)) per row."""
        Xa = np.asarray(X, dtype=float)
        zero, one = np.zeros(len(Xa)), np.ones(len(Xa))
        return (self.model_.predict_proba(self._design(Xa, zero))[:, 1],
                self.model_.predict_proba(self._design(Xa, one))[:, 1])

    def predict(self, X) -> np.ndarray:
        p0, p1 = self.predict_outcomes(X)
        return p0 - p1


def cross_fit_uplift(model, X, churned, treatment, *, cv: int = 5, seed: int = 42
                     ) -> np.ndarray:
    """Out-of-fold uplift predictions: each customer scored by a model that never saw them.

    Folds are stratified on treatment x outcome. Evaluate curves and policies
    on these, never on in-sample predictions (which overfit the noise).
    """
    Xa, y, t = _xy(X, churned, treatment)
    strata = (2 * t + y).astype(int)
    out = np.zeros(len(y))
    Xs = X.reset_index(drop=True) if isinstance(X, pd.DataFrame) else Xa
    for tr, te in StratifiedKFold(cv, shuffle=True, random_state=seed).split(Xa, strata):
        Xtr, Xte = (Xs.iloc[tr], Xs.iloc[te]) if isinstance(Xs, pd.DataFrame) else (Xa[tr], Xa[te])
        out[te] = clone(model).fit(Xtr, y[tr], t[tr]).predict(Xte)
    return out


# ---------------------------------------------------------------- curves
def _checked(churned, treatment, score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``churned`` and ``treatment`` as 0/1 floats and ``score`` as floats, of one length."""
    y = _binary(churned, "churned")
    t = _binary(treatment, "treated")
    s = np.asarray(score, dtype=float)
    if not len(y) == len(t) == len(s):
        raise ValueError("churned, treatment and score must have the same length")
    return y, t, s


def _sorted(churned, treatment, score):
    y, t, s = _checked(churned, treatment, score)
    order = np.argsort(-s, kind="mergesort")
    return y[order], t[order], s[order]


def _curves(y: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(fraction, qini, uplift_gain, random)`` of 0/1 float arrays already in ranking order."""
    n = len(y)
    keep = 1 - y
    nt, nc = np.cumsum(t), np.cumsum(1 - t)
    rt, rc = np.cumsum(keep * t), np.cumsum(keep * (1 - t))
    with np.errstate(divide="ignore", invalid="ignore"):
        qini = np.where(nc > 0, rt - rc * nt / nc, 0.0) / n
        gain = np.where((nt > 0) & (nc > 0), rt / nt - rc / nc, 0.0) * np.arange(1, n + 1) / n
    frac = np.r_[0.0, np.arange(1, n + 1) / n]
    qini = np.r_[0.0, qini]
    return frac, qini, np.r_[0.0, gain], frac * qini[-1]


def _qini_area(y: np.ndarray, t: np.ndarray, s: np.ndarray) -> float:
    """:func:`qini_auc` of 0/1 float arrays (checked already): the same operations
    without the frame, for the bootstrap's many resamples."""
    order = np.argsort(-s, kind="mergesort")
    frac, qini, _, random = _curves(y[order], t[order])
    return float(np.trapezoid(qini - random, frac))


def uplift_curves(churned, treatment, score) -> pd.DataFrame:
    """Qini and uplift curves of a ranking ``score`` (higher = contact first).

    For the top ``k`` of the ranking, with retained = not churned:

    * ``qini``: R_T(k) - R_C(k) N_T(k) / N_C(k), the extra customers retained
      among the treated of the top k compared with an equally large control
      group, per pilot customer (Radcliffe 2007);
    * ``uplift_gain``: (retention rate T - retention rate C within the top k)
      x k / N (Rzepakowski & Jaroszewicz 2012);
    * ``random``: the Qini of a random ranking (a straight line).
    """
    y, t, _ = _sorted(churned, treatment, score)
    frac, qini, gain, random = _curves(y, t)
    return pd.DataFrame({"fraction": frac, "qini": qini, "uplift_gain": gain, "random": random})


def qini_auc(churned, treatment, score) -> float:
    """Area between the Qini curve and the random line (per pilot customer; 0 = no skill)."""
    return _qini_area(*_checked(churned, treatment, score))


def qini_interval(churned, treatment, score, *, level: float = 0.95, n_boot: int = 200,
                  seed: int = 42) -> tuple[float, float, float]:
    """Qini area of ``score`` with a percentile bootstrap interval (customers resampled
    within each arm): ``(estimate, low, high)``. A lower bound above zero says the
    ranking finds effect differences the noise alone would not produce."""
    y, t, s = _checked(churned, treatment, score)
    rng = np.random.default_rng(seed)
    arms = [np.flatnonzero(t == a) for a in (0.0, 1.0)]
    draws = np.empty(n_boot)
    for b in range(n_boot):
        i = np.concatenate([rng.choice(a, len(a)) for a in arms])
        draws[b] = _qini_area(y[i], t[i], s[i])
    lo, hi = np.quantile(draws, [0.5 - level / 2, 0.5 + level / 2])
    return _qini_area(y, t, s), float(lo), float(hi)


def policy_curve(churned, treatment, score, *, value, cost,
                 fractions=FRACTIONS, level: float = 0.95) -> pd.DataFrame:
    """Incremental profit of contacting the top ``fraction`` of a ranking, measured in the pilot.

    Inside the top ``k`` (both arms, randomised), the retained value caused by
    the contact is ``k x (mean_C(churned x value) - mean_T(churned x value))``;
    minus the spend ``sum(cost)`` over the top ``k``. Reported per pilot
    customer with a normal ``level`` interval (two-sample variance). Rankings
    must be out-of-sample (see :func:`cross_fit_uplift`).
    """
    y, t, _ = _sorted(churned, treatment, score)
    order = np.argsort(-np.asarray(score, dtype=float), kind="mergesort")
    v = np.broadcast_to(np.asarray(value, float), (len(y),))[order]
    c = np.broadcast_to(np.asarray(cost, float), (len(y),))[order]
    n = len(y)
    z = stats.norm.ppf(0.5 + level / 2)
    loss = y * v  # value lost to churn
    rows = []
    for f in np.asarray(fractions, dtype=float):
        k = int(round(f * n))
        if k == 0:
            rows.append((f, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0))
            continue
        tt, ll = t[:k], loss[:k]
        a1, a0 = ll[tt == 1], ll[tt == 0]
        if len(a1) < 2 or len(a0) < 2:
            rows.append((f, k, np.nan, np.nan, np.nan, np.nan, np.nan, float(c[:k].sum() / n)))
            continue
        diff = a0.mean() - a1.mean()
        se = np.sqrt(a1.var(ddof=1) / len(a1) + a0.var(ddof=1) / len(a0))
        yk = y[:k]
        up = yk[tt == 0].mean() - yk[tt == 1].mean()
        spend = c[:k].sum()
        prof = (k * diff - spend) / n
        rows.append((f, k, up, prof, prof - z * se * k / n, prof + z * se * k / n,
                     k * diff / n, spend / n))
    return pd.DataFrame(rows, columns=["fraction", "n", "uplift", "profit", "profit_low",
                                       "profit_high", "incremental_value", "spend"])


def compare_policies(churned, treatment, scores: dict[str, np.ndarray], *, value, cost,
                     fractions=FRACTIONS, level: float = 0.95) -> pd.DataFrame:
    """:func:`policy_curve` for several rankings plus a random ranking, stacked long.

    The random ranking's value is its expectation (``fraction`` x the whole
    pilot's incremental value and spend), not one random draw.
    """
    out = [policy_curve(churned, treatment, s, value=value, cost=cost, fractions=fractions,
                        level=level).assign(policy=name) for name, s in scores.items()]
    everyone = policy_curve(churned, treatment, np.zeros(len(np.asarray(churned))), value=value,
                            cost=cost, fractions=[1.0], level=level).iloc[0]
    f = np.asarray(fractions, dtype=float)
    half = (everyone["profit_high"] - everyone["profit_low"]) / 2
    out.append(pd.DataFrame({"fraction": f, "n": np.round(f * len(np.asarray(churned))),
                             "uplift": everyone["uplift"], "profit": f * everyone["profit"],
                             "profit_low": f * (everyone["profit"] - half),
                             "profit_high": f * (everyone["profit"] + half),
                             "incremental_value": f * everyone["incremental_value"],
                             "spend": f * everyone["spend"], "policy": "random"}))
    return pd.concat(out, ignore_index=True)


def calibrate_uplift(train_score, churned, treatment, new_score, *, bins: int = 5,
                     shrink_to=None) -> np.ndarray:
    """Map any ranking score to a measured uplift (reduction in churn probability).

    Splits the (out-of-fold) pilot scores into ``bins`` quantile bins, measures
    the uplift in each bin by difference in means, and gives each ``new_score``
    its bin's uplift. ``shrink_to`` (e.g. the pilot's overall uplift) pulls each
    bin towards it by the precision-weighted factor ``tau2 / (tau2 + se2)``
    (empirical Bayes; Efron & Morris 1975), so a noisy bin cannot drive the plan.
    """
    s = np.asarray(train_score, dtype=float)
    y = _binary(churned, "churned")
    t = _binary(treatment, "treated")
    edges = np.unique(np.quantile(s, np.linspace(0, 1, bins + 1)[1:-1]))
    b = np.searchsorted(edges, s, side="right")
    frame = pd.DataFrame({"b": b, "y": y, "t": t})
    g = frame.groupby(["b", "t"])["y"].agg(["mean", "var", "count"]).unstack("t")
    est = (g[("mean", 0.0)] - g[("mean", 1.0)]).fillna(0.0)
    se2 = (g[("var", 0.0)] / g[("count", 0.0)] + g[("var", 1.0)] / g[("count", 1.0)]).fillna(1.0)
    if shrink_to is not None:
        tau2 = max(float(np.var(est.to_numpy()) - se2.mean()), 0.0)
        w = tau2 / (tau2 + se2)
        est = w * est + (1 - w) * float(shrink_to)
    nb = np.searchsorted(edges, np.asarray(new_score, dtype=float), side="right")
    return est.reindex(range(len(edges) + 1)).fillna(float(shrink_to or 0.0)).to_numpy()[nb]


def response_groups(p_control, p_treated, *, threshold: float = 0.005,
                    risk_cut: float | None = None) -> pd.DataFrame:
    """The four response groups of Kane, Lo & Zheng (2014) from predicted potential outcomes.

    Per customer: ``uplift = p_control - p_treated``. Label: persuadable if
    uplift > ``threshold``, do-not-disturb if uplift < -``threshold``,
    otherwise lost cause when ``p_control`` >= ``risk_cut`` (default: its
    median) else sure thing. Also the expected principal-strata shares under
    monotonicity within each customer's covariate cell: persuadable = uplift,
    lost cause = min(p), sure thing = 1 - max(p), do-not-disturb = -uplift
    (whichever of the first and last is positive).
    """
    p0 = np.asarray(p_control, dtype=float)
    p1 = np.asarray(p_treated, dtype=float)
    up = p0 - p1
    cut = float(np.median(p0)) if risk_cut is None else risk_cut
    label = np.where(up > threshold, "persuadable",
                     np.where(up < -threshold, "do_not_disturb",
                              np.where(p0 >= cut, "lost_cause", "sure_thing")))
    return pd.DataFrame({"uplift": up, "group": label,
                         "p_persuadable": np.clip(up, 0, None),
                         "p_do_not_disturb": np.clip(-up, 0, None),
                         "p_lost_cause": np.minimum(p0, p1),
                         "p_sure_thing": 1 - np.maximum(p0, p1)})
