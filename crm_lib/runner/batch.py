"""``crm-report``'s batch: every step of :mod:`.steps` in one command.

The batch takes a lock on ``--out`` (a second run on the same folder stops
with a message), picks a unique run id, validates parameters and opens the
source before creating staging, cleans the source's tables once, then runs
the notebooks in the order of the artefact graph: up to ``jobs`` at a time,
each as soon as the notebooks it depends on have finished (``jobs=1`` runs
them one after the other in this process). Interrupting it (Ctrl-C,
SIGTERM) stops the notebooks and removes staging.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from .. import artefacts, config, data
from .kernels import RUN, WARM
from .notebooks import RunError, list_notebooks, order_notebooks, select_notebooks
from .steps import (
    EXIT_PERMANENT,
    NotebookResult,
    RunContext,
    export_result_html,
    init_staging,
    merge_metrics,
    prepare,
    publish,
    read_result,
    result_path,
    run_notebook,
)

LOCK_NAME = ".crm-report.lock"
DEFAULT_JOBS = min(2, os.cpu_count() or 1)


class Interrupted(BaseException):  # noqa: N818 - like KeyboardInterrupt, not an error
    """SIGINT or SIGTERM arrived during a run (a BaseException: no cell handler swallows it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def out_lock(out_root: Path, timeout: float = 0, code: int = EXIT_PERMANENT):
    """Hold ``<out>/.crm-report.lock``; RunError (exit ``code``) when another run holds it."""
    out_root.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(out_root / LOCK_NAME))
    owner = out_root / f"{LOCK_NAME}.owner"
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        who = owner.read_text().strip() if owner.exists() else "another process"
        raise RunError(f"crm-report: another run is writing to {out_root} ({who}); wait for "
                       "it to finish or use another --out", code) from None
    try:
        owner.write_text(f"pid {os.getpid()} since {dt.datetime.now():%Y-%m-%d %H:%M:%S}")
        yield
    finally:
        owner.unlink(missing_ok=True)
        lock.release()


def new_run_id(out_root: Path, *, dated: bool, source: str) -> str:
    """A run id not used in ``out_root``: the date (``--dated``) or date-time-source,
    with ``-2``, ``-3``... when taken (call while holding the ``--out`` lock)."""
    now = dt.datetime.now()
    base = now.strftime("%Y-%m-%d") if dated else f"{now:%Y%m%d-%H%M%S}-{source}"

    def taken(rid: str) -> bool:
        return any((out_root / n).exists() for n in (rid, f"{rid}-failed", f".staging-{rid}"))

    rid, k = base, 2
    while taken(rid):
        rid, k = f"{base}-{k}", k + 1
    return rid


@contextmanager
def signals_raise():
    """Turn SIGINT/SIGTERM into :class:`Interrupted` while inside (main thread only)."""
    def handler(signum, _frame):
        raise Interrupted(signum)
    try:
        old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


# ------------------------------------------------------------------ resume
def _comparable(manifest: dict) -> dict:
    return {"source": manifest.get("source_key"),
            "parameters": manifest.get("parameters"),
            "notebook parameters": manifest.get("notebook_parameters"),
            "input files": manifest.get("input_hashes")}


def _differences(prev: dict, now: dict) -> list[str]:
    out = []
    for k in now:
        a, b = prev.get(k), now[k]
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            keys = sorted(k2 for k2 in set(a) | set(b) if a.get(k2) != b.get(k2))
            out.append(f"{k} ({', '.join(f'{x}: {a.get(x)!r} -> {b.get(x)!r}' for x in keys)})")
        else:
            out.append(f"{k} ({a!r} -> {b!r})")
    return out


def find_resume(out_root: Path, resume: str, ctx: RunContext) -> Path:
    """The earlier run to resume, checked against this run's source, parameters and inputs.

    ``last`` is the newest run in ``out_root`` made from the same source,
    parameters and input files. Raises RunError naming what differs.
    """
    now = json.loads(json.dumps(_comparable({
        "source_key": ctx.source_key, "parameters": ctx.params,
        "notebook_parameters": ctx.per_notebook,
        "input_hashes": data.file_hashes(Path(ctx.raw_dir))}), default=str))
    if resume == "last":
        cands = sorted((p for p in (out_root.iterdir() if out_root.is_dir() else [])
                        if p.is_dir() and not
                        p.name.startswith(".") and (p / "manifest.json").exists()),
                       key=lambda p: json.loads((p / "manifest.json").read_text())
                       .get("started", ""))
        if not cands:
            raise RunError(f"crm-report: --resume last: no earlier run in {out_root}")
        for p in reversed(cands):
            if _comparable(json.loads((p / "manifest.json").read_text())) == now:
                return p
        newest = json.loads((cands[-1] / "manifest.json").read_text())
        raise RunError(f"crm-report: --resume last: no earlier run in {out_root} has this "
                       f"run's source, parameters and inputs; the newest, {cands[-1].name}, "
                       f"differs in {'; '.join(_differences(_comparable(newest), now))}")
    prev = out_root / resume
    if not prev.is_dir():
        prev = config.resolve_path(resume)
    if not (prev / "manifest.json").exists():
        raise RunError(f"crm-report: --resume: {prev} is not a run folder")
    diff = _differences(_comparable(json.loads((prev / "manifest.json").read_text())), now)
    if diff:
        raise RunError(f"crm-report: --resume {resume}: that run differs from this one in "
                       f"{'; '.join(diff)}; run without --resume (or with the same source, "
                       "parameters and input files)")
    return prev


def copy_resumed(prev: Path, staging: Path) -> dict[str, NotebookResult]:
    """Copy an earlier run's files into staging; its ok notebooks count as done."""
    manifest = json.loads((prev / "manifest.json").read_text())
    for item in prev.iterdir():
        if item.name in ("index.html", "manifest.json", "run.json"):
            continue
        dest = staging / item.name
        if item.is_dir():
            shutil.copytree(item, dest, dirs_exist_ok=True)
        else:
            shutil.copy2(item, dest)
    done = {}
    for r in manifest.get("notebooks", []):
        res = NotebookResult.from_json(r)
        if res.status == "ok":
            done[res.name] = res
            (staging / "results").mkdir(exist_ok=True)
            result_path(staging, res.name).write_text(json.dumps(res.to_json(), indent=2))
        else:  # drop partial outputs of notebooks that will run again
            for suffix in (".ipynb", ".html"):
                (staging / f"{res.name}{suffix}").unlink(missing_ok=True)
            result_path(staging, res.name).unlink(missing_ok=True)
            (staging / "metrics" / f"{res.name}.json").unlink(missing_ok=True)
    return done


# ------------------------------------------------------------------ execution
def _worker_cmd(ctx: RunContext) -> list[str]:
    return [sys.executable, "-m", "crm_lib.runner", "--out", ctx.out_root, "--run-id",
            ctx.run_id, "--stage-only", "--serve", "--quiet", "--no-html"]


@dataclass
class _Worker:
    """A ``crm-report --stage-only --serve`` process and the notebook it is running."""

    proc: subprocess.Popen
    stem: str | None = None
    t0: float = 0.0
    warm: str | None = None  # the notebook its pre-warmed kernel is for
    early_log: Path | None = None  # its output until it has a run (started early)

    def close(self) -> None:
        """Close the worker's input (it exits at end of input; a dead one's pipe is freed)."""
        with suppress(BrokenPipeError):
            self.proc.stdin.close()

    def _send(self, line: str) -> None:
        self.proc.stdin.write(f"{line}\n")
        self.proc.stdin.flush()

    def give(self, stem: str) -> None:
        self.stem, self.t0, self.warm = stem, time.perf_counter(), None
        self._send(stem)

    def warm_up(self, nb: Path) -> None:
        """Have the worker start (and warm up) the kernel of notebook ``nb`` now."""
        with suppress(BrokenPipeError, OSError):
            self._send(f"{WARM} {nb}")
            self.warm = nb.stem

    def attach(self, run_id: str, n: int) -> None:
        """Give an early-started worker its run (and its log, ``logs/worker-N.log``)."""
        with suppress(BrokenPipeError, OSError):  # a dead worker is replaced when found
            self._send(f"{RUN} {run_id} {n}")

    def drop_early_log(self) -> None:
        if self.early_log is not None:
            self.early_log.unlink(missing_ok=True)


def critical_path_first(graph: dict[str, list[str]]) -> dict[str, int]:
    """Notebook -> length (in notebooks) of the longest chain of dependents it starts.

    The batch starts ready notebooks with the longest chain first (ties in run
    order): 04 (read by 03, then 05, then 06) before 00, 01 and 02, whose only
    dependent is 06, so the second slot fills with short notebooks meanwhile.
    """
    dependents: dict[str, list[str]] = {s: [] for s in graph}
    for s, deps in graph.items():
        for d in deps:
            dependents.setdefault(d, []).append(s)
    depth: dict[str, int] = {}

    def chain(s: str) -> int:
        if s not in depth:
            depth[s] = 1 + max((chain(t) for t in dependents.get(s, [])), default=0)
        return depth[s]

    return {s: chain(s) for s in graph}


def _line(r: NotebookResult) -> str:
    where = f"cell {r.cell}: " if r.cell is not None else ""
    kind = f", {r.kind}" if r.kind and r.kind != "cell" else ""
    extra = f" - {where}{r.message}" if r.message else ""
    return f"  {r.name}: {r.status}{kind} ({r.duration_s:.1f} s){extra}"


def execute(ctx: RunContext, nbs: list[Path], done: dict[str, NotebookResult], *,
            jobs: int, log, bar=None, workers: list[_Worker] | None = None,
            warm: bool = True, exiting: list[_Worker] | None = None) -> None:
    """Run the notebooks of ``nbs`` not in ``done``, each once its dependencies have finished.

    ``jobs`` notebooks at a time, in up to ``jobs`` worker processes
    (``crm-report --stage-only --serve``, :func:`crm_lib.runner.cli.serve`), each
    handed its next notebook when its last one's result is written, so a
    worker imports papermill and this package once for several notebooks (each
    notebook runs in a fresh kernel); ``jobs=1`` runs them one after the other in
    this process. Ready notebooks start longest chain first
    (:func:`critical_path_first`). An idle worker pre-warms the kernel of a notebook
    still to come (``warm``, :mod:`.kernels`), as many as there are notebooks not
    yet given out, and ready notebooks go to warm workers first. Workers only
    execute; this process exports each finished notebook's HTML in a background
    thread while the next notebooks run (nbconvert imported once). Results are in
    staging's ``results/``; ``workers`` are already started workers to use. Workers
    exit (their input closed) as soon as no notebook is left to hand out; with
    ``exiting`` (a list) they are put there for the caller to wait for
    (:func:`wait_workers`), otherwise waited for here.
    """
    graph = artefacts.notebook_graph(nbs)
    chain = critical_path_first(graph)
    by_stem = {p.stem: p for p in nbs}
    finished = set(done)
    for s in done:
        log(f"  {s}: ok (resumed)")
        if bar is not None:
            bar.update(1)
    pending = [p.stem for p in nbs if p.stem not in done]
    workers = list(workers or [])
    order = [p.stem for p in nbs]
    exports = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crm-html")
    html, to_export = [], []
    marks: dict[str, dict] = {}  # the batch's timeline marks of each notebook

    def busy() -> list[_Worker]:
        return [w for w in workers if w.stem is not None]

    try:
        while pending or busy():
            ready = sorted((s for s in pending if all(d in finished for d in graph[s])),
                           key=lambda s: (-chain[s], order.index(s)))
            now = time.time()
            for s in ready:
                marks.setdefault(s, {}).setdefault("ready", now)
            if not ready and not busy():
                raise RunError(f"crm-report: cannot order {', '.join(pending)}")
            if ready and jobs <= 1:  # in this process, one at a time
                stem = ready[0]
                pending.remove(stem)
                merge_metrics(ctx.staging, order)  # upstream figures complete for readers
                if bar is not None:
                    bar.set_description(stem)
                marks[stem]["given"] = time.time()
                r = run_notebook(ctx, by_stem[stem], log=log, timeline=marks[stem])
                finished.add(stem)
                log(_line(r))
                if bar is not None:
                    bar.update(1)
                continue
            while ready and len(busy()) < jobs:
                stem = ready.pop(0)
                pending.remove(stem)
                merge_metrics(ctx.staging, order)  # upstream figures complete for readers
                for w in [w for w in workers if w.stem is None and w.proc.poll() is not None]:
                    w.close()
                    workers.remove(w)  # an idle worker that has exited: start another
                idle = sorted((w for w in workers if w.stem is None),
                              key=lambda w: (w.warm != stem, w.warm is not None))
                w = idle[0] if idle else _start_worker(ctx, len(workers) + 1)
                if not idle:
                    workers.append(w)
                marks[stem]["given"] = time.time()
                w.give(stem)
                log(f"  {stem}: started")
            if warm:
                _warm_idle(workers, [by_stem[s] for s in
                                     _next_up(pending, finished, graph, chain, order)])
            for stem in to_export:  # after the next notebooks are out (nbconvert holds
                html.append(exports.submit(export_result_html, ctx.staging, stem, log=log,
                                           timeline=marks[stem]))  # the GIL a while)
            to_export.clear()
            if not pending:  # nothing left to hand out: idle workers may exit now
                for w in workers:
                    if w.stem is None:
                        w.close()
            time.sleep(0.05)
            for w in busy():
                stem = w.stem
                r = read_result(ctx.staging, stem)
                if r is None and w.proc.poll() is None:
                    continue  # still running
                marks.setdefault(stem, {})["seen"] = time.time()
                if r is None:  # the worker died before writing its result
                    log_file = ctx.staging / "logs" / f"{stem}.log"
                    tail = log_file.read_text()[-500:] if log_file.exists() else ""
                    r = NotebookResult(stem, "failed", round(time.perf_counter() - w.t0, 2),
                                       f"worker exited with code {w.proc.returncode}: {tail}",
                                       error="WorkerError", kind="retriable",
                                       timeline=marks[stem])
                    (ctx.staging / "results").mkdir(exist_ok=True)
                    result_path(ctx.staging, stem).write_text(json.dumps(r.to_json()))
                    w.close()
                    workers.remove(w)
                else:
                    to_export.append(stem)
                w.stem = None
                finished.add(stem)
                log(_line(r))
                if bar is not None:
                    bar.update(1)
        html += [exports.submit(export_result_html, ctx.staging, stem, log=log,
                                timeline=marks[stem]) for stem in to_export]
        for w in workers:  # no more notebooks: the workers exit at end of input
            w.close()
        for f in html:  # every page written before the run is published
            f.result()
        if exiting is None:
            wait_workers(workers)
        else:  # the caller waits (its kernels' graceful exit overlaps the publication)
            exiting.extend(workers)
        workers.clear()
    finally:
        try:
            _stop_workers(workers)  # interrupted: stop the workers and their kernels
        finally:  # even if a second signal cut that short: no page written after this
            exports.shutdown(wait=True, cancel_futures=True)  # (the caller drops staging)


def _next_up(pending: list[str], finished: set[str], graph: dict[str, list[str]],
             chain: dict[str, int], order: list[str]) -> list[str]:
    """Notebooks not yet given out, in the order they are expected to start: ready ones
    (longest chain first), then the others (longest chain first, then run order)."""
    return sorted(pending, key=lambda s: (not all(d in finished for d in graph[s]),
                                          -chain[s], order.index(s)))


def _warm_idle(workers: list[_Worker], next_up: list[Path]) -> None:
    """Each idle worker without a warm kernel warms one for the first notebook of
    ``next_up`` that no worker warms for yet."""
    targets = [p for p in next_up if p.stem not in {w.warm for w in workers}]
    for w in workers:
        if not targets:
            return
        if w.stem is None and w.warm is None and w.proc.poll() is None:
            w.warm_up(targets.pop(0))


def start_workers(out_root: Path, nbs: list[Path], n: int, *, warm: bool = True
                  ) -> list[_Worker]:
    """``n`` batch workers started before the run has an id (see :meth:`_Worker.attach`),
    each pre-warming the kernel of one of the first notebooks to run while this process
    opens the source and cleans its tables.

    The batch starts one (for the head of the longest chain): opening and cleaning use
    one core, and a worker with a warm kernel fits in the other; a second would compete
    with the cleaning that every notebook waits for (measured: the first notebook started
    later than with none), so the other workers start when they get their first notebook.
    """
    workers = []
    for _ in range(n):
        fd, early = tempfile.mkstemp(prefix="crm-worker-", suffix=".log")
        with os.fdopen(fd, "w") as fh:
            proc = subprocess.Popen(
                [sys.executable, "-m", "crm_lib.runner", "--out", str(out_root), "--serve",
                 "--quiet", "--no-html", "--early-log", early], stdin=subprocess.PIPE,
                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True, text=True,
                env={**os.environ, "CRM_HOME": str(config.paths().root)})
        workers.append(_Worker(proc, early_log=Path(early)))
    if warm:
        graph = artefacts.notebook_graph(nbs)
        order = [p.stem for p in nbs]
        by_stem = {p.stem: p for p in nbs}
        _warm_idle(workers, [by_stem[s] for s in _next_up(order, set(), graph,
                                                          critical_path_first(graph), order)])
    return workers


def _start_worker(ctx: RunContext, n: int) -> _Worker:
    logs = ctx.staging / "logs"
    logs.mkdir(exist_ok=True)
    with (logs / f"worker-{n}.log").open("w") as fh:
        proc = subprocess.Popen(_worker_cmd(ctx), stdin=subprocess.PIPE, stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True, text=True,
                                env={**os.environ, "CRM_HOME": str(config.paths().root)})
    return _Worker(proc)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def prepare_tables(ctx: RunContext, nbs: list[Path], log) -> None:
    """Clean every table of the source once, before any notebook starts.

    Notebooks then find the processed tables cached; a data-contract error
    stops the run here (RunError, exit 2) with the cleaning step's message.
    """
    if not ctx.available:
        return
    t0 = time.perf_counter()
    try:
        data.processed_dir(ctx.spec())
    except Exception as exc:  # noqa: BLE001 - a user-facing message, no traceback
        raise RunError(f"crm-report: the source's tables cannot be cleaned: "
                       f"{type(exc).__name__}: {exc}", EXIT_PERMANENT) from exc
    log(f"  tables of {ctx.source_key} cleaned and cached ({time.perf_counter() - t0:.1f} s)")


def run(*, source: str | None = None, params_file: str | None = None, notebooks: str | None = None,
        out: str | None = None, resume: str | None = None, dated: bool = False,
        overrides: dict | None = None, quiet: bool = False,
        notebooks_dir: str | None = None, jobs: int | None = None,
        skip_missing: bool = True, cell_timeout: int | None = None,
        warm: bool = True) -> tuple[int, Path]:
    """Run the batch; returns (exit code, run folder).

    ``notebooks_dir`` replaces the project's notebooks folder (used by tests
    and by users with their own numbered notebooks); ``jobs`` is the number
    of notebooks run at the same time (default 2, 1 = sequential in this
    process); ``warm=False`` starts each notebook's kernel when the notebook
    starts instead of pre-warming it (:mod:`.kernels`). Nothing is written when
    the notebooks, the parameters or the source are wrong (exit 2, run folder
    ``Path()``). The manifest's ``timeline`` has the run's start, the end of
    table cleaning and of execution (epoch seconds); each notebook's result has
    its own (:func:`crm_lib.runner.steps.timeline_table`).
    """
    started = time.perf_counter()
    marks = {"start": time.time()}
    log = (lambda *_: None) if quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    jobs = DEFAULT_JOBS if jobs is None else int(jobs)
    out_root = config.resolve_path(out) if out else config.paths().reports
    ctx = None
    workers: list[_Worker] = []  # started early; execute() owns them once it runs
    try:
        nb_folder = config.resolve_path(notebooks_dir) if notebooks_dir else None
        nbs = order_notebooks(select_notebooks(list_notebooks(nb_folder), notebooks))
        n_jobs = jobs if len(nbs) > 1 else 1
        if n_jobs > 1 and warm:  # one worker warms the first kernel while the source is
            workers = start_workers(out_root, nbs, 1)  # opened and its tables cleaned
        ctx = prepare(run_id="", out_root=out_root, source=source, params_file=params_file,
                      overrides=overrides, notebooks_dir=notebooks_dir,
                      skip_missing=skip_missing, log=log)
        ctx.cell_timeout = cell_timeout
        prev = find_resume(out_root, resume, ctx) if resume else None
        with signals_raise(), out_lock(out_root):
            ctx.run_id = new_run_id(out_root, dated=dated, source=str(ctx.params["source"]))
            init_staging(ctx, fresh=True)
            for n, w in enumerate(workers, 1):
                w.attach(ctx.run_id, n)
            done = copy_resumed(prev, ctx.staging) if prev else {}
            done = {k: v for k, v in done.items() if k in {p.stem for p in nbs}}
            log(f"crm-report: run {ctx.run_id}, source {ctx.params['source']} "
                f"(as_of {ctx.as_of}, {ctx.as_of_from}), {len(nbs)} notebooks, "
                f"{min(jobs, len(nbs))} at a time")
            if len(done) < len(nbs):
                prepare_tables(ctx, nbs, log)
            marks["tables"] = time.time()
            from tqdm import tqdm
            with tqdm(total=len(nbs), disable=quiet, unit="nb", file=sys.stderr) as bar:
                given, workers = workers, []  # execute() stops them from here on
                execute(ctx, nbs, done, jobs=n_jobs, log=log, bar=bar, workers=given,
                        warm=warm, exiting=workers)
            marks["executed"] = time.time()
            out = publish(ctx, nbs, duration_s=time.perf_counter() - started,
                          extra={"jobs": jobs, "warm_kernels": warm and n_jobs > 1,
                                 "timeline": marks}, log=log)
            wait_workers(workers)  # exiting since the last result; nothing is left running
            workers.clear()
            return out
    except RunError as exc:
        print(str(exc), file=sys.stderr)
        _drop_staging(ctx)
        return exc.code, Path()
    except (Interrupted, KeyboardInterrupt) as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        print(f"crm-report: interrupted ({signal.Signals(signum).name}); staging removed, "
              "nothing published", file=sys.stderr)
        _drop_staging(ctx)
        return 128 + int(signum), Path()
    except BaseException:
        _drop_staging(ctx)
        raise
    finally:
        _stop_workers(workers)


def wait_workers(workers: list[_Worker], timeout: float = 60) -> None:
    """Wait for workers whose input is closed to exit (they stop their kernels first)."""
    for w in workers:
        try:
            w.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(w.proc)
        w.drop_early_log()


def _stop_workers(workers: list[_Worker]) -> None:
    """Stop workers (and their kernels) that no longer have a run to serve."""
    for w in workers:
        _kill_group(w.proc)
        w.close()
        w.drop_early_log()


def _drop_staging(ctx: RunContext | None) -> None:
    if ctx is not None and ctx.run_id and ctx.staging.exists():
        shutil.rmtree(ctx.staging, ignore_errors=True)
