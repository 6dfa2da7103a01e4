"""Scheduling examples: the Airflow DAG (without Airflow) and the cron lines.

Airflow is not a project dependency and is too heavy for the test budget, so the
DAG file is checked twice without it: statically with ``ast`` (imports, notebook
list) and by executing it against minimal stand-ins for the three Airflow names
it uses, which record the tasks, their arguments and their dependencies.
"""

from __future__ import annotations

import ast
import re
import shlex
import sys
import types
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DAG_FILE = ROOT / "scheduling" / "crm_report_dag.py"
CRON_FILE = ROOT / "scheduling" / "crontab.example"
EXPECTED = ["00_crm_concepts", "01_data_cleaning", "02_survey_satisfaction_loyalty",
            "03_customer_value", "04_churn_modeling", "05_retention_roi",
            "06_executive_summary"]


def _literal(tree: ast.Module, name: str):
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name
                                                for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} is not a literal assignment in {DAG_FILE.name}")


def test_dag_file_statically():
    tree = ast.parse(DAG_FILE.read_text(encoding="utf-8"))
    imports = {(n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
               for a in n.names}
    assert ("airflow.providers.papermill.operators.papermill", "PapermillOperator") in imports
    notebooks = _literal(tree, "NOTEBOOKS")
    assert notebooks == EXPECTED
    numbers = [int(n[:2]) for n in notebooks]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    # every notebook of the project is scheduled (a new notebook needs a task)
    present = {p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert present <= set(notebooks), present - set(notebooks)
    retries = [v for n in ast.walk(tree) if isinstance(n, ast.Dict)
               for k, v in zip(n.keys, n.values, strict=True)
               if isinstance(k, ast.Constant) and k.value == "retries"]
    assert retries and ast.literal_eval(retries[0]) >= 1


class _Recorder:
    """Minimal stand-ins for DAG, PapermillOperator and BashOperator."""

    def __init__(self):
        self.dags, self.tasks, self.edges = [], [], []
        rec = self

        class DAG:
            def __init__(self, dag_id, **kwargs):
                self.dag_id, self.kwargs = dag_id, kwargs
                rec.dags.append(self)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

        class BaseOperator:
            def __init__(self, *, task_id, **kwargs):
                self.task_id, self.kwargs = task_id, kwargs
                rec.tasks.append(self)

            def __rshift__(self, other):
                rec.edges.append((self.task_id, other.task_id))
                return other

        class PapermillOperator(BaseOperator):
            pass

        class BashOperator(BaseOperator):
            pass

        self.DAG, self.PapermillOperator, self.BashOperator = DAG, PapermillOperator, BashOperator

    def modules(self) -> dict[str, types.ModuleType]:
        mods = {}
        for name in ("airflow", "airflow.sdk", "airflow.providers", "airflow.providers.papermill",
                     "airflow.providers.papermill.operators",
                     "airflow.providers.papermill.operators.papermill",
                     "airflow.providers.standard", "airflow.providers.standard.operators",
                     "airflow.providers.standard.operators.bash"):
            mods[name] = types.ModuleType(name)
        mods["airflow.sdk"].DAG = self.DAG
        mods["airflow.providers.papermill.operators.papermill"].PapermillOperator = \
            self.PapermillOperator
        mods["airflow.providers.standard.operators.bash"].BashOperator = self.BashOperator
        return mods


@pytest.fixture
def dag(monkeypatch):
    rec = _Recorder()
    for name, mod in rec.modules().items():
        monkeypatch.setitem(sys.modules, name, mod)
    monkeypatch.setenv("CRM_PROJECT", "/srv/crm")
    namespace = {"__file__": str(DAG_FILE), "__name__": "crm_report_dag"}
    exec(compile(DAG_FILE.read_text(encoding="utf-8"), str(DAG_FILE), "exec"), namespace)
    return rec, namespace


def test_dag_runs_one_papermill_task_per_notebook_in_order(dag):
    rec, ns = dag
    assert len(rec.dags) == 1 and rec.dags[0].dag_id == "crm_report"
    kw = rec.dags[0].kwargs
    assert kw["default_args"]["retries"] >= 1
    assert kw["default_args"]["retry_delay"].total_seconds() > 0
    assert kw["max_active_runs"] == 1 and kw["catchup"] is False
    nb_tasks = [t for t in rec.tasks if isinstance(t, rec.PapermillOperator)]
    assert [t.task_id for t in nb_tasks] == [f"nb_{n}" for n in EXPECTED]
    for t, name in zip(nb_tasks, EXPECTED, strict=True):
        assert t.kwargs["input_nb"] == f"/srv/crm/notebooks/{name}.ipynb"
        assert t.kwargs["output_nb"] == "/srv/crm/reports/airflow-{{ ds }}/" + f"{name}.ipynb"
        assert t.kwargs["kernel_name"] == "crm"
        p = t.kwargs["parameters"]
        assert p["run_dir"] == "/srv/crm/reports/airflow-{{ ds }}" and p["as_of"] == "{{ ds }}"
        assert set(p) >= {"source", "seed", "run_dir", "as_of"}
    # a chain: each notebook after the previous one, then the HTML export
    chain = [t.task_id for t in rec.tasks]
    assert chain[-1] == "publish_html"
    assert rec.edges == list(zip(chain, chain[1:], strict=False))
    # later notebooks run whatever the outcome of earlier ones (as crm-report does)
    assert [t.kwargs["trigger_rule"] for t in nb_tasks[1:]] == ["all_done"] * (len(EXPECTED) - 1)
    cmd = rec.tasks[-1].kwargs["bash_command"]
    assert "--no-input" in cmd and "solution" in cmd and "nbconvert" in cmd


def test_cron_lines_are_valid_and_use_real_flags(capsys):
    from crm_lib import runner

    with pytest.raises(SystemExit):
        runner.main(["--help"])
    help_text = capsys.readouterr().out
    lines = [ln.lstrip("# ").strip() for ln in CRON_FILE.read_text().splitlines()]
    jobs = [ln for ln in lines if re.match(r"^[\d*/,-]+\s+[\d*/,-]+\s+[\d*/,-]+\s+[\d*/,-]+\s+"
                                           r"[\d*/,-]+\s+cd ", ln)]
    assert len(jobs) >= 2
    active = [ln for ln in CRON_FILE.read_text().splitlines()
              if ln.strip() and not ln.startswith("#")]
    assert len(active) == 1 and "crm-report --dated" in active[0]
    for job in jobs:
        fields = job.split(None, 5)
        minute, hour = int(fields[0]), int(fields[1])
        assert 0 <= minute < 60 and 0 <= hour < 24
        command = fields[5]
        if "crm-report" not in command:
            continue
        flags = re.findall(r"(--[a-z][a-z-]*)", command.split("crm-report", 1)[1].split(">>")[0])
        for flag in flags:
            assert flag in help_text, f"crontab uses {flag}, which crm-report does not accept"
        shlex.split(command)  # balanced quoting
        for params in re.findall(r"--params (\S+)", command):
            assert isinstance(yaml.safe_load((ROOT / params).read_text()), dict)
