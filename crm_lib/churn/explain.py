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
from sklearn.inspection import permutation_importance


def permutation_importance_table(model, X: pd.DataFrame, y, *, seed: int = 42,
                                 n_repeats: int = 5, scoring: str = "roc_auc",
                                 max_rows: int = 5000) -> pd.DataFrame:
    """Mean and SD of the held-out score drop per column, largest first."""
    if len(X) > max_rows:
        idx = np.random.default_rng(seed).choice(len(X), max_rows, replace=False)
        X, y = X.iloc[idx], np.asarray(y)[idx]
    r = permutation_importance(model, X, np.asarray(y), scoring=scoring, n_repeats=n_repeats,
                               random_state=seed)
    out = pd.DataFrame({"feature": X.columns, "importance": r.importances_mean,
                        "sd": r.importances_std})
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
    big = pd.concat([X] * len(grid), ignore_index=True)
    vals = np.repeat(grid, len(X))
    big[feature] = vals if pd.api.types.is_numeric_dtype(X[feature]) else vals.astype(object)
    p = model.predict_proba(big)[:, 1].reshape(len(grid), len(X))
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


def _formatted(X: pd.DataFrame) -> np.ndarray:
    """Every cell of ``X`` as short text (numbers with 3 significant digits), column-wise."""
    cols = []
    for c in X.columns:
        s = X[c]
        if pd.api.types.is_numeric_dtype(s):
            v = s.to_numpy(float)
            txt = np.char.mod("%.3g", np.nan_to_num(v))
            cols.append(np.where(np.isnan(v), "missing", txt))
        else:
            cols.append(s.astype("string").fillna("missing").to_numpy(str))
    return np.column_stack(cols).astype(object) if cols else np.zeros((len(X), 0), object)


def reason_contributions(model, X: pd.DataFrame, reference: dict) -> pd.DataFrame:
    """Probability rise due to each column: p(x) - p(x with the column set to its reference)."""
    p = model.predict_proba(X)[:, 1]
    out = {}
    for c in X.columns:
        if c not in reference:
            continue
        Xc = X.copy()
        Xc[c] = reference[c] if not isinstance(reference[c], str) else \
            pd.Series(reference[c], index=X.index, dtype=object)
        out[c] = p - model.predict_proba(Xc)[:, 1]
    return pd.DataFrame(out, index=X.index)


def top_reasons(model, X: pd.DataFrame, reference: dict, *, k: int = 3,
                min_effect: float = 0.005) -> pd.Series:
    """Each customer's ``k`` columns that raise their churn probability most (see module doc).

    A reason reads ``column=value (+x pts)``: the probability would be x
    percentage points lower with a typical value. Rises below
    ``min_effect`` are not reasons; a customer without any gets
    "no single driver".
    """
    contrib = reason_contributions(model, X, reference)
    vals = contrib.to_numpy()
    names = contrib.columns.to_numpy().astype(object)
    text = _formatted(X[contrib.columns])
    order = np.argsort(-vals, axis=1, kind="stable")[:, :k]
    eff = np.take_along_axis(vals, order, axis=1)
    cell = np.take_along_axis(text, order, axis=1)
    pts = np.char.mod("%.1f", 100 * eff).astype(object)
    part = names[order] + "=" + cell + " (+" + pts + " pts)"
    part = np.where(eff >= min_effect, part, "")
    out = pd.Series(part[:, 0], index=X.index, dtype=object)
    for r in range(1, part.shape[1]):
        nxt = pd.Series(part[:, r], index=X.index, dtype=object)
        out = out.where(nxt == "", out + "; " + nxt)
    out = out.where(out != "", "no single driver")
    return out.rename("top_reasons")


def reason_counts(contrib: pd.DataFrame, *, k: int = 3, min_effect: float = 0.005
                  ) -> pd.DataFrame:
    """How often each column is among customers' top-``k`` reasons (the action list)."""
    vals = contrib.to_numpy()
    order = np.argsort(-vals, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(vals, order, axis=1)
    names = contrib.columns.to_numpy()[order][top >= min_effect]
    s = pd.Series(names).value_counts()
    return pd.DataFrame({"reason": s.index, "customers": s.to_numpy(),
                         "share": s.to_numpy() / len(contrib)})
