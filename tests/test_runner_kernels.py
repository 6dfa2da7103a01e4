"""Pre-warmed kernels (issue 16): one fresh kernel per notebook, the state of a cold one
before the first computation, a cold kernel when the warm-up fails, no process left."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import nbformat
import pytest
from _runner_nbs import TINY, _nb

from crm_lib import runner
from crm_lib.runner import kernels

STAMP = ("import json, os, pathlib, sys\n"
         "(pathlib.Path(run_dir) / '{me}.json').write_text(json.dumps("
         "{{'pid': os.getpid(), 'json_loaded': 'json' in sys.modules, "
         "'names': sorted(n for n in dir() if not n.startswith('_'))}}))")


def _kernels_in(folder: Path) -> list[int]:
    """Processes (kernels) whose working directory is ``folder``."""
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if os.readlink(p / "cwd") == str(folder):
                    out.append(int(p.name))
            except OSError:
                pass
    return out


def _after(path: Path, stems: list[str]) -> None:
    nb = nbformat.read(path, as_version=4)
    nb.metadata["crm"]["after"] = stems
    nbformat.write(nb, path)


def test_setup_imports_are_the_leading_imports_of_the_first_code_cell(tmp_path):
    p = _nb(tmp_path / "01_x.ipynb", "import json\nfrom crm_lib import fmt, artefacts\n"
            "x = 1\nimport csv")
    assert kernels.setup_imports(p) == ("json", "crm_lib", "crm_lib.fmt", "crm_lib.artefacts")
    assert kernels.setup_imports(_nb(tmp_path / "02_y.ipynb", "x = 1\nimport json")) == ()
    warm = object.__new__(kernels.WarmKernel)
    warm.kernel_name, warm.cwd, warm.modules = "crm", tmp_path, ("json",)
    assert warm.fits("crm", tmp_path, ("json", "csv"))
    assert not warm.fits("crm", tmp_path, ("csv",))  # would import json earlier than cold
    assert not warm.fits("crm", tmp_path / "other", ("json",))
    assert not warm.fits("python3", tmp_path, ("json",))


def test_warmup_code_imports_each_module_and_binds_no_name():
    code = kernels.warmup_code(("json", "email.mime.text", "no_such_module_xyz", "json.nope"))
    ns: dict = {}
    exec(code, ns)  # noqa: S102 - the code a warm kernel runs
    assert [k for k in ns if not k.startswith("__")] == []
    import sys
    assert "email.mime.text" in sys.modules and "no_such_module_xyz" not in sys.modules
    assert "importlib" not in code  # plain import statements (tests/test_leftovers.py)
    with pytest.raises(ValueError, match="not a module name"):
        kernels.warmup_code(("os; import shutil",))


def test_warm_kernels_serve_one_notebook_each_and_none_is_left(tmp_path):
    """Two workers: the head of the longest chain starts in a kernel warmed while the
    tables were cleaned, the other first notebook in a cold one (its worker starts
    then); the worker idle beside the long notebook warms a kernel for the next one,
    which is skipped (no kernel needed), so that kernel is shut down unused when its
    worker ends."""
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    _nb(nbs / "01_head.ipynb", STAMP.format(me="head") + "\nimport time\ntime.sleep(4)")
    _nb(nbs / "02_side.ipynb", STAMP.format(me="side"))
    _after(_nb(nbs / "03_skipped.ipynb", STAMP.format(me="skipped"), ["no_such_table"]),
           ["01_head"])
    _after(_nb(nbs / "04_tail.ipynb", STAMP.format(me="tail")), ["01_head"])
    code, run_dir = runner.run(out=str(tmp_path / "r"), notebooks_dir=str(nbs), overrides=TINY,
                               jobs=2, quiet=True)
    left = _kernels_in(nbs)
    m = json.loads((run_dir / "manifest.json").read_text())
    res = {n["name"]: n for n in m["notebooks"]}
    assert code == 0, res
    assert m["warm_kernels"] is True
    assert {s: bool(res[s]["timeline"].get("warm")) for s in res} == {
        "01_head": True, "02_side": False, "03_skipped": False, "04_tail": False}
    assert res["03_skipped"]["status"] == "skipped"
    logs = [p.read_text() for p in (run_dir / "logs").glob("worker-*.log")]
    assert sum("warm kernel for 03_skipped not used" in t for t in logs) == 1, logs
    seen = {s: json.loads((run_dir / f"{s}.json").read_text()) for s in ("head", "side", "tail")}
    assert len({v["pid"] for v in seen.values()}) == 3  # a fresh kernel for every notebook
    # the warm-up bound no name: warm (head) and cold (side, tail) namespaces are the same
    assert seen["head"]["names"] == seen["side"]["names"] == seen["tail"]["names"]
    assert "_crm_warmup" not in seen["head"]["names"] and "json" in seen["head"]["names"]
    for s in ("01_head", "04_tail"):  # execution counts as in a cold kernel
        cells = nbformat.read(run_dir / f"{s}.ipynb", as_version=4).cells
        assert [c.execution_count for c in cells if c.cell_type == "code"] == [1, 2, 3]
    t = {s: res[s]["timeline"] for s in res}
    assert t["04_tail"]["ready"] >= t["01_head"]["end"]
    assert all(t[s]["start"] <= t[s]["kernel"] <= t[s]["end"] <= t[s]["html"]
               for s in ("01_head", "02_side", "04_tail"))
    assert left == []  # every kernel stopped before the run returned (not left to exit)
    assert not any(_alive(v["pid"]) for v in seen.values())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in \
        Path(f"/proc/{pid}/status").read_text().lower()


def test_a_kernel_that_dies_warming_up_gives_way_to_a_cold_one(tmp_path):
    """The set-up import kills the first kernel that runs it (the warm one); the notebook
    then runs in a cold kernel, where the import works, and is ok."""
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    (nbs / "_boom_once.py").write_text(
        "import os, pathlib\nflag = pathlib.Path(__file__).with_name('boom.done')\n"
        "if not flag.exists():\n    flag.touch()\n    os._exit(3)\n")
    _nb(nbs / "01_boom.ipynb", "import _boom_once\n" + STAMP.format(me="boom"))
    _nb(nbs / "02_plain.ipynb", STAMP.format(me="plain"))
    _after(_nb(nbs / "03_after.ipynb", STAMP.format(me="after")), ["01_boom", "02_plain"])
    code, run_dir = runner.run(out=str(tmp_path / "r"), notebooks_dir=str(nbs), overrides=TINY,
                               jobs=2, quiet=True)
    m = json.loads((run_dir / "manifest.json").read_text())
    res = {n["name"]: n for n in m["notebooks"]}
    assert (nbs / "boom.done").exists()  # the warm-up ran the import, and its kernel died
    assert code == 0, res
    assert res["01_boom"]["status"] == "ok" and not res["01_boom"]["timeline"].get("warm")
    assert res["03_after"]["timeline"]["warm"]  # warmed by the first idle worker


def test_no_warm_runs_every_notebook_in_a_cold_kernel(tmp_path):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    _nb(nbs / "01_a.ipynb", STAMP.format(me="a"))
    _nb(nbs / "02_b.ipynb", STAMP.format(me="b"))
    code, run_dir = runner.run(out=str(tmp_path / "r"), notebooks_dir=str(nbs), overrides=TINY,
                               jobs=2, quiet=True, warm=False)
    m = json.loads((run_dir / "manifest.json").read_text())
    assert code == 0 and m["warm_kernels"] is False
    assert not any(n["timeline"].get("warm") for n in m["notebooks"])


def test_a_warm_kernel_stops_when_shut_down_or_dead(tmp_path):
    """shutdown() stops the kernel at once (not left to notice its parent has gone); take()
    of a kernel killed meanwhile gives None and frees it."""
    from crm_lib import config

    for kill in (False, True):
        warm = kernels.WarmKernel(config.KERNEL_NAME, tmp_path, ("json",), stem="01_x")
        pid = warm.km.provisioner.process.pid
        assert _alive(pid)
        if kill:
            os.kill(pid, 9)
            assert warm.take(config.KERNEL_NAME, tmp_path, ("json",)) is None
        else:
            warm.shutdown()
        assert warm.km is None and not _alive(pid)
        assert _kernels_in(tmp_path) == []


def test_failures_in_a_warm_kernel_are_classified_as_in_a_cold_one(tmp_path):
    """A cell past --cell-timeout and a kernel that dies are retriable failures (exit 75)
    in a pre-warmed kernel (01_slow's) as with every kernel cold; no kernel is left."""
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    _nb(nbs / "01_slow.ipynb", STAMP.format(me="slow") + "\nimport time\ntime.sleep(60)")
    _nb(nbs / "02_dies.ipynb", STAMP.format(me="dies") + "\nos._exit(1)")
    seen = {}
    for warm in (True, False):
        code, run_dir = runner.run(out=str(tmp_path / f"r{warm}"), notebooks_dir=str(nbs),
                                   overrides=TINY, jobs=2, quiet=True, cell_timeout=5,
                                   warm=warm)
        left = _kernels_in(nbs)
        m = json.loads((run_dir / "manifest.json").read_text())
        res = {n["name"]: n for n in m["notebooks"]}
        assert code == 75, res
        assert bool(res["01_slow"]["timeline"].get("warm")) is warm
        assert not res["02_dies"]["timeline"].get("warm")
        seen[warm] = {s: (r["status"], r["kind"], r["exit_code"], r["error"])
                      for s, r in res.items()}
        assert left == []
    assert seen[True] == seen[False]
    assert seen[True]["01_slow"][:3] == seen[True]["02_dies"][:3] == ("failed", "retriable", 75)
    assert "Timeout" in seen[True]["01_slow"][3] and "DeadKernel" in seen[True]["02_dies"][3]


def test_sigterm_stops_workers_and_every_kernel_warm_or_not(tmp_path, crm_home):
    """SIGTERM to crm-report while one worker runs a notebook (in a warm kernel) and the
    other, idle, holds a warm kernel for the next: staging removed, no kernel left."""
    import signal
    import subprocess
    import sys

    nbs = tmp_path / "nbs"
    nbs.mkdir()
    _nb(nbs / "01_a.ipynb", STAMP.format(me="a") + "\nimport time\ntime.sleep(120)")
    _nb(nbs / "02_b.ipynb", STAMP.format(me="b"))
    _after(_nb(nbs / "03_c.ipynb", STAMP.format(me="c")), ["01_a"])
    out = tmp_path / "r"
    proc = subprocess.Popen([sys.executable, "-m", "crm_lib.runner", "--out", str(out),
                             "--notebooks-dir", str(nbs), "--jobs", "2", "--n-customers", "800",
                             "--seed", "3", "--quiet"],
                            env={**os.environ, "CRM_HOME": str(crm_home)},
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (
                list(out.glob(".staging-*/a.json")) and list(out.glob(".staging-*/results/02_b.json"))
                and len(_kernels_in(nbs)) >= 2):  # a's kernel and the spare one for c
            time.sleep(0.3)
        assert len(_kernels_in(nbs)) >= 2, "no notebook running beside a warm kernel"
        pid = json.loads(next(out.glob(".staging-*/a.json")).read_text())["pid"]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=90)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert not list(out.glob(".staging-*"))
    assert _kernels_in(nbs) == [] and not _alive(pid)
