"""Readable text outputs: no reprs, no ``dtype:`` lines, no scientific notation, in every
executed notebook of the demo and Telco runs (stream and text/plain outputs)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
import pytest

from crm_lib import fmt

#: What must not appear in what a reader sees.
PATTERNS = {
    "repr": re.compile(r"np\.(float|int|bool)\d*\(|\b[A-Z][A-Za-z]+\((?:[a-z_]+=)"
                       r"|<[\w.]+ object at 0x"),
    "dtype line": re.compile(r"^(Name: .*, )?dtype: \w+$", re.MULTILINE),
    "p = 0": re.compile(r"\bp\s*=\s*0(\.0+)?(?![.\d])"),
}


def offenders(nb_path: Path) -> list[str]:
    """(cell number: what) for every unreadable text output of an executed notebook."""
    nb = nbformat.read(nb_path, as_version=4)
    out = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "solution" in cell.metadata.get("tags", []):
            continue
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if o.get("output_type") == "stream" and o.get("name") == "stdout":
                text = o.get("text", "")
            elif "text/html" in data:  # a table: what the reader sees is the HTML's text
                text = html.unescape(re.sub(r"<[^>]+>", " ", data["text/html"]))
            elif "text/markdown" in data:
                text = data["text/markdown"]
            elif "image/png" not in data:
                text = data.get("text/plain", "")
            else:
                continue
            for what, pat in PATTERNS.items():
                m = pat.search(text)
                if m:
                    out.append(f"cell {i}: {what}: {m.group(0)!r}")
            for s in fmt.scientific_notation(text):
                out.append(f"cell {i}: scientific notation: {s!r}")
    return out


def test_the_scanner_finds_each_kind_of_offence(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=(
        "{'a': np.float64(0.5)}\nNPSDifference(diff=3.0)\nalpha 1.671423e+04\n"
        "log-rank p = 0\nx    1\ndtype: int64\n"))]
    nb.cells = [cell]
    p = tmp_path / "x.ipynb"
    nbformat.write(nb, p)
    found = " ".join(offenders(p))
    for what in ("repr", "dtype line", "scientific notation", "p = 0"):
        assert what in found, (what, found)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=(
        "alpha 16,714; log-rank p < 0.001; AUC 0.617; customer P-76551e9218442610\n"))]
    nbformat.write(nb, p)
    assert offenders(p) == []


@pytest.fixture(scope="module")
def telco_run(crm_home):
    from conftest import _run_once
    r = _run_once(crm_home, "telco_run", source="telco")
    return {"run_dir": Path(r["run_dir"])}


@pytest.mark.parametrize("run", ["demo_run", "telco_run"])
def test_executed_notebooks_have_readable_text(run, request):
    run_dir = request.getfixturevalue(run)["run_dir"]
    bad = {p.stem: offenders(p) for p in sorted(run_dir.glob("[0-9][0-9]_*.ipynb"))}
    bad = {k: v for k, v in bad.items() if v}
    assert not bad, "\n".join(f"{k}: {'; '.join(v)}" for k, v in bad.items())
