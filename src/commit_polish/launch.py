"""The ``commit-polish`` command's entry point: ``hook`` without importing click.

git runs ``commit-polish hook FILE [SOURCE [SHA]]`` on every commit, and most runs end on a
skip path within milliseconds; click's import alone costs tens of them. Everything else, and
any hook call with options, goes through the click CLI.
"""

from __future__ import annotations

import os
import sys

from commit_polish import envvars


def left_alone(args: list[str], environ: dict[str, str] | os._Environ[str]) -> bool:
    """Whether ``hook FILE [SOURCE [SHA]]`` will leave the file alone whatever the config
    says (the first rules of ``hook.run_hook``, decided before importing it)."""
    if envvars.skip_requested(environ):
        return True
    source = args[2] if len(args) > 2 else environ.get("PRE_COMMIT_COMMIT_MSG_SOURCE") or None
    return source in ("merge", "squash")


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["hook"] and 2 <= len(args) <= 4 and not any(a.startswith("-") for a in args):
        if left_alone(args, os.environ):
            sys.exit(0)
        from pathlib import Path

        from commit_polish.deadline import exit_process
        from commit_polish.hook import main_hook

        rest = [*args[2:], None, None]
        exit_process(main_hook(Path(args[1]), rest[0], rest[1]), teardown=False)
    from commit_polish.cli import main as cli_main

    cli_main()
