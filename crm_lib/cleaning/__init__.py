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

The names load with their module on first use (:mod:`crm_lib._face`): reading
a processed table's cache stamp needs ``cleaning.VERSION`` only, not pandera
and the cleaning steps.
"""

from .._face import lazy_face

__getattr__, __dir__, __all__ = lazy_face(__name__, {
    "messy": None,
    "DataContractError": "errors",
    **dict.fromkeys(("CATEGORY_COLUMNS", "OPTIONS", "Context", "TableResult", "clean_folder",
                     "clean_table", "latest_recorded_date"), "pipeline"),
    **dict.fromkeys(("RawTable", "detect_encoding", "read_table"), "reading"),
    **dict.fromkeys(("VERSION", "columns_frame", "conservation_metrics", "dtypes_frame",
                     "metrics", "missingness_frame", "outlier_column", "outliers_frame",
                     "quality_table", "read_quarantine", "reasons_frame", "repairs_frame",
                     "summary_frame"), "report"),
})
