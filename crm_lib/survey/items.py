"""Codebook-driven preparation of survey items.

The codebook (``survey_codebook``: item, construct, text, scale_min,
scale_max, reverse) decides which items exist, which construct each one
measures, its scale and its direction. :func:`prepare_items` turns the raw
``survey_responses`` into a clean numeric item matrix and reports every
problem it met, with the treatment applied, instead of failing:

========================================  ==========================================
problem                                   treatment
========================================  ==========================================
codebook lacks a required column          :class:`SurveyInputError` (cannot go on)
codebook item not in survey_responses     item dropped
non-numeric answer                        set to missing (item non-response)
answer outside [scale_min, scale_max]     set to missing (item non-response)
item with every answer missing            item dropped
item with a single distinct answer        item dropped (no variance, no correlation)
construct left with one item              kept as a single-item construct: loading
                                          fixed at 1, reliability not estimable (NaN)
construct left with no item               construct dropped (and its paths)
reverse-coded item                        recoded ``scale_min + scale_max - x``
========================================  ==========================================

Reverse coding follows the usual rule for Likert-type items (e.g. DeVellis,
*Scale Development*, 2017): after recoding every item points the same way,
so high values always mean a more favourable answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

CODEBOOK_COLUMNS = ("item", "construct", "scale_min", "scale_max", "reverse")
META_COLUMNS = ("response_id", "customer_id", "date", "wave", "nps")


class SurveyInputError(ValueError):
    """Survey input that cannot be analysed (names the table, column and rule)."""


@dataclass
class PreparedSurvey:
    """Clean survey items, ready for reliability and structural models.

    ``items``: one float column per kept item, reverse-coded, answers outside
    the scale set to missing; same row order as the responses.
    ``meta``: the non-item columns of the responses (response_id, customer_id,
    date, wave, nps) when present. ``constructs``: construct -> kept items in
    codebook order. ``codebook``: the kept codebook rows. ``issues``: one row per
    problem found (rule, item, construct, count, treatment).
    """

    items: pd.DataFrame
    meta: pd.DataFrame
    constructs: dict[str, list[str]]
    codebook: pd.DataFrame
    issues: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def single_item(self) -> list[str]:
        """Constructs measured by one item only."""
        return [c for c, its in self.constructs.items() if len(its) == 1]

    def scale(self, item: str) -> tuple[float, float]:
        row = self.codebook.loc[self.codebook["item"] == item].iloc[0]
        return float(row["scale_min"]), float(row["scale_max"])

    def construct_index(self, construct: str) -> pd.Series:
        """Mean of a construct's items rescaled to 0-100 (0 = scale minimum).

        Rows with every item missing are NaN; otherwise the mean of the answered
        items (person-mean over available items).
        """
        cols = self.constructs[construct]
        lo = self.codebook.set_index("item").loc[cols, "scale_min"].astype(float)
        hi = self.codebook.set_index("item").loc[cols, "scale_max"].astype(float)
        z = (self.items[cols] - lo.values) / (hi.values - lo.values) * 100.0
        return z.mean(axis=1).rename(f"{construct}_index")


def _as_bool(s: pd.Series, table: str = "survey_codebook", column: str = "reverse") -> pd.Series:
    if s.dtype == bool or str(s.dtype) == "boolean":
        return s.fillna(False).astype(bool)
    txt = s.astype("string").str.strip().str.lower()
    mapping = {"true": True, "1": True, "yes": True, "y": True, "t": True, "1.0": True,
               "false": False, "0": False, "no": False, "n": False, "f": False, "0.0": False,
               "": False}
    out = txt.map(mapping)
    bad = txt[out.isna() & txt.notna()]
    if len(bad):
        raise SurveyInputError(
            f"{table}.{column}: values must be true/false (or yes/no, 1/0); "
            f"got {sorted(bad.unique().tolist())[:5]}")
    return out.fillna(False).astype(bool)


def check_codebook(codebook: pd.DataFrame) -> pd.DataFrame:
    """Validate and normalise the codebook; raise :class:`SurveyInputError` when unusable."""
    if codebook is None or len(codebook) == 0:
        raise SurveyInputError("survey_codebook is empty: it must list one row per item "
                               "(item, construct, scale_min, scale_max, reverse)")
    missing = [c for c in CODEBOOK_COLUMNS if c not in codebook.columns]
    if missing:
        raise SurveyInputError(
            f"survey_codebook lacks column(s) {', '.join(missing)}; required: "
            f"{', '.join(CODEBOOK_COLUMNS)}")
    cb = codebook.copy()
    cb["item"] = cb["item"].astype("string").str.strip()
    cb["construct"] = cb["construct"].astype("string").str.strip()
    if cb["item"].isna().any() or cb["construct"].isna().any():
        raise SurveyInputError("survey_codebook: item and construct must not be empty")
    dup = cb["item"][cb["item"].duplicated()]
    if len(dup):
        raise SurveyInputError(f"survey_codebook.item must be unique; duplicated: "
                               f"{sorted(dup.unique().tolist())}")
    for c in ("scale_min", "scale_max"):
        cb[c] = pd.to_numeric(cb[c], errors="coerce")
        if cb[c].isna().any():
            bad = cb.loc[cb[c].isna(), "item"].tolist()
            raise SurveyInputError(f"survey_codebook.{c} must be a number; missing or "
                                   f"not numeric for item(s) {bad}")
    bad = cb.loc[cb["scale_max"] <= cb["scale_min"], "item"].tolist()
    if bad:
        raise SurveyInputError(f"survey_codebook: scale_max must be > scale_min; "
                               f"violated for item(s) {bad}")
    cb["reverse"] = _as_bool(cb["reverse"])
    if "text" not in cb.columns:
        cb["text"] = cb["item"]
    return cb.reset_index(drop=True)


def _issue(rule: str, item: str | None, construct: str | None, n: int, treatment: str) -> dict:
    return {"rule": rule, "item": item, "construct": construct, "count": int(n),
            "treatment": treatment}


def prepare_items(responses: pd.DataFrame, codebook: pd.DataFrame) -> PreparedSurvey:
    """Clean, check and reverse-code the survey items named by the codebook.

    See the module docstring for the table of problems and treatments. Never
    raises for bad answers; raises :class:`SurveyInputError` only when the
    codebook itself is unusable or no item at all survives.
    """
    cb = check_codebook(codebook)
    issues: list[dict] = []
    present = [i for i in cb["item"] if i in responses.columns]
    for it in cb["item"]:
        if it not in responses.columns:
            con = cb.loc[cb["item"] == it, "construct"].iloc[0]
            issues.append(_issue("codebook item not in survey_responses", it, con, 0,
                                 "item dropped"))
    raw = responses[present]
    num = raw.apply(pd.to_numeric, errors="coerce").astype(float)
    # answers that were given but are not numbers
    given = raw.notna() & raw.astype("string").apply(lambda s: s.str.strip() != "").fillna(False)
    nonnum = (given & num.isna()).sum()
    cbi = cb.set_index("item")
    lo = cbi.loc[present, "scale_min"].astype(float).values
    hi = cbi.loc[present, "scale_max"].astype(float).values
    outside = (num < lo) | (num > hi)
    n_out = outside.sum()
    num = num.mask(outside)
    for it in present:
        con = cbi.at[it, "construct"]
        if nonnum[it]:
            issues.append(_issue("answer is not a number", it, con, nonnum[it],
                                 "set to missing (item non-response)"))
        if n_out[it]:
            issues.append(_issue(
                f"answer outside the scale [{cbi.at[it, 'scale_min']:g}, "
                f"{cbi.at[it, 'scale_max']:g}]", it, con, n_out[it],
                "set to missing (item non-response)"))
    keep = []
    for it in present:
        con = cbi.at[it, "construct"]
        col = num[it]
        if col.notna().sum() == 0:
            issues.append(_issue("every answer missing", it, con, len(col), "item dropped"))
        elif col.nunique(dropna=True) < 2:
            issues.append(_issue("a single distinct answer (no variance)", it, con,
                                 col.notna().sum(), "item dropped"))
        else:
            keep.append(it)
    if not keep:
        raise SurveyInputError(
            "survey_responses: no usable survey item (the codebook items are absent, "
            "empty or constant); the survey analysis needs at least one construct with items")
    items = num[keep].copy()
    rev = [it for it in keep if bool(cbi.at[it, "reverse"])]
    for it in rev:
        items[it] = cbi.at[it, "scale_min"] + cbi.at[it, "scale_max"] - items[it]
    constructs: dict[str, list[str]] = {}
    for con in pd.unique(cb["construct"]):
        its = [it for it in cb.loc[cb["construct"] == con, "item"] if it in keep]
        if not its:
            issues.append(_issue("construct has no usable item", None, con, 0,
                                 "construct dropped (with its paths)"))
            continue
        if len(its) == 1:
            issues.append(_issue(
                "construct measured by a single item", its[0], con, 1,
                "kept as single-item construct: loading fixed at 1, reliability not "
                "estimable (NaN)"))
        constructs[str(con)] = its
    meta_cols = [c for c in responses.columns if c not in cb["item"].tolist()]
    meta = responses[meta_cols].copy()
    issues_df = pd.DataFrame(issues, columns=["rule", "item", "construct", "count", "treatment"])
    return PreparedSurvey(items=items.reset_index(drop=True), meta=meta.reset_index(drop=True),
                          constructs=constructs,
                          codebook=cb[cb["item"].isin(keep)].reset_index(drop=True),
                          issues=issues_df)


def mean_impute(items: pd.DataFrame) -> pd.DataFrame:
    """Replace item non-response by the item mean (seminr's ``mean_replacement``)."""
    return items.fillna(items.mean())


def pairwise_cov(items: pd.DataFrame) -> tuple[np.ndarray, int]:
    """Pairwise-complete covariance matrix and the smallest pairwise sample size."""
    m = items.notna().astype(float).values
    n_pair = int((m.T @ m).min())
    return items.cov().values, n_pair


__all__ = ["PreparedSurvey", "SurveyInputError", "check_codebook", "prepare_items",
           "mean_impute", "pairwise_cov"]
