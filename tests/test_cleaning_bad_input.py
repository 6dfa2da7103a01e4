"""The README's "Bad input" table is what the code does today (each case is run)."""

from __future__ import annotations

from pathlib import Path

from crm_lib.cleaning import badinput

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_bad_input_table_matches_every_case_run_now():
    table = badinput.markdown_table()
    readme = README.read_text(encoding="utf-8")
    assert "## Bad input" in readme
    assert table in readme, ("README 'Bad input' table is stale: paste "
                             "crm_lib.cleaning.badinput.markdown_table()")
    rows = {line.split(" | ")[0].lstrip("| "): line for line in table.splitlines()[2:]}
    assert len(rows) == len(badinput.CASES) >= 20
    # the cases, read right or stopped with the option that resolves them
    assert rows["decimal commas in a `;` file"].endswith("reads: 0.125, 1.5 |")
    assert 'decimal: ","' in rows["numbers no value decides"]
    assert "dayfirst" in rows["day-first and month-first in one column"]
    assert "reads: empty, 2025-01-31" in rows["'no end' dates"]
    assert "churn_reason_raw price, Competitor" in rows["churn reasons outside the taxonomy"]
    assert "read as Parquet" in rows["a Parquet file named .csv"]
    assert "as_of 2024-12-31" in rows["an export ending years ago"]
    assert all(("reads: " in r) != ("stops: " in r) for r in rows.values())
