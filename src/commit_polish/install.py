"""``commit-polish install`` and ``uninstall``: from a fresh machine to working messages.

Install is idempotent and quick once the files are present (their ``.sha256`` sidecars spare
the re-hash), so "run ``commit-polish install`` inside the repository" is also how a second
repository gets the hook.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from commit_polish import catalog, config, git, hookscript, managers, paths, server
from commit_polish.download import is_url
from commit_polish.errors import (
    START_SERVER,
    ChecksumError,
    ConfigError,
    DownloadError,
    NetworkError,
)

if TYPE_CHECKING:
    import httpx

    from commit_polish.download import Progress

Say = Callable[[str], None]
RUNTIME_MODE = 0o755


@dataclass(frozen=True)
class Options:
    model: str | None = None  # catalog name, local .gguf path or https URL
    sha256: str | None = None
    runtime: Path | None = None
    runtime_sha256: str | None = None
    mirror: str | None = None
    port: int | None = None
    global_hook: bool = False
    no_hook: bool = False
    serve: bool = False
    dry_run: bool = False
    server: str | None = None  # a model server the user runs: config and hook only


Fetch = tuple[catalog.Artifact, Path, int | None]  # what to download, where, file mode


@dataclass(frozen=True)
class Plan:
    """What install will use; ``fetch`` lists (artifact, destination, mode) to download."""

    runtime: Path
    model: Path
    litellm_model: str
    fetch: tuple[Fetch, ...] = ()


@dataclass
class Result:
    plan: Plan
    config_file: Path
    port: int
    hook: Path | None = None
    served: server.Running | None = None
    notes: list[str] = field(default_factory=list)


# -------------------------------------------------------------------------------- plan


def _check_sha(value: str | None, flag: str) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise ConfigError(f"{flag} must be 64 hex digits (a sha256), got {value!r}")
    return value


def _url_model(url: str, sha256: str | None) -> tuple[catalog.Artifact, str]:
    from commit_polish.download import allowed_url

    if not allowed_url(url, http_loopback=True):
        raise ConfigError(f"--model URL must be https, got {url}")
    if sha256 is None:
        raise ConfigError(f"--model {url} needs --sha256 HEX so the download can be verified")
    name = Path(unquote(urlsplit(url).path)).name or "model.gguf"
    artifact = catalog.Artifact(name=name, url=url, sha256=sha256)
    return artifact, "llamafile/" + Path(name).stem


GGUF_MAGIC = b"GGUF"


def _check_gguf(path: Path) -> None:
    """A model file must be GGUF, or the server fails minutes later with a worse message."""
    with path.open("rb") as handle:
        head = handle.read(len(GGUF_MAGIC))
    if head != GGUF_MAGIC:
        raise ConfigError(
            f"model file {path} is not a GGUF model (it does not start with the bytes GGUF); "
            "check --model"
        )


def _local_model(path: Path, sha256: str | None) -> tuple[Path, str]:
    path = path.expanduser().resolve()
    if not path.is_file():
        raise ConfigError(f"model file {path} does not exist; check --model")
    _check_gguf(path)
    if sha256 is not None:
        from commit_polish.download import sha256_file

        digest = sha256_file(path)
        if digest != sha256:
            raise ChecksumError(f"{path} has sha256 {digest}, expected {sha256}; check --sha256")
    return path, "llamafile/" + path.stem


def _catalog_model(model: catalog.Model, sha256: str | None) -> tuple[catalog.Artifact, str]:
    artifact = model.artifact
    if sha256 is not None and sha256 != artifact.sha256:
        artifact = catalog.Artifact(artifact.name, artifact.url, sha256, None, artifact.approx_size)
    return artifact, model.litellm_model


def _configured_model(cfg: config.Config) -> str | None:
    """With no --model, re-install what the config names (so a 4B choice sticks)."""
    recorded = cfg.llamafile.model_path
    if not recorded:
        return None
    entry = catalog.by_filename(Path(recorded).name)
    if entry is not None and Path(recorded).parent == paths.models_dir():
        return entry.key
    if Path(recorded).is_file():
        return recorded
    raise ConfigError(
        f"the configured model {recorded} is missing; pass --model NAME|PATH "
        f"(e.g. --model {catalog.DEFAULT_MODEL})"
    )


def _plan_model(opts: Options, cfg: config.Config) -> tuple[Path, str, list[Fetch]]:
    """(model file, LiteLLM model name, downloads needed)."""
    choice = opts.model or _configured_model(cfg) or catalog.DEFAULT_MODEL
    sha = _check_sha(opts.sha256, "--sha256")
    entry = catalog.find_model(choice)
    if entry is not None:
        artifact, litellm_model = _catalog_model(entry, sha)
    elif is_url(choice):
        artifact, litellm_model = _url_model(choice, sha)
    elif choice.endswith(".gguf") or Path(choice).expanduser().is_file():
        return (*_local_model(Path(choice), sha), [])
    else:
        names = ", ".join(catalog.MODELS)
        raise ConfigError(
            f"unknown model {choice!r}; use one of {names}, a .gguf path or "
            "an https URL with --sha256"
        )
    model = paths.models_dir() / artifact.name
    return model, litellm_model, [(artifact, model, None)]


def _plan_runtime(opts: Options, cfg: config.Config) -> tuple[Path, list[Fetch]]:
    """(runtime binary, downloads needed)."""
    sha = _check_sha(opts.runtime_sha256, "--runtime-sha256")
    own = paths.runtime_dir() / catalog.runtime_filename()
    chosen = opts.runtime
    recorded = cfg.llamafile.path
    if chosen is None and recorded and Path(recorded) != own and Path(recorded).is_file():
        chosen = Path(recorded)  # the user's own llama-server from an earlier --runtime
    if chosen is None:
        return own, [(catalog.runtime(sha), own, RUNTIME_MODE)]
    chosen = chosen.expanduser().resolve()
    if not chosen.is_file():
        raise ConfigError(f"runtime {chosen} does not exist; check --runtime")
    if os.name != "nt" and not os.access(chosen, os.X_OK):
        raise ConfigError(f"runtime {chosen} is not executable; run: chmod 755 {chosen}")
    if sha is not None:
        from commit_polish.download import sha256_file

        digest = sha256_file(chosen)
        if digest != sha:
            raise ChecksumError(
                f"{chosen} has sha256 {digest}, expected {sha}; check --runtime-sha256"
            )
    return chosen, []


def make_plan(opts: Options, cfg: config.Config) -> Plan:
    runtime, runtime_fetch = _plan_runtime(opts, cfg)
    model, litellm_model, model_fetch = _plan_model(opts, cfg)
    return Plan(runtime, model, litellm_model, tuple(runtime_fetch + model_fetch))


# ----------------------------------------------------------------------------- install


def _is_catalog_file(artifact: catalog.Artifact) -> bool:
    # A mirror serves catalog files; an explicit --model URL is fetched from that URL.
    return artifact.url == catalog.LLAMAFILE_URL or any(
        artifact.url == m.artifact.url for m in catalog.MODELS.values()
    )


def _still_needed(plan: Plan) -> list[Fetch]:
    """The downloads not already done (a file present without a record counts as done
    until it is hashed)."""
    from commit_polish.download import is_verified

    return [f for f in plan.fetch if not (is_verified(f[1], f[0].sha256) or f[1].is_file())]


def file_line(artifact: catalog.Artifact) -> str:
    """``NAME (SIZE, URL, sha256 HEX)``: all a person needs to fetch the file elsewhere."""
    from commit_polish.download import human_size

    size = (
        human_size(artifact.size)
        if artifact.size is not None
        else f"about {human_size(artifact.approx_size)}"
    )
    return f"{artifact.name} ({size}, {artifact.url}, sha256 {artifact.sha256})"


WAYS_OUT = (
    "ways out: fetch them on another machine into a directory and run: commit-polish install "
    "--mirror DIR; or use files you already have: commit-polish install --runtime PATH "
    "--model PATH.gguf; or use a model server you already run: commit-polish install "
    "--server URL"
)


def _offline(plan: Plan, failed: NetworkError, name: str) -> DownloadError:
    files = "; ".join(file_line(art) for art, _dest, _mode in _still_needed(plan))
    return DownloadError(
        f"cannot download {name}: {failed.reason}; install needs: {files}; {WAYS_OUT}"
    )


def _check_mirror_dir(plan: Plan, mirror: str | None) -> None:
    """Name every file a mirror directory lacks at once, not one per run."""
    if mirror is None or "://" in mirror:
        return
    directory = Path(mirror).expanduser()
    if not directory.is_dir():
        raise DownloadError(f"mirror directory {directory} does not exist; check --mirror")
    missing = [
        art
        for art, _dest, _mode in _still_needed(plan)
        if _is_catalog_file(art) and not (directory / art.name).is_file()
    ]
    if missing:
        files = "; ".join(file_line(art) for art in missing)
        raise DownloadError(
            f"the mirror directory {directory} lacks {len(missing)} of the files install "
            f"needs: {files}; put them there by these names and run the command again"
        )


def _download_all(
    plan: Plan,
    opts: Options,
    *,
    progress: Progress,
    client: httpx.Client | None,
    sleep: Callable[[float], None],
) -> None:
    from commit_polish import download

    _check_mirror_dir(plan, opts.mirror)
    needed = sum(download.space_needed(art, dest) for art, dest, _mode in plan.fetch)
    if plan.fetch:
        # One check for everything before the first byte, not a failure halfway through.
        download.check_space(paths.data_dir(), needed)
    for artifact, dest, mode in plan.fetch:
        try:
            download.fetch(
                artifact,
                dest,
                mirror=opts.mirror if _is_catalog_file(artifact) else None,
                client=client,
                sleep=sleep,
                progress=progress,
                mode=mode,
            )
        except NetworkError as exc:
            raise _offline(plan, exc, artifact.name) from exc


def _install_hook(opts: Options, cwd: Path | None, result: Result, say: Say) -> None:
    if opts.no_hook:
        return
    if opts.global_hook:
        done = hookscript.install_global()
        result.hook = done.path
        say(f"hook installed for all repositories: {done.path}")
        if done.configured:
            say(
                "note: a global core.hooksPath makes git ignore each repository's .git/hooks; "
                "undo with: commit-polish uninstall --global"
            )
        return
    if not git.is_repository(cwd):
        result.notes.append(
            "not inside a git repository, so no hook was installed: run "
            "'commit-polish install' inside each repository (quick once the files are "
            "here), or 'commit-polish install --global' for all of them"
        )
        return
    placed = managers.install(cwd)
    if placed is not None:  # husky, lefthook or pre-commit runs the hook
        result.hook = placed.changed
        for line in placed.lines:
            say(line)
        return
    state = hookscript.hook_state(cwd)
    result.hook = hookscript.install_hook(cwd)
    chained = " (your existing hook is kept and runs first)" if state and state.foreign else ""
    say(f"hook installed: {result.hook}{chained}")


def install(
    opts: Options,
    *,
    cwd: Path | None = None,
    say: Say = print,
    progress: Progress | None = None,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Result:
    """Download (or adopt) runtime and model, write the config, install the hook."""
    from commit_polish.download import Progress

    cfg = config.load(None)
    if opts.server is not None:
        return install_server(opts, cfg, cwd=cwd, say=say)
    plan = make_plan(opts, cfg)
    port = opts.port if opts.port is not None else cfg.llamafile.port
    if opts.dry_run:
        for line in describe(plan, opts, cwd=cwd):
            say(line)
        return Result(plan=plan, config_file=paths.config_file(), port=port)
    _download_all(plan, opts, progress=progress or Progress(), client=client, sleep=sleep)
    updates: dict[str, Any] = {
        "model": plan.litellm_model,
        "path": str(plan.runtime),
        "model_path": str(plan.model),
        "port": port,
        "api_base": server.api_base(port),
        "external_server": False,
    }
    result = Result(plan=plan, config_file=config.write_user_config(updates), port=port)
    say(f"runtime: {plan.runtime}")
    say(f"model:   {plan.model} ({plan.litellm_model})")
    say(f"config:  {result.config_file}")
    _install_hook(opts, cwd, result, say)
    if opts.serve:
        from commit_polish import service

        # Warms up (LiteLLM's import) while the model loads; the hook works without it.
        starting = service.start(detach=True, say=say)
        try:
            result.served = server.start(
                server.ServeOptions(
                    plan.runtime,
                    plan.model,
                    port,
                    alias=_alias(plan.litellm_model),
                    detach=True,
                    gpu_layers=cfg.llamafile.gpu_layers,
                ),
                say=say,
            )
        except BaseException:  # no server, no service
            if starting is not None and starting.ready is None:
                starting.cancel()
            raise
        say(
            f"server ready at {server.api_base(port)} (pid {result.served.pid}); "
            "stop it with: commit-polish stop"
        )
        warm = starting.wait(say) if starting is not None else None
        if warm is not None:
            say(f"service warm at {warm.socket} (pid {warm.pid})")
    for note in result.notes:
        say(note)
    if not opts.serve:
        say(f"next: start the server with: {START_SERVER}")
    return result


def _hook_plan(opts: Options, cwd: Path | None) -> str:
    if opts.no_hook:
        return "not installed (--no-hook)"
    if opts.global_hook:
        return "would be installed for all repositories (--global)"
    if git.is_repository(cwd):
        return "would be installed in this repository"
    return "none: not inside a git repository"


def describe(plan: Plan, opts: Options, *, cwd: Path | None = None) -> list[str]:
    """What install would do, for --dry-run: each file to fetch (name, size, source,
    sha256, destination), the config and the hook. Reads, never writes."""
    from commit_polish.download import human_size, source_for

    lines = ["dry run: nothing is downloaded or written"]
    needed = _still_needed(plan)
    for artifact, dest, _mode in plan.fetch:
        if (artifact, dest, _mode) not in needed:
            lines.append(f"present:  {dest}")
            continue
        mirror = opts.mirror if _is_catalog_file(artifact) else None
        source = source_for(artifact, mirror)
        absent = " (not there)" if source.path is not None and not source.path.is_file() else ""
        lines.append(f"download: {file_line(artifact)}")
        if mirror is not None:
            lines.append(f"  from    {source.describe()}{absent}")
        lines.append(f"  to      {dest}")
    if needed:
        total = sum(art.expected_size for art, _dest, _mode in needed)
        lines.append(f"total:    about {human_size(total)}")
    lines += [
        f"runtime:  {plan.runtime}",
        f"model:    {plan.model} ({plan.litellm_model})",
        f"config:   {paths.config_file()} (would be written)",
        f"hook:     {_hook_plan(opts, cwd)}",
    ]
    if needed:
        lines.append("offline? " + WAYS_OUT.removeprefix("ways out: "))
    return lines


def _alias(litellm_model: str) -> str:
    return litellm_model.split("/", 1)[-1]


# ------------------------------------------------------------------- a server of yours


def server_api_base(url: str) -> str:
    """The api_base for ``--server URL``: a bare ``host:port`` gets ``http://`` and a URL
    with no path gets ``/v1`` (where Ollama, LM Studio and llama-server all answer)."""
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise ConfigError(f"--server {url}: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--server must be an http:// or https:// URL, got {url!r}")
    if parts.query or parts.fragment:
        raise ConfigError(f"--server {url}: give the server's base URL, without ? or #")
    path = parts.path.rstrip("/") or "/v1"
    return f"{parts.scheme}://{parts.netloc}{path}"


def _check_allowed(base: str, cfg: config.Config) -> None:
    from commit_polish import localonly

    if cfg.ai.allow_remote or localonly.is_loopback(base):
        return
    raise ConfigError(
        f"--server {base} is not on this machine, and diffs stay local unless you allow it: "
        "commit-polish config set allow_remote true, then run this install again"
    )


def server_model(name: str | None, base: str, served: list[str] | None) -> tuple[str, str]:
    """(the name to ask the server for, a note or ""). ``name`` is the server's own name
    for the model (what ``ollama list`` or ``/v1/models`` shows); without it the server
    must serve exactly one."""
    if name is not None:
        name = name.removeprefix("llamafile/")
        if not name:
            raise ConfigError("--model needs the name your server knows the model by")
        if served and name not in served:
            listed = ", ".join(served)
            return name, f"note: {base} lists {listed}, not {name}; if commits fail, use one"
        return name, ""
    if served is None:
        raise ConfigError(
            f"nothing answers at {base}; start your server, or name its model with --model NAME"
        )
    if len(served) != 1:
        listed = ", ".join(served) if served else "none"
        raise ConfigError(
            f"{base} serves {len(served)} models ({listed}); choose one with --model NAME"
        )
    return served[0], ""


def install_server(opts: Options, cfg: config.Config, *, cwd: Path | None, say: Say) -> Result:
    """Point the config at a server the user runs, and install the hook: no downloads."""
    base = server_api_base(opts.server or "")
    _check_allowed(base, cfg)
    state = server.health(base)
    served = server.served_models(base) if state == "ok" else None
    if state == "other":
        raise ConfigError(
            f"something answers at {base}, but not as an OpenAI-compatible model server; "
            "check --server (LM Studio and llama-server answer under /v1)"
        )
    name, note = server_model(opts.model, base, served)
    litellm_model = "llamafile/" + name  # LiteLLM's OpenAI-compatible local provider
    plan = Plan(runtime=Path(), model=Path(), litellm_model=litellm_model)
    updates = {"model": litellm_model, "api_base": base, "external_server": True}
    answers = f"answers, serving {', '.join(served)}" if served else f"not answering ({state})"
    if opts.dry_run:
        for line in (
            "dry run: nothing is downloaded or written",
            f"server:  {base} ({answers})",
            f"model:   {litellm_model}",
            f"config:  {paths.config_file()} (would be written)",
            f"hook:    {_hook_plan(opts, cwd)}",
        ):
            say(line)
        return Result(plan=plan, config_file=paths.config_file(), port=cfg.llamafile.port)
    result = Result(
        plan=plan, config_file=config.write_user_config(updates), port=cfg.llamafile.port
    )
    say(f"server:  {base} ({answers})")
    say(f"model:   {litellm_model}")
    say(f"config:  {result.config_file}")
    _install_hook(opts, cwd, result, say)
    for line in [note, *result.notes]:
        if line:
            say(line)
    if served is None:
        say(f"next: start your server at {base}, then check with: commit-polish status")
    return result


# --------------------------------------------------------------------------- uninstall


@dataclass
class Removed:
    hook: Path | None = None
    global_hook: bool = False
    stopped: server.Running | None = None
    purged: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def uninstall(
    *, cwd: Path | None = None, global_hook: bool = False, purge: bool = False
) -> Removed:
    """Remove our hook (this repository, and the global one with ``global_hook``).

    ``purge`` also stops our server and deletes what install downloaded: the runtime and
    models directories under the data dir. A --model/--runtime file of the user's own is
    never deleted.
    """
    removed = Removed()
    if global_hook:
        removed.global_hook = hookscript.uninstall_global()
    if git.is_repository(cwd):
        placed = managers.uninstall(cwd)
        if placed is not None:
            removed.notes.extend(placed.lines)
        hooks = git.hooks_dir(cwd)
        shared = git.global_config_value("core.hooksPath")
        if shared and hooks.resolve() == Path(shared).expanduser().resolve():
            # This repository uses the global hooks directory: removing the hook here
            # would remove it for every repository.
            removed.notes.append(
                f"the hook in {hooks} serves all repositories; remove it with: "
                "commit-polish uninstall --global"
            )
        elif hookscript.uninstall_hook(cwd):
            removed.hook = hooks / hookscript.HOOK_NAME
    if purge:
        from commit_polish import service

        service.stop()
        removed.stopped = server.stop()
        for directory in (paths.runtime_dir(), paths.models_dir()):
            if directory.exists():
                shutil.rmtree(directory)
                removed.purged.append(directory)
        _forget_purged_paths()
    return removed


def _forget_purged_paths() -> None:
    """Clear config entries that pointed at files purge just deleted."""
    try:
        cfg = config.load(None)
    except ConfigError:
        return
    data = paths.data_dir()
    recorded = {"path": cfg.llamafile.path, "model_path": cfg.llamafile.model_path}
    updates = {
        key: "" for key, value in recorded.items() if value and Path(value).is_relative_to(data)
    }
    if updates and paths.config_file().exists():
        config.write_user_config(updates)
