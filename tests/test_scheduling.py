"""Scheduling files without Airflow: the DAG's fallback graph, its parameters, the cron lines.

The DAG itself runs under real Airflow in tests/airflow/test_airflow_dag.py; these
checks are the fast part (the DAG file is read with ``ast``, not imported, since
importing it needs Airflow).
"""

from __future__ import annotations

import ast
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from crm_lib import runner

ROOT = Path(__file__).resolve().parents[1]
DAG_FILE = ROOT / "scheduling" / "crm_report_dag.py"
CRON_FILE = ROOT / "scheduling" / "crontab.example"
TREE = ast.parse(DAG_FILE.read_text(encoding="utf-8"))


def _literal(name: str):
    for node in TREE.body:
        targets = ([node.target] if isinstance(node, ast.AnnAssign)
                   else node.targets if isinstance(node, ast.Assign) else [])
        if any(getattr(t, "id", None) == name for t in targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} is not a literal assignment in {DAG_FILE.name}")


def _plan(capsys) -> dict[str, list[str]]:
    assert runner.main(["--plan"]) == 0
    data = json.loads(capsys.readouterr().out)
    nodes = data["notebooks"] if isinstance(data, dict) else data
    return {n["name"]: list(n["after"]) for n in nodes}


def test_fallback_plan_is_the_runners_plan(capsys):
    """The graph the DAG uses when ``crm-report --plan`` cannot run at parse time."""
    plan = _plan(capsys)
    assert _literal("FALLBACK_PLAN") == plan
    assert list(_literal("FALLBACK_PLAN")) == list(plan)  # same (topological) order
    present = {p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert set(plan) == present


def test_run_parameters_are_dag_params_not_environment():
    """source, data_dir, as_of, n_customers, seed and the params file are DAG params; the
    module reads no environment variable for them when it is parsed."""
    params = {}
    for node in ast.walk(TREE):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PARAMS":
            params = {k.value: v for k, v in zip(node.value.keys, node.value.values,
                                                 strict=True)}
    assert set(params) >= {"source", "data_dir", "as_of", "n_customers", "seed", "params_file"}
    assert all(isinstance(v, ast.Call) and v.func.id == "Param" for v in params.values())
    assert ast.literal_eval(params["as_of"].args[0]) == "{{ ds }}"
    env_reads = [n for n in ast.walk(TREE) if isinstance(n, ast.Attribute) and n.attr == "environ"]
    # only the crm-report lookup and the plan cache read the environment
    functions = {f.name: f for f in ast.walk(TREE) if isinstance(f, ast.FunctionDef)}
    allowed = [n for name in ("find_crm_report", "_plan_cache") for n in ast.walk(functions[name])]
    assert all(any(n is a for a in allowed) for n in env_reads)
    source = DAG_FILE.read_text(encoding="utf-8")
    assert ".venv" not in source  # the executable comes from the param, CRM_REPORT or PATH


def test_cron_lines_are_valid_and_use_real_flags(capsys):
    with pytest.raises(SystemExit):
        runner.main(["--help"])
    help_text = capsys.readouterr().out
    lines = [ln.lstrip("# ").strip() for ln in CRON_FILE.read_text().splitlines()]
    jobs = [ln for ln in lines if re.match(r"^[\d*/,-]+\s+[\d*/,-]+\s+[\d*/,-]+\s+[\d*/,-]+\s+"
                                           r"[\d*/,-]+\s+cd ", ln)]
    assert len(jobs) >= 2
    active = [ln for ln in CRON_FILE.read_text().splitlines()
              if ln.strip() and not ln.startswith("#") and not re.match(r"^\w+=", ln)]
    assert len(active) == 1 and "crm-report --dated" in active[0]
    for job in jobs:
        fields = job.split(None, 5)
        minute, hour = int(fields[0]), int(fields[1])
        assert 0 <= minute < 60 and 0 <= hour < 24
        command = fields[5]
        if "crm-report" not in command:
            continue
        # the analysis date is passed explicitly (cron's % written \%)
        assert '--as-of "$(date +\\%F)"' in command, command
        flags = re.findall(r"(--[a-z][a-z-]*)", command.split("crm-report", 1)[1].split(">>")[0])
        for flag in flags:
            assert flag in help_text, f"crontab uses {flag}, which crm-report does not accept"
        shlex.split(command)  # balanced quoting
        for params in re.findall(r"--params (\S+)", command):
            assert isinstance(yaml.safe_load((ROOT / params).read_text()), dict)
