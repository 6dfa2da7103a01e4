"""Notebook 03 in batch: on the small demo company and on CDNOW (`crm-report --source cdnow`)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from crm_lib import runner

KEYS = ["clv.bgnbd.r", "clv.bgnbd.alpha", "clv.bgnbd.a", "clv.bgnbd.b", "clv.bgnbd.loglik",
        "clv.gg.p", "clv.gg.q", "clv.gg.gamma", "clv.gg.loglik", "value.gini",
        "value.top20_share", "clv.holdout_mae", "clv.total"]
COLUMNS = ["customer_id", "frequency", "recency", "T", "monetary", "expected_purchases",
           "p_alive", "expected_spend", "clv", "value_tier", "lifecycle_stage"]


def _status(run: dict, name: str = "03_customer_value") -> tuple[str, str]:
    nb = {n["name"]: n for n in run["manifest"]["notebooks"]}[name]
    return nb["status"], nb["message"]


def test_notebook_on_demo_recovers_the_truth(demo_run, demo_small):
    assert _status(demo_run)[0] == "ok", _status(demo_run)
    m = demo_run["metrics"]
    assert set(KEYS) <= set(m)
    # the notebook fits everybody: purchases stop at plan end and slow once a customer
    # disengages, so BG/NBD's values are effective ones (the truth panel checks the shop's own
    # process on the engaged plan holders): the purchase rate r / alpha stays close, the
    # dropout a / (a + b) rises. Gamma-Gamma's p and gamma trade off at n = 3,000; the mean
    # spend p gamma / (q - 1) they imply is sharp.
    bg, gg = demo_small.truth["shop"]["bgnbd"], demo_small.truth["shop"]["gamma_gamma"]
    assert m["clv.bgnbd.r"] / m["clv.bgnbd.alpha"] == pytest.approx(bg["r"] / bg["alpha"],
                                                                   rel=0.2)
    assert m["clv.bgnbd.a"] / (m["clv.bgnbd.a"] + m["clv.bgnbd.b"]) > bg["a"] / (bg["a"] + bg["b"])
    assert m["clv.gg.q"] == pytest.approx(gg["q"], rel=0.3)
    assert m["clv.gg.p"] * m["clv.gg.gamma"] / (m["clv.gg.q"] - 1) == pytest.approx(
        gg["p"] * gg["gamma"] / (gg["q"] - 1), rel=0.1)
    assert 0.3 < m["value.gini"] < 0.9 and 0.4 < m["value.top20_share"] < 0.95
    assert m["clv.total_lower"] < m["clv.total"] < m["clv.total_upper"]
    cv = pd.read_parquet(demo_run["run_dir"] / "clv.parquet")
    assert list(cv.columns[:5]) == COLUMNS[:5] and set(COLUMNS) <= set(cv.columns)
    assert cv["customer_id"].is_unique and len(cv) == 3000
    assert cv["clv"].sum() == pytest.approx(m["clv.total"])


def test_value_risk_matrix_uses_04s_scores_in_a_batch_run(demo_run, demo_small):
    """The runner runs 04 before 03, so the value x risk tiers use the churn model's scores,
    and customers whose plan has ended are high risk, not 1 - P(alive) in the low column."""
    assert demo_run["metrics"]["value.risk_from_churn_model"] is True
    run_dir = demo_run["run_dir"]
    cv = pd.read_parquet(run_dir / "clv.parquet").set_index("customer_id")
    scores = pd.read_parquet(run_dir / "scores.parquet").set_index("customer_id")
    both = cv.index.intersection(scores.index)
    assert len(both) > 0.5 * len(scores)
    assert (cv.loc[both, "risk"] - scores.loc[both, "churn_probability"]).abs().max() < 1e-12
    cust = demo_small.tables["customers"]
    as_of = pd.Timestamp(demo_small.truth["dates"]["as_of"])
    ended = cust.loc[pd.to_datetime(cust["end_date"]) <= as_of, "customer_id"].astype(str)
    ended = ended[ended.isin(cv.index)]
    assert len(ended) > 0
    assert (cv.loc[ended, "risk"] == 1.0).all() and (cv.loc[ended, "risk_tier"] == "high").all()
    # the churn model's own tiers (rank-based), so no tier is empty by construction
    assert (cv.loc[both, "risk_tier"] == scores.loc[both, "risk_tier"]).all()
    assert {"low", "medium", "high"} <= set(cv.loc[both, "risk_tier"])
    html = (run_dir / "03_customer_value.html").read_text()
    assert "churn probability and risk tier of notebook 04" in html


def test_crm_report_source_cdnow_reproduces_published_values(crm_home):
    """`crm-report --source cdnow --notebooks 03`: FHL 2005 and FH 2013 within 0.5%."""
    code, run_dir = runner.run(source="cdnow", notebooks="03", out=str(crm_home / "cdnow-03"),
                               quiet=True)
    manifest = json.loads((Path(run_dir) / "manifest.json").read_text())
    assert code == 0, manifest["notebooks"]
    m = json.loads((Path(run_dir) / "metrics.json").read_text())
    published = {"clv.bgnbd.r": 0.243, "clv.bgnbd.alpha": 4.414, "clv.bgnbd.a": 0.793,
                 "clv.bgnbd.b": 2.426, "clv.bgnbd.loglik": -9582.4, "clv.gg.p": 6.25,
                 "clv.gg.q": 3.74, "clv.gg.gamma": 15.44}
    for k, v in published.items():
        assert m[k] == pytest.approx(v, rel=0.005), k
    cv = pd.read_parquet(Path(run_dir) / "clv.parquet")
    assert len(cv) == 2357 and set(COLUMNS) <= set(cv.columns)
