"""Privacy: pseudonyms under one run-level secret salt, and personal columns kept out.

Pseudonyms. Reports (HTML, executed notebooks) never show raw customer ids:
they show ``"P-"`` + the first 16 hex digits of HMAC-SHA256(salt, id)
(RFC 2104). There is ONE salt per run, the same for every notebook, so churn
scores and retention targets share pseudonyms and join. :func:`run_salt`
takes it from, in order: an explicit ``pseudonym_salt`` parameter, the
environment variable ``CRM_PSEUDONYM_SALT``, or a secret generated once per
project home and stored in ``data/.pseudonym_salt`` (mode 600; never in a
report, never derived from the public seed). The data owner, who holds the
salt, can map a list back to customers by recomputing pseudonyms.

Personal columns. E-mail addresses, phone numbers, names and postal
addresses are detected by column name and by content
(:func:`personal_columns`). The cleaning sets them aside (they are never
features, never in processed tables, so never in scores or targets), and
:func:`redact` hides them and pseudonymises id columns in any frame a
notebook displays. Operational outputs (``scores.parquet``, ``targets.csv``)
keep the real ``customer_id`` a marketer needs to act on;
:func:`operational` checks they carry no personal column.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets

import pandas as pd

#: Environment variable holding the run-level pseudonym salt.
SALT_ENV = "CRM_PSEUDONYM_SALT"
SALT_FILE = ".pseudonym_salt"

#: Column-name tokens that mark a personal column (after snake-casing the header).
PERSONAL_NAME_TOKENS = frozenset({
    "email", "e_mail", "mail", "phone", "telephone", "tel", "mobile", "cell", "fax",
    "address", "street", "addr", "surname", "firstname", "lastname", "fullname",
    "forename", "ssn", "passport", "iban", "birthday", "dob", "姓名", "电话", "手机", "邮箱",
    "地址",
})
#: ``name`` is personal alone or with these qualifiers (``product_name`` is not).
NAME_QUALIFIERS = frozenset({"first", "last", "full", "given", "family", "middle", "customer",
                             "contact", "person", "client", "user", "account", "holder", "sur"})
#: Content patterns (any match in a sample of values marks the column).
CONTENT_PATTERNS = {
    "email": r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}",
    "phone": r"^(?:\+|00)\d[\d\s().-]{6,}\d$|^\(?\d{2,4}\)?[\s.-]\d{3,4}[\s.-]\d{3,4}$",
    "address": r"(?i)\b\d+[a-z]?\s+(?:[a-z.'-]+\s+){0,4}(?:street|st|road|rd|avenue|ave|lane|"
               r"ln|boulevard|blvd|drive|dr|way|place|pl|straße|strasse|weg|rue)\b",
}
#: Columns holding identifiers: shown only as pseudonyms.
ID_PATTERN = re.compile(r"(?:^|_)id$")


def _project_salt_file():
    from . import config
    return config.paths().data / SALT_FILE


def run_salt(salt: str | None = None) -> str:
    """The run-level pseudonym salt: ``salt`` if given (the ``pseudonym_salt``
    parameter), else ``$CRM_PSEUDONYM_SALT``, else the project's stored secret
    (generated on first use with :func:`secrets.token_hex`)."""
    if salt:
        return str(salt)
    env = os.environ.get(SALT_ENV, "")
    if env:
        return env
    path = _project_salt_file()
    try:
        value = path.read_text().strip()
        if value:
            return value
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    try:  # first writer wins when two processes race
        os.link(tmp, path)
    except FileExistsError:
        value = path.read_text().strip()
    finally:
        tmp.unlink(missing_ok=True)
    return value


def pseudonymise(ids, salt: str | None = None) -> pd.Series:
    """Stable pseudonyms ``P-<16 hex>`` of ``ids`` under ``salt`` (HMAC-SHA256, RFC 2104);
    ``salt=None`` uses the run salt (:func:`run_salt`)."""
    key = run_salt(salt).encode()
    s = pd.Series(ids).astype(str)
    return s.map(lambda x: "P-" + hmac.new(key, x.encode(), hashlib.sha256).hexdigest()[:16])


def _snake(name) -> str:
    return re.sub(r"[^0-9a-z\u4e00-\u9fff]+", "_", str(name).strip().casefold()).strip("_")


def personal_by_name(column) -> bool:
    """Whether a column name marks personal data (``email``, ``Phone No``, ``name``...)."""
    sn = _snake(column)
    tokens = set(sn.split("_"))
    if tokens & PERSONAL_NAME_TOKENS or sn.replace("_", "") in PERSONAL_NAME_TOKENS:
        return True
    if "name" in tokens:
        return tokens - {"name"} <= NAME_QUALIFIERS
    return any(t in sn for t in ("姓名", "电话", "手机", "邮箱", "地址"))


def personal_by_content(values: pd.Series, sample: int = 2000) -> str:
    """The kind of personal data (``"email"``, ``"phone"``, ``"address"``) the values of a
    text column show, ``""`` when none (checks up to ``sample`` non-empty values)."""
    if not (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
        return ""
    v = values.dropna()
    v = v[v.map(lambda x: isinstance(x, str))]
    if len(v) > sample:
        v = pd.concat([v.iloc[:sample // 2], v.sample(sample // 2, random_state=0)])
    v = v.astype(str).str.strip()
    for kind, pat in CONTENT_PATTERNS.items():
        if v.str.contains(pat, regex=True).any():
            return kind
    return ""


def _categorical(values: pd.Series) -> bool:
    """A flag or a small set of categories (``phone_service`` yes/no), not identifying."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return True
    v = values.dropna()
    return v.nunique() <= max(2, 0.05 * len(v))


def personal_columns(frame: pd.DataFrame, *, extra: tuple | list = (),
                     not_personal: tuple | list = ()) -> dict[str, str]:
    """Personal columns of ``frame``: ``{column: why}``. A column is personal when its
    values look like e-mails, phone numbers or postal addresses, or when its name
    says so (:func:`personal_by_name`) and its values are not a flag or a small set
    of categories (``phone_service: yes/no`` is a feature, not a phone number)."""
    out: dict[str, str] = {}
    skip = {str(c) for c in not_personal}
    for c in frame.columns:
        if str(c) in skip:
            continue
        if str(c) in {str(e) for e in extra} or (personal_by_name(c)
                                                 and not _categorical(frame[c])):
            out[str(c)] = "column name"
            continue
        kind = personal_by_content(frame[c])
        if kind:
            out[str(c)] = f"content ({kind})"
    return out


def is_id_column(column) -> bool:
    """Identifier columns (``customer_id``, ``Customer ID``, ``client_id``, ``id``)."""
    return bool(ID_PATTERN.search(_snake(column)))


def redact(frame: pd.DataFrame, salt: str | None = None) -> pd.DataFrame:
    """A copy of ``frame`` safe to display: personal columns and raw CSV lines
    replaced by ``"(hidden)"``, id columns pseudonymised (run salt)."""
    out = frame.copy()
    for c in personal_columns(out):
        out[c] = "(hidden)"
    for c in out.columns:
        if str(c) in ("raw_line",):
            out[c] = out[c].map(lambda v: "(hidden)" if isinstance(v, str) and v else v)
        elif is_id_column(c):
            present = out[c].notna() & (out[c].astype(str) != "")
            out[c] = out[c].astype(object)
            out.loc[present, c] = pseudonymise(out.loc[present, c], salt).to_numpy()
    return out


def operational(frame: pd.DataFrame, *, id_column: str = "customer_id") -> pd.DataFrame:
    """An operational output (scores, targets) as written: keeps ``id_column``, drops any
    personal column (by name or content) and returns the frame."""
    drop = [c for c in personal_columns(frame.drop(columns=[id_column], errors="ignore"))]
    return frame.drop(columns=drop)


def _shape(identifier: str) -> str:
    """A regular expression matching every string of ``identifier``'s length and character
    classes (digits as ``\\d``, ASCII letters as ``[A-Za-z]``, anything else literally)."""
    return "".join(r"\d" if ch.isascii() and ch.isdigit() else
                   "[A-Za-z]" if ch.isascii() and ch.isalpha() else re.escape(ch)
                   for ch in identifier)


def identifiers_in(text: str, ids, *, max_shapes: int = 50) -> set[str]:
    """The identifiers of ``ids`` that occur anywhere in ``text`` (as substrings).

    Exact, and as strict as testing ``i in text`` for every id, in one scan per id
    shape instead of one per id: the ids are grouped by shape (length and character
    classes, see :func:`_shape`); every position of ``text`` where a string of that
    shape starts is read with an overlapping look-ahead, and the strings found are
    intersected with the ids. Above ``max_shapes`` distinct shapes it falls back to
    one substring test per id. Used to check that a report shows no raw id.
    """
    ids = {str(i) for i in ids if str(i)}
    shapes: dict[str, set[str]] = {}
    for i in ids:
        shapes.setdefault(_shape(i), set()).add(i)
    if len(shapes) > max_shapes:
        return {i for i in ids if i in text}
    found: set[str] = set()
    for shape, members in shapes.items():
        found |= members.intersection(re.findall(f"(?=({shape}))", text))
    return found
