"""Outliers are flagged, never dropped.

An unusually large bill may be a data-entry error, or the best customer of
the year: only a person who knows the business can tell, and dropping it
would bias every value estimate downwards. So the cleaning step flags values
outside Tukey's far-out fences (Tukey 1977, *Exploratory Data Analysis*):
``Q1 - k*IQR`` and ``Q3 + k*IQR`` with ``k = 3``. Money amounts are skewed
(log-normal-like), so their fences are computed on ``log10(|x|)`` of the
non-zero values; refunds (negative amounts) are judged by their size like
purchases. Counts use the raw scale. The flags are written to
``outlier_flags.csv`` beside the processed tables, with the rule used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Columns checked per table and the scale of the fences.
OUTLIER_COLUMNS: dict[str, dict[str, str]] = {
    "customers": {"monthly_charges": "log", "n_products": "raw"},
    "transactions": {"amount": "log"},
    "campaigns": {"offer_cost": "log"},
}


def tukey_fences(x: pd.Series, k: float = 3.0, scale: str = "raw") -> tuple[float, float]:
    """Tukey fences ``(low, high)`` of ``x`` in original units (``scale="log"``:
    fences on log10 of the non-zero absolute values, returned as absolute sizes)."""
    v = pd.to_numeric(x, errors="coerce").astype("float64").dropna()
    if scale == "log":
        v = np.log10(v.abs()[v != 0])
    if v.empty:
        return (np.nan, np.nan)
    q1, q3 = np.percentile(v.to_numpy(), [25, 75])
    lo, hi = q1 - k * (q3 - q1), q3 + k * (q3 - q1)
    return (10 ** lo, 10 ** hi) if scale == "log" else (lo, hi)


def flag_outliers(frame: pd.DataFrame, table: str, k: float = 3.0
                  ) -> tuple[pd.DataFrame, dict[str, dict]]:
    """Flag outliers of ``frame`` (a clean table). Returns the flags (one row per
    flagged value: ``row``, ``column``, ``value``, ``rule``, plus the key) and a
    summary ``{column: {rule, low, high, n_flagged}}``."""
    from .validation import KEYS

    flags, summary = [], {}
    keys = [c for c in KEYS.get(table, ()) if c in frame]
    for col, scale in OUTLIER_COLUMNS.get(table, {}).items():
        if col not in frame:
            continue
        x = pd.to_numeric(frame[col], errors="coerce").astype("float64")
        lo, hi = tukey_fences(x, k, scale)
        if np.isnan(lo):
            continue
        size = x.abs() if scale == "log" else x
        nz = x != 0 if scale == "log" else x.notna()
        m = ((size < lo) | (size > hi)) & nz & x.notna()
        if scale == "log":
            rule = (f"Tukey far-out fences k={k:g} on log10|{col}|: |{col}| outside "
                    f"[{lo:.4g}, {hi:.4g}]")
        else:
            rule = f"Tukey far-out fences k={k:g}: {col} outside [{lo:.4g}, {hi:.4g}]"
        summary[col] = {"rule": rule, "scale": scale, "k": k, "low": float(lo),
                        "high": float(hi), "n_flagged": int(m.sum())}
        if m.any():
            f = frame.loc[m.to_numpy(), keys].copy()
            f.insert(0, "row", np.flatnonzero(m.to_numpy()))
            f["column"] = col
            f["value"] = x[m].to_numpy()
            f["rule"] = rule
            flags.append(f)
    out = pd.concat(flags, ignore_index=True) if flags else pd.DataFrame(
        columns=["row", *keys, "column", "value", "rule"])
    out.insert(0, "table", table)
    return out, summary
