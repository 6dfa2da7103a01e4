"""The folder source's as_of defaults to the data's latest recorded date.

Issue 11, case 10: the folder source analysed at a fixed 2026-06-30 although the
export ended 2024-12-31, so churn training failed with "no churn and no stay"
(and the same export reached AUC 0.918 with --as-of). The single-class message
did not say which class was missing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import crm_lib as crm
from crm_lib import data
from crm_lib.churn import definition


@pytest.fixture
def export(tmp_path, monkeypatch):
    """A churn export whose last recorded date is 2024-12-31 (plus a typo in 2031)."""
    monkeypatch.setenv("CRM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CRM_PSEUDONYM_SALT", raising=False)
    rng = np.random.default_rng(3)
    n = 300
    signup = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 1200, n), unit="D")
    churned = rng.random(n) < 0.35
    end = pd.Series(pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 730, n),
                                                                  unit="D"))
    end = end.where(churned & (end > signup))
    end.iloc[int(np.flatnonzero(end.notna())[0])] = pd.Timestamp("2024-12-31")
    folder = tmp_path / "export"
    folder.mkdir()
    pd.DataFrame({"customer_id": [f"K{i:04d}" for i in range(n)],
                  "signup_date": signup.strftime("%Y-%m-%d"),
                  "end_date": end.dt.strftime("%Y-%m-%d").fillna(""),
                  "monthly_charges": rng.gamma(4, 10, n).round(2)}).to_csv(
        folder / "customers.csv", index=False)
    tx = pd.DataFrame({"transaction_id": ["T1", "T2"], "customer_id": ["K0000", "K0001"],
                       "date": ["2024-11-30", "2031-05-05"], "amount": [10.0, 12.0]})
    tx.to_csv(folder / "transactions.csv", index=False)  # 2031: a typo, after today
    return folder


def test_as_of_defaults_to_the_latest_recorded_date_and_explicit_wins(export):
    src = data.SourceSpec(source="folder", data_dir=str(export), as_of="").build()
    assert src.as_of == "2024-12-31" and src.as_of_from_data
    given = data.SourceSpec(source="folder", data_dir=str(export), as_of="2025-06-30").build()
    assert given.as_of == "2025-06-30" and not given.as_of_from_data
    # the session (and the runner, through the source) sees it
    s = crm.start("04_churn_modeling", source="folder", data_dir=str(export), as_of="",
                  style=False)
    assert s.as_of == pd.Timestamp("2024-12-31")
    assert s.quality()["as_of"] == "2024-12-31"


def test_a_churn_export_ending_2024_trains_without_an_as_of(export):
    s = crm.start("04_churn_modeling", source="folder", data_dir=str(export), as_of="",
                  style=False)
    c = s.tables("customers")["customers"]
    X, y, w = definition.training_frame(c, as_of=s.as_of, horizon_months=6)
    assert 0 < y.mean() < 1 and w.as_of == pd.Timestamp("2024-12-31")
    # at the old fixed date, the message says which class is missing and what to change
    with pytest.raises(definition.ChurnDataError) as e:
        definition.training_frame(c, as_of="2026-06-30", horizon_months=6)
    msg = str(e.value)
    assert "no churner" in msg and "as_of" in msg and "2024-12-31" in msg


def test_single_class_messages_name_the_missing_class():
    c = pd.DataFrame({"customer_id": ["a", "b"], "signup_date": pd.to_datetime(
        ["2020-01-01", "2020-01-01"]), "end_date": pd.to_datetime(["2026-05-01", "2026-06-01"])})
    with pytest.raises(definition.ChurnDataError, match="no stayer: every one of them churned"):
        definition.training_frame(c, as_of="2026-06-30")
    with pytest.raises(definition.ChurnDataError, match="no customer is active"):
        definition.training_frame(c.assign(signup_date=pd.Timestamp("2026-06-01")),
                                  as_of="2026-06-30")
