"""BG/NBD: the beta-geometric / negative binomial distribution purchase model.

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers"
the easy way: an alternative to the Pareto/NBD model. *Marketing Science*
24(2), 275-284.

While alive, a customer buys as a Poisson process with rate lambda ~
Gamma(r, alpha); after every repeat purchase they drop out for good with
probability p ~ Beta(a, b). From each customer's (x, t_x, T) = (frequency,
recency, T) the model gives the likelihood (FHL eq. 6), the expected number
of purchases, P(alive) and the expected purchases in a future period.

The log-likelihood is vectorised: the terms that depend on x only (gammaln,
betaln and their digamma derivatives) are computed once per distinct x, so a
fit costs two logarithms per customer per iteration. The gradient is
analytic; standard errors come from the Hessian (see ``_mle``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, gammaln, hyp2f1
from sklearn.base import BaseEstimator

from ._mle import MLEResult, _dot, fit_positive

PARAMS = ("r", "alpha", "a", "b")


def _xtT(X: object, recency: object = None, T: object = None) -> tuple[np.ndarray, ...]:
    """(frequency, recency, T) as float arrays from a frame or three arrays, checked."""
    if recency is None and T is None:
        if isinstance(X, pd.DataFrame):
            missing = [c for c in ("frequency", "recency", "T") if c not in X.columns]
            if missing:
                raise ValueError(f"BG/NBD needs columns frequency, recency, T; missing "
                                 f"{', '.join(missing)}")
            x, tx, big_t = X["frequency"], X["recency"], X["T"]
        else:
            arr = np.asarray(X, dtype=float)
            if arr.ndim != 2 or arr.shape[1] != 3:
                raise ValueError("BG/NBD needs an (n, 3) array of frequency, recency, T")
            x, tx, big_t = arr.T
    else:
        x, tx, big_t = X, recency, T
    x, tx, big_t = (np.asarray(v, dtype=float) for v in (x, tx, big_t))
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("BG/NBD: frequency must be a whole number >= 0 (repeat purchases)")
    if np.any(tx < 0) or np.any(tx > big_t + 1e-9):
        raise ValueError("BG/NBD: recency must lie between 0 and T")
    if np.any((x == 0) & (tx > 0)):
        raise ValueError("BG/NBD: recency must be 0 when frequency is 0")
    return x, tx, big_t


class _Data:
    """Customer data prepared for repeated likelihood evaluations.

    Customers without a repeat purchase contribute r ln(alpha / (alpha + T))
    only, so they are kept apart and grouped by T (many share the same age in
    day-grained data); repeat buyers are indexed by their distinct x.
    """

    def __init__(self, x: np.ndarray, tx: np.ndarray, big_t: np.ndarray,
                 weights: np.ndarray | None = None) -> None:
        w = np.ones_like(tx, dtype=float) if weights is None else np.asarray(weights, float)
        zero = x == 0
        self.T0, inv0 = np.unique(big_t[zero], return_inverse=True)
        self.w0 = np.bincount(inv0, weights=w[zero], minlength=self.T0.size)
        self.W0 = float(self.w0.sum())
        rep = ~zero
        self.xs, self.inv = np.unique(x[rep], return_inverse=True)
        self.tx, self.T, self.w = tx[rep], big_t[rep], w[rep]
        # x-level weights for sums of terms that depend on x only
        self.wx = np.bincount(self.inv, weights=self.w, minlength=self.xs.size)


def _loglik_grad(theta: np.ndarray, d: _Data, grad: bool = True) -> tuple[float, np.ndarray]:
    """Sum of FHL (2005) eq. 6 log-likelihoods and its gradient in (r, alpha, a, b)."""
    r, alpha, a, b = theta
    # customers without repeat purchases: r ln(alpha) - r ln(alpha + T)
    la_T0 = np.log(alpha + d.T0)
    ll = d.W0 * r * np.log(alpha) - r * _dot(d.w0, la_T0)
    g = np.array([d.W0 * np.log(alpha) - _dot(d.w0, la_T0),
                  d.W0 * r / alpha - r * _dot(d.w0, 1.0 / (alpha + d.T0)), 0.0, 0.0])
    if d.xs.size == 0:
        return float(ll), g
    xs = d.xs
    bab = betaln(a, b)
    # repeat buyers: terms per distinct x, then A2 (alive at T) and A3 (left after t_x)
    a1 = gammaln(r + xs) - gammaln(r) + r * np.log(alpha)
    b2 = betaln(a, b + xs) - bab
    b3 = betaln(a + 1, b + xs - 1) - bab
    la_T = np.log(alpha + d.T)
    la_t = np.log(alpha + d.tx)
    rx = (r + xs)[d.inv]
    A2 = b2[d.inv] - rx * la_T
    A3 = b3[d.inv] - rx * la_t
    m = np.maximum(A2, A3)
    e2, e3 = np.exp(A2 - m), np.exp(A3 - m)
    s23 = e2 + e3
    ll += _dot(d.wx, a1) + _dot(d.w, m + np.log(s23))
    if not grad:
        return float(ll), np.empty(0)
    ww2 = d.w * (e2 / s23)
    ww3 = d.w - ww2
    # derivatives of the x-level pieces
    psi_ab = digamma(a + b)
    psi_abx = digamma(a + b + xs)
    dr_a1 = digamma(r + xs) - digamma(r) + np.log(alpha)
    da_b2 = psi_ab - psi_abx
    db_b2 = digamma(b + xs) - psi_abx - digamma(b) + psi_ab
    da_b3 = digamma(a + 1) - digamma(a) + psi_ab - psi_abx
    db_b3 = digamma(b + xs - 1) - psi_abx - digamma(b) + psi_ab
    sx2 = np.bincount(d.inv, weights=ww2, minlength=xs.size)
    sx3 = np.bincount(d.inv, weights=ww3, minlength=xs.size)
    g[0] += _dot(d.wx, dr_a1) - _dot(ww2, la_T) - _dot(ww3, la_t)
    g[1] += (d.wx.sum() * r / alpha - _dot(ww2, rx / (alpha + d.T))
             - _dot(ww3, rx / (alpha + d.tx)))
    g[2] += _dot(sx2, da_b2) + _dot(sx3, da_b3)
    g[3] += _dot(sx2, db_b2) + _dot(sx3, db_b3)
    return float(ll), g


def log_likelihood(params: object, frequency: object, recency: object, T: object) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (FHL 2005 eq. 6) at ``params`` (r, alpha, a, b)."""
    r, alpha, a, b = np.asarray(params, dtype=float)
    x, tx, big_t = _xtT(frequency, recency, T)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    A2 = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + big_t)
    A3 = np.where(x > 0, betaln(a + 1, b + np.maximum(x - 1, 0)) - betaln(a, b)
                  - (r + x) * np.log(alpha + tx), -np.inf)
    return a1 + np.logaddexp(A2, A3)


def expected_purchases(params: object, t: object) -> np.ndarray:
    """E[X(t)]: expected repeat purchases of a new customer in (0, t] (FHL eq. 9)."""
    r, alpha, a, b = np.asarray(params, dtype=float)
    t = np.asarray(t, dtype=float)
    z = t / (alpha + t)
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z))


def p_alive(params: object, frequency: object, recency: object, T: object) -> np.ndarray:
    """P(alive | x, t_x, T) (FHL 2005, eq. 11 and its appendix)."""
    r, alpha, a, b = np.asarray(params, dtype=float)
    x, tx, big_t = _xtT(frequency, recency, T)
    log_ratio = (r + x) * (np.log(alpha + big_t) - np.log(alpha + tx))
    odds = np.where(x > 0, np.exp(np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) + log_ratio),
                    0.0)
    return 1.0 / (1.0 + odds)


def expected_purchases_if_alive(params: object, t: object, frequency: object,
                                recency: object, T: object) -> np.ndarray:
    """E[Y(t) | alive at T, x, t_x, T]: FHL eq. 10 without its P(alive) factor."""
    r, alpha, a, b = np.asarray(params, dtype=float)
    x, tx, big_t = _xtT(frequency, recency, T)
    t = np.asarray(t, dtype=float)
    z = t / (alpha + big_t + t)
    head = (a + b + x - 1) / (a - 1)
    return head * (1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x)
                   * hyp2f1(r + x, b + x, a + b + x - 1, z))


def conditional_expected_purchases(params: object, t: object, frequency: object,
                                   recency: object, T: object) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected purchases in (T, T + t] of a customer (FHL eq. 10).

    Equals P(alive) x E[Y(t) | alive], the factorisation behind ``clv_if_alive``.
    """
    return (expected_purchases_if_alive(params, t, frequency, recency, T)
            * p_alive(params, frequency, recency, T))


def simulate(params: object, T: object, *, seed: int | np.random.Generator = 42,
             holdout: float = 0.0) -> pd.DataFrame:
    """Simulate BG/NBD customers observed for ``T`` (array or scalar) time units.

    Fully vectorised: lambda ~ Gamma(r, alpha), p ~ Beta(a, b); the number of
    repeat purchases before dropout J ~ Geometric(p) on {1, 2, ...}; purchase
    counts are Poisson and the time of the x-th purchase is an order
    statistic of uniforms (Beta distributed). With ``holdout`` > 0 the
    purchases in (T, T + holdout] are counted too (``frequency_holdout``).
    Returns frequency, recency, T (and frequency_holdout), plus the latent
    ``lam``, ``p`` and ``J``.
    """
    r, alpha, a, b = np.asarray(params, dtype=float)
    rng = np.random.default_rng(seed)
    big_t = np.asarray(T, dtype=float)
    n = big_t.size
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    J = rng.geometric(p)
    total_t = big_t + holdout
    N = rng.poisson(lam * total_t)          # purchases in (0, T + holdout] if never dying
    # events are uniform on (0, total_t]; split into calibration and holdout by binomial
    n_cal = rng.binomial(N, np.where(total_t > 0, big_t / np.maximum(total_t, 1e-300), 0))
    x = np.minimum(n_cal, J)
    # time of the x-th of n_cal uniform events on (0, T): T * Beta(x, n_cal - x + 1)
    tx = np.zeros(n)
    pos = x > 0
    tx[pos] = big_t[pos] * rng.beta(x[pos], n_cal[pos] - x[pos] + 1)
    out = pd.DataFrame({"frequency": x.astype("int64"), "recency": tx, "T": big_t})
    if holdout > 0:
        out["frequency_holdout"] = np.minimum(N - n_cal, np.maximum(J - n_cal, 0))
    out["lam"], out["p"], out["J"] = lam, p, J
    return out


class BetaGeo(BaseEstimator):
    """BG/NBD model fitted by maximum likelihood (Fader, Hardie & Lee 2005).

    ``fit(X)`` takes a frame with columns frequency, recency, T (or an (n, 3)
    array), optional ``sample_weight`` for grouped data. After fitting:
    ``params_`` (pd.Series r, alpha, a, b), ``se_``, ``cov_``, ``loglik_``,
    ``summary()`` with 95% intervals; predictions ``p_alive``,
    ``predict(X, t)`` (conditional expected purchases), ``expected_purchases(t)``.
    """

    def __init__(self, tol: float = 1e-12, maxiter: int = 2000) -> None:
        self.tol = tol
        self.maxiter = maxiter

    def fit(self, X: object, y: object = None, sample_weight: object = None) -> BetaGeo:
        x, tx, big_t = _xtT(X)
        if x.size == 0:
            raise ValueError("BG/NBD: no customers to fit")
        w = np.ones_like(x) if sample_weight is None else np.asarray(sample_weight, float)
        d = _Data(x, tx, big_t, w)
        n = float(w.sum())
        rate = max(_dot(w, x) / max(_dot(w, big_t), 1e-9), 1e-6)
        start = np.array([1.0, 1.0 / rate, 1.0, 1.0])
        self.result_: MLEResult = fit_positive(lambda th: _loglik_grad(th, d), start, PARAMS,
                                               int(n), tol=self.tol, maxiter=self.maxiter)
        self.params_ = pd.Series(self.result_.params, index=list(PARAMS), name="estimate")
        self.se_ = pd.Series(self.result_.se, index=list(PARAMS), name="se")
        self.cov_ = pd.DataFrame(self.result_.cov, index=list(PARAMS), columns=list(PARAMS))
        self.loglik_ = self.result_.loglik
        self.n_ = int(n)
        return self

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Estimates with standard errors and (log-scale Wald) intervals."""
        return self.result_.table(level)

    def log_likelihood(self, X: object) -> np.ndarray:
        return log_likelihood(self.params_.to_numpy(), *_xtT(X))

    def p_alive(self, X: object) -> np.ndarray:
        return p_alive(self.params_.to_numpy(), *_xtT(X))

    def predict(self, X: object, t: float) -> np.ndarray:
        """Expected purchases of each customer in the next ``t`` time units."""
        return conditional_expected_purchases(self.params_.to_numpy(), t, *_xtT(X))

    def expected_purchases(self, t: object) -> np.ndarray:
        """Expected repeat purchases of a new customer by time ``t``."""
        return expected_purchases(self.params_.to_numpy(), t)

    def p_alive_matrix(self, T: float, max_frequency: int = 20, n_recency: int = 40
                       ) -> pd.DataFrame:
        """P(alive) over a grid of frequency (rows) and recency (columns) for one T."""
        freq = np.arange(max_frequency + 1)
        rec = np.linspace(0, T, n_recency)
        ff, rr = np.meshgrid(freq, rec, indexing="ij")
        rr = np.where(ff == 0, 0.0, rr)
        pa = p_alive(self.params_.to_numpy(), ff.ravel(), rr.ravel(), np.full(ff.size, T))
        return pd.DataFrame(pa.reshape(ff.shape), index=pd.Index(freq, name="frequency"),
                            columns=pd.Index(np.round(rec, 2), name="recency"))
