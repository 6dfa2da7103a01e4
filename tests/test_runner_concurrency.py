"""Notebooks whose inputs are ready run at the same time, with the same results."""

from __future__ import annotations

import json

import nbformat
import pytest
from _runner_nbs import TINY, _nb
from conftest import SMALL_DEMO

from crm_lib import artefacts, metrics, runner

WAIT = ("import pathlib, time\nd = pathlib.Path(run_dir)\n(d / '{me}.started').touch()\n"
        "t0 = time.time()\nwhile not (d / '{other}.started').exists():\n"
        "    assert time.time() - t0 < 120, 'the other notebook never ran alongside'\n"
        "    time.sleep(0.1)\n(d / '{me}.done').touch()")


def test_independent_notebooks_run_together_and_dependants_wait(tmp_path):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    _nb(nbs / "01_a.ipynb", WAIT.format(me="a", other="b"))
    _nb(nbs / "02_b.ipynb", WAIT.format(me="b", other="a"))
    last = _nb(nbs / "03_after.ipynb", "import pathlib\nd = pathlib.Path(run_dir)\n"
               "assert (d / 'a.done').exists() and (d / 'b.done').exists()")
    nb = nbformat.read(last, as_version=4)
    nb.metadata["crm"]["after"] = "*"
    nbformat.write(nb, last)
    code, run_dir = runner.run(out=str(tmp_path / "r"), notebooks_dir=str(nbs), overrides=TINY,
                               jobs=2, quiet=True)
    m = json.loads((run_dir / "manifest.json").read_text())
    assert code == 0, m["notebooks"]
    assert m["jobs"] == 2 and [n["status"] for n in m["notebooks"]] == ["ok"] * 3


def test_sequential_run_follows_the_graph_not_the_file_order(tmp_path):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    late = _nb(nbs / "01_late.ipynb", "import pathlib\n"
               "assert (pathlib.Path(run_dir) / 'first.done').exists()")
    nb = nbformat.read(late, as_version=4)
    nb.metadata["crm"]["after"] = ["02_first"]
    nbformat.write(nb, late)
    _nb(nbs / "02_first.ipynb", "import pathlib\n(pathlib.Path(run_dir) / 'first.done').touch()")
    code, run_dir = runner.run(out=str(tmp_path / "r"), notebooks_dir=str(nbs), overrides=TINY,
                               jobs=1, quiet=True)
    m = json.loads((run_dir / "manifest.json").read_text())
    assert code == 0 and [n["name"] for n in m["notebooks"]] == ["02_first", "01_late"]


def test_concurrent_run_gives_the_metrics_of_a_sequential_run(demo_run, tmp_path):
    """demo_run ran every notebook two at a time (04 alongside 02); 00, 04 and 03 (which
    reads 04's scores) run again one at a time."""
    if demo_run["manifest"]["jobs"] < 2:
        pytest.skip("one core: the shared run was sequential too")
    code, seq = runner.run(out=str(tmp_path / "seq"), notebooks="00,04,03",
                           overrides=dict(SMALL_DEMO), jobs=1, quiet=True)
    assert code == 0
    sequential = metrics.read_by_notebook(seq)
    concurrent = metrics.read_by_notebook(demo_run["run_dir"])
    assert set(sequential) == {"00_crm_concepts", "04_churn_modeling", "03_customer_value"}
    for nb, values in sequential.items():
        assert set(values) == set(concurrent[nb]), nb
        for k, v in values.items():
            assert concurrent[nb][k] == (pytest.approx(v, rel=1e-9, abs=1e-12)
                                         if isinstance(v, float) else v), (nb, k)


def test_critical_path_starts_first_and_a_dead_worker_fails_only_its_notebook(tmp_path):
    """Issue 16 scheduling: the notebook with the longest chain of dependents starts first;
    two workers run four notebooks (each in a fresh kernel); a notebook that kills its worker
    is a retriable failure and the next notebooks run on a new worker."""
    from crm_lib.runner.batch import critical_path_first

    nbs = tmp_path / "nbs"
    nbs.mkdir()
    stamp = "import os, pathlib, time\n(pathlib.Path(run_dir) / '{me}.pid').write_text(str(os.getpid()))"
    _nb(nbs / "01_short.ipynb", stamp.format(me="short"))
    _nb(nbs / "02_kill.ipynb", stamp.format(me="kill") + "\nimport signal\n"
        "os.kill(os.getppid(), signal.SIGKILL)\ntime.sleep(30)")
    head = _nb(nbs / "03_head.ipynb", stamp.format(me="head"))
    tail = _nb(nbs / "04_tail.ipynb", stamp.format(me="tail") + "\nassert (pathlib.Path("
               "run_dir) / 'head.pid').exists()")
    nb = nbformat.read(tail, as_version=4)
    nb.metadata["crm"]["after"] = ["03_head"]
    nbformat.write(nb, tail)
    graph = artefacts.notebook_graph(sorted(nbs.glob("*.ipynb")))
    assert critical_path_first(graph) == {"01_short": 1, "02_kill": 1, "03_head": 2,
                                          "04_tail": 1}
    assert head.exists()
    code, run_dir = runner.run(out=str(tmp_path / "r"), notebooks_dir=str(nbs), overrides=TINY,
                               jobs=2, quiet=True)
    m = json.loads((run_dir / "manifest.json").read_text())
    status = {n["name"]: (n["status"], n["kind"], n["error"]) for n in m["notebooks"]}
    assert status["02_kill"] == ("failed", "retriable", "WorkerError"), status
    assert all(status[s][0] == "ok" for s in ("01_short", "03_head", "04_tail")), status
    assert code == 75
    pids = {s: int((run_dir / f"{s}.pid").read_text()) for s in ("short", "head", "tail")}
    assert len(set(pids.values())) == 3  # a fresh kernel for every notebook
    started = (run_dir / "logs").iterdir()
    assert {p.name for p in started} >= {"03_head.log", "02_kill.log", "worker-1.log"}
    assert all(n["cpu_s"] > 0 for n in m["notebooks"] if n["status"] == "ok")

