"""Bad survey input gets a clear message and a documented treatment, never a crash."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_lib.survey.items import SurveyInputError, prepare_items
from crm_lib.survey.model import estimate_structural_model
from crm_lib.survey.reliability import reliability_table


def _survey(n=300, seed=0):
    rng = np.random.default_rng(seed)
    f = rng.standard_normal((n, 2))
    items = {}
    for k in range(3):
        items[f"A{k}"] = np.clip(np.round(5.5 + 2 * (0.8 * f[:, 0] + 0.6 * rng.standard_normal(n))),
                                 1, 10)
        items[f"B{k}"] = np.clip(np.round(5.5 + 2 * (0.8 * (0.5 * f[:, 0] + 0.87 * f[:, 1])
                                                     + 0.6 * rng.standard_normal(n))), 1, 10)
    items["A2"] = 11 - items["A2"]  # stored reverse-coded
    resp = pd.DataFrame({"response_id": [f"R{i}" for i in range(n)], **items})
    cb = pd.DataFrame({"item": list(items), "construct": ["image", "satisfaction"] * 3,
                       "scale_min": 1, "scale_max": 10,
                       "reverse": [k == "A2" for k in items]})
    return resp, cb


def test_reverse_coding_from_the_codebook():
    resp, cb = _survey()
    p = prepare_items(resp, cb)
    assert p.issues.empty
    assert (p.items["A2"] == 11 - resp["A2"]).all()
    assert p.items[["A0", "A1", "A2"]].corr().min().min() > 0.3  # all point the same way
    # the codebook's reverse column may come as text
    cb2 = cb.assign(reverse=cb["reverse"].map({True: "yes", False: "no"}))
    assert prepare_items(resp, cb2).items.equals(p.items)


def test_answers_outside_the_scale_become_missing_and_are_reported():
    resp, cb = _survey()
    resp.loc[:4, "A0"] = 99
    resp.loc[5, "B1"] = 0
    resp["B2"] = resp["B2"].astype(object)
    resp.loc[6, "B2"] = "n/a"
    p = prepare_items(resp, cb)
    assert p.items.loc[:4, "A0"].isna().all() and np.isnan(p.items.loc[5, "B1"])
    rules = p.issues.set_index("item")
    assert rules.loc["A0", "count"] == 5 and "outside the scale [1, 10]" in rules.loc["A0", "rule"]
    assert rules.loc["A0", "treatment"] == "set to missing (item non-response)"
    assert rules.loc["B2", "rule"] == "answer is not a number"


def test_all_missing_constant_and_absent_items_are_dropped_with_a_reason():
    resp, cb = _survey()
    resp["A1"] = np.nan
    resp["B1"] = 5
    resp = resp.drop(columns="B2")
    p = prepare_items(resp, cb)
    assert p.constructs == {"image": ["A0", "A2"], "satisfaction": ["B0"]}
    by = dict(zip(p.issues["item"], p.issues["rule"], strict=True))
    assert by["A1"] == "every answer missing"
    assert by["B1"] == "a single distinct answer (no variance)"
    assert by["B2"] == "codebook item not in survey_responses"
    assert by["B0"] == "construct measured by a single item"
    assert p.single_item == ["satisfaction"]


def test_single_item_construct_flows_through_reliability_and_models():
    resp, cb = _survey()
    resp = resp.drop(columns=["B1", "B2"])
    p = prepare_items(resp, cb)
    table = reliability_table(p.items, p.constructs)
    assert np.isnan(table.loc["satisfaction", "alpha"])
    assert table.loc["image", "alpha"] > 0.6
    sm = estimate_structural_model(p, paths=["image->satisfaction"], n_boot=50, seed=1)
    assert sm.loadings.loc["B0", "cfa"] == 1.0
    assert 0.3 < sm.paths.loc["image->satisfaction", "plsc"] < 0.9


def test_paths_to_constructs_missing_from_the_codebook_are_dropped_and_reported():
    resp, cb = _survey()
    p = prepare_items(resp, cb)
    sm = estimate_structural_model(p, n_boot=30, seed=1, cb_sem=False)  # default ECSI paths
    assert list(sm.paths.index) == ["image->satisfaction"]
    assert "quality->value" in sm.dropped_paths


@pytest.mark.parametrize("change,message", [
    (lambda cb: cb.drop(columns="reverse"), "survey_codebook lacks column(s) reverse"),
    (lambda cb: cb.assign(scale_max=0), "scale_max must be > scale_min"),
    (lambda cb: cb.assign(reverse="maybe"), "survey_codebook.reverse: values must be"),
    (lambda cb: pd.concat([cb, cb.iloc[:1]]), "survey_codebook.item must be unique"),
    (lambda cb: cb.assign(scale_min="low"), "survey_codebook.scale_min must be a number"),
])
def test_unusable_codebook_raises_a_clear_error(change, message):
    resp, cb = _survey()
    with pytest.raises(SurveyInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        prepare_items(resp, change(cb))


def test_no_usable_item_at_all_is_a_clear_error():
    resp, cb = _survey()
    with pytest.raises(SurveyInputError, match="no usable survey item"):
        prepare_items(resp[["response_id"]], cb)


def test_missing_segment_column_degrades_to_one_segment():
    from crm_lib.survey import with_segment

    meta = pd.DataFrame({"customer_id": ["C1", None], "nps": [9, 3]})
    with pytest.warns(UserWarning, match="customers has no column 'plan'"):
        out = with_segment(meta, pd.DataFrame({"customer_id": ["C1"]}), "plan")
    assert out["plan"].tolist() == ["all customers", "all customers"]
