"""The published pages of a run: HTML of each notebook and the run index."""

from __future__ import annotations

import html
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
    """``index.html``: each notebook's status, duration and headline figures, in order.

    ``results`` are :class:`crm_lib.runner.steps.NotebookResult` (with their
    headline ``metrics``); ``manifest`` is the run's manifest. The one place
    the front page is rendered (the reports area may replace the body).
    """
    colour = {"ok": "#548235", "failed": "#c00000", "skipped": "#7f6000", "pending": "#777"}
    rows = []
    for r in results:
        link = (f'<a href="{html.escape(r.html)}">{html.escape(r.name)}</a>' if r.html
                else html.escape(r.name))
        figs = "<br>".join(f"<code>{html.escape(k)}</code> = {html.escape(_fmt(v))}"
                           for k, v in list(r.metrics.items())[:12])
        more = f"<br>... {len(r.metrics) - 12} more in metrics.json" if len(r.metrics) > 12 else ""
        msg = html.escape(r.message) + (f" (cell {r.cell})" if r.cell is not None else "")
        rows.append(
            f"<tr><td>{link}</td><td style='color:{colour.get(r.status, '#000')};"
            f"font-weight:bold'>{r.status}</td><td>{r.duration_s:.1f} s</td>"
            f"<td>{msg}</td><td>{figs}{more}</td></tr>")
    src = manifest["parameters"].get("source", "demo")
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>CRM report {html.escape(run_id)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}}
table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #ccc;padding:6px;
vertical-align:top;text-align:left}}th{{background:#1f4e79;color:#fff}}</style></head><body>
<h1>CRM analytics report</h1>
<p>Run <b>{html.escape(run_id)}</b> on source <b>{html.escape(str(src))}</b>, status
<b>{html.escape(manifest['status'])}</b>, {manifest['duration_s']:.1f} s.
Files: <a href="metrics.json">metrics.json</a>, <a href="manifest.json">manifest.json</a>.</p>
<table><tr><th>notebook</th><th>status</th><th>duration</th><th>message</th>
<th>headline figures</th></tr>
{''.join(rows)}
</table></body></html>"""
    (run_dir / "index.html").write_text(page, encoding="utf-8")


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
