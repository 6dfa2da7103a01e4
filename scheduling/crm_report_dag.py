"""Apache Airflow DAG: the CRM notebooks in batch, one papermill task per notebook, in order.

Copy (or symlink) this file into Airflow's ``dags/`` folder on a machine where the
project is installed (see docs/scheduling.md). It needs ``apache-airflow`` and
``apache-airflow-providers-papermill`` in Airflow's environment and the project's
``crm`` Jupyter kernel registered where Airflow's workers can find it; neither Airflow
nor the provider is a dependency of the project.

Each run writes ``reports/airflow-<date>/``: the executed notebooks, their
``metrics.json`` (notebook 06 reads it) and, from the last task, HTML without code
and without solution cells. Each task is retried on failure. Like ``crm-report``,
a notebook runs even when an earlier one failed or was skipped (every notebook
can run on its own); the DAG run is then marked failed so the failure is visible.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.providers.papermill.operators.papermill import PapermillOperator

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.operators.bash import BashOperator

#: The project checkout (default: the folder above scheduling/).
PROJECT = Path(os.environ.get("CRM_PROJECT", Path(__file__).resolve().parents[1]))
#: Notebooks in run order (one task each).
NOTEBOOKS = [
    "00_crm_concepts",
    "01_data_cleaning",
    "02_survey_satisfaction_loyalty",
    "03_customer_value",
    "04_churn_modeling",
    "05_retention_roi",
    "06_executive_summary",
]
KERNEL = "crm"
RUN_DIR = str(PROJECT / "reports" / "airflow-{{ ds }}")
#: Notebook parameters (templated: ``{{ ds }}`` is the run's logical date).
PARAMETERS = {
    "source": os.environ.get("CRM_SOURCE", "demo"),  # demo | telco | cdnow | folder
    "data_dir": os.environ.get("CRM_DATA_DIR", ""),  # folder source: your table files
    "n_customers": 20000,
    "seed": 42,
    "as_of": "{{ ds }}",
    "run_dir": RUN_DIR,
}

default_args = {
    "owner": "crm-analytics",
    "retries": 2,
    "retry_delay": timedelta(minutes=10),
    "execution_timeout": timedelta(hours=1),
}

with DAG(
    dag_id="crm_report",
    description="CRM analytics notebooks (00-06) executed with papermill",
    schedule="0 6 * * 1",  # Mondays at 06:00
    start_date=datetime(2026, 1, 5),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["crm", "papermill"],
) as dag:
    tasks = [
        PapermillOperator(
            task_id=f"nb_{name}",
            input_nb=str(PROJECT / "notebooks" / f"{name}.ipynb"),
            output_nb=f"{RUN_DIR}/{name}.ipynb",
            parameters=PARAMETERS,
            kernel_name=KERNEL,
            # run after the previous notebook whatever its outcome, as crm-report does
            trigger_rule="all_done" if i else "all_success",
        )
        for i, name in enumerate(NOTEBOOKS)
    ]
    publish = BashOperator(
        task_id="publish_html",
        bash_command=(
            f"cd {RUN_DIR} && {PROJECT}/.venv/bin/jupyter nbconvert --to html --no-input "
            "--TagRemovePreprocessor.enabled=True "
            "--TagRemovePreprocessor.remove_cell_tags=\"['solution']\" [0-9][0-9]_*.ipynb"
        ),
        trigger_rule="all_done",
    )
    for upstream, downstream in zip(tasks, [*tasks[1:], publish], strict=True):
        upstream >> downstream
