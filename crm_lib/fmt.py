"""One formatting helper for numbers in text and tables.

Every number a reader sees goes through here: thousands separators, shares as
percentages, differences of shares in percentage points, money with the run's
currency, p-values as "< 0.001", rates with their period, and never scientific
notation for money or counts (``1.671423e+04`` becomes ``16,714``).

- :func:`value` formats a number by format name (the formats of the metric
  registry: percent, pp, currency, count, ratio, pvalue, rate, number, text, flag);
- :func:`metric` formats a recorded metric by its registry declaration (label,
  format, interval, time frame);
- :func:`table` turns a DataFrame (or Series) into a frame of display strings
  with one format per column, so notebooks show tables without ``dtype:`` lines
  or float noise.

The currency is a setting: :func:`set_currency` (or the ``CRM_CURRENCY``
environment variable) takes a symbol (``$``, ``€``) or an ISO code (``EUR``);
empty means plain numbers in currency units.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

_SYMBOLS = {"$", "€", "£", "¥", "₹", "₩", "¢"}
_settings = {"currency": os.environ.get("CRM_CURRENCY", "")}

#: Scientific notation in running text (what :func:`scientific_notation` finds); not inside
#: a token such as the pseudonym ``P-76551e9218442610`` (hex digits that read like a number).
SCIENTIFIC = re.compile(r"(?<![\w.-])[-+]?\d+(?:\.\d+)?[eE][-+]?\d+(?![\w.])")


def set_currency(currency: str) -> None:
    """Set the currency shown with money: a symbol (``$``) or an ISO code (``EUR``)."""
    _settings["currency"] = str(currency or "")


def get_currency() -> str:
    """The currency shown with money ('' means plain currency units)."""
    return _settings["currency"]


def _num(v: object) -> float | None:
    if v is None or isinstance(v, (str, bool, np.bool_)):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _fixed(x: float, decimals: int, sign: bool = False) -> str:
    s = f"{x:{'+' if sign else ''},.{decimals}f}"
    if float(s.replace(",", "")) == 0:  # no "-0.0"
        s = s.replace("-", "+" if sign else "")
    return s


def auto_decimals(x: float, significant: int = 3) -> int:
    """Decimals that show ``significant`` digits of ``x`` without scientific notation."""
    a = abs(x)
    if a == 0 or a >= 10 ** (significant - 1):
        return 0
    return min(12, significant - 1 - math.floor(math.log10(a)))


def number(v: object, decimals: int | None = None, unit: str = "", sign: bool = False) -> str:
    """A plain number with thousands separators (3 significant digits by default)."""
    x = _num(v)
    if x is None:
        return _missing(v)
    d = auto_decimals(x) if decimals is None else decimals
    out = _fixed(x, d, sign)
    return f"{out} {unit}" if unit else out


def count(v: object) -> str:
    """A count: whole number with thousands separators ("12,345")."""
    x = _num(v)
    return _missing(v) if x is None else _fixed(round(x), 0)


def percent(v: object, decimals: int = 1, sign: bool = False) -> str:
    """A share as a percentage: 0.2695 -> "27.0%"."""
    x = _num(v)
    if x is None:
        return _missing(v)
    return _fixed(100 * x, decimals, sign) + "%"


def pp(v: object, decimals: int = 2) -> str:
    """A difference of shares in percentage points: -0.016 -> "-1.60 pp"."""
    x = _num(v)
    return _missing(v) if x is None else _fixed(100 * x, decimals, sign=True) + " pp"


def currency(v: object, decimals: int = 0, currency: str | None = None,
             sign: bool = False) -> str:
    """Money with thousands separators and the currency: "$16,714" or "16,714 EUR"."""
    x = _num(v)
    if x is None:
        return _missing(v)
    cur = get_currency() if currency is None else currency
    body = _fixed(abs(x), decimals)
    neg = "-" if x < 0 and body.strip("0.,") else ("+" if sign else "")
    if not cur:
        return f"{neg}{body}"
    if cur in _SYMBOLS:
        return f"{neg}{cur}{body}"
    return f"{neg}{body} {cur}"


def ratio(v: object, decimals: int = 3) -> str:
    """A plain ratio (AUC, hazard ratio, loading): fixed decimals, no exponent."""
    x = _num(v)
    if x is None:
        return _missing(v)
    if abs(x) >= 1000:
        return _fixed(x, 0)
    return _fixed(x, decimals)


def pvalue(p: object, floor: float = 0.001) -> str:
    """A p-value: "< 0.001" below ``floor`` (also for a computed 0), else 3 decimals."""
    x = _num(p)
    if x is None:
        return _missing(p)
    if x < floor:
        return f"< {floor:g}"
    return f"{x:.3f}" if x < 0.995 else f"{x:.2f}"


def rate(v: object, period: str = "month", decimals: int = 2) -> str:
    """A share per period: 0.0139 -> "1.39% a month"."""
    x = _num(v)
    return _missing(v) if x is None else f"{_fixed(100 * x, decimals)}% a {period}"


def flag(v: object) -> str:
    if v is None:
        return "n/a"
    return "yes" if bool(v) else "no"


def _missing(v: object) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_)):
        return flag(v)
    return "n/a"


def value(v: object, format: str = "number", *, decimals: int | None = None, unit: str = "",
          period: str = "", currency_: str | None = None) -> str:
    """Format ``v`` by format name (the registry's formats)."""
    if format == "text":
        return "n/a" if v is None else str(v)
    if format == "flag":
        return flag(v)
    if format == "percent":
        return percent(v, 1 if decimals is None else decimals)
    if format == "pp":
        out = pp(v, 2 if decimals is None else decimals)
        return f"{out} {unit}" if unit and out != "n/a" else out
    if format == "currency":
        return currency(v, 0 if decimals is None else decimals, currency_)
    if format == "count":
        return count(v)
    if format == "ratio":
        out = ratio(v, 3 if decimals is None else decimals)
        return f"{out}{unit}" if unit.startswith("x") and out != "n/a" else out
    if format == "pvalue":
        return pvalue(v)
    if format == "rate":
        return rate(v, period or "month", 2 if decimals is None else decimals)
    if format == "number":
        return number(v, decimals, unit)
    raise ValueError(f"unknown format {format!r}")


def frame_text(frame: str, metrics: Mapping[str, object] | None = None) -> str:
    """A registry time frame with ``{metric.key}`` placeholders filled from ``metrics``."""
    def fill(m: re.Match) -> str:
        key = m.group(1)
        if metrics and key in metrics:
            from . import registry
            d = registry.lookup(key)
            v = metrics[key]
            if d is not None and d.format == "number" and _num(v) is not None:
                return number(v, d.decimals if d.decimals is not None else 0)
            return value(v, d.format if d else "number")
        return "?"
    return re.sub(r"\{([A-Za-z0-9_.]+)\}", fill, frame)


def metric(key: str, v: object, metrics: Mapping[str, object] | None = None, *,
           interval: bool = True, frame: bool = False, label: bool = False) -> str:
    """A recorded metric formatted by its registry declaration.

    With ``metrics`` (the run's metrics.json) and a declared interval, the
    interval follows ("-11.7 points (95% interval -15.9 to -7.6)"); ``frame``
    appends the time frame, ``label`` prefixes the label.
    """
    from . import registry

    d = registry.get(key)
    out = value(v, d.format, decimals=d.decimals, unit=d.unit, period=d.period)
    if interval and d.interval and metrics is not None:
        lo, hi = (metrics.get(k) for k in d.interval)
        if _num(lo) is not None and _num(hi) is not None:
            f = lambda x: value(x, d.format, decimals=d.decimals, period=d.period)  # noqa: E731
            out += f" (95% interval {f(lo)} to {f(hi)})"
    if frame and d.frame:
        out += f", {frame_text(d.frame, metrics)}"
    return f"{d.label}: {out}" if label else out


Formatter = str | Callable[[object], str]


def _column_formatter(spec: Formatter | None, s: pd.Series) -> Callable[[object], str]:
    if callable(spec):
        return spec
    if spec is None:
        if pd.api.types.is_bool_dtype(s):
            return flag
        if pd.api.types.is_integer_dtype(s):
            return count
        if pd.api.types.is_float_dtype(s):
            x = pd.to_numeric(s, errors="coerce").abs()
            x = x[np.isfinite(x) & (x > 0)]
            d = auto_decimals(float(x.median())) if len(x) else 0
            return lambda v: number(v, d)
        return lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
    name, _, arg = str(spec).partition(":")
    if name == "pvalue":
        return pvalue
    if name in ("rate",):
        return lambda v: rate(v, arg or "month")
    dec = int(arg) if arg else None
    if name == "number" and dec is None:
        return _column_formatter(None, s.astype(float))
    return lambda v: value(v, name, decimals=dec)


def table(data: pd.DataFrame | pd.Series, formats: Mapping[str, Formatter] | None = None, *,
          index: bool = True, styled: bool = False, rename: Mapping[str, str] | None = None):
    """A table for display: every cell a formatted string, one format per column.

    ``formats`` maps a column to a format name (``percent``, ``currency``,
    ``count``, ``ratio``, ``pvalue``, ``pp``, ``rate:year``; ``name:2`` sets the
    decimals) or a callable; unlisted numeric columns get thousands separators
    and three significant digits. A Series becomes a one-column frame (so no
    ``dtype:`` line is shown). With ``styled`` a pandas Styler right-aligns
    the numbers; otherwise a plain DataFrame of strings is returned.
    """
    df = data.to_frame() if isinstance(data, pd.Series) else data.copy()
    formats = dict(formats or {})
    out = pd.DataFrame(index=df.index)
    for col in df.columns:
        f = _column_formatter(formats.get(col), df[col])
        out[col] = [f(v) for v in df[col].tolist()]
    if isinstance(out.index, pd.MultiIndex) is False and pd.api.types.is_float_dtype(out.index):
        out.index = [number(v) for v in out.index]
    if rename:
        out = out.rename(columns=dict(rename))
    if not index:
        out = out.reset_index(drop=True)
        out.index = [""] * len(out)
    if styled:
        sty = out.style.set_properties(**{"text-align": "right"})
        return sty.hide(axis="index") if not index else sty
    return out


def scientific_notation(text: str) -> list[str]:
    """Numbers written in scientific notation in ``text`` (for output checks)."""
    return SCIENTIFIC.findall(text)
