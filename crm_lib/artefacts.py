"""Run artefacts: the files notebooks hand to each other, declared once.

A notebook that writes a per-customer table for another notebook of the
same run (churn scores, out-of-fold scores, CLV, the target list) does so
through :func:`write`, and the reader through :func:`read`. Each artefact
is declared here with its one writer, its readers and the columns (with
their kind) every reader may rely on, beside the data contract of the raw
tables (:mod:`crm_lib.contract`).

The declarations also give the runner its order: a notebook runs after the
writers of the artefacts it reads (:func:`notebook_graph`). Dependencies
that are not files (the executive summary reads every notebook's metrics)
are declared in the notebook's metadata, ``crm.after``: a list of notebook
stems, or ``"*"`` for every other notebook of the run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

#: Column kinds an artefact may declare, and what each accepts.
KINDS = ("str", "float", "int", "bool")


class ArtefactError(ValueError):
    """An artefact file does not match its declaration (names file, columns and writer)."""


@dataclass(frozen=True)
class Artefact:
    """One file a notebook writes for others in the same run folder."""

    name: str
    filename: str
    writer: str  # notebook stem
    readers: tuple[str, ...]
    columns: Mapping[str, str]  # column -> kind (see KINDS); further columns are allowed
    description: str
    key: str = "customer_id"  # column that must be unique (empty: none)

    @property
    def format(self) -> str:
        return Path(self.filename).suffix.lstrip(".")


ARTEFACTS: dict[str, Artefact] = {a.name: a for a in (
    Artefact(
        "churn_scores", "scores.parquet", "04_churn_modeling",
        ("03_customer_value", "05_retention_roi", "06_executive_summary"),
        {"customer_id": "str", "churn_probability": "float", "risk_tier": "str",
         "top_reasons": "str"},
        "Calibrated probability of churn within the horizon for every customer active at "
        "as_of, with its risk tier and the features raising it most (notebook 04's model)."),
    Artefact(
        "churn_oof", "oof.parquet", "04_churn_modeling", ("05_retention_roi",),
        {"customer_id": "str", "churned": "int", "oof_probability": "float"},
        "Out-of-fold churn probability of every training customer (from a model that never "
        "saw that customer) and its observed outcome, for profit measures and pilot risk."),
    Artefact(
        "clv", "clv.parquet", "03_customer_value", ("05_retention_roi", "06_executive_summary"),
        {"customer_id": "str", "clv": "float", "p_alive": "float", "value_tier": "str",
         "risk_tier": "str", "lifecycle_stage": "str"},
        "Per-customer BG/NBD + Gamma-Gamma CLV over the horizon, P(alive), lifecycle stage "
        "and value x risk tier."),
    Artefact(
        "budget_curve", "budget_curve.csv", "05_retention_roi", ("06_executive_summary",),
        {"n": "int", "spend": "float", "profit": "float", "marginal_return": "float"},
        "Notebook 05's optimiser curve: customers contacted best first (expected profit per "
        "unit of spend), cumulative expected spend and incremental profit, and the marginal "
        "return of the last one; the executive summary draws it with 05's chosen depth.",
        key="n"),
    Artefact(
        "targets", "targets.csv", "05_retention_roi", (),
        {"customer_id": "str", "customer": "str", "expected_incremental_profit": "float",
         "reason": "str"},
        "Customers selected for the retention campaign, by rank: the customer_id to act on "
        "(operational output, no personal columns), its run pseudonym, the expected "
        "incremental profit and the reason; read by no notebook."),
)}


def get(name: str) -> Artefact:
    """The declaration of artefact ``name`` (KeyError naming the known ones)."""
    try:
        return ARTEFACTS[name]
    except KeyError:
        raise KeyError(f"unknown artefact {name!r}; declared: {', '.join(ARTEFACTS)}") from None


def path(run_dir: str | os.PathLike, name: str) -> Path:
    """Where artefact ``name`` lives in ``run_dir``."""
    return Path(run_dir) / get(name).filename


def _kind_ok(series: pd.Series, kind: str) -> bool:
    t = pd.api.types
    if kind == "str":
        return t.is_string_dtype(series) or t.is_object_dtype(series) or \
            isinstance(series.dtype, pd.CategoricalDtype)
    if kind == "float":
        return t.is_numeric_dtype(series) and not t.is_bool_dtype(series)
    if kind == "int":
        return t.is_integer_dtype(series) or t.is_bool_dtype(series)
    if kind == "bool":
        return t.is_bool_dtype(series)
    raise ValueError(f"unknown column kind {kind!r} ({', '.join(KINDS)})")


def validate(df: pd.DataFrame, name: str, *, file: str | os.PathLike = "") -> pd.DataFrame:
    """Check ``df`` against the declaration of ``name``; returns ``df`` unchanged.

    Raises :class:`ArtefactError` naming the file, the missing or mistyped
    columns and the notebook that writes the artefact.
    """
    a = get(name)
    where = f"{file or a.filename} (artefact {name}, written by {a.writer})"
    missing = [c for c in a.columns if c not in df.columns]
    if missing:
        raise ArtefactError(f"{where}: missing column(s) {', '.join(missing)}; "
                            f"declared: {', '.join(a.columns)}")
    wrong = [f"{c} ({df[c].dtype}, declared {k})" for c, k in a.columns.items()
             if len(df) and not _kind_ok(df[c], k)]
    if wrong:
        raise ArtefactError(f"{where}: column(s) of the wrong kind: {', '.join(wrong)}")
    if a.key and df[a.key].duplicated().any():
        dup = df.loc[df[a.key].duplicated(), a.key].iloc[0]
        raise ArtefactError(f"{where}: {a.key} must be unique, {dup!r} appears more than once")
    return df


def write(df: pd.DataFrame, run_dir: str | os.PathLike, name: str) -> Path:
    """Validate ``df`` and write it as artefact ``name`` of ``run_dir`` (atomically)."""
    target = path(run_dir, name)
    validate(df, name, file=target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        if get(name).format == "csv":
            df.to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def read(run_dir: str | os.PathLike, name: str) -> pd.DataFrame | None:
    """Artefact ``name`` of ``run_dir``, validated; None when its writer has not run."""
    p = path(run_dir, name)
    if not p.exists():
        return None
    a = get(name)
    if a.format == "csv":
        df = pd.read_csv(p, dtype={c: str for c, k in a.columns.items() if k == "str"})
    else:
        df = pd.read_parquet(p)
    return validate(df, name, file=p)


def writes(notebook: str) -> list[str]:
    """Artefacts ``notebook`` (a stem) writes."""
    return [a.name for a in ARTEFACTS.values() if a.writer == notebook]


def reads(notebook: str) -> list[str]:
    """Artefacts ``notebook`` (a stem) reads."""
    return [a.name for a in ARTEFACTS.values() if notebook in a.readers]


@dataclass
class Node:
    """A notebook in the run graph."""

    name: str
    after: list[str] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)


def _declared_after(nb: Path) -> list[str] | str:
    import nbformat
    return nbformat.read(nb, as_version=4).metadata.get("crm", {}).get("after", [])


def notebook_graph(notebooks: Iterable[str | os.PathLike] | None = None) -> dict[str, list[str]]:
    """Notebook stem -> stems of the notebooks it must run after, in run order.

    ``notebooks`` are the notebook files of the run (default: the project's
    numbered notebooks). Edges come from the artefact declarations (a reader
    runs after the writer) and from each notebook's ``crm.after`` metadata;
    only edges between notebooks of the run are kept, so a notebook run
    without its upstream falls back to what it builds itself.
    """
    return {n.name: n.after for n in plan(notebooks)}


def plan(notebooks: Iterable[str | os.PathLike] | None = None) -> list[Node]:
    """The run graph as nodes in topological order (ties in file order).

    Raises ValueError naming the notebooks of a dependency cycle.
    """
    if notebooks is None:
        from . import config
        notebooks = sorted(config.paths().notebooks.glob("[0-9][0-9]_*.ipynb"))
    files = [Path(p) for p in notebooks]
    stems = [p.stem for p in files]
    nodes = {}
    for p in files:
        s = p.stem
        after: list[str] = []
        declared = _declared_after(p) if p.exists() else []
        if declared == "*" or declared == ["*"]:
            after += [o for o in stems if o != s]
        else:
            after += [o for o in declared if o in stems and o != s]
        after += [get(a).writer for a in reads(s) if get(a).writer in stems]
        nodes[s] = Node(s, sorted(set(after), key=stems.index), reads(s), writes(s))
    order: list[str] = []
    while len(order) < len(stems):
        ready = [s for s in stems if s not in order and all(d in order for d in nodes[s].after)]
        if not ready:
            cycle = [s for s in stems if s not in order]
            raise ValueError(f"notebook dependency cycle among {', '.join(cycle)} "
                             "(artefact declarations and crm.after metadata)")
        order.append(ready[0])
    return [nodes[s] for s in order]
