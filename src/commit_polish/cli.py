"""click commands: parse arguments and call the core. Nothing else.

Every command runs inside one error boundary (:class:`Guarded`): a CommitPolishError becomes
its one line and exit 1, Ctrl-C exit 130, anything else one line naming an internal error
and exit 3 (``errors.classify``). Usage errors stay click's (exit 2). The hook's own
boundary, which fails open, is ``hook.main_hook``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from commit_polish import __version__, errors

RESUME_HINT = "interrupted; run the same command again to resume"
# What Ctrl-C leaves behind, for the commands where that is worth saying.
INTERRUPTED = {
    "install": RESUME_HINT,
    "eval": "interrupted (the worktree was removed)",
}
# Commands that may be stopped with a progress line on screen: start on a fresh line.
FRESH_LINE = {"install", "eval", "serve"}


class Guarded(click.Group):
    """A group whose commands all run inside the one error boundary."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except (Exception, KeyboardInterrupt) as exc:
            name = ctx.invoked_subcommand or ""
            line, code = errors.classify(exc, interrupted=INTERRUPTED.get(name, "interrupted"))
            lead = "\n" if code == errors.EXIT_INTERRUPTED and name in FRESH_LINE else ""
            click.echo(f"{lead}commit-polish: {line}", err=True)
            sys.exit(code)


@click.group(cls=Guarded, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="commit-polish")
def cli() -> None:
    """Commit messages from a local LLM, written by git's prepare-commit-msg hook."""


# What git runs; not a command people type, so not in --help.
@cli.command(hidden=True)
@click.argument("msg_file", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("source", required=False, default=None)
@click.argument("sha", required=False, default=None)
def hook(msg_file: Path, source: str | None, sha: str | None) -> None:
    """git's prepare-commit-msg entry point. Never blocks a commit unless strict = true."""
    from commit_polish.deadline import exit_process
    from commit_polish.hook import main_hook

    exit_process(main_hook(msg_file, source, sha))


@cli.command()
@click.option(
    "-n",
    "count",
    type=click.IntRange(1, 8),
    default=1,
    help="Print up to this many candidates, best first, each after a '---' line.",
)
def generate(count: int) -> None:
    """Print a message for what is staged (use: commit-polish generate | git commit -F -)."""
    from commit_polish.hook import staged_messages

    messages = staged_messages(count)
    if count == 1:
        click.echo(messages[0])
        return
    for text in messages:
        click.echo(f"---\n{text}")


@cli.command("eval")
@click.option(
    "--last",
    type=click.IntRange(1, 1000),
    default=10,
    show_default=True,
    help="How many recent non-merge commits to replay.",
)
@click.option("--model", metavar="MODEL", help="LiteLLM model to use instead of ai.model.")
@click.option("--template", metavar="FILE", help="Prompt template to use instead of the config's.")
@click.option(
    "--skip",
    metavar="REGEX",
    default=None,
    help="Leave out commits whose author (Name <email>) or subject this matches; "
    "'' keeps all. Default: bot authors and release or version bumps.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def evaluate(
    last: int, model: str | None, template: str | None, skip: str | None, as_json: bool
) -> None:
    """Replay recent commits in a throwaway worktree and score the generated messages."""
    import json
    import re

    from commit_polish import evaluate as evaluation

    if skip is None:
        skip = evaluation.DEFAULT_SKIP
    try:
        re.compile(skip)
    except re.error as exc:
        raise click.BadParameter(
            f"{skip!r} is not a regular expression: {exc}", param_hint="--skip"
        ) from exc

    def progress(row: evaluation.Row) -> None:
        if not as_json:
            click.echo(f"commit-polish: {row.sha[:7]} done in {row.seconds:.1f}s", err=True)

    report = evaluation.run(last=last, model=model, template=template, skip=skip, progress=progress)
    if as_json:
        click.echo(json.dumps(evaluation.as_json(report), indent=2))
    else:
        click.echo(evaluation.render(report))


@cli.group("config", invoke_without_command=True)
@click.pass_context
def config_group(ctx: click.Context) -> None:
    """Show the configuration as TOML (each value's source beside it) and what was learned
    from this repository's history; or get, set, unset or edit one key."""
    if ctx.invoked_subcommand is not None:
        return
    from commit_polish import config, git, style

    root = git.toplevel()
    cfg = config.load(root)
    click.echo(config.as_toml(cfg), nl=False)
    if root is None:
        click.echo("\n# not in a git repository: no style learned")
        return
    learned = style.learn(git.recent_subjects(style.HISTORY))
    click.echo(f"\n# learned from this repository's last {learned.count} commit subject(s):")
    for line in style.summary(learned, cfg):
        click.echo(f"#   {line}")


REPO_FLAG = click.option(
    "--repo", is_flag=True, help="This repository's .commit-polish.toml, not your own config."
)


@config_group.command("get")
@click.argument("key")
def config_get(key: str) -> None:
    """Print one key's effective value (KEY or SECTION.KEY)."""
    from commit_polish import config, git

    name = config.key_name(key)
    click.echo(config.as_text(config.value(config.load(git.toplevel()), name)))


@config_group.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("key")
@click.argument("value")
@REPO_FLAG
def config_set(key: str, value: str, repo: bool) -> None:
    """Set KEY to VALUE in your config (true/false, numbers, comma-separated lists)."""
    from commit_polish import configfile

    edit = configfile.set_from_text(key, value, repo=repo)
    click.echo(f"{edit.key} = {edit.shown}  (written to {edit.path})")
    if not edit.kept_layout:
        click.echo(f"note: {edit.path} was rewritten whole; its comments were not kept")


@config_group.command("unset")
@click.argument("key")
@REPO_FLAG
def config_unset(key: str, repo: bool) -> None:
    """Remove KEY from your config, so that its default (or another file's value) applies."""
    from commit_polish import configfile

    edit = configfile.unset_from_text(key, repo=repo)
    said = "removed from" if edit.changed else "is not set in"
    click.echo(f"{edit.key} {said} {edit.path}")


@config_group.command("path")
@REPO_FLAG
def config_path(repo: bool) -> None:
    """Print the path of your config file (or the repository's)."""
    from commit_polish import configfile

    click.echo(configfile.target(repo))


@config_group.command("edit")
@REPO_FLAG
def config_edit(repo: bool) -> None:
    """Open the config file in git's editor, then check it."""
    from commit_polish import configfile

    path = configfile.edit(repo)
    click.echo(f"{path}: ok")


# --- install / uninstall / serve / stop / status ------------------------------------------


@cli.command()
@click.option(
    "--model",
    "model",
    metavar="NAME|PATH.gguf|URL",
    help="Catalog model (default gemma-3-1b; also gemma-3-4b, gemma-3-270m), a local "
    ".gguf file, or an https URL together with --sha256.",
)
@click.option("--sha256", metavar="HEX", help="Expected sha256 of --model.")
@click.option(
    "--runtime",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Use this llama.cpp-compatible server binary (e.g. llama-server) instead of "
    "downloading llamafile.",
)
@click.option("--runtime-sha256", metavar="HEX", help="Override the pinned llamafile sha256.")
@click.option(
    "--mirror",
    metavar="URL|DIR",
    help="Fetch the catalog files, by the same names, from this URL or directory.",
)
@click.option("--port", type=click.IntRange(1, 65535), help="Server port (default 8080).")
@click.option(
    "--global",
    "global_hook",
    is_flag=True,
    help="Install the hook for all repositories (git config --global core.hooksPath).",
)
@click.option("--no-hook", is_flag=True, help="Do not install the git hook.")
@click.option("--serve", is_flag=True, help="Start the server in the background at the end.")
@click.option(
    "--server",
    metavar="URL",
    help="Use a model server you already run (Ollama, LM Studio, llama-server): no "
    "downloads; --model then names the model as that server knows it.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print what would be downloaded (name, size, URL, sha256) and written; do nothing.",
)
def install(
    model: str | None,
    sha256: str | None,
    runtime: Path | None,
    runtime_sha256: str | None,
    mirror: str | None,
    port: int | None,
    global_hook: bool,
    no_hook: bool,
    serve: bool,
    server: str | None,
    dry_run: bool,
) -> None:
    """Download the runtime and a model, write the config and install the git hook."""
    from commit_polish import install as installer

    if server is not None:
        given = {
            "--sha256": sha256,
            "--runtime": runtime,
            "--runtime-sha256": runtime_sha256,
            "--mirror": mirror,
            "--port": port,
            "--serve": serve or None,
        }
        clash = [flag for flag, value in given.items() if value is not None]
        if clash:
            raise click.UsageError(
                f"--server uses your own server: {', '.join(clash)} do not apply to it"
            )

    opts = installer.Options(
        model=model,
        sha256=sha256,
        runtime=runtime,
        runtime_sha256=runtime_sha256,
        mirror=mirror,
        port=port,
        global_hook=global_hook,
        no_hook=no_hook,
        serve=serve,
        dry_run=dry_run,
        server=server,
    )
    installer.install(opts, say=click.echo)


@cli.command()
@click.option("--global", "global_hook", is_flag=True, help="Also remove the global hook.")
@click.option(
    "--purge",
    is_flag=True,
    help="Also stop the server and delete the downloaded runtime and models.",
)
def uninstall(global_hook: bool, purge: bool) -> None:
    """Remove the hook from this repository (restoring any hook it chained)."""
    from commit_polish import install as installer

    removed = installer.uninstall(global_hook=global_hook, purge=purge)
    if removed.hook is not None:
        click.echo(f"hook removed: {removed.hook}")
    if removed.global_hook:
        click.echo("global hook removed")
    if removed.stopped is not None:
        click.echo(f"server stopped (pid {removed.stopped.pid})")
    for directory in removed.purged:
        click.echo(f"deleted {directory}")
    for note in removed.notes:
        click.echo(note)
    if not (
        removed.hook or removed.global_hook or removed.stopped or removed.purged or removed.notes
    ):
        click.echo("nothing of commit-polish's to remove here")


@cli.command()
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    help="Listen on this port (saved in the config, with a matching api_base).",
)
@click.option(
    "--detach", is_flag=True, help="Run in the background (stop with: commit-polish stop)."
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=180.0,
    show_default=True,
    help="Seconds to wait for the model to load.",
)
@click.option(
    "--no-service",
    is_flag=True,
    help="Without commit-polish's warm service (the hook then imports LiteLLM on each commit).",
)
@click.option(
    "--service-only",
    is_flag=True,
    help="Only the warm service, for a model server you run yourself (install --server).",
)
def serve(
    port: int | None, detach: bool, timeout: float, no_service: bool, service_only: bool
) -> None:
    """Start the local model server on 127.0.0.1, and beside it commit-polish's warm
    service, which saves the hook LiteLLM's import on every commit."""
    from commit_polish import server, service

    def say(text: str) -> None:
        click.echo(text, err=True)

    if service_only:
        if no_service or port is not None:
            raise click.UsageError("--service-only takes neither --port nor --no-service")
        sys.exit(_serve_service(detach, say))
    opts = server.options_from_config(port=port, detach=detach, timeout=timeout)
    # Started first: LiteLLM's import in the service runs while the model loads.
    starting = None if no_service else service.start(detach=detach, say=say)

    def warm() -> None:
        up = starting.wait(say) if starting is not None else None
        if up is not None:
            click.echo(f"service warm at {up.socket} (pid {up.pid})")

    def ready(info: server.Running) -> None:
        click.echo(f"server ready at {server.api_base(info.port)}")
        if not detach:
            warm()
            click.echo("press Ctrl-C to stop it", err=True)

    try:
        if not detach:
            sys.exit(server.serve_foreground(opts, say=say, ready=ready))
        info = server.start(opts, say=say)
    except BaseException:
        if starting is not None and (not detach or starting.ready is None):
            starting.cancel()
        raise
    ready(info)
    click.echo(f"pid {info.pid}, log {info.log}; stop it with: commit-polish stop")
    warm()


def _serve_service(detach: bool, say: Callable[[str], None]) -> int:
    """``serve --service-only``: the warm service alone, in the foreground or detached."""
    from commit_polish import service

    starting = service.start(detach=detach, say=say)
    up = starting.wait(say) if starting is not None else None
    if starting is None or up is None:
        return errors.EXIT_ERROR  # the reason was said
    click.echo(f"service warm at {up.socket} (pid {up.pid})")
    if detach or starting.proc is None:  # detached, or one was already running
        click.echo("stop it with: commit-polish stop")
        return errors.EXIT_OK
    click.echo("press Ctrl-C to stop it", err=True)
    try:
        starting.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        starting.cancel()
    return errors.EXIT_OK


@cli.command()
def stop() -> None:
    """Stop the server that 'commit-polish serve --detach' started, and its service."""
    from commit_polish import server, service

    gone = service.stop()
    info = server.stop()
    if info is None:
        click.echo("no server started by commit-polish is running")
    else:
        click.echo(f"server stopped (pid {info.pid}, port {info.port})")
    if gone is not None:
        click.echo(f"service stopped (pid {gone.pid})")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """Check config, runtime, model, server and hook; print the fix for anything missing
    (also: doctor)."""
    import json

    from commit_polish import status as doctor

    checks = doctor.collect()
    if as_json:
        click.echo(json.dumps(doctor.as_json(checks), indent=2))
    else:
        click.echo(doctor.render(checks))
    sys.exit(errors.EXIT_OK if doctor.all_ok(checks) else errors.EXIT_ERROR)


# The name people guess; one entry in --help.
cli.add_command(
    click.Command(
        "doctor", callback=status.callback, params=status.params, help=status.help, hidden=True
    )
)


def main() -> None:
    """The console entry point. Once a command has loaded the request code (generate, eval),
    it leaves without the interpreter's teardown, as the hook does (deadline.exit_process)."""
    try:
        cli(prog_name="commit-polish")
    except SystemExit as done:
        if "commit_polish.llm" not in sys.modules:
            raise
        from commit_polish.deadline import exit_process

        code = done.code if isinstance(done.code, int) else 0 if done.code is None else 1
        exit_process(code, teardown=False)
