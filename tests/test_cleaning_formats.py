"""Formats named when they are not plain CSV, and file names found case-insensitively.

Issue 11, case 11: the first sheet of a workbook (a README) was read silently;
UTF-16 without a BOM was "binary content"; an xlsx or parquet file named .csv
was not recognised. Case 5 (folder part): ``Customers.csv`` was not found and an
empty folder gave no clear message.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from _messy_fixture import write_excel

from crm_lib import cleaning, data
from crm_lib.cleaning import DataContractError, badinput, reading
from crm_lib.sources import find_table_file

AS_OF = "2026-06-30"
ROWS = [("customer_id", "signup_date", "plan"), ("C1", "2024-01-01", "basic"),
        ("C2", "2024-02-01", "premium")]


_excel = badinput.write_xlsx


def _clean(raw, tmp_path, **options):
    rep = cleaning.clean_folder(raw, tmp_path / "out", tmp_path / "q", tables=("customers",),
                                as_of=AS_OF, **options)
    return rep["tables"]["customers"], pd.read_parquet(tmp_path / "out" / "customers.parquet")


def test_excel_reads_the_sheet_with_the_contract_columns_and_says_which(tmp_path, caplog):
    raw = tmp_path / "raw"
    raw.mkdir()
    _excel(raw / "customers.xlsx", {"README": [("This export was made by ...",), ("x",)],
                                    "Export 2024": ROWS})
    with caplog.at_level("INFO", logger="crm_lib.cleaning"):
        r, c = _clean(raw, tmp_path)
    assert c["customer_id"].tolist() == ["C1", "C2"]
    assert r["sheet"] == "Export 2024"
    assert "sheet 'Export 2024' read (the first sheet with the required columns" in r["notes"][0]
    assert "Export 2024" in caplog.text
    # a sheet named like the table wins
    _excel(raw / "customers.xlsx", {"Export": ROWS, "Customers": ROWS[:2]})
    r, c = _clean(raw, tmp_path)
    assert r["sheet"] == "Customers" and len(c) == 1


def test_excel_without_a_fitting_sheet_names_the_sheets_and_the_option(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    _excel(raw / "customers.xlsx", {"README": [("notes",)], "Other": [("a", "b"), (1, 2)]})
    with pytest.raises(DataContractError) as e:
        _clean(raw, tmp_path)
    assert "README, Other" in e.value.message and "sheet=" in e.value.message


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_detected_and_decoded(tmp_path, encoding):
    raw = tmp_path / "raw"
    raw.mkdir()
    text = "customer_id,signup_date,plan\nC1,2024-01-01,Grundtarif für 2 €\n"
    (raw / "customers.csv").write_bytes(text.encode(encoding))  # no byte-order mark
    r, c = _clean(raw, tmp_path)
    assert r["encoding"] == encoding
    assert c["plan"].tolist() == ["Grundtarif für 2 €"]
    assert "without a byte-order mark" in r["notes"][0]


def test_xlsx_and_parquet_named_csv_are_read_by_signature(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    write_excel(raw / "customers.csv", ROWS, sheet="customers")  # an xlsx named .csv
    r, c = _clean(raw, tmp_path)
    assert r["format"] == "excel" and c["customer_id"].tolist() == ["C1", "C2"]
    assert "named .csv but is a zip container (PK signature)" in r["notes"][0]
    pd.DataFrame(ROWS[1:], columns=ROWS[0]).to_parquet(raw / "customers.csv")
    r, c = _clean(raw, tmp_path)
    assert r["format"] == "parquet" and len(c) == 2
    assert "Parquet file (PAR1 signature)" in r["notes"][0]
    assert "named .csv" in cleaning.summary_frame({"tables": {"customers": r}}).iloc[0]["notes"]


def test_file_names_are_matched_case_insensitively(tmp_path):
    (tmp_path / "Customers.CSV").write_text("customer_id,signup_date\nC1,2024-01-01\n")
    (tmp_path / "TRANSACTIONS.Parquet").write_bytes(b"")
    assert find_table_file(tmp_path, "customers").name == "Customers.CSV"
    assert reading.find_table_file(tmp_path, "transactions").name == "TRANSACTIONS.Parquet"
    assert find_table_file(tmp_path, "campaigns") is None


def test_a_folder_without_table_files_names_the_expected_files(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_HOME", str(tmp_path / "home"))
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "kunden.csv").write_text("a\n1\n")
    src = data.SourceSpec(source="folder", data_dir=str(folder)).build()
    assert src.tables == ()
    with pytest.raises(FileNotFoundError) as e:
        src.materialise()
    msg = str(e.value)
    assert "customers.csv, transactions.csv" in msg and "kunden.csv" in msg
    assert "not case-sensitive" in msg
    shutil.rmtree(folder)
    folder.mkdir()
    with pytest.raises(FileNotFoundError, match="found no files"):
        data.SourceSpec(source="folder", data_dir=str(folder)).build().materialise()
