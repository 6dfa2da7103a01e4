"""Build the messy fixture folder (tests/data/messy) in a temporary folder.

The text fixtures are committed; the GBK-encoded transactions file and the
Excel interactions workbook are generated here, so no binary is committed.
Each row's intent is documented in tests/data/messy/README.md.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

MESSY = Path(__file__).parent / "data" / "messy"

#: interactions.xlsx rows: typed Excel cells (datetimes, a serial number, text, booleans).
INTERACTIONS = [
    ("interaction_id", "Customer ID", "opened_at", "resolved_at", "category", "resolved"),
    ("I01", "C001", dt.datetime(2024, 3, 1, 9), dt.datetime(2024, 3, 2, 10), "billing", True),
    ("I02", "C002", 45400, None, "network", False),  # Excel serial 45400 = 2024-04-18
    ("I03", "C003", "2024-05-01 08:00", "2024-04-30 08:00", "service", "yes"),
    ("I04", "C777", dt.datetime(2024, 5, 2), None, "device", False),
    ("I05", "C001", dt.datetime(2030, 1, 1), None, "billing", False),
    ("I06", "C001", dt.datetime(2024, 6, 1), dt.datetime(2024, 6, 2), "Billing ", "TRUE"),
]

#: Options the fixture needs: one user column mapped by name.
OPTIONS = {"column_map": {"customers": {"Monthly Fee": "monthly_charges"}}}

TABLES = ("customers", "transactions", "survey_codebook", "survey_responses",
          "interactions", "campaigns")


def write_excel(path: Path, rows: list[tuple], sheet: str = "interactions") -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for r in rows:
        ws.append(list(r))
    wb.save(path)
    return path


def build(folder: Path) -> Path:
    """Write the messy raw folder into ``folder`` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for p in MESSY.glob("*.csv"):
        shutil.copyfile(p, folder / p.name)
    text = (MESSY / "to_gbk" / "transactions.csv").read_text(encoding="utf-8")
    (folder / "transactions.csv").write_bytes(text.encode("gbk"))
    write_excel(folder / "interactions.xlsx", INTERACTIONS)
    return folder
