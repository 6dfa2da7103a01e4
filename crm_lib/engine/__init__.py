"""Query engines for the heavy step: raw events -> per-customer summaries.

``connection`` opens DuckDB (default) or Spark through Ibis; ``summaries``
holds the engine-neutral Ibis expressions; ``api`` runs them and returns
per-customer pandas frames; ``scoring`` streams per-customer frames through a
fitted model in batches and writes Parquet.
"""

from .api import (
    bgnbd_aggregates,
    interaction_features,
    last_purchase,
    load_events,
    occasions,
    rfm_aggregates,
    transaction_features,
    uses_engine,
)
from .connection import (
    ENGINES,
    SPARK_DEFAULTS,
    EngineConfig,
    connect,
    current,
    java_home,
    row_count,
    spark_session,
    table,
    use,
)

__all__ = [
    "ENGINES", "SPARK_DEFAULTS", "EngineConfig", "bgnbd_aggregates", "connect", "current",
    "interaction_features", "java_home", "last_purchase", "load_events", "occasions",
    "rfm_aggregates", "row_count", "spark_session", "table", "transaction_features", "use",
    "uses_engine",
]
