"""The data-quality report: JSON for machines, tables for the notebook.

:func:`table_report` and :func:`folder_report` build the JSON-able dict that
:func:`crm_lib.cleaning.clean_folder` returns (and ``data.py`` stores as
``quality.json``). The ``*_frame`` functions turn a report into small pandas
tables for notebook 01, and :func:`metrics` gives the dotted keys recorded in
``metrics.json`` (``cleaning.<table>.rows_in`` ...).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .. import contract

#: Version of the cleaning rules and report layout (part of the processed-data cache stamp).
VERSION = "3"

#: Counts per table that always add up (the conservation identity).
COUNT_KEYS = ("rows_in", "rows_clean", "rows_quarantined", "rows_duplicate_dropped")


def _jsonable(v):
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if np.isnan(v) else float(v)
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.isoformat()
    if v is pd.NaT or v is pd.NA:
        return None
    return v


def _summary(s: pd.Series, key: bool = False) -> dict:
    out: dict = {"missing": int(s.isna().sum())}
    present = s.dropna()
    if pd.api.types.is_bool_dtype(s.dtype):
        out["share_true"] = _jsonable(float(present.mean())) if len(present) else None
    elif pd.api.types.is_numeric_dtype(s.dtype):
        x = present.astype("float64")
        if len(x):
            out.update(min=_jsonable(x.min()), median=_jsonable(x.median()),
                       mean=_jsonable(x.mean()), max=_jsonable(x.max()))
    elif pd.api.types.is_datetime64_any_dtype(s.dtype):
        if len(present):
            out.update(min=_jsonable(present.min()), max=_jsonable(present.max()))
    elif not key:  # identifiers: distinct counts are costly and say little
        out["distinct"] = int(present.nunique())
    return out


def _examples(before: pd.Series, after: pd.Series, mask: np.ndarray, k: int = 3) -> list:
    idx = np.flatnonzero(mask)
    if not len(idx):
        return []
    b = before.iloc[idx[:2000]]
    a = after.iloc[idx[:2000]]
    pairs = pd.DataFrame({"b": b.astype(str).to_numpy(), "a": a.astype(str).to_numpy()})
    pairs = pairs.drop_duplicates("b").head(k)
    return [[x, y] for x, y in pairs.itertuples(index=False)]


def table_report(*, raw, typed: pd.DataFrame, clean: pd.DataFrame, clean_mask: np.ndarray,
                 exact: np.ndarray, rows_quarantined: int, reasons: dict[str, int],
                 repair_masks: dict[tuple[str, str], np.ndarray], notes: dict[str, str],
                 outliers: dict, added: list[str],
                 unparsed: dict[str, np.ndarray] | None = None) -> dict:
    """The report of one table (see :func:`crm_lib.cleaning.clean_folder`)."""
    rows_in = raw.rows_in
    rows_clean = int(clean_mask.sum())
    dropped = int(exact.sum())
    repaired_rows = np.zeros(len(typed), dtype=bool)
    repairs = []
    for (col, kind), m in repair_masks.items():
        repaired_rows |= m
        repairs.append({"column": col, "repair": kind, "n": int(m.sum()),
                        "n_in_clean": int((m & clean_mask).sum()),
                        "examples": _examples(raw.frame[col], typed[col], m)})
    columns = {}
    for c in typed.columns:
        if c in added:
            continue
        columns[c] = {"dtype": str(clean[c].dtype) if c in clean else str(typed[c].dtype),
                      "before": _summary(typed[c], key=c.endswith("_id")),
                      "after": _summary(clean[c], key=c.endswith("_id"))}
        if unparsed and c in unparsed:  # "before": as read; unparseable is not missing
            bad = int(unparsed[c].sum())
            columns[c]["before"]["missing"] -= bad
            columns[c]["before"]["unparseable"] = bad
        if c in notes:
            columns[c]["note"] = notes[c]
    known = {c.name for c in contract.CONTRACT[raw.table].columns}
    return {
        "file": str(raw.file), "format": raw.format, "encoding": raw.encoding,
        "sheet": raw.sheet, "notes": list(raw.notes),
        "sep": raw.sep, "renamed_columns": raw.renames,
        "dropped_empty_columns": raw.dropped_columns,
        "rows_in": int(rows_in), "rows_clean": rows_clean,
        "rows_quarantined": int(rows_quarantined), "rows_duplicate_dropped": dropped,
        "rows_repaired": int((repaired_rows & clean_mask).sum()),
        "conserved": int(rows_in) == rows_clean + int(rows_quarantined) + dropped,
        "quarantine_reasons": dict(sorted(reasons.items(), key=lambda kv: -kv[1])),
        "repairs": repairs, "columns": columns, "outliers": outliers,
        "columns_added_empty": added,
        "extra_columns": [c for c in typed.columns if c not in known],
    }


def folder_report(*, results: dict[str, dict], as_of, options: dict, ignored: list[str],
                  raw_dir: Path, out_dir: Path, quarantine_dir: Path) -> dict:
    """The report of a folder: one entry per table plus totals."""
    totals = {k: sum(r[k] for r in results.values()) for k in COUNT_KEYS}
    return {
        "version": VERSION,
        "as_of": str(pd.Timestamp(as_of).date()) if as_of is not None else None,
        "raw_dir": str(raw_dir),
        "out_dir": str(out_dir), "quarantine_dir": str(quarantine_dir),
        "options": {k: v for k, v in options.items()}, "ignored_options": ignored,
        "totals": totals, "conserved": all(r["conserved"] for r in results.values()),
        "tables": results,
    }


# ----------------------------------------------------------------------------- for notebooks

def metrics(report: dict) -> dict[str, object]:
    """Dotted metric keys: ``cleaning.<table>.rows_in|rows_clean|rows_quarantined|
    rows_duplicate_dropped|rows_repaired`` per table and ``cleaning.conserved``."""
    out: dict[str, object] = {}
    for t, r in report["tables"].items():
        for k in (*COUNT_KEYS, "rows_repaired"):
            out[f"cleaning.{t}.{k}"] = int(r[k])
    out["cleaning.conserved"] = bool(report["conserved"])
    return out


def _table_notes(r: dict) -> list[str]:
    """Plain notes on how a table was read and what was decided for it."""
    notes = list(r.get("notes", []))
    if r.get("personal_columns_set_aside"):
        notes.append("personal columns set aside (not analysed, not published): "
                     + ", ".join(r["personal_columns_set_aside"]))
    for col, n in (r.get("open_end_sentinels") or {}).items():
        notes.append(f"{n} '{col}' value(s) were a 'no end' date, read as open")
    u = r.get("unknown_churn_reasons")
    if u:
        notes.append(f"{u['n']} churn reason(s) outside the taxonomy read as unknown "
                     f"(text kept in churn_reason_raw)")
    return notes


def summary_frame(report: dict) -> pd.DataFrame:
    """One row per table: rows in, clean, quarantined, duplicates dropped,
    repaired, whether the counts add up, how it was read and notes (sheet read,
    format by signature, personal columns set aside, sentinels, unknown reasons)."""
    rows = [{"table": t, **{k: r[k] for k in (*COUNT_KEYS, "rows_repaired")},
             "conserved": r["conserved"], "file": Path(r["file"]).name,
             "read as": f"{r['format']} {r['encoding']}".strip(),
             "notes": "; ".join(_table_notes(r))}
            for t, r in report["tables"].items()]
    return pd.DataFrame(rows).set_index("table")


def reasons_frame(report: dict) -> pd.DataFrame:
    """Quarantined rows by table and reason (a row may have several reasons)."""
    rows = [{"table": t, "reason": reason, "rows": n}
            for t, r in report["tables"].items()
            for reason, n in r["quarantine_reasons"].items()]
    return pd.DataFrame(rows, columns=["table", "reason", "rows"])


def _shown_examples(column: str, examples: list) -> str:
    """Examples *before -> after* for display; identifiers and personal data hidden."""
    from .. import privacy
    flat = pd.Series([str(x) for pair in examples for x in pair], dtype="object")
    if privacy.is_id_column(column) or privacy.personal_by_name(column) or (
            len(flat) and privacy.personal_by_content(flat)):
        return "(hidden: identifiers or personal data)"
    return "; ".join(f"{a!r} -> {b!r}" for a, b in examples)


def repairs_frame(report: dict) -> pd.DataFrame:
    """Every type repair: table, column, kind, how many values, examples."""
    rows = [{"table": t, "column": e["column"], "repair": e["repair"], "values": e["n"],
             "examples": _shown_examples(e["column"], e["examples"])}
            for t, r in report["tables"].items() for e in r["repairs"]]
    return pd.DataFrame(rows, columns=["table", "column", "repair", "values", "examples"])


def missingness_frame(report: dict) -> pd.DataFrame:
    """Missing values per column, before (as read) and after cleaning, as shares."""
    rows = []
    for t, r in report["tables"].items():
        for c, s in r["columns"].items():
            rows.append({"table": t, "column": c,
                         "missing before": s["before"]["missing"] / max(r["rows_in"], 1),
                         "missing after": s["after"]["missing"] / max(r["rows_clean"], 1)})
    return pd.DataFrame(rows, columns=["table", "column", "missing before", "missing after"])


def columns_frame(report: dict, table: str) -> pd.DataFrame:
    """Before/after summary of each column of ``table`` (min, median, max, distinct...)."""
    rows = []
    for c, s in report["tables"][table]["columns"].items():
        for when in ("before", "after"):
            rows.append({"column": c, "when": when, "dtype": s["dtype"], **s[when]})
    return pd.DataFrame(rows).set_index(["column", "when"])


def outliers_frame(report: dict) -> pd.DataFrame:
    """Outlier flags per column with the rule used (flagged rows are kept)."""
    rows = [{"table": t, "column": c, "flagged": o["n_flagged"], "rule": o["rule"]}
            for t, r in report["tables"].items() for c, o in r["outliers"].items()]
    return pd.DataFrame(rows, columns=["table", "column", "flagged", "rule"])


def quality_table(report: dict) -> pd.DataFrame:
    """One row per table with its reasons as text (the first notebook's layout)."""
    rows = []
    for table, r in report.get("tables", {}).items():
        rows.append({"table": table, "file": Path(r["file"]).name, "rows_in": r["rows_in"],
                     "rows_clean": r["rows_clean"], "rows_quarantined": r["rows_quarantined"],
                     "rows_duplicate_dropped": r["rows_duplicate_dropped"],
                     "quarantine_reasons": "; ".join(f"{k} ({v})" for k, v in
                                                     r["quarantine_reasons"].items())})
    return pd.DataFrame(rows)


def conservation_metrics(report: dict) -> dict[str, object]:
    """:func:`metrics`, after checking the conservation identity of every table
    (``rows_in == rows_clean + rows_quarantined + rows_duplicate_dropped``)."""
    for table, r in report.get("tables", {}).items():
        if r["rows_in"] != r["rows_clean"] + r["rows_quarantined"] + r["rows_duplicate_dropped"]:
            raise AssertionError(f"cleaning lost rows of {table}: "
                                 f"{ {k: r[k] for k in COUNT_KEYS} }")
    return metrics(report)


def outlier_column(report: dict) -> tuple[str, str] | None:
    """The (table, column) whose outlier fences are most worth showing: transaction
    amounts, else monthly charges, else the first checked column; None if none."""
    checked = [(t, c) for t, r in report["tables"].items() for c in r["outliers"]]
    for pref in (("transactions", "amount"), ("customers", "monthly_charges")):
        if pref in checked:
            return pref
    return checked[0] if checked else None


def read_quarantine(report: dict, table: str) -> pd.DataFrame:
    """The quarantined rows of ``table`` as written (original text and ``reason``);
    empty when none were quarantined."""
    path = report["tables"][table].get("quarantine_file")
    if not path or not Path(path).exists():
        return pd.DataFrame(columns=["row", "reason"])
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def dtypes_frame(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Column types of processed tables: one row per table and column."""
    rows = [{"table": t, "column": c, "dtype": str(df[c].dtype),
             "missing": int(df[c].isna().sum())}
            for t, df in tables.items() for c in df.columns]
    return pd.DataFrame(rows, columns=["table", "column", "dtype", "missing"])
