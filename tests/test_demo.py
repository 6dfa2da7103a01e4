"""The demo company: determinism, contract validity, and truth consistent with the data."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from crm_lib import cleaning, contract
from crm_lib.sources import demo


def _hashes(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    p = demo.DemoParams(n_customers=1500, seed=11)
    a = demo.write_demo(tmp_path / "a", tmp_path / "ta", p)
    b = demo.write_demo(tmp_path / "b", tmp_path / "tb", p)
    assert _hashes(a) == _hashes(b)
    assert _hashes(tmp_path / "ta") == _hashes(tmp_path / "tb")
    c = demo.write_demo(tmp_path / "c", tmp_path / "tc", demo.DemoParams(n_customers=1500, seed=12))
    assert _hashes(c)["customers.csv"] != _hashes(a)["customers.csv"]


def test_demo_passes_the_contract_with_nothing_quarantined(tmp_path):
    raw = demo.write_demo(tmp_path / "raw", tmp_path / "truth",
                          demo.DemoParams(n_customers=2000, seed=5))
    report = cleaning.clean_folder(raw, tmp_path / "out", tmp_path / "q",
                                   tables=contract.TABLES, as_of="2026-06-30")
    for table, r in report["tables"].items():
        assert r["rows_quarantined"] == 0, (table, r["quarantine_reasons"])
        assert r["rows_clean"] == r["rows_in"] > 0
    cust = pd.read_parquet(tmp_path / "out" / "customers.parquet")
    assert cust["customer_id"].is_unique
    assert (cust["end_date"].dropna() <= pd.Timestamp("2026-06-30")).all()
    ended = cust.dropna(subset=["end_date"])
    assert (ended["end_date"] > ended["signup_date"]).all()
    assert set(cust.loc[cust["churned"], "churn_reason"]) <= set(demo.BASE_HAZARD)
    assert cust.loc[~cust["churned"], "churn_reason"].isna().all()


@pytest.fixture(scope="module")
def big(demo_20k):
    return demo_20k  # the session's default company (tests/conftest.py)


def test_generation_is_fast_enough_and_sized(big):
    assert len(big.tables["customers"]) == 20000
    assert big.truth["params"]["n_customers"] == 20000


def test_churn_cause_shares_match_truth(big):
    """Realised cause shares within 4 binomial standard errors of the expected shares."""
    c = big.tables["customers"]
    churners = c[c["churned"]]
    n = len(churners)
    assert abs(n - big.truth["churn"]["expected_churners"]) < 4 * np.sqrt(n)
    realised = churners["churn_reason"].value_counts(normalize=True)
    for cause, share in big.truth["churn"]["cause_shares"].items():
        se = np.sqrt(share * (1 - share) / n)
        assert abs(realised.get(cause, 0) - share) < 4 * se, cause
    assert big.truth["churn"]["rate"] == pytest.approx(c["churned"].mean())


def test_hazard_drivers_act_in_the_stated_direction(big):
    c = big.tables["customers"]
    by_contract = c.groupby("contract")["churned"].mean()
    assert by_contract["month-to-month"] > by_contract["one_year"] > by_contract["two_year"]
    by_products = c.groupby("n_products")["churned"].mean()
    assert by_products.is_monotonic_decreasing
    ct = big.customer_truth.set_index("customer_id").loc[c["customer_id"]]
    low_sat = ct["satisfaction"].to_numpy() < -1
    high_sat = ct["satisfaction"].to_numpy() > 1
    comp = c["churn_reason"].eq("competitive").to_numpy()
    assert comp[low_sat].mean() > 2 * comp[high_sat].mean()  # the defection zone
    # satisfied defectors and dissatisfied stayers both exist
    assert (c["churned"].to_numpy() & high_sat).sum() > 50
    assert (~c["churned"].to_numpy() & low_sat).sum() > 50


def test_latent_paths_reproduce_in_the_population(big):
    """OLS on the true latent scores recovers each standardised path (n = 20,000)."""
    eta = big.customer_truth
    paths = big.truth["survey"]["paths"]
    for target in {k.split("->")[1] for k in paths}:
        preds = [k.split("->")[0] for k in paths if k.endswith("->" + target)]
        x = eta[preds].to_numpy()
        beta = np.linalg.lstsq(np.column_stack([np.ones(len(x)), x]), eta[target].to_numpy(),
                               rcond=None)[0][1:]
        for p, b in zip(preds, beta, strict=True):
            assert b == pytest.approx(paths[f"{p}->{target}"], abs=0.03), (p, target)
        assert eta[target].std() == pytest.approx(1.0, abs=0.03)


def test_items_follow_their_loadings(big):
    """Item-latent correlations of surveyed customers close to the ordinal loadings.

    Answers are ordered categories of y* = loading x eta + error, so an item correlates
    with its latent by loading x the polyserial attenuation of the cut (truth
    ``respondent_loadings_ordinal``, computed in the respondents' population);
    straight-liners (2%) move it a little more (``respondent_loadings`` includes them).
    """
    s = big.tables["survey_responses"].dropna(subset=["customer_id"])
    ct = big.customer_truth.set_index("customer_id").loc[s["customer_id"]]
    lam = big.truth["survey"]["respondent_loadings_ordinal"]
    for item, construct in [(i, c) for c, items in big.truth["survey"]["constructs"].items()
                            for i in items]:
        v = s[item].astype(float).to_numpy()
        if item in big.truth["survey"]["reverse_items"]:
            v = 11 - v
        ok = ~np.isnan(v)
        r = np.corrcoef(v[ok], ct[construct].to_numpy()[ok])[0, 1]
        assert r == pytest.approx(lam[item], abs=0.05), item
        assert lam[item] < big.truth["survey"]["loadings"][item]  # the cut attenuates


def test_survey_levels_differ_by_construct_with_realistic_answers(big):
    """Construct-specific levels: mean performance differs across drivers; top box and
    straight-lining in realistic shares; the zone boundaries sit on the index scale."""
    sv, truth = big.tables["survey_responses"], big.truth["survey"]
    idx = {}
    for con, items in truth["constructs"].items():
        x = sv[items].astype(float).copy()
        for i in items:
            if i in truth["reverse_items"]:
                x[i] = 11 - x[i]
        idx[con] = float(100 * (x.mean(axis=1).mean() - 1) / 9)
        # the observed index is near the expected performance of the (surviving) base
        assert idx[con] == pytest.approx(truth["expected_performance"][con], abs=6), con
    assert idx["expectations"] - idx["value"] > 15  # drivers perform at different levels
    answers = sv[[i for its in truth["constructs"].values() for i in its
                  if i not in truth["reverse_items"]]].astype(float).stack()
    assert 0.10 < (answers >= 9).mean() < 0.40  # top-two-box share
    flat = sv[[i for its in truth["constructs"].values() for i in its]].nunique(axis=1) == 1
    assert flat.mean() == pytest.approx(truth["straightline_share"], abs=0.01)
    zb = truth["zone_boundaries"]["satisfaction_index"]
    assert 0 < zb["defection_to_indifference"] < zb["indifference_to_affection"] < 100
    assert truth["satisfied_defectors_share"] > 0.3  # satisfaction is not loyalty


def _bgnbd_expected_x(r, alpha, a, b, t):
    """E[X(t)] of BG/NBD (Fader, Hardie & Lee 2005, eq. 9)."""
    z = t / (alpha + t)
    return (a + b - 1) / (a - 1) * (1 - ((alpha / (alpha + t)) ** r) *
                                    hyp2f1(r, b, a + b - 1, z))


def test_shop_purchases_follow_bgnbd_and_gamma_gamma(big):
    """Plan holders who never disengaged buy exactly as BG/NBD says; nobody buys after the end.

    The churn process is independent of the shop traits, so selecting customers on it
    (holding the plan at as_of, never disengaged: hidden, from the truth) leaves their
    purchases a BG/NBD process with the true parameters over T = weeks since signup.
    """
    tx = big.tables["transactions"]
    c = big.tables["customers"]
    assert big.truth["shop"]["purchases_stop_at_plan_end"]
    as_of = pd.Timestamp(big.truth["params"]["as_of"])
    ct = big.customer_truth.set_index("customer_id").loc[c["customer_id"]]
    plain = (~c["churned"] & ~ct["disengaged"].to_numpy()).to_numpy()
    T = ((as_of - pd.to_datetime(c["signup_date"])).dt.days / 7).to_numpy()[plain]
    buys = tx[tx["amount"] > 0]
    repeats = (buys.groupby("customer_id").size().reindex(c["customer_id"]).fillna(0) - 1
               ).to_numpy()[plain]
    g = big.truth["shop"]["bgnbd"]
    expected = _bgnbd_expected_x(g["r"], g["alpha"], g["a"], g["b"], T)
    # mean repeat purchases within 4 standard errors of the model's expectation
    se = repeats.std() / np.sqrt(len(repeats))
    assert abs(repeats.mean() - expected.mean()) < 4 * se
    # purchases stop when the plan ends
    end = pd.to_datetime(c.set_index("customer_id")["end_date"])
    last = pd.to_datetime(buys.groupby("customer_id")["date"].max())
    ended = end.dropna()
    assert (last.reindex(ended.index) <= ended + pd.Timedelta(days=1)).all()
    gg = big.truth["shop"]["gamma_gamma"]
    mean_spend = gg["p"] * gg["gamma"] / (gg["q"] - 1)
    per_cust = buys.groupby("customer_id")["amount"].mean()
    assert per_cust.mean() == pytest.approx(mean_spend, rel=0.08)


def test_months_before_churn_leave_visible_traces(big):
    """Churners show falling purchases, late payments, complaints and downgrades before leaving."""
    c = big.tables["customers"].set_index("customer_id")
    it = big.tables["interactions"]
    ended = pd.to_datetime(c["end_date"]).dropna()
    opened = pd.to_datetime(it["opened_at"])
    end_of = ended.reindex(it["customer_id"]).to_numpy()
    before = ~pd.isna(end_of) & (opened.to_numpy() > end_of - np.timedelta64(120, "D"))
    stayers = c.index[~c["churned"]]
    as_of = pd.Timestamp(big.truth["params"]["as_of"])
    last120 = opened > as_of - pd.Timedelta(days=120)
    for cat in ("late_payment", "plan_downgrade"):
        rate_churners = (before & it["category"].eq(cat).to_numpy()).sum() / len(ended)
        rate_stayers = (last120 & it["category"].eq(cat) & it["customer_id"].isin(stayers)
                        ).sum() / len(stayers)
        assert rate_churners > 3 * rate_stayers, cat
    assert set(big.truth["churn"]["disengagement"]["contact_categories"]) <= set(it["category"])
    # shop purchases fall in the last four months before the end (churners with a year of
    # tenure, repeat purchases only: the first purchase is at signup)
    tx = big.tables["transactions"]
    tx = tx[tx["amount"] > 0]
    signup = pd.to_datetime(c["signup_date"])
    long = ended[(ended - signup.reindex(ended.index)).dt.days > 365]
    e = long.reindex(tx["customer_id"]).to_numpy()
    d = pd.to_datetime(tx["date"]).to_numpy()
    ok = ~pd.isna(e) & (d > signup.reindex(tx["customer_id"]).to_numpy() + np.timedelta64(1, "D"))
    age = (e[ok] - d[ok]) / np.timedelta64(1, "D")
    assert (age < 120).sum() < 0.8 * ((age >= 120) & (age < 240)).sum()


def test_heterogeneity_makes_retention_rise_and_truth_records_sbg_and_attainable_auc(big):
    ch = big.truth["churn"]
    rr = np.array(ch["sbg"]["monthly_retention_rate"][:36])
    assert rr[:6].mean() < rr[12:18].mean() < rr[30:36].mean()  # sorting, not loyalty
    assert np.isfinite([ch["sbg"]["alpha"], ch["sbg"]["beta"]]).all()
    assert 0.2 < ch["sbg"]["alpha"] < 10 and ch["sbg"]["beta"] < 500
    curve = ch["sbg"]["retention_curve"]
    assert curve[0] == 1 and all(a >= b for a, b in zip(curve, curve[1:], strict=False))
    att = ch["attainable_auc"]["6"]
    assert 0.8 < att["auc"] < 0.95
    # the true probabilities are calibrated: expected churn within the horizon = realised
    se = np.sqrt(att["churn_rate"] * (1 - att["churn_rate"]) / att["n_active"])
    assert abs(att["expected_churn_rate"] - att["churn_rate"]) < 4 * se


def test_refunds_are_explicit_negative_rows(big):
    tx = big.tables["transactions"]
    refunds = tx[tx["amount"] < 0]
    assert 0.003 < len(refunds) / len(tx) < 0.02
    assert tx["transaction_id"].is_unique


def test_pilot_is_randomised_and_ate_matches_truth(big):
    p = big.tables["campaigns"]
    truth = big.truth["pilot"]
    assert len(p) == truth["n"]
    assert p["treated"].mean() == pytest.approx(0.5, abs=0.03)
    ct = big.customer_truth.set_index("customer_id").loc[p["customer_id"]]
    # randomisation: arms balanced on latent traits
    for col in ("satisfaction", "price_sensitive", "p_churn_control"):
        a, b = ct.loc[p["treated"].to_numpy(), col], ct.loc[~p["treated"].to_numpy(), col]
        assert abs(a.mean() - b.mean()) < 4 * np.sqrt(a.var() / len(a) + b.var() / len(b))
    y1 = p.loc[p["treated"], "churned_after"].mean()
    y0 = p.loc[~p["treated"], "churned_after"].mean()
    se = np.sqrt(y1 * (1 - y1) / p["treated"].sum() + y0 * (1 - y0) / (~p["treated"]).sum())
    assert abs((y1 - y0) - truth["ate"]) < 4 * se
    assert truth["ate"] < -0.005  # the offer helps on average
    shares = truth["group_shares"]
    assert sum(shares.values()) == pytest.approx(1)
    assert all(v > 0.02 for v in shares.values())
    groups = ct["response_group"]
    assert (ct.loc[groups == "persuadable", "true_ite"] < 0).all()
    assert (ct.loc[groups == "do_not_disturb", "true_ite"] > 0).all()
    assert (ct.loc[groups.isin(["sure_thing", "lost_cause"]), "true_ite"] == 0).all()
