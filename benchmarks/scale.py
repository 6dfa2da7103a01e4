"""Scale: clean + summarise 1e6, 1e7 and 1e8 transactions with pandas, DuckDB and Spark.

The transactions are generated once, out of core, by DuckDB (``range()`` and
hash-based pseudo-random columns written straight to Parquet) into
``data/bench-cache/transactions_<n>.parquet``, with a customers table of n/20
customers. Columns are text, as an export lands in a lake's raw layer (and as
``benchmarks/cleaning.py`` writes CSV): ISO timestamps with two-minute clock
times and plain decimal amounts, with a little mess: 0.1% day-first dates,
0.1% amounts with a currency symbol, 0.05% exact duplicate rows, 0.01% orphan
customer ids, 1% refunds.

Each (size, path) is measured in its own subprocess, whose peak resident
memory (the process and its children, e.g. Spark's JVM, sampled with psutil,
and ``ru_maxrss``) is its own:

- ``pandas``: :func:`crm_lib.cleaning.clean_table` on the table read into
  memory, then the in-memory summaries (``engine="pandas"``): BG/NBD inputs
  with a holdout (``value.rfm_summary``), churn transaction features and
  inactivity churn. Skipped above an estimated peak of ``--pandas-max-gb``
  (about 450 bytes per row, measured at 1e6 and 1e7);
- ``duckdb``: :func:`crm_lib.cleaning.outofcore.cleaned_events` (memory
  limit ``--memory-limit``, spill folder in the cache), which writes the clean
  Parquet file and the quarantine, and the same summaries as Ibis expressions
  on the clean table of that DuckDB session (no re-read of the clean file);
- ``spark``: the same summaries on PySpark ``local[2]`` reading the clean
  Parquet file (the cleaning step is DuckDB's; Spark has no cleaning path).

Rows/s is transactions per second of clean + summarise (the library imports are
done before the clock starts, on both paths: Ibis's DuckDB backend among them, 0.5 s). Each row also carries the CPU
seconds of the worker (all its threads; on a loaded machine these, not the wall
times, compare runs) and the 1-minute load average at its end. At 1e7 the DuckDB
/ pandas speed ratio is printed (same machine, same moment), in wall and CPU
seconds. Usage::

    .venv/bin/python benchmarks/scale.py                      # 1e6, 1e7, 1e8
    .venv/bin/python benchmarks/scale.py --sizes 1000000 --paths duckdb pandas
    CRM_BENCH_CACHE=/big/disk/bench .venv/bin/python benchmarks/scale.py   # another cache folder
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("CRM_BENCH_CACHE", ROOT / "data" / "bench-cache"))
AS_OF = "2026-06-30"
CAL = "2026-01-01"
BYTES_PER_ROW_PANDAS = 450


def generate(n: int, cache: Path = CACHE, memory_limit: str = "4GB") -> tuple[Path, Path]:
    """Write transactions_<n>.parquet and customers_<n>.parquet once (DuckDB, out of core)."""
    import duckdb

    cache.mkdir(parents=True, exist_ok=True)
    final_tx, cu = cache / f"transactions_{n}.parquet", cache / f"customers_{n}.parquet"
    if final_tx.exists() and cu.exists():
        return final_tx, cu
    tx = cache / f"transactions_{n}.parquet.partial"  # renamed when complete
    n_cust = max(n // 20, 1000)
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{cache / 'tmp'}'")
    con.execute("SET preserve_insertion_order = false")
    h = "hash(i * 7919 + {k})"  # a deterministic pseudo-random 64-bit number per row
    con.execute(f"""COPY (
        SELECT 'C' || lpad(CAST(i + 1 AS VARCHAR), 8, '0') AS customer_id,
               TIMESTAMP '2022-01-01' + to_days(CAST({h.format(k=1)} % 900 AS INTEGER))
                 AS signup_date,
               'basic' AS plan
        FROM range({n_cust}) t(i)) TO '{cu}' (FORMAT parquet)""")
    # one pass: rows n.. repeat every 2000th row (exact duplicates); one hash per row,
    # its bits cut into the columns
    n_dup = n // 2000
    con.execute(f"""COPY (
        WITH src AS (
          SELECT CASE WHEN i < {n} THEN i ELSE (i - {n}) * 2000 END AS j FROM range({n + n_dup}) t(i)),
        base AS (
          SELECT j, hash(j * 7919 + 3) AS h FROM src)
        SELECT 'T' || lpad(CAST(j AS VARCHAR), 10, '0') AS transaction_id,
          'C' || lpad(CAST(CASE WHEN h % 10000 = 0 THEN {n_cust} + 1 + j % 97
                                ELSE (h >> 14) % {n_cust} + 1 END AS VARCHAR), 8, '0')
            AS customer_id,
          CASE WHEN (h >> 34) % 1000 = 1
               THEN strftime(TIMESTAMP '2023-01-01' + to_minutes(CAST(((h >> 44) % 900000) * 2
                                                                     AS BIGINT)), '%d/%m/%Y')
               ELSE strftime(TIMESTAMP '2023-01-01' + to_minutes(CAST(((h >> 44) % 900000) * 2
                                                                     AS BIGINT)),
                             '%Y-%m-%d %H:%M:%S') END AS date,
          (CASE WHEN (h >> 34) % 1000 = 2 THEN '$' ELSE '' END) || CAST(round(
             CASE WHEN (h >> 4) % 100 = 0 THEN -1 ELSE 1 END
             * (5 + ((h >> 24) % 100000) / 1000.0) * (1 + (h >> 11) % 7), 2) AS VARCHAR)
            AS amount,
          ['top-up', 'device', 'plan', 'accessory'][1 + CAST((h >> 60) % 4 AS INTEGER)]
            AS product,
          ['web', 'store', 'app'][1 + CAST((h >> 57) % 3 AS INTEGER)] AS channel
        FROM base) TO '{tx}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)""")
    tx.rename(final_tx)
    con.close()
    return final_tx, cu


class PeakRSS:
    """Peak resident memory of this process and its children (psutil sampling), in bytes."""

    def __init__(self, every: float = 0.2) -> None:
        self.peak, self._stop, self.every = 0, threading.Event(), every

    def _run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            try:
                rss = me.memory_info().rss + sum(c.memory_info().rss
                                                 for c in me.children(recursive=True))
            except psutil.Error:
                rss = 0
            self.peak = max(self.peak, rss)
            time.sleep(self.every)

    def __enter__(self):
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self.peak = max(self.peak, own)


def _summarise(tx, at=AS_OF) -> dict:
    from crm_lib.churn import definition
    from crm_lib.value import rfm_summary

    s = rfm_summary(tx, calibration_end=CAL, observation_end=AS_OF)
    f = definition.transaction_features(tx, at)
    inact = definition.inactivity_churn(tx, as_of=AS_OF, window_days=180)
    return {"customers": len(s), "repeat_x": int(s["frequency"].sum()),
            "spend": round(float(f["spend_365d"].sum()), 2),
            "churned": int(inact["churned"].sum())}


def worker(path: str, n: int, memory_limit: str, threads: int) -> dict:
    """Clean + summarise one size on one path; returns timings, memory and checksums."""
    import pandas as pd

    # the modules of both paths are imported before the clock starts (importing
    # crm_lib.churn loads scikit-learn: seconds that are neither cleaning nor summarising)
    import crm_lib.churn.definition  # noqa: F401
    import crm_lib.cleaning.outofcore  # noqa: F401
    import crm_lib.cleaning.pipeline  # noqa: F401
    import crm_lib.value  # noqa: F401
    from crm_lib import engine

    if path == "duckdb":  # Ibis loads a backend's module (sqlglot's compiler) on first use
        import ibis.backends.duckdb  # noqa: F401

    tx, cu = generate(n)
    work = CACHE / f"work_{path}_{n}"
    work.mkdir(parents=True, exist_ok=True)
    ids = pd.read_parquet(cu, columns=["customer_id"])["customer_id"]
    out: dict = {"path": path, "n": n}
    with PeakRSS() as peak:
        t0, c0 = time.perf_counter(), time.process_time()
        if path == "pandas":
            from crm_lib.cleaning.pipeline import Context, clean_table
            from crm_lib.cleaning.reading import read_table

            engine.use("pandas")
            raw = read_table(tx, "transactions")
            res = clean_table(raw, as_of=AS_OF, context=Context(customer_ids=pd.Index(ids)))
            del raw
            rep, clean = res.report, res.clean
            t1, c1 = time.perf_counter(), time.process_time()
            out["summary"] = _summarise(clean)
        elif path == "duckdb":
            from crm_lib.cleaning.outofcore import cleaned_events

            # the summaries in the cleaning's DuckDB session, on its clean table (the
            # clean Parquet file and the quarantine are written all the same)
            with cleaned_events(tx, "transactions", work / "out", work / "q", as_of=AS_OF,
                                customer_ids=cu, memory_limit=memory_limit,
                                temp_directory=str(work), threads=threads) as cleaned:
                rep = cleaned.report
                t1, c1 = time.perf_counter(), time.process_time()
                out["summary"] = _summarise(cleaned.table)
        else:
            from crm_lib.cleaning.outofcore import clean_large_table

            rep = None
            clean = CACHE / f"work_duckdb_{n}" / "out" / "transactions.parquet"
            if not clean.exists():
                rep = clean_large_table(tx, "transactions", work / "out", work / "q",
                                        as_of=AS_OF, customer_ids=cu,
                                        memory_limit=memory_limit,
                                        temp_directory=str(work), threads=threads)
                clean = work / "out" / "transactions.parquet"
            t0, c0 = time.perf_counter(), time.process_time()  # Spark: summaries only
            engine.use("spark", spark_master=f"local[{threads}]",
                       spark_config={"spark.driver.memory": "6g",
                                     "spark.sql.shuffle.partitions": "16",
                                     "spark.local.dir": str(work / "spark")})
            t1, c1 = time.perf_counter(), time.process_time()
            out["summary"] = _summarise(clean)
        t2, c2 = time.perf_counter(), time.process_time()
    out.update({"clean_s": round(t1 - t0, 2) if path != "spark" else None,
                "summarise_s": round(t2 - t1, 2), "total_s": round(t2 - t0, 2),
                "peak_rss_gb": round(peak.peak / 1e9, 2),
                "rows_per_s": round(n / (t2 - t0)),
                # CPU seconds of this process (all threads; Spark's JVM not included)
                "clean_cpu_s": round(c1 - c0, 2) if path != "spark" else None,
                "summarise_cpu_s": round(c2 - c1, 2), "total_cpu_s": round(c2 - c0, 2),
                "load_1min": round(os.getloadavg()[0], 1)})
    if rep is not None:
        out.update({k: rep[k] for k in ("rows_in", "rows_clean", "rows_quarantined",
                                        "rows_duplicate_dropped")})
        out["conserved"] = rep["rows_in"] == rep["rows_clean"] + rep["rows_quarantined"] + \
            rep["rows_duplicate_dropped"]
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10**6, 10**7, 10**8])
    ap.add_argument("--paths", nargs="+", default=["pandas", "duckdb", "spark"])
    ap.add_argument("--memory-limit", default="8GB", help="DuckDB memory_limit")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pandas-max-gb", type=float, default=12.0)
    ap.add_argument("--spark-max-rows", type=int, default=10**8)
    ap.add_argument("--worker", nargs=2, metavar=("PATH", "N"), help=argparse.SUPPRESS)
    ap.add_argument("--json", help="also write the results to this file")
    a = ap.parse_args(argv)
    if a.worker:
        print(json.dumps(worker(a.worker[0], int(a.worker[1]), a.memory_limit, a.threads)))
        return
    rows = []
    for n in a.sizes:
        t = time.perf_counter()
        generate(n)
        print(f"# {n:,} transactions ready in {time.perf_counter() - t:.0f} s", flush=True)
        for path in a.paths:
            est = n * BYTES_PER_ROW_PANDAS / 1e9
            if path == "pandas" and est > a.pandas_max_gb:
                rows.append({"path": path, "n": n, "note": f"skipped: estimated peak {est:.0f} GB"})
                print(json.dumps(rows[-1]), flush=True)
                continue
            if path == "spark" and n > a.spark_max_rows:
                rows.append({"path": path, "n": n, "note": "skipped (--spark-max-rows)"})
                continue
            cmd = [sys.executable, __file__, "--worker", path, str(n), "--memory-limit",
                   a.memory_limit, "--threads", str(a.threads)]
            p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                               env={**os.environ, "PYTHONWARNINGS": "ignore"})
            if p.returncode:
                rows.append({"path": path, "n": n, "note": "failed: " + p.stderr.strip()[-300:]})
            else:
                rows.append(json.loads(p.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
    print("\n| transactions | path | clean (s) | summarise (s) | total (s) | rows/s | peak RSS (GB) |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for r in rows:
        if "note" in r:
            print(f"| {r['n']:,} | {r['path']} | {r['note']} | | | | |")
            continue
        clean = "DuckDB's" if r["clean_s"] is None else f"{r['clean_s']:.1f}"
        print(f"| {r['n']:,} | {r['path']} | {clean} | {r['summarise_s']:.1f} | "
              f"{r['total_s']:.1f} | {r['rows_per_s']:,} | {r['peak_rss_gb']:.2f} |")
    by = {(r["path"], r["n"]): r for r in rows if "note" not in r}
    for n in a.sizes:
        if ("pandas", n) in by and ("duckdb", n) in by:
            p_, d_ = by[("pandas", n)], by[("duckdb", n)]
            ratio = p_["total_s"] / d_["total_s"]
            cpu = p_["total_cpu_s"] / d_["total_cpu_s"]
            print(f"\nDuckDB / pandas speed ratio at {n:,} transactions: {ratio:.1f}x wall, "
                  f"{cpu:.1f}x CPU seconds (load {d_['load_1min']} / {p_['load_1min']})")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
