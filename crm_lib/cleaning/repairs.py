"""Type repairs: from the text a user exported to the contract's types.

Each parser takes a column as read (strings from CSV, native types from Parquet
or Excel) and returns a :class:`Parsed`: the typed values, a mask of values
that could not be parsed (those rows are quarantined, never guessed), and one
mask per *repair kind* (a value that was changed on the way, e.g. a currency
symbol removed) so that every repair is counted and shown with examples.

All parsers are vectorised: each format is one pass of a compiled pandas
routine over the values still unparsed, so a clean column costs one pass.

Rules (the notebook explains why each exists):

- missing markers: empty text and ``NA``, ``N/A``, ``null``, ``None``,
  ``NaN``, ``#N/A``, ``nil`` mean missing;
- dates: ISO 8601 first (time zones converted to UTC, then dropped); then
  ``yyyy/mm/dd``; ``dd/mm/yyyy`` or ``mm/dd/yyyy`` (also with ``-`` or ``.``)
  by the ``date_order``/``dayfirst`` option (``"auto"`` decides once per column
  from values only valid one way, and stops with an error when both kinds
  occur or nothing decides); sentinel "no end" dates in end columns are
  empty; ``yyyymmdd``; Excel
  serial day numbers (days since 1899-12-30, the 1900 leap-year bug included);
  month names (``31 Jan 2024``, ``Jan 31, 2024``); Chinese dates
  (``2024年1月31日``);
- numbers: currency symbols and codes removed; the decimal mark (``decimal``)
  decided once per column from all values (:mod:`crm_lib.cleaning.rules`),
  thousands separators removed accordingly, values that do not fit it
  unparseable; accounting negatives ``(12.50)``;
- booleans: true/false, t/f, yes/no, y/n, 1/0, 是/否, 真/假, 对/错;
- categories: trimmed, inner whitespace collapsed, compared case-folded: the
  spellings of one value become one (the contract's allowed value, else the
  most frequent spelling); an optional ``value_map`` recodes values (e.g.
  ``{"competitor": "competitive"}``);
- identifiers: trimmed; numbers stored as identifiers (Excel) written without
  a trailing ``.0``.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import rules as _rules
from .errors import DataContractError
from .rules import CURRENCY as _CURRENCY
from .rules import (  # noqa: F401 - re-exported: the rule set is declared in .rules
    EXCEL_ORIGIN,
    EXCEL_SERIAL_RANGE,
    FALSE_TOKENS,
    NA_TOKENS,
    TRUE_TOKENS,
)

_NS_BOUNDS = (pd.Timestamp("1678-01-01"), pd.Timestamp("2261-12-31"))
_DATE_ORDERS = ("auto", "dmy", "mdy")


@dataclass
class Parsed:
    """A parsed column: typed values, failures and repair masks (positional)."""

    values: pd.Series
    failed: np.ndarray  # a value was present but could not be parsed ("unparseable")
    repairs: dict[str, np.ndarray] = field(default_factory=dict)  # kind -> mask
    note: str = ""  # e.g. the date order chosen
    not_integer: np.ndarray | None = None  # integer columns: a fractional value
    extra: dict[str, pd.Series] = field(default_factory=dict)  # derived columns
    decimal: str = ""  # numbers: the decimal mark decided for the column ("." or ",")

    def failures(self) -> dict[str, np.ndarray]:
        """Reason prefix -> mask of values that failed for that reason."""
        out = {"unparseable": self.failed}
        if self.not_integer is not None:
            out["not_integer"] = self.not_integer
        return {k: v for k, v in out.items() if v.any()}

    @property
    def any_failed(self) -> np.ndarray:
        return self.failed if self.not_integer is None else self.failed | self.not_integer


def _arrow_strings(s: pd.Series) -> pa.ChunkedArray | pa.Array | None:
    """The pyarrow array behind a pyarrow-backed string Series (zero copy), else None."""
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        return pa.array(s.array)
    return None


def str_isin(s: pd.Series, values) -> np.ndarray:
    """``s.isin(values)`` as a boolean array, with pyarrow's hash kernel for
    pyarrow strings (pandas' own path is about 50 times slower for large sets)."""
    arr = _arrow_strings(s)
    if arr is None:
        return _mask(s.isin(list(values)))
    vals = pa.array([str(v) for v in values], type=pa.string())
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    return pc.fill_null(pc.is_in(arr, value_set=vals), False).to_numpy(zero_copy_only=False)


def str_search(s: pd.Series, pattern: str) -> np.ndarray:
    """Whether each value contains a match of ``pattern`` (RE2 syntax), as booleans."""
    arr = _arrow_strings(s)
    if arr is None:
        return _mask(s.str.contains(pattern, regex=True))
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    return pc.fill_null(pc.match_substring_regex(arr, pattern), False).to_numpy(
        zero_copy_only=False)


def _mask(x) -> np.ndarray:
    return np.asarray(pd.Series(x).fillna(False).to_numpy(dtype=bool))


def _is_text(s: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(s.dtype) or s.dtype == object


def text_values(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Trimmed text with missing markers set to NA; and the mask of values that
    were a non-empty missing marker (``"N/A"``...), reported as a repair."""
    t = s.astype("string").str.strip()
    short = t.str.len() <= 5
    low = t.where(short).str.lower()  # the markers are ASCII: lower() == casefold()
    na = str_isin(low, NA_TOKENS) | _mask(t.isna())
    marker = na & _mask(t.notna() & (t != ""))
    return t.mask(na), marker


def _object_split(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Split an object column (Excel cells) into native datetimes and the rest."""
    is_dt = s.map(lambda v: isinstance(v, (_dt.date, pd.Timestamp, np.datetime64)))
    dts = pd.to_datetime(s.where(is_dt), errors="coerce")
    return dts, s.where(~is_dt.astype(bool))


# ----------------------------------------------------------------------------- dates

def _from_serial(x: pd.Series) -> pd.Series:
    ok = x.between(*EXCEL_SERIAL_RANGE)
    days = x.where(ok)
    return (EXCEL_ORIGIN + pd.to_timedelta(days, unit="D")).where(ok)


def _to_naive(ts: pd.Series) -> pd.Series:
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    return ts


def _try_formats(text: pd.Series, formats: list[str]) -> pd.Series:
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    for fmt in formats:
        todo = out.isna() & text.notna()
        if not todo.any():
            break
        got = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        out.loc[todo] = got.astype("datetime64[us]")
    return out


def _finish_dates(values: pd.Series, present: np.ndarray, repairs: dict,
                  note: str = "") -> Parsed:
    values = _to_naive(values)
    if values.dtype == object:
        values = pd.to_datetime(values, errors="coerce")
    oob = _mask(values.notna() & ((values < _NS_BOUNDS[0]) | (values > _NS_BOUNDS[1])))
    values = values.mask(oob).astype("datetime64[ns]")
    failed = present & _mask(values.isna())
    return Parsed(values.reset_index(drop=True), failed,
                  {k: v for k, v in repairs.items() if v.any()}, note=note)


def _sentinel_text(text: pd.Series, sentinels: frozenset) -> np.ndarray:
    """Text values whose date part is one of ``sentinels`` ((y, m, d) triples), in
    ISO or d/m/y / m/d/y order (every sentinel reads the same either way or has a
    part above 12)."""
    out = np.zeros(len(text), dtype=bool)
    cand = text.dropna()
    cand = cand[cand.str.contains(r"(?:^|\D)(?:9999|2099|1900|\d{4})", regex=True)]
    if not len(cand) or not sentinels:
        return out
    for pat, order in ((_rules.DATE_YMD_PREFIX, (0, 1, 2)), (_rules.DATE_XXY_PREFIX, None)):
        parts = cand.str.extract(pat).dropna()
        if not len(parts):
            continue
        p = parts.astype(int)
        if order:
            ymd = list(zip(p[0], p[1], p[2], strict=True))
            hit = [t in sentinels for t in ymd]
        else:
            hit = [(y, m, d) in sentinels or (y, d, m) in sentinels
                   for d, m, y in zip(p[0], p[1], p[2], strict=True)]
        out[p.index[np.asarray(hit, dtype=bool)].to_numpy()] = True
    return out


def _sentinel_native(values: pd.Series, sentinels: frozenset) -> np.ndarray:
    """Native date cells (Excel, Parquet) equal to a sentinel date."""
    def hit(v) -> bool:
        if isinstance(v, (_dt.date, pd.Timestamp)):
            return (v.year, v.month, v.day) in sentinels
        if isinstance(v, np.datetime64) and not np.isnat(v):
            d = v.astype("datetime64[D]").astype(object)
            return (d.year, d.month, d.day) in sentinels
        return False
    if not sentinels:
        return np.zeros(len(values), dtype=bool)
    return np.asarray(values.map(hit), dtype=bool)


def parse_dates(s: pd.Series, date_order: str = "auto", *, column: str = "",
                table: str = "", file: object = None,
                open_end: frozenset | None = None) -> Parsed:
    """Parse a date/timestamp column (formats and rules in the module docstring).

    ``date_order`` is ``"auto"``, ``"dmy"`` (day first, European) or ``"mdy"``
    (month first, US). In ``"auto"`` a slash date like ``03/04/2024`` is
    resolved by the other values of the column: values only valid day-first
    (``31/01/2024``) or only month-first (``01/31/2024``) decide; when both
    kinds occur, or none and some value is ambiguous,
    :class:`DataContractError` asks for the option ``dayfirst``. Values that do
    not fit the order are unparseable (quarantined), never swapped.

    ``open_end``: (year, month, day) triples of sentinel "no end" dates
    (:func:`crm_lib.cleaning.rules.sentinel_dates`): read as empty and counted
    as the repair ``open_end_sentinel``.
    """
    s = s.reset_index(drop=True)
    n = len(s)
    sentinel = np.zeros(n, dtype=bool)
    if open_end:
        if s.dtype == object or pd.api.types.is_datetime64_any_dtype(s.dtype):
            sentinel |= _sentinel_native(s, open_end)
        if _is_text(s):
            sentinel |= _sentinel_text(s.astype("string").str.strip(), open_end)
        if sentinel.any():
            s = s.where(~sentinel)
            if pd.api.types.is_datetime64_any_dtype(s.dtype):
                s = s.astype("datetime64[ns]") if s.dt.year.max() < 2262 else s
    parsed = _parse_dates(s, date_order, column=column, table=table, file=file)
    if sentinel.any():
        parsed.repairs["open_end_sentinel"] = sentinel
    return parsed


def _parse_dates(s: pd.Series, date_order: str, *, column: str, table: str,
                 file: object) -> Parsed:
    n = len(s)
    if date_order not in _DATE_ORDERS:
        raise DataContractError(f"date_order '{date_order}' is not one of "
                                f"{', '.join(_DATE_ORDERS)}", file=file, table=table,
                                column=column, rule="date_order is auto, dmy or mdy")
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return _finish_dates(s, _mask(s.notna()), {})
    if pd.api.types.is_bool_dtype(s.dtype):
        return Parsed(pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]"),
                      _mask(s.notna()), {})
    if pd.api.types.is_numeric_dtype(s.dtype):
        x = pd.to_numeric(s, errors="coerce").astype("float64")
        vals = _from_serial(x)
        return _finish_dates(vals, _mask(x.notna()), {"excel_serial": _mask(vals.notna())})
    native = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    if s.dtype == object:  # Excel: some cells are dates, some text or numbers
        native, s = _object_split(s)
        native = _to_naive(native).astype("datetime64[us]")
    text, marker = text_values(s)
    present = _mask(text.notna()) | _mask(native.notna())
    out = native.copy()
    repairs: dict[str, np.ndarray] = {"missing_marker": marker}

    # 1. ISO 8601 (also yyyy/mm/dd and yyyymmdd, which the ISO parser accepts)
    todo = text.notna() & out.isna()
    if todo.any():
        cand = text[todo]
        cand = cand[cand.str.len() >= 8]
        iso = _to_naive(pd.to_datetime(cand, format="ISO8601", errors="coerce", utc=True))
        iso = iso.astype("datetime64[us]")
        out.loc[iso.index] = iso
        ok = cand[iso.notna()]
        std = ok.str.match(r"^\d{4}-\d{2}-\d{2}(?:[T ]|$)").astype(bool)
        rf = np.zeros(n, dtype=bool)
        rf[ok.index[~std.to_numpy()].to_numpy()] = True
        repairs["iso_variant_date"] = rf

    # 2. day/month/year or month/day/year with / - or . separators
    todo = text.notna() & out.isna()
    note = ""
    if todo.any():
        norm = text[todo].str.replace(r"[./]", "-", regex=True).str.replace(
            r"\s+", " ", regex=True)
        parts = norm.str.extract(_rules.DATE_DMY)
        slash = parts[0].notna()
        if slash.any():
            a = parts.loc[slash, 0].astype(int)
            b = parts.loc[slash, 1].astype(int)
            order = date_order
            if order == "auto":
                ev_d, ev_m = _rules.date_order_evidence(a, b)
                shown = text[todo][slash]
                hint = ("Set source_options dayfirst: true (31/01/2024) or dayfirst: false "
                        "(01/31/2024), per table if needed ({\"" + (table or "<table>")
                        + "\": true}; date_order: dmy | mdy is the same); values that do "
                        "not fit the order are then quarantined as unparseable.")
                if ev_d and ev_m:
                    ex_d = ", ".join(shown[((a > 12) & (b <= 12)).to_numpy()].head(2))
                    ex_m = ", ".join(shown[((b > 12) & (a <= 12)).to_numpy()].head(2))
                    raise DataContractError(
                        f"{ev_d} date(s) are only valid day-first (e.g. {ex_d}) and {ev_m} "
                        f"only month-first (e.g. {ex_m}); the column mixes both orders",
                        file=file, table=table, column=column,
                        rule="one day/month order per column, decided from all its values",
                        hint=hint)
                if ev_d == 0 and ev_m == 0:
                    ex = ", ".join(shown.head(3).tolist())
                    raise DataContractError(
                        f"dates such as {ex} can be read day-first or month-first and no "
                        f"value decides", file=file, table=table, column=column,
                        rule="ambiguous dates need an explicit date order", hint=hint)
                order = "dmy" if ev_d else "mdy"
                note = (f"{order} (auto: {ev_d or ev_m} value(s) only valid "
                        f"{'day' if ev_d else 'month'}-first, none the other way)")
            else:
                note = f"{order} (option)"
            dm = "%d-%m" if order == "dmy" else "%m-%d"
            fmts = [f"{dm}-{y}{t}" for y in ("%Y", "%y")
                    for t in ("", " %H:%M", " %H:%M:%S")]
            got = _try_formats(norm[slash], fmts)
            out.loc[got.index] = got
            m = np.zeros(n, dtype=bool)
            m[got.index[got.notna()].to_numpy()] = True
            repairs[f"{order}_date"] = m

    # 3. Excel serial day numbers stored as text
    todo = text.notna() & out.isna()
    if todo.any():
        cand = text[todo]
        cand = cand[cand.str.fullmatch(r"\d{5}(?:\.\d+)?")]
        if len(cand):
            got = _from_serial(cand.astype(float)).astype("datetime64[us]")
            out.loc[got.index] = got
            m = np.zeros(n, dtype=bool)
            m[got.index[got.notna()].to_numpy()] = True
            repairs["excel_serial"] = m

    # 4. month names, Chinese dates
    todo = text.notna() & out.isna()
    if todo.any():
        cand = text[todo].str.replace(r"[,\-]", " ", regex=True).str.replace(
            r"\s+", " ", regex=True).str.strip()
        got = _try_formats(cand, ["%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y",
                                  "%Y年%m月%d日", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日 %H:%M:%S"])
        out.loc[got.index] = got
        m = np.zeros(n, dtype=bool)
        m[got.index[got.notna()].to_numpy()] = True
        repairs["month_name_or_chinese_date"] = m

    return _finish_dates(out, present, repairs, note=note)


# ----------------------------------------------------------------------------- numbers

def _strip_number_text(t: pd.Series) -> tuple[pd.Series, dict[str, pd.Series]]:
    """Remove accounting brackets, currency symbols and spaces (the repairs that do
    not depend on the decimal mark)."""
    kinds: dict[str, pd.Series] = {}
    acc = t.str.fullmatch(r"\(.*\)")
    t = t.where(~acc, "-" + t.str.slice(1, -1))
    kinds["accounting_negative"] = acc
    cur = t.str.contains(_CURRENCY, regex=True)
    t = t.str.replace(_CURRENCY, "", regex=True)
    kinds["currency_symbol"] = cur
    t = t.str.replace(r"[\s\u00a0\u202f']", "", regex=True)
    t = t.str.replace(r"^([+-]?)[^\d+-.,]*", r"\1", regex=True)  # stray prefix after sign
    return t, kinds


def _examples(t: pd.Series, k: int = 3) -> str:
    return ", ".join(repr(x) for x in pd.unique(t.astype(str))[:k])


def _rx(t: pd.Series, pattern: str) -> np.ndarray:
    """Whether each text value matches ``pattern`` (RE2, pyarrow's vectorised kernel)."""
    if not len(t):
        return np.zeros(0, dtype=bool)
    arr = _arrow_strings(t)
    if arr is None:
        arr = pa.array(t.astype(object).where(t.notna(), None), type=pa.string(),
                       from_pandas=True)
    elif not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    return pc.fill_null(pc.match_substring_regex(arr, pattern), False).to_numpy(
        zero_copy_only=False)


def decide_decimal_mark(t: pd.Series, decimal: str = "auto", *, file: object = None,
                        table: str = "", column: str = "",
                        parsed_point: pd.Series | None = None,
                        parsed_ambiguous: pd.Series | None = None) -> str:
    """The decimal mark of a number column (``","`` or ``"."``), decided once from all
    its values (:func:`crm_lib.cleaning.rules.decide_decimal`) unless ``decimal``
    gives it; contradictory or undecidable columns raise :class:`DataContractError`.

    ``t`` holds the cleaned values that need the rules; ``parsed_point`` and
    ``parsed_ambiguous`` are plain numbers already read (``12.5``; ``1.500``) that
    count as point evidence and as ambiguous values (a fast path with the same
    outcome as applying the rules to them)."""
    if decimal in (",", "."):
        return decimal
    if decimal != "auto":
        raise DataContractError(f"decimal '{decimal}' is not one of auto, '.', ','",
                                file=file, table=table, column=column,
                                rule="decimal is auto, '.' or ','")
    empty = pd.Series([], dtype="string")
    pp = parsed_point if parsed_point is not None else empty
    pa_ = parsed_ambiguous if parsed_ambiguous is not None else empty
    ev = _rules.decimal_evidence(t)
    comma = t[ev["comma"]]
    point = pd.concat([t[ev["point"]], pp])
    amb = pd.concat([t[ev["ambiguous"]], pa_])
    where = (f'Set source_options decimal: "," or decimal: "." (per table: '
             f'{{"{table or "<table>"}": ","}}); values that do not fit the mark are then '
             f"quarantined as unparseable.")
    if len(comma) and len(point):
        raise DataContractError(
            f"{len(comma)} value(s) have a decimal comma (e.g. {_examples(comma)}) and "
            f"{len(point)} a decimal point (e.g. {_examples(point)})", file=file,
            table=table, column=column,
            rule="one decimal mark per column, decided from all its values", hint=where)
    if len(comma):
        return ","
    if len(point):
        return "."
    if len(amb):
        raise DataContractError(
            f"numbers such as {_examples(amb)} can be read with a thousands "
            f"separator or a decimal mark (1,500 = 1500 or 1.5) and no value of the "
            f"column decides", file=file, table=table, column=column,
            rule="one decimal mark per column, decided from all its values", hint=where)
    return "."


def _read_with_mark(t: pd.Series, mark: str) -> tuple[pd.Series, dict[str, pd.Series]]:
    pat = _rules.DECIMAL_PATTERNS["valid_comma" if mark == "," else "valid_point"]
    valid = t.str.contains(pat, regex=True).fillna(False).astype(bool)
    has_c = t.str.contains(",", regex=False)
    has_d = t.str.contains(".", regex=False)
    if mark == ",":
        num = t.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        kinds = {"decimal_comma": has_c, "thousands_separator": has_d}
    else:
        num = t.str.replace(",", "", regex=False)
        kinds = {"thousands_separator": has_c}
    got = pd.to_numeric(num.where(valid), errors="coerce").astype("float64")
    return got.where(np.isfinite(got)), kinds


def parse_numbers(s: pd.Series, decimal: str = "auto", *, integer: bool = False,
                  file: object = None, table: str = "", column: str = "",
                  parsed_point: pd.Series | None = None,
                  parsed_ambiguous: pd.Series | None = None) -> Parsed:
    """Parse a number column (rules in the module docstring and
    :mod:`crm_lib.cleaning.rules`): the decimal mark is one decision per column
    (returned as ``Parsed.decimal``); ``integer=True`` also fails values with a
    fractional part (``not_integer``).

    ``parsed_point`` / ``parsed_ambiguous``: plain numbers of the same column that
    an engine read itself (``12.5``; ``1.500``), given as evidence so that the
    decision is the one over the whole column (the engine then reads its
    ambiguous values with ``Parsed.decimal``)."""
    s = s.reset_index(drop=True)
    n = len(s)
    repairs: dict[str, np.ndarray] = {}
    mark = ""  # native numbers: no mark to decide
    if pd.api.types.is_bool_dtype(s.dtype):
        vals = pd.Series(np.nan, index=s.index)
        failed = _mask(s.notna())
    elif pd.api.types.is_numeric_dtype(s.dtype):
        vals = pd.to_numeric(s, errors="coerce").astype("float64")
        failed = np.zeros(n, dtype=bool)
    else:
        obj_num = pd.Series(np.nan, index=s.index)
        if s.dtype == object:
            isnum = s.map(lambda v: isinstance(v, (int, float, np.number))
                          and not isinstance(v, bool))
            obj_num = pd.to_numeric(s.where(isnum), errors="coerce")
            s = s.where(~isnum.astype(bool))
        text, marker = text_values(s)
        repairs["missing_marker"] = marker
        vals = pd.to_numeric(text, errors="coerce").astype("float64")
        vals = vals.where(np.isfinite(vals))
        # the decimal mark is decided once, from all values: values that failed the
        # plain parse go through the rules; plain numbers with a point are evidence
        # (12.5) or ambiguous (1.500) and are re-read only if the mark is a comma
        present = _mask(text.notna())
        failed_fast = present & _mask(vals.isna())
        dotted = present & ~failed_fast & _rx(text, r"\.")
        amb = dotted & _rx(text, _rules.DECIMAL_PATTERNS["ambiguous"]) if dotted.any() \
            else dotted
        point = dotted & ~amb
        if point.any():
            point &= _rx(text, _rules.DECIMAL_PATTERNS["point_single"])
        ext_p = parsed_point if parsed_point is not None else pd.Series([], dtype="string")
        ext_a = (parsed_ambiguous if parsed_ambiguous is not None
                 else pd.Series([], dtype="string"))
        mark = "."
        if failed_fast.any() or amb.any() or len(ext_a):
            cleaned, kinds = _strip_number_text(text[failed_fast].astype("string"))
            mark = decide_decimal_mark(cleaned, decimal, file=file, table=table,
                                       column=column,
                                       parsed_point=pd.concat([text[point], ext_p]),
                                       parsed_ambiguous=pd.concat([text[amb], ext_a]))
            reread = failed_fast | dotted if mark == "," else failed_fast
            if mark == ",":
                cleaned, kinds = _strip_number_text(text[reread].astype("string"))
            got, more = _read_with_mark(cleaned, mark)
            kinds.update(more)
            vals.loc[got.index] = got
            ok = got.notna()
            for k, m in kinds.items():
                mm = np.zeros(n, dtype=bool)
                idx = m.index[(m.fillna(False).astype(bool) & ok).to_numpy()]
                mm[idx.to_numpy()] = True
                repairs[k] = mm
        elif decimal == ",":  # an explicit comma: every value with a point is re-read
            mark = ","
            if dotted.any():
                cleaned, kinds = _strip_number_text(text[dotted].astype("string"))
                got, more = _read_with_mark(cleaned, ",")
                vals.loc[got.index] = got
                for k, m in more.items():
                    mm = np.zeros(n, dtype=bool)
                    mm[m.index[(m.fillna(False).astype(bool) & got.notna()).to_numpy()]
                       .to_numpy()] = True
                    repairs[k] = mm
        vals = vals.fillna(obj_num)
        failed = _mask(text.notna()) & _mask(vals.isna())
    repairs = {k: v for k, v in repairs.items() if v.any()}
    if integer:
        frac = _mask(vals.notna() & (vals != np.round(vals)))
        vals = vals.mask(frac)
        return Parsed(pd.Series(vals).round().astype("Int64"), failed, repairs,
                      not_integer=frac, decimal=mark)
    return Parsed(pd.Series(vals).astype("Float64"), failed, repairs, decimal=mark)


# ----------------------------------------------------------------------------- booleans

def parse_bools(s: pd.Series) -> Parsed:
    """Parse a boolean column: true/false, yes/no, y/n, t/f, 1/0, 是/否 (and 真/假,
    对/错), case-insensitive; anything else fails."""
    s = s.reset_index(drop=True)
    n = len(s)
    if pd.api.types.is_bool_dtype(s.dtype):
        return Parsed(s.astype("boolean"), np.zeros(n, dtype=bool))
    if pd.api.types.is_numeric_dtype(s.dtype):
        x = pd.to_numeric(s, errors="coerce")
        ok = x.isin([0, 1])
        vals = pd.Series(pd.NA, index=s.index, dtype="boolean")
        vals[_mask(ok)] = x[_mask(ok)] == 1
        return Parsed(vals, _mask(x.notna() & ~ok), {"bool_from_number": _mask(ok)})
    if s.dtype == object:
        s = s.map(lambda v: v if isinstance(v, str) or pd.isna(v) else
                  ("true" if v is True else "false" if v is False else str(v)))
    text, marker = text_values(s)
    low = text.str.lower()
    t, f = str_isin(low, TRUE_TOKENS), str_isin(low, FALSE_TOKENS)
    vals = pd.Series(pd.NA, index=s.index, dtype="boolean")
    vals[t] = True
    vals[f] = False
    canonical = str_isin(low, ["true", "false"])
    repairs = {"missing_marker": marker, "bool_text": _mask((t | f) & ~canonical)}
    return Parsed(vals, _mask(text.notna() & ~t & ~f),
                  {k: v for k, v in repairs.items() if v.any()})


# ----------------------------------------------------------------------------- text

def _numbers_as_text(s: pd.Series) -> pd.Series:
    """Numbers stored where text is expected (Excel ids): ``1234.0`` -> ``"1234"``."""
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        x = pd.to_numeric(s, errors="coerce")
        integral = x.notna() & (x == np.round(x))
        out = x.astype("string")
        out[_mask(integral)] = x[_mask(integral)].round().astype("Int64").astype("string")
        return out
    if s.dtype == object:
        return s.map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer()
                     else (v if isinstance(v, str) or pd.isna(v) else str(v)))
    return s


def canonical_spellings(text: pd.Series, allowed: tuple | list | None = None) -> dict:
    """Map each spelling of a category to one canonical spelling, comparing
    case-folded values: the allowed value when the contract lists them (the churn
    taxonomy), else the most frequent spelling of the group (ties: the
    case-folded form). ``{"North": "North", "north": "North", "NORTH": "North"}``."""
    counts = text.value_counts(dropna=True)
    if counts.empty:
        return {}
    u = pd.DataFrame({"spelling": counts.index.astype(str), "n": counts.to_numpy()})
    u["folded"] = u["spelling"].str.casefold()
    allowed_map = {str(a).casefold(): str(a) for a in (allowed or ())}
    u["is_folded"] = u["spelling"] == u["folded"]
    best = (u.sort_values(["folded", "n", "is_folded"], ascending=[True, False, False])
            .drop_duplicates("folded").set_index("folded")["spelling"])
    canon = {f: allowed_map.get(f, sp) for f, sp in best.items()}
    return {sp: canon[f] for sp, f in zip(u["spelling"], u["folded"], strict=True)}


def parse_text(s: pd.Series, *, category: bool = False,
               value_map: dict[str, str] | None = None,
               allowed: tuple | list | None = None) -> Parsed:
    """Trim text (identifiers, labels). For categories also collapse inner
    whitespace and fold case: values equal after case-folding become one
    canonical spelling (:func:`canonical_spellings`: the contract's allowed value,
    else the most frequent spelling, so ``" north"``, ``"NORTH"`` and ``"North"``
    all become ``"North"`` when that is the usual form); then ``value_map``
    recodes values (keys compared case-folded). Never fails."""
    s = s.reset_index(drop=True)
    n = len(s)
    numeric = (pd.api.types.is_numeric_dtype(s.dtype)
               and not pd.api.types.is_bool_dtype(s.dtype))
    s2 = _numbers_as_text(s)
    orig = s2.astype("string")
    text, marker = text_values(orig)
    repairs = {"missing_marker": marker,
               "trimmed": _mask(text.notna() & (text != orig))}
    if numeric:
        repairs["number_as_text"] = _mask(text.notna())
    elif s.dtype == object:
        repairs["number_as_text"] = _mask(
            s.map(lambda v: isinstance(v, (int, float, np.number))
                  and not isinstance(v, bool)).astype(bool) & text.notna())
    if category:
        coll = text
        spaced = str_search(text, r"\s\s|[\t\n\r]")
        if spaced.any():
            coll = text.str.replace(r"\s+", " ", regex=True)
        repairs["whitespace_collapsed"] = _mask(spaced)
        if value_map:
            vm = {str(k).strip().casefold(): str(v) for k, v in value_map.items()}
            uniq = pd.Series(coll.dropna().unique())
            hit = {u: vm[u.casefold()] for u in uniq.astype(str) if u.casefold() in vm}
            mapped = coll.map(lambda v: hit.get(v, v) if isinstance(v, str) else v) \
                if hit else coll
            repairs["value_map"] = str_isin(coll, hit)
            coll = mapped.astype("string")
        canon = canonical_spellings(coll, allowed)
        changed = {k: v for k, v in canon.items() if k != v}
        if changed:
            m = str_isin(coll, changed)
            coll = coll.where(~m, coll.map(changed))
            repairs["case_folded"] = m
        text = coll
    return Parsed(text.astype("string"), np.zeros(n, dtype=bool),
                  {k: v for k, v in repairs.items() if v.any()})


def infer_extra(s: pd.Series) -> Parsed:
    """An extra (non-contract) column: numbers if every value parses as a plain
    number, booleans if every value is a boolean word, else trimmed text."""
    if not _is_text(s) or s.dtype != object and not pd.api.types.is_string_dtype(s.dtype):
        return Parsed(s.reset_index(drop=True), np.zeros(len(s), dtype=bool))
    if s.dtype == object and not s.dropna().map(lambda v: isinstance(v, str)).all():
        return Parsed(s.reset_index(drop=True), np.zeros(len(s), dtype=bool))
    text, _ = text_values(s.reset_index(drop=True))
    present = text.notna()
    if not present.any():
        return Parsed(text.astype("string"), np.zeros(len(s), dtype=bool))
    num = pd.to_numeric(text, errors="coerce")
    if num[present].notna().all():
        if (num[present] == np.round(num[present])).all():
            return Parsed(num.round().astype("Int64"), np.zeros(len(s), dtype=bool))
        return Parsed(num.astype("Float64"), np.zeros(len(s), dtype=bool))
    low = text[present].str.casefold()
    if low.isin(TRUE_TOKENS | FALSE_TOKENS).all() and not low.isin(["1", "0"]).all():
        return parse_bools(text)
    return parse_text(s)
