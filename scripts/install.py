"""Install the project into a virtual environment with uv when it can, else with pip.

    python scripts/install.py --venv .venv [--installer auto|uv|pip] [--dry-run] -- -e '.[test]'

``auto`` (the default, and what ``make venv`` uses) tries uv and falls back
to pip; ``uv`` fails when uv cannot be had or cannot install; ``pip`` never
tries uv. uv is taken from the venv (``.venv/bin/uv``, ``python -m uv``),
from ``PATH``, or installed into the venv from PyPI with pip (a few seconds;
uv is several times faster than pip for the project's ~150 distributions).

uv does not read pip's configuration, so the settings pip would use here
(``pip config list``: index-url, extra-index-url, find-links, constraint,
cert; these come from pip.conf files and ``PIP_*`` variables) are passed to
uv as ``UV_*`` variables, with pip's index strategy (best version across all
indexes). An index location that does not exist (pip skips those with a
warning; uv would stop) is left out. If uv still fails, ``auto`` runs pip.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

#: pip option -> uv environment variable (values are space-separated lists in both).
PIP_TO_UV = {
    "index-url": "UV_INDEX_URL",
    "extra-index-url": "UV_EXTRA_INDEX_URL",
    "find-links": "UV_FIND_LINKS",
    "constraint": "UV_CONSTRAINT",
}


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def pip_config(python: Path) -> dict[str, str]:
    """pip's effective options (``pip config list``): environment beats files, as in pip."""
    try:
        out = subprocess.run([str(python), "-m", "pip", "config", "list"], capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    files, env = {}, {}
    for line in out.splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        scope, _, name = key.rpartition(".")
        value = value.strip().strip("'\"")
        (env if scope == ":env:" else files)[name] = value
    return {**files, **env}


def _exists(location: str) -> bool:
    """Whether a find-links / index location can be read (remote URLs are assumed to)."""
    if location.startswith("file://"):
        location = location[len("file://"):]
    elif "://" in location:
        return True
    return Path(location).exists()


def uv_environment(config: dict[str, str]) -> dict[str, str]:
    """``UV_*`` variables that make uv use the same indexes, links and constraints as pip."""
    env = {"UV_INDEX_STRATEGY": "unsafe-best-match"}  # pip: best version over all indexes
    for option, var in PIP_TO_UV.items():
        values = [v for v in config.get(option, "").split() if _exists(v)]
        if values:
            env[var] = " ".join(values)
    if config.get("cert"):
        env["SSL_CERT_FILE"] = config["cert"]
    return env


def find_uv(python: Path) -> list[str] | None:
    """A command that runs uv: the venv's, ``python -m uv``, or one on ``PATH``."""
    exe = python.parent / ("uv.exe" if os.name == "nt" else "uv")
    if exe.exists():
        return [str(exe)]
    if subprocess.run([str(python), "-m", "uv", "--version"], capture_output=True).returncode == 0:
        return [str(python), "-m", "uv"]
    on_path = shutil.which("uv")
    return [on_path] if on_path else None


def get_uv(python: Path, log) -> list[str] | None:
    """uv, installed into the venv with pip when it is nowhere to be found."""
    uv = find_uv(python)
    if uv is None:
        log("install: uv not found, installing it into the venv with pip")
        r = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "uv"])
        uv = find_uv(python) if r.returncode == 0 else None
    return uv


def commands(installer: str, python: Path, uv: list[str] | None, args: list[str],
             dry_run: bool) -> list[list[str]]:
    """The install command(s) of ``installer`` (uv or pip)."""
    extra = ["--dry-run"] if dry_run else []
    if installer == "uv":
        # pip writes .pyc files at install time, uv only when asked: without them every
        # process (each notebook's kernel, each test subprocess) compiles the modules it
        # imports from source again where PYTHONDONTWRITEBYTECODE is set, as on these machines.
        compile_ = [] if dry_run else ["--compile-bytecode"]
        return [[*uv, "pip", "install", "--python", str(python), *compile_, *extra, *args]]
    upgrade = [] if dry_run else [[str(python), "-m", "pip", "install", "--quiet",
                                   "--upgrade", "pip"]]
    return [*upgrade, [str(python), "-m", "pip", "install", "--quiet", *extra, *args]]


def run(cmds: list[list[str]], env: dict[str, str] | None, log) -> int:
    for cmd in cmds:
        log("install: " + " ".join(shlex.quote(c) for c in cmd))
        rc = subprocess.run(cmd, env={**os.environ, **(env or {})}).returncode
        if rc:
            return rc
    return 0


def install(venv: Path, args: list[str], installer: str = "auto", dry_run: bool = False,
            log=print) -> tuple[int, str]:
    """Install ``args`` into ``venv``; returns (exit code, installer that did it)."""
    python = venv_python(venv)
    if not python.exists():
        log(f"install: no virtual environment at {venv} (create it with python -m venv)")
        return 2, "none"
    if installer in ("auto", "uv"):
        uv = get_uv(python, log)
        if uv is not None:
            rc = run(commands("uv", python, uv, args, dry_run),
                     uv_environment(pip_config(python)), log)
            if rc == 0 or installer == "uv":
                return rc, "uv"
            log(f"install: uv failed (exit {rc}); falling back to pip")
        elif installer == "uv":
            log("install: uv is not available (INSTALLER=uv)")
            return 1, "uv"
    return run(commands("pip", python, None, args, dry_run), None, log), "pip"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--venv", default=".venv")
    ap.add_argument("--installer", default=os.environ.get("INSTALLER", "auto") or "auto",
                    choices=("auto", "uv", "pip"))
    ap.add_argument("--dry-run", action="store_true", help="resolve only, install nothing")
    ap.add_argument("args", nargs="*", help="what to install (after --), e.g. -e '.[test]'")
    a = ap.parse_args(argv)
    rc, used = install(Path(a.venv), a.args, a.installer, a.dry_run,
                       log=lambda m: print(m, file=sys.stderr, flush=True))
    print(f"install: {'done' if rc == 0 else 'FAILED'} with {used}", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
