"""The steps notebook 05 strings together: inputs, pilot analysis, targeting plan, decision.

Each function is one named step of the notebook, built on the method
modules (:mod:`.economics`, :mod:`.empc`, :mod:`.uplift`, :mod:`.budget`,
:mod:`.claims`). Steps that may have nothing to work on (no campaigns table,
nobody selected) return a result object with an ``available`` flag, a
``reason`` and ``metrics()`` that records ``None`` for what could not be
computed, so the notebook has no ``if ... is not None`` guards.

Upstream artefacts come from the run folder through :mod:`crm_lib.artefacts`
when notebooks 03 and 04 ran in the same run (``clv``, ``churn_scores``,
``churn_oof``); otherwise this step builds them with the same parameters as
those notebooks and says so in ``source``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import artefacts, privacy
from ..churn.definition import active_at, prepare_customers
from . import budget as bud
from . import claims as clm
from . import economics as eco
from . import features as feat
from . import uplift as up
from .economics import plan_margin, retention_value  # noqa: F401 - re-exported (05, 06)

#: Candidate effect modifiers of a retention offer, fixed before the pilot is analysed:
#: who a competitor targets (age), how tied-in and how costly the customer is (contract,
#: products, bill) and whether contact annoys them (unresolved complaints).
EFFECT_MODIFIERS = ("age", "tenure_months", "contract", "n_products", "monthly_charges", "autopay",
                    "complaints", "unresolved_complaints")

__all__ = ["EFFECT_MODIFIERS", "ChurnInputs", "churn_inputs", "value_inputs", "plan_margin",
           "retention_value", "active_customers", "Pilot", "pilot_data", "PilotAnalysis",
           "analyse_pilot", "PilotStep", "pilot_step", "target_candidates", "pilot_uplift",
           "replay_on_pilot", "BudgetPlan", "budget_plan", "write_targets", "EmpcReport",
           "empc_report", "Economics", "campaign_economics", "greedy_vs_exact",
           "CampaignRisk", "campaign_risk", "effect_uncertainty", "nps_shares",
           "TargetingDecision", "targeting_decision", "ClaimsStep", "claims_step"]


# ---------------------------------------------------------------- inputs
@dataclass
class ChurnInputs:
    """Churn probabilities for active customers and out-of-fold scores for all."""

    scores: pd.DataFrame  # customer_id, churn_probability (active customers at as_of)
    oof: pd.DataFrame  # customer_id, churned, oof_probability
    source: str  # where both came from, in words
    from_run: bool  # True when both are notebook 04's artefacts of this run


def churn_inputs(customers: pd.DataFrame, *, as_of, seed: int, run_dir: str | Path,
                 interactions: pd.DataFrame | None = None, horizon_months: int = 6,
                 kind: str = "ensemble", calibration: str = "sigmoid") -> ChurnInputs:
    """Notebook 04's current and out-of-fold churn scores (artefacts ``churn_scores`` and
    ``churn_oof``) when 04 ran in ``run_dir``; otherwise the same model fitted here with
    04's parameters (``kind``, ``calibration``, ``horizon_months``, the interactions
    history): :func:`crm_lib.churn.score_customers` and
    :func:`crm_lib.churn.out_of_fold_scores`. ``source`` says which was used."""
    from .. import churn  # the churn model package (sklearn pipelines), needed only here
    scores = artefacts.read(run_dir, "churn_scores")
    oof = artefacts.read(run_dir, "churn_oof")
    setting = (f"{kind} model, {calibration} calibration, churn within {horizon_months} "
               "months: notebook 04's parameters")
    hist = {"interactions": interactions} if interactions is not None else {}
    parts = []
    if scores is None:
        scores, _ = churn.score_customers(customers, as_of=as_of, seed=seed,
                                          horizon_months=horizon_months, kind=kind,
                                          calibration=calibration, **hist)
        parts.append(f"current scores fitted here ({setting})")
    else:
        parts.append("current scores from notebook 04 of this run (scores.parquet)")
    if oof is None:
        oof = churn.out_of_fold_scores(customers, seed=seed, as_of=as_of,
                                       horizon_months=horizon_months, kind=kind,
                                       calibration=calibration, **hist)
        parts.append(f"out-of-fold scores cross-validated here ({setting})")
    else:
        parts.append("out-of-fold scores from notebook 04 of this run (oof.parquet)")
    from_run = all("notebook 04 of this run" in p for p in parts)
    active = active_customers(customers, as_of)["customer_id"].astype(str)
    scores = scores[scores["customer_id"].astype(str).isin(active)]
    return ChurnInputs(scores[["customer_id", "churn_probability"]].reset_index(drop=True),
                       oof[["customer_id", "churned", "oof_probability"]].reset_index(drop=True),
                       "; ".join(parts), from_run)


def value_inputs(customers: pd.DataFrame, transactions: pd.DataFrame | None, *, as_of,
                 run_dir: str | Path) -> tuple[pd.DataFrame | None, str]:
    """Per-customer shop CLV: artefact ``clv`` of notebook 03 when it ran in ``run_dir``,
    else :func:`crm_lib.value.customer_value` with its defaults; ``(None, reason)``
    without transactions."""
    clv = artefacts.read(run_dir, "clv")
    if clv is not None:
        return clv[["customer_id", "clv"]], "shop CLV from notebook 03 of this run (clv.parquet)"
    if transactions is None:
        return None, "no transactions table: value = plan margin only"
    from .. import value  # BG/NBD + Gamma-Gamma, needed only when 03 did not run
    out = value.customer_value(transactions, customers, as_of=as_of)
    return (out[["customer_id", "clv"]],
            "shop CLV computed here with notebook 03's default settings")


def active_customers(customers: pd.DataFrame, as_of) -> pd.DataFrame:
    """Customers in a relationship at ``as_of``: signed up by then and not ended by then.

    The one definition (:func:`crm_lib.churn.definition.active_at` on
    :func:`~crm_lib.churn.definition.prepare_customers`): an end date after
    ``as_of`` has not happened yet, so no look-ahead when ``as_of`` is in the past.
    """
    c = prepare_customers(customers, as_of)
    return customers[active_at(c, as_of).to_numpy()].reset_index(drop=True)


# ---------------------------------------------------------------- the pilot
@dataclass
class Pilot:
    """One campaign of the campaigns table, with pre-treatment features."""

    campaign_id: str
    date: pd.Timestamp
    frame: pd.DataFrame  # customer_id, treated, churned_after, accepted, offer_cost
    X: pd.DataFrame  # pre-treatment features, same row order as frame


def pilot_data(campaigns: pd.DataFrame, customers: pd.DataFrame, *,
               interactions: pd.DataFrame | None = None, campaign_id: str = "") -> Pilot:
    """The campaign to analyse (``campaign_id``, default: the largest with both arms)."""
    need = ["customer_id", "campaign_id", "date", "treated", "churned_after"]
    missing = [c for c in need if c not in campaigns]
    if missing:
        raise ValueError(f"campaigns: missing column(s) {', '.join(missing)}")
    camp = campaigns.dropna(subset=["treated", "churned_after"])
    arms = camp.groupby("campaign_id")["treated"].agg(["nunique", "size"])
    both = arms[arms["nunique"] == 2]
    if campaign_id:
        if campaign_id not in arms.index:
            raise ValueError(f"campaigns: no campaign_id {campaign_id!r} "
                             f"(have {', '.join(map(str, arms.index))})")
    elif both.empty:
        raise ValueError("campaigns: no campaign has both a treated and a control arm; "
                         "an effect cannot be estimated without a control group")
    cid = campaign_id or str(both["size"].idxmax())
    frame = camp[camp["campaign_id"] == cid].drop_duplicates("customer_id")
    date = pd.to_datetime(frame["date"]).min()
    X_all = feat.pre_treatment_features(customers, date, interactions=interactions)
    frame = frame[frame["customer_id"].isin(X_all.index)].reset_index(drop=True)
    X = X_all.loc[frame["customer_id"]].reset_index(drop=True)
    X = X.loc[:, X.std(ddof=0) > 0]
    keep = ["customer_id", "treated", "churned_after", "accepted", "offer_cost"]
    return Pilot(cid, date, frame[[k for k in keep if k in frame]], X)


@dataclass
class PilotAnalysis:
    """Everything notebook 05 learns from a pilot."""

    balance: up.BalanceReport
    ate: up.ATE
    accept_rate: float
    offer_cost: float
    oof: pd.DataFrame  # out-of-fold ranking scores per pilot customer, one column per ranking
    qini: dict[str, float]
    comparison: pd.DataFrame
    chosen: str
    models: dict = field(repr=False, default_factory=dict)
    qini_ci: dict = field(default_factory=dict)  # uplift model -> (qini, low, high)
    rule: str = ""  # why ``chosen`` was chosen


def analyse_pilot(pilot: Pilot, value: pd.Series, *, risk: pd.Series | None = None,
                  contact_cost: float, seed: int, level: float = 0.95,
                  budget_fraction: float = 1.0) -> PilotAnalysis:
    """Randomisation check, ATE, cross-fitted uplift models, Qini, policy comparison.

    Rankings compared: ``interaction`` (:class:`uplift.InteractionUplift` on the
    :data:`EFFECT_MODIFIERS` present), ``two_model`` and ``x_learner`` uplift,
    ``churn_risk`` (``risk``: churn probability per customer id, e.g. out-of-fold
    scores of notebook 04; default the control-arm churn model) and ``random``.
    Choice (``rule``): the uplift model with the highest cross-fitted Qini among those
    whose bootstrap Qini interval lies above zero; a profit curve's maximum over depths
    picks the luckiest ranking, so it decides only when no uplift model shows skill:
    then the ranking with the highest estimated pilot profit at a depth up to
    ``budget_fraction`` wins (random included: if nothing beats it, the campaign's
    value rests on the average effect alone).
    """
    f = pilot.frame
    y = f["churned_after"].astype(bool).to_numpy()
    t = f["treated"].astype(bool).to_numpy()
    balance = up.randomisation_check(pilot.X, t, seed=seed)
    ate = up.average_treatment_effect(y, t, level=level).with_balance(balance)
    acc = f.loc[t, "accepted"].astype("boolean").mean() if "accepted" in f else np.nan
    accept_rate = float(acc) if pd.notna(acc) else 1.0
    oc = f.loc[t, "offer_cost"].astype(float) if "offer_cost" in f else pd.Series([0.0])
    offer_cost = float(oc[oc > 0].mean()) if (oc > 0).any() else 0.0
    mods = [c for c in pilot.X.columns if c.split("[")[0] in EFFECT_MODIFIERS]
    models = {"interaction": up.InteractionUplift(modifiers=mods or None),
              "two_model": up.TwoModelUplift(), "x_learner": up.XLearnerUplift(propensity=0.5)}
    oof = pd.DataFrame({"customer_id": f["customer_id"]})
    for name, m in models.items():
        oof[name] = up.cross_fit_uplift(m, pilot.X, y, t, cv=5, seed=seed)
        m.fit(pilot.X, y, t)
    if risk is not None:
        oof["churn_risk"] = risk.reindex(f["customer_id"]).fillna(risk.median()).to_numpy()
    else:
        oof["churn_risk"] = models["two_model"].predict_outcomes(pilot.X)[0]
    v = value.reindex(f["customer_id"]).fillna(value.median()).to_numpy()
    cost = offer_cost * accept_rate + contact_cost
    rankings = {k: oof[k].to_numpy() for k in (*models, "churn_risk")}
    qini = {k: up.qini_auc(y, t, s) for k, s in rankings.items()}
    qini_ci = {k: up.qini_interval(y, t, oof[k], level=level, seed=seed) for k in models}
    comp = up.compare_policies(y, t, rankings, value=v, cost=cost, level=level)
    skilled = {k: ci for k, ci in qini_ci.items() if ci[1] > 0}
    if skilled:
        chosen = max(skilled, key=lambda k: skilled[k][0])
        rule = (f"uplift model with the highest cross-fitted Qini among those whose "
                f"{level:.0%} Qini interval is above zero")
    else:
        within = comp[comp["fraction"] <= budget_fraction + 1e-9]
        best = within.loc[within.groupby("policy")["profit"].idxmax()].set_index("policy")
        chosen = str(best["profit"].idxmax())
        rule = ("no uplift model's Qini interval is above zero: the ranking with the "
                "highest estimated pilot profit")
    return PilotAnalysis(balance, ate, accept_rate, offer_cost, oof, qini, comp, chosen,
                         models, qini_ci, rule)


# ---------------------------------------------------------------- the plan
def target_candidates(customers: pd.DataFrame, value: pd.Series, *, as_of,
                      churn: pd.Series, contact_cost: float, pilot: Pilot | None = None,
                      analysis: PilotAnalysis | None = None,
                      interactions: pd.DataFrame | None = None,
                      assumed: eco.CampaignParams | None = None) -> pd.DataFrame:
    """Active customers with their expected incremental profit of a contact.

    With a randomised pilot: the chosen ranking's score is mapped to the
    uplift measured in the pilot (:func:`uplift.calibrate_uplift`, shrunk to
    the average effect), restricted to customers like the pilot's (customer
    attribute levels that were constant in the pilot, e.g. month-to-month only).
    Without a causal pilot: ``churn`` probability x acceptance x value under
    the ``assumed`` economics, for the preventable share of churn only.
    Columns: customer_id, churn_probability, value, uplift, cost,
    expected_incremental_profit, p_nontargetable, basis.
    """
    act = active_customers(customers, as_of)
    X = feat.pre_treatment_features(customers, as_of, interactions=interactions)
    pnt = bud.nontargetable_probability(customers, X)
    ids = act["customer_id"]
    X_act = X.loc[ids]
    p = churn.reindex(ids).fillna(churn.median()).to_numpy()
    out = pd.DataFrame({"customer_id": ids.to_numpy(), "churn_probability": p,
                        "value": value.reindex(ids).fillna(value.median()).to_numpy(),
                        "p_nontargetable": pnt.reindex(ids).fillna(0.0).to_numpy()})
    if analysis is not None and pilot is not None and analysis.ate.causal:
        # stay within the population the pilot covered
        full_pilot = X.loc[pilot.frame["customer_id"]]
        attrs = [c for c in full_pilot.columns if "[" in c and not c.startswith("complaints")]
        const = [c for c in attrs if full_pilot[c].nunique() == 1]
        inside = (X_act[const] == full_pilot[const].iloc[0]).all(axis=1).to_numpy()
        name = analysis.chosen
        if name in analysis.models:
            new = analysis.models[name].predict(X_act.reindex(columns=pilot.X.columns,
                                                              fill_value=0.0))
        elif name == "churn_risk":
            new = p
        else:
            new = np.zeros(len(ids))
        u = pilot_uplift(pilot, analysis, new)
        out["uplift"] = np.where(inside, u, np.nan)
        out["cost"] = analysis.offer_cost * analysis.accept_rate + contact_cost
        out["basis"] = f"pilot-measured uplift by {name.replace('_', ' ')} ranking"
        out = out[inside].reset_index(drop=True)
    else:
        prm = assumed or eco.CampaignParams(contact_cost=contact_cost)
        preventable = out["churn_probability"] * (1 - out["p_nontargetable"])
        out["uplift"] = preventable * prm.accept_rate
        out["cost"] = eco.contact_cost_expected(out["churn_probability"], prm)
        out["basis"] = "churn risk x assumed acceptance (no causal pilot)"
    out["expected_incremental_profit"] = eco.incremental_profit(out["uplift"], out["value"],
                                                                out["cost"])
    return out


def pilot_uplift(pilot: Pilot, analysis: PilotAnalysis, new_scores) -> np.ndarray:
    """Expected reduction in churn probability for customers with ranking ``new_scores``.

    For an uplift model (``analysis.chosen`` in ``analysis.models``) the score *is* the
    model's estimate of the individual effect and is used as is, so the plan keeps the
    model's ranking inside every segment. For a ranking that is not on the uplift scale
    (churn risk, random) the score is mapped to the uplift measured in its quantile bin of
    the pilot (:func:`uplift.calibrate_uplift`, 5 bins, shrunk to the average effect).
    """
    name = analysis.chosen
    new = np.asarray(new_scores, dtype=float)
    if name in analysis.models:
        return new
    f = pilot.frame
    y, t = f["churned_after"].astype(bool), f["treated"].astype(bool)
    train = analysis.oof[name].to_numpy() if name in analysis.oof else np.zeros(len(f))
    return up.calibrate_uplift(train, y, t, new, bins=5 if name != "random" else 1,
                               shrink_to=-analysis.ate.effect)


def replay_on_pilot(pilot: Pilot, analysis: PilotAnalysis, value: pd.Series, *,
                    budget: float, contact_cost: float) -> pd.DataFrame:
    """The notebook's plan made for the pilot customers themselves, scored out of fold.

    Every pilot customer gets the expected incremental profit the plan would give them
    (:func:`pilot_uplift` of the chosen ranking's *out-of-fold* score x value - expected
    spend) and :func:`budget.plan_campaign` chooses within ``budget``, exactly as for the
    active customers. Scoring out of fold means no customer is judged by a model that saw
    their outcome, so the selection can be compared with what it would truly earn.
    """
    f = pilot.frame
    name = analysis.chosen
    score = analysis.oof[name].to_numpy() if name in analysis.oof else np.zeros(len(f))
    u = pilot_uplift(pilot, analysis, score)
    v = value.reindex(f["customer_id"]).fillna(value.median()).to_numpy()
    cost = analysis.offer_cost * analysis.accept_rate + contact_cost
    cand = pd.DataFrame({"customer_id": f["customer_id"].to_numpy(), "uplift": u, "value": v,
                         "cost": cost, "basis": f"{name.replace('_', ' ')} out of fold"})
    cand["expected_incremental_profit"] = eco.incremental_profit(cand["uplift"], v, cost)
    return bud.plan_campaign(cand, budget)


def write_targets(plan: pd.DataFrame, run_dir: str | Path, *, salt: str | None = None) -> pd.DataFrame:
    """Write the selected customers as artefact ``targets`` (targets.csv) of ``run_dir``
    (operational: the real ``customer_id`` to act on, its pseudonym, expected incremental
    profit, reason; sorted by rank) and return the same rows without ``customer_id``."""
    sel = plan[plan["selected"]].sort_values("rank")
    out = pd.DataFrame({"customer_id": sel["customer_id"].to_numpy(),  # operational: act on it
                        "customer": bud.pseudonymise(sel["customer_id"], salt).to_numpy(),
                        "expected_incremental_profit": sel["expected_incremental_profit"]
                        .round(2).to_numpy(),
                        "reason": sel["reason"].to_numpy()})
    artefacts.write(privacy.operational(out), run_dir, "targets")
    return out.drop(columns="customer_id")


# ---------------------------------------------------------------- notebook summaries
@dataclass
class EmpcReport:
    """EMPC, MPC and the CLV-aware EMPC of out-of-fold churn scores."""

    empc: object
    mpc: object
    empc_clv: object
    curve: pd.DataFrame
    perfect_curve: pd.DataFrame

    def metrics(self) -> dict[str, float]:
        return {"roi.empc": self.empc.value, "roi.empc_fraction": self.empc.fraction,
                "roi.mpc": self.mpc.value}

    def to_frame(self) -> pd.DataFrame:
        return self.table

    @property
    def table(self) -> pd.DataFrame:
        rows = [(r.measure, r.value, r.perfect, r.fraction)
                for r in (self.empc, self.mpc, self.empc_clv)]
        return pd.DataFrame(rows, columns=["measure", "profit_per_customer",
                                           "perfect_model", "fraction_targeted"]).round(3)


def empc_report(oof: pd.DataFrame, value: pd.Series, *, clv: float, incentive: float,
                contact_cost: float, alpha: float, beta: float) -> EmpcReport:
    """EMPC and MPC (constant ``clv``) and the CLV-aware EMPC (each customer's ``value``)."""
    from . import empc as em
    y = oof["churned"].astype(int).to_numpy()
    s = oof["oof_probability"].to_numpy(dtype=float)
    kw = dict(incentive=incentive, contact_cost=contact_cost)
    v = value.reindex(oof["customer_id"]).fillna(value.median()).to_numpy()
    return EmpcReport(
        em.empc(y, s, clv=clv, alpha=alpha, beta=beta, **kw),
        em.mpc(y, s, clv=clv, accept_rate=alpha / (alpha + beta), **kw),
        em.empc_clv(y, s, clv=v, alpha=alpha, beta=beta, **kw),
        em.expected_profit_by_fraction(y, s, clv=clv, alpha=alpha, beta=beta, **kw),
        em.expected_profit_by_fraction(y, y.astype(float), clv=clv, alpha=alpha, beta=beta,
                                       **kw))


@dataclass
class Economics:
    """Profit curve of a churn-risk campaign on the active customers."""

    curve: pd.DataFrame
    best: eco.Depth
    break_even: pd.DataFrame


def campaign_economics(scores: pd.DataFrame, value: pd.Series,
                       params: eco.CampaignParams) -> Economics:
    """Expected profit per contact (churn risk x acceptance x value - costs), its curve
    over targeting depth in decreasing risk, the optimal depth and break-even offer cost."""
    p = scores["churn_probability"].to_numpy(dtype=float)
    v = value.reindex(scores["customer_id"]).fillna(value.median()).to_numpy()
    prof = eco.expected_profit(p, v, params)
    curve = eco.profit_curve(p, prof, eco.contact_cost_expected(p, params))
    return Economics(curve, eco.optimal_depth(curve), eco.break_even_offer_cost(p, v, params))


def greedy_vs_exact(plan: pd.DataFrame, *, n: int = 40, seed: int = 42) -> pd.DataFrame:
    """Greedy and exact (MILP) selections on a random sample of ``n`` positive-profit
    candidates with a budget of a third of their total cost: profit of each."""
    ok = plan[plan["expected_incremental_profit"] > 0]
    sub = ok.sample(min(n, len(ok)), random_state=seed) if len(ok) else ok
    if sub.empty:
        return pd.DataFrame({"method": ["greedy", "exact"], "profit": [0.0, 0.0]})
    cap = float(sub["cost"].sum()) / 3
    p, c = sub["expected_incremental_profit"].to_numpy(), sub["cost"].to_numpy()
    g, e = bud.greedy_select(p, c, cap), bud.exact_select(p, c, cap)
    return pd.DataFrame({"method": ["greedy", "exact"], "customers": [g.sum(), e.sum()],
                         "spend": [c[g].sum(), c[e].sum()], "profit": [p[g].sum(), p[e].sum()],
                         "budget": cap})


def effect_uncertainty(analysis: PilotAnalysis | None, *, alpha: float, beta: float) -> float:
    """Relative sd of the campaign effect: the pilot ATE's |se / estimate| (capped at 2),
    or, without a causal pilot, the coefficient of variation of the Beta acceptance rate."""
    if analysis is not None and analysis.ate.causal and analysis.ate.effect < 0:
        return float(min(abs(analysis.ate.se / analysis.ate.effect), 2.0))
    mean = alpha / (alpha + beta)
    return float(np.sqrt(alpha * beta / ((alpha + beta) ** 2 * (alpha + beta + 1))) / mean)


def nps_shares(survey: pd.DataFrame | None, *, default: tuple[float, float]
               ) -> tuple[float, float, str]:
    """Promoter (9-10) and detractor (0-6) shares from the survey's ``nps`` item, or the
    ``default`` pair when there is no survey."""
    if survey is None or "nps" not in survey or survey["nps"].notna().sum() == 0:
        return default[0], default[1], "assumed (no survey)"
    n = pd.to_numeric(survey["nps"], errors="coerce").dropna()
    return float((n >= 9).mean()), float((n <= 6).mean()), f"survey ({len(n):,} answers)"


# ---------------------------------------------------------------- steps with "not available"
def _pct(x: float) -> str:
    return f"{x:.1%}"


def _money(x: float) -> str:
    return f"{x:,.0f}"


@dataclass
class PilotStep:
    """The pilot analysis, or why there is none (no campaigns table, no two-arm campaign)."""

    pilot: Pilot | None
    analysis: PilotAnalysis | None
    reason: str = ""  # why the pilot sections are not available

    @property
    def available(self) -> bool:
        return self.analysis is not None

    @property
    def causal(self) -> bool:
        return bool(self.available and self.analysis.ate.causal)

    def not_available(self) -> str:
        return f"Not available: {self.reason}"

    def check_text(self) -> str:
        """The campaign and the randomisation verdict, in words."""
        if not self.available:
            return self.not_available()
        b = self.analysis.balance
        return (f"campaign {self.pilot.campaign_id} on {self.pilot.date:%Y-%m-%d}: "
                f"{len(self.pilot.frame):,} customers\n"
                + ("RANDOMISED: " if b.randomised else "NOT RANDOMISED: ") + b.verdict)

    def ate_text(self) -> str:
        """The average effect with its interval and how to read it."""
        if not self.available:
            return self.not_available()
        from .. import fmt
        a, pa = self.analysis.ate, self.analysis
        return (f"churn treated {a.rate_treated:.2%} vs control {a.rate_control:.2%}: ATE "
                f"{fmt.pp(a.effect)} ({a.level:.0%} interval {fmt.pp(a.ci_low)} to "
                f"{fmt.pp(a.ci_high)}, p {fmt.pvalue(a.p_value)})\n{a.note}\n"
                f"offer cost {_money(pa.offer_cost)}, acceptance among treated "
                f"{pa.accept_rate:.1%}")

    def qini_table(self) -> pd.DataFrame | str:
        """Qini area of each uplift model with its bootstrap interval (cross-fitted)."""
        if not self.available:
            return self.not_available()
        rows = [{"uplift model": k.replace("_", " "), "Qini area": ci[0],
                 "interval low": ci[1], "interval high": ci[2],
                 "chosen": "yes" if k == self.analysis.chosen else ""}
                for k, ci in self.analysis.qini_ci.items()]
        return pd.DataFrame(rows)

    def choice_text(self) -> str:
        if not self.available:
            return self.not_available()
        return (f"chosen ranking: {self.analysis.chosen.replace('_', ' ')} "
                f"({self.analysis.rule})")

    def response_shares(self) -> pd.Series | None:
        """Shares of predicted persuadables, sure things, lost causes, do-not-disturbs."""
        if not self.available:
            return None
        pa = self.analysis
        p0, p1 = pa.models["interaction"].predict_outcomes(self.pilot.X)
        groups = up.response_groups(p0, p1, threshold=2 * pa.ate.se)  # below: no detectable effect
        return groups["group"].value_counts(normalize=True).reindex(
            ["persuadable", "sure_thing", "lost_cause", "do_not_disturb"]).fillna(0)

    def qini_curves(self) -> dict | None:
        if not self.available:
            return None
        f = self.pilot.frame
        return {k: up.uplift_curves(f["churned_after"], f["treated"], self.analysis.oof[k])
                for k in (*self.analysis.models, "churn_risk")}

    def metrics(self) -> dict[str, object]:
        if not self.available:
            return {"roi.ate": None, "roi.ate_ci_low": None, "roi.ate_ci_high": None,
                    "roi.qini_auc": None}
        pa = self.analysis
        best = pa.chosen if pa.chosen in pa.models else "interaction"
        return {"roi.ate": pa.ate.effect, "roi.ate_ci_low": pa.ate.ci_low,
                "roi.ate_ci_high": pa.ate.ci_high, "roi.pilot_randomised": pa.balance.randomised,
                "roi.qini_auc": pa.qini[best]}


def pilot_step(campaigns: pd.DataFrame | None, customers: pd.DataFrame, value: pd.Series, *,
               risk: pd.Series | None, contact_cost: float, seed: int, level: float = 0.95,
               campaign_id: str = "", interactions: pd.DataFrame | None = None) -> PilotStep:
    """:func:`pilot_data` and :func:`analyse_pilot` when there is a campaigns table with a
    two-arm campaign; otherwise a :class:`PilotStep` saying why not."""
    if campaigns is None:
        return PilotStep(None, None, "this source has no campaigns table, so the pilot-based "
                         "sections (randomisation check, ATE, uplift, Qini, policy comparison) "
                         "are skipped")
    try:
        pilot = pilot_data(campaigns, customers, interactions=interactions,
                           campaign_id=campaign_id)
    except ValueError as exc:
        return PilotStep(None, None, str(exc))
    pa = analyse_pilot(pilot, value, risk=risk, contact_cost=contact_cost, seed=seed,
                       level=level)
    return PilotStep(pilot, pa)


@dataclass
class BudgetPlan:
    """The targeting plan under the budget limit, and the optimiser's recommendation.

    The optimiser walks the eligible customers in decreasing expected profit per unit of
    spend (the greedy knapsack order) and stops where the marginal return (expected
    incremental profit per extra currency unit) falls below ``min_marginal_return``:
    that spend is the recommended budget. The ``budget`` parameter is a limit on it; it
    *binds* when it is smaller, and the plan (``targets.csv``) then stops at the limit.
    """

    plan: pd.DataFrame  # candidates with selected, rank, reason (the plan within the limit)
    curve: pd.DataFrame  # cumulative spend and profit in ratio order (eligible, profit > 0)
    budget: float
    min_marginal_return: float
    n_active: int
    recommended_budget: float
    recommended_n: int
    recommended_profit: float
    spend: float  # expected spend of the plan within the limit
    n_selected: int
    expected_profit: float  # of the plan within the limit
    marginal_return: float  # at the chosen point (the plan within the limit)

    @property
    def binds(self) -> bool:
        return bool(self.budget < self.recommended_budget - 1e-9)

    @property
    def selected(self) -> pd.DataFrame:
        return self.plan[self.plan["selected"]]

    def text(self) -> str:
        """The recommendation and the budget constraint, in words generated from the numbers."""
        excluded = int((self.plan["p_nontargetable"] > 0.5).sum()) \
            if "p_nontargetable" in self.plan else 0
        lines = [f"{len(self.plan):,} candidates, {excluded:,} excluded as natural/malicious "
                 "churn risks",
                 f"optimiser: spend {_money(self.recommended_budget)} on "
                 f"{self.recommended_n:,} customers ({self.recommended_n / max(self.n_active, 1):.1%}"
                 f" of the active base) for an expected incremental profit of "
                 f"{_money(self.recommended_profit)}; beyond that "
                 + (f"an extra unit of spend returns less than {self.min_marginal_return:.2f}"
                    if self.min_marginal_return > 0 else "no further contact is expected to pay")]
        if self.binds:
            lines.append(f"the budget limit of {_money(self.budget)} binds: the plan contacts "
                         f"{self.n_selected:,} customers for {_money(self.spend)}, where each extra "
                         f"unit of spend would still return {self.marginal_return:.2f}; raising "
                         f"the limit to {_money(self.recommended_budget)} adds "
                         f"{_money(self.recommended_profit - self.expected_profit)} expected profit")
        else:
            lines.append(f"the budget limit of {_money(self.budget)} does not bind: the plan "
                         f"spends {_money(self.spend)} on {self.n_selected:,} customers and "
                         f"leaves {_money(self.budget - self.spend)} unspent")
        return "\n".join(lines)

    def metrics(self) -> dict[str, object]:
        return {"roi.budget": self.budget, "roi.recommended_budget": self.recommended_budget,
                "roi.recommended_n": self.recommended_n,
                "roi.recommended_depth": self.recommended_n / max(self.n_active, 1),
                "roi.marginal_return": self.marginal_return, "roi.budget_binds": self.binds}


def _marginal(ratio: np.ndarray, end: int, window: int = 50) -> float:
    """Mean profit-per-spend ratio of the (up to ``window``) customers before position ``end``
    of the ratio order, or of the next one when ``end`` is 0: the local slope of the curve."""
    if len(ratio) == 0:
        return float("nan")
    if end <= 0:
        return float(ratio[0])
    return float(np.mean(ratio[max(0, end - window):end]))


def budget_plan(candidates: pd.DataFrame, budget: float, *, n_active: int,
                min_marginal_return: float = 0.0, exclude_above: float = 0.5) -> BudgetPlan:
    """:func:`budget.plan_campaign` within ``budget`` plus the unconstrained optimum (see
    :class:`BudgetPlan`)."""
    plan = bud.plan_campaign(candidates, budget, exclude_above=exclude_above)
    pnt = plan["p_nontargetable"] if "p_nontargetable" in plan else pd.Series(0.0, plan.index)
    ok = plan[(plan["expected_incremental_profit"] > 0) & (pnt <= exclude_above)]
    ratio = (ok["expected_incremental_profit"] / ok["cost"]).to_numpy()
    order = np.argsort(-ratio, kind="mergesort")
    ratio, cost = ratio[order], ok["cost"].to_numpy()[order]
    prof = ok["expected_incremental_profit"].to_numpy()[order]
    curve = pd.DataFrame({"n": np.arange(len(ratio) + 1), "spend": np.r_[0.0, np.cumsum(cost)],
                          "profit": np.r_[0.0, np.cumsum(prof)],
                          "marginal_return": np.r_[ratio[:1] if len(ratio) else [np.nan], ratio]})
    n_opt = int(np.sum(ratio >= max(min_marginal_return, 0.0)))
    sel = plan[plan["selected"]]
    n_sel = len(sel)
    spend = float(sel["cost"].sum())
    n_at_limit = int(np.searchsorted(curve["spend"].to_numpy(), min(budget, curve["spend"].iloc[
        n_opt]) + 1e-9, side="right") - 1)
    return BudgetPlan(plan, curve, float(budget), float(min_marginal_return), int(n_active),
                      float(curve["spend"].iloc[n_opt]), n_opt, float(curve["profit"].iloc[n_opt]),
                      spend, n_sel, float(sel["expected_incremental_profit"].sum()),
                      _marginal(ratio, n_at_limit))


@dataclass
class CampaignRisk:
    """What could go wrong: the Monte Carlo of the plan's profit, and its one ROI figure.

    ROI = expected profit / expected spend (both means over the draws): the one ROI of
    the project, recorded as ``roi.expected_roi`` and quoted by the summary.
    """

    mc: bud.MonteCarlo | None
    reason: str = ""

    @property
    def available(self) -> bool:
        return self.mc is not None

    @property
    def roi(self) -> float:
        if not self.available or self.mc.expected_spend <= 0:
            return float("nan")
        return float(self.mc.expected_profit / self.mc.expected_spend)

    def text(self) -> str:
        if not self.available:
            return f"Not available: {self.reason}"
        m = self.mc
        return (f"expected profit {_money(m.expected_profit)} (90% range "
                f"{_money(m.profit_interval[0])} to {_money(m.profit_interval[1])}) for an "
                f"expected spend of {_money(m.expected_spend)}: ROI (expected profit / spend) "
                f"{self.roi:.0%}; probability of losing money {m.prob_loss:.1%}")

    def metrics(self) -> dict[str, object]:
        if not self.available:
            return {"roi.expected_profit": 0.0, "roi.spend": 0.0, "roi.expected_roi": None,
                    "roi.prob_loss": None}
        return {"roi.expected_profit": self.mc.expected_profit, "roi.spend": self.mc.expected_spend,
                "roi.expected_roi": self.roi, "roi.prob_loss": self.mc.prob_loss}


def campaign_risk(plan: BudgetPlan, pilot: PilotStep, *, accept_rate: float,
                  contact_cost: float, alpha: float, beta: float, value_rel_sd: float,
                  n_draws: int, seed: int) -> CampaignRisk:
    """:func:`budget.monte_carlo_roi` for the selected customers: with a causal pilot the
    effect's uncertainty is the pilot's relative standard error and acceptance the
    pilot's; without one, the effect *is* churners accepting, with acceptance ~
    Beta(``alpha``, ``beta``)-like spread around ``accept_rate``."""
    sel = plan.selected
    if sel.empty:
        return CampaignRisk(None, "nobody is selected, so there is no campaign to simulate")
    use_pilot = pilot.causal
    mc = bud.monte_carlo_roi(
        sel["uplift"], sel["value"], sel["cost"], contact_cost=contact_cost,
        accept_rate=pilot.analysis.accept_rate if use_pilot else accept_rate,
        effect_rel_sd=effect_uncertainty(pilot.analysis, alpha=alpha, beta=beta),
        value_rel_sd=value_rel_sd, accept_concentration=alpha + beta,
        effect_from_acceptance=not use_pilot, n_draws=n_draws, seed=seed)
    return CampaignRisk(mc)


@dataclass
class TargetingDecision:
    """"Whom and how many to target", answered once: every lens, its number, the choice."""

    table: pd.DataFrame  # lens, assumptions, customers, share of active, recommended, reason
    recommended: str
    reason: str

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def sentence(self) -> str:
        r = self.table.set_index("lens").loc[self.recommended]
        return (f"Recommendation: {self.recommended}, {int(r['customers']):,} customers "
                f"({r['share of active']:.1%} of the active base), because {self.reason}.")


def targeting_decision(rep: EmpcReport, econ: Economics, plan: BudgetPlan, pilot: PilotStep, *,
                       empc_clv: float, empc_incentive: float, contact_cost: float,
                       alpha: float, beta: float, offer_cost: float,
                       accept_rate: float) -> TargetingDecision:
    """The four answers of notebook 05 side by side, with the recommended one and why.

    Generic EMPC and EMPC with customer values judge the churn *model* (fractions of a
    ranking by risk, acceptance ~ Beta); the economics optimum prices each contact with
    assumed acceptance and no limit; the budget plan is the optimiser on the expected
    incremental profit (the pilot's measured uplift when it is causal) with unpreventable
    churn excluded. The budget plan is recommended: it is the only lens that uses the
    offer's effect on this company's customers and the cost of each contact together.
    """
    n = max(plan.n_active, 1)
    gamma = f"acceptance ~ Beta({alpha:g}, {beta:g}) (mean {alpha / (alpha + beta):.0%})"
    effect = ("the randomised pilot's measured uplift" if pilot.causal
              else f"churn risk x assumed acceptance {accept_rate:.0%} (no causal pilot)")
    rows = [
        ("generic EMPC", f"one CLV of {empc_clv:,.0f} for everyone, incentive "
         f"{empc_incentive:,.0f}, contact {contact_cost:,.2f}, {gamma}; ranking by churn risk "
         "(Verbraken et al. 2013 standard assumptions)", rep.empc.fraction * n,
         "a yardstick of the churn model under standard assumptions, not this company's "
         "economics"),
        ("EMPC with customer values", f"each customer's own value of keeping, incentive "
         f"{empc_incentive:,.0f}, contact {contact_cost:,.2f}, {gamma}; ranking by churn risk",
         rep.empc_clv.fraction * n,
         "still assumes that an accepting churner is saved, and ignores the budget"),
        ("economics optimum", f"churn risk x acceptance {accept_rate:.0%} x value - offer "
         f"{offer_cost:,.0f} x P(accept) - contact {contact_cost:,.2f}; no budget limit; "
         "natural and malicious churn counted as preventable", float(econ.best.n),
         "assumes acceptance saves a churner and counts churn no offer can prevent"),
        ("budget plan", f"{effect} x value - expected spend; natural and malicious churn "
         f"excluded; customers by profit per unit of spend until the marginal return falls "
         f"below {plan.min_marginal_return:.2f} (budget limit {plan.budget:,.0f} "
         f"{'binds' if plan.binds else 'does not bind'})", float(plan.recommended_n), ""),
    ]
    reason = ("it is the only lens that combines "
              + ("what the offer causes, measured in the randomised pilot"
                 if pilot.causal else "the assumed effect with the exclusion of unpreventable "
                 "churn")
              + ", each customer's value and the cost of each contact, and it stops where an "
              + (f"extra unit of spend returns less than {plan.min_marginal_return:.2f}"
                 if plan.min_marginal_return > 0 else "extra contact no longer adds profit"))
    tab = pd.DataFrame(rows, columns=["lens", "assumptions", "customers", "why not chosen"])
    tab["customers"] = tab["customers"].round().astype(int)
    tab["share of active"] = tab["customers"] / n
    tab["recommended"] = np.where(tab["lens"] == "budget plan", "yes", "")
    tab.loc[tab["lens"] == "budget plan", "why not chosen"] = "(chosen)"
    tab = tab[["lens", "assumptions", "customers", "share of active", "recommended",
               "why not chosen"]]
    return TargetingDecision(tab, "budget plan", reason)


@dataclass
class ClaimsStep:
    """The sources' claims recomputed with this company's numbers (section 10 of 05)."""

    annual_retention: float
    annual_margin: float
    retention: clm.RetentionClaim
    grid: pd.DataFrame
    saving: clm.SavingCost

    def retention_text(self) -> str:
        return (f"annual retention {self.annual_retention:.1%}, annual plan margin "
                f"{_money(self.annual_margin)} per customer: " + self.retention.sentence())

    def metrics(self) -> dict[str, object]:
        return {**self.retention.metrics("roi"), **self.saving.metrics()}


def claims_step(customers: pd.DataFrame, plan: BudgetPlan, *, as_of, margin_rate: float,
                annual_discount_rate: float, retention_gain: float,
                acquisition_cost: float) -> ClaimsStep:
    """Reichheld & Sasser's "5 points" with the observed annual retention and the mean
    annual plan margin (:func:`plan_margin` x 12), and the cost of saving a customer of the
    plan against ``acquisition_cost`` (:func:`claims.saving_cost`)."""
    r = clm.observed_retention(customers, as_of, period_months=12)
    margin = 12 * float(plan_margin(customers, margin_rate=margin_rate).mean())
    claim = clm.retention_claim(margin, r, annual_discount_rate, delta=retention_gain,
                                acquisition_cost=acquisition_cost)
    grid = clm.retention_lift_grid(margin, [x / 100 for x in range(50, 94)],
                                   [0.05, annual_discount_rate, 0.15], delta=retention_gain,
                                   acquisition_costs=(0.0, acquisition_cost))
    return ClaimsStep(r, margin, claim, grid, clm.saving_cost(plan.plan,
                                                              acquisition_cost=acquisition_cost))
