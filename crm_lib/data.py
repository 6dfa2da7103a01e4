"""From a source to processed tables: materialise raw files, clean, cache.

``load_tables`` is what notebooks (through the session) call. It builds
what is missing upstream: the demo company is generated on first use, raw
tables are validated and cleaned into ``data/processed/<key>/`` (Parquet),
and rejected rows go to ``data/quarantine/<key>/`` with their reason.
Processed tables are rebuilt when the raw inputs change (their hashes are
part of the cache stamp). Raw inputs are only ever read.

Notebooks of one run may build the same cache at the same time (the runner
runs independent notebooks concurrently): materialising a source and
cleaning it into its cache each hold a file lock per source key
(``data/processed/.locks/``), so the second process waits and then finds
the cache ready.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import cleaning, config, contract


class MissingTableError(RuntimeError):
    """A notebook needs a table its source does not provide (the runner skips it)."""


@dataclass(frozen=True)
class SourceSpec:
    """Which data a run uses: a source name and its options."""

    source: str = "demo"
    data_dir: str = ""
    n_customers: int = 20000
    seed: int = 42
    as_of: str = "2026-06-30"
    options: dict = field(default_factory=dict, hash=False, compare=False)

    def build(self):
        from . import sources
        return sources.get_source(self)


def available_tables(spec: SourceSpec) -> tuple[str, ...]:
    """Tables the source of ``spec`` provides (without building anything)."""
    return tuple(spec.build().tables)


def _lock(key: str):
    """An inter-process lock for the caches of source ``key``."""
    from filelock import FileLock
    d = config.paths().processed / ".locks"
    d.mkdir(parents=True, exist_ok=True)
    return FileLock(str(d / f"{key}.lock"))


def materialise(src) -> Path:
    """``src.materialise()`` under the source's lock (raw files written once)."""
    with _lock(f"raw-{src.key}"):
        return src.materialise()


def file_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every table file in ``folder`` (the inputs of a run, for its manifest)."""
    import hashlib

    from . import sources
    out = {}
    for p in sorted(Path(folder).iterdir()):
        if p.is_file() and p.suffix.casefold() in sources.TABLE_SUFFIXES:
            h = hashlib.sha256()
            with p.open("rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            out[p.name] = h.hexdigest()
    return out


def _stamp(src, raw_dir: Path) -> dict:
    return {"source": src.key, "as_of": str(src.as_of), "inputs": file_hashes(raw_dir),
            "contract_version": CONTRACT_VERSION, "cleaning_version": _cleaning_version(),
            "options": src.cleaning_options}


def _cleaning_version() -> str:
    return str(cleaning.VERSION)


#: Bump when the contract changes, to invalidate caches (cleaning.VERSION covers the rules).
CONTRACT_VERSION = "2"


def processed_dir(spec: SourceSpec) -> Path:
    """Where the processed tables of ``spec`` live (built on demand)."""
    src = spec.build()
    raw_dir = materialise(src)
    out = config.paths().processed / src.key
    stamp = _stamp(src, raw_dir)
    if _fresh(out, stamp):
        return out
    with _lock(f"processed-{src.key}"):
        if not _fresh(out, stamp):  # another process may have built it meanwhile
            _build(src, raw_dir, out, stamp)
    return out


def _fresh(out: Path, stamp: dict) -> bool:
    p = out / "_stamp.json"
    return p.exists() and json.loads(p.read_text()) == stamp


def _build(src, raw_dir: Path, out: Path, stamp: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{src.key}-", dir=out.parent))
    try:
        quarantine = config.paths().quarantine / src.key
        report = cleaning.clean_folder(raw_dir, tmp, quarantine, tables=src.tables,
                                       as_of=src.as_of, **src.cleaning_options)
        (tmp / "quality.json").write_text(json.dumps(report, indent=2, default=str))
        (tmp / "_stamp.json").write_text(json.dumps(stamp, indent=2))
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def load_tables(spec: SourceSpec, names: list[str] | tuple[str, ...],
                notebook: str = "") -> dict[str, pd.DataFrame]:
    """Processed tables ``names`` of the source (see module docstring)."""
    src = spec.build()
    missing = [n for n in names if n not in src.tables]
    if missing:
        who = f"notebook {notebook}" if notebook else "this analysis"
        raise MissingTableError(
            f"source '{src.name}' provides {', '.join(src.tables) or 'no tables'}; "
            f"{who} needs {', '.join(missing)}. Use a source that has them "
            f"(the demo company has all five tables).")
    out_dir = processed_dir(spec)
    out = {}
    for n in names:
        if n not in contract.CONTRACT:
            raise KeyError(f"{n!r} is not a contract table ({', '.join(contract.TABLES)})")
        out[n] = pd.read_parquet(out_dir / f"{n}.parquet")
    return out


def quality_report(spec: SourceSpec) -> dict:
    """The data-quality report written by the cleaning step."""
    return json.loads((processed_dir(spec) / "quality.json").read_text())
