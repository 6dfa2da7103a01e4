"""No leftovers of parallel development in the library (issue 14).

Dynamic imports with fallbacks, signature probes and ``getattr`` guards hid which
module version a notebook really ran. Only the package face may import lazily
(``crm_lib/__init__.py``: ``crm.survey`` loads on first use); reading package versions
(``importlib.metadata``) and locating a data file without importing its package
(``importlib.util.find_spec``) are not fallbacks and stay allowed.
"""

from __future__ import annotations

import re

from crm_lib import config

LIB = config.package_root() / "crm_lib"
FORBIDDEN = {
    "importlib.import_module": re.compile(r"\bimport_module\("),
    "inspect.signature probe": re.compile(r"\binspect\.signature\("),
    "getattr guard on a module constant": re.compile(r"getattr\(\w+,\s*[\"'][A-Z_]+[\"'],"),
    "'not installed' fallback": re.compile(r"if crm_lib\.\w+ is not installed"),
}


def test_no_dynamic_import_fallbacks_outside_the_package_face():
    found = []
    for path in sorted(LIB.rglob("*.py")):
        if path == LIB / "__init__.py":
            continue
        text = path.read_text(encoding="utf-8")
        for name, pattern in FORBIDDEN.items():
            for m in pattern.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                found.append(f"{path.relative_to(LIB)}:{line}: {name}")
    assert not found, "\n".join(found)


def test_roi_pipeline_exports_only_what_it_defines():
    from crm_lib.roi import pipeline
    missing = [n for n in pipeline.__all__ if not hasattr(pipeline, n)]
    assert not missing, missing
    assert not hasattr(pipeline, "baseline_oof_scores") and not hasattr(pipeline, "_module")


def _functions():
    import ast
    for path in sorted(LIB.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield path.relative_to(LIB), node


def test_interval_levels_are_called_level_never_ci():
    """docs/CONVENTIONS.md: ``level=0.95`` for the coverage of an interval, everywhere
    (a ``ci`` that is a table, e.g. cumulative incidence, is not a level)."""
    import ast
    bad = [f"{p}:{f.lineno} {f.name}" for p, f in _functions()
           for a in (*f.args.posonlyargs, *f.args.args, *f.args.kwonlyargs)
           if a.arg == "ci" and (a.annotation is None or ast.unparse(a.annotation) == "float")]
    assert not bad, "\n".join(bad)


#: Seeds that are not a user's choice: the demo's truth is a fixed Monte Carlo computation
#: (its stored ground truth was computed with these seeds; changing them changes the truth).
FIXED_SEEDS = {("sources/demo.py", "item_loadings"), ("sources/demo.py", "survey_paths")}


def test_every_seed_defaults_to_42():
    """docs/CONVENTIONS.md: every random step takes ``seed: int = 42``."""
    import ast
    bad = []
    for p, f in _functions():
        args = [*f.args.posonlyargs, *f.args.args]
        pos = dict(zip([a.arg for a in args[len(args) - len(f.args.defaults):]],
                       f.args.defaults, strict=True))
        kw = {a.arg: d for a, d in zip(f.args.kwonlyargs, f.args.kw_defaults, strict=True)}
        d = {**pos, **kw}.get("seed")
        if isinstance(d, ast.Constant) and d.value not in (42, None) \
                and (str(p), f.name) not in FIXED_SEEDS:
            bad.append(f"{p}:{f.lineno} {f.name}: seed={d.value!r}")
    assert not bad, "\n".join(bad)


def test_no_side_data_in_dataframe_attrs():
    """docs/CONVENTIONS.md: results are dataclasses (``.to_frame()``, ``.metrics()``) or
    explicit return values; ``DataFrame.attrs`` is dropped or kept unpredictably by pandas
    operations (copy, merge, concat), so what a reader needs never travels there."""
    pattern = re.compile(r"\.attrs\b")
    found = []
    for path in sorted(LIB.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for m in pattern.finditer(text):
            found.append(f"{path.relative_to(LIB)}:{text.count(chr(10), 0, m.start()) + 1}")
    assert not found, "DataFrame.attrs used at " + ", ".join(found)
