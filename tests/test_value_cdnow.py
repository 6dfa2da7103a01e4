"""CDNOW reproductions: Fader, Hardie & Lee (2005) BG/NBD and Fader & Hardie (2013) Gamma-Gamma.

The published numbers (CDNOW 1/10 sample, 2,357 customers, calibration
1997-01-01 to 1997-09-30, time in weeks, same-day purchases one transaction)
must be reproduced within 0.5%. lifetimes (archived) serves only as an
independent oracle for the prediction formulas; it is imported inside
``warnings.catch_warnings`` because importing it silences FutureWarnings.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crm_lib import value as V
from crm_lib.sources.packaged import cdnow_transactions
from crm_lib.value import bgnbd

FHL_2005 = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
FHL_2005_LOGLIK = -9582.4
FH_2013 = {"p": 6.25, "q": 3.74, "gamma": 15.44}
CAL_END, OBS_END = "1997-09-30", "1998-06-30"


@pytest.fixture(scope="module")
def cdnow():
    tx = cdnow_transactions("sample")
    ch = V.calibration_holdout(tx, calibration_end=CAL_END, observation_end=OBS_END)
    return tx, ch, V.fit_value_models(ch)


def _datasets() -> Path:
    return Path(importlib.util.find_spec("lifetimes").submodule_search_locations[0]) / "datasets"


def test_summary_counts_transactions_like_fhl(cdnow):
    """x, t_x, T and zbar equal the summary file FHL distribute (2 decimals)."""
    _, ch, _ = cdnow
    ref = pd.read_csv(_datasets() / "cdnow_customers_summary_with_transactions.csv")
    # the summary file uses the sample's own customer index (column 2 of the sample file)
    raw = pd.read_csv(_datasets() / "CDNOW_sample.txt", sep=r"\s+", header=None,
                      usecols=[0, 1], names=["master", "ID"], dtype={"master": str})
    ids = raw.drop_duplicates("master").set_index("master")["ID"]
    got = ch.assign(ID=ch["customer_id"].map(ids)).merge(ref, on="ID")
    assert len(ch) == len(ref) == len(got) == 2357
    assert (got["frequency"] == got["x"]).all()
    assert np.abs(got["recency"] - got["t_x"]).max() <= 0.0051
    assert np.abs(got["T_x"] - got["T_y"]).max() <= 0.0051
    assert np.abs(got["monetary"] - got["zbar"]).max() <= 0.0051
    assert int((ch["frequency"] > 0).sum()) == 946
    assert ch["duration_holdout"].iloc[0] == pytest.approx(39.0)


def test_bgnbd_reproduces_fhl_2005(cdnow):
    _, _, m = cdnow
    for k, v in FHL_2005.items():
        assert m.bgnbd.params_[k] == pytest.approx(v, rel=0.005), k
    assert m.bgnbd.loglik_ == pytest.approx(FHL_2005_LOGLIK, rel=0.005)
    assert m.bgnbd.loglik_ == pytest.approx(FHL_2005_LOGLIK, abs=0.05)
    assert m.bgnbd.result_.converged
    # standard errors are finite and the published values lie inside the 95% intervals
    cmp = m.compare(V.PUBLISHED_CDNOW)
    assert cmp["inside_interval"].all()
    assert (cmp["se"] > 0).all()


def test_gamma_gamma_reproduces_fh_2013(cdnow):
    _, _, m = cdnow
    assert m.gamma_gamma.n_ == 946
    for k, v in FH_2013.items():
        assert m.gamma_gamma.params_[k] == pytest.approx(v, rel=0.005), k


def test_fhl_worked_example_and_independence_check(cdnow):
    """FHL 2005: x=2, t_x=30.43, T=38.86 expects 1.226 purchases in the next 39 weeks;
    FH 2013: frequency-spend correlation 0.11 among the 946 repeat buyers."""
    _, ch, _ = cdnow
    p = list(FHL_2005.values())
    assert bgnbd.conditional_expected_purchases(p, 39, 2, 30.43, 38.86) == pytest.approx(
        1.226, abs=5e-4)
    chk = V.independence_check(ch)
    assert chk.n == 946
    assert chk.pearson_r == pytest.approx(0.11, abs=0.005)
    assert chk.pearson_low < chk.pearson_r < chk.pearson_high


def test_predictions_match_lifetimes_oracle(cdnow):
    _, ch, m = cdnow
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter, GammaGammaFitter
    bgf = BetaGeoFitter()
    bgf.params_ = pd.Series(m.bgnbd.params_.to_numpy(), index=["r", "alpha", "a", "b"])
    x, tx, T = ch["frequency"], ch["recency"], ch["T"]
    np.testing.assert_allclose(m.bgnbd.p_alive(ch), bgf.conditional_probability_alive(x, tx, T),
                               rtol=1e-8)
    np.testing.assert_allclose(
        m.bgnbd.predict(ch, 39),
        bgf.conditional_expected_number_of_purchases_up_to_time(39, x, tx, T), rtol=1e-8)
    t = np.array([1.0, 10.0, 39.0, 78.0])
    np.testing.assert_allclose(m.bgnbd.expected_purchases(t),
                               bgf.expected_number_of_purchases_up_to_time(t), rtol=1e-8)
    ggf = GammaGammaFitter()
    ggf.params_ = pd.Series(m.gamma_gamma.params_.to_numpy(), index=["p", "q", "v"])
    rep = ch[ch["frequency"] > 0]
    np.testing.assert_allclose(
        m.gamma_gamma.predict(rep),
        ggf.conditional_expected_average_profit(rep["frequency"], rep["monetary"]), rtol=1e-8)


def test_holdout_checks_on_cdnow(cdnow):
    tx, ch, m = cdnow
    scores = V.holdout_scores(m.bgnbd, ch)
    assert scores.loc["BG/NBD", "total actual"] == 1882
    # BG/NBD beats the naive run rate on every measure (FHL fig. 4 logic)
    assert scores.loc["BG/NBD", "MAE"] < scores.loc["naive run rate", "MAE"]
    assert scores.loc["BG/NBD", "RMSE"] < scores.loc["naive run rate", "RMSE"]
    assert V.holdout_mae(m.bgnbd, ch) == pytest.approx(scores.loc["BG/NBD", "MAE"])
    pt = V.period_transactions(tx, m.bgnbd, calibration_end=CAL_END, observation_end=OBS_END)
    # actual repeat purchases of the cohort = calibration + holdout repeat transactions
    assert pt["actual"].sum() == ch["frequency"].sum() + ch["frequency_holdout"].sum()
    # the split is exact: calibration periods hold the calibration repeat purchases
    cal_rows = pt[~pt["holdout"]]
    assert cal_rows["actual"].sum() == ch["frequency"].sum()
    # the cumulative forecast at the end of calibration equals sum of E[X(T_i)]
    assert cal_rows["cumulative_expected"].iloc[-1] == pytest.approx(
        m.bgnbd.expected_purchases(ch["T"].to_numpy()).sum(), rel=1e-6)
    # and stays within 5% of the actual curve at the end of the holdout (FHL fig. 2)
    assert pt["cumulative_expected"].iloc[-1] == pytest.approx(
        pt["cumulative_actual"].iloc[-1], rel=0.05)
