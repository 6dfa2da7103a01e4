"""Churn model training time and scoring throughput at 1e5 and 1e6 customers.

Generates the demo company at each size (all tables; interactions feed the
features), builds the training frame (features at the cutoff), fits the
notebook's headline model (calibrated logistic + gradient-boosting
ensemble) and scores the customers active at the analysis date, with and
without per-customer top reasons. The same steps with a plain scikit-learn
baseline (one-hot + standardise + LogisticRegression, no calibration) run
in the same process for the ratio. Threads are capped at one (the project
machine is shared; HistGradientBoosting's OpenMP threads oversubscribe).

    .venv/bin/python benchmarks/churn.py [--sizes 100000 1000000]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

import crm_lib.churn as churn
from crm_lib.churn import definition, models
from crm_lib.sources import demo

AS_OF = "2026-06-30"


def baseline(X: pd.DataFrame):
    """Plain scikit-learn logistic regression on one-hot and standardised columns."""
    num, cat, _ = models.split_columns(X)
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), num),
        ("cat", OneHotEncoder(handle_unknown="ignore"), cat)])
    return make_pipeline(pre, LogisticRegression(max_iter=2000))


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def run(n: int, seed: int = 42) -> list[dict]:
    data, t_gen = timed(lambda: demo.generate(demo.DemoParams(n_customers=n, seed=seed,
                                                              as_of=AS_OF)))
    c, i = data.tables["customers"], data.tables["interactions"]
    (X, y, _), t_feat = timed(lambda: definition.training_frame(c, as_of=AS_OF, interactions=i))
    Xs, t_sfeat = timed(lambda: definition.scoring_frame(c, as_of=AS_OF, interactions=i))
    rows = [{"customers": n, "step": "generate demo company", "seconds": t_gen},
            {"customers": n, "step": f"training features ({len(X):,} rows)", "seconds": t_feat},
            {"customers": n, "step": f"scoring features ({len(Xs):,} rows)", "seconds": t_sfeat}]
    cat = models.split_columns(X)[1]
    Xb, Xsb = X.copy(), Xs.copy()
    Xb[cat] = Xb[cat].astype(str)
    Xsb[cat] = Xsb[cat].astype(str)
    base, t_bfit = timed(lambda: baseline(Xb).fit(Xb, y))
    _, t_bscore = timed(lambda: base.predict_proba(Xsb))
    model, t_fit = timed(lambda: churn.fit_churn_model(c, as_of=AS_OF, seed=seed,
                                                       interactions=i))
    _, t_score = timed(lambda: model.predict_proba(Xs))
    _, t_reasons = timed(lambda: model.top_reasons(Xs))
    rows += [
        {"customers": n, "step": "fit: baseline logistic", "seconds": t_bfit},
        {"customers": n, "step": "fit: calibrated ensemble (headline)", "seconds": t_fit,
         "ratio_vs_baseline": t_fit / t_bfit},
        {"customers": n, "step": "score: baseline logistic", "seconds": t_bscore,
         "customers_per_s": len(Xs) / t_bscore},
        {"customers": n, "step": "score: calibrated ensemble", "seconds": t_score,
         "customers_per_s": len(Xs) / t_score, "ratio_vs_baseline": t_score / t_bscore},
        {"customers": n, "step": "score + top reasons", "seconds": t_score + t_reasons,
         "customers_per_s": len(Xs) / (t_score + t_reasons),
         "ratio_vs_baseline": (t_score + t_reasons) / t_bscore},
    ]
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=float, nargs="+", default=[1e5, 1e6])
    a = ap.parse_args()
    rows = []
    with threadpool_limits(1):
        for n in a.sizes:
            rows += run(int(n))
            print(f"done {int(n):,} customers", flush=True)
    t = pd.DataFrame(rows)
    with pd.option_context("display.width", 160, "display.max_columns", 10):
        print(t.to_string(index=False, float_format=lambda v: f"{v:,.2f}"))


if __name__ == "__main__":
    main()
