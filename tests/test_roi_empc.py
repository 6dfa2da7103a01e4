"""EMPC / MPC against the empulse package, a numerical integral and published values."""

import numpy as np
import pytest
from empulse.metrics import empc_score, mpc_score
from scipy import integrate, stats

from crm_lib.roi import empc as E


def _data(n, seed, rounding=None, rate=0.27):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < rate).astype(int)
    s = np.clip(0.35 * y + rng.random(n) * 0.8, 0, 1)
    return y, (np.round(s, rounding) if rounding else s)


@pytest.mark.parametrize("n,seed,rounding", [(4000, 0, None), (500, 1, 1), (60, 2, 2),
                                             (1500, 3, None)])
def test_empc_and_mpc_equal_empulse(n, seed, rounding):
    y, s = _data(n, seed, rounding)
    ours = E.empc(y, s)
    assert ours.value == pytest.approx(empc_score(y, s), abs=1e-6)
    assert ours.fraction == pytest.approx(empc_score.optimal_rate(y, s), abs=1e-6)
    m = E.mpc(y, s)
    assert m.value == pytest.approx(mpc_score(y, s), abs=1e-6)
    assert m.fraction == pytest.approx(mpc_score.optimal_rate(y, s), abs=1e-6)
    # non-default parameters too
    kw = dict(clv=350.0, contact_cost=3.0)
    assert E.empc(y, s, alpha=2, beta=5, incentive=25.0, **kw).value == pytest.approx(
        empc_score(y, s, alpha=2, beta=5, incentive_cost=25.0, **kw), abs=1e-6)
    assert E.mpc(y, s, accept_rate=0.5, incentive=25.0, **kw).value == pytest.approx(
        mpc_score(y, s, accept_rate=0.5, incentive_cost=25.0, **kw), abs=1e-6)


def test_perfect_model_is_the_closed_form():
    # perfect ranking: EMPC = pi0 * (E[gamma] (clv - d) - f) (Verbraken et al. 2013)
    y, _ = _data(3000, 5)
    r = E.empc(y, y.astype(float))
    pi0 = y.mean()
    assert r.value == pytest.approx(pi0 * (0.3 * 190 - 1), abs=1e-9)
    assert r.perfect == pytest.approx(r.value, abs=1e-9)
    assert r.fraction == pytest.approx(pi0, abs=1e-9)
    # telco: 1869 churners of 7043 customers -> 14.86 (the reference)
    y = np.r_[np.ones(1869), np.zeros(7043 - 1869)]
    assert E.empc(y, y).value == pytest.approx(14.86, abs=0.005)


def test_clv_aware_empc_matches_numerical_integral():
    y, s = _data(400, 7)
    clv = np.random.default_rng(8).gamma(2.0, 100.0, len(y))
    lines = E.profit_lines(y, s, clv=clv, incentive=10.0, contact_cost=1.0)
    a, b = lines["A"].to_numpy(), lines["B"].to_numpy()

    def f(g):
        return np.max(g * a + b) * stats.beta.pdf(g, 6, 14)

    # split the integral at the breakpoints for accuracy
    brk = np.sort(np.unique(np.clip([(b[i] - b[j]) / (a[j] - a[i]) for i in range(0, len(a), 7)
                                     for j in range(i + 1, len(a), 7) if a[j] != a[i]], 0, 1)))
    ref, _ = integrate.quad(f, 0, 1, points=brk[:50], limit=500)
    r = E.empc_clv(y, s, clv=clv)
    assert r.value == pytest.approx(ref, abs=1e-6)
    # a constant CLV reproduces the standard measure
    assert E.empc_clv(y, s, clv=np.full(len(y), 200.0)).value == pytest.approx(
        E.empc(y, s).value, abs=1e-9)
    # the CLV-aware perfect model ranks valuable churners first and bounds every model
    assert r.perfect >= r.value


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="binary"):
        E.empc([0, 2, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="missing"):
        E.empc([0, 1], [0.1, np.nan])
