"""Out-of-core cleaning of large event tables (transactions, interactions) with DuckDB.

The in-memory pipeline (:mod:`crm_lib.cleaning.pipeline`) holds a table in
pandas; a year of a retailer's transactions (1e8 rows) does not fit. This
module cleans such a table from a CSV file or a Parquet file/folder inside a
DuckDB database on disk, with a memory limit and a spill folder, and gives the
same clean rows, the same quarantine (original values, ``row``, ``reason``) and
the same counts as the pandas path, from the same rule set:

- **types** are decided by the parsers of :mod:`crm_lib.cleaning.repairs`
  (called through :func:`crm_lib.cleaning.pipeline._parse_column`, so the
  options and rules are theirs). DuckDB types the values that are already in
  canonical form (ISO timestamps ``YYYY-MM-DD[ HH:MM[:SS]]``, plain decimal
  numbers, native Parquet types, missing markers of
  :data:`~crm_lib.cleaning.repairs.NA_TOKENS`), which the parsers would read
  unchanged; every other distinct value is handed to the parser, with each
  value repeated as often as it occurs (up to ``expand_limit`` rows), so
  column-level decisions (the day-first or month-first date order) see the
  same evidence as on the whole column. Category columns are parsed as their
  distinct spellings, weighted by their rank of frequency within each
  case-folded group (all that the choice of the canonical spelling reads);
- **rules**: exact and conflicting duplicates (:func:`~.validation.duplicates`),
  the contract's not-null, range and taxonomy checks, dates after the as-of
  date, tickets resolved before they were opened, and referential integrity
  against the clean customers, with the reasons of :mod:`.validation`, in the
  same order;
- **outliers** are flagged with the Tukey fences of :mod:`.outliers`
  (``quantile_cont`` is NumPy's linear percentile).

Every row read ends in exactly one place: ``rows_in = rows_clean +
rows_quarantined + rows_duplicate_dropped``. Small tables keep the pandas path:
:func:`clean_events` switches by ``min_rows``. Formats: CSV (any encoding that
:func:`~.reading.detect_encoding` finds; non-UTF-8 files are transcoded to a
temporary UTF-8 copy, streamed), Parquet files and folders. Excel files are
small by construction and always take the pandas path.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from .. import contract
from . import outliers as _outliers
from . import repairs as _repairs
from . import rules as _rules
from . import validation as _validation
from .errors import DataContractError
from .pipeline import CATEGORY_COLUMNS, _column_option, _parse_column, _per_table
from .reading import RawTable, _sniff_sep, apply_headers, detect_encoding

#: Tables this module cleans (the large event tables).
EVENT_TABLES = ("transactions", "interactions")
#: Below this many rows a table takes the pandas path (``clean_events(min_rows=...)``).
MIN_ROWS = 1_000_000

_ISO_RE = r"^(1[7-9]|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?$"
_NUM_RE = r"^-?[0-9]+(\.[0-9]+)?$"
_INT_RE = r"^-?[0-9]+$"


def _q(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _lit(v) -> str:
    return "'" + str(v).replace("'", "''") + "'"


def _na_list() -> str:
    return ", ".join(_lit(t) for t in sorted(_repairs.NA_TOKENS))


# ----------------------------------------------------------------------------- reading

def _csv_source(path: Path, table: str, opts: dict, work: Path, column_map
                ) -> tuple[Path, str, str, RawTable]:
    """A UTF-8 CSV to scan (transcoded if needed), its delimiter, encoding and headers."""
    enc = opts.get("encoding") or detect_encoding(path)
    enc = codecs.lookup(enc).name
    src = path
    if enc not in ("utf-8", "ascii", "utf-8-sig"):
        src = work / "utf8.csv"
        dec = codecs.getincrementaldecoder(enc)("strict")
        with open(path, "rb") as fi, open(src, "w", encoding="utf-8", newline="") as fo:
            while chunk := fi.read(1 << 24):
                fo.write(dec.decode(chunk))
            fo.write(dec.decode(b"", final=True))
    with open(src, encoding="utf-8-sig", newline="") as fh:
        head = fh.read(1 << 16)
    sep = opts.get("sep") or _sniff_sep(head.lstrip("\ufeff \r\n\t"))
    header = next(csv.reader([head.splitlines()[0]], delimiter=sep))
    header = [h.lstrip("\ufeff").strip() for h in header]
    raw = RawTable(table, path, "csv", pd.DataFrame(columns=header), encoding=enc, sep=sep)
    return src, sep, enc, apply_headers(raw, column_map)


def _load(con, path: Path, table: str, opts: dict, work: Path) -> tuple[RawTable, int]:
    """Create table ``raw`` (``__row`` = 1-based position, original values) and
    ``rejects`` (malformed CSV lines); returns the header info and rows read."""
    column_map = opts.get("column_map")
    if path.is_dir() or path.suffix.lower() in (".parquet", ".pq"):
        pattern = str(path / "*.parquet") if path.is_dir() else str(path)
        rel = con.sql(f"SELECT * FROM read_parquet({_lit(pattern)}) LIMIT 0")
        header = [c.strip() for c in rel.columns]
        raw = apply_headers(RawTable(table, path, "parquet", pd.DataFrame(columns=header)),
                            column_map)
        sel = ", ".join(f"{_q(o)} AS {_q(n)}" for n, o in zip(raw.frame.columns, rel.columns,
                                                               strict=True))
        if path.is_dir():  # row numbers in file-name order, then row order within a file
            con.execute(f"""CREATE TABLE raw AS SELECT row_number() OVER (ORDER BY filename,
                            file_row_number) AS __row, {sel}
                            FROM read_parquet({_lit(pattern)}, filename=true,
                                              file_row_number=true) ORDER BY __row""")
        else:
            con.execute(f"""CREATE VIEW raw AS SELECT file_row_number + 1 AS __row, {sel}
                            FROM read_parquet({_lit(pattern)}, file_row_number=true)""")
            # the same rows by their position in the file: a filter on it is pushed into
            # the scan (the quarantine reads its few rows' original values through it)
            con.execute(f"""CREATE VIEW raw_rn AS SELECT file_row_number, {sel}
                            FROM read_parquet({_lit(pattern)}, file_row_number=true)""")
        con.execute("CREATE TABLE rejects (csv_line VARCHAR)")
    else:
        src, sep, _enc, raw = _csv_source(path, table, opts, work, column_map)
        names = "[" + ", ".join(_lit(c) for c in raw.frame.columns) + "]"
        con.execute(f"""CREATE TABLE raw AS SELECT row_number() OVER () AS __row, *
            FROM read_csv({_lit(str(src))}, delim={_lit(sep)}, header=true, all_varchar=true,
                          names={names}, quote='"', escape='"', ignore_errors=true,
                          store_rejects=true, rejects_table='rej_errors',
                          rejects_scan='rej_scans', null_padding=false,
                          parallel=false)""")
        con.execute("""CREATE TABLE rejects AS SELECT DISTINCT line, csv_line
                       FROM rej_errors ORDER BY line""")
    n = con.execute("SELECT count(*) FROM raw").fetchone()[0]
    return raw, int(n)


# ----------------------------------------------------------------------------- typing

def _sql_type(dtype: str) -> str:
    return {"date": "TIMESTAMP", "datetime": "TIMESTAMP", "float": "DOUBLE", "int": "BIGINT",
            "bool": "BOOLEAN"}.get(dtype, "VARCHAR")


def _weighted(values: pd.Series, counts: pd.Series, expand_limit: int) -> tuple[pd.Series, bool]:
    if int(counts.sum()) <= expand_limit:
        return values.repeat(counts.to_numpy()).reset_index(drop=True), True
    return values.reset_index(drop=True), False


def _category_sample(values: pd.Series, counts: pd.Series, expand_limit: int) -> pd.Series:
    """The distinct raw values of a category column, repeated so that the parser sees
    the same order of spelling frequencies within each case-folded group as on the
    whole column (all that the choice of the canonical spelling reads): every value
    as often as it occurs up to 100,000 rows (or ``expand_limit``), else each
    trimmed spelling weighted by the dense rank of its count within its group."""
    if int(counts.sum()) <= min(expand_limit, 100_000):
        return values.repeat(counts.to_numpy()).reset_index(drop=True)
    text, _ = _repairs.text_values(values.astype("string"))
    spelling = text.str.replace(r"\s+", " ", regex=True).fillna("\x00na")
    per = pd.DataFrame({"v": values.to_numpy(), "s": spelling.to_numpy(), "n": counts.to_numpy()})
    tot = per.groupby("s")["n"].sum()
    rank = tot.groupby(tot.index.str.casefold()).rank(method="dense").astype(int)
    width = int(per.groupby("s").size().max())
    out = []
    for s_, grp in per.groupby("s", sort=False):
        reps = np.ones(len(grp), dtype=int)
        reps[0] += int(rank[s_]) * width - len(grp)
        out.append(grp["v"].repeat(reps))
    return pd.concat(out).reset_index(drop=True)


def _edge(x: str) -> str:
    """SQL: the text ``x`` has an edge space (``trim()`` only strips spaces)."""
    return f"(starts_with({x}, ' ') OR ends_with({x}, ' '))"


def _short(x: str) -> str:
    """SQL: ``x`` is at most 5 characters or has an edge space: the only values a missing
    marker or a trim can concern."""
    return f"(strlen({x}) <= 5 OR {_edge(x)})"


def _fast_path(name: str, col: contract.Column | None, native: str, opts: dict) -> dict:
    """SQL for one column over the raw columns: the fast-path value of canonical forms
    (``fast``), and whether the value is missing. A canonical value is matched on the
    raw text first (its pattern starts and ends with a digit or sign, so no value with an
    edge space matches): the edge test (:func:`_edge`) and the trim are only computed
    for the few values that do not match, and the missing-marker test only where the
    fast path gave no value."""
    qn = _q(name)
    is_text = native.upper().startswith("VARCHAR")
    dtype = col.dtype if col is not None else "extra"
    is_cat = col is not None and (col.dtype == "category" or name in CATEGORY_COLUMNS)
    info = {"name": name, "note": "", "sql_type": _sql_type(dtype), "is_text": is_text,
            "dtype": dtype, "is_cat": is_cat, "fast": None}
    if is_text:
        e, s5 = _edge(qn), _short(qn)
        # a missing marker is at most 5 characters once trimmed: test the rest cheaply
        info["is_na"] = (f"({qn} IS NULL OR CASE WHEN {s5} THEN lower(trim({qn})) IN "
                         f"({_na_list()}) ELSE false END)")
    else:
        info["is_na"] = f"({qn} IS NULL)"
    nat = native.upper()
    cond = None  # text: (condition, cast) of a canonical value, templates on the text
    if dtype in ("date", "datetime"):
        # open-end sentinels (rules.sentinel_dates) and dates pandas cannot hold go to the
        # rule set
        sent = (sorted(f"{y:04d}-{m:02d}-{d:02d}" for y, m, d in
                       _rules.sentinel_dates(opts.get("open_end_dates"))) if col.open_end else [])
        if not is_text and ("TIMESTAMP" in nat or nat == "DATE"):
            day = f"strftime(CAST({qn} AS TIMESTAMP), '%Y-%m-%d')"
            keep = (f"CAST({qn} AS TIMESTAMP) BETWEEN TIMESTAMP '1678-01-01' "
                    f"AND TIMESTAMP '2261-12-31'")
            if sent:
                keep += f" AND {day} NOT IN ({', '.join(_lit(x) for x in sent)})"
            info["fast"] = f"CASE WHEN {keep} THEN CAST({qn} AS TIMESTAMP) END"
        elif is_text:
            sl = ", ".join(_lit(x) for x in sent)

            def cond(t: str) -> str:
                # (the pattern fixes the length and the dashes: no cheaper pre-test pays off)
                no_sent = f" AND substr({t}, 1, 10) NOT IN ({sl})" if sent else ""
                return f"regexp_full_match({t}, {_lit(_ISO_RE)}){no_sent}"

            def cast(t: str) -> str:
                return f"TRY_CAST({t} AS TIMESTAMP)"
    elif dtype in ("float", "int") and (_column_option(opts.get("decimal"), name) or "auto") \
            in ("auto", "."):
        numeric = nat in ("DOUBLE", "FLOAT", "BIGINT", "INTEGER", "SMALLINT", "HUGEINT") \
            or nat.startswith("DECIMAL")
        if not is_text and numeric:
            info["fast"] = f"CAST({qn} AS DOUBLE)" if dtype == "float" else \
                f"CASE WHEN CAST({qn} AS DOUBLE) = round(CAST({qn} AS DOUBLE)) " \
                f"THEN CAST({qn} AS BIGINT) END"
        elif is_text:
            # plain numbers; the rule set's 'ambiguous' ones (1.500) wait for the column's
            # decimal decision (they end in a mark and three digits: tested first)
            rx = _NUM_RE if dtype == "float" else _INT_RE
            amb = _rules.DECIMAL_PATTERNS["ambiguous"]
            st = _sql_type(dtype)

            def cond(t: str) -> str:
                # (the pattern allows no comma, and an integer no point: after it only a
                # point and three digits can be ambiguous, and no integer is)
                if dtype == "int":
                    return f"regexp_full_match({t}, {_lit(rx)})"
                return (f"regexp_full_match({t}, {_lit(rx)}) AND CASE WHEN "
                        f"{t} LIKE '%.___' THEN NOT regexp_matches("
                        f"{t}, {_lit(amb)}) ELSE TRUE END")

            def cast(t: str) -> str:
                return f"TRY_CAST({t} AS {st})"
            info["point_evidence"] = True
    elif dtype == "str" and not is_cat and is_text:
        info["ident"] = True  # trimmed in place, where it can act (_fix_identifier)
    if cond is not None:  # the trimmed text only where there is an edge space
        tq = f"trim({qn})"
        info["fast"] = (f"CASE WHEN {cond(qn)} THEN {cast(qn)} WHEN {e} THEN CASE WHEN "
                        f"{cond(tq)} THEN {cast(tq)} END END")
    return info


def _rule_set_map(con, info: dict, col: contract.Column | None, opts: dict, table: str,
                  file: Path, expand_limit: int) -> None:
    """Parse the values the fast path does not decide with the rule set; store the
    mapping raw value -> typed value, failures and repairs as table ``map_<k>``."""
    name = info["name"]
    slow = info.pop("slow")
    if not len(slow):
        return
    vals = slow["v"]
    if info["is_cat"]:
        series, expanded = _category_sample(vals, slow["n"], expand_limit), True
    else:
        series, expanded = _weighted(vals, slow["n"], expand_limit)
    if info.get("point_evidence"):
        # the decimal mark is decided from all values of the column (rules.decide_decimal,
        # from the presence of evidence): the fast path's values with a decimal point are
        # evidence too, so one of them joins the values the parser sees
        one = con.execute(f"SELECT {_q(name)} FROM pre WHERE {_q('ok__' + name)} AND NOT "
                          f"{_q('na__' + name)} AND contains({_q(name)}, '.') LIMIT 1").fetchall()
        if one:
            series = pd.concat([series, pd.Series([one[0][0]], dtype=series.dtype)],
                               ignore_index=True)
    p = _parse_column(name, col, series, opts, table, file)
    if p.note and "(auto" in p.note and not expanded:
        raise DataContractError(
            f"more than {expand_limit:,} values need the date-order decision", file=file,
            table=table, column=name, rule="an automatic date order reads every value",
            hint="Set source_options date_order='dmy' or 'mdy' for this table.")
    info["note"] = p.note
    m = pd.DataFrame({"v": series.astype(object), "typed": p.values.to_numpy()})
    m["f_unparseable"] = p.failed
    if p.not_integer is not None:
        m["f_not_integer"] = p.not_integer
    for kind, mk in p.repairs.items():
        m[f"r_{kind}"] = mk
    mapping = m.drop_duplicates("v").reset_index(drop=True)
    dtype = info["dtype"]
    if dtype in ("date", "datetime"):
        mapping["typed"] = pd.to_datetime(mapping["typed"]).astype("datetime64[us]")
    elif dtype in ("float", "int"):
        mapping["typed"] = pd.to_numeric(mapping["typed"]).astype("float64")
    elif dtype == "bool":
        mapping["typed"] = mapping["typed"].astype("boolean")
    else:
        mapping["typed"] = mapping["typed"].astype(object).where(mapping["typed"].notna(), None)
    mapping["v"] = mapping["v"].astype(object)
    mname = f"map_{len(con.execute('SHOW TABLES').fetchall())}"
    con.register(mname + "_df", mapping)
    con.execute(f"CREATE TABLE {mname} AS SELECT * FROM {mname}_df")
    con.unregister(mname + "_df")
    info["map"] = mname
    info["map_cols"] = [c for c in mapping.columns if c not in ("v", "typed")]
    info["mapping"] = mapping if len(mapping) <= _CASE_MAP_MAX else None


def _typed_table(con, raw: RawTable, table: str, opts: dict, expand_limit: int) -> list[dict]:
    """Table ``pre_t``: ``__row``, every column typed, the fast path's repair flags.

    The fast path (trims, missing markers, canonical forms) is evaluated once, in one
    scan of the source, into table ``pre_t``: per column the decided value, the raw
    value where the rule set must decide (``s__``, else NULL) and the repair flags.
    Category columns are mapped inside that scan (a ``CASE`` over their few distinct
    spellings, to an ENUM of their values), so the scan is a projection of the source
    and ``pre_t`` keeps the file order. Identifiers keep their raw text in the scan; the
    few values a trim or a missing marker can change are fixed in place afterwards
    (:func:`_fix_identifier`). The rule set's values of the rare rows the fast path leaves are
    written into ``pre_t`` (an ``UPDATE`` of those rows); their failure and repair
    flags stay in small tables ``fix_<k>`` keyed by row (views ``typed`` and
    ``typed0``, :func:`_typed_views`). Returns the column infos; ``infos[0]
    ["ordered"]`` says whether ``pre_t`` is in file order."""
    t = contract.CONTRACT[table]
    contract_cols = {c.name: c for c in t.columns}
    natives = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                               "WHERE table_name = 'raw'").fetchall())  # tables and views
    infos = [_fast_path(c, contract_cols.get(c), natives[c], opts)
             for c in raw.frame.columns]
    fasts, nas = [], []
    for i in infos:
        n = i["name"]
        if i["fast"] is not None:
            fasts.append(f"{i['fast']} AS {_q('f__' + n)}")
            # a value the fast path typed is no missing marker (none is a date or number)
            nas.append(f"CASE WHEN {_q('f__' + n)} IS NOT NULL THEN FALSE ELSE {i['is_na']} "
                       f"END AS {_q('na__' + n)}")
            ok = f"({_q('na__' + n)} OR {_q('f__' + n)} IS NOT NULL)" if i["is_text"] else "TRUE"
        else:
            nas.append(f"{i['is_na']} AS {_q('na__' + n)}")
            ok = f"{_q(n)} IS NULL" if not i.get("ident") else "TRUE"
        i["ok"] = ok
    con.execute(f"CREATE VIEW pre1 AS SELECT *{''.join(', ' + x for x in fasts)} FROM raw")
    con.execute(f"CREATE VIEW pre2 AS SELECT *, {', '.join(nas)} FROM pre1")
    oks = ", ".join(f"{i['ok']} AS {_q('ok__' + i['name'])}" for i in infos)
    con.execute(f"CREATE VIEW pre AS SELECT *, {oks} FROM pre2")
    ruled = [i for i in infos if not i.get("ident")]
    every = [i for i in ruled if i["fast"] is None]  # every non-missing value is the rule set's
    for i in every:  # their values (few: categories) before the scan, so it maps them
        vals = con.execute(f"SELECT {_q(i['name'])} AS v, count(*) AS n FROM raw "
                           f"WHERE {_q(i['name'])} IS NOT NULL GROUP BY ALL").df()
        _slow_and_map(con, i, vals, contract_cols, opts, table, raw.file, expand_limit)
    # one scan: what every later step needs, compact (the raw value only where the rule
    # set decides a value the fast path leaves; flag columns only where a flag can be set)
    keep, joins, ordered = ["pre.__row"], [], True
    for k, i in enumerate(infos):
        n = i["name"]
        qn, na, tq = "pre." + _q(n), "pre." + _q("na__" + n), f"trim(pre.{_q(n)})"
        i["fail_cols"], i["fail_src"], i["pre_flags"], i["fix_flags"] = {}, {}, {}, {}
        if i.get("ident"):  # identifiers: the raw text here, the few to trim fixed below
            keep.append(f"{qn} AS {_q(n)}")
            continue
        if i["fast"] is None:
            if "map" in i and i.get("mapping") is not None and i["is_text"] \
                    and i["sql_type"] in ("VARCHAR", "BOOLEAN"):
                keep += _case_map(i, qn)
            elif "map" in i:  # many distinct values: a join (the file order is then sorted)
                m = f"m{k}"
                joins.append(f"LEFT JOIN {i['map']} {m} ON {qn} = {m}.v")
                keep.append(f"CAST({m}.typed AS {i['sql_type']}) AS {_q(n)}")
                for c in i["map_cols"]:
                    alias = f"{c}__{n}"
                    keep.append(f"COALESCE({m}.{c}, FALSE) AS {_q(alias)}")
                    _note_flag(i, c, alias, ("pre",))
                ordered = False
            else:  # no value: all missing
                keep.append(f"CAST({qn} AS {i['sql_type']}) AS {_q(n)}")
            continue
        keep.append(f"CAST(pre.{_q('f__' + n)} AS {i['sql_type']}) AS {_q(n)}")
        keep.append(f"CASE WHEN NOT pre.{_q('ok__' + n)} THEN {qn} END AS {_q('s__' + n)}")
        if i["is_text"]:  # markers the fast path set missing
            alias = f"r_missing_marker_fast__{n}"
            keep.append(f"CASE WHEN {na} AND {qn} IS NOT NULL THEN {tq} <> '' ELSE FALSE END "
                        f"AS {_q(alias)}")
            i["pre_flags"].setdefault("missing_marker", []).append(alias)
    keep.append("FALSE AS __drop")  # set for the dropped rows (few) before the clean write
    infos[0]["ordered"] = ordered
    con.execute("SET preserve_insertion_order = true")  # pre_t in file order (a projection)
    con.execute(f"CREATE TABLE pre_t AS SELECT {', '.join(keep)} FROM pre {' '.join(joins)}")
    con.execute("SET preserve_insertion_order = false")
    for k, i in enumerate(infos):
        if i.get("ident"):
            _fix_identifier(con, i, f"idfix_{k}")
    rare = [i for i in ruled if i["fast"] is not None]
    if rare:  # the values the fast path leaves (rare), with counts, in one scan
        names = ", ".join(_q("s__" + i["name"]) for i in rare)
        any_slow = " OR ".join(f"{_q('s__' + i['name'])} IS NOT NULL" for i in rare)
        allv = con.execute(f"""SELECT {names}, count(*) AS n FROM pre_t WHERE {any_slow}
                               GROUP BY ALL""").df()
        for i in rare:
            col = "s__" + i["name"]
            part = allv[allv[col].notna()][[col, "n"]].rename(columns={col: "v"})
            _slow_and_map(con, i, part, contract_cols, opts, table, raw.file, expand_limit)
    for k, i in enumerate(infos):
        n = i["name"]
        if i.get("ident") or i["fast"] is None or "map" not in i:
            continue
        fix = i["fix"] = f"fix_{k}"
        con.execute(f"""CREATE TABLE {fix} AS SELECT pre_t.__row, mp.* EXCLUDE (v)
                        FROM pre_t JOIN {i['map']} mp ON pre_t.{_q('s__' + n)} = mp.v""")
        # the rule set's values into the scan's table (the rows the fast path left)
        con.execute(f"""UPDATE pre_t SET {_q(n)} = CAST(x.typed AS {i['sql_type']})
                        FROM {fix} x WHERE pre_t.__row = x.__row AND x.typed IS NOT NULL""")
        for c in i["map_cols"]:
            _note_flag(i, c, f"{c}__{n}", ("fix", fix, c))
    return infos


def _fix_identifier(con, info: dict, fix: str) -> None:
    """Trim an identifier column of ``pre_t`` and set its missing markers to NULL: only
    values of at most 5 characters or with an edge space can change (:func:`_short`), so
    those rows (few) get their value and repair flags in table ``fix`` (counted by
    :func:`_repair_counts`) and are updated in place; every other row keeps its text,
    with no test but the short one."""
    qn, tq = _q(info["name"]), f"trim({_q(info['name'])})"
    na = f"lower({tq}) IN ({_na_list()})"
    con.execute(f"""CREATE TABLE {fix} AS SELECT __row, CASE WHEN {na} THEN NULL ELSE {tq} END
                    AS v, ({na} AND {tq} <> '') AS r_missing_marker,
                    ({_edge(qn)} AND NOT {na} AND {tq} <> {qn}) AS r_trimmed
                    FROM pre_t WHERE {_short(qn)}""")
    con.execute(f"""UPDATE pre_t SET {qn} = x.v FROM {fix} x WHERE pre_t.__row = x.__row
                    AND x.v IS DISTINCT FROM pre_t.{qn}""")
    for kind in ("missing_marker", "trimmed"):
        info["fix_flags"].setdefault(kind, []).append((fix, f"r_{kind}"))


#: Up to this many quarantined rows of a Parquet file are read back by their positions.
_QUARANTINE_BY_POSITION = 50_000

_CASE_MAP_MAX = 16  # category maps up to this many spellings are a CASE inside the scan


def _is_null(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))


def _sql_value(v, sql_type: str) -> str:
    if _is_null(v):
        return f"CAST(NULL AS {sql_type})"
    if sql_type == "BOOLEAN":
        return "TRUE" if bool(v) else "FALSE"
    return _lit(v)


def _case_map(info: dict, qn: str) -> list[str]:
    """The value and flags of a small map table as ``CASE`` expressions on the raw value
    (the same result as the join on it: values not in the map give NULL and no flag)."""
    mp, n, st = info["mapping"], info["name"], info["sql_type"]
    # text values as an ENUM of the map's values: one byte a row in pre_t, and the
    # Parquet writer takes its dictionary instead of hashing every string (the clean
    # file's column is the same String column; comparisons with text read the text)
    values = sorted({str(tv) for tv in mp["typed"] if not _is_null(tv)}) if st == "VARCHAR" \
        else []
    enum = f"ENUM({', '.join(_lit(v) for v in values)})" if values else None
    info["enum"] = enum is not None

    def then(tv) -> str:
        return _sql_value(tv, st) if enum is None or _is_null(tv) else \
            f"CAST({_lit(str(tv))} AS {enum})"

    whens = " ".join(f"WHEN {_lit(v)} THEN {then(tv)}"
                     for v, tv in zip(mp["v"], mp["typed"], strict=True))
    out = [f"CAST(CASE {qn} {whens} END AS {enum or st}) AS {_q(n)}" if len(mp) else
           f"CAST(NULL AS {st}) AS {_q(n)}"]
    for c in info["map_cols"]:
        alias = f"{c}__{n}"
        hit = [v for v, f in zip(mp["v"], mp[c], strict=True) if bool(f)]
        if hit:
            out.append(f"COALESCE({qn} IN ({', '.join(_lit(v) for v in hit)}), FALSE) "
                       f"AS {_q(alias)}")
            _note_flag(info, c, alias, ("pre",))
        else:
            _note_flag(info, c, alias, ("const",))
    return out


def _note_flag(info: dict, c: str, alias: str, src: tuple) -> None:
    """Record a map column's flag: failures (``f_``) are quarantine reasons read through
    the views (``src``: a ``pre_t`` column, a constant FALSE, or a ``fix_<k>`` column);
    repairs (``r_``) are only counted."""
    if c.startswith("f_"):
        info["fail_cols"][c[2:]] = alias
        info["fail_src"][alias] = src
    elif src[0] == "pre":
        info["pre_flags"].setdefault(c[2:], []).append(alias)
    elif src[0] == "fix":
        info["fix_flags"].setdefault(c[2:], []).append((src[1], src[2]))


def _typed_views(con, infos: list[dict], base: str = "pre_t", name: str = "typed") -> None:
    """Views over ``pre_t`` with every failure flag as a column: ``typed`` (the rule
    set's flags of the rare rows joined from ``fix_<k>``) and ``typed0`` (those flags
    FALSE: exact for every row not in a ``fix_<k>`` table, and one scan of ``pre_t``)."""
    full, zero, joins = [], [], {}
    for i in infos:
        for alias, src in i["fail_src"].items():
            if src[0] == "pre":
                continue  # a column of pre_t
            zero.append(f"FALSE AS {_q(alias)}")
            if src[0] == "const":
                full.append(f"FALSE AS {_q(alias)}")
            else:
                m = joins.setdefault(src[1], f"x{len(joins)}")
                full.append(f"COALESCE({m}.{_q(src[2])}, FALSE) AS {_q(alias)}")
    extra = "".join(", " + x for x in full)
    join = " ".join(f"LEFT JOIN {t} {m} ON b.__row = {m}.__row" for t, m in joins.items())
    con.execute(f"CREATE VIEW {name} AS SELECT b.*{extra} FROM {base} b {join}")
    if base == "pre_t":
        con.execute(f"CREATE VIEW {name}0 AS SELECT b.*{''.join(', ' + x for x in zero)} "
                    f"FROM pre_t b")
    infos[0]["fix_tables"] = list(joins)
    infos[0]["zero_aliases"] = [x.split(" AS ")[-1].strip('"') for x in zero]


def _slow_and_map(con, info: dict, vals: pd.DataFrame, contract_cols: dict, opts: dict,
                  table: str, file: Path, expand_limit: int) -> None:
    """The distinct values (sorted) and counts the rule set parses; their map table."""
    part = vals.groupby("v", sort=True)["n"].sum()
    info["slow"] = pd.DataFrame({"v": pd.Series(part.index, dtype=object).to_numpy(),
                                 "n": part.to_numpy()})
    _rule_set_map(con, info, contract_cols.get(info["name"]), opts, table, file, expand_limit)


# ----------------------------------------------------------------------------- rules

def _contract_conditions(table: str, infos: list[dict]) -> list[tuple[str, str]]:
    """(reason, SQL condition) of the pandera contract checks, in pandera's report
    order (sorted by column and check)."""
    t = contract.CONTRACT[table]
    present = {i["name"]: i for i in infos}
    out = []
    for c in t.columns:
        if c.name not in present:
            if c.required:
                continue
            continue
        qn = _q(c.name)
        fails = list(present[c.name]["fail_cols"].values())
        unparsed = " OR ".join(_q(f) for f in fails) if fails else "FALSE"
        checks = []
        if not c.nullable:
            checks.append(("not_nullable", f"({qn} IS NULL AND NOT ({unparsed}))"))
        for ch in c.checks:
            st = getattr(ch, "statistics", {}) or {}
            nm = ch.name
            if nm == "greater_than_or_equal_to":
                checks.append((nm, f"({qn} < {st['min_value']})"))
            elif nm == "in_range":
                checks.append((nm, f"({qn} < {st['min_value']} OR {qn} > {st['max_value']})"))
        if c.isin is not None:
            vals = ", ".join(_lit(v) for v in c.isin)
            checks.append(("isin", f"({qn} IS NOT NULL AND {qn} NOT IN ({vals}))"))
        for check, cond in checks:
            out.append((c.name, check, f"{_validation._reason_for(check)}:{c.name}", cond))
    out.sort(key=lambda x: (x[0], x[1]))
    return [(r, cond) for _, _, r, cond in out]


def _impossible_conditions(table: str, infos: list[dict], as_of) -> list[tuple[str, str]]:
    """Dates after ``as_of`` and the cross-column rules of
    :func:`~.validation.impossible_values`."""
    t = contract.CONTRACT[table]
    names = {i["name"] for i in infos}
    out = []
    if as_of is not None:
        limit = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
        for c in t.columns:
            if c.dtype in ("date", "datetime") and c.name in names:
                out.append((f"future_date:{c.name}",
                            f"COALESCE({_q(c.name)} >= TIMESTAMP {_lit(limit)}, FALSE)"))
    if table == "interactions" and "resolved_at" in names:
        out.append(("resolved_before_opened", "COALESCE(resolved_at < opened_at, FALSE)"))
    if table == "customers" and {"signup_date", "end_date"} <= names:
        out.append(("signup_after_end", "COALESCE(signup_date > end_date, FALSE)"))
    return out


def _ids_table(con, name: str, ids) -> bool:
    if ids is None:
        return False
    if isinstance(ids, (str, Path)):
        con.execute(f"CREATE TABLE {name} AS SELECT DISTINCT CAST(customer_id AS VARCHAR) "
                    f"AS customer_id FROM read_parquet({_lit(str(ids))})")
    else:
        con.register(f"{name}_df", pd.DataFrame({"customer_id": pd.Index(ids).astype(str)}))
        con.execute(f"CREATE TABLE {name} AS SELECT DISTINCT customer_id FROM {name}_df")
        con.unregister(f"{name}_df")
    return True


# ----------------------------------------------------------------------------- main

class CleanedEvents:
    """An event table cleaned by :func:`cleaned_events`, with its DuckDB session open:
    ``report`` (as :func:`clean_large_table` returns it), ``table`` (an Ibis table of
    the clean rows with the contract's types, the content of the clean Parquet file,
    held by the cleaning's DuckDB session) and ``backend`` (the Ibis backend of that
    session, for further expressions; made on first use, so a caller that only needs
    the files does not import Ibis)."""

    def __init__(self, report: dict, connection) -> None:
        self.report, self.connection, self._backend = report, connection, None

    @property
    def backend(self):
        if self._backend is None:
            import ibis

            self._backend = ibis.duckdb.from_connection(self.connection)
        return self._backend

    @property
    def table(self):
        return self.backend.table("clean")


@contextlib.contextmanager
def cleaned_events(path: str | Path, table: str, out_dir: str | Path,
                   quarantine_dir: str | Path, *, as_of=None, customer_ids=None,
                   quarantined_customer_ids=None, options: dict | None = None,
                   memory_limit: str = "8GB", temp_directory: str | Path | None = None,
                   threads: int | None = None, expand_limit: int = 2_000_000
                   ) -> Iterator[CleanedEvents]:
    """Clean the event table in ``path`` out of core (module docstring), then keep its
    DuckDB session open for the summaries: yields :class:`CleanedEvents`.

    Writes the same files as :func:`clean_large_table` (the clean Parquet file, the
    quarantine CSV, the outlier flags) before it yields; ``CleanedEvents.table`` is
    the clean rows in the session's work table, already typed, so the per-customer
    summaries (``value.rfm_summary``, ``churn.definition.transaction_features``,
    ``inactivity_churn``... given that Ibis table) run in the same session without
    reading the clean file back. The session (memory limit, spill folder, threads)
    and its work files end with the ``with`` block::

        with cleaned_events(path, "transactions", out, q, as_of=as_of,
                            customer_ids=ids) as c:
            summary = rfm_summary(c.table, calibration_end=cal, observation_end=as_of)
    """
    t0 = time.perf_counter()
    if table not in EVENT_TABLES:
        raise DataContractError(f"'{table}' is not an event table", table=table,
                                rule="out-of-core cleaning is for " + ", ".join(EVENT_TABLES))
    path, out_dir, qdir = Path(path), Path(out_dir), Path(quarantine_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    qdir.mkdir(parents=True, exist_ok=True)
    opts = {k: _per_table(v, table) if k not in ("column_map", "value_map") else v
            for k, v in (options or {}).items()}
    work = Path(tempfile.mkdtemp(prefix="crm-ooc-", dir=temp_directory))
    con = duckdb.connect()  # in memory; spills to ``temp_directory`` past the limit
    try:
        con.execute(f"SET memory_limit = {_lit(memory_limit)}")
        con.execute(f"SET temp_directory = {_lit(str(work / 'spill'))}")
        con.execute("SET preserve_insertion_order = true")  # CSV rows numbered in file order
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        raw, n = _load(con, path, table, opts, work)
        # from here every output is sorted explicitly by row number: the engine may reorder
        con.execute("SET preserve_insertion_order = false")
        _validation.check_required(raw.frame, table, path)
        infos = _typed_table(con, raw, table, opts, expand_limit)
        rep = _rules_and_outputs(con, raw, table, infos, n, as_of=as_of,
                                 customer_ids=customer_ids,
                                 quarantined_ids=quarantined_customer_ids,
                                 out_dir=out_dir, qdir=qdir, opts=opts)
        rep["seconds"] = round(time.perf_counter() - t0, 3)
        yield CleanedEvents(rep, con)
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)


def clean_large_table(path: str | Path, table: str, out_dir: str | Path,
                      quarantine_dir: str | Path, **kwargs) -> dict:
    """Clean the event table in ``path`` out of core (module docstring).

    Writes ``<out_dir>/<table>.parquet`` (contract types, rows in file order),
    ``<quarantine_dir>/<table>.csv`` when rows are quarantined and
    ``<out_dir>/<table>_outlier_flags.csv``; returns the table's report
    (rows_in, rows_clean, rows_quarantined, rows_duplicate_dropped,
    quarantine_reasons, repairs, notes, outliers, seconds). ``customer_ids`` are
    the clean customers (an Index/list or a Parquet file with ``customer_id``).
    Keyword arguments: those of :func:`cleaned_events` (``as_of``, ``customer_ids``,
    ``quarantined_customer_ids``, ``options``, ``memory_limit``, ``temp_directory``,
    ``threads``, ``expand_limit``); this is it without the open session.
    """
    with cleaned_events(path, table, out_dir, quarantine_dir, **kwargs) as c:
        return c.report


def _rules_and_outputs(con, raw: RawTable, table: str, infos: list[dict], n: int, *, as_of,
                       customer_ids, quarantined_ids, out_dir: Path, qdir: Path,
                       opts: dict) -> dict:
    t = contract.CONTRACT[table]
    keys = [k for k in _validation.KEYS[table] if k in raw.frame.columns]
    reasons: list[tuple[str, str]] = []  # (reason, SQL condition), in the pandas order
    unparsed_any = []
    for info in infos:
        for prefix, col in info["fail_cols"].items():
            reasons.append((f"{prefix}:{info['name']}", _q(col)))
            unparsed_any.append(_q(col))
    any_unparsed = " OR ".join(unparsed_any) if unparsed_any else "FALSE"
    cols = [_q(i["name"]) for i in infos]
    kq = ", ".join(_q(k) for k in keys)
    _typed_views(con, infos)
    dup_reason = (f"conflicting_duplicate:{'+'.join(_validation.KEYS[table])}",
                  "__row IN (SELECT __row FROM conflict)")
    row_reasons = _contract_conditions(table, infos) + _impossible_conditions(table, infos, as_of)
    has_ids = _ids_table(con, "known_ids", customer_ids)
    if has_ids and "customer_id" in t.references and "customer_id" in raw.frame.columns:
        bad = ("customer_id IS NOT NULL AND customer_id NOT IN "
               "(SELECT customer_id FROM known_ids)")
        if _ids_table(con, "q_ids", quarantined_ids):
            q = "customer_id IN (SELECT customer_id FROM q_ids)"
            row_reasons.append(("customer_quarantined:customer_id", f"({bad} AND {q})"))
            row_reasons.append(("orphan:customer_id", f"({bad} AND NOT ({q}))"))
        else:
            row_reasons.append(("orphan:customer_id", f"({bad})"))
    # duplicates (validation.duplicates): exact among parsed rows whose key repeats
    con.execute(f"CREATE TABLE dupkeys AS SELECT {kq} FROM pre_t GROUP BY ALL "
                f"HAVING count(*) > 1")
    # one scan of pre_t for every row a later rule reads (few): the rows of a repeated
    # key, the rows failing a rule on typed0 (exact for every row without a rule-set
    # flag) and the rows with a rule-set value (in a fix_<k> table)
    any0 = " OR ".join(f"COALESCE({cond}, FALSE)" for _r, cond in reasons + row_reasons)
    any0 = any0 or "FALSE"
    # (a row is in a fix_<k> table when the rule set decides its value: s__ is set)
    fixes = "".join(f" OR {_q('s__' + i['name'])} IS NOT NULL" for i in infos
                    if "fix" in i)
    zero = infos[0]["zero_aliases"]
    excl = f" EXCLUDE ({', '.join(_q(a) for a in zero)})" if zero else ""
    knn = " AND ".join(f"{_q(k)} IS NOT NULL" for k in keys)
    con.execute(f"""CREATE TABLE sus AS SELECT *{excl} FROM typed0 WHERE ({any0}{fixes}
                    OR (({knn}) AND ({kq}) IN (SELECT ({kq}) FROM dupkeys)))""")
    con.execute(f"CREATE TABLE dupc AS SELECT sus.* FROM sus SEMI JOIN dupkeys USING ({kq})")
    _typed_views(con, infos, base="dupc", name="typed_d")
    con.execute(f"""CREATE TABLE exact AS SELECT __row FROM (
        SELECT __row, row_number() OVER (PARTITION BY {', '.join(cols)} ORDER BY __row) AS k
        FROM typed_d WHERE NOT ({any_unparsed})) WHERE k > 1""")
    con.execute(f"""CREATE TABLE conflict AS SELECT __row FROM (
        SELECT __row, count(*) OVER (PARTITION BY {', '.join(_q(k) for k in keys)}) AS c
        FROM dupc WHERE __row NOT IN (SELECT __row FROM exact) AND {knn}) WHERE c > 1""")
    reasons += [dup_reason] + row_reasons
    flags = ", ".join(f"COALESCE({cond}, FALSE) AS {_q('q' + str(k))}"
                      for k, (_r, cond) in enumerate(reasons))
    qcols = [_q("q" + str(k)) for k in range(len(reasons))]
    anyq = " OR ".join(qcols) if qcols else "FALSE"
    # the quarantined rows and their reasons: the candidates with their flags (typed)
    con.execute("CREATE TABLE cand AS SELECT * FROM sus WHERE __row NOT IN "
                "(SELECT __row FROM exact)")
    _typed_views(con, infos, base="cand", name="typed_c")
    con.execute(f"""CREATE TABLE verdict AS SELECT * FROM (
        SELECT __row, {flags} FROM typed_c) WHERE {anyq}""")
    con.execute("CREATE TABLE dropped AS SELECT __row FROM exact UNION ALL "
                "SELECT __row FROM verdict")
    con.execute("UPDATE pre_t SET __drop = TRUE WHERE __row IN (SELECT __row FROM dropped)")
    counts = con.execute(
        "SELECT " + ", ".join([f"count(*) FILTER (WHERE {c})" for c in qcols] + ["count(*)"])
        + " FROM verdict").fetchone()
    n_exact = int(con.execute("SELECT count(*) FROM exact").fetchone()[0])
    n_quar = int(counts[-1])
    reason_counts = {r: int(c) for (r, _), c in zip(reasons, counts[:-1], strict=True) if c}
    n_bad = int(con.execute("SELECT count(*) FROM rejects").fetchone()[0])
    if n_bad:
        reason_counts["malformed_row"] = n_bad
    # quarantine: original values and headers, row, reason
    inverse = {new: orig for new, orig in raw.original_columns.items()}
    def _orig(c: str) -> str:
        o = inverse.get(c, c)
        return "reason (original)" if o == "reason" else o

    orig_sel = ", ".join(f"raw.{_q(c)} AS {_q(_orig(c))}" for c in raw.frame.columns)
    reason_expr = "concat_ws('; ', " + ", ".join(
        f"CASE WHEN v.{c} THEN {_lit(r)} END" for c, (r, _) in zip(qcols, reasons, strict=True)
    ) + ")" if qcols else "''"
    qpath = qdir / f"{table}.csv"
    if qpath.exists():
        qpath.unlink()
    if n_quar or n_bad:
        bad_sel = ", ".join(["NULL AS row"] + [f"NULL AS {_q(_orig(c))}"
                                               for c in raw.frame.columns]
                            + ["'malformed_row' AS reason", "csv_line AS raw_line"])
        raw_line = ", NULL AS raw_line" if n_bad else ""
        rej = (f" UNION ALL SELECT {bad_sel}, 1 AS __k FROM rejects" if n_bad else "")
        src = "raw"
        if (n_quar and n_quar <= _QUARANTINE_BY_POSITION and raw.format == "parquet"
                and not raw.file.is_dir()):  # one Parquet file: view raw_rn of _load
            # only the quarantined rows' positions are read in full
            pos = ", ".join(str(int(r) - 1) for (r,) in
                            con.execute("SELECT __row FROM verdict ORDER BY 1").fetchall())
            src = (f"(SELECT file_row_number + 1 AS __row, * EXCLUDE (file_row_number) "
                   f"FROM raw_rn WHERE file_row_number IN ({pos})) raw")
        con.execute(f"""COPY (SELECT * EXCLUDE (__k) FROM (
            SELECT raw.__row AS row, {orig_sel}, {reason_expr} AS reason{raw_line}, 0 AS __k
            FROM {src} JOIN verdict v USING (__row){rej})
            ORDER BY __k, row) TO {_lit(str(qpath))} (HEADER, DELIMITER ',')""")
    # clean rows with the contract's types
    contract_names = [c.name for c in t.columns]
    enums = {i["name"] for i in infos if i.get("enum")}  # written as text (no cast a row)
    sel = []
    for c in t.columns:
        if c.name in enums:
            sel.append(_q(c.name))
        elif c.name in raw.frame.columns:
            sel.append(f"CAST({_q(c.name)} AS {_sql_type(c.dtype)}) AS {_q(c.name)}")
        else:
            sel.append(f"CAST(NULL AS {_sql_type(c.dtype)}) AS {_q(c.name)}")
    sel += [_q(c) for c in raw.frame.columns if c not in contract_names]
    cpath = out_dir / f"{table}.parquet"
    # file order: pre_t is in file order (a projection of the source, the dropped rows
    # only flagged), so a filtered scan keeps it; after a join it is sorted explicitly
    # (DuckDB's joins do not keep the insertion order on more than one thread)
    order = "" if infos[0]["ordered"] else " ORDER BY __row"
    con.execute("SET preserve_insertion_order = true")
    # view ``clean``: the clean rows with the contract's types (the file's content; the
    # summaries of cleaned_events read it in this session)
    con.execute(f"CREATE VIEW clean AS SELECT {', '.join(sel)} FROM pre_t WHERE NOT __drop")
    # dictionary encoding up to 4096 values a row group (categories; the ENUM columns
    # always): the writer's default tries dictionaries of many more values on identifiers,
    # dates and amounts and drops them (about a quarter of the write's CPU at 1e7 rows)
    con.execute(f"""COPY (SELECT {', '.join(sel)} FROM pre_t WHERE NOT __drop{order})
                    TO {_lit(str(cpath))} (FORMAT parquet, DICTIONARY_SIZE_LIMIT 4096)""")
    con.execute("SET preserve_insertion_order = false")
    n_clean = n - n_exact - n_quar
    outl = _outlier_flags(con, table, keys, float(opts.get("outlier_k") or 3.0),
                          out_dir / f"{table}_outlier_flags.csv", [i["name"] for i in infos])
    repairs = _repair_counts(con, infos)
    return {
        "file": str(raw.file), "format": raw.format, "engine": "duckdb",
        "encoding": raw.encoding, "sep": raw.sep, "renamed_columns": raw.renames,
        "rows_in": n + n_bad, "rows_clean": n_clean, "rows_quarantined": n_quar + n_bad,
        "rows_duplicate_dropped": n_exact,
        "conserved": n + n_bad == n_clean + n_quar + n_bad + n_exact,
        "quarantine_reasons": dict(sorted(reason_counts.items(), key=lambda kv: -kv[1])),
        "repairs": repairs, "notes": {i["name"]: i["note"] for i in infos if i["note"]},
        "outliers": outl, "clean_file": str(cpath),
        "quarantine_file": str(qpath) if qpath.exists() else "",
    }


def _repair_counts(con, infos: list[dict]) -> list[dict]:
    """Rows per column and repair kind (the report's ``repairs``, without examples): the
    fast path's flags counted in one scan of ``pre_t``, the rule set's in its ``fix_<k>``
    tables (disjoint rows: a value is decided by one of the two)."""
    items, pre_counts, fix_counts = [], [], []
    for info in infos:
        kinds = list(dict.fromkeys([*info["pre_flags"], *info["fix_flags"]]))
        for kind in kinds:
            items.append((info["name"], kind))
            pre_counts.append(" OR ".join(_q(c) for c in info["pre_flags"].get(kind, [])))
            fix_counts.append(info["fix_flags"].get(kind, []))
    if not items:
        return []
    sel = [f"count(*) FILTER (WHERE {c})" for c in pre_counts if c]
    got = iter(con.execute("SELECT " + ", ".join(sel) + " FROM pre_t").fetchone() if sel else [])
    out = []
    for (c, k), pc, fc in zip(items, pre_counts, fix_counts, strict=True):
        n = int(next(got)) if pc else 0
        for tbl, col in fc:
            n += int(con.execute(f"SELECT count(*) FROM {tbl} WHERE {_q(col)}").fetchone()[0])
        if n:
            out.append({"column": c, "repair": k, "n": n})
    return out


def _outlier_flags(con, table: str, keys: list[str], k: float, path: Path,
                   columns: list[str]) -> dict:
    """Tukey fences (:mod:`.outliers`) on the clean rows (``pre_t`` less the dropped
    rows), computed in DuckDB; flags to CSV with their row of the clean file (the row
    number less the dropped rows before it)."""
    summary = {}
    parts = []
    for col, scale in _outliers.OUTLIER_COLUMNS.get(table, {}).items():
        if col not in columns:
            continue
        x = f"CAST({_q(col)} AS DOUBLE)"
        z = f"log10(abs({x}))" if scale == "log" else x
        zf = f"CASE WHEN {x} <> 0 THEN {z} END" if scale == "log" else x
        q1, q3 = con.execute(f"SELECT quantile_cont({zf}, [0.25, 0.75]) FROM pre_t "
                             f"WHERE NOT __drop").fetchone()[0] or (None, None)
        if q1 is None:
            continue
        lo, hi = q1 - k * (q3 - q1), q3 + k * (q3 - q1)
        what = f"log10|{col}|" if scale == "log" else col
        unit = (lambda v: 10 ** v) if scale == "log" else (lambda v: v)
        if lo == hi:
            summary[col] = {"rule": f"Tukey fences not applied: {what} has no spread "
                            "(interquartile range 0)", "scale": scale, "k": k,
                            "low": None, "high": None, "n_flagged": 0}
            continue
        size = f"|{col}|" if scale == "log" else col
        rule = (f"Tukey far-out fences k={k:g} on {what}: {size} outside "
                f"[{unit(lo):.4g}, {unit(hi):.4g}]")
        cond = f"({zf} < {lo!r} OR {zf} > {hi!r})"
        kc = ", ".join(_q(c) for c in keys)
        ft = f"flag_{len(parts)}"
        con.execute(f"CREATE TABLE {ft} AS SELECT __row, {kc}, {x} AS value FROM pre_t "
                    f"WHERE NOT __drop AND {cond}")
        nf = int(con.execute(f"SELECT count(*) FROM {ft}").fetchone()[0])
        summary[col] = {"rule": rule, "scale": scale, "k": k, "low": float(unit(lo)),
                        "high": float(unit(hi)), "n_flagged": nf}
        parts.append(f"SELECT {_lit(table)} AS \"table\", CAST(f.__row - 1 - "
                     f"COALESCE(d.n, 0) AS BIGINT) AS row, {', '.join('f.' + _q(c) for c in keys)}, "
                     f"{_lit(col)} AS \"column\", f.value, {_lit(rule)} AS rule, "
                     f"{len(parts)} AS __k FROM {ft} f ASOF LEFT JOIN dropped_n d "
                     f"ON f.__row > d.__row")
    if parts:  # by column, then by row of the clean file
        con.execute("CREATE TABLE dropped_n AS SELECT __row, row_number() OVER "
                    "(ORDER BY __row) AS n FROM dropped")
        con.execute(f"COPY (SELECT * EXCLUDE (__k) FROM ({' UNION ALL '.join(parts)}) "
                    f"ORDER BY __k, row) TO {_lit(str(path))} (HEADER)")
    return summary


def clean_events(path: str | Path, table: str, out_dir: str | Path, quarantine_dir: str | Path,
                 *, min_rows: int = MIN_ROWS, **kwargs) -> dict:
    """Clean one event table: out of core when the file holds at least ``min_rows``
    rows (Parquet: from its metadata; CSV: estimated from its size), else with the
    pandas pipeline (:func:`~crm_lib.cleaning.pipeline.clean_table`)."""
    p = Path(path)
    if _estimated_rows(p) >= min_rows:
        return clean_large_table(p, table, out_dir, quarantine_dir, **kwargs)
    from .pipeline import Context, clean_table
    from .reading import read_table

    opts = kwargs.get("options") or {}
    raw = read_table(p, table, encoding=_per_table(opts.get("encoding"), table),
                     sep=_per_table(opts.get("sep"), table), column_map=opts.get("column_map"))
    ids = kwargs.get("customer_ids")
    ctx = Context(customer_ids=pd.Index(ids) if ids is not None else None,
                  quarantined_customer_ids=pd.Index(kwargs.get("quarantined_customer_ids") or []))
    res = clean_table(raw, as_of=kwargs.get("as_of"), options=opts, context=ctx)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    res.clean.to_parquet(Path(out_dir) / f"{table}.parquet", index=False)
    if len(res.quarantine):
        Path(quarantine_dir).mkdir(parents=True, exist_ok=True)
        res.quarantine.to_csv(Path(quarantine_dir) / f"{table}.csv", index=False)
    return {**res.report, "engine": "pandas"}


def _estimated_rows(path: Path) -> int:
    if path.is_dir() or path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.dataset as ds

        return ds.dataset(str(path), format="parquet").count_rows()
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        return 0
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    lines = max(head.count(b"\n"), 1)
    return int(path.stat().st_size / (len(head) / lines))


__all__ = ["EVENT_TABLES", "MIN_ROWS", "CleanedEvents", "clean_events", "clean_large_table",
           "cleaned_events"]
_ = np  # numpy is used by callers of the masks
