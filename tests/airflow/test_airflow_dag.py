"""The ``crm_report`` DAG under real Apache Airflow (``airflow dags test``).

Airflow is not a project dependency: it is installed from the pinned files
``scheduling/airflow-requirements.txt`` and ``scheduling/airflow-constraints.txt``
into its own virtual environment (with ``scripts/install.py``: uv when it can be had,
else pip, as ``make venv``), cached under ``~/.cache/crm-airflow/<hash>``
(``CRM_AIRFLOW_CACHE`` moves it) and reused while those files are unchanged. If
the installation fails, the tests fail with the installer's reason; they never skip.

The runs have their own ``AIRFLOW_HOME`` (SQLite: a copy of an empty database
that ``airflow db migrate`` built once per cached environment) and ``CRM_HOME``;
the DAG folder is ``scheduling/``; the notebook tasks call this venv's
``crm-report``, whose ``crm`` kernel is found through ``JUPYTER_PATH``. The runs
use a small demo company and two notebooks (03 and 06; 06 runs after 03 in the
runner's graph). The ``airflow dags test`` commands of one home run one after the
other in one Airflow process (``_airflow_cli.py``: Airflow's CLI parser and the
command's function, as the ``airflow`` executable runs them), so Airflow's import
and its in-process execution API are paid once per home, not once per command.
Safe under pytest-xdist: the environment and its migrated database are built
under a file lock. The DAG's plan cache (``XDG_CACHE_HOME``)
of the runs and the task test is shared by the session and starts with the
runner's plan, so their DAG parses do not each run ``crm-report --plan`` (the
DAG loading test runs it); everything else is per test.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import queue
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from _airflow_cli import MARKER
from filelock import FileLock

from crm_lib import runner

pytestmark = pytest.mark.airflow

ROOT = Path(__file__).resolve().parents[2]
SCHEDULING = ROOT / "scheduling"
REQUIREMENTS = SCHEDULING / "airflow-requirements.txt"
CONSTRAINTS = SCHEDULING / "airflow-constraints.txt"
CLI_SESSION = Path(__file__).with_name("_airflow_cli.py")
PROJECT_BIN = Path(sys.executable).parent
CRM_REPORT = PROJECT_BIN / "crm-report"
#: The run-level parameters of every run here (a small demo, two notebooks).
SMALL = {"n_customers": 1500, "seed": 42, "notebooks": "03,06"}
INSTALL_TIMEOUT_S = 1800


def _run(cmd: list[str], env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)


def airflow_venv() -> Path:
    """The cached Airflow environment (created on first use, then reused)."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes() + CONSTRAINTS.read_bytes()
                            + sys.version.encode()).hexdigest()[:16]
    cache = Path(os.environ.get("CRM_AIRFLOW_CACHE", Path.home() / ".cache" / "crm-airflow"))
    cache.mkdir(parents=True, exist_ok=True)
    venv = cache / digest
    ready = venv / "crm-airflow-ready.json"
    with FileLock(str(cache / f"{digest}.lock")):
        if ready.exists():
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        t0 = time.perf_counter()
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        # the project's installer: uv (the project venv's, on PATH here) when it can, else pip
        env["PATH"] = f"{PROJECT_BIN}{os.pathsep}{env.get('PATH', '')}"
        steps = [[sys.executable, "-m", "venv", str(venv)],
                 [sys.executable, str(ROOT / "scripts" / "install.py"), "--venv", str(venv),
                  "--", "-r", str(REQUIREMENTS), "-c", str(CONSTRAINTS)],
                 [str(venv / "bin" / "airflow"), "version"]]
        for cmd in steps:
            try:
                done = _run(cmd, env, timeout=INSTALL_TIMEOUT_S)
            except (OSError, subprocess.TimeoutExpired) as exc:
                pytest.fail(f"cannot install Airflow ({' '.join(cmd[:4])}): {exc}")
            if done.returncode != 0:
                shutil.rmtree(venv, ignore_errors=True)
                pytest.fail(f"cannot install Airflow: {' '.join(cmd[:6])} exited with "
                            f"{done.returncode}:\n{(done.stderr or done.stdout)[-3000:]}")
        version = done.stdout.strip().splitlines()[-1]
        ready.write_text(json.dumps({"airflow": version,
                                     "install_s": round(time.perf_counter() - t0, 1)}))
    return venv


def migrated_db(venv: Path) -> Path:
    """An empty Airflow database after ``airflow db migrate``, built once per environment.

    Each :class:`Airflow` home starts from a copy of it (migrating takes ~6 CPU-seconds).
    """
    template = venv / "crm-airflow-db"
    db = template / "airflow.db"
    with FileLock(str(venv.parent / f"{venv.name}.db.lock")):
        if not db.exists():
            shutil.rmtree(template, ignore_errors=True)
            env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
            work = venv / "crm-airflow-db.tmp"
            shutil.rmtree(work, ignore_errors=True)
            env.update({"AIRFLOW_HOME": str(work), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"})
            done = _run([str(venv / "bin" / "airflow"), "db", "migrate"], env)
            assert done.returncode == 0, done.stderr[-3000:]
            template.mkdir()
            shutil.copy2(work / "airflow.db", db)
            shutil.rmtree(work, ignore_errors=True)
    return db


class Airflow:
    """One AIRFLOW_HOME with the DAG folder ``scheduling/`` and one CRM_HOME."""

    def __init__(self, venv: Path, tmp: Path, cache: Path):
        self.venv, self.home, self.crm_home = venv, tmp / "airflow", tmp / "crm_home"
        self.crm_home.mkdir(parents=True)
        self.home.mkdir()
        shutil.copy2(migrated_db(venv), self.home / "airflow.db")
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        env.update({
            "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(SCHEDULING),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "CRM_HOME": str(self.crm_home),
            "CRM_REPORT": str(CRM_REPORT),
            "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter"),
            "XDG_CACHE_HOME": str(cache),  # the DAG's plan cache
        })
        self.env = env

    def start(self) -> None:
        """Start the Airflow process that runs this home's CLI commands (:meth:`dags_test`)."""
        self.cli = subprocess.Popen(
            [str(self.venv / "bin" / "python"), str(CLI_SESSION)], env=self.env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            bufsize=1)
        self._lines: queue.Queue[str | None] = queue.Queue()

        def read(stream=self.cli.stdout, lines=self._lines):
            for line in stream:
                lines.put(line)
            lines.put(None)

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()

    def close(self) -> None:
        """End the Airflow process (end of its stdin; killed if it does not exit)."""
        with contextlib.suppress(OSError):
            self.cli.stdin.close()
        try:
            self.cli.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.cli.kill()
            self.cli.wait()
        self.reader.join(timeout=10)  # at the end of its output
        self.cli.stdout.close()

    def dags_test(self, date: str, conf: dict, timeout: float = 900
                  ) -> subprocess.CompletedProcess:
        """``airflow dags test crm_report DATE --conf CONF``, in the process of :meth:`start`.

        Its output (stdout and stderr) is the returned ``stdout``; the exit code is the
        command's, as ``airflow`` would exit with it.
        """
        argv = ["dags", "test", "crm_report", date, "--conf", json.dumps(conf)]
        self.cli.stdin.write(json.dumps(argv) + "\n")
        self.cli.stdin.flush()
        out: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                self.cli.kill()
                pytest.fail(f"airflow {' '.join(argv[:4])} took over {timeout} s:\n"
                            + "".join(out)[-4000:])
            if line is None:  # the process ended during the command
                return subprocess.CompletedProcess(argv, self.cli.wait() or 1, "".join(out), "")
            if line.startswith(MARKER):
                code = json.loads(line[len(MARKER):])["exit"]
                return subprocess.CompletedProcess(argv, code, "".join(out), "")
            out.append(line)

    def states(self, date: str) -> tuple[str, dict[str, tuple[str, int]]]:
        """The latest DAG run of ``date``: its state and {task: (state, try number)}."""
        with sqlite3.connect(self.home / "airflow.db") as db:
            run_id, state = db.execute(
                "SELECT run_id, state FROM dag_run WHERE dag_id = 'crm_report' AND "
                "logical_date LIKE ? ORDER BY id DESC LIMIT 1", (f"{date}%",)).fetchone()
            tasks = db.execute("SELECT task_id, state, try_number FROM task_instance "
                               "WHERE run_id = ?", (run_id,)).fetchall()
        return state, {t: (s, n) for t, s, n in tasks}


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


#: Metrics of two runs of the same parameters agree to 1e-9 relative (the DuckDB summaries
#: of in-memory frames run on one thread, so their sums come out in one order:
#: tests/test_engine_determinism.py).
def _numbers_equal(a: object, b: object, rel: float = 1e-9) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return (isinstance(a, int | float) and isinstance(b, int | float)
                and (math.isclose(a, b, rel_tol=rel, abs_tol=1e-9)
                     or (math.isnan(a) and math.isnan(b))))
    return a == b


def _notebook_status(manifest: dict) -> list[tuple[str, str]]:
    return [(n["name"], n["status"]) for n in manifest["notebooks"]]


@pytest.fixture(scope="module")
def venv() -> Path:
    return airflow_venv()


@pytest.fixture
def plan_cache(tmp_path_factory) -> Path:
    """``XDG_CACHE_HOME`` of the DAG runs and the task test (all xdist workers of a session).

    It holds the DAG's plan cache, written just now (the DAG reuses it for 300 s) with
    what ``crm-report --plan`` prints (the runner's ``--plan``, run here in-process), so
    their DAG parses do not each start ``crm-report --plan`` (6 CPU-seconds, and over
    the DAG's 20 s limit on a loaded machine). The command itself runs at DAG parse
    time in :func:`test_dag_loads_with_the_runners_graph`, which has a cache of its own.
    """
    root = tmp_path_factory.getbasetemp()
    shared = (root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root) / "airflow-cache"
    exe = shutil.which(str(CRM_REPORT))
    assert exe, f"{CRM_REPORT} not found"
    # the DAG's _plan_cache(): $XDG_CACHE_HOME/crm-airflow/plan-<sha256(executable)[:16]>.json
    cache = shared / "crm-airflow" / f"plan-{hashlib.sha256(exe.encode()).hexdigest()[:16]}.json"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert runner.main(["--plan"]) == 0
    with FileLock(str(shared.parent / "airflow-cache.lock")):
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(out.getvalue(), encoding="utf-8")
        tmp.replace(cache)  # a DAG parsing at the same time reads the old or the new file
    return shared


def test_dag_loads_with_the_runners_graph(venv, tmp_path, capsys):
    """Airflow imports, validates and serializes the DAG; its edges are ``crm-report --plan``'s."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update({"AIRFLOW_HOME": str(tmp_path / "airflow"), "CRM_REPORT": str(CRM_REPORT),
                "XDG_CACHE_HOME": str(tmp_path / "cache")})  # the DAG runs crm-report --plan
    script = (
        "import importlib.util, json, sys\n"
        "from airflow.serialization.serialized_objects import DagSerialization\n"
        "spec = importlib.util.spec_from_file_location('crm_report_dag', sys.argv[1])\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "dag = mod.dag\n"
        "dag.validate()\n"
        "DagSerialization.from_dict(DagSerialization.to_dict(dag))  # what the scheduler stores\n"
        "print(json.dumps({'plan_source': mod.PLAN_SOURCE,\n"
        "  'tasks': {t.task_id: {'up': sorted(t.upstream_task_ids),\n"
        "            'rule': getattr(t.trigger_rule, 'value', t.trigger_rule),\n"
        "            'retries': t.retries} for t in dag.tasks},\n"
        "  'params': {k: dag.params[k] for k in dag.params}}))\n")
    done = _run([str(venv / "bin" / "python"), "-c", script, str(SCHEDULING / "crm_report_dag.py")],
                env)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    capsys.readouterr()
    assert runner.main(["--plan"]) == 0  # what `crm-report --plan` prints, in this process
    plan = json.loads(capsys.readouterr().out)
    nodes = plan["notebooks"] if isinstance(plan, dict) else plan
    tasks = got["tasks"]
    for node in nodes:
        want = {f"nb_{a}" for a in node["after"]} | {"init"}
        assert set(tasks[f"nb_{node['name']}"]["up"]) == want, (node, got["plan_source"])
        assert tasks[f"nb_{node['name']}"]["rule"] == "all_done"
        assert tasks[f"nb_{node['name']}"]["retries"] >= 1  # exit 75 is retried
    nb_tasks = {f"nb_{n['name']}" for n in nodes}
    assert set(tasks) == nb_tasks | {"init", "publish", "check_run"}
    assert set(tasks["publish"]["up"]) == nb_tasks | {"init"}
    assert tasks["publish"]["rule"] == "all_done"
    assert tasks["check_run"]["rule"] == "one_failed"
    assert got["params"] == {"source": "demo", "data_dir": "", "as_of": "{{ ds }}",
                             "n_customers": 20000, "seed": 42, "params_file": "",
                             "notebooks": "", "crm_report": ""}


@pytest.fixture
def airflow(venv, tmp_path, plan_cache):
    """An :class:`Airflow` home with its CLI process started (ended after the test)."""
    af = Airflow(venv, tmp_path, plan_cache)
    af.start()
    try:
        yield af
    finally:
        af.close()


def test_airflow_runs_equal_crm_report(airflow, tmp_path):
    """Success equals crm-report; a failed notebook fails the DAG run and keeps the last
    good report; a rerun after a source change publishes nothing from the earlier run."""
    af = airflow
    reports = af.crm_home / "reports"
    # the reference: crm-report itself, same parameters, its own project home (one job:
    # 06 runs after 03 anyway, and the notebooks then run in its own process)
    ref_home = tmp_path / "ref_home"
    ref_home.mkdir()
    ref = subprocess.Popen(
        [str(CRM_REPORT), "--out", str(ref_home / "reports"), "--notebooks",
         SMALL["notebooks"], "--n-customers", str(SMALL["n_customers"]),
         "--seed", str(SMALL["seed"]), "--as-of", "2026-06-30", "--jobs", "1"],
        env={**af.env, "CRM_HOME": str(ref_home)}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)

    # 1. a scheduled run for 2026-06-30 (as_of defaults to the logical date)
    done = af.dags_test("2026-06-30", SMALL)
    ref_out, _ = ref.communicate(timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert ref.returncode == 0, ref_out[-3000:]
    state, tasks = af.states("2026-06-30")
    assert state == "success"
    assert tasks["nb_03_customer_value"][0] == tasks["nb_06_executive_summary"][0] == "success"
    assert tasks["nb_04_churn_modeling"][0] == "skipped"  # not selected
    assert (reports / "latest.txt").read_text().strip() == "2026-06-30"
    good = reports / "2026-06-30"
    ref_run = ref_home / "reports" / (ref_home / "reports" / "latest.txt").read_text().strip()
    got_m = json.loads((good / "metrics.json").read_text())
    ref_m = json.loads((ref_run / "metrics.json").read_text())
    assert any(k.startswith("clv.") for k in got_m) and any(k.startswith("summary.")
                                                          for k in got_m)
    assert set(got_m) == set(ref_m)
    differ = {k: (got_m[k], ref_m[k]) for k in ref_m
              if not _numbers_equal(got_m[k], ref_m[k])}
    assert not differ
    got_man = json.loads((good / "manifest.json").read_text())
    ref_man = json.loads((ref_run / "manifest.json").read_text())
    assert got_man["parameters"] == ref_man["parameters"]
    assert got_man["parameters"]["as_of"] == "2026-06-30"
    assert _notebook_status(got_man) == _notebook_status(ref_man) == [
        ("03_customer_value", "ok"), ("06_executive_summary", "ok")]
    assert got_man["status"] == "ok"
    assert "03_customer_value.html" in (good / "index.html").read_text()
    assert (good / "03_customer_value.html").exists()
    before = _tree(good)

    # 2. the next week (as_of given explicitly: the same tables), notebook 03 fails in a cell:
    # its calibration end is after the analysis date
    (af.crm_home / "bad.yaml").write_text(
        'notebooks:\n  03_customer_value:\n    calibration_end: "2027-01-01"\n')
    done = af.dags_test("2026-07-07", {**SMALL, "notebooks": "03", "as_of": "2026-06-30",
                                       "params_file": "bad.yaml"})
    assert done.returncode != 0
    state, tasks = af.states("2026-07-07")
    assert state == "failed"
    assert tasks["nb_03_customer_value"] == ("failed", 1)  # a cell error is not retried
    assert tasks["publish"][0] == "failed" and tasks["check_run"][0] == "failed"
    # the task log carries the runner's error paragraph
    assert "calibration_end 2027-01-01 must be before" in done.stdout + done.stderr
    assert (reports / "latest.txt").read_text().strip() == "2026-06-30"
    assert _tree(good) == before  # the last good report is untouched
    failed = json.loads((reports / "2026-07-07-failed" / "manifest.json").read_text())
    assert failed["status"] == "failed" and failed["parameters"]["as_of"] == "2026-06-30"
    assert dict(_notebook_status(failed))["03_customer_value"] == "failed"
    assert not (reports / "2026-07-07").exists()

    # 3. rerun 2026-06-30 on another source (telco: no transactions, so 03 is skipped)
    done = af.dags_test("2026-06-30", {**SMALL, "source": "telco"})
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    state, tasks = af.states("2026-06-30")
    assert state == "success"
    assert tasks["nb_03_customer_value"][0] == "skipped"
    assert tasks["nb_06_executive_summary"][0] == "success"
    rerun = reports / (reports / "latest.txt").read_text().strip()
    assert rerun.name.startswith("2026-06-30") and rerun != good  # a new folder, e.g. -2
    man = json.loads((rerun / "manifest.json").read_text())
    assert man["parameters"]["source"] == "telco"
    assert dict(_notebook_status(man)) == {"03_customer_value": "skipped",
                                           "06_executive_summary": "ok"}
    new_m = json.loads((rerun / "metrics.json").read_text())
    assert new_m and all(k.startswith("summary.") for k in new_m), sorted(new_m)
    assert not (rerun / "03_customer_value.ipynb").exists()  # no file of the earlier run
    assert not [f for f in _tree(rerun) if "clv" in f.lower()]
    index = (rerun / "index.html").read_text()
    assert not [k for k in got_m if k.startswith("clv.") and k in index]
    changed = [k for k in new_m if k in got_m and not _numbers_equal(new_m[k], got_m[k])]
    assert changed, "every summary figure equals the earlier run's"


def test_exit_codes_map_to_task_states(venv, tmp_path, plan_cache):
    """The notebook task under Airflow's own exception classes: 2 and 1 fail without retry
    (AirflowFailException), 3 skips, 75 and anything else raise a retried failure; the
    runner's error paragraph is the exception's message."""
    fake = tmp_path / "crm-report"
    fake.write_text("#!/bin/sh\necho 'progress line'\n"
                    "echo \"crm-report: 03_customer_value: error paragraph $FAKE_CODE\"\n"
                    "exit $FAKE_CODE\n")
    fake.chmod(0o755)
    script = (
        "import datetime, importlib.util, json, os, sys\n"
        "spec = importlib.util.spec_from_file_location('crm_report_dag', sys.argv[1])\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "task = mod.dag.get_task('nb_03_customer_value')\n"
        "class TI:\n"
        "    def xcom_pull(self, task_ids): return '2026-06-30'\n"
        "params = {k: v.value for k, v in mod.dag.params.items()}\n"
        "out = {}\n"
        "for code in (0, 1, 2, 3, 75, 9):\n"
        "    os.environ['FAKE_CODE'] = str(code)\n"
        "    ctx = {'params': {**params, 'crm_report': sys.argv[2]}, 'ti': TI(),\n"
        "           'logical_date': datetime.datetime(2026, 6, 30)}\n"
        "    try:\n"
        "        out[code] = ['ok', task.execute(ctx)]\n"
        "    except Exception as exc:\n"
        "        out[code] = [type(exc).__name__, str(exc)]\n"
        "print(json.dumps(out))\n")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update({"AIRFLOW_HOME": str(tmp_path / "airflow"), "CRM_REPORT": str(CRM_REPORT),
                "XDG_CACHE_HOME": str(plan_cache)})
    done = _run([str(venv / "bin" / "python"), "-c", script, str(SCHEDULING / "crm_report_dag.py"),
                 str(fake)], env)
    assert done.returncode == 0, done.stderr[-3000:]
    got = {int(k): v for k, v in json.loads(done.stdout.strip().splitlines()[-1]).items()}
    assert got[0] == ["ok", "2026-06-30"]
    assert {c: got[c][0] for c in (1, 2, 3, 75, 9)} == {
        1: "AirflowFailException", 2: "AirflowFailException", 3: "AirflowSkipException",
        75: "AirflowException", 9: "AirflowException"}
    for code in (1, 2, 3, 75, 9):
        assert f"crm-report: 03_customer_value: error paragraph {code}" in got[code][1]
        assert "progress line" not in got[code][1]
