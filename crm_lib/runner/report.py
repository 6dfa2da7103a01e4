"""The published pages of a run: HTML of each notebook and the run index."""

from __future__ import annotations

from pathlib import Path


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


def write_index(run_dir: Path, run_id: str, results: list, manifest: dict) -> None:
    """``index.html``: the run's front page (rendered by :mod:`crm_lib.frontpage`).

    ``results`` are :class:`crm_lib.runner.steps.NotebookResult` (with their
    headline ``metrics``); ``manifest`` is the run's manifest.
    """
    from .. import frontpage
    frontpage.write(run_dir, run_id, results, manifest)
