"""The steps notebook 05 strings together: inputs, pilot analysis, targeting plan.

Each function is one named step of the notebook, built on the method
modules (:mod:`.economics`, :mod:`.empc`, :mod:`.uplift`, :mod:`.budget`).
Upstream artefacts come from the run folder when notebooks 03 and 04 ran in
the same run (``clv.parquet``, ``scores.parquet``), otherwise from
``crm_lib.value`` and ``crm_lib.churn``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import privacy
from . import budget as bud
from . import economics as eco
from . import features as feat
from . import uplift as up

#: Candidate effect modifiers of a retention offer, fixed before the pilot is analysed:
#: who a competitor targets (age), how tied-in and how costly the customer is (contract,
#: products, bill) and whether contact annoys them (unresolved complaints).
EFFECT_MODIFIERS = ("age", "tenure_months", "contract", "n_products", "monthly_charges", "autopay",
                    "complaints", "unresolved_complaints")

__all__ = ["ChurnInputs", "churn_inputs", "value_inputs", "retention_value",
           "active_customers", "Pilot", "pilot_data", "PilotAnalysis", "analyse_pilot",
           "target_candidates", "pilot_uplift", "replay_on_pilot",
           "write_targets"]


# ---------------------------------------------------------------- inputs
@dataclass
class ChurnInputs:
    """Churn probabilities for active customers and out-of-fold scores for all."""

    scores: pd.DataFrame  # customer_id, churn_probability (active customers at as_of)
    oof: pd.DataFrame  # customer_id, churned, oof_probability
    source: str


def _module(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def baseline_oof_scores(customers: pd.DataFrame, X: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Out-of-fold churn probabilities of a spline logistic regression on ``X`` (5 folds).

    A stand-in for ``crm_lib.churn.out_of_fold_scores`` when that module is absent.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import SplineTransformer, StandardScaler
    y = customers.set_index("customer_id")["churned"].astype("boolean").fillna(False)
    y = y.reindex(X.index).astype(int)
    model = make_pipeline(StandardScaler(), SplineTransformer(n_knots=4, degree=2),
                          LogisticRegression(C=0.5, max_iter=5000))
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    p = cross_val_predict(model, X.to_numpy(), y.to_numpy(), cv=folds,
                          method="predict_proba")[:, 1]
    return pd.DataFrame({"customer_id": X.index, "churned": y.to_numpy(), "oof_probability": p})


def churn_inputs(customers: pd.DataFrame, *, as_of, seed: int, run_dir: str | Path,
                 interactions: pd.DataFrame | None = None) -> ChurnInputs:
    """Churn scores: ``scores.parquet`` of notebook 04 when present in ``run_dir``, else
    ``crm_lib.churn.score_customers``; out-of-fold scores from
    ``crm_lib.churn.out_of_fold_scores``. If ``crm_lib.churn`` is not installed, a
    cross-validated spline-logistic baseline on :func:`features.pre_treatment_features`
    stands in (and ``source`` says so)."""
    churn = _module("crm_lib.churn")
    path = Path(run_dir) / "scores.parquet"
    active = active_customers(customers, as_of)["customer_id"]
    if churn is not None:
        if path.exists():
            scores, src = pd.read_parquet(path), "scores.parquet (notebook 04)"
        else:
            scores, _ = churn.score_customers(customers, as_of=as_of, seed=seed,
                                              interactions=interactions)
            src = "crm_lib.churn.score_customers"
        import inspect
        extra = {k: v for k, v in (("as_of", as_of), ("interactions", interactions))
                 if k in inspect.signature(churn.out_of_fold_scores).parameters}
        oof = churn.out_of_fold_scores(customers, seed=seed, **extra)
    else:
        X = feat.pre_treatment_features(customers, as_of, interactions=interactions)
        oof = baseline_oof_scores(customers, X, seed)
        scores = oof.rename(columns={"oof_probability": "churn_probability"})
        src = "baseline spline logistic regression (crm_lib.churn not available)"
    scores = scores[scores["customer_id"].isin(active)][["customer_id", "churn_probability"]]
    return ChurnInputs(scores.reset_index(drop=True), oof[["customer_id", "churned",
                                                          "oof_probability"]], src)


def value_inputs(customers: pd.DataFrame, transactions: pd.DataFrame | None, *, as_of,
                 run_dir: str | Path) -> tuple[pd.DataFrame | None, str]:
    """Per-customer shop CLV: ``clv.parquet`` of notebook 03, else
    ``crm_lib.value.customer_value``; ``(None, reason)`` without transactions."""
    path = Path(run_dir) / "clv.parquet"
    if path.exists():
        return pd.read_parquet(path)[["customer_id", "clv"]], "clv.parquet (notebook 03)"
    if transactions is None:
        return None, "no transactions table: value = plan margin only"
    value = _module("crm_lib.value")
    if value is None:
        return None, "crm_lib.value not available: value = plan margin only"
    out = value.customer_value(transactions, customers, as_of=as_of)
    return out[["customer_id", "clv"]], "crm_lib.value.customer_value"


def active_customers(customers: pd.DataFrame, as_of) -> pd.DataFrame:
    """Customers still in a relationship at ``as_of`` (not churned)."""
    churned = customers["churned"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    signup = pd.to_datetime(customers["signup_date"], errors="coerce")
    return customers[~churned & (signup <= pd.Timestamp(as_of))].reset_index(drop=True)


def retention_value(customers: pd.DataFrame, clv: pd.DataFrame | None = None, *,
                    margin_rate: float, horizon_months: int, annual_discount_rate: float,
                    monthly_retention: float = 1.0, default_monthly_charges: float = 50.0
                    ) -> pd.Series:
    """Value of keeping each customer: discounted plan margin over a horizon + shop CLV.

    Plan margin = ``margin_rate`` x ``monthly_charges`` (the default when the
    column is missing), see :func:`economics.retained_value`.
    """
    c = customers.set_index("customer_id")
    charges = pd.to_numeric(c["monthly_charges"], errors="coerce") \
        if "monthly_charges" in c else pd.Series(np.nan, index=c.index)
    charges = charges.fillna(default_monthly_charges).astype(float)
    extra = 0.0
    if clv is not None:
        extra = clv.set_index("customer_id")["clv"].reindex(c.index).fillna(0.0).clip(lower=0)
        extra = extra.to_numpy(dtype=float)
    v = eco.retained_value(margin_rate * charges.to_numpy(), horizon_months=horizon_months,
                           annual_discount_rate=annual_discount_rate,
                           monthly_retention=monthly_retention, extra_value=extra)
    return pd.Series(v, index=c.index, name="retention_value")


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


def write_targets(plan: pd.DataFrame, path: str | Path, *, salt: str) -> pd.DataFrame:
    """Write the selected customers to ``path`` (CSV, operational: the real
    ``customer_id`` to act on, its pseudonym, expected incremental profit, reason;
    sorted by rank) and return the same rows without ``customer_id`` (for display)."""
    sel = plan[plan["selected"]].sort_values("rank")
    out = pd.DataFrame({"customer_id": sel["customer_id"].to_numpy(),  # operational: act on it
                        "customer": bud.pseudonymise(sel["customer_id"], salt).to_numpy(),
                        "expected_incremental_profit": sel["expected_incremental_profit"]
                        .round(2).to_numpy(),
                        "reason": sel["reason"].to_numpy()})
    privacy.operational(out).to_csv(path, index=False)
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


def greedy_vs_exact(plan: pd.DataFrame, *, n: int = 40, seed: int = 0) -> pd.DataFrame:
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


def campaign_monte_carlo(plan: pd.DataFrame, *, accept_rate: float, contact_cost: float,
                         effect_rel_sd: float, value_rel_sd: float, n_draws: int, seed: int,
                         accept_concentration: float = 50.0,
                         effect_from_acceptance: bool = False) -> bud.MonteCarlo:
    """:func:`budget.monte_carlo_roi` for the selected customers of ``plan``."""
    sel = plan[plan["selected"]]
    return bud.monte_carlo_roi(sel["uplift"], sel["value"], sel["cost"],
                               contact_cost=contact_cost, accept_rate=accept_rate,
                               effect_rel_sd=effect_rel_sd, value_rel_sd=value_rel_sd,
                               accept_concentration=accept_concentration,
                               effect_from_acceptance=effect_from_acceptance,
                               n_draws=n_draws, seed=seed)


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
