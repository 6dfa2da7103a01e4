"""The numbered notebooks of a run: listing, selection, order and metadata."""

from __future__ import annotations

from pathlib import Path

import nbformat

from .. import artefacts, config


class RunError(Exception):
    """A run cannot start or continue; carries the exit code and a one-paragraph message."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def list_notebooks(folder: Path | None = None) -> list[Path]:
    """The numbered notebooks ``NN_*.ipynb`` in order."""
    folder = folder or config.paths().notebooks
    return sorted(p for p in Path(folder).glob("[0-9][0-9]_*.ipynb"))


def select_notebooks(all_nbs: list[Path], wanted: str | None) -> list[Path]:
    """Filter by a comma-separated list of numbers ('01,04') or names.

    Raises :class:`RunError` (exit 2) naming the keys that match no notebook.
    """
    if not all_nbs:
        raise RunError("crm-report: no numbered notebooks (NN_name.ipynb) to run")
    if not wanted:
        return all_nbs
    keys = [w.strip() for w in str(wanted).split(",") if w.strip()]
    out = [p for p in all_nbs if any(p.stem == k or p.stem.startswith(k) or p.name == k
                                     for k in keys)]
    unknown = [k for k in keys if not any(p.stem.startswith(k) or p.name == k for p in all_nbs)]
    if unknown or not out:
        raise RunError(f"crm-report: no notebook matches {', '.join(unknown or keys)} "
                       f"(have {', '.join(p.stem for p in all_nbs)})")
    return out


def order_notebooks(nbs: list[Path]) -> list[Path]:
    """``nbs`` in run order: topological in the artefact graph, ties by number."""
    by_stem = {p.stem: p for p in nbs}
    return [by_stem[n.name] for n in artefacts.plan(nbs)]


def crm_metadata(nb_path: Path) -> dict:
    """The notebook's ``crm`` metadata (requires, optional, headline, after)."""
    return dict(nbformat.read(nb_path, as_version=4).metadata.get("crm", {}))


def requires(nb_path: Path) -> list[str]:
    """Tables a notebook declares in its metadata (``crm.requires``)."""
    return list(crm_metadata(nb_path).get("requires", []))


def headline(nb_path: Path, recorded: dict) -> dict:
    """The notebook's headline figures (``crm.headline`` keys first, then the rest)."""
    keys = [k for k in crm_metadata(nb_path).get("headline", []) if k in recorded]
    return {**{k: recorded[k] for k in keys},
            **{k: v for k, v in recorded.items() if k not in keys}}


def plan_json(nbs: list[Path]) -> dict:
    """The run graph for schedulers: notebooks in order with after, reads, writes, requires."""
    return {"notebooks": [
        {"name": n.name, "after": n.after, "reads": n.reads, "writes": n.writes,
         "requires": requires(p), "path": str(p)}
        for n, p in zip(artefacts.plan(nbs), order_notebooks(nbs), strict=True)]}
