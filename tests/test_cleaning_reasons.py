"""Churn reasons outside the taxonomy: kept as ``unknown``, text kept, counted.

Issue 11, case 4: churners with reasons such as ``price`` or ``Competitor`` were
quarantined whole (60 churners left the data, biasing the churn rate).
"""

from __future__ import annotations

import pandas as pd

from crm_lib import cleaning, contract
from crm_lib.churn import definition

AS_OF = "2026-06-30"
CSV = ("customer_id,signup_date,end_date,churned,churn_reason,plan\n"
       "C1,2024-01-01,2025-01-01,yes,price,basic\n"
       "C2,2024-01-01,2025-02-01,yes,Competitor,basic\n"
       "C3,2024-01-01,2025-03-01,yes, Competitive ,basic\n"
       "C4,2024-01-01,2025-04-01,yes,price,basic\n"
       "C5,2024-01-01,,no,,basic\n")


def _clean(tmp_path, **options):
    raw = tmp_path / "raw"
    raw.mkdir(exist_ok=True)
    (raw / "customers.csv").write_text(CSV)
    rep = cleaning.clean_folder(raw, tmp_path / "out", tmp_path / "q", tables=("customers",),
                                as_of=AS_OF, **options)
    return rep, pd.read_parquet(tmp_path / "out" / "customers.parquet").set_index("customer_id")


def test_unknown_reasons_are_kept_with_their_text_and_counted(tmp_path):
    rep, c = _clean(tmp_path)
    r = rep["tables"]["customers"]
    assert r["rows_clean"] == 5 and r["rows_quarantined"] == 0  # no churner lost
    assert c["churn_reason"].tolist()[:4] == ["unknown", "unknown", "competitive", "unknown"]
    assert c["churn_reason_raw"].tolist()[:4] == ["price", "Competitor", pd.NA, "price"]
    assert r["unknown_churn_reasons"]["n"] == 3
    assert r["unknown_churn_reasons"]["values"] == {"price": 2, "Competitor": 1}
    assert "churn_reason_synonyms" in r["unknown_churn_reasons"]["option"]


def test_synonyms_map_only_through_the_explicit_option(tmp_path):
    rep, c = _clean(tmp_path, churn_reason_synonyms=True)
    assert c["churn_reason"].tolist()[:4] == ["competitive"] * 4
    assert c["churn_reason_raw"].tolist()[:4] == ["price", "Competitor", pd.NA, "price"]
    assert "unknown_churn_reasons" not in rep["tables"]["customers"]
    assert contract.REASON_SYNONYMS["price"] == "competitive"
    # a user's own mapping wins over the documented table
    _, c = _clean(tmp_path, value_map={"churn_reason": {"price": "lapsed"}})
    assert c.loc["C1", "churn_reason"] == "lapsed" and c.loc["C2", "churn_reason"] == "unknown"


def test_the_raw_reason_text_is_never_a_model_feature(tmp_path):
    _, c = _clean(tmp_path)
    X = definition.build_features(c.reset_index(), pd.Timestamp("2024-06-01"))
    assert "churn_reason_raw" not in X.columns
    assert "churn_reason_raw" in definition.NON_FEATURES
