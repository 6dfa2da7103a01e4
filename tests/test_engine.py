"""The per-customer summaries: in-memory reference (pandas) == DuckDB == Spark.

Each summary is computed three ways on the small demo company: the reference
code (``engine="pandas"``), the Ibis expressions on DuckDB, and the same
expressions on PySpark ``local[2]`` (one SparkSession for the whole test
session, with the settings of ``conftest.SPARK_TEST_CONFIG``). DuckDB must
equal the reference to 1e-12 (same counting rules) and Spark must equal DuckDB
to 1e-9. A feature added to the reference code of
``crm_lib.churn.definition`` or ``crm_lib.value`` without its engine
expression fails here.
"""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest
from conftest import SPARK_TEST_CONFIG, _groups_file

from crm_lib import engine
from crm_lib.churn import definition
from crm_lib.value import rfm_summary, rfm_table

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

AT = pd.Timestamp("2025-12-31")
CAL, OBS = "2025-10-01", "2026-06-30"


def _summaries(tx: pd.DataFrame, it: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every engine summary through its pandas-facing function (current engine)."""
    return {
        "rfm_summary_day": rfm_summary(tx, calibration_end=CAL, observation_end=OBS),
        "rfm_summary_exact": rfm_summary(tx, calibration_end=CAL, observation_end=OBS,
                                         grain="exact", time_unit="D"),
        "rfm_summary_asof": rfm_summary(tx, calibration_end=OBS),
        "rfm_table": rfm_table(tx, as_of=OBS),
        "rfm_table_window": rfm_table(tx, as_of=OBS, window_days=365),
        "inactivity": definition.inactivity_churn(tx, as_of=OBS, window_days=180),
        "transaction_features": definition.transaction_features(tx, AT),
        "interaction_features": definition.interaction_features(it, AT),
    }


def _with(name: str, fn, **kw):
    engine.use(name, **kw)
    try:
        return fn()
    finally:
        engine.use("duckdb")


@pytest.fixture(scope="session")
def tables(demo_small):
    return demo_small.tables["transactions"], demo_small.tables["interactions"]


@pytest.fixture(scope="session")
def reference(tables):
    return _with("pandas", lambda: _summaries(*tables))


@pytest.fixture(scope="session")
def duck(tables):
    return _with("duckdb", lambda: _summaries(*tables))


@pytest.fixture(scope="session")
def spark_results(tables):
    """The summaries on PySpark local[2] (skipped where Java is missing)."""
    pytest.importorskip("pyspark")
    if engine.java_home() is None:
        pytest.skip("no Java on this machine")
    return _with("spark", lambda: _summaries(*tables), spark_master="local[2]",
                 spark_config=SPARK_TEST_CONFIG)


NAMES = ["rfm_summary_day", "rfm_summary_exact", "rfm_summary_asof", "rfm_table",
         "rfm_table_window", "inactivity", "transaction_features", "interaction_features"]


def _same(a: pd.DataFrame, b: pd.DataFrame, tol: float) -> None:
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b) and len(a) > 0
    a = a.sort_index() if a.index.name else a
    b = b.sort_index() if b.index.name else b
    pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=False, rtol=tol,
                                  atol=tol, check_index_type=False)


@pytest.mark.parametrize("name", NAMES)
def test_duckdb_equals_reference(reference, duck, name):
    _same(reference[name], duck[name], 1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_spark_equals_duckdb(duck, spark_results, name):
    _same(duck[name], spark_results[name], 1e-9)


def test_summaries_are_not_trivial(reference):
    """The comparison covers holdout purchases, refunds and complaint categories."""
    s = reference["rfm_summary_day"]
    assert s["frequency_holdout"].sum() > 0 and s["refunds"].sum() > 0
    assert (s["frequency"] > 0).mean() > 0.3
    f = reference["interaction_features"]
    assert f["resolution_hours_median"].notna().sum() > 50
    assert sum(c.startswith("complaints_") for c in f.columns) >= 4
    assert reference["inactivity"]["churned"].any()


def test_parquet_folder_equals_frame(tables, duck, tmp_path):
    """A Parquet folder (lakehouse layout) is summarised without loading it into pandas."""
    tx = tables[0].copy()
    tx["date"] = pd.to_datetime(tx["date"])
    folder = tmp_path / "transactions"
    folder.mkdir()
    half = len(tx) // 2
    tx.iloc[:half].to_parquet(folder / "part-0.parquet", index=False)
    tx.iloc[half:].to_parquet(folder / "part-1.parquet", index=False)
    got = rfm_summary(folder, calibration_end=CAL, observation_end=OBS)
    _same(duck["rfm_summary_day"], got, 1e-12)
    lazy = engine.load_events(folder, config=engine.EngineConfig(max_pandas_rows=100))
    assert not isinstance(lazy, pd.DataFrame)
    _same(duck["transaction_features"], definition.transaction_features(lazy, AT), 1e-12)
    assert isinstance(engine.load_events(folder), pd.DataFrame)


def test_engine_parameter_is_checked():
    with pytest.raises(ValueError, match="engine must be one of"):
        engine.use("polars")
    engine.use("duckdb")


def test_missing_values_are_named(tables):
    tx = tables[0].head(50).copy()
    tx["amount"] = tx["amount"].astype("Float64")
    tx.loc[3, "amount"] = pd.NA
    with pytest.raises(ValueError, match="column amount"):
        rfm_summary(tx, calibration_end=CAL)


def test_ibis_table_summarised_where_it_is_bound(tables, duck):
    """An Ibis table of another DuckDB session (as ``cleaning.outofcore.cleaned_events``
    yields) is summarised in that session, not on the configured backend (which does
    not hold the table)."""
    import duckdb
    import ibis

    tx = tables[0].copy()
    tx["date"] = pd.to_datetime(tx["date"])
    con = duckdb.connect()
    con.register("tx_df", tx)
    con.execute("CREATE TABLE own_tx AS SELECT * FROM tx_df")
    t = ibis.duckdb.from_connection(con).table("own_tx")
    _same(duck["rfm_summary_day"], rfm_summary(t, calibration_end=CAL, observation_end=OBS),
          1e-12)
    _same(duck["transaction_features"], definition.transaction_features(t, AT), 1e-12)
    _same(duck["inactivity"], definition.inactivity_churn(t, as_of=OBS, window_days=180), 1e-12)
    con.close()


def test_module_is_one_xdist_work_unit(request):
    """Under pytest-xdist the tests of this module that share its session fixtures are one
    work unit (conftest's ``xdist-groups.json``), so the SparkSession and the summaries are
    built on one worker only; every other test is a unit of its own or of its module."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.skip("only under pytest-xdist (make test: -n 2)")
    units = json.loads(_groups_file(request.config).read_text())
    module = request.node.nodeid.split("::", 1)[0]
    shared = {k: v for k, v in units.items() if k.startswith(f"{module}::test_spark_equals")
              or k.startswith(f"{module}::test_duckdb_equals")}
    assert len(shared) == 2 * len(NAMES) and set(shared.values()) == {module}
    wrong = {k: v for k, v in units.items() if v != k and not k.startswith(f"{v}::")}
    assert not wrong, f"tests mapped to another test's work unit: {list(wrong.items())[:3]}"
