"""Data sources: where raw tables come from.

A source has a ``name``, a cache ``key`` (folder name under data/raw,
data/processed and data/quarantine), the ``tables`` it provides, an
``as_of`` date, ``cleaning_options`` for the cleaning step, and
``materialise()`` which makes sure its raw files exist and returns their
folder. Sources never modify a user's files.

- ``demo``: the seeded synthetic company (all five tables), see
  :mod:`crm_lib.sources.demo`.
- ``folder``: the user's own files in the contract shape (``data_dir``).
- ``telco`` and ``cdnow``: real public data shipped inside PyPI packages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .. import config, contract

TABLE_SUFFIXES = (".csv", ".parquet", ".xlsx")


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
        from . import demo
        if not (self.raw_dir / "_complete").exists():
            demo.write_demo(self.raw_dir, self.truth_dir, demo.DemoParams(
                n_customers=self.n_customers, seed=self.seed, as_of=self.as_of))
        return self.raw_dir


@dataclass
class FolderSource:
    """A user's folder of ``<table>.csv|.parquet|.xlsx`` files (read, never written)."""

    data_dir: str
    as_of: str = "2026-06-30"
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
        return tuple(t for t in contract.TABLES if find_table_file(self.path, t) is not None)

    def materialise(self) -> Path:
        if not self.path.is_dir():
            raise FileNotFoundError(
                f"data_dir '{self.data_dir}' is not a folder (resolved to {self.path}). "
                "Point data_dir at a folder of <table>.csv|.parquet|.xlsx files.")
        return self.path


def find_table_file(folder: Path, table: str) -> Path | None:
    """The file holding ``table`` in ``folder`` (first of .csv, .parquet, .xlsx)."""
    for suffix in TABLE_SUFFIXES:
        p = folder / f"{table}{suffix}"
        if p.exists():
            return p
    return None


def get_source(spec):
    """Build the source named by a :class:`crm_lib.data.SourceSpec`."""
    opts = dict(spec.options)
    if spec.source == "demo":
        return DemoSource(n_customers=spec.n_customers, seed=spec.seed, as_of=spec.as_of,
                          cleaning_options=opts)
    if spec.source == "folder":
        if not spec.data_dir:
            raise ValueError("source 'folder' needs data_dir: the folder of your table files")
        return FolderSource(data_dir=spec.data_dir, as_of=spec.as_of, cleaning_options=opts)
    if spec.source in EXTRA_SOURCES:
        return EXTRA_SOURCES[spec.source](spec)
    known = ", ".join(["demo", "folder", *EXTRA_SOURCES])
    raise ValueError(f"unknown source {spec.source!r}; known sources: {known}")


#: Further sources register here: name -> factory(spec) (telco, cdnow...).
EXTRA_SOURCES: dict[str, object] = {}

from . import packaged as _packaged  # noqa: E402

_packaged.register()
