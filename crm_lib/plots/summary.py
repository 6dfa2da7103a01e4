"""Figures of the executive summary (notebook 06)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import COLORS, figure, finish


def churn_trend(monthly: pd.DataFrame, trend_months: int = 12):
    """Monthly churn rate with its linear trend over the last ``trend_months`` months."""
    fig, ax = figure("Monthly churn rate", "month", "customers who left that month (%)")
    x = np.arange(len(monthly))
    ax.plot(x, monthly["rate"] * 100, marker="o", color=COLORS["primary"], label="monthly churn")
    recent = monthly.dropna(subset=["rate"]).tail(int(trend_months))
    if len(recent) >= 4:
        xi = x[recent.index - monthly.index[0]]
        slope, icpt = np.polyfit(xi, recent["rate"].to_numpy() * 100, 1)
        ax.plot(xi, icpt + slope * xi, color=COLORS["accent"], ls="--",
                label=f"trend, last {len(recent)} months")
    step = max(1, len(monthly) // 8)
    ax.set_xticks(x[::step], monthly["month"].iloc[::step], rotation=30)
    ax.set_ylim(bottom=0)
    ax.legend()
    finish(fig)
    plt.close(fig)
    return fig
