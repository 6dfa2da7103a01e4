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
  (Hosmer, Lemeshow & Sturdivant 2013), solved exactly by Newton-Cholesky.
- :class:`ChurnHGB`: histogram gradient boosting with native categorical
  splits (Ke et al. 2017, LightGBM; scikit-learn's implementation), with
  early stopping on a held-out share of the training rows.
- :class:`ChurnEnsemble`: weighted average of the two probabilities.
- :func:`make_model`: one of them wrapped in probability calibration
  cross-fitted inside the training data (Platt 1999 sigmoid, or isotonic:
  Zadrozny & Elkan 2002; Niculescu-Mizil & Caruana 2005).
- :class:`OddsRatioLogit`: the interpretable model: an unpenalised logistic
  regression fitted by statsmodels with odds ratios, Wald 95% intervals and
  p-values (main effects only, collinear columns dropped and named).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools

import numpy as np
import pandas as pd
from scipy import linalg
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.calibration import CalibratedClassifierCV, _SigmoidCalibration
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import ThreadpoolController

from .. import fmt

#: Switching-cost interactions added to the linear model when both columns are present.
DEFAULT_INTERACTIONS: tuple[tuple[str, str], ...] = (
    ("contract", "tenure_months"),
    ("contract", "monthly_charges"),
    ("contract", "plan"),
    ("plan", "monthly_charges"),
)
MAX_LEVELS = 50  # categorical columns with more levels (ids, free text) are dropped


@functools.cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()  # finds the BLAS/OpenMP libraries once (a few ms)


def threads(n: int = 1):
    """Context manager capping BLAS and OpenMP at ``n`` threads (cheap to enter).

    The models' matrices are small: on a shared 2-core machine, or with two
    notebooks running side by side, more threads only oversubscribe the cores
    (a logistic fit took 40x longer with two OpenBLAS threads under load).
    """
    return _controller().limit(limits=n)


def split_columns(X: pd.DataFrame) -> tuple[list[str], list[str], list[str]]:
    """(numeric, categorical, dropped) columns of a feature frame.

    Numeric: numbers and booleans. Categorical: text with at most
    :data:`MAX_LEVELS` levels. Dropped (reported, never silently): constant
    columns, dates, and high-cardinality text such as ids or free comments.
    """
    num, cat, drop, _ = _split_counted(X)
    return num, cat, drop


def _split_counted(X: pd.DataFrame) -> tuple[list[str], list[str], list[str], dict]:
    """:func:`split_columns` and, for each categorical column, ``text_values(X[c])
    .value_counts()`` as a dict text -> count in its order (what the models' level lists
    are built from), both from one factorisation of the column."""
    num, cat, drop, counts = [], [], [], {}
    for c in X.columns:
        s = X[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            drop.append(c)
        elif pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            (num if _varies(s) else drop).append(c)
        else:
            fast = _text_counts(s)
            k = s.nunique(dropna=True) if fast is None else fast[1]
            if 2 <= k <= MAX_LEVELS:
                cat.append(c)
                counts[c] = (dict(text_values(s).value_counts().items()) if fast is None
                             else fast[0])
            else:
                drop.append(c)
    return num, cat, drop, counts


def _text_counts(s: pd.Series) -> tuple[dict, int] | None:
    """``text_values(s).value_counts()`` of a string column from ``pd.factorize`` (a dict
    text -> count in the same order), and the number of distinct non-missing values;
    None for other dtypes (or a literal ``missing`` beside missing values), which take
    the general path.

    The same counts in the same order: each text in order of first appearance
    (``missing`` at the first missing value), then a stable sort by count, largest
    first, as ``value_counts`` sorts (tests/test_churn_models.py).
    """
    if not isinstance(s.dtype, pd.StringDtype):
        return None
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    keys = [str(v) for v in uniques]
    counts = list(np.bincount(codes[codes >= 0], minlength=len(keys)))
    na = np.flatnonzero(codes < 0)
    if na.size:
        if "missing" in keys:
            return None
        at = int(codes[:na[0]].max()) + 1 if na[0] else 0  # codes appear in order 0, 1, ...
        keys.insert(at, "missing")
        counts.insert(at, na.size)
    order = sorted(range(len(keys)), key=lambda i: -counts[i])  # stable: ties keep order
    return {keys[i]: int(counts[i]) for i in order}, len(uniques)


def _varies(s: pd.Series) -> bool:
    """At least two distinct non-missing values (``nunique() >= 2`` without hashing)."""
    v = s.to_numpy() if s.dtype == np.float64 else s.to_numpy(dtype=float, na_value=np.nan)
    if not v.size:
        return False
    lo, hi = np.fmin.reduce(v), np.fmax.reduce(v)  # NaN only when every value is missing
    return bool(lo == lo and lo != hi)


def text_values(s: pd.Series) -> pd.Series:
    """A column as text with missing values spelt ``missing``."""
    return s.astype("string").fillna("missing")


def level_codes(s: pd.Series, levels: list[str]) -> np.ndarray:
    """Codes of ``s`` in ``levels``; unseen values go to ``other`` when pooled, else -1.

    Text columns are factorised first, so only the distinct values are looked
    up (the same codes as looking up every row's :func:`text_values`).
    """
    if pd.api.types.is_string_dtype(s):
        pos = {v: i for i, v in enumerate(levels)}
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        lookup = np.array([pos.get(str(v), -1) for v in uniques] + [pos.get("missing", -1)],
                          dtype=np.int64)
        codes = lookup[codes]  # code -1 (missing) takes the last entry
    else:
        codes = pd.Index(levels).get_indexer(text_values(s)).astype(np.int64)
    if "other" in levels:
        codes[codes < 0] = levels.index("other")
    return codes


def _floats(X: pd.DataFrame, cols: list[str]) -> np.ndarray:
    """Numeric columns as one float matrix (missing -> NaN)."""
    if not cols:
        return np.zeros((len(X), 0))
    out = np.empty((len(X), len(cols)), order="F")  # filled column by column
    for j, c in enumerate(cols):
        s = X[c]
        out[:, j] = s.to_numpy() if s.dtype == np.float64 else s.to_numpy(dtype=float,
                                                                          na_value=np.nan)
    return out


def _medians(num: np.ndarray, isna: np.ndarray, gaps: np.ndarray) -> np.ndarray:
    """``np.nanmedian(num, axis=0)``: each column's median of its non-missing values
    (NumPy's own median per column: the same partition and mean of the middle values)."""
    out = np.full(num.shape[1], np.nan)
    for j in range(num.shape[1]):
        v = num[~isna[:, j], j] if gaps[j] else num[:, j]
        if v.size:
            out[j] = np.median(v)
    return out


def _more_than(v: np.ndarray, k: int) -> bool:
    """More than ``k`` distinct values in ``v`` (``pd.unique(v).size > k``), deciding on a
    prefix when it already has that many."""
    head = min(v.size, 16 * (k + 1))
    return bool(pd.unique(v[:head]).size > k or (head < v.size and pd.unique(v).size > k))


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

    The matrix is built with NumPy from each column's values (one pass per
    column; text is factorised once), :meth:`transform_array` returns it
    without the DataFrame wrapper.
    """

    def __init__(self, interactions=DEFAULT_INTERACTIONS, log_skewed: bool = True,
                 min_frequency: float = 0.005, drop_first: bool = False):
        self.interactions = interactions
        self.log_skewed = log_skewed
        self.min_frequency = min_frequency
        self.drop_first = drop_first

    def fit(self, X, y=None):
        self._fit(X)
        return self

    def fit_transform(self, X, y=None, **fit_params) -> pd.DataFrame:
        return self._frame(self._fit(X), X.index)

    def _fit(self, X) -> np.ndarray:
        """Learn levels, medians, scales and interaction pairs; the training matrix."""
        X = _as_frame(X)
        self.num_, self.cat_, self.dropped_, counts = _split_counted(X)
        n = len(X)
        self.levels_ = {}
        for c in self.cat_:
            vc = counts[c]
            keep = [str(v) for v, k in vc.items() if k >= max(1, self.min_frequency * n)]
            if len(keep) < len(vc):
                keep.append("other")
            keep = sorted(keep, key=lambda v: -vc.get(v, 0))  # most frequent first (reference)
            self.levels_[c] = keep if len(keep) > 1 else []
        self.cat_ = [c for c in self.cat_ if self.levels_[c]]
        num = _floats(X, self.num_)
        isna = np.isnan(num)
        gaps = isna.any(axis=0)
        self.median_ = pd.Series(_medians(num, isna, gaps) if n else np.nan, index=self.num_)
        self.missing_ = [c for j, c in enumerate(self.num_) if gaps[j]]
        filled = self._fill(num, isna, gaps)  # in place: num's other values are unchanged
        self.log_ = [c for j, c in enumerate(self.num_) if self.log_skewed
                     and filled[:, j].min() >= 0
                     and _more_than(filled[~isna[:, j], j] if gaps[j] else filled[:, j], 10)]
        names = self._base_names()
        base = self._numeric(filled, isna)
        self.mean_ = pd.Series(base.mean(axis=0), index=names)
        self.sd_ = pd.Series(base.std(axis=0, ddof=0), index=names).replace(0, 1.0)
        self.pairs_ = [(a, b) for a, b in (self.interactions or ())
                       if {a, b} <= set(self.num_ + self.cat_) and a != b]
        codes = {c: level_codes(X[c], self.levels_[c]) for c in self.cat_}
        out, zb, oh, Z, inames = self._design(base, codes, scale_interactions=False)
        self.imean_ = pd.Series(Z.mean(axis=0), index=inames)
        self.isd_ = pd.Series(Z.std(axis=0, ddof=0), index=inames).replace(0, 1.0)
        self._standard_z(Z, out=out[:, out.shape[1] - Z.shape[1]:])
        self.feature_names_ = names + self._onehot_names() + inames
        self.source_ = {f: self._source_of(f) for f in self.feature_names_}
        return out

    def _fill(self, num: np.ndarray, isna: np.ndarray, gaps: np.ndarray) -> np.ndarray:
        """``np.where(isna, median, num)``, written into ``num`` (only its missing values
        change) and returned."""
        med = self.median_.to_numpy()
        for j in np.flatnonzero(gaps):
            num[isna[:, j], j] = med[j]
        return num

    def _design(self, base: np.ndarray, codes: dict, *, scale_interactions: bool = True):
        """The design matrix of the standardised numeric block, the one-hot blocks and the
        interactions, written into one C-ordered array (``np.column_stack`` of the blocks,
        without the copies): (matrix, numeric block, one-hot blocks, raw interactions,
        interaction names). ``scale_interactions=False`` (``_fit``) leaves the interaction
        block unstandardised: its scale is learnt from it first."""
        n, nb = base.shape
        widths = [len(self.levels_[c]) - (1 if self.drop_first else 0) for c in self.cat_]
        n_int = self._n_interactions()
        out = np.zeros((n, nb + sum(widths) + n_int))
        zb = self._standard(base, out=out[:, :nb])
        oh, at = {}, nb
        for c, w in zip(self.cat_, widths, strict=True):
            oh[c] = self._onehot(codes[c], c, out=out[:, at:at + w])
            at += w
        inames, Z = self._interactions(zb, oh)
        if scale_interactions:
            self._standard_z(Z, out=out[:, at:])
        return out, zb, oh, Z, inames

    def _n_interactions(self) -> int:
        first = 1 if self.drop_first else 0
        k = 0
        for a, b in self.pairs_:
            ka = len(self.levels_[a]) - first if a in self.cat_ else 1
            kb = len(self.levels_[b]) - first if b in self.cat_ else 1
            k += ka * kb
        return k

    def _base_names(self) -> list[str]:
        return (list(self.num_) + [f"{c}__missing" for c in self.missing_]
                + [f"log1p_{c}" for c in self.log_])

    def _numeric(self, filled: np.ndarray, isna: np.ndarray) -> np.ndarray:
        """Imputed numbers, missing indicators and ``log1p`` columns (unstandardised):
        ``np.column_stack([filled, *indicators, *logs])`` (in its column order, F, which the
        column means and SDs are summed in; ``filled`` itself when there are neither)."""
        if not (self.missing_ or self.log_):
            return filled
        pos = {c: j for j, c in enumerate(self.num_)}
        k, m = len(self.num_), len(self.missing_)
        base = np.empty((len(filled), k + m + len(self.log_)), order="F")
        base[:, :k] = filled
        for i, c in enumerate(self.missing_):
            base[:, k + i] = isna[:, pos[c]]
        for i, c in enumerate(self.log_):
            base[:, k + m + i] = np.log1p(np.clip(filled[:, pos[c]], 0, None))
        return base

    def _standard(self, base: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        out = np.subtract(base, self.mean_.to_numpy(), out=out)
        return np.divide(out, self.sd_.to_numpy(), out=out)

    def _standard_z(self, Z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        out = np.subtract(Z, self.imean_.to_numpy(), out=out)
        return np.divide(out, self.isd_.to_numpy(), out=out)

    def _onehot(self, codes: np.ndarray, c: str, out: np.ndarray | None = None) -> np.ndarray:
        """One-hot block of column ``c`` from its level codes (reference level dropped if
        asked), written into ``out`` (zeros) when given."""
        first = 1 if self.drop_first else 0
        m = np.zeros((len(codes), len(self.levels_[c]) - first)) if out is None else out
        ok = codes >= first
        m[np.flatnonzero(ok), codes[ok] - first] = 1.0
        return m

    def _onehot_names(self) -> list[str]:
        out = []
        for c in self.cat_:
            lv = self.levels_[c][1:] if self.drop_first else self.levels_[c]
            out += [f"{c}={lvl}" for lvl in lv]
        return out

    def _interactions(self, zbase: np.ndarray, oh: dict) -> tuple[list[str], np.ndarray]:
        """Products of the interaction pairs (unstandardised): names and columns."""
        bnames = {n: j for j, n in enumerate(self._base_names())}
        first = 1 if self.drop_first else 0
        names, cols = [], []

        def z(col):
            return zbase[:, bnames[f"log1p_{col}" if col in self.log_ else col]]

        def labels(c):
            return [f"{c}={v}" for v in self.levels_[c][first:]]

        for a, b in self.pairs_:
            if a in self.cat_ and b in self.cat_:
                for i, ca in enumerate(labels(a)):
                    for j, cb in enumerate(labels(b)):
                        names.append(f"{ca}*{cb}")
                        cols.append(oh[a][:, i] * oh[b][:, j])
            elif a in self.cat_ or b in self.cat_:
                ccol, ncol = (a, b) if a in self.cat_ else (b, a)
                zz = z(ncol)
                for i, k in enumerate(labels(ccol)):
                    names.append(f"{k}*{ncol}")
                    cols.append(oh[ccol][:, i] * zz)
            else:
                names.append(f"{a}*{b}")
                cols.append(z(a) * z(b))
        arr = np.column_stack(cols) if cols else np.zeros((len(zbase), 0))
        return names, arr

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

    def transform_array(self, X) -> np.ndarray:
        """The design matrix of ``X`` as a NumPy array (columns: ``feature_names_``)."""
        check_is_fitted(self, "feature_names_")
        X = _as_frame(X)
        absent = [c for c in self.num_ + self.cat_ if c not in X.columns]
        if absent:
            raise ValueError(f"features to score lack column '{absent[0]}' that the model "
                             "was trained with")
        num = _floats(X, self.num_)
        isna = np.isnan(num)
        filled = self._fill(num, isna, isna.any(axis=0))
        codes = {c: level_codes(X[c], self.levels_[c]) for c in self.cat_}
        return self._design(self._numeric(filled, isna), codes)[0]

    def needs(self, column: str) -> list[str]:
        """The input columns the terms involving ``column`` read: it and its interaction
        partners (empty when the encoder does not use ``column``)."""
        if column not in self.num_ and column not in self.cat_:
            return []
        partners = [b if a == column else a for a, b in self.pairs_ if column in (a, b)]
        return [column] + [p for p in dict.fromkeys(partners) if p != column]

    def linear_predictor(self, X, coef: np.ndarray, intercept: float = 0.0, *,
                         only: str | None = None) -> np.ndarray:
        """``transform_array(X) @ coef + intercept`` without building the design matrix.

        A one-hot block times its coefficients is a look-up of the row's level, and
        a category x number interaction a looked-up coefficient times the number, so
        only the numeric block is a matrix product. Equal to the matrix product up
        to floating-point rounding (the terms are added in another order).

        ``only``: the sum of the terms whose design columns involve that input column
        (its own columns and its interactions; no intercept or centring constants):
        what changes when only that column changes. ``X`` then needs the columns
        :meth:`needs` lists.
        """
        check_is_fitted(self, "feature_names_")
        X = _as_frame(X)
        need = self.num_ + self.cat_ if only is None else self.needs(only)
        absent = [c for c in need if c not in X.columns]
        if absent:
            raise ValueError(f"features to score lack column '{absent[0]}' that the model "
                             "was trained with")
        coef = np.asarray(coef, float).ravel()
        if only is not None:
            return self.terms_of({c: X[c] for c in need}, coef, only)
        nb, k = len(self.mean_), len(self.num_)
        num = _floats(X, self.num_)
        isna = np.isnan(num)
        filled = np.where(isna, self.median_.to_numpy(), num)
        sd, mean = self.sd_.to_numpy(), self.mean_.to_numpy()
        wz = coef[:nb] / sd  # standardised numeric block: base @ (coef / sd) - mean . that
        out = filled @ wz[:k] + (intercept - float(np.dot(mean, wz)))
        pos = {c: j for j, c in enumerate(self.num_)}
        for i, c in enumerate(self.missing_):
            out += wz[k + i] * isna[:, pos[c]]
        logs = {c: np.log1p(np.clip(filled[:, pos[c]], 0, None)) for c in self.log_}
        for i, c in enumerate(self.log_):
            out += wz[k + len(self.missing_) + i] * logs[c]
        bnames = {n: j for j, n in enumerate(self._base_names())}

        def z(col):  # a standardised base column (log1p of skewed ones), for interactions
            j = bnames[f"log1p_{col}" if col in self.log_ else col]
            v = logs[col] if col in self.log_ else filled[:, pos[col]]
            return (v - mean[j]) / sd[j]
        first = 1 if self.drop_first else 0
        codes, start = {}, nb
        for c in self.cat_:
            k = len(self.levels_[c]) - first
            # coefficient of every level code (reference level and unseen (-1): none)
            w = np.zeros(len(self.levels_[c]) + 1)
            w[first:first + k] = coef[start:start + k]
            codes[c] = level_codes(X[c], self.levels_[c])
            out += w[codes[c]]
            start += k
        v = coef[start:] / self.isd_.to_numpy()  # interaction coefficients, standardised
        out -= float(np.dot(v, self.imean_.to_numpy()))
        return out + self._interaction_terms(v, codes, z, len(out))

    def _interaction_terms(self, v: np.ndarray, codes: dict, z, n: int,
                           only: str | None = None) -> np.ndarray:
        """Sum of the interaction terms (all, or those of the pairs involving ``only``):
        ``v`` their standardised coefficients, ``codes`` the level codes of the categories,
        ``z(col)`` a standardised numeric base column."""
        first = 1 if self.drop_first else 0
        out = np.zeros(n)
        at = 0
        for a, b in self.pairs_:
            use = only is None or only in (a, b)
            if a in self.cat_ and b in self.cat_:
                ka, kb = len(self.levels_[a]) - first, len(self.levels_[b]) - first
                if use:
                    m = np.zeros((len(self.levels_[a]) + 1, len(self.levels_[b]) + 1))
                    m[first:first + ka, first:first + kb] = v[at:at + ka * kb].reshape(ka, kb)
                    out += m[codes[a], codes[b]]
                at += ka * kb
            elif a in self.cat_ or b in self.cat_:
                ccol, ncol = (a, b) if a in self.cat_ else (b, a)
                k = len(self.levels_[ccol]) - first
                if use:
                    w = np.zeros(len(self.levels_[ccol]) + 1)
                    w[first:first + k] = v[at:at + k]
                    out += w[codes[ccol]] * z(ncol)
                at += k
            else:
                if use:
                    out += v[at] * z(a) * z(b)
                at += 1
        return out

    def terms_of(self, X: dict, coef: np.ndarray, only: str) -> np.ndarray:
        """The design-matrix terms involving input column ``only`` (see :meth:`linear_predictor`),
        from ``X``: column name -> Series, at least the columns :meth:`needs` lists."""
        need = set(self.needs(only))
        out = np.zeros(len(X[only]))
        if not need:
            return out
        nb = len(self.mean_)
        sd, mean = self.sd_.to_numpy(), self.mean_.to_numpy()
        wz = coef[:nb] / sd
        bnames = {nm: j for j, nm in enumerate(self._base_names())}
        nums = [c for c in self.num_ if c in need]
        raw = {c: X[c].to_numpy(dtype=float, na_value=np.nan) for c in nums}
        filled = {c: np.where(np.isnan(v), self.median_[c], v) for c, v in raw.items()}
        logs = {c: np.log1p(np.clip(filled[c], 0, None)) for c in nums if c in self.log_}

        def z(col):
            j = bnames[f"log1p_{col}" if col in self.log_ else col]
            return ((logs[col] if col in self.log_ else filled[col]) - mean[j]) / sd[j]

        if only in raw:  # the column's own numeric terms
            out += wz[bnames[only]] * filled[only]
            if only in self.missing_:
                out += wz[bnames[f"{only}__missing"]] * np.isnan(raw[only])
            if only in self.log_:
                out += wz[bnames[f"log1p_{only}"]] * logs[only]
        first = 1 if self.drop_first else 0
        codes, start = {}, nb
        for c in self.cat_:
            kk = len(self.levels_[c]) - first
            if c in need:
                codes[c] = level_codes(X[c], self.levels_[c])
                if c == only:
                    w = np.zeros(len(self.levels_[c]) + 1)
                    w[first:first + kk] = coef[start:start + kk]
                    out += w[codes[c]]
            start += kk
        v = coef[start:] / self.isd_.to_numpy()
        return out + self._interaction_terms(v, codes, z, len(out), only)

    def _frame(self, arr: np.ndarray, index) -> pd.DataFrame:
        return pd.DataFrame(arr, index=index, columns=self.feature_names_)

    def transform(self, X) -> pd.DataFrame:
        return self._frame(self.transform_array(X), X.index)

    def get_feature_names_out(self, input_features=None):
        return np.array(self.feature_names_, dtype=object)

    def sources(self) -> pd.Series:
        """Encoded feature -> source column (``a*b`` for interactions)."""
        return pd.Series(self.source_)


class ChurnLogistic(ClassifierMixin, BaseEstimator):
    """L2 logistic regression on :class:`AutoEncoder` features (any schema).

    Solved by Newton-Cholesky (scikit-learn ``solver="newton-cholesky"``): a few
    exact Newton steps on a design of tens of columns, converging to the
    penalised optimum instead of stopping at L-BFGS's tolerance.
    """

    def __init__(self, C: float = 0.1, interactions=DEFAULT_INTERACTIONS,
                 class_weight=None):
        self.C = C
        self.interactions = interactions
        self.class_weight = class_weight

    def fit(self, X, y, sample_weight=None):
        self.encoder_ = AutoEncoder(interactions=self.interactions)
        Z = self.encoder_._fit(X)
        self.lr_ = LogisticRegression(C=self.C, solver="newton-cholesky", max_iter=100,
                                      class_weight=self.class_weight)
        with threads(1):
            self.lr_.fit(Z, np.asarray(y), sample_weight=sample_weight)
        self.classes_ = self.lr_.classes_
        return self

    def decision_function(self, X):
        """Log-odds of churn: the design matrix times the coefficients, computed without
        building the matrix (:meth:`AutoEncoder.linear_predictor`)."""
        return self.encoder_.linear_predictor(X, self.lr_.coef_[0], float(self.lr_.intercept_[0]))

    def predict_proba(self, X):
        p = expit(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]

    def coefficients(self) -> pd.DataFrame:
        """Standardised coefficients per encoded feature and their source column."""
        check_is_fitted(self, "lr_")
        names = self.encoder_.feature_names_
        return pd.DataFrame({"feature": names, "source": self.encoder_.sources().loc[names],
                             "coef": self.lr_.coef_[0]})


class _Forest:
    """Exact, vectorised evaluation of a fitted binary ``HistGradientBoostingClassifier``.

    scikit-learn walks every tree row by row (``_predict_from_raw_data``); for the
    shallow trees used here it is several times faster to evaluate each split
    for all rows at once with NumPy (``where(goes_left, left value, right
    value)``, recursively). The rules are scikit-learn's, split by split:
    numbers go left when ``x <= threshold``, missing values follow
    ``missing_go_to_left``; categories go left when in the split's bitset,
    right when a known category, and are treated as missing otherwise. The
    trees' leaf values are added to the baseline in the same order, so the raw
    predictions are bit-for-bit scikit-learn's (tests/test_churn_models.py).
    """

    MAX_NODES = 15  # trees of depth 3 at most (this module's default is depth 2)

    def __init__(self, hgb: HistGradientBoostingClassifier):
        self.hgb = hgb
        self.known, self.fmap = hgb._bin_mapper.make_known_categories_bitsets()
        self.trees = [self._compile(p.nodes, p.raw_left_cat_bitsets, 0)
                      for (p,) in hgb._predictors]
        # deep trees: every split is evaluated for every row, so walk them row by row instead
        self.vectorised = all(p.nodes.shape[0] <= self.MAX_NODES for (p,) in hgb._predictors)
        self.layout = self._layout(hgb)
        self.by_feature: dict[int, list[int]] = {}  # preprocessed column -> trees splitting on it
        for t, tree in enumerate(self.trees):
            for f in self._features(tree):
                self.by_feature.setdefault(f, []).append(t)

    @classmethod
    def _features(cls, tree) -> set:
        if isinstance(tree, float):
            return set()
        return {tree[0]} | cls._features(tree[2]) | cls._features(tree[3])

    def position(self, j: int) -> tuple[int, np.ndarray | None]:
        """Where input column ``j`` lands after :meth:`preprocess`, and its known
        categories (None for a number)."""
        if self.layout is None:
            return j, None
        at = 0
        for cols, cats in self.layout:
            hit = np.flatnonzero(cols == j)
            if hit.size:
                return at + int(hit[0]), (None if cats is None else cats[int(hit[0])])
            at += len(cols)
        raise ValueError(f"input column {j} is not used by the model")

    @staticmethod
    def _ordinal(x: np.ndarray, known: np.ndarray) -> np.ndarray:
        i = np.searchsorted(known, x)
        hit = known[np.minimum(i, len(known) - 1)] == x if len(known) else False
        return np.where(hit, i, np.nan)

    @staticmethod
    def _layout(hgb):
        """The input columns scikit-learn's categorical preprocessing puts in each output
        position, with the known categories of the encoded ones (None: no preprocessor, or
        one this class does not reproduce)."""
        pp = getattr(hgb, "_preprocessor", None)
        if pp is None:
            return None
        parts = []
        for name, trans, mask in pp.transformers_:
            cols = np.flatnonzero(np.asarray(mask, bool)) if len(mask) else np.array([], int)
            if name == "remainder":
                if trans != "drop" or cols.size:
                    return None
                continue
            sl = pp.output_indices_[name]
            if name == "encoder":
                enc = trans
                if not (enc.handle_unknown == "use_encoded_value" and np.isnan(enc.unknown_value)
                        and np.isnan(enc.encoded_missing_value)):
                    return None
                cats = [np.asarray(c, float) for c in enc.categories_]
                parts.append((sl.start, cols, [c[~np.isnan(c)] for c in cats]))
            elif name == "numerical":
                parts.append((sl.start, cols, None))
            else:
                return None
        return [p[1:] for p in sorted(parts, key=lambda p: p[0])]

    def preprocess(self, E: np.ndarray) -> np.ndarray:
        """``hgb._preprocess_X(E, reset=False)``: categories to their ordinal codes (unknown
        and missing -> NaN), categorical columns first, computed directly (the
        ``ColumnTransformer`` costs more than the trees on a few thousand rows)."""
        if self.layout is None:
            return self.hgb._preprocess_X(E, reset=False)
        E = np.asarray(E, dtype=float)
        out = []
        for cols, cats in self.layout:
            if cats is None:
                out.append(E[:, cols])
                continue
            for j, known in zip(cols, cats, strict=True):
                out.append(self._ordinal(E[:, j], known)[:, None])
        return np.ascontiguousarray(np.column_stack(out)) if out else E[:, :0]

    def _compile(self, nodes, bits, i: int):
        """A tree as nested tuples: a leaf value, or (feature, rule, left, right)."""
        nd = nodes[i]
        if nd["is_leaf"]:
            return float(nd["value"])
        f, mgl = int(nd["feature_idx"]), bool(nd["missing_go_to_left"])
        if nd["is_categorical"]:
            left_bits, known_bits = bits[int(nd["bitset_idx"])], self.known[self.fmap[f]]
            codes = np.arange(256)
            # where each possible category code goes, and missing / invalid (last entry)
            table = np.r_[self._in_bitset(left_bits, codes)
                          | (~self._in_bitset(known_bits, codes) & mgl), mgl]
            rule = ("cat", mgl, table)
        else:
            rule = ("num", mgl, float(nd["num_threshold"]))
        return (f, rule, self._compile(nodes, bits, int(nd["left"])),
                self._compile(nodes, bits, int(nd["right"])))

    @staticmethod
    def _in_bitset(bitset: np.ndarray, codes: np.ndarray) -> np.ndarray:
        return ((bitset[codes >> 5] >> (codes & 31).astype(np.uint32)) & 1).astype(bool)

    @staticmethod
    def _category_slots(x: np.ndarray, nan: np.ndarray) -> np.ndarray:
        """Each row's entry in a categorical split's table: its code as scikit-learn casts
        it (to uint8) before the bitset lookup, 256 for a missing or negative value."""
        valid = ~nan & (x >= 0)
        codes = np.where(valid, x, 0).astype(np.int64).astype(np.uint8).astype(np.int64)
        return np.where(valid, codes, 256)

    def _goes_left(self, rule, x: np.ndarray, nan: np.ndarray,
                   slots: np.ndarray | None = None) -> np.ndarray:
        """Rows of ``x`` that a split sends left. A categorical split looks each row up in
        its table (the 256 codes: in its bitset, or an unknown category following the
        missing values; then missing); ``slots``: the rows' table entries when known."""
        if rule[0] == "num":
            left = x <= rule[2]
            return left | nan if rule[1] else left
        return rule[2][self._category_slots(x, nan) if slots is None else slots]

    def _value(self, tree, cols, nans, slots: dict):
        """A tree's values for all rows; ``slots`` caches the category table entries of
        each column for the call (the column does not change within it)."""
        if isinstance(tree, float):
            return tree
        f, rule, left, right = tree
        if rule[0] == "cat" and f not in slots:
            slots[f] = self._category_slots(cols[f], nans[f])
        return np.where(self._goes_left(rule, cols[f], nans[f], slots.get(f)),
                        self._value(left, cols, nans, slots),
                        self._value(right, cols, nans, slots))

    def raw_predict(self, E: np.ndarray) -> np.ndarray:
        """Raw (log-odds) predictions, shape (n, 1), as ``hgb._raw_predict(E)``."""
        if not self.vectorised:
            return self.hgb._raw_predict(E)
        return self.raw_from_columns(*self.columns(E), len(E))

    def raw_from_columns(self, cols: list, nans: list, n: int) -> np.ndarray:
        """:meth:`raw_predict` of ``n`` rows from their preprocessed columns and masks
        (:meth:`columns`)."""
        raw = np.zeros((n, 1),
                       dtype=self.hgb._baseline_prediction.dtype, order="F")
        raw += self.hgb._baseline_prediction
        out = raw[:, 0]
        slots: dict = {}
        for tree in self.trees:
            out += self._value(tree, cols, nans, slots)
        return raw

    def columns(self, E: np.ndarray) -> tuple[list, list]:
        """Preprocessed columns of ``E`` and their missing masks (what the trees read)."""
        Xp = self.preprocess(E)
        cols = [np.ascontiguousarray(Xp[:, j]) for j in range(Xp.shape[1])]
        return cols, [np.isnan(c) for c in cols]

    def trees_sum(self, trees: list[int], cols, nans) -> np.ndarray | float:
        out, slots = 0.0, {}
        for t in trees:
            out = out + self._value(self.trees[t], cols, nans, slots)
        return out

    def predict_proba(self, E: np.ndarray) -> np.ndarray:
        return self.hgb._loss.predict_proba(self.raw_predict(E))

    def decision_function(self, E: np.ndarray) -> np.ndarray:
        return self.raw_predict(E).ravel()


class ChurnHGB(ClassifierMixin, BaseEstimator):
    """Histogram gradient boosting with native categorical splits, any schema.

    Text columns are coded as categories (rare levels pooled, unseen ->
    missing); numbers pass through (missing values are handled natively).
    With ``early_stopping`` (the default) boosting stops when the log-loss on
    a stratified ``validation_fraction`` of the training rows has not improved
    for ``n_iter_no_change`` rounds (at most ``max_iter`` trees; Prechelt 1998,
    scikit-learn's ``early_stopping``); the held-out rows are drawn with
    ``random_state`` and are part of the training data passed to ``fit``, so
    an outer cross-validation's test fold is never used.
    ``n_threads`` caps OpenMP threads (1 by default: on a shared machine
    oversubscribed threads are many times slower). Predictions are
    scikit-learn's, computed split by split for all rows at once
    (:class:`_Forest`, the same numbers several times faster).
    """

    def __init__(self, learning_rate: float = 0.1, max_iter: int = 100, max_depth: int = 2,
                 min_samples_leaf: int = 40, l2_regularization: float = 1.0,
                 random_state: int = 42, n_threads: int = 1, early_stopping: bool = True,
                 validation_fraction: float = 0.1, n_iter_no_change: int = 10):
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state
        self.n_threads = n_threads
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change

    def _encode(self, X) -> np.ndarray:
        cols = [_floats(X, self.num_)]
        for c in self.cat_:
            k = level_codes(X[c], self.levels_[c]).astype(float)
            k[k < 0] = np.nan
            cols.append(k[:, None])
        return np.column_stack(cols)

    def fit(self, X, y, sample_weight=None):
        X = _as_frame(X)
        self.num_, self.cat_, self.dropped_, counts = _split_counted(X)
        self.levels_ = {}
        for c in self.cat_:
            vc = counts[c]
            self.levels_[c] = [str(v) for v, k in vc.items() if k >= 10][:250]
        self.feature_names_ = self.num_ + self.cat_
        mask = np.r_[np.zeros(len(self.num_), bool), np.ones(len(self.cat_), bool)]
        self.hgb_ = HistGradientBoostingClassifier(
            learning_rate=self.learning_rate, max_iter=self.max_iter, max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf, l2_regularization=self.l2_regularization,
            categorical_features=mask if mask.any() else None,
            early_stopping=self.early_stopping, validation_fraction=self.validation_fraction,
            n_iter_no_change=self.n_iter_no_change, random_state=self.random_state)
        with threads(self.n_threads):
            self.hgb_.fit(self._encode(X), np.asarray(y), sample_weight=sample_weight)
        self.classes_ = self.hgb_.classes_
        self.forest_ = _Forest(self.hgb_)
        return self

    def predict_proba(self, X):
        with threads(self.n_threads):
            return self.forest_.predict_proba(self._encode(_as_frame(X)))

    def decision_function(self, X):
        """Log-odds of churn (what Platt scaling should be fitted on)."""
        with threads(self.n_threads):
            return self.forest_.decision_function(self._encode(_as_frame(X)))

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]


_MEMBER_LOG: contextvars.ContextVar = contextvars.ContextVar("churn_member_log", default=None)


@contextlib.contextmanager
def member_log():
    """Within the block, every :class:`ChurnEnsemble` prediction appends ``(ensemble, rows,
    logistic decision, boosting raw score)`` to the yielded list (members' scores that
    the ensemble computes anyway, for calibrating each member on its own)."""
    log: list = []
    token = _MEMBER_LOG.set(log)
    try:
        yield log
    finally:
        _MEMBER_LOG.reset(token)


class ChurnEnsemble(ClassifierMixin, BaseEstimator):
    """Weighted average of the logistic and boosting probabilities (soft voting)."""

    def __init__(self, weight_logistic: float = 0.7, logistic=None, hgb=None):
        self.weight_logistic = weight_logistic
        self.logistic = logistic
        self.hgb = hgb

    def fit(self, X, y, sample_weight=None):
        logistic, hgb = self.members()
        self.logistic_ = clone(logistic).fit(X, y, sample_weight)
        self.hgb_ = clone(hgb).fit(X, y, sample_weight)
        self.classes_ = self.logistic_.classes_
        return self

    def members(self) -> tuple:
        """The (unfitted) logistic and boosting models this ensemble fits."""
        return (self.logistic or ChurnLogistic(), self.hgb or ChurnHGB())

    def combine(self, p_logistic, p_hgb):
        """The ensemble's probability from its members' probabilities (soft voting)."""
        w = self.weight_logistic
        return w * np.asarray(p_logistic) + (1 - w) * np.asarray(p_hgb)

    def predict_proba(self, X):
        if not (isinstance(self.logistic_, ChurnLogistic) and isinstance(self.hgb_, ChurnHGB)):
            return self.combine(self.logistic_.predict_proba(X), self.hgb_.predict_proba(X))
        # the members' probabilities from their decision functions (how they compute them),
        # which a member log (:func:`member_log`) keeps for per-member calibration
        d, raw = self.logistic_.decision_function(X), self.hgb_.decision_function(X)
        log = _MEMBER_LOG.get()
        if log is not None:
            log.append((self, len(d), d, raw))
        p = expit(d)
        return self.combine(np.column_stack([1 - p, p]),
                            self.hgb_.hgb_._loss.predict_proba(raw.reshape(-1, 1)))

    def decision_function(self, X):
        """Log-odds of the averaged probability (what Platt scaling should be fitted on)."""
        p = np.clip(self.predict_proba(X)[:, 1], 1e-12, 1 - 1e-12)
        return np.log(p / (1 - p))

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]


class CalibratedChurnModel(CalibratedClassifierCV):
    """scikit-learn's ``CalibratedClassifierCV`` with BLAS and OpenMP capped at one thread.

    Its sigmoid fit (L-BFGS-B on two parameters) took 13x longer with two
    OpenBLAS threads than with one (2 ms), and the models inside cap their own
    threads already (:func:`threads`).
    """

    def fit(self, X, y, sample_weight=None, **fit_params):
        with threads(1):
            return super().fit(X, y, sample_weight=sample_weight, **fit_params)

    def predict_proba(self, X):
        with threads(1):
            return super().predict_proba(X)


class _LogisticCopies:
    """Decision values of ``X`` with one column replaced: the base values minus the terms
    that read that column plus the same terms on the new values (the others are unchanged)."""

    def __init__(self, model: ChurnLogistic, X: pd.DataFrame):
        self.model, self.X = model, {c: X[c] for c in X.columns}
        self.coef = model.lr_.coef_[0]
        self.base = model.decision_function(X)
        self.old: dict[str, np.ndarray] = {}

    def __call__(self, column: str | None, values: pd.Series | None) -> np.ndarray:
        enc = self.model.encoder_
        if column is None or not enc.needs(column):  # None: X itself
            return self.base
        if column not in self.old:
            self.old[column] = enc.terms_of(self.X, self.coef, column)
        new = enc.terms_of({**self.X, column: values}, self.coef, column)
        return self.base - self.old[column] + new


class _BoostingCopies:
    """Raw predictions of ``X`` with one column replaced: only the trees that split on it
    are evaluated again."""

    def __init__(self, model: ChurnHGB, X: pd.DataFrame):
        self.model, self.forest = model, model.forest_
        self.cols, self.nans = self.forest.columns(model._encode(X))
        # the decision function of X, from the columns above (as model.decision_function)
        self.base = self.forest.raw_from_columns(self.cols, self.nans, len(X)).ravel()
        self.old: dict[int, np.ndarray] = {}

    def __call__(self, column: str | None, values: pd.Series | None) -> np.ndarray:
        m = self.model
        if column is None:  # X itself
            return self.base
        if column in m.num_:
            j = m.num_.index(column)
            x = values.to_numpy(dtype=float, na_value=np.nan)
        elif column in m.cat_:
            j = len(m.num_) + m.cat_.index(column)
            x = level_codes(values, m.levels_[column]).astype(float)
            x[x < 0] = np.nan
        else:
            return self.base
        f, known = self.forest.position(j)
        trees = self.forest.by_feature.get(f, [])
        if not trees:
            return self.base
        if f not in self.old:
            self.old[f] = self.forest.trees_sum(trees, self.cols, self.nans)
        xp = x if known is None else self.forest._ordinal(x, known)
        cols, nans = list(self.cols), list(self.nans)
        cols[f], nans[f] = np.ascontiguousarray(xp), np.isnan(xp)
        return self.base - self.old[f] + self.forest.trees_sum(trees, cols, nans)


class _EnsembleCopies:
    """Probabilities and log-odds of a :class:`ChurnEnsemble` for replaced-column copies."""

    def __init__(self, model: ChurnEnsemble, X: pd.DataFrame):
        self.model = model
        self.logistic = _LogisticCopies(model.logistic_, X)
        self.boosting = _BoostingCopies(model.hgb_, X)

    def proba(self, column, values) -> np.ndarray:
        p_lr = expit(self.logistic(column, values))
        raw = self.boosting(column, values)
        p_hgb = self.model.hgb_.hgb_._loss.predict_proba(raw.reshape(-1, 1))[:, 1]
        return self.model.combine(p_lr, p_hgb)

    def decision(self, column, values) -> np.ndarray:
        p = np.clip(self.proba(column, values), 1e-12, 1 - 1e-12)
        return np.log(p / (1 - p))


def copy_scorer(model, X: pd.DataFrame, response: str = "proba"):
    """A function ``(column, values) -> scores`` of ``X`` with ``column`` replaced by
    ``values`` (a Series of ``len(X)``), or None when ``model`` is not one of this module's.

    ``response``: ``proba`` (the churn probability) or ``score`` (the decision function
    when the model has one, else the probability: what ranking metrics are computed on).
    Only what reads the replaced column is computed again (the logistic terms involving
    it, the trees splitting on it), so scoring many such copies costs a fraction of
    scoring them whole; the numbers equal whole scoring up to floating-point rounding
    (terms added in another order; tests/test_churn_models.py).
    """
    with threads(1):
        return _copy_scorer(model, X, response)


def _copy_scorer(model, X, response):
    if isinstance(model, ChurnHGB) and not model.forest_.vectorised:
        return None
    if isinstance(model, ChurnLogistic):
        c = _LogisticCopies(model, X)
        return c if response == "score" else (lambda col, v: expit(c(col, v)))
    if isinstance(model, ChurnHGB):
        c = _BoostingCopies(model, X)
        loss = model.hgb_._loss
        return c if response == "score" else (
            lambda col, v: loss.predict_proba(c(col, v).reshape(-1, 1))[:, 1])
    if isinstance(model, ChurnEnsemble):
        if not (isinstance(model.logistic_, ChurnLogistic) and isinstance(model.hgb_, ChurnHGB)
                and model.hgb_.forest_.vectorised):
            return None
        c = _EnsembleCopies(model, X)
        return c.decision if response == "score" else c.proba
    if isinstance(model, CalibratedClassifierCV) and model.ensemble is True:
        parts = []
        for pair in model.calibrated_classifiers_:
            if len(pair.calibrators) != 1:
                return None
            inner = _copy_scorer(pair.estimator, X, "score")
            if inner is None:
                return None
            parts.append((inner, pair.calibrators[0]))

        def proba(col, values):
            acc = np.zeros(len(X))
            for inner, cal in parts:  # as CalibratedClassifierCV.predict_proba
                d = inner(col, values)
                p = (expit(-(cal.a_ * d + cal.b_)) if isinstance(cal, _SigmoidCalibration)
                     else np.asarray(cal.predict(d), float))  # the sigmoid map without checks
                p[(p > 1.0) & (p <= 1.0 + 1e-5)] = 1.0
                acc += p
            return acc / len(parts)
        return proba
    return None


def make_model(kind: str = "ensemble", *, calibration: str = "sigmoid", seed: int = 42,
               calibration_folds: int = 2):
    """A churn classifier by name, calibrated inside its own training data by cross-fitting.

    ``kind``: ``logistic``, ``hgb`` or ``ensemble``. ``calibration``:
    ``sigmoid`` (Platt 1999), ``isotonic`` (Zadrozny & Elkan 2002) or ``none``.

    Cross-fitted calibration: the training rows are split into
    ``calibration_folds`` stratified folds (shuffled with ``seed``); on each,
    the model is fitted on the other folds and its calibration map on the
    held-out fold; a prediction is the mean of the calibrated models'
    probabilities (scikit-learn ``CalibratedClassifierCV(ensemble=True)``).
    Every calibration map is learnt on rows its model did not see, and only
    from the training data passed to ``fit``, so an outer cross-validation
    never sees its test fold. With two folds this costs about one fit on all
    rows; the former protocol (calibration map from 3-fold predictions
    applied to one model refitted on all rows, ``ensemble=False``) cost
    about three, with the same cross-validated AUC and Brier score
    (docs/04_churn_modeling.md, "Speed").
    """
    base = {"logistic": lambda: ChurnLogistic(),
            "hgb": lambda: ChurnHGB(random_state=seed),
            "ensemble": lambda: ChurnEnsemble(hgb=ChurnHGB(random_state=seed))}
    if kind not in base:
        raise ValueError(f"model kind must be one of {', '.join(base)}, got {kind!r}")
    if calibration not in ("sigmoid", "isotonic", "none"):
        raise ValueError(f"calibration must be sigmoid, isotonic or none, got {calibration!r}")
    if calibration_folds < 2:
        raise ValueError(f"calibration_folds must be at least 2, got {calibration_folds}")
    est = base[kind]()
    if calibration == "none":
        return est
    folds = StratifiedKFold(calibration_folds, shuffle=True, random_state=seed)
    return CalibratedChurnModel(est, method=calibration, cv=folds, ensemble=True)


def _independent_columns(Z: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    """Indices of a maximal linearly independent set of columns (pivoted QR)."""
    _, r, piv = linalg.qr(Z, mode="economic", pivoting=True)
    d = np.abs(np.diag(r))
    rank = int(np.sum(d > tol * d.max())) if len(d) else 0
    return np.sort(piv[:rank])


def _with_constant(Z: np.ndarray) -> np.ndarray:
    """``Z`` with a leading column of ones (``statsmodels.api.add_constant(Z,
    has_constant="add")`` without importing ``statsmodels.api``)."""
    return np.column_stack([np.ones(len(Z)), Z])


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
        from statsmodels.discrete.discrete_model import Logit  # not statsmodels.api (1 s)
        self.encoder_ = AutoEncoder(interactions=(), log_skewed=False,
                                    min_frequency=self.min_frequency, drop_first=True).fit(X)
        Z = self.encoder_.transform(X)
        keep = _independent_columns(np.column_stack([np.ones(len(Z)), Z.to_numpy()]))
        keep = keep[keep > 0] - 1
        self.columns_ = [Z.columns[i] for i in keep]
        self.dropped_collinear_ = [c for c in Z.columns if c not in self.columns_]
        exog = _with_constant(Z[self.columns_].to_numpy())
        # full column rank by construction (pivoted QR above): no second rank check (an SVD
        # of the whole design in statsmodels; it sets only the degrees of freedom)
        model = Logit(np.asarray(y, float), exog, check_rank=False)
        with threads(1):
            try:
                self.result_ = model.fit(disp=0, method="newton", maxiter=100)
            except np.linalg.LinAlgError:
                self.result_ = model.fit(disp=0, method="bfgs", maxiter=2000)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        Z = self.encoder_.transform(X)[self.columns_].to_numpy()
        p = self.result_.predict(_with_constant(Z))
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
        unit = [f"per SD ({fmt.number(enc.sd_[n])})" if n in enc.sd_.index and n in enc.num_
                else ("vs " + enc.levels_[enc.source_[n]][0] if "=" in n else "")
                for n in names]
        out = pd.DataFrame({
            "feature": names, "source": [enc.source_[n] for n in names], "unit": unit,
            "odds_ratio": np.exp(r.params[1:]), "ci_low": np.exp(ci[:, 0]),
            "ci_high": np.exp(ci[:, 1]), "p_value": r.pvalues[1:]})
        return out.sort_values("p_value").reset_index(drop=True)
