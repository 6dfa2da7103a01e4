"""Apache Airflow DAG ``crm_report``: the runner's own steps, one task per notebook.

Every task calls ``crm-report`` (the project's batch runner), so a scheduled run
has the semantics of a manual one: a staging folder, ``<run-id>-failed`` for a
run with a failed notebook, ``latest.txt`` naming the last good report,
``index.html`` and ``manifest.json``. The run id is the logical date
(``YYYY-MM-DD``, as ``crm-report --dated`` names its runs)::

    init            crm-report --run-id D --stage-only --fresh --source ... (clean staging)
    nb_<notebook>   crm-report --run-id D --stage-only --notebooks NN   (one per notebook)
    publish         crm-report --run-id D --publish [--notebooks ...]   (all_done)
    check_run       fails the DAG run when any task above failed        (one_failed)

``init`` records the run's parameters in the staging folder; the later steps
read them from there.

The notebook tasks' dependencies are the runner's graph (``crm-report --plan``,
from the notebooks' declared artefacts), read when the file is parsed; when the
command cannot be run, ``FALLBACK_PLAN`` (a test keeps it equal to the plan) is
used. Like ``crm-report``, a notebook runs even when one it comes after failed or
was skipped (it then falls back to what it builds itself), and ``publish`` runs
last whatever happened: it exits non-zero when a notebook failed, the run then
goes to ``<run-id>-failed`` and the last good report stays published.

Exit codes of ``crm-report`` map to task states: 0 success, 3 skipped (the
source lacks a table the notebook needs), 2 failed without retry (data contract,
bad parameter, missing input), 1 failed without retry (an error in a cell),
75 failed and retried (kernel death, timeout). The runner's one-paragraph error
is in the task log and in the exception.

Run-level parameters are DAG ``params`` (override them at trigger time with
``--conf``); nothing is read from the environment for them. The environment of
the Airflow worker provides ``CRM_HOME`` (the data and reports folder),
``JUPYTER_PATH`` (where the ``crm`` kernel is registered) and, optionally,
``CRM_REPORT`` (the ``crm-report`` executable when it is not on ``PATH``).
See docs/scheduling.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import time
from collections import deque
from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG, BaseOperator, Param, TriggerRule
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

#: Exit codes of ``crm-report`` (the runner's step API).
EXIT_OK, EXIT_FAILED, EXIT_PERMANENT, EXIT_SKIPPED, EXIT_RETRIABLE = 0, 1, 2, 3, 75

#: The runner's graph when ``crm-report --plan`` cannot be run at parse time
#: (notebook -> notebooks it runs after, in run order).
FALLBACK_PLAN: dict[str, list[str]] = {
    "00_crm_concepts": [],
    "01_data_cleaning": [],
    "02_survey_satisfaction_loyalty": [],
    "04_churn_modeling": [],
    "03_customer_value": ["04_churn_modeling"],
    "05_retention_roi": ["03_customer_value", "04_churn_modeling"],
    "06_executive_summary": ["00_crm_concepts", "01_data_cleaning",
                             "02_survey_satisfaction_loyalty", "03_customer_value",
                             "04_churn_modeling", "05_retention_roi"],
}

#: Seconds a parsed ``crm-report --plan`` is reused before the command runs again.
PLAN_CACHE_SECONDS = 300
#: Seconds ``crm-report --plan`` may take (below Airflow's 30 s DAG-file import timeout).
PLAN_TIMEOUT_S = 20

#: The run-level parameters, passed identically to every ``crm-report`` call.
PARAMS = {
    "source": Param("demo", type="string", enum=["demo", "telco", "cdnow", "folder"],
                    description="data source"),
    "data_dir": Param("", type="string",
                      description="folder source: your table files (relative to CRM_HOME)"),
    "as_of": Param("{{ ds }}", type="string",
                   description="analysis date (ISO); default: the run's logical date"),
    "n_customers": Param(20000, type="integer", minimum=1, description="demo company size"),
    "seed": Param(42, type="integer", description="seed for every random step"),
    "params_file": Param("", type="string",
                         description="YAML parameters file (common keys and per-notebook "
                                     "'notebooks:' values), relative to CRM_HOME"),
    "notebooks": Param("", type="string",
                       description="comma-separated notebook numbers to run, e.g. '03,06'; "
                                   "empty: all (the others are skipped)"),
    "crm_report": Param("", type="string",
                        description="crm-report executable; empty: $CRM_REPORT, then PATH"),
}


def find_crm_report(explicit: str = "") -> str | None:
    """The ``crm-report`` executable: ``explicit``, else ``$CRM_REPORT``, else ``PATH``."""
    for candidate in (explicit, os.environ.get("CRM_REPORT", ""), "crm-report"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


def parse_plan(text: str) -> dict[str, list[str]]:
    """``crm-report --plan`` output as {notebook: [notebooks it runs after]}, in order.

    Accepts a list of ``{"name", "after"}`` nodes, the same under a
    ``"notebooks"`` key, or a mapping of name to its ``after`` list.
    """
    data = json.loads(text)
    if isinstance(data, dict) and "notebooks" in data:
        data = data["notebooks"]
    if isinstance(data, dict):
        return {str(k): list(v.get("after", []) if isinstance(v, dict) else v)
                for k, v in data.items()}
    return {str(n["name"]): list(n.get("after", [])) for n in data}


def _plan_cache(exe: str) -> Path:
    """Cache file of one ``crm-report`` executable's plan."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "crm-airflow"
    return base / f"plan-{hashlib.sha256(exe.encode()).hexdigest()[:16]}.json"


def load_plan() -> tuple[dict[str, list[str]], str]:
    """The runner's notebook graph and where it came from.

    ``crm-report --plan`` runs at most once per ``PLAN_CACHE_SECONDS`` (Airflow
    parses DAG files every 30 s or so); without the command, ``FALLBACK_PLAN``.
    """
    exe = find_crm_report()
    if not exe:
        return dict(FALLBACK_PLAN), "FALLBACK_PLAN (crm-report not found)"
    cache = _plan_cache(exe)
    try:
        if time.time() - cache.stat().st_mtime < PLAN_CACHE_SECONDS:
            return parse_plan(cache.read_text(encoding="utf-8")), f"{exe} --plan (cached)"
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        done = subprocess.run([exe, "--plan"], capture_output=True, text=True,
                              timeout=PLAN_TIMEOUT_S, check=True)
        plan = parse_plan(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError) as exc:
        return dict(FALLBACK_PLAN), f"FALLBACK_PLAN ({exe} --plan failed: {exc})"
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(done.stdout, encoding="utf-8")
    except OSError:
        pass
    return plan, f"{exe} --plan"


def selected(notebook: str, wanted: str) -> bool:
    """Whether ``notebook`` (a stem) is in the comma-separated selection (empty: all)."""
    keys = [k.strip() for k in str(wanted or "").split(",") if k.strip()]
    return not keys or any(notebook == k or notebook.startswith(k) for k in keys)


def runner_error(lines: list[str], limit: int = 2000) -> str:
    """The runner's error paragraph from the end of its output.

    That is the last line starting with ``crm-report:`` and what follows it
    (kernel start-up warnings left out); without such a line, the last
    non-empty paragraph.
    """
    kept = [ln for ln in lines if "[IPKernelApp] WARNING" not in ln]
    starts = [i for i, ln in enumerate(kept) if ln.startswith("crm-report:")]
    if starts:
        return "\n".join(kept[starts[-1]:]).strip()[-limit:]
    paragraphs = [p.strip() for p in "\n".join(kept).split("\n\n") if p.strip()]
    return paragraphs[-1][-limit:] if paragraphs else ""


class CrmReportOperator(BaseOperator):
    """Run one step of ``crm-report`` (init, one notebook, or publish) for the DAG run.

    The command line is built from the DAG run's ``params``; its output is
    streamed into the task log and its exit code decides the task state.
    """

    ui_color = "#dce9f5"

    def __init__(self, *, step: str, notebook: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        if step not in ("init", "stage", "publish"):
            raise ValueError(f"step must be init, stage or publish, not {step!r}")
        self.step, self.notebook = step, notebook

    def on_kill(self) -> None:
        """Stop the running ``crm-report`` (it cleans up the notebook it was running)."""
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()

    def command(self, context) -> list[str]:
        """The ``crm-report`` argument list for this step and DAG run.

        Only ``init`` passes the run-level parameters: the runner records them in
        the staging folder, and the later steps of the run read them from there.
        """
        params = context["params"]
        exe = find_crm_report(params.get("crm_report", ""))
        if not exe:
            raise AirflowFailException(
                "crm-report not found: set the DAG param crm_report, or CRM_REPORT in the "
                "worker's environment, or put the project's venv bin/ on PATH")
        run_date = run_id(context)
        cmd = [exe, "--run-id", run_date]
        if self.step == "init":
            as_of = self.render_template(str(params.get("as_of") or "{{ ds }}"),
                                         {**context, "ds": run_date})
            cmd += ["--stage-only", "--fresh", "--source", str(params["source"]),
                    "--n-customers", str(params["n_customers"]), "--seed", str(params["seed"]),
                    "--as-of", as_of]
            if params.get("data_dir"):
                cmd += ["--data-dir", str(params["data_dir"])]
            if params.get("params_file"):
                cmd += ["--params", str(params["params_file"])]
        elif self.step == "stage":
            cmd += ["--stage-only", "--notebooks", self.notebook]
        else:
            cmd += ["--publish"]
            if str(params.get("notebooks") or "").strip():  # the run is made of these
                cmd += ["--notebooks", str(params["notebooks"])]
        return cmd

    def execute(self, context) -> str:
        params = context["params"]
        if self.step == "stage" and not selected(self.notebook, params.get("notebooks", "")):
            raise AirflowSkipException(f"{self.notebook} is not in notebooks="
                                       f"{params.get('notebooks')!r} for this run")
        if self.step != "init" and not context["ti"].xcom_pull(task_ids="init"):
            raise AirflowFailException("the init task did not succeed, so this run has no clean "
                                       "staging folder; see the init task's log")
        cmd = self.command(context)
        self.log.info("Running %s", " ".join(cmd))
        tail: deque[str] = deque(maxlen=200)
        self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, bufsize=1)
        try:
            assert self._proc.stdout is not None
            for line in self._proc.stdout:
                tail.append(line.rstrip("\n"))
                self.log.info("%s", line.rstrip("\n"))
            code = self._proc.wait()
        except BaseException:  # execution_timeout or a kill: stop crm-report too
            self.on_kill()
            raise
        message = runner_error(list(tail)) or f"crm-report exited with code {code}"
        what = self.notebook or self.step
        if code == EXIT_OK:
            return run_id(context)
        if code == EXIT_SKIPPED:
            raise AirflowSkipException(f"{what} skipped: {message}")
        if code == EXIT_PERMANENT:
            raise AirflowFailException(f"{what}: permanent failure, not retried: {message}")
        if code == EXIT_FAILED:
            raise AirflowFailException(f"{what} failed: {message}")
        if code == EXIT_RETRIABLE:
            raise AirflowException(f"{what}: retriable failure (kernel death or timeout): "
                                   f"{message}")
        raise AirflowException(f"{what}: crm-report exited with code {code}: {message}")


class FailedTasksGuard(BaseOperator):
    """Leaf task that fails the DAG run when any upstream task failed (``one_failed``)."""

    ui_color = "#f5dcdc"

    def execute(self, context) -> None:
        raise AirflowFailException("a task of this run failed (see the red tasks); the last "
                                   "good report stays published, named in reports/latest.txt")


def run_id(context) -> str:
    """The run id: the logical date (or, for a run without one, the day it ran)."""
    when = context.get("logical_date") or context["dag_run"].run_after
    return when.strftime("%Y-%m-%d")


PLAN, PLAN_SOURCE = load_plan()
if PLAN_SOURCE.startswith("FALLBACK_PLAN"):
    logging.getLogger(__name__).warning("crm_report: task graph from %s", PLAN_SOURCE)

with DAG(
    dag_id="crm_report",
    description="CRM analytics notebooks through the crm-report runner's steps",
    doc_md=__doc__,
    schedule="0 6 * * 1",  # Mondays at 06:00
    start_date=datetime(2026, 1, 5),
    catchup=False,
    max_active_runs=1,  # runs of one logical date share a staging folder
    params=PARAMS,
    default_args={
        "owner": "crm-analytics",
        "retries": 2,  # only retriable failures (exit 75: kernel death, timeout, lock) retry
        "retry_delay": timedelta(minutes=5),
        "execution_timeout": timedelta(hours=1),
    },
    tags=["crm", "papermill"],
) as dag:
    init = CrmReportOperator(task_id="init", step="init")
    notebook_tasks = {
        name: CrmReportOperator(task_id=f"nb_{name}", step="stage", notebook=name,
                                trigger_rule=TriggerRule.ALL_DONE,
                                doc_md=f"Stage {name} (runs after: {', '.join(after) or 'init'})")
        for name, after in PLAN.items()
    }
    for name, after in PLAN.items():
        upstream = [notebook_tasks[a] for a in after if a in notebook_tasks]
        (upstream or [init]) >> notebook_tasks[name]
        if upstream:  # every notebook waits for init, also through its upstream notebooks
            init >> notebook_tasks[name]
    publish = CrmReportOperator(task_id="publish", step="publish",
                                trigger_rule=TriggerRule.ALL_DONE)
    [init, *notebook_tasks.values()] >> publish
    check_run = FailedTasksGuard(task_id="check_run", retries=0,
                                 trigger_rule=TriggerRule.ONE_FAILED)
    [init, *notebook_tasks.values(), publish] >> check_run
