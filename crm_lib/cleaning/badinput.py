"""Bad exports and what each one gets: the README's "Bad input" table, generated.

Each :class:`BadInput` case writes a small folder the way a real export goes
wrong, runs the folder source and the cleaning on it, and describes the
outcome: the values read (and what the quality report notes), or the message
that stops the run. :func:`markdown_table` runs every case; a test compares it
with the README, so the table cannot go stale.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import DataContractError

HEAD = "customer_id,signup_date,end_date,churned,churn_reason,monthly_charges\n"


def _csv(text: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    return lambda p: p.write_bytes(text.encode(encoding))


def write_xlsx(path: Path, sheets: dict[str, list[tuple]]) -> Path:
    """An Excel workbook at ``path`` with one sheet per entry of ``sheets`` (rows of cells)."""
    from openpyxl import Workbook
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(list(r))
    wb.save(path)
    return path


def _xlsx(sheets: dict[str, list[tuple]]) -> Callable[[Path], None]:
    return lambda path: write_xlsx(path, sheets)


def _parquet(frame: pd.DataFrame) -> Callable[[Path], None]:
    return lambda p: frame.to_parquet(p, index=False)


ROWS = [("customer_id", "signup_date"), ("C1", "2024-01-31"), ("C2", "2024-02-05")]


@dataclass
class BadInput:
    """One kind of bad export: its files, options, and how to describe the outcome."""

    kind: str
    example: str
    files: dict[str, Callable[[Path], None]]
    show: Callable[[dict, dict[str, pd.DataFrame]], str] | None = None
    options: dict = field(default_factory=dict)
    as_of: str = "2026-06-30"


def _col(table: str, col: str, fmt=str) -> Callable:
    def show(rep, frames):
        vals = frames[table][col].tolist()
        return ", ".join("empty" if pd.isna(v) else fmt(v) for v in vals)
    return show


def _date(v) -> str:
    return f"{pd.Timestamp(v):%Y-%m-%d}"


def _num(v) -> str:
    return f"{float(v):g}"


def _with_notes(show: Callable, table: str = "customers") -> Callable:
    def out(rep, frames):
        from .report import _table_notes
        notes = _table_notes(rep["tables"][table])
        return show(rep, frames) + (f" (noted: {'; '.join(notes)})" if notes else "")
    return out


def _reasons(rep, frames) -> str:
    r = rep["tables"]["customers"]["quarantine_reasons"]
    return "quarantined: " + ", ".join(f"{k} ({v})" for k, v in r.items())


CASES: tuple[BadInput, ...] = (
    BadInput("decimal commas in a `;` file", "`0,125` and `1,500` in one column",
             {"customers.csv": _csv("customer_id;signup_date;monthly_charges\n"
                                    "C1;2024-01-01;0,125\nC2;2024-01-01;1,500\n")},
             _col("customers", "monthly_charges", _num)),
    BadInput("thousands separators", "`1,500` beside `12.25`",
             {"customers.csv": _csv("customer_id,signup_date,monthly_charges\n"
                                    'C1,2024-01-01,"1,500"\nC2,2024-01-01,12.25\n')},
             _col("customers", "monthly_charges", _num)),
    BadInput("numbers no value decides", "only `1,500` and `2,250`",
             {"customers.csv": _csv("customer_id;signup_date;monthly_charges\n"
                                    "C1;2024-01-01;1,500\nC2;2024-01-01;2,250\n")}),
    BadInput("two decimal marks in one column", "`0,5` and `0.5`",
             {"customers.csv": _csv("customer_id;signup_date;monthly_charges\n"
                                    "C1;2024-01-01;0,5\nC2;2024-01-01;0.5\n")}),
    BadInput("day-first dates", "`31/01/2024`, `05/02/2024`",
             {"customers.csv": _csv("customer_id,signup_date\nC1,31/01/2024\n"
                                    "C2,05/02/2024\n")},
             _col("customers", "signup_date", _date)),
    BadInput("day-first and month-first in one column", "`25/01/2024` and `01/30/2024`",
             {"customers.csv": _csv("customer_id,signup_date\nC1,25/01/2024\n"
                                    "C2,01/30/2024\n")}),
    BadInput("dates no value decides", "only `03/04/2024`",
             {"customers.csv": _csv("customer_id,signup_date\nC1,03/04/2024\n")}),
    BadInput("'no end' dates", "end_date `9999-12-31` for active customers",
             {"customers.csv": _csv(HEAD + "C1,2024-01-01,9999-12-31,no,,10\n"
                                    "C2,2024-01-01,2025-01-31,yes,natural,10\n")},
             _with_notes(_col("customers", "end_date", _date))),
    BadInput("churn reasons outside the taxonomy", "`price`, `Competitor`",
             {"customers.csv": _csv(HEAD + "C1,2024-01-01,2025-01-31,yes,price,10\n"
                                    "C2,2024-01-01,2025-01-31,yes,Competitor,10\n")},
             _with_notes(lambda rep, f: "churn_reason " + ", ".join(
                 f["customers"]["churn_reason"]) + "; churn_reason_raw " + ", ".join(
                 f["customers"]["churn_reason_raw"]))),
    BadInput("... with the synonyms option", "`churn_reason_synonyms: true`",
             {"customers.csv": _csv(HEAD + "C1,2024-01-01,2025-01-31,yes,price,10\n"
                                    "C2,2024-01-01,2025-01-31,yes,Competitor,10\n")},
             _col("customers", "churn_reason"), {"churn_reason_synonyms": True}),
    BadInput("Excel workbook with a README sheet first", "sheets README, Export",
             {"customers.xlsx": _xlsx({"README": [("About this export",)], "Export": ROWS})},
             _with_notes(_col("customers", "customer_id"))),
    BadInput("UTF-16 without a byte-order mark", "Excel 'Unicode text' saved as .csv",
             {"customers.csv": _csv("customer_id,signup_date\nC1,2024-01-31\n", "utf-16-le")},
             _with_notes(_col("customers", "customer_id"))),
    BadInput("an .xlsx workbook named .csv", "`customers.csv` is a zip",
             {"customers.csv": _xlsx({"customers": ROWS})},
             _with_notes(_col("customers", "customer_id"))),
    BadInput("a Parquet file named .csv", "`customers.csv` starts with PAR1",
             {"customers.csv": _parquet(pd.DataFrame(ROWS[1:], columns=ROWS[0]))},
             _with_notes(_col("customers", "customer_id"))),
    BadInput("capitalised file names", "`Customers.CSV`",
             {"Customers.CSV": _csv("customer_id,signup_date\nC1,2024-01-31\n")},
             _col("customers", "customer_id")),
    BadInput("GBK (Chinese Excel) encoding", "`北京` in GB18030",
             {"customers.csv": _csv("customer_id,signup_date,region\nC1,2024-01-31,北京\n",
                                    "gb18030")},
             _col("customers", "region")),
    BadInput("personal columns", "`email`, `phone` beside the contract columns",
             {"customers.csv": _csv("customer_id,signup_date,email,phone\n"
                                    "C1,2024-01-31,ann@example.com,+44 20 7946 0018\n"
                                    "C2,2024-02-01,bo@example.com,+44 20 7946 0019\n")},
             _with_notes(lambda rep, f: "columns " + ", ".join(f["customers"].columns[:2])
                         + " ...")),
    BadInput("a date after the as-of date", "signup `2031-05-05`",
             {"customers.csv": _csv("customer_id,signup_date\nC1,2031-05-05\n"
                                    "C2,2024-01-01\n")}, _reasons),
    BadInput("an export ending years ago", "last end date 2024-12-31, no `--as-of`",
             {"customers.csv": _csv(HEAD + "C1,2023-01-01,2024-12-31,yes,natural,10\n"
                                    "C2,2023-01-01,,no,,10\n")},
             lambda rep, f: f"as_of {rep['as_of']} (the data's latest date)", as_of=""),
    BadInput("a missing required column", "`joined` instead of `signup_date`",
             {"customers.csv": _csv("customer_id,joined\nC1,2024-01-01\n")}),
    BadInput("an HTML page saved as .csv", "`<html>...`",
             {"customers.csv": _csv("<html><body>Session expired</body></html>\n")}),
    BadInput("an empty file", "0 bytes", {"customers.csv": _csv("")}),
    BadInput("a folder without table files", "only `kunden.csv`",
             {"kunden.csv": _csv("a\n1\n")}),
)


def run_case(case: BadInput, folder: str | Path) -> str:
    """Run the folder source and the cleaning on ``case``'s files in ``folder``; the
    outcome as one line: ``reads: ...`` or ``stops: <message>``."""
    from .. import data
    folder = Path(folder)
    raw = folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, write in case.files.items():
        write(raw / name)
    spec = data.SourceSpec(source="folder", data_dir=str(raw), as_of=case.as_of,
                           options=dict(case.options))
    try:
        src = spec.build()
        src.materialise()
        from .pipeline import clean_folder
        rep = clean_folder(raw, folder / "out", folder / "q", tables=src.tables,
                           as_of=src.as_of, **src.cleaning_options)
    except (DataContractError, FileNotFoundError) as e:
        text = e.message if isinstance(e, DataContractError) else str(e)
        return "stops: " + text.replace(str(raw) + "/", "").replace(str(raw), "<folder>")
    frames = {t: pd.read_parquet(folder / "out" / f"{t}.parquet") for t in rep["tables"]}
    return "reads: " + case.show(rep, frames)


def outcomes() -> list[tuple[BadInput, str]]:
    """Every case with its outcome (each in a fresh temporary folder)."""
    out = []
    for case in CASES:
        with tempfile.TemporaryDirectory(prefix="crm-badinput-") as tmp:
            out.append((case, run_case(case, tmp)))
    return out


def markdown_table() -> str:
    """The README's "Bad input" table: kind of export, example, what it gets."""
    def cell(s: str) -> str:
        return s.replace("|", "\\|").replace("\n", " ")
    lines = ["| bad export | example | what it gets |", "|---|---|---|"]
    for case, outcome in outcomes():
        lines.append(f"| {cell(case.kind)} | {cell(case.example)} | {cell(outcome)} |")
    return "\n".join(lines)
