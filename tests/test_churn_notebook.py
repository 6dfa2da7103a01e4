"""Notebook 04 end to end: on the demo batch run, and unchanged on a different schema."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

NB = "04_churn_modeling"
KEYS = ("churn.rate", "churn.cv_auc", "churn.cv_auc_sd", "churn.pr_auc", "churn.brier",
        "churn.ece", "churn.top_decile_lift", "churn.cox.concordance", "churn.preventable_share")


def test_notebook_on_the_demo_run(demo_run, demo_small):
    status = {n["name"]: n["status"] for n in demo_run["manifest"]["notebooks"]}
    assert status[NB] == "ok"
    m = demo_run["metrics"]
    assert all(k in m for k in KEYS)
    assert 0.1 < m["churn.rate"] < 0.5 and 0 < m["churn.brier"] < 0.2
    assert 0.4 < m["churn.cv_auc"] < 1 and m["churn.cv_auc_sd"] > 0
    assert 0.55 < m["churn.cox.concordance"] < 0.9
    assert 0.6 < m["churn.preventable_share"] < 0.95
    assert m["churn.cox.hr.contract[two_year]"] < m["churn.cox.hr.contract[one_year]"] < 1
    truth = demo_small.truth["churn"]  # the same small company the batch ran on
    assert abs(m["churn.rate"] - truth["rate"]) < 0.01  # realised churn share of the company
    for cause, share in truth["cause_shares"].items():
        assert abs(m[f"churn.reason_share.{cause}"] - share) < 0.05, cause
    scores = pd.read_parquet(demo_run["run_dir"] / "scores.parquet")
    assert {"customer_id", "churn_probability", "risk_tier", "top_reasons"} <= set(scores)
    assert m["churn.n_scored"] == len(scores)
    html = (demo_run["run_dir"] / f"{NB}.html").read_text()
    html = re.sub(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=]+", "", html)  # figures
    assert not re.search(r"\bC\d{6}\b", html), "raw customer ids in the HTML report"
    assert "P-" in html  # the pseudonymised action list is shown


def _other_schema_customers(n: int = 1500, seed: int = 5) -> pd.DataFrame:
    """A customers table with none of the usual attributes (and no reasons or contract)."""
    rng = np.random.default_rng(seed)
    as_of = pd.Timestamp("2026-06-30")
    signup = as_of - pd.to_timedelta(rng.integers(30, 1100, n), unit="D")
    seg = rng.choice(["gold", "silver", "bronze"], n, p=[0.2, 0.3, 0.5])
    score = rng.normal(600, 80, n)
    app = rng.random(n) < 0.5
    rate = 0.02 * np.exp(0.9 * (seg == "bronze") - 0.5 * (seg == "gold")
                         - 0.006 * (score - 600) - 0.7 * app)  # monthly hazard
    life = pd.to_timedelta(rng.exponential(30.4 / rate), unit="D")
    end = signup + life
    churned = end <= as_of
    return pd.DataFrame({
        "customer_id": [f"K-{i:05d}" for i in range(n)],
        "signup_date": signup.strftime("%Y-%m-%d"),
        "end_date": pd.Series(end.strftime("%Y-%m-%d")).where(churned),
        "churned": churned,
        "segment": seg,
        "credit_score": pd.Series(np.round(score)).where(rng.random(n) > 0.05),
        "has_app": np.where(app, "yes", "no"),
        "visits_per_month": rng.poisson(3, n),
        "city": rng.choice([f"city{k}" for k in range(80)], n),  # too many levels: dropped
    })


def test_notebook_runs_unchanged_on_a_different_schema(tmp_path, run_notebook):
    folder = tmp_path / "my_company"
    folder.mkdir()
    _other_schema_customers().to_csv(folder / "customers.csv", index=False)
    r = run_notebook(NB, source="folder", data_dir=str(folder), cv_repeats=1)
    m, run_dir = r.metrics, r.run_dir
    assert all(k in m for k in KEYS)
    assert m["churn.preventable_share"] is None  # no reasons recorded
    assert m["churn.cv_auc"] > 0.6  # the planted attributes are found
    assert m["churn.cox.events"] == "all churn"
    assert any(k.startswith("churn.cox.hr.segment") for k in m)  # fallback covariates
    assert "churn.importance.city" not in m  # dropped (80 levels): no importance
    assert max(v for k, v in m.items() if k.startswith("churn.importance.")) == max(
        m.get(f"churn.importance.{k}", 0) for k in ("segment", "credit_score", "has_app"))
    scores = pd.read_parquet(run_dir / "scores.parquet")
    assert scores["customer_id"].str.startswith("K-").all()
