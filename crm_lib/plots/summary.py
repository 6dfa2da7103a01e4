"""Figures of the executive summary (notebook 06) and the run's front page.

Small figures (about 5 x 3.2 inches) that the summary step saves as PNGs; the
titles name what is shown, never a conclusion.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import COLORS, figure, finish

SMALL = (5.2, 3.3)


def churn_trend(monthly: pd.DataFrame, trend_months: int = 12, small: bool = False):
    """Monthly churn rate with its linear trend over the last ``trend_months`` months."""
    fig, ax = figure("Monthly churn rate", "month", "customers who left that month (%)",
                     figsize=SMALL if small else None)
    x = np.arange(len(monthly))
    ax.plot(x, monthly["rate"] * 100, marker="o", ms=3, color=COLORS["primary"],
            label="monthly churn")
    recent = monthly.dropna(subset=["rate"]).tail(int(trend_months))
    if len(recent) >= 4:
        xi = x[recent.index - monthly.index[0]]
        slope, icpt = np.polyfit(xi, recent["rate"].to_numpy() * 100, 1)
        ax.plot(xi, icpt + slope * xi, color=COLORS["accent"], ls="--",
                label=f"trend, last {len(recent)} months")
    step = max(1, len(monthly) // (4 if small else 8))
    ax.set_xticks(x[::step], monthly["month"].iloc[::step], rotation=30)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    return finish(fig)


def concentration(lorenz: pd.DataFrame):
    """Lorenz curve of customer value with the share held by the top 20%."""
    cs, vs = lorenz["customer_share"].to_numpy(), lorenz["value_share"].to_numpy()
    top20 = 1 - float(np.interp(0.8, cs, vs))
    fig, ax = figure("Value concentration", "customers, smallest to largest (cumulative %)",
                     "net spend (cumulative %)", figsize=SMALL)
    ax.plot(100 * cs, 100 * vs, color=COLORS["primary"], label="Lorenz curve")
    ax.plot([0, 100], [0, 100], ls="--", color=COLORS["neutral"], label="equal shares")
    ax.scatter([80], [100 * (1 - top20)], color=COLORS["accent"], zorder=3,
               label=f"top 20% hold {100 * top20:.0f}%")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8, loc="upper left")
    return finish(fig)


def profit_curve(curve: pd.DataFrame, optimum_n: int | None = None,
                 budget: float | None = None, title: str = "Targeting profit curve",
                 optimum_label: str = "chosen depth", recommended_depth: float | None = None):
    """Expected campaign profit by targeting depth, the chosen depth and the budget limit.

    ``recommended_depth`` (a share of the customers on the curve) marks notebook 05's
    recommendation when the curve drawn is another ranking's.
    """
    fig, ax = figure(title, "customers contacted, best first (count)",
                     "expected profit (currency)", figsize=SMALL)
    n = max(int(curve["n"].max()), 1)
    ax.plot(curve["n"], curve["expected_profit"], color=COLORS["primary"],
            label="expected profit")
    if optimum_n is not None:
        ax.axvline(optimum_n, color=COLORS["accent"], ls=":",
                   label=f"{optimum_label}: {optimum_n:,} customers")
    if recommended_depth is not None:
        k = int(round(recommended_depth * n))
        ax.axvline(k, color=COLORS["good"], ls="-.", label=f"05's recommendation: {k:,} customers")
    if budget is not None and float(curve["spend"].max()) > float(budget):
        i = int(np.searchsorted(curve["spend"].to_numpy(), float(budget), side="right")) - 1
        ax.axvline(curve["n"].iloc[max(i, 0)], color=COLORS["warn"], ls="--",
                   label="budget limit")
    ax.axhline(0, color=COLORS["neutral"], lw=0.8)
    ax.legend(fontsize=7)
    return finish(fig)


def nps_interval(nps: float, ci_low: float, ci_high: float):
    """The Net Promoter Score with its 95% interval on the -100..100 scale."""
    fig, ax = figure("Net Promoter Score", "NPS (points, -100 to 100)", "", figsize=(5.2, 2.6))
    ax.set_ylabel("survey")
    ax.axvline(0, color=COLORS["neutral"], lw=1)
    ax.errorbar([nps], [0], xerr=[[nps - ci_low], [ci_high - nps]], fmt="o",
                color=COLORS["primary"], capsize=5, label="NPS with 95% interval")
    ax.set_yticks([])
    ax.set_ylim(-1, 1)
    span = max(25.0, abs(ci_low) + 10, abs(ci_high) + 10)
    ax.set_xlim(-min(100, span), min(100, span))
    # the estimate and its interval written beside the point (a legend's marker in a
    # corner read as a second data point)
    left = nps < 0  # write towards the centre, where there is room
    ax.annotate(f"NPS {nps:.1f}\n95% interval {ci_low:.1f} to {ci_high:.1f}",
                (ci_high if left else ci_low, 0), xytext=(6 if left else -6, 0),
                textcoords="offset points", ha="left" if left else "right", va="center",
                fontsize=8, color=COLORS["primary"])
    ax.annotate("0: as many promoters as detractors", (0, -0.75), ha="center", fontsize=7,
                color=COLORS["neutral"])
    return finish(fig)
