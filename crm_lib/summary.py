"""The executive summary (notebook 06): one page built from a run's metrics.json.

Every number on the page is *quoted* from the run's metrics: the page shows it
rounded for reading (in bold) next to the exact value as stored
(``key`` = value) and a link to the notebook that produced it. Values the
summary derives itself (expected ROI, the churn trend, value at risk) are first
recorded by notebook 06 under ``summary.*`` and then quoted like the others,
so the page never shows a number that is not in metrics.json.

A notebook that was skipped (its source lacks a table) or failed leaves its
keys out of metrics.json; its section then says what is missing and which
notebook would have produced it, instead of failing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

#: Which notebook records which prefix (used when metrics/<notebook>.json is absent).
PRODUCERS: dict[str, str] = {
    "concepts.": "00_crm_concepts",
    "cleaning.": "01_data_cleaning",
    "survey.": "02_survey_satisfaction_loyalty",
    "value.": "03_customer_value",
    "clv.": "03_customer_value",
    "churn.": "04_churn_modeling",
    "roi.": "05_retention_roi",
    "summary.": "06_executive_summary",
}

#: Thresholds of the automatic warnings (shares unless stated).
WARN = {"quarantine_share": 0.01, "quarantine_share_serious": 0.05, "duplicate_share": 0.01,
        "weak_auc": 0.70, "prob_loss": 0.20, "nps_ci_width": 20.0}


@dataclass
class Headline:
    """One quoted figure: its metric key, label, formatting kind and optional interval keys."""

    key: str
    label: str
    kind: str = "number"  # pct | pp | money | count | number | ratio | text
    ci: tuple[str, str] | None = None
    note: str = ""
    needs: str = ""  # for values notebook 06 derives: the notebook whose output they need


@dataclass
class Section:
    """A block of the page: quoted headlines plus what is missing and why."""

    title: str
    headlines: list[Headline]
    intro: str = ""


#: The page, in reading order. Keys follow the metric names of issues 2-8.
SECTIONS: list[Section] = [
    Section("Churn", [
        Headline("churn.rate", "Churn rate (as defined in notebook 04)", "pct"),
        Headline("summary.churn_rate_recent", "Monthly churn, last 3 months", "pct",
                 needs="01_data_cleaning"),
        Headline("summary.churn_trend_pp_per_month", "Trend of monthly churn, per month", "pp",
                 ci=("summary.churn_trend_ci_low", "summary.churn_trend_ci_high"),
                 needs="01_data_cleaning"),
        Headline("churn.preventable_share", "Churn that is preventable", "pct",
                 note="natural and malicious churn excluded"),
        Headline("churn.cv_auc", "Churn model accuracy (cross-validated ROC AUC)", "ratio"),
    ]),
    Section("Value at risk", [
        Headline("summary.at_risk_value", "Value at risk (expected loss from churn)", "money",
                 needs="04_churn_modeling"),
        Headline("summary.at_risk_customers", "Customers with churn probability of 50% or more",
                 "count", needs="04_churn_modeling"),
        Headline("clv.total", "Total customer lifetime value", "money"),
        Headline("value.top20_share", "Value held by the top 20% of customers", "pct"),
        Headline("value.gini", "Value concentration (Gini)", "ratio"),
    ]),
    Section("Customer voice", [
        Headline("survey.nps", "Net Promoter Score", "number",
                 ci=("survey.nps_ci_low", "survey.nps_ci_high")),
        Headline("survey.satisfied_defectors_share", "Defectors who were satisfied", "pct"),
    ]),
    Section("Retention budget", [
        Headline("roi.budget", "Recommended retention budget", "money"),
        Headline("roi.expected_profit", "Expected profit of the campaign", "money"),
        Headline("summary.expected_roi", "Expected return on the budget", "pct",
                 note="expected profit / budget", needs="05_retention_roi"),
        Headline("roi.prob_loss", "Probability the campaign loses money", "pct"),
        Headline("roi.ate", "Pilot: churn change from the offer (randomised)", "pp",
                 ci=("roi.ate_ci_low", "roi.ate_ci_high")),
    ]),
]

#: Driver families: metric prefix, description, how to rank (abs value or abs log).
DRIVER_FAMILIES: list[tuple[str, str, str]] = [
    ("survey.pls.path.", "structural path (standardised)", "abs"),
    ("survey.driver.", "relative importance of a satisfaction driver", "abs"),
    ("churn.importance.", "churn model: permutation importance", "abs"),
    ("churn.cox.hr.", "churn hazard ratio", "log"),
    ("summary.driver.", "share of at-risk customers with this top reason", "abs"),
]


# ----------------------------------------------------------------------------- formatting

def fmt(value: object, kind: str) -> str:
    """The rounded, readable form of a quoted value (shown in bold)."""
    if value is None:
        return "n/a"
    if isinstance(value, str) or kind == "text":
        return str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    v = float(value)
    if not math.isfinite(v):
        return "n/a"
    if kind == "pct":
        return f"{v * 100:.1f}%"
    if kind == "pp":
        return f"{v * 100:+.3f} pp"
    if kind in ("money", "count"):
        return f"{v:,.0f}"
    if kind == "ratio":
        return f"{v:.3f}"
    return f"{v:,.1f}" if abs(v) >= 10 else f"{v:.3g}"


def parse_fmt(text: str, kind: str) -> tuple[float, float]:
    """Inverse of :func:`fmt`: (value, half a unit of the last digit shown)."""
    t = text.replace(",", "").replace(" pp", "").replace("%", "").strip()
    scale = 0.01 if kind in ("pct", "pp") else 1.0
    mantissa = t.split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return float(t) * scale, 0.5 * 10 ** (-decimals) * scale * (1 + 1e-9)


def exact(value: object) -> str:
    """The value exactly as metrics.json stores it (JSON text of the number)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if value is None:
        return "null"
    return str(value)


# ----------------------------------------------------------------------------- producers

def producer(key: str, by_notebook: Mapping[str, Mapping[str, object]] | None = None) -> str:
    """The notebook that recorded ``key`` (from metrics/<nb>.json, else by prefix)."""
    for nb, values in (by_notebook or {}).items():
        if key in values:
            return nb
    for prefix, nb in PRODUCERS.items():
        if key.startswith(prefix):
            return nb
    return "unknown"


def link(notebook: str) -> str:
    """Markdown link to a notebook's HTML page in the same run folder."""
    return f"[{notebook}]({notebook}.html)"


# ----------------------------------------------------------------------------- derived values

def expected_roi(metrics: Mapping[str, object]) -> dict[str, float]:
    """``summary.expected_roi`` = roi.expected_profit / roi.budget (when both exist)."""
    b, p = metrics.get("roi.budget"), metrics.get("roi.expected_profit")
    if isinstance(b, (int, float)) and isinstance(p, (int, float)) and b:
        return {"summary.expected_roi": float(p) / float(b)}
    return {}


def monthly_churn(customers: pd.DataFrame, as_of, months: int = 24) -> pd.DataFrame:
    """Monthly churn rate for the ``months`` calendar months before ``as_of``.

    Rate of month M = customers whose plan ended in M (``churned``) / customers
    active at the start of M (signed up before, not ended before). Vectorised
    over customers x months. A partial last month is dropped.
    """
    for col in ("signup_date", "end_date", "churned"):
        if col not in customers.columns:
            raise ValueError(f"customers: column '{col}' is needed for the churn trend")
    as_of = pd.Timestamp(as_of)
    last = as_of.to_period("M") - (0 if as_of == as_of.to_period("M").end_time.normalize() else 1)
    periods = pd.period_range(end=last, periods=int(months), freq="M")
    starts = periods.start_time.to_numpy()
    ends = (periods + 1).start_time.to_numpy()
    signup = pd.to_datetime(customers["signup_date"]).to_numpy()[:, None]
    end = pd.to_datetime(customers["end_date"]).to_numpy()[:, None]
    churned = customers["churned"].fillna(False).astype(bool).to_numpy()[:, None]
    has_end = ~pd.isna(end)
    active = (signup < starts) & (~has_end | (end >= starts))
    left = active & churned & has_end & (end < ends)
    n_active, n_left = active.sum(axis=0), left.sum(axis=0)
    return pd.DataFrame({"month": periods.astype(str), "active_start": n_active,
                         "churned": n_left,
                         "rate": np.divide(n_left, n_active, out=np.full(len(periods), np.nan),
                                           where=n_active > 0)})


def churn_trend(monthly: pd.DataFrame, window: int = 12, recent: int = 3) -> dict[str, float]:
    """Linear trend of the monthly churn rate over the last ``window`` months.

    Ordinary least squares of the rate on the month index with a 95% t interval
    for the slope (percentage points per month, as a share); plus the mean rate
    of the last ``recent`` months (pooled: churners / active).
    """
    import statsmodels.api as sm

    m = monthly.dropna(subset=["rate"]).tail(int(window))
    if len(m) < 4:
        return {}
    x = sm.add_constant(np.arange(len(m), dtype=float))
    fit = sm.OLS(m["rate"].to_numpy(), x).fit()
    lo, hi = fit.conf_int(0.05)[1]
    r = m.tail(int(recent))
    return {"summary.churn_rate_recent": float(r["churned"].sum() / r["active_start"].sum()),
            "summary.churn_trend_pp_per_month": float(fit.params[1]),
            "summary.churn_trend_ci_low": float(lo), "summary.churn_trend_ci_high": float(hi)}


PROB_COLUMNS = ("churn_probability", "p_churn", "churn_prob", "probability", "score")
REASON_COLUMNS = ("top_reasons", "top_reason", "reasons", "reason")
VALUE_COLUMNS = ("clv", "value", "expected_value", "clv_value")


def _first(df: pd.DataFrame, names) -> str | None:
    return next((c for c in names if c in df.columns), None)


def value_at_risk(scores: pd.DataFrame, values: pd.DataFrame | None = None,
                  customers: pd.DataFrame | None = None, threshold: float = 0.5,
                  months_of_revenue: int = 12) -> dict[str, object]:
    """Expected value lost to churn: sum over customers of P(churn) x value.

    A customer's value is the sum of the streams a churner takes away that the
    run knows: ``months_of_revenue`` months of monthly charges (customers table)
    and the purchase CLV of notebook 03 (a value table with customer_id and
    clv). Also counts customers with P(churn) >= ``threshold`` and records
    which basis was used.
    """
    pcol = _first(scores, PROB_COLUMNS)
    if pcol is None or "customer_id" not in scores.columns:
        raise ValueError("scores: need customer_id and a churn probability column "
                         f"(one of {', '.join(PROB_COLUMNS)})")
    j = scores[["customer_id", pcol]].rename(columns={pcol: "p"})
    j["customer_id"] = j["customer_id"].astype(str)
    j["value"], basis = 0.0, []
    if customers is not None and {"customer_id", "monthly_charges"} <= set(customers.columns):
        charges = customers.set_index(customers["customer_id"].astype(str))["monthly_charges"]
        j["value"] += j["customer_id"].map(charges.astype(float)).fillna(0.0) * months_of_revenue
        basis.append(f"{months_of_revenue} months of monthly charges")
    vcol = _first(values, VALUE_COLUMNS) if values is not None else None
    if vcol is not None and "customer_id" in values.columns:
        clv = values.set_index(values["customer_id"].astype(str))[vcol].astype(float)
        j["value"] += j["customer_id"].map(clv).fillna(0.0)
        basis.append("purchase CLV (notebook 03)")
    if not basis:
        raise ValueError("value at risk needs a value table (customer_id, clv) or customers "
                         "with monthly_charges")
    return {"summary.at_risk_value": float((j["p"] * j["value"]).sum()),
            "summary.at_risk_customers": int((j["p"] >= threshold).sum()),
            "summary.at_risk_basis": " plus ".join(basis)}


def reason_drivers(scores: pd.DataFrame, top: int = 3, threshold: float = 0.5) -> dict[str, object]:
    """Most frequent top reasons among customers with P(churn) >= ``threshold``.

    Reasons may be lists or ``;``/``,``-separated strings; each reason counts
    once per customer. Recorded as ``summary.driver.<reason>`` = share.
    """
    pcol, rcol = _first(scores, PROB_COLUMNS), _first(scores, REASON_COLUMNS)
    if pcol is None or rcol is None:
        return {}
    at_risk = scores.loc[scores[pcol] >= threshold, rcol].dropna()
    if at_risk.empty:
        return {}
    lists = at_risk.map(lambda r: list(r) if isinstance(r, (list, tuple, np.ndarray))
                        else re.split(r"\s*[;,|]\s*", str(r)))
    counts = lists.explode().dropna().astype(str).str.strip()
    counts = counts[counts != ""].groupby(level=0).unique().explode().value_counts()
    out = {}
    for name, n in counts.head(top).items():
        key = re.sub(r"[^0-9A-Za-z_.>-]+", "_", str(name)).strip("_")
        out[f"summary.driver.{key}"] = float(n / len(at_risk))
    return out


VALUE_FILES = ("clv.parquet", "customer_value.parquet", "values.parquet")


@dataclass
class Derived:
    """What notebook 06 computes itself before quoting: values to record, the churn series."""

    values: dict[str, object]
    monthly: pd.DataFrame | None
    notes: list[str]


def derive(session, trend_months: int = 12, history_months: int = 24,
           threshold: float = 0.5, revenue_months: int = 12) -> Derived:
    """Derived figures of a run: expected ROI, churn trend, value at risk, reason drivers.

    Reads the run's metrics, ``scores.parquet`` written by notebook 04, a value
    table of notebook 03 when present (``customer_value.parquet``, ``clv.parquet``)
    and the customers table when the source has it (``trend_months=0`` skips the
    trend and reads no table). Anything unavailable becomes a note, never an error.
    """
    from .data import MissingTableError

    values: dict[str, object] = dict(expected_roi(session.metrics()))
    notes: list[str] = []
    monthly = None
    customers = None
    if trend_months and session.has("customers"):
        try:
            customers = session.tables("customers")["customers"]
            monthly = monthly_churn(customers, session.as_of, max(history_months, trend_months))
            values.update(churn_trend(monthly, trend_months))
        except (MissingTableError, ValueError) as exc:
            notes.append(f"Churn trend not computed: {exc}")
    elif trend_months:
        notes.append("Churn trend not computed: the source has no customers table.")
    scores_path = Path(session.run_dir) / "scores.parquet"
    if scores_path.exists():
        scores = pd.read_parquet(scores_path)
        vpath = next((Path(session.run_dir) / f for f in VALUE_FILES
                      if (Path(session.run_dir) / f).exists()), None)
        try:
            values.update(value_at_risk(scores, pd.read_parquet(vpath) if vpath else None,
                                        customers, threshold, revenue_months))
        except ValueError as exc:
            notes.append(f"Value at risk not computed: {exc}")
        values.update(reason_drivers(scores, threshold=threshold))
    else:
        notes.append("Value at risk not computed: notebook 04_churn_modeling wrote no "
                     "scores.parquet in this run.")
    return Derived(values, monthly, notes)


# ----------------------------------------------------------------------------- the page

@dataclass
class Summary:
    """The page: sections of quoted figures, drivers, warnings and what is missing."""

    metrics: dict[str, object]
    by_notebook: dict[str, dict[str, object]] = field(default_factory=dict)
    top_drivers: int = 5

    # -- content
    def available(self, key: str) -> bool:
        v = self.metrics.get(key)
        return v is not None and not (isinstance(v, float) and not math.isfinite(v))

    def quoted(self) -> dict[str, object]:
        """Every metric key the page quotes, with its value (for tests and summary.json)."""
        keys = []
        for sec in SECTIONS:
            for h in sec.headlines:
                keys += [h.key, *(h.ci or ())]
        keys += [k for k, *_ in self.drivers()]
        keys += [k for k, _ in self._quality_keys()]
        return {k: self.metrics[k] for k in dict.fromkeys(keys) if self.available(k)}

    def drivers(self) -> list[tuple[str, str, float]]:
        """(key, description, value) of the strongest drivers of each family."""
        out = []
        for prefix, desc, rank in DRIVER_FAMILIES:
            fam = [(k, float(v)) for k, v in self.metrics.items()
                   if k.startswith(prefix) and isinstance(v, (int, float))
                   and not isinstance(v, bool) and math.isfinite(float(v))]
            if prefix == "survey.pls.path.":  # paths into satisfaction or loyalty only
                fam = [(k, v) for k, v in fam
                       if re.search(r"->(satisfaction|loyalty)$", k, re.IGNORECASE)]
            if rank == "log":
                fam = [(k, v) for k, v in fam if v > 0]
            key = (lambda kv: abs(math.log(kv[1]))) if rank == "log" else (lambda kv: abs(kv[1]))
            out += [(k, desc, v) for k, v in sorted(fam, key=key, reverse=True)[: self.top_drivers]]
        return out

    def _quality_keys(self) -> list[tuple[str, str]]:
        keys = []
        for k in sorted(self.metrics):
            m = re.fullmatch(r"cleaning\.(\w+)\.(rows_in|rows_quarantined|rows_duplicate_dropped)",
                             k)
            if m:
                keys.append((k, m.group(1)))
        return keys

    def warnings(self) -> list[str]:
        """Data-quality and reliability warnings, each quoting the metrics it rests on."""
        w = []
        tables = sorted({t for _, t in self._quality_keys()})
        for t in tables:
            n_in = self.metrics.get(f"cleaning.{t}.rows_in")
            if not isinstance(n_in, (int, float)) or not n_in:
                continue
            for what, key, limit in (("quarantined", "rows_quarantined", "quarantine_share"),
                                     ("duplicates dropped", "rows_duplicate_dropped",
                                      "duplicate_share")):
                k = f"cleaning.{t}.{key}"
                n = self.metrics.get(k)
                if isinstance(n, (int, float)) and n / n_in > WARN[limit]:
                    serious = key == "rows_quarantined" and n / n_in > WARN[
                        "quarantine_share_serious"]
                    w.append(f"{'**Serious:** ' if serious else ''}{t}: {self._q(k, 'count')} of "
                             f"{self._q(f'cleaning.{t}.rows_in', 'count')} rows {what}.")
        if self.available("churn.cv_auc") and float(self.metrics["churn.cv_auc"]) < WARN["weak_auc"]:
            w.append(f"The churn model is weak (AUC {self._q('churn.cv_auc', 'ratio')}): "
                     "treat churn probabilities and the value at risk with caution.")
        if self.available("roi.prob_loss") and float(self.metrics["roi.prob_loss"]) > WARN[
                "prob_loss"]:
            w.append(f"The retention campaign loses money with probability "
                     f"{self._q('roi.prob_loss', 'pct')}: consider a smaller pilot first.")
        lo, hi = "survey.nps_ci_low", "survey.nps_ci_high"
        if self.available(lo) and self.available(hi):
            width = float(self.metrics[hi]) - float(self.metrics[lo])
            scale = 1.0 if abs(float(self.metrics[hi])) > 1.5 else 100.0
            if width * scale > WARN["nps_ci_width"]:
                w.append(f"The NPS interval is wide ({self._q(lo, 'number')} to "
                         f"{self._q(hi, 'number')}): the survey sample is small.")
        return w

    def missing(self) -> dict[str, list[str]]:
        """Notebook -> headline keys missing from this run because of it."""
        out: dict[str, list[str]] = {}
        for sec in SECTIONS:
            for h in sec.headlines:
                if not self.available(h.key):
                    out.setdefault(h.needs or producer(h.key, self.by_notebook), []).append(h.key)
        return out

    # -- rendering
    def _q(self, key: str, kind: str) -> str:
        """A quoted number: bold rounded value plus the exact stored value."""
        v = self.metrics[key]
        return f"**{fmt(v, kind)}** (`{key}` = {exact(v)})"

    def _row(self, h: Headline) -> str | None:
        if not self.available(h.key):
            return None
        v = self.metrics[h.key]
        shown = f"**{fmt(v, h.kind)}**"
        exact_text = f"`{h.key}` = {exact(v)}"
        if h.ci and all(self.available(k) for k in h.ci):
            lo, hi = (self.metrics[k] for k in h.ci)
            shown += f" (95% interval **{fmt(lo, h.kind)}** to **{fmt(hi, h.kind)}**)"
            exact_text += "; " + "; ".join(f"`{k}` = {exact(self.metrics[k])}" for k in h.ci)
        note = f" ({h.note})" if h.note else ""
        src = link(producer(h.key, self.by_notebook))
        return f"| {h.label}{note} | {shown} | {exact_text} | {src} |"

    def _s(self, key: str, kind: str) -> str:
        """A bold rounded value with a link to its notebook (exact values are in the tables)."""
        nb = producer(key, self.by_notebook)
        return f"**{fmt(self.metrics[key], kind)}** ([{nb[:2]}]({nb}.html))"

    def headline_sentence(self) -> str:
        """The one-paragraph message at the top of the page."""
        parts = []
        if self.available("churn.rate"):
            parts.append(f"{self._s('churn.rate', 'pct')} of customers churned")
        if self.available("summary.churn_rate_recent"):
            text = (f"monthly churn over the last three months is "
                    f"{self._s('summary.churn_rate_recent', 'pct')}")
            if self.available("summary.churn_trend_pp_per_month"):
                text += (f" (trend {self._s('summary.churn_trend_pp_per_month', 'pp')} "
                         "a month)")
            parts.append(text)
        if self.available("summary.at_risk_value"):
            parts.append(f"the value at risk is {self._s('summary.at_risk_value', 'money')}")
        if self.available("survey.nps"):
            parts.append(f"the Net Promoter Score is {self._s('survey.nps', 'number')}")
        if self.available("roi.budget") and self.available("roi.expected_profit"):
            text = (f"a retention budget of {self._s('roi.budget', 'money')} is expected to earn "
                    f"{self._s('roi.expected_profit', 'money')}")
            if self.available("roi.prob_loss"):
                text += (f", with a {self._s('roi.prob_loss', 'pct')} chance of losing "
                         "money")
            parts.append(text)
        if not parts:
            return "No headline figures were recorded in this run."
        return "In this run, " + "; ".join(parts) + "."

    def to_markdown(self) -> str:
        """The whole page as Markdown (rendered in the notebook and its HTML)."""
        lines = ["## At a glance", "", self.headline_sentence(), ""]
        for sec in SECTIONS:
            lines += [f"### {sec.title}", ""]
            rows = [r for r in (self._row(h) for h in sec.headlines) if r]
            if rows:
                lines += ["| figure | value | exact value in metrics.json | from |",
                          "|---|---|---|---|", *rows, ""]
            if sec.title == "Value at risk" and self.available("summary.at_risk_basis"):
                lines += [f"*Value at risk = sum over customers of churn probability x "
                          f"({self.metrics['summary.at_risk_basis']}).*", ""]
            gone = [h for h in sec.headlines if not self.available(h.key)]
            by_nb: dict[str, list[str]] = {}
            for h in gone:
                by_nb.setdefault(h.needs or producer(h.key, self.by_notebook), []).append(
                    h.label)
            for nb, labels in by_nb.items():
                lines.append(f"*Not available in this run: {'; '.join(labels)}. They come from "
                             f"notebook {link(nb)}, which produced no such output in this run "
                             "(skipped because the source lacks its tables, failed, or not "
                             "run).*")
            lines.append("")
        lines += ["### Top drivers", ""]
        drivers = self.drivers()
        if drivers:
            lines += ["| driver | measure | value | exact value in metrics.json | from |",
                      "|---|---|---|---|---|"]
            for k, desc, v in drivers:
                name = k.split(".", 3)[-1] if k.startswith("survey.pls.path.") else k.rsplit(
                    ".", 1)[-1]
                kind = "pct" if k.startswith("summary.driver.") else "ratio"
                lines.append(f"| {name} | {desc} | **{fmt(v, kind)}** | `{k}` = {exact(v)} | "
                             f"{link(producer(k, self.by_notebook))} |")
        else:
            lines.append("*No driver figures were recorded in this run (notebooks "
                         f"{link(PRODUCERS['survey.'])} and {link(PRODUCERS['churn.'])}).*")
        lines += ["", "### Data quality", ""]
        tables = sorted({t for _, t in self._quality_keys()})
        if tables:
            lines += ["| table | rows in | quarantined | duplicates dropped | exact values | from |",
                      "|---|---|---|---|---|---|"]
            for t in tables:
                keys = [f"cleaning.{t}.{k}" for k in ("rows_in", "rows_quarantined",
                                                      "rows_duplicate_dropped")]
                shown = [f"**{fmt(self.metrics[k], 'count')}**" if self.available(k) else "n/a"
                         for k in keys]
                exacts = "; ".join(f"`{k}` = {exact(self.metrics[k])}" for k in keys
                                   if self.available(k))
                lines.append(f"| {t} | {' | '.join(shown)} | {exacts} | "
                             f"{link(producer(keys[0], self.by_notebook))} |")
            lines.append("")
        warns = self.warnings()
        if warns:
            lines += [f"- {w}" for w in warns]
        elif not self._quality_keys():
            lines.append(f"*No data-quality figures in this run ({link(PRODUCERS['cleaning.'])} "
                         "did not record them).*")
        else:
            lines.append(f"No warnings: in every table at most "
                         f"{WARN['quarantine_share']:.0%} of rows were quarantined or dropped "
                         "as duplicates.")
        return "\n".join(lines) + "\n"

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


def build(metrics: Mapping[str, object], by_notebook: Mapping | None = None,
          top_drivers: int = 5) -> Summary:
    """The executive summary of a run from its metrics (and who recorded what)."""
    return Summary(dict(metrics), {k: dict(v) for k, v in (by_notebook or {}).items()},
                   top_drivers)


def from_run(run_dir: str | Path, top_drivers: int = 5) -> Summary:
    """The executive summary of the run folder ``run_dir``."""
    from . import metrics as m
    return build(m.read(run_dir), m.read_by_notebook(run_dir), top_drivers)


def quoted_numbers(markdown: str) -> list[tuple[str, str]]:
    """(key, exact text) of every ``key`` = value pair on a rendered page."""
    return re.findall(r"`([A-Za-z0-9_.>\[\]\-]+)` = ([^;|()\s]+)", markdown)


def to_json(page: Summary) -> str:
    """``summary.json``: the quoted values (key -> exact value) and the page as Markdown."""
    import json
    return json.dumps({"quoted": page.quoted(), "missing": page.missing(),
                       "warnings": page.warnings(), "markdown": page.to_markdown()}, indent=2)
