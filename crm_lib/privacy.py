"""Pseudonymous customer ids for reports and action lists.

Reports and exported lists (HTML, ``targets.csv``) never show raw customer
ids: they show ``"P-"`` + the first 16 hex digits of HMAC-SHA256(salt, id).
The data owner, who keeps the salt, can map a list back to customers by
recomputing pseudonyms; with the same salt the churn scores and the
retention targets share pseudonyms and can be joined.
"""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd


def pseudonymise(ids, salt: str = "crm") -> pd.Series:
    """Stable pseudonyms ``P-<16 hex>`` of ``ids`` under ``salt`` (HMAC-SHA256, RFC 2104)."""
    key = str(salt).encode()
    s = pd.Series(ids).astype(str)
    return s.map(lambda x: "P-" + hmac.new(key, x.encode(), hashlib.sha256).hexdigest()[:16])
