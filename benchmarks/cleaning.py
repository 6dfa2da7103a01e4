"""Cleaning speed and memory: rows per second for 1e5, 1e6 and 1e7 transactions.

Each size is measured in a fresh subprocess (so the peak resident memory of one
run is its own), on a generated raw folder: ``customers.csv`` (100,000
customers) and ``transactions.csv`` with n rows in the demo's shape, plus a
little mess (0.1% of amounts with a currency symbol and thousands separator,
0.1% day-first dates, 0.05% exact duplicates, 0.05% orphans, 1% refunds).

Two timings per size, in the same process:

- ``clean``: :func:`crm_lib.cleaning.clean_folder` on both tables (read, repair,
  validate, de-duplicate, check integrity, flag outliers, write Parquet and the
  quarantine), reported as transactions per second;
- ``baseline``: the least any loader does: ``pandas.read_csv`` (pyarrow engine)
  of the transactions, ``to_datetime`` and ``to_numeric``, then ``to_parquet``,
  with no checks. The ratio clean/baseline is the price of the guarantees.

Usage::

    .venv/bin/python benchmarks/cleaning.py                # 1e5, 1e6, 1e7
    .venv/bin/python benchmarks/cleaning.py --sizes 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

N_CUSTOMERS = 100_000


def write_raw(folder: Path, n: int, seed: int = 0) -> None:
    """Write customers.csv and transactions.csv (n rows) into ``folder``."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    cid = np.char.add("C", np.char.zfill(np.arange(1, N_CUSTOMERS + 1).astype(str), 7))
    signup = pd.Timestamp("2022-01-01") + pd.to_timedelta(
        rng.integers(0, 365, N_CUSTOMERS), unit="D")
    cust = pa.table({
        "customer_id": cid, "signup_date": signup.strftime("%Y-%m-%d").to_numpy(),
        "end_date": np.full(N_CUSTOMERS, ""), "churned": np.full(N_CUSTOMERS, "False"),
        "plan": rng.choice(["basic", "standard", "premium"], N_CUSTOMERS),
        "monthly_charges": np.round(rng.gamma(4, 12, N_CUSTOMERS), 2).astype(str),
        "n_products": rng.integers(1, 5, N_CUSTOMERS).astype(str),
    })
    pacsv.write_csv(cust, folder / "customers.csv")

    chunk = 2_000_000
    writer = None
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        ids = np.char.add("T", np.char.zfill(np.arange(start + 1, start + m + 1).astype(str),
                                             9))
        cust_ix = rng.integers(0, N_CUSTOMERS, m)
        who = cid[cust_ix]
        orphan = rng.random(m) < 0.0005
        who = np.where(orphan, "X0000000", who)
        secs = rng.integers(0, 3 * 365 * 86400, m)
        ts = pd.Timestamp("2023-01-01") + pd.to_timedelta(secs, unit="s")
        date = ts.strftime("%Y-%m-%d %H:%M:%S").to_numpy().astype(object)
        dmy = rng.random(m) < 0.001
        date[dmy] = ts[dmy].strftime("%d/%m/%Y")
        amount = np.round(rng.gamma(2.0, 20.0, m), 2)
        refund = rng.random(m) < 0.01
        amount[refund] *= -1
        amount_s = amount.astype(str).astype(object)
        cur = rng.random(m) < 0.001
        amount_s[cur] = [f"${a:,.2f}" for a in amount[cur] * 100]
        tbl = pa.table({
            "transaction_id": ids, "customer_id": who, "date": date.astype(str),
            "amount": amount_s.astype(str),
            "product": rng.choice(["top-up", "accessory", "device"], m),
            "channel": rng.choice(["online", "store"], m),
        })
        dup = np.flatnonzero(rng.random(m) < 0.0005)
        if len(dup):  # exact duplicates: repeat some rows
            tbl = pa.concat_tables([tbl, tbl.take(pa.array(dup))])
        if writer is None:
            writer = pacsv.CSVWriter(folder / "transactions.csv", tbl.schema)
        writer.write_table(tbl)
    writer.close()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def measure(folder: Path, mode: str) -> dict:
    """Run in a child process (so the peak memory is this step's own)."""
    out: dict = {}
    t0 = time.perf_counter()
    if mode == "baseline":
        df = pd.read_csv(folder / "transactions.csv", engine="pyarrow")
        df["date"] = pd.to_datetime(df["date"], errors="coerce", format="ISO8601")
        df["amount"] = pd.to_numeric(df["amount"], errors="coerce")
        df.to_parquet(folder / "baseline.parquet")
        out["rows_in"] = len(df)
    else:
        from crm_lib import cleaning
        rep = cleaning.clean_folder(folder, folder / "out", folder / "q",
                                    tables=("customers", "transactions"), as_of="2026-06-30")
        t = rep["tables"]["transactions"]
        out.update({k: t[k] for k in ("rows_in", "rows_clean", "rows_quarantined",
                                      "rows_duplicate_dropped", "conserved")})
    out["seconds"] = time.perf_counter() - t0
    out["peak_mb"] = _peak_mb()
    return out


def _child(folder: Path, mode: str) -> dict:
    res = subprocess.run([sys.executable, __file__, "--child", str(folder), "--mode", mode],
                         capture_output=True, text=True, check=False)
    if res.returncode:
        raise SystemExit(f"{mode} run failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--mode", default="clean", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(measure(Path(a.child), a.mode)))
        return 0
    rows = []
    for n in a.sizes:
        tmp = Path(tempfile.mkdtemp(prefix=f"crm-bench-{n}-"))
        try:
            t0 = time.perf_counter()
            write_raw(tmp, n)
            gen = time.perf_counter() - t0
            mb = (tmp / "transactions.csv").stat().st_size / 1e6
            base = _child(tmp, "baseline")
            r = _child(tmp, "clean")
            rows.append({"transactions": n, "rows_read": r["rows_in"], "csv_mb": round(mb),
                         "gen_s": round(gen, 1), "clean_s": round(r["seconds"], 2),
                         "rows_per_s": round(r["rows_in"] / r["seconds"]),
                         "peak_rss_mb": round(r["peak_mb"]),
                         "baseline_s": round(base["seconds"], 2),
                         "baseline_rows_per_s": round(base["rows_in"] / base["seconds"]),
                         "baseline_peak_mb": round(base["peak_mb"]),
                         "time_ratio": round(r["seconds"] / base["seconds"], 2),
                         "memory_ratio": round(r["peak_mb"] / base["peak_mb"], 2),
                         "quarantined": r["rows_quarantined"],
                         "dup_dropped": r["rows_duplicate_dropped"],
                         "conserved": r["conserved"]})
            print(rows[-1], flush=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(pd.DataFrame(rows).to_string(index=False))
    print("\nrows_per_s: transactions read and cleaned per second (the 100,000 customers "
          "are cleaned too); peak_rss_mb: peak resident memory of the cleaning process; "
          "time_ratio, memory_ratio: cleaning / baseline (read_csv + to_datetime + "
          "to_numeric + to_parquet, no checks), each in its own process.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
