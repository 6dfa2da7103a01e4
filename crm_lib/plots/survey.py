"""Figures of the survey notebook (02): reliability, model estimates, NPS, drivers, loyalty."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import COLORS, PALETTE, figure, finish, label

if TYPE_CHECKING:
    from ..survey.drivers import DriverImportance, ImportancePerformance
    from ..survey.loyalty import LoyaltyTypology


def reliability_chart(table: pd.DataFrame, threshold: float = 0.7):
    """Cronbach's alpha with its Feldt 95% interval and McDonald's omega per construct."""
    t = table.dropna(subset=["alpha"])
    fig, ax = figure("Reliability of each construct",
                     "reliability coefficient (0-1)", "construct")
    y = np.arange(len(t))
    ax.errorbar(t["alpha"], y, xerr=[t["alpha"] - t["alpha_ci_low"],
                                     t["alpha_ci_high"] - t["alpha"]],
                fmt="o", color=COLORS["primary"], capsize=3, label="Cronbach's alpha (95% CI)")
    ax.scatter(t["omega"], y + 0.15, marker="D", color=COLORS["accent"],
               label="McDonald's omega", zorder=3)
    ax.axvline(threshold, color=COLORS["neutral"], ls="--", label=f"rule of thumb {threshold}")
    ax.set_yticks(y, t.index)
    ax.set_xlim(min(0.4, float(t["alpha_ci_low"].min()) - 0.05), 1.0)
    ax.legend(loc="lower left")
    return finish(fig)


def path_chart(paths: pd.DataFrame):
    """Structural paths by PLS (composites), PLSc and CB-SEM, with 95% intervals."""
    p = paths.iloc[::-1]
    fig, ax = figure("Structural paths of the satisfaction model",
                     "standardised path coefficient", "path")
    y = np.arange(len(p))
    ax.errorbar(p["pls"], y + 0.2, xerr=[p["pls"] - p["pls_ci_low"], p["pls_ci_high"] - p["pls"]],
                fmt="o", color=COLORS["neutral"], capsize=2, label="PLS (composites), 95% CI")
    ax.errorbar(p["plsc"], y, xerr=[p["plsc"] - p["plsc_ci_low"],
                                    p["plsc_ci_high"] - p["plsc"]],
                fmt="o", color=COLORS["primary"], capsize=2, label="PLSc (consistent), 95% CI")
    if "cbsem" in p:
        ax.scatter(p["cbsem"], y - 0.2, marker="s", color=COLORS["accent"], label="CB-SEM (ML)",
                   zorder=3)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, p.index)
    ax.legend(loc="lower right", fontsize=8)
    fig.set_size_inches(8, 0.35 * len(p) + 1.8)
    return finish(fig)


def loadings_chart(loadings: pd.DataFrame):
    """Item loadings: PLS composite loadings versus CFA factor loadings (95% CI)."""
    d = loadings.iloc[::-1]
    fig, ax = figure("Item loadings: composites (PLS) versus common factors (CFA)",
                     "standardised loading", "item (construct)")
    y = np.arange(len(d))
    ax.errorbar(d["cfa"], y, xerr=[d["cfa"] - d["cfa_ci_low"], d["cfa_ci_high"] - d["cfa"]],
                fmt="o", color=COLORS["primary"], capsize=2, label="CFA (ML), 95% CI")
    ax.scatter(d["pls"], y + 0.2, marker="^", color=COLORS["neutral"], label="PLS composite")
    ax.set_yticks(y, [f"{i} ({c})" for i, c in zip(d.index, d["construct"], strict=True)],
                  fontsize=8)
    ax.set_xlim(0, 1.05)
    ax.legend(loc="lower left", fontsize=8)
    fig.set_size_inches(8, 0.28 * len(d) + 1.8)
    return finish(fig)


def nps_chart(by: pd.DataFrame, group_label: str):
    """Promoter/passive/detractor shares per group and the NPS with its 95% interval."""
    fig, axes = figure(f"Net Promoter Score by {group_label}", "", "", ncols=2,
                       figsize=(10, 0.45 * len(by) + 2.2))
    a, b = axes
    y = np.arange(len(by))
    left = np.zeros(len(by))
    for col, name, color in (("detractors", "detractor (0-6)", PALETTE[1]),
                             ("passives", "passive (7-8)", PALETTE[6]),
                             ("promoters", "promoter (9-10)", PALETTE[2])):
        a.barh(y, 100 * by[col], left=left, color=color, label=name)
        left += 100 * by[col].to_numpy()
    a.set_yticks(y, [str(i) for i in by.index])
    label(a, "Answer shares", "share of respondents (%)", group_label)
    a.legend(loc="lower center", bbox_to_anchor=(0.5, 1.08), ncol=3, fontsize=8)
    b.errorbar(by["nps"], y, xerr=[by["nps"] - by["ci_low"], by["ci_high"] - by["nps"]],
               fmt="o", color=COLORS["primary"], capsize=3)
    b.axvline(0, color="black", lw=0.8)
    b.set_yticks(y, [str(i) for i in by.index])
    label(b, "NPS with 95% interval", "NPS (points, -100 to 100)", group_label)
    return finish(fig)


def drivers_chart(importance: DriverImportance, outcome: str = "satisfaction"):
    """Relative importance of each driver (share of explained variance) with 95% intervals."""
    d = importance.table.sort_values("weight")
    r2 = importance.r2
    fig, ax = figure(f"Relative importance of the drivers of {outcome} (R² = {r2:.2f})",
                     "relative weight (share of variance explained)", "driver")
    y = np.arange(len(d))
    ax.barh(y, d["weight"], color=COLORS["primary"], alpha=0.8)
    ax.errorbar(d["weight"], y, xerr=[d["weight"] - d["ci_low"], d["ci_high"] - d["weight"]],
                fmt="none", color="black", capsize=3)
    ax.set_yticks(y, d.index)
    return finish(fig)


def ipma_chart(matrix: ImportancePerformance,
               importance_label: str = "importance (share of R²)"):
    """Importance-performance matrix with the four named quadrants."""
    ipm = matrix.table
    fig, ax = figure("Importance-performance matrix", importance_label,
                     "performance (0-100 index, 95% CI)")
    ax.scatter(ipm["importance"], ipm["performance"], s=60, color=COLORS["primary"], zorder=3)
    if "perf_ci_low" in ipm:
        ax.errorbar(ipm["importance"], ipm["performance"],
                    yerr=[ipm["performance"] - ipm["perf_ci_low"],
                          ipm["perf_ci_high"] - ipm["performance"]],
                    fmt="none", color=COLORS["primary"], capsize=3)
    for name, r in ipm.iterrows():
        ax.annotate(f"{name}\n({r['quadrant']})", (r["importance"], r["performance"]),
                    textcoords="offset points", xytext=(6, 4), fontsize=8)
    xc, yc = matrix.importance_cut, matrix.performance_cut
    ax.axvline(xc, color=COLORS["neutral"], ls="--")
    ax.axhline(yc, color=COLORS["neutral"], ls="--")
    xr = ipm["importance"].max() - ipm["importance"].min()
    yr = ipm["performance"].max() - ipm["performance"].min()
    ax.set_xlim(ipm["importance"].min() - 0.2 * xr - 1e-3, ipm["importance"].max() + 0.6 * xr)
    lo = ipm.get("perf_ci_low", ipm["performance"]).min()
    hi = ipm.get("perf_ci_high", ipm["performance"]).max()
    ax.set_ylim(lo - 0.3 * yr - 1, hi + 0.3 * yr + 1)
    return finish(fig)


ZONE_COLORS = {"defection": "#f4cccc", "indifference": "#eeeeee", "affection": "#d9ead3"}


def response_curve_chart(curve, title: str, xlabel: str, ylabel: str,
                         zones: pd.DataFrame | None = None, linear: bool = False):
    """Fitted response curve with its 95% band, binned observed rates and the zones.

    With ``linear`` (the non-linearity test does not support a bend) the straight
    logistic fit and its band are drawn instead of the spline, and labelled so.
    """
    fig, ax = figure(title, xlabel, ylabel)
    g = curve.grid
    if zones is not None:
        seen = set()
        for z, r in zones.iterrows():
            ax.axvspan(r["x_from"], r["x_to"], color=ZONE_COLORS.get(z, "#eeeeee"), alpha=0.8,
                       label=None if z in seen else f"{z} zone")
            seen.add(z)
    sfx, name = ("_linear", "linear logistic fit (no bend detected)") if linear and \
        "p_linear" in g else ("", "spline logistic fit")
    ax.fill_between(g["x"], 100 * g["lo" + sfx], 100 * g["hi" + sfx], color=COLORS["primary"],
                    alpha=0.2, label="95% band")
    ax.plot(g["x"], 100 * g["p" + sfx], color=COLORS["primary"], lw=2, label=name)
    o = curve.observed
    ax.scatter(o["x_mid"], 100 * o["rate"], color=COLORS["accent"], zorder=3,
               label="observed (tenths of respondents)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, loc="upper right")
    return finish(fig)


def typology_chart(typology: LoyaltyTypology):
    """Dick & Basu loyalty typology: shares of respondents in the 2 x 2 grid."""
    shares = typology.shares
    grid = np.array([[shares.get("latent loyalty", 0), shares.get("true loyalty", 0)],
                     [shares.get("no loyalty", 0), shares.get("spurious loyalty", 0)]])
    names = [["latent loyalty", "true loyalty"], ["no loyalty", "spurious loyalty"]]
    fig, ax = figure("Loyalty typology (Dick & Basu 1994)", "behavioural loyalty (repeat patronage)",
                     "attitudinal loyalty (relative attitude)")
    ax.imshow(grid, cmap="Blues", vmin=0, vmax=max(grid.max(), 1e-9))
    for i in range(2):
        for j in range(2):
            dark = grid[i, j] > 0.6 * grid.max()
            ax.text(j, i, f"{names[i][j]}\n{100 * grid[i, j]:.1f}%", ha="center", va="center",
                    fontsize=11, color="white" if dark else "black")
    ax.set_xticks([0, 1], ["low", "high"])
    ax.set_yticks([0, 1], ["high", "low"])
    ax.grid(False)
    return finish(fig)


def close(fig) -> None:
    """Close a figure after display (keeps batch runs light on memory)."""
    plt.close(fig)
