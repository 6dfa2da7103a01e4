"""The metric registry: every recorded key declared, every declared key recorded."""

from __future__ import annotations

import json

import pytest

from crm_lib import metrics, registry
from crm_lib.registry import REGISTRY_FILE, UndeclaredMetricError


def test_registry_file_parses_and_every_entry_is_complete():
    reg = registry.load()
    assert len(list(reg)) > 100
    for m in reg:
        assert m.label and m.format in registry.FORMATS and m.good in registry.GOOD, m
        if m.format == "rate":
            assert m.period, m.key
        if m.interval:
            for k in m.interval:
                assert k in reg, f"{m.key}: interval key {k} is not declared"


def test_wildcards_fill_the_label_and_the_most_specific_pattern_wins():
    m = registry.get("churn.cox.hr.contract[one_year]")
    assert m.label == "Hazard ratio: contract[one_year]" and m.format == "ratio"
    assert m.notebook == "04_churn_modeling"
    assert registry.get("cleaning.customers.rows_quarantined").label.startswith("customers:")
    assert registry.get("cleaning.messy_lab.checks").format == "count"  # exact beats pattern


def test_recording_an_undeclared_key_raises_naming_key_and_file(tmp_path):
    with pytest.raises(UndeclaredMetricError) as exc:
        metrics.record(tmp_path, "04_churn_modeling", {"churn.rate": 0.2, "churn.nonsense": 1})
    text = str(exc.value)
    assert "churn.nonsense" in text and str(REGISTRY_FILE) in text
    assert not (tmp_path / "metrics.json").exists()  # nothing written, not even churn.rate
    metrics.record(tmp_path, "04_churn_modeling", {"churn.rate": 0.2})
    assert metrics.read(tmp_path) == {"churn.rate": 0.2}


def test_a_bad_registry_file_is_refused_with_its_place(tmp_path):
    p = tmp_path / "reg.yaml"
    p.write_text("04_churn_modeling:\n  churn.x: {label: X, format: percentage}\n")
    with pytest.raises(ValueError, match="churn.x.*format 'percentage'"):
        registry.load(p)
    p.write_text("04_churn_modeling:\n  churn.x: {label: X, format: rate}\n")
    with pytest.raises(ValueError, match="needs its period"):
        registry.load(p)
    p.write_text("a:\n  k.x: {label: X, format: count}\nb:\n  k.x: {label: Y, format: count}\n")
    with pytest.raises(ValueError, match="declared twice"):
        registry.load(p)


def test_demo_run_records_only_declared_keys_and_every_required_one(demo_run):
    reg = registry.load()
    by_nb = metrics.read_by_notebook(demo_run["run_dir"])
    assert by_nb, "the demo run recorded no metrics"
    for nb, values in by_nb.items():
        for key in values:
            m = reg.get(key)
            assert m.notebook == nb, f"{key} recorded by {nb} but declared for {m.notebook}"
    statuses = {n["name"]: n["status"] for n in demo_run["manifest"]["notebooks"]}
    for nb, status in statuses.items():
        if status != "ok":
            continue
        recorded = by_nb.get(nb, {})
        missing = [m.key for m in reg.for_notebook(nb)
                   if not m.is_pattern and not m.optional and m.key not in recorded]
        assert not missing, f"{nb} declares but did not record: {missing}"
    merged = json.loads((demo_run["run_dir"] / "metrics.json").read_text())
    assert set(merged) == {k for v in by_nb.values() for k in v}
