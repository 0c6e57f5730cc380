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

from commit_polish import catalog, config, git, hookscript, paths, server
from commit_polish.download import is_url
from commit_polish.errors import START_SERVER, ChecksumError, ConfigError

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


def _local_model(path: Path, sha256: str | None) -> tuple[Path, str]:
    path = path.expanduser().resolve()
    if not path.is_file():
        raise ConfigError(f"model file {path} does not exist; check --model")
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


def _download_all(
    plan: Plan,
    opts: Options,
    *,
    progress: Progress,
    client: httpx.Client | None,
    sleep: Callable[[float], None],
) -> None:
    from commit_polish import download

    needed = sum(download.space_needed(art, dest) for art, dest, _mode in plan.fetch)
    if plan.fetch:
        # One check for everything before the first byte, not a failure halfway through.
        download.check_space(paths.data_dir(), needed)
    for artifact, dest, mode in plan.fetch:
        # A mirror serves catalog files; an explicit --model URL is fetched from that URL.
        catalog_file = artifact.url == catalog.LLAMAFILE_URL or any(
            artifact.url == m.artifact.url for m in catalog.MODELS.values()
        )
        download.fetch(
            artifact,
            dest,
            mirror=opts.mirror if catalog_file else None,
            client=client,
            sleep=sleep,
            progress=progress,
            mode=mode,
        )


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
    plan = make_plan(opts, cfg)
    _download_all(plan, opts, progress=progress or Progress(), client=client, sleep=sleep)
    port = opts.port if opts.port is not None else cfg.llamafile.port
    updates: dict[str, Any] = {
        "model": plan.litellm_model,
        "path": str(plan.runtime),
        "model_path": str(plan.model),
        "port": port,
        "api_base": server.api_base(port),
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


def _alias(litellm_model: str) -> str:
    return litellm_model.split("/", 1)[-1]


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
