"""The demo company: a seeded mobile operator with a known, written-down truth.

A vectorised simulation (loops run over 30-day periods, never over
customers) of the mechanisms in ``shared/DEMO_COMPANY.md``:

- customers with signup over four years, channel, region, plan, contract,
  products held (switching costs), price-sensitivity and credit-risk
  segments, autopay;
- latent attitudes from an ECSI structural model with known standardised
  paths (Tenenhaus et al. 2005 layout): expectations <- image; quality <-
  expectations; value <- expectations, quality; satisfaction <- image,
  quality, value; complaints propensity <- satisfaction; loyalty <- image,
  satisfaction;
- churn as competing risks with monthly cause-specific hazards, at risk from the
  day after signup (the signup month for the part of it left); the cause
  that fires is the recorded ``churn_reason``; a hidden gamma frailty makes the
  churn-prone leave first, so cohort retention rises with tenure (sBG);
- disengagement, the months before churn: a hidden absorbing state (entered
  more often by frail, dissatisfied, uncommitted customers; a share of poor fits
  from signup) that raises the exit hazard and leaves traces in the tables:
  late-payment reminders and plan-downgrade requests (interaction rows), more
  complaints, fewer shop purchases;
- complaints arriving faster when perceived quality is low, some never
  resolved; unresolved complaints raise retaliatory churn;
- two survey waves with ordered-category items (1-10) cut from latent
  responses of known loadings at construct-specific levels, some
  straight-liners, and an NPS item;
- shop purchases while the plan is held, from a BG/NBD process with
  Gamma-Gamma spend (Fader, Hardie & Lee 2005; Fader & Hardie 2013), time unit
  weeks; they stop when the plan ends;
- a randomised retention pilot with heterogeneous treatment effects
  (persuadables, sure things, lost causes, do-not-disturbs).

``generate`` returns the tables and the truth in memory; ``write_demo``
writes raw CSV files (byte-identical for the same parameters) plus
``ground_truth.json`` and ``customer_truth.csv`` in a separate truth folder
that analysis code never reads (:mod:`crm_lib.truth` is its one reader, used
by the notebooks' truth panels). The truth also holds the pseudo-true sBG
parameters with the true retention curve, the hazard ratios a Cox model of the
observable drivers converges to (marginal over the hidden traits), and the
attainable churn AUC (true probabilities of leaving within 3, 6 and 12 months). Teacher's handout:
``docs/demo_company.md``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from scipy import optimize, stats

PERIOD_DAYS = 30  # the churn simulation steps in 30-day "months"
N_PERIODS = 49  # about four years of history before as_of
WEEK = 7.0


@dataclass(frozen=True)
class DemoParams:
    """Size, seed and dates of the demo company."""

    n_customers: int = 20000
    seed: int = 42
    as_of: str = "2026-06-30"
    survey_size: int = 1500  # responses per wave
    pilot_size: int = 6000  # customers in the retention pilot (both arms), at most the eligible


@dataclass
class DemoData:
    """Raw contract tables, the ground truth and the per-customer truth."""

    tables: dict[str, pd.DataFrame]
    truth: dict
    customer_truth: pd.DataFrame


# --------------------------------------------------------------------------- truth constants
CHANNELS = {"web": 0.40, "store": 0.30, "partner": 0.20, "referral": 0.10}
REGIONS = ["North", "South", "East", "West", "Central"]
PLANS = {"basic": (0.45, 30.0), "standard": (0.35, 50.0), "premium": (0.20, 80.0)}
CONTRACTS = {"month-to-month": 0.50, "one_year": 0.30, "two_year": 0.20}
PRODUCTS = {1: 0.45, 2: 0.30, 3: 0.17, 4: 0.08}

#: Standardised structural paths of the ECSI model (FROM -> TO).
PATHS = {
    "image->expectations": 0.50,
    "expectations->quality": 0.55,
    "expectations->value": 0.20,
    "quality->value": 0.55,
    "image->satisfaction": 0.25,
    "quality->satisfaction": 0.35,
    "value->satisfaction": 0.30,
    "satisfaction->complaints": -0.50,
    "image->loyalty": 0.20,
    "satisfaction->loyalty": 0.55,
}
CONSTRUCT_ORDER = ["image", "expectations", "quality", "value", "satisfaction",
                   "complaints", "loyalty"]
#: Items: (name, construct, loading, reverse, wording)
ITEMS = [
    ("IMAG1", "image", 0.80, False, "The operator is trustworthy"),
    ("IMAG2", "image", 0.70, False, "The operator is innovative and forward looking"),
    ("IMAG3", "image", 0.75, False, "The operator cares about its customers"),
    ("IMAG4", "image", 0.65, True, "The operator has a poor reputation"),
    ("EXPE1", "expectations", 0.75, False, "Before joining I expected high overall quality"),
    ("EXPE2", "expectations", 0.70, False, "I expected the network to meet my needs"),
    ("EXPE3", "expectations", 0.60, False, "I expected few problems"),
    ("QUAL1", "quality", 0.85, False, "Overall quality of the network"),
    ("QUAL2", "quality", 0.80, False, "Quality of customer service"),
    ("QUAL3", "quality", 0.75, False, "Clarity of billing"),
    ("QUAL4", "quality", 0.70, True, "Calls often drop or fail"),
    ("QUAL5", "quality", 0.65, False, "Coverage where I live and work"),
    ("VALU1", "value", 0.85, False, "Quality given the price I pay"),
    ("VALU2", "value", 0.80, False, "Price given the quality I get"),
    ("VALU3", "value", 0.70, True, "I pay too much for what I get"),
    ("SATI1", "satisfaction", 0.90, False, "Overall, I am satisfied with the operator"),
    ("SATI2", "satisfaction", 0.80, False, "The operator meets my expectations"),
    ("SATI3", "satisfaction", 0.75, True, "The operator falls short of an ideal operator"),
    ("COMP1", "complaints", 0.75, False, "I have had reasons to complain"),
    ("COMP2", "complaints", 0.70, False, "I would complain if I had a problem"),
    ("COMP3", "complaints", 0.65, False, "I have been frustrated by the operator"),
    ("LOYA1", "loyalty", 0.85, False, "I will choose this operator again"),
    ("LOYA2", "loyalty", 0.75, False, "I would stay even if prices rose a little"),
    ("LOYA3", "loyalty", 0.70, True, "I am considering switching operator"),
]
SCALE = (1, 10)
NPS_LOADING = 0.85  # correlation of the latent recommend propensity with loyalty
ITEM_MISSING = 0.02
ANONYMOUS_SHARE = 0.05

#: Log-linear churn drivers: hazard ratios multiplying the voluntary causes.
HAZARD_RATIOS = {
    "contract[one_year]": 0.30,  # vs month-to-month
    "contract[two_year]": 0.10,
    "n_products": 0.70,  # per extra product held (cross-sell raises switching costs)
    "monthly_charges_per_10": 1.25,  # per 10 currency units of monthly bill
}
LOG_LINEAR_CAUSES = ("competitive", "fault", "retaliatory")
BASE_HAZARD = {  # monthly, at the reference customer (month-to-month, 1 product, charges 50)
    "competitive": 0.0036,
    "fault": 0.00036,
    "retaliatory": 0.0006,
    "lapsed": 0.00135,
    "malicious": 0.0450,  # credit-risk segment only
    "natural": 0.0015,
}
PRICE_SENSITIVE_SHARE = 0.30
PRICE_SENSITIVE_HR = 2.0  # on competitive churn
CREDIT_RISK_SHARE = 0.03
AUTOPAY_SHARE = 0.60
AUTOPAY_HR_LAPSED = 0.35
UNRESOLVED_HR = 2.2  # retaliatory hazard ratio per unresolved complaint (capped at 3)
QUALITY_HR_FAULT = 0.6  # fault hazard ratio per SD of perceived quality
PRICE_RISE_PERIOD = N_PERIODS - 15  # a dated price increase
PRICE_RISE_HR = 3.0  # competitive hazard multiplier in that month
OUTAGE_PERIOD = N_PERIODS - 21  # a dated network outage in one region
OUTAGE_REGION = "North"
OUTAGE_HR = 15.0  # fault hazard multiplier in that month and region
# zone-shaped satisfaction effect on voluntary causes (competitive, retaliatory):
#   zone(s) = floor + steep / (1 + exp(k (s - s_defect))) - lift / (1 + exp(-k (s - s_affect)))
ZONE = {"floor": 0.40, "steep": 2.60, "s_defect": -1.0, "k": 4.0, "lift": 0.25,
        "s_affect": 1.0}

COMPLAINT_RATE = 0.035  # per month at average quality
COMPLAINT_QUALITY_SLOPE = -0.7  # log-rate per SD of quality
UNRESOLVED_SHARE = 0.25

#: Shop purchase process (time unit: weeks).
BGNBD = {"r": 0.25, "alpha": 4.0, "a": 0.80, "b": 2.50}
GAMMA_GAMMA = {"p": 6.0, "q": 4.0, "gamma": 15.0}
REFUND_SHARE = 0.01

PILOT_LEAD_PERIODS = 5  # the pilot starts 150 days before as_of
PILOT_HORIZON_PERIODS = 3  # churn observed within 90 days
OFFER_COST = 20.0
ACCEPT_RATE = {"treated": 0.35}
#: During the pilot window a competitor runs a promotion aimed at young customers: an extra
#: competitive hazard PROMO_HAZARD x (log-linear drivers) for customers under PROMO_MAX_AGE.
#: The retention offer matches it: for treated persuadables that extra hazard disappears, so
#: the size of their effect depends on visible columns only (age, contract, products, bill).
PROMO_HAZARD = 0.06
PROMO_MAX_AGE = 35
DO_NOT_DISTURB_HR = 2.0  # competitive, fault, retaliatory multiplier when treated
DND_MIN_UNRESOLVED = 2  # unresolved complaints that make contact backfire

#: Heterogeneous churn propensity: a gamma frailty W ~ Gamma(shape, 1/shape) (mean 1) multiplies
#: the FRAILTY_CAUSES hazards, so the churn-prone leave first and cohort retention rises with
#: tenure (the sorting the sBG model describes; Vaupel, Manton & Stallard 1979).
FRAILTY_SHAPE = 1.5
FRAILTY_CAUSES = ("competitive", "fault", "retaliatory", "lapsed")
#: Disengagement: the months before churn. Each month an engaged customer disengages with
#: probability DISENGAGE_RATE x (log-linear drivers) x W x sqrt(zone) (frail and dissatisfied
#: customers drift away sooner; contracts and products hold them). Once disengaged (absorbing) the FRAILTY_CAUSES hazards rise by DISENGAGED_EXIT, and the
#: customer leaves traces in the tables: fewer shop purchases, more complaints, late-payment
#: reminders and plan-downgrade requests (interaction rows of those categories).
DISENGAGE_RATE = 0.04
DISENGAGE_CAP = 0.5
#: poor fits: a share min(DISENGAGED_AT_SIGNUP x frailty, 0.5) is disengaged from the first
#: month (buyer's remorse), so early-tenure churn is high, as in real subscription data
DISENGAGED_AT_SIGNUP = 0.25
DISENGAGED_EXIT = 0.15  # extra monthly hazard once disengaged (about 6 months to leave)
DISENGAGED_COMPLAINT_MULT = 2.5
DISENGAGED_SHOP_MULT = 0.25  # shop purchase rate multiplier once disengaged
#: monthly probability of a late-payment reminder: (base + without autopay) x frailty
#: (+ credit risk) (+ disengaged)
LATE_PAYMENT = {"base": 0.01, "no_autopay": 0.02, "credit_risk": 0.35, "disengaged": 0.50}
#: monthly probability of a plan-downgrade request (at most one per customer)
DOWNGRADE = {"base": 0.002, "disengaged": 0.15}
CONTACT_CATEGORIES = ("late_payment", "plan_downgrade")  # interaction rows that are not complaints
ATTAINABLE_HORIZONS = (3, 6, 12)  # months; 04's horizon_months default is 6
SBG_FIT_MONTHS = 24  # 04's sbg_fit_months default
SBG_PERIOD_DAYS = 30.4375  # the period sbg.customer_periods counts in

#: Survey answers are ordered categories: answer = 1 + #(thresholds below level + y*), with
#: y* = loading x eta + error (unit variance). The level is construct-specific (how well the
#: operator performs on it), so the drivers' mean performance differs as in real ECSI data.
ITEM_THRESHOLDS = (-1.88, -1.55, -1.28, -0.99, -0.64, -0.31, 0.13, 0.67, 1.17)
CONSTRUCT_LEVEL = {"image": 0.35, "expectations": 0.60, "quality": 0.15, "value": -0.50,
                   "satisfaction": 0.20, "complaints": -0.70, "loyalty": 0.0}
STRAIGHTLINE_SHARE = 0.02  # respondents who tick the same box for every item


def zone(s: np.ndarray) -> np.ndarray:
    """The zone-shaped hazard multiplier of satisfaction (defection, indifference, affection)."""
    z = ZONE
    return (z["floor"] + z["steep"] / (1 + np.exp(z["k"] * (s - z["s_defect"])))
            - z["lift"] / (1 + np.exp(-z["k"] * (s - z["s_affect"]))))


def _latents(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Standardised latent scores from the ECSI structural model (unit variances)."""
    lat: dict[str, np.ndarray] = {}
    cov = {}  # covariances between already generated latents (population values)

    def c(a: str, b: str) -> float:
        return 1.0 if a == b else cov.get((a, b), cov.get((b, a), 0.0))

    for con in CONSTRUCT_ORDER:
        preds = {k.split("->")[0]: v for k, v in PATHS.items() if k.split("->")[1] == con}
        if not preds:
            lat[con] = rng.standard_normal(n)
            explained = 0.0
        else:
            names = list(preds)
            b = np.array([preds[p] for p in names])
            s = np.array([[c(p, q) for q in names] for p in names])
            explained = float(b @ s @ b)
            lat[con] = sum(preds[p] * lat[p] for p in names) + np.sqrt(1 - explained) * \
                rng.standard_normal(n)
            for other in list(lat):
                if other != con:
                    cov[(con, other)] = float(sum(preds[p] * c(p, other) for p in names))
        if explained >= 1:
            raise ValueError(f"paths into {con} explain more than all of its variance")
    return pd.DataFrame(lat)


def _ordinal(ystar: np.ndarray, level: float) -> np.ndarray:
    """Category 1-10 of a latent response: 1 + number of thresholds below level + y*."""
    return 1 + (level + ystar[..., None] > np.asarray(ITEM_THRESHOLDS)).sum(axis=-1)


def _items(rng: np.random.Generator, eta: pd.DataFrame) -> pd.DataFrame:
    """Ordinal items 1-10 from y* = loading * eta + error (see ITEM_THRESHOLDS, CONSTRUCT_LEVEL).

    Reverse-worded items are stored as 11 - answer; a STRAIGHTLINE_SHARE of respondents
    ticks the box of their first satisfaction answer for every item (reverse ones too).
    """
    out = {}
    for name, con, lam, rev, _ in ITEMS:
        y = lam * eta[con].to_numpy() + np.sqrt(1 - lam**2) * rng.standard_normal(len(eta))
        v = _ordinal(y, CONSTRUCT_LEVEL[con]).astype(float)
        out[name] = (SCALE[0] + SCALE[1] - v) if rev else v
    items = pd.DataFrame(out)
    flat = rng.random(len(eta)) < STRAIGHTLINE_SHARE
    items.loc[flat, :] = np.repeat(items.loc[flat, ["SATI1"]].to_numpy(), items.shape[1], axis=1)
    return items


def ordinal_item_moments(mean: float, sd: float, level: float) -> tuple[float, float, float]:
    """Mean, SD and correlation with y* of the 1-10 category when y* ~ N(mean, sd^2).

    The correlation (the polyserial attenuation) is sum_k phi(z_k) / SD(category), with
    z_k = (threshold_k - level - mean) / sd (Stein's lemma: Cov(1[Y > c], Y) = sd phi(z)).
    """
    zk = (np.asarray(ITEM_THRESHOLDS) - level - mean) / sd
    above = stats.norm.sf(zk)  # P(category > k)
    probs = -np.diff(np.r_[1.0, above, 0.0])
    cats = np.arange(1, len(ITEM_THRESHOLDS) + 2)
    m = float(probs @ cats)
    s = float(np.sqrt(probs @ cats**2 - m**2))
    return m, s, float(stats.norm.pdf(zk).sum() / s)


def ordinal_loadings(eta_r: pd.DataFrame) -> dict[str, float]:
    """Standardised loadings of the stored 1-10 items among respondents with latents ``eta_r``.

    corr(item, eta) = corr(y*, eta) x corr(item, y*): the first is the continuous loading in
    the respondents' population, l sd / sqrt(l^2 var + 1 - l^2); the second the attenuation
    of cutting y* into ten ordered categories (:func:`ordinal_item_moments`; y* treated as
    normal among respondents). Straight-lining is not part of it (2% of answers).
    """
    mean, var = eta_r.mean(), eta_r.var()
    out = {}
    for i, c, lam, _, _ in ITEMS:
        sd_y = np.sqrt(lam**2 * var[c] + 1 - lam**2)
        att = ordinal_item_moments(lam * mean[c], sd_y, CONSTRUCT_LEVEL[c])[2]
        out[i] = float(lam * np.sqrt(var[c]) / sd_y * att)
    return out


def item_loadings(eta_r: pd.DataFrame, reps: int = 20, seed: int = 0) -> dict[str, float]:
    """Standardised loadings of the stored items among respondents (Monte Carlo, one factor).

    Draws the answers of ``reps`` copies of the respondents ``eta_r`` with the survey's
    own item model (:func:`_items`: ordinal cut and 2% straight-liners, who tick one box
    for every item, reverse-worded ones too) and computes each recoded item's loading on
    its construct's common factor from the population correlations of the construct's
    items, by Spearman's triads (lambda_i = sqrt(r_ij r_ik / r_jk), averaged over pairs):
    what a confirmatory factor analysis of these answers converges to. Straight-lining
    adds common variance to the positively worded items and takes it from the reverse ones.
    Fixed seed: deterministic.
    """
    return _triad_loadings(_stored_answers(eta_r, reps, seed))


def _stored_answers(eta_r: pd.DataFrame, reps: int, seed: int) -> pd.DataFrame:
    """The recoded answers of ``reps`` copies of the respondents (the survey's item model)."""
    rng = np.random.default_rng(seed)
    eta = pd.concat([eta_r] * reps, ignore_index=True)
    items = _items(rng, eta)
    for i, _, _, rev, _ in ITEMS:
        if rev:
            items[i] = SCALE[0] + SCALE[1] - items[i]
    return items


def _triad_loadings(items: pd.DataFrame) -> dict[str, float]:
    """One-factor loading of each item from its construct's item correlations (triads)."""
    out = {}
    for con in CONSTRUCT_ORDER:
        names = [i for i, c, *_ in ITEMS if c == con]
        r = items[names].corr().to_numpy()
        for a_, name in enumerate(names):
            others = [b_ for b_ in range(len(names)) if b_ != a_]
            tri = [np.sqrt(r[a_, j] * r[a_, k] / r[j, k]) for x, j in enumerate(others)
                   for k in others[x + 1:]]
            out[name] = float(np.mean(tri))
    return out


#: ECSI paths a survey model estimates although the demo sets them to 0
ZERO_PATHS = ("expectations->satisfaction", "complaints->loyalty")


def survey_paths(eta_r: pd.DataFrame, reps: int = 20, seed: int = 0) -> dict[str, float]:
    """Standardised paths a consistent PLS (PLSc) of the stored answers converges to.

    Monte Carlo as :func:`item_loadings`: the answers of ``reps`` copies of the
    respondents; construct correlations of the unit-weighted composites corrected for
    their reliability (Spearman's disattenuation with the triad loadings: the PLSc
    correction, Dijkstra & Henseler 2015), then standardised OLS paths of each
    construct on its predictors (the truth's paths plus ZERO_PATHS). Straight-liners tick
    one box for satisfaction and complaints items alike, which pulls the negative
    satisfaction -> complaints path towards 0: what the survey can recover differs from
    the base's paths by that much.
    """
    items = _stored_answers(eta_r, reps, seed)
    lam = _triad_loadings(items)
    comp, rel = {}, {}
    for con in CONSTRUCT_ORDER:
        names = [i for i, c, *_ in ITEMS if c == con]
        comp[con] = items[names].mean(axis=1)
        lsum = sum(lam[i] for i in names)
        rel[con] = lsum**2 / (lsum**2 + sum(1 - lam[i]**2 for i in names))
    r = pd.DataFrame(comp).corr()
    for a_ in CONSTRUCT_ORDER:
        for b_ in CONSTRUCT_ORDER:
            if a_ != b_:
                r.loc[a_, b_] /= np.sqrt(rel[a_] * rel[b_])
    keys = list(PATHS) + list(ZERO_PATHS)
    out = {}
    for target in {k.split("->")[1] for k in keys}:
        preds = [k.split("->")[0] for k in keys if k.endswith("->" + target)]
        beta = np.linalg.solve(r.loc[preds, preds].to_numpy(), r.loc[preds, target].to_numpy())
        out.update({f"{p_}->{target}": float(b_) for p_, b_ in zip(preds, beta, strict=True)})
    return out


def construct_index_at(construct: str, s) -> np.ndarray:
    """Expected 0-100 index of a construct (mean of its recoded items) at latent score s."""
    s = np.atleast_1d(np.asarray(s, float))
    means = [[ordinal_item_moments(lam * x, np.sqrt(1 - lam**2), CONSTRUCT_LEVEL[c])[0]
              for x in s] for _, c, lam, _, _ in ITEMS if c == construct]
    return 100 * (np.mean(means, axis=0) - SCALE[0]) / (SCALE[1] - SCALE[0])


def expected_performance(construct: str) -> float:
    """Expected 0-100 index of a construct over the whole base (latent ~ N(0, 1))."""
    m = [ordinal_item_moments(0.0, 1.0, CONSTRUCT_LEVEL[c])[0] for _, c, *_ in ITEMS
         if c == construct]
    return float(100 * (np.mean(m) - SCALE[0]) / (SCALE[1] - SCALE[0]))


def _choice(rng, n, probs: dict):
    keys = list(probs)
    return np.array(keys, dtype=object)[rng.choice(len(keys), size=n, p=list(probs.values()))]


def generate(params: DemoParams = DemoParams()) -> DemoData:
    """Simulate the demo company (see module docstring); deterministic for a seed."""
    # one independent random stream per mechanism, so changing one (say the pilot) leaves
    # the others (say the shop purchases) byte-identical
    (rng, rng_pilot, rng_churn, rng_int, rng_survey, rng_shop, rng_extra, rng_frail,
     rng_trace) = (np.random.default_rng(s) for s in np.random.SeedSequence(params.seed).spawn(9))
    n = params.n_customers
    as_of = pd.Timestamp(params.as_of)
    start = as_of - pd.Timedelta(days=PERIOD_DAYS * N_PERIODS)
    ids = np.array([f"C{i:06d}" for i in range(1, n + 1)], dtype=object)

    # ---- customers and their latent traits
    signup_day = rng.integers(0, PERIOD_DAYS * N_PERIODS - 1, size=n)  # days after start
    signup_period = signup_day // PERIOD_DAYS
    channel = _choice(rng, n, CHANNELS)
    region = np.array(REGIONS, dtype=object)[rng.integers(0, len(REGIONS), n)]
    plan = _choice(rng, n, {k: v[0] for k, v in PLANS.items()})
    charges = np.array([PLANS[p][1] for p in plan]) + rng.normal(0, 6, n)
    charges = np.round(np.clip(charges, 10, None), 2)
    contract_type = _choice(rng, n, CONTRACTS)
    n_products = _choice(rng, n, PRODUCTS).astype(int)
    price_sensitive = rng.random(n) < PRICE_SENSITIVE_SHARE
    credit_risk = rng.random(n) < CREDIT_RISK_SHARE
    autopay = rng.random(n) < AUTOPAY_SHARE
    eta = _latents(rng, n)
    age = np.clip(np.round(rng_extra.normal(42, 13, n)), 18, 90).astype(int)
    young = age < PROMO_MAX_AGE
    switching_cost = (0.6 * (contract_type == "one_year") + 1.2 * (contract_type == "two_year")
                      + 0.35 * (n_products - 1))

    log_mult = (np.log(HAZARD_RATIOS["contract[one_year]"]) * (contract_type == "one_year")
                + np.log(HAZARD_RATIOS["contract[two_year]"]) * (contract_type == "two_year")
                + np.log(HAZARD_RATIOS["n_products"]) * (n_products - 1)
                + np.log(HAZARD_RATIOS["monthly_charges_per_10"]) * (charges - 50) / 10)
    mult = np.exp(log_mult)
    z = zone(eta["satisfaction"].to_numpy())
    quality = eta["quality"].to_numpy()

    # ---- the retention pilot: eligible = active at the pilot date (decided in the loop)
    pilot_period = N_PERIODS - PILOT_LEAD_PERIODS
    pilot_date = start + pd.Timedelta(days=PERIOD_DAYS * pilot_period)
    # response groups are set at the pilot date from visible state (see the loop):
    # do-not-disturb = unresolved complaints (contact reminds them to leave);
    # persuadable = young (the competitor's promotion targets them), not a do-not-disturb
    do_not_disturb = np.zeros(n, dtype=bool)
    persuadable = np.zeros(n, dtype=bool)
    pilot_u = rng_pilot.random(n)  # order for drawing the pilot sample
    treat_u = rng_pilot.random(n)
    accept_u = rng_pilot.random(n)

    # ---- heterogeneity and disengagement (hidden; their traces are visible)
    frailty = rng_frail.gamma(FRAILTY_SHAPE, 1 / FRAILTY_SHAPE, n)
    rho = np.minimum(DISENGAGE_RATE * mult * frailty * np.sqrt(z), DISENGAGE_CAP)
    ps_mult = np.where(price_sensitive, PRICE_SENSITIVE_HR, 1.0)
    p_late = ((LATE_PAYMENT["base"] + LATE_PAYMENT["no_autopay"] * ~autopay) * frailty
              + LATE_PAYMENT["credit_risk"] * credit_risk)

    # ---- monthly competing-risks loop (vectorised over customers)
    alive = np.ones(n, dtype=bool)
    end_period = np.full(n, -1)
    reason = np.full(n, "", dtype=object)
    unresolved = np.zeros(n)
    disengaged = np.zeros(n, dtype=bool)
    onset_period = np.full(n, -1)  # first period spent disengaged
    downgraded = np.zeros(n, dtype=bool)
    complaint_rows = []  # (customer index array, period, count array, unresolved count)
    contact_rows = []  # (customer index array, period, category)
    causes = list(BASE_HAZARD)
    exp_cause = dict.fromkeys(causes, 0.0)  # expected churns by cause (truth shares)
    tenure_expected = np.zeros(N_PERIODS + 2)  # expected churns by tenure period (sBG truth)
    # the observable Cox model's pseudo-truth: per customer and tenure period, the expected
    # churns of the log-linear causes (the compensator) and the time at risk
    cox_events = np.zeros((n, N_PERIODS))
    cox_risk = np.zeros((n, N_PERIODS))
    horizon_total = {}  # period -> (total hazard if engaged, if disengaged): attainable AUC
    in_pilot = np.zeros(n, dtype=bool)
    treated = np.zeros(n, dtype=bool)
    cum_h0 = np.zeros(n)
    cum_h1 = np.zeros(n)
    region_north = region == OUTAGE_REGION

    def hazards(t: int, dis) -> dict:
        """True monthly cause-specific hazards in period t; ``dis``: disengaged (bool or array)."""
        h = {
            "competitive": BASE_HAZARD["competitive"] * mult * z * ps_mult * frailty
            * (PRICE_RISE_HR if t == PRICE_RISE_PERIOD else 1.0),
            "fault": BASE_HAZARD["fault"] * mult * QUALITY_HR_FAULT ** quality * frailty
            * np.where(region_north & (t == OUTAGE_PERIOD), OUTAGE_HR, 1.0),
            "retaliatory": BASE_HAZARD["retaliatory"] * mult * np.sqrt(z) * frailty
            * UNRESOLVED_HR ** np.minimum(unresolved, 3),
            "lapsed": BASE_HAZARD["lapsed"] * np.where(autopay, AUTOPAY_HR_LAPSED, 1.0) * frailty,
            "malicious": BASE_HAZARD["malicious"] * credit_risk,
            "natural": BASE_HAZARD["natural"] * np.ones(n),
        }
        # a disengaged customer's voluntary hazards rise by DISENGAGED_EXIT in total, shared
        # in proportion to the causes (so the reason mix of a disengaged leaver is theirs)
        vol = sum(h[c_] for c_ in FRAILTY_CAUSES)
        up = 1 + np.where(dis, DISENGAGED_EXIT, 0.0) / vol
        return {c_: h[c_] * up if c_ in FRAILTY_CAUSES else h[c_] for c_ in h}

    def pilot_arms(h: dict) -> tuple[dict, dict]:
        """Hazards without and with the offer during the pilot horizon."""
        promo = PROMO_HAZARD * mult * young
        h0 = dict(h)
        h0["competitive"] = h["competitive"] + promo
        h1 = dict(h0)
        h1["competitive"] = np.where(persuadable, h0["competitive"] - promo, h0["competitive"])
        for cause in LOG_LINEAR_CAUSES:
            h1[cause] = np.where(do_not_disturb, h1[cause] * DO_NOT_DISTURB_HR, h1[cause])
        return h0, h1

    first_exposure = (PERIOD_DAYS * (signup_period + 1) - signup_day - 1) / PERIOD_DAYS
    poor_fit = rng_frail.random(n) < np.minimum(DISENGAGED_AT_SIGNUP * mult * frailty,
                                                 DISENGAGE_CAP)
    for t in range(N_PERIODS):
        # at risk from the signup day: in the signup period for the share of it left
        at_risk = alive & (signup_period <= t)
        exposure = np.where(signup_period == t, first_exposure, 1.0)
        present = alive & (signup_period <= t)
        joined = poor_fit & (signup_period == t)
        disengaged |= joined
        onset_period[joined] = t
        # complaints this period
        rate = COMPLAINT_RATE * np.exp(COMPLAINT_QUALITY_SLOPE * quality) * np.where(
            disengaged, DISENGAGED_COMPLAINT_MULT, 1.0)
        if t == OUTAGE_PERIOD:
            rate = rate + 0.30 * region_north
        k = rng_churn.poisson(rate) * present
        ku = rng_churn.binomial(k, UNRESOLVED_SHARE)
        has = k > 0
        if has.any():
            complaint_rows.append((np.flatnonzero(has), t, k[has], ku[has]))
        # late-payment reminders and downgrade requests (own stream: churn draws unchanged)
        late = present & (rng_trace.random(n) < p_late + LATE_PAYMENT["disengaged"] * disengaged)
        down = present & ~downgraded & (rng_trace.random(n) < DOWNGRADE["base"]
                                        + DOWNGRADE["disengaged"] * disengaged)
        downgraded |= down
        contact_rows += [(np.flatnonzero(late), t, "late_payment"),
                         (np.flatnonzero(down), t, "plan_downgrade")]
        if t == pilot_period:
            # the pilot targets the out-of-contract book: active month-to-month customers
            elig = np.flatnonzero(at_risk & (signup_period < t) & (contract_type == "month-to-month"))
            chosen = elig[np.argsort(pilot_u[elig], kind="stable")[:params.pilot_size]]
            do_not_disturb[:] = (unresolved >= DND_MIN_UNRESOLVED) & ~credit_risk
            persuadable[:] = young & ~credit_risk & ~do_not_disturb
            in_pilot[chosen] = True
            treated[chosen] = treat_u[chosen] < 0.5
        in_horizon = pilot_period <= t < pilot_period + PILOT_HORIZON_PERIODS

        def realised(h: dict, in_horizon: bool = in_horizon) -> dict:
            if not in_horizon:
                return h
            h0, h1 = pilot_arms(h)
            return {c_: np.where(treated, h1[c_], h0[c_]) for c_ in causes}

        h = hazards(t, disengaged)
        if in_horizon:
            h0, h1 = pilot_arms(h)
            # counterfactual cumulative hazards over the whole horizon (not cut by churn)
            cum_h0 += np.where(in_pilot, sum(h0.values()), 0.0)
            cum_h1 += np.where(in_pilot, sum(h1.values()), 0.0)
        h = realised(h)
        if t >= N_PERIODS - max(ATTAINABLE_HORIZONS) - 1:
            horizon_total[t] = (sum(realised(hazards(t, False)).values()),
                                sum(realised(hazards(t, True)).values()))
        total = sum(h.values())
        p_any = 1 - np.exp(-total * exposure)
        p_any = np.where(at_risk, p_any, 0.0)
        for cause in causes:
            exp_cause[cause] += float(np.sum(p_any * h[cause] / np.where(total > 0, total, 1)))
        # expected churns by tenure period as notebook 04 counts them (sbg.customer_periods:
        # ceil(days / 30.4375)); the end day is uniform over the days at risk in the period
        lo = np.maximum(PERIOD_DAYS * t, signup_day[at_risk] + 1)
        span = np.maximum(PERIOD_DAYS * (t + 1) - lo, 1)
        d0 = lo - signup_day[at_risk]
        j1 = np.maximum(np.ceil(d0 / SBG_PERIOD_DAYS), 1)
        w1 = np.clip(np.floor(SBG_PERIOD_DAYS * j1 - d0) + 1, 0, span) / span
        j1 = np.minimum(j1, N_PERIODS + 1).astype(int)
        j2 = np.minimum(j1 + 1, N_PERIODS + 1)
        tenure_expected += np.bincount(j1, weights=p_any[at_risk] * w1, minlength=N_PERIODS + 2)
        tenure_expected += np.bincount(j2, weights=p_any[at_risk] * (1 - w1),
                                       minlength=N_PERIODS + 2)
        ar = np.flatnonzero(at_risk)
        ll = sum(h[c_] for c_ in LOG_LINEAR_CAUSES)
        cox_events[ar, t - signup_period[ar]] = p_any[ar] * ll[ar] / total[ar]
        cox_risk[ar, t - signup_period[ar]] = exposure[ar] * (1 - p_any[ar] / 2)
        churn_now = rng_churn.random(n) < p_any
        # which cause fired: proportional to the cause-specific hazards
        cum = np.cumsum(np.stack([h[c_] for c_ in causes]), axis=0) / np.where(total > 0,
                                                                              total, 1)
        u = rng_churn.random(n)
        idx = (u[None, :] > cum).sum(axis=0)
        idx = np.minimum(idx, len(causes) - 1)
        reason[churn_now] = np.array(causes, dtype=object)[idx[churn_now]]
        end_period[churn_now] = t
        alive &= ~churn_now
        unresolved += ku
        # survivors may disengage: from the next period on
        onset = alive & (signup_period <= t) & ~disengaged & (rng_frail.random(n) < rho)
        disengaged |= onset
        onset_period[onset] = t + 1

    churned = end_period >= 0
    # the end day is uniform over the days at risk in the end period (from the day after
    # signup in the signup period)
    lo = np.maximum(end_period * PERIOD_DAYS, signup_day + 1)
    span = np.maximum(PERIOD_DAYS * (end_period + 1) - lo, 1)
    end_day = np.where(churned, lo + np.floor(rng_churn.random(n) * span).astype(int), -1)
    end_day = np.minimum(end_day, PERIOD_DAYS * N_PERIODS - 1)
    signup_date = start + pd.to_timedelta(signup_day, unit="D")
    end_date = pd.Series(start + pd.to_timedelta(np.where(churned, end_day, 0), unit="D"))
    end_date[~churned] = pd.NaT

    customers = pd.DataFrame({
        "customer_id": ids,
        "signup_date": signup_date.strftime("%Y-%m-%d"),
        "end_date": end_date.dt.strftime("%Y-%m-%d"),
        "churned": churned,
        "churn_reason": np.where(churned, reason, None),
        "plan": plan,
        "contract": contract_type,
        "region": region,
        "channel": channel,
        "monthly_charges": charges,
        "n_products": n_products,
        "autopay": autopay,
        "paperless_billing": rng.random(n) < 0.55,
        "age": age,
    })

    # ---- interactions (complaints, then late-payment reminders and downgrade requests)
    ci, cp, cu = [], [], []
    for idx_, t, k_, ku_ in complaint_rows:
        ci.append(np.repeat(idx_, k_))
        cp.append(np.full(int(k_.sum()), t))
        # the first ku complaints of each customer in this period stay unresolved
        rank = np.arange(int(k_.sum())) - np.repeat(np.cumsum(k_) - k_, k_)
        cu.append(rank < np.repeat(ku_, k_))
    n_complaints = int(sum(len(a) for a in ci))
    cat_code = [np.full(n_complaints, -1)]
    for idx_, t, cat in contact_rows:
        ci.append(idx_)
        cp.append(np.full(len(idx_), t))
        cu.append(np.zeros(len(idx_), dtype=bool))  # a reminder or a downgrade is handled
        cat_code.append(np.full(len(idx_), CONTACT_CATEGORIES.index(cat)))
    ci = np.concatenate(ci) if ci else np.zeros(0, int)
    cp = np.concatenate(cp) if cp else np.zeros(0, int)
    cu = np.concatenate(cu) if cu else np.zeros(0, bool)
    cat_code = np.concatenate(cat_code)
    m = len(ci)
    opened_day = cp * PERIOD_DAYS + rng_int.integers(0, PERIOD_DAYS, m)
    opened_day = np.maximum(opened_day, signup_day[ci])
    # complaints stop with the relationship
    keep = ~churned[ci] | (opened_day <= end_day[ci])
    ci, cp, cu, opened_day, cat_code = ci[keep], cp[keep], cu[keep], opened_day[keep], \
        cat_code[keep]
    m = len(ci)
    opened_at = start + pd.to_timedelta(opened_day, unit="D") + pd.to_timedelta(
        rng_int.integers(8 * 3600, 20 * 3600, m), unit="s")
    res_hours = np.exp(rng_int.normal(np.log(72), 1.0, m))  # skewed resolution times
    res_hours = np.where(cat_code >= 0, res_hours / 6, res_hours)  # contacts close fast
    resolved_at = pd.Series(opened_at + pd.to_timedelta(np.round(res_hours * 3600), unit="s"))
    too_late = resolved_at > as_of
    cu = cu | too_late.to_numpy()
    resolved_at[cu] = pd.NaT
    outage = (cp == OUTAGE_PERIOD) & region_north[ci]
    cat_p = np.column_stack([
        np.where(price_sensitive[ci], 0.45, 0.25),  # billing
        np.where(quality[ci] < -0.5, 0.40, 0.25),  # network
        np.full(m, 0.30),  # service
        np.full(m, 0.20),  # device
    ])
    cat_p /= cat_p.sum(axis=1, keepdims=True)
    cat_idx = (rng_int.random(m)[:, None] > np.cumsum(cat_p, axis=1)).sum(axis=1)
    category = np.array(["billing", "network", "service", "device"], dtype=object)[
        np.minimum(cat_idx, 3)]
    category[outage] = "network"
    category[cat_code >= 0] = np.array(CONTACT_CATEGORIES, dtype=object)[cat_code[cat_code >= 0]]
    order = np.lexsort((opened_at.to_numpy(), ci))
    interactions = pd.DataFrame({
        "customer_id": ids[ci],
        "opened_at": opened_at.strftime("%Y-%m-%d %H:%M:%S"),
        "resolved_at": resolved_at.dt.strftime("%Y-%m-%d %H:%M:%S"),
        "category": category,
        "resolved": ~cu,
    }).iloc[order].reset_index(drop=True)
    interactions.insert(0, "interaction_id", [f"I{i:07d}" for i in range(1, m + 1)])

    # ---- survey: two waves among customers active at the wave date
    waves = {"2025-W2": N_PERIODS - 9, "2026-W1": N_PERIODS - 3}
    resp = []
    for wave, wp in waves.items():
        wave_day = wp * PERIOD_DAYS
        active = (signup_day < wave_day) & (~churned | (end_day > wave_day))
        pool = np.flatnonzero(active)
        take = rng_survey.choice(pool, size=min(params.survey_size, len(pool)), replace=False)
        take.sort()
        items = _items(rng_survey, eta.iloc[take].reset_index(drop=True))
        items = items.mask(rng_survey.random(items.shape) < ITEM_MISSING)
        lat_nps = NPS_LOADING * eta["loyalty"].to_numpy()[take] + \
            np.sqrt(1 - NPS_LOADING**2) * rng_survey.standard_normal(len(take))
        nps = np.clip(np.round(7.0 + 2.0 * lat_nps), 0, 10).astype(int)
        cid = ids[take].copy()
        cid[rng_survey.random(len(take)) < ANONYMOUS_SHARE] = None
        d = start + pd.to_timedelta(wave_day + rng_survey.integers(0, 14, len(take)), unit="D")
        frame = pd.DataFrame({"customer_id": cid, "date": d.strftime("%Y-%m-%d"),
                              "wave": wave})
        frame = pd.concat([frame, items.astype("Int64"), pd.DataFrame({"nps": nps})], axis=1)
        frame["_idx"] = take
        resp.append(frame)
    survey = pd.concat(resp, ignore_index=True)
    survey_idx = survey.pop("_idx").to_numpy()
    survey.insert(0, "response_id", [f"R{i:06d}" for i in range(1, len(survey) + 1)])
    codebook = pd.DataFrame([{"item": i, "construct": c_, "text": w, "scale_min": SCALE[0],
                              "scale_max": SCALE[1], "reverse": r}
                             for i, c_, _, r, w in ITEMS])

    # ---- shop purchases while the plan is held: BG/NBD counts, Gamma-Gamma spend (weeks).
    # Engaged: Poisson rate lambda; disengaged: lambda x DISENGAGED_SHOP_MULT; none after the
    # plan ends. On top, the shop's own BG/NBD dropout after the J-th repeat purchase.
    horizon_day = PERIOD_DAYS * N_PERIODS
    held_end = np.where(churned, end_day, horizon_day).astype(float)  # purchases stop here
    onset_day = np.where(onset_period >= 0, onset_period * PERIOD_DAYS, np.inf)
    split_day = np.clip(onset_day, signup_day, held_end)
    A = (split_day - signup_day) / WEEK  # engaged weeks with the plan
    B = (held_end - split_day) / WEEK  # disengaged weeks with the plan
    lam = rng_shop.gamma(BGNBD["r"], 1 / BGNBD["alpha"], n)
    p_drop = rng_shop.beta(BGNBD["a"], BGNBD["b"], n)
    # repeat purchase after which the customer drops out: J in {1, 2, ...}
    J = rng_shop.geometric(p_drop)
    N1 = rng_shop.poisson(lam * A)
    N2 = rng_shop.poisson(lam * DISENGAGED_SHOP_MULT * B)
    N = N1 + N2
    n_obs = np.minimum(N, J)
    shop_alive = ~churned & (N < J)  # holds the plan and has not reached the dropout purchase
    o1, o2 = np.repeat(np.arange(n), N1), np.repeat(np.arange(n), N2)
    owner = np.concatenate([o1, o2])
    times = np.concatenate([rng_shop.random(len(o1)) * A[o1],
                            A[o2] + rng_shop.random(len(o2)) * B[o2]])
    order = np.lexsort((times, owner))
    owner, times = owner[order], times[order]
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(N) - N, N)
    keep = rank < n_obs[owner]
    owner, times = owner[keep], times[keep]
    nu = rng_shop.gamma(GAMMA_GAMMA["q"], 1 / GAMMA_GAMMA["gamma"], n)
    all_owner = np.concatenate([np.arange(n), owner])
    all_week = np.concatenate([np.zeros(n), times])
    amount = rng_shop.gamma(GAMMA_GAMMA["p"], 1 / nu[all_owner])
    tx_day = signup_day[all_owner] + all_week * WEEK
    tx_time = start + pd.to_timedelta(np.round(tx_day * 86400), unit="s")
    product = np.array(["accessory", "top-up", "device", "insurance"], dtype=object)[
        rng_shop.choice(4, size=len(all_owner), p=[0.45, 0.35, 0.12, 0.08])]
    tchan = np.where(rng_shop.random(len(all_owner)) < 0.6, "online", "store").astype(object)
    tx = pd.DataFrame({"customer_id": ids[all_owner], "_t": tx_time,
                       "amount": np.round(amount, 2), "product": product, "channel": tchan})
    # refunds: a small share of purchases is refunded later (a separate negative row)
    refund = rng_shop.random(len(tx)) < REFUND_SHARE
    ref = tx[refund].copy()
    ref["_t"] = ref["_t"] + pd.to_timedelta(rng_shop.integers(1, 15, int(refund.sum())), unit="D")
    ref["amount"] = -ref["amount"]
    ref = ref[ref["_t"] <= as_of]
    tx = pd.concat([tx, ref], ignore_index=True)
    tx = tx.sort_values(["_t", "customer_id"], kind="stable").reset_index(drop=True)
    tx.insert(0, "transaction_id", [f"T{i:07d}" for i in range(1, len(tx) + 1)])
    tx.insert(2, "date", tx.pop("_t").dt.strftime("%Y-%m-%d %H:%M:%S"))

    # ---- retention pilot table
    pidx = np.flatnonzero(in_pilot)
    p0 = 1 - np.exp(-cum_h0[pidx])
    p1 = 1 - np.exp(-cum_h1[pidx])
    ite = p1 - p0  # true effect of the offer on 90-day churn probability (negative = helps)
    horizon_end = pilot_period + PILOT_HORIZON_PERIODS
    churned_after = churned[pidx] & (end_period[pidx] >= pilot_period) & \
        (end_period[pidx] < horizon_end)
    accepted = treated[pidx] & (accept_u[pidx] < ACCEPT_RATE["treated"])
    campaigns = pd.DataFrame({
        "customer_id": ids[pidx], "campaign_id": "RET-PILOT-1",
        "date": pilot_date.strftime("%Y-%m-%d"), "treated": treated[pidx],
        "offer_cost": np.where(treated[pidx], OFFER_COST, 0.0), "accepted": accepted,
        "churned_after": churned_after,
    })
    risk_cut = float(np.median(p0))
    group = np.where(persuadable[pidx], "persuadable",
                     np.where(do_not_disturb[pidx], "do_not_disturb",
                              np.where(p0 >= risk_cut, "lost_cause", "sure_thing")))

    # ---- lifecycle stage at as_of (true states)
    tenure_days = np.where(churned, end_day, PERIOD_DAYS * N_PERIODS) - signup_day
    stage = np.select(
        [churned, tenure_days < 90, tenure_days < 365, shop_alive],
        ["lapsed", "acquisition", "growth", "maturity"], default="decline")

    ct = pd.DataFrame({"customer_id": ids, **{c_: eta[c_].to_numpy() for c_ in eta},
                       "switching_cost": switching_cost, "price_sensitive": price_sensitive,
                       "credit_risk": credit_risk, "hazard_multiplier": mult, "zone": z,
                       "unresolved_complaints": unresolved, "bgnbd_lambda": lam,
                       "bgnbd_p": p_drop, "shop_alive": shop_alive, "gg_nu": nu,
                       "mean_spend": GAMMA_GAMMA["p"] / nu, "lifecycle_stage": stage,
                       "in_pilot": in_pilot, "treated": treated, "frailty": frailty,
                       "disengage_rate": rho, "disengaged": disengaged,
                       "onset_date": pd.Series(start + pd.to_timedelta(
                           np.where(disengaged, onset_period * PERIOD_DAYS, 0), unit="D")
                       ).where(disengaged).dt.strftime("%Y-%m-%d").to_numpy(),
                       "shop_disengaged_weeks": B})
    attainable = {}
    for h_ in ATTAINABLE_HORIZONS:
        cutoff_day = (as_of - pd.DateOffset(months=h_) - start).days
        active = (signup_day <= cutoff_day) & ~(churned & (end_day <= cutoff_day))
        y_h = churned & (end_day > cutoff_day)
        p_h = _true_horizon_probability(cutoff_day, horizon_total, onset_period, signup_day,
                                        signup_period, rho)
        ct[f"p_churn_{h_}m"] = np.where(active, p_h, np.nan)
        attainable[str(h_)] = {
            "cutoff": (start + pd.Timedelta(days=cutoff_day)).strftime("%Y-%m-%d"),
            "auc": _auc(p_h[active], y_h[active]), "n_active": int(active.sum()),
            "churn_rate": float(y_h[active].mean()),
            "expected_churn_rate": float(p_h[active].mean())}
    ct["p_churn_control"] = np.nan
    ct["p_churn_treated"] = np.nan
    ct["true_ite"] = np.nan
    ct["response_group"] = None
    ct.loc[pidx, "p_churn_control"] = p0
    ct.loc[pidx, "p_churn_treated"] = p1
    ct.loc[pidx, "true_ite"] = ite
    ct.loc[pidx, "response_group"] = group
    ct["surveyed"] = np.isin(np.arange(n), survey_idx)

    exposure_total = sum(exp_cause.values())
    truth = {
        "params": asdict(params),
        "time_units": {"churn": f"{PERIOD_DAYS}-day months", "shop": "weeks"},
        "dates": {"start": start.strftime("%Y-%m-%d"), "as_of": params.as_of,
                  "price_rise": (start + pd.Timedelta(days=PERIOD_DAYS * PRICE_RISE_PERIOD)
                                 ).strftime("%Y-%m-%d"),
                  "outage": (start + pd.Timedelta(days=PERIOD_DAYS * OUTAGE_PERIOD)
                             ).strftime("%Y-%m-%d"),
                  "outage_region": OUTAGE_REGION, "pilot": pilot_date.strftime("%Y-%m-%d")},
        "survey": {
            "paths": PATHS, "loadings": {i: lam_ for i, _, lam_, _, _ in ITEMS},
            "constructs": {c_: [i for i, cc, *_ in ITEMS if cc == c_] for c_ in CONSTRUCT_ORDER},
            "reverse_items": [i for i, _, _, r, _ in ITEMS if r], "scale": list(SCALE),
            "item_missing_share": ITEM_MISSING, "anonymous_share": ANONYMOUS_SHARE,
            "nps_loading_on_loyalty": NPS_LOADING,
            "item_model": "y* = loading * eta + sqrt(1 - loading^2) * e; answer = 1 + number of thresholds below level[construct] + y* (ordered categories 1-10); reverse items stored as 11 - answer; a straight-lining share ticks one box for every item",
            "thresholds": list(ITEM_THRESHOLDS), "construct_level": CONSTRUCT_LEVEL,
            "straightline_share": STRAIGHTLINE_SHARE,
            "expected_performance": {c_: float(expected_performance(c_)) for c_ in
                                     CONSTRUCT_ORDER},
            "zone_boundaries": {
                "latent": {"defection_to_indifference": ZONE["s_defect"],
                           "indifference_to_affection": ZONE["s_affect"]},
                "satisfaction_index": {
                    "defection_to_indifference": float(construct_index_at("satisfaction", ZONE["s_defect"])[0]),
                    "indifference_to_affection": float(construct_index_at("satisfaction", ZONE["s_affect"])[0])},
                "note": "the zone function's mid-points on the latent scale, and the expected 0-100 satisfaction index (mean of the recoded satisfaction items) of a customer at that latent score"},
            "satisfied_defectors_share": float(np.mean(eta["satisfaction"].to_numpy()[churned] > 0)),
            "waves": list(waves),
            "population_nps": _population_nps(eta["loyalty"].to_numpy(), rng_extra),
            **_respondent_truth(eta.iloc[survey_idx]),
            "respondent_loadings_continuous": _respondent_truth(
                eta.iloc[survey_idx])["respondent_loadings"],
            "respondent_loadings_ordinal": ordinal_loadings(eta.iloc[survey_idx]),
            "respondent_loadings": item_loadings(eta.iloc[survey_idx]),
            "survey_paths": survey_paths(eta.iloc[survey_idx]),
            "survey_paths_note": "the standardised paths PLSc of the stored answers converges to among the respondents (Monte Carlo: ordinal cut, straight-lining, survivorship; survey_paths()); an ECSI path absent from paths is 0 in the base",
            "respondent_loadings_note": "what the survey can recover: the standardised one-factor loadings of the stored answers among respondents (ordinal cut and straight-lining; Monte Carlo with Spearman triads, item_loadings); respondent_loadings_ordinal: the ordinal cut alone (analytic); respondent_loadings_continuous: before the cut",
        },
        "churn": {
            "hazard_ratios": HAZARD_RATIOS,
            "log_linear_causes": list(LOG_LINEAR_CAUSES),
            "base_monthly_hazard": BASE_HAZARD,
            "reference_customer": "month-to-month, 1 product, monthly charges 50",
            "price_sensitive_share": PRICE_SENSITIVE_SHARE,
            "price_sensitive_hr_competitive": PRICE_SENSITIVE_HR,
            "credit_risk_share": CREDIT_RISK_SHARE, "autopay_hr_lapsed": AUTOPAY_HR_LAPSED,
            "unresolved_complaint_hr_retaliatory": UNRESOLVED_HR,
            "quality_hr_fault_per_sd": QUALITY_HR_FAULT,
            "price_rise_hr": PRICE_RISE_HR, "outage_hr": OUTAGE_HR,
            "zone": ZONE,
            "zone_formula": "floor + steep/(1+exp(k(s-s_defect))) - lift/(1+exp(-k(s-s_affect))); multiplies competitive, and its square root multiplies retaliatory",
            "cause_shares": {c_: exp_cause[c_] / exposure_total for c_ in causes},
            "expected_churners": exposure_total,
            "rate": float(churned.mean()),
            "frailty": {"distribution": "gamma", "shape": FRAILTY_SHAPE, "mean": 1.0,
                        "variance": 1 / FRAILTY_SHAPE, "causes": list(FRAILTY_CAUSES),
                        "note": "multiplies the hazards of these causes (log coefficient 1); hidden. Hazard ratios above are conditional on it (and on satisfaction and price sensitivity): a Cox model without them estimates the marginal ratios in observable_cox"},
            "disengagement": {
                "monthly_rate": DISENGAGE_RATE, "at_signup": DISENGAGED_AT_SIGNUP, "at_signup_formula": "min(at_signup x hazard_multiplier x frailty, 0.5) of customers are disengaged from their signup month","rate_formula": "min(rate x hazard_multiplier x frailty x sqrt(zone), 0.5) per month; absorbing; from the month after onset",
                "extra_monthly_hazard": DISENGAGED_EXIT, "complaint_rate_multiplier": DISENGAGED_COMPLAINT_MULT,
                "shop_rate_multiplier": DISENGAGED_SHOP_MULT, "late_payment": LATE_PAYMENT,
                "downgrade": DOWNGRADE, "contact_categories": list(CONTACT_CATEGORIES),
                "share_ever": float(disengaged.mean()),
                "share_of_churners_disengaged_first": float(np.mean(
                    (onset_period >= 0)[churned] & (onset_period[churned] <= end_period[churned]))),
            },
            "sbg": _sbg_pseudo_truth(_periods_at_risk(churned, end_day, signup_day),
                                     tenure_expected, SBG_FIT_MONTHS),
            "observable_cox": _observable_cox_truth(contract_type, n_products, charges,
                                                    cox_events, cox_risk),
            "attainable_auc": attainable,
            "attainable_auc_definition": "ROC AUC, among customers active at the cutoff (as_of minus the horizon), of the true probability of the plan ending within the horizon (true hazards, hidden traits and the hidden disengagement state at the cutoff, future disengagement integrated out) against the realised churn: the best any model of the data can do",
            "note": "cause_shares are expected shares (sum over customer-months of P(churn) x cause share of hazard); rate is the realised share of customers churned by as_of",
        },
        "complaints": {"monthly_rate": COMPLAINT_RATE,
                       "log_rate_per_sd_quality": COMPLAINT_QUALITY_SLOPE,
                       "unresolved_share": UNRESOLVED_SHARE,
                       "resolution_hours": "lognormal, median 72, sdlog 1.0"},
        "shop": {
            "bgnbd": BGNBD, "gamma_gamma": GAMMA_GAMMA, "time_unit": "weeks",
            "purchases_stop_at_plan_end": True,
            "disengaged_rate_multiplier": DISENGAGED_SHOP_MULT,
            "note": "One business: customers buy in the shop while they hold the plan. While engaged, purchases follow BG/NBD (rate lambda ~ Gamma(r, alpha), the shop's own dropout p ~ Beta(a, b) after each repeat purchase); once disengaged the rate is x disengaged_rate_multiplier, and purchases stop when the plan ends. So a BG/NBD fit on everybody sees two dropouts (plan end + the shop's own): its a, b are effective values, not the shop's. What is recoverable: r, alpha, a, b from the customers who hold the plan at as_of and never disengaged (hidden: tests take them from customer_truth), and Gamma-Gamma p, q, gamma from everybody (spend does not depend on the plan). First purchase at signup, not counted as a repeat; refunds are extra negative rows.",
            "refund_share": REFUND_SHARE,
        },
        "pilot": {
            "campaign_id": "RET-PILOT-1", "date": pilot_date.strftime("%Y-%m-%d"),
            "horizon_days": PILOT_HORIZON_PERIODS * PERIOD_DAYS, "offer_cost": OFFER_COST,
            "accept_rate": ACCEPT_RATE["treated"], "treated_share": 0.5,
            "n": int(len(pidx)), "ate": float(ite.mean()),
            "ate_definition": "mean over pilot customers of P(churn within horizon | treated) - P(churn | control)",
            "rule": {"eligible": "active month-to-month customers at the pilot date; pilot_size drawn at random, half treated at random", "persuadable": "age < 35, not a do-not-disturb, no credit risk: during the 90 days a competitor promotion adds " + f"{PROMO_HAZARD:g}" + " x (log-linear driver multiplier) to their monthly competitive hazard; the offer matches it, removing that extra hazard when treated",
                     "do_not_disturb": "at least two unresolved complaints opened before the pilot date (visible in interactions: resolved false), no credit risk: competitive, fault and retaliatory hazards x 2.0 when treated (contact reminds them to leave)",
                     "lost_cause": "no effect, control 90-day churn probability >= median",
                     "sure_thing": "no effect, control 90-day churn probability < median"},
            "group_shares": {g: float(np.mean(group == g)) for g in
                             ["persuadable", "sure_thing", "lost_cause", "do_not_disturb"]},
        },
        "lifecycle": {
            "rule": "lapsed if churned; acquisition if tenure < 90 days; growth if < 365 days; maturity if still alive in the shop (BG/NBD); decline otherwise",
            "shares": {s_: float(np.mean(stage == s_)) for s_ in
                       ["acquisition", "growth", "maturity", "decline", "lapsed"]},
        },
        "switching_cost": "0.6 one_year + 1.2 two_year + 0.35 (n_products - 1)",
        "referral_note": "referral customers get no extra hazard effect; channel is a distractor attribute",
    }
    tables = {"customers": customers, "transactions": tx, "survey_responses": survey,
              "survey_codebook": codebook, "interactions": interactions,
              "campaigns": campaigns}
    return DemoData(tables=tables, truth=truth, customer_truth=ct)


def _sbg_pseudo_truth(at_risk: np.ndarray, expected: np.ndarray, fit_months: int) -> dict:
    """The sBG parameters a correct fit converges to, and the true retention curve.

    ``at_risk[k]``/``expected[k]``: customers at risk in their k-th period of tenure (as
    notebook 04 counts periods) and their expected churns (true monthly probabilities). The true curve is
    S(k) = prod_j (1 - expected_j / at_risk_j); the pseudo-true (alpha, beta) maximise the
    expected sBG log-likelihood over months 1..fit_months (White 1982: the limit of the MLE
    under a misspecified model), with sBG's hazard alpha / (alpha + beta + k - 1).
    """
    k = np.arange(1, fit_months + 1)
    nk, ek = at_risk[k], expected[k]

    def negll(x):
        a, b = np.exp(x)
        h = a / (a + b + k - 1)
        return -float(np.sum(ek * np.log(h) + (nk - ek) * np.log1p(-h)))

    res = optimize.minimize(negll, x0=[0.0, 2.0], method="Nelder-Mead",
                            options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000})
    a, b = np.exp(res.x)
    haz = np.divide(expected, at_risk, out=np.zeros_like(expected), where=at_risk > 0)
    curve = np.cumprod(np.r_[1.0, 1 - haz[1:]])
    rr = 1 - haz[1:]
    return {"alpha": float(a), "beta": float(b), "fit_months": fit_months,
            "retention_curve": [float(x) for x in curve],
            "monthly_retention_rate": [float(x) for x in rr],
            "definition": "curve[k] = share of a cohort still active after k months of tenure, "
                          "from the true monthly churn probabilities of the customers at risk; "
                          "alpha, beta = the pseudo-true sBG parameters (maximising the expected "
                          "sBG log-likelihood of months 1..fit_months)"}


def _observable_cox_truth(contract_type, n_products, charges, events, risk) -> dict:
    """The hazard ratios a Cox model of the observable drivers converges to (its pseudo-truth).

    Notebook 04's cause-specific Cox model (causes LOG_LINEAR_CAUSES, covariates contract,
    products and charges per 10, follow-up from signup to as_of) omits the frailty,
    satisfaction, price sensitivity and the disengagement state, so it estimates marginal
    ratios, not HAZARD_RATIOS. What it estimates: the root of its score equation with
    each churn replaced by its compensator (the true expected churns of these causes per
    customer and tenure period, ``events``, against the time at risk, ``risk``), i.e. the
    maximiser of the expected partial log-likelihood sum_k sum_i e_ik (x_i b - log sum_j
    Y_jk exp(x_j b)) (Struthers & Kalbfleisch 1986: Cox regression under misspecification).
    The estimate minus this pseudo-truth is a martingale term, so the model's intervals
    cover it at their nominal rate. Newton's method on the concave objective.
    """
    X = np.column_stack([contract_type == "one_year", contract_type == "two_year",
                         n_products, charges / 10]).astype(float)
    keep = events.sum(axis=0) > 0
    e, y = events[:, keep], risk[:, keep]
    e_k = e.sum(axis=0)
    observed = X.T @ e.sum(axis=1)
    p = X.shape[1]
    xx = (X[:, :, None] * X[:, None, :]).reshape(len(X), p * p)
    b = np.zeros(p)
    for _ in range(50):
        yw = y * np.exp(X @ b - (X @ b).max())[:, None]
        s0 = yw.sum(axis=0)
        xbar = (X.T @ yw) / s0
        grad = observed - xbar @ e_k
        info = (((xx.T @ yw) / s0) @ e_k).reshape(p, p) - (xbar * e_k) @ xbar.T
        step = np.linalg.solve(info, grad)
        b = b + step
        if np.abs(step).max() < 1e-10:
            break
    names = ["contract[one_year]", "contract[two_year]", "n_products", "monthly_charges_per_10"]
    return {"hazard_ratios": {k: float(np.exp(v)) for k, v in zip(names, b, strict=True)},
            "causes": list(LOG_LINEAR_CAUSES),
            "covariates": ["contract", "n_products", "monthly_charges"],
            "scale": {"monthly_charges": 10}, "reference": {"contract": "month-to-month"},
            "follow_up": "signup to as_of; churn from other causes censors",
            "definition": "pseudo-true hazard ratios of notebook 04's Cox model of the observable "
                          "drivers: the maximiser of its expected partial log-likelihood, each "
                          "churn replaced by its true expected value per customer and tenure "
                          "month (marginal over the hidden frailty, satisfaction, price "
                          "sensitivity and disengagement; hazard_ratios above are conditional "
                          "on them)"}


def _periods_at_risk(churned, end_day, signup_day) -> np.ndarray:
    """Customers at risk in each tenure period, counted as sbg.customer_periods counts them."""
    days = np.where(churned, end_day, PERIOD_DAYS * N_PERIODS) - signup_day
    per = np.where(churned, np.maximum(np.ceil(days / SBG_PERIOD_DAYS), 1),
                   np.floor(days / SBG_PERIOD_DAYS)).astype(int)
    reached = np.bincount(np.minimum(per, N_PERIODS + 1), minlength=N_PERIODS + 2)
    # at risk in period j: everybody with j or more periods (a survivor of K completed
    # periods contributes S(K), i.e. survives periods 1..K; a churner in k is at risk to k)
    return reached[::-1].cumsum()[::-1].astype(float)


def _auc(score: np.ndarray, y: np.ndarray) -> float:
    """ROC AUC by the Mann-Whitney rank sum (ties count one half)."""
    r = stats.rankdata(score)
    n1 = int(y.sum())
    n0 = len(y) - n1
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _true_horizon_probability(cutoff_day: int, horizon_total: dict, onset_period, signup_day,
                              signup_period, rho) -> np.ndarray:
    """P(plan ends in (cutoff, as_of]) from the true hazards and the hidden state at the cutoff.

    Two-state forward recursion (engaged, disengaged) over the periods after the cutoff,
    with the customer's true total hazard in each state and their disengagement
    probability; the period holding the cutoff counts with the share of it still ahead.
    """
    pc = cutoff_day // PERIOD_DAYS
    d0 = (onset_period >= 0) & (onset_period <= pc)
    a_e, a_d = (~d0).astype(float), d0.astype(float)
    for t in range(pc, N_PERIODS):
        frac = ((pc + 1) * PERIOD_DAYS - 1 - cutoff_day) / PERIOD_DAYS if t == pc else 1.0
        risk = signup_period <= t  # active at the cutoff: signed up by then
        tot_e, tot_d = horizon_total[t]
        a_e = a_e * np.exp(-frac * tot_e * risk)
        a_d = a_d * np.exp(-frac * tot_d * risk)
        move = a_e * rho * (signup_period <= t)
        a_e, a_d = a_e - move, a_d + move
    return 1 - (a_e + a_d)


def _respondent_truth(eta_r: pd.DataFrame) -> dict:
    """Paths and loadings as they hold among the respondents (what a survey can recover).

    Surveys sample active customers, and churn removed more dissatisfied ones, so
    the latent variances among respondents are below 1 and standardised paths and
    loadings differ slightly from the base's. Standardised OLS paths on the
    respondents' true scores; loading = l sd / sqrt(l^2 var + 1 - l^2).
    """
    z = (eta_r - eta_r.mean()) / eta_r.std()
    paths = {}
    for target in {k.split("->")[1] for k in PATHS}:
        preds = [k.split("->")[0] for k in PATHS if k.endswith("->" + target)]
        beta = np.linalg.lstsq(z[preds].to_numpy(), z[target].to_numpy(), rcond=None)[0]
        paths.update({f"{p}->{target}": float(b) for p, b in zip(preds, beta, strict=True)})
    var = eta_r.var()
    loadings = {i: float(lam * np.sqrt(var[c]) / np.sqrt(lam**2 * var[c] + 1 - lam**2))
                for i, c, lam, _, _ in ITEMS}
    return {"respondent_paths": paths, "respondent_loadings": loadings,
            "respondent_latent_variance": {c: float(v) for c, v in var.items()}}


def _population_nps(loyalty: np.ndarray, rng: np.random.Generator) -> float:
    """NPS of the whole base under the NPS item model (for teaching, not tests of sampling)."""
    lat = NPS_LOADING * loyalty + np.sqrt(1 - NPS_LOADING**2) * rng.standard_normal(len(loyalty))
    s = np.clip(np.round(7.0 + 2.0 * lat), 0, 10)
    return float(100 * (np.mean(s >= 9) - np.mean(s <= 6)))


def write_demo(raw_dir: Path, truth_dir: Path, params: DemoParams = DemoParams()) -> Path:
    """Generate and write raw CSVs to ``raw_dir`` and the truth to ``truth_dir`` atomically."""
    data = generate(params)
    raw_dir = Path(raw_dir)
    truth_dir = Path(truth_dir)
    for final, writer in ((truth_dir, _write_truth), (raw_dir, _write_raw)):
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
        try:
            writer(tmp, data)
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return raw_dir


def _write_raw(folder: Path, data: DemoData) -> None:
    for name, df in data.tables.items():
        df.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")
    (folder / "_complete").write_text("demo company raw tables\n")


def _write_truth(folder: Path, data: DemoData) -> None:
    """``ground_truth.json`` and ``customer_truth.csv``. The CSV is written by Arrow's
    writer (15x less CPU than pandas' ``to_csv``, on the runner's critical path): the same
    values read back (shortest round-trip floats), quotes only where needed, booleans as
    ``true``/``false``, whole-number floats without ``.0``."""
    (folder / "ground_truth.json").write_text(json.dumps(data.truth, indent=2, sort_keys=True))
    pacsv.write_csv(pa.Table.from_pandas(data.customer_truth, preserve_index=False),
                    folder / "customer_truth.csv",
                    write_options=pacsv.WriteOptions(quoting_style="needed"))
