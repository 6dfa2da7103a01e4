"""The value models recover the demo company's known purchase process (ground truth)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from crm_lib import value as V

REQUIRED = ["customer_id", "frequency", "recency", "T", "monetary", "expected_purchases",
            "p_alive", "expected_spend", "clv", "value_tier", "lifecycle_stage"]


def _truth(demo) -> pd.Series:
    shop = demo.truth["shop"]
    assert shop["time_unit"] == "weeks" and not shop["purchases_stop_at_plan_end"]
    return pd.Series({**{("BG/NBD", k): v for k, v in shop["bgnbd"].items()},
                      **{("Gamma-Gamma", k): v for k, v in shop["gamma_gamma"].items()}})


@pytest.fixture(scope="module")
def fitted(demo_small):
    tx = demo_small.tables["transactions"]
    full = V.rfm_summary(tx, calibration_end=demo_small.truth["params"]["as_of"])
    return full, V.fit_value_models(full)


def test_true_parameters_inside_95pct_intervals(demo_small, fitted):
    full, models = fitted
    assert full.attrs["grain"] == "exact"  # demo timestamps carry clock times
    cmp = models.compare(_truth(demo_small))
    assert cmp["inside_interval"].all(), cmp
    assert (cmp["rel_error"].abs() < 0.25).all(), cmp


def test_calibration_fit_also_covers_the_truth(demo_small):
    tx = demo_small.tables["transactions"]
    ch = V.calibration_holdout(tx, calibration_end="2025-09-30", observation_end="2026-06-30")
    models = V.fit_value_models(ch)
    assert models.compare(_truth(demo_small))["inside_interval"].all()
    scores = V.holdout_scores(models.bgnbd, ch)
    # total holdout purchases forecast within 10%, better than the naive run rate
    assert scores.loc["BG/NBD", "total predicted"] == pytest.approx(
        scores.loc["BG/NBD", "total actual"], rel=0.10)
    assert scores.loc["BG/NBD", "RMSE"] < scores.loc["naive run rate", "RMSE"]


def test_refunds_are_not_purchases(demo_small, fitted):
    full, _ = fitted
    tx = demo_small.tables["transactions"]
    pos = tx[tx["amount"] >= 0]
    assert (full["frequency"] + 1).sum() == len(pos)  # every positive row is one occasion
    assert full["refunds"].sum() == pytest.approx(-tx.loc[tx["amount"] < 0, "amount"].sum())
    assert full["revenue"].sum() == pytest.approx(pos["amount"].sum())


def test_customer_value_interface_and_truth_agreement(demo_small, fitted):
    _, models = fitted
    tx, cu = demo_small.tables["transactions"], demo_small.tables["customers"]
    cv = V.customer_value(tx, cu, as_of="2026-06-30", models=models)
    assert list(cv.columns[:5]) == REQUIRED[:5] and set(REQUIRED) <= set(cv.columns)
    assert cv["customer_id"].is_unique and len(cv) == len(cu)
    assert set(cv["value_tier"]) == {"low", "medium", "high"}
    ct = demo_small.customer_truth.set_index("customer_id").loc[cv["customer_id"]]
    # P(alive) is calibrated and discriminates the truly alive shop customers
    assert cv["p_alive"].mean() == pytest.approx(ct["shop_alive"].mean(), abs=0.03)
    assert roc_auc_score(ct["shop_alive"], cv["p_alive"]) > 0.9
    # Gamma-Gamma expected spend tracks the true mean spend
    assert np.corrcoef(np.log(cv["expected_spend"]), np.log(ct["mean_spend"]))[0, 1] > 0.5
    # lifecycle stage agrees with the true stage (same rule family) for >= 90% of customers;
    # lapsed (observed plan end) exactly
    agree = cv["lifecycle_stage"].to_numpy() == ct["lifecycle_stage"].to_numpy()
    assert agree.mean() >= 0.9
    lapsed = ct["lifecycle_stage"].to_numpy() == "lapsed"
    assert agree[lapsed].all()
    # value x risk matrix: nine cells add up to the customers and the total CLV
    cells = V.matrix_cells(cv)
    assert len(cells) == 9 and cells["customers"].sum() == len(cv)
    assert cells["value_at_stake"].sum() == pytest.approx(cv["clv"].sum())
    assert (cells["potential_if_retained"] >= cells["value_at_stake"] - 1e-9).all()
