"""scripts/install.py, the installer behind ``make venv``: uv when it can, else pip.

Both installers run for real, in ``--dry-run`` mode, on a throwaway venv and a
tiny wheel built here (``--no-index``: nothing is downloaded, nothing installed).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "install.py"
spec = importlib.util.spec_from_file_location("install_script", SCRIPT)
install = importlib.util.module_from_spec(spec)
spec.loader.exec_module(install)


def _uv() -> str | None:
    here = Path(sys.executable).parent / "uv"
    return str(here) if here.exists() else shutil.which("uv")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A venv with pip (no packages) and a folder holding the wheel ``tinypkg-0.1``."""
    root = tmp_path_factory.mktemp("install")
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)
    wheels = root / "wheels"
    wheels.mkdir()
    info = "tinypkg-0.1.dist-info"
    files = {"tinypkg/__init__.py": "",
             f"{info}/METADATA": "Metadata-Version: 2.1\nName: tinypkg\nVersion: 0.1\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                              "Tag: py3-none-any\n"}
    files[f"{info}/RECORD"] = "".join(f"{k},,\n" for k in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(wheels / "tinypkg-0.1-py3-none-any.whl", "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return root


def _run(sandbox: Path, installer: str, path_prefix: Path | None = None):
    env = dict(os.environ)
    if path_prefix is not None:
        env["PATH"] = f"{path_prefix}{os.pathsep}{env['PATH']}"
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--venv", str(sandbox / "venv"), "--installer", installer,
         "--dry-run", "--", "--no-index", "--find-links", str(sandbox / "wheels"), "tinypkg"],
        capture_output=True, text=True, env=env, timeout=300)


def test_pip_path_resolves_the_wheel(sandbox):
    r = _run(sandbox, "pip")
    assert r.returncode == 0, r.stderr
    assert "tinypkg" in r.stdout + r.stderr and "done with pip" in r.stderr
    assert not (sandbox / "venv" / "bin" / "uv").exists()  # pip mode never fetches uv


@pytest.mark.skipif(_uv() is None, reason="uv is not installed (make venv installs it)")
def test_uv_path_resolves_the_wheel(sandbox):
    r = _run(sandbox, "uv", path_prefix=Path(_uv()).parent)
    assert r.returncode == 0, r.stderr
    assert "tinypkg==0.1" in r.stdout + r.stderr and "done with uv" in r.stderr


def test_auto_falls_back_to_pip_when_uv_fails(sandbox, tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "uv").write_text("#!/bin/sh\necho 'uv: cannot resolve' >&2\nexit 3\n")
    (fake / "uv").chmod(0o755)
    r = _run(sandbox, "auto", path_prefix=fake)
    assert r.returncode == 0, r.stderr
    assert "uv failed (exit 3); falling back to pip" in r.stderr and "done with pip" in r.stderr
    strict = _run(sandbox, "uv", path_prefix=fake)  # INSTALLER=uv: no fallback
    assert strict.returncode == 3 and "FAILED with uv" in strict.stderr


def test_pip_settings_are_passed_to_uv(tmp_path):
    links = tmp_path / "wheels"
    links.mkdir()
    cons = tmp_path / "constraints.txt"
    cons.write_text("torch<=2\n")
    config = {"find-links": f"{links} {tmp_path / 'absent'}",
              "extra-index-url": f"file://{tmp_path} file://{tmp_path / 'gone'} https://x.test/simple",
              "constraint": str(cons), "cert": "/etc/ssl/certs/ca.crt"}
    env = install.uv_environment(config)
    assert env["UV_FIND_LINKS"] == str(links)  # a missing folder is left out, as pip skips it
    assert env["UV_EXTRA_INDEX_URL"] == f"file://{tmp_path} https://x.test/simple"
    assert env["UV_CONSTRAINT"] == str(cons) and env["SSL_CERT_FILE"] == "/etc/ssl/certs/ca.crt"
    assert env["UV_INDEX_STRATEGY"] == "unsafe-best-match" and "UV_INDEX_URL" not in env


def test_pip_config_reads_files_and_environment(tmp_path):
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nfind-links = /from/file\nconstraint = /c.txt\n")
    env = {**os.environ, "PIP_CONFIG_FILE": str(conf), "PIP_FIND_LINKS": "/from/env"}
    out = subprocess.run([sys.executable, "-c",
                          f"import importlib.util as u; s = u.spec_from_file_location('i', "
                          f"{str(SCRIPT)!r}); m = u.module_from_spec(s); s.loader.exec_module(m);"
                          f" import sys; print(m.pip_config(__import__('pathlib').Path("
                          f"sys.executable)))"], capture_output=True, text=True, env=env)
    got = eval(out.stdout)  # noqa: S307 - our own dict repr
    assert got["find-links"] == "/from/env" and got["constraint"] == "/c.txt"


def test_makefile_installs_through_the_script():
    text = (ROOT / "Makefile").read_text()
    assert "scripts/install.py --venv $(VENV) --installer $(INSTALLER)" in text
    assert "INSTALLER ?= auto" in text


@pytest.mark.skipif(_uv() is None, reason="uv is not installed (make venv installs it)")
def test_uv_install_writes_bytecode_even_where_python_writes_none(sandbox, tmp_path):
    """uv writes no .pyc unless asked; with PYTHONDONTWRITEBYTECODE set (as on these machines)
    every kernel would then compile pandas, sklearn... from source again."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1",
           "PATH": f"{Path(_uv()).parent}{os.pathsep}{os.environ['PATH']}"}
    r = subprocess.run(
        [sys.executable, str(SCRIPT), "--venv", str(venv), "--installer", "uv", "--",
         "--no-index", "--find-links", str(sandbox / "wheels"), "tinypkg"],
        capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert list(venv.glob("lib/python*/site-packages/tinypkg/__pycache__/__init__.*.pyc"))
