"""Several ``airflow`` CLI commands in one Airflow process (run by the Airflow venv's python).

Each line read from stdin is a JSON list of ``airflow`` arguments, e.g.
``["dags", "test", "crm_report", "2026-06-30", "--conf", "{...}"]``. It runs the way
``airflow/__main__.py`` runs one command: the Airflow CLI parser, the default
configuration written if needed, then the command's own function; ``SystemExit`` gives
the exit code (a message goes to stderr with code 1, as the interpreter does). After each
command the line ``MARKER {"exit": <code>}`` is printed to stdout, and the next line is
read. So the tests pay Airflow's import and its in-process execution API (built once per
process, ``supervisor.in_process_api_server``) once, not once per ``airflow dags test``.
End of stdin ends the process: the exit handlers registered with :mod:`atexit` run
(Airflow's ``dispose_orm`` among them), then ``os._exit``, which leaves out the
interpreter's teardown of Airflow's modules (2 CPU-seconds, nothing left to write).
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import traceback

#: Printed after each command, then ``{"exit": code}``.
MARKER = "@@crm-airflow-cli-done@@"


def exit_code(exc: SystemExit) -> int:
    """The process exit code of ``SystemExit(exc.code)`` (None 0, an int itself, else 1)."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def main() -> int:
    from airflow.cli import cli_parser
    from airflow.configuration import write_default_airflow_configuration_if_needed

    parser = cli_parser.get_parser()
    write_default_airflow_configuration_if_needed()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            args = parser.parse_args(json.loads(line))
            args.func(args)
            code = 0
        except SystemExit as exc:
            code = exit_code(exc)
        except Exception:  # noqa: BLE001 - reported like an uncaught exception of the CLI
            traceback.print_exc()
            code = 1
        sys.stderr.flush()
        print(MARKER, json.dumps({"exit": code}), flush=True)
    return 0


if __name__ == "__main__":
    code = main()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
