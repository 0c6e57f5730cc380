"""Start, stop and query the local model server (llamafile or llama.cpp's llama-server).

The server is always bound to 127.0.0.1. A taken port is an error (llamafile 0.9.3 would
otherwise drift silently to port+1 and the hook would talk to whatever owns the port). A
detached server leaves ``server.json`` (pid, port, command line) and ``server.log`` in the
state directory; ``stop`` only signals a pid whose command line still names our model, so a
recycled pid is never killed.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from commit_polish import paths
from commit_polish.errors import ServerError

HOST = "127.0.0.1"
CONTEXT_SIZE = 8192  # llamafile's default (512) is too small for a diff prompt
DEFAULT_TIMEOUT = 180.0
POLL = 0.25
STOP_GRACE = 10.0
KILL_GRACE = 5.0  # after SIGKILL the kernel may still be unmapping a model of several GB
LLAMAFILE = "llamafile"
LLAMA_SERVER = "llama-server"
# Early-exit output that means the kernel handed the APE binary to WINE / binfmt_misc.
_APE_FAILURES = ("run-detectors", "wine", "binfmt", "exec format error", "cannot execute")

Say = Callable[[str], None]
# Keeps detached Popen objects alive so their __del__ does not warn "still running".
_DETACHED: list[subprocess.Popen[bytes]] = []


def api_base(port: int) -> str:
    return f"http://{HOST}:{port}/v1"


def pid_file() -> Path:
    return paths.state_dir() / "server.json"


def log_file() -> Path:
    return paths.state_dir() / "server.log"


# ------------------------------------------------------------------------- command line


def _version_output(runtime: Path) -> str:
    try:
        proc = subprocess.run(
            [str(runtime), "--version"], capture_output=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (proc.stdout + proc.stderr).decode("utf-8", "replace")


def detect_kind(runtime: Path) -> tuple[str, tuple[int, ...]]:
    """("llamafile" | "llama-server", version) from the file name, else from ``--version``."""
    name = runtime.name.lower()
    if LLAMAFILE in name:
        kind = LLAMAFILE
    elif "llama-server" in name or "llama_server" in name:
        return LLAMA_SERVER, ()
    else:
        kind = LLAMAFILE if LLAMAFILE in _version_output(runtime).lower() else LLAMA_SERVER
    if kind == LLAMAFILE:
        return kind, _llamafile_version(runtime)
    return kind, ()


def _llamafile_version(runtime: Path) -> tuple[int, ...]:
    # Our own download needs no probe; a user's llamafile may be 0.10+, which dropped flags.
    if runtime.name.startswith("llamafile-0.9.3"):
        return (0, 9, 3)
    for word in _version_output(runtime).replace("v", " ").split():
        parts = word.split(".")
        if len(parts) >= 2 and all(p.isdigit() for p in parts):
            return tuple(int(p) for p in parts)
    return (0, 9, 3)


def command(
    runtime: Path,
    model: Path,
    port: int,
    *,
    kind: str,
    version: tuple[int, ...] = (),
    alias: str | None = None,
    gpu_layers: int = 0,
) -> list[str]:
    """The server command line for this runtime, bound to 127.0.0.1:PORT."""
    args = [str(runtime)]
    if kind == LLAMAFILE:
        args.append("--server")
        if version < (0, 10):  # 0.10 removed --nobrowser and exits when given it
            args.append("--nobrowser")
    args += ["-m", str(model), "--host", HOST, "--port", str(port), "-c", str(CONTEXT_SIZE)]
    if kind != LLAMAFILE:
        # llama-server's default is several slots, which splits the context and the prompt
        # cache between them; commits come one at a time.
        args += ["-np", "1"]
    if alias:
        args += ["-a", alias]
    if gpu_layers:  # both runtimes: -ngl; without a usable GPU they run on the CPU anyway
        args += ["-ngl", str(gpu_layers)]
    return args


def sh_fallback(args: list[str]) -> list[str]:
    """Run an APE binary as the shell script it also is, bypassing binfmt_misc / WINE."""
    return ["sh", *args]


# ------------------------------------------------------------------------------- probes


def port_in_use(port: int, host: str = HOST) -> bool:
    """Whether something already listens on host:port (what llamafile would drift away from)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        if os.name != "nt":
            # Still fails for a live listener, but not for TIME_WAIT leftovers of a stop.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def health(base: str, *, timeout: float = 2.0) -> str:
    """ "ok", "loading", "down" (nothing answers) or "other" (answers, but not as a server)."""
    from commit_polish import backend

    answer = backend.fetch("GET", backend.root_url(base) + "/health", timeout=timeout)
    if answer is None:
        return "down"
    if answer.status == 200:
        return "ok"
    if answer.status == 503:
        return "loading"
    if answer.status == 404:  # servers without /health: ask for the model list
        return "ok" if served_models(base, timeout=timeout) is not None else "other"
    return "other"


def served_models(base: str, *, timeout: float = 2.0) -> list[str] | None:
    """The model ids from ``/v1/models``, or None when nothing usable answers."""
    from commit_polish import backend

    answer = backend.fetch("GET", base.rstrip("/") + "/models", timeout=timeout)
    data = answer.data if answer is not None and answer.status == 200 else None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        return None
    return [str(item.get("id")) for item in data["data"] if isinstance(item, dict)]


# ----------------------------------------------------------------------------- pid file


@dataclass(frozen=True)
class Running:
    pid: int
    port: int
    runtime: str
    model: str
    log: str
    command: list[str]


def read_pid_file() -> Running | None:
    try:
        data = json.loads(pid_file().read_text(encoding="utf-8"))
        return Running(**data)
    except (FileNotFoundError, ValueError, TypeError):
        return None


def _write_pid_file(info: Running) -> None:
    from commit_polish.files import write_atomic

    pid_file().parent.mkdir(parents=True, exist_ok=True)
    write_atomic(pid_file(), json.dumps(asdict(info), indent=2).encode("utf-8"))


def _reap(pid: int) -> None:
    # When we are the parent (tests, serve in the foreground) a dead child stays a zombie
    # that still "exists" for kill(pid, 0) until it is waited for.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def command_line(pid: int) -> str | None:
    """The process's command line, or None when no such (live) process exists."""
    _reap(pid)
    proc = Path(f"/proc/{pid}/cmdline")
    if proc.parent.parent.joinpath("self").exists():
        try:
            raw = proc.read_bytes()
        except OSError:
            return None
        return raw.replace(b"\0", b" ").decode("utf-8", "replace") or None
    try:
        out = subprocess.run(
            ["ps", "-o", "command=", "-p", str(pid)], capture_output=True, check=False
        )
    except OSError:
        return None
    return out.stdout.decode("utf-8", "replace").strip() or None


def is_ours(info: Running) -> bool:
    """The pid is alive and still runs our model (not a recycled pid)."""
    line = command_line(info.pid)
    return line is not None and info.model in line


def running() -> Running | None:
    """The server we started, if it is still running (a stale pid file is removed)."""
    info = read_pid_file()
    if info is None:
        return None
    if is_ours(info):
        return info
    pid_file().unlink(missing_ok=True)
    return None


# ------------------------------------------------------------------------------ start


@dataclass(frozen=True)
class ServeOptions:
    runtime: Path
    model: Path
    port: int
    alias: str | None = None
    detach: bool = False
    timeout: float = DEFAULT_TIMEOUT
    gpu_layers: int = 0


def _check_files(opts: ServeOptions) -> None:
    if not opts.runtime.is_file():
        raise ServerError(f"runtime {opts.runtime} is missing; run: commit-polish install")
    if not os.access(opts.runtime, os.X_OK) and os.name != "nt":
        raise ServerError(
            f"runtime {opts.runtime} is not executable; run: chmod 755 {opts.runtime}"
        )
    if not opts.model.is_file():
        raise ServerError(f"model {opts.model} is missing; run: commit-polish install")


def _check_port(port: int) -> None:
    mine = running()
    if mine is not None and mine.port == port:
        raise ServerError(
            f"commit-polish's server is already running at {api_base(port)} (pid {mine.pid}); "
            "stop it with: commit-polish stop"
        )
    if port_in_use(port):
        raise ServerError(
            f"port {port} on {HOST} is already in use by another program; pick a free one "
            f"with: commit-polish serve --port {port + 1}"
        )


def spawn(args: list[str], *, detach: bool, log: Path) -> subprocess.Popen[bytes]:
    kwargs: dict[str, Any] = {"stdin": subprocess.DEVNULL}
    if detach:
        log.parent.mkdir(parents=True, exist_ok=True)
        handle = log.open("ab")
        kwargs.update(stdout=handle, stderr=subprocess.STDOUT)
        if os.name == "nt":
            kwargs["creationflags"] = (
                subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS  # type: ignore[attr-defined]
            )
        else:
            kwargs["start_new_session"] = True  # survives the terminal; stop signals the group
        try:
            return subprocess.Popen(args, **kwargs)
        finally:
            handle.close()
    # In the foreground the server's log goes to stderr: stdout carries only our URL line.
    return subprocess.Popen(args, stdout=2, **kwargs)


def _log_tail(log: Path, lines: int = 5) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return " | ".join(line.strip() for line in text.splitlines()[-lines:] if line.strip())


def _looks_like_ape_failure(log: Path) -> bool:
    tail = _log_tail(log, 20).lower()
    return any(marker in tail for marker in _APE_FAILURES)


def _wait_ready(proc: subprocess.Popen[bytes], port: int, timeout: float, log: Path) -> str:
    """Poll /health until ready; "exited" if the process died first."""
    deadline = time.monotonic() + timeout
    base = api_base(port)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return "exited"
        if health(base, timeout=2.0) == "ok":
            return "ok"
        time.sleep(POLL)
    return "timeout"


def terminate(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    signal_group(proc.pid, signal.SIGTERM)
    try:
        proc.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        signal_group(proc.pid, signal.SIGKILL if os.name != "nt" else signal.SIGTERM)
        proc.wait(STOP_GRACE)


def signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.name != "nt":
            try:
                os.killpg(pid, sig)
                return
            except (ProcessLookupError, PermissionError):
                pass
        os.kill(pid, sig)


def _launch(
    opts: ServeOptions, kind: str, version: tuple[int, ...], say: Say
) -> tuple[subprocess.Popen[bytes], list[str]]:
    """Start the runtime; for llamafile on Linux retry once through ``sh`` if the APE failed."""
    log = log_file()
    args = command(
        opts.runtime,
        opts.model,
        opts.port,
        kind=kind,
        version=version,
        alias=opts.alias,
        gpu_layers=opts.gpu_layers,
    )
    ape = kind == LLAMAFILE and sys.platform.startswith("linux")
    try:
        proc = spawn(args, detach=opts.detach, log=log)
    except OSError as exc:
        if not ape and exc.errno != errno.ENOEXEC:
            raise ServerError(f"cannot start {opts.runtime}: {exc.strerror}") from exc
        say(f"{opts.runtime.name} could not be executed directly; running it through sh")
        args = sh_fallback(args)
        return spawn(args, detach=opts.detach, log=log), args
    if ape:
        with contextlib.suppress(subprocess.TimeoutExpired):
            code = proc.wait(2.0)
            if code != 0 and (not opts.detach or _looks_like_ape_failure(log)):
                say(
                    f"{opts.runtime.name} exited at once (binfmt_misc/WINE?); running it through sh"
                )
                args = sh_fallback(args)
                proc = spawn(args, detach=opts.detach, log=log)
    return proc, args


def _start(opts: ServeOptions, say: Say) -> tuple[Running, subprocess.Popen[bytes]]:
    _check_files(opts)
    _check_port(opts.port)
    kind, version = detect_kind(opts.runtime)
    proc, args = _launch(opts, kind, version, say)
    say(f"starting {kind} on {api_base(opts.port)} (loading {opts.model.name}) ...")
    try:
        state = _wait_ready(proc, opts.port, opts.timeout, log_file())
    except BaseException:  # Ctrl-C while the model loads: leave nothing behind
        terminate(proc)
        raise
    if state != "ok":
        terminate(proc)
        where = f" (log: {log_file()}: {_log_tail(log_file())})" if opts.detach else ""
        if state == "exited":
            raise ServerError(
                f"{opts.runtime.name} exited with code {proc.returncode} before it was ready{where}"
            )
        raise ServerError(
            f"{opts.runtime.name} was not ready after {opts.timeout:.0f}s; try a longer "
            f"--timeout{where}"
        )
    info = Running(
        pid=proc.pid,
        port=opts.port,
        runtime=str(opts.runtime),
        model=str(opts.model),
        log=str(log_file()) if opts.detach else "",
        command=args,
    )
    return info, proc


def start(opts: ServeOptions, *, say: Say) -> Running:
    """Start the server detached and wait until ``/health`` is ok. Raises ServerError."""
    opts = replace(opts, detach=True)
    info, proc = _start(opts, say)
    _write_pid_file(info)
    keep(proc)
    return info


def keep(proc: subprocess.Popen[bytes]) -> None:
    """Keep a detached process's Popen alive: its __del__ would warn "still running"."""
    _DETACHED.append(proc)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve_foreground(opts: ServeOptions, *, say: Say, ready: Callable[[Running], None]) -> int:
    """Run the server until it exits or Ctrl-C / SIGTERM; returns the exit code to use."""
    opts = replace(opts, detach=False)
    proc: subprocess.Popen[bytes] | None = None
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        info, proc = _start(opts, say)
        ready(info)
        return proc.wait()
    except KeyboardInterrupt:
        if proc is not None:
            terminate(proc)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)


# ------------------------------------------------------------------------------- stop


def _is_zombie(pid: int) -> bool:
    """Whether pid has exited and only waits for a parent other than us to reap it."""
    if Path("/proc/self").exists():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False  # gone meanwhile: the next kill(pid, 0) says so
        # The state letter follows the ")" that closes the command name (which may hold ")").
        return stat.rpartition(")")[2].split()[:1] == ["Z"]
    args = ["ps", "-o", "stat=", "-p", str(pid)]  # macOS: no /proc
    try:
        out = subprocess.run(args, capture_output=True, check=False)
    except OSError:
        return False
    return out.stdout.strip().startswith(b"Z")


def process_gone(pid: int) -> bool:
    """No such process any more: reaped if it was our child, else absent or a zombie."""
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, under another user
    return _is_zombie(pid)


def _wait_stopped(info: Running, timeout: float, gone: bool) -> tuple[bool, bool]:
    """Poll until the pid is gone and the port is free; (pid gone, port free) at the end."""
    deadline = time.monotonic() + timeout
    while True:
        # Once gone, the pid is never looked at again: by now it may be someone else's.
        gone = gone or process_gone(info.pid)
        # "Gone" may be a zombie leader whose other threads still run and hold the port.
        free = gone and not port_in_use(info.port)
        if free or time.monotonic() >= deadline:
            return gone, free
        time.sleep(0.1)


def _kill(pid: int, gone: bool) -> None:
    """SIGKILL the server's process group; the bare pid only while it is still ours."""
    if not gone:
        signal_group(pid, signal.SIGKILL if os.name != "nt" else signal.SIGTERM)
    elif os.name != "nt":
        # A child left in the group may hold the port. POSIX never reuses a pid while a
        # group of that id has members, so this reaches only processes the server started.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


def _not_stopped(info: Running, gone: bool) -> str:
    if gone:
        return (
            f"server pid {info.pid} exited, but port {info.port} on {HOST} still accepts "
            f"connections; find what holds it with: lsof -nP -iTCP:{info.port} -sTCP:LISTEN"
        )
    return (
        f"server pid {info.pid} did not exit even after SIGKILL; look at it with: "
        f"ps -o pid,stat,command -p {info.pid}, then run: commit-polish stop"
    )


def stop(*, timeout: float = STOP_GRACE) -> Running | None:
    """Stop the server ``serve --detach`` started. None when none is running.

    Returns only once the process is gone and its port is free, so a ``serve`` right after
    can bind it; SIGKILL after ``timeout`` seconds, ServerError if even that does not do.
    """
    info = running()  # the identity check: a recycled pid is never signalled
    if info is None:
        return None
    signal_group(info.pid, signal.SIGTERM)
    # Not "until the command line stops naming our model": an exiting process reads as
    # having none while it still runs and holds the port.
    gone, free = _wait_stopped(info, timeout, gone=False)
    if not free:
        _kill(info.pid, gone)
        gone, free = _wait_stopped(info, KILL_GRACE, gone)
    if gone:  # the record is stale whatever holds the port; kept while the pid lives
        pid_file().unlink(missing_ok=True)
    if not free:
        raise ServerError(_not_stopped(info, gone))
    return info


# ----------------------------------------------------------------------- from the config


def options_from_config(
    *, port: int | None = None, detach: bool = False, timeout: float = DEFAULT_TIMEOUT
) -> ServeOptions:
    """ServeOptions from the user's config; a new ``port`` is saved with a matching api_base."""
    from commit_polish import config

    cfg = config.load(None)
    if cfg.llamafile.external_server:
        raise ServerError(
            f"the config uses your own server at {cfg.llamafile.api_base} (install --server): "
            "start that one (and 'commit-polish serve --service-only' for the warm service); "
            "or run 'commit-polish install' to download commit-polish's own"
        )
    if not cfg.llamafile.path or not cfg.llamafile.model_path:
        raise ServerError("no runtime or model is configured; run: commit-polish install")
    moved = port is not None and port != cfg.llamafile.port
    if port is not None and (moved or cfg.llamafile.api_base != api_base(port)):
        # The hook reads api_base: keep it pointing where the server will listen.
        config.write_user_config({"port": port, "api_base": api_base(port)})
    chosen = port if port is not None else cfg.llamafile.port
    alias = cfg.ai.model.split("/", 1)[-1] or None
    return ServeOptions(
        runtime=Path(cfg.llamafile.path),
        model=Path(cfg.llamafile.model_path),
        port=chosen,
        alias=alias,
        detach=detach,
        timeout=timeout,
        gpu_layers=cfg.llamafile.gpu_layers,
    )
