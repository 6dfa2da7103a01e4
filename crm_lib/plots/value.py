"""Figures of notebook 03 (customer value): RFM, concentration, CLV model checks, tiers.

Every function returns a finished matplotlib Figure (titled, axes labelled
with units) built on :func:`crm_lib.plots.figure`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import COLORS, figure, finish, label


def rfm_segments(segments: pd.DataFrame):
    """Share of customers vs share of revenue per RFM segment (``segment_summary``)."""
    fig, ax = figure("RFM segments: customers vs revenue", "share (%)", "segment")
    y = np.arange(len(segments))
    ax.barh(y - 0.2, 100 * segments["share"], height=0.4, color=COLORS["neutral"],
            label="customers")
    ax.barh(y + 0.2, 100 * segments["revenue_share"], height=0.4, color=COLORS["primary"],
            label="revenue")
    ax.set_yticks(y, segments.index)
    ax.invert_yaxis()
    ax.legend()
    return finish(fig)


def lorenz(curve: pd.DataFrame, gini: float, top20: float, title: str = "Revenue concentration"):
    """Lorenz curve (``lorenz_curve``) with the equality line and the 80/20 reference."""
    fig, ax = figure(f"{title}: Lorenz curve (Gini {gini:.2f})",
                     "customers, smallest to largest (cumulative %)", "value (cumulative %)")
    ax.plot(100 * curve["customer_share"], 100 * curve["value_share"], color=COLORS["primary"],
            label="Lorenz curve")
    ax.plot([0, 100], [0, 100], ls="--", color=COLORS["neutral"], label="perfect equality")
    ax.scatter([80], [20], color=COLORS["accent"], zorder=3, label="80/20 claim")
    ax.scatter([80], [100 * (1 - top20)], color=COLORS["primary"], zorder=3,
               label=f"actual: top 20% bring {100 * top20:.0f}%")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.legend(loc="upper left")
    return finish(fig)


def whale(curve: pd.DataFrame):
    """Whale curve: cumulative profit, most to least profitable customers."""
    fig, ax = figure("Whale curve: where the profit comes from",
                     "customers, most to least profitable (cumulative %)",
                     "profit (cumulative % of total)")
    ax.plot(100 * curve["customer_share"], 100 * curve["profit_share"], color=COLORS["primary"])
    ax.axhline(100, ls="--", color=COLORS["neutral"], label="100% of total profit")
    ax.axvline(20, ls=":", color=COLORS["accent"], label="top 20%")
    ax.legend()
    return finish(fig)


def parameter_intervals(params: pd.DataFrame, reference: pd.Series | None = None,
                        reference_label: str = "reference"):
    """Estimates with 95% intervals per parameter, relative to the estimate (forest plot)."""
    lo = [c for c in params.columns if c.startswith("lower")][0]
    hi = [c for c in params.columns if c.startswith("upper")][0]
    est = params["estimate"].to_numpy(float)
    fig, ax = figure("Model parameters with 95% intervals", "value relative to the estimate (ratio)",
                     "parameter")
    y = np.arange(len(params))
    names = [" ".join(map(str, i)) if isinstance(i, tuple) else str(i) for i in params.index]
    ax.errorbar(np.ones_like(est), y, xerr=[1 - params[lo] / est, params[hi] / est - 1], fmt="o",
                color=COLORS["primary"], capsize=3, label="estimate, 95% interval")
    if reference is not None:
        ref = np.asarray(reference, float)
        ax.scatter(ref / est, y, marker="x", color=COLORS["truth"], zorder=3,
                   label=reference_label)
    ax.axvline(1, color=COLORS["neutral"], lw=0.8)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.legend()
    return finish(fig)


def period_transactions(pt: pd.DataFrame, unit: str = "week"):
    """Actual vs BG/NBD repeat purchases per period and cumulative (``period_transactions``)."""
    fig, axes = figure("Repeat purchases: actual vs BG/NBD", "", "", ncols=2, figsize=(12, 4.5))
    cal_end = pt.loc[~pt["holdout"], "period_end"].max()
    for ax, (a, e, ttl, yl) in zip(axes, [
            ("actual", "expected", f"per {unit}", f"repeat purchases per {unit}"),
            ("cumulative_actual", "cumulative_expected", "cumulative",
             "repeat purchases (cumulative)")], strict=True):
        ax.plot(pt["period_end"], pt[a], color=COLORS["primary"], label="actual")
        ax.plot(pt["period_end"], pt[e], ls="--", color=COLORS["accent"], label="BG/NBD")
        ax.axvline(cal_end, color=COLORS["neutral"], ls=":", label="end of calibration")
        label(ax, ttl, "date", yl)
        ax.legend()
        ax.tick_params(axis="x", labelrotation=30)
    return finish(fig)


def calibration_holdout(table: pd.DataFrame, unit: str = "weeks"):
    """Mean holdout purchases by calibration frequency, actual vs predicted."""
    fig, ax = figure("Holdout check: purchases by calibration frequency",
                     "repeat purchases in the calibration period",
                     "mean purchases in the holdout period (per customer)")
    x = np.arange(len(table))
    ax.plot(x, table["actual"], marker="o", color=COLORS["primary"], label="actual")
    ax.plot(x, table["predicted"], marker="s", ls="--", color=COLORS["accent"],
            label="BG/NBD prediction")
    ax.set_xticks(x, table.index)
    ax.legend()
    return finish(fig)


def p_alive_matrix(matrix: pd.DataFrame, T: float, unit: str = "weeks"):
    """Heatmap of P(alive) over frequency and recency for a customer of age T."""
    fig, ax = figure(f"P(alive) for a customer first seen {T:.0f} {unit} ago "
                     "(green = likely still active)",
                     f"recency: time of last purchase ({unit} after the first)",
                     "frequency (repeat purchases)")
    rec = matrix.columns.to_numpy(float)
    freq = matrix.index.to_numpy(float)
    levels = np.linspace(0, 1, 11)
    ax.pcolormesh(rec, freq, matrix.to_numpy(), shading="nearest", cmap="RdYlGn", vmin=0,
                  vmax=1)
    cs = ax.contour(rec, freq[1:], matrix.to_numpy()[1:], levels=levels[1:-1], colors="black",
                    linewidths=0.6)
    ax.clabel(cs, fmt="%.1f", fontsize=8)
    ax.grid(False)
    return finish(fig)


def independence(summary: pd.DataFrame, r: float):
    """Frequency vs mean spend of repeat buyers (Gamma-Gamma independence check)."""
    rep = summary[(summary["frequency"] > 0) & (summary["monetary"] > 0)]
    fig, ax = figure(f"Spend vs frequency of repeat buyers (Pearson r = {r:.2f})",
                     "repeat purchases (frequency)", "mean spend per repeat purchase (log scale)")
    jitter = np.random.default_rng(0).uniform(-0.2, 0.2, len(rep))
    ax.scatter(rep["frequency"] + jitter, rep["monetary"], s=6, alpha=0.4,
               color=COLORS["primary"])
    med = rep.groupby(rep["frequency"].clip(upper=15))["monetary"].median()
    ax.plot(med.index, med.to_numpy(), color=COLORS["accent"], marker="o",
            label="median by frequency (15 = 15+)")
    ax.set_yscale("log")
    ax.legend()
    return finish(fig)


def clv_distribution(values: pd.DataFrame, currency: str = "currency units"):
    """Distribution of CLV (histogram, log scale) and its cumulative share."""
    fig, axes = figure("Customer lifetime value", "", "", ncols=2, figsize=(12, 4.5))
    clv = values["clv"].to_numpy(float)
    pos = clv[clv > 0]
    bins = np.logspace(np.log10(max(pos.min(), 1e-2)), np.log10(pos.max()), 40)
    axes[0].hist(pos, bins=bins, color=COLORS["primary"])
    axes[0].set_xscale("log")
    label(axes[0], "distribution", f"CLV ({currency}, log scale)", "customers")
    srt = np.sort(clv)[::-1]
    axes[1].plot(100 * np.arange(1, len(srt) + 1) / len(srt), 100 * np.cumsum(srt) / srt.sum(),
                 color=COLORS["primary"])
    axes[1].axvline(20, ls=":", color=COLORS["accent"], label="top 20%")
    axes[1].legend()
    label(axes[1], "concentration", "customers, highest CLV first (cumulative %)",
          "CLV (cumulative %)")
    return finish(fig)


def lifecycle(stages: pd.DataFrame, outcome: str | None = None):
    """Customers and mean CLV by lifecycle stage (and an outcome rate when given)."""
    fig, axes = figure("Lifecycle stages", "", "", ncols=2, figsize=(12, 4.5))
    x = np.arange(len(stages))
    axes[0].bar(x, 100 * stages["share"], color=COLORS["primary"])
    axes[0].set_xticks(x, stages.index)
    label(axes[0], "customers by stage", "lifecycle stage", "customers (%)")
    axes[1].bar(x, stages["mean_clv"], color=COLORS["good"], label="mean CLV")
    axes[1].set_xticks(x, stages.index)
    label(axes[1], "value by stage", "lifecycle stage", "mean CLV (currency units)")
    if outcome is not None:
        ax2 = axes[1].twinx()
        ax2.plot(x, 100 * stages[f"{outcome}_rate"], color=COLORS["accent"], marker="o",
                 label=outcome.replace("_", " "))
        ax2.set_ylabel(f"{outcome.replace('_', ' ')} (%)")
        ax2.grid(False)
        ax2.legend(loc="upper right")
    return finish(fig)


def value_risk(cells: pd.DataFrame):
    """Value x risk matrix: customers, CLV share and the action per cell."""
    from crm_lib.value.tiers import RISK_TIERS, VALUE_TIERS
    m = cells.set_index(["value_tier", "risk_tier"])
    vt, rt = list(VALUE_TIERS[::-1]), list(RISK_TIERS)
    share = np.array([[m.loc[(v, r), "clv_share"] for r in rt] for v in vt])
    fig, ax = figure("Value x risk matrix: action, customers and share of CLV per cell (darker = more CLV)",
                     "churn-risk tier", "value tier (CLV)", figsize=(11, 6))
    ax.imshow(100 * share, cmap="Blues", vmin=0)
    for i, v in enumerate(vt):
        for j, r in enumerate(rt):
            c = m.loc[(v, r)]
            act = str(c["action"]).split(":")[0]
            ax.text(j, i, f"{act}\n{int(c['customers'])} customers\n"
                    f"{100 * c['clv_share']:.0f}% of CLV", ha="center", va="center", fontsize=9,
                    color="white" if share[i, j] > 0.6 * share.max() else "black")
    ax.set_xticks(range(3), rt)
    ax.set_yticks(range(3), vt)
    ax.grid(False)
    return finish(fig)
