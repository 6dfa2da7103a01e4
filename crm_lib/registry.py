"""The metric registry: every ``metrics.json`` key declared once.

Each key a notebook records (``s.record({...})``) is declared in
``crm_lib/metrics_registry.yaml``, in the block of the notebook that records
it, with

- ``label``: what a reader sees instead of the dotted key;
- ``format``: ``percent`` (a share, 0.25 -> 25.0%), ``pp`` (a difference of
  shares, in percentage points), ``currency``, ``count``, ``ratio`` (a plain
  number such as an AUC or a hazard ratio), ``pvalue``, ``rate`` (a share per
  ``period``: month, year...), ``number`` (with an optional ``unit``), ``text``
  or ``flag`` (yes/no);
- ``frame``: the time frame where the figure has one ("cumulative since the
  first signup", "within the 6-month horizon"...);
- ``good``: which direction is good (``higher``, ``lower`` or ``none``);
- optional ``interval: [low_key, high_key]`` (the keys holding its interval),
  ``decimals``, ``optional: true`` (recorded only when the data allow it, e.g.
  when the source has a pilot) and ``teaching: true`` (a simulation, not a
  company result).

Families such as ``churn.cox.hr.*`` are declared once as wildcard patterns;
``{name}`` in their label is replaced by the part the ``*`` matched.
:func:`crm_lib.metrics.record` refuses a key that is not declared, so the
front page, the summary, notebook text and tests can all take labels and
formats from here.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import yaml

REGISTRY_FILE = Path(__file__).with_name("metrics_registry.yaml")

FORMATS = ("percent", "pp", "currency", "count", "ratio", "pvalue", "rate", "number", "text",
           "flag")
GOOD = ("higher", "lower", "none")
_FIELDS = {"label", "format", "frame", "good", "period", "unit", "interval", "decimals",
           "optional", "teaching", "description"}


class UndeclaredMetricError(KeyError):
    """A metric key that the registry does not declare."""

    def __str__(self) -> str:  # KeyError quotes its argument; show the message as written
        return str(self.args[0])


@dataclass(frozen=True)
class Metric:
    """One declared metric (a key or a wildcard pattern)."""

    key: str
    label: str
    format: str
    notebook: str
    good: str = "none"
    frame: str = ""
    period: str = ""
    unit: str = ""
    interval: tuple[str, str] | None = None
    decimals: int | None = None
    optional: bool = False
    teaching: bool = False
    description: str = ""

    @property
    def is_pattern(self) -> bool:
        return "*" in self.key

    def for_key(self, key: str) -> Metric:
        """This declaration applied to a concrete ``key`` (fills ``{name}`` of a pattern)."""
        if not self.is_pattern:
            return self
        prefix, _, suffix = self.key.partition("*")
        name = key[len(prefix): len(key) - len(suffix) if suffix else None]
        interval = (tuple(k.replace("*", name) for k in self.interval)
                    if self.interval else None)
        return replace(self, key=key, label=self.label.replace("{name}", name),
                       interval=interval)


class Registry:
    """All declared metrics, looked up by exact key first, then by pattern."""

    def __init__(self, metrics: list[Metric], path: Path | None = None):
        self.path = path
        self.exact = {m.key: m for m in metrics if not m.is_pattern}
        # the most specific pattern wins: longest literal prefix first
        self.patterns = sorted((m for m in metrics if m.is_pattern),
                               key=lambda m: len(m.key.partition("*")[0]), reverse=True)

    def __contains__(self, key: str) -> bool:
        return self.lookup(key) is not None

    def __iter__(self):
        yield from self.exact.values()
        yield from self.patterns

    def lookup(self, key: str) -> Metric | None:
        """The declaration of ``key`` (pattern applied), or None."""
        if key in self.exact:
            return self.exact[key]
        for m in self.patterns:
            if fnmatch.fnmatchcase(key, m.key):
                return m.for_key(key)
        return None

    def get(self, key: str) -> Metric:
        """The declaration of ``key``; raises :class:`UndeclaredMetricError` naming the file."""
        m = self.lookup(key)
        if m is None:
            where = self.path or REGISTRY_FILE
            raise UndeclaredMetricError(
                f"metric key {key!r} is not declared in the metric registry {where}: add it "
                "(label, format, frame, good direction) to the block of the notebook that "
                "records it")
        return m

    def notebooks(self) -> list[str]:
        return sorted({m.notebook for m in self})

    def for_notebook(self, notebook: str) -> list[Metric]:
        """Declarations of one notebook, in file order."""
        return [m for m in self if m.notebook == notebook]

    def label(self, key: str) -> str:
        m = self.lookup(key)
        return m.label if m else key


def _parse(data: dict, path: Path) -> list[Metric]:
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected one block per notebook (notebook: {{key: ...}})")
    out, seen = [], {}
    for notebook, block in data.items():
        for key, spec in (block or {}).items():
            where = f"{path}: {notebook}: {key}"
            if key in seen:
                raise ValueError(f"{where}: declared twice (also in {seen[key]})")
            seen[key] = notebook
            if not isinstance(spec, dict):
                raise ValueError(f"{where}: expected a mapping with label and format")
            unknown = set(spec) - _FIELDS
            if unknown:
                raise ValueError(f"{where}: unknown field(s) {', '.join(sorted(unknown))} "
                                 f"(allowed: {', '.join(sorted(_FIELDS))})")
            for req in ("label", "format"):
                if req not in spec:
                    raise ValueError(f"{where}: '{req}' is missing")
            if spec["format"] not in FORMATS:
                raise ValueError(f"{where}: format {spec['format']!r} is not one of "
                                 f"{', '.join(FORMATS)}")
            if spec["format"] == "rate" and not spec.get("period"):
                raise ValueError(f"{where}: a rate needs its period (month, year...)")
            good = spec.get("good", "none")
            if good not in GOOD:
                raise ValueError(f"{where}: good {good!r} is not one of {', '.join(GOOD)}")
            interval = spec.get("interval")
            if interval is not None and (not isinstance(interval, list) or len(interval) != 2):
                raise ValueError(f"{where}: interval is [low_key, high_key]")
            out.append(Metric(
                key=key, label=str(spec["label"]), format=spec["format"], notebook=str(notebook),
                good=good, frame=str(spec.get("frame", "")), period=str(spec.get("period", "")),
                unit=str(spec.get("unit", "")),
                interval=tuple(interval) if interval else None,
                decimals=spec.get("decimals"), optional=bool(spec.get("optional", False)),
                teaching=bool(spec.get("teaching", False)),
                description=str(spec.get("description", ""))))
    return out


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> Registry:
    p = Path(path)
    # libyaml's safe loader when PyYAML has it (the same documents, ~8x faster: every
    # kernel loads the registry), else the pure-Python one
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return Registry(_parse(yaml.load(p.read_text(encoding="utf-8"), Loader=loader), p), p)


def load(path: str | Path | None = None) -> Registry:
    """The registry from ``path`` (default: ``crm_lib/metrics_registry.yaml``), cached."""
    p = Path(path) if path else REGISTRY_FILE
    return _load(str(p), p.stat().st_mtime)


def get(key: str) -> Metric:
    """The declaration of ``key`` in the project registry."""
    return load().get(key)


def lookup(key: str) -> Metric | None:
    """The declaration of ``key`` in the project registry, or None."""
    return load().lookup(key)


def label(key: str) -> str:
    """The reader's label of ``key`` (the key itself when undeclared)."""
    return load().label(key)
