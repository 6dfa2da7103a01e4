"""Survey model speed: PLS-PM fit and bootstrap, against a data-matrix baseline.

``crm_lib.survey.pls`` runs the PLS iterations on the item correlation matrix
(p x p), so a bootstrap replicate costs one correlation matrix plus small
matrix products. The baseline in the same process is the textbook data-matrix
algorithm (as in R seminr's ``simplePLS``): construct scores (n x c) recomputed
from the n x p data at every iteration. Both give the same estimates (checked
here). Also timed: the CFA and the full CB-SEM (semopy), and the whole
``estimate_structural_model`` step of notebook 02.

Usage::

    .venv/bin/python benchmarks/survey.py                 # demo survey, n = 3000, 20000, 100000
    .venv/bin/python benchmarks/survey.py --sizes 3000 --boot 200
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from crm_lib.sources import demo
from crm_lib.survey import ECSI_PATHS, PLSPathModel, estimate_structural_model, fit_sem
from crm_lib.survey.items import prepare_items
from crm_lib.survey.pls import parse_paths


def baseline_pls(X: pd.DataFrame, constructs: dict, paths, tol: float = 1e-7,
                 max_iter: int = 300) -> pd.Series:
    """Data-matrix PLS-PM, mode A, path weighting (Lohmoeller 1989), the seminr way."""
    items = [i for c in constructs for i in constructs[c]]
    x = X[items].fillna(X[items].mean())
    Z = ((x - x.mean()) / x.std()).to_numpy()
    names = list(constructs)
    cidx = {c: k for k, c in enumerate(names)}
    M = np.zeros((len(items), len(names)))
    r = 0
    for k, c in enumerate(names):
        M[r:r + len(constructs[c]), k] = 1
        r += len(constructs[c])
    pp = parse_paths(paths)
    A = np.zeros((len(names),) * 2)
    for a, b in pp:
        A[cidx[a], cidx[b]] = 1
    sym = (A + A.T) > 0
    W = M.copy()
    W /= (Z @ W).std(axis=0, ddof=1)
    for _ in range(max_iter):
        Y = Z @ W
        Y = (Y - Y.mean(0)) / Y.std(0, ddof=1)
        C = np.corrcoef(Y, rowvar=False)
        E = C * sym
        for j in range(len(names)):
            pr = np.flatnonzero(A[:, j])
            if len(pr):
                E[pr, j] = np.linalg.lstsq(Y[:, pr], Y[:, j], rcond=None)[0]
        P = Y @ E
        P = (P - P.mean(0)) / P.std(0, ddof=1)
        Wn = M * (Z.T @ P / (len(Z) - 1))
        Wn /= (Z @ Wn).std(axis=0, ddof=1)
        done = np.abs(Wn - W).sum() < tol
        W = Wn
        if done:
            break
    Y = Z @ W
    out = {}
    for a, b in pp:
        pr = [p for p, q in pp if q == b]
        beta = np.linalg.lstsq(Y[:, [cidx[p] for p in pr]], Y[:, cidx[b]], rcond=None)[0]
        out[f"{a}->{b}"] = beta[pr.index(a)]
    return pd.Series(out)


def timed(f, repeat: int = 1) -> tuple[float, object]:
    t = time.perf_counter()
    for _ in range(repeat):
        r = f()
    return (time.perf_counter() - t) / repeat, r


def measure(n: int, X: pd.DataFrame, cons: dict, paths: list, nb: int, prep) -> dict:
    """Timings for one survey size."""
    t_fit, m = timed(lambda: PLSPathModel(cons, paths).fit(X), 3)
    t_base, b = timed(lambda: baseline_pls(X, cons, paths), 3)
    assert np.allclose(m.path_coef_[b.index].to_numpy(), b.to_numpy(), atol=1e-6)
    t_boot, _ = timed(lambda: m.bootstrap(X, n_boot=nb, seed=0))
    rng = np.random.default_rng(0)
    t_bboot, _ = timed(lambda: [baseline_pls(X.iloc[rng.integers(0, len(X), len(X))], cons,
                                             paths) for _ in range(nb)])
    t_cfa, _ = timed(lambda: fit_sem(X, cons))
    t_sem, _ = timed(lambda: fit_sem(X, cons, paths))
    t_all, _ = timed(lambda: estimate_structural_model(prep, n_boot=500))
    return {"responses": n, "pls_fit_s": t_fit, "baseline_fit_s": t_base,
            "fit_speedup": t_base / t_fit, f"pls_boot{nb}_s": t_boot,
            f"baseline_boot{nb}_s": t_bboot, "boot_speedup": t_bboot / t_boot,
            "cfa_s": t_cfa, "cbsem_s": t_sem, "notebook_step_s(500 boot)": t_all}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[3000, 20000, 100000],
                    help="survey responses")
    ap.add_argument("--boot", type=int, default=200)
    args = ap.parse_args()
    base = demo.generate(demo.DemoParams(n_customers=20000, seed=1,
                                         survey_size=max(args.sizes) // 2 + 1))
    prep_all = prepare_items(base.tables["survey_responses"], base.tables["survey_codebook"])
    cons, paths, nb = prep_all.constructs, list(ECSI_PATHS), args.boot
    rows = [measure(n, prep_all.items.iloc[:n], cons, paths, nb,
                    prepare_items(base.tables["survey_responses"].iloc[:n],
                                  base.tables["survey_codebook"]))
            for n in args.sizes]
    pd.set_option("display.width", 200)
    print(pd.DataFrame(rows).set_index("responses").round(3).to_string())


if __name__ == "__main__":
    main()
