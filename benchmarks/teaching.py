"""Batch time of the teaching notebooks against the papermill floor.

Notebook 00 must run in batch in under 20 s. This runs it (and notebook 06 on a
run folder holding a metrics.json) through ``papermill.execute_notebook`` in
process, as ``crm-report`` does, next to an empty one-cell notebook with the same
kernel (the floor: kernel start and stop), ``--repeat`` times each, and prints
the median wall times and their ratio to the floor.

    .venv/bin/python benchmarks/teaching.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
import papermill as pm

from crm_lib import config


def _time(nb: Path, out: Path, params: dict) -> float:
    t0 = time.perf_counter()
    pm.execute_notebook(str(nb), str(out), parameters=params, kernel_name=config.KERNEL_NAME,
                        progress_bar=False, cwd=str(nb.parent))
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    nbs = config.package_root() / "notebooks"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["CRM_HOME"] = str(tmp / "home")
        empty = tmp / "empty.ipynb"
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass")])
        nb.metadata["kernelspec"] = {"name": "crm", "display_name": "Python (crm)",
                                     "language": "python"}
        nbformat.write(nb, empty)
        run = tmp / "run"
        run.mkdir()
        (run / "metrics.json").write_text(json.dumps(
            {"churn.rate": 0.2, "survey.nps": 12.5, "roi.budget": 1e4,
             "roi.expected_profit": 2e3, "roi.prob_loss": 0.1}))
        cases = {
            "empty notebook (floor)": (empty, {}),
            "00_crm_concepts": (nbs / "00_crm_concepts.ipynb", {"run_dir": str(run)}),
            "06_executive_summary (no tables)": (nbs / "06_executive_summary.ipynb",
                                                 {"run_dir": str(run), "trend_months": 0}),
        }
        times = {k: statistics.median(_time(nb, tmp / "out.ipynb", p) for _ in range(a.repeat))
                 for k, (nb, p) in cases.items()}
    floor = times["empty notebook (floor)"]
    print(f"{'notebook':<36}{'median s':>10}{'x floor':>10}")
    for k, t in times.items():
        print(f"{k:<36}{t:>10.2f}{t / floor:>10.1f}")
    print(f"00 budget: 20 s; margin {20 - times['00_crm_concepts']:.1f} s")


if __name__ == "__main__":
    main()
