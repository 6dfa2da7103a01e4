"""Survival methods against hand computations, simulations and the demo company's truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from crm_lib import truth as T
from crm_lib.churn import reasons, survival
from crm_lib.sources import demo

AS_OF = "2026-06-30"


def test_concordance_matches_brute_force():
    rng = np.random.default_rng(3)
    n = 400
    t = rng.integers(1, 30, n).astype(float)  # many tied times
    e = rng.random(n) < 0.6
    r = rng.integers(0, 10, n).astype(float)  # many tied risks
    num = den = 0.0
    for i in range(n):
        if e[i]:
            m = t > t[i]
            den += m.sum()
            num += (r[m] < r[i]).sum() + 0.5 * (r[m] == r[i]).sum()
    assert survival.concordance_index(t, r, e) == pytest.approx(num / den, abs=1e-12)


def _manual_logrank(t, e, g):
    """Two-group log-rank chi-square from its textbook O - E and hypergeometric variance."""
    o_minus_e = var = 0.0
    for u in np.unique(t[e]):
        at = t >= u
        n, n1 = at.sum(), (at & (g == 1)).sum()
        d, d1 = ((t == u) & e).sum(), ((t == u) & e & (g == 1)).sum()
        o_minus_e += d1 - d * n1 / n
        if n > 1:
            var += d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
    return o_minus_e**2 / var


def test_kaplan_meier_and_logrank_by_hand():
    rng = np.random.default_rng(5)
    g = np.r_[np.zeros(150, int), np.ones(150, int)]
    t = np.round(rng.exponential(np.where(g == 1, 10, 16)), 0) + 1
    e = rng.random(300) < 0.7
    d = pd.DataFrame({"duration": t, "event": e.astype(int), "grp": g.astype(str)})
    km = survival.kaplan_meier(d, "grp")
    assert km.logrank_chi2 == pytest.approx(_manual_logrank(t, e, g), rel=1e-6)
    assert km.logrank_p == pytest.approx(stats.chi2.sf(km.logrank_chi2, 1), rel=1e-6)
    cur = km.curves[km.curves["group"] == "0"]
    tt, ee = t[g == 0], e[g == 0]
    s = 1.0
    for u in np.unique(tt[ee]):
        s *= 1 - ((tt == u) & ee).sum() / (tt >= u).sum()
        got = cur.loc[cur["time"] == u, "survival"].iloc[0]
        assert got == pytest.approx(s, rel=1e-10)
    assert (cur["ci_low"] <= cur["survival"]).all() and (cur["survival"] <= cur["ci_high"]).all()


def test_cohort_retention_matches_a_direct_count():
    c = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d"],
        "signup_date": ["2026-01-10", "2026-01-20", "2026-01-05", "2026-03-01"],
        "end_date": ["2026-02-01", None, "2026-04-30", None],
        "churned": [True, False, True, False]})
    tab = survival.cohort_retention(c, as_of=AS_OF, max_age=5)
    jan = tab.loc["2026-01"]
    assert jan[0] == 1.0 and jan[1] == pytest.approx(2 / 3) and jan[4] == pytest.approx(1 / 3)
    assert jan["size"] == 3 and tab.loc["2026-03", 3] == 1.0 and np.isnan(tab.loc["2026-03", 5])


def _ph_data(varying: bool, n: int = 3000, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, n)
    if varying:  # x doubles the hazard before month 6 and halves it afterwards
        t = np.empty(n)
        early = rng.exponential(1 / (0.1 * np.where(x == 1, 2.0, 1.0)))
        late = 6 + rng.exponential(1 / (0.1 * np.where(x == 1, 0.5, 1.0)))
        t = np.where(early < 6, early, late)
    else:
        t = rng.exponential(1 / (0.1 * np.where(x == 1, 2.0, 1.0)))
    cens = rng.uniform(5, 40, n)
    return pd.DataFrame({"duration": np.minimum(t, cens), "event": (t <= cens).astype(int),
                         "x": x})


def test_cox_and_proportional_hazards_check_on_simulations():
    ok = survival.cox(_ph_data(False), ["x"])
    hr, lo, hi = ok.hazard_ratio("x")
    assert lo < 2.0 < hi
    assert ok.ph_test.set_index("term").loc["x", "p_value"] > 0.01
    bad = survival.cox(_ph_data(True), ["x"])
    assert bad.ph_test.set_index("term").loc["x", "p_value"] < 1e-4


def test_vectorised_efron_fit_is_statsmodels_phreg():
    """The vectorised Efron fit gives statsmodels' PHReg estimates, covariance and tests,
    with heavy ties (whole months), categories and a numeric covariate."""
    from statsmodels.duration.hazard_regression import PHReg
    rng = np.random.default_rng(12)
    n = 3000
    d = pd.DataFrame({"plan": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
                      "x": rng.normal(size=n)})
    rate = 0.05 * np.exp(0.6 * (d["plan"] == "b") - 0.4 * (d["plan"] == "c") + 0.3 * d["x"])
    life = rng.exponential(1 / rate)
    cens = rng.uniform(0, 40, n)
    for ties in (np.ceil, lambda v: v):  # whole months (many ties), then exact times
        d["duration"] = ties(np.minimum(life, cens))
        d["event"] = (life <= cens).astype(int)
        res = survival.cox(d, ["plan", "x"])
        X, _ = survival.cox_design(d, ["plan", "x"])
        ref = PHReg(d["duration"].to_numpy(float), X.to_numpy(), status=d["event"].to_numpy(),
                    ties="efron").fit()
        np.testing.assert_allclose(res.result.params, ref.params, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(res.result.bse, ref.bse, rtol=1e-9)
        np.testing.assert_allclose(res.table["p_value"], ref.pvalues, rtol=1e-7, atol=1e-300)
        np.testing.assert_allclose(res.ph_test["chi2"], survival.ph_test(
            ref, d["duration"], d["event"], X.columns)["chi2"], rtol=1e-8)
    strat = survival.cox(d.assign(s=rng.choice(["p", "q"], n)), ["plan", "x"], strata="s")
    assert np.all(np.isfinite(strat.result.params))  # strata: statsmodels' own fit


@pytest.fixture(scope="module")
def demo20k(demo_20k):
    assert demo_20k.truth["dates"]["as_of"][:10] == AS_OF  # the session's default company
    return demo_20k


def _z(hr, lo, hi, true_hr):
    return (np.log(hr) - np.log(true_hr)) / ((np.log(hi) - np.log(lo)) / 3.92)


def test_demo_true_hazard_ratios_inside_cox_intervals(demo20k):
    """Cause-specific Cox recovers the hazard ratios it estimates, family-wise, on six companies.

    Two models, two estimands (seeds 1-6, 20,000 customers each):

    - **hidden traits** (``truth.hidden_trait_cox``: the three hidden traits from the
      per-customer truth as covariates; follow-up censored at the pilot date and at the
      hidden onset of disengagement, which depends only on covariates in the model). This
      is the generator's model, so its ratios are the *conditional* HAZARD_RATIOS (the
      frailty's log coefficient 1 and the price-sensitivity ratio included).
    - **tables** (``truth.observable_cox``: notebook 04's model, contract, products and
      charges only, follow-up to as_of). It omits the frailty, satisfaction, price
      sensitivity and disengagement, so it estimates *marginal* ratios: the truth states
      what it converges to (``churn.observable_cox``, the maximiser of its expected partial
      likelihood under the true hazards).

    Each family: every true value inside its Bonferroni-widened interval (24 rows at level
    1 - 0.05/24; ``truth.panel``), no systematic error (mean z within 3/sqrt(6) of 0 per
    term), and the hidden-trait model's plain 95% intervals cover at least 21 of 24 (P = 0.97
    for a correct method). The families can fail: the conditional ratios are not what the
    tables' model estimates (two-year contracts act through disengagement too: the
    marginal ratio is further from 1), and a test of the tables' model against them fails.
    """
    truth = demo20k.truth["churn"]
    known = {"price_sensitive": truth["price_sensitive_hr_competitive"], "log_frailty": np.e}
    hidden, tables, zs_h, zs_t, zs_wrong = [], [], {}, {}, {}
    for seed in range(1, 7):
        dm = demo.generate(demo.DemoParams(n_customers=20000, seed=seed))
        tr = T.from_demo(dm)
        cox = T.hidden_trait_cox(dm.tables["customers"], tr)
        for key, true_hr in {**truth["hazard_ratios"], **known}.items():
            hr, lo, hi = cox.hazard_ratio(key)
            hidden.append(T.row(f"seed {seed}: {key}", hr, lo, hi, true_hr, scale="log"))
            zs_h.setdefault(key, []).append(_z(hr, lo, hi, true_hr))
        obs = T.observable_cox(dm.tables["customers"], tr)
        for key, true_hr in dm.truth["churn"]["observable_cox"]["hazard_ratios"].items():
            hr, lo, hi = obs.hazard_ratio(key)
            tables.append(T.row(f"seed {seed}: {key}", hr, lo, hi, true_hr, scale="log"))
            zs_t.setdefault(key, []).append(_z(hr, lo, hi, true_hr))
            zs_wrong.setdefault(key, []).append(_z(hr, lo, hi, truth["hazard_ratios"][key]))
    ph, pt = T.panel(hidden), T.panel(tables)
    assert ph["inside"].all(), ph.loc[~ph["inside"]]
    assert pt["inside"].all(), pt.loc[~pt["inside"]]
    ratios = ph["quantity"].str.contains("contract|n_products|monthly")
    per_row = (ph["ci_low"] <= ph["truth"]) & (ph["truth"] <= ph["ci_high"])
    assert per_row[ratios].sum() >= 21, ph
    for zs in (zs_h, zs_t):
        for key, z in zs.items():
            assert abs(np.mean(z)) < 3 / np.sqrt(len(z)), (key, z)
    # the wrong estimand is caught: the tables' two-year ratio sits below the conditional one
    assert np.mean(zs_wrong["contract[two_year]"]) < -3 / np.sqrt(6), zs_wrong
    wrong = T.panel([dict(r, truth=truth["hazard_ratios"][r["quantity"].split(": ")[1]])
                     for r in tables])
    assert not wrong["inside"].all()
    # the notebook's own fit on the default company: the same ratios, ordered as the truth
    obs = T.observable_cox(demo20k.tables["customers"], T.from_demo(demo20k))
    hr = {key: obs.hazard_ratio(key)[0] for key in truth["hazard_ratios"]}
    assert hr["contract[two_year]"] < hr["contract[one_year]"] < 1
    assert 0.6 < obs.concordance < 0.8


def test_demo_true_reason_shares_recovered(demo20k):
    truth = demo20k.truth["churn"]
    shares = reasons.reason_shares(demo20k.tables["customers"]).set_index("reason")
    for cause, share in truth["cause_shares"].items():
        row = shares.loc[cause]
        # family-wise 95% over the six causes (Bonferroni): z = 2.87 binomial SEs
        se = np.sqrt(share * (1 - share) / shares["churners"].sum())
        assert abs(row["share"] - share) < 2.87 * se, (cause, share, row.to_dict())
    prevent = sum(v for k, v in truth["cause_shares"].items() if k not in ("natural", "malicious"))
    assert reasons.preventable_share(demo20k.tables["customers"]) == pytest.approx(prevent,
                                                                                  abs=0.015)
    c = demo20k.tables["customers"]
    assert c["churned"].mean() == pytest.approx(truth["rate"])


def test_cumulative_incidence_adds_up_to_km(demo20k):
    d = survival.durations(demo20k.tables["customers"], as_of=AS_OF)
    inc = survival.cumulative_incidence(d)
    total = inc.groupby("time")["incidence"].sum()
    km = survival.kaplan_meier(d).curves.set_index("time")["survival"]
    common = total.index.intersection(km.index)
    np.testing.assert_allclose(total.loc[common], 1 - km.loc[common], atol=1e-9)


def test_cox_table_is_the_statsmodels_results_built_on_demand():
    """The table's intervals and p-values (computed without building statsmodels' model)
    are those of the results object built on first use, bit for bit; the PH test reads it."""
    rng = np.random.default_rng(4)
    n = 2000
    d = pd.DataFrame({"plan": rng.choice(["a", "b"], n), "x": rng.normal(size=n)})
    life = rng.exponential(1 / (0.05 * np.exp(0.5 * (d["plan"] == "b") + 0.2 * d["x"])))
    cens = rng.uniform(0, 40, n)
    d["duration"] = np.ceil(np.minimum(life, cens))
    d["event"] = (life <= cens).astype(int)
    res = survival.cox(d, ["plan", "x"])
    assert "result" not in res.__dict__ and "ph_test" not in res.__dict__  # not built yet
    ci = np.asarray(res.result.conf_int())
    np.testing.assert_array_equal(res.table["ci_low"], np.exp(ci[:, 0]))
    np.testing.assert_array_equal(res.table["ci_high"], np.exp(ci[:, 1]))
    np.testing.assert_array_equal(res.table["p_value"], res.result.pvalues)
    np.testing.assert_array_equal(res.table["hazard_ratio"], np.exp(res.result.params))
    X, _ = survival.cox_design(d, ["plan", "x"])
    pd.testing.assert_frame_equal(res.ph_test, survival.ph_test(
        res.result, d["duration"], d["event"], X.columns))
