"""Churn definition: labels, windows, and features that never look ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_lib.churn import definition as D

AS_OF = pd.Timestamp("2026-06-30")


def _perturb_after(tables: dict, at: pd.Timestamp, seed: int = 0) -> dict:
    """Change every record dated after ``at``; keep everything dated on or before it."""
    rng = np.random.default_rng(seed)
    c = tables["customers"].copy()
    end = pd.to_datetime(c["end_date"])
    late = end > at
    # later churners: new end dates (still after at), reasons shuffled, some made active
    shift = pd.Series(pd.to_timedelta(rng.integers(1, 120, len(c)), unit="D"), index=c.index)
    new_end = (at + shift).where(rng.random(len(c)) < 0.7, pd.NaT)
    c.loc[late, "end_date"] = new_end[late].dt.strftime("%Y-%m-%d")
    c.loc[late, "churned"] = new_end[late].notna()
    c.loc[late, "churn_reason"] = np.where(new_end[late].notna(), "natural", None)
    # active customers: some now churn after at
    flip = end.isna() & (rng.random(len(c)) < 0.2)
    c.loc[flip, "end_date"] = (at + shift[flip]).dt.strftime("%Y-%m-%d")
    c.loc[flip, "churned"] = True
    c.loc[flip, "churn_reason"] = "competitive"

    i = tables["interactions"].copy()
    opened = pd.to_datetime(i["opened_at"])
    res = pd.to_datetime(i["resolved_at"])
    after = opened > at
    i.loc[after, "category"] = "billing"
    i.loc[after, "resolved_at"] = None
    i.loc[after, "resolved"] = False
    pending = (opened <= at) & (res > at)  # open at ``at``: resolved later, at other times
    i.loc[pending, "resolved_at"] = (res[pending] + pd.Timedelta(days=30)).dt.strftime(
        "%Y-%m-%d %H:%M:%S")
    extra = i.sample(300, random_state=seed).copy()
    extra["interaction_id"] = [f"X{k}" for k in range(len(extra))]
    extra["opened_at"] = (at + pd.Timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S")
    i = pd.concat([i, extra], ignore_index=True)

    t = tables["transactions"].copy()
    tdate = pd.to_datetime(t["date"])
    t.loc[tdate > at, "amount"] = 999.0
    more = t.sample(500, random_state=seed).copy()
    more["transaction_id"] = [f"Y{k}" for k in range(len(more))]
    more["date"] = (at + pd.Timedelta(days=10)).strftime("%Y-%m-%d %H:%M:%S")
    t = pd.concat([t, more], ignore_index=True)
    return {"customers": c, "interactions": i, "transactions": t}


def test_features_use_nothing_dated_after_the_cutoff(demo_small):
    """Perturbing every record dated after the cutoff leaves the features identical."""
    tables = demo_small.tables
    at = AS_OF - pd.DateOffset(months=6)

    def feats(tb):
        return D.build_features(tb["customers"], at, as_of=AS_OF,
                                interactions=tb["interactions"],
                                transactions=tb["transactions"])

    base = feats(tables)
    changed = _perturb_after(tables, at)
    assert not changed["customers"]["end_date"].equals(tables["customers"]["end_date"])
    pd.testing.assert_frame_equal(feats(changed), base)
    # the check can fail: the same perturbation one day *before* the cutoff moves the features
    leaky = _perturb_after(tables, at - pd.Timedelta(days=40))
    with pytest.raises(AssertionError):
        pd.testing.assert_frame_equal(feats(leaky), base)
    assert {"tenure_months", "complaints", "complaints_unresolved", "purchases_365d",
            "complaints_per_year"} <= set(base.columns)
    assert not {"end_date", "churned", "churn_reason", "signup_date"} & set(base.columns)


def test_training_labels_and_population():
    c = pd.DataFrame({
        "customer_id": list("abcdef"),
        "signup_date": ["2024-01-01", "2024-01-01", "2024-01-01", "2026-05-01", "2025-06-01",
                        "2023-01-01"],
        "end_date": [None, "2026-03-15", "2025-10-01", None, "2026-06-30", "2026-07-15"],
        "churned": [False, True, True, False, True, True],
        "plan": ["x", "y", "x", "y", "x", "y"],
    })
    X, y, w = D.training_frame(c, as_of=AS_OF, horizon_months=6)
    assert w.cutoff == pd.Timestamp("2025-12-30") and not w.snapshot
    # c left before the cutoff, d joined after it; f's end is after as_of (not yet happened)
    assert list(X.index) == ["a", "b", "e", "f"]
    assert y.to_dict() == {"a": 0, "b": 1, "e": 1, "f": 0}
    assert X.loc["a", "tenure_months"] == pytest.approx((w.cutoff - pd.Timestamp("2024-01-01"))
                                                        .days / D.DAYS_PER_MONTH)
    scored = D.scoring_frame(c, as_of=AS_OF)
    assert list(scored.index) == ["a", "d", "f"]  # active at as_of


def test_snapshot_source_uses_a_one_month_horizon():
    from crm_lib.sources.packaged import telco_customers
    telco = telco_customers()
    w = D.churn_window(telco, "2026-06-30", horizon_months=6)
    assert w.snapshot and w.horizon_months == 1
    X, y, _ = D.training_frame(telco, as_of="2026-06-30", horizon_months=6)
    assert len(X) == 7043 - 11  # the 11 customers with tenure 0 joined after the cutoff
    assert y.sum() == 1869  # every recorded churner is a positive
    assert X["total_charges"].dtype == float and not pd.api.types.is_numeric_dtype(X["contract"])


def test_bad_input_names_table_column_and_rule():
    c = pd.DataFrame({"customer_id": ["a"], "end_date": [None]})
    with pytest.raises(D.ChurnDataError, match="table 'customers' lacks column 'signup_date'"):
        D.prepare_customers(c, AS_OF)
    c = pd.DataFrame({"customer_id": ["a", "b"], "signup_date": ["2024-01-01", "soon"]})
    with pytest.raises(D.ChurnDataError, match="column 'signup_date'.*not dates"):
        D.prepare_customers(c, AS_OF)
    c = pd.DataFrame({"customer_id": ["a", "a"], "signup_date": ["2024-01-01", "2024-02-01"]})
    with pytest.raises(D.ChurnDataError, match="'customer_id'.*duplicated"):
        D.prepare_customers(c, AS_OF)


def test_inactivity_churn_window():
    t = pd.DataFrame({"customer_id": ["a", "a", "b", "c"],
                      "date": ["2026-01-01", "2026-06-01", "2025-10-01", "2026-08-01"],
                      "amount": [1.0, 2.0, 3.0, 4.0]})
    out = D.inactivity_churn(t, as_of=AS_OF, window_days=180)
    assert list(out.index) == ["a", "b"]  # c only bought after as_of
    assert out.loc["a", "days_inactive"] == 29 and not out.loc["a", "churned"]
    assert out.loc["b", "churned"] and out.loc["b", "churn_date"] == pd.Timestamp("2026-03-30")
    sens = D.inactivity_sensitivity(t, as_of=AS_OF, windows=(20, 200, 400))
    assert sens["churn_rate"].tolist() == [1.0, 0.5, 0.0]
