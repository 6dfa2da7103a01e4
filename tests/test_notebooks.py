"""Every notebook runs in batch on the small demo company (once per test session)."""

from __future__ import annotations

import nbformat

from crm_lib import artefacts, runner


def test_batch_on_demo_runs_every_notebook_ok(demo_run):
    names = [p.stem for p in runner.list_notebooks()]
    statuses = {n["name"]: (n["status"], n["message"]) for n in demo_run["manifest"]["notebooks"]}
    assert list(statuses) == list(artefacts.notebook_graph())  # run order: the declared graph
    assert sorted(statuses) == names
    assert all(s == "ok" for s, _ in statuses.values()), statuses
    index = (demo_run["run_dir"] / "index.html").read_text()
    for n in names:
        assert f'href="{n}.html"' in index
        html = (demo_run["run_dir"] / f"{n}.html").read_text()
        assert "crm.start(" not in html  # no code in the HTML report
    assert demo_run["manifest"]["parameters"]["n_customers"] == 3000
    # the front page lists the company notebooks in order, the teaching notebook 00 apart
    company = index[index.index("Company results"):index.index("Teaching simulations")]
    rows = [n for n in names if not n.startswith("00_")]
    assert [company.index(f'href="{n}.html"') for n in rows] == sorted(
        company.index(f'href="{n}.html"') for n in rows)  # linked in order
    assert 'href="00_' in index[index.index("Teaching simulations"):]


def test_html_reports_hide_solution_cells(demo_run):
    checked = 0
    for p in runner.list_notebooks():
        html = (demo_run["run_dir"] / f"{p.stem}.html").read_text()
        for c in nbformat.read(p, as_version=4).cells:
            if "solution" in c.metadata.get("tags", []) and c.cell_type == "markdown":
                line = max(c.source.splitlines(), key=len).strip()
                assert line[:60] not in html, (p.name, line[:60])
                checked += 1
    assert checked >= 3


def test_cleaning_conserves_rows_on_demo(demo_run):
    m = demo_run["metrics"]
    tables = {k.split(".")[1] for k in m if k.startswith("cleaning.") and k.endswith(".rows_in")}
    assert {"customers", "transactions", "survey_responses", "interactions",
            "campaigns"} <= tables
    for t in tables:
        assert m[f"cleaning.{t}.rows_in"] == (m[f"cleaning.{t}.rows_clean"]
                                              + m[f"cleaning.{t}.rows_quarantined"]
                                              + m[f"cleaning.{t}.rows_duplicate_dropped"])


def test_executed_notebooks_ran_every_cell_in_order(demo_run):
    """What nbval (lax mode) checks, read from the notebooks the run fixture executed.

    nbval used to execute all seven notebooks a second time; the batch run has already
    executed them in a fresh ``crm`` kernel with papermill (nbclient), so the test reads
    that run: every code cell has run, in order, top to bottom, and no output is an error.
    ``pytest --nbval-lax --nbval-kernel-name crm notebooks/`` still works by hand.
    """
    for p in runner.list_notebooks():
        nb = nbformat.read(demo_run["run_dir"] / p.name, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        counts = [c.execution_count for c in code]
        assert None not in counts, (p.name, counts.index(None))
        assert counts == sorted(counts) and len(set(counts)) == len(counts), p.name
        errors = [(i, o.get("ename")) for i, c in enumerate(code) for o in c.outputs
                  if o.output_type == "error"]
        assert not errors, (p.name, errors)
        assert not any("papermill-error-cell-tag" in c.metadata.get("tags", [])
                       for c in nb.cells), p.name
