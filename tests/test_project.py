"""Project hygiene: dependency lists in sync, README current, notebooks clean."""

from __future__ import annotations

import json
import re
import tomllib

import yaml

from crm_lib import config, contract

ROOT = config.package_root()


def _name(req: str) -> str:
    return re.split(r"[<>=!~ ;\[]", req.strip(), maxsplit=1)[0].lower()


def test_environment_yml_lists_the_same_packages_as_pyproject():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = {_name(r): r.replace(" ", "") for r in py["project"]["dependencies"]}
    for extra in py["project"]["optional-dependencies"].values():
        wanted.update({_name(r): r.replace(" ", "") for r in extra})
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    have = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            have.update({_name(r): r.replace(" ", "") for r in dep["pip"] if not r.startswith("-")})
        elif not dep.startswith(("python", "pip")) or dep.startswith("pip:"):
            have[_name(dep)] = dep.replace(" ", "")
    assert set(have) == set(wanted), (set(have) ^ set(wanted))
    assert have == wanted  # same version bounds too


def test_readme_shows_the_current_contract_and_commands():
    readme = (ROOT / "README.md").read_text()
    assert contract.markdown_table().strip() in readme, \
        "README data contract is stale: paste crm_lib.contract.markdown_table()"
    assert "make report" in readme and "make test" in readme


def test_notebooks_are_committed_clean_and_follow_conventions():
    nbs = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert nbs
    for p in nbs:
        assert re.match(r"^\d\d_[a-z0-9_]+\.ipynb$", p.name), p.name
        nb = json.loads(p.read_text())
        assert nb["metadata"]["kernelspec"]["name"] == config.KERNEL_NAME, p.name
        assert "requires" in nb["metadata"].get("crm", {}), p.name
        cells = nb["cells"]
        assert cells[0]["cell_type"] == "markdown", p.name
        tagged = [i for i, c in enumerate(cells) if "parameters" in c["metadata"].get("tags", [])]
        assert tagged == [1], f"{p.name}: one parameters cell, right after the title"
        for line in "".join(cells[1]["source"]).splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                assert re.match(r"^\w+: \w+ = .+  # .+", line), f"{p.name}: {line!r}"
        for i, c in enumerate(cells):
            if c["cell_type"] == "code":
                assert not c.get("outputs") and not c.get("execution_count"), (p.name, i)
                n = len("".join(c["source"]).splitlines())
                if i == 1:  # the parameters cell: flat declarations, checked line by line above
                    continue
                assert n <= 15, f"{p.name} cell {i}: {n} lines; logic belongs in crm_lib"
