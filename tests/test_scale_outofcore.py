"""Out-of-core cleaning (DuckDB) gives the pandas pipeline's results.

The messy fixtures (GBK-encoded transactions with currency symbols, decimal
commas, day-first dates, duplicates, orphans, malformed lines; interactions
with Excel serial dates, tickets resolved before they were opened, future
dates) and a generated table with every kind of mess are cleaned both ways;
the clean rows, the quarantine (original values, row, reason), the counts and
the repairs must be identical, and rows_in = clean + quarantined + duplicates.
"""

from __future__ import annotations

import csv

import _messy_fixture as fx
import numpy as np
import pandas as pd
import pytest

from crm_lib.cleaning import outofcore
from crm_lib.cleaning.pipeline import Context, clean_table
from crm_lib.cleaning.reading import read_table

AS_OF = "2024-12-31"


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    folder = fx.build(tmp_path_factory.mktemp("messy"))
    with open(folder / "interactions.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        for row in fx.INTERACTIONS:
            w.writerow(["" if v is None else str(v) for v in row])
    raw = read_table(folder / "customers.csv", "customers", column_map=fx.OPTIONS["column_map"])
    cust = clean_table(raw, as_of=AS_OF, options=fx.OPTIONS)
    ids = pd.Index(cust.clean["customer_id"].unique())
    ctx = Context(customer_ids=ids, quarantined_customer_ids=cust.quarantined_keys.difference(ids))
    return folder, ctx


def _both(path, table, ctx, tmp_path, options=None):
    opts = options or {}
    raw = read_table(path, table, column_map=opts.get("column_map"))
    ref = clean_table(raw, as_of=AS_OF, options=opts, context=ctx)
    rep = outofcore.clean_large_table(
        path, table, tmp_path / "out", tmp_path / "q", as_of=AS_OF,
        customer_ids=ctx.customer_ids, quarantined_customer_ids=ctx.quarantined_customer_ids,
        options=opts, memory_limit="1GB", threads=1)
    return ref, rep


def _assert_same(ref, rep, table, tmp_path):
    for k in ("rows_in", "rows_clean", "rows_quarantined", "rows_duplicate_dropped"):
        assert rep[k] == ref.report[k], k
    assert rep["quarantine_reasons"] == ref.report["quarantine_reasons"]
    assert rep["rows_in"] == rep["rows_clean"] + rep["rows_quarantined"] + \
        rep["rows_duplicate_dropped"]
    got = pd.read_parquet(tmp_path / "out" / f"{table}.parquet")
    want = ref.clean
    assert list(got.columns) == list(want.columns)
    for c in want.columns:
        a, b = want[c], got[c]
        if pd.api.types.is_datetime64_any_dtype(a):
            assert (pd.to_datetime(b).astype("datetime64[ns]").fillna(pd.Timestamp(0))
                    == a.fillna(pd.Timestamp(0))).all(), c
        elif pd.api.types.is_numeric_dtype(a) and not pd.api.types.is_bool_dtype(a):
            np.testing.assert_allclose(b.astype(float), a.astype(float), rtol=1e-12, err_msg=c)
        else:
            assert a.astype("string").fillna("<NA>").tolist() == \
                b.astype("string").fillna("<NA>").tolist(), c
    qref = ref.quarantine.astype("string").fillna("")
    qfile = tmp_path / "q" / f"{table}.csv"
    qgot = pd.read_csv(qfile, dtype=str, keep_default_na=False) if qfile.exists() else \
        pd.DataFrame(columns=qref.columns)
    qgot = qgot.drop(columns=[c for c in ("raw_line",) if c not in qref.columns], errors="ignore")
    assert list(qgot.columns) == list(qref.columns)
    assert qgot["reason"].tolist() == qref["reason"].tolist()
    core = [c for c in qref.columns if c not in ("raw_line",)]
    assert qgot[core].astype(str).values.tolist() == qref[core].astype(str).values.tolist()
    want_rep = {(r["column"], r["repair"]): r["n"] for r in ref.report["repairs"]}
    got_rep = {(r["column"], r["repair"]): r["n"] for r in rep["repairs"]}
    assert got_rep == want_rep
    assert rep["outliers"] == ref.report["outliers"]


@pytest.mark.parametrize("table", ["transactions", "interactions"])
def test_messy_fixture_same_on_both_paths(messy, table, tmp_path):
    folder, ctx = messy
    ref, rep = _both(folder / f"{table}.csv", table, ctx, tmp_path)
    assert rep["rows_quarantined"] > 0
    _assert_same(ref, rep, table, tmp_path)


def _generated(path, n=4000, seed=3):
    """Transactions with every kind of mess, as CSV."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("C", np.char.zfill(rng.integers(1, 60, n).astype(str), 3))
    date = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 600, n), unit="D")
    d = pd.Series(date.strftime("%Y-%m-%d %H:%M:%S"))
    amt = pd.Series(np.round(rng.gamma(2, 20, n), 2).astype(str))
    k = rng.choice(n, 600, replace=False)
    d[k[:100]] = date[k[:100]].strftime("%d/%m/%Y")
    d[k[100:120]] = "not a date"
    d[k[120:140]] = "2031-01-01"
    amt[k[140:200]] = ["$1,234.50", "(12.00)", "1,234.5", "€7"] * 15
    amt[k[200:220]] = "N/A"
    amt[k[220:240]] = "abc"
    ids[k[240:260]] = " C001 "
    ids[k[260:280]] = "X999"
    product = rng.choice(["top-up", "Top-Up", "TOP-UP", "device", "Device "], n)
    df = pd.DataFrame({"transaction_id": [f"T{i:06d}" for i in range(n)], "customer_id": ids,
                       "date": d, "amount": amt, "product": product})
    dup = df.iloc[k[300:330]]
    conflict = df.iloc[k[330:340]].assign(amount="1.00")
    pd.concat([df, dup, conflict]).to_csv(path, index=False)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("T9,C001,2024-01-01,1,a,b,c\n")


def test_generated_mess_same_on_both_paths(messy, tmp_path):
    _, _ = messy
    path = tmp_path / "transactions.csv"
    _generated(path)
    ids = pd.Index([f"C{i:03d}" for i in range(1, 60)])
    ctx = Context(customer_ids=ids, quarantined_customer_ids=pd.Index(["X999"]))
    ref, rep = _both(path, "transactions", ctx, tmp_path)
    assert rep["rows_duplicate_dropped"] >= 30
    assert {"conflicting_duplicate:transaction_id", "unparseable:amount",
            "future_date:date", "customer_quarantined:customer_id"} <= set(
                rep["quarantine_reasons"])
    _assert_same(ref, rep, "transactions", tmp_path)


def test_parquet_input_and_switch(messy, tmp_path):
    path = tmp_path / "transactions.csv"
    _generated(path, n=1500, seed=5)
    pq = tmp_path / "transactions.parquet"
    pd.read_csv(path, dtype=str, keep_default_na=False, on_bad_lines="skip").to_parquet(pq)
    ids = pd.Index([f"C{i:03d}" for i in range(1, 60)])
    ctx = Context(customer_ids=ids, quarantined_customer_ids=pd.Index(["X999"]))
    ref, rep = _both(pq, "transactions", ctx, tmp_path)
    _assert_same(ref, rep, "transactions", tmp_path)
    small = outofcore.clean_events(pq, "transactions", tmp_path / "o2", tmp_path / "q2",
                                   as_of=AS_OF, customer_ids=ids)
    assert small["engine"] == "pandas"
    big = outofcore.clean_events(pq, "transactions", tmp_path / "o3", tmp_path / "q3",
                                 as_of=AS_OF, customer_ids=ids, min_rows=10)
    assert big["engine"] == "duckdb" and big["rows_clean"] == small["rows_clean"]


def test_beyond_expand_limit_same_or_asks_for_the_option(messy, tmp_path):
    """Above ``expand_limit`` rows the parser sees distinct values (categories weighted
    by frequency rank): results stay identical, and an automatic date order, which
    needs every value, stops with the option that fixes it."""
    from crm_lib.cleaning import DataContractError

    path = tmp_path / "transactions.csv"
    _generated(path, n=3000, seed=11)
    ids = pd.Index([f"C{i:03d}" for i in range(1, 60)])
    ctx = Context(customer_ids=ids, quarantined_customer_ids=pd.Index(["X999"]))
    with pytest.raises(DataContractError, match="date_order"):
        outofcore.clean_large_table(path, "transactions", tmp_path / "o", tmp_path / "q",
                                    as_of=AS_OF, customer_ids=ids, expand_limit=10)
    opts = {"date_order": "dmy"}
    raw = read_table(path, "transactions")
    ref = clean_table(raw, as_of=AS_OF, options=opts, context=ctx)
    rep = outofcore.clean_large_table(
        path, "transactions", tmp_path / "out", tmp_path / "q", as_of=AS_OF,
        customer_ids=ids, quarantined_customer_ids=ctx.quarantined_customer_ids,
        options=opts, expand_limit=10)
    _assert_same(ref, rep, "transactions", tmp_path)


def test_decimal_mark_is_decided_from_all_values(messy, tmp_path):
    """Decimal commas among plain decimal points: both paths stop naming the option."""
    from crm_lib.cleaning import DataContractError

    path = tmp_path / "transactions.csv"
    _generated(path, n=800, seed=13)
    text = path.read_text().replace("\n", "\nT9999998,C001,2024-01-01,\"7,25\",a\n", 1)
    path.write_text(text)
    ids = pd.Index([f"C{i:03d}" for i in range(1, 60)])
    with pytest.raises(DataContractError, match="decimal"):
        clean_table(read_table(path, "transactions"), as_of=AS_OF,
                    context=Context(customer_ids=ids))
    with pytest.raises(DataContractError, match="decimal"):
        outofcore.clean_large_table(path, "transactions", tmp_path / "o", tmp_path / "q",
                                    as_of=AS_OF, customer_ids=ids)


def test_file_order_kept_on_two_threads(tmp_path):
    """Clean rows stay in file order and outlier flags name their clean row when DuckDB
    runs on two threads over several row groups (its joins do not keep insertion order,
    so the outputs are sorted by row number)."""
    import duckdb

    src = tmp_path / "transactions.parquet"
    n = 400_000
    duckdb.sql(f"""COPY (
        WITH b AS (SELECT i, 'T' || lpad(CAST(i AS VARCHAR), 7, '0') AS transaction_id,
                   'C' || lpad(CAST(i % 997 AS VARCHAR), 3, '0') AS customer_id,
                   strftime(TIMESTAMP '2023-01-01' + to_minutes(i % 500000), '%Y-%m-%d %H:%M:%S')
                     AS date,
                   CASE WHEN i % 5000 = 7 THEN '$' ELSE '' END
                     || CAST(round(1 + (hash(i) % 100000) / 100.0, 2) AS VARCHAR) AS amount,
                   ['top-up', 'device'][1 + CAST(i % 2 AS INTEGER)] AS product
                   FROM range({n}) t(i))
        SELECT * EXCLUDE (k, i) FROM (SELECT 0 AS k, * FROM b UNION ALL
                                      SELECT 1 AS k, * FROM b WHERE i = 3)  -- exact duplicate
        ORDER BY k, i) TO '{src}' (FORMAT parquet, ROW_GROUP_SIZE 50000)""")
    ids = pd.Index([f"C{i:03d}" for i in range(1, 997)])  # C000 is an orphan
    rep = outofcore.clean_large_table(src, "transactions", tmp_path / "out", tmp_path / "q",
                                      as_of=AS_OF, customer_ids=ids, threads=2)
    assert rep["rows_duplicate_dropped"] == 1 and rep["rows_quarantined"] == n // 997 + 1
    got = pd.read_parquet(tmp_path / "out" / "transactions.parquet")
    want = pd.read_parquet(src)["transaction_id"].iloc[:n]
    want = want[~want.isin([f"T{i:07d}" for i in range(0, n, 997)])]
    assert got["transaction_id"].tolist() == want.tolist()
    flags = pd.read_csv(tmp_path / "out" / "transactions_outlier_flags.csv")
    assert len(flags) and (got["transaction_id"].iloc[flags["row"]].to_numpy()
                           == flags["transaction_id"].to_numpy()).all()


@pytest.mark.parametrize(("other", "want"), [("7,25", 1500.0), ("12.5", 1.5)])
def test_ambiguous_number_waits_for_the_column_decision(tmp_path, other, want):
    """``1.500`` is a thousands group or three decimals: the fast path never reads it
    itself; the column's decision (a decimal comma elsewhere, or plain decimal points
    the fast path reads) makes it 1500 or 1.5, the same on both paths."""
    path = tmp_path / "transactions.csv"
    amounts = ["12", "1.500", other] * 10
    pd.DataFrame({"transaction_id": [f"T{i:03d}" for i in range(len(amounts))],
                  "customer_id": "C001", "date": "2024-01-02", "amount": amounts}
                 ).to_csv(path, index=False)
    ctx = Context(customer_ids=pd.Index(["C001"]))
    ref, rep = _both(path, "transactions", ctx, tmp_path)
    _assert_same(ref, rep, "transactions", tmp_path)
    got = pd.read_parquet(tmp_path / "out" / "transactions.parquet")["amount"]
    assert got.iloc[1] == want and got.iloc[0] == 12.0


def test_cleaned_events_summarises_in_the_cleaning_session(messy, tmp_path):
    """``cleaned_events`` writes what ``clean_large_table`` writes and reports the same;
    its Ibis table (the clean rows in the cleaning's DuckDB session) holds the clean
    file's rows, and the summaries on it equal the reference code on the pandas
    pipeline's clean rows."""
    from crm_lib import engine
    from crm_lib.churn import definition
    from crm_lib.value import rfm_summary

    path = tmp_path / "transactions.csv"
    _generated(path)
    ids = pd.Index([f"C{i:03d}" for i in range(1, 60)])
    ctx = Context(customer_ids=ids, quarantined_customer_ids=pd.Index(["X999"]))
    ref, rep = _both(path, "transactions", ctx, tmp_path)
    kw = {"as_of": AS_OF, "customer_ids": ids, "quarantined_customer_ids": pd.Index(["X999"]),
          "memory_limit": "1GB", "threads": 2}

    def summaries(tx):
        return (rfm_summary(tx, calibration_end="2024-01-01", observation_end=AS_OF),
                definition.transaction_features(tx, AS_OF),
                definition.inactivity_churn(tx, as_of=AS_OF, window_days=180))

    with outofcore.cleaned_events(path, "transactions", tmp_path / "o2", tmp_path / "q2",
                                  **kw) as cleaned:
        skip = ("seconds", "clean_file", "quarantine_file")
        assert {k: v for k, v in cleaned.report.items() if k not in skip} == \
            {k: v for k, v in rep.items() if k not in skip}
        in_session = cleaned.table.execute()
        got = summaries(cleaned.table)
    file = pd.read_parquet(tmp_path / "o2" / "transactions.parquet")
    assert file.equals(pd.read_parquet(tmp_path / "out" / "transactions.parquet"))
    assert (tmp_path / "q2" / "transactions.csv").read_text() == \
        (tmp_path / "q" / "transactions.csv").read_text()
    assert list(in_session.columns) == list(file.columns) and len(file) == rep["rows_clean"]
    key = ["transaction_id", "customer_id", "date", "amount"]
    a = in_session.sort_values(key).reset_index(drop=True)
    b = file.sort_values(key).reset_index(drop=True)
    for c in file.columns:
        assert a[c].astype("string").fillna("<NA>").tolist() == \
            b[c].astype("string").fillna("<NA>").tolist(), c
    engine.use("pandas")
    try:
        want = summaries(ref.clean)
    finally:
        engine.use("duckdb")
    for w, g in zip(want, got, strict=True):
        assert len(w) > 10
        pd.testing.assert_frame_equal(w.sort_index(), g.sort_index(), check_dtype=False,
                                      check_exact=False, rtol=1e-12, atol=1e-12,
                                      check_index_type=False)
