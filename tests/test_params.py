"""Parameter schema from the parameters cells, and validation before a run starts."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from crm_lib import params, runner

CELL = '''source: str = "demo"  # data source
seed: int = 42  # seed for every random step
as_of: str = "2026-06-30"  # analysis date (ISO)
margin: float = 0.3  # gross margin as a share of revenue
source_options: dict = {}  # source options
tiers: dict = {"value_cuts": [0.5, 0.8], "lapsed_weeks": 52}  # tier settings
paths: list = []  # structural paths
'''


@pytest.fixture()
def schemas():
    return {"03_value": params.parse_cell(CELL, "03_value"),
            "04_churn": params.parse_cell('seed: int = 42  # seed\nn_customers: int = 20000  # n\n'
                                          'as_of: str = "2026-06-30"  # date (ISO)', "04_churn")}


def test_schema_reads_name_type_default_and_comment():
    sch = params.parse_cell(CELL)
    assert list(sch) == ["source", "seed", "as_of", "margin", "source_options", "tiers", "paths"]
    assert (sch["seed"].type, sch["seed"].default, sch["seed"].comment) == \
        ("int", 42, "seed for every random step")
    assert sch["as_of"].is_date and not sch["source"].is_date
    assert sch["tiers"].default == {"value_cuts": [0.5, 0.8], "lapsed_weeks": 52}


def test_every_project_notebook_annotates_its_parameters():
    for nb in runner.list_notebooks():
        sch = params.schema(nb)
        assert {"source", "seed", "as_of", "run_dir"} <= set(sch), nb.stem
        untyped = [p.name for p in sch.values() if p.type not in params.EXAMPLES]
        assert not untyped, (nb.stem, untyped)
        assert all(p.comment for p in sch.values()), nb.stem


def test_papermill_sees_every_parameter_with_its_help():
    """``papermill --help-notebook`` (papermill's own parser) lists every parameter of the
    schema with its type, default and comment: its pattern drops a line whose comment holds
    an ``=``, such as ``>=``."""
    import papermill as pm

    for nb in runner.list_notebooks():
        seen = pm.inspect_notebook(str(nb))
        sch = params.schema(nb)
        assert set(seen) == set(sch), (nb.stem, sorted(set(sch) - set(seen)))
        for name, p in sch.items():
            assert seen[name]["help"] == p.comment, (nb.stem, name)


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("seed", "abc", r"params.yaml: seed must be a whole number \(int\), got 'abc'.*seed: 42"),
    ("n_customers", "2k", r"n_customers must be a whole number.*'2k'.*n_customers: 20000"),
    ("margin", True, r"margin must be a number"),
    ("as_of", "2024-31-12", r"as_of must be a date \(YYYY-MM-DD\).*as_of: 2024-12-31"),
    ("tiers", [1, 2], r"tiers must be a mapping"),
])
def test_wrong_types_name_file_key_type_and_example(schemas, key, value, expected):
    with pytest.raises(params.ParameterError, match=expected):
        params.resolve(schemas, file_values={key: value}, origin="params.yaml")


def test_yaml_dates_and_numeric_text_are_read_right(schemas):
    r = params.resolve(schemas, file_values={"as_of": dt.date(2024, 12, 31), "seed": "7",
                                             "notebooks": {3: {"margin": 1}}})  # YAML 03: -> 3
    assert r.notebook_params["04_churn"]["as_of"] == "2024-12-31"
    assert r.notebook_params["04_churn"]["seed"] == 7
    assert r.notebook_params["03_value"]["margin"] == 1.0
    assert "margin" not in r.notebook_params["04_churn"]  # only keys a notebook declares


def test_unknown_keys_and_notebooks_suggest_the_closest_match(schemas):
    with pytest.raises(params.ParameterError, match=r"unknown parameter 'sed' \(did you mean 'seed'"):
        params.resolve(schemas, file_values={"sed": 3})
    with pytest.raises(params.ParameterError,
                       match=r"unknown notebook '03_valeu' \(did you mean '03_value'"):
        params.resolve(schemas, file_values={"notebooks": {"03_valeu": {"margin": 0.2}}})
    with pytest.raises(params.ParameterError, match=r"notebooks.04.*unknown parameter 'margin'"):
        params.resolve(schemas, file_values={"notebooks": {"04": {"margin": 0.2}}})
    with pytest.raises(params.ParameterError, match="run_dir is set by the runner"):
        params.resolve(schemas, file_values={"run_dir": "x"})


def test_dict_parameters_merge_key_by_key(schemas):
    r = params.resolve(schemas, file_values={
        "source_options": {"encoding": "latin-1", "column_map": {"a": "customer_id"}},
        "tiers": {"lapsed_weeks": 26},
        "notebooks": {"03_value": {"source_options": {"column_map": {"b": "signup_date"}}}}},
        cli={"source_options": {"decimal": ","}})
    nb = r.notebook_params["03_value"]
    assert nb["tiers"] == {"value_cuts": [0.5, 0.8], "lapsed_weeks": 26}
    assert nb["source_options"] == {"encoding": "latin-1", "decimal": ",",
                                    "column_map": {"a": "customer_id", "b": "signup_date"}}
    assert r.notebook_params["04_churn"]["source_options"]["column_map"] == {"a": "customer_id"}


def test_relative_params_path_resolves_against_the_current_folder(tmp_path, monkeypatch,
                                                                    crm_home):
    (tmp_path / "p.yaml").write_text("seed: 1\n")
    (crm_home / "p.yaml").write_text("seed: 2\n")
    (crm_home / "only_home.yaml").write_text("seed: 3\n")
    monkeypatch.chdir(tmp_path)
    values, path, how = params.load_file("p.yaml")
    assert values == {"seed": 1} and path == tmp_path / "p.yaml" and how == "current folder"
    values, path, how = params.load_file("only_home.yaml")
    assert values == {"seed": 3} and "project root" in how
    with pytest.raises(params.ParameterError, match="not found in the current folder"):
        params.load_file("nowhere.yaml")
    assert os.getcwd() == str(tmp_path)


def test_shipped_parameter_files_validate():
    from crm_lib import config
    root = config.package_root()
    sch = params.schemas(runner.list_notebooks())
    files = [*root.glob("params/*.yaml"), *root.glob("scheduling/*.yaml")]
    assert files
    for f in files:
        values, _, _ = params.load_file(f)
        params.resolve(sch, file_values=values, origin=str(f))  # raises on a stale key


@pytest.mark.parametrize("values,where", [
    ({"margin": 0.3}, "p.yaml"),
    ({"notebooks": {"03": {"margin": 0.3}}}, "p.yaml: notebooks.03"),
])
def test_the_old_margin_name_is_refused_with_the_new_one_suggested(values, where):
    """03's share of revenue is ``margin_rate`` (docs/CONVENTIONS.md); a params file still
    saying ``margin`` stops before any notebook runs and names the new key."""
    sch = params.schemas(runner.list_notebooks())
    assert "margin_rate" in sch["03_customer_value"] and "margin" not in sch["03_customer_value"]
    with pytest.raises(params.ParameterError) as e:
        params.resolve(sch, file_values=values, origin="p.yaml")
    assert str(e.value) == f"{where}: unknown parameter 'margin' (did you mean 'margin_rate'?)"


def test_every_notebook_guide_shows_its_current_parameters_table():
    stale = params.stale_docs()
    assert not stale, ("run `python -m crm_lib.params --write-docs`:\n" + "\n".join(stale))


def test_docs_table_is_generated_between_its_markers_only(tmp_path):
    import nbformat
    nb = nbformat.v4.new_notebook()
    cell = CELL + 'scheme: str = "path"  # inner scheme: path | centroid\n'
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), nbformat.v4.new_code_cell(cell)]
    nb.cells[1].metadata["tags"] = ["parameters"]
    path = tmp_path / "03_value.ipynb"
    nbformat.write(nb, path)
    block = params.docs_table(path)
    assert block.startswith(params.DOCS_BEGIN) and block.endswith(params.DOCS_END)
    rows = [r for r in block.splitlines() if r.startswith("| `")]
    assert [r.split("`")[1] for r in rows] == ["margin", "tiers", "paths", "scheme"]  # no common
    assert rows[0] == "| `margin` | float | `0.3` | gross margin as a share of revenue |"
    assert rows[-1].endswith("| inner scheme: path \\| centroid |")  # | escaped in a cell
    text = f"intro\n\n{params.DOCS_BEGIN}\n| old |\n{params.DOCS_END}\n\nrest\n"
    new = params.with_docs_table(text, block)
    assert new == f"intro\n\n{block}\n\nrest\n"
    assert params.with_docs_table(new, block) == new  # idempotent: an up-to-date doc is unchanged
    with pytest.raises(ValueError, match="no generated parameters table"):
        params.with_docs_table("a guide without markers", block)
