"""The run's front page (``index.html``): status, the one-page summary, the notebooks.

It opens with the status line and the executive summary of the run (the
interpretive sentences, the small figures saved by notebook 06 and the key
figures with units, time frames and intervals), then lists the company
notebooks (status, duration, skip or failure reason, up to five labelled and
formatted headline figures each), then the teaching simulations of notebook 00
apart from them; the raw dotted keys appear only in a collapsed ``<details>``
block. Labels and formats come from the metric registry, numbers from
:mod:`crm_lib.fmt`, the layout from ``frontpage.html`` (a
:class:`string.Template`). :func:`crm_lib.runner.write_index` calls
:func:`write`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from string import Template

from . import fmt, registry, summary
from . import metrics as metrics_mod

TEMPLATE = Path(__file__).with_name("frontpage.html")
TEACHING = ("00_",)
HEADLINES = 5


def _e(x: object) -> str:
    return html.escape(str(x))


def headline_keys(recorded: Mapping[str, object], n: int = HEADLINES) -> list[str]:
    """Up to ``n`` keys to show for a notebook: its declared headline order, intervals folded
    into their estimate, text values and undeclared keys left out."""
    reg = registry.load()
    inner = {k for key in recorded if (d := reg.lookup(key)) and d.interval for k in d.interval}
    out = []
    for k, v in recorded.items():
        d = reg.lookup(k)
        if d is None or k in inner or d.format == "text" or v is None:
            continue
        out.append(k)
        if len(out) == n:
            break
    return out


def _figures_cell(recorded: Mapping[str, object], merged: Mapping[str, object]) -> str:
    rows = []
    for k in headline_keys(recorded):
        d = registry.get(k)
        frame = fmt.frame_text(d.frame, merged)
        rows.append(f"{_e(d.label)}: <b>{_e(fmt.metric(k, recorded[k], merged))}</b>"
                    + (f' <span class="frame">({_e(frame)})</span>' if frame else ""))
    return "<br>".join(rows)


def _row(r, merged: Mapping[str, object]) -> str:
    name = _e(r.name)
    link = f'<a href="{_e(r.html)}">{name}</a>' if getattr(r, "html", None) else name
    msg = ""
    if r.message:
        cell = f" (cell {r.cell})" if getattr(r, "cell", None) is not None else ""
        msg = f'<br><span class="note">{_e(r.message)}{cell}</span>'
    figs = _figures_cell(r.metrics or {}, merged) if r.status == "ok" else ""
    return (f"<tr><td>{link}</td><td class='st-{_e(r.status)}'>{_e(r.status)}{msg}</td>"
            f"<td>{fmt.number(r.duration_s, 1)} s</td><td>{figs}</td></tr>")


def _sections_html(merged: Mapping[str, object], by_nb: Mapping) -> str:
    cards = []
    for title, rows in summary.sections(merged, by_nb).items():
        if not rows:
            continue
        body = "".join(
            f"<tr><td>{_e(r.label)}" + (f'<br><span class="frame">{_e(r.frame)}</span>'
                                         if r.frame else "")
            + f"</td><td class='v'>{_e(r.text)}</td></tr>" for r in rows)
        cards.append(f'<div class="card"><h3>{_e(title)}</h3><table>{body}</table></div>')
    return "\n".join(cards)


def render(run_dir: str | Path, run_id: str, results: Iterable, manifest: Mapping) -> str:
    """The front page HTML of the run in ``run_dir``."""
    run_dir = Path(run_dir)
    results = list(results)
    merged = metrics_mod.read(run_dir)
    by_nb = metrics_mod.read_by_notebook(run_dir)
    status = str(manifest.get("status", "unknown"))
    n_ok = sum(r.status == "ok" for r in results)
    problems = [f"{r.name} {r.status}" for r in results if r.status in ("failed", "skipped")]
    src = manifest.get("parameters", {}).get("source", "demo")
    line = (f"Run <b>{_e(run_id)}</b> on source <b>{_e(src)}</b>: <b>{_e(status)}</b>, "
            f"{n_ok} of {len(results)} notebooks ok"
            + (f" ({_e('; '.join(problems))})" if problems else "")
            + f", {fmt.number(manifest.get('duration_s', 0), 1)} s.")
    figs = summary.figure_files(run_dir)
    fig_html = "\n".join(
        f'<figure><img src="{_e(p)}" alt="{_e(summary.FIGURES[n])}">'
        f"<figcaption>{_e(summary.FIGURES[n])}</figcaption></figure>" for n, p in figs.items())
    msgs = summary.messages(merged) + summary.quality_warnings(merged)
    s06 = next((r for r in results if r.name.startswith("06_")), None)
    note = ('The full summary, with the drivers and every exact value: '
            f'<a href="{_e(s06.html)}">{_e(s06.name)}</a>.' if s06 is not None and s06.html
            else "The executive summary notebook (06) did not run: figures above come from "
                 "metrics.json only.")
    ordered = sorted(results, key=lambda r: r.name)  # reading order, not execution order
    teaching = [r for r in ordered if r.name.startswith(TEACHING)]
    company = [r for r in ordered if not r.name.startswith(TEACHING)]
    reg = registry.load()
    raw = "\n".join(
        f"<tr><td><code>{_e(k)}</code></td><td>{_e(json.dumps(v))}</td>"
        f"<td>{_e(reg.lookup(k).notebook if reg.lookup(k) else summary.producer(k, by_nb))}"
        "</td></tr>" for k, v in sorted(merged.items()))
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        run_id=_e(run_id), status_class="ok" if status == "ok" else "failed",
        status_line=line,
        messages="\n".join(f"<li>{_e(m)}</li>" for m in msgs) or
        "<li>No summary figures were recorded in this run.</li>",
        figures=fig_html, sections=_sections_html(merged, by_nb), summary_note=note,
        company_rows="\n".join(_row(r, merged) for r in company),
        teaching_rows="\n".join(_row(r, merged) for r in teaching) or
        "<tr><td colspan=4>not run</td></tr>",
        raw=raw)


def write(run_dir: str | Path, run_id: str, results: Iterable, manifest: Mapping) -> Path:
    """Write ``index.html`` into ``run_dir``; returns its path."""
    p = Path(run_dir) / "index.html"
    p.write_text(render(run_dir, run_id, results, manifest), encoding="utf-8")
    return p
