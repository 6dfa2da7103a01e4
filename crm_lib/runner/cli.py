"""The ``crm-report`` command: the whole batch, or one step of it for a scheduler."""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import sys
import time
from pathlib import Path

from .. import config
from .batch import Interrupted, out_lock, prepare_tables, run, signals_raise
from .kernels import WARM
from .notebooks import RunError, list_notebooks, order_notebooks, plan_json, select_notebooks
from .steps import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_RETRIABLE,
    EXIT_SKIPPED,
    RunContext,
    init_staging,
    prepare,
    publish,
    result_path,
    run_notebook,
    run_status,
)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="crm-report", description="Run the CRM notebooks in batch and publish a report. "
        "Exit codes: 0 ok, 1 a notebook failed in a cell, 2 permanent error (parameters, data, "
        "missing input), 3 skipped / nothing to analyse, 75 retriable (kernel died, timeout).")
    ap.add_argument("--source", help="data source: demo (default), telco, cdnow, folder")
    ap.add_argument("--data-dir", help="folder of your table files (source folder)")
    ap.add_argument("--params", help="YAML file of parameters (common keys, plus "
                    "'notebooks: {NN_name: {...}}' for per-notebook values); a relative path "
                    "is looked up in the current folder, then in the project root")
    ap.add_argument("--notebooks", help="comma-separated numbers or names, e.g. 01,04")
    ap.add_argument("--out", help="reports folder (default: reports/)")
    ap.add_argument("--resume", help="earlier run id or folder (or 'last'): keep its ok "
                    "notebooks, run the rest (refused when source, parameters or inputs differ)")
    ap.add_argument("--dated", action="store_true",
                    help="name the run folder by date (YYYY-MM-DD, then -2, -3...), for "
                    "scheduled runs")
    ap.add_argument("--n-customers", type=int, help="demo company size")
    ap.add_argument("--seed", type=int, help="seed for every random step")
    ap.add_argument("--as-of", help="analysis date (ISO)")
    ap.add_argument("--jobs", type=int, default=None,
                    help="notebooks run at the same time when their inputs are ready "
                    "(default 2; 1 runs them one after the other)")
    ap.add_argument("--fail-on-missing", action="store_true",
                    help="a notebook whose table the source lacks fails (exit 2) instead of "
                    "being skipped")
    ap.add_argument("--cell-timeout", type=int, help="seconds a cell may run; longer is a "
                    "retriable failure (exit 75)")
    ap.add_argument("--no-warm", action="store_true", help="start each notebook's kernel "
                    "when the notebook starts (by default an idle worker starts and warms up "
                    "the kernel of a notebook still to come: its imports done in advance)")
    ap.add_argument("--quiet", action="store_true", help="no progress output")
    ap.add_argument("--notebooks-dir", help=argparse.SUPPRESS)
    # batch workers (crm_lib.runner.batch): the parent exports HTML; --serve reads notebook
    # stems from stdin, one a line, and runs each in turn (one process, many notebooks)
    ap.add_argument("--no-html", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--early-log", help=argparse.SUPPRESS)
    steps = ap.add_argument_group("steps for schedulers (see docs/scheduling.md)")
    steps.add_argument("--plan", action="store_true", help="print the run graph as JSON: "
                       "notebooks in order with the notebooks they run after and the artefacts "
                       "they read and write")
    steps.add_argument("--run-id", help="the run the step belongs to")
    steps.add_argument("--stage-only", action="store_true", help="run --notebooks into "
                       "<out>/.staging-ID/ (without --notebooks: prepare staging and tables)")
    steps.add_argument("--fresh", action="store_true", help="with --stage-only: empty staging "
                       "first (the first task of a run)")
    steps.add_argument("--publish", action="store_true", help="publish <out>/.staging-ID/ as "
                       "<out>/ID (or ID-failed) with manifest, metrics and index")
    return ap


def _overrides(a: argparse.Namespace) -> dict:
    return {k: v for k, v in {"n_customers": a.n_customers, "seed": a.seed,
                              "as_of": a.as_of, "data_dir": a.data_dir}.items()
            if v is not None}


def _out_root(a) -> Path:
    return config.resolve_path(a.out) if a.out else config.paths().reports


def _log(quiet: bool):
    return (lambda *_: None) if quiet else (lambda m: print(m, file=sys.stderr, flush=True))


def stage_only(a) -> int:
    """Run the selected notebooks into the run's staging (one task of a scheduled run)."""
    log = _log(a.quiet)
    out_root = _out_root(a)
    staging = out_root / f".staging-{a.run_id}"
    given = a.source or a.params or _overrides(a)
    if (staging / "run.json").exists() and not a.fresh and not given:
        ctx = RunContext.load(staging)  # a later task: the run's parameters as first given
        if a.notebooks_dir and str(config.resolve_path(a.notebooks_dir)) != ctx.notebooks_dir:
            raise RunError(f"crm-report: run {a.run_id} was started with notebooks from "
                           f"{ctx.notebooks_dir or 'the project'}")
    else:
        ctx = prepare(run_id=a.run_id, out_root=out_root, source=a.source,
                      params_file=a.params, overrides=_overrides(a),
                      notebooks_dir=a.notebooks_dir, skip_missing=not a.fail_on_missing,
                      log=log)
        init_staging(ctx, fresh=a.fresh)
    if a.cell_timeout is not None:  # this task only
        ctx.cell_timeout = a.cell_timeout
    if a.serve:
        return serve(ctx, staging, log=log, html=not a.no_html)
    if not a.notebooks:
        prepare_tables(ctx, [], log)
        return EXIT_OK
    nbs = order_notebooks(select_notebooks(list_notebooks(ctx.nb_folder), a.notebooks))
    results = [_stage_one(ctx, staging, nb, log=log, html=not a.no_html) for nb in nbs]
    if len(results) == 1:
        return results[0].exit_code
    return run_status(results)[1]


def _stage_one(ctx: RunContext, staging: Path, nb: Path, *, log, html: bool, warm=None,
               timeline: dict | None = None, spent: list | None = None):
    try:
        with signals_raise():
            r = run_notebook(ctx, nb, log=log, html=html, warm=warm, timeline=timeline,
                             spent=spent)
    except Interrupted:  # leave nothing half-written of this notebook
        for f in (staging / nb.name, staging / f"{nb.stem}.html",
                  staging / "metrics" / f"{nb.stem}.json", result_path(staging, nb.stem)):
            f.unlink(missing_ok=True)
        raise
    log(f"  {r.name}: {r.status} ({r.duration_s:.1f} s) {r.message}".rstrip())
    return r


def serve(ctx: RunContext | None, staging: Path | None, *, log, html: bool,
          out_root: Path | None = None, early_log: str = "") -> int:
    """A batch worker: run each notebook stem read from stdin (one a line) until EOF.

    The batch keeps ``jobs`` such workers and hands each the next ready
    notebook when the previous one's result is written, so papermill,
    nbformat and this package are imported once per worker, not once per
    notebook. Each notebook still runs in a fresh kernel, and its output goes
    to ``logs/<stem>.log``.

    A ``+warm PATH`` line starts a kernel for the notebook at ``PATH`` now and
    runs its set-up imports in it (:mod:`crm_lib.runner.kernels`) while the
    worker waits; the next notebook runs in it if it fits, and one left over is
    shut down at EOF (or when the worker is stopped). A worker started before its
    run has an id (``ctx`` None, started while the source is opened) gets it with a
    ``+run ID N`` line: it then loads the run from ``out_root``'s staging and moves
    its output from ``early_log`` to ``logs/worker-N.log``.
    """
    from .kernels import RUN, WarmKernel, setup_imports

    own_out = os.dup(1), os.dup(2)  # the worker's log, for what a warm kernel prints
    spare = None  # a pre-warmed kernel for the next notebook (crm_lib.runner.kernels)
    spent: list = []  # the kernel of the notebook just run, shut down after its result

    def to_own_log() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(own_out[0], 1)
        os.dup2(own_out[1], 2)

    def attach(run_id: str, n: str) -> tuple[RunContext, Path]:
        st = Path(out_root) / f".staging-{run_id}"
        c = RunContext.load(st)
        (st / "logs").mkdir(exist_ok=True)
        log_path = st / "logs" / f"worker-{n}.log"
        early = Path(early_log) if early_log else None
        to_own_log()
        if early is not None and early.exists():
            log_path.write_bytes(early.read_bytes())
        fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        for k in (0, 1):
            os.dup2(fd, own_out[k])
        os.close(fd)
        to_own_log()
        if early is not None:
            early.unlink(missing_ok=True)
        return c, st

    try:
        with signals_raise():  # SIGTERM: still shut the spare kernel down
            by_stem = {p.stem: p for p in list_notebooks(ctx.nb_folder)} if ctx else {}
            if staging is not None:
                (staging / "logs").mkdir(exist_ok=True)
            for line in _commands(spent):
                cmd, _, arg = line.strip().partition(" ")
                if not cmd:
                    continue
                if cmd == RUN:
                    ctx, staging = attach(*arg.split(" "))
                    by_stem = {p.stem: p for p in list_notebooks(ctx.nb_folder)}
                    continue
                if cmd == WARM:  # +warm PATH: a kernel for that notebook
                    if spare is None:
                        target = Path(arg)
                        to_own_log()
                        try:
                            spare = WarmKernel(config.KERNEL_NAME, target.parent,
                                               setup_imports(target), stem=target.stem)
                        except Exception as exc:  # noqa: BLE001 - the notebook starts cold
                            print(f"crm-report: no warm kernel: {type(exc).__name__}: {exc}",
                                  file=sys.stderr, flush=True)
                    continue
                if ctx is None or staging is None:
                    raise RunError(f"crm-report: worker given {cmd} before its run ({RUN})")
                sys.stdout.flush()
                sys.stderr.flush()
                with (staging / "logs" / f"{cmd}.log").open("w") as fh:
                    os.dup2(fh.fileno(), 1)
                    os.dup2(fh.fileno(), 2)
                _stage_one(ctx, staging, by_stem[cmd], log=log, html=html, warm=spare,
                           spent=spent)
                if spare is not None and spare.km is None:
                    spare = None  # taken (or shut down): the next notebook needs another
                for k in spent:  # the result is out: ask the notebook's kernel to stop
                    k.request()  # (reaped when the worker waits for its next command)
                sys.stdout.flush()
                sys.stderr.flush()
    finally:
        while spent:
            spent.pop().shutdown()
        if spare is not None:
            to_own_log()
            print(f"crm-report: warm kernel for {spare.stem} not used; shut down",
                  file=sys.stderr, flush=True)
            spare.shutdown()
    return EXIT_OK


#: Seconds between a worker's checks for a command while its finished kernels exit; one
#: that has not exited after :data:`REAP_AFTER` seconds is stopped (and killed if need be).
POLL, REAP_AFTER = 0.1, 5.0


def _commands(spent: list):
    """The worker's command lines from stdin. The kernels of ``spent`` (finished
    notebooks, asked to stop) are reaped between commands, so a command that comes right
    after a result (the next notebook, a warm-up) is read at once."""
    buf = b""
    while True:
        while b"\n" not in buf:
            if spent and not select.select([0], [], [], POLL)[0]:
                now = time.monotonic()
                for k in [k for k in spent if now - k.requested_at > REAP_AFTER or
                          k.exited()]:
                    spent.remove(k)
                    k.shutdown()
                continue
            chunk = os.read(0, 65536)
            if not chunk:
                if buf.strip():
                    yield buf.decode()
                return
            buf += chunk
        line, buf = buf.split(b"\n", 1)
        yield line.decode()


def publish_step(a) -> int:
    """Publish a staged run (idempotent: an already published run reports its status)."""
    log = _log(a.quiet)
    out_root = _out_root(a)
    staging = out_root / f".staging-{a.run_id}"
    if not staging.exists():
        for name in (a.run_id, f"{a.run_id}-failed"):
            m = out_root / name / "manifest.json"
            if m.exists():
                man = json.loads(m.read_text())
                log(f"crm-report: run {a.run_id} is already published in {m.parent}")
                return {"ok": EXIT_OK, "empty": EXIT_SKIPPED}.get(man.get("status"),
                                                                  EXIT_FAILED)
        raise RunError(f"crm-report: no staged run {a.run_id} in {out_root}")
    ctx = RunContext.load(staging)
    nbs = order_notebooks(select_notebooks(list_notebooks(ctx.nb_folder), a.notebooks))
    with out_lock(out_root, timeout=60, code=EXIT_RETRIABLE):
        code, _ = publish(ctx, nbs, log=log)
    return code


def main(argv: list[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    try:
        if a.plan:
            folder = config.resolve_path(a.notebooks_dir) if a.notebooks_dir else None
            nbs = select_notebooks(list_notebooks(folder), a.notebooks)
            print(json.dumps(plan_json(nbs), indent=2))
            return EXIT_OK
        if a.serve and not a.run_id:  # a batch worker started before its run has an id
            return serve(None, None, log=_log(a.quiet), html=not a.no_html,
                         out_root=_out_root(a), early_log=a.early_log or "")
        if a.stage_only or a.publish:
            if not a.run_id:
                raise RunError("crm-report: --stage-only and --publish need --run-id")
            if a.stage_only and a.publish:
                raise RunError("crm-report: give --stage-only or --publish, not both")
            return stage_only(a) if a.stage_only else publish_step(a)
    except RunError as exc:
        print(str(exc), file=sys.stderr)
        return exc.code
    except Interrupted as exc:
        print(f"crm-report: interrupted ({signal.Signals(exc.signum).name})", file=sys.stderr)
        return 128 + exc.signum
    code, _ = run(source=a.source, params_file=a.params, notebooks=a.notebooks, out=a.out,
                  resume=a.resume, dated=a.dated, overrides=_overrides(a), quiet=a.quiet,
                  notebooks_dir=a.notebooks_dir, jobs=a.jobs,
                  skip_missing=not a.fail_on_missing, cell_timeout=a.cell_timeout,
                  warm=not a.no_warm)
    return code
