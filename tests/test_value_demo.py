"""The value models recover the demo company's known purchase process (ground truth).

One business: customers buy while they hold the plan, more slowly once disengaged, and
not after the plan ends. So BG/NBD on everybody sees two dropouts (plan end and the
shop's own) and its a, b are effective values. What is recoverable, and tested: BG/NBD's
r, alpha, a, b on the engaged plan holders (hold the plan at as_of, never disengaged:
hidden, via ``truth.engaged_holders``; the churn process is independent of the shop
traits, so this selection leaves their purchases a BG/NBD process with the true
parameters) and Gamma-Gamma's p, q, gamma on everybody (spend does not depend on the plan).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from crm_lib import truth as T
from crm_lib import value as V
from crm_lib.value.summary import resolve_grain

REQUIRED = ["customer_id", "frequency", "recency", "T", "monetary", "expected_purchases",
            "p_alive", "expected_spend", "clv", "value_tier", "lifecycle_stage"]


def _truth(demo) -> pd.Series:
    shop = demo.truth["shop"]
    assert shop["time_unit"] == "weeks" and shop["purchases_stop_at_plan_end"]
    return pd.Series({**{("BG/NBD", k): v for k, v in shop["bgnbd"].items()},
                      **{("Gamma-Gamma", k): v for k, v in shop["gamma_gamma"].items()}})


def _engaged_tx(demo) -> pd.DataFrame:
    tx = demo.tables["transactions"]
    ids = T.engaged_holders(demo.tables["customers"], T.from_demo(demo))
    return tx[tx["customer_id"].isin(ids)]


@pytest.fixture(scope="module")
def fitted(demo_small):
    tx = demo_small.tables["transactions"]
    full = V.rfm_summary(tx, calibration_end=demo_small.truth["params"]["as_of"])
    engaged = V.rfm_summary(_engaged_tx(demo_small),
                            calibration_end=demo_small.truth["params"]["as_of"])
    return full, V.fit_value_models(full), V.fit_value_models(engaged)


def test_true_parameters_inside_95pct_intervals(demo_small, fitted):
    """BG/NBD on the engaged plan holders, Gamma-Gamma on everybody: family-wise over 7."""
    full, models, engaged = fitted
    assert resolve_grain(demo_small.tables["transactions"]) == "exact"  # clock times
    level = 1 - 0.05 / 7
    truth = _truth(demo_small)
    cmp = pd.concat([engaged.compare(truth, level).loc[["BG/NBD"]],
                     models.compare(truth, level).loc[["Gamma-Gamma"]]])
    assert cmp["inside_interval"].all(), cmp
    assert (cmp.loc["BG/NBD", "rel_error"].abs() < 0.25).all(), cmp
    # Gamma-Gamma's p and gamma trade off (n = 3,000); their implied mean spend is sharp
    gg, true_gg = models.gamma_gamma.params_, demo_small.truth["shop"]["gamma_gamma"]
    assert gg["p"] * gg["gamma"] / (gg["q"] - 1) == pytest.approx(
        true_gg["p"] * true_gg["gamma"] / (true_gg["q"] - 1), rel=0.1)
    # on everybody the plan end adds dropout: BG/NBD's mean dropout probability a / (a + b)
    # is above the shop's own
    p = models.bgnbd.params_
    g = demo_small.truth["shop"]["bgnbd"]
    assert p["a"] / (p["a"] + p["b"]) > g["a"] / (g["a"] + g["b"])


def test_calibration_fit_also_covers_the_truth(demo_small):
    ch = V.calibration_holdout(_engaged_tx(demo_small), calibration_end="2025-09-30",
                               observation_end="2026-06-30")
    models = V.fit_value_models(ch)
    cmp = models.compare(_truth(demo_small), 1 - 0.05 / 7)
    assert cmp.loc["BG/NBD", "inside_interval"].all(), cmp
    scores = V.holdout_scores(models.bgnbd, ch)
    # total holdout purchases forecast within 10%, better than the naive run rate
    assert scores.loc["BG/NBD", "total predicted"] == pytest.approx(
        scores.loc["BG/NBD", "total actual"], rel=0.10)
    assert scores.loc["BG/NBD", "RMSE"] < scores.loc["naive run rate", "RMSE"]


def test_refunds_are_not_purchases(demo_small, fitted):
    full, _, _ = fitted
    tx = demo_small.tables["transactions"]
    pos = tx[tx["amount"] >= 0]
    assert (full["frequency"] + 1).sum() == len(pos)  # every positive row is one occasion
    assert full["refunds"].sum() == pytest.approx(-tx.loc[tx["amount"] < 0, "amount"].sum())
    assert full["revenue"].sum() == pytest.approx(pos["amount"].sum())


def test_customer_value_interface_and_truth_agreement(demo_small, fitted):
    _, models, _ = fitted
    tx, cu = demo_small.tables["transactions"], demo_small.tables["customers"]
    cv = V.customer_value(tx, cu, as_of="2026-06-30", models=models)
    assert list(cv.columns[:5]) == REQUIRED[:5] and set(REQUIRED) <= set(cv.columns)
    assert cv["customer_id"].is_unique and len(cv) == len(cu)
    assert set(cv["value_tier"]) == {"low", "medium", "high"}
    ct = demo_small.customer_truth.set_index("customer_id").loc[cv["customer_id"]]
    # P(alive) (from transactions only) is calibrated and discriminates the truly alive
    # shop customers among the plan holders; ex-subscribers are gone (their end date says
    # so, which a transaction-only model cannot know: lifecycle stage 'lapsed' below)
    holds = cu.set_index("customer_id").loc[cv["customer_id"], "end_date"].isna().to_numpy()
    assert cv["p_alive"][holds].mean() == pytest.approx(ct["shop_alive"][holds].mean(), abs=0.04)
    assert roc_auc_score(ct["shop_alive"][holds], cv["p_alive"][holds]) > 0.9
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
