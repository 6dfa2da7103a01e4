"""Where per-customer summaries are computed: DuckDB in process, or Spark.

The summaries of :mod:`crm_lib.engine.summaries` are Ibis expressions
(https://ibis-project.org): one definition, compiled to DuckDB SQL or to
Spark SQL by Ibis. This module opens the backend and turns inputs (a pandas
frame, a Parquet file or folder, a CSV file, a Delta table) into Ibis tables.

- ``engine="duckdb"`` (default): an in-process DuckDB database; with
  ``memory_limit`` and ``temp_directory`` it spills to disk, so tables far
  larger than memory are aggregated out of core.
- ``engine="spark"``: a SparkSession built from ``spark_master`` (``local[2]``
  in tests, ``spark://host:7077``, ``yarn`` or ``k8s://...`` on a cluster) and
  ``spark_config`` (any ``spark.*`` settings). PySpark comes from PyPI; it
  needs Java 17+: ``JAVA_HOME`` is found from the ``java`` on the PATH or the
  usual JVM folders when unset (:func:`java_home`).
- ``engine="pandas"``: the in-memory reference code of :mod:`crm_lib.value`
  and :mod:`crm_lib.churn.definition` (the implementation the two backends are
  tested against).

:func:`use` sets the engine of the current process (the notebooks call it in
their set-up cell from their ``engine`` parameter); the pandas-facing
functions (``value.rfm_summary``, ``definition.transaction_features``...) then
compute through it.
"""

from __future__ import annotations

import os
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

ENGINES = ("duckdb", "spark", "pandas")

# Ibis 12 reads a pandas option that pandas 3 deprecates; harmless, and not ours to fix.
warnings.filterwarnings("ignore", message="The 'future.infer_string' option is deprecated",
                        module=r"ibis\.")

#: Spark settings every session gets unless ``spark_config`` overrides them: UTC
#: timestamps (pandas datetimes are naive), Arrow transfers, no UI, few shuffle
#: partitions for a small local run (a cluster's ``spark_config`` raises them).
SPARK_DEFAULTS: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
    "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.adaptive.coalescePartitions.enabled": "true",
    "spark.sql.ansi.enabled": "false",
}


@dataclass(frozen=True)
class EngineConfig:
    """The engine of a run and its settings (the notebooks' ``engine`` parameters)."""

    engine: str = "duckdb"
    spark_master: str = "local[2]"
    spark_config: dict = field(default_factory=dict)
    memory_limit: str | None = None  # DuckDB, e.g. "8GB"
    temp_directory: str | None = None  # DuckDB spill folder
    threads: int | None = None  # DuckDB threads
    max_pandas_rows: int = 5_000_000  # raw events above this size are never read into pandas

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {self.engine!r} "
                             "(parameter engine)")


_CURRENT = EngineConfig()
_BACKENDS: dict[tuple, object] = {}


def use(engine: str = "duckdb", *, spark_master: str = "local[2]",
        spark_config: dict | None = None, **settings) -> EngineConfig:
    """Set the engine of this process (``duckdb``, ``spark`` or ``pandas``); returns it."""
    global _CURRENT
    _CURRENT = EngineConfig(engine=engine, spark_master=spark_master,
                            spark_config=dict(spark_config or {}), **settings)
    return _CURRENT


def current() -> EngineConfig:
    """The engine set by :func:`use` (default: DuckDB)."""
    return _CURRENT


def java_home() -> str | None:
    """``JAVA_HOME``, else the home of the ``java`` on the PATH, else the newest JDK
    17+ under /usr/lib/jvm; sets ``JAVA_HOME`` for PySpark when found."""
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    found = None
    java = shutil.which("java")
    if java:
        found = str(Path(os.path.realpath(java)).parent.parent)
    else:
        jvms = sorted(Path("/usr/lib/jvm").glob("*17*")) if Path("/usr/lib/jvm").exists() \
            else []
        if jvms:
            found = str(jvms[-1])
    if found:
        os.environ["JAVA_HOME"] = found
    return found


def spark_session(master: str = "local[2]", config: dict | None = None):
    """A SparkSession for ``master`` with :data:`SPARK_DEFAULTS` and ``config``
    (``getOrCreate``: one session per process, reused)."""
    if java_home() is None:
        raise RuntimeError("engine 'spark' needs Java 17 or newer: install a JDK (Debian: "
                           "apt-get install openjdk-17-jre-headless) or set JAVA_HOME")
    from pyspark.sql import SparkSession

    b = SparkSession.builder.master(master).appName("crm_lib")
    for k, v in {**SPARK_DEFAULTS, **(config or {})}.items():
        b = b.config(k, str(v))
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def connect(config: EngineConfig | None = None):
    """The Ibis backend of ``config`` (default: :func:`current`), cached per setting."""
    import ibis

    cfg = config or current()
    if cfg.engine == "pandas":
        raise ValueError("engine 'pandas' has no Ibis backend (it runs the reference code)")
    key = (cfg.engine, cfg.spark_master, tuple(sorted(cfg.spark_config.items())),
           cfg.memory_limit, cfg.temp_directory, cfg.threads)
    if key in _BACKENDS:
        return _BACKENDS[key]
    if cfg.engine == "duckdb":
        import duckdb

        raw = duckdb.connect()
        if cfg.memory_limit:
            raw.execute(f"SET memory_limit = '{cfg.memory_limit}'")
        if cfg.temp_directory:
            raw.execute(f"SET temp_directory = '{cfg.temp_directory}'")
        if cfg.threads:
            raw.execute(f"SET threads = {int(cfg.threads)}")
        con = ibis.duckdb.from_connection(raw)
    else:
        con = ibis.pyspark.connect(spark_session(cfg.spark_master, cfg.spark_config))
    _BACKENDS[key] = con
    return con


def table(con, data, name: str):
    """An Ibis table on ``con`` from a pandas frame, an Ibis table, or a path: a
    Parquet file or folder (``*.parquet`` inside), a CSV file, a Delta table
    folder (``_delta_log`` inside; needs the ``deltalake`` package for DuckDB,
    delta-spark for Spark), or a lake URI string (``s3a://bucket/transactions/``:
    Parquet, or CSV by its suffix; read by the backend, e.g. Spark on a cluster)."""
    import ibis

    if isinstance(data, ibis.expr.types.Table):
        return data
    if isinstance(data, pd.DataFrame):
        if con.name == "pyspark":
            df = data.copy()
            for c in df.columns:  # Spark has no nullable-extension dtypes: plain numpy/objects
                s = df[c]
                if pd.api.types.is_datetime64_any_dtype(s):
                    df[c] = s.astype("datetime64[us]")
                elif isinstance(s.dtype, pd.StringDtype):
                    df[c] = s.astype(object).where(s.notna(), None)
                elif pd.api.types.is_extension_array_dtype(s.dtype):
                    df[c] = s.astype("float64" if s.dtype.kind == "f" else object)
            sdf = con._session.createDataFrame(df)
            sdf.createOrReplaceTempView(name)
            return con.table(name)
        return ibis.memtable(data)
    if isinstance(data, str) and "://" in data:  # a lake URI (s3a://, abfss://, hdfs://...)
        if data.lower().endswith((".csv", ".csv.gz")):
            return con.read_csv(data, table_name=name)
        return con.read_parquet(data, table_name=name)
    path = Path(data)
    if path.is_dir() and (path / "_delta_log").exists():
        return con.read_delta(str(path), table_name=name)
    if path.is_dir():
        return con.read_parquet(str(path / "*.parquet") if con.name == "duckdb" else str(path),
                                table_name=name)
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        return con.read_csv(str(path), table_name=name)
    return con.read_parquet(str(path), table_name=name)


def row_count(data) -> int | None:
    """Rows of ``data`` without reading it: a frame's length, a Parquet file's
    metadata; ``None`` when unknown (CSV)."""
    if isinstance(data, pd.DataFrame):
        return len(data)
    if isinstance(data, str) and "://" in data:
        return None
    if isinstance(data, (str, Path)):
        import pyarrow.dataset as ds

        p = Path(data)
        if p.suffix.lower() in (".csv", ".tsv", ".txt"):
            return None
        return ds.dataset(str(p), format="parquet").count_rows()
    return None
