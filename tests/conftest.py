"""Shared fixtures: one demo of each size and one executed run per test session.

Every test session works in a throwaway project home (``CRM_HOME``), so
data/ and reports/ of the checkout are never touched.

- ``demo_small`` (3,000 customers, seed 7) and ``demo_20k`` (20,000
  customers, seed 42: the default company) are generated once per session
  (per xdist worker), never in module fixtures.
- ``demo_run`` runs the whole notebook batch once on the small demo company
  and is shared by all notebook tests (and by both pytest-xdist workers,
  through a file lock); tests read its executed notebooks instead of
  executing them again.
- ``telco_run``: the same on the telco source (one run, also for the fixture of
  that name in test_text_outputs).
- ``run_notebook`` is the one papermill helper for tests that need a
  notebook on other parameters than the shared run.

Under pytest-xdist (``make test``: ``-n 2 --dist loadgroup``, see pyproject.toml)
the tests are handed out longest first (:data:`SLOW_TESTS`), so the two workers
finish together instead of one starting a three-minute test at the end. A
module with a module- or session-scoped fixture of its own (a fitted model, a
SparkSession, a five-seed panel) is marked ``xdist_group`` to be one work unit on
one worker. pytest-xdist 3.8 passes the group in the node id (``item._nodeid``),
which pytest 9.2 no longer reads, so the mark alone has no effect: the workers also
write each test's work unit to ``xdist-groups.json`` in the session's base folder,
and :func:`pytest_xdist_make_scheduler` hands out those units (an ``xdist_group``
or a single test) in the order the workers sorted them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

SMALL_DEMO = {"n_customers": 3000, "seed": 7}
#: Spark settings of the tests' local[2] sessions: two shuffle partitions, and a driver JVM
#: that compiles with C1 only and collects with the serial collector. On the small tables
#: of the tests a session spends most of its time warming the JIT: these halve its CPU
#: (20 s instead of 44 for notebook 04's training frames and 03's RFM, /tmp/sparkbench
#: style run of 2026-12-03) and change no result. The JVM also skips the bytecode
#: verification of Spark's own jars (the checks the JDK's class-data sharing skips too):
#: about 1 s of CPU less a session, 23.3/23.4 s instead of 26.2/24.2 s for the two JVMs of
#: the 03,04 Spark run (A/B, 2026-12-04, load 5). Not crm_lib's default: a long job on
#: large data wants the optimising C2 compiler and a parallel collector. Measured without
#: effect on these tables (2026-12-04): adaptive execution off, one shuffle partition,
#: whole-stage codegen off, a higher JIT threshold, 512 MB of driver memory.
SPARK_TEST_CONFIG = {
    "spark.sql.shuffle.partitions": "2",
    "spark.driver.extraJavaOptions": "-Duser.timezone=UTC -XX:TieredStopAtLevel=1 "
                                     "-XX:+UseSerialGC -XX:+UnlockDiagnosticVMOptions "
                                     "-XX:-BytecodeVerificationRemote",
}
DEFAULT_DEMO = {"n_customers": 20000, "seed": 42}  # the notebooks' default company


@pytest.fixture(scope="session", autouse=True)
def crm_home(tmp_path_factory) -> Path:
    """A shared project home for the whole test session (all workers)."""
    root = tmp_path_factory.getbasetemp()
    shared = root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root
    home = shared / "crm_home"
    home.mkdir(exist_ok=True)
    os.environ["CRM_HOME"] = str(home)
    return home


@pytest.fixture(scope="session")
def demo_small():
    """The small demo company in memory (tables, truth, per-customer truth)."""
    from crm_lib.sources import demo
    return demo.generate(demo.DemoParams(**SMALL_DEMO))


@pytest.fixture(scope="session")
def demo_20k():
    """The default demo company (20,000 customers, seed 42) in memory, generated once."""
    from crm_lib.sources import demo
    return demo.generate(demo.DemoParams(**DEFAULT_DEMO))


@dataclass
class ExecutedNotebook:
    """A notebook executed by :func:`run_notebook`: output file, run folder, metrics, text."""

    path: Path
    run_dir: Path
    metrics: dict
    text: str  # every stream and text/plain output of the code cells, joined

    @property
    def notebook(self):
        import nbformat
        return nbformat.read(self.path, as_version=4)


def execute_notebook(stem: str, folder: Path, **parameters) -> ExecutedNotebook:
    """Run ``notebooks/<stem>.ipynb`` with papermill (kernel ``crm``) into ``folder``."""
    import nbformat
    import papermill as pm

    from crm_lib import config
    run_dir = Path(parameters.pop("run_dir", folder / "run"))
    out = folder / f"{stem}.out.ipynb"
    pm.execute_notebook(str(config.package_root() / "notebooks" / f"{stem}.ipynb"), str(out),
                        parameters=dict(parameters, run_dir=str(run_dir)),
                        kernel_name=config.KERNEL_NAME, progress_bar=False, cwd=str(folder))
    nb = nbformat.read(out, as_version=4)
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                     for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    mfile = run_dir / "metrics.json"
    metrics = json.loads(mfile.read_text()) if mfile.exists() else {}
    return ExecutedNotebook(out, run_dir, metrics, text)


@pytest.fixture
def run_notebook(tmp_path, monkeypatch):
    """``run_notebook(stem, **parameters)``: papermill in a fresh folder (shared project home,
    so cleaned data are reused)."""
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel draws inline, as in a real run

    def run(stem: str, **parameters) -> ExecutedNotebook:
        folder = tmp_path / stem
        folder.mkdir(exist_ok=True)
        return execute_notebook(stem, folder, **parameters)
    return run


def _run_once(crm_home: Path, name: str, **kwargs) -> dict:
    """Run the batch once per test session (shared across xdist workers)."""
    from crm_lib import runner
    out = crm_home / "reports-shared"
    marker = out / f"{name}.json"
    with FileLock(str(crm_home / f"{name}.lock")):
        if not marker.exists():
            code, run_dir = runner.run(out=str(out), quiet=True, **kwargs)
            out.mkdir(parents=True, exist_ok=True)
            marker.write_text(json.dumps({"code": code, "run_dir": str(run_dir)}))
    return json.loads(marker.read_text())


@pytest.fixture(scope="session")
def demo_run(crm_home) -> dict:
    """Every notebook run once on the small demo company.

    Returns ``{"code": exit code, "run_dir": Path, "metrics": dict,
    "manifest": dict}``.
    """
    r = _run_once(crm_home, "demo_run", overrides=dict(SMALL_DEMO))
    run_dir = Path(r["run_dir"])
    return {"code": r["code"], "run_dir": run_dir,
            "metrics": json.loads((run_dir / "metrics.json").read_text()),
            "manifest": json.loads((run_dir / "manifest.json").read_text())}


@pytest.fixture(scope="session")
def telco_run(crm_home) -> dict:
    """Every notebook run once on the telco source (the same keys as ``demo_run``).

    The same run as ``_run_once(crm_home, "telco_run", source="telco")``, so a test that
    still calls that shares it too.
    """
    r = _run_once(crm_home, "telco_run", source="telco")
    run_dir = Path(r["run_dir"])
    return {"code": r["code"], "run_dir": run_dir,
            "metrics": json.loads((run_dir / "metrics.json").read_text()),
            "manifest": json.loads((run_dir / "manifest.json").read_text())}


#: Seconds of the slowest tests (``--durations=60`` of the full suite on 2 workers,
#: 2026-12-02, machine load 5-10: only their order matters). Under xdist the work
#: units (a test, or a whole module with a fixture of its own) are handed out in
#: decreasing order of these costs (plus 1 s a test). A test that uses
#: ``demo_run`` is charged :data:`DEMO_RUN_COST` once, on the most expensive of them,
#: which then builds the shared run while the other worker runs the Airflow test.
SLOW_TESTS = {
    "tests/airflow/test_airflow_dag.py::test_airflow_runs_equal_crm_report": 450,
    "tests/test_engine_notebooks.py::test_spark_run_gives_the_duckdb_metrics": 500,
    "tests/test_text_outputs.py::test_executed_notebooks_have_readable_text": 450,
    "tests/test_runner_concurrency.py::test_concurrent_run_gives_the_metrics_of_a_sequential_run":
        320,
    "tests/test_runner.py::test_success_then_failure_keeps_last_good_report": 170,
    "tests/test_engine.py::test_spark_equals_duckdb": 120,
    "tests/test_value_notebook.py::test_crm_report_source_cdnow_reproduces_published_values": 100,
    "tests/test_churn_notebook.py::test_notebook_runs_unchanged_on_a_different_schema": 80,
    "tests/test_runner_concurrency.py::test_independent_notebooks_run_together_and_dependants_wait":
        80,
    "tests/test_runner_steps.py::test_stage_only_exit_codes_then_publish": 70,
    "tests/test_roi_notebook.py::test_telco_reports_empc_and_marks_the_pilot_unavailable": 70,
    "tests/test_runner.py::test_missing_table_is_skipped_with_reason": 67,
    "tests/test_runner.py::test_params_file_and_dated_run": 63,
    "tests/test_roi_notebook.py::test_biased_campaign_is_detected_and_not_called_causal": 60,
    "tests/airflow/test_airflow_dag.py::test_dag_loads_with_the_runners_graph": 54,
    "tests/test_demo_truth.py::test_every_truth_panel_value_inside_its_family_wise_interval": 53,
    "tests/test_cleaning_notebook.py::test_crm_report_exits_non_zero_with_one_paragraph_on_a_fatal_error":
        48,
    "tests/test_runner_steps.py::test_sigterm_removes_staging_and_stops_the_kernel": 46,
    "tests/test_privacy.py::test_notebook_01_on_real_rows_publishes_no_ids_or_personal_data": 42,
    "tests/test_roi_demo.py::test_pilot_is_detected_as_randomised_with_the_pilot_economics": 36,
    "tests/test_roi_demo.py::test_ate_intervals_cover_the_true_ate_across_demo_seeds": 36,
    "tests/test_churn_survival.py::test_demo_true_hazard_ratios_inside_cox_intervals": 34,
    "tests/test_install.py::test_pip_path_resolves_the_wheel": 29,
    "tests/test_churn_models.py::test_telco_cross_validated_auc_and_brier_targets": 26,
    "tests/test_runner_concurrency.py::test_sequential_run_follows_the_graph_not_the_file_order": 19,
    "tests/test_student.py::test_cli_writes_student_copies": 15,
    "tests/test_churn_models.py::test_score_customers_and_out_of_fold_interface": 15,
    "tests/airflow/test_airflow_dag.py::test_exit_codes_map_to_task_states": 13,
}
#: The batch run of ``demo_run`` (all notebooks on the small demo company).
DEMO_RUN_COST = 600
#: Modules whose own module-scoped fixture is cheap to repeat (a cached lookup), so
#: their slow tests may run on both workers.
UNGROUPED = {"tests/airflow/test_airflow_dag.py"}


def _has_own_shared_fixture(item: pytest.Item) -> bool:
    """Whether ``item`` uses a module- or session-scoped fixture defined in its own module."""
    info = getattr(item, "_fixtureinfo", None)
    module = getattr(getattr(item, "module", None), "__name__", None)
    for defs in (info.name2fixturedefs.values() if info is not None else ()):
        fd = defs[-1]
        if fd.scope in ("module", "session") and getattr(fd.func, "__module__", "") == module:
            return True
    return False


@pytest.hookimpl(tryfirst=True)  # before xdist turns xdist_group marks into node ids
def pytest_collection_modifyitems(config, items):
    """Longest work units first, modules with their own shared fixture kept together
    (``xdist_group``); only on xdist workers, so ``-n 0`` keeps the file order."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    units: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        path = item.nodeid.split("::", 1)[0]
        if path not in UNGROUPED and _has_own_shared_fixture(item):
            item.add_marker(pytest.mark.xdist_group(path))
            units.setdefault(path, []).append(i)
        else:
            units.setdefault(item.nodeid, []).append(i)

    def cost(idx: list[int]) -> float:  # a parametrized test's cost counts once
        names = {items[i].nodeid.split("[", 1)[0] for i in idx}
        return sum(SLOW_TESTS.get(n, 0.0) for n in names) + len(idx)

    costs = {key: cost(idx) for key, idx in units.items()}
    demo_users = [key for key, idx in units.items()
                  if any("demo_run" in getattr(items[i], "fixturenames", ()) for i in idx)]
    if demo_users:
        costs[max(demo_users, key=lambda k: (costs[k], -units[k][0]))] += DEMO_RUN_COST
    order = sorted(units, key=lambda k: (-costs[k], units[k][0]))
    scope = {items[i].nodeid: key for key, idx in units.items() for i in idx}  # before reordering
    items[:] = [items[i] for key in order for i in units[key]]
    groups = _groups_file(config)
    tmp = groups.with_name(f"{groups.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(scope))
    tmp.replace(groups)  # both workers write the same mapping


def _groups_file(config) -> Path:
    """``xdist-groups.json`` in the session's base folder (the controller's basetemp)."""
    base = Path(config._tmp_path_factory.getbasetemp())
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "xdist-groups.json"


@pytest.hookimpl(tryfirst=True)  # before xdist's own LoadGroupScheduling
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadgroup`` with the work units the workers wrote (see the module docstring):
    a module with its own shared fixture runs on one worker, every other test is a unit."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    groups_file = _groups_file(config)

    class UnitScheduling(LoadScopeScheduling):
        _units: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self._units is None:  # all workers have collected (and written) by now
                self._units = json.loads(groups_file.read_text()) if groups_file.exists() else {}
            return self._units.get(nodeid, self._units.get(nodeid.rsplit("@", 1)[0], nodeid))

    return UnitScheduling(config, log)
