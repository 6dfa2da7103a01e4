"""Batch wall time versus the papermill floor.

Runs the whole notebook batch on the demo company (in-process papermill, as
``crm-report`` does), then runs the same number of empty one-cell notebooks
through ``papermill.execute_notebook`` with the same kernel: the floor any
batch of that many notebooks pays for kernel start-up and shutdown. Prints
each notebook's time and CPU seconds (its worker and kernel, from the run's
manifest), their sum (more than the batch
when the runner runs notebooks side by side), the run's timeline (when each
notebook was ready, given out, had its kernel up, finished and had its HTML
written), the batch, the floor, the ratio
against the target of 8 and the machine's load (a loaded machine inflates
both; the ratio survives load better than either).

    .venv/bin/python benchmarks/batch.py [--n-customers 20000] [--no-warm]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import nbformat
import papermill as pm

from crm_lib import config, runner

TARGET = 8.0  # issue 16: the batch within 8x the floor of the same number of empty notebooks


def _cpu() -> float:
    """CPU seconds of this process and its waited-for children (workers, kernels)."""
    own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def empty_notebooks(folder: Path, n: int) -> list[Path]:
    out = []
    for i in range(n):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("pass")]
        nb.metadata["kernelspec"] = {"name": "crm", "display_name": "Python (crm)",
                                     "language": "python"}
        p = folder / f"{i:02d}_empty.ipynb"
        nbformat.write(nb, p)
        out.append(p)
    return out


def print_timeline(manifest: dict, batch: float) -> None:
    """When each notebook was ready, given to a worker, had its kernel up (``w``: a
    pre-warmed one), finished and had its HTML written, in seconds since the run started;
    then the run's own marks (tables cleaned, notebooks done, published)."""
    from crm_lib.runner.steps import NotebookResult, timeline_table

    marks = manifest.get("timeline") or {}
    if "start" not in marks:
        return
    rows = timeline_table([NotebookResult.from_json(n) for n in manifest["notebooks"]],
                          marks["start"])
    cols = ("ready", "given", "start", "kernel", "end", "html")
    print(f"{'timeline (s since the run started)':<34}" + "".join(f"{c:>8}" for c in cols)
          + f"{'kernel_s':>9}{'cells_s':>8}")
    for r in sorted(rows, key=lambda r: r.get("given", 0.0)):
        name = r["name"] + (" (w)" if r["warm"] else "")
        print(f"  {name:<32}" + "".join(f"{r[c]:>8.2f}" if c in r else f"{'':>8}"
                                         for c in cols)
              + f"{r['kernel_s'] or 0:>9.2f}{r['cells_s'] or 0:>8.2f}")
    print(f"  tables cleaned {marks['tables'] - marks['start']:.2f}, notebooks done "
          f"{marks['executed'] - marks['start']:.2f}, batch returned {batch:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-customers", type=int, default=20000)
    ap.add_argument("--no-warm", action="store_true", help="no pre-warmed kernels")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["CRM_HOME"] = str(tmp / "home")
        nbs = runner.list_notebooks()
        cpu0 = _cpu()
        t0 = time.perf_counter()
        code, run_dir = runner.run(out=str(tmp / "reports"), quiet=True,
                                   overrides={"n_customers": a.n_customers},
                                   warm=not a.no_warm)
        batch = time.perf_counter() - t0
        batch_cpu = _cpu() - cpu0
        empties = empty_notebooks(tmp, len(nbs))
        t0 = time.perf_counter()
        for p in empties:
            pm.execute_notebook(str(p), str(p.with_suffix(".out.ipynb")),
                                kernel_name=config.KERNEL_NAME, progress_bar=False)
        floor = time.perf_counter() - t0
        floor_cpu = _cpu() - cpu0 - batch_cpu
        manifest = json.loads((run_dir / "manifest.json").read_text())
        per_nb = {n["name"]: (n["duration_s"], n.get("cpu_s", float("nan"))) for n in
                  manifest["notebooks"]}
    print(f"{'what':<40}{'seconds':>10}{'CPU s':>10}")
    for name, (s, c) in per_nb.items():
        print(f"  {name:<38}{s:>10.1f}{c:>10.1f}")
    print(f"  {'sum of the notebooks':<38}{sum(s for s, _ in per_nb.values()):>10.1f}"
          f"{sum(c for _, c in per_nb.values()):>10.1f}")
    print(f"{'batch (' + str(len(nbs)) + ' notebooks, exit ' + str(code) + ')':<40}{batch:>10.1f}"
          f"{batch_cpu:>10.1f}")
    print(f"{'floor (' + str(len(nbs)) + ' empty notebooks)':<40}{floor:>10.1f}{floor_cpu:>10.1f}")
    print_timeline(manifest, batch)
    ratio = batch / floor
    print(f"{'ratio batch / floor':<40}{ratio:>10.1f}  (target {TARGET:g} or less: "
          f"{'met' if ratio <= TARGET else 'not met'})")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
