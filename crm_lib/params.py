"""The parameter schema of the notebooks, and validation of run parameters.

Each notebook declares its parameters in its cell tagged ``parameters`` as
flat, annotated literals with a comment::

    seed: int = 42  # seed for every random step

:func:`schema` reads that cell with :mod:`ast` (name, annotation, default,
trailing comment); nothing is executed. The runner validates a parameters
file and command-line values against these schemas *before any notebook
starts* (:func:`resolve`): wrong types name the file, the key, the expected
type and an example; unknown keys and unknown notebook names are errors that
suggest the closest match; YAML dates (``as_of: 2024-12-31`` unquoted) are
accepted for date parameters. Precedence: notebook default, then the file's
top level, then the command line, then the file's ``notebooks:`` entry for
that notebook. Dict parameters (true mappings such as ``source_options``)
are merged key by key through these layers instead of replaced whole.
"""

from __future__ import annotations

import ast
import datetime as dt
import difflib
import io
import os
import tokenize
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from . import config

#: Parameters the runner sets itself; a parameters file may not set them.
RUNNER_SET = ("run_dir",)

#: Types a parameters cell may annotate, with an example value for messages.
EXAMPLES = {"int": "42", "float": "0.3", "str": '"text"', "bool": "true", "list": "[a, b]",
            "dict": "{key: value}"}


class ParameterError(ValueError):
    """A run parameter is wrong: names the file, the key, the rule and an example."""


@dataclass(frozen=True)
class Param:
    """One notebook parameter, as declared in its ``parameters`` cell."""

    name: str
    type: str  # int | float | str | bool | list | dict | "" (not annotated)
    default: object
    comment: str
    notebook: str

    @property
    def is_date(self) -> bool:
        """A ``str`` parameter holding an ISO date (default is one, or the comment says ISO)."""
        if self.type != "str":
            return False
        return "ISO" in self.comment or _is_iso_date(self.default)

    def example(self) -> str:
        if self.is_date:
            return "2024-12-31"
        if self.default not in (None, "", [], {}) and self.type in ("int", "float"):
            return repr(self.default)
        return EXAMPLES.get(self.type, "...")


def _is_iso_date(v: object) -> bool:
    if not isinstance(v, str) or not v:
        return False
    try:
        dt.date.fromisoformat(v)
    except ValueError:
        return False
    return True


def _comments(source: str) -> dict[int, str]:
    out = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            out[tok.start[0]] = tok.string.lstrip("#").strip()
    return out


def parse_cell(source: str, notebook: str = "") -> dict[str, Param]:
    """The parameters declared in the source of a ``parameters`` cell."""
    tree = ast.parse(source)
    comments = _comments(source)
    out: dict[str, Param] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name, ann, value = node.target.id, ast.unparse(node.annotation), node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            name, ann, value = node.targets[0].id, "", node.value
        else:
            continue
        try:
            default = ast.literal_eval(value) if value is not None else None
        except ValueError as exc:
            raise ParameterError(f"notebook {notebook}: parameter {name} must have a literal "
                                 f"default (line {node.lineno})") from exc
        base = ann.split("[", 1)[0].split("|", 1)[0].strip()
        out[name] = Param(name, base, default, comments.get(node.end_lineno or node.lineno, ""),
                          notebook)
    return out


def parameters_cell(nb_path: str | os.PathLike) -> str:
    """The source of the notebook's cell tagged ``parameters`` (empty when none)."""
    import nbformat
    nb = nbformat.read(Path(nb_path), as_version=4)
    for c in nb.cells:
        if "parameters" in c.metadata.get("tags", []):
            return c.source
    return ""


def schema(nb_path: str | os.PathLike) -> dict[str, Param]:
    """The parameters of notebook ``nb_path`` (name -> :class:`Param`), in cell order."""
    return parse_cell(parameters_cell(nb_path), Path(nb_path).stem)


def schemas(notebooks: Iterable[str | os.PathLike]) -> dict[str, dict[str, Param]]:
    """Notebook stem -> its parameter schema."""
    return {Path(p).stem: schema(p) for p in notebooks}


# ------------------------------------------------------------------ values
def _type_error(p: Param, value: object, origin: str, key: str) -> ParameterError:
    return ParameterError(
        f"{origin}: {key} must be {_type_name(p)}, got {value!r} ({type(value).__name__}); "
        f"for example {key.rsplit('.', 1)[-1]}: {p.example()}")


def _type_name(p: Param) -> str:
    if p.is_date:
        return "a date (YYYY-MM-DD)"
    return {"int": "a whole number (int)", "float": "a number (float)", "str": "text (str)",
            "bool": "true or false (bool)", "list": "a list", "dict": "a mapping"}.get(p.type,
                                                                                      p.type)


def coerce(p: Param, value: object, *, origin: str = "parameters", key: str = "") -> object:
    """``value`` checked (and converted where unambiguous) against the type of ``p``.

    Numbers given as text that read as numbers ("42") become numbers; YAML
    dates become ISO text for date parameters; everything else of the wrong
    type raises :class:`ParameterError`.
    """
    key = key or p.name
    t = p.type
    if t == "int":
        if isinstance(value, bool):
            raise _type_error(p, value, origin, key)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip().replace("_", ""))
            except ValueError:
                pass
        raise _type_error(p, value, origin, key)
    if t == "float":
        if isinstance(value, bool):
            raise _type_error(p, value, origin, key)
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
        raise _type_error(p, value, origin, key)
    if t == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise _type_error(p, value, origin, key)
    if t == "str":
        if isinstance(value, dt.date) and p.is_date:
            return value.isoformat()[:10] if not isinstance(value, dt.datetime) \
                else value.date().isoformat()
        if not isinstance(value, str):
            raise _type_error(p, value, origin, key)
        if p.is_date and value and not _is_iso_date(value):
            raise _type_error(p, value, origin, key)
        return value
    if t == "list":
        if isinstance(value, (list, tuple)):
            return list(value)
        raise _type_error(p, value, origin, key)
    if t == "dict":
        if isinstance(value, Mapping):
            return dict(value)
        raise _type_error(p, value, origin, key)
    return value


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def merge_dicts(*layers: Mapping | None) -> dict:
    """Key-by-key merge of mappings, later layers winning (nested mappings merged too)."""
    out: dict = {}
    for layer in layers:
        for k, v in (layer or {}).items():
            if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
                out[k] = merge_dicts(out[k], v)
            else:
                out[k] = v
    return out


# ------------------------------------------------------------------ files
def resolve_file(path: str | os.PathLike) -> tuple[Path, str]:
    """Where a ``--params`` path points, and how it was found.

    An absolute path is used as given; a relative one against the current
    folder, falling back to ``CRM_HOME`` (the project root) when it is not
    there. Raises :class:`ParameterError` naming both places when neither has it.
    """
    p = Path(path).expanduser()
    if p.is_absolute():
        if not p.exists():
            raise ParameterError(f"parameters file {p} does not exist")
        return p, "absolute path"
    here = Path.cwd() / p
    if here.exists():
        return here.resolve(), "current folder"
    home = config.paths().root / p
    if home.exists():
        return home.resolve(), f"project root {config.paths().root} (not found in {Path.cwd()})"
    raise ParameterError(f"parameters file {path} not found in the current folder "
                         f"{Path.cwd()} nor in the project root {config.paths().root}")


def load_file(path: str | os.PathLike) -> tuple[dict, Path, str]:
    """(mapping, resolved path, how it was found) of a YAML parameters file."""
    import yaml
    p, how = resolve_file(path)
    try:
        loaded = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ParameterError(f"cannot read parameters file {p}: {exc}") from exc
    if not isinstance(loaded, dict):
        raise ParameterError(f"parameters file {p} must be a mapping of name: value, "
                             f"got {type(loaded).__name__}")
    return loaded, p, how


@dataclass
class Resolved:
    """Validated parameters of a run."""

    common: dict  # run-level values (the file's top level + command line), validated
    per_notebook: dict[str, dict]  # notebook stem -> its own values from the file's notebooks:
    notebook_params: dict[str, dict]  # notebook stem -> every value it is given (papermill)
    file: Path | None = None
    file_found: str = ""


def match_notebook(key: str | int, stems: list[str]) -> str | None:
    """The notebook stem a ``notebooks:`` key names: exact stem, or a unique prefix ("04";
    YAML reads an unquoted ``04`` as the number 4)."""
    key = f"{key:02d}" if isinstance(key, int) and not isinstance(key, bool) else str(key)
    if key in stems:
        return key
    hits = [s for s in stems if s.startswith(str(key))]
    return hits[0] if len(hits) == 1 else None


def resolve(schemas_: Mapping[str, Mapping[str, Param]], *, file_values: Mapping | None = None,
            cli: Mapping | None = None, origin: str = "parameters file",
            run_level: Mapping | None = None, all_schemas: Mapping[str, Mapping] | None = None
            ) -> Resolved:
    """Validate a run's parameters against the notebooks' schemas.

    ``schemas_`` are the schemas of the notebooks that will run; ``all_schemas``
    (default ``schemas_``) those of every notebook, so that a key meant for a
    notebook not run this time is not an error. ``run_level`` are the run-wide
    defaults (``config.DEFAULTS``). Returns each notebook's full parameter set:
    the run-level values plus the keys it declares.
    """
    all_schemas = all_schemas or schemas_
    run_level = dict(config.DEFAULTS if run_level is None else run_level)
    file_values = dict(file_values or {})
    cli = dict(cli or {})
    per_raw = file_values.pop("notebooks", None) or {}
    if not isinstance(per_raw, Mapping):
        raise ParameterError(f"{origin}: notebooks must be a mapping of notebook name: "
                             "{parameter: value}")
    known: dict[str, Param] = {}
    for sch in all_schemas.values():
        for name, p in sch.items():
            known.setdefault(name, p)
    for name, v in run_level.items():
        known.setdefault(name, Param(name, type(v).__name__, v, "run-level", ""))
    known.setdefault("source_options", Param("source_options", "dict", {}, "", ""))

    def check_key(key: str, where: str, choices: Iterable[str]) -> None:
        if key in RUNNER_SET:
            raise ParameterError(f"{where}: {key} is set by the runner and cannot be given")
        if key not in choices:
            raise ParameterError(f"{where}: unknown parameter {key!r}{_suggest(key, choices)}")

    common: dict = {}
    for layer, where in ((file_values, origin), (cli, "command line")):
        for k, v in layer.items():
            check_key(k, where, known)
            value = coerce(known[k], v, origin=where, key=k)
            common[k] = merge_dicts(common.get(k), value) if isinstance(value, dict) else value
    stems = list(all_schemas)
    per: dict[str, dict] = {}
    for key, vals in per_raw.items():
        stem = match_notebook(key, stems)
        if stem is None:
            raise ParameterError(f"{origin}: notebooks: unknown notebook {key!r}"
                                 f"{_suggest(str(key), stems)}; notebooks: {', '.join(stems)}")
        if not isinstance(vals, Mapping):
            raise ParameterError(f"{origin}: notebooks.{key} must be a mapping of "
                                 "parameter: value")
        sch = all_schemas[stem]
        for k, v in vals.items():
            check_key(k, f"{origin}: notebooks.{key}", [*sch, *run_level])
            per.setdefault(stem, {})[k] = coerce(sch.get(k, known[k]), v, origin=origin,
                                                 key=f"notebooks.{key}.{k}")
    nb_params: dict[str, dict] = {}
    for stem, sch in schemas_.items():
        own = per.get(stem, {})
        values = {**run_level, "source_options": {}}
        values.update({k: v for k, v in common.items() if k in sch or k in values})
        values.update(own)
        for k, p in sch.items():  # dict parameters: merged key by key over the default
            if p.type == "dict" and isinstance(p.default, Mapping):
                values[k] = merge_dicts(p.default, common.get(k), own.get(k))
        nb_params[stem] = values
    return Resolved(common, per, nb_params)


#: Markers of the generated parameters table in a notebook's guide (docs/NN_*.md).
DOCS_BEGIN = ("<!-- parameters table: generated from the notebook's parameters cell by "
              "`python -m crm_lib.params --write-docs`; edit the cell, not the table -->")
DOCS_END = "<!-- end of the generated parameters table -->"


def common_names() -> tuple[str, ...]:
    """Parameters every notebook declares (run-level defaults, ``source_options``,
    ``run_dir``): the guides list them once, not in each table."""
    return (*config.DEFAULTS, "source_options", *RUNNER_SET)


def _cell(text: object) -> str:
    """Text for a Markdown table cell: ``|`` escaped (also inside code spans), one line."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(nb_path: str | os.PathLike, skip: Iterable[str] = ()) -> str:
    """The notebook's parameters (all but ``skip``) as a Markdown table: name, type,
    default, meaning (the trailing comment of its line in the parameters cell)."""
    skip = set(skip)
    rows = ["| parameter | type | default | meaning |", "|---|---|---|---|"]
    for p in schema(nb_path).values():
        if p.name not in skip:
            rows.append(f"| `{p.name}` | {p.type or '-'} | `{_cell(repr(p.default))}` | "
                        f"{_cell(p.comment)} |")
    return "\n".join(rows)


def docs_table(notebook: str | os.PathLike) -> str:
    """The generated block of a notebook's guide: markers around the table of its own
    parameters (the common ones left out). ``notebook``: a path or a stem like
    ``03_customer_value``."""
    return "\n".join([DOCS_BEGIN, markdown_table(_notebook_path(notebook), common_names()),
                      DOCS_END])


def _notebook_path(notebook: str | os.PathLike) -> Path:
    p = Path(notebook)
    if p.suffix == ".ipynb":
        return p
    return config.package_root() / "notebooks" / f"{p.name}.ipynb"


def doc_path(notebook: str | os.PathLike) -> Path:
    """The guide of a notebook: ``docs/<stem>.md`` beside ``notebooks/``."""
    return config.package_root() / "docs" / f"{Path(notebook).stem}.md"


def with_docs_table(text: str, block: str) -> str:
    """``text`` with the part between the table markers replaced by ``block``.

    Raises :class:`ValueError` when the markers are missing or out of order, so a
    guide without a place for its table is an error, not a silent skip.
    """
    i, j = text.find(DOCS_BEGIN), text.find(DOCS_END)
    if i < 0 or j < i:
        raise ValueError("no generated parameters table (markers "
                         f"{DOCS_BEGIN!r} ... {DOCS_END!r})")
    return text[:i] + block + text[j + len(DOCS_END):]


def _notebooks() -> list[Path]:
    return sorted((config.package_root() / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def stale_docs(notebooks: Iterable[str | os.PathLike] | None = None) -> list[str]:
    """Guides whose parameters table differs from their notebook's parameters cell
    (or that have no guide or no table markers): one message each."""
    out = []
    for nb in notebooks or _notebooks():
        doc = doc_path(nb)
        if not doc.exists():
            out.append(f"{doc.name}: missing (guide of {Path(nb).stem})")
            continue
        text = doc.read_text(encoding="utf-8")
        try:
            if with_docs_table(text, docs_table(nb)) != text:
                out.append(f"{doc.name}: parameters table is stale")
        except ValueError as exc:
            out.append(f"{doc.name}: {exc}")
    return out


def write_docs(notebooks: Iterable[str | os.PathLike] | None = None) -> list[Path]:
    """Rewrite the parameters table of each notebook's guide; returns the guides changed."""
    changed = []
    for nb in notebooks or _notebooks():
        doc = doc_path(nb)
        text = doc.read_text(encoding="utf-8")
        new = with_docs_table(text, docs_table(nb))
        if new != text:
            doc.write_text(new, encoding="utf-8")
            changed.append(doc)
    return changed


def main(argv: list[str] | None = None) -> int:
    """``python -m crm_lib.params --write-docs`` (rewrite the guides' parameters tables)
    or ``--check-docs`` (exit 1 naming the stale ones)."""
    import argparse
    ap = argparse.ArgumentParser(prog="python -m crm_lib.params",
                                 description="The notebooks' parameters tables in docs/.")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--write-docs", action="store_true",
                   help="rewrite the table between the markers of each docs/NN_*.md")
    g.add_argument("--check-docs", action="store_true",
                   help="exit 1 when a guide's table differs from its parameters cell")
    args = ap.parse_args(argv)
    if args.write_docs:
        for doc in write_docs():
            print(f"updated {doc}")
        return 0
    stale = stale_docs()
    for line in stale:
        print(line)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
