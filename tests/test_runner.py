"""The batch runner end to end: success, failure, skip and resume paths."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat
import pytest
from _runner_nbs import TINY, _nb

from crm_lib import runner


def _tree_hash(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture()
def nb_dir(tmp_path) -> Path:
    d = tmp_path / "nbs"
    d.mkdir()
    _nb(d / "01_ok.ipynb", "import crm_lib as crm\n"
        "s = crm.start('01_ok', source=source, run_dir=run_dir, n_customers=800, seed=3)\n"
        "n = len(s.tables('customers')['customers'])\ns.record({'test.n_customers': n})")
    _nb(d / "02_needs_campaigns.ipynb", "print('runs only with campaigns')", ["campaigns"])
    return d


def test_success_then_failure_keeps_last_good_report(tmp_path, nb_dir):
    out = tmp_path / "reports"
    code, good = runner.run(out=str(out), notebooks_dir=str(nb_dir), overrides=TINY, quiet=True)
    assert code == 0
    assert (out / "latest.txt").read_text().strip() == good.name
    manifest = json.loads((good / "manifest.json").read_text())
    assert [n["status"] for n in manifest["notebooks"]] == ["ok", "ok"]
    assert json.loads((good / "metrics.json").read_text()) == {"test.n_customers": 800}
    assert set(manifest["input_hashes"]) >= {"customers.csv", "transactions.csv"}
    assert manifest["packages"]["pandas"] != "not installed"
    index = (good / "index.html").read_text()
    assert "01_ok.html" in index and "test.n_customers" in index
    html = (good / "01_ok.html").read_text()
    assert "crm.start(" not in html  # code is hidden in the HTML report
    before = _tree_hash(good)

    _nb(nb_dir / "03_raises.ipynb", "x = 1\nraise ValueError('boom in cell')")
    code, bad = runner.run(out=str(out), notebooks_dir=str(nb_dir), overrides=TINY, quiet=True)
    assert code == 1
    assert bad.name.endswith("-failed") and bad != good
    m = json.loads((bad / "manifest.json").read_text())
    failed = [n for n in m["notebooks"] if n["status"] == "failed"]
    assert [f["name"] for f in failed] == ["03_raises"]
    assert failed[0]["cell"] == 3 and "ValueError: boom in cell" in failed[0]["message"]
    assert "failed" in (bad / "index.html").read_text()
    assert _tree_hash(good) == before  # the last good report is untouched
    assert (out / "latest.txt").read_text().strip() == good.name
    assert not list(out.glob(".staging-*"))

    # resume: ok notebooks are kept, the failed one runs again
    (nb_dir / "03_raises.ipynb").unlink()
    _nb(nb_dir / "03_raises.ipynb", "print('fixed')")
    code, resumed = runner.run(out=str(out), notebooks_dir=str(nb_dir), overrides=TINY,
                               resume=bad.name, quiet=True)
    assert code == 0
    m = json.loads((resumed / "manifest.json").read_text())
    assert [n["status"] for n in m["notebooks"]] == ["ok", "ok", "ok"]
    assert json.loads((resumed / "metrics.json").read_text()) == {"test.n_customers": 800}


def test_missing_table_is_skipped_with_reason(tmp_path, nb_dir):
    _nb(nb_dir / "03_runtime_missing.ipynb", "import crm_lib as crm\n"
        "s = crm.start('03', source=source, run_dir=run_dir)\ns.tables('survey_responses')")
    out = tmp_path / "r"
    code, run = runner.run(source="telco", out=str(out), notebooks_dir=str(nb_dir),
                           notebooks="02,03", quiet=True)
    assert code == runner.EXIT_SKIPPED  # nothing to analyse: not ok, not latest
    m = json.loads((run / "manifest.json").read_text())
    assert m["status"] == "empty" and "nothing to analyse" in m["message"]
    assert run.name.endswith("-failed") and not (out / "latest.txt").exists()
    st = {n["name"]: (n["status"], n["message"]) for n in m["notebooks"]}
    assert st["02_needs_campaigns"][0] == "skipped"
    assert "campaigns" in st["02_needs_campaigns"][1]
    assert st["03_runtime_missing"][0] == "skipped"
    assert "survey_responses" in st["03_runtime_missing"][1]


def test_cli_rejects_unknown_source_and_notebook_before_staging(tmp_path, capsys):
    assert runner.main(["--source", "nope", "--out", str(tmp_path), "--quiet"]) == 2
    assert "unknown source 'nope'" in capsys.readouterr().err
    assert runner.main(["--notebooks", "99", "--out", str(tmp_path), "--quiet"]) == 2
    assert "no notebook matches 99" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing created, not even staging


def test_params_file_and_dated_run(tmp_path, nb_dir):
    pf = tmp_path / "params.yaml"
    pf.write_text("n_customers: 800\nseed: 3\nnotebooks:\n  01_ok:\n    seed: 5\n")
    code, run = runner.run(params_file=str(pf), out=str(tmp_path / "r"),
                           notebooks_dir=str(nb_dir), notebooks="01", dated=True, quiet=True)
    assert code == 0
    m = json.loads((run / "manifest.json").read_text())
    assert m["parameters"]["n_customers"] == 800
    assert m["notebook_parameters"] == {"01_ok": {"seed": 5}}
    assert len(run.name) == 10 and run.name[4] == "-"  # YYYY-MM-DD
    code, again = runner.run(params_file=str(pf), out=str(tmp_path / "r"),
                             notebooks_dir=str(nb_dir), notebooks="01", dated=True, quiet=True)
    assert code == 0 and again.name == f"{run.name}-2"  # dated runs never replace each other
    assert (run / "manifest.json").exists()


def test_index_shows_declared_headline_figures_first(tmp_path):
    p = _nb(tmp_path / "01_x.ipynb", "pass")
    nb = nbformat.read(p, as_version=4)
    nb.metadata["crm"]["headline"] = ["b.key", "missing.key"]
    nbformat.write(nb, p)
    assert list(runner.headline(p, {"a.key": 1, "b.key": 2})) == ["b.key", "a.key"]
