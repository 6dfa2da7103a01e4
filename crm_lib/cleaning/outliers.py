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

from .validation import KEYS

#: Columns checked per table and the scale of the fences.
OUTLIER_COLUMNS: dict[str, dict[str, str]] = {
    "customers": {"monthly_charges": "log", "n_products": "raw"},
    "transactions": {"amount": "log"},
    "campaigns": {"offer_cost": "log"},
}


def _scaled(x: pd.Series, scale: str) -> pd.Series:
    """The values on the scale of the fences (log: log10|x| of non-zero values)."""
    if scale == "log":
        return np.log10(x.abs().where(x != 0))
    return x


def tukey_fences(x: pd.Series, k: float = 3.0, scale: str = "raw") -> tuple[float, float]:
    """Tukey fences ``(low, high)`` of ``x`` on its ``scale`` (``"log"``: fences on
    log10 of the non-zero absolute values). NaN when there are no values."""
    v = _scaled(pd.to_numeric(x, errors="coerce").astype("float64"), scale).dropna()
    if v.empty:
        return (np.nan, np.nan)
    q1, q3 = np.percentile(v.to_numpy(), [25, 75])
    return (q1 - k * (q3 - q1), q3 + k * (q3 - q1))


def flag_outliers(frame: pd.DataFrame, table: str, k: float = 3.0
                  ) -> tuple[pd.DataFrame, dict[str, dict]]:
    """Flag outliers of ``frame`` (a clean table). Returns the flags (one row per
    flagged value: ``row``, the key, ``column``, ``value``, ``rule``) and a summary
    ``{column: {rule, low, high, n_flagged}}`` (``low``/``high`` in the column's
    units; for the log scale they bound the absolute size). A column without
    spread (interquartile range 0, e.g. one fixed offer cost) is not flagged."""
    flags, summary = [], {}
    keys = [c for c in KEYS.get(table, ()) if c in frame]
    for col, scale in OUTLIER_COLUMNS.get(table, {}).items():
        if col not in frame:
            continue
        x = pd.to_numeric(frame[col], errors="coerce").astype("float64")
        lo, hi = tukey_fences(x, k, scale)
        if np.isnan(lo):
            continue
        unit = (lambda v: 10 ** v) if scale == "log" else (lambda v: v)
        what = f"log10|{col}|" if scale == "log" else col
        if lo == hi:
            summary[col] = {"rule": f"Tukey fences not applied: {what} has no spread "
                            "(interquartile range 0)", "scale": scale, "k": k,
                            "low": None, "high": None, "n_flagged": 0}
            continue
        z = _scaled(x, scale)
        m = ((z < lo) | (z > hi)).fillna(False).to_numpy(dtype=bool)
        size = f"|{col}|" if scale == "log" else col
        rule = (f"Tukey far-out fences k={k:g} on {what}: {size} outside "
                f"[{unit(lo):.4g}, {unit(hi):.4g}]")
        summary[col] = {"rule": rule, "scale": scale, "k": k, "low": float(unit(lo)),
                        "high": float(unit(hi)), "n_flagged": int(m.sum())}
        if m.any():
            f = frame.loc[m, keys].copy()
            f.insert(0, "row", np.flatnonzero(m))
            f["column"] = col
            f["value"] = x[m].to_numpy()
            f["rule"] = rule
            flags.append(f)
    out = pd.concat(flags, ignore_index=True) if flags else pd.DataFrame(
        columns=["row", *keys, "column", "value", "rule"])
    out.insert(0, "table", table)
    return out, summary
