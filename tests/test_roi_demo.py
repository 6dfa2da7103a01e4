"""Notebook 05's pilot pipeline on the demo company, checked against the demo's truth.

The truth (``truth["pilot"]`` and ``customer_truth``: each pilot customer's true
effect of the offer on 90-day churn) is read here only, never by the analysis code.
"""

import numpy as np
import pytest

from crm_lib.roi import claims, pipeline, uplift
from crm_lib.sources import demo

# the notebook's own defaults (parameters cell of notebooks/05_retention_roi.ipynb)
BUDGET, CONTACT_COST = 10000.0, 1.0
VALUE = {"margin_rate": 0.35, "horizon_months": 24, "annual_discount_rate": 0.10}
# (value_horizon_months in the notebook)


@pytest.fixture(scope="module")
def pilot_run(tmp_path_factory, demo_20k):
    d = demo_20k
    cu, it, as_of = d.tables["customers"], d.tables["interactions"], d.truth["dates"]["as_of"]
    clv, _ = pipeline.value_inputs(cu, d.tables["transactions"], as_of=as_of,
                                     run_dir=tmp_path_factory.mktemp("run"))
    value = pipeline.retention_value(
        cu, clv, monthly_retention=claims.observed_retention(cu, as_of, period_months=1), **VALUE)
    pilot = pipeline.pilot_data(d.tables["campaigns"], cu, interactions=it)
    pa = pipeline.analyse_pilot(pilot, value, contact_cost=CONTACT_COST, seed=42)
    return d, value, pilot, pa


def test_pilot_is_detected_as_randomised_with_the_pilot_economics(pilot_run):
    d, _, pilot, pa = pilot_run
    assert len(pilot.frame) == d.truth["pilot"]["n"]
    assert pa.balance.randomised and pa.ate.causal
    assert pa.offer_cost == d.truth["pilot"]["offer_cost"]
    assert pa.accept_rate == pytest.approx(d.truth["pilot"]["accept_rate"], abs=0.03)


def test_ate_intervals_cover_the_true_ate_across_demo_seeds():
    """Coverage of the notebook's 95% ATE interval over 10 independent demo companies.

    One seed cannot test an interval: any single pilot is one draw. Over
    seeds 0-9 (12,000 customers, about 3,800 pilot customers each) a correct 95% interval
    covers the true ATE (the mean true effect over the pilot's customers) at least 8 times
    with probability 0.988; the Neyman interval is conservative for this sample ATE, so
    the chance of a false failure is below 1.2%. The mean error across seeds must also
    be within 2.5 standard errors of that mean (false-failure chance 1.2%): a biased
    estimator (e.g. one that ignores the control arm) fails it.
    """
    err, se, cover = [], [], 0
    for seed in range(10):
        d = demo.generate(demo.DemoParams(n_customers=12000, seed=seed))
        c = d.tables["campaigns"]
        a = uplift.average_treatment_effect(c["churned_after"], c["treated"], level=0.95)
        truth = d.truth["pilot"]["ate"]
        cover += a.ci_low <= truth <= a.ci_high
        err.append(a.effect - truth)
        se.append(a.se)
    se_mean = np.sqrt(np.sum(np.square(se))) / len(se)
    print(f"coverage {cover}/10, mean error {np.mean(err):+.4f} (se {se_mean:.4f})")
    assert cover >= 8
    assert abs(np.mean(err)) <= 2.5 * se_mean


def test_chosen_policy_against_the_oracle(pilot_run):
    """The plan the notebook makes, replayed on the pilot customers and scored with the truth.

    Where ITEs are known: the 6,000 pilot customers of the default demo (20,000
    customers, seed 42). ``pipeline.replay_on_pilot`` gives each pilot customer the
    expected incremental profit the notebook's plan would give them (chosen uplift
    ranking, scored out of fold, x the notebook's value - expected spend) and selects
    with the notebook's budget (10,000) by the notebook's greedy rule. The same budget
    = the spend of that selection (offer cost x measured acceptance + contact cost per
    contact). True profit of a set = sum of (-true_ite x value - expected spend); the
    oracle ranks by the true -ite x value and takes the positive ones within that spend.

    Tolerance: the issue asks for 80%. The demo's effect sizes are visible (persuadables:
    age < 35, hit by a competitor promotion the offer matches; effect = the promotion's
    extra hazard, a function of visible drivers), so the gap to the oracle is learning
    noise (about 330 churners in the 90-day pilot). The pilot comparison chooses the
    interaction S-learner (treatment x steps of eight generic CRM effect modifiers named in
    advance: age, tenure, contract, products, bill, autopay, complaints, unresolved
    complaints; three of them play no part in the demo's rule; its bootstrap Qini interval
    is above zero). Measured: seed 42 83% of the oracle (printed with ``-s``); seed 7 67%.
    With only the generator's own drivers as modifiers it reached 94% and 79%: we keep the
    generic list, which does not encode the demo's rule. The two-model and X-learner rankings
    earn 61% and 59% at seed 42. The test asserts at least 0.80 of the oracle at seed 42,
    and that the plan beats random targeting and the riskiest customers with the same spend.
    """
    d, value, pilot, pa = pilot_run
    f = pilot.frame
    plan = pipeline.replay_on_pilot(pilot, pa, value, budget=BUDGET, contact_cost=CONTACT_COST)
    ite = d.customer_truth.set_index("customer_id").loc[f["customer_id"], "true_ite"]
    v = plan["value"].to_numpy()
    cost = plan["cost"].to_numpy()
    true_profit = -ite.to_numpy() * v - cost
    chosen = plan["selected"].to_numpy()
    spend = cost[chosen].sum()
    assert 0 < spend <= BUDGET
    order = np.argsort(-(-ite.to_numpy() * v), kind="stable")
    order = order[true_profit[order] > 0]
    oracle = order[np.cumsum(cost[order]) <= spend + 1e-9]
    k = int(chosen.sum())
    ours, best = true_profit[chosen].sum(), true_profit[oracle].sum()
    risk = pa.oof["churn_risk"].to_numpy()
    by_risk = true_profit[np.argsort(-risk)[:k]].sum()
    print(f"chosen {pa.chosen}: {k} contacts, spend {spend:,.0f}, true profit {ours:,.0f}; "
          f"oracle {best:,.0f} ({ours / best:.1%}); random {k * true_profit.mean():,.0f}; "
          f"riskiest {by_risk:,.0f}")
    assert best > 0
    assert pa.chosen == "interaction"
    assert ours >= 0.80 * best
    assert ours > k * true_profit.mean()  # random targeting with the same spend
    assert ours > by_risk  # the riskiest customers (by the pilot's churn model) with it
