"""The truth accessor and the truth panels of notebooks 02-05, checked over five demo companies.

The panels are built by the same library calls the notebooks' "Checked against the
truth" sections make, on small companies (3,000 customers, seeds 0-4, no notebook
runs). One family: every row of every panel over the five seeds; each interval is
widened to 1 - 0.05 / m (Bonferroni over all m rows), so a correct method fails this
test with probability at most 5%, and a biased one (an estimate compared with the
wrong truth, e.g. BG/NBD fitted on everybody against the shop's own process) fails it.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import crm_lib
from crm_lib import summary, survey, truth, value
from crm_lib.churn import definition, evaluation, fitcheck, models, reasons, sbg
from crm_lib.roi import uplift
from crm_lib.sources import demo

SEEDS = range(5)
N = 3000


def _rows(seed: int) -> list[dict]:
    d = demo.generate(demo.DemoParams(n_customers=N, seed=seed))
    tr = truth.from_demo(d)
    t, as_of = d.tables, d.truth["params"]["as_of"]
    # 04: hidden-trait Cox, sBG, reason shares
    cu = definition.prepare_customers(t["customers"], as_of)
    periods = sbg.truncate_periods(sbg.customer_periods(cu, as_of=as_of), 24)
    fit = sbg.fit_sbg(periods["periods"], periods["churned"])
    rows = truth.churn_rows(cu, fit, reasons.reason_shares(cu), tr)
    # 03: Gamma-Gamma on everybody, BG/NBD on the engaged plan holders
    tx = t["transactions"]
    final = value.fit_value_models(value.rfm_summary(tx, calibration_end=as_of))
    holders = truth.engaged_holders(t["customers"], tr)
    on_plan = value.fit_value_models(value.rfm_summary(tx[tx["customer_id"].isin(holders)],
                                                       calibration_end=as_of))
    rows += truth.value_rows(final, on_plan, tr)
    # 05: the pilot's ATE (the pipeline's estimator) and acceptance
    c = t["campaigns"]
    ate = uplift.average_treatment_effect(c["churned_after"], c["treated"], level=0.95)
    rows += truth.roi_rows(SimpleNamespace(ate=ate), c, tr)
    # 02: PLSc paths
    prep = survey.prepare_items(t["survey_responses"], t["survey_codebook"])
    model = survey.estimate_structural_model(prep, n_boot=100, seed=seed)
    rows += truth.survey_rows(model, tr)
    return [{**r, "quantity": f"seed {seed}: {r['quantity']}"} for r in rows]


@pytest.fixture(scope="module")
def five_seed_panel() -> pd.DataFrame:
    return truth.panel([r for s in SEEDS for r in _rows(s)])


def test_every_truth_panel_value_inside_its_family_wise_interval(five_seed_panel):
    p = five_seed_panel
    assert len(p) > 150
    assert p["inside"].all(), p.loc[~p["inside"]]
    # and the 95% intervals cover at a plausible rate (not vacuously wide)
    per_row = (p["ci_low"] <= p["truth"]) & (p["truth"] <= p["ci_high"])
    assert 0.85 <= per_row.mean() <= 1.0


def test_true_retention_curve_inside_the_fitted_sbg_band(demo_20k):
    """Default demo (20,000 customers, seed 42), as notebook 04 fits it: the sBG estimates
    are finite and the true retention curve lies inside the fitted 95% band at every month
    of the fit window. The true curve is the population the fit sees (its life table agrees
    within Greenwood errors), and the band is not vacuous: constant churn, the model the
    sBG reduces to without heterogeneity, leaves it."""
    d, tr = demo_20k, truth.from_demo(demo_20k)
    as_of, months = d.truth["params"]["as_of"], d.truth["churn"]["sbg"]["fit_months"]
    cu = definition.prepare_customers(d.tables["customers"], as_of)
    fd = sbg.truncate_periods(sbg.customer_periods(cu, as_of=as_of), months)
    fit = sbg.fit_sbg(fd["periods"], fd["churned"])
    check = fitcheck.sbg_check(fit, fd["periods"], fd["churned"])
    assert np.isfinite([fit.alpha, fit.beta]).all() and check.heterogeneity_supported
    band = truth.sbg_curve_check(fit, tr)
    assert band["months"].tolist() == list(range(1, months + 1))
    assert band["inside"].all(), band[~band["inside"]]
    # the true curve is the curve of these customers: their life table agrees with it
    t, e = fd["periods"].to_numpy(), fd["churned"].to_numpy()
    k = np.arange(1, months + 1)
    at_risk = (t[None, :] >= k[:, None]).sum(axis=1)
    events = ((t[None, :] == k[:, None]) & e[None, :]).sum(axis=1)
    life = np.cumprod(1 - events / at_risk)
    se = life * np.sqrt(np.cumsum(events / (at_risk * (at_risk - events))))
    assert (np.abs(life - band["truth"].to_numpy()) < 3.5 * se).all()
    # constant churn at the same data's rate is outside the band: the band can fail
    geometric = (1 - check.constant_churn) ** band["months"].to_numpy()
    outside = (geometric < band["ci_low"]) | (geometric > band["ci_high"])
    assert outside.sum() >= months // 2


def test_default_demo_churn_model_reaches_the_attainable_and_the_summary_does_not_warn(
        demo_20k):
    """Notebook 04's metrics path on the default company (20,000 customers, seed 42): its
    defaults (6-month horizon, interactions and transactions as history, calibrated
    ensemble, 5 x 3 cross-validation, seed 42). The CV AUC lies in 0.75-0.88 and reaches
    at least 0.9 of the attainable AUC, and the executive summary's model sentence, from
    that figure under the summary's own threshold, carries no weak-model warning (it does
    for an AUC below the threshold)."""
    d = demo_20k
    as_of = d.truth["params"]["as_of"]
    cu = definition.prepare_customers(d.tables["customers"], as_of)
    X, y, window = definition.training_frame(
        cu, as_of=as_of, horizon_months=6,
        **{k: d.tables[k] for k in ("interactions", "transactions")})
    cv = evaluation.cross_validate(models.make_model("ensemble", calibration="sigmoid", seed=42),
                                   X, y, n_splits=5, n_repeats=3, seed=42)
    auc = cv.mean("roc_auc")
    text, m = truth.attainable_sentence(auc, truth.from_demo(d), window.horizon_months)
    assert 0.75 <= auc <= 0.88, auc
    assert m["churn.auc_share_of_attainable"] >= 0.9, text
    assert auc > summary.WARN["weak_auc"] + 0.03  # not a near miss
    said = " ".join(summary.messages({"churn.cv_auc": auc}))
    assert "ranks customers usefully" in said and "weak" not in said, said
    assert "weak" in " ".join(summary.messages({"churn.cv_auc": summary.WARN["weak_auc"] - 0.01}))


def test_the_wrong_truth_is_caught():
    """The panel can fail: BG/NBD fitted on everybody (plan ends mixed into its dropout and
    rate) is not the shop's own process, and the panel says so."""
    d = demo.generate(demo.DemoParams(n_customers=6000, seed=3))
    tr = truth.from_demo(d)
    tx = d.tables["transactions"]
    everybody = value.fit_value_models(value.rfm_summary(tx, calibration_end="2026-06-30"))
    p = truth.panel(truth.value_rows(everybody, everybody, tr))
    assert not p["inside"].all()
    assert not p.loc[p["quantity"].str.startswith("BG/NBD"), "inside"].all()


def test_accessor_reads_the_demo_truth_and_nothing_for_other_sources(tmp_path):
    p = demo.DemoParams(n_customers=1500, seed=2)
    demo.write_demo(tmp_path / "raw", tmp_path / "truth", p)
    tr = truth.load(tmp_path / "truth")
    assert tr is not None and tr.ground["params"]["seed"] == 2
    assert len(tr.customers) == 1500 and "frailty" in tr.customers
    # the per-customer truth file reads back exactly what was simulated (every value)
    sim = demo.generate(p).customer_truth.reset_index(drop=True)
    read = tr.customers[list(sim.columns)]
    assert read.isna().equals(sim.isna())
    for c in sim:
        same = read[c].astype(sim[c].dtype) == sim[c]
        assert (same | sim[c].isna()).all(), c
    assert truth.load(tmp_path / "raw") is None  # a folder without a truth
    session = SimpleNamespace(source=SimpleNamespace(build=lambda: SimpleNamespace(name="cdnow")))
    assert truth.for_session(session) is None
    assert "no known truth" in truth.NO_TRUTH


def test_attainable_sentence_and_metrics():
    d = demo.generate(demo.DemoParams(n_customers=1500, seed=4))
    text, m = truth.attainable_sentence(0.75, truth.from_demo(d), 6)
    att = d.truth["churn"]["attainable_auc"]["6"]["auc"]
    assert m == {"churn.attainable_auc": att, "churn.auc_share_of_attainable": 0.75 / att}
    assert "reaches" in text and f"{att:.3f}" in text


def test_no_analysis_module_imports_the_truth():
    """Only truth.py itself, the sources and the student/test helpers may touch the truth."""
    root = Path(crm_lib.__file__).parent
    allowed = {root / "truth.py", root / "student.py"}
    pattern = re.compile(r"^\s*(from\s+(crm_lib|\.+)\s+import\s+[^#\n]*\btruth\b|"
                         r"(from|import)\s+(crm_lib|\.*)\.?truth\b)", re.M)
    offenders = [str(f.relative_to(root)) for f in root.rglob("*.py")
                 if f not in allowed and "sources" not in f.relative_to(root).parts
                 and pattern.search(f.read_text())]
    assert offenders == []
    # the pattern does catch an import
    assert pattern.search("from crm_lib import truth\n") and pattern.search("from . import truth")
