"""Figures of the data-quality report (notebook 01).

Each function takes the report returned by :func:`crm_lib.cleaning.clean_folder`
(or a clean table) and returns a titled, labelled matplotlib ``Figure``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import COLORS, figure, finish


def row_flow(report: dict, title: str = "Where every raw row went"):
    """Stacked bars per table: share of rows read that are clean, quarantined, or
    dropped as exact duplicates (they always add up to 100%)."""
    tables = list(report["tables"])
    r = report["tables"]
    parts = [("clean", "rows_clean", COLORS["good"]),
             ("quarantined", "rows_quarantined", COLORS["accent"]),
             ("exact duplicate dropped", "rows_duplicate_dropped", COLORS["neutral"])]
    fig, ax = figure(title, "share of rows read (%)", "table",
                     figsize=(8, max(2.5, 0.5 * len(tables) + 1)))
    left = np.zeros(len(tables))
    for label, key, colour in parts:
        share = np.array([100 * r[t][key] / max(r[t]["rows_in"], 1) for t in tables])
        ax.barh(tables, share, left=left, color=colour, label=label)
        left += share
    for i, t in enumerate(tables):
        ax.text(101, i, f"{r[t]['rows_in']:,} rows", va="center", fontsize=8)
    ax.set_xlim(0, 118)
    ax.invert_yaxis()
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    return finish(fig)


def quarantine_reasons(report: dict, title: str = "Why rows were quarantined", top: int = 20):
    """Horizontal bars: rows per table and reason (a row may have several reasons)."""
    rows = [(f"{t}: {reason}", n) for t, r in report["tables"].items()
            for reason, n in r["quarantine_reasons"].items()]
    rows = sorted(rows, key=lambda x: -x[1])[:top]
    fig, ax = figure(title, "quarantined rows (count)", "table: reason",
                     figsize=(8, max(3.0, 0.32 * len(rows) + 1)))
    if not rows:
        ax.text(0.5, 0.5, "no row was quarantined", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
        return finish(fig)
    labels, counts = zip(*rows, strict=True)
    ax.barh(labels, counts, color=COLORS["accent"])
    ax.invert_yaxis()
    return finish(fig)


def missingness(report: dict, table: str, title: str | None = None):
    """Missing values per column of ``table`` before (as read) and after cleaning (%)."""
    cols = report["tables"][table]["columns"]
    r = report["tables"][table]
    names = list(cols)
    before = [100 * cols[c]["before"]["missing"] / max(r["rows_in"], 1) for c in names]
    after = [100 * cols[c]["after"]["missing"] / max(r["rows_clean"], 1) for c in names]
    fig, ax = figure(title or f"Missing values in {table}", "missing values (% of rows)",
                     "column", figsize=(8, max(3.0, 0.32 * len(names) + 1)))
    y = np.arange(len(names))
    ax.barh(y - 0.2, before, height=0.4, color=COLORS["neutral"], label="as read")
    ax.barh(y + 0.2, after, height=0.4, color=COLORS["primary"], label="after cleaning")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.legend(fontsize=8)
    return finish(fig)


def outlier_fences(values: pd.Series, outlier: dict, column: str, unit: str = "currency",
                   title: str | None = None):
    """Histogram of ``values`` with the Tukey fences of the report's ``outlier``
    entry (``report["tables"][t]["outliers"][column]``); log scale for money."""
    x = pd.to_numeric(values, errors="coerce").astype("float64").dropna()
    log = outlier.get("scale") == "log"
    if log:
        x = x[x != 0].abs()
        data = np.log10(x)
        xlabel = f"|{column}| ({unit}, log10 scale)"
    else:
        data = x
        xlabel = f"{column} ({unit})"
    fig, ax = figure(title or f"{column}: distribution and outlier fences", xlabel,
                     "values (count)")
    ax.hist(data, bins=60, color=COLORS["primary"])
    if outlier.get("low") is not None:
        for v, name in ((outlier["low"], "low fence"), (outlier["high"], "high fence")):
            pos = np.log10(v) if log and v > 0 else v
            ax.axvline(pos, color=COLORS["accent"], linestyle="--", label=name)
        ax.legend(fontsize=8, title=f"{outlier['n_flagged']} flagged, kept")
    if log:
        ticks = ax.get_xticks()
        ax.set_xticks(ticks, [f"{10 ** t:,.0f}" if t >= 1 else f"{10 ** t:.2g}"
                              for t in ticks])
    return finish(fig)


def injected_vs_found(comparison: pd.DataFrame, title: str = "Messy copy: injected vs found"):
    """Bars of injected and found counts per rule (from :func:`crm_lib.cleaning.messy.messy_lab`)."""
    c = comparison[comparison["what"].str.startswith(("reason", "repair"))]
    labels = (c["table"] + ": " + c["what"]).tolist()
    y = np.arange(len(labels))
    fig, ax = figure(title, "rows or values (count)", "rule",
                     figsize=(8, max(3.0, 0.32 * len(labels) + 1)))
    ax.barh(y - 0.2, c["injected"], height=0.4, color=COLORS["neutral"], label="injected")
    ax.barh(y + 0.2, c["found"], height=0.4, color=COLORS["primary"], label="found")
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.legend(fontsize=8)
    return finish(fig)
