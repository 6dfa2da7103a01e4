"""Headline figures of a run: flat dotted keys in ``<run_dir>/metrics.json``.

Each notebook records its figures under the keys its issue names (for
example ``churn.cv_auc``). The merged ``metrics.json`` is updated after
every record, so a later notebook of the same run (the executive summary)
can read what earlier ones produced; ``metrics/<notebook>.json`` keeps
which notebook produced which key for the run index.

Every key must be declared in the metric registry
(``crm_lib/metrics_registry.yaml``, see :mod:`crm_lib.registry`): recording an
undeclared key raises :class:`crm_lib.registry.UndeclaredMetricError`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from . import registry


def _clean(value: object) -> object:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, bool, str)) or value is None:
        return value
    raise TypeError(f"metric values must be numbers, booleans or strings, got {type(value)}")


def _write_json(path: Path, data: Mapping) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # unique: notebooks run at once
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def read(run_dir: str | os.PathLike) -> dict[str, object]:
    """The merged metrics of a run (empty when none were recorded)."""
    p = Path(run_dir) / "metrics.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}


def read_by_notebook(run_dir: str | os.PathLike) -> dict[str, dict[str, object]]:
    """Metrics per notebook stem, as recorded."""
    d = Path(run_dir) / "metrics"
    if not d.is_dir():
        return {}
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(d.glob("*.json"))}


def record(run_dir: str | os.PathLike, notebook: str, values: Mapping[str, object]) -> None:
    """Record ``values`` (dotted key -> number) for ``notebook`` in the run's metrics.

    Raises :class:`crm_lib.registry.UndeclaredMetricError` (naming the key and
    the registry file) before writing anything when a key is not declared.
    """
    run_dir = Path(run_dir)
    clean = {}
    reg = registry.load()
    for k, v in values.items():
        if not isinstance(k, str) or not k or " " in k:
            raise ValueError(f"metric keys are dotted names without spaces, got {k!r}")
        reg.get(k)
        clean[k] = _clean(v)
    with lock(run_dir):  # notebooks of one run may record at the same time
        merged = read(run_dir)
        merged.update(clean)
        _write_json(run_dir / "metrics.json", merged)
        per_nb_path = run_dir / "metrics" / f"{notebook}.json"
        per_nb = json.loads(per_nb_path.read_text(encoding="utf-8")) \
            if per_nb_path.exists() else {}
        per_nb.update(clean)
        _write_json(per_nb_path, per_nb)


def lock(run_dir: str | os.PathLike):
    """The inter-process lock of a run's metrics files (``<run_dir>/.metrics.lock``)."""
    from filelock import FileLock
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    return FileLock(str(Path(run_dir) / ".metrics.lock"))
