"""A deliberately messy copy of clean tables: every rule fires a known number of times.

Demo data is clean by construction, so a notebook cleaning it shows zero
quarantined rows. To *teach* the rules, :func:`make_messy` takes a sample of
clean customers (and their transactions), breaks them in documented ways and
writes them as an analyst's export would look: customers as UTF-8 with a
byte-order mark, semicolons and decimal commas (European style, the whole
column), transactions in GB18030 (GBK) with a Chinese column, dates in several
formats, amounts with currency symbols. Because the damage is known, :func:`messy_lab` can compare what the
cleaning found with what was injected, rule by rule. The lab always breaks
demo-company rows (:func:`lab_tables`), never a user's real customers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataContractError

#: Rows broken per rule (customers, transactions).
CUSTOMER_BREAKS = {"future_date:signup_date": 4, "negative:monthly_charges": 4,
                   "signup_after_end": 3, "unparseable:signup_date": 3,
                   "conflicting_duplicate:customer_id": 3,
                   "exact_duplicate": 5}
CUSTOMER_REPAIRS = {"currency_symbol": 20, "dmy_date": 20, "excel_serial": 10,
                    "region_spelling": 20, "bool_text": 30, "unknown_churn_reason": 3}
TRANSACTION_BREAKS = {"orphan:customer_id": 5, "future_date:date": 4,
                      "unparseable:amount": 3, "exact_duplicate": 5}
TRANSACTION_REPAIRS = {"currency_symbol": 10}


@dataclass
class MessyCopy:
    """The messy raw folder and what was done to it."""

    folder: Path
    tables: tuple[str, ...]
    expected: dict[str, dict] = field(default_factory=dict)  # table -> counts and reasons


def _as_text(df: pd.DataFrame) -> pd.DataFrame:
    """Clean typed frame -> the strings an export would contain."""
    out = pd.DataFrame(index=df.index)
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            has_time = bool((s.dropna() != s.dropna().dt.normalize()).any())
            txt = s.dt.strftime("%Y-%m-%d %H:%M:%S" if has_time else "%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(s.dtype):
            txt = s.astype("object").map({True: "True", False: "False"})
        else:
            txt = s.astype("string")
        out[c] = txt.astype(object).where(s.notna(), "")
    return out


def _groups(rng: np.random.Generator, rows: np.ndarray, sizes: dict[str, int]
            ) -> dict[str, np.ndarray]:
    need = sum(sizes.values())
    if len(rows) < need:
        raise ValueError(f"a messy copy needs at least {need} eligible rows, got {len(rows)}")
    perm = rng.permutation(rows)
    out, i = {}, 0
    for name, k in sizes.items():
        out[name] = perm[i:i + k]
        i += k
    return out


def _messy_customers(c: pd.DataFrame, rng, as_of: pd.Timestamp) -> tuple[pd.DataFrame, dict]:
    raw = _as_text(c)
    n = len(raw)
    signup = c["signup_date"]
    # break rows that are active, so one break gives exactly one reason
    active = np.flatnonzero(c["end_date"].isna().to_numpy()
                            & (signup < as_of - pd.Timedelta(days=60)).to_numpy())
    g = _groups(rng, active, CUSTOMER_BREAKS)
    days = rng.integers(30, 400, len(g["future_date:signup_date"]))
    raw.loc[g["future_date:signup_date"], "signup_date"] = (
        as_of + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d")
    ix = g["negative:monthly_charges"]
    raw.loc[ix, "monthly_charges"] = (-c["monthly_charges"].iloc[ix].abs() - 1).astype(str)
    ix = g["signup_after_end"]
    raw.loc[ix, "end_date"] = (signup.iloc[ix] - pd.Timedelta(days=30)).dt.strftime("%Y-%m-%d")
    raw.loc[ix, "churned"] = "True"
    raw.loc[ix, "churn_reason"] = "natural"
    raw.loc[g["unparseable:signup_date"], "signup_date"] = "31/02/2024"
    conflict = raw.loc[g["conflicting_duplicate:customer_id"]].copy()
    conflict["monthly_charges"] = (c["monthly_charges"].iloc[
        g["conflicting_duplicate:customer_id"]].astype(float) + 5).round(2).astype(str).values
    exact = raw.loc[g["exact_duplicate"]].copy()
    broken = np.concatenate([v for k, v in g.items() if k != "exact_duplicate"])

    # repairs, on rows that are not broken (they may overlap each other)
    ok = np.setdiff1d(np.arange(n), np.concatenate(list(g.values())))
    late = ok[(signup.iloc[ok].dt.day > 12).to_numpy()]  # day-first evidence
    r = {"dmy_date": rng.choice(late, min(len(late), CUSTOMER_REPAIRS["dmy_date"]),
                                replace=False)}
    rest = np.setdiff1d(ok, r["dmy_date"])
    r["excel_serial"] = rng.choice(rest, CUSTOMER_REPAIRS["excel_serial"], replace=False)
    for k in ("currency_symbol", "region_spelling", "bool_text"):
        r[k] = rng.choice(ok, CUSTOMER_REPAIRS[k], replace=False)
    # reasons outside the taxonomy: kept as unknown (the text in churn_reason_raw)
    churners = ok[c["end_date"].iloc[ok].notna().to_numpy()] if "churn_reason" in c else ok[:0]
    if len(churners):
        r["unknown_churn_reason"] = rng.choice(
            churners, min(len(churners), CUSTOMER_REPAIRS["unknown_churn_reason"]),
            replace=False)
        raw.loc[r["unknown_churn_reason"], "churn_reason"] = "moved house"
    if "region" not in raw or not (raw["region"] != "").any():
        r.pop("region_spelling")  # e.g. telco: no regions to misspell
    raw.loc[r["dmy_date"], "signup_date"] = signup.iloc[r["dmy_date"]].dt.strftime("%d/%m/%Y")
    serial = (signup.iloc[r["excel_serial"]] - pd.Timestamp("1899-12-30")).dt.days
    raw.loc[r["excel_serial"], "signup_date"] = serial.astype(str).values
    raw.loc[r["currency_symbol"], "monthly_charges"] = [
        f"€{v:.2f}" for v in c["monthly_charges"].iloc[r["currency_symbol"]].astype(float)]
    if "region_spelling" in r:
        raw.loc[r["region_spelling"], "region"] = [
            f" {v.upper()} " if v else v for v in raw["region"].iloc[r["region_spelling"]]]
    raw.loc[r["bool_text"], "churned"] = raw["churned"].iloc[r["bool_text"]].map(
        {"True": "yes", "False": "no"}).fillna("")
    out = pd.concat([raw, conflict, exact], ignore_index=True)
    # a European export: the whole charges column has a decimal comma (one mark per column)
    out["monthly_charges"] = out["monthly_charges"].astype(str).str.replace(".", ",",
                                                                           regex=False)
    n_comma = int(out["monthly_charges"].str.contains(",", regex=False).sum())
    order = rng.permutation(len(out))
    out = out.iloc[order].reset_index(drop=True)
    reasons = {k: v for k, v in CUSTOMER_BREAKS.items() if k != "exact_duplicate"}
    reasons["conflicting_duplicate:customer_id"] *= 2
    bad_ids = set(c["customer_id"].iloc[broken])
    expected = {"rows_in": len(out), "rows_duplicate_dropped": CUSTOMER_BREAKS["exact_duplicate"],
                "rows_quarantined": sum(reasons.values()), "reasons": reasons,
                "repairs": {**{k: len(v) for k, v in r.items()}, "decimal_comma": n_comma},
                "bad_ids": bad_ids}
    expected["rows_clean"] = expected["rows_in"] - expected["rows_quarantined"] - \
        expected["rows_duplicate_dropped"]
    return out, expected


def _messy_transactions(t: pd.DataFrame, bad_ids: set, rng, as_of: pd.Timestamp
                        ) -> tuple[pd.DataFrame, dict]:
    raw = _as_text(t)
    cq = t["customer_id"].isin(bad_ids).to_numpy()
    g = _groups(rng, np.flatnonzero(~cq), TRANSACTION_BREAKS)
    raw.loc[g["orphan:customer_id"], "customer_id"] = [
        f"NOBODY{i}" for i in range(len(g["orphan:customer_id"]))]
    raw.loc[g["future_date:date"], "date"] = (as_of + pd.Timedelta(days=45)).strftime(
        "%Y-%m-%d 12:00:00")
    raw.loc[g["unparseable:amount"], "amount"] = "twelve"
    exact = raw.loc[g["exact_duplicate"]].copy()
    ok = np.setdiff1d(np.flatnonzero(~cq), np.concatenate(list(g.values())))
    pick = rng.choice(ok, sum(TRANSACTION_REPAIRS.values()), replace=False)
    amt = t["amount"].astype(float)
    raw.loc[pick, "amount"] = [f"￥{v:,.2f}" for v in amt.iloc[pick]]
    raw["门店"] = np.where(rng.random(len(raw)) < 0.5, "北京一店", "上海二店")
    exact["门店"] = raw.loc[g["exact_duplicate"], "门店"].values
    out = pd.concat([raw, exact], ignore_index=True)
    out = out.iloc[rng.permutation(len(out))].reset_index(drop=True)
    reasons = {k: v for k, v in TRANSACTION_BREAKS.items() if k != "exact_duplicate"}
    if cq.any():
        reasons["customer_quarantined:customer_id"] = int(cq.sum())
    expected = {"rows_in": len(out), "rows_duplicate_dropped": TRANSACTION_BREAKS[
        "exact_duplicate"], "rows_quarantined": sum(reasons.values()), "reasons": reasons,
        "repairs": dict(TRANSACTION_REPAIRS)}
    broken = np.concatenate([g[k] for k in g if k != "exact_duplicate"])
    kept = np.setdiff1d(np.flatnonzero(~cq), broken)
    expected["refunds_kept"] = int((amt.iloc[kept] < 0).sum())
    expected["orphan_refunds"] = int((amt.iloc[g["orphan:customer_id"]] < 0).sum())
    expected["rows_clean"] = expected["rows_in"] - expected["rows_quarantined"] - \
        expected["rows_duplicate_dropped"]
    return out, expected


def make_messy(tables: dict[str, pd.DataFrame], folder: str | Path, *, seed: int = 42,
               as_of: str | pd.Timestamp = "2026-06-30", n_customers: int = 400,
               max_transactions: int = 4000) -> MessyCopy:
    """Write a messy copy of ``tables`` (clean ``customers`` and optionally
    ``transactions``) into ``folder`` and return what was injected.

    ``n_customers`` customers are sampled (with ``seed``), with their
    transactions (at most ``max_transactions``). Without customers, only the
    transactions are broken (no orphans then: there is nothing to refer to).
    """
    rng = np.random.default_rng(seed)
    as_of = pd.Timestamp(as_of)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for p in folder.glob("*.csv"):
        p.unlink()
    copy = MessyCopy(folder, ())
    bad_ids: set = set()
    ids = None
    if "customers" in tables:
        c = tables["customers"]
        c = c.iloc[np.sort(rng.choice(len(c), min(n_customers, len(c)), replace=False))]
        c = c.reset_index(drop=True)
        raw, exp = _messy_customers(c, rng, as_of)
        raw.to_csv(folder / "customers.csv", sep=";", index=False, encoding="utf-8-sig")
        bad_ids, ids = exp.pop("bad_ids"), set(c["customer_id"])
        copy.expected["customers"] = exp
    if "transactions" in tables:
        t = tables["transactions"]
        if ids is not None:
            t = t[t["customer_id"].isin(ids)]
        if len(t) > max_transactions:
            t = t.iloc[np.sort(rng.choice(len(t), max_transactions, replace=False))]
        t = t.reset_index(drop=True)
        raw, exp = _messy_transactions(t, bad_ids, rng, as_of)
        if ids is None:  # no customers table: nothing can be an orphan
            exp["reasons"].pop("orphan:customer_id")
            exp["rows_quarantined"] -= TRANSACTION_BREAKS["orphan:customer_id"]
            exp["rows_clean"] += TRANSACTION_BREAKS["orphan:customer_id"]
            exp["refunds_kept"] += exp["orphan_refunds"]  # the would-be orphans stay, refunds too
        raw.to_csv(folder / "transactions.csv", index=False, encoding="gb18030")
        copy.expected["transactions"] = exp
    copy.tables = tuple(copy.expected)
    return copy


#: Size of the demo company the lab breaks when the analysed source is not the demo.
LAB_DEMO_CUSTOMERS = 2000


def lab_tables(session) -> tuple[dict[str, pd.DataFrame], pd.Timestamp]:
    """Clean customers and transactions for the messy lab, and their as-of date: the
    session's own tables when its source is the demo company, else a small demo
    company (:data:`LAB_DEMO_CUSTOMERS`, the session's seed; generated and cleaned
    once, cached). A user's real rows are never copied into the lab."""
    from .. import data
    spec = session.source
    if spec.source != "demo":
        spec = data.SourceSpec(source="demo", n_customers=LAB_DEMO_CUSTOMERS,
                               seed=session.seed, as_of="")
    src = spec.build()
    return data.load_tables(spec, ["customers", "transactions"]), pd.Timestamp(src.as_of)


def messy_lab(tables: dict[str, pd.DataFrame], folder: str | Path, *, seed: int = 42,
              as_of: str | pd.Timestamp = "2026-06-30", **kw) -> tuple[dict, pd.DataFrame]:
    """Make a messy copy (:func:`make_messy`) in ``folder/raw``, clean it into
    ``folder/processed`` and ``folder/quarantine``, and compare: returns the
    cleaning report and a frame ``table, what, injected, found`` (counts, each
    quarantine reason and the repairs)."""
    from .pipeline import clean_folder

    folder = Path(folder)
    copy = make_messy(tables, folder / "raw", seed=seed, as_of=as_of, **kw)
    report = clean_folder(copy.folder, folder / "processed", folder / "quarantine",
                          tables=copy.tables, as_of=as_of)
    rows = []
    repair_kinds = {"region_spelling": ("region", ("case_folded", "trimmed")),
                    "currency_symbol": (None, ("currency_symbol",)),
                    "dmy_date": ("signup_date", ("dmy_date",)),
                    "excel_serial": ("signup_date", ("excel_serial",)),
                    "bool_text": ("churned", ("bool_text",)),
                    "unknown_churn_reason": ("churn_reason", ("unknown_churn_reason",)),
                    "decimal_comma": ("monthly_charges", ("decimal_comma",))}
    for t, exp in copy.expected.items():
        got = report["tables"][t]
        for k in ("rows_in", "rows_clean", "rows_quarantined", "rows_duplicate_dropped"):
            rows.append({"table": t, "what": k, "injected": exp[k], "found": got[k]})
        for reason, n in exp["reasons"].items():
            rows.append({"table": t, "what": f"reason {reason}", "injected": n,
                         "found": got["quarantine_reasons"].get(reason, 0)})
        for kind, n in exp["repairs"].items():
            col, kinds = repair_kinds[kind]
            found = max([e["n"] for e in got["repairs"] if e["repair"] in kinds
                         and (col is None or e["column"] == col)] or [0])
            rows.append({"table": t, "what": f"repair {kind}", "injected": n,
                         "found": found})
        if "refunds_kept" in exp:
            clean = pd.read_parquet(folder / "processed" / f"{t}.parquet")
            rows.append({"table": t, "what": "refunds kept (valid rows)",
                         "injected": exp["refunds_kept"],
                         "found": int((clean["amount"] < 0).sum())})
    return report, pd.DataFrame(rows)


def fatal_example(folder: str | Path) -> str:
    """Write a customers file without its ``signup_date`` column into ``folder``,
    try to clean it, and return the one-paragraph error a user would see."""
    from .pipeline import clean_folder

    folder = Path(folder)
    raw = folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "customers.csv").write_text("customer_id,joined,plan\nC1,2024-01-01,basic\n",
                                       encoding="utf-8")
    try:
        clean_folder(raw, folder / "processed", folder / "quarantine",
                     tables=("customers",), as_of="2026-06-30")
    except DataContractError as e:
        return e.message
    raise AssertionError("a customers file without signup_date must be rejected")
