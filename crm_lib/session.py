"""The notebook session: one object a notebook's setup cell creates.

``crm_lib.start(...)`` takes the notebook's parameters, applies the plot
style, and gives the notebook its tables (building missing upstream
artefacts: demo generation, cleaning), its run folder and a metrics
recorder. Notebooks stay short and identical in shape::

    import crm_lib as crm
    s = crm.start("04_churn_modeling", source=source, data_dir=data_dir,
                  n_customers=n_customers, seed=seed, as_of=as_of, run_dir=run_dir)
    t = s.tables("customers")            # dict of validated, processed frames
    s.record({"churn.rate": 0.21})       # -> <run_dir>/metrics.json
    s.write_artefact("churn_scores", scores)  # -> <run_dir>/scores.parquet, checked
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import artefacts, config, data, metrics


@dataclass
class Session:
    """What a running notebook knows: its name, source, seed and run folder."""

    notebook: str
    source: data.SourceSpec
    run_dir: Path
    seed: int
    _cache: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def as_of(self) -> pd.Timestamp:
        """The analysis date (the source's own for packaged data, e.g. CDNOW 1998-06-30)."""
        return pd.Timestamp(self.source.build().as_of)

    def available(self) -> tuple[str, ...]:
        """Tables the source provides."""
        return data.available_tables(self.source)

    def has(self, table: str) -> bool:
        return table in self.available()

    def tables(self, *names: str, optional: tuple[str, ...] = ()) -> dict[str, pd.DataFrame]:
        """Processed tables by name.

        Raises :class:`crm_lib.data.MissingTableError` (the runner marks the
        notebook skipped) when a required table is not provided by the source;
        ``optional`` tables are returned only when present.
        """
        wanted = [n for n in names if n not in self._cache]
        wanted += [n for n in optional if n not in self._cache and self.has(n)]
        if wanted:
            self._cache.update(data.load_tables(self.source, wanted, notebook=self.notebook))
        out = {n: self._cache[n] for n in names}
        out.update({n: self._cache[n] for n in optional if n in self._cache})
        return out

    def quality(self) -> dict:
        """The cleaning step's data-quality report for this source."""
        return data.quality_report(self.source)

    def record(self, values: dict[str, object]) -> dict[str, object]:
        """Record headline figures (dotted keys) in the run's metrics.json."""
        metrics.record(self.run_dir, self.notebook, values)
        return dict(values)

    def output(self, filename: str) -> Path:
        """A path for an output file of this run (scores, targets...)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        return self.run_dir / filename

    def write_artefact(self, name: str, df: pd.DataFrame) -> Path:
        """Write run artefact ``name`` (see :mod:`crm_lib.artefacts`); only its declared
        writer may, and the columns are checked against the declaration."""
        a = artefacts.get(name)
        if a.writer != self.notebook:
            raise artefacts.ArtefactError(
                f"artefact {name} ({a.filename}) is written by {a.writer} only, "
                f"not by {self.notebook}")
        return artefacts.write(df, self.run_dir, name)

    def artefact(self, name: str) -> pd.DataFrame | None:
        """Run artefact ``name`` written by another notebook of this run; None when its
        writer has not run (the caller says which fallback it uses)."""
        return artefacts.read(self.run_dir, name)

    def metrics(self) -> dict[str, object]:
        """Every metric recorded so far in this run."""
        return metrics.read(self.run_dir)


def start(notebook: str, *, source: str = "demo", data_dir: str = "",
          n_customers: int = 20000, seed: int = 42, as_of: str = "2026-06-30",
          run_dir: str = "", style: bool = True, **source_options: object) -> Session:
    """Open a notebook session (see the module docstring)."""
    spec = data.SourceSpec(source=source, data_dir=data_dir, n_customers=int(n_customers),
                           seed=int(seed), as_of=str(as_of), options=dict(source_options))
    rd = config.resolve_path(run_dir) if run_dir else config.paths().interactive_run
    rd.mkdir(parents=True, exist_ok=True)
    if style:
        from . import plots
        plots.apply_style()
    return Session(notebook=notebook, source=spec, run_dir=rd, seed=int(seed))
