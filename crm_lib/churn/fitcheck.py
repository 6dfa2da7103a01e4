"""Is a fitted sBG model degenerate? Say so in words, with the model it reduces to.

The shifted-beta-geometric model (Fader & Hardie 2007) spreads the private
churn probability theta across customers as Beta(alpha, beta). When the data
show no heterogeneity, the maximum-likelihood alpha and beta run off towards
infinity with alpha / (alpha + beta) fixed: the Beta collapses to a point and
the model *reduces to constant churn* (geometric lifetimes), whose retention
rate is flat. The estimates are then on the boundary of the parameter space,
their Hessian is (numerically) not positive definite and Wald intervals are
meaningless, so no "retention rises with tenure" claim may be drawn.

The check reports three signs: the polarisation index phi = 1 / (alpha + beta
+ 1) below ``phi_min`` (Fader & Hardie's measure of heterogeneity), a Hessian
that is not positive definite, and the likelihood-ratio test of the sBG against
the constant-churn (geometric) model, with the chi-bar-squared null of a
boundary parameter (Self & Liang 1987: half a chi-square with 1 df).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .. import fmt


@dataclass(frozen=True)
class SBGCheck:
    """Diagnosis of an sBG fit against the constant-churn model."""

    degenerate: bool
    polarisation: float  # phi = 1 / (alpha + beta + 1); 0 = everyone alike
    hessian_ok: bool
    constant_churn: float  # geometric MLE: churn probability per period
    lr_stat: float
    lr_p: float
    reasons: tuple[str, ...]

    @property
    def heterogeneity_supported(self) -> bool:
        return not self.degenerate and self.lr_p < 0.05

    def sentence(self, period: str = "month") -> str:
        """What the fit says, in words (flips when the fit does)."""
        rate = fmt.rate(self.constant_churn, period)
        lr = f"likelihood-ratio test against constant churn: p {_p(self.lr_p)}"
        if self.degenerate:
            return ("The sBG fit is degenerate (" + "; ".join(self.reasons) + "): the spread "
                    "of churn probabilities across customers collapses to a single value, so "
                    f"the model reduces to constant churn of {rate} (geometric lifetimes, a "
                    "flat retention rate). Its intervals are not meaningful.")
        if self.heterogeneity_supported:
            return (f"Churn probabilities differ across customers (polarisation "
                    f"{fmt.ratio(self.polarisation)}; {lr}): the retention rate rises with "
                    "tenure because the churn-prone leave first.")
        return (f"The data do not distinguish the sBG from constant churn of {rate} ({lr}): "
                "a rising retention rate is not supported.")


def _p(p: float) -> str:
    text = fmt.pvalue(p)
    return text if text.startswith("<") else f"= {text}"


def geometric_loglik(periods, churned) -> tuple[float, float]:
    """(MLE churn probability, log-likelihood) of the constant-churn (geometric) model.

    A churner in period t contributes theta (1 - theta)^(t - 1), a customer still
    active after t periods (1 - theta)^t; theta = churners / periods at risk.
    """
    t = np.asarray(periods, float)
    e = np.asarray(churned, bool)
    exposure = float(t[e].sum() + t[~e].sum())
    k = int(e.sum())
    if k == 0 or exposure <= 0:
        return 0.0, 0.0
    theta = k / exposure
    ll = k * np.log(theta) + (exposure - k) * np.log1p(-theta)
    return float(theta), float(ll)


def sbg_check(fit, periods, churned, *, phi_min: float = 1e-4) -> SBGCheck:
    """Diagnose ``fit`` (:class:`crm_lib.churn.sbg.SBGFit`) on the data it was fitted to."""
    theta, ll0 = geometric_loglik(periods, churned)
    phi = 1.0 / (fit.alpha + fit.beta + 1.0)
    cov = np.asarray(fit.cov_log, float)
    hess_ok = bool(np.all(np.isfinite(cov)))
    if hess_ok:
        eig = np.linalg.eigvalsh((cov + cov.T) / 2)
        hess_ok = bool(np.all(eig > 0))
    boundary = phi < phi_min
    # at the boundary the sBG *is* the geometric model; its log-likelihood, a difference of
    # log-Beta functions of huge arguments, is then numerically meaningless: LR = 0
    lr = 0.0 if boundary else max(0.0, 2.0 * (fit.loglik - ll0))
    p = float(0.5 * stats.chi2.sf(lr, 1)) if lr > 0 else 1.0
    reasons = []
    if boundary:
        shown = fmt.number(phi) if phi >= 1e-6 else "below 0.000001"
        reasons.append(f"alpha {fmt.number(fit.alpha, 0)} and beta {fmt.number(fit.beta, 0)} "
                       f"run off to the boundary, polarisation {shown}")
    if not hess_ok:
        reasons.append("the Hessian is not positive definite")
    return SBGCheck(bool(reasons), phi, hess_ok, theta, lr, p, tuple(reasons))


@dataclass(frozen=True)
class ConstantChurn:
    """The geometric (constant-churn) model a degenerate sBG reduces to.

    Same interface as :class:`crm_lib.churn.sbg.SBGFit` for survival,
    retention rate and projection: S(t) = (1 - theta)^t, r(t) = 1 - theta.
    """

    theta: float

    def survival(self, t) -> np.ndarray:
        return (1.0 - self.theta) ** np.asarray(t, float)

    def retention_rate(self, t) -> np.ndarray:
        return np.full(np.shape(np.asarray(t, float)), 1.0 - self.theta)

    def projection(self, periods: int):
        import pandas as pd
        t = np.arange(periods + 1)
        rr = np.r_[np.nan, self.retention_rate(t[1:])]
        return pd.DataFrame({"period": t, "survival": self.survival(t), "retention_rate": rr})


def model_to_use(fit, check: SBGCheck):
    """The fit itself, or the constant-churn model it reduces to when it is degenerate
    (the sBG's own survival is numerically meaningless at the boundary)."""
    return ConstantChurn(check.constant_churn) if check.degenerate else fit
