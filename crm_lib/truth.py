"""The one accessor for the demo company's ground truth, and the truth panels.

The demo source writes ``data/truth/<key>/ground_truth.json`` and
``customer_truth.csv`` next to its raw tables (:mod:`crm_lib.sources.demo`).
This module is the only code that reads them, and only the "Checked against the
truth" sections of notebooks 02-05 call it: no analysis module imports it (a
test checks), so an estimate can never lean on the answer it is checked against.
For any other source :func:`for_session` returns ``None`` and the sections print
:data:`NO_TRUTH`.

A panel row is a headline estimate with its 95% interval; :func:`panel` adds
the true value and whether it lies inside the *family-wise* interval of the
panel: with m rows each interval is widened to level 1 - 0.05 / m (Bonferroni;
on the log scale for ratios, each side scaled by z_fw / 1.96 for asymmetric
bootstrap intervals), so a correct method puts every true value inside with
probability at least 95% (Miller 1981, *Simultaneous Statistical Inference*).

Some true values are not the generator's constants but what the estimator can
recover (each row says which): Cox hazard ratios are conditional on hidden
traits, so the panel refits the model with them (read from the truth);
BG/NBD is compared on the engaged plan holders; the sBG values are
the pseudo-true parameters and the true retention curve (White 1982).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from . import intervals

NO_TRUTH = ("Real data have no known truth: the estimates above are all there is, and their "
            "intervals say how sure we can be. On the demo company this section compares each "
            "headline estimate with the value the generator used.")
LEVEL = 0.95


@dataclass
class Truth:
    """The demo company's ground truth (``ground``) and per-customer truth (``customers``)."""

    ground: dict
    customers: pd.DataFrame = field(repr=False)
    key: str = ""


def load(folder: str | Path) -> Truth | None:
    """Read a truth folder; ``None`` when it holds no ``ground_truth.json``."""
    folder = Path(folder)
    gt = folder / "ground_truth.json"
    if not gt.exists():
        return None
    ct = pd.read_csv(folder / "customer_truth.csv") if (folder / "customer_truth.csv").exists() \
        else pd.DataFrame()
    return Truth(json.loads(gt.read_text()), ct, folder.name)


def for_session(session) -> Truth | None:
    """The truth of a notebook session's source: the demo's, ``None`` ("no known truth") else."""
    src = session.source.build()
    if getattr(src, "name", "") != "demo":
        return None
    return load(src.truth_dir)


def from_demo(data) -> Truth:
    """The truth of an in-memory :class:`crm_lib.sources.demo.DemoData` (tests, teaching)."""
    return Truth(json.loads(json.dumps(data.truth)), data.customer_truth.copy(), "in-memory")


def row(quantity: str, estimate: float, low: float, high: float, truth: float, *,
        scale: str = "linear", note: str = "") -> dict:
    """One panel row: an estimate, its 95% interval, the true value it is compared with."""
    return {"quantity": quantity, "estimate": float(estimate), "ci_low": float(low),
            "ci_high": float(high), "truth": float(truth), "scale": scale, "note": note}


def panel(rows: list[dict], level: float = LEVEL) -> pd.DataFrame:
    """The truth panel: rows with family-wise (Bonferroni) intervals and an ``inside`` flag."""
    t = pd.DataFrame(rows)
    m = len(t)
    ratio = stats.norm.ppf(1 - (1 - level) / (2 * m)) / stats.norm.ppf(1 - (1 - level) / 2)
    log = t["scale"].eq("log").to_numpy()
    est, lo, hi = (t[c].to_numpy(float) for c in ("estimate", "ci_low", "ci_high"))
    f = np.where(log, np.log(np.maximum(est, 1e-300)), est)
    fl = np.where(log, np.log(np.maximum(lo, 1e-300)), lo)
    fh = np.where(log, np.log(np.maximum(hi, 1e-300)), hi)
    fw_lo, fw_hi = f - (f - fl) * ratio, f + (fh - f) * ratio
    t["fw_low"] = np.where(log, np.exp(fw_lo), fw_lo)
    t["fw_high"] = np.where(log, np.exp(fw_hi), fw_hi)
    t["inside"] = (t["fw_low"] <= t["truth"]) & (t["truth"] <= t["fw_high"])
    cols = ["quantity", "estimate", "ci_low", "ci_high", "fw_low", "fw_high", "truth", "inside",
            "note"]
    return t[cols]


def verdict(p: pd.DataFrame, level: float = LEVEL) -> str:
    """One sentence: how many true values lie inside their family-wise intervals
    (``level``: the family-wise level the panel was built with)."""
    k, m = int(p["inside"].sum()), len(p)
    lvl = 1 - (1 - level) / m
    out = ", ".join(p.loc[~p["inside"], "quantity"])
    return (f"{k} of {m} true values lie inside their family-wise {level:.0%} intervals (each at "
            f"{lvl:.2%}, Bonferroni)" + (f"; outside: {out}." if out else "."))


# --------------------------------------------------------------------------- 02 survey
def survey_rows(model, tr: Truth) -> list[dict]:
    """PLSc structural paths (bootstrap 95% intervals) against what they converge to.

    The truth is ``survey_paths``: the standardised paths among the respondents of the
    stored answers (ordinal, with straight-liners; computed by the generator), next to
    the base's own path (``paths``; 0 for an ECSI path the demo does not have) in the note.
    """
    sv = tr.ground["survey"]
    paths, rec = sv["paths"], sv.get("survey_paths", sv["paths"])
    return [row(f"path {k}", r["plsc"], r["plsc_ci_low"], r["plsc_ci_high"],
                rec.get(k, paths.get(k, 0.0)),
                note=f"survey-recoverable; base path {paths.get(k, 0.0):.2f}")
            for k, r in model.paths.iterrows()]


# --------------------------------------------------------------------------- 03 value
def value_rows(final, engaged, tr: Truth, level: float = LEVEL) -> list[dict]:
    """Gamma-Gamma on everybody, BG/NBD on the engaged plan holders, against the shop's truth.

    ``final``: :class:`crm_lib.value.ValueModels` fitted on all customers; ``engaged``: the
    same fitted on the customers who hold the plan at the analysis date and never
    disengaged (:func:`engaged_holders`, hidden: from the truth). Purchases stop at plan end
    and slow down once a customer disengages, so BG/NBD on everybody mixes both into its
    dropout and rate (effective values); on the engaged holders it is the shop's own
    process. Spend (Gamma-Gamma) does not depend on either and is checked on everybody.
    """
    shop = tr.ground["shop"]
    out = []
    for name, models, params in (("BG/NBD", engaged, shop["bgnbd"]),
                                 ("Gamma-Gamma", final, shop["gamma_gamma"])):
        t = models.parameters(level)
        for k, v in params.items():
            r = t.loc[(name, k)]
            out.append(row(f"{name} {k}", r.iloc[0], r.iloc[2], r.iloc[3], v, scale="log",
                           note="engaged plan holders (hidden, from the truth)"
                           if name == "BG/NBD" else "all customers"))
    return out


def engaged_holders(customers: pd.DataFrame, tr: Truth) -> pd.Series:
    """Ids of customers holding the plan at the analysis date who never disengaged."""
    ct = tr.customers.set_index("customer_id")
    ids = customers["customer_id"].astype(str)
    holds = customers["end_date"].isna().to_numpy()
    never = ~ct["disengaged"].reindex(ids).fillna(True).astype(bool).to_numpy()
    return ids[holds & never]


# --------------------------------------------------------------------------- 04 churn
def hidden_trait_cox(customers: pd.DataFrame, tr: Truth):
    """Cause-specific Cox (competitive) with the hidden traits: the generator's own model.

    Covariates: contract, products, charges (per 10), log zone(satisfaction), price
    sensitivity and log frailty (hidden, from the truth); follow-up ends at the pilot date
    (the pilot and a promotion change hazards afterwards) and at the onset of
    disengagement (afterwards the hazard has another form; the onset depends only on
    covariates in the model, so this censoring is non-informative).
    """
    from crm_lib.churn import survival
    c = customers.copy()
    h = tr.customers.set_index("customer_id").loc[c["customer_id"].astype(str)]
    c["log_zone"] = np.log(h["zone"].to_numpy())
    c["price_sensitive"] = h["price_sensitive"].to_numpy().astype(float)
    c["log_frailty"] = np.log(h["frailty"].to_numpy())
    onset = pd.to_datetime(h["onset_date"]).to_numpy()
    end = pd.to_datetime(c["end_date"]).to_numpy()
    cut = ~pd.isna(onset) & (pd.isna(end) | (onset < end))
    c["end_date"] = np.where(cut, onset, end)
    c["churned"] = ~pd.isna(c["end_date"])
    c.loc[cut, "churn_reason"] = "censored at disengagement"
    d = survival.durations(c, as_of=tr.ground["dates"]["pilot"], causes=["competitive"])
    return survival.cox(d, ["contract", "n_products", "monthly_charges", "log_zone",
                            "price_sensitive", "log_frailty"], scale={"monthly_charges": 10},
                        reference={"contract": "month-to-month"})


def sbg_survival_interval(fit, months, level: float = LEVEL) -> pd.DataFrame:
    """sBG survival at ``months`` with a delta-method interval (log alpha, log beta)."""
    from crm_lib.churn import sbg
    t = np.asarray(months, float)
    x = np.log([fit.alpha, fit.beta])
    def f(v):
        return np.log(sbg.sbg_survival(t, *np.exp(v)))
    eps = 1e-5
    grad = np.column_stack([(f(x + e) - f(x - e)) / (2 * eps) for e in np.eye(2) * eps])
    se = np.sqrt(np.einsum("ij,jk,ik->i", grad, fit.cov_log, grad))
    z = stats.norm.ppf(0.5 + level / 2)
    s = np.exp(f(x))
    return pd.DataFrame({"months": t, "survival": s, "ci_low": s * np.exp(-z * se),
                         "ci_high": s * np.exp(z * se)})


def churn_rows(customers: pd.DataFrame, sbg_fit, shares: pd.DataFrame, tr: Truth,
               months=(12, 24)) -> list[dict]:
    """Cox ratios (hidden-trait model), sBG parameters and curve, reason shares vs truth."""
    ch = tr.ground["churn"]
    cox = hidden_trait_cox(customers, tr)
    out = [row(f"Cox HR {k}", *cox.hazard_ratio(k), v, scale="log",
               note="conditional on the hidden traits (read from the truth)")
           for k, v in ch["hazard_ratios"].items()]
    ci = sbg_fit.ci()
    for k in ("alpha", "beta"):
        out.append(row(f"sBG {k}", ci.loc[k, "estimate"], ci.loc[k, "ci_low"],
                       ci.loc[k, "ci_high"], ch["sbg"][k], scale="log",
                       note="pseudo-true: the best sBG fit to the true hazards"))
    band = sbg_survival_interval(sbg_fit, months)
    for r in band.itertuples():
        out.append(row(f"retention after {int(r.months)} months (sBG)", r.survival, r.ci_low,
                       r.ci_high, ch["sbg"]["retention_curve"][int(r.months)], scale="log",
                       note="true retention curve"))
    sh = shares.set_index("reason")
    for cause, v in ch["cause_shares"].items():
        if cause in sh.index:
            r = sh.loc[cause]
            out.append(row(f"reason share {cause}", r["share"], r["ci_low"], r["ci_high"], v,
                           note="expected share of churners"))
    return out


def attainable_sentence(cv_auc: float, tr: Truth, horizon_months: int) -> tuple[str, dict]:
    """'The model reaches X of the attainable Y' and the two metrics, for 04's horizon."""
    att = tr.ground["churn"]["attainable_auc"].get(str(horizon_months))
    if att is None:
        return f"The truth holds no attainable AUC for a {horizon_months}-month horizon.", {}
    share = cv_auc / att["auc"]
    return (f"The model reaches a cross-validated AUC of {cv_auc:.3f} of the attainable "
            f"{att['auc']:.3f} ({share:.0%}): the attainable AUC ranks the customers active on "
            f"{att['cutoff']} by their true probability of leaving within {horizon_months} "
            "months (true hazards, hidden traits and disengagement state); the gap is what the "
            "tables do not show.",
            {"churn.attainable_auc": att["auc"], "churn.auc_share_of_attainable": share})


# --------------------------------------------------------------------------- 05 roi
def roi_rows(pa, pilot_frame: pd.DataFrame, tr: Truth) -> list[dict]:
    """The pilot's ATE and acceptance rate against the truth."""
    p = tr.ground["pilot"]
    a = pa.ate
    treated = pilot_frame["treated"].astype(bool)
    k, n = int(pilot_frame.loc[treated, "accepted"].astype(bool).sum()), int(treated.sum())
    lo, hi = (float(v) for v in intervals.wilson_interval(k, n, LEVEL))
    return [row("ATE on 90-day churn", a.effect, a.ci_low, a.ci_high, p["ate"],
                note="mean true effect over the pilot's customers"),
            row("offer acceptance among treated", k / n, lo, hi, p["accept_rate"])]

