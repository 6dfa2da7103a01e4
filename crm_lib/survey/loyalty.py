"""Satisfaction is not loyalty: join attitudes to behaviour.

- :func:`respondent_behaviour` joins each survey response to what the
  customer did afterwards: churned within ``horizon_days`` of answering
  (customers.end_date), and purchases in the same window (transactions).
  Responses with less follow-up than the horizon before the as-of date, and
  anonymous responses, cannot be followed and are left out (counted).
- :func:`response_curve`: a flexible logistic response curve of an outcome
  (churn, repurchase) on satisfaction: a logistic GLM on a cubic B-spline
  basis (regression splines, Hastie, Tibshirani & Friedman 2009, ch. 5) with
  pointwise 95% intervals.
- :func:`zones`: the zones of Jones & Sasser (1995, "Why satisfied customers
  defect", *Harvard Business Review*): defection (churn risk in the upper
  third of its fitted range), indifference (middle third), affection (lower
  third), read off the fitted curve.
- :func:`satisfaction_loyalty_table`: satisfied defectors and dissatisfied
  stayers (Reichheld 1993: most defectors said they were satisfied).
- :func:`loyalty_typology`: Dick & Basu's (1994, "Customer loyalty: toward an
  integrated conceptual framework", *JAMS* 22(2)) relative attitude x repeat
  patronage typology: true, latent, spurious and no loyalty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .. import fmt


@dataclass
class FollowUp:
    """Survey responses joined to what the customers did afterwards, and what was left out.

    ``frame``: one row per followed-up response (see :func:`respondent_behaviour`);
    ``excluded``: responses left out, by reason; ``repeat_responses_dropped``:
    earlier responses of customers who answered again (kept only the latest, in
    :func:`crm_lib.survey.loyalty_frame`).
    """

    frame: pd.DataFrame
    excluded: dict[str, int]
    horizon_days: int
    repeat_responses_dropped: int = 0

    def to_frame(self) -> pd.DataFrame:
        """The followed-up responses."""
        return self.frame.copy()

    def exclusions(self) -> pd.Series:
        """Responses left out, by reason (the repeat responses of a customer included)."""
        out = dict(self.excluded)
        if self.repeat_responses_dropped:
            out["earlier response of a customer who answered again"] = \
                self.repeat_responses_dropped
        return pd.Series(out, name="responses", dtype="int64").rename_axis("left out")

    def text(self) -> str:
        """How many respondents were followed, for how long, and what was left out."""
        gone = "; ".join(f"{k} {v}" for k, v in self.exclusions().items() if v) or "none"
        return (f"{len(self.frame)} respondents followed for {self.horizon_days} days "
                f"after answering; left out: {gone}.")

    def __str__(self) -> str:
        return self.text()


def respondent_behaviour(meta: pd.DataFrame, customers: pd.DataFrame, as_of,
                         transactions: pd.DataFrame | None = None,
                         horizon_days: int = 180) -> FollowUp:
    """Behaviour of each followed-up respondent within ``horizon_days`` after answering.

    ``meta``: response_id, customer_id, date (one row per response; row order
    kept in the ``row`` column). Returns a :class:`FollowUp` whose frame has one
    row per usable response with ``churned`` (relationship ended within the
    horizon), ``purchases`` (number of positive transactions in the window, when
    transactions are given) and ``repurchased`` (at least one), and whose
    ``excluded`` counts the responses left out and why.
    """
    as_of = pd.Timestamp(as_of)
    m = meta.reset_index(drop=True).copy()
    m["row"] = np.arange(len(m))
    if "date" not in m or "customer_id" not in m:
        raise ValueError("survey_responses needs customer_id and date to be joined to behaviour")
    m["date"] = pd.to_datetime(m["date"], errors="coerce")
    excluded = {"anonymous": int(m["customer_id"].isna().sum()),
                "no date": int(m["date"].isna().sum())}
    m = m[m["customer_id"].notna() & m["date"].notna()]
    short = m["date"] + pd.Timedelta(days=horizon_days) > as_of
    excluded[f"less than {horizon_days} days of follow-up"] = int(short.sum())
    m = m[~short]
    cust = customers[["customer_id", "end_date"]].copy()
    cust["end_date"] = pd.to_datetime(cust["end_date"], errors="coerce")
    j = m.merge(cust, on="customer_id", how="left", validate="many_to_one")
    excluded["customer not in customers"] = int((~j["customer_id"].isin(cust["customer_id"])).sum())
    j = j[j["customer_id"].isin(cust["customer_id"])]
    end = j["date"] + pd.Timedelta(days=horizon_days)
    j["churned"] = j["end_date"].notna() & (j["end_date"] > j["date"]) & (j["end_date"] <= end)
    already = j["end_date"].notna() & (j["end_date"] <= j["date"])
    excluded["relationship ended before answering"] = int(already.sum())
    j = j[~already]
    if transactions is not None and len(transactions):
        t = transactions[["customer_id", "date", "amount"]].copy()
        t["date"] = pd.to_datetime(t["date"], errors="coerce")
        t = t[t["amount"] > 0]
        w = j[["row", "customer_id", "date"]].merge(t, on="customer_id", suffixes=("", "_tx"))
        inwin = (w["date_tx"] > w["date"]) & (
            w["date_tx"] <= w["date"] + pd.Timedelta(days=horizon_days))
        cnt = w[inwin].groupby("row").size()
        j["purchases"] = j["row"].map(cnt).fillna(0).astype(int)
        j["repurchased"] = j["purchases"] > 0
    return FollowUp(j.drop(columns=["end_date"]).reset_index(drop=True), excluded,
                    int(horizon_days))


@dataclass
class ResponseCurve:
    """A fitted logistic spline curve: grid, fitted probability and 95% band."""

    grid: pd.DataFrame  # x, p, lo, hi
    observed: pd.DataFrame  # binned observed rates: x_mid, rate, n
    outcome: str
    n: int
    events: int
    lr_test_p: float  # spline vs flat (no association)
    nonlinearity_p: float  # spline vs straight logistic line


def _basis(knots: np.ndarray, lo: float, hi: float):
    from sklearn.preprocessing import SplineTransformer
    st = SplineTransformer(knots=np.r_[lo, knots, hi].reshape(-1, 1), degree=3,
                           extrapolation="linear", include_bias=False)
    st.fit(np.array([[lo], [hi]]))
    return st


def response_curve(x: pd.Series, y: pd.Series, n_knots: int = 3, level: float = 0.95,
                   n_bins: int = 10) -> ResponseCurve:
    """Logistic regression of a 0/1 outcome on a cubic B-spline of ``x`` with a 95% band.

    Interior knots at the quantiles of ``x``; likelihood-ratio tests against a
    flat curve (no association) and against a straight logistic line
    (non-linearity).
    """
    # the modules, not statsmodels.api (which imports all of statsmodels: 0.6 CPU s more)
    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.tools.tools import add_constant

    d = pd.DataFrame({"x": pd.to_numeric(x, errors="coerce"),
                      "y": pd.Series(y).astype(float)}).dropna()
    xv, yv = d["x"].to_numpy(), d["y"].to_numpy()
    lo, hi = float(xv.min()), float(xv.max())
    knots = np.unique(np.quantile(xv, np.linspace(0, 1, n_knots + 2)[1:-1]))
    st = _basis(knots, lo, hi)
    B = add_constant(st.transform(xv.reshape(-1, 1)), has_constant="add")
    fit = GLM(yv, B, family=Binomial()).fit()
    lin = GLM(yv, add_constant(xv), family=Binomial()).fit()
    null = GLM(yv, np.ones((len(yv), 1)), family=Binomial()).fit()
    p_assoc = float(stats.chi2.sf(2 * (fit.llf - null.llf), B.shape[1] - 1))
    p_nonlin = float(stats.chi2.sf(2 * (fit.llf - lin.llf), B.shape[1] - 2))
    g = np.linspace(*np.quantile(xv, [0.01, 0.99]), 101)  # no extrapolation into thin tails
    Bg = add_constant(st.transform(g.reshape(-1, 1)), has_constant="add")
    pr = fit.get_prediction(Bg).summary_frame(alpha=1 - level)
    grid = pd.DataFrame({"x": g, "p": pr["mean"].to_numpy(), "lo": pr["mean_ci_lower"].to_numpy(),
                         "hi": pr["mean_ci_upper"].to_numpy()})
    pl = lin.get_prediction(add_constant(g, has_constant="add")).summary_frame(alpha=1 - level)
    grid["p_linear"] = pl["mean"].to_numpy()  # the straight logistic line, for when the
    grid["lo_linear"] = pl["mean_ci_lower"].to_numpy()  # data do not support a bend
    grid["hi_linear"] = pl["mean_ci_upper"].to_numpy()
    bins = pd.qcut(d["x"], q=n_bins, duplicates="drop")
    obs = d.groupby(bins, observed=True).agg(x_mid=("x", "mean"), rate=("y", "mean"),
                                             n=("y", "size")).reset_index(drop=True)
    return ResponseCurve(grid, obs, str(getattr(y, "name", "outcome")), len(d), int(yv.sum()),
                         p_assoc, p_nonlin)


def zones(curve: ResponseCurve, lower_q: float = 0.05, upper_q: float = 0.95,
          x: pd.Series | None = None) -> pd.DataFrame:
    """Defection, indifference and affection zones read off a fitted churn curve.

    Over the central range of satisfaction (``lower_q``-``upper_q`` quantiles
    of ``x`` when given), churn risk is split into thirds of its fitted range:
    the defection zone is where risk is in the upper third, affection where it
    is in the lower third, indifference in between. Returns one row per
    contiguous stretch of the satisfaction axis (a zone can appear twice when
    the curve is not monotone) with its range and mean fitted risk; the
    stretches tile the range without gaps.
    """
    g = curve.grid
    if x is not None:
        a, b = np.quantile(pd.to_numeric(x, errors="coerce").dropna(), [lower_q, upper_q])
        g = g[(g["x"] >= a) & (g["x"] <= b)]
    g = g.reset_index(drop=True)
    pmin, pmax = g["p"].min(), g["p"].max()
    cut_hi = pmin + 2 / 3 * (pmax - pmin)
    cut_lo = pmin + 1 / 3 * (pmax - pmin)
    lab = pd.Series(np.where(g["p"] >= cut_hi, "defection",
                             np.where(g["p"] <= cut_lo, "affection", "indifference")))
    run = (lab != lab.shift()).cumsum()
    xs = g["x"].to_numpy()
    mids = np.r_[xs[0], (xs[1:] + xs[:-1]) / 2, xs[-1]]
    rows = []
    for _, idx in lab.groupby(run).groups.items():
        i0, i1 = idx.min(), idx.max()
        rows.append({"zone": lab[i0], "x_from": float(mids[i0]), "x_to": float(mids[i1 + 1]),
                     "mean_risk": float(g["p"].iloc[i0:i1 + 1].mean())})
    return pd.DataFrame(rows).set_index("zone")


def satisfaction_loyalty_table(satisfaction: pd.Series, churned: pd.Series,
                               satisfied_min: float, dissatisfied_max: float) -> dict[str, float]:
    """Satisfied defectors and dissatisfied stayers.

    ``satisfied``: satisfaction >= ``satisfied_min``; ``dissatisfied``:
    satisfaction <= ``dissatisfied_max``. Returns counts, the share of
    defectors who were satisfied (``satisfied_defectors_share``) and the share
    of stayers who were dissatisfied (``dissatisfied_stayers_share``).
    """
    d = pd.DataFrame({"s": satisfaction, "c": churned.astype(bool)}).dropna()
    sat = d["s"] >= satisfied_min
    dis = d["s"] <= dissatisfied_max
    defect = d["c"]
    n_def, n_stay = int(defect.sum()), int((~defect).sum())
    sd, ds = int((sat & defect).sum()), int((dis & ~defect).sum())
    return {"n": len(d), "defectors": n_def, "stayers": n_stay,
            "satisfied": int(sat.sum()), "dissatisfied": int(dis.sum()),
            "satisfied_defectors": sd, "dissatisfied_stayers": ds,
            "satisfied_defectors_share": sd / n_def if n_def else np.nan,
            "dissatisfied_stayers_share": ds / n_stay if n_stay else np.nan,
            "churn_rate_satisfied": float(d.loc[sat, "c"].mean()) if sat.any() else np.nan,
            "churn_rate_dissatisfied": float(d.loc[dis, "c"].mean()) if dis.any() else np.nan}


TYPOLOGY = {(True, True): "true loyalty", (True, False): "latent loyalty",
            (False, True): "spurious loyalty", (False, False): "no loyalty"}


@dataclass
class LoyaltyTypology:
    """Dick & Basu (1994) loyalty types: per respondent, and their shares."""

    respondents: pd.DataFrame  # attitude, behaviour, type
    shares: pd.Series  # share of respondents per type (all four types, in TYPOLOGY order)

    def to_frame(self) -> pd.DataFrame:
        """Share of respondents per loyalty type."""
        return self.shares.rename("share of respondents").to_frame()


def loyalty_typology(attitude: pd.Series, behaviour: pd.Series,
                     attitude_min: float) -> LoyaltyTypology:
    """Dick & Basu (1994) typology from attitudinal and behavioural loyalty.

    ``attitude``: e.g. the loyalty-intention index (high when >=
    ``attitude_min``); ``behaviour``: True for behaviourally loyal (retained,
    and repurchasing when purchases are known). Returns the per-respondent
    type (column ``type`` of ``respondents``) and the shares of the four types.
    """
    d = pd.DataFrame({"attitude": attitude, "behaviour": behaviour}).dropna()
    hi = d["attitude"] >= attitude_min
    beh = d["behaviour"].astype(bool)
    d["type"] = [TYPOLOGY[(bool(a), bool(b))] for a, b in zip(hi, beh, strict=True)]
    shares = d["type"].value_counts(normalize=True).reindex(list(TYPOLOGY.values()),
                                                            fill_value=0.0)
    return LoyaltyTypology(d, shares.rename("share"))


def zones_supported(curve: ResponseCurve, alpha: float = 0.05) -> bool:
    """Zones (Jones & Sasser 1995) are drawn only when the curve is detectably non-linear:
    the likelihood-ratio test of the spline against a straight logistic line has p < alpha."""
    p = getattr(curve, "nonlinearity_p", float("nan"))
    return bool(np.isfinite(p) and p < alpha)


def zones_sentence(curve: ResponseCurve, alpha: float = 0.05) -> str:
    """Whether the data support zones, in words (flips with the non-linearity test)."""
    p = fmt.pvalue(curve.nonlinearity_p)
    p = p if p.startswith("<") else f"= {p}"
    if zones_supported(curve, alpha):
        return (f"The churn curve bends (non-linearity test p {p}): the zones of defection, "
                "indifference and affection are drawn where its fitted risk is in the upper, "
                "middle and lower third of its range.")
    return (f"The churn curve is not detectably non-linear (non-linearity test p {p}): the "
            "data do not support zones, so none are drawn; read the fit as a straight "
            "logistic relation between satisfaction and churn.")
