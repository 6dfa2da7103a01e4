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

import pandas as pd
import pytest

import crm_lib
from crm_lib import survey, truth, value
from crm_lib.churn import definition, reasons, sbg
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
