"""Reading raw table files robustly, without ever writing to them.

A raw table is ``<table>.csv``, ``<table>.parquet`` or ``<table>.xlsx`` (also
``.xls``/``.xlsm``/``.tsv``/``.txt``). CSV files are read as text, every value
kept as the original string, so that quarantined rows can be written back with
exactly what the user supplied; typing happens later in
:mod:`crm_lib.cleaning.repairs`.

- Encoding: a byte-order mark wins (UTF-8 BOM, UTF-16); otherwise the whole file
  is streamed through strict decoders in turn: UTF-8, then GB18030 (a superset
  of GBK and GB2312, the usual encoding of Chinese Excel exports), then
  Windows-1252. ``encoding=...`` overrides detection (WHATWG Encoding Standard
  labels; Python codec names).
- Delimiter: comma, semicolon, tab or pipe, sniffed from the first lines
  (``sep=...`` overrides).
- Malformed lines (wrong number of fields) are kept aside as text and later
  quarantined as ``malformed_row``; a file where most lines are malformed is not
  a table (fatal).
- Headers: a column map (``column_map``) renames user columns to contract
  names, then headers are trimmed and, when their snake-case form is a contract
  column (``"Customer ID"`` -> ``customer_id``), renamed; every rename is logged.

Fatal problems raise :class:`crm_lib.cleaning.DataContractError`.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import contract
from .errors import DataContractError

_log = logging.getLogger("crm_lib.cleaning")

#: File suffixes read as tables, by format.
FORMATS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet",
           ".pq": "parquet", ".xlsx": "excel", ".xlsm": "excel", ".xls": "excel"}

#: Encodings tried in order when none is given (after byte-order marks).
DETECT_ORDER = ("utf-8", "gb18030", "cp1252")

_CHUNK = 1 << 24  # 16 MiB per read when streaming a file through a decoder


@dataclass
class RawTable:
    """A table as read from its file: original values, plus how it was read."""

    table: str
    file: Path
    format: str
    frame: pd.DataFrame  # original values (CSV: strings), headers renamed to contract names
    encoding: str = ""
    sep: str = ""
    original_columns: dict[str, str] = field(default_factory=dict)  # contract name -> header
    renames: list[dict] = field(default_factory=list)  # [{from, to, how}]
    dropped_columns: list[str] = field(default_factory=list)  # empty, unnamed columns
    bad_lines: list[str] = field(default_factory=list)  # malformed CSV lines (text)
    notes: list[str] = field(default_factory=list)  # how the file was read, for the report
    sheet: str = ""  # Excel: the sheet read

    @property
    def rows_in(self) -> int:
        return len(self.frame) + len(self.bad_lines)


def find_table_file(folder: str | Path, table: str) -> Path | None:
    """The file holding ``table`` in ``folder`` (``<table>.csv|.parquet|.xlsx``, the
    same lookup as the folder source), ``None`` when there is none."""
    from ..sources import find_table_file as _find
    return _find(Path(folder), table)


# ----------------------------------------------------------------------------- encodings

def _stream_decodes(path: Path, encoding: str) -> bool:
    """Whether the whole file decodes strictly in ``encoding`` (streamed, low memory)."""
    dec = codecs.getincrementaldecoder(encoding)("strict")
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                if encoding == "utf-8" and chunk.isascii():
                    continue
                dec.decode(chunk, final=False)
            dec.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: str | Path) -> str:
    """The text encoding of ``path``: BOM, else the first of :data:`DETECT_ORDER`
    that decodes the whole file strictly, else ``latin-1`` (decodes anything)."""
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    nul = utf16_without_bom(head)
    if nul:
        return nul
    for enc in DETECT_ORDER:
        if _stream_decodes(path, enc):
            return enc
    return "latin-1"


def utf16_without_bom(head: bytes) -> str:
    """``"utf-16-le"``/``"utf-16-be"`` when ``head`` looks like UTF-16 text without a
    byte-order mark (mostly-ASCII text: every other byte is NUL, on the odd
    positions for little-endian, the even ones for big-endian), else ``""``."""
    head = head[: len(head) // 2 * 2]
    if len(head) < 4 or b"\x00" not in head:
        return ""
    even, odd = head[0::2], head[1::2]
    share_even = even.count(0) / len(even)
    share_odd = odd.count(0) / len(odd)
    if share_odd > 0.3 and share_even < 0.02:
        enc = "utf-16-le"
    elif share_even > 0.3 and share_odd < 0.02:
        enc = "utf-16-be"
    else:
        return ""
    try:
        head.decode(enc)
    except UnicodeDecodeError:
        return ""
    return enc


#: File signatures (magic bytes) of the binary table formats.
SIGNATURES = ((b"PK\x03\x04", "excel", "a zip container (PK signature): an .xlsx workbook"),
              (b"PAR1", "parquet", "a Parquet file (PAR1 signature)"),
              (b"\xd0\xcf\x11\xe0", "excel", "a legacy Excel .xls workbook (OLE2 signature)"))


def sniff_format(path: Path) -> tuple[str | None, str]:
    """The format a file's first bytes show (``"excel"``, ``"parquet"``, ``"csv"``
    for text) and a description, whatever its name says."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    for magic, fmt, what in SIGNATURES:
        if head.startswith(magic):
            return fmt, what
    return "csv", "text"


def _check_encoding_name(encoding: str, path: Path, table: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise DataContractError(
            f"the encoding '{encoding}' given in source_options is not a known encoding",
            file=path, table=table, rule="encoding must be a Python codec name",
            hint="Use e.g. 'utf-8', 'utf-8-sig', 'gb18030' (covers GBK), 'cp1252', "
                 "or leave it empty to detect it.") from None


# ----------------------------------------------------------------------------- CSV

_NOT_TABLE_START = {"{": "JSON", "[": "JSON", "<": "HTML/XML"}


def _sniff_sep(sample: str) -> str:
    lines = [ln for ln in sample.splitlines()[:50] if ln.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        header = lines[0]
        counts = {d: header.count(d) for d in ",;\t|"}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _not_a_table(path: Path, table: str, what: str) -> DataContractError:
    return DataContractError(
        f"the file is not a table ({what})", file=path, table=table,
        rule="a table file is delimited text with a header row, Parquet, or an Excel sheet",
        hint="Export the table as CSV (first row = column names), Parquet or .xlsx.")


def _read_with_csv_module(text: str, sep: str, path: Path, table: str
                          ) -> tuple[pd.DataFrame, list[str]]:
    """Exact fallback reader: rows whose field count differs from the header's are
    returned as malformed lines; blank lines are skipped."""
    try:
        rows = [r for r in csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=sep)
                if r]
    except csv.Error as e:
        raise _not_a_table(path, table, f"it cannot be parsed as {sep!r}-delimited text: "
                           f"{e}") from None
    if not rows:
        raise DataContractError("the file has no header row and no rows", file=path,
                                table=table, rule="a table needs a header row and at "
                                "least one row")
    header, body = rows[0], rows[1:]
    good = [r for r in body if len(r) == len(header)]
    bad = [sep.join(r) for r in body if len(r) != len(header)]
    frame = pd.DataFrame(good, columns=header, dtype="str") if good else \
        pd.DataFrame({h: pd.Series([], dtype="str") for h in header})
    return frame, bad


def read_csv(path: str | Path, table: str, *, encoding: str | None = None,
             sep: str | None = None) -> RawTable:
    """Read a delimited text file as strings (see the module docstring)."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise DataContractError("the file is empty (0 bytes)", file=path, table=table,
                                rule="a table needs a header row and at least one row",
                                hint="Check the export; remove the file if the table is "
                                     "not available.")
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    enc = (_check_encoding_name(encoding, path, table) if encoding
           else detect_encoding(path))
    if b"\x00" in head and not enc.startswith("utf-16"):
        raise _not_a_table(path, table, "binary content: it contains NUL bytes and is not "
                           "UTF-16 text")
    notes = []
    if enc in ("utf-16-le", "utf-16-be") and not encoding:
        notes.append(f"read as {enc.upper()}: UTF-16 text without a byte-order mark, "
                     "detected from its NUL-byte pattern")
    try:
        sample = head.decode(enc, errors="ignore") if enc != "utf-16" else \
            head.decode("utf-16", errors="ignore")
    except LookupError:  # pragma: no cover - checked above
        sample = head.decode("latin-1")
    stripped = sample.lstrip("\ufeff \r\n\t")
    if stripped[:1] in _NOT_TABLE_START:
        raise _not_a_table(path, table, f"it looks like {_NOT_TABLE_START[stripped[0]]}")
    sep = sep or _sniff_sep(stripped)

    if encoding and enc in ("utf-8", "ascii") and not _stream_decodes(path, "utf-8"):
        raise DataContractError(
            f"the file cannot be decoded as {enc}, the encoding set in source_options",
            file=path, table=table, rule="text files must be in the encoding given",
            hint="Set source_options encoding=... to the file's encoding (e.g. 'gb18030' "
                 "for GBK, 'cp1252'), or leave it empty to detect it.")
    if enc in ("utf-8", "ascii"):
        source: object = path
    else:  # transcode once to UTF-8 in memory (pyarrow reads UTF-8)
        try:
            text = path.read_bytes().decode(enc)
        except UnicodeDecodeError as e:
            raise DataContractError(
                f"the file cannot be decoded as {enc} (byte {e.start})", file=path,
                table=table, rule="text files must be in one encoding",
                hint="Set source_options encoding=... to the file's encoding "
                     "(e.g. 'gb18030' for GBK, 'cp1252'), or leave it empty to detect it.",
            ) from None
        source = io.BytesIO(text.lstrip("\ufeff").encode("utf-8"))

    bad: list[str] = []

    def on_bad(row) -> str:
        bad.append(row.text)
        return "skip"

    try:
        frame = pd.read_csv(source, engine="pyarrow", on_bad_lines=on_bad, sep=sep, dtype=str,
                            keep_default_na=False)
    except Exception:  # noqa: BLE001 - fall back to the exact, slower csv module
        if isinstance(source, io.BytesIO):
            text = source.getvalue().decode("utf-8")
        else:
            text = path.read_text(encoding="utf-8-sig")
        frame, bad = _read_with_csv_module(text, sep, path, table)
    frame.columns = [str(c).lstrip("\ufeff").strip() for c in frame.columns]
    # a trailing delimiter on every line makes an unnamed, empty column: drop it
    empty_cols = [c for c in frame.columns if (c == "" or c.startswith("Unnamed:"))
                  and frame[c].astype("string").str.strip().fillna("").eq("").all()]
    frame = frame.drop(columns=empty_cols)
    total = len(frame) + len(bad)
    if total and len(bad) > max(10, total // 2):
        raise _not_a_table(path, table, f"{len(bad)} of {total} lines have the wrong number "
                           f"of fields for delimiter {sep!r}")
    return RawTable(table, path, "csv", frame, encoding=enc, sep=sep, bad_lines=bad,
                    dropped_columns=empty_cols, notes=notes)


# ----------------------------------------------------------------------------- Parquet, Excel

def read_parquet(path: str | Path, table: str) -> RawTable:
    """Read a Parquet file (types as stored)."""
    path = Path(path)
    try:
        frame = pd.read_parquet(path)
    except Exception as e:  # noqa: BLE001 - any reader failure is an unreadable file
        raise DataContractError(
            f"the file cannot be read as Parquet ({type(e).__name__}: "
            f"{str(e).splitlines()[0][:200] if str(e) else 'no detail'})", file=path,
            table=table, rule="a .parquet file must be a valid Parquet table",
            hint="Re-export it, or save it as CSV.") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return RawTable(table, path, "parquet", frame.reset_index(drop=True))


def _sheet_fits(columns, table: str, column_map: dict | None) -> bool:
    """Whether a sheet's header row holds the contract's required columns of ``table``
    (after ``column_map`` and header normalisation, as :func:`apply_headers`)."""
    cmap = table_column_map(column_map, table)
    names = {cmap.get(str(c).strip(), snake(c)) for c in columns}
    names |= {str(c).strip() for c in columns}
    return set(contract.CONTRACT[table].required) <= names


def read_excel(path: str | Path, table: str, *, sheet: str | int | None = None,
               column_map: dict | None = None) -> RawTable:
    """Read one sheet of an Excel workbook: ``sheet`` if given, else the sheet named
    like the table, else the first sheet whose header row has the table's required
    contract columns. Which sheet was read is logged and noted in the report. Cell
    types as stored (dates, numbers)."""
    path = Path(path)
    try:
        book = pd.ExcelFile(path)
    except Exception as e:  # noqa: BLE001
        raise DataContractError(
            f"the file cannot be opened as an Excel workbook ({type(e).__name__}: "
            f"{str(e).splitlines()[0][:200] if str(e) else 'no detail'})", file=path,
            table=table, rule="an Excel table must be a valid .xlsx workbook",
            hint="Open it in Excel and save it as .xlsx (or export CSV).") from None
    names = [str(n) for n in book.sheet_names]
    how = "sheet option"
    if sheet is None:
        named = [n for n in names if snake(n) == table]
        if named:
            sheet, how = named[0], "named like the table"
        else:
            fits = [n for n in names
                    if _sheet_fits(pd.read_excel(book, sheet_name=n, nrows=0).columns,
                                   table, column_map)]
            if not fits:
                book.close()
                req = ", ".join(contract.CONTRACT[table].required)
                raise DataContractError(
                    f"no sheet of the workbook is named '{table}' or has the required "
                    f"columns ({req}) in its first row; sheets: {', '.join(names)}",
                    file=path, table=table, rule="an Excel table is the sheet named like "
                    "the table, or the first sheet with the required columns",
                    hint=f"Rename the sheet to '{table}', or set source_options "
                         f"sheet={{'{table}': '<sheet name>'}}.")
            sheet = fits[0]
            how = "the first sheet with the required columns"
    elif isinstance(sheet, str) and sheet not in names:
        book.close()
        raise DataContractError(f"the workbook has no sheet '{sheet}' (sheets: "
                                f"{', '.join(names)})", file=path, table=table,
                                rule="source_options sheet names an existing sheet")
    try:
        frame = pd.read_excel(book, sheet_name=sheet)
    except Exception as e:  # noqa: BLE001
        raise DataContractError(f"sheet {sheet!r} cannot be read ({e})", file=path,
                                table=table, rule="a sheet must be a table") from None
    finally:
        book.close()
    frame.columns = [str(c).strip() for c in frame.columns]
    # Excel leaves formatted-but-empty columns and rows: drop them.
    empty_cols = [c for c in frame.columns if c.startswith("Unnamed:") and
                  frame[c].isna().all()]
    frame = frame.drop(columns=empty_cols).dropna(how="all").reset_index(drop=True)
    label = sheet if isinstance(sheet, str) else names[int(sheet)]
    raw = RawTable(table, path, "excel", frame, dropped_columns=empty_cols, sheet=label)
    raw.encoding = f"sheet {label}"
    note = f"sheet '{label}' read ({how}; workbook sheets: {', '.join(names)})"
    raw.notes.append(note)
    _log.info("%s: %s", path.name, note)
    return raw


# ----------------------------------------------------------------------------- headers

def snake(name: str) -> str:
    """``" Customer ID "`` -> ``"customer_id"`` (casefold, non-alphanumerics to ``_``)."""
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().casefold()).strip("_")


def table_column_map(column_map: dict | None, table: str) -> dict[str, str]:
    """The renames for ``table`` from a column map that is either flat
    (``{"CustID": "customer_id"}``) or per table (``{"customers": {...}}``)."""
    if not column_map:
        return {}
    if any(isinstance(v, dict) for v in column_map.values()):
        flat = {k: v for k, v in column_map.items() if not isinstance(v, dict)}
        return {**flat, **(column_map.get(table) or {})}
    return dict(column_map)


def apply_headers(raw: RawTable, column_map: dict | None = None) -> RawTable:
    """Rename the columns of ``raw`` to contract names (column map first, then
    snake-case matching); record each rename. Duplicate names after renaming are
    fatal."""
    known = [c.name for c in contract.CONTRACT[raw.table].columns]
    cmap = table_column_map(column_map, raw.table)
    new_names, renames = [], []
    for col in raw.frame.columns:
        target, how = col, ""
        if col in cmap:
            target, how = cmap[col], "column_map"
        elif col not in known and snake(col) in known:
            target, how = snake(col), "header_normalised"
        if how and target != col:
            renames.append({"from": col, "to": target, "how": how})
        new_names.append(target)
    seen: dict[str, str] = {}
    for orig, new in zip(raw.frame.columns, new_names, strict=True):
        if new in seen:
            raise DataContractError(
                f"two columns map to '{new}' ('{seen[new]}' and '{orig}')", file=raw.file,
                table=raw.table, column=new, rule="each contract column appears once",
                hint="Remove one of them or fix column_map in source_options.")
        seen[new] = orig
    raw.original_columns = dict(seen)
    raw.frame.columns = new_names
    raw.renames = renames
    return raw


def read_table(path: str | Path, table: str, *, encoding: str | None = None,
               sep: str | None = None, sheet: str | int | None = None,
               column_map: dict | None = None) -> RawTable:
    """Read ``path`` as contract table ``table`` by its suffix (CSV, Parquet, Excel),
    rename headers (:func:`apply_headers`) and check it has rows. Raises
    :class:`DataContractError` for unreadable, empty or non-table files."""
    path = Path(path)
    if not path.is_file():
        raise DataContractError("the file does not exist or is not a file", file=path,
                                table=table, rule="each table is one file in the folder")
    named = FORMATS.get(path.suffix.casefold())
    if named is None:
        raise DataContractError(f"the suffix '{path.suffix}' is not a table format",
                                file=path, table=table,
                                rule="tables are .csv, .parquet or .xlsx files")
    if path.stat().st_size == 0:
        fmt, what = named, ""
    else:
        fmt, what = sniff_format(path)
    if fmt == "csv":
        raw = read_csv(path, table, encoding=encoding,
                       sep="\t" if sep is None and path.suffix.casefold() == ".tsv" else sep)
    elif fmt == "parquet":
        raw = read_parquet(path, table)
    else:
        raw = read_excel(path, table, sheet=sheet, column_map=column_map)
    if fmt != named:
        note = (f"the file is named {path.suffix} but is {what}; read as "
                f"{ {'excel': 'Excel', 'parquet': 'Parquet', 'csv': 'CSV text'}[fmt]}")
        raw.notes.insert(0, note)
        _log.warning("%s: %s", path.name, note)
    if raw.rows_in == 0:
        raise DataContractError("the table has a header row but no rows", file=path,
                                table=table, rule="a table needs at least one row",
                                hint="Check the export; remove the file if the table is "
                                     "not available.")
    return apply_headers(raw, column_map)
