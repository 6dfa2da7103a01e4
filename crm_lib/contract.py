"""The canonical data contract: five tables keyed by ``customer_id``.

Every column is declared once here, as a :class:`Column` with a type, a
meaning and a rule. The pandera schemas used for validation, the README
table and the data-quality report are all generated from these
declarations, so they cannot drift apart.

The contract is plain data: pandera is imported only where a schema is
built (:func:`schema`, called by the cleaning step), so reading processed
tables does not pay pandera's import (which, in pandera 0.35, also imports
``pyspark.pandas`` whenever pyspark is installed).

Tables are files named ``<table>.csv``, ``<table>.parquet`` or
``<table>.xlsx`` in one folder. Optional columns may be absent; columns a
source adds beyond the contract are kept as attributes (customers) or
carried along untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

#: Churn-reason taxonomy (CRM_CONCEPTS.md section 6). ``unknown`` is for
#: churners whose reason was not recorded; active customers have no reason.
CHURN_REASONS: dict[str, dict[str, object]] = {
    "natural": {"type": "voluntary", "preventable": False,
                "meaning": "moved away, died, business closed"},
    "competitive": {"type": "voluntary", "preventable": True,
                    "meaning": "a competitor won on price or service"},
    "fault": {"type": "voluntary", "preventable": True,
              "meaning": "the firm's own mistakes (outage, error) caused dissatisfaction"},
    "lapsed": {"type": "involuntary", "preventable": True,
               "meaning": "non-malicious: forgot to renew or pay; prevented by reminders"},
    "retaliatory": {"type": "involuntary", "preventable": True,
                    "meaning": "dissatisfied with product or service, complaint not handled"},
    "malicious": {"type": "involuntary", "preventable": False,
                  "meaning": "bad credit or fraud; not worth retaining"},
    "unknown": {"type": "unknown", "preventable": None,
                "meaning": "churned, reason not recorded"},
}

#: Known synonyms of the taxonomy, applied ONLY when the source option
#: ``churn_reason_synonyms: true`` is set (or, for your own wording, through
#: ``value_map``). Keys are compared case-folded after trimming. Without the
#: option, a reason outside the taxonomy is read as ``unknown`` and its text is
#: kept in ``churn_reason_raw`` (counted in the quality report).
REASON_SYNONYMS: dict[str, str] = {
    "price": "competitive", "too expensive": "competitive", "competitor": "competitive",
    "better offer": "competitive", "switched provider": "competitive",
    "moved": "natural", "moved house": "natural", "relocated": "natural",
    "deceased": "natural", "died": "natural", "business closed": "natural",
    "outage": "fault", "billing error": "fault", "service error": "fault",
    "forgot to renew": "lapsed", "payment failed": "lapsed", "card expired": "lapsed",
    "non-payment": "lapsed",
    "complaint not handled": "retaliatory", "unresolved complaint": "retaliatory",
    "dissatisfied": "retaliatory",
    "fraud": "malicious", "bad credit": "malicious", "bad debt": "malicious",
}

#: End dates that mean "no end yet" in many CRM and billing systems: read as an
#: empty (open) end, the customer active, and counted in the quality report.
#: Override with the source option ``open_end_dates`` (a list of ISO dates; ``[]``
#: turns the rule off). Only columns declared ``open_end`` use it.
OPEN_END_DATES: tuple[str, ...] = ("9999-12-31", "2099-12-31", "1900-01-01")

#: Reasons excluded from retention targeting and ROI.
NOT_TARGETABLE = ("natural", "malicious")

TABLES = ("customers", "transactions", "survey_responses", "survey_codebook",
          "interactions", "campaigns")


@dataclass(frozen=True)
class Bound:
    """A value rule of a column, as pandera's built-in check of the same ``name``.

    ``name`` and ``statistics`` are pandera's (``greater_than_or_equal_to`` with
    ``min_value``; ``in_range`` with ``min_value``/``max_value``, both ends
    included); :meth:`to_pandera` builds the pandera check the schema runs.
    """

    name: str
    statistics: dict = field(default_factory=dict, hash=False, compare=True)

    @classmethod
    def ge(cls, min_value: float) -> Bound:
        return cls("greater_than_or_equal_to", {"min_value": min_value})

    @classmethod
    def in_range(cls, min_value: float, max_value: float) -> Bound:
        return cls("in_range", {"min_value": min_value, "max_value": max_value,
                                "include_min": True, "include_max": True})

    def to_pandera(self):
        """The pandera ``Check`` of this rule."""
        import pandera.pandas as pa
        st = self.statistics
        if self.name == "greater_than_or_equal_to":
            return pa.Check.ge(st["min_value"])
        if self.name == "in_range":
            return pa.Check.in_range(st["min_value"], st["max_value"],
                                     include_min=st["include_min"],
                                     include_max=st["include_max"])
        raise ValueError(f"unknown contract check {self.name!r}")


@dataclass(frozen=True)
class Column:
    """One contract column: name, logical type, meaning and rule."""

    name: str
    dtype: str  # str | date | datetime | bool | float | int | category
    meaning: str
    required: bool = False
    nullable: bool = True
    unique: bool = False
    rule: str = ""
    checks: tuple[Bound, ...] = ()
    isin: tuple | None = None
    open_end: bool = False  # an end date: sentinel "no end" dates mean empty (OPEN_END_DATES)


@dataclass(frozen=True)
class Table:
    """A contract table: its columns, key and whether extra columns are allowed."""

    name: str
    meaning: str
    columns: tuple[Column, ...]
    key: str | None = None
    item_columns: bool = False  # survey_responses: one extra column per codebook item
    extra: str = "kept"
    references: dict[str, str] = field(default_factory=dict)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no contract column {name!r}")


def _c(*args, **kw) -> Column:
    return Column(*args, **kw)


CUSTOMERS = Table(
    "customers", "one row per customer (relationship)",
    (
        _c("customer_id", "str", "customer key", required=True, nullable=False, unique=True,
           rule="unique, not empty"),
        _c("signup_date", "date", "start of the relationship", required=True, nullable=False,
           rule="a date, not after the as-of date"),
        _c("end_date", "date", "end of the relationship (contract end) if churned",
           rule="empty while active (also " + ", ".join(OPEN_END_DATES) + "); not before "
           "signup_date", open_end=True),
        _c("churned", "bool", "the relationship has ended", rule="true/false"),
        _c("churn_reason", "category", "why it ended, coded to the churn taxonomy",
           isin=tuple(CHURN_REASONS), rule="one of " + ", ".join(CHURN_REASONS)
           + "; other text is read as unknown"),
        _c("churn_reason_raw", "str", "the churn reason as written in the file (set by the "
           "cleaning; never a model feature)", rule="filled by the cleaning"),
        _c("plan", "str", "plan or segment"),
        _c("contract", "str", "contract type (e.g. month-to-month, one_year, two_year)"),
        _c("region", "str", "region"),
        _c("channel", "str", "acquisition channel (web, store, partner, referral...)"),
        _c("monthly_charges", "float", "monthly bill", checks=(Bound.ge(0),), rule=">= 0"),
        _c("n_products", "int", "number of products held", checks=(Bound.ge(0),),
           rule="integer >= 0"),
    ),
    key="customer_id", extra="kept as attributes (used as model features)",
)

TRANSACTIONS = Table(
    "transactions", "one row per purchase or bill",
    (
        _c("transaction_id", "str", "transaction key", required=True, nullable=False,
           unique=True, rule="unique, not empty"),
        _c("customer_id", "str", "who bought", required=True, nullable=False,
           rule="exists in customers (when customers are given)"),
        _c("date", "datetime", "when", required=True, nullable=False, rule="a timestamp"),
        _c("amount", "float", "amount; negative = refund", required=True, nullable=False,
           rule="a number; negative amounts are refunds, handled explicitly"),
        _c("product", "str", "product or category"),
        _c("channel", "str", "sales channel"),
    ),
    key="transaction_id", references={"customer_id": "customers"},
)

SURVEY_RESPONSES = Table(
    "survey_responses", "one row per completed questionnaire; one column per codebook item",
    (
        _c("response_id", "str", "response key", required=True, nullable=False, unique=True,
           rule="unique, not empty"),
        _c("customer_id", "str", "respondent (empty for anonymous responses)",
           rule="exists in customers when not empty"),
        _c("date", "date", "date answered", rule="a date"),
        _c("wave", "str", "survey wave label"),
        _c("nps", "int", "0-10 likelihood to recommend",
           checks=(Bound.in_range(0, 10),), rule="integer 0-10"),
    ),
    key="response_id", item_columns=True, references={"customer_id": "customers"},
    extra="item columns named in survey_codebook",
)

SURVEY_CODEBOOK = Table(
    "survey_codebook", "one row per survey item",
    (
        _c("item", "str", "column name in survey_responses", required=True, nullable=False,
           unique=True, rule="unique"),
        _c("construct", "str", "construct the item measures (image, expectations, quality, "
           "value, satisfaction, complaints, loyalty...)", required=True, nullable=False),
        _c("text", "str", "item wording"),
        _c("scale_min", "int", "lowest scale point", required=True, nullable=False),
        _c("scale_max", "int", "highest scale point", required=True, nullable=False,
           rule="> scale_min"),
        _c("reverse", "bool", "reverse-coded item", required=True, nullable=False),
    ),
    key="item",
)

INTERACTIONS = Table(
    "interactions", "complaints and service tickets",
    (
        _c("interaction_id", "str", "ticket key", required=True, nullable=False, unique=True,
           rule="unique, not empty"),
        _c("customer_id", "str", "who complained", required=True, nullable=False,
           rule="exists in customers"),
        _c("opened_at", "datetime", "when opened", required=True, nullable=False),
        _c("resolved_at", "datetime", "when resolved (empty if unresolved)",
           rule="not before opened_at; sentinel dates mean unresolved", open_end=True),
        _c("category", "str", "billing, network, service, device..."),
        _c("resolved", "bool", "the ticket was resolved"),
    ),
    key="interaction_id", references={"customer_id": "customers"},
)

CAMPAIGNS = Table(
    "campaigns", "retention offers; one row per customer and campaign",
    (
        _c("customer_id", "str", "targeted customer", required=True, nullable=False,
           rule="exists in customers"),
        _c("campaign_id", "str", "campaign key", required=True, nullable=False),
        _c("date", "date", "campaign date", required=True, nullable=False),
        _c("treated", "bool", "randomised treatment flag", required=True, nullable=False),
        _c("offer_cost", "float", "cost of the offer if accepted", checks=(Bound.ge(0),),
           rule=">= 0"),
        _c("accepted", "bool", "the customer accepted the offer"),
        _c("churned_after", "bool", "churned within the campaign horizon", required=True),
    ),
    references={"customer_id": "customers"},
)

CONTRACT: dict[str, Table] = {t.name: t for t in (
    CUSTOMERS, TRANSACTIONS, SURVEY_RESPONSES, SURVEY_CODEBOOK, INTERACTIONS, CAMPAIGNS)}

_PANDERA_DTYPES = {
    "str": "string",
    "category": "string",
    "date": "datetime64[ns]",
    "datetime": "datetime64[ns]",
    "bool": "boolean",
    "float": "Float64",
    "int": "Int64",
}


def pandas_dtype(col: Column) -> str:
    """The pandas dtype a contract column is coerced to (nullable dtypes)."""
    return _PANDERA_DTYPES[col.dtype]


def schema(table: str, items: list[str] | None = None):
    """Pandera schema of a contract table.

    Optional columns are ``required=False``; extra columns are allowed
    (``strict=False``). For ``survey_responses`` pass the codebook items to
    add one float column per item. Returns a ``pandera.DataFrameSchema``.
    """
    import pandera.pandas as pa

    t = CONTRACT[table]
    cols: dict[str, pa.Column] = {}
    for c in t.columns:
        checks = [b.to_pandera() for b in c.checks]
        if c.isin is not None:
            checks.append(pa.Check.isin(list(c.isin)))
        cols[c.name] = pa.Column(
            pandas_dtype(c), checks=checks, nullable=c.nullable, unique=c.unique,
            required=c.required, coerce=True, description=c.meaning,
        )
    for item in items or []:
        cols[item] = pa.Column("Float64", nullable=True, coerce=True, required=True,
                               description=f"survey item {item}")
    return pa.DataFrameSchema(cols, name=table, strict=False, coerce=True)


def markdown_table() -> str:
    """The contract as Markdown (the README's data-contract section is generated from it)."""
    lines = []
    for t in CONTRACT.values():
        lines.append(f"**{t.name}** ({t.meaning}; extra columns {t.extra})\n")
        lines.append("| column | type | required | meaning | rule |")
        lines.append("|---|---|---|---|---|")
        for c in t.columns:
            lines.append(f"| `{c.name}` | {c.dtype} | {'yes' if c.required else 'no'} "
                         f"| {c.meaning} | {c.rule} |")
        lines.append("")
    return "\n".join(lines)


def empty_frame(table: str) -> pd.DataFrame:
    """An empty frame with the contract columns and dtypes of ``table``."""
    t = CONTRACT[table]
    return pd.DataFrame({c.name: pd.Series(dtype=pandas_dtype(c)) for c in t.columns})
