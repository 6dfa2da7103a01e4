"""Pseudonyms: stable, salted, never the raw id (RFC 2104 HMAC checked independently)."""

import hashlib
import hmac

from crm_lib import privacy
from crm_lib.churn import scoring
from crm_lib.roi import budget


def test_pseudonyms_are_stable_salted_and_hide_the_id():
    a = privacy.pseudonymise(["C000001", "C000002"], "salt")
    assert a.tolist() == privacy.pseudonymise(["C000001", "C000002"], "salt").tolist()
    assert a.iloc[0] != a.iloc[1]
    assert a.iloc[0] != privacy.pseudonymise(["C000001"], "other").iloc[0]
    expected = "P-" + hmac.new(b"salt", b"C000001", hashlib.sha256).hexdigest()[:16]
    assert a.iloc[0] == expected and "C000001" not in a.iloc[0]


def test_churn_and_roi_share_one_implementation():
    assert scoring.pseudonymise is privacy.pseudonymise
    assert budget.pseudonymise is privacy.pseudonymise
