"""Teaching simulations for notebook 00: CRM ideas in numbers before any data.

Five small, seeded, vectorised models, each driven only by its parameters
(concepts 1, 2 and 4 of docs/teaching.md). Every "claimed" figure of the
commissioning texts (acquisition costs 5x retention, 5 points of retention
= 25-85% more profit, 80/20, word of mouth 8 vs 25) is a parameter here,
never a result.

- :func:`simulate_leaky_bucket`: acquisition in, churn out; the steady state
  is ``acquisitions / churn_rate`` (a birth-death / M/M/infinity argument; the
  stationary count is Poisson with that mean, Kendall 1948).
- :func:`simulate_budget`: profit of one marketing budget split between
  acquisition and retention (the "leaky bucket" of Reichheld 1996).
- :func:`clv`, :func:`clv_grid`, :func:`retention_lift`: customer lifetime
  value from margin, retention and discount rate (Gupta & Lehmann 2003),
  and the Reichheld & Sasser (1990) "5 points of retention" effect
  recomputed from it.
- :func:`word_of_mouth_value`: a CLV adjusted for referrals and negative
  word of mouth (parameters, not facts).
- :func:`simulate_values`, :func:`lorenz`, :func:`gini`, :func:`top_share`:
  the 80/20 claim against a simulated heavy-tailed (lognormal) base, with
  closed forms to check the simulation (Aitchison & Brown 1957).
- :func:`zone_retention`, :func:`simulate_zones`: the satisfaction-loyalty
  zones of defection, indifference and affection (Jones & Sasser 1995).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .intervals import wilson_interval
from .value.concentration import gini, lorenz_curve, top_share
from .value.lifetime import clv, clv_grid, retention_claim, retention_lift, word_of_mouth_value

__all__ = ["LeakyBucket", "steady_state", "simulate_leaky_bucket",
           "replacement_treadmill", "BudgetScenario", "effective_churn", "simulate_budget",
           "compare_budgets", "budget_comparison_table", "cost_ratio_sensitivity", "clv", "clv_grid", "retention_lift",
           "retention_claim", "word_of_mouth_value", "simulate_values", "lorenz", "gini",
           "top_share", "lognormal_gini", "lognormal_top_share", "sigma_for_top_share",
           "concentration", "Zones", "zone_retention", "ZoneSimulation", "simulate_zones",
           "wilson_interval"]


def _check(name: str, value: float, low: float, high: float, *, closed_low: bool = True,
           closed_high: bool = True) -> float:
    """Validate a scalar parameter with a message naming it and its allowed range."""
    v = float(value)
    ok_low = v >= low if closed_low else v > low
    ok_high = v <= high if closed_high else v < high
    if not (np.isfinite(v) and ok_low and ok_high):
        lo = "[" if closed_low else "("
        hi = "]" if closed_high else ")"
        raise ValueError(f"parameter {name}={value!r} must lie in {lo}{low}, {high}{hi}")
    return v


# --------------------------------------------------------------------------------------
# 1. Leaky bucket
# --------------------------------------------------------------------------------------

@dataclass
class LeakyBucket:
    """A simulated customer base (see :func:`simulate_leaky_bucket`).

    ``paths``: customers at the end of each month (rows: month 0..``months``,
    columns: simulated paths). ``expected``: the deterministic expectation
    ``ss + (initial - ss) (1 - c)^t``. The steady state is estimated on months
    ``burn_in`` .. end of the (possibly longer) simulation, where the expected
    gap to the steady state is negligible; ``steady_state_se`` is the standard
    error across independent paths.
    """

    acquisitions: float
    churn_rate: float
    initial: int
    months: int
    paths: pd.DataFrame
    expected: pd.Series
    steady_state_theory: float
    steady_state_simulated: float
    steady_state_se: float
    steady_state_se_theory: float
    burn_in: int
    window: int
    half_life_months: float

    def to_frame(self) -> pd.DataFrame:
        """Headline numbers of the simulation for readers (formatted text)."""
        from .fmt import count, number, percent
        return pd.DataFrame({"figure": [
            "monthly acquisitions", "monthly churn rate",
            "steady state, theory (acquisitions / churn)", "steady state, simulated",
            "simulation standard error", "months to close half the gap",
            "average customer lifetime (months)"], "value": [
            count(self.acquisitions), percent(self.churn_rate), count(self.steady_state_theory),
            count(self.steady_state_simulated), number(self.steady_state_se, 1),
            number(self.half_life_months, 1), number(1.0 / self.churn_rate, 1)]})

    def metrics(self) -> dict[str, float]:
        return {"concepts.steady_state_theory": self.steady_state_theory,
                "concepts.steady_state_simulated": self.steady_state_simulated,
                "concepts.steady_state_se": self.steady_state_se,
                "concepts.half_life_months": self.half_life_months}

    def summary(self) -> pd.Series:
        """Headline numbers of the simulation (numbers; :meth:`to_frame` for readers)."""
        return pd.Series({
            "monthly acquisitions": self.acquisitions,
            "monthly churn rate": self.churn_rate,
            "steady state, theory (acquisitions / churn)": self.steady_state_theory,
            "steady state, simulated": self.steady_state_simulated,
            "simulation standard error": self.steady_state_se,
            "months to close half the gap": self.half_life_months,
            "average customer lifetime (months)": 1.0 / self.churn_rate,
        })


def steady_state(acquisitions: float, churn_rate: float) -> float:
    """Steady-state customer count of a leaky bucket: inflow = outflow, ``A / c``."""
    return _check("acquisitions", acquisitions, 0, np.inf) / _check(
        "churn_rate", churn_rate, 0, 1, closed_low=False)


def simulate_leaky_bucket(acquisitions: float = 500.0, churn_rate: float = 0.04,
                          initial: int = 2000, months: int = 120, n_paths: int = 200,
                          seed: int = 42) -> LeakyBucket:
    """Simulate a customer base: ``N[t+1] = Binomial(N[t], 1 - c) + Poisson(A)``.

    Each month every customer leaves independently with probability
    ``churn_rate`` and ``Poisson(acquisitions)`` new customers join. The
    expectation converges geometrically to ``A / c``; the stationary
    distribution is Poisson(``A / c``) (thinning plus Poisson arrivals, as in
    the M/M/infinity queue). The simulation runs past ``months`` when needed so
    the steady state is measured only after the expected gap has shrunk below
    1% of one stationary standard deviation, over at least ten mean lifetimes.
    Vectorised over paths; the loop is over months only.
    """
    a = _check("acquisitions", acquisitions, 0, np.inf)
    c = _check("churn_rate", churn_rate, 0, 1, closed_low=False, closed_high=False)
    initial = int(_check("initial", initial, 0, np.inf))
    months = int(_check("months", months, 1, 10_000))
    n_paths = int(_check("n_paths", n_paths, 2, 100_000))
    ss = a / c
    rho = 1.0 - c
    gap = abs(initial - ss)
    tol = 0.01 * max(np.sqrt(ss), 1.0)
    burn_in = 0 if gap <= tol else int(np.ceil(np.log(tol / gap) / np.log(rho)))
    window = max(int(np.ceil(10.0 / c)), 120)
    total = max(months, burn_in + window)
    rng = np.random.default_rng(seed)
    out = np.empty((total + 1, n_paths), dtype=np.int64)
    out[0] = initial
    for t in range(total):
        out[t + 1] = rng.binomial(out[t], rho) + rng.poisson(a, size=n_paths)
    path_means = out[burn_in + 1: burn_in + 1 + window].mean(axis=0)
    t = np.arange(months + 1)
    expected = pd.Series(ss + (initial - ss) * rho ** t, index=pd.Index(t, name="month"),
                         name="expected customers")
    paths = pd.DataFrame(out[: months + 1], index=expected.index,
                         columns=[f"path_{i}" for i in range(n_paths)])
    # AR(1) with stationary variance ss and lag-1 correlation rho: variance of a window mean.
    k = np.arange(1, window)
    var_mean = ss / window * (1 + 2 * np.sum((1 - k / window) * rho ** k))
    return LeakyBucket(
        acquisitions=a, churn_rate=c, initial=initial, months=months, paths=paths,
        expected=expected, steady_state_theory=ss,
        steady_state_simulated=float(path_means.mean()),
        steady_state_se=float(path_means.std(ddof=1) / np.sqrt(n_paths)),
        steady_state_se_theory=float(np.sqrt(var_mean / n_paths)),
        burn_in=burn_in, window=window,
        half_life_months=float(np.log(0.5) / np.log(rho)))


def replacement_treadmill(acquisitions: float, churn_rate: float,
                          customers: float) -> pd.Series:
    """How much of this month's acquisition only replaces churn (the treadmill).

    ``lost = c * N``; net growth ``A - c N``; the share of acquisitions that only
    refills the bucket is ``min(1, c N / A)``.
    """
    a = _check("acquisitions", acquisitions, 0, np.inf, closed_low=False)
    c = _check("churn_rate", churn_rate, 0, 1)
    lost = c * float(customers)
    return pd.Series({"acquired": a, "lost to churn": lost, "net growth": a - lost,
                      "share of acquisition replacing churn": min(1.0, lost / a)})


# --------------------------------------------------------------------------------------
# 2. Acquisition-heavy versus retention-heavy budgets
# --------------------------------------------------------------------------------------

@dataclass
class BudgetScenario:
    """Economics of one firm (all money per month, per customer where stated).

    ``acquisition_cost``: cost of winning one customer by marketing;
    ``retention_cost``: cost of saving one would-be churner at the first,
    cheapest margin (the "5x cheaper to keep" claim is ``cost_ratio``);
    ``preventable_share``: the share of churn that retention can touch at all
    (natural and malicious churn cannot be prevented, concept 6 of docs/teaching.md).
    """

    budget: float = 40_000.0
    margin: float = 25.0
    acquisition_cost: float = 250.0
    retention_cost: float = 50.0
    churn_rate: float = 0.04
    preventable_share: float = 0.6
    organic_acquisitions: float = 150.0
    initial: int = 10_000
    months: int = 36
    annual_discount_rate: float = 0.10

    @classmethod
    def from_ratio(cls, cost_ratio: float = 5.0, **kwargs) -> BudgetScenario:
        """A scenario whose retention cost is ``acquisition_cost / cost_ratio``."""
        ratio = _check("cost_ratio", cost_ratio, 0, np.inf, closed_low=False)
        kwargs["retention_cost"] = kwargs.get("acquisition_cost", cls.acquisition_cost) / ratio
        return cls(**kwargs)

    @property
    def cost_ratio(self) -> float:
        return self.acquisition_cost / self.retention_cost

    def validate(self) -> BudgetScenario:
        _check("budget", self.budget, 0, np.inf)
        _check("margin", self.margin, 0, np.inf)
        _check("acquisition_cost", self.acquisition_cost, 0, np.inf, closed_low=False)
        _check("retention_cost", self.retention_cost, 0, np.inf, closed_low=False)
        _check("churn_rate", self.churn_rate, 0, 1, closed_high=False)
        _check("preventable_share", self.preventable_share, 0, 1)
        _check("organic_acquisitions", self.organic_acquisitions, 0, np.inf)
        _check("initial", self.initial, 0, np.inf)
        _check("months", self.months, 1, 10_000)
        _check("annual_discount_rate", self.annual_discount_rate, 0, 10)
        return self


def effective_churn(customers: np.ndarray, retention_spend: np.ndarray | float,
                    sc: BudgetScenario) -> np.ndarray:
    """Monthly churn after a retention spend, with diminishing returns.

    The preventable churners are ``p c N``; spending ``R`` saves a fraction
    ``1 - exp(-R / (k p c N))`` of them (``k`` = ``retention_cost``), so the
    first saves cost ``k`` each and every further one costs more, and no
    budget prevents the unpreventable share.
    """
    n = np.maximum(np.asarray(customers, dtype=float), 1.0)
    preventable = sc.preventable_share * sc.churn_rate * n
    saved_frac = np.where(preventable > 0,
                          -np.expm1(-np.asarray(retention_spend) / (sc.retention_cost
                                                                      * np.maximum(preventable,
                                                                                   1e-12))),
                          0.0)
    return sc.churn_rate * (1.0 - sc.preventable_share * saved_frac)


def simulate_budget(scenario: BudgetScenario | None = None,
                    retention_shares: np.ndarray | list[float] | None = None,
                    n_paths: int = 100, seed: int = 42) -> pd.DataFrame:
    """Profit of each split of the budget between retention and acquisition.

    For each retention share ``s`` the monthly budget ``B`` buys
    ``B (1 - s) / acquisition_cost`` extra customers (Poisson) and lowers churn
    by :func:`effective_churn` with ``R = B s``; the base evolves as a leaky
    bucket with binomial churn. Profit per month is ``N * margin - B``,
    discounted monthly. Returns one row per share: mean, 5% and 95% of the
    cumulative discounted profit over ``months``, the incremental profit over
    spending nothing (expected path of the same firm with ``B = 0``), the return
    on the discounted budget, final customers and the effective monthly churn
    at the end. Vectorised over shares and paths.
    """
    sc = (scenario or BudgetScenario()).validate()
    shares = np.round(np.linspace(0, 1, 21) if retention_shares is None
                      else np.asarray(retention_shares, dtype=float), 10)
    if shares.ndim != 1 or np.any((shares < 0) | (shares > 1)):
        raise ValueError("retention_shares must be a list of shares between 0 and 1")
    rng = np.random.default_rng(seed)
    n = np.full((shares.size, n_paths), int(sc.initial), dtype=np.int64)
    ret_spend = (sc.budget * shares)[:, None]
    acq_rate = sc.organic_acquisitions + sc.budget * (1 - shares) / sc.acquisition_cost
    monthly_disc = (1 + sc.annual_discount_rate) ** (1 / 12)
    profit = np.zeros_like(n, dtype=float)
    churn = np.zeros_like(n, dtype=float)
    for t in range(int(sc.months)):
        churn = effective_churn(n, ret_spend, sc)
        n = rng.binomial(n, 1 - churn) + rng.poisson(np.broadcast_to(acq_rate[:, None], n.shape))
        profit += (n * sc.margin - sc.budget) / monthly_disc ** (t + 1)
    baseline = _no_budget_profit(sc)
    spend = sc.budget * np.sum(monthly_disc ** -np.arange(1.0, sc.months + 1))
    return pd.DataFrame({
        "retention_share": shares,
        "profit_mean": profit.mean(axis=1),
        "incremental_profit": profit.mean(axis=1) - baseline,
        "roi": (profit.mean(axis=1) - baseline) / spend if spend > 0 else np.nan,
        "profit_p05": np.quantile(profit, 0.05, axis=1),
        "profit_p95": np.quantile(profit, 0.95, axis=1),
        "customers_final": n.mean(axis=1),
        "monthly_churn_final": churn.mean(axis=1),
    })


def _no_budget_profit(sc: BudgetScenario) -> float:
    """Expected discounted profit of the same firm spending nothing (mean-field path)."""
    n, total = float(sc.initial), 0.0
    monthly_disc = (1 + sc.annual_discount_rate) ** (1 / 12)
    for t in range(int(sc.months)):
        n = n * (1 - sc.churn_rate) + sc.organic_acquisitions
        total += n * sc.margin / monthly_disc ** (t + 1)
    return total


def compare_budgets(table: pd.DataFrame, acquisition_heavy: float = 0.2,
                    retention_heavy: float = 0.8) -> pd.Series:
    """Extra profit over spending nothing of an acquisition-heavy and a retention-heavy
    split, and the best split: the quantity the budget figure draws (``incremental_profit``
    of :func:`simulate_budget`), so the table and the figure agree."""
    t = table.set_index("retention_share")
    for s in (acquisition_heavy, retention_heavy):
        if not np.isclose(t.index, s).any():
            raise ValueError(f"retention share {s} is not in the simulated grid")
    pick = {s: t.index[np.isclose(t.index, s)][0] for s in (acquisition_heavy, retention_heavy)}
    best = t["incremental_profit"].idxmax()
    acq = t.loc[pick[acquisition_heavy], "incremental_profit"]
    ret = t.loc[pick[retention_heavy], "incremental_profit"]
    return pd.Series({
        "acquisition_heavy_share": acquisition_heavy, "acquisition_heavy_profit": acq,
        "retention_heavy_share": retention_heavy, "retention_heavy_profit": ret,
        "retention_minus_acquisition": ret - acq,
        "acquisition_heavy_roi": t.loc[pick[acquisition_heavy], "roi"],
        "retention_heavy_roi": t.loc[pick[retention_heavy], "roi"],
        "best_retention_share": float(best), "best_profit": t.loc[best, "incremental_profit"],
        "best_roi": t.loc[best, "roi"],
    })


def budget_comparison_table(comparison: pd.Series) -> pd.DataFrame:
    """:func:`compare_budgets` for readers: one row per split, extra profit and return."""
    c = comparison
    return pd.DataFrame({
        "split": [f"acquisition-heavy ({c['acquisition_heavy_share']:.0%} on retention)",
                  f"retention-heavy ({c['retention_heavy_share']:.0%} on retention)",
                  f"best split ({c['best_retention_share']:.0%} on retention)"],
        "extra profit vs no spending": [c["acquisition_heavy_profit"],
                                        c["retention_heavy_profit"], c["best_profit"]],
        "return on the budget": [c["acquisition_heavy_roi"], c["retention_heavy_roi"],
                                 c["best_roi"]]})


def cost_ratio_sensitivity(scenario: BudgetScenario, cost_ratios=(1, 2, 3, 5, 8),
                           n_paths: int = 40, seed: int = 42) -> pd.DataFrame:
    """Best split and both extreme splits for several acquisition/retention cost ratios."""
    rows = []
    for ratio in cost_ratios:
        sc = BudgetScenario(**{**scenario.__dict__,
                               "retention_cost": scenario.acquisition_cost / float(ratio)})
        cmp = compare_budgets(simulate_budget(sc, n_paths=n_paths, seed=seed))
        rows.append({"cost_ratio": float(ratio), **cmp.to_dict()})
    return pd.DataFrame(rows).set_index("cost_ratio")


# --------------------------------------------------------------------------------------
# 3. Customer lifetime value
# --------------------------------------------------------------------------------------

# The CLV, retention-lift and word-of-mouth formulas live in crm_lib.value.lifetime (one
# home for notebooks 00 and 05, the claims and the summary); they are re-exported here.


# --------------------------------------------------------------------------------------
# 4. The 80/20 claim
# --------------------------------------------------------------------------------------

def simulate_values(n: int = 10_000, sigma: float = 1.2, mean: float = 300.0,
                    seed: int = 42) -> np.ndarray:
    """Annual value of ``n`` simulated customers: lognormal with shape ``sigma`` and mean ``mean``."""
    n = int(_check("n", n, 2, 1e8))
    s = _check("sigma", sigma, 0, 10, closed_low=False)
    mu = np.log(_check("mean", mean, 0, np.inf, closed_low=False)) - s * s / 2
    return np.random.default_rng(seed).lognormal(mu, s, size=n)


def lorenz(values) -> pd.DataFrame:
    """Lorenz curve of ``values``: :func:`crm_lib.value.concentration.lorenz_curve`."""
    return lorenz_curve(values)


def lognormal_gini(sigma: float) -> float:
    """Gini of a lognormal distribution: ``2 Phi(sigma / sqrt 2) - 1``."""
    return float(2 * stats.norm.cdf(sigma / np.sqrt(2)) - 1)


def lognormal_top_share(sigma: float, top: float = 0.2) -> float:
    """Value share of the top ``top`` of a lognormal: ``1 - Phi(Phi^-1(1 - top) - sigma)``."""
    return float(1 - stats.norm.cdf(stats.norm.ppf(1 - top) - sigma))


def sigma_for_top_share(share: float = 0.8, top: float = 0.2) -> float:
    """Lognormal shape at which the top ``top`` of customers hold ``share`` of value.

    For the literal 80/20 rule: ``sigma = Phi^-1(0.8) + Phi^-1(0.8) = 1.683``.
    """
    _check("share", share, 0, 1, closed_low=False, closed_high=False)
    return float(stats.norm.ppf(1 - top) - stats.norm.ppf(1 - share))


def concentration(values, top: float = 0.2) -> pd.Series:
    """Gini and top-``top`` share of simulated values (:mod:`crm_lib.value.concentration`)."""
    return pd.Series({"customers": int(np.size(values)), "gini": gini(values),
                      f"top{round(top * 100)}_share": top_share(values, top)})


# --------------------------------------------------------------------------------------
# 5. Satisfaction-loyalty zones
# --------------------------------------------------------------------------------------

@dataclass
class Zones:
    """A zone-shaped satisfaction -> retention curve on a 1-10 satisfaction scale.

    Retention is piecewise linear through ``(1, r_min)``, ``(defection_upper,
    r_low)``, ``(affection_lower, r_high)``, ``(10, r_max)``: steep in the zone
    of defection, flat in the zone of indifference, steep again in the zone
    of affection (Jones & Sasser 1995). ``lock_in`` is the share of would-be
    defectors that high switching costs keep (their "dissatisfied stayers").
    """

    defection_upper: float = 5.0
    affection_lower: float = 8.5
    r_min: float = 0.35
    r_low: float = 0.75
    r_high: float = 0.82
    r_max: float = 0.97
    lock_in: float = 0.6

    def validate(self) -> Zones:
        if not 1 < self.defection_upper < self.affection_lower < 10:
            raise ValueError("zones need 1 < defection_upper < affection_lower < 10 "
                             f"(got {self.defection_upper}, {self.affection_lower})")
        r = [self.r_min, self.r_low, self.r_high, self.r_max]
        if any(not 0 <= v <= 1 for v in r) or sorted(r) != r:
            raise ValueError(f"zone retention levels must rise within [0, 1], got {r}")
        _check("lock_in", self.lock_in, 0, 1)
        return self


def zone_retention(satisfaction, zones: Zones | None = None, switching_cost=False):
    """Probability of staying given satisfaction (1-10) and switching costs (bool)."""
    z = (zones or Zones()).validate()
    s = np.clip(np.asarray(satisfaction, dtype=float), 1, 10)
    r = np.interp(s, [1, z.defection_upper, z.affection_lower, 10],
                  [z.r_min, z.r_low, z.r_high, z.r_max])
    return r + np.asarray(switching_cost, dtype=float) * z.lock_in * (1 - r)


@dataclass
class ZoneSimulation:
    """Simulated customers with satisfaction, switching costs and who stayed."""

    customers: pd.DataFrame
    by_score: pd.DataFrame
    satisfied_defectors_share: float
    dissatisfied_stayers_share: float
    zones: Zones


def simulate_zones(n: int = 8000, zones: Zones | None = None, mean_satisfaction: float = 7.0,
                   sd_satisfaction: float = 2.0, switching_cost_share: float = 0.3,
                   satisfied_from: int = 7, dissatisfied_to: int = 4,
                   seed: int = 42) -> ZoneSimulation:
    """Simulate the satisfaction-loyalty link and count the customers who break it.

    Satisfaction is a rounded normal score clipped to 1-10; a share of
    customers has high switching costs (contract, several products); each
    stays with :func:`zone_retention`. Reports retention by score and group
    with Wilson 95% intervals, the share of defectors who were satisfied
    (score >= ``satisfied_from``) and the share of stayers who were
    dissatisfied (score <= ``dissatisfied_to``).
    """
    z = (zones or Zones()).validate()
    n = int(_check("n", n, 10, 1e8))
    _check("switching_cost_share", switching_cost_share, 0, 1)
    rng = np.random.default_rng(seed)
    sat = np.clip(np.rint(rng.normal(mean_satisfaction, sd_satisfaction, n)), 1, 10).astype(int)
    locked = rng.random(n) < switching_cost_share
    stayed = rng.random(n) < zone_retention(sat, z, locked)
    cust = pd.DataFrame({"satisfaction": sat, "switching_cost": np.where(locked, "high", "low"),
                         "stayed": stayed})
    g = cust.groupby(["switching_cost", "satisfaction"])["stayed"].agg(["sum", "count"])
    g = g.rename(columns={"sum": "stayed", "count": "customers"}).reset_index()
    lo, hi = wilson_interval(g["stayed"].to_numpy(), g["customers"].to_numpy())
    g["retention"] = g["stayed"] / g["customers"]
    g["ci_low"], g["ci_high"] = lo, hi
    g["true_retention"] = zone_retention(g["satisfaction"], z, g["switching_cost"] == "high")
    defectors = cust.loc[~cust["stayed"], "satisfaction"]
    stayers = cust.loc[cust["stayed"], "satisfaction"]
    return ZoneSimulation(
        customers=cust, by_score=g, zones=z,
        satisfied_defectors_share=float((defectors >= satisfied_from).mean())
        if len(defectors) else float("nan"),
        dissatisfied_stayers_share=float((stayers <= dissatisfied_to).mean())
        if len(stayers) else float("nan"))
