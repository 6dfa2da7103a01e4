"""NPS, key drivers and reliability statistics against simulation and independent computations."""

from __future__ import annotations

from itertools import permutations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from crm_lib.survey import drivers, nps, reliability


# ------------------------------------------------------------------ NPS
@pytest.mark.parametrize("shares,n", [((0.35, 0.40, 0.25), 150), ((0.60, 0.25, 0.15), 400),
                                      ((0.20, 0.30, 0.50), 1000)])
def test_nps_trinomial_interval_covers_95_percent(shares, n):
    cov = nps.coverage_simulation(shares, n, n_sim=4000, method="trinomial", seed=11)
    assert 0.93 <= cov <= 0.97, cov


def test_nps_bootstrap_interval_covers_95_percent():
    cov = nps.coverage_simulation((0.35, 0.40, 0.25), 300, n_sim=1500, method="bootstrap",
                                  n_boot=800, seed=5)
    assert 0.93 <= cov <= 0.97, cov


def test_nps_point_estimate_shares_and_interval_by_hand():
    s = pd.Series([10, 9, 9, 8, 7, 6, 0, 5, 10, 3, np.nan, 11])  # 11 is off-scale: ignored
    r = nps.nps(s)
    # 4 promoters, 2 passives, 4 detractors among 10 valid answers
    assert r.n == 10 and r.nps == pytest.approx(0.0)
    assert (r.promoters, r.passives, r.detractors) == pytest.approx((0.4, 0.2, 0.4))
    se = np.sqrt((0.4 + 0.4 - 0.0) / 10) * 100
    assert r.se == pytest.approx(se)
    assert r.ci_low == pytest.approx(-1.959964 * se, rel=1e-5)
    b = nps.nps(s, method="bootstrap", seed=1)
    assert b.nps == r.nps and abs(b.se - r.se) / r.se < 0.1


def test_nps_difference_detects_a_real_gap_and_not_a_null_one():
    rng = np.random.default_rng(3)
    a = pd.Series(rng.choice(11, 800, p=np.r_[np.full(7, 0.2 / 7), 0.1, 0.1, 0.3, 0.3]))
    b = pd.Series(rng.choice(11, 800, p=np.r_[np.full(7, 0.4 / 7), 0.15, 0.15, 0.15, 0.15]))
    d = nps.nps_difference(a, b)
    assert d.diff > 0 and d.p_value < 1e-6 and d.ci_low < d.diff < d.ci_high
    # the size of the two-sample test under the null is about 5%
    rng = np.random.default_rng(9)
    p = np.r_[np.full(7, 0.3 / 7), 0.15, 0.15, 0.2, 0.2]
    counts_a = rng.multinomial(1, p, size=(2000, 300)).argmax(-1)
    counts_b = rng.multinomial(1, p, size=(2000, 300)).argmax(-1)
    pa = np.stack([(counts_a >= 9).mean(1), (counts_a <= 6).mean(1)])
    pb = np.stack([(counts_b >= 9).mean(1), (counts_b <= 6).mean(1)])
    da, db = pa[0] - pa[1], pb[0] - pb[1]
    va = (pa[0] + pa[1] - da ** 2) / 300
    vb = (pb[0] + pb[1] - db ** 2) / 300
    z = (da - db) / np.sqrt(va + vb)
    assert 0.035 <= np.mean(np.abs(z) > 1.96) <= 0.065
    # the library's function gives the same z as this vectorised replica
    r = nps.nps_difference(pd.Series(counts_a[0]), pd.Series(counts_b[0]))
    assert r.z == pytest.approx(z[0])


def test_nps_pairwise_uses_holm():
    assert nps.holm(np.array([0.01, 0.04, 0.03])).tolist() == pytest.approx([0.03, 0.06, 0.06])
    df = pd.DataFrame({"g": ["a"] * 50 + ["b"] * 50 + ["c"] * 50,
                       "nps": np.tile([10, 9, 8, 6, 2], 30)})
    out = nps.nps_pairwise(df, "g")
    assert len(out) == 3 and (out["p_holm"] >= out["p_value"]).all()


# ------------------------------------------------------------------ drivers
def _sim_drivers(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.multivariate_normal(np.zeros(4), [[1, .5, .3, .2], [.5, 1, .4, .1],
                                              [.3, .4, 1, .3], [.2, .1, .3, 1]], size=n)
    X = pd.DataFrame(z, columns=["quality", "value", "image", "expectations"])
    y = pd.Series(z @ [0.4, 0.3, 0.2, 0.0] + rng.standard_normal(n) * 0.7, name="sat")
    return X, y


def test_lmg_equals_brute_force_average_over_orderings():
    X, y = _sim_drivers()
    got = drivers.lmg(X, y)

    def r2(cols):
        return sm.OLS(y, sm.add_constant(X[list(cols)])).fit().rsquared if cols else 0.0

    want = dict.fromkeys(X.columns, 0.0)
    perms = list(permutations(X.columns))
    for order in perms:
        for k, c in enumerate(order):
            want[c] += (r2(order[:k + 1]) - r2(order[:k])) / len(perms)
    np.testing.assert_allclose(got[list(want)].to_numpy(), list(want.values()), atol=1e-10)
    assert got.sum() == pytest.approx(r2(tuple(X.columns)))


def test_relative_weights_sum_to_r2_and_match_squared_correlations_when_orthogonal():
    X, y = _sim_drivers()
    rw = drivers.relative_weights(X, y)
    r2 = sm.OLS(y, sm.add_constant(X)).fit().rsquared
    assert rw.sum() == pytest.approx(r2, abs=1e-10)
    # relative weights and LMG agree closely (Johnson 2000; LeBreton et al. 2004)
    assert (rw - drivers.lmg(X, y)).abs().max() < 0.01
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.standard_normal((500, 3)))
    Xo = pd.DataFrame(q - q.mean(0), columns=list("abc"))
    yo = pd.Series(Xo.to_numpy() @ [3.0, 1.0, 0.5] + rng.standard_normal(500) * 0.05)
    r = np.array([np.corrcoef(Xo[c], yo)[0, 1] for c in Xo])
    np.testing.assert_allclose(drivers.relative_weights(Xo, yo).to_numpy(), r ** 2, atol=1e-3)


def test_driver_importance_intervals_and_ipma_quadrants():
    X, y = _sim_drivers(n=1500)
    res = drivers.driver_importance(X, y, n_boot=200, seed=2)
    imp = res.to_frame()
    assert (imp["ci_low"] <= imp["weight"]).all() and (imp["weight"] <= imp["ci_high"]).all()
    assert imp["share"].sum() == pytest.approx(1.0)
    assert imp["share"].idxmax() == "quality"
    Xy = pd.concat([X, y], axis=1).dropna()  # R^2 of the OLS fit: the weights sum to it
    fit = np.linalg.lstsq(np.c_[np.ones(len(Xy)), Xy[X.columns]], Xy[y.name], rcond=None)[0]
    resid = Xy[y.name] - np.c_[np.ones(len(Xy)), Xy[X.columns]] @ fit
    assert res.r2 == pytest.approx(1 - resid.var() / Xy[y.name].var(), rel=1e-9)
    assert res.metrics() == {f"survey.driver.{d}": pytest.approx(v)
                             for d, v in imp["share"].items()}
    matrix = drivers.importance_performance(imp["share"], pd.Series(
        {"quality": 40.0, "value": 80.0, "image": 30.0, "expectations": 90.0}))
    ipm = matrix.to_frame()
    assert matrix.importance_cut == pytest.approx(0.25)  # mean of four shares summing to 1
    assert matrix.performance_cut == pytest.approx(60.0)
    assert ipm.loc["quality", "quadrant"] == "Concentrate here"
    assert ipm.loc["value", "quadrant"] == "Keep up the good work"
    assert ipm.loc["expectations", "quadrant"] == "Possible overkill"
    assert ipm.loc["image", "quadrant"] == "Low priority"


# ------------------------------------------------------------------ reliability
def _congeneric(lam, n, seed):
    rng = np.random.default_rng(seed)
    f = rng.standard_normal(n)
    lam = np.asarray(lam)
    x = f[:, None] * lam + rng.standard_normal((n, len(lam))) * np.sqrt(1 - lam ** 2)
    return pd.DataFrame(x, columns=[f"i{k}" for k in range(len(lam))])


def test_omega_and_one_factor_loadings_recover_a_congeneric_scale():
    lam = np.array([0.8, 0.7, 0.6, 0.5])
    x = _congeneric(lam, 20000, 4)
    np.testing.assert_allclose(reliability.one_factor_loadings(x.corr().to_numpy()), lam,
                               atol=0.02)
    omega_true = lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam ** 2).sum())
    assert reliability.mcdonald_omega(x) == pytest.approx(omega_true, abs=0.01)
    # alpha <= omega for congeneric items (alpha is a lower bound)
    assert reliability.cronbach_alpha(x).alpha < reliability.mcdonald_omega(x)


def test_feldt_interval_covers_population_alpha():
    lam = np.full(4, 0.7)  # tau-equivalent: alpha equals reliability
    alpha_true = 4 * 0.49 / (1 + 3 * 0.49)
    rng = np.random.default_rng(8)
    hits = 0
    n_sim = 1000
    for _ in range(n_sim):
        a = reliability.cronbach_alpha(_congeneric(lam, 150, int(rng.integers(1e9))))
        hits += a.ci_low <= alpha_true <= a.ci_high
    assert 0.93 <= hits / n_sim <= 0.97


def test_item_total_alpha_if_deleted_and_kmo_match_direct_computation():
    x = _congeneric([0.8, 0.7, 0.6, 0.2], 3000, 2)
    it = reliability.item_total(x)
    for c in x:
        rest = x.drop(columns=c).sum(axis=1)
        assert it[c] == pytest.approx(np.corrcoef(x[c], rest)[0, 1])
    aid = reliability.alpha_if_deleted(x)
    assert aid["i3"] == pytest.approx(reliability.cronbach_alpha(x.drop(columns="i3")).alpha)
    assert aid["i3"] > reliability.cronbach_alpha(x).alpha  # the weak item lowers alpha
    # KMO from partial correlations computed by regression residuals (independent route)
    r = x.corr().to_numpy()
    cols = list(x)
    part = np.zeros_like(r)
    for i in range(4):
        for j in range(4):
            if i != j:
                others = [c for k, c in enumerate(cols) if k not in (i, j)]
                ei = sm.OLS(x[cols[i]], sm.add_constant(x[others])).fit().resid
                ej = sm.OLS(x[cols[j]], sm.add_constant(x[others])).fit().resid
                part[i, j] = np.corrcoef(ei, ej)[0, 1]
    off = ~np.eye(4, dtype=bool)
    want = (r[off] ** 2).sum() / ((r[off] ** 2).sum() + (part[off] ** 2).sum())
    assert reliability.kmo(x).overall == pytest.approx(want, abs=1e-10)
    b = reliability.bartlett_sphericity(x)
    assert b.df == 6 and b.p_value < 1e-10


def test_nps_interval_level_is_named_level_and_sets_the_coverage():
    s = pd.Series([10, 9, 9, 8, 7, 6, 0, 5, 10, 3])
    r95, r90 = nps.nps(s), nps.nps(s, level=0.90)
    assert r90.nps == r95.nps and r90.se == pytest.approx(r95.se)
    assert r90.ci_high - r90.nps == pytest.approx(1.644854 * r90.se, rel=1e-5)
    assert r95.ci_high - r95.nps == pytest.approx(1.959964 * r95.se, rel=1e-5)
    d = nps.nps_difference(s, s.iloc[::-1] - 2, level=0.90)
    assert "90% interval" in d.text()
    assert d.ci_high - d.diff == pytest.approx(1.644854 * d.se, rel=1e-5)
