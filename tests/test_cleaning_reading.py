"""Reading raw files: encodings, delimiters, Parquet, Excel, headers, and fatal errors."""

from __future__ import annotations

import codecs

import pandas as pd
import pytest
from _messy_fixture import write_excel

from crm_lib import cleaning
from crm_lib.cleaning import DataContractError, detect_encoding, read_table

AS_OF = "2026-06-30"
TEXT = "customer_id,signup_date,region\nC1,2024-01-01,华北\nC2,2024-02-01,Zürich\n"


@pytest.mark.parametrize("encoding,bom,expected", [
    ("utf-8", b"", "utf-8"),
    ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
    ("gbk", b"", "gb18030"),
    ("gb18030", b"", "gb18030"),
    ("utf-16", b"", "utf-16"),  # Python writes a BOM for utf-16
])
def test_encodings_are_detected_and_values_decoded(tmp_path, encoding, bom, expected):
    text = TEXT if encoding not in ("gbk",) else TEXT.replace("Zürich", "Zurich")
    p = tmp_path / "customers.csv"
    p.write_bytes(bom + text.encode(encoding))
    assert detect_encoding(p) == expected
    raw = read_table(p, "customers")
    assert raw.encoding == expected
    assert list(raw.frame.columns) == ["customer_id", "signup_date", "region"]
    assert raw.frame["region"].tolist()[0] == "华北"


def test_cp1252_file_falls_back_and_encoding_option_overrides(tmp_path):
    p = tmp_path / "customers.csv"
    p.write_bytes("customer_id,signup_date,region\nC1,2024-01-01,Zürich café\n"
                  .encode("cp1252"))
    raw = read_table(p, "customers")
    assert raw.encoding == "cp1252" and raw.frame["region"][0] == "Zürich café"
    forced = read_table(p, "customers", encoding="latin-1")
    assert forced.encoding == "iso8859-1" and forced.frame["region"][0] == "Zürich café"
    with pytest.raises(DataContractError, match="not a known encoding"):
        read_table(p, "customers", encoding="klingon")


def test_gbk_file_read_with_wrong_forced_encoding_is_a_clear_error(tmp_path):
    p = tmp_path / "customers.csv"
    p.write_bytes("customer_id,signup_date,region\nC1,2024-01-01,华北\n".encode("gbk"))
    with pytest.raises(DataContractError) as e:
        read_table(p, "customers", encoding="utf-8")
    assert "customers.csv" in str(e.value) and "encoding" in str(e.value)


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_delimiters_are_sniffed(tmp_path, sep):
    p = tmp_path / "customers.csv"
    p.write_text(f"customer_id{sep}signup_date{sep}monthly_charges\nC1{sep}2024-01-01{sep}"
                 f"12,5\nC2{sep}2024-01-02{sep}13\n" if sep != "," else
                 "customer_id,signup_date,monthly_charges\nC1,2024-01-01,12\n", encoding="utf-8")
    raw = read_table(p, "customers")
    assert raw.sep == sep and "monthly_charges" in raw.frame


def test_parquet_keeps_native_types_and_cleans(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    pd.DataFrame({
        "customer_id": [1001, 1002, 1003],  # numeric ids become text "1001"
        "signup_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2031-01-01"]),
        "churned": [False, True, False],
        "monthly_charges": [10.0, -1.0, 12.0],
        "n_products": [1, 2, 1],
    }).to_parquet(raw / "customers.parquet")
    rep = cleaning.clean_folder(raw, tmp_path / "out", tmp_path / "q",
                                tables=("customers",), as_of=AS_OF)
    r = rep["tables"]["customers"]
    assert (r["format"], r["rows_in"], r["rows_clean"], r["rows_quarantined"]) == \
        ("parquet", 3, 1, 2)
    assert r["quarantine_reasons"] == {"negative:monthly_charges": 1,
                                       "future_date:signup_date": 1}
    out = pd.read_parquet(tmp_path / "out" / "customers.parquet")
    assert out["customer_id"].tolist() == ["1001"]
    q = pd.read_csv(tmp_path / "q" / "customers.csv")
    assert q["monthly_charges"].tolist() == [-1.0, 12.0]


def test_excel_sheet_named_like_the_table_is_chosen_and_numbers_kept(tmp_path):
    from openpyxl import Workbook
    wb = Workbook()
    wb.active.title = "Notes"
    wb.active.append(["this sheet is not the table"])
    ws = wb.create_sheet("Customers")
    for row in [("Customer ID", "Signup Date", "monthly_charges"),
                (1001, pd.Timestamp("2024-01-01").to_pydatetime(), 10.5),
                (1002, 45300, "1.234,50")]:
        ws.append(row)
    p = tmp_path / "customers.xlsx"
    wb.save(p)
    raw = read_table(p, "customers")
    assert raw.encoding == "sheet Customers"
    assert list(raw.frame.columns) == ["customer_id", "signup_date", "monthly_charges"]
    res = cleaning.clean_table(raw, as_of=AS_OF)
    assert res.clean["customer_id"].tolist() == ["1001", "1002"]
    assert res.clean["signup_date"].tolist() == [pd.Timestamp("2024-01-01"),
                                                 pd.Timestamp("2024-01-09")]
    assert res.clean["monthly_charges"].tolist() == [10.5, 1234.5]


def test_column_map_per_table_and_flat(tmp_path):
    p = tmp_path / "customers.csv"
    p.write_text("Kunde,Start\nC1,2024-01-01\n", encoding="utf-8")
    flat = read_table(p, "customers", column_map={"Kunde": "customer_id",
                                                  "Start": "signup_date"})
    per = read_table(p, "customers", column_map={"customers": {"Kunde": "customer_id",
                                                               "Start": "signup_date"},
                                                 "transactions": {"x": "y"}})
    for raw in (flat, per):
        assert list(raw.frame.columns) == ["customer_id", "signup_date"]
        assert raw.original_columns == {"customer_id": "Kunde", "signup_date": "Start"}


# ----------------------------------------------------------------------------- fatal errors

def _folder_error(tmp_path, files: dict[str, bytes], tables=("customers",), **options):
    raw = tmp_path / "raw"
    raw.mkdir(exist_ok=True)
    for name, content in files.items():
        (raw / name).write_bytes(content)
    with pytest.raises(DataContractError) as e:
        cleaning.clean_folder(raw, tmp_path / "out", tmp_path / "q", tables=tables,
                              as_of=AS_OF, **options)
    msg = str(e.value)
    assert "\n" not in msg and "Traceback" not in msg  # one paragraph
    return e.value, msg


def test_fatal_missing_required_column_names_file_column_and_rule(tmp_path):
    err, msg = _folder_error(tmp_path, {"customers.csv": b"customer_id,signup\nC1,2024\n"})
    assert "customers.csv" in msg and "'signup_date'" in msg and "rule:" in msg
    assert "column_map" in msg  # says how to fix it
    assert err.column == "signup_date" and err.file.endswith("customers.csv")
    assert err.table == "customers"


def test_fatal_missing_survey_item_column(tmp_path):
    err, msg = _folder_error(tmp_path, {
        "survey_codebook.csv": b"item,construct,scale_min,scale_max,reverse\n"
                               b"Q1,satisfaction,1,5,no\nQ2,satisfaction,1,5,no\n",
        "survey_responses.csv": b"response_id,Q1\nR1,3\n"},
        tables=("survey_codebook", "survey_responses"))
    assert "survey_responses.csv" in msg and "'Q2'" in msg and err.column == "Q2"


@pytest.mark.parametrize("name,content,what", [
    ("customers.parquet", b"PAR1 this is not parquet", "Parquet"),
    ("customers.xlsx", b"PK\x03\x04 not a zip workbook", "Excel"),
])
def test_fatal_unreadable_file(tmp_path, name, content, what):
    err, msg = _folder_error(tmp_path, {name: content})
    assert name in msg and what in msg and "rule:" in msg
    assert err.file.endswith(name)


@pytest.mark.parametrize("name,content", [
    ("customers.csv", b""),
    ("customers.csv", b"customer_id,signup_date\n"),
    ("customers.csv", b"customer_id,signup_date\n\n\n"),
])
def test_fatal_empty_table(tmp_path, name, content):
    err, msg = _folder_error(tmp_path, {name: content})
    assert name in msg and ("no rows" in msg or "empty" in msg)
    assert "at least one row" in msg


def test_fatal_empty_excel_and_parquet(tmp_path):
    write_excel(tmp_path / "customers.xlsx", [("customer_id", "signup_date")],
                sheet="customers")
    with pytest.raises(DataContractError, match="customers.xlsx.*no rows"):
        read_table(tmp_path / "customers.xlsx", "customers")
    pd.DataFrame({"customer_id": pd.Series([], dtype=str)}).to_parquet(
        tmp_path / "customers.parquet")
    with pytest.raises(DataContractError, match="customers.parquet.*no rows"):
        read_table(tmp_path / "customers.parquet", "customers")


@pytest.mark.parametrize("content,what", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
    (b'{"customer_id": "C1", "signup_date": "2024-01-01"}\n', "JSON"),
    (b"<html><body>Session expired</body></html>\n", "HTML"),
    (b"customer_id,signup_date\n" + b"a,b,c,d\n" * 30, "wrong number of fields"),
])
def test_fatal_not_a_table(tmp_path, content, what):
    err, msg = _folder_error(tmp_path, {"customers.csv": content})
    assert "customers.csv" in msg and "not a table" in msg and what in msg


def test_fatal_ambiguous_dates_ask_for_date_order(tmp_path):
    files = {"customers.csv": b"customer_id,signup_date\nC1,01/02/2024\nC2,03/04/2024\n"}
    err, msg = _folder_error(tmp_path, files)
    assert "customers.csv" in msg and "'signup_date'" in msg and "date_order" in msg
    raw = tmp_path / "raw"
    rep = cleaning.clean_folder(raw, tmp_path / "o2", tmp_path / "q2", tables=("customers",),
                                as_of=AS_OF, date_order="mdy")
    out = pd.read_parquet(tmp_path / "o2" / "customers.parquet")
    assert out["signup_date"].tolist() == [pd.Timestamp("2024-01-02"),
                                           pd.Timestamp("2024-03-04")]
    assert rep["tables"]["customers"]["columns"]["signup_date"]["note"] == "mdy (option)"


def test_fatal_two_columns_mapped_to_one(tmp_path):
    err, msg = _folder_error(tmp_path, {"customers.csv": b"customer_id,Customer ID,"
                                        b"signup_date\nC1,C1,2024-01-01\n"})
    assert "customer_id" in msg and "Customer ID" in msg


def test_fatal_errors_of_several_tables_are_reported_together(tmp_path):
    err, msg = _folder_error(tmp_path, {
        "customers.csv": b"customer_id\nC1\n",
        "transactions.csv": b"transaction_id,customer_id,date\nT1,C1,2024-01-01\n"},
        tables=("customers", "transactions"))
    assert msg.count("Data contract error") == 2
    assert "'signup_date'" in msg and "'amount'" in msg and "2 tables" in msg


def test_a_table_without_a_file_is_fatal(tmp_path):
    err, msg = _folder_error(tmp_path, {"customers.csv": b"customer_id,signup_date\nC,2024"
                                        b"-01-01\n"}, tables=("customers", "campaigns"))
    assert "campaigns" in msg and "no file" in msg


def test_trailing_delimiter_column_is_dropped_and_reported(tmp_path):
    p = tmp_path / "customers.csv"
    p.write_text("customer_id,signup_date,\nC1,2024-01-01,\n", encoding="utf-8")
    raw = read_table(p, "customers")
    assert list(raw.frame.columns) == ["customer_id", "signup_date"]
    assert raw.dropped_columns == ["Unnamed: 2"]
