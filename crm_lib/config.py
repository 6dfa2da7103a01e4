"""Project paths and run parameters.

Paths resolve from the package location (the repository root), or from the
``CRM_HOME`` environment variable when set (tests and schedulers point it
at another working folder). Notebooks never hard-code paths: they ask this
module.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: Defaults shared by every notebook's parameters cell and the runner.
DEFAULTS: dict[str, object] = {
    "source": "demo",
    "data_dir": "",
    "n_customers": 20000,
    "seed": 42,
    "as_of": "2026-06-30",
}

KERNEL_NAME = "crm"


@dataclass(frozen=True)
class Paths:
    """Folders of the project: raw inputs are never modified; reports are per run."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def raw(self) -> Path:
        return self.data / "raw"

    @property
    def processed(self) -> Path:
        return self.data / "processed"

    @property
    def quarantine(self) -> Path:
        return self.data / "quarantine"

    @property
    def truth(self) -> Path:
        return self.data / "truth"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def notebooks(self) -> Path:
        return package_root() / "notebooks"

    @property
    def interactive_run(self) -> Path:
        """Where metrics and outputs go when a notebook runs outside the runner."""
        return self.reports / "interactive"


def package_root() -> Path:
    """The repository root (parent of the ``crm_lib`` package)."""
    return Path(__file__).resolve().parents[1]


def paths() -> Paths:
    """Project paths, honouring ``CRM_HOME``."""
    home = os.environ.get("CRM_HOME")
    return Paths(Path(home).resolve() if home else package_root())


def resolve_path(p: str | os.PathLike) -> Path:
    """A user path: absolute as given, relative to the project root otherwise."""
    p = Path(p).expanduser()
    return p if p.is_absolute() else paths().root / p
