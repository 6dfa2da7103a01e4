"""Runner steps for schedulers and the run-level guards of issue 11.

Exit codes of one notebook staged with ``--stage-only``, the plan, publish;
parameters checked before staging; resume checked against the manifest; a
lock on ``--out``; signals clean up staging; a source with nothing to analyse.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _runner_nbs import TINY, _nb

from crm_lib import runner
from crm_lib.runner import batch

CLI_TINY = ["--n-customers", "800", "--seed", "3", "--quiet"]


@pytest.fixture()
def step_nbs(tmp_path) -> Path:
    d = tmp_path / "nbs"
    d.mkdir()
    _nb(d / "01_ok.ipynb", "print('fine')")
    _nb(d / "02_contract.ipynb", "from crm_lib.cleaning.errors import DataContractError\n"
        "raise DataContractError('bad column', file='customers.csv', table='customers')")
    _nb(d / "03_cell.ipynb", "raise ValueError('a bug in a cell')")
    _nb(d / "04_missing.ipynb", "from crm_lib.data import MissingTableError\n"
        "raise MissingTableError('source demo lacks survey_responses')")
    _nb(d / "05_kernel_dies.ipynb", "import os\nos._exit(1)")
    _nb(d / "06_slow.ipynb", "import time\ntime.sleep(60)")
    return d


def _step(out: Path, nbs: Path, *args: str) -> int:
    return runner.main(["--out", str(out), "--notebooks-dir", str(nbs), *args])


def test_stage_only_exit_codes_then_publish(tmp_path, step_nbs):
    out = tmp_path / "r"
    assert _step(out, step_nbs, "--run-id", "t1", "--stage-only", "--fresh", *CLI_TINY) == 0
    codes = {nb: _step(out, step_nbs, "--run-id", "t1", "--stage-only", "--notebooks", nb,
                       "--quiet") for nb in ("01", "02", "03", "04", "05")}
    codes["06"] = _step(out, step_nbs, "--run-id", "t1", "--stage-only", "--notebooks", "06",
                        "--cell-timeout", "2", *CLI_TINY)
    assert codes == {"01": 0, "02": 2, "03": 1, "04": 3, "05": 75, "06": 75}
    res = {p.stem: json.loads(p.read_text())
           for p in (out / ".staging-t1" / "results").glob("*.json")}
    assert res["02_contract"]["error"] == "DataContractError"
    assert res["03_cell"]["cell"] == 3 and res["03_cell"]["kind"] == "cell"
    assert res["05_kernel_dies"]["kind"] == "retriable"
    # a stage-only task with other parameters does not mix into the run
    assert _step(out, step_nbs, "--run-id", "t1", "--stage-only", "--notebooks", "01",
                 "--seed", "4", "--quiet") == 2
    assert _step(out, step_nbs, "--run-id", "t1", "--publish", "--quiet") == 1
    assert (out / "t1-failed" / "index.html").exists() and not (out / "latest.txt").exists()
    assert _step(out, step_nbs, "--run-id", "t1", "--publish", "--quiet") == 1  # idempotent
    # the ok notebook alone publishes as the latest good run
    assert _step(out, step_nbs, "--run-id", "t2", "--stage-only", "--notebooks", "01",
                 *CLI_TINY) == 0
    assert _step(out, step_nbs, "--run-id", "t2", "--publish", "--notebooks", "01",
                 "--quiet") == 0
    assert (out / "latest.txt").read_text().strip() == "t2"
    m = json.loads((out / "t2" / "manifest.json").read_text())
    assert (m["status"], m["as_of"], m["as_of_from"]) == \
        ("ok", "2026-06-30", "default of source 'demo'")


def test_plan_lists_notebooks_in_graph_order(capsys):
    assert runner.main(["--plan"]) == 0
    plan = json.loads(capsys.readouterr().out)["notebooks"]
    names = [n["name"] for n in plan]
    assert names.index("04_churn_modeling") < names.index("03_customer_value")
    n03 = plan[names.index("03_customer_value")]
    assert n03["after"] == ["04_churn_modeling"] and n03["reads"] == ["churn_scores"]
    assert n03["writes"] == ["clv"] and n03["requires"] == ["transactions"]


def test_bad_parameters_stop_before_staging(tmp_path, step_nbs, capsys):
    pf = tmp_path / "p.yaml"
    for text, msg in (("seed: abc\n", "seed must be a whole number"),
                      ("n_customers: 2k\n", "n_customers must be a whole number"),
                      ("sed: 3\n", "did you mean 'seed'"),
                      ("notebooks:\n  01_okk: {seed: 1}\n", "did you mean '01_ok'")):
        pf.write_text(text)
        code, run_dir = runner.run(params_file=str(pf), out=str(tmp_path / "r"),
                                   notebooks_dir=str(step_nbs), quiet=True)
        err = capsys.readouterr().err
        assert code == 2 and run_dir == Path() and msg in err and str(pf) in err, err
    assert not (tmp_path / "r").exists()  # nothing written


def test_resume_refuses_another_source_or_parameters(tmp_path, step_nbs, capsys):
    out = tmp_path / "r"
    code, first = runner.run(out=str(out), notebooks_dir=str(step_nbs), notebooks="01",
                             overrides=TINY, quiet=True)
    assert code == 0
    code, _ = runner.run(out=str(out), notebooks_dir=str(step_nbs), notebooks="01",
                         overrides={**TINY, "seed": 4}, resume=first.name, quiet=True)
    err = capsys.readouterr().err
    assert code == 2 and "parameters (seed: 3 -> 4)" in err and "source (" in err, err
    code, _ = runner.run(out=str(out), notebooks_dir=str(step_nbs), notebooks="01",
                         source="telco", resume="last", quiet=True)
    err = capsys.readouterr().err
    assert code == 2 and "no earlier run" in err and "'telco" in err, err
    code, again = runner.run(out=str(out), notebooks_dir=str(step_nbs), notebooks="01",
                             overrides=TINY, resume="last", quiet=True)
    assert code == 0
    assert json.loads((again / "manifest.json").read_text())["notebooks"][0]["status"] == "ok"
    assert not list(out.glob(".staging-*"))


def test_lock_guards_out(tmp_path, step_nbs, capsys):
    out = tmp_path / "r"
    with batch.out_lock(out):
        code, _ = runner.run(out=str(out), notebooks_dir=str(step_nbs), notebooks="01",
                             overrides=TINY, quiet=True)
    assert code == 2
    assert "another run is writing to" in capsys.readouterr().err
    assert not list(out.glob(".staging-*"))


def test_empty_or_misnamed_folder_has_nothing_to_analyse(tmp_path, step_nbs, capsys):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "cust_export.csv").write_text("customer_id\n1\n")
    code, _ = runner.run(source="folder", overrides={"data_dir": str(folder)},
                         out=str(tmp_path / "r"), notebooks_dir=str(step_nbs), quiet=True)
    err = capsys.readouterr().err
    assert code == 2 and "nothing to analyse" in err and "cust_export.csv" in err, err
    assert not list((tmp_path / "r").glob(".staging-*"))
    assert not (tmp_path / "r" / "latest.txt").exists()


def test_sigterm_removes_staging_and_stops_the_kernel(tmp_path, crm_home):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    flag = tmp_path / "started"
    _nb(nbs / "01_slow.ipynb", f"import os, time\nopen({str(flag)!r}, 'w').write(str(os.getpid()))"
        "\ntime.sleep(120)")
    out = tmp_path / "r"
    proc = subprocess.Popen([sys.executable, "-m", "crm_lib.runner", "--out", str(out),
                             "--notebooks-dir", str(nbs), "--jobs", "1", *CLI_TINY],
                            env={**os.environ, "CRM_HOME": str(crm_home)},
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not flag.exists() and time.time() < deadline:
        time.sleep(0.5)
    assert flag.exists(), "the notebook never started"
    assert list(out.glob(".staging-*"))
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "interrupted (SIGTERM); staging removed" in err
    assert not list(out.glob(".staging-*")) and not (out / "latest.txt").exists()
    kernel = int(flag.read_text())
    time.sleep(1)
    with pytest.raises(ProcessLookupError):
        os.kill(kernel, 0)
