"""Notebook 02 machinery on the demo company: the truth is recovered, the notebook records it.

The demo's ground truth (``truth["survey"]``) gives the standardised paths and
loadings of the population of customers. The survey samples customers active
at each wave, and churn removed more of the dissatisfied: among respondents
the latent satisfaction varies less, which lowers the standardised loadings of
its items. Answers are ordered categories (1-10) cut from y* = loading x eta +
error at construct-specific levels, which lowers each item's correlation with
its latent by the polyserial attenuation of the cut. The loadings the survey can
recover are therefore the item-latent correlations of the stored answers among the
respondents: ``demo.item_loadings`` draws them from the respondents' latent scores
(per-customer truth) with the survey's own item model, which also has 2%
straight-liners (one box for every item, reverse-worded ones too, so reverse items
lose a little more after recoding). The
paths are compared with ``survey_paths``: the standardised paths PLSc converges to
on the stored answers among the respondents (Monte Carlo in the generator). PLSc
corrects the construct correlations for measurement error, but the 2%
straight-liners (one box for every item) add a common component that pulls
satisfaction -> complaints towards zero, so the population value (-0.5) is not
what any estimator of these answers recovers.

Intervals are checked family-wise (Bonferroni over the 12 paths, over the 24
loadings): with 36 parameters, even a perfect method misses some 95%
per-parameter intervals (0.95^36 = 16% chance of none), so "every true value
inside its interval" is only a sound test for simultaneous intervals. The
per-parameter intervals are checked for coverage near 95%.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_lib import survey
from crm_lib.sources import demo


@pytest.fixture(scope="module")
def demo_model(demo_small):
    t = demo_small.tables
    prep = survey.prepare_items(t["survey_responses"], t["survey_codebook"])
    model = survey.estimate_structural_model(prep, n_boot=300, seed=1)
    return prep, model


def test_reverse_items_of_the_codebook_are_the_true_ones(demo_small, demo_model):
    prep, _ = demo_model
    truth = demo_small.truth["survey"]
    assert sorted(prep.codebook.loc[prep.codebook["reverse"], "item"]) == \
        sorted(truth["reverse_items"])
    assert prep.constructs == truth["constructs"]
    # after recoding, every item correlates positively with its construct's other items
    for its in prep.constructs.values():
        c = prep.items[its].corr().to_numpy()
        assert (c[np.triu_indices(len(its), 1)] > 0.2).all()


def test_true_paths_inside_family_wise_intervals(demo_small, demo_model):
    _, model = demo_model
    truth = pd.Series(demo_small.truth["survey"]["survey_paths"])
    p = model.paths.copy()
    p["truth"] = truth.reindex(p.index).fillna(0.0)  # ECSI paths absent from the truth are 0
    assert set(truth.index) <= set(p.index)
    inside_fw = (p["plsc_fw_low"] <= p["truth"]) & (p["truth"] <= p["plsc_fw_high"])
    assert inside_fw.all(), p.loc[~inside_fw, ["plsc", "plsc_fw_low", "plsc_fw_high", "truth"]]
    inside = (p["plsc_ci_low"] <= p["truth"]) & (p["truth"] <= p["plsc_ci_high"])
    assert inside.sum() >= 10, p.loc[~inside, ["plsc", "plsc_ci_low", "plsc_ci_high", "truth"]]
    # CB-SEM agrees with PLSc; plain PLS (composites) is attenuated towards zero
    assert (p["cbsem"] - p["plsc"]).abs().max() < 0.03
    strong = p["truth"].abs() >= 0.3
    assert (p.loc[strong, "pls"].abs() < p.loc[strong, "plsc"].abs()).all()


def test_true_loadings_inside_family_wise_intervals(demo_small, demo_model):
    prep, model = demo_model
    truth = demo_small.truth["survey"]
    ct = demo_small.customer_truth.set_index("customer_id")
    used = prep.meta.loc[survey.latest_per_respondent(prep.meta), "customer_id"].dropna()
    eta_used = ct.loc[used, list(truth["constructs"])]
    var = eta_used.var()
    lam_resp = pd.Series(demo.item_loadings(eta_used))
    assert var["satisfaction"] < 1.0  # survivorship: churn removed more dissatisfied customers
    L = model.loadings.copy()
    L["truth"] = lam_resp.reindex(L.index)
    inside_fw = (L["cfa_fw_low"] <= L["truth"]) & (L["truth"] <= L["cfa_fw_high"])
    assert inside_fw.all(), L.loc[~inside_fw, ["cfa", "cfa_fw_low", "cfa_fw_high", "truth"]]
    inside = (L["cfa_ci_low"] <= L["truth"]) & (L["truth"] <= L["cfa_ci_high"])
    assert inside.mean() >= 0.8
    # PLS composite loadings are biased upward against the factor loadings
    assert (L["pls"] > L["truth"]).mean() >= 0.9


def test_cb_sem_fits_the_true_model_and_reliability_is_consistent(demo_model):
    prep, model = demo_model
    f = model.fit
    assert f.cfi > 0.98 and f.rmsea < 0.03 and f.srmr < 0.03
    rel = survey.measurement_table(prep, model)
    assert (rel["alpha"] <= rel["omega"] + 1e-3).all()  # alpha is a lower bound
    assert (rel["ave"] > 0.4).all() and (rel["alpha"] > 0.65).all()


def test_behaviour_join_matches_the_customer_table(demo_small):
    t = demo_small.tables
    prep = survey.prepare_items(t["survey_responses"], t["survey_codebook"])
    as_of = demo_small.truth["params"]["as_of"]
    follow = survey.respondent_behaviour(prep.meta, t["customers"], as_of, t["transactions"],
                                         horizon_days=180)
    beh = follow.to_frame()
    cust = t["customers"].set_index("customer_id")
    end = pd.to_datetime(cust.loc[beh["customer_id"], "end_date"]).to_numpy()
    d = beh["date"].to_numpy()
    want = ~pd.isna(end) & (end > d) & (end <= d + np.timedelta64(180, "D"))
    assert (beh["churned"].to_numpy() == want).all()
    assert follow.excluded["anonymous"] == int(prep.meta["customer_id"].isna().sum())
    assert len(beh) + sum(follow.excluded.values()) == len(prep.meta)  # every response counted
    # the demo's zone-shaped satisfaction effect: low satisfaction churns more
    latest = survey.loyalty_frame(prep, t["customers"], as_of, t["transactions"], 180)
    frame = latest.to_frame()
    assert len(frame) + latest.repeat_responses_dropped == len(beh)
    assert frame["customer_id"].is_unique and f"{len(frame)} respondents" in latest.text()
    tab = survey.satisfaction_loyalty_table(frame["satisfaction_index"], frame["churned"],
                                            66.7, 33.3)
    assert tab["churn_rate_dissatisfied"] > tab["churn_rate_satisfied"]
    assert 0 < tab["satisfied_defectors_share"] < 1 and tab["dissatisfied_stayers"] > 0
    curve = survey.response_curve(frame["satisfaction_index"], frame["churned"])
    z = survey.zones(curve, x=frame["satisfaction_index"])
    assert z.index[0] == "defection" and "affection" in z.index
    assert z["x_from"].iloc[1:].to_numpy() == pytest.approx(z["x_to"].iloc[:-1].to_numpy())


def test_notebook_records_the_survey_metrics(demo_run):
    assert demo_run["code"] == 0
    m = demo_run["metrics"]
    constructs = ["image", "expectations", "quality", "value", "satisfaction", "complaints",
                  "loyalty"]
    for c in constructs:
        assert 0.6 < m[f"survey.alpha.{c}"] < 0.95
        assert m[f"survey.alpha.{c}"] <= m[f"survey.omega.{c}"] + 1e-3
    for p in survey.ECSI_PATHS:
        assert -1 < m[f"survey.pls.path.{p}"] < 1
    assert m["survey.pls.path.satisfaction->complaints"] < 0  # complaints fall with satisfaction
    assert 0 < m["survey.pls.gof"] < 1
    assert m["survey.sem.cfi"] > 0.95 and m["survey.sem.rmsea"] < 0.05
    assert m["survey.nps_ci_low"] < m["survey.nps"] < m["survey.nps_ci_high"]
    assert -100 <= m["survey.nps_ci_low"] and m["survey.nps_ci_high"] <= 100
    assert 0 <= m["survey.satisfied_defectors_share"] <= 1
    shares = {k: v for k, v in m.items() if k.startswith("survey.driver.")}
    assert set(shares) == {f"survey.driver.{d}" for d in ("image", "expectations", "quality",
                                                          "value")}
    assert sum(shares.values()) == pytest.approx(1.0)
