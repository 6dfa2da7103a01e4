"""Validation rules: which rows break the contract, and why.

Every rule returns ``{reason: mask}`` over the rows it looked at, and every
rule runs on every row (lazy validation: all failures are collected, not the
first), so a quarantined row lists all its reasons. Reasons are
``<rule>:<column>`` strings:

=============================  ===============================================
``unparseable:<col>``          a value that is not a date/number/boolean
``not_integer:<col>``          a fractional value in an integer column
``missing:<col>``              a required value is empty
``negative:<col>``             a charge or cost below 0 (contract check >= 0)
``out_of_range:<col>``         e.g. an NPS outside 0-10
``not_allowed:<col>``          a value outside a contract's list (churn reasons are not:
                               they are read as ``unknown``)
``future_date:<col>``          a date after the as-of date (cannot exist yet)
``signup_after_end``           a customer whose end date precedes the signup
``resolved_before_opened``     a ticket resolved before it was opened
``scale_max_not_above_min``    a codebook item whose scale is empty
``out_of_scale:<item>``        a survey answer outside the item's codebook scale
``conflicting_duplicate:<key>``  several different rows share one key
``orphan:customer_id``         the customer does not exist in customers
``customer_quarantined:customer_id``  the customer row itself was quarantined
``malformed_row``              a CSV line with the wrong number of fields
=============================  ===============================================

The per-value contract checks (required values, ranges, taxonomy) are the
pandera schemas of :mod:`crm_lib.contract`, validated with ``lazy=True``
(pandera collects every failure case). Cross-column, as-of and cross-table
rules are vectorised masks here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from .. import contract
from .errors import DataContractError
from .repairs import str_isin

#: Tables validated before the others (the others refer to them).
ORDER = ("customers", "survey_codebook", "transactions", "survey_responses",
         "interactions", "campaigns")

#: Key columns per table (``campaigns`` has a composite key).
KEYS: dict[str, tuple[str, ...]] = {
    "customers": ("customer_id",), "transactions": ("transaction_id",),
    "survey_responses": ("response_id",), "survey_codebook": ("item",),
    "interactions": ("interaction_id",), "campaigns": ("customer_id", "campaign_id"),
}

_PANDERA_REASONS = (("not_nullable", "missing"), ("greater_than_or_equal_to", "negative"),
                    ("in_range", "out_of_range"), ("isin", "not_allowed"),
                    ("field_uniqueness", "conflicting_duplicate"), ("dtype", "wrong_type"))


def check_required(frame: pd.DataFrame, table: str, file: object,
                   items: list[str] | None = None) -> None:
    """Fatal: a required contract column (or a codebook item column) is absent."""
    t = contract.CONTRACT[table]
    present = set(frame.columns)
    missing = [c for c in t.required if c not in present]
    missing_items = [i for i in (items or []) if i not in present]
    if missing:
        col = missing[0]
        found = ", ".join(map(str, frame.columns[:20])) or "none"
        raise DataContractError(
            f"the required column '{col}' ({t.column(col).meaning}) is missing"
            + (f", and also {', '.join(missing[1:])}" if len(missing) > 1 else "")
            + f"; the columns found are: {found}", file=file, table=table, column=col,
            rule=f"required columns of {table}: {', '.join(t.required)}",
            hint=f"Rename the column in the file, or map it with source_options "
                 f"column_map={{'<your name>': '{col}'}}.")
    if missing_items:
        raise DataContractError(
            f"the survey item column '{missing_items[0]}' named in survey_codebook is "
            f"missing ({len(missing_items)} item column(s) missing)", file=file,
            table=table, column=missing_items[0],
            rule="survey_responses has one column per codebook item",
            hint="Add the column, or remove the item from survey_codebook.")


def _reason_for(check: str) -> str:
    for prefix, reason in _PANDERA_REASONS:
        if check.startswith(prefix):
            return reason
    return check.split("(")[0]


def contract_checks(frame: pd.DataFrame, table: str, rows: np.ndarray,
                    items: list[str] | None = None,
                    skip: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Pandera contract checks (nullability, ranges, taxonomy) on ``frame`` rows
    where ``rows`` is true, collected lazily; returns ``{reason: mask}``.

    ``skip`` masks per column hide ``missing:<col>`` where the value was present
    but unparseable (that row already has the more precise reason)."""
    n = len(frame)
    schema = contract.schema(table, items=[i for i in (items or []) if i in frame.columns])
    # uniqueness is handled by the duplicate rules (exact vs conflicting), not here
    schema = schema.update_columns({c: {"unique": False} for c in schema.columns})
    sub = frame.loc[rows]
    out: dict[str, np.ndarray] = {}
    try:
        schema.validate(sub, lazy=True)
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
        fc = fc[fc["index"].notna()]
        for (column, check), grp in fc.groupby(["column", "check"], sort=True):
            reason = f"{_reason_for(str(check))}:{column}"
            m = np.zeros(n, dtype=bool)
            m[grp["index"].astype("int64").to_numpy()] = True
            if reason.startswith("missing:") and skip and column in skip:
                m &= ~skip[column]
            if m.any():
                out[reason] = out.get(reason, np.zeros(n, dtype=bool)) | m
    except pa.errors.SchemaError as err:  # pragma: no cover - non-lazy path
        raise DataContractError(str(err), table=table) from None
    return out


def _future(s: pd.Series, as_of: pd.Timestamp) -> np.ndarray:
    limit = as_of.normalize() + pd.Timedelta(days=1)
    return (s >= limit).fillna(False).to_numpy(dtype=bool)


def impossible_values(frame: pd.DataFrame, table: str, as_of: str | pd.Timestamp | None,
                      codebook: pd.DataFrame | None = None) -> dict[str, np.ndarray]:
    """Values that cannot be true: dates after ``as_of``, an end before the start,
    a ticket resolved before it was opened, a codebook scale that is empty, a
    survey answer outside its item's scale. (Negative charges and out-of-range
    scores are contract checks, see :func:`contract_checks`.)"""
    t = contract.CONTRACT[table]
    out: dict[str, np.ndarray] = {}
    for c in t.columns:
        if as_of is not None and c.dtype in ("date", "datetime") and c.name in frame:
            out[f"future_date:{c.name}"] = _future(frame[c.name], pd.Timestamp(as_of))
    if table == "customers" and {"signup_date", "end_date"} <= set(frame.columns):
        out["signup_after_end"] = (frame["signup_date"] > frame["end_date"]).fillna(
            False).to_numpy(dtype=bool)
    if table == "interactions" and "resolved_at" in frame:
        out["resolved_before_opened"] = (frame["resolved_at"] < frame["opened_at"]).fillna(
            False).to_numpy(dtype=bool)
    if table == "survey_codebook":
        out["scale_max_not_above_min"] = (frame["scale_max"] <= frame["scale_min"]).fillna(
            False).to_numpy(dtype=bool)
    if table == "survey_responses" and codebook is not None and len(codebook):
        for item, lo, hi in codebook[["item", "scale_min", "scale_max"]].itertuples(
                index=False):
            if item in frame:
                x = frame[item]
                out[f"out_of_scale:{item}"] = ((x < lo) | (x > hi)).fillna(False).to_numpy(
                    dtype=bool)
    return {k: v for k, v in out.items() if v.any()}


def duplicates(frame: pd.DataFrame, table: str, eligible: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Exact duplicates and conflicting duplicates.

    An *exact duplicate* is a row identical, in every column after the type
    repairs, to an earlier row; it is dropped and counted (it carries no new
    information). Rows with unparseable values are never exact duplicates
    (they are quarantined). A *conflicting duplicate* is one of several
    remaining rows that share a key but differ elsewhere: nobody can tell which
    is right, so all of them are quarantined. Returns ``(exact, conflicting)``.
    """
    n = len(frame)
    exact = np.zeros(n, dtype=bool)
    keys = [k for k in KEYS[table] if k in frame]
    # exact duplicates share their key: compare whole rows only where the key repeats
    cand = eligible.copy()
    if keys:
        cand &= frame[keys].duplicated(keep=False).to_numpy()
    sub = frame.loc[cand]
    if len(sub):
        exact[np.flatnonzero(cand)[sub.duplicated(keep="first").to_numpy()]] = True
    conflict = np.zeros(n, dtype=bool)
    if keys:
        keep = ~exact
        kf = frame.loc[keep, keys]
        has_key = kf.notna().all(axis=1).to_numpy()
        dup = kf.duplicated(keep=False).to_numpy() & has_key
        conflict[np.flatnonzero(keep)[dup]] = True
    return exact, conflict


def orphans(frame: pd.DataFrame, table: str, customer_ids: pd.Index | None,
            quarantined_ids: pd.Index | None = None) -> dict[str, np.ndarray]:
    """Referential integrity: ``customer_id`` values that are not in the clean
    customers. A customer that exists but was quarantined is reported as
    ``customer_quarantined`` (fix the customer row and both come back)."""
    t = contract.CONTRACT[table]
    if customer_ids is None or "customer_id" not in t.references or "customer_id" not in frame:
        return {}
    ids = frame["customer_id"]
    present = ids.notna().to_numpy()
    known = str_isin(ids, customer_ids)
    bad = present & ~known
    out: dict[str, np.ndarray] = {}
    if quarantined_ids is not None and len(quarantined_ids):
        q = str_isin(ids, quarantined_ids) & bad
        out["customer_quarantined:customer_id"] = q
        bad &= ~q
    out["orphan:customer_id"] = bad
    return {k: v for k, v in out.items() if v.any()}
