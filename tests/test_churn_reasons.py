"""What counts as a complaint: one definition for churn-by-complaints and the pilot's features."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_lib.churn import definition, reasons
from crm_lib.roi import features
from crm_lib.sources import demo

AS_OF = "2026-06-30"


def _customers() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["A", "B", "C"],
        "signup_date": ["2023-01-01"] * 3,
        "end_date": [None, None, "2026-03-01"],
        "churned": [False, False, True],
        "churn_reason": [None, None, "competitive"],
        "monthly_charges": [30.0, 50.0, 80.0],
    })


def _interactions() -> pd.DataFrame:
    # A: one resolved billing complaint; B: a late-payment reminder and a downgrade
    # request (contacts, not complaints), both left open; C: an unresolved network complaint
    return pd.DataFrame({
        "interaction_id": ["I1", "I2", "I3", "I4"],
        "customer_id": ["A", "B", "B", "C"],
        "opened_at": ["2025-01-10 10:00:00", "2025-02-01 09:00:00", "2025-02-03 09:00:00",
                      "2025-03-01 12:00:00"],
        "resolved_at": ["2025-01-11 10:00:00", None, None, None],
        "category": ["billing", "late_payment", "Plan downgrade", "network"],
        "resolved": [True, False, False, False],
    })


def test_late_payment_and_downgrade_rows_are_not_complaints():
    it = _interactions()
    assert reasons.is_complaint(it).tolist() == [True, False, False, True]
    # without a category column every ticket is a complaint (the contract's table)
    assert reasons.is_complaint(it.drop(columns="category")).all()
    # the demo's contact rows are exactly the non-complaint categories
    assert set(demo.CONTACT_CATEGORIES) == set(reasons.NON_COMPLAINT_CATEGORIES)


def test_complaint_status_ignores_contacts():
    cu = definition.prepare_customers(_customers(), AS_OF)
    st = reasons.complaint_status(cu, _interactions(), at="2025-06-01")
    st = st.set_index("customer_id")
    assert st.loc["A", "status"] == "all resolved" and st.loc["A", "complaints"] == 1
    # B has two open contacts and no complaint: a silent customer, not an unresolved one
    assert st.loc["B", "status"] == "none" and st.loc["B", "complaints"] == 0
    assert st.loc["C", "status"] == "unresolved" and st.loc["C", "unresolved"] == 1


def test_churn_by_complaints_counts_a_reminder_as_silence():
    by_status, _, _ = reasons.churn_by_complaints(_customers(), _interactions(), as_of=AS_OF,
                                                  landmark_months=12)
    n = by_status.set_index("status")["customers"]
    assert n["none"] == 1 and n["all resolved"] == 1 and n["unresolved"] == 1


def test_pilot_features_count_complaints_and_contacts_apart():
    X = features.pre_treatment_features(_customers(), "2025-06-01",
                                        interactions=_interactions())
    assert X.loc["B", "complaints"] == 0 and X.loc["B", "unresolved_complaints"] == 0
    assert X.loc["B", "contacts[late_payment]"] == 1
    assert X.loc["B", "contacts[plan downgrade]"] == 1
    assert X.loc["C", "unresolved_complaints"] == 1 and X.loc["C", "complaints[network]"] == 1
    assert X.loc["A", "complaints"] == 1 and X.loc["A", "unresolved_complaints"] == 0
    assert not any(c.startswith("complaints[late") for c in X.columns)


def test_on_the_demo_no_contact_is_counted_as_a_complaint(demo_small):
    it = demo_small.tables["interactions"]
    contacts = it["category"].isin(demo.CONTACT_CATEGORIES)
    assert contacts.any() and (~contacts).any()
    assert (reasons.is_complaint(it) == ~contacts).all()
    at = pd.Timestamp(AS_OF) - pd.DateOffset(months=12)
    c = definition.prepare_customers(demo_small.tables["customers"], AS_OF)
    st = reasons.complaint_status(c, it, at=at)
    opened = pd.to_datetime(it["opened_at"]) <= at
    expected = it[opened & ~contacts].groupby("customer_id").size()
    got = st.set_index("customer_id")["complaints"]
    assert got[got > 0].sort_index().equals(expected.reindex(got[got > 0].index).sort_index()
                                            .astype(got.dtype))
    assert got.sum() == pytest.approx(expected.reindex(got.index).fillna(0).sum())
