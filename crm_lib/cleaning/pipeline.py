"""The cleaning pipeline: read, repair, validate, quarantine, write, report.

For each table (customers and the codebook first, because the others refer
to them):

1. read the file (:mod:`.reading`); fatal problems raise
   :class:`~crm_lib.cleaning.DataContractError`;
2. repair types column by column (:mod:`.repairs`), logging every repair;
3. drop exact duplicates (counted) and find conflicting duplicates of a key;
4. validate lazily (:mod:`.validation`): contract checks, impossible values,
   referential integrity; a row may collect several reasons;
5. quarantine every row with at least one reason, with its *original* values
   and a ``reason`` column, to ``<quarantine_dir>/<table>.csv``;
6. flag outliers in the clean rows (:mod:`.outliers`), never dropping them;
7. write ``<out_dir>/<table>.parquet`` with the contract's dtypes.

Every row read ends in exactly one place, so for every table
``rows_in == rows_clean + rows_quarantined + rows_duplicate_dropped``.
Raw files are opened read-only and never written.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import contract
from . import outliers as _outliers
from . import repairs as _repairs
from . import report as _report
from . import rules as _rules
from . import validation as _validation
from .errors import DataContractError
from .reading import RawTable, find_table_file, read_table

#: Text columns whose values are categories: trimmed, whitespace-collapsed, case-folded.
CATEGORY_COLUMNS = frozenset({"churn_reason", "plan", "contract", "region", "channel",
                              "product", "category"})

#: Options understood by :func:`clean_folder` (each may also be given per table as
#: ``{"customers": value, ...}``).
OPTIONS = {
    "column_map": "rename user columns to contract names: {'Cust ID': 'customer_id'} "
                  "or per table {'customers': {...}}",
    "encoding": "text encoding of CSV files (default: detected)",
    "sep": "CSV delimiter (default: sniffed among , ; tab |)",
    "sheet": "Excel sheet name or index (default: the sheet named like the table, else "
             "the first)",
    "date_order": "auto | dmy | mdy: how to read 03/04/2024 (default auto: decided per "
                  "column from values only valid one way)",
    "dayfirst": "true | false: the same as date_order dmy | mdy (per table or "
                "{'<table>': {'<column>': true}})",
    "decimal": "auto | . | ,: the decimal mark of numbers written as text (default auto: "
               "decided per column; per table or {'<table>': {'<column>': ','}})",
    "open_end_dates": "end dates that mean 'no end yet', read as empty (default "
                      + ", ".join(contract.OPEN_END_DATES) + "; [] turns it off)",
    "churn_reason_synonyms": "true: map known synonyms (price, competitor, moved...) to "
                             "the taxonomy with contract.REASON_SYNONYMS (default false: "
                             "reasons outside the taxonomy are read as unknown)",
    "value_map": "recode category values after case-folding: {'churn_reason': "
                 "{'competitor': 'competitive'}} or per table",
    "personal_columns": "extra column names to treat as personal (set aside, never "
                        "published)",
    "not_personal": "column names wrongly detected as personal (kept)",
    "outlier_k": "Tukey fence multiplier for outlier flags (default 3.0)",
}


@dataclass
class TableResult:
    """The outcome of cleaning one table."""

    table: str
    clean: pd.DataFrame
    quarantine: pd.DataFrame
    flags: pd.DataFrame
    report: dict
    quarantined_keys: pd.Index = field(default_factory=lambda: pd.Index([]))


@dataclass
class Context:
    """What later tables need from earlier ones."""

    customer_ids: pd.Index | None = None
    quarantined_customer_ids: pd.Index | None = None
    codebook: pd.DataFrame | None = None


def _per_table(value, table: str):
    if isinstance(value, dict) and value and set(value) <= set(contract.TABLES):
        return value.get(table)
    return value


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 24):
            h.update(chunk)
    return h.hexdigest()


def _column_option(value, name: str):
    """A per-column option value: ``{"monthly_charges": ","}`` or a plain value."""
    if isinstance(value, dict):
        return value.get(name)
    return value


def _date_order(opts: dict, name: str) -> str:
    dayfirst = _column_option(opts.get("dayfirst"), name)
    if dayfirst is not None and dayfirst != "":
        if isinstance(dayfirst, str):
            dayfirst = dayfirst.strip().casefold() in ("true", "yes", "1", "dmy")
        return "dmy" if dayfirst else "mdy"
    return _column_option(opts.get("date_order"), name) or "auto"


def _parse_column(name: str, col: contract.Column | None, s: pd.Series, opts: dict,
                  table: str, file: Path, item: bool = False,
                  number_evidence: dict | None = None) -> _repairs.Parsed:
    """Parse one column with the rule set. ``number_evidence`` (``parsed_point``,
    ``parsed_ambiguous``: plain numbers an engine read itself) joins the decimal-mark
    decision (:func:`crm_lib.cleaning.repairs.parse_numbers`)."""
    where = {"file": file, "table": table, "column": name}
    decimal = _column_option(opts.get("decimal"), name) or "auto"
    ev = number_evidence or {}
    if item:
        return _repairs.parse_numbers(s, decimal, **where, **ev)
    if col is None:
        return _repairs.infer_extra(s)
    if col.dtype in ("date", "datetime"):
        sentinels = (_rules.sentinel_dates(opts.get("open_end_dates")) if col.open_end
                     else None)
        return _repairs.parse_dates(s, _date_order(opts, name), open_end=sentinels, **where)
    if col.dtype == "bool":
        return _repairs.parse_bools(s)
    if col.dtype in ("float", "int"):
        return _repairs.parse_numbers(s, decimal, integer=col.dtype == "int", **where, **ev)
    is_cat = col.dtype == "category" or name in CATEGORY_COLUMNS
    vmap = dict((_per_table(opts.get("value_map") or {}, table) or {}).get(name) or {}) \
        if is_cat else {}
    if name == "churn_reason" and _truthy(opts.get("churn_reason_synonyms")):
        vmap = {**contract.REASON_SYNONYMS, **vmap}
    parsed = _repairs.parse_text(s, category=is_cat, value_map=vmap or None,
                                 allowed=col.isin)
    if name == "churn_reason":
        parsed = _unknown_reasons(s, parsed)
    return parsed


def _truthy(v) -> bool:
    if isinstance(v, str):
        return v.strip().casefold() in ("true", "yes", "1")
    return bool(v)


def _unknown_reasons(raw: pd.Series, parsed: _repairs.Parsed) -> _repairs.Parsed:
    """Churn reasons outside the taxonomy become ``unknown``; the original text goes to
    ``churn_reason_raw`` (``parsed.extra``) for every recoded value (synonym, value_map
    or unknown); counted as the repair ``unknown_churn_reason``."""
    vals = parsed.values.astype("string")
    present = _repairs._mask(vals.notna())
    known = _repairs.str_isin(vals, list(contract.CHURN_REASONS))
    unknown = present & ~known
    original, _ = _repairs.text_values(_repairs._numbers_as_text(raw.reset_index(drop=True)))
    recoded = unknown | parsed.repairs.get("value_map", np.zeros(len(vals), dtype=bool))
    out = vals.where(~unknown, "unknown")
    raw_col = original.astype("string").where(recoded)
    parsed.values = out
    parsed.extra = {"churn_reason_raw": raw_col}
    if unknown.any():
        parsed.repairs["unknown_churn_reason"] = unknown
    return parsed


def _quarantine_frame(raw: RawTable, qmask: np.ndarray, reasons: dict[str, np.ndarray]
                      ) -> pd.DataFrame:
    """Quarantined rows with their original values and headers, a ``row`` number
    (1 = first data row as read) and the ``reason`` (``; ``-separated)."""
    inverse = {new: orig for new, orig in raw.original_columns.items()}
    idx = np.flatnonzero(qmask)
    q = raw.frame.iloc[idx].rename(columns=inverse).copy()
    if "reason" in q.columns:
        q = q.rename(columns={"reason": "reason (original)"})
    q.insert(0, "row", idx + 1)
    parts = [pd.Series(np.where(m[idx], r, ""), dtype=object) for r, m in reasons.items()
             if m[idx].any()]
    if parts:
        joined = pd.concat(parts, axis=1).apply(lambda r: "; ".join(x for x in r if x),
                                                axis=1)
        q["reason"] = joined.to_numpy()
    else:
        q["reason"] = pd.Series(dtype=object)
    if raw.bad_lines:
        bad = pd.DataFrame({"row": pd.array([pd.NA] * len(raw.bad_lines), dtype="Int64"),
                            "raw_line": raw.bad_lines, "reason": "malformed_row"})
        q = pd.concat([q, bad], ignore_index=True)
    return q.reset_index(drop=True)


def clean_table(raw: RawTable, *, as_of: str | pd.Timestamp | None = None,
                options: dict | None = None,
                context: Context | None = None) -> TableResult:
    """Clean one table read by :func:`~crm_lib.cleaning.reading.read_table` (steps in
    the module docstring). ``context`` carries the clean customer ids (for
    referential integrity) and the clean codebook (survey item columns and scales)."""
    opts = {k: _per_table(v, raw.table) if k not in ("column_map", "value_map") else v
            for k, v in (options or {}).items()}
    ctx = context or Context()
    table, frame, n = raw.table, raw.frame, len(raw.frame)
    t = contract.CONTRACT[table]
    items = []
    if table == "survey_responses" and ctx.codebook is not None:
        names = {c.name for c in t.columns}
        items = [i for i in ctx.codebook["item"].tolist() if i not in names]
    _validation.check_required(frame, table, raw.file, items)

    # personal columns (e-mail, phone, name, address) are set aside: never analysed
    personal = _personal(frame, t, opts)
    frame = frame.drop(columns=list(personal))

    # 2. type repairs, column by column
    typed: dict[str, pd.Series] = {}
    reasons: dict[str, np.ndarray] = {}
    repair_masks: dict[tuple[str, str], np.ndarray] = {}
    unparsed: dict[str, np.ndarray] = {}
    notes: dict[str, str] = {}
    contract_cols = {c.name: c for c in t.columns}
    for name in frame.columns:
        p = _parse_column(name, contract_cols.get(name), frame[name], opts, table, raw.file,
                          item=name in items)
        typed[name] = p.values
        typed.update(p.extra)
        for prefix, m in p.failures().items():
            reasons[f"{prefix}:{name}"] = m
        unparsed[name] = p.any_failed
        for kind, m in p.repairs.items():
            repair_masks[(name, kind)] = m
        if p.note:
            notes[name] = p.note
    for c in t.columns:  # absent optional columns: typed, empty, uniform downstream
        if c.name not in typed:
            typed[c.name] = pd.Series(pd.NA, index=range(n), dtype=contract.pandas_dtype(c))
    order = [c.name for c in t.columns] + items
    order += [c for c in frame.columns if c not in order]
    tf = pd.DataFrame({c: typed[c] for c in order})
    tf.index = pd.RangeIndex(n)

    # 3. duplicates
    any_unparsed = np.zeros(n, dtype=bool)
    for m in unparsed.values():
        any_unparsed |= m
    exact, conflict = _validation.duplicates(tf, table, ~any_unparsed)
    if conflict.any():
        reasons[f"conflicting_duplicate:{'+'.join(_validation.KEYS[table])}"] = conflict

    # 4. lazy validation of every row not dropped as an exact duplicate
    keep = ~exact
    for r, m in _validation.contract_checks(tf, table, keep, items, skip=unparsed).items():
        reasons[r] = reasons.get(r, np.zeros(n, dtype=bool)) | m
    codebook = ctx.codebook if table == "survey_responses" else None
    for r, m in _validation.impossible_values(tf, table, as_of, codebook).items():
        reasons[r] = m & keep
    for r, m in _validation.orphans(tf, table, ctx.customer_ids,
                                    ctx.quarantined_customer_ids).items():
        reasons[r] = m & keep
    reasons = {r: m & keep for r, m in reasons.items() if (m & keep).any()}

    # 5. quarantine
    qmask = np.zeros(n, dtype=bool)
    for m in reasons.values():
        qmask |= m
    if raw.bad_lines:
        reasons_report = {**{r: int(m.sum()) for r, m in reasons.items()},
                          "malformed_row": len(raw.bad_lines)}
    else:
        reasons_report = {r: int(m.sum()) for r, m in reasons.items()}
    quarantine = _quarantine_frame(raw, qmask, reasons)
    clean_mask = keep & ~qmask
    clean = tf.loc[clean_mask].reset_index(drop=True)
    for c in t.columns:
        clean[c.name] = clean[c.name].astype(contract.pandas_dtype(c))

    # 6. outliers (flagged, kept)
    k = float(opts.get("outlier_k") or 3.0)
    flags, outlier_summary = _outliers.flag_outliers(clean, table, k)

    keys = [c for c in _validation.KEYS[table] if c in tf]
    qkeys = pd.Index(tf.loc[qmask, keys[0]].dropna().unique()) if keys else pd.Index([])
    rep = _report.table_report(
        raw=raw, typed=tf, clean=clean, clean_mask=clean_mask, exact=exact,
        rows_quarantined=int(qmask.sum()) + len(raw.bad_lines), reasons=reasons_report,
        repair_masks=repair_masks, notes=notes, outliers=outlier_summary,
        added=[c.name for c in t.columns if c.name not in frame.columns], unparsed=unparsed)
    rep["personal_columns_set_aside"] = personal
    rep["open_end_sentinels"] = {col: int(m.sum()) for (col, kind), m in repair_masks.items()
                                 if kind == "open_end_sentinel"}
    unknown = repair_masks.get(("churn_reason", "unknown_churn_reason"))
    if unknown is not None:
        texts = tf["churn_reason_raw"][unknown].value_counts()
        rep["unknown_churn_reasons"] = {
            "n": int(unknown.sum()), "n_in_clean": int((unknown & clean_mask).sum()),
            "values": {str(k): int(v) for k, v in texts.head(20).items()},
            "option": "churn_reason_synonyms: true (contract.REASON_SYNONYMS) or value_map"}
    return TableResult(table, clean, quarantine, flags, rep, qkeys)


def _personal(frame: pd.DataFrame, t: contract.Table, opts: dict) -> dict[str, str]:
    """Extra (non-contract) columns holding personal data (:mod:`crm_lib.privacy`)."""
    from .. import privacy
    names = {c.name for c in t.columns}
    extra = [c for c in frame.columns if c not in names]
    if not extra:
        return {}
    return privacy.personal_columns(frame[extra], extra=opts.get("personal_columns") or (),
                                    not_personal=opts.get("not_personal") or ())


def _known_options(options: dict) -> tuple[dict, dict]:
    known = {k: v for k, v in options.items() if k in OPTIONS}
    other = {k: v for k, v in options.items() if k not in OPTIONS}
    return known, other


def latest_recorded_date(raw_dir: str | Path, tables, **options
                         ) -> tuple[pd.Timestamp | None, dict[str, str]]:
    """The data's latest recorded date: the latest value of any date column of
    ``tables`` in ``raw_dir`` (read and parsed with the cleaning's own rules and
    ``options``; sentinel "no end" dates are not dates), ignoring dates after
    today (they cannot have been recorded yet; the cleaning quarantines them).
    Returns the date (``None`` when no table has a date) and, per table and
    column, the latest date found. Tables that cannot be read are skipped (the
    cleaning reports them)."""
    raw_dir = Path(raw_dir)
    known, _ = _known_options(options)
    today = pd.Timestamp.today().normalize() + pd.Timedelta(days=1)
    found: dict[str, str] = {}
    best: pd.Timestamp | None = None
    for table in [t for t in _validation.ORDER if t in tables]:
        path = find_table_file(raw_dir, table)
        if path is None:
            continue
        opts = {k: _per_table(v, table) if k not in ("column_map", "value_map") else v
                for k, v in known.items()}
        try:
            raw = read_table(path, table, encoding=opts.get("encoding"), sep=opts.get("sep"),
                             sheet=opts.get("sheet"), column_map=known.get("column_map"))
            for c in contract.CONTRACT[table].columns:
                if c.dtype not in ("date", "datetime") or c.name not in raw.frame:
                    continue
                p = _parse_column(c.name, c, raw.frame[c.name], opts, table, raw.file)
                v = p.values[p.values < today].max()
                if pd.notna(v):
                    found[f"{table}.{c.name}"] = str(pd.Timestamp(v).date())
                    best = v if best is None or v > best else best
        except DataContractError:
            continue
    return (pd.Timestamp(best).normalize() if best is not None else None), found


def clean_folder(raw_dir: str | Path, out_dir: str | Path, quarantine_dir: str | Path, *,
                 tables: tuple[str, ...] | list[str],
                 as_of: str | pd.Timestamp | None = None, **options) -> dict:
    """Clean the tables of ``raw_dir`` into ``out_dir`` (module docstring).

    Reads ``<table>.csv|.parquet|.xlsx`` for each of ``tables``, writes
    ``<out_dir>/<table>.parquet`` and ``<out_dir>/outlier_flags.csv``, writes
    quarantined rows to ``<quarantine_dir>/<table>.csv`` (stale files of these
    tables are removed first), and returns the JSON-able data-quality report:
    ``report["tables"][<table>]`` holds ``rows_in``, ``rows_clean``,
    ``rows_quarantined``, ``rows_duplicate_dropped``, ``quarantine_reasons``,
    ``repairs``, ``columns`` (before/after summaries), ``outliers``...

    ``as_of`` is the analysis date: later dates are impossible (quarantined);
    ``None`` skips that rule. ``options`` are listed in :data:`OPTIONS`; options meant for the source
    (not the cleaning) are ignored and listed under ``ignored_options``.
    Fatal problems of all tables are collected and raised together as one
    :class:`DataContractError` (the first table's file and column as its
    attributes).
    """
    raw_dir, out_dir, qdir = Path(raw_dir), Path(out_dir), Path(quarantine_dir)
    known, other = _known_options(options)
    wanted = [t for t in _validation.ORDER if t in tables]
    unknown = [t for t in tables if t not in contract.CONTRACT]
    if unknown:
        raise DataContractError(f"'{unknown[0]}' is not a contract table", file=raw_dir,
                                table=unknown[0], rule="tables are " +
                                ", ".join(contract.TABLES))
    out_dir.mkdir(parents=True, exist_ok=True)
    qdir.mkdir(parents=True, exist_ok=True)
    ctx = Context()
    errors: list[DataContractError] = []
    results: dict[str, TableResult] = {}
    hashes: dict[str, str] = {}
    for table in wanted:
        path = find_table_file(raw_dir, table)
        try:
            if path is None:
                raise DataContractError(
                    "no file holds this table", file=raw_dir / f"{table}.csv", table=table,
                    rule="each table is <table>.csv, <table>.parquet or <table>.xlsx")
            raw = read_table(path, table, encoding=_per_table(known.get("encoding"), table),
                             sep=_per_table(known.get("sep"), table),
                             sheet=_per_table(known.get("sheet"), table),
                             column_map=known.get("column_map"))
            hashes[table] = _sha256(path)
            res = clean_table(raw, as_of=as_of, options=known, context=ctx)
        except DataContractError as e:
            errors.append(e)
            continue
        results[table] = res
        if table == "customers":
            ctx.customer_ids = pd.Index(res.clean["customer_id"].unique())
            ctx.quarantined_customer_ids = res.quarantined_keys.difference(ctx.customer_ids)
        if table == "survey_codebook":
            ctx.codebook = res.clean
    if errors:
        raise DataContractError.combine(errors)

    flags = []
    for table, res in results.items():
        res.clean.to_parquet(out_dir / f"{table}.parquet", index=False)
        qpath = qdir / f"{table}.csv"
        if qpath.exists():
            qpath.unlink()
        if len(res.quarantine):
            res.quarantine.to_csv(qpath, index=False, encoding="utf-8")
            res.report["quarantine_file"] = str(qpath)
        res.report["sha256"] = hashes[table]
        if len(res.flags):
            flags.append(res.flags)
    fl = pd.concat(flags, ignore_index=True) if flags else pd.DataFrame(
        columns=["table", "row", "column", "value", "rule"])
    fl.to_csv(out_dir / "outlier_flags.csv", index=False)
    return _report.folder_report(results={t: r.report for t, r in results.items()},
                                 as_of=as_of, options=known, ignored=sorted(other),
                                 raw_dir=raw_dir, out_dir=out_dir, quarantine_dir=qdir)
