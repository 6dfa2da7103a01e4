"""Scoring millions of customers in bounded memory: batches in, Parquet out.

The per-customer frames (BG/NBD inputs, churn features) of 1e7 customers fit
in memory, but the models' outputs (a week-by-week discounted CLV, a calibrated
ensemble's probabilities) multiply them; so scoring streams the per-customer
rows in batches of ``batch_rows`` through a *fitted* model and appends each
batch to one Parquet file (pyarrow ``ParquetWriter``). Each customer's score
depends only on its own row and the fitted parameters, so the batched result
equals the unbatched one (tests/test_engine_scoring.py). Rank-based churn tiers
need every score: they are set in a second pass over the written file with
DuckDB (``percent_rank``, the ``risk_tiers`` cut points).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def frame_batches(data, batch_rows: int = 500_000, columns: list[str] | None = None
                  ) -> Iterator[pd.DataFrame]:
    """Per-customer rows in batches: from a pandas frame, or streamed from a Parquet
    file or folder (never read whole)."""
    if isinstance(data, pd.DataFrame):
        for start in range(0, len(data), batch_rows):
            yield data.iloc[start:start + batch_rows]
        return
    import pyarrow.dataset as ds

    for rb in ds.dataset(str(data), format="parquet").to_batches(columns=columns,
                                                                 batch_size=batch_rows):
        yield rb.to_pandas()


def score_to_parquet(data, score: Callable[[pd.DataFrame], pd.DataFrame], out: str | Path,
                     *, batch_rows: int = 500_000) -> int:
    """Apply ``score`` (batch -> output frame) to every batch of ``data`` and write
    the outputs to ``out`` (one Parquet file); returns the rows written."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer, n = None, 0
    try:
        for batch in frame_batches(data, batch_rows):
            res = pa.Table.from_pandas(score(batch).reset_index(drop=True), preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(str(out), res.schema)
            writer.write_table(res.cast(writer.schema))
            n += res.num_rows
    finally:
        if writer is not None:
            writer.close()
    return n


def clv_scores(data, models, out: str | Path, *, refund_rate: float, horizon_weeks: float = 52,
               margin_rate: float = 0.3, annual_discount_rate: float = 0.1, time_unit: str = "W",
               batch_rows: int = 500_000) -> int:
    """CLV per customer (:func:`crm_lib.value.clv.discounted_clv` with the fitted
    BG/NBD + Gamma-Gamma ``models``) for the rows of ``data`` (``rfm_summary``
    columns), net of ``refund_rate`` (a whole-base figure:
    :func:`crm_lib.value.refund_rate` of the full summary), written to ``out``."""
    from ..value.clv import discounted_clv

    keep = 1.0 - float(refund_rate)

    def score(b: pd.DataFrame) -> pd.DataFrame:
        spend = models.gamma_gamma.predict(b)
        v = discounted_clv(models.bgnbd.params_.to_numpy(), b, spend * keep,
                           horizon_weeks=horizon_weeks, margin_rate=margin_rate,
                           annual_discount_rate=annual_discount_rate, time_unit=time_unit)
        return pd.DataFrame({"customer_id": b["customer_id"].astype(str).to_numpy(),
                             "p_alive": models.bgnbd.p_alive(b),
                             "expected_spend": spend,
                             "expected_purchases": v["expected_purchases"].to_numpy(),
                             "clv": v["clv"].to_numpy()})

    return score_to_parquet(data, score, out, batch_rows=batch_rows)


def churn_scores(data, model, out: str | Path, *, batch_rows: int = 500_000,
                 quantiles: tuple[float, float] | None = None) -> int:
    """Churn probability and risk tier per customer for the feature rows of ``data``
    (indexed by or with a ``customer_id`` column) with a fitted
    :class:`crm_lib.churn.scoring.ChurnModel`, written to ``out``. Tiers: the
    cut points of :data:`crm_lib.churn.scoring.TIER_QUANTILES` on the rank of all
    scores (ties by file order, as ``risk_tiers``)."""
    from ..churn.scoring import TIER_QUANTILES

    lo, hi = quantiles or TIER_QUANTILES
    out = Path(out)
    tmp = out.with_suffix(".probabilities.parquet")

    def score(b: pd.DataFrame) -> pd.DataFrame:
        X = b.set_index("customer_id") if "customer_id" in b.columns else b
        return pd.DataFrame({"customer_id": X.index.astype(str).to_numpy(),
                             "churn_probability": model.predict_proba(X)})

    n = score_to_parquet(data, score, tmp, batch_rows=batch_rows)
    con = duckdb.connect()
    try:
        con.execute(f"""COPY (SELECT customer_id, churn_probability,
            CASE WHEN q > {hi} THEN 'high' WHEN q > {lo} THEN 'medium' ELSE 'low' END
                AS risk_tier
            FROM (SELECT *, (row_number() OVER (ORDER BY churn_probability, pos)) / count(*)
                  OVER () AS q FROM (SELECT *, row_number() OVER () AS pos
                                     FROM read_parquet('{tmp}')))
            ORDER BY pos) TO '{out}' (FORMAT parquet)""")
    finally:
        con.close()
        tmp.unlink(missing_ok=True)
    return n
