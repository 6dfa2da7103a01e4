"""`crm-report --source demo --notebooks 03,04` with `engine: spark` in the params file
gives the DuckDB run's metrics to 1e-6 (PySpark local[2], small demo company)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from crm_lib import engine, runner

PARAMS = {"n_customers": 1500, "seed": 5,
          "notebooks": {"04_churn_modeling": {"cv_repeats": 1, "model_kind": "logistic"}}}


def _run(crm_home: Path, name: str, extra: dict) -> dict:
    pfile = crm_home / f"{name}.yaml"
    pfile.write_text(yaml.safe_dump({**PARAMS, **extra}))
    code, run_dir = runner.run(source="demo", notebooks="03,04", params_file=str(pfile),
                               out=str(crm_home / name), quiet=True)
    assert code == 0, f"{name} run failed: see {run_dir}"
    return json.loads((Path(run_dir) / "metrics.json").read_text())


def test_spark_run_gives_the_duckdb_metrics(crm_home):
    pytest.importorskip("pyspark")
    if engine.java_home() is None:
        pytest.skip("no Java on this machine")
    duck = _run(crm_home, "engine-duckdb", {})
    # two shuffle partitions on local[2] (crm_lib's default of 4 is for a small cluster)
    spark = _run(crm_home, "engine-spark", {"engine": "spark", "spark_master": "local[2]",
                                            "spark_config": {"spark.sql.shuffle.partitions": "2"}})
    assert set(duck) == set(spark)
    assert any(k.startswith("clv.") for k in duck) and any(k.startswith("churn.") for k in duck)
    for k, v in duck.items():
        w = spark[k]
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            assert math.isclose(v, w, rel_tol=1e-6, abs_tol=1e-9), (k, v, w)
        else:
            assert v == w, k
