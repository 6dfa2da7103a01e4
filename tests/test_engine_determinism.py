"""The DuckDB summaries of an in-memory frame are the same to the last bit on every call.

DuckDB's parallel hash aggregation adds a group's partial sums in an order that
varies between calls; on two threads, repeated ``rfm_summary`` calls on the default
demo gave two different results about one call in three (differences near 1e-15
in spend; two runs of the same notebooks then differed by about 1e-12 in the
Gamma-Gamma fit, and the Airflow test had to allow 1e-6 on notebook 03's CLV total,
which once differed by 7e-9). Frames are therefore summarised on one thread
(``crm_lib.engine.api._table``). Twenty calls each must hash equal, on a machine with
two or more cores (on one core the test cannot tell, and says so).
"""

from __future__ import annotations

import hashlib
import os

import pandas as pd
import pytest

from crm_lib.churn import definition
from crm_lib.value import rfm_summary, rfm_table

CALLS = 20


def _digest(frame: pd.DataFrame) -> str:
    f = frame.sort_index() if frame.index.name else frame.sort_values(list(frame.columns[:1]))
    return hashlib.sha256(pd.util.hash_pandas_object(f.reset_index(), index=False)
                          .to_numpy().tobytes()).hexdigest()


@pytest.mark.parametrize("name", ["rfm_summary", "rfm_table", "transaction_features"])
def test_repeated_duckdb_summaries_are_bit_identical(demo_20k, name):
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: DuckDB runs one thread anyway, nothing to tell apart")
    tx = demo_20k.tables["transactions"].copy()
    tx["date"] = pd.to_datetime(tx["date"])
    call = {
        "rfm_summary": lambda: rfm_summary(tx, calibration_end="2026-01-01",
                                           observation_end="2026-06-30"),
        "rfm_table": lambda: rfm_table(tx, as_of="2026-06-30"),
        "transaction_features": lambda: definition.transaction_features(
            tx, pd.Timestamp("2026-01-01")),
    }[name]
    digests = {_digest(call()) for _ in range(CALLS)}
    assert len(digests) == 1, f"{name}: {len(digests)} different results in {CALLS} calls"
