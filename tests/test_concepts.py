"""Teaching simulations of notebook 00 against closed forms and independent code."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from crm_lib import concepts as cc

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- leaky bucket

def test_leaky_bucket_steady_state_matches_theory():
    lb = cc.simulate_leaky_bucket(acquisitions=300, churn_rate=0.05, initial=500,
                                  months=60, n_paths=300, seed=7)
    assert lb.steady_state_theory == pytest.approx(6000.0)
    # simulated steady state within 4 standard errors of A / c
    assert abs(lb.steady_state_simulated - 6000.0) < 4 * lb.steady_state_se
    # the standard error across paths agrees with the AR(1) formula (stationary Poisson)
    assert lb.steady_state_se == pytest.approx(lb.steady_state_se_theory, rel=0.3)
    assert lb.half_life_months == pytest.approx(np.log(2) / -np.log(0.95))


def test_leaky_bucket_fails_for_a_wrong_theory():
    """The check above can fail: a plausible wrong formula A (1 - c) / c is far outside."""
    lb = cc.simulate_leaky_bucket(acquisitions=300, churn_rate=0.05, n_paths=300, seed=7)
    wrong = 300 * 0.95 / 0.05
    assert abs(lb.steady_state_simulated - wrong) > 20 * lb.steady_state_se


def test_leaky_bucket_expected_path_and_stationary_dispersion():
    lb = cc.simulate_leaky_bucket(acquisitions=200, churn_rate=0.1, initial=0, months=40,
                                  n_paths=2000, seed=3)
    # mean across paths follows ss + (N0 - ss)(1 - c)^t
    at = lb.paths.loc[10]
    expected = 2000 * (1 - 0.9 ** 10)
    assert abs(at.mean() - expected) < 4 * at.std(ddof=1) / np.sqrt(at.size)
    assert lb.expected.loc[10] == pytest.approx(expected)
    # the stationary count is Poisson(A / c): variance / mean close to 1
    last = lb.paths.loc[40]
    assert last.var(ddof=1) / last.mean() == pytest.approx(1.0, abs=0.12)


def test_leaky_bucket_is_seeded_and_validates():
    a = cc.simulate_leaky_bucket(seed=1, months=24, n_paths=5)
    b = cc.simulate_leaky_bucket(seed=1, months=24, n_paths=5)
    pd.testing.assert_frame_equal(a.paths, b.paths)
    with pytest.raises(ValueError, match="churn_rate"):
        cc.simulate_leaky_bucket(churn_rate=0)
    with pytest.raises(ValueError, match="acquisitions"):
        cc.steady_state(-1, 0.1)


def test_treadmill_at_steady_state():
    t = cc.replacement_treadmill(500, 0.04, 12_500)
    assert t["net growth"] == pytest.approx(0)
    assert t["share of acquisition replacing churn"] == pytest.approx(1)


# ---------------------------------------------------------------- budget split

def test_effective_churn_diminishing_returns():
    sc = cc.BudgetScenario(churn_rate=0.05, preventable_share=0.5, retention_cost=40)
    n = np.array([10_000.0])
    preventable = 0.5 * 0.05 * 10_000
    # spending k * preventable saves 1 - e^-1 of the preventable churners
    c = cc.effective_churn(n, 40 * preventable, sc)
    assert c[0] == pytest.approx(0.05 * (1 - 0.5 * (1 - np.exp(-1))))
    # an unlimited budget cannot go below the unpreventable churn
    assert cc.effective_churn(n, 1e12, sc)[0] == pytest.approx(0.025)


def test_budget_without_preventable_churn_favours_acquisition():
    sc = cc.BudgetScenario(preventable_share=0.0, months=24)
    t = cc.simulate_budget(sc, retention_shares=[0.0, 0.5, 1.0], n_paths=50, seed=1)
    assert t["profit_mean"].is_monotonic_decreasing
    # all on retention with nothing preventable: the budget is pure loss
    assert t["incremental_profit"].iloc[-1] < 0
    assert t["roi"].iloc[-1] == pytest.approx(-1, abs=0.02)


def test_zero_budget_matches_the_no_spending_baseline():
    sc = cc.BudgetScenario(budget=0.0, months=24)
    t = cc.simulate_budget(sc, retention_shares=[0.0], n_paths=400, seed=2)
    se = (t["profit_p95"] - t["profit_p05"]).iloc[0] / (2 * 1.645) / np.sqrt(400)
    assert abs(t["incremental_profit"].iloc[0]) < 4 * se


def test_compare_budgets_with_default_scenario():
    t = cc.simulate_budget(n_paths=30, seed=4)
    cmp = cc.compare_budgets(t)
    assert cmp["retention_heavy_profit"] > cmp["acquisition_heavy_profit"]
    assert 0.2 < cmp["best_retention_share"] < 0.8  # diminishing returns: an interior optimum
    with pytest.raises(ValueError, match="not in the simulated grid"):
        cc.compare_budgets(t, acquisition_heavy=0.33)
    sc = cc.BudgetScenario.from_ratio(cost_ratio=4, acquisition_cost=200)
    assert sc.retention_cost == 50 and sc.cost_ratio == 4


# ---------------------------------------------------------------- CLV

def test_clv_closed_form_against_explicit_sum():
    m, r, d, g = 120.0, 0.83, 0.09, 0.03
    t = np.arange(1, 3001)
    explicit = np.sum(m * (1 + g) ** (t - 1) * r ** t / (1 + d) ** t)
    assert cc.clv(m, r, d, margin_growth=g) == pytest.approx(explicit, rel=1e-10)
    assert cc.clv(m, r, d, margin_growth=g, periods=5) == pytest.approx(
        np.sum(m * (1 + g) ** (t[:5] - 1) * r ** t[:5] / (1 + d) ** t[:5]), rel=1e-12)
    assert cc.clv(100, 0.8, 0.1) == pytest.approx(800 / 3)
    with pytest.raises(ValueError, match="diverges"):
        cc.clv(1, 0.99, 0.0, margin_growth=0.05)


def test_clv_against_monte_carlo_lifetimes():
    rng = np.random.default_rng(0)
    r, d = 0.7, 0.1
    life = rng.geometric(1 - r, size=400_000) - 1  # periods survived after the first
    value = (1 - (1 / (1 + d)) ** life) / d  # annuity of 1 per period survived
    assert value.mean() == pytest.approx(cc.clv(1.0, r, d), rel=0.01)


def test_retention_lift_recomputes_reichheld():
    assert cc.retention_lift(0.8, 0.05, 0.10) == pytest.approx(85 / 0.25 / (80 / 0.3) - 1)
    lifts = cc.retention_lift(np.array([0.6, 0.8, 0.9]), 0.05, 0.10)
    assert np.all(np.diff(lifts) > 0)
    grid = cc.clv_grid([50, 100], [0.5, 0.9])
    assert grid.shape == (4, 3)
    assert grid.loc[(grid.margin == 100) & (grid.retention == 0.9), "clv"].iloc[0] == \
        pytest.approx(90 / 0.2)


def test_word_of_mouth_value():
    w = cc.word_of_mouth_value(200.0, promoter_share=1.0, detractor_share=0.0,
                               referrals_per_promoter=8, referral_conversion=0.1)
    assert w.value == pytest.approx(200 * 1.8)
    w = cc.word_of_mouth_value(200.0, promoter_share=0.0, detractor_share=1.0,
                               people_swayed_per_detractor=25, sway_loss_rate=0.02)
    assert w.value == pytest.approx(200 * 0.5)


# ---------------------------------------------------------------- 80/20

def test_gini_and_top_share_known_values():
    assert cc.gini([5, 5, 5, 5]) == pytest.approx(0.0)
    assert cc.gini([0, 0, 0, 1]) == pytest.approx(0.75)
    x = np.random.default_rng(1).exponential(size=500)
    mad = np.abs(x[:, None] - x[None, :]).sum() / (2 * x.size ** 2 * x.mean())
    assert cc.gini(x) == pytest.approx(mad, rel=1e-10)
    assert cc.top_share([1, 1, 1, 1, 6], 0.2) == pytest.approx(0.6)
    assert cc.top_share([1, 2, 3, 4], 0.5) == pytest.approx(0.7)
    lz = cc.lorenz([1, 3])
    assert lz["value_share"].tolist() == [0.0, 0.25, 1.0]
    with pytest.raises(ValueError, match="positive total"):
        cc.gini([1, -1])


def test_lognormal_concentration_matches_closed_form():
    sigma = cc.sigma_for_top_share(0.8, 0.2)
    assert sigma == pytest.approx(2 * stats.norm.ppf(0.8))
    assert cc.lognormal_top_share(sigma) == pytest.approx(0.8)
    v = cc.simulate_values(400_000, 1.0, mean=250, seed=5)
    assert v.mean() == pytest.approx(250, rel=0.01)
    assert cc.gini(v) == pytest.approx(cc.lognormal_gini(1.0), abs=0.005)
    assert cc.top_share(v) == pytest.approx(cc.lognormal_top_share(1.0), abs=0.005)


# ---------------------------------------------------------------- zones

def test_zone_curve_shape_and_lock_in():
    z = cc.Zones()
    r = cc.zone_retention(np.array([1, z.defection_upper, z.affection_lower, 10]), z)
    assert r.tolist() == pytest.approx([z.r_min, z.r_low, z.r_high, z.r_max])
    slope_def = (z.r_low - z.r_min) / (z.defection_upper - 1)
    slope_ind = (z.r_high - z.r_low) / (z.affection_lower - z.defection_upper)
    assert slope_def > 3 * slope_ind  # steep in defection, flat in indifference
    assert cc.zone_retention(1, z, True) == pytest.approx(z.r_min + z.lock_in * (1 - z.r_min))
    with pytest.raises(ValueError, match="defection_upper"):
        cc.Zones(defection_upper=9, affection_lower=8).validate()


def test_zone_simulation_recovers_the_curve_and_the_shares():
    z = cc.Zones()
    sim = cc.simulate_zones(60_000, z, switching_cost_share=0.3, seed=11)
    g = sim.by_score[sim.by_score["customers"] >= 200]
    inside = (g["ci_low"] <= g["true_retention"]) & (g["true_retention"] <= g["ci_high"])
    assert inside.mean() >= 0.8
    # expected share of satisfied defectors from the model, by exact summation
    score = np.arange(1, 11)
    edges = np.r_[-np.inf, score[:-1] + 0.5, np.inf]
    p = np.diff(stats.norm.cdf(edges, 7.0, 2.0))
    leave = 0.7 * (1 - cc.zone_retention(score, z)) + 0.3 * (1 - cc.zone_retention(score, z, True))
    expected = np.sum(p * leave * (score >= 7)) / np.sum(p * leave)
    n_def = (~sim.customers["stayed"]).sum()
    se = np.sqrt(expected * (1 - expected) / n_def)
    assert abs(sim.satisfied_defectors_share - expected) < 4 * se
    assert 0 < sim.dissatisfied_stayers_share < 0.2


def test_wilson_interval_reference():
    lo, hi = cc.wilson_interval(np.array([8]), np.array([10]))
    assert lo[0] == pytest.approx(0.4902, abs=1e-4)  # Wilson (1927); also R prop.test(correct=F)
    assert hi[0] == pytest.approx(0.9433, abs=1e-4)


# ---------------------------------------------------------------- notebook

def test_concepts_notebook_runs_and_records(demo_run):
    """Read from the shared batch run (00 is not executed a second time)."""
    m = demo_run["metrics"]
    nb = nbformat.read(demo_run["run_dir"] / "00_crm_concepts.ipynb", as_version=4)
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                     for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    theory, sim, se = (m[f"concepts.steady_state_{k}"] for k in ("theory", "simulated", "se"))
    assert theory == pytest.approx(500 / 0.04)
    assert abs(sim - theory) < 4 * se
    assert m["concepts.clv"] == pytest.approx(800 / 3)
    assert m["concepts.sigma_for_80_20"] == pytest.approx(1.6832, abs=1e-4)
    assert m["concepts.retention_heavy_profit"] > m["concepts.acquisition_heavy_profit"]
    assert "more acquisitions a month" in text and "cfg." not in text
    # the budget table shows the figure's quantity: extra profit over spending nothing
    assert f"{m['concepts.retention_heavy_profit']:,.0f}" in text
    assert "dtype:" not in text and "np.float64" not in text
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images >= 5  # every concept as a static figure in batch
    widgets = [o for c in nb.cells for o in c.get("outputs", [])
               if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert not widgets  # no widget state needed in batch
    assert nb.metadata["crm"]["requires"] == []


def test_explore_static_and_with_sliders():
    from crm_lib.plots import concepts as pc

    calls = []

    def draw(a, n, seed):
        calls.append((a, n, seed))
        return "figure"

    assert pc.explore(draw, False, fixed={"seed": 3}, a=(0.5, 0.0, 1.0, 0.1),
                      n=(10, 1, 20, 1)) == "figure"
    assert calls == [(0.5, 10, 3)]
    assert pc.explore(draw, True, fixed={"seed": 3}, a=(0.5, 0.0, 1.0, 0.1),
                      n=(10, 1, 20, 1)) is None  # a widget is displayed instead
    assert calls[-1] == (0.5, 10, 3)  # drawn once with the defaults
    assert not pc.is_interactive("reports/run", True)  # batch: a run_dir is set
    assert not pc.is_interactive("", False)
    assert not pc.is_interactive("", True)  # no kernel in the test process
