"""Notebook 05's pilot pipeline on the demo company, checked against the demo's truth.

The truth (``customer_truth``: each pilot customer's true effect of the offer on
90-day churn) is read here only, never by the analysis code.
"""

import numpy as np
import pytest

from crm_lib.roi import budget as B
from crm_lib.roi import features, pipeline, uplift
from crm_lib.sources import demo


@pytest.fixture(scope="module")
def pilot_run():
    d = demo.generate(demo.DemoParams(n_customers=20000, seed=42))
    cu, it = d.tables["customers"], d.tables["interactions"]
    value = pipeline.retention_value(cu, None, margin_rate=0.35, horizon_months=24,
                                     annual_discount_rate=0.10, monthly_retention=0.985)
    X = features.pre_treatment_features(cu, d.truth["dates"]["as_of"], interactions=it)
    risk = pipeline.baseline_oof_scores(cu, X, seed=42).set_index("customer_id")
    pilot = pipeline.pilot_data(d.tables["campaigns"], cu, interactions=it)
    pa = pipeline.analyse_pilot(pilot, value, risk=risk["oof_probability"], contact_cost=1.0,
                                seed=42)
    return d, value, pilot, pa


def test_pilot_is_randomised_and_the_true_ate_is_inside_the_interval(pilot_run):
    d, _, pilot, pa = pilot_run
    assert len(pilot.frame) == d.truth["pilot"]["n"]
    assert pa.balance.randomised and pa.ate.causal
    assert pa.ate.ci_low <= d.truth["pilot"]["ate"] <= pa.ate.ci_high
    assert pa.offer_cost == d.truth["pilot"]["offer_cost"]
    assert pa.accept_rate == pytest.approx(d.truth["pilot"]["accept_rate"], abs=0.03)


def test_chosen_policy_against_the_oracle(pilot_run):
    """The plan the notebook would make for the pilot customers, scored with the true effects.

    The oracle knows every customer's true effect and spends the same budget.
    The issue asks for at least 80% of the oracle's profit; that is out of reach
    on this demo: the effect depends on latent price sensitivity and
    satisfaction that no table reveals, and even a model fitted to the true
    effects from the observable features gets 12-18% (docs/05_retention_roi.md).
    What is checked, on the default demo (20,000 customers, seed 42): the plan
    does not lose money and beats spending the same budget at random or on the
    riskiest customers. These are single-seed facts, not guarantees: on other
    seeds the plan can lose a little (it contacts only customers whose
    pilot-measured profit is positive, so losses stay small).
    """
    d, value, pilot, pa = pilot_run
    f = pilot.frame
    y, t = f["churned_after"].astype(bool), f["treated"].astype(bool)
    ite = d.customer_truth.set_index("customer_id").loc[f["customer_id"], "true_ite"]
    v = value.reindex(f["customer_id"]).to_numpy()
    cost = pa.offer_cost * pa.accept_rate + 1.0
    true_profit = -ite.to_numpy() * v - cost  # per customer if contacted
    budget = 0.25 * len(f) * cost
    score = pa.oof[pa.chosen].to_numpy() if pa.chosen in pa.oof else np.zeros(len(f))
    u = uplift.calibrate_uplift(score, y, t, score, bins=5, shrink_to=-pa.ate.effect)
    chosen = B.greedy_select(u * v - cost, np.full(len(f), cost), budget)
    oracle = B.greedy_select(true_profit, np.full(len(f), cost), budget)
    k = max(int(chosen.sum()), 1)
    by_risk = np.argsort(-pa.oof["churn_risk"].to_numpy())[:k]
    ours, best = true_profit[chosen].sum(), true_profit[oracle].sum()
    print(f"chosen {pa.chosen}: {chosen.sum()} contacts, true profit {ours:,.0f}; "
          f"oracle {best:,.0f} ({ours / best:.1%}); random {k * true_profit.mean():,.0f}; "
          f"riskiest {true_profit[by_risk].sum():,.0f}")
    assert best > 0
    assert ours >= 0
    assert ours > k * true_profit.mean()  # random targeting at the same budget
    assert ours > true_profit[by_risk].sum()  # the riskiest customers at the same budget
