"""How fast do customers leave? Cohorts, Kaplan-Meier, log-rank and Cox models.

Survival analysis treats tenure as a duration that is *right-censored* for
customers still active at the analysis date (we know they lasted at least
that long). Methods, all on statsmodels (lifelines is not used):

- cohort retention table: share of each signup-month cohort still active
  k months after joining (only ages the cohort has reached are shown);
- Kaplan-Meier survival curves by segment with log-log 95% pointwise
  intervals (Kaplan & Meier 1958; Greenwood variance) and the log-rank
  test of equal survival (Mantel 1966), ``SurvfuncRight`` / ``survdiff``;
- cumulative incidence by churn reason for competing risks
  (Aalen-Johansen estimator; Putter, Fiocco & Geskus 2007);
- Cox proportional hazards (Cox 1972), ``PHReg`` with Efron ties: hazard
  ratios with 95% intervals, Harrell's concordance index (Harrell et al.
  1982), and the proportional-hazards check of Grambsch & Therneau (1994)
  on scaled Schoenfeld residuals against the rank of event time. A
  *cause-specific* Cox model counts only the chosen churn reasons as
  events and censors the others at their end date (Prentice et al. 1978).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg, PHRegResults
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from .definition import DAYS_PER_MONTH, prepare_customers


def durations(customers: pd.DataFrame, *, as_of, causes=None) -> pd.DataFrame:
    """Tenure in months and the event flag per customer (censored at ``as_of``).

    ``causes``: when given, only churn with a ``churn_reason`` in ``causes``
    is an event (cause-specific analysis); other churners are censored at
    their end date. Returns the prepared customers with ``duration`` and ``event``.
    """
    as_of = pd.Timestamp(as_of)
    c = prepare_customers(customers, as_of)
    end = c["end_date"].where(c["churned"], as_of)
    c["duration"] = ((end - c["signup_date"]).dt.days / DAYS_PER_MONTH).to_numpy(float)
    ev = c["churned"].to_numpy(bool)
    if causes is not None:
        if "churn_reason" not in c:
            raise ValueError("cause-specific analysis needs the customers column 'churn_reason'")
        ev = ev & c["churn_reason"].astype("string").isin(list(causes)).fillna(False).to_numpy()
    c["event"] = ev.astype(int)
    c = c[c["duration"] > 0].reset_index(drop=True)
    return c


def cohort_retention(customers: pd.DataFrame, *, as_of, max_age: int = 24,
                     freq: str = "M") -> pd.DataFrame:
    """Share of each signup cohort still active ``k`` months after joining (k = 0..max_age).

    Rows: signup period (``freq`` "M" month or "Q" quarter); columns: age in
    months; cells the cohort has not reached yet are NaN. A final column
    ``size`` gives the cohort size.
    """
    as_of = pd.Timestamp(as_of)
    c = prepare_customers(customers, as_of)
    end = c["end_date"].where(c["churned"], pd.Timestamp.max.normalize())
    ages = np.arange(max_age + 1)
    signup = c["signup_date"].to_numpy("datetime64[D]")
    span = (as_of.to_datetime64().astype("datetime64[D]") - signup).astype(float)
    life = (end.to_numpy("datetime64[D]") - signup).astype(float)
    reach = span[:, None] >= ages[None, :] * DAYS_PER_MONTH
    alive = life[:, None] > ages[None, :] * DAYS_PER_MONTH
    cohort = c["signup_date"].dt.to_period(freq).astype(str).to_numpy()
    a = pd.DataFrame(alive & reach, columns=ages).groupby(cohort).sum()
    r = pd.DataFrame(reach, columns=ages).groupby(cohort).sum()
    table = (a / r.where(r > 0)).astype(float)
    table["size"] = pd.Series(cohort).value_counts().reindex(table.index).to_numpy()
    table.index.name = "cohort"
    table.columns.name = "age_months"
    return table


@dataclass
class KMResult:
    """Kaplan-Meier curves (tidy), medians and the log-rank test across groups."""

    curves: pd.DataFrame  # group, time, survival, ci_low, ci_high, at_risk
    medians: pd.DataFrame  # group, n, events, median (months; NaN = not reached)
    logrank_chi2: float
    logrank_df: int
    logrank_p: float


def _km_curve(time, event) -> pd.DataFrame:
    sf = SurvfuncRight(np.asarray(time, float), np.asarray(event, int))
    s, se = sf.surv_prob, sf.surv_prob_se
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = np.log(-np.log(s))
        sell = se / (s * np.abs(np.log(s)))
        lo = np.exp(-np.exp(ll + 1.96 * sell))
        hi = np.exp(-np.exp(ll - 1.96 * sell))
    lo = np.where(np.isfinite(lo), lo, s)
    hi = np.where(np.isfinite(hi), hi, s)
    return pd.DataFrame({"time": np.r_[0.0, sf.surv_times], "survival": np.r_[1.0, s],
                         "ci_low": np.r_[1.0, lo], "ci_high": np.r_[1.0, hi],
                         "at_risk": np.r_[len(time), sf.n_risk]})


def kaplan_meier(d: pd.DataFrame, group: str | None = None, *, min_size: int = 30) -> KMResult:
    """Kaplan-Meier curves of ``d`` (from :func:`durations`) by ``group`` and the log-rank test.

    Groups smaller than ``min_size`` customers are pooled into "other".
    """
    if group is None:
        g = pd.Series("all", index=d.index)
    else:
        if group not in d:
            raise ValueError(f"customers have no column '{group}' to split survival curves by")
        g = d[group].astype("string").fillna("missing")
        small = g.map(g.value_counts()) < min_size
        g = g.where(~small, "other")
    curves, meds = [], []
    for name in sorted(g.unique()):
        m = (g == name).to_numpy()
        cur = _km_curve(d.loc[m, "duration"], d.loc[m, "event"])
        cur.insert(0, "group", name)
        curves.append(cur)
        below = cur.loc[cur["survival"] <= 0.5, "time"]
        meds.append({"group": name, "n": int(m.sum()), "events": int(d.loc[m, "event"].sum()),
                     "median_months": float(below.iloc[0]) if len(below) else np.nan})
    chi2, p, df = np.nan, np.nan, 0
    if g.nunique() > 1:
        chi2, p = survdiff(d["duration"].to_numpy(float), d["event"].to_numpy(int),
                           g.to_numpy(str))
        df = g.nunique() - 1
    return KMResult(pd.concat(curves, ignore_index=True), pd.DataFrame(meds), float(chi2),
                    int(df), float(p))


def survival_at(km: KMResult, months) -> pd.DataFrame:
    """KM survival (and interval) of each group at the given months (step function)."""
    rows = []
    for name, cur in km.curves.groupby("group", sort=False):
        idx = np.searchsorted(cur["time"].to_numpy(), np.asarray(months, float), "right") - 1
        sub = cur.iloc[idx]
        for mth, (_, r) in zip(months, sub.iterrows(), strict=True):
            rows.append({"group": name, "months": mth, "survival": r["survival"],
                         "ci_low": r["ci_low"], "ci_high": r["ci_high"]})
    return pd.DataFrame(rows)


def cumulative_incidence(d: pd.DataFrame, reason: str = "churn_reason") -> pd.DataFrame:
    """Aalen-Johansen cumulative incidence of each churn reason over tenure (months).

    ``d`` from :func:`durations` (all-cause events). Returns time, reason, incidence.
    """
    t = d["duration"].to_numpy(float)
    ev = d["event"].to_numpy(bool)
    r = d[reason].astype("string").fillna("unknown").to_numpy(str)
    times = np.unique(t[ev])
    order = np.sort(t)
    at_risk = len(t) - np.searchsorted(order, times, "left")
    deaths = pd.crosstab(t[ev], r[ev]).reindex(times).fillna(0)
    d_all = deaths.sum(axis=1).to_numpy()
    s = np.cumprod(1 - d_all / at_risk)
    s_prev = np.r_[1.0, s[:-1]]
    inc = (deaths.to_numpy() * (s_prev / at_risk)[:, None]).cumsum(axis=0)
    out = pd.DataFrame(inc, columns=deaths.columns)
    out.insert(0, "time", times)
    return out.melt(id_vars="time", var_name="reason", value_name="incidence")


@dataclass
class CoxResult:
    """A fitted Cox model: hazard ratios, concordance and the PH check.

    ``result`` (statsmodels' ``PHRegResults``) and ``ph_test`` (which reads its Schoenfeld
    residuals) are built on first use: building statsmodels' model costs more than the
    vectorised fit, and the table, concordance and counts do not need it.
    """

    table: pd.DataFrame  # term, hazard_ratio, ci_low, ci_high, p_value, unit
    concordance: float
    n: int
    events: int
    _build: Callable = field(repr=False)  # () -> statsmodels PHRegResults
    _ph: Callable = field(repr=False)  # (PHRegResults) -> ph_test table

    @functools.cached_property
    def result(self):
        """statsmodels' ``PHRegResults`` of the fit (intervals, p-values, residuals)."""
        return self._build()

    @functools.cached_property
    def ph_test(self) -> pd.DataFrame:
        """term, chi2, p_value (+ a GLOBAL row): :func:`ph_test` of the fit."""
        return self._ph(self.result)

    def hazard_ratio(self, term: str) -> tuple[float, float, float]:
        r = self.table.set_index("term").loc[term]
        return float(r["hazard_ratio"]), float(r["ci_low"]), float(r["ci_high"])


def cox_design(d: pd.DataFrame, covariates, *, scale: dict | None = None,
               reference: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """Design matrix: numbers per ``scale`` units, text reference-coded (most frequent level).

    Returns the matrix (columns ``num`` or ``cat[level]``) and a unit label per column.
    """
    scale = scale or {}
    reference = reference or {}
    cols, units = {}, {}
    for c in covariates:
        if c not in d:
            continue
        s = d[c]
        num = pd.to_numeric(s, errors="coerce") if not pd.api.types.is_numeric_dtype(s) else s
        if pd.api.types.is_bool_dtype(s) or (num.notna().sum() == s.notna().sum()
                                              and s.notna().any()):
            k = float(scale.get(c, 1.0))
            name = c if k == 1 else f"{c}_per_{k:g}"
            cols[name] = num.astype(float).fillna(num.astype(float).median()).to_numpy() / k
            units[name] = f"per {k:g}"
        else:
            v = s.astype("string").fillna("missing")
            vc = v.value_counts()
            ref = reference.get(c, vc.index[0])
            for lvl in vc.index:
                if lvl != ref and vc[lvl] >= 10:
                    cols[f"{c}[{lvl}]"] = (v == lvl).astype(float).to_numpy()
                    units[f"{c}[{lvl}]"] = f"vs {ref}"
    X = pd.DataFrame(cols, index=d.index)
    X = X.loc[:, X.std() > 0]
    return X, {k: units[k] for k in X.columns}


def concordance_index(time, risk, event) -> float:
    """Harrell's C: among comparable pairs, the share where the earlier churner has higher risk.

    A pair is comparable when the shorter duration ends in an event; ties
    in risk count one half. Rows are taken in blocks of whole event times,
    longest durations first: a row is compared with the rows of earlier
    blocks through a running histogram of risk ranks, and with the longer
    durations of its own block directly (exact counts, O(n sqrt(n))).
    """
    t = np.asarray(time, float)
    r = np.asarray(risk, float)
    e = np.asarray(event, bool)
    n = len(t)
    if n == 0:
        return np.nan
    rank = stats.rankdata(r, method="dense").astype(np.int64)
    m = int(rank.max())
    order = np.argsort(-t, kind="stable")
    ts, ranks, es = t[order], rank[order], e[order]
    starts = np.flatnonzero(np.r_[True, ts[1:] != ts[:-1]])  # first row of each time
    bounds = np.r_[starts, n]
    target = max(64, int(np.sqrt(n)))
    blocks, a = [], 0
    for g in range(len(starts)):  # whole times per block, about sqrt(n) rows each
        if bounds[g + 1] - a > target and bounds[g] > a:
            blocks.append((a, int(bounds[g])))
            a = int(bounds[g])
    blocks.append((a, n))
    hist = np.zeros(m + 1)  # risk ranks of the rows already passed (longer durations)
    conc = ties = total = 0.0
    for a, b in blocks:
        ev = np.flatnonzero(es[a:b]) + a
        if ev.size and a:
            cum = np.cumsum(hist)
            rk = ranks[ev]
            conc += cum[rk - 1].sum()
            ties += hist[rk].sum()
            total += a * ev.size
        if ev.size and ts[a] != ts[b - 1]:  # longer durations inside this block
            longer = ts[a:b][None, :] > ts[ev][:, None]
            rb, rk = ranks[a:b][None, :], ranks[ev][:, None]
            conc += float((longer & (rb < rk)).sum())
            ties += float((longer & (rb == rk)).sum())
            total += float(longer.sum())
        hist += np.bincount(ranks[a:b], minlength=m + 1)
    return float((conc + 0.5 * ties) / total) if total else np.nan


def ph_test(result, time, event, names) -> pd.DataFrame:
    """Grambsch-Therneau test of proportional hazards (scaled Schoenfeld residuals vs rank time).

    For each covariate: chi2(1) = (sum_k (g_k - gbar) s*_kj)^2 / (D var_jj sum_k (g_k - gbar)^2)
    with s* = D * (V r_k) the scaled residuals, D events, V the covariance
    of the coefficients, g the rank of the event times. A small p-value says
    the hazard ratio changes with tenure (the PH assumption fails for it).
    """
    sch = np.asarray(result.schoenfeld_residuals)
    ev = np.asarray(event, bool) & np.all(np.isfinite(sch), axis=1)
    r = sch[ev]
    g = stats.rankdata(np.asarray(time, float)[ev])
    g = g - g.mean()
    V = np.asarray(result.cov_params())
    D = ev.sum()
    scaled = D * r @ V
    num = (g @ scaled) ** 2
    chi2 = num / (D * np.diag(V) * np.sum(g**2))
    out = pd.DataFrame({"term": list(names), "chi2": chi2, "p_value": stats.chi2.sf(chi2, 1)})
    # global test (score-type, Grambsch-Therneau 1994 eq. for all covariates jointly)
    u = g @ r
    glob = float(u @ V @ u * D / np.sum(g**2))
    out.loc[len(out)] = {"term": "GLOBAL", "chi2": glob,
                         "p_value": float(stats.chi2.sf(glob, len(names)))}
    return out


def efron_fit(time, X: np.ndarray, event, *, max_iter: int = 50,
              tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray, bool]:
    """Cox coefficients under Efron's tie correction by a vectorised Newton method.

    Maximises the partial likelihood of Efron (1977) using its gradient and Hessian,
    from reverse cumulative sums over the time-sorted rows (risk-set sums) and one row
    per event (the tie correction): a few milliseconds an iteration where statsmodels'
    ``PHReg`` loops over the distinct event times in Python (about 0.2 s a pass on
    20,000 customers, eight passes a fit). The same estimator: the coefficients and
    the Hessian agree with ``PHReg(ties="efron").fit()`` to about 1e-12
    (tests/test_churn_survival.py). Returns (coefficients, Hessian of the log partial
    likelihood, converged).
    """
    t = np.asarray(time, float)
    e = np.asarray(event, bool)
    X = np.asarray(X, float)
    n, p = X.shape
    order = np.argsort(t, kind="stable")
    t, e, X = t[order], e[order], X[order]
    et = t[e]
    u, d = np.unique(et, return_counts=True)  # distinct event times, events at each
    start = np.searchsorted(t, u, side="left")  # risk set of u[k]: rows start[k]:
    k_of_event = np.repeat(np.arange(len(u)), d)
    frac = np.concatenate([np.arange(m) / m for m in d]) if len(d) else np.zeros(0)
    Xe = X[e]
    iu = np.triu_indices(p)  # x_i x_j = x_j x_i: risk-set sums of the products i <= j only
    pair = np.zeros((p, p), dtype=np.int64)
    pair[iu] = np.arange(len(iu[0]))
    pair = np.maximum(pair, pair.T).ravel()  # position of (i, j) among the i <= j products
    xx = X[:, iu[0]] * X[:, iu[1]]
    beta = np.zeros(p)

    def rev_cumsum(a):
        return np.cumsum(a[::-1], axis=0)[::-1]

    def parts(b):
        eta = X @ b
        w = np.exp(eta - eta.max())
        S0, S1, S2 = rev_cumsum(w)[start], rev_cumsum(w[:, None] * X)[start], \
            rev_cumsum(w[:, None] * xx)[start][:, pair]
        we = w[e]
        F0 = np.bincount(k_of_event, we, len(u))
        F1 = np.stack([np.bincount(k_of_event, we * Xe[:, j], len(u)) for j in range(p)], 1)
        F2 = np.stack([np.bincount(k_of_event, we * Xe[:, i] * Xe[:, j], len(u))
                       for i in range(p) for j in range(p)], 1)
        k, a = k_of_event, frac[:, None]
        phi0 = S0[k] - frac * F0[k]
        phi1 = S1[k] - a * F1[k]
        phi2 = S2[k] - a * F2[k]
        ll = float((eta[e] - eta.max()).sum() - np.log(phi0).sum())
        grad = Xe.sum(0) - (phi1 / phi0[:, None]).sum(0)
        m1 = phi1 / phi0[:, None]
        hess = -((phi2 / phi0[:, None]).sum(0).reshape(p, p) - m1.T @ m1)
        return ll, grad, hess

    ll, g, H = parts(beta)
    for _ in range(max_iter):
        try:
            step = np.linalg.solve(-H, g)
        except np.linalg.LinAlgError:
            return beta, H, False
        for _half in range(30):  # step halving keeps the likelihood rising
            ll_new, g_new, H_new = parts(beta + step)
            if np.isfinite(ll_new) and ll_new >= ll - 1e-12:
                break
            step = step / 2
        else:
            return beta, H, False
        beta = beta + step
        ll, g, H = ll_new, g_new, H_new
        if np.max(np.abs(step)) < tol:
            return beta, H, bool(np.all(np.isfinite(H)))
    return beta, H, False


def cox(d: pd.DataFrame, covariates, *, scale: dict | None = None,
        reference: dict | None = None, strata: str | None = None) -> CoxResult:
    """Cox proportional-hazards model of ``d`` (from :func:`durations`); see module docstring.

    ``covariates``: columns (missing ones are skipped); ``scale``: units per
    numeric column (e.g. ``{"monthly_charges": 10}`` gives the hazard ratio
    per 10 currency units); ``reference``: reference level per text column.
    """
    X, units = cox_design(d, covariates, scale=scale, reference=reference)
    if X.shape[1] == 0:
        raise ValueError("none of the Cox covariates is present with variation: "
                         + ", ".join(covariates))
    t = d["duration"].to_numpy(float)
    e = d["event"].to_numpy(int)
    if e.sum() < X.shape[1] + 5:
        raise ValueError(f"too few churn events ({int(e.sum())}) for a Cox model with "
                         f"{X.shape[1]} terms")
    st = d[strata].astype("string").fillna("missing").to_numpy() if strata else None
    Xa = X.to_numpy()

    def model():
        return PHReg(t, Xa, status=e, ties="efron", strata=st)

    # the vectorised Efron fit (the same estimates, many times faster); statsmodels' own
    # Newton fit for strata or if it does not converge. The results object is
    # statsmodels' (intervals, p-values, Schoenfeld residuals), covariance inv(-Hessian),
    # built when asked for: the table's intervals and p-values are its formulas
    params, hess, ok = (None, None, False) if strata else efron_fit(t, Xa, e)
    if ok:
        cov = np.linalg.inv(-hess)

        def build():
            m = model()
            m.groups = None  # what PHReg.fit sets without groups
            return PHRegResults(m, params, cov)
        bse = np.sqrt(np.diag(cov))  # PHRegResults' standard errors (scale 1)
        q = stats.norm.ppf(1 - 0.05 / 2)
        ci = np.column_stack([params - q * bse, params + q * bse])
        pvalues = stats.norm.sf(np.abs(params / bse)) * 2
    else:
        fitted = model().fit()
        params, ci, pvalues = fitted.params, np.asarray(fitted.conf_int()), fitted.pvalues

        def build():
            return fitted
    table = pd.DataFrame({"term": X.columns, "unit": [units[c] for c in X.columns],
                          "hazard_ratio": np.exp(params), "ci_low": np.exp(ci[:, 0]),
                          "ci_high": np.exp(ci[:, 1]), "p_value": pvalues})
    risk = Xa @ params
    c_index = concordance_index(t, risk, e)
    names = list(X.columns)
    return CoxResult(table, c_index, len(d), int(e.sum()), build,
                     lambda res: ph_test(res, t, e, names))


def segment_columns(d: pd.DataFrame, *, max_levels: int = 12) -> list[str]:
    """Customer attributes to compare survival across, from the data contract, not a list.

    The customers table's declared attributes (text columns such as plan,
    contract, region, channel, and the count ``n_products``), then any further
    attribute a source brings (kept as extra columns) with 2 to ``max_levels``
    distinct text values; columns with a single level are left out.
    """
    from .. import contract
    declared = [c.name for c in contract.CUSTOMERS.columns
                if c.dtype in ("str", "int") and not c.unique]
    skip = {c.name for c in contract.CUSTOMERS.columns} | {"duration", "event"}
    extra = [c for c in d.columns if c not in skip and not pd.api.types.is_numeric_dtype(d[c])
             and not pd.api.types.is_datetime64_any_dtype(d[c])
             and 2 <= d[c].nunique(dropna=True) <= max_levels]
    return [c for c in (*declared, *extra) if c in d and d[c].nunique(dropna=True) > 1]


def logrank_table(d: pd.DataFrame, segments, *, min_size: int = 30) -> pd.DataFrame:
    """Log-rank test of equal survival across the levels of each segment column present.

    Numeric columns with many values are cut into quartiles first.
    """
    rows = []
    for seg in segments:
        if seg not in d or d[seg].nunique(dropna=True) < 2:
            continue
        col = d[seg]
        if pd.api.types.is_numeric_dtype(col) and col.nunique() > 8:
            col = pd.qcut(col.rank(method="first"), 4, labels=["Q1", "Q2", "Q3", "Q4"])
        km = kaplan_meier(d.assign(_g=col.astype("string")), "_g", min_size=min_size)
        rows.append({"segment": seg, "groups": len(km.medians), "chi2": km.logrank_chi2,
                     "df": km.logrank_df, "p_value": km.logrank_p})
    out = pd.DataFrame(rows, columns=["segment", "groups", "chi2", "df", "p_value"])
    return out.sort_values("chi2", ascending=False).reset_index(drop=True)


def choose_covariates(d: pd.DataFrame, preferred, *, max_terms: int = 6) -> list[str]:
    """The preferred Cox covariates present in ``d``; if none, up to ``max_terms`` attributes.

    The fallback takes numeric columns and text columns with 2-10 levels, in
    table order, skipping keys, dates, outcomes and survival columns.
    """
    present = [c for c in preferred if c in d and d[c].nunique(dropna=True) > 1]
    if present:
        return present
    skip = {"customer_id", "signup_date", "end_date", "churned", "churn_reason", "duration",
            "event", "churn_reason_raw"}
    out = []
    for c in d.columns:
        if c in skip or pd.api.types.is_datetime64_any_dtype(d[c]):
            continue
        k = d[c].nunique(dropna=True)
        num = pd.to_numeric(d[c], errors="coerce")
        if (num.notna().sum() == d[c].notna().sum() and k > 1) or 2 <= k <= 10:
            out.append(c)
        if len(out) == max_terms:
            break
    return out
