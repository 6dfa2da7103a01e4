"""`crm-report --source demo --notebooks 03,04` with `engine: spark` in the params file
gives the DuckDB run's metrics to 1e-6 (PySpark local[2]).

The DuckDB run is the session's shared batch run (``demo_run``: the small demo company,
DuckDB, the notebooks' default parameters), so only the Spark run is executed here, on
the same company and parameters.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from conftest import SMALL_DEMO, SPARK_TEST_CONFIG

from crm_lib import engine, metrics, runner

NOTEBOOKS = ("04_churn_modeling", "03_customer_value")


def test_spark_run_gives_the_duckdb_metrics(crm_home, demo_run):
    pytest.importorskip("pyspark")
    if engine.java_home() is None:
        pytest.skip("no Java on this machine")
    assert demo_run["manifest"]["parameters"].get("engine", "duckdb") == "duckdb"
    pfile = crm_home / "engine-spark.yaml"
    pfile.write_text(yaml.safe_dump({**SMALL_DEMO, "engine": "spark", "spark_master": "local[2]",
                                     "spark_config": SPARK_TEST_CONFIG}))
    code, run_dir = runner.run(source="demo", notebooks="03,04", params_file=str(pfile),
                               out=str(crm_home / "engine-spark"), quiet=True)
    assert code == 0, f"the Spark run failed: see {run_dir}"
    spark = metrics.read_by_notebook(Path(run_dir))
    duck = metrics.read_by_notebook(demo_run["run_dir"])
    assert set(spark) == set(NOTEBOOKS)
    assert any(k.startswith("clv.") for k in spark["03_customer_value"])
    assert any(k.startswith("churn.") for k in spark["04_churn_modeling"])
    for nb in NOTEBOOKS:
        assert set(duck[nb]) == set(spark[nb]), nb
        for k, v in duck[nb].items():
            w = spark[nb][k]
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                assert math.isclose(v, w, rel_tol=1e-6, abs_tol=1e-9), (nb, k, v, w)
            else:
                assert v == w, (nb, k)
