"""Time per step of every notebook: where a batch run spends its seconds.

Runs the batch as ``crm-report`` does (``runner.run``, papermill in-process,
one run folder so later notebooks reuse earlier artefacts), then reads the
executed notebooks back: papermill stores each cell's wall time in the
cell's metadata (``papermill.duration``). Each code cell is labelled by the
markdown heading above it and its first comment or line of code. Prints the
notebooks' totals and the slowest steps, and writes the full table as
Markdown (``--out``, default ``benchmarks/notebook_profile.md``) and CSV next to it.

    make profile                     # default demo: 20,000 customers, seed 42
    .venv/bin/python benchmarks/notebook_profile.py --n-customers 5000 --notebooks 04 --top 10

Timings are wall-clock seconds on whatever else the machine is doing; on a
shared machine compare steps within one run, not runs on different days.
"""

from __future__ import annotations

import argparse
import inspect
import os
import re
import tempfile
import time
from pathlib import Path

import nbformat
import pandas as pd

from crm_lib import runner

ROOT = Path(__file__).resolve().parents[1]


def cell_label(source: str, heading: str, width: int = 60) -> str:
    """``heading | first comment or code line`` of a code cell, shortened to ``width``."""
    lines = [ln.strip() for ln in source.splitlines() if ln.strip()]
    first = next((ln.lstrip("# ").strip() for ln in lines if ln.startswith("#")), None)
    first = first or (lines[0] if lines else "(empty)")
    if len(first) > width:
        first = first[: width - 3] + "..."
    return f"{heading} | {first}" if heading else first


def heading_of(markdown: str) -> str | None:
    """The last Markdown heading in a cell (``## 3. Who will leave next?`` -> its text)."""
    heads = re.findall(r"^#{1,4}\s+(.+?)\s*$", markdown, flags=re.M)
    return heads[-1] if heads else None


def notebook_steps(executed: Path) -> pd.DataFrame:
    """One row per executed code cell: index, label, tags, seconds (``papermill.duration``)."""
    nb = nbformat.read(executed, as_version=4)
    rows, heading = [], ""
    for i, c in enumerate(nb.cells):
        if c.cell_type == "markdown":
            heading = heading_of(c.source) or heading
            continue
        if c.cell_type != "code":
            continue
        d = (c.metadata.get("papermill") or {}).get("duration")
        tags = c.metadata.get("tags", [])
        label = "parameters" if {"parameters", "injected-parameters"} & set(tags) \
            else cell_label(c.source, heading)
        rows.append({"notebook": executed.stem, "cell": i, "step": label,
                     "tags": ",".join(tags), "seconds": float(d) if d is not None else float("nan")})
    return pd.DataFrame(rows)


def run_batch(n_customers: int, seed: int, notebooks: str | None, out: Path) -> tuple[int, Path]:
    """The batch through the project's runner, one notebook at a time when it can choose."""
    kw = dict(out=str(out), quiet=True, notebooks=notebooks,
              overrides={"n_customers": n_customers, "seed": seed})
    sig = inspect.signature(runner.run).parameters
    for name in ("jobs", "max_workers", "workers", "concurrency"):
        if name in sig:  # sequential: per-cell times without another notebook competing
            kw[name] = 1
            break
    return runner.run(**kw)


def markdown_table(df: pd.DataFrame) -> str:
    out = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    for r in df.itertuples(index=False):
        out.append("| " + " | ".join(f"{v:.2f}" if isinstance(v, float) else str(v)
                                     for v in r) + " |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-customers", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--notebooks", default=None, help="e.g. 02,04 (default: all)")
    ap.add_argument("--top", type=int, default=5, help="slowest steps shown per notebook")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "notebook_profile.md"))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ.setdefault("CRM_HOME", str(tmp / "home"))
        t0 = time.perf_counter()
        code, run_dir = run_batch(a.n_customers, a.seed, a.notebooks, tmp / "reports")
        wall = time.perf_counter() - t0
        executed = sorted(p for p in run_dir.glob("*.ipynb"))
        steps = pd.concat([notebook_steps(p) for p in executed], ignore_index=True)
    totals = steps.groupby("notebook", sort=True)["seconds"].agg(["sum", "size"]).rename(
        columns={"sum": "cells_s", "size": "cells"})
    lines = [f"# Notebook profile: demo, {a.n_customers:,} customers, seed {a.seed}", "",
             f"Batch wall time {wall:.1f} s (runner exit {code}); cell times from "
             f"`papermill.duration`; load average {os.getloadavg()[0]:.1f} on "
             f"{os.cpu_count()} cores at the end.", "",
             "## Totals", "", markdown_table(totals.reset_index()), ""]
    print(f"batch {wall:.1f} s (exit {code})")
    for nb, part in steps.groupby("notebook", sort=True):
        top = part.sort_values("seconds", ascending=False).head(a.top)
        print(f"\n{nb}: {part['seconds'].sum():.1f} s in {len(part)} cells")
        for r in top.itertuples():
            print(f"  {r.seconds:7.2f} s  [{r.cell:>2}] {r.step}")
        lines += [f"## {nb}", "", markdown_table(part[["cell", "step", "tags", "seconds"]]), ""]
    out = Path(a.out)
    out.write_text("\n".join(lines) + "\n")
    steps.to_csv(out.with_suffix(".csv"), index=False)
    print(f"\nfull table: {out} (and {out.with_suffix('.csv').name})")


if __name__ == "__main__":
    main()
