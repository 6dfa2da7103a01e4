"""The cleaning rule set, declared once: tokens, patterns and per-column decisions.

Every value-level rule of the cleaning lives here as data (token sets and
RE2-compatible regular expressions), so that the pandas path
(:mod:`crm_lib.cleaning.repairs`) and any other engine (an out-of-core DuckDB
path reads :data:`RULES` and the patterns, whose syntax DuckDB's
``regexp_matches`` accepts) apply the same rules. The contract-level
declarations (churn taxonomy, synonyms, sentinel end dates) are in
:mod:`crm_lib.contract` and re-exported here.

Column decisions (one decision per column, from all of its values):

- **decimal mark** (:func:`decimal_evidence`, :func:`decide_decimal`): values
  like ``0,125``, ``1,5`` or ``1.234,5`` show a decimal comma; ``0.125``,
  ``12.5`` or ``1,234.5`` show a decimal point; ``1,500`` and ``1.500`` show
  nothing (a thousands group or three decimals). A column with evidence for
  one mark only is read with it; evidence for both, or ambiguous values with
  no evidence, stops with a :class:`~crm_lib.cleaning.DataContractError`
  naming the option ``decimal``. Values that do not fit the decided mark are
  quarantined as unparseable, never re-read with the other mark.
- **day/month order** (:func:`date_order_evidence`): ``31/01/2024`` can only
  be day-first, ``01/31/2024`` only month-first. One kind of evidence decides
  the column; both kinds stop the run naming the option ``dayfirst``; no
  evidence with ambiguous values also stops. Never a majority vote.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..contract import CHURN_REASONS, OPEN_END_DATES, REASON_SYNONYMS

__all__ = ["CHURN_REASONS", "CURRENCY", "DATE_DMY", "DECIMAL_PATTERNS", "EXCEL_ORIGIN",
           "EXCEL_SERIAL_RANGE", "FALSE_TOKENS", "NA_TOKENS", "OPEN_END_DATES",
           "REASON_SYNONYMS", "RULES", "TRUE_TOKENS", "decide_decimal", "decide_from_counts",
           "decimal_evidence",
           "date_order_evidence", "sentinel_dates"]

#: Text meaning "missing" (compared after trimming and case-folding).
NA_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "#n/a", "nil", "nat", "<na>"})
TRUE_TOKENS = frozenset({"true", "t", "yes", "y", "1", "1.0", "是", "真", "对"})
FALSE_TOKENS = frozenset({"false", "f", "no", "n", "0", "0.0", "否", "假", "错"})
#: Excel serial day numbers accepted as dates: 1950-01-01 .. 2099-12-31.
EXCEL_SERIAL_RANGE = (18264.0, 73050.0)
EXCEL_ORIGIN = pd.Timestamp("1899-12-30")
#: Currency symbols and ISO codes removed from numbers.
CURRENCY = r"[$€£¥￥₹₩元]|(?i:\b(?:usd|eur|gbp|cny|rmb|jpy|chf|hkd|aud|cad)\b)"

#: Numbers after currency, spaces and accounting brackets are removed (RE2 syntax).
DECIMAL_PATTERNS = {
    "comma_single": r"^[+-]?\d*,\d+$",  # one comma: 0,125 1,5 (not 1,500: ambiguous)
    "dot_grouped_comma_decimal": r"^[+-]?\d{1,3}(?:\.\d{3})+,\d*$",  # 1.234,5
    "dot_groups": r"^[+-]?\d{1,3}(?:\.\d{3}){2,}$",  # 1.234.567
    "point_single": r"^[+-]?\d*\.\d+(?:[eE][+-]?\d+)?$",  # 0.125 12.5 (not 1.500)
    "comma_grouped_dot_decimal": r"^[+-]?\d{1,3}(?:,\d{3})+\.\d*$",  # 1,234.5
    "comma_groups": r"^[+-]?\d{1,3}(?:,\d{3}){2,}$",  # 1,234,567
    # no evidence: one separator, a leading group of 1-3 digits (not 0), three digits
    "ambiguous": r"^[+-]?[1-9]\d{0,2}[.,]\d{3}$",
    # what a number may look like once the mark is decided
    "valid_point": r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d*)(?:\.\d*)?(?:[eE][+-]?\d+)?$",
    "valid_comma": r"^[+-]?(?:\d{1,3}(?:\.\d{3})+|\d*)(?:,\d*)?$",
}
#: comma evidence = (comma_single and not ambiguous) or any of the others listed.
_COMMA_EVIDENCE = ("dot_grouped_comma_decimal", "dot_groups")
_POINT_EVIDENCE = ("comma_grouped_dot_decimal", "comma_groups")

#: d/m/y or m/d/y with / - or . separators and an optional time (after normalising to -).
DATE_DMY = r"^(\d{1,2})-(\d{1,2})-(\d{2}|\d{4})(?: \d{1,2}:\d{2}(?::\d{2})?)?$"
#: A date at the start of a text value, for sentinel matching: y-m-d or d-m-y / m-d-y.
DATE_YMD_PREFIX = r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ].*)?$"
DATE_XXY_PREFIX = r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?:[T ].*)?$"

#: The rule table (one row per rule): what it does, its outcome and the option.
RULES: tuple[dict[str, str], ...] = (
    {"rule": "missing_marker", "applies_to": "all", "outcome": "missing",
     "what": "empty text and " + ", ".join(sorted(t for t in NA_TOKENS if t)), "option": ""},
    {"rule": "decimal_mark", "applies_to": "float, int", "outcome": "one mark per column",
     "what": "decimal comma or point decided from all values of the column",
     "option": "decimal"},
    {"rule": "date_order", "applies_to": "date, datetime", "outcome": "one order per column",
     "what": "day-first or month-first decided from values with a part above 12",
     "option": "dayfirst (or date_order)"},
    {"rule": "open_end_sentinel", "applies_to": "end_date, resolved_at",
     "outcome": "empty (open)", "what": "no-end dates " + ", ".join(OPEN_END_DATES),
     "option": "open_end_dates"},
    {"rule": "unknown_churn_reason", "applies_to": "churn_reason",
     "outcome": "unknown, text kept in churn_reason_raw",
     "what": "reasons outside the taxonomy " + ", ".join(CHURN_REASONS),
     "option": "churn_reason_synonyms, value_map"},
    {"rule": "currency_symbol", "applies_to": "float, int", "outcome": "removed",
     "what": "currency symbols and ISO codes", "option": ""},
    {"rule": "accounting_negative", "applies_to": "float, int", "outcome": "negative",
     "what": "(12.50) means -12.50", "option": ""},
    {"rule": "bool_text", "applies_to": "bool", "outcome": "true/false",
     "what": ", ".join(sorted(TRUE_TOKENS)) + " / " + ", ".join(sorted(FALSE_TOKENS)),
     "option": ""},
)


def _match(t: pd.Series, pattern: str) -> np.ndarray:
    return np.asarray(t.str.contains(pattern, regex=True).fillna(False), dtype=bool)


def decimal_evidence(t: pd.Series) -> dict[str, np.ndarray]:
    """Masks of values (cleaned number text) that show a decimal ``comma``, a decimal
    ``point``, or are ``ambiguous`` (``1,500``, ``1.500``)."""
    amb = _match(t, DECIMAL_PATTERNS["ambiguous"])
    comma = _match(t, DECIMAL_PATTERNS["comma_single"]) & ~amb
    point = _match(t, DECIMAL_PATTERNS["point_single"]) & ~amb
    for k in _COMMA_EVIDENCE:
        comma |= _match(t, DECIMAL_PATTERNS[k])
    for k in _POINT_EVIDENCE:
        point |= _match(t, DECIMAL_PATTERNS[k])
    return {"comma": comma, "point": point,
            "ambiguous": amb}


def decide_decimal(t: pd.Series) -> tuple[str | None, dict[str, np.ndarray]]:
    """The decimal mark of a column from all its values: ``","``, ``"."``, ``None``
    when nothing needs deciding, or ``"contradictory"``/``"ambiguous"``."""
    ev = decimal_evidence(t)
    return decide_from_counts(int(ev["comma"].sum()), int(ev["point"].sum()),
                              int(ev["ambiguous"].sum())), ev


def decide_from_counts(n_comma: int, n_point: int, n_ambiguous: int) -> str | None:
    """The column decision from evidence counts (for engines that count in SQL, e.g.
    ``sum(regexp_full_match(v, pattern))`` with :data:`DECIMAL_PATTERNS`; comma
    evidence is ``comma_single AND NOT ambiguous`` or ``dot_grouped_comma_decimal``
    or ``dot_groups``, point evidence likewise). Plain numbers an engine types
    itself still count: ``12.5`` is point evidence and ``1.500`` is ambiguous, so
    a fast path must not read ``1.500`` before the column is decided."""
    if n_comma and n_point:
        return "contradictory"
    if n_comma:
        return ","
    if n_point:
        return "."
    return "ambiguous" if n_ambiguous else None


def date_order_evidence(first: pd.Series, second: pd.Series) -> tuple[int, int]:
    """Counts of values only valid day-first (first part > 12, second <= 12) and only
    valid month-first (second > 12, first <= 12)."""
    return (int(((first > 12) & (second <= 12)).sum()),
            int(((second > 12) & (first <= 12)).sum()))


def sentinel_dates(option) -> frozenset[tuple[int, int, int]]:
    """The (year, month, day) triples of the open-end sentinels (option or default)."""
    values = OPEN_END_DATES if option is None else option
    if isinstance(values, str):
        values = [values]
    out = set()
    for v in values:
        ts = pd.Timestamp(str(v)) if str(v)[:4] < "2262" else None
        if ts is not None:
            out.add((ts.year, ts.month, ts.day))
        else:
            y, m, d = (int(x) for x in str(v)[:10].split("-"))
            out.add((y, m, d))
    return frozenset(out)
