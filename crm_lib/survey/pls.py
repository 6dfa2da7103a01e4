"""PLS path modelling (PLS-PM / PLS-SEM), mode A, with consistent PLS.

The algorithm is Wold's PLS as formalised by Lohmoeller (1989) and
described by Tenenhaus, Esposito Vinzi, Chatelin & Lauro (2005), "PLS path
modeling", *Computational Statistics & Data Analysis* 48, 159-205, in the
form implemented by R ``seminr`` (``simplePLS``) and ``plspm``:

1. items standardised; outer weights start at 1 and are scaled so that each
   construct score has unit variance;
2. inner weights: centroid (sign of the construct correlation), factorial
   (the correlation) or path weighting (regression weights for a construct's
   predecessors, correlations for its successors);
3. mode A outer weights: covariance of each item with its construct's inner
   proxy, rescaled to unit-variance scores;
4. repeat until the sum of absolute weight changes is below ``10^-7``
   (seminr's ``stopCriterion = 7``); then path coefficients by OLS on the
   standardised construct scores, loadings = item-score correlations.

Everything is computed from the item correlation matrix, so a bootstrap
replicate costs one correlation matrix and a few small matrix products.

PLS composite loadings are biased upward (and paths downward) relative to a
common-factor model. Consistent PLS (PLSc; Dijkstra & Henseler 2015,
"Consistent partial least squares path modeling", *MIS Quarterly* 39(2),
297-316) corrects both with the reliability rho_A of each composite; use it
when the constructs are reflective (common factors).

Also here: R-squared, the goodness-of-fit index GoF = sqrt(mean communality x
mean R^2) (Tenenhaus, Amato & Esposito Vinzi 2004), HTMT (Henseler, Ringle &
Sarstedt 2015) and percentile bootstrap intervals (Efron & Tibshirani 1993).
Item non-response is replaced by the item mean (seminr's default
``mean_replacement``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from threadpoolctl import threadpool_limits

SCHEMES = ("path", "centroid", "factorial")


def parse_paths(paths: Iterable) -> list[tuple[str, str]]:
    """Paths as ``(from, to)`` tuples; accepts tuples or ``"FROM->TO"`` strings."""
    out = []
    for p in paths:
        if isinstance(p, str):
            if "->" not in p:
                raise ValueError(f"path {p!r}: write paths as 'FROM->TO'")
            a, b = (s.strip() for s in p.split("->", 1))
        else:
            a, b = p
        out.append((str(a), str(b)))
    return out


def path_label(a: str, b: str) -> str:
    return f"{a}->{b}"


@dataclass
class _Spec:
    constructs: dict[str, list[str]]
    paths: list[tuple[str, str]]

    def __post_init__(self):
        self.names = list(self.constructs)
        self.items = [i for c in self.names for i in self.constructs[c]]
        if len(set(self.items)) != len(self.items):
            raise ValueError("an item may belong to one construct only")
        idx = {c: k for k, c in enumerate(self.names)}
        for a, b in self.paths:
            for x in (a, b):
                if x not in idx:
                    raise ValueError(f"path {a}->{b}: construct {x!r} is not in the "
                                     f"measurement model ({', '.join(self.names)})")
        self.cidx = idx
        p, c = len(self.items), len(self.names)
        self.mask = np.zeros((p, c))
        r = 0
        for k, con in enumerate(self.names):
            n = len(self.constructs[con])
            self.mask[r:r + n, k] = 1.0
            r += n
        self.adj = np.zeros((c, c))
        for a, b in self.paths:
            self.adj[idx[a], idx[b]] = 1.0
        self.preds = {j: np.flatnonzero(self.adj[:, j]) for j in range(c)
                      if self.adj[:, j].any()}
        self.blocks = [np.flatnonzero(self.mask[:, k]) for k in range(c)]


def _core(S: np.ndarray, spec: _Spec, scheme: str, max_iter: int, tol: float):
    """PLS iterations on an item correlation matrix; returns weights W (p x c) and iterations."""
    M = spec.mask
    sym = ((spec.adj + spec.adj.T) > 0).astype(float)
    isolated = sym.sum(axis=0) == 0
    W = M.copy()
    W = W / np.sqrt(np.einsum("pc,pq,qc->c", W, S, W))
    it = 0
    for it in range(1, max_iter + 1):
        C = W.T @ S @ W
        if scheme == "centroid":
            E = np.sign(C) * sym
        elif scheme == "factorial":
            E = C * sym
        else:
            E = C * sym
            for j, pr in spec.preds.items():
                E[pr, j] = np.linalg.solve(C[np.ix_(pr, pr)], C[pr, j])
        E[isolated, isolated] = 1.0
        Wn = M * (S @ W @ E)
        Wn = Wn / np.sqrt(np.einsum("pc,pq,qc->c", Wn, S, Wn))
        diff = np.abs(Wn - W).sum()
        W = Wn
        if diff < tol:
            return W, it, True
    return W, it, False


def _rho_a(S: np.ndarray, W: np.ndarray, spec: _Spec) -> tuple[np.ndarray, list[np.ndarray]]:
    """Dijkstra-Henseler rho_A per construct and the consistent loadings c*w."""
    rho, lam = [], []
    for k, b in enumerate(spec.blocks):
        w = W[b, k]
        if len(b) == 1:
            rho.append(1.0)
            lam.append(np.ones(1))
            continue
        Sb = S[np.ix_(b, b)]
        ww = np.outer(w, w)
        num = w @ (Sb - np.diag(np.diag(Sb))) @ w
        den = w @ (ww - np.diag(np.diag(ww))) @ w
        c2 = num / den
        rho.append(float((w @ w) ** 2 * c2))
        lam.append(np.sqrt(c2) * w)
    return np.array(rho), lam


def _structural(C: np.ndarray, spec: _Spec) -> tuple[np.ndarray, np.ndarray]:
    c = len(spec.names)
    B = np.zeros((c, c))
    r2 = np.full(c, np.nan)
    for j, pr in spec.preds.items():
        beta = np.linalg.solve(C[np.ix_(pr, pr)], C[pr, j])
        B[pr, j] = beta
        r2[j] = float(beta @ C[pr, j])
    return B, r2


def _estimate(S: np.ndarray, spec: _Spec, scheme: str, consistent: bool, max_iter: int,
              tol: float) -> dict:
    W, it, conv = _core(S, spec, scheme, max_iter, tol)
    C = W.T @ S @ W
    L = S @ W  # item-score correlations (scores have unit variance)
    rho, lam_c = _rho_a(S, W, spec)
    if consistent:
        d = np.sqrt(np.outer(rho, rho))
        C = C / d
        np.fill_diagonal(C, 1.0)
        load = np.concatenate(lam_c)
    else:
        load = np.array([L[i, k] for k, b in enumerate(spec.blocks) for i in b])
    B, r2 = _structural(C, spec)
    w = np.array([W[i, k] for k, b in enumerate(spec.blocks) for i in b])
    return {"W": W, "weights": w, "loadings": load, "C": C, "B": B, "r2": r2, "rho_a": rho,
            "iterations": it, "converged": conv, "cross": L}


def _prepare(X: pd.DataFrame, items: list[str]) -> np.ndarray:
    missing = [i for i in items if i not in X.columns]
    if missing:
        raise ValueError(f"survey items {missing} are not columns of the data")
    x = X[items].apply(pd.to_numeric, errors="coerce").astype(float)
    x = x.fillna(x.mean())
    z = (x - x.mean()) / x.std()
    return z.values


class PLSPathModel(BaseEstimator):
    """PLS path model, mode A (reflective composites), scikit-learn style.

    Parameters: ``constructs`` (construct -> items), ``paths`` (``"A->B"``
    strings or ``(A, B)`` tuples), ``scheme`` ('path', 'centroid',
    'factorial'), ``consistent`` (PLSc correction), ``max_iter``, ``tol``.

    After :meth:`fit`: ``path_coef_`` (Series "A->B"), ``loadings_`` and
    ``weights_`` (Series by item), ``r2_`` (Series by endogenous construct),
    ``rho_a_``, ``construct_corr_``, ``scores_`` (standardised construct scores),
    ``gof_``, ``htmt_``, ``n_iter_``, ``converged_``.
    """

    def __init__(self, constructs: Mapping[str, list[str]] | None = None,
                 paths: Iterable | None = None, scheme: str = "path",
                 consistent: bool = False, max_iter: int = 300, tol: float = 1e-7):
        self.constructs = constructs
        self.paths = paths
        self.scheme = scheme
        self.consistent = consistent
        self.max_iter = max_iter
        self.tol = tol

    def _spec(self) -> _Spec:
        if self.scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {self.scheme!r}")
        return _Spec({k: list(v) for k, v in dict(self.constructs).items()},
                     parse_paths(self.paths or []))

    def fit(self, X: pd.DataFrame, y=None) -> PLSPathModel:
        spec = self._spec()
        Z = _prepare(X, spec.items)
        S = np.corrcoef(Z, rowvar=False)
        est = _estimate(S, spec, self.scheme, self.consistent, self.max_iter, self.tol)
        self.spec_ = spec
        self.n_samples_ = Z.shape[0]
        self.S_ = S
        self._store(est, spec)
        self.scores_ = pd.DataFrame(Z @ est["W"], columns=spec.names, index=X.index)
        return self

    def _store(self, est: dict, spec: _Spec) -> None:
        names = spec.names
        self.weights_ = pd.Series(est["weights"], index=spec.items, name="weight")
        self.loadings_ = pd.Series(est["loadings"], index=spec.items, name="loading")
        self.path_coef_ = pd.Series(
            {path_label(a, b): est["B"][spec.cidx[a], spec.cidx[b]] for a, b in spec.paths},
            name="path")
        endo = [names[j] for j in spec.preds]
        self.r2_ = pd.Series({c: est["r2"][spec.cidx[c]] for c in endo}, name="r2")
        self.rho_a_ = pd.Series(est["rho_a"], index=names, name="rho_a")
        self.construct_corr_ = pd.DataFrame(est["C"], index=names, columns=names)
        self.cross_loadings_ = pd.DataFrame(est["cross"], index=spec.items, columns=names)
        self.n_iter_ = est["iterations"]
        self.converged_ = est["converged"]
        multi = [i for c in names if len(spec.constructs[c]) > 1 for i in spec.constructs[c]]
        comm = float(np.mean(self.loadings_[multi] ** 2)) if multi else np.nan
        self.gof_ = float(np.sqrt(comm * self.r2_.mean())) if len(self.r2_) else np.nan
        self.htmt_ = htmt_from_corr(self.S_, spec.constructs, spec.items)

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Standardised construct scores of new data (weights from the fit)."""
        Z = _prepare(X, self.spec_.items)
        return pd.DataFrame(Z @ np.asarray(self._W()), columns=self.spec_.names, index=X.index)

    def _W(self) -> np.ndarray:
        W = self.spec_.mask.copy()
        W[W > 0] = self.weights_.values
        return W

    def total_effects(self) -> pd.DataFrame:
        """Total effects (direct + indirect): (I - B)^-1 - I on the path matrix."""
        names = self.spec_.names
        B = np.zeros((len(names),) * 2)
        for (a, b), v in zip(self.spec_.paths, self.path_coef_.values, strict=True):
            B[self.spec_.cidx[a], self.spec_.cidx[b]] = v
        T = np.linalg.inv(np.eye(len(names)) - B) - np.eye(len(names))
        return pd.DataFrame(T, index=names, columns=names)

    def bootstrap(self, X: pd.DataFrame, n_boot: int = 500, seed: int = 42,
                  level: float = 0.95) -> pd.DataFrame:
        """Percentile bootstrap of paths, loadings, R^2 and HTMT (Efron & Tibshirani 1993).

        Rows are resampled with replacement ``n_boot`` times and the model is
        re-estimated on each replicate. Returns one row per parameter: kind
        (path, loading, r2), name, estimate, boot_mean, boot_se, ci_low, ci_high.
        """
        spec = self.spec_
        Z = _prepare(X, spec.items)
        n = Z.shape[0]
        rng = np.random.default_rng(seed)
        pi = [(spec.cidx[a], spec.cidx[b]) for a, b in spec.paths]
        endo = list(spec.preds)
        draws = []
        with threadpool_limits(1):  # small matrices: extra BLAS threads only oversubscribe
            for _ in range(n_boot):
                idx = rng.integers(0, n, n)
                S = np.corrcoef(Z[idx], rowvar=False)
                if not np.isfinite(S).all():
                    continue
                est = _estimate(S, spec, self.scheme, self.consistent, self.max_iter, self.tol)
                draws.append(np.concatenate([[est["B"][i, j] for i, j in pi], est["loadings"],
                                             est["r2"][endo]]))
        D = np.array(draws)
        names = ([("path", path_label(a, b)) for a, b in spec.paths]
                 + [("loading", i) for i in spec.items]
                 + [("r2", spec.names[j]) for j in endo])
        point = np.concatenate([self.path_coef_.values, self.loadings_.values,
                                self.r2_.values])
        a = (1 - level) / 2
        out = pd.DataFrame(names, columns=["kind", "name"])
        out["estimate"] = point
        out["boot_mean"] = D.mean(axis=0)
        out["boot_se"] = D.std(axis=0, ddof=1)
        out["ci_low"] = np.quantile(D, a, axis=0)
        out["ci_high"] = np.quantile(D, 1 - a, axis=0)
        out["n_boot"] = len(D)
        self.bootstrap_ = out
        return out


def htmt_from_corr(R: np.ndarray, constructs: Mapping[str, list[str]],
                   items: list[str]) -> pd.DataFrame:
    """Heterotrait-monotrait ratio (Henseler, Ringle & Sarstedt 2015).

    HTMT_ij = mean heterotrait-heteromethod correlation / sqrt(mean monotrait
    correlation of i x that of j). Values above 0.85 (0.90 for conceptually
    close constructs) question discriminant validity. Single-item constructs
    take a monotrait mean of 1. Correlations enter in absolute value, as in
    R ``seminr`` (a negatively worded item left un-recoded cannot cancel out).
    """
    pos = {it: k for k, it in enumerate(items)}
    R = np.abs(R)
    names = list(constructs)
    mono = {}
    for c in names:
        b = [pos[i] for i in constructs[c]]
        if len(b) == 1:
            mono[c] = 1.0
        else:
            sub = R[np.ix_(b, b)]
            mono[c] = sub[np.triu_indices(len(b), 1)].mean()
    H = pd.DataFrame(np.nan, index=names, columns=names)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            ia = [pos[x] for x in constructs[a]]
            ib = [pos[x] for x in constructs[b]]
            het = R[np.ix_(ia, ib)].mean()
            H.loc[a, b] = H.loc[b, a] = het / np.sqrt(mono[a] * mono[b])
    return H


def htmt(X: pd.DataFrame, constructs: Mapping[str, list[str]]) -> pd.DataFrame:
    """HTMT from data (pairwise-complete item correlations); see :func:`htmt_from_corr`."""
    items = [i for c in constructs for i in constructs[c]]
    return htmt_from_corr(X[items].corr().values, constructs, items)


def fornell_larcker(model: PLSPathModel) -> pd.DataFrame:
    """Fornell-Larcker table: sqrt(AVE) on the diagonal, construct correlations below."""
    C = model.construct_corr_.copy()
    for c, its in model.spec_.constructs.items():
        C.loc[c, c] = float(np.sqrt(np.mean(model.loadings_[its] ** 2)))
    return C.where(np.tril(np.ones(C.shape, dtype=bool)))
