"""Batched scoring equals unbatched scoring (CLV and churn), written as Parquet."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_lib.churn import scoring
from crm_lib.engine import scoring as batch
from crm_lib.value import customer_value, fit_value_models, refund_rate, rfm_summary

AS_OF = "2026-06-30"


def test_clv_in_batches_equals_customer_value(demo_small, tmp_path):
    tx = demo_small.tables["transactions"]
    summary = rfm_summary(tx, calibration_end=AS_OF)
    models = fit_value_models(summary)
    whole = customer_value(tx, as_of=AS_OF, models=models)
    src = tmp_path / "summary.parquet"
    summary.to_parquet(src)
    n = batch.clv_scores(src, models, tmp_path / "clv.parquet", refund_rate=refund_rate(summary),
                         batch_rows=257)
    got = pd.read_parquet(tmp_path / "clv.parquet")
    assert n == len(summary) == len(got)
    want = whole.set_index("customer_id").loc[got["customer_id"]]
    for c in ("p_alive", "expected_spend", "expected_purchases", "clv"):
        np.testing.assert_allclose(got[c].to_numpy(), want[c].to_numpy(), rtol=1e-12, err_msg=c)


def test_churn_in_batches_equals_score_customers(demo_small, tmp_path):
    t = demo_small.tables
    from crm_lib.churn import definition

    customers = definition.prepare_customers(t["customers"], AS_OF)
    scores, model = scoring.score_customers(customers, as_of=AS_OF, seed=1, kind="logistic",
                                            interactions=t["interactions"])
    X = definition.scoring_frame(customers, as_of=AS_OF, interactions=t["interactions"])
    n = batch.churn_scores(X.reset_index(), model, tmp_path / "scores.parquet", batch_rows=301)
    got = pd.read_parquet(tmp_path / "scores.parquet")
    assert n == len(scores) == len(got)
    assert got["customer_id"].tolist() == scores["customer_id"].tolist()
    np.testing.assert_allclose(got["churn_probability"], scores["churn_probability"], rtol=1e-12)
    assert got["risk_tier"].tolist() == scores["risk_tier"].tolist()
