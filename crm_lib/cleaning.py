"""Validation and cleaning of raw contract tables (first form; see issue 3).

``clean_folder`` reads each ``<table>`` file of a raw folder, coerces it to
the contract types, validates it lazily with the pandera schema of
:mod:`crm_lib.contract` (every failure collected), writes rows that fail to
``<quarantine_dir>/<table>.csv`` with their original values and a
``reason`` column, and writes the clean rows to ``<out_dir>/<table>.parquet``.
Raw files are only read.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.errors as pae

from . import contract
from .sources import find_table_file


class DataContractError(ValueError):
    """A fatal problem with an input file: names the file, the column and the rule."""


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV, Parquet or Excel table as text-preserving raw values."""
    try:
        if path.suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        if path.suffix == ".xlsx":
            return pd.read_excel(path, dtype=str)
    except Exception as exc:  # noqa: BLE001 - re-raised with the file named
        raise DataContractError(f"{path}: cannot be read as a table ({exc}).") from exc
    raise DataContractError(f"{path}: unsupported file type {path.suffix}")


def _coerce(df: pd.DataFrame, table: str, items: list[str]) -> pd.DataFrame:
    out = df.copy()
    for c in contract.CONTRACT[table].columns:
        if c.name not in out:
            continue
        s = out[c.name]
        if c.dtype in ("date", "datetime"):
            out[c.name] = pd.to_datetime(s, errors="coerce").astype("datetime64[ns]")
        elif c.dtype == "bool":
            m = s.astype("string").str.strip().str.lower().map(
                {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False})
            out[c.name] = m.astype("boolean")
        elif c.dtype == "float":
            out[c.name] = pd.to_numeric(s, errors="coerce").astype("Float64")
        elif c.dtype == "int":
            out[c.name] = pd.to_numeric(s, errors="coerce").round().astype("Int64")
        else:
            out[c.name] = s.astype("string")
    for item in items:
        out[item] = pd.to_numeric(out[item], errors="coerce").astype("Float64")
    return out


def clean_table(df: pd.DataFrame, table: str, *, items: list[str] | None = None,
                file: str = "") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Coerce and validate one table; returns (clean rows, quarantined rows with reason)."""
    t = contract.CONTRACT[table]
    missing = [c for c in t.required if c not in df.columns]
    if missing:
        raise DataContractError(
            f"{file or table}: required column '{missing[0]}' of table '{table}' is missing "
            f"(rule: the contract requires {', '.join(t.required)}).")
    if df.empty:
        raise DataContractError(f"{file or table}: table '{table}' has no rows.")
    items = items or []
    coerced = _coerce(df, table, items)
    try:
        contract.schema(table, items).validate(coerced, lazy=True)
        bad = pd.Series("", index=df.index)
    except pae.SchemaErrors as err:
        fc = err.failure_cases
        fc = fc[fc["index"].notna()]
        reasons = (fc.assign(r=fc["column"].astype(str) + ": " + fc["check"].astype(str))
                   .groupby("index")["r"].agg(lambda x: "; ".join(sorted(set(x)))))
        bad = pd.Series("", index=df.index)
        bad.loc[reasons.index.astype(df.index.dtype)] = reasons.to_numpy()
    # values that did not parse are failures too (pandera sees them only as nulls)
    for c in t.columns:
        if c.name in df and c.dtype not in ("str", "category"):
            lost = df[c.name].notna() & coerced[c.name].isna()
            bad[lost] = (bad[lost] + "; " + f"{c.name}: not a valid {c.dtype}").str.strip("; ")
    q = df[bad != ""].copy()
    q["reason"] = bad[bad != ""]
    return coerced[bad == ""].reset_index(drop=True), q


def clean_folder(raw_dir: Path, out_dir: Path, quarantine_dir: Path, *,
                 tables: tuple[str, ...] | list[str], as_of: str | None = None,
                 **options: object) -> dict:
    """Clean every table of ``raw_dir`` present in ``tables`` (see module docstring)."""
    raw_dir, out_dir, quarantine_dir = Path(raw_dir), Path(out_dir), Path(quarantine_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict = {"as_of": as_of, "tables": {}}
    order = sorted(contract.TABLES, key=lambda t: t != "survey_codebook")  # items first
    for table in order:
        if table not in tables:
            continue
        path = find_table_file(raw_dir, table)
        if path is None:
            continue
        df = read_table(path)
        items = []
        if table == "survey_responses" and (out_dir / "survey_codebook.parquet").exists():
            items = pd.read_parquet(out_dir / "survey_codebook.parquet")["item"].tolist()
        before = len(df)
        dups = df.duplicated(keep="first")
        df = df[~dups].reset_index(drop=True)
        clean, quarantined = clean_table(df, table, items=items, file=str(path))
        clean.to_parquet(out_dir / f"{table}.parquet", index=False)
        qfile = quarantine_dir / f"{table}.csv"
        if len(quarantined):
            quarantine_dir.mkdir(parents=True, exist_ok=True)
            quarantined.to_csv(qfile, index=False)
        elif qfile.exists():
            qfile.unlink()
        report["tables"][table] = {
            "file": path.name, "rows_in": before, "rows_clean": len(clean),
            "rows_quarantined": len(quarantined), "rows_duplicate_dropped": int(dups.sum()),
            "quarantine_reasons": quarantined["reason"].value_counts().to_dict()
            if len(quarantined) else {},
        }
    return report


def quality_table(report: dict) -> pd.DataFrame:
    """The data-quality report as one row per table (rows in, clean, quarantined, dropped)."""
    rows = []
    for table, r in report.get("tables", {}).items():
        rows.append({"table": table, "file": r["file"], "rows_in": r["rows_in"],
                     "rows_clean": r["rows_clean"], "rows_quarantined": r["rows_quarantined"],
                     "rows_duplicate_dropped": r["rows_duplicate_dropped"],
                     "quarantine_reasons": "; ".join(f"{k} ({v})" for k, v in
                                                     r["quarantine_reasons"].items())})
    return pd.DataFrame(rows)


def conservation_metrics(report: dict) -> dict[str, int]:
    """``cleaning.<table>.rows_*`` metrics; rows_in = clean + quarantined + duplicates dropped."""
    out: dict[str, int] = {}
    for table, r in report.get("tables", {}).items():
        for k in ("rows_in", "rows_clean", "rows_quarantined", "rows_duplicate_dropped"):
            out[f"cleaning.{table}.{k}"] = int(r[k])
        if r["rows_in"] != r["rows_clean"] + r["rows_quarantined"] + r["rows_duplicate_dropped"]:
            raise AssertionError(f"cleaning lost rows of {table}: {r}")
    return out
