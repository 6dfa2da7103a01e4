"""Churn classifiers that take any customers table (scikit-learn estimator API).

Every estimator here inspects its input at ``fit`` time, so the same
object works on the contract columns plus whatever attribute columns a
source brings: numbers (and text that holds numbers) are numeric, text is
categorical, rare levels are pooled, unseen levels at scoring time are
ignored, and missing values are imputed with an indicator.

- :class:`AutoEncoder`: the design matrix for linear models: standardised
  numbers, ``log1p`` of skewed non-negative counts and amounts, one-hot
  categories, and a few *switching-cost interactions* of the contract
  columns (contract x tenure, contract x monthly charges, contract x plan,
  plan x monthly charges): the effect of tenure and price differs between
  customers who can leave any month and customers locked into a contract
  (Ascarza et al. 2018). Pairs whose columns are absent are skipped.
- :class:`ChurnLogistic`: L2-penalised logistic regression on that matrix
  (Hosmer, Lemeshow & Sturdivant 2013).
- :class:`ChurnHGB`: histogram gradient boosting with native categorical
  splits (Ke et al. 2017, LightGBM; scikit-learn's implementation).
- :class:`ChurnEnsemble`: weighted average of the two probabilities.
- :func:`make_model`: one of them wrapped in probability calibration fitted
  inside the training data by internal cross-validation (Platt 1999 sigmoid,
  or isotonic: Zadrozny & Elkan 2002; Niculescu-Mizil & Caruana 2005).
- :class:`OddsRatioLogit`: the interpretable model: an unpenalised logistic
  regression fitted by statsmodels with odds ratios, Wald 95% intervals and
  p-values (main effects only, collinear columns dropped and named).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import linalg
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

#: Switching-cost interactions added to the linear model when both columns are present.
DEFAULT_INTERACTIONS: tuple[tuple[str, str], ...] = (
    ("contract", "tenure_months"),
    ("contract", "monthly_charges"),
    ("contract", "plan"),
    ("plan", "monthly_charges"),
)
MAX_LEVELS = 50  # categorical columns with more levels (ids, free text) are dropped


def split_columns(X: pd.DataFrame) -> tuple[list[str], list[str], list[str]]:
    """(numeric, categorical, dropped) columns of a feature frame.

    Numeric: numbers and booleans. Categorical: text with at most
    :data:`MAX_LEVELS` levels. Dropped (reported, never silently): constant
    columns, dates, and high-cardinality text such as ids or free comments.
    """
    num, cat, drop = [], [], []
    for c in X.columns:
        s = X[c]
        if pd.api.types.is_datetime64_any_dtype(s) or s.nunique(dropna=True) < 2:
            drop.append(c)
        elif pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            num.append(c)
        elif s.nunique(dropna=True) <= MAX_LEVELS:
            cat.append(c)
        else:
            drop.append(c)
    return num, cat, drop


def text_values(s: pd.Series) -> pd.Series:
    """A column as text with missing values spelt ``missing``."""
    return s.astype("string").fillna("missing")


def level_codes(s: pd.Series, levels: list[str]) -> np.ndarray:
    """Codes of ``s`` in ``levels``; unseen values go to ``other`` when pooled, else -1."""
    codes = pd.Index(levels).get_indexer(text_values(s)).astype(np.int64)
    if "other" in levels:
        codes[codes < 0] = levels.index("other")
    return codes


def feature_summary(X: pd.DataFrame) -> pd.DataFrame:
    """How each feature column will be used: numeric, categorical or dropped, with missingness."""
    num, cat, drop = split_columns(X)
    kind = {**dict.fromkeys(num, "numeric"), **dict.fromkeys(cat, "categorical"),
            **dict.fromkeys(drop, "dropped (constant, date or too many levels)")}
    return pd.DataFrame({"feature": X.columns, "used_as": [kind[c] for c in X.columns],
                         "distinct_values": [int(X[c].nunique()) for c in X.columns],
                         "missing_share": [float(X[c].isna().mean()) for c in X.columns]})


def _as_frame(X) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise TypeError("churn models take a pandas DataFrame of features (named columns)")
    return X


class AutoEncoder(TransformerMixin, BaseEstimator):
    """Design matrix for linear churn models, built from whatever columns ``X`` has.

    Parameters: ``interactions`` (pairs of column names), ``log_skewed``
    (add ``log1p`` of non-negative numeric columns with more than 10
    values), ``min_frequency`` (levels rarer than this share are pooled),
    ``drop_first`` (reference coding, for unpenalised models).
    """

    def __init__(self, interactions=DEFAULT_INTERACTIONS, log_skewed: bool = True,
                 min_frequency: float = 0.005, drop_first: bool = False):
        self.interactions = interactions
        self.log_skewed = log_skewed
        self.min_frequency = min_frequency
        self.drop_first = drop_first

    def fit(self, X, y=None):
        X = _as_frame(X)
        self.num_, self.cat_, self.dropped_ = split_columns(X)
        n = len(X)
        self.levels_ = {}
        for c in self.cat_:
            vc = text_values(X[c]).value_counts()
            keep = [str(v) for v in vc[vc >= max(1, self.min_frequency * n)].index]
            if len(keep) < len(vc):
                keep.append("other")
            keep = sorted(keep, key=lambda v: -vc.get(v, 0))  # most frequent first (reference)
            self.levels_[c] = keep if len(keep) > 1 else []
        self.cat_ = [c for c in self.cat_ if self.levels_[c]]
        num = X[self.num_].astype(float)
        self.median_ = num.median()
        self.missing_ = [c for c in self.num_ if num[c].isna().any()]
        self.log_ = [c for c in self.num_ if self.log_skewed and num[c].min() >= 0
                     and num[c].nunique() > 10]
        base = self._numeric(X, fitted=False)
        self.mean_, self.sd_ = base.mean(), base.std(ddof=0).replace(0, 1.0)
        pairs = []
        for a, b in self.interactions or ():
            if {a, b} <= set(self.num_ + self.cat_) and a != b:
                pairs.append((a, b))
        self.pairs_ = pairs
        Z = self._interactions(X, self._standard(base))
        self.imean_, self.isd_ = Z.mean(), Z.std(ddof=0).replace(0, 1.0)
        self.feature_names_ = list(base.columns) + self._onehot_names() + list(Z.columns)
        self.source_ = {}
        for f in self.feature_names_:
            self.source_[f] = self._source_of(f)
        return self

    def _numeric(self, X, fitted: bool = True) -> pd.DataFrame:
        num = X[self.num_].astype(float)
        out = num.fillna(self.median_)
        extra = {f"{c}__missing": num[c].isna().astype(float) for c in self.missing_}
        extra.update({f"log1p_{c}": np.log1p(out[c].clip(lower=0)) for c in self.log_})
        return pd.concat([out, pd.DataFrame(extra, index=X.index)], axis=1) if extra else out

    def _standard(self, base: pd.DataFrame) -> pd.DataFrame:
        return (base - self.mean_) / self.sd_

    def _codes(self, X, c) -> np.ndarray:
        """Integer level codes of column ``c`` (-1: unseen level with no 'other' pool)."""
        return level_codes(X[c], self.levels_[c])

    def _onehot(self, X, c, codes=None) -> tuple[list[str], np.ndarray]:
        codes = self._codes(X, c) if codes is None else codes
        lv = self.levels_[c]
        m = np.zeros((len(codes), len(lv)))
        ok = codes >= 0
        m[np.flatnonzero(ok), codes[ok]] = 1.0
        first = 1 if self.drop_first else 0
        return [f"{c}={v}" for v in lv[first:]], m[:, first:]

    def _onehot_names(self) -> list[str]:
        out = []
        for c in self.cat_:
            lv = self.levels_[c][1:] if self.drop_first else self.levels_[c]
            out += [f"{c}={lvl}" for lvl in lv]
        return out

    def _interactions(self, X, zbase: pd.DataFrame, oh: dict | None = None) -> pd.DataFrame:
        oh = oh if oh is not None else {c: self._onehot(X, c) for c in
                                        {x for p in self.pairs_ for x in p if x in self.cat_}}
        names, cols = [], []

        def z(col):
            return zbase[f"log1p_{col}" if col in self.log_ else col].to_numpy()

        for a, b in self.pairs_:
            if a in self.cat_ and b in self.cat_:
                (na, ma), (nb, mb) = oh[a], oh[b]
                for i, ca in enumerate(na):
                    for j, cb in enumerate(nb):
                        names.append(f"{ca}*{cb}")
                        cols.append(ma[:, i] * mb[:, j])
            elif a in self.cat_ or b in self.cat_:
                ccol, ncol = (a, b) if a in self.cat_ else (b, a)
                nc, mc = oh[ccol]
                zz = z(ncol)
                for i, k in enumerate(nc):
                    names.append(f"{k}*{ncol}")
                    cols.append(mc[:, i] * zz)
            else:
                names.append(f"{a}*{b}")
                cols.append(z(a) * z(b))
        arr = np.column_stack(cols) if cols else np.zeros((len(X), 0))
        return pd.DataFrame(arr, index=X.index, columns=names)

    def _source_of(self, f: str) -> str:
        if "*" in f:
            return "*".join(self._source_of(p) for p in f.split("*"))
        if "=" in f:
            return f.split("=")[0]
        if f.endswith("__missing"):
            return f[: -len("__missing")]
        if f.startswith("log1p_"):
            return f[len("log1p_"):]
        return f

    def transform(self, X) -> pd.DataFrame:
        check_is_fitted(self, "feature_names_")
        X = _as_frame(X)
        absent = [c for c in self.num_ + self.cat_ if c not in X.columns]
        if absent:
            raise ValueError(f"features to score lack column '{absent[0]}' that the model "
                             "was trained with")
        zb = self._standard(self._numeric(X))
        oh = {c: self._onehot(X, c) for c in self.cat_}
        Z = (self._interactions(X, zb, oh) - self.imean_) / self.isd_
        names = list(zb.columns) + [n for c in self.cat_ for n in oh[c][0]] + list(Z.columns)
        arr = np.column_stack([zb.to_numpy(), *[oh[c][1] for c in self.cat_], Z.to_numpy()])
        return pd.DataFrame(arr, index=X.index, columns=names)

    def get_feature_names_out(self, input_features=None):
        return np.array(self.feature_names_, dtype=object)

    def sources(self) -> pd.Series:
        """Encoded feature -> source column (``a*b`` for interactions)."""
        return pd.Series(self.source_)


class ChurnLogistic(ClassifierMixin, BaseEstimator):
    """L2 logistic regression on :class:`AutoEncoder` features (any schema)."""

    def __init__(self, C: float = 0.1, interactions=DEFAULT_INTERACTIONS,
                 class_weight=None):
        self.C = C
        self.interactions = interactions
        self.class_weight = class_weight

    def fit(self, X, y, sample_weight=None):
        self.encoder_ = AutoEncoder(interactions=self.interactions).fit(X)
        Z = self.encoder_.transform(X).to_numpy()
        self.lr_ = LogisticRegression(C=self.C, max_iter=5000, class_weight=self.class_weight)
        self.lr_.fit(Z, np.asarray(y), sample_weight=sample_weight)
        self.classes_ = self.lr_.classes_
        return self

    def decision_function(self, X):
        return self.lr_.decision_function(self.encoder_.transform(X).to_numpy())

    def predict_proba(self, X):
        return self.lr_.predict_proba(self.encoder_.transform(X).to_numpy())

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]

    def coefficients(self) -> pd.DataFrame:
        """Standardised coefficients per encoded feature and their source column."""
        check_is_fitted(self, "lr_")
        names = self.encoder_.feature_names_
        return pd.DataFrame({"feature": names, "source": self.encoder_.sources().loc[names],
                             "coef": self.lr_.coef_[0]})


class ChurnHGB(ClassifierMixin, BaseEstimator):
    """Histogram gradient boosting with native categorical splits, any schema.

    Text columns are coded as categories (rare levels pooled, unseen ->
    missing); numbers pass through (missing values are handled natively).
    ``n_threads`` caps OpenMP threads (1 by default: on a shared machine
    oversubscribed threads are many times slower).
    """

    def __init__(self, learning_rate: float = 0.1, max_iter: int = 100, max_depth: int = 2,
                 min_samples_leaf: int = 40, l2_regularization: float = 1.0,
                 random_state: int = 42, n_threads: int = 1):
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state
        self.n_threads = n_threads

    def _encode(self, X) -> np.ndarray:
        cols = [X[c].astype(float).to_numpy() for c in self.num_]
        for c in self.cat_:
            k = level_codes(X[c], self.levels_[c]).astype(float)
            k[k < 0] = np.nan
            cols.append(k)
        return np.column_stack(cols) if cols else np.zeros((len(X), 0))

    def fit(self, X, y, sample_weight=None):
        X = _as_frame(X)
        self.num_, self.cat_, self.dropped_ = split_columns(X)
        self.levels_ = {}
        for c in self.cat_:
            vc = text_values(X[c]).value_counts()
            self.levels_[c] = [str(v) for v in vc[vc >= 10].index[:250]]
        self.feature_names_ = self.num_ + self.cat_
        mask = np.r_[np.zeros(len(self.num_), bool), np.ones(len(self.cat_), bool)]
        self.hgb_ = HistGradientBoostingClassifier(
            learning_rate=self.learning_rate, max_iter=self.max_iter, max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf, l2_regularization=self.l2_regularization,
            categorical_features=mask if mask.any() else None, early_stopping=False,
            random_state=self.random_state)
        with threadpool_limits(self.n_threads):
            self.hgb_.fit(self._encode(X), np.asarray(y), sample_weight=sample_weight)
        self.classes_ = self.hgb_.classes_
        return self

    def predict_proba(self, X):
        with threadpool_limits(self.n_threads):
            return self.hgb_.predict_proba(self._encode(_as_frame(X)))

    def decision_function(self, X):
        """Log-odds of churn (what Platt scaling should be fitted on)."""
        with threadpool_limits(self.n_threads):
            return self.hgb_.decision_function(self._encode(_as_frame(X)))

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]


class ChurnEnsemble(ClassifierMixin, BaseEstimator):
    """Weighted average of the logistic and boosting probabilities (soft voting)."""

    def __init__(self, weight_logistic: float = 0.7, logistic=None, hgb=None):
        self.weight_logistic = weight_logistic
        self.logistic = logistic
        self.hgb = hgb

    def fit(self, X, y, sample_weight=None):
        self.logistic_ = clone(self.logistic or ChurnLogistic()).fit(X, y, sample_weight)
        self.hgb_ = clone(self.hgb or ChurnHGB()).fit(X, y, sample_weight)
        self.classes_ = self.logistic_.classes_
        return self

    def predict_proba(self, X):
        w = self.weight_logistic
        return w * self.logistic_.predict_proba(X) + (1 - w) * self.hgb_.predict_proba(X)

    def decision_function(self, X):
        """Log-odds of the averaged probability (what Platt scaling should be fitted on)."""
        p = np.clip(self.predict_proba(X)[:, 1], 1e-12, 1 - 1e-12)
        return np.log(p / (1 - p))

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]


def make_model(kind: str = "ensemble", *, calibration: str = "sigmoid", seed: int = 42,
               calibration_folds: int = 3):
    """A churn classifier by name, calibrated inside its own training data.

    ``kind``: ``logistic``, ``hgb`` or ``ensemble``. ``calibration``:
    ``sigmoid`` (Platt), ``isotonic`` or ``none``. The calibration map is
    learnt from ``calibration_folds``-fold cross-validated predictions of the
    training rows only (so an outer cross-validation never sees its test
    fold) and applied to one model refitted on all training rows
    (scikit-learn ``CalibratedClassifierCV(ensemble=False)``: one model to
    score with, not one per fold).
    """
    base = {"logistic": lambda: ChurnLogistic(),
            "hgb": lambda: ChurnHGB(random_state=seed),
            "ensemble": lambda: ChurnEnsemble(hgb=ChurnHGB(random_state=seed))}
    if kind not in base:
        raise ValueError(f"model kind must be one of {', '.join(base)}, got {kind!r}")
    if calibration not in ("sigmoid", "isotonic", "none"):
        raise ValueError(f"calibration must be sigmoid, isotonic or none, got {calibration!r}")
    est = base[kind]()
    if calibration == "none":
        return est
    return CalibratedClassifierCV(est, method=calibration, cv=calibration_folds, ensemble=False)


def _independent_columns(Z: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    """Indices of a maximal linearly independent set of columns (pivoted QR)."""
    _, r, piv = linalg.qr(Z, mode="economic", pivoting=True)
    d = np.abs(np.diag(r))
    rank = int(np.sum(d > tol * d.max())) if len(d) else 0
    return np.sort(piv[:rank])


class OddsRatioLogit(ClassifierMixin, BaseEstimator):
    """Interpretable logistic regression (statsmodels MLE) with odds ratios and Wald CIs.

    Main effects only; categories are reference-coded against their most
    frequent level; numeric columns are standardised, so an odds ratio is
    per one standard deviation (the ``unit`` column gives the SD in the
    column's own units). Linearly dependent columns (for example "no
    internet service" repeated in every add-on column) are dropped and
    listed in ``dropped_collinear_``.
    """

    def __init__(self, alpha: float = 0.05, min_frequency: float = 0.01):
        self.alpha = alpha
        self.min_frequency = min_frequency

    def fit(self, X, y):
        import statsmodels.api as sm
        self.encoder_ = AutoEncoder(interactions=(), log_skewed=False,
                                    min_frequency=self.min_frequency, drop_first=True).fit(X)
        Z = self.encoder_.transform(X)
        keep = _independent_columns(np.column_stack([np.ones(len(Z)), Z.to_numpy()]))
        keep = keep[keep > 0] - 1
        self.columns_ = [Z.columns[i] for i in keep]
        self.dropped_collinear_ = [c for c in Z.columns if c not in self.columns_]
        exog = sm.add_constant(Z[self.columns_].to_numpy(), has_constant="add")
        model = sm.Logit(np.asarray(y, float), exog)
        try:
            self.result_ = model.fit(disp=0, method="newton", maxiter=100)
        except np.linalg.LinAlgError:
            self.result_ = model.fit(disp=0, method="bfgs", maxiter=2000)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        import statsmodels.api as sm
        Z = self.encoder_.transform(X)[self.columns_].to_numpy()
        p = self.result_.predict(sm.add_constant(Z, has_constant="add"))
        return np.column_stack([1 - p, p])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def odds_ratios(self) -> pd.DataFrame:
        """Odds ratio, 95% interval and p-value per feature (intercept excluded)."""
        check_is_fitted(self, "result_")
        r = self.result_
        ci = np.asarray(r.conf_int(alpha=self.alpha))[1:]
        names = self.columns_
        enc = self.encoder_
        unit = [f"per SD ({enc.sd_[n]:.3g})" if n in enc.sd_.index and n in enc.num_
                else ("vs " + enc.levels_[enc.source_[n]][0] if "=" in n else "")
                for n in names]
        out = pd.DataFrame({
            "feature": names, "source": [enc.source_[n] for n in names], "unit": unit,
            "odds_ratio": np.exp(r.params[1:]), "ci_low": np.exp(ci[:, 0]),
            "ci_high": np.exp(ci[:, 1]), "p_value": r.pvalues[1:]})
        return out.sort_values("p_value").reset_index(drop=True)
