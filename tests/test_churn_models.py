"""Churn classifiers, evaluation metrics, explanations and the scoring interface."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import crm_lib.churn as churn
from crm_lib.churn import definition, evaluation, explain, models


def test_telco_cross_validated_auc_and_brier_targets(telco_run):
    """IBM Telco through the real data pipeline, the notebook's headline model, 5x3 CV; the
    shared telco batch run (notebooks two at a time on two cores or more: the manifest's
    ``jobs``) recorded the same numbers (issue 16: a concurrent run gives what the
    protocol gives alone, at the same seed)."""
    from crm_lib import data, metrics
    customers = data.load_tables(data.SourceSpec(source="telco"), ["customers"])["customers"]
    X, y, w = definition.training_frame(customers, as_of="2026-06-30", horizon_months=6)
    assert w.horizon_months == 1 and len(X) == 7032
    model = models.make_model("ensemble", calibration="sigmoid", seed=42)
    cv = evaluation.cross_validate(model, X, y, n_splits=5, n_repeats=3, seed=42)
    assert len(cv.folds) == 15 and set(cv.folds["repeat"]) == {0, 1, 2}
    assert set(cv.folds["fold"]) == set(range(5))
    assert cv.oof[["p_repeat0", "p_repeat1", "p_repeat2"]].notna().all().all()  # each row 3x
    assert cv.mean("roc_auc") >= 0.850, cv.summary()
    assert cv.mean("brier") <= 0.134, cv.summary()
    assert cv.mean("brier") < 0.8 * y.mean() * (1 - y.mean())  # well below no-skill
    assert cv.mean("ece") < 0.04 and cv.mean("top_decile_lift") > 2.5
    assert telco_run["code"] == 0
    m = metrics.read_by_notebook(telco_run["run_dir"])["04_churn_modeling"]
    assert m["churn.model"] == "ensemble (sigmoid)"
    for key, metric in (("churn.cv_auc", "roc_auc"), ("churn.brier", "brier"),
                        ("churn.pr_auc", "pr_auc"), ("churn.ece", "ece"),
                        ("churn.top_decile_lift", "top_decile_lift")):
        assert m[key] == pytest.approx(cv.mean(metric), rel=1e-9, abs=1e-12), key


def test_calibration_is_cross_fitted_inside_the_training_rows():
    """Each calibration map is learnt on rows its model did not see, only from fit's rows."""
    X, y, _ = _other_schema(3000, seed=5)
    m = models.make_model("logistic", calibration="sigmoid", seed=3)
    assert m.ensemble is True and m.cv.n_splits == 2 and m.cv.shuffle
    m.fit(X.iloc[:2000], y[:2000])
    assert len(m.calibrated_classifiers_) == 2
    halves = list(m.cv.split(X.iloc[:2000], y[:2000]))
    for (tr, te), cal in zip(halves, m.calibrated_classifiers_, strict=True):
        assert not set(tr) & set(te)
        # the member was fitted on its training half only: refitting it there gives it again
        again = models.ChurnLogistic().fit(X.iloc[tr], y[tr])
        np.testing.assert_allclose(cal.estimator.lr_.coef_, again.lr_.coef_, rtol=1e-10)
    p = m.predict_proba(X.iloc[2000:])[:, 1]
    mean = np.mean([c.predict_proba(X.iloc[2000:])[:, 1] for c in m.calibrated_classifiers_],
                   axis=0)
    np.testing.assert_allclose(p, mean)
    with pytest.raises(ValueError, match="calibration_folds"):
        models.make_model("logistic", calibration_folds=1)


def test_compare_models_reuses_members_for_the_ensemble():
    """The ensemble's row equals cross-validating the ensemble itself (refitted per fold)."""
    X, y, _ = _other_schema(2000, seed=6)
    cands = {k: models.make_model(k, calibration="none", seed=2)
             for k in ("logistic", "hgb", "ensemble")}
    table, res = evaluation.compare_models(cands, X, y, seed=4, n_splits=3, n_repeats=1)
    direct = evaluation.cross_validate(cands["ensemble"], X, y, n_splits=3, n_repeats=1, seed=4)
    pd.testing.assert_frame_equal(res["ensemble"].folds, direct.folds)
    np.testing.assert_allclose(res["ensemble"].oof["probability"], direct.oof["probability"])
    assert table.loc["ensemble", "seconds"] == pytest.approx(
        table.loc["logistic", "seconds"] + table.loc["hgb", "seconds"])
    other = {"ensemble": models.ChurnEnsemble(weight_logistic=0.5)}  # no members to reuse
    t2, r2 = evaluation.compare_models(other, X, y, seed=4, n_splits=3, n_repeats=1)
    assert r2["ensemble"].oof["probability"].notna().all()


def test_compare_models_reuses_the_calibrated_ensembles_cross_validation():
    """Calibrated members taken from the headline CV equal cross-validating each alone."""
    X, y, _ = _other_schema(2000, seed=7)
    cands = {
        "logistic": models.make_model("logistic", seed=2),
        "hgb": models.make_model("hgb", seed=2),
        "ensemble": models.make_model("ensemble", seed=2),
        "logistic_isotonic": models.make_model("logistic", calibration="isotonic", seed=2)}
    headline = evaluation.cross_validate(cands["ensemble"], X, y, n_splits=3, n_repeats=2, seed=4)
    assert set(headline.members) == {"logistic", "hgb"}
    table, res = evaluation.compare_models(cands, X, y, seed=4, n_splits=3, n_repeats=2,
                                           reuse=headline)
    _, direct = evaluation.compare_models(cands, X, y, seed=4, n_splits=3, n_repeats=2)
    for k in cands:
        np.testing.assert_allclose(res[k].oof.to_numpy(), direct[k].oof.to_numpy(),
                                   atol=1e-12, err_msg=k)
        pd.testing.assert_frame_equal(res[k].folds, direct[k].folds, atol=1e-12)
    for k in ("logistic", "hgb", "ensemble"):  # reused: the headline's seconds
        assert table.loc[k, "seconds"] == headline.seconds
    assert table.loc["logistic_isotonic", "seconds"] != headline.seconds  # refitted
    # other folds or other rows: nothing is reused, or it is refused
    _, other = evaluation.compare_models({"ensemble": cands["ensemble"]}, X, y, seed=5,
                                         n_splits=3, n_repeats=2, reuse=headline)
    assert not np.allclose(other["ensemble"].oof["probability"],
                           headline.oof["probability"])
    with pytest.raises(ValueError, match="other rows"):
        evaluation.compare_models(cands, X.iloc[:1500], y[:1500], seed=4, n_splits=3,
                                  n_repeats=2, reuse=headline)


def test_logistic_scores_without_the_design_matrix():
    """The linear predictor by look-ups equals the design matrix times the coefficients."""
    X, y, _ = _other_schema(1500, seed=9)
    rng = np.random.default_rng(0)
    X["tier"] = rng.choice(["a", "b", "c"], len(X))
    X.loc[X.index[::9], "visits"] = np.nan
    new = X.iloc[1000:].copy()
    new.loc[new.index[::5], "segment"] = "platinum"  # unseen level (no 'other')
    new.loc[new.index[::7], "tier"] = None
    pairs = (("segment", "tier"), ("segment", "credit_score"), ("visits", "noise"),
             ("tier", "gold"))
    for drop_first in (False, True):
        enc = models.AutoEncoder(interactions=pairs, drop_first=drop_first).fit(X.iloc[:1000])
        assert len(enc.pairs_) == 3 and "visits" in enc.missing_ and "credit_score" in enc.log_
        coef = rng.normal(size=len(enc.feature_names_))
        np.testing.assert_allclose(enc.linear_predictor(new, coef, 0.25),
                                   enc.transform_array(new) @ coef + 0.25, atol=1e-12)
    m = models.ChurnLogistic(interactions=pairs).fit(X.iloc[:1000], y[:1000])
    Z = m.encoder_.transform_array(new)
    np.testing.assert_allclose(m.decision_function(new), m.lr_.decision_function(Z), atol=1e-12)
    np.testing.assert_allclose(m.predict_proba(new), m.lr_.predict_proba(Z), atol=1e-15)


def test_design_matrix_against_a_direct_computation():
    """Imputed, indicator, log1p, standardised and one-hot columns, computed by hand."""
    X = pd.DataFrame({"n": [1.0, np.nan, 3.0, 10.0] * 5 + list(range(20, 40)),
                      "plan": pd.Series(["a", "b", None, "a"] * 10, dtype="str")})
    enc = models.AutoEncoder(interactions=(), min_frequency=0.0).fit(X)
    Z = enc.transform(X)
    n = X["n"].fillna(X["n"].median())
    cols = {"n": n, "n__missing": X["n"].isna().astype(float), "log1p_n": np.log1p(n)}
    for k, v in cols.items():
        np.testing.assert_allclose(Z[k], (v - v.mean()) / v.std(ddof=0), atol=1e-12)
    for level in ("a", "b", "missing"):
        expect = (X["plan"].fillna("missing") == level).astype(float)
        np.testing.assert_array_equal(Z[f"plan={level}"], expect)
    new = pd.DataFrame({"n": [2.0], "plan": pd.Series(["zzz"], dtype="str")})  # unseen level
    assert enc.transform(new).filter(like="plan=").to_numpy().sum() == 0
    obj = X.assign(plan=X["plan"].astype(object))  # object dtype takes the slow path
    np.testing.assert_array_equal(models.level_codes(obj["plan"], enc.levels_["plan"]),
                                  models.level_codes(X["plan"], enc.levels_["plan"]))


def _other_schema(n: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Customers with none of the usual attributes: text numbers, yes/no, ids, missing values."""
    rng = np.random.default_rng(seed)
    seg = rng.choice(["gold", "silver", "bronze"], n, p=[0.2, 0.3, 0.5])
    score = rng.normal(600, 80, n)
    app = rng.random(n) < 0.5
    visits = rng.poisson(3, n)
    logit = (-1.2 + 0.9 * (seg == "bronze") - 0.6 * (seg == "gold") - 0.012 * (score - 600)
             - 0.8 * app + 0.15 * visits)
    p = 1 / (1 + np.exp(-logit))
    y = rng.random(n) < p
    X = pd.DataFrame({
        "segment": seg,
        "credit_score": pd.Series(np.round(score, 1)).astype(str).where(rng.random(n) > 0.05),
        "has_app": np.where(app, "True", "False"),
        "visits": visits,
        "account_ref": [f"ACC{i:06d}" for i in range(n)],  # id-like: must be dropped
        "noise": rng.normal(size=n),
    })
    X["credit_score"] = definition._coerce_attribute(X["credit_score"])
    X["has_app"] = definition._coerce_attribute(X["has_app"])
    return X, y.astype(int), p


def test_models_take_any_schema_and_reach_the_oracle():
    X, y, p = _other_schema()
    num, cat, drop = models.split_columns(X)
    assert cat == ["segment"] and drop == ["account_ref"] and "credit_score" in num
    oracle = roc_auc_score(y, p)
    for kind in ("logistic", "hgb", "ensemble"):
        cv = evaluation.cross_validate(models.make_model(kind, seed=1), X, y, n_repeats=1,
                                       seed=1)
        assert cv.mean("roc_auc") > oracle - 0.04, (kind, cv.mean("roc_auc"), oracle)
        assert cv.mean("ece") < 0.05
    m = models.make_model("ensemble").fit(X, y)
    new = X.head(5).copy()
    new["segment"] = ["platinum", None, "gold", "gold", "silver"]  # unseen and missing levels
    pr = m.predict_proba(new)[:, 1]
    assert np.all((pr > 0) & (pr < 1))


def test_odds_ratios_recover_a_known_logistic_model():
    rng = np.random.default_rng(4)
    n = 20000
    X = pd.DataFrame({"x": rng.normal(2, 3, n), "g": rng.choice(["a", "b", "c"], n),
                      "dup": 0.0})
    X["g_copy"] = X["g"].map({"a": "A", "b": "B", "c": "C"})  # perfectly collinear with g
    lin = -1 + 0.5 * (X["x"] - 2) / 3 + 0.7 * (X["g"] == "b") - 0.4 * (X["g"] == "c")
    y = (rng.random(n) < 1 / (1 + np.exp(-lin))).astype(int)
    m = models.OddsRatioLogit().fit(X, y)
    t = m.odds_ratios().set_index("feature")
    assert len(m.dropped_collinear_) == 2  # g_copy's two levels
    ref = t.filter(like="g=", axis=0).index  # reference level: most frequent of g
    truth = {"x": np.exp(0.5 * X["x"].std(ddof=0) / 3)}
    lv = m.encoder_.levels_["g"][0]
    eff = {"a": 0.0, "b": 0.7, "c": -0.4}
    for f in ref:
        truth[f] = np.exp(eff[f.split("=")[1]] - eff[lv])
    for f, v in truth.items():
        assert t.loc[f, "ci_low"] < v < t.loc[f, "ci_high"], (f, v, t.loc[f].to_dict())


def test_metrics_against_direct_computation():
    rng = np.random.default_rng(0)
    p = rng.random(1000)
    y = (rng.random(1000) < p).astype(int)
    bins = np.minimum((p * 10).astype(int), 9)
    ece = sum(abs(y[bins == b].sum() - p[bins == b].sum()) for b in range(10)) / 1000
    assert evaluation.expected_calibration_error(y, p) == pytest.approx(ece)
    top = np.argsort(-p)[:100]
    assert evaluation.top_decile_lift(y, p) == pytest.approx(y[top].mean() / y.mean())
    g = evaluation.gains_table(y, p)
    assert g["customers"].sum() == 1000 and g["cum_gain"].iloc[-1] == pytest.approx(1.0)
    assert g["lift"].iloc[0] == pytest.approx(evaluation.top_decile_lift(y, p))
    cal = evaluation.calibration_table(y, p)
    assert cal["customers"].sum() == 1000
    from sklearn.metrics import average_precision_score, brier_score_loss
    for q in (p, np.round(p, 1), (p > 0.5).astype(float)):  # with and without ties
        m = evaluation.score_metrics(y, q)
        assert m["roc_auc"] == pytest.approx(roc_auc_score(y, q), abs=1e-12)
        assert m["pr_auc"] == pytest.approx(average_precision_score(y, q), abs=1e-12)
        assert m["brier"] == pytest.approx(brier_score_loss(y, q), abs=1e-12)


def test_top_reasons_name_the_planted_driver():
    X, y, _ = _other_schema(3000, seed=2)
    m = models.make_model("logistic").fit(X, y)
    ref = explain.reference_values(X)
    r = explain.top_reasons(m, X, ref, k=2, binary=explain.binary_columns(X))
    bronze_no_app = (X["segment"] == "bronze") & (X["has_app"] == 0)
    first = r.loc[bronze_no_app, "top_reasons"]
    assert first.str.contains("segment=bronze|has_app=0").mean() > 0.9
    assert r["reason_points"].str.startswith("+").mean() > 0.5
    counts = explain.reason_counts(r["top_reasons"])
    assert counts["reason"].iloc[0] in {"segment=bronze", "has_app=0", "credit_score low"}


def test_score_customers_and_out_of_fold_interface(demo_small):
    c, i = demo_small.tables["customers"], demo_small.tables["interactions"]
    scores, model = churn.score_customers(c, as_of="2026-06-30", seed=3, interactions=i)
    active = definition.scoring_frame(c, as_of="2026-06-30").index
    assert list(scores.columns[:4]) == ["customer_id", "churn_probability", "risk_tier",
                                        "top_reasons"]
    assert sorted(scores["customer_id"]) == sorted(active) and scores["customer_id"].is_unique
    assert scores["churn_probability"].between(0, 1).all()
    tiers = scores["risk_tier"].value_counts(normalize=True)
    assert tiers["high"] == pytest.approx(0.1, abs=0.01)
    assert tiers["medium"] == pytest.approx(0.2, abs=0.01)
    assert isinstance(model, churn.ChurnModel) and model.window.horizon_months == 6
    frame = definition.training_frame(c, as_of="2026-06-30", interactions=i)
    again = churn.fit_churn_model(c, as_of="2026-06-30", seed=3, frame=frame)
    np.testing.assert_array_equal(again.predict_proba(frame[0]), model.predict_proba(frame[0]))
    assert again.reason_features == model.reason_features
    with pytest.raises(ValueError, match="frame was built for"):
        churn.fit_churn_model(c, as_of="2026-06-30", horizon_months=3, frame=frame)
    oof = churn.out_of_fold_scores(c, seed=3, as_of="2026-06-30")
    assert list(oof.columns) == ["customer_id", "churned", "oof_probability"]
    assert oof["oof_probability"].notna().all() and set(oof["churned"]) == {0, 1}
    again = churn.out_of_fold_scores(c, seed=3, as_of="2026-06-30")
    pd.testing.assert_frame_equal(oof, again)  # seeded


def test_vectorised_boosting_predictions_are_scikit_learns():
    """The split-by-split evaluation gives scikit-learn's numbers bit for bit, with
    missing values, unseen and missing categories, and deeper trees."""
    X, y, _ = _other_schema(3000, seed=8)
    new = X.iloc[2000:].copy()
    new.loc[new.index[::7], "visits"] = np.nan
    new.loc[new.index[::11], "segment"] = "platinum"  # unseen level
    new.loc[new.index[::13], "segment"] = None
    for kw in ({}, {"max_depth": 3, "max_iter": 30}, {"max_depth": None, "max_iter": 10}):
        m = models.ChurnHGB(random_state=1, **kw).fit(X.iloc[:2000], y[:2000])
        E = m._encode(new)
        np.testing.assert_array_equal(m.predict_proba(new), m.hgb_.predict_proba(E))
        np.testing.assert_array_equal(m.decision_function(new), m.hgb_.decision_function(E))
    assert not m.forest_.vectorised  # deep trees are walked by scikit-learn


def test_permutation_importance_and_reasons_match_one_call_per_copy():
    """Batched scoring of shuffled and counterfactual copies gives the per-call numbers:
    scikit-learn's permutation_importance, and one model call per reason column."""
    from sklearn.inspection import permutation_importance
    X, y, _ = _other_schema(2500, seed=9)
    for kind, cal in (("ensemble", "sigmoid"), ("logistic", "none")):
        m = models.make_model(kind, calibration=cal, seed=3).fit(X.iloc[:1500], y[:1500])
        te, yte = X.iloc[1500:], y[1500:]
        ours = explain.permutation_importance_table(m, te, yte, seed=7, n_repeats=3)
        ref = permutation_importance(m, te, yte, scoring="roc_auc", n_repeats=3,
                                     random_state=7)
        ours = ours.set_index("feature").loc[list(te.columns)]
        np.testing.assert_allclose(ours["importance"], ref.importances_mean, atol=1e-12)
        np.testing.assert_allclose(ours["sd"], ref.importances_std, atol=1e-12)
    ref_values = explain.reference_values(X) | {"segment": None}
    batched = explain.reason_contributions(m, te, ref_values)
    p = m.predict_proba(te)[:, 1]
    for c in batched.columns:
        one = te.copy()
        one[c] = ref_values[c]
        np.testing.assert_allclose(batched[c], p - m.predict_proba(one)[:, 1], atol=1e-12)
    with pytest.raises(ValueError, match="scoring"):
        explain.permutation_importance_table(m, te, yte, scoring="accuracy")


def test_copies_rescored_from_the_replaced_column_equal_whole_scoring():
    """Only the terms and trees reading the replaced column are rescored; the scores equal
    scoring each modified copy whole, for every model kind and calibration."""
    X, y, _ = _other_schema(1600, seed=11)
    te = X.iloc[1200:]
    rng = np.random.default_rng(1)
    ref = explain.reference_values(X)
    copies = ([(c, te[c].array[rng.permutation(len(te))]) for c in te.columns]
              + [(c, ref[c]) for c in te.columns] + [("segment", None), ("segment", "new")])
    kinds = [("ensemble", "sigmoid"), ("ensemble", "isotonic"), ("logistic", "none"),
             ("hgb", "none"), ("ensemble", "none"), ("hgb", "sigmoid")]
    for kind, cal in kinds:
        m = models.make_model(kind, calibration=cal, seed=2).fit(X.iloc[:1200], y[:1200])
        assert models.copy_scorer(m, te) is not None, kind
        for response, predict in (("proba", lambda Z, m=m: m.predict_proba(Z)[:, 1]),
                                  ("score", lambda Z, m=m: explain._score_response(m, Z))):
            fast = explain._score_copies(m, te, copies, response)
            whole = explain._predict_copies(predict, te, copies)
            np.testing.assert_allclose(fast, whole, atol=1e-12, err_msg=f"{kind} {cal}")
    deep = models.ChurnHGB(max_depth=None, max_iter=5).fit(X.iloc[:1200], y[:1200])
    assert models.copy_scorer(deep, te) is None  # walked by scikit-learn: scored whole


def test_fold_importance_reuses_the_first_folds_model():
    """Importance on the first CV fold's test rows by that fold's model, as refitting it."""
    from sklearn.base import clone
    X, y, _ = _other_schema(2000, seed=13)
    model = models.make_model("ensemble", seed=1)
    cv = evaluation.cross_validate(model, X, y, n_splits=5, n_repeats=1, seed=2)
    fitted, test = cv.fitted[0]
    assert len(cv.fitted) == 1 and len(test) == 400
    train = np.setdiff1d(np.arange(len(X)), test)
    again = clone(model).fit(X.iloc[train], y[train])
    ours = explain.fold_importance(cv, X, y, seed=3, n_repeats=2, max_rows=300)
    ref = explain.permutation_importance_table(again, X.iloc[test], y[test], seed=3,
                                               n_repeats=2, max_rows=300)
    pd.testing.assert_frame_equal(ours, ref)
    assert ours["feature"].iloc[0] in {"segment", "credit_score", "has_app", "visits"}
    with pytest.raises(ValueError, match="other rows"):
        explain.fold_importance(cv, X.iloc[:100], y[:100])
    none = evaluation.cross_validate(model, X, y, n_splits=5, n_repeats=1, keep_models=0)
    with pytest.raises(ValueError, match="kept no fitted model"):
        explain.fold_importance(none, X, y)


def test_text_level_counts_are_value_counts():
    """The level counts from one factorisation are ``text_values(s).value_counts()``: the
    same texts, counts and order (ties in order of first appearance, ``missing`` at the
    first missing value), and the number of distinct values is ``nunique``."""
    rng = np.random.default_rng(5)
    checked = 0
    for trial in range(300):
        n = int(rng.integers(0, 80))
        pool = ["a", "b", "c", "d", None, "missing" if trial % 9 == 0 else "e"]
        s = pd.Series(rng.choice(np.array(pool, dtype=object), n), dtype="str")
        fast = models._text_counts(s)
        if fast is None:  # a literal "missing" beside missing values: the general path
            assert s.isna().any() and (s == "missing").any()
            continue
        ref = models.text_values(s).value_counts()
        assert list(fast[0].items()) == list(zip(ref.index, ref.to_numpy(), strict=True))
        assert fast[1] == s.nunique(dropna=True)
        checked += 1
    assert checked > 200
    X = pd.DataFrame({"t": pd.Series(["x", "y", None, "y"] * 5, dtype="str"),
                      "o": pd.Series([1, "1", "z", None] * 5, dtype=object),
                      "v": np.arange(20.0)})
    num, cat, _, counts = models._split_counted(X)
    assert num == ["v"] and cat == ["t", "o"]
    for c in cat:
        ref = models.text_values(X[c]).value_counts()
        assert list(counts[c].items()) == list(zip(ref.index, ref.to_numpy(), strict=True))


def test_copy_scorers_unmodified_scores_are_the_models():
    """A copy scorer's scores of X itself (column None) are the model's own, bit for bit
    (reason contributions take p(x) from it instead of scoring X again)."""
    X, y, _ = _other_schema(2500, seed=9)
    cal = models.make_model("ensemble", calibration="sigmoid", seed=2).fit(X.iloc[:2000],
                                                                          y[:2000])
    new = X.iloc[2000:]
    for est in (cal, cal.calibrated_classifiers_[0].estimator,
                cal.calibrated_classifiers_[0].estimator.logistic_,
                cal.calibrated_classifiers_[0].estimator.hgb_):
        for response in ("proba", "score"):
            got = models.copy_scorer(est, new, response)(None, None)
            ref = (explain._score_response(est, new) if response == "score"
                   else est.predict_proba(new)[:, 1])
            np.testing.assert_array_equal(got, ref)
