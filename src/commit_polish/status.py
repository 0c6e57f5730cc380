"""``commit-polish status`` (alias ``doctor``): what is in place, and the command that fixes
whatever is not.

Fast on purpose: files count as verified through the ``.sha256`` sidecar written when they
were checked (no re-hash of gigabytes), and the server probes time out after two seconds.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from commit_polish import config, envvars, git, hookscript, managers, paths, server, service
from commit_polish.errors import START_SERVER, ConfigError

INSTALL = "commit-polish install"


@dataclass
class Check:
    name: str
    ok: bool | None  # None: does not apply here (e.g. no repository)
    detail: str
    fix: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


def _sidecar_hash(path: Path) -> str | None:
    """The hash recorded when ``path`` was verified, if the record is still current."""
    from commit_polish.download import is_verified, sidecar

    try:
        recorded = sidecar(path).read_text(encoding="utf-8").split()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    if recorded and is_verified(path, recorded[0]):
        return recorded[0]
    return None


def _config_check(repo: Path | None) -> tuple[Check, config.Config]:
    user = paths.config_file()
    files = [f"{user} ({'user' if user.exists() else 'user, not created yet'})"]
    if repo is not None and (repo / config.REPO_FILE).exists():
        files.append(f"{repo / config.REPO_FILE} (repository)")
    env = sorted(
        k for k in os.environ if k.startswith(envvars.PREFIX) and k not in envvars.RESERVED
    )
    if env:
        files.append("environment: " + ", ".join(env))
    try:
        cfg = config.load(repo)
    except ConfigError as exc:
        return Check(
            "config", False, str(exc), "fix the file or variable named above"
        ), config.defaults()
    return Check("config", True, "; ".join(files), data={"files": files}), cfg


def _file_check(name: str, value: str, own_dir: Path, fix: str) -> Check:
    if not value:
        return Check(name, False, "not configured", fix)
    path = Path(value)
    if not path.is_file():
        return Check(name, False, f"{path} is missing", fix, {"path": value})
    if name == "runtime" and os.name != "nt" and not os.access(path, os.X_OK):
        return Check(name, False, f"{path} is not executable", f"chmod 755 {path}", {"path": value})
    digest = _sidecar_hash(path)
    data = {"path": value, "verified": digest is not None, "sha256": digest}
    if digest is not None:
        return Check(name, True, f"{path} (verified)", data=data)
    if path.parent == own_dir:  # our download, but the record is gone or stale
        return Check(name, False, f"{path} is not verified", fix, data)
    return Check(name, True, f"{path} (your own file, not verified by commit-polish)", data=data)


def _external_fix(base: str) -> str:
    return f"start your server at {base} (or use another: commit-polish install --server URL)"


def _server_check(cfg: config.Config) -> Check:
    base = cfg.llamafile.api_base
    external = cfg.llamafile.external_server
    mine = server.running()
    data: dict[str, Any] = {"api_base": base, "pid": mine.pid if mine else None}
    state = server.health(base)
    data["health"] = state
    if state == "ok":
        models = server.served_models(base) or []
        data["models"] = models
        who = f", started by commit-polish (pid {mine.pid})" if mine else ""
        served = ", ".join(models) if models else "unknown model"
        return Check("server", True, f"reachable at {base}, serving {served}{who}", data=data)
    if state == "loading":
        return Check(
            "server",
            False,
            f"{base} is still loading the model",
            "wait a few seconds, then: commit-polish status",
            data,
        )
    if external:
        what = "is still loading" if state == "loading" else "does not answer"
        if state == "other":
            what = "answers, but not as a model server"
        return Check("server", False, f"your server at {base} {what}", _external_fix(base), data)
    if state == "other":
        port = cfg.llamafile.port
        return Check(
            "server",
            False,
            f"something that is not a model server answers at {base}",
            f"commit-polish serve --detach --port {port + 1}",
            data,
        )
    return Check("server", False, f"nothing answers at {base}", START_SERVER, data)


def _service_check(external: bool = False) -> Check:
    """Whether a warm service will carry the hook's requests (it is optional: without one
    the hook imports LiteLLM itself, so its absence is no failure)."""
    path = service.socket_path()
    answer = service.ping(path) if service.available() else None
    data: dict[str, Any] = {"socket": str(path), "running": answer is not None}
    if not service.available():
        return Check("service", None, "no Unix domain sockets here", data=data)
    if answer is None:
        # serve refuses a server the user runs; the service alone it starts.
        start = (
            "start: commit-polish serve --service-only --detach"
            if external
            else (f"start: {START_SERVER}")
        )
        detail = f"not running; the hook imports LiteLLM on each commit ({start})"
        return Check("service", None, detail, data=data)
    data.update(pid=answer.get("pid"), version=answer.get("protocol"), warm=answer.get("warm"))
    if answer.get("ok") is not True:
        return Check(
            "service",
            False,
            f"the service at {path} is commit-polish {answer.get('protocol')}, not "
            f"{service.PROTOCOL}: the hook goes without it",
            f"commit-polish stop, then {START_SERVER}",
            data,
        )
    warm = "warm" if answer.get("warm") else "not warm yet"
    return Check("service", True, f"{warm} at {path} (pid {answer.get('pid')})", data=data)


def _hook_python(hook: Path) -> str | None:
    for line in hook.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("py="):
            words = shlex.split(line[3:])
            return words[0] if words else None
    return None


def _manager_check(cwd: Path | None) -> Check | None:
    try:
        done = managers.report(cwd)
    except ConfigError as exc:
        return Check("hook", False, str(exc), "fix the file named above")
    if done is None:
        return None
    return Check("hook", done.ok, done.detail, done.fix, done.data)


def _hook_check(cwd: Path | None) -> Check:
    state = hookscript.hook_state(cwd)
    if state is None:
        return Check("hook", None, "not inside a git repository", data={"repository": False})
    managed = _manager_check(cwd)
    if managed is not None:
        return managed
    data: dict[str, Any] = {
        "path": str(state.path),
        "installed": state.installed,
        "chained": str(state.chained) if state.chained else None,
    }
    if state.installed:
        python = _hook_python(state.path)
        if python and not Path(python).exists():
            return Check("hook", False, f"{state.path} runs {python}, which is gone", INSTALL, data)
        chained = f", runs {state.chained.name} first" if state.chained else ""
        return Check("hook", True, f"{state.path}{chained}", data=data)
    if state.foreign:
        return Check(
            "hook",
            False,
            f"{state.path} is another tool's hook, not commit-polish's",
            f"{INSTALL}  (keeps that hook and runs it first)",
            data,
        )
    return Check("hook", False, f"not installed in this repository ({state.path})", INSTALL, data)


def _style_check(repo: Path | None, cfg: config.Config) -> Check:
    """What the history taught (informational: a style not learned is not a fault)."""
    from commit_polish import style

    if repo is None:
        return Check("style", None, "not inside a git repository")
    if not cfg.message.learn_style:
        return Check("style", None, "not learned: message.learn_style is off")
    learned = style.learn(git.recent_subjects(style.HISTORY, cwd=repo))
    data = {
        "subjects": learned.count,
        "conventional_subjects": learned.conventional_count,
        "conventional": learned.conventional,
    }
    detail = style.style_line(learned, cfg).removeprefix("style: ")
    return Check("style", True if learned.conventional is not None else None, detail, data=data)


def _speed_check(cfg: config.Config) -> Check:
    """What the hook has learned of the server's speed (informational), and the prompt
    tokens that leaves within ``target_seconds``."""
    from commit_polish import budget, speed

    estimate = speed.load(cfg.llamafile.api_base, cfg.ai.model)
    room = speed.room_tokens(
        estimate,
        target_seconds=cfg.ai.target_seconds,
        # As the hook counts it: a subject-only request's reply, unless bodies are asked for.
        max_tokens=cfg.ai.max_tokens if cfg.message.body else budget.SUBJECT_TOKENS,
    )
    learned = f"from {estimate.samples} replies" if estimate.samples else "default, none measured"
    detail = (
        f"reads {estimate.prompt_tps:.0f} prompt tokens/s, writes {estimate.reply_tps:.0f}/s "
        f"({learned}): about {room:,} prompt tokens within {cfg.ai.target_seconds:g} s"
    )
    return Check("speed", None, detail, data={**vars(estimate), "room_tokens": room})


def collect(cwd: Path | None = None) -> list[Check]:
    repo = git.toplevel(cwd)
    config_check, cfg = _config_check(repo)
    if cfg.llamafile.external_server:  # nothing of ours on disk to check
        files = [
            Check("runtime", None, "not needed: your own server (install --server)"),
            Check("model", None, f"{cfg.ai.model}, asked of your server"),
        ]
    else:
        files = [
            _file_check("runtime", cfg.llamafile.path, paths.runtime_dir(), INSTALL),
            _file_check("model", cfg.llamafile.model_path, paths.models_dir(), INSTALL),
        ]
    return [
        config_check,
        *files,
        _server_check(cfg),
        _service_check(cfg.llamafile.external_server),
        _hook_check(cwd),
        _style_check(repo, cfg),
        _speed_check(cfg),
    ]


def all_ok(checks: list[Check]) -> bool:
    return all(check.ok is not False for check in checks)


def render(checks: list[Check]) -> str:
    lines = []
    for check in checks:
        mark = {True: "ok", False: "MISSING", None: "-"}[check.ok]
        lines.append(f"{mark:<8}{check.name:<9}{check.detail}")
        if check.ok is False and check.fix:
            lines.append(f"{'':<17}fix: {check.fix}")
    return "\n".join(lines)


def as_json(checks: list[Check]) -> dict[str, Any]:
    return {"ok": all_ok(checks), "checks": [asdict(check) for check in checks]}
