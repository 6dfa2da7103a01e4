"""Cleaning: raw tables in, validated processed tables out, nothing lost silently.

``clean_folder(raw_dir, out_dir, quarantine_dir, tables=..., as_of=..., **options)``
reads each ``<table>.csv|.parquet|.xlsx``, repairs types with an explicit log,
drops exact duplicates (counted), quarantines rows that break the contract
(with their original values and a reason), flags outliers, writes
``<table>.parquet`` and returns a JSON-able data-quality report. Fatal
problems raise :class:`DataContractError`.

Modules: :mod:`.reading` (files, encodings, headers), :mod:`.repairs` (types),
:mod:`.validation` (rules and reasons), :mod:`.outliers` (flags),
:mod:`.pipeline` (the steps), :mod:`.report` (report, notebook tables, metrics),
:mod:`.messy` (a deliberately messy copy of a dataset, for teaching and tests).
"""

from . import messy
from .errors import DataContractError
from .pipeline import (
    CATEGORY_COLUMNS,
    OPTIONS,
    Context,
    TableResult,
    clean_folder,
    clean_table,
    latest_recorded_date,
)
from .reading import RawTable, detect_encoding, read_table
from .report import (
    VERSION,
    columns_frame,
    conservation_metrics,
    dtypes_frame,
    metrics,
    missingness_frame,
    outlier_column,
    outliers_frame,
    quality_table,
    read_quarantine,
    reasons_frame,
    repairs_frame,
    summary_frame,
)

__all__ = [
    "CATEGORY_COLUMNS", "OPTIONS", "VERSION", "Context", "DataContractError", "RawTable", "TableResult",
    "clean_folder", "clean_table", "columns_frame", "conservation_metrics", "detect_encoding",
    "dtypes_frame", "latest_recorded_date", "messy", "metrics",
    "missingness_frame", "outlier_column", "outliers_frame", "quality_table", "read_quarantine",
    "read_table", "reasons_frame", "repairs_frame",
    "summary_frame",
]
