"""Figures of the churn notebook (04): survival, prediction quality, drivers and reasons.

Each function takes a table produced by :mod:`crm_lib.churn` and returns a
titled, labelled matplotlib ``Figure`` (units in the axis labels).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from . import COLORS, PALETTE, figure, finish, label


def cohort_heatmap(table: pd.DataFrame, title: str = "Cohort retention by signup month",
                   max_rows: int = 36):
    """Heatmap: share of each signup cohort still active k months after joining (%)."""
    t = table.drop(columns="size", errors="ignore").tail(max_rows)
    fig, ax = figure(title, "months since signup", "signup cohort",
                     figsize=(9, max(3.5, 0.18 * len(t) + 1.5)))
    im = ax.imshow(100 * t.to_numpy(float), aspect="auto", cmap="viridis", vmin=None, vmax=100)
    step = max(1, len(t) // 12)
    ax.set_yticks(range(0, len(t), step))
    ax.set_yticklabels(t.index[::step])
    ax.set_xticks(range(0, t.shape[1], max(1, t.shape[1] // 12)))
    ax.grid(False)
    cb = fig.colorbar(im, ax=ax)
    label(cb.ax, "scale", "colour", "still active (%)")
    return finish(fig)


def km_curves(curves: pd.DataFrame, title: str, *, logrank_p: float | None = None,
              max_months: float | None = None):
    """Kaplan-Meier survival curves with 95% bands, one per group."""
    fig, ax = figure(title, "tenure (months)", "still a customer (%)")
    for i, (name, cur) in enumerate(curves.groupby("group", sort=False)):
        col = PALETTE[i % len(PALETTE)]
        ax.step(cur["time"], 100 * cur["survival"], where="post", color=col, label=str(name))
        ax.fill_between(cur["time"], 100 * cur["ci_low"], 100 * cur["ci_high"], step="post",
                        color=col, alpha=0.15)
    if max_months:
        ax.set_xlim(0, max_months)
    if logrank_p is not None and np.isfinite(logrank_p):
        from .. import fmt
        p_text = fmt.pvalue(logrank_p)
        p_text = p_text if p_text.startswith("<") else f"= {p_text}"
        ax.text(0.01, 0.03, f"log-rank p {p_text}", transform=ax.transAxes, fontsize=9)
    ax.legend(fontsize=8)
    return finish(fig)


def cumulative_incidence(ci: pd.DataFrame, title: str = "Cumulative churn by reason"):
    """Aalen-Johansen cumulative incidence curves by churn reason (%)."""
    fig, ax = figure(title, "tenure (months)", "churned for this reason (%)")
    last = ci.groupby("reason")["incidence"].max().sort_values(ascending=False)
    for i, r in enumerate(last.index):
        cur = ci[ci["reason"] == r]
        ax.step(cur["time"], 100 * cur["incidence"], where="post",
                color=PALETTE[i % len(PALETTE)], label=r)
    ax.legend(fontsize=8)
    return finish(fig)


def forest(table: pd.DataFrame, title: str, *, estimate: str, xlabel: str,
           term: str = "term"):
    """Forest plot of ratios (hazard or odds) with 95% intervals on a log axis."""
    t = table.iloc[::-1]
    fig, ax = figure(title, xlabel, "term", figsize=(8, max(2.5, 0.35 * len(t) + 1)))
    y = np.arange(len(t))
    est = t[estimate].to_numpy(float)
    ax.errorbar(est, y, xerr=[est - t["ci_low"].to_numpy(float),
                              t["ci_high"].to_numpy(float) - est],
                fmt="o", color=COLORS["primary"], ecolor=COLORS["primary"], capsize=3)
    ax.axvline(1.0, color=COLORS["neutral"], ls="--", lw=1)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    # minor labels at 2 and 5 times a power of ten only: every minor tick labelled crowds
    # the axis into one smear when the intervals span more than a decade
    ax.xaxis.set_minor_formatter(FuncFormatter(
        lambda v, _: f"{v:g}" if v > 0 and round(v / 10 ** np.floor(np.log10(v)), 6) in (2, 5)
        else ""))
    ax.tick_params(axis="x", which="minor", labelsize=7)
    ax.set_yticks(y)
    ax.set_yticklabels(t[term])
    return finish(fig)


def sbg_vs_km(km_curve: pd.DataFrame, projection: pd.DataFrame, fit_periods: int,
              title: str = "Shifted-beta-geometric projection vs Kaplan-Meier", check=None):
    """sBG survival fitted on the first months, projected beyond, against the KM curve.

    The projection's band (``ci_low``, ``ci_high`` from :meth:`SBGFit.projection`) is
    drawn when present. With a degenerate ``check`` (:func:`crm_lib.churn.fitcheck.sbg_check`) the curves
    are labelled as the constant-churn model the fit reduces to.
    """
    name = "constant churn (degenerate sBG)" if check is not None and check.degenerate \
        else "sBG"
    fig, ax = figure(title, "tenure (months)", "still a customer (%)")
    ax.step(km_curve["time"], 100 * km_curve["survival"], where="post",
            color=COLORS["primary"], label="Kaplan-Meier (observed)")
    ax.fill_between(km_curve["time"], 100 * km_curve["ci_low"], 100 * km_curve["ci_high"],
                    step="post", color=COLORS["primary"], alpha=0.15)
    p = projection
    fit = p["period"] <= fit_periods
    ax.plot(p.loc[fit, "period"], 100 * p.loc[fit, "survival"], "o-", ms=3,
            color=COLORS["accent"], label=f"{name} fitted")
    ax.plot(p.loc[~fit, "period"], 100 * p.loc[~fit, "survival"], "o--", ms=3,
            color=COLORS["accent"], alpha=0.7, label=f"{name} projected")
    if {"ci_low", "ci_high"} <= set(p.columns):
        ax.fill_between(p["period"], 100 * p["ci_low"], 100 * p["ci_high"],
                        color=COLORS["accent"], alpha=0.2,
                        label=f"{name} 95% band (parameter uncertainty)")
    ax.axvline(fit_periods, color=COLORS["neutral"], ls=":", lw=1)
    ax.legend(fontsize=8)
    return finish(fig)


def retention_rate(projection: pd.DataFrame, check=None,
                   title: str = "sBG retention rate by tenure"):
    """Period retention rate r(t) of the sBG fit (%), on a plain axis (no offset).

    With ``check`` (:func:`crm_lib.churn.fitcheck.sbg_check`) a degenerate or
    unsupported fit is drawn as the flat constant-churn line it reduces to and
    labelled so; the title states no conclusion.
    """
    fig, ax = figure(title, "tenure (months)", "retention rate in the month (%)")
    p = projection.dropna(subset=["retention_rate"])
    label = "sBG fit"
    if check is not None and not check.heterogeneity_supported:
        label = (f"sBG fit: reduces to constant churn ({100 * check.constant_churn:.2f}% a "
                 "month)")
    ax.plot(p["period"], 100 * p["retention_rate"], color=COLORS["accent"], label=label)
    lo, hi = float(100 * p["retention_rate"].min()), float(100 * p["retention_rate"].max())
    pad = max(0.5, (hi - lo) * 0.1)
    ax.set_ylim(max(0.0, lo - pad), min(100.0, hi + pad))
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    ax.legend(fontsize=8)
    return finish(fig)


def model_comparison(table: pd.DataFrame, title: str = "Cross-validated ROC AUC by model"):
    """Mean ROC AUC with +/- 1 SD over folds for each model."""
    fig, ax = figure(title, "ROC AUC (mean over folds)", "model",
                     figsize=(8, max(2.5, 0.5 * len(table) + 1)))
    ax.barh(table.index, table["roc_auc"], xerr=table["roc_auc_sd"], color=COLORS["primary"],
            capsize=3)
    lo = max(0.5, float((table["roc_auc"] - 3 * table["roc_auc_sd"]).min()))
    ax.set_xlim(lo, min(1.0, float(table["roc_auc"].max()) + 0.05))
    return finish(fig)


def gains(table: pd.DataFrame, title: str = "Cumulative gains: churners caught by targeting depth"):
    """Cumulative gains curve against random targeting (%)."""
    fig, ax = figure(title, "customers targeted, highest scores first (%)",
                     "churners caught (%)")
    x = np.r_[0, 100 * table["cum_share_customers"].to_numpy()]
    ax.plot(x, np.r_[0, 100 * table["cum_gain"].to_numpy()], "o-", color=COLORS["primary"],
            label="model")
    ax.plot([0, 100], [0, 100], "--", color=COLORS["neutral"], label="random")
    ax.legend(fontsize=8)
    return finish(fig)


def lift(table: pd.DataFrame, title: str = "Lift by score decile"):
    """Churn rate of each decile divided by the overall rate (1 = random)."""
    fig, ax = figure(title, "score decile (1 = highest scores)", "lift (x overall churn rate)")
    ax.bar(table["decile"], table["lift"], color=COLORS["primary"])
    ax.axhline(1.0, color=COLORS["neutral"], ls="--", lw=1)
    ax.set_xticks(table["decile"])
    return finish(fig)


def calibration(table: pd.DataFrame,
                title: str = "Calibration: predicted vs observed churn (10 equal-size bins)"):
    """Reliability diagram with binomial 95% intervals; the diagonal is perfect calibration."""
    fig, ax = figure(title, "predicted churn probability (%)", "observed churn rate (%)")
    t = table
    ax.errorbar(100 * t["predicted"], 100 * t["observed"],
                yerr=[100 * (t["observed"] - t["ci_low"]), 100 * (t["ci_high"] - t["observed"])],
                fmt="o", color=COLORS["primary"], capsize=3, label="score bins")
    hi = 100 * float(max(t["predicted"].max(), t["observed"].max()))
    ax.plot([0, hi], [0, hi], "--", color=COLORS["neutral"], label="perfect")
    ax.legend(fontsize=8)
    return finish(fig)


def importance(table: pd.DataFrame, title: str = "Permutation importance (held-out ROC AUC drop)",
               top: int = 15):
    """Bars: drop in held-out ROC AUC when a column is shuffled, with +/- 1 SD."""
    t = table.head(top).iloc[::-1]
    fig, ax = figure(title, "drop in ROC AUC (AUC points)", "feature",
                     figsize=(8, max(2.5, 0.35 * len(t) + 1)))
    ax.barh(t["feature"], t["importance"], xerr=t["sd"], color=COLORS["primary"], capsize=2)
    ax.axvline(0, color=COLORS["neutral"], lw=1)
    return finish(fig)


def partial_dependence(tables: list[pd.DataFrame], title: str = "Partial dependence"):
    """One panel per feature: average predicted churn probability (%) with the ICE 10-90% band."""
    n = len(tables)
    fig, axes = figure(title, "", "", ncols=n, figsize=(4.2 * n, 3.6))
    axes = np.atleast_1d(axes)
    for ax, t in zip(axes, tables, strict=True):
        f = str(t["feature"].iloc[0])
        numeric = pd.api.types.is_numeric_dtype(t["value"])
        x = t["value"].to_numpy() if numeric else np.arange(len(t))
        if numeric:
            ax.plot(x, 100 * t["mean"], color=COLORS["primary"])
            ax.fill_between(x, 100 * t["p10"], 100 * t["p90"], color=COLORS["primary"],
                            alpha=0.15)
        else:
            ax.bar(x, 100 * t["mean"], color=COLORS["primary"])
            ax.set_xticks(x)
            ax.set_xticklabels([str(v) for v in t["value"]], rotation=30, ha="right",
                               fontsize=8)
        label(ax, f, f"{f} (feature value)", "predicted churn (%)")
    return finish(fig)


def reason_shares(table: pd.DataFrame, title: str = "Why churners left (share of churners)"):
    """Bars with Wilson 95% intervals, coloured by preventable (accent) or not (grey)."""
    t = table[table["churners"] > 0].sort_values("share")
    fig, ax = figure(title, "share of churners (%)", "churn reason",
                     figsize=(8, max(2.5, 0.4 * len(t) + 1)))
    col = [COLORS["accent"] if p is True else COLORS["neutral"] for p in t["preventable"]]
    ax.barh(t["reason"], 100 * t["share"], color=col,
            xerr=[100 * (t["share"] - t["ci_low"]), 100 * (t["ci_high"] - t["share"])],
            capsize=3)
    ax.text(0.99, 0.02, "orange = preventable, grey = not preventable / unknown",
            transform=ax.transAxes, ha="right", fontsize=8)
    return finish(fig)


def rates(table: pd.DataFrame, group: str, title: str,
          ylabel: str = "churn per 100 customer-months"):
    """Churn rate per group with 95% intervals (exposure-adjusted)."""
    fig, ax = figure(title, group, ylabel)
    x = np.arange(len(table))
    r = table["rate_per_100"].to_numpy(float)
    ax.bar(x, r, color=COLORS["primary"],
           yerr=[r - table["ci_low"].to_numpy(float), table["ci_high"].to_numpy(float) - r],
           capsize=3)
    ax.set_xticks(x)
    ax.set_xticklabels(table[group].astype(str), rotation=20, ha="right")
    return finish(fig)


def score_distribution(scores: pd.DataFrame,
                       title: str = "Churn probability of active customers by risk tier"):
    """Histogram of calibrated churn probabilities (%), stacked by risk tier."""
    fig, ax = figure(title, "churn probability within the horizon (%)", "customers (count)")
    tiers = [t for t in ("low", "medium", "high") if t in set(scores["risk_tier"])]
    cols = {"low": COLORS["good"], "medium": COLORS["warn"], "high": COLORS["accent"]}
    data = [100 * scores.loc[scores["risk_tier"] == t, "churn_probability"] for t in tiers]
    ax.hist(data, bins=40, stacked=True, color=[cols[t] for t in tiers], label=tiers)
    ax.legend(fontsize=8, title="risk tier")
    return finish(fig)
