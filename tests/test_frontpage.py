"""The front page on a constructed run folder: status, summary first, labelled figures,
teaching apart, raw keys only in <details>, no scientific notation."""

from __future__ import annotations

import re

from crm_lib import fmt, frontpage, metrics
from crm_lib.runner import NotebookResult


def test_front_page_layout_on_a_constructed_run(tmp_path):
    metrics.record(tmp_path, "00_crm_concepts", {"concepts.acquisition_heavy_profit": 6501000.36,
                                                 "concepts.cost_ratio": 5.0})
    metrics.record(tmp_path, "04_churn_modeling", {
        "churn.rate": 0.2695, "churn.horizon_months": 6, "churn.horizon_rate": 0.0834,
        "churn.cv_auc": 0.6167533682699596, "churn.sbg.alpha": 17755875789012.883})
    metrics.record(tmp_path, "05_retention_roi", {"roi.budget": 1e4})
    metrics.record(tmp_path, "06_executive_summary", {
        "summary.churn_trend_pp_per_month": 1.3385997019035943e-05,
        "summary.churn_trend_ci_low": -0.00046, "summary.churn_trend_ci_high": 0.00049,
        "summary.optimum_spend": 46512.3, "summary.optimum_n": 900, "summary.optimum_depth": 0.45,
        "summary.marginal_return": -0.01})
    by = metrics.read_by_notebook(tmp_path)
    results = [NotebookResult("00_crm_concepts", "ok", 3.2, html="00_crm_concepts.html",
                              metrics=by["00_crm_concepts"]),
               NotebookResult("02_survey_satisfaction_loyalty", "skipped", 0.1,
                              "source 'telco' does not provide survey_responses"),
               NotebookResult("04_churn_modeling", "ok", 61.0, html="04_churn_modeling.html",
                              metrics=by["04_churn_modeling"]),
               NotebookResult("05_retention_roi", "failed", 9.0, "ValueError: boom", cell=7,
                              metrics=by["05_retention_roi"]),
               NotebookResult("06_executive_summary", "ok", 5.0,
                              html="06_executive_summary.html",
                              metrics=by["06_executive_summary"])]
    page = frontpage.render(tmp_path, "r1", results,
                            {"status": "failed", "duration_s": 80.0,
                             "parameters": {"source": "demo"}})
    assert page.index('class="status failed"') < page.index("<h2>Summary</h2>") < page.index(
        "Company results") < page.index("Teaching simulations") < page.index("<details>")
    body = re.sub(r"<details>.*?</details>", "", page, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", body)
    assert not fmt.scientific_notation(text), fmt.scientific_notation(text)
    assert "churn.rate" not in text and "concepts." not in text  # raw keys only in <details>
    assert "Customers who have ever churned" in text and "27.0%" in text
    assert "cumulative" in text  # its time frame
    assert "The budget limit of 10,000 binds" in text and "46,512" in text
    assert "no clear trend" in text
    assert "does not provide survey_responses" in text and "ValueError: boom (cell 7)" in text
    assert "17,755,875,789,012.88" in text  # no 1.776e+13
    teaching = body[body.index("Teaching simulations"):]
    assert "6,501,000" in teaching and "6,501,000" not in body[:body.index("Teaching")]
    assert "concepts.acquisition_heavy_profit" in page.split("<details>")[1]
