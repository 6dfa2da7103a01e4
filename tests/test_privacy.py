"""Privacy: one run-level secret salt; personal columns never analysed or published.

Pseudonyms are HMAC-SHA256 (RFC 2104, checked independently with ``hmac``).
Issue 11, case 9: notebook 01's messy lab showed real rows (e-mails included)
and copied 400 real customers into the run folder; scores and targets used
different salts (04 salted with the public seed), so they did not join.
"""

import hashlib
import hmac
import json
import os
import stat

import numpy as np
import pandas as pd
import pytest

from crm_lib import cleaning, privacy
from crm_lib.churn import scoring
from crm_lib.roi import budget, pipeline


def test_pseudonyms_are_stable_salted_and_hide_the_id():
    a = privacy.pseudonymise(["C000001", "C000002"], "salt")
    assert a.tolist() == privacy.pseudonymise(["C000001", "C000002"], "salt").tolist()
    assert a.iloc[0] != a.iloc[1]
    assert a.iloc[0] != privacy.pseudonymise(["C000001"], "other").iloc[0]
    expected = "P-" + hmac.new(b"salt", b"C000001", hashlib.sha256).hexdigest()[:16]
    assert a.iloc[0] == expected and "C000001" not in a.iloc[0]


def test_identifiers_in_equals_one_substring_test_per_id():
    """The one-scan-per-shape search finds what ``i in text`` finds for every id:
    overlapping, embedded and adjacent ids, several shapes, punctuation in ids."""
    rng = np.random.default_rng(3)
    ids = [f"C{n:06d}" for n in rng.integers(0, 3000, 300)] + ["A-12", "x.y", "007", "Z9"]
    alphabet = list("C0123456789 -.,xyzAZ9")
    for _ in range(40):
        pieces = list(rng.choice(alphabet, 400)) + list(rng.choice(ids, 5))
        rng.shuffle(pieces)
        text = "".join(pieces) + "C000" + ids[0][4:] + ids[1]  # one split, one whole
        assert privacy.identifiers_in(text, ids) == {i for i in set(ids) if i in text}
        assert privacy.identifiers_in(text, ids, max_shapes=1) == {i for i in ids if i in text}
    assert privacy.identifiers_in("C000123C000124", ["C000123", "000123C", "C000124"]) == {
        "C000123", "000123C", "C000124"}  # overlapping occurrences
    assert privacy.identifiers_in("no ids here", ["C000001"]) == set()


def test_churn_and_roi_share_one_implementation():
    assert scoring.pseudonymise is privacy.pseudonymise
    assert budget.pseudonymise is privacy.pseudonymise


def test_one_run_salt_parameter_then_environment_then_project_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_HOME", str(tmp_path))
    monkeypatch.delenv(privacy.SALT_ENV, raising=False)
    secret = privacy.run_salt()
    path = tmp_path / "data" / privacy.SALT_FILE
    assert path.read_text().strip() == secret and len(secret) == 64
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert privacy.run_salt() == secret  # generated once per project home
    assert secret not in ("42", "7", "crm", "crm-roi")
    monkeypatch.setenv(privacy.SALT_ENV, "from-env")
    assert privacy.run_salt() == "from-env"
    assert privacy.run_salt("from-parameter") == "from-parameter"
    monkeypatch.delenv(privacy.SALT_ENV)
    # no salt given: every caller uses the same secret, never the seed
    ids = ["C1", "C2"]
    assert privacy.pseudonymise(ids).tolist() == privacy.pseudonymise(ids, secret).tolist()


def test_scores_and_targets_share_pseudonyms_and_targets_keep_customer_id(tmp_path,
                                                                         monkeypatch):
    monkeypatch.setenv("CRM_HOME", str(tmp_path))
    monkeypatch.delenv(privacy.SALT_ENV, raising=False)
    scores = pd.DataFrame({"customer_id": ["C1", "C2", "C3"],
                           "churn_probability": [0.9, 0.5, 0.1]})
    shown = scoring.display_scores(scores, n=3)  # notebook 04's call
    plan = pd.DataFrame({"customer_id": ["C1", "C3"], "selected": [True, True],
                         "rank": [1, 2], "expected_incremental_profit": [10.0, 5.0],
                         "reason": ["competitive", "fault"], "email": ["a@b.com", "c@d.org"]})
    displayed = pipeline.write_targets(plan, tmp_path, salt="")  # notebook 05's call
    assert set(displayed["customer"]) <= set(shown["customer (pseudonym)"])
    assert "customer_id" not in displayed  # what the HTML shows
    written = pd.read_csv(tmp_path / "targets.csv")
    assert written["customer_id"].tolist() == ["C1", "C3"]  # what a marketer acts on
    assert privacy.personal_columns(written) == {}


def test_personal_columns_by_name_and_content():
    f = pd.DataFrame({
        "Customer ID": ["C1", "C2", "C3"], "E-mail": ["a@b.com", "c@d.org", "e@f.de"],
        "contact": ["+49 30 1234567", "(555) 123-4567", "555-123-4567"],
        "name": ["Ann Lee", "Bo Li", "Cy Zed"], "product_name": ["a", "b", "c"],
        "notes": ["lives at 12 Baker Street", "", "ok"], "phone_service": ["Yes", "No", "Yes"],
        "signup": ["2024-01-01", "2024-01-02", "2024-02-03"], "amount": ["1,500", "12.5", "3"]})
    assert privacy.personal_columns(f) == {
        "E-mail": "column name", "contact": "content (phone)", "name": "column name",
        "notes": "content (address)"}
    shown = privacy.redact(f)
    assert shown["Customer ID"].str.startswith("P-").all()
    assert (shown["E-mail"] == "(hidden)").all() and shown["amount"].tolist() == f["amount"].tolist()


def test_cleaning_sets_personal_columns_aside(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "customers.csv").write_text(
        "customer_id,signup_date,Full Name,email,mobile,plan,phone_service\n"
        "C1,2024-01-01,Ann Lee,ann@example.com,+44 20 7946 0018,basic,yes\n"
        "C2,2024-01-02,Bo Li,bo@example.com,+44 20 7946 0019,basic,no\n"
        "C3,2024-01-03,Cy Zed,cy@example.com,+44 20 7946 0020,premium,yes\n")
    rep = cleaning.clean_folder(raw, tmp_path / "out", tmp_path / "q", tables=("customers",),
                                as_of="2026-06-30")
    c = pd.read_parquet(tmp_path / "out" / "customers.parquet")
    assert {"Full Name", "email", "mobile"}.isdisjoint(c.columns)
    assert "phone_service" in c.columns and len(c) == 3
    assert set(rep["tables"]["customers"]["personal_columns_set_aside"]) == {
        "Full Name", "email", "mobile"}
    assert "ann@example.com" not in json.dumps(rep)


def _personal_export(folder, n=12):
    """A tiny export (fewer than 25 rows, every customer churned) with personal columns."""
    rng = np.random.default_rng(1)
    ids = [f"REAL{i:05d}" for i in range(n)]
    signup = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D")
    pd.DataFrame({
        "customer_id": ids, "signup_date": signup.strftime("%Y-%m-%d"),
        "end_date": (signup + pd.Timedelta(days=200)).strftime("%Y-%m-%d"), "churned": "yes",
        "email": [f"person{i}@realmail.example" for i in range(n)],
        "phone": [f"+1 555 010 {i:04d}" for i in range(n)],
        "monthly_charges": [f"{v:.2f}" for v in rng.gamma(3, 10, n)],
        "plan": " basic"}).to_csv(folder / "customers.csv", index=False)
    return ids


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_notebook_01_on_real_rows_publishes_no_ids_or_personal_data(tmp_path, crm_home):
    """Also the degenerate case of issue 11 (10): fewer than 25 rows, all churned; the
    messy lab breaks demo rows, so it runs whatever the user's data."""
    from crm_lib import runner
    folder = tmp_path / "mine"
    folder.mkdir()
    ids = _personal_export(folder)
    code, run_dir = runner.run(source="folder", notebooks="01", out=str(tmp_path / "reports"),
                               overrides={"data_dir": str(folder)}, quiet=True)
    assert code == 0, run_dir
    published = "".join(p.read_text(errors="ignore") for p in run_dir.rglob("*")
                        if p.is_file() and p.suffix in (".html", ".ipynb", ".json", ".csv",
                                                        ".md", ".txt"))
    assert "01_data_cleaning" in published
    for secret in (ids[0], ids[-1], "realmail.example", "+1 555 010"):
        assert secret not in published, secret
    # the lab broke demo rows, not these customers
    lab_raw = run_dir / "messy_lab" / "raw" / "customers.csv"
    if lab_raw.exists():
        assert "REAL0" not in lab_raw.read_text(encoding="utf-8-sig")


def test_published_reports_show_pseudonyms_of_one_salt_and_no_raw_ids(demo_run):
    run_dir = demo_run["run_dir"]
    scores = pd.read_parquet(run_dir / "scores.parquet")
    targets = pd.read_csv(run_dir / "targets.csv", dtype=str)
    ids = set(scores["customer_id"]) | set(targets["customer_id"])
    salt = privacy.run_salt()  # the project secret of this home, never the seed
    assert targets["customer"].tolist() == privacy.pseudonymise(targets["customer_id"],
                                                                salt).tolist()
    html04 = (run_dir / "04_churn_modeling.html").read_text()
    top = scores.sort_values("churn_probability", ascending=False).head(10)
    assert all(p in html04 for p in privacy.pseudonymise(top["customer_id"], salt))
    for p in sorted(run_dir.glob("*.html")) + sorted(run_dir.glob("*.ipynb")):
        text = p.read_text(errors="ignore")
        leaked = sorted(privacy.identifiers_in(text, ids))
        assert not leaked, (p.name, leaked[:3])
