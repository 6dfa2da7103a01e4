"""The executive summary (notebook 06): one page assembled from a run's metrics.

This module only *assembles* and *renders*: the analyses live in their domain
modules (the churn trend in :mod:`crm_lib.churn.trend`, the value at risk on
one value basis in :mod:`crm_lib.value.at_risk`, the campaign profit curve in
:mod:`crm_lib.roi.pipeline`, the interpretive sentences in
:mod:`crm_lib.sentences`). Labels, formats and time frames come from the
metric registry (:mod:`crm_lib.registry`), numbers are written by
:mod:`crm_lib.fmt`, and the page is a :class:`string.Template`
(``summary_template.md``).

Every number on the page is a metric of the run: the values notebook 06 derives
are first recorded under ``summary.*`` and only then quoted, and the exact
stored values are listed in a collapsed block at the end of the page.

The recommended budget and depth are notebook 05's (``roi.recommended_*``)
when 05 records them; otherwise the page shows the profit-curve optimum of
05's campaign economics (:func:`crm_lib.roi.pipeline.campaign_economics`) on
this run's scores and values, with the budget parameter as a constraint.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

import pandas as pd

from . import fmt, registry, sentences

TEMPLATE = Path(__file__).with_name("summary_template.md")
FIG_DIR = "summary_figures"
#: The page's small figures (file stem -> caption).
FIGURES = {"churn_trend": "Monthly churn with its trend",
           "concentration": "Value concentration (Lorenz curve)",
           "profit_curve": "Targeting profit curve with the chosen depth",
           "nps": "Net Promoter Score with its 95% interval"}

#: The page's sections: title -> metric keys (a tuple: the first key recorded is shown).
SECTIONS: dict[str, list[str | tuple[str, ...]]] = {
    "Churn": ["churn.rate", "churn.horizon_rate", "summary.churn_rate_recent",
              "summary.churn_trend_pp_per_month", "churn.preventable_share", "churn.cv_auc"],
    "Value at risk": ["summary.at_risk_value", "summary.total_value",
                      "summary.at_risk_value_share", "summary.at_risk_customers",
                      "clv.total", "value.top20_share"],
    "Customer voice": ["survey.nps", "survey.satisfied_defectors_share"],
    "Retention budget": [("roi.recommended_budget", "summary.optimum_spend"),
                         ("roi.recommended_n", "summary.optimum_n"),
                         ("roi.recommended_depth", "summary.optimum_depth"),
                         ("roi.marginal_return", "summary.marginal_return"),
                         "roi.budget", ("roi.budget_binds", "summary.budget_binds"),
                         "roi.expected_profit", "roi.expected_roi", "roi.prob_loss", "roi.ate"],
}

#: Which notebook records which prefix (when metrics/<notebook>.json is absent).
PRODUCERS: dict[str, str] = {
    "concepts.": "00_crm_concepts", "cleaning.": "01_data_cleaning",
    "survey.": "02_survey_satisfaction_loyalty", "value.": "03_customer_value",
    "clv.": "03_customer_value", "churn.": "04_churn_modeling", "roi.": "05_retention_roi",
    "summary.": "06_executive_summary",
}

WARN = {"quarantine_share": 0.01, "weak_auc": 0.70, "prob_loss": 0.20}


def producer(key: str, by_notebook: Mapping[str, Mapping[str, object]] | None = None) -> str:
    """The notebook that recorded ``key`` (metrics/<nb>.json, else the registry, else prefix)."""
    for nb, values in (by_notebook or {}).items():
        if key in values:
            return nb
    m = registry.lookup(key)
    if m is not None:
        return m.notebook
    return next((nb for p, nb in PRODUCERS.items() if key.startswith(p)), "unknown")


def _has(metrics: Mapping[str, object], key: str) -> bool:
    v = metrics.get(key)
    return v is not None and not (isinstance(v, float) and not math.isfinite(v))


def _pick(metrics: Mapping[str, object], key: str | tuple[str, ...]) -> str | None:
    keys = (key,) if isinstance(key, str) else key
    return next((k for k in keys if _has(metrics, k)), None)


# ----------------------------------------------------------------------------- deriving

@dataclass
class Derived:
    """What notebook 06 computes before quoting: values to record and figure data."""

    values: dict[str, object]
    monthly: pd.DataFrame | None = None
    curve: pd.DataFrame | None = None
    lorenz: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    curve_source: str = ""  # "05": notebook 05's optimiser curve; "06": campaign economics


def budget_choice(curve: pd.DataFrame, budget: float, step_share: float = 0.01
                  ) -> dict[str, object]:
    """Optimum of a profit curve, whether ``budget`` binds, and the marginal return there.

    The chosen point is the profit-maximising depth whose spend fits the budget;
    the marginal return is the extra expected profit per extra unit of spend over
    the next ``step_share`` of customers (about 0 at an unconstrained optimum,
    above 0 where the budget cuts the campaign short).
    """
    from .roi import economics as eco

    best = eco.optimal_depth(curve)
    fits = curve[curve["spend"] <= budget + 1e-9]
    chosen = fits.loc[fits["expected_profit"].idxmax()] if len(fits) else curve.iloc[0]
    i = int(chosen["n"])
    j = min(len(curve) - 1, i + max(1, int(round(step_share * (len(curve) - 1)))))
    d_spend = float(curve["spend"].iloc[j] - curve["spend"].iloc[i])
    marginal = (float(curve["expected_profit"].iloc[j] - curve["expected_profit"].iloc[i])
                / d_spend) if d_spend > 0 else float("nan")
    return {"summary.optimum_spend": best.spend, "summary.optimum_n": best.n,
            "summary.optimum_depth": best.fraction, "summary.optimum_profit": best.profit,
            "summary.budget_binds": bool(best.spend > budget),
            "summary.chosen_n": i, "summary.marginal_return": marginal}


def optimiser_curve(run_dir: str | Path) -> pd.DataFrame | None:
    """Notebook 05's optimiser curve (cumulative spend and expected profit by customers
    contacted, best first) when 05 wrote it to the run folder, else None."""
    from . import artefacts
    return artefacts.read(run_dir, "budget_curve")


def derive(session, *, trend_months: int = 12, history_months: int = 24,
           top_share: float = 0.10, margin_rate: float = 0.35, value_horizon_months: int = 24,
           annual_discount_rate: float = 0.10, offer_cost: float = 20.0,
           accept_rate: float = 0.3, contact_cost: float = 1.0) -> Derived:
    """Derived figures of a run: churn trend, value at risk on one basis, budget choice.

    Reads the run's metrics, the churn scores of notebook 04 and the CLV of
    notebook 03 (through :mod:`crm_lib.artefacts`) and the customers table. The
    value basis (``margin_rate``, ``value_horizon_months``, ``annual_discount_rate``)
    and the offer economics are notebook 05's parameters. Anything unavailable
    becomes a note, never an error.
    """
    from . import artefacts
    from .churn import trend as ctrend
    from .data import MissingTableError
    from .value import at_risk
    from .value.concentration import lorenz_curve

    out = Derived({})
    metrics = session.metrics()
    customers = None
    if session.has("customers"):
        try:
            customers = session.tables("customers")["customers"]
        except MissingTableError as exc:
            out.notes.append(f"No customers table: {exc}")
    if trend_months and customers is not None:
        try:
            out.monthly = ctrend.monthly_churn(customers, session.as_of,
                                               max(history_months, trend_months))
            t = ctrend.churn_trend(out.monthly, trend_months)
            if t is not None:
                out.values.update({
                    "summary.churn_rate_recent": t.recent_rate,
                    "summary.churn_trend_pp_per_month": t.slope,
                    "summary.churn_trend_ci_low": t.ci_low,
                    "summary.churn_trend_ci_high": t.ci_high})
        except ValueError as exc:
            out.notes.append(f"Churn trend not computed: {exc}")
    clv = artefacts.read(session.run_dir, "clv")
    if clv is not None:
        net = (clv["revenue"] - clv["refunds"]).clip(lower=0) if {"revenue", "refunds"} <= set(
            clv.columns) else clv["clv"].clip(lower=0)
        out.lorenz = lorenz_curve(net)
    scores = artefacts.read(session.run_dir, "churn_scores")
    if scores is None or customers is None:
        out.notes.append("Value at risk not computed: notebook 04 wrote no churn scores in this "
                         "run, or the source has no customers table.")
        return out
    basis = at_risk.ValueBasis(margin_rate, value_horizon_months, annual_discount_rate)
    values = at_risk.customer_values(customers, clv, session.as_of, basis)
    risk = at_risk.value_at_risk(scores, values, top_share=top_share)
    out.values.update({
        "summary.at_risk_value": risk.value_at_risk, "summary.total_value": risk.total_value,
        "summary.at_risk_value_share": risk.share_of_value,
        "summary.at_risk_customers": risk.n_at_risk,
        "summary.at_risk_share": risk.n_at_risk / max(risk.n_customers, 1),
        "summary.at_risk_loss_share": (risk.at_risk_value / risk.value_at_risk
                                       if risk.value_at_risk > 0 else None),
        "summary.at_risk_rule": risk.rule,
        "summary.at_risk_basis": basis.describe(clv is not None)})
    out.values.update(reason_drivers(risk.table.merge(scores[["customer_id", "top_reasons"]],
                                                      on="customer_id", how="left")))
    curve = optimiser_curve(session.run_dir)
    if curve is not None:  # notebook 05's optimiser: its curve and its recorded choice
        out.curve = curve.rename(columns={"profit": "expected_profit"})
        out.curve_source = "05"
        return out
    budget = metrics.get("roi.budget")
    if isinstance(budget, (int, float)) and not isinstance(budget, bool):
        from .roi import economics as eco
        from .roi import pipeline
        prm = eco.CampaignParams(offer_cost=offer_cost, contact_cost=contact_cost,
                                 accept_rate=accept_rate, accept_rate_nonchurner=accept_rate)
        econ = pipeline.campaign_economics(scores, values, prm)
        out.curve, out.curve_source = econ.curve, "06"
        out.values.update(budget_choice(econ.curve, float(budget)))
    else:
        out.notes.append("Budget choice not computed: notebook 05 recorded no budget.")
    return out


def reason_drivers(table: pd.DataFrame, top: int = 3) -> dict[str, float]:
    """Most frequent top reasons among the at-risk customers (``summary.driver.<reason>``).

    ``table`` has ``at_risk`` and ``top_reasons`` (``;``-separated, as notebook
    04 writes them); each reason counts once per customer and only its
    feature name is kept ("complaints_unresolved above typical" -> complaints_unresolved).
    """
    if "top_reasons" not in table or not table["at_risk"].any():
        return {}
    r = table.loc[table["at_risk"], "top_reasons"].dropna().astype(str)
    if r.empty:
        return {}
    names = r.map(lambda s: {x.strip().split(" ")[0] for x in re.split(r"[;|]", s) if x.strip()})
    counts = names.explode().dropna().value_counts()
    out = {}
    for name, n in counts.head(top).items():
        key = re.sub(r"[^0-9A-Za-z_]+", "_", str(name)).strip("_")
        out[f"summary.driver.{key}"] = float(n / len(r))
    return out


# ----------------------------------------------------------------------------- figures

def save_figures(derived: Derived, metrics: Mapping[str, object], run_dir: str | Path
                 ) -> dict[str, Path]:
    """Draw the page's small figures and save them as PNGs in ``<run_dir>/summary_figures``."""
    import matplotlib.pyplot as plt

    from .plots import summary as sp

    folder = Path(run_dir) / FIG_DIR
    folder.mkdir(parents=True, exist_ok=True)
    figs = {}
    if derived.monthly is not None:
        figs["churn_trend"] = sp.churn_trend(derived.monthly, small=True)
    if derived.lorenz is not None:
        figs["concentration"] = sp.concentration(derived.lorenz)
    if derived.curve is not None and int((derived.curve["n"] > 0).sum()) > 0:
        # a curve of only its origin (nobody worth contacting) is an empty axis: the
        # summary's sentence says why instead (sentences.no_contact)
        own = derived.curve_source == "05"
        key = "roi.recommended_n" if own else "summary.optimum_n"
        n = metrics.get(key, derived.values.get(key))
        depth05 = metrics.get("roi.recommended_depth") if not own else None
        figs["profit_curve"] = sp.profit_curve(
            derived.curve, optimum_n=int(n) if isinstance(n, (int, float)) else None,
            budget=metrics.get("roi.budget"),
            title="Targeting profit curve" if own else "Profit curve of a churn-risk ranking",
            optimum_label="chosen depth" if own else "optimum of this ranking",
            recommended_depth=depth05 if isinstance(depth05, (int, float)) else None)
    if all(_has(metrics, k) for k in ("survey.nps", "survey.nps_ci_low", "survey.nps_ci_high")):
        figs["nps"] = sp.nps_interval(float(metrics["survey.nps"]),
                                      float(metrics["survey.nps_ci_low"]),
                                      float(metrics["survey.nps_ci_high"]))
    paths = {}
    for name, fig in figs.items():
        p = folder / f"{name}.png"
        fig.savefig(p, dpi=80)
        plt.close(fig)
        paths[name] = p
    return paths


def figure_files(run_dir: str | Path) -> dict[str, str]:
    """The page's saved figures (stem -> path relative to the run folder), in page order."""
    folder = Path(run_dir) / FIG_DIR
    return {n: f"{FIG_DIR}/{n}.png" for n in FIGURES if (folder / f"{n}.png").exists()}


# ----------------------------------------------------------------------------- the page

@dataclass(frozen=True)
class KeyFigure:
    """One figure of the page: key, label, formatted value (with interval), frame, notebook."""

    key: str
    label: str
    text: str
    frame: str
    notebook: str


def key_figure(key: str, metrics: Mapping[str, object],
               by_notebook: Mapping | None = None) -> KeyFigure:
    d = registry.get(key)
    return KeyFigure(key, d.label, fmt.metric(key, metrics[key], metrics),
                     fmt.frame_text(d.frame, metrics), producer(key, by_notebook))


def sections(metrics: Mapping[str, object], by_notebook: Mapping | None = None
             ) -> dict[str, list[KeyFigure]]:
    """Section title -> the key figures recorded in this run."""
    out = {}
    for title, keys in SECTIONS.items():
        out[title] = [key_figure(k, metrics, by_notebook)
                      for k in (_pick(metrics, key) for key in keys) if k]
    return out


def missing(metrics: Mapping[str, object]) -> dict[str, list[str]]:
    """Notebook -> labels of this page's figures that the run lacks."""
    out: dict[str, list[str]] = {}
    for keys in SECTIONS.values():
        for key in keys:
            if _pick(metrics, key) is None:
                k = key if isinstance(key, str) else key[0]
                out.setdefault(producer(k), []).append(registry.label(k))
    return out


def messages(metrics: Mapping[str, object]) -> list[str]:
    """The page's interpretive sentences, each generated from the figures it quotes."""
    m, out = metrics, []
    g = lambda k: m.get(k) if _has(m, k) else None  # noqa: E731
    if g("summary.churn_trend_pp_per_month") is not None:
        out.append(sentences.churn_trend(g("summary.churn_trend_pp_per_month"),
                                         g("summary.churn_trend_ci_low"),
                                         g("summary.churn_trend_ci_high")))
    if g("summary.at_risk_value") is not None:
        out.append(sentences.value_at_risk(g("summary.at_risk_value"), g("summary.total_value"),
                                           g("summary.at_risk_customers") or 0,
                                           (g("summary.at_risk_loss_share") or 0)
                                           * g("summary.at_risk_value"),
                                           m.get("summary.at_risk_basis", "")))
    first = lambda *ks: next((v for v in map(g, ks) if v is not None), None)  # noqa: E731
    spend = first("roi.recommended_budget", "summary.optimum_spend")
    n_rec = first("roi.recommended_n", "summary.optimum_n")
    if spend is not None and g("roi.budget") is not None and (spend <= 0 or n_rec == 0):
        out.append(sentences.no_contact(g("roi.budget"), g("roi.ate"), g("roi.ate_ci_low"),
                                        g("roi.ate_ci_high")))
    elif spend is not None and g("roi.budget") is not None:
        out.append(sentences.budget(
            spend, g("roi.budget"), first("roi.marginal_return", "summary.marginal_return"),
            n_rec, first("roi.recommended_depth", "summary.optimum_depth")))
    if g("survey.nps") is not None:
        out.append(sentences.nps(g("survey.nps"), g("survey.nps_ci_low"), g("survey.nps_ci_high")))
    if g("roi.expected_roi") is not None:
        out.append(sentences.roi(g("roi.expected_roi"), g("roi.prob_loss")))
    if g("churn.cv_auc") is not None:
        out.append(sentences.model_strength(g("churn.cv_auc"), WARN["weak_auc"]))
    return out


def quality_warnings(metrics: Mapping[str, object]) -> list[str]:
    """Data-quality warnings of notebook 01's counts (tables with > 1% of rows set aside)."""
    out = []
    tables = sorted({m.group(1) for k in metrics
                     if (m := re.fullmatch(r"cleaning\.(\w+)\.rows_in", k))})
    for t in tables:
        w = sentences.data_quality(t, metrics.get(f"cleaning.{t}.rows_in"),
                                   metrics.get(f"cleaning.{t}.rows_quarantined", 0),
                                   metrics.get(f"cleaning.{t}.rows_duplicate_dropped", 0),
                                   WARN["quarantine_share"])
        if w:
            out.append(w)
    p = metrics.get("roi.prob_loss")
    if _has(metrics, "roi.prob_loss") and float(p) > WARN["prob_loss"] and not _has(
            metrics, "roi.expected_roi"):  # else the ROI sentence states it
        out.append(f"The retention campaign loses money with probability {fmt.percent(p)}: "
                   "consider a smaller pilot first.")
    return out


#: Driver families: prefix, what it measures, how to rank ("abs" or "log" for ratios).
DRIVER_FAMILIES = [("survey.driver.", "share of explained satisfaction variance", "abs"),
                   ("churn.importance.", "churn model: permutation importance", "abs"),
                   ("churn.cox.hr.", "churn hazard ratio", "log"),
                   ("summary.driver.", "share of at-risk customers with this top reason", "abs")]


def drivers(metrics: Mapping[str, object], top: int = 5) -> list[KeyFigure]:
    """The strongest drivers of each family, plus the structural paths of the estimator
    notebook 02 recommends (PLSc when recorded, else plain PLS)."""
    est = "plsc" if any(k.startswith("survey.plsc.path.") for k in metrics) else "pls"
    fams = [(f"survey.{est}.path.", "structural path", "abs"), *DRIVER_FAMILIES]
    out = []
    for prefix, _, rank in fams:
        fam = [(k, float(v)) for k, v in metrics.items() if k.startswith(prefix)
               and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]
        if prefix.endswith(".path."):
            fam = [(k, v) for k, v in fam if re.search(r"->(satisfaction|loyalty)$", k)]
        if rank == "log":
            fam = [(k, v) for k, v in fam if v > 0]
        key = (lambda kv: abs(math.log(kv[1]))) if rank == "log" else (lambda kv: abs(kv[1]))
        out += [key_figure(k, metrics) for k, _ in sorted(fam, key=key, reverse=True)[:top]]
    return out


def _table(rows: list[KeyFigure], link: bool = True) -> str:
    if not rows:
        return ""
    lines = ["| figure | value | time frame | from |", "|---|---|---|---|"]
    for r in rows:
        src = f"[{r.notebook[:2]}]({r.notebook}.html)" if link else r.notebook[:2]
        lines.append(f"| {r.label} | **{r.text}** | {r.frame} | {src} |")
    return "\n".join(lines)


def render_markdown(metrics: Mapping[str, object], by_notebook: Mapping | None = None,
                    figures: Mapping[str, str] | None = None, top_drivers: int = 5) -> str:
    """The whole page as Markdown, from ``summary_template.md``."""
    secs = sections(metrics, by_notebook)
    body = []
    for title, rows in secs.items():
        body += [f"### {title}", "", _table(rows) or "*Not recorded in this run.*", ""]
        if title == "Value at risk" and _has(metrics, "summary.at_risk_basis"):
            body += [f"*Value basis: {metrics['summary.at_risk_basis']}. Customers at risk: "
                     f"{metrics.get('summary.at_risk_rule', '')}. Value at risk = sum of churn "
                     "probability x value; it cannot exceed the total value on the same "
                     "basis.*", ""]
    gone = missing(metrics)
    miss = "\n".join(f"- *Not available: {'; '.join(labels)} (notebook {nb}: skipped, failed "
                     "or not run).*" for nb, labels in gone.items())
    figs = "\n".join(f"![{FIGURES[n]}]({p})" for n, p in (figures or {}).items())
    quality = quality_warnings(metrics)
    if quality:
        quality_text = "\n".join(f"- {w}" for w in quality)
    elif any(k.startswith("cleaning.") for k in metrics):
        quality_text = (f"No warnings: in every table at most {WARN['quarantine_share']:.0%} of "
                        "rows were quarantined or dropped as duplicates.")
    else:
        quality_text = "*No data-quality figures in this run (notebook 01 did not record them).*"
    exact = "\n".join(f"`{k}` = {exact_text(metrics[k])}<br>" for k in sorted(_quoted(metrics)))
    page = Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        messages="\n".join(f"- {s}" for s in messages(metrics)) or "- No figures recorded.",
        figures=figs or "*No figures in this run.*", sections="\n".join(body),
        missing=miss, drivers=_table(drivers(metrics, top_drivers)) or "*No drivers recorded.*",
        quality=quality_text, exact=exact)
    return page


def exact_text(value: object) -> str:
    """The stored value written exactly, without an exponent (0.000013385997019035943)."""
    if isinstance(value, float) and math.isfinite(value):
        import numpy as np
        return np.format_float_positional(value, unique=True, trim="-")
    return json.dumps(value)


def _quoted(metrics: Mapping[str, object]) -> set[str]:
    keys = {r.key for rows in sections(metrics).values() for r in rows}
    keys |= {r.key for r in drivers(metrics)}
    for k in list(keys):
        d = registry.lookup(k)
        if d and d.interval:
            keys |= {i for i in d.interval if _has(metrics, i)}
    return keys


@dataclass(repr=False)
class Page:
    """The executive summary of a run (renders as Markdown in a notebook; its plain-text
    form, for consoles and the notebook's text fallback, is the same Markdown)."""

    metrics: dict[str, object]
    by_notebook: dict[str, dict[str, object]]
    figures: dict[str, str]
    top_drivers: int = 5

    def to_markdown(self) -> str:
        return render_markdown(self.metrics, self.by_notebook, self.figures, self.top_drivers)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __repr__(self) -> str:
        return self.to_markdown()

    def quoted(self) -> dict[str, object]:
        return {k: self.metrics[k] for k in sorted(_quoted(self.metrics))}


def from_run(run_dir: str | Path, top_drivers: int = 5) -> Page:
    """The executive summary of the run folder ``run_dir``."""
    from . import metrics as m
    return Page(m.read(run_dir), m.read_by_notebook(run_dir), figure_files(run_dir), top_drivers)


def quoted_numbers(markdown: str) -> list[tuple[str, str]]:
    """(key, exact text) of every ``key`` = value pair on a rendered page."""
    return re.findall(r"`([A-Za-z0-9_.>\[\]\-]+)` = ([^<\s]+)", markdown)


def to_json(page: Page) -> str:
    """``summary.json``: the quoted values, missing figures, sentences and the page."""
    return json.dumps({"quoted": page.quoted(), "missing": missing(page.metrics),
                       "messages": messages(page.metrics), "figures": page.figures,
                       "markdown": page.to_markdown()}, indent=2, default=str)


__all__ = ["Derived", "KeyFigure", "Page", "budget_choice", "derive", "drivers", "from_run",
           "key_figure", "messages", "missing", "reason_drivers", "render_markdown",
           "save_figures", "sections", "to_json"]
