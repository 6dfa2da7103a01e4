"""What drives the model's churn scores, overall and for each customer.

- Permutation importance (Breiman 2001; Fisher, Rudin & Dominici 2019):
  the drop in held-out ROC AUC when one column is shuffled, repeated and
  averaged (scikit-learn ``permutation_importance``). Model-agnostic and
  measured on data the model did not train on.
- Partial dependence (Friedman 2001): the average predicted churn
  probability when one column is set to each grid value for everybody.
- Top reasons per customer: for each column, how much this customer's
  probability would fall if the column took a typical value (median or
  most common level) with everything else unchanged; the columns with the
  largest rises are the customer's reasons (a one-at-a-time counterfactual
  attribution in the spirit of Robnik-Sikonja & Kononenko 2008).
  Vectorised: one model call per column for all customers at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

#: Rows per model call when many modified copies of a frame are scored (memory bound).
BATCH_ROWS = 60_000



def rank_auc(y, score) -> float:
    """ROC AUC as the Mann-Whitney statistic: the share of (churner, stayer) pairs ranked
    right, ties counted half (Hanley & McNeil 1982). The same number as scikit-learn's
    ``roc_auc_score`` (the area under the ROC curve) without its input checks, which cost
    more than the sort on a few thousand rows; used for the many scores of a permutation
    importance."""
    y = np.asarray(y).astype(bool)
    s = np.asarray(score, float)
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        raise ValueError("ROC AUC needs both churners and stayers")
    order = np.argsort(s, kind="stable")
    ss = s[order]
    # average rank (1-based) of each run of tied scores
    start = np.flatnonzero(np.r_[True, ss[1:] != ss[:-1]])
    end = np.r_[start[1:], len(ss)]
    avg = (start + end + 1) / 2.0
    ranks = np.empty(len(s))
    ranks[order] = np.repeat(avg, end - start)
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


_SCORES = {"roc_auc": rank_auc, "average_precision": average_precision_score}


def _score_response(model, X: pd.DataFrame) -> np.ndarray:
    """The score a ranking metric is computed on, chosen as scikit-learn's scorers choose it:
    ``decision_function`` when the model has one, else the churn probability."""
    if hasattr(model, "decision_function"):
        return np.asarray(model.decision_function(X))
    return model.predict_proba(X)[:, 1]


def _stack(X: pd.DataFrame, copies: list[tuple[str, object]]) -> pd.DataFrame:
    """``len(copies)`` copies of ``X`` one under the other, copy ``k`` with column
    ``copies[k][0]`` replaced by ``copies[k][1]`` (values for every row, or one value)."""
    n, k = len(X), len(copies)
    changed: dict[str, dict[int, object]] = {}
    for i, (col, values) in enumerate(copies):
        changed.setdefault(col, {})[i] = values
    data = {}
    for c in X.columns:
        s = X[c]
        numeric = pd.api.types.is_numeric_dtype(s) and all(
            v is None or pd.api.types.is_number(v) or np.ndim(v) for v in changed.get(c, {}).values())
        base = s.to_numpy(dtype=float, na_value=np.nan) if numeric else s.to_numpy(dtype=object)
        if c not in changed:
            data[c] = np.tile(base, k) if numeric else pd.array(np.tile(base, k), dtype=s.dtype)
            continue
        parts = []
        for i in range(k):
            v = changed[c].get(i, base)
            if np.ndim(v) == 0:
                v = np.full(n, np.nan if v is None and numeric else v,
                            dtype=float if numeric else object)
            parts.append(np.asarray(v, dtype=float if numeric else object))
        col = np.concatenate(parts)
        data[c] = col if numeric else pd.array(col, dtype=s.dtype if not (
            pd.api.types.is_numeric_dtype(s)) else object)
    return pd.DataFrame(data)


def _column_copy(s: pd.Series, values) -> pd.Series:
    """Column ``s`` replaced by ``values`` (one value or one per row) as :func:`_stack`
    builds it for one copy: the same dtype rules, a fresh RangeIndex."""
    n = len(s)
    numeric = pd.api.types.is_numeric_dtype(s) and (
        values is None or pd.api.types.is_number(values) or np.ndim(values))
    if np.ndim(values) == 0:
        values = np.full(n, np.nan if values is None and numeric else values,
                         dtype=float if numeric else object)
    col = np.asarray(values, dtype=float if numeric else object)
    if not numeric:
        col = pd.array(col, dtype=s.dtype if not pd.api.types.is_numeric_dtype(s) else object)
    return pd.Series(col, copy=False)


def _predict_copies(predict, X: pd.DataFrame, copies: list[tuple[str, object]]) -> np.ndarray:
    """``predict`` of every modified copy of ``X`` (see :func:`_stack`), shape (copies, n),
    in as few model calls as :data:`BATCH_ROWS` allows (the models score row by row)."""
    n = len(X)
    per_call = max(1, BATCH_ROWS // max(n, 1))
    out = [np.asarray(predict(_stack(X, copies[i:i + per_call]))).reshape(-1, n)
           for i in range(0, len(copies), per_call)]
    return np.concatenate(out) if out else np.zeros((0, n))


def _score_copies(model, X: pd.DataFrame, copies: list[tuple[str, object]],
                  response: str, *, base: bool = False):
    """Scores of every modified copy of ``X`` (see :func:`_stack`), shape (copies, n);
    with ``base``, ``(scores of X itself, copies' scores)``.

    The churn models of :mod:`.models` rescore only what reads the replaced column
    (:func:`~crm_lib.churn.models.copy_scorer`, whose unmodified scores are the model's
    own, bit for bit); any other model scores the stacked copies. ``response``:
    ``proba`` or ``score`` (see :func:`_score_response`).
    """
    from .models import copy_scorer
    scorer = copy_scorer(model, X, response) if copies or base else None
    if scorer is None:
        def predict(Z):
            return _score_response(model, Z) if response == "score" \
                else model.predict_proba(Z)[:, 1]
        scores = _predict_copies(predict, X, copies)
        return (np.asarray(predict(X)), scores) if base else scores
    out = [scorer(col, _column_copy(X[col], values)) for col, values in copies]
    scores = np.vstack(out) if out else np.zeros((0, len(X)))
    return (scorer(None, None), scores) if base else scores


def permutation_importance_table(model, X: pd.DataFrame, y, *, seed: int = 42,
                                 n_repeats: int = 5, scoring: str = "roc_auc",
                                 max_rows: int = 5000) -> pd.DataFrame:
    """Mean and SD of the held-out score drop per column, largest first.

    The shuffles are scikit-learn's ``permutation_importance(random_state=seed)``
    draws (one seed for every column, ``n_repeats`` successive in-place
    shuffles), and so are the numbers; the shuffled copies are scored in a few
    large model calls instead of one call per column and shuffle.
    ``scoring``: ``roc_auc`` or ``average_precision``.
    """
    if scoring not in _SCORES:
        raise ValueError(f"scoring must be one of {', '.join(_SCORES)}, got {scoring!r}")
    metric = _SCORES[scoring]
    if len(X) > max_rows:
        idx = np.random.default_rng(seed).choice(len(X), max_rows, replace=False)
        X, y = X.iloc[idx], np.asarray(y)[idx]
    y = np.asarray(y)
    seed_all = np.random.RandomState(seed).randint(np.iinfo(np.int32).max + 1)
    rs = np.random.RandomState(seed_all)
    order, perms = np.arange(len(X)), []
    for _ in range(n_repeats):  # the same shuffles for every column, as in scikit-learn
        rs.shuffle(order)
        perms.append(order.copy())
    copies = []
    for c in X.columns:
        values = X[c].array
        for p in perms:
            values = values[p]  # successive shuffles of the same column copy
            copies.append((c, values))
    baseline = metric(y, _score_response(model, X))
    scores = _score_copies(model, X, copies, "score")
    drops = baseline - np.array([metric(y, s) for s in scores]).reshape(X.shape[1], n_repeats)
    out = pd.DataFrame({"feature": X.columns, "importance": drops.mean(axis=1),
                        "sd": drops.std(axis=1)})
    return out.sort_values("importance", ascending=False).reset_index(drop=True)


def _grid(s: pd.Series, n: int = 20) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(s):
        v = s.dropna().to_numpy(float)
        if len(np.unique(v)) <= n:
            return np.unique(v)
        return np.unique(np.quantile(v, np.linspace(0.02, 0.98, n)))
    return s.astype("string").fillna("missing").value_counts().index[:n].to_numpy(object)


def partial_dependence_table(model, X: pd.DataFrame, feature: str, *, grid=None,
                             max_rows: int = 2000, seed: int = 42) -> pd.DataFrame:
    """Average predicted probability when ``feature`` is set to each grid value.

    Also returns the 10th and 90th percentile of the individual
    (ICE) predictions at each value, to show how much customers differ.
    """
    if feature not in X:
        raise ValueError(f"no feature '{feature}' in the model's features")
    if len(X) > max_rows:
        X = X.sample(max_rows, random_state=seed)
    grid = _grid(X[feature]) if grid is None else np.asarray(grid)
    p = _score_copies(model, X, [(feature, v) for v in grid], "proba")
    return pd.DataFrame({"feature": feature, "value": grid, "mean": p.mean(axis=1),
                         "p10": np.quantile(p, 0.1, axis=1),
                         "p90": np.quantile(p, 0.9, axis=1)})


def reference_values(X: pd.DataFrame) -> dict:
    """Typical value per column: median for numbers, most common level for text."""
    ref = {}
    for c in X.columns:
        s = X[c]
        if pd.api.types.is_numeric_dtype(s):
            ref[c] = float(s.median()) if s.notna().any() else np.nan
        else:
            vc = s.dropna().value_counts()
            ref[c] = vc.index[0] if len(vc) else None
    return ref


def reason_labels(X: pd.DataFrame, reference: dict, binary=()) -> np.ndarray:
    """Short reason label of every cell: ``col=level`` for text and 0/1 columns,
    ``col high`` / ``col low`` (versus the typical value) for other numbers."""
    cols = []
    for c in X.columns:
        s = X[c]
        if pd.api.types.is_numeric_dtype(s) and c not in binary:
            v = s.to_numpy(float)
            lab = np.where(v > reference.get(c, np.nan), f"{c} high", f"{c} low")
            cols.append(np.where(np.isnan(v), f"{c} missing", lab).astype(object))
        else:
            txt = s.astype("string").fillna("missing").str.replace(r"[;,|]", " ", regex=True)
            if pd.api.types.is_numeric_dtype(s):
                txt = s.astype(float).map("{:g}".format).astype("string").fillna("missing")
            cols.append((c + "=" + txt).to_numpy(object))
    return np.column_stack(cols) if cols else np.zeros((len(X), 0), object)


def binary_columns(X: pd.DataFrame) -> list[str]:
    """Numeric columns with at most two values (flags), labelled ``col=value`` in reasons."""
    return [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])
            and X[c].nunique(dropna=True) <= 2]


def reason_contributions(model, X: pd.DataFrame, reference: dict) -> pd.DataFrame:
    """Probability rise due to each column: p(x) - p(x with the column set to its reference).

    All the one-column counterfactual copies are scored in a few large model
    calls (the same numbers as one call per column: the models score row by row).
    """
    cols = [c for c in X.columns if c in reference]
    p, q = _score_copies(model, X, [(c, reference[c]) for c in cols], "proba", base=True)
    return pd.DataFrame({c: p - q[k] for k, c in enumerate(cols)}, index=X.index)


def reason_candidates(model, X: pd.DataFrame, reference: dict, *, max_features: int = 10,
                      sample: int = 2000, seed: int = 42) -> list[str]:
    """Columns worth testing as reasons: largest mean absolute contribution on a sample.

    Limits the per-customer reason search (one model call per candidate) to
    the ``max_features`` columns that move predictions most.
    """
    Xs = X.sample(min(sample, len(X)), random_state=seed)
    contrib = reason_contributions(model, Xs, reference).abs().mean()
    contrib = contrib[contrib > 0].sort_values(ascending=False)
    return list(contrib.index[:max_features])


def top_reasons(model, X: pd.DataFrame, reference: dict, *, k: int = 3,
                min_effect: float = 0.005, binary=()) -> pd.DataFrame:
    """Each customer's ``k`` columns that raise their churn probability most (see module doc).

    Returns ``top_reasons`` ("contract=month-to-month; tenure_months low")
    and ``reason_points`` (the rises in percentage points, same order): the
    probability would be that much lower with a typical value. Rises below
    ``min_effect`` are not reasons; a customer without any gets
    "no single driver".
    """
    contrib = reason_contributions(model, X, reference)
    vals = contrib.to_numpy()
    labels = reason_labels(X[contrib.columns], reference, binary)
    order = np.argsort(-vals, axis=1, kind="stable")[:, :k]
    eff = np.take_along_axis(vals, order, axis=1)
    keep = eff >= min_effect
    lab = np.where(keep, np.take_along_axis(labels, order, axis=1), "")
    text = np.array([f"{v:+.1f}" for v in (100 * eff).ravel()], dtype=object)
    pts = np.where(keep, text.reshape(eff.shape), "")  # "%+.1f" formatting, without np.char
    reasons = pd.Series(lab[:, 0], index=X.index, dtype=object)
    points = pd.Series(pts[:, 0], index=X.index, dtype=object)
    for r in range(1, lab.shape[1]):
        more = pd.Series(lab[:, r], index=X.index, dtype=object) != ""
        reasons = reasons.where(~more, reasons + "; " + lab[:, r])
        points = points.where(~more, points + "; " + pts[:, r])
    reasons = reasons.where(reasons != "", "no single driver")
    return pd.DataFrame({"top_reasons": reasons, "reason_points": points})


def reason_counts(reasons: pd.Series) -> pd.DataFrame:
    """How often each reason label appears among customers' top reasons (the action list)."""
    r = reasons[reasons != "no single driver"].str.split("; ").explode()
    s = r.value_counts()
    return pd.DataFrame({"reason": s.index, "customers": s.to_numpy(),
                         "share": s.to_numpy() / max(len(reasons), 1)})


def holdout_importance(model, X: pd.DataFrame, y, *, seed: int = 42, test_size: float = 0.3,
                       n_repeats: int = 5, max_rows: int = 2000) -> pd.DataFrame:
    """Fit ``model`` on a stratified training split and measure permutation importance on the rest.

    The importance is measured on a seeded sample of at most ``max_rows`` of
    the held-out rows (each of the ``n_repeats`` shuffles of each column costs
    one prediction of them).
    """
    from sklearn.base import clone
    from sklearn.model_selection import train_test_split
    Xtr, Xte, ytr, yte = train_test_split(X, np.asarray(y), test_size=test_size,
                                          stratify=np.asarray(y), random_state=seed)
    fitted = clone(model).fit(Xtr, ytr)
    return permutation_importance_table(fitted, Xte, yte, seed=seed, n_repeats=n_repeats,
                                        max_rows=max_rows)


def fold_importance(cv, X: pd.DataFrame, y, *, seed: int = 42, n_repeats: int = 5,
                    max_rows: int = 2000) -> pd.DataFrame:
    """Permutation importance of the first cross-validation fold's model on its test fold.

    The model was fitted on the other folds by :func:`~crm_lib.churn.evaluation.
    cross_validate` (``cv.fitted``), so nothing is fitted again; the importance is
    measured on a seeded sample of at most ``max_rows`` of that fold's held-out rows
    (as :func:`holdout_importance`, with the fold's 80/20 split instead of a 70/30 one).
    """
    if not cv.fitted:
        raise ValueError("the cross-validation kept no fitted model (keep_models=0)")
    if not cv.oof.index.equals(X.index):
        raise ValueError("X: other rows than the cross-validation's")
    model, test = cv.fitted[0]
    return permutation_importance_table(model, X.iloc[test], np.asarray(y)[test], seed=seed,
                                        n_repeats=n_repeats, max_rows=max_rows)
