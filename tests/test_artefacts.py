"""Run artefacts: declarations, validation on write and read, and the notebook graph."""

from __future__ import annotations

import nbformat
import numpy as np
import pandas as pd
import pytest

from crm_lib import artefacts, runner


def _scores(n: int = 5) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [f"C{i}" for i in range(n)],
                         "churn_probability": np.linspace(0.1, 0.9, n),
                         "risk_tier": ["low"] * n, "top_reasons": ["contract"] * n})


def test_write_then_read_round_trips_and_absent_is_none(tmp_path):
    assert artefacts.read(tmp_path, "churn_scores") is None
    p = artefacts.write(_scores(), tmp_path, "churn_scores")
    assert p == tmp_path / "scores.parquet"
    pd.testing.assert_frame_equal(artefacts.read(tmp_path, "churn_scores"), _scores())
    t = pd.DataFrame({"customer_id": ["007", "010"], "customer": ["p1", "p2"],
                      "expected_incremental_profit": [3.5, 1.0], "reason": ["a", "b"]})
    artefacts.write(t, tmp_path, "targets")
    assert artefacts.read(tmp_path, "targets")["customer_id"].tolist() == ["007", "010"]


def test_validation_names_file_columns_and_writer(tmp_path):
    with pytest.raises(artefacts.ArtefactError, match=r"scores.parquet.*04_churn_modeling.*"
                       r"missing column\(s\) churn_probability"):
        artefacts.write(_scores().drop(columns="churn_probability"), tmp_path, "churn_scores")
    bad = _scores().assign(churn_probability=["x"] * 5)
    with pytest.raises(artefacts.ArtefactError, match="churn_probability .*declared float"):
        artefacts.write(bad, tmp_path, "churn_scores")
    with pytest.raises(artefacts.ArtefactError, match="customer_id must be unique"):
        artefacts.write(pd.concat([_scores(), _scores()]), tmp_path, "churn_scores")
    _scores().drop(columns="risk_tier").to_parquet(tmp_path / "scores.parquet")  # foreign writer
    with pytest.raises(artefacts.ArtefactError, match="risk_tier"):
        artefacts.read(tmp_path, "churn_scores")
    with pytest.raises(KeyError, match="declared: churn_scores"):
        artefacts.read(tmp_path, "scores")


def test_each_artefact_has_one_writer_and_declared_notebooks():
    stems = {p.stem for p in runner.list_notebooks()}
    for a in artefacts.ARTEFACTS.values():
        assert a.writer in stems, a.name
        assert set(a.readers) <= stems - {a.writer}, a.name
        assert set(a.columns.values()) <= set(artefacts.KINDS)


def test_project_graph_orders_churn_before_value_and_summary_last():
    order = [n.name for n in artefacts.plan()]
    g = artefacts.notebook_graph()
    assert order.index("04_churn_modeling") < order.index("03_customer_value")
    assert set(g["05_retention_roi"]) == {"03_customer_value", "04_churn_modeling"}
    assert order[-1] == "06_executive_summary"
    assert set(g["06_executive_summary"]) == set(order) - {"06_executive_summary"}
    assert g["00_crm_concepts"] == g["01_data_cleaning"] == g["02_survey_satisfaction_loyalty"] == []


def test_graph_keeps_only_edges_inside_the_run_and_detects_cycles(tmp_path):
    nbs = sorted(runner.list_notebooks())
    sub = [p for p in nbs if p.stem.startswith(("03", "06"))]
    assert artefacts.notebook_graph(sub) == {"03_customer_value": [],
                                             "06_executive_summary": ["03_customer_value"]}
    paths = []
    for name, after in (("01_a", ["02_b"]), ("02_b", ["01_a"])):
        nb = nbformat.v4.new_notebook()
        nb.metadata["crm"] = {"after": after}
        nbformat.write(nb, tmp_path / f"{name}.ipynb")
        paths.append(tmp_path / f"{name}.ipynb")
    with pytest.raises(ValueError, match="cycle among 01_a, 02_b"):
        artefacts.plan(paths)


def test_batch_run_artefacts_match_declarations_and_value_matrix_uses_04(demo_run):
    run_dir = demo_run["run_dir"]
    scores = artefacts.read(run_dir, "churn_scores")
    clv = artefacts.read(run_dir, "clv")
    assert scores is not None and clv is not None  # 04 ran before 03 in the batch
    assert artefacts.read(run_dir, "targets") is not None
    # 03's value x risk matrix takes 04's churn probability where 04 scored the customer
    both = clv.merge(scores, on="customer_id")
    assert len(both) > 0.5 * len(scores)
    np.testing.assert_allclose(both["risk"], both["churn_probability"])


def test_session_writes_only_its_own_artefacts(tmp_path):
    import crm_lib as crm
    s04 = crm.start("04_churn_modeling", run_dir=str(tmp_path), style=False)
    s04.write_artefact("churn_scores", _scores())
    s03 = crm.start("03_customer_value", run_dir=str(tmp_path), style=False)
    assert s03.artefact("churn_scores")["customer_id"].tolist() == _scores()["customer_id"].tolist()
    assert s03.artefact("clv") is None
    with pytest.raises(artefacts.ArtefactError, match="written by 04_churn_modeling only"):
        s03.write_artefact("churn_scores", _scores())
