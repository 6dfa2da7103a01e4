"""Budget selection (greedy vs exact), Monte Carlo and pseudonyms."""

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from crm_lib.roi import budget as B


def _brute_force(p, c, budget):
    best = 0.0
    for mask in itertools.product([0, 1], repeat=len(p)):
        m = np.array(mask, bool)
        if c[m].sum() <= budget:
            best = max(best, p[m].sum())
    return best


def test_exact_solver_equals_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(5):
        p, c = rng.normal(5, 10, 10), rng.uniform(1, 10, 10)
        budget = 0.4 * c.sum()
        sel = B.exact_select(p, c, budget)
        assert c[sel].sum() <= budget + 1e-9
        assert p[sel].sum() == pytest.approx(_brute_force(p, c, budget), abs=1e-6)


def test_greedy_close_to_exact_and_equal_with_equal_costs():
    rng = np.random.default_rng(1)
    for _ in range(30):
        n = 25
        p, c = rng.normal(3, 8, n), rng.uniform(1, 10, n)
        budget = rng.uniform(0.1, 0.6) * c.sum()
        g, e = B.greedy_select(p, c, budget), B.exact_select(p, c, budget)
        assert c[g].sum() <= budget + 1e-9
        # Dantzig bound: greedy >= optimum - the best single item
        assert p[g].sum() >= p[e].sum() - max(p.max(), 0) - 1e-9
        assert (p[g] > 0).all()
        # equal costs: greedy by profit is optimal
        ce = np.full(n, 8.0)
        assert p[B.greedy_select(p, ce, budget)].sum() == pytest.approx(
            p[B.exact_select(p, ce, budget)].sum(), abs=1e-9)


def test_plan_campaign_excludes_and_respects_budget():
    rng = np.random.default_rng(2)
    n = 200
    cand = pd.DataFrame({"customer_id": [f"C{i}" for i in range(n)],
                         "expected_incremental_profit": rng.normal(5, 10, n),
                         "cost": rng.uniform(5, 10, n),
                         "p_nontargetable": rng.random(n) * 0.8})
    plan = B.plan_campaign(cand, budget=300.0)
    sel = plan[plan["selected"]]
    assert sel["cost"].sum() <= 300.0
    assert (sel["p_nontargetable"] <= 0.5).all()
    assert (sel["expected_incremental_profit"] > 0).all()
    assert plan.loc[plan["p_nontargetable"] > 0.5, "reason"].str.startswith("excluded").all()
    with pytest.raises(ValueError, match="cost"):
        B.plan_campaign(cand.drop(columns="cost"), 10)


def test_monte_carlo_matches_the_analytic_case():
    u = np.full(100, 0.05)
    v = np.full(100, 400.0)
    # only the effect is uncertain: profit = m_e * 2000 - 100 * 8, m_e ~ N(1, 0.5)
    spend = 100 * (20 * 0.35 + 1)
    mc = B.monte_carlo_roi(u, v, 20 * 0.35 + 1, contact_cost=1, accept_rate=0.35,
                           outcome_noise=False, effect_rel_sd=0.5, value_rel_sd=0.0,
                           accept_concentration=1e9, n_draws=20000, seed=3)
    assert mc.expected_spend == pytest.approx(spend, rel=1e-3)
    assert mc.expected_profit == pytest.approx(2000 - spend, rel=0.02)
    assert mc.prob_loss == pytest.approx(stats.norm.cdf((spend / 2000 - 1) / 0.5), abs=0.01)
    again = B.monte_carlo_roi(u, v, 8.0, contact_cost=1, accept_rate=0.35, seed=3)
    assert again.draws.equals(B.monte_carlo_roi(u, v, 8.0, contact_cost=1, accept_rate=0.35,
                                                seed=3).draws)
    # no pilot: the effect moves with acceptance, so profit and spend are correlated
    coupled = B.monte_carlo_roi(u, v, 8.0, contact_cost=1, accept_rate=0.35, seed=3,
                                effect_from_acceptance=True, outcome_noise=False,
                                value_rel_sd=0.0)
    np.testing.assert_allclose(coupled.draws["effect_multiplier"],
                               coupled.draws["accept_rate"] / 0.35)
    assert B.monte_carlo_roi([], [], [], contact_cost=1, accept_rate=0.3).expected_profit == 0


def test_pseudonyms_are_stable_and_not_the_id():
    a = B.pseudonymise(["C000001", "C000002"], "salt")
    assert a.tolist() == B.pseudonymise(["C000001", "C000002"], "salt").tolist()
    assert a.nunique() == 2 and not a.str.contains("C0000").any()
    assert a.iloc[0] != B.pseudonymise(["C000001"], "other").iloc[0]
