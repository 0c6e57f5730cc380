"""click commands: parse arguments, call the core, map CommitPolishError to exit codes.

Exit codes: 0 success (and every fail-open path of the hook), 1 a CommitPolishError,
2 a usage error (click), 130 interrupted.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from commit_polish import __version__
from commit_polish.errors import CommitPolishError

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


def fail(exc: CommitPolishError) -> None:
    click.echo(f"commit-polish: {exc}", err=True)
    sys.exit(exc.exit_code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="commit-polish")
def cli() -> None:
    """Commit messages from a local LLM, written by git's prepare-commit-msg hook."""


@cli.command()
@click.argument("msg_file", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("source", required=False, default=None)
@click.argument("sha", required=False, default=None)
def hook(msg_file: Path, source: str | None, sha: str | None) -> None:
    """git's prepare-commit-msg entry point. Never blocks a commit unless strict = true."""
    from commit_polish.hook import main_hook

    sys.exit(main_hook(msg_file, source, sha))


@cli.command()
def generate() -> None:
    """Print a message for what is staged (use: commit-polish generate | git commit -F -)."""
    from commit_polish.hook import generate_for_stdout

    try:
        click.echo(generate_for_stdout())
    except CommitPolishError as exc:
        fail(exc)
    except KeyboardInterrupt:
        click.echo("commit-polish: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)


@cli.command("config")
def show_config() -> None:
    """Show the effective configuration and where each value came from."""
    from commit_polish import config, git

    try:
        cfg = config.load(git.toplevel())
    except CommitPolishError as exc:
        fail(exc)
    for name, value, source in config.describe(cfg):
        click.echo(f"{name} = {value!r}  ({source})")


# --- install / uninstall / serve / stop / status (issue 3) --------------------------------


def main() -> None:
    cli(prog_name="commit-polish")
