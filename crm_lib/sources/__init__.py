"""Data sources: where raw tables come from.

A source has a ``name``, a cache ``key`` (folder name under data/raw,
data/processed and data/quarantine), the ``tables`` it provides, an
``as_of`` date, ``cleaning_options`` for the cleaning step, and
``materialise()`` which makes sure its raw files exist and returns their
folder. Sources never modify a user's files.

- ``demo``: the seeded synthetic company (all five tables), see
  :mod:`crm_lib.sources.demo`.
- ``folder``: the user's own files in the contract shape (``data_dir``); its
  ``as_of`` defaults to the data's latest recorded date.
- ``telco`` and ``cdnow``: real public data shipped inside PyPI packages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import config, contract

#: Suffixes of table files, in the order a table's file is looked up (case-insensitive).
TABLE_SUFFIXES = (".csv", ".parquet", ".xlsx", ".tsv", ".txt", ".pq", ".xlsm", ".xls")

#: ``as_of`` values meaning "the source's own analysis date" (folder: the data's latest).
AS_OF_AUTO = ("", "auto", "none", "latest")


def as_of_given(as_of) -> bool:
    """Whether ``as_of`` is an explicit date (not empty/``auto``)."""
    return as_of is not None and str(as_of).strip().casefold() not in AS_OF_AUTO


@dataclass
class DemoSource:
    """The seeded demo company; generated into data/raw/<key>/ on first use."""

    n_customers: int = 20000
    seed: int = 42
    as_of: str = "2026-06-30"
    name: str = "demo"
    tables: tuple[str, ...] = contract.TABLES
    cleaning_options: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"demo-n{self.n_customers}-s{self.seed}-{self.as_of}"

    @property
    def raw_dir(self) -> Path:
        return config.paths().raw / self.key

    @property
    def truth_dir(self) -> Path:
        return config.paths().truth / self.key

    def materialise(self) -> Path:
        if not (self.raw_dir / "_complete").exists():
            from . import demo  # scipy.stats and the generator: only when generating
            demo.write_demo(self.raw_dir, self.truth_dir, demo.DemoParams(
                n_customers=self.n_customers, seed=self.seed, as_of=self.as_of))
        return self.raw_dir


@dataclass
class FolderSource:
    """A user's folder of ``<table>.csv|.parquet|.xlsx`` files (read, never written).

    File names are matched case-insensitively (``Customers.CSV`` holds
    ``customers``). ``requested_as_of`` is the analysis date asked for; when it
    is empty (or ``auto``), :attr:`as_of` is the data's latest recorded date
    (:func:`crm_lib.cleaning.latest_recorded_date`: the latest date of any
    table that is not after today), computed once per version of the files.
    """

    data_dir: str
    requested_as_of: str = ""
    name: str = "folder"
    cleaning_options: dict = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return config.resolve_path(self.data_dir)

    @property
    def key(self) -> str:
        import hashlib
        h = hashlib.sha1(str(self.path).encode()).hexdigest()[:8]
        return f"folder-{self.path.name}-{h}"

    @property
    def tables(self) -> tuple[str, ...]:
        if not self.path.is_dir():
            return ()
        return tuple(t for t in contract.TABLES if find_table_file(self.path, t) is not None)

    @property
    def as_of_from_data(self) -> bool:
        """True when :attr:`as_of` is the data's latest date (no explicit as_of)."""
        return not as_of_given(self.requested_as_of)

    @property
    def as_of(self) -> str:
        """The analysis date (ISO): the explicit one, else the data's latest recorded date."""
        if as_of_given(self.requested_as_of):
            return str(pd.Timestamp(str(self.requested_as_of)).date())
        cached = getattr(self, "_as_of_cache", None)
        if cached is None:
            cached = _latest_date_cached(self)
            object.__setattr__(self, "_as_of_cache", cached)
        return cached

    def input_files(self) -> list[Path]:
        """The table files this source reads (for hashes and manifests)."""
        return [p for t in contract.TABLES if (p := find_table_file(self.path, t)) is not None]

    def materialise(self) -> Path:
        if not self.path.is_dir():
            raise FileNotFoundError(
                f"data_dir '{self.data_dir}' is not a folder (resolved to {self.path}). "
                "Point data_dir at a folder of <table>.csv|.parquet|.xlsx files.")
        if not self.tables:
            found = sorted(p.name for p in self.path.iterdir() if not p.name.startswith("."))
            shown = ", ".join(found[:15]) + (" ..." if len(found) > 15 else "")
            raise FileNotFoundError(
                f"data_dir '{self.data_dir}' (resolved to {self.path}) holds no table file: "
                f"expected files named {', '.join(t + '.csv' for t in contract.TABLES)} "
                f"(or .parquet, .xlsx; names are not case-sensitive); found "
                f"{shown or 'no files'}.")
        return self.path


def _latest_date_cached(src: FolderSource) -> str:
    """The data's latest recorded date, cached by file size and modification time."""
    import json

    from ..cleaning import latest_recorded_date
    files = src.input_files()
    sig = {p.name: [p.stat().st_size, p.stat().st_mtime_ns] for p in files}
    cache = config.paths().processed / f".{src.key}-as_of.json"
    opts = {k: v for k, v in src.cleaning_options.items() if not callable(v)}
    try:
        old = json.loads(cache.read_text())
        if old.get("files") == sig and old.get("options") == json.loads(
                json.dumps(opts, default=str)):
            return old["as_of"]
    except (OSError, ValueError, KeyError):
        pass
    latest, _ = latest_recorded_date(src.path, src.tables, **src.cleaning_options)
    value = str(latest.date()) if latest is not None else str(pd.Timestamp.today().date())
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({"files": sig, "options": opts, "as_of": value},
                                    default=str))
    except OSError:
        pass
    return value


def find_table_file(folder: Path, table: str) -> Path | None:
    """The file holding ``table`` in ``folder``: ``<table>`` plus the first suffix of
    :data:`TABLE_SUFFIXES`, names compared case-insensitively (``Customers.CSV``)."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    by_name = {}
    for p in sorted(folder.iterdir()):
        if p.is_file():
            by_name.setdefault(p.name.casefold(), p)
    for suffix in TABLE_SUFFIXES:
        p = by_name.get(f"{table}{suffix}")
        if p is not None:
            return p
    return None


def get_source(spec):
    """Build the source named by a :class:`crm_lib.data.SourceSpec`."""
    opts = dict(spec.options)
    if spec.source == "demo":
        as_of = str(spec.as_of) if as_of_given(spec.as_of) else DemoSource.as_of
        return DemoSource(n_customers=spec.n_customers, seed=spec.seed, as_of=as_of,
                          cleaning_options=opts)
    if spec.source == "folder":
        if not spec.data_dir:
            raise ValueError("source 'folder' needs data_dir: the folder of your table files")
        return FolderSource(data_dir=spec.data_dir,
                            requested_as_of=str(spec.as_of) if as_of_given(spec.as_of) else "",
                            cleaning_options=opts)
    if spec.source in EXTRA_SOURCES:
        return EXTRA_SOURCES[spec.source](spec)
    known = ", ".join(["demo", "folder", *EXTRA_SOURCES])
    raise ValueError(f"unknown source {spec.source!r}; known sources: {known}")


#: Further sources register here: name -> factory(spec) (telco, cdnow...).
EXTRA_SOURCES: dict[str, object] = {}

from . import packaged as _packaged  # noqa: E402

_packaged.register()
