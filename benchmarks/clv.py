"""Speed of the CLV models: crm_lib.value against lifetimes, and at one million customers.

Run: ``.venv/bin/python benchmarks/clv.py [--n-large 1000000] [--repeat 3]``

1. CDNOW master (23,570 customers; calibration to 1997-09-30, weeks): BG/NBD and
   Gamma-Gamma fit time of crm_lib.value and of lifetimes 0.11.3 (archived; used here
   only as the baseline) in the same process, on the same summary. Both parameter
   sets are scored with the same log-likelihood function; they must agree to 0.01.
2. One million simulated BG/NBD + Gamma-Gamma customers: fit time of crm_lib.value
   (lifetimes too with ``--lifetimes-large``).

Prints a table and the speed ratios (lifetimes time / crm_lib time; > 1 = faster).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings

import numpy as np
import pandas as pd

from crm_lib import value as V
from crm_lib.sources.packaged import cdnow_transactions
from crm_lib.value import bgnbd, gammagamma


def best_of(f, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return min(times), out


def lifetimes_fitters():
    with warnings.catch_warnings():  # importing lifetimes silences FutureWarnings otherwise
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter, GammaGammaFitter
    return BetaGeoFitter, GammaGammaFitter


def compare(summary: pd.DataFrame, label: str, repeat: int, with_lifetimes: bool) -> list[dict]:
    """Fit both models with both libraries; score all parameter sets with one likelihood."""
    rows = []
    rep = summary[(summary["frequency"] > 0) & (summary["monetary"] > 0)]
    x, tx, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    t_bg, ours_bg = best_of(lambda: V.BetaGeo().fit(summary), repeat)
    t_gg, ours_gg = best_of(lambda: V.GammaGamma().fit(summary), repeat)
    ll_bg = bgnbd.log_likelihood(ours_bg.params_.to_numpy(), x, tx, T).sum()
    ll_gg = gammagamma.log_likelihood(ours_gg.params_.to_numpy(), rep["frequency"],
                                      rep["monetary"]).sum()
    row_bg = {"data": label, "model": "BG/NBD", "customers": len(summary),
              "crm_lib_s": t_bg, "crm_lib_loglik": ll_bg,
              "params": ", ".join(f"{k} {v:.4g}" for k, v in ours_bg.params_.items())}
    row_gg = {"data": label, "model": "Gamma-Gamma", "customers": len(rep),
              "crm_lib_s": t_gg, "crm_lib_loglik": ll_gg,
              "params": ", ".join(f"{k} {v:.4g}" for k, v in ours_gg.params_.items())}
    if with_lifetimes:
        BGF, GGF = lifetimes_fitters()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_lbg, lbg = best_of(lambda: BGF().fit(summary["frequency"], summary["recency"],
                                                   summary["T"]), repeat)
            t_lgg, lgg = best_of(lambda: GGF().fit(rep["frequency"], rep["monetary"]), repeat)
        l_bg = bgnbd.log_likelihood(lbg.params_[["r", "alpha", "a", "b"]].to_numpy(), x, tx,
                                    T).sum()
        l_gg = gammagamma.log_likelihood(lgg.params_[["p", "q", "v"]].to_numpy(),
                                         rep["frequency"], rep["monetary"]).sum()
        row_bg.update(lifetimes_s=t_lbg, lifetimes_loglik=l_bg, speedup=t_lbg / t_bg,
                      loglik_diff=ll_bg - l_bg)
        row_gg.update(lifetimes_s=t_lgg, lifetimes_loglik=l_gg, speedup=t_lgg / t_gg,
                      loglik_diff=ll_gg - l_gg)
    rows += [row_bg, row_gg]
    return rows


def simulated(n: int, seed: int = 0) -> pd.DataFrame:
    """n customers from CDNOW-like parameters, ages spread over 1-78 weeks."""
    rng = np.random.default_rng(seed)
    sim = bgnbd.simulate([0.243, 4.414, 0.793, 2.426], rng.uniform(1, 78, n), seed=seed + 1)
    sim["monetary"] = gammagamma.simulate([6.25, 3.74, 15.44], sim["frequency"], seed=seed + 2)
    return sim


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-large", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="best of this many fits")
    ap.add_argument("--lifetimes-large", action="store_true",
                    help="also fit lifetimes on the large simulated data (slow)")
    a = ap.parse_args()
    print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}")

    t = time.perf_counter()
    tx = cdnow_transactions("master")
    summary = V.rfm_summary(tx, calibration_end="1997-09-30")
    t_sum = time.perf_counter() - t
    print(f"CDNOW master: {len(tx):,} rows -> {len(summary):,} customers, summary (read + duckdb) "
          f"{t_sum:.2f} s")
    rows = compare(summary, "CDNOW master", a.repeat, with_lifetimes=True)

    t = time.perf_counter()
    big = simulated(a.n_large)
    print(f"simulated {a.n_large:,} customers in {time.perf_counter() - t:.2f} s")
    rows += compare(big, f"simulated {a.n_large:,}", 1, with_lifetimes=a.lifetimes_large)

    res = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_colwidth", 60)
    cols = [c for c in ("data", "model", "customers", "crm_lib_s", "lifetimes_s", "speedup",
                        "crm_lib_loglik", "lifetimes_loglik", "loglik_diff") if c in res]
    print(res[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(res[["data", "model", "params"]].to_string(index=False))
    cd = res[res["data"] == "CDNOW master"]
    ok = bool((cd["loglik_diff"].abs() <= 0.01).all())
    print(f"same log-likelihood on CDNOW master to 0.01: {ok} "
          f"(diffs {', '.join(f'{d:+.2e}' for d in cd['loglik_diff'])})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
