"""commit-polish's warm service: a small process beside the model server that keeps LiteLLM
imported and carries the hook's requests to the server over a Unix domain socket.

The hook builds its request as always (git, prompt, budget and redaction stay in the hook).
With a service of its own version listening, it hands the finished ``llm.Request`` over
instead of importing LiteLLM (seconds and a hundred MB on every commit), and its /props and
/tokenize questions go the same way (httpx alone is 100 ms of imports). When no service
answers (no socket, refused, a stale socket file, another version) the hook goes on
in-process as without one: a connect to a Unix socket nobody holds fails at once.

The wire: one JSON line each way per connection, at most MAX_REQUEST / MAX_REPLY bytes. The
socket is 0600 in a 0700 directory, and each side checks that the other runs under its own
uid (SO_PEERCRED; LOCAL_PEERCRED on macOS); where that cannot be checked, nothing is sent.

    python -m commit_polish.service   # what ``commit-polish serve`` starts beside the server
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from commit_polish import __version__, deadline, llm, localonly, paths
from commit_polish.errors import START_SERVER, CommitPolishError, LLMError, ServerError

if TYPE_CHECKING:
    from commit_polish.backend import Answer

PROTOCOL = __version__  # a hook and a service of different versions do not talk
MAX_REQUEST = 8 * 1024 * 1024
MAX_REPLY = 1024 * 1024
PING_TIMEOUT = 1.0  # a warm service answers in a millisecond; a hung one costs this much
READ_TIMEOUT = 10.0  # for the hook's request line, sent as soon as it has connected
# The service gives up this much before the hook does, so that a slow model server is
# reported as one, not as a hung service.
MARGIN = 0.25
MAX_FETCH_TIMEOUT = 30.0
START_TIMEOUT = 120.0  # importing LiteLLM on a busy machine
STOP_TIMEOUT = 5.0
MAX_CONNECTIONS = 8
MODULE = "commit_polish.service"
RESTART = f"commit-polish stop, then {START_SERVER}"

Say = Callable[[str], None]


class ProtocolError(Exception):
    """The other side sent something that is not a message of ours."""


class Unavailable(Exception):
    """No service of ours holds the socket: the caller goes on in-process."""


def socket_path() -> Path:
    return paths.service_dir() / "service.sock"


def pid_file() -> Path:
    return paths.state_dir() / "service.json"


def log_file() -> Path:
    return paths.state_dir() / "service.log"


def available() -> bool:
    """Whether this system has Unix domain sockets and uids (not Windows)."""
    return hasattr(socket, "AF_UNIX") and hasattr(os, "getuid")


# ------------------------------------------------------------------------ peer credentials


def _peer_uid_so_peercred(sock: socket.socket) -> int:
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", raw)[1])  # pid, uid, gid


_SOL_LOCAL, _LOCAL_PEERCRED, _XUCRED_SIZE = 0, 1, 76


def _peer_uid_local_peercred(sock: socket.socket) -> int:
    # struct xucred { u_int cr_version; uid_t cr_uid; short cr_ngroups; gid_t cr_groups[16]; }
    raw = sock.getsockopt(_SOL_LOCAL, _LOCAL_PEERCRED, _XUCRED_SIZE)
    version, uid = struct.unpack("2I", raw[:8])
    if version != 0:
        raise OSError(f"unknown struct xucred version {version}")
    return int(uid)


def _peer_uid_reader() -> Callable[[socket.socket], int] | None:
    if hasattr(socket, "SO_PEERCRED"):
        return _peer_uid_so_peercred
    if sys.platform == "darwin" or sys.platform.startswith("freebsd"):
        return _peer_uid_local_peercred
    return None


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process at the other end of ``sock``, or None when this system
    cannot say."""
    read = _peer_uid_reader()
    if read is None:
        return None
    try:
        return read(sock)
    except (OSError, struct.error):
        return None


def peer_allowed(uid: int | None, own: int) -> bool:
    """Only a process of our own uid may talk to us; an unknown uid is refused."""
    return uid is not None and uid == own


def _peer_is_us(sock: socket.socket) -> bool:
    return peer_allowed(peer_uid(sock), os.getuid())


# ------------------------------------------------------------------------------- the wire


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n"


def read_line(sock: socket.socket, *, limit: int, end: float) -> bytes:
    """One line (without its newline) of at most ``limit`` bytes, read by ``end``
    (a ``time.monotonic()``): a peer that drips a byte at a time is cut off too."""
    buf = bytearray()
    while True:
        left = end - time.monotonic()
        if left <= 0:
            raise TimeoutError("no whole message in time")
        sock.settimeout(left)
        chunk = sock.recv(min(65536, limit + 1 - len(buf)))
        if not chunk:
            raise ProtocolError("the connection was closed before a whole message came")
        start = len(buf)
        buf += chunk
        newline = buf.find(b"\n", start)
        if newline >= 0:
            return bytes(buf[:newline])
        if len(buf) > limit:
            raise ProtocolError(f"a message over {limit // 1024} KiB")


def decode(line: bytes) -> dict[str, Any]:
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise ProtocolError(f"not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ProtocolError("not a JSON object")
    return data


def _number(data: dict[str, Any], key: str) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProtocolError(f"{key} must be a number, not {value!r:.40}")
    return float(value)


def _count(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise ProtocolError(f"{key} must be a whole number or null, not {value!r:.40}")


def request_json(req: llm.Request, timeout: float) -> dict[str, Any]:
    """``req`` as sent to the service, with the seconds it may take."""
    return {**asdict(req), "timeout": timeout}


def request_from(data: Any) -> llm.Request:
    """The llm.Request in a message; ProtocolError naming the field at fault."""
    if not isinstance(data, dict):
        raise ProtocolError("request must be a JSON object")
    for key in ("model", "api_base"):
        if not isinstance(data.get(key), str):
            raise ProtocolError(f"{key} must be a string")
    messages = data.get("messages")
    if not isinstance(messages, list) or not all(
        isinstance(m, dict) and all(isinstance(v, str) for v in m.values()) for m in messages
    ):
        raise ProtocolError("messages must be a list of objects of strings")
    extra = data.get("extra_body", {})
    if not isinstance(extra, dict):
        raise ProtocolError("extra_body must be a JSON object")
    max_tokens = _count(data, "max_tokens")
    if max_tokens is None:
        raise ProtocolError("max_tokens must be a whole number")
    return llm.Request(
        model=data["model"],
        messages=messages,
        api_base=data["api_base"],
        temperature=_number(data, "temperature"),
        max_tokens=max_tokens,
        timeout=max(_number(data, "timeout"), 0.0),
        extra_body=extra,
    )


def reply_from(data: Any) -> llm.Reply:
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise ProtocolError("reply must be an object with a text")
    if len(data["text"]) > llm.MAX_REPLY_CHARS:
        raise ProtocolError("the reply's text is too long")
    return llm.Reply(
        text=data["text"],
        prompt_tokens=_count(data, "prompt_tokens"),
        completion_tokens=_count(data, "completion_tokens"),
        seconds=_number(data, "seconds"),
        cached_tokens=_count(data, "cached_tokens"),
        timings=llm.timings_of(data.get("timings")),
    )


def failure(kind: str, text: str) -> dict[str, Any]:
    """A failed answer: ``kind`` says what the hook makes of it, ``message`` is one line."""
    return {"ok": False, "kind": kind, "protocol": PROTOCOL, "message": " ".join(text.split())}


# ----------------------------------------------------------------------------- the client


def exchange(path: Path, message: dict[str, Any], *, seconds: float) -> dict[str, Any]:
    """Send one message and read the answer, all within ``seconds``. Unavailable when no
    service of our uid holds ``path``; OSError or ProtocolError when it failed afterwards."""
    end = time.monotonic() + seconds
    data = encode({"protocol": PROTOCOL, **message})
    if len(data) > MAX_REQUEST or seconds <= 0 or not available():
        raise Unavailable("nothing to send, or no time or way to send it")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(seconds)
        try:
            sock.connect(str(path))
        except OSError as exc:  # no socket file, or a stale one nobody listens on
            raise Unavailable(str(exc)) from exc
        if not _peer_is_us(sock):
            raise Unavailable(f"{path} is not held by a process of this user")
        sock.sendall(data)
        return decode(read_line(sock, limit=MAX_REPLY, end=end))


def ping(path: Path, *, seconds: float = PING_TIMEOUT) -> dict[str, Any] | None:
    """What the service at ``path`` says about itself, or None when none answers."""
    try:
        return exchange(path, {"op": "ping"}, seconds=seconds)
    except (Unavailable, OSError, ProtocolError):
        return None


# The socket of the live service this process talks to (None: none), once asked.
_live: dict[str, Path | None] = {}


def connect(api_base: str) -> Path | None:
    """The socket of a live service of our version that will carry requests for
    ``api_base`` (on this machine only: the service holds its user's environment, not
    the hook's keys for a remote one), else None. Asked once per process."""
    if not localonly.is_loopback(api_base):
        return None
    if "path" not in _live:
        path = socket_path()
        answer = ping(path, seconds=deadline.remaining(PING_TIMEOUT))
        _live["path"] = path if answer is not None and answer.get("ok") is True else None
    return _live["path"]


def carries(url: str) -> bool:
    """Whether requests for ``url`` go through the service (:func:`connect` found one)."""
    return _live.get("path") is not None and localonly.is_loopback(url)


def _broken(path: Path, what: str) -> LLMError:
    return LLMError(f"commit-polish's service at {path} {what} (restart it with: {RESTART})")


def complete(req: llm.Request, *, status: deadline.Status | None = None) -> llm.Reply:
    """``req`` sent through the service within ``req.timeout`` seconds in all (the budget
    covers connect and reply). LLMError with the hook's usual line when the model server
    failed, naming the service when it did; in-process when the service went away."""
    path = _live["path"]
    assert path is not None
    seconds = deadline.remaining(req.timeout)
    if seconds <= MARGIN:  # no time left for the service to try the server at all
        raise llm.no_answer(req)
    sent = {"op": "complete", "request": request_json(req, max(seconds - MARGIN, 0.0))}
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["answer"] = exchange(path, sent, seconds=seconds)
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    if not deadline.run_bounded(work, seconds=seconds, name="service", status=status):
        raise _broken(path, f"did not answer within {req.timeout:.0f}s")
    error = outcome.get("error")
    if isinstance(error, Unavailable):  # stopped since it was asked: as without one
        _live["path"] = None
        return llm.answer(req, status=status)
    if error is not None:
        raise _broken(path, f"failed ({type(error).__name__}: {error})") from error
    return _reply(outcome["answer"], req, path, status)


def _reply(
    answer: dict[str, Any], req: llm.Request, path: Path, status: deadline.Status | None
) -> llm.Reply:
    if answer.get("ok") is True:
        try:
            return reply_from(answer.get("reply"))
        except ProtocolError as exc:
            raise _broken(path, f"sent a reply that is not one ({exc})") from None
    kind, text = answer.get("kind"), str(answer.get("message", ""))[:300]
    if kind == "timeout":  # the hook's own line, naming what else took its time
        raise llm.no_answer(req)
    if kind == "llm":
        raise LLMError(" ".join(text.split()))
    if kind == "version":  # replaced by another version since it was asked
        _live["path"] = None
        return llm.answer(req, status=status)
    raise _broken(path, f"could not send the request ({kind}: {text})")


def fetch(method: str, url: str, *, timeout: float, body: dict[str, Any] | None) -> Answer | None:
    """``backend.fetch`` through the service: None when nothing answered."""
    from commit_polish.backend import Answer

    path = _live.get("path")
    if path is None:
        return None
    sent = {"op": "fetch", "method": method, "url": url, "body": body, "timeout": timeout}
    try:
        answer = exchange(path, sent, seconds=timeout + MARGIN)
    except (Unavailable, OSError, ProtocolError):
        return None
    code = answer.get("status")
    if answer.get("ok") is not True or not isinstance(code, int):
        return None
    return Answer(code, answer.get("data"))


# ---------------------------------------------------------------------------- the service


def respond(message: dict[str, Any]) -> dict[str, Any]:
    """The answer to one message from a hook."""
    if message.get("protocol") != PROTOCOL:
        return failure("version", f"this service speaks commit-polish {PROTOCOL}")
    op = message.get("op")
    if op == "ping":
        return {"ok": True, "protocol": PROTOCOL, "pid": os.getpid(), "warm": llm.litellm_loaded()}
    if op == "complete":
        return _complete(message.get("request"))
    if op == "fetch":
        return _fetch(message)
    return failure("bad-request", f"unknown op {op!r:.40}")


# One request at a time reaches LiteLLM (whose error hook keeps the last error in a global)
# and the server (one slot): commits come one at a time anyway.
_one_at_a_time = threading.Lock()


def _complete(data: Any) -> dict[str, Any]:
    try:
        req = request_from(data)
    except ProtocolError as exc:
        return failure("bad-request", str(exc))
    if not localonly.is_loopback(req.api_base):
        return failure("bad-request", f"api_base {req.api_base} is not on this machine")
    if not _one_at_a_time.acquire(timeout=max(req.timeout, 0.01)):
        return failure("timeout", "another request held the server")
    try:
        reply = llm.answer(req)
    except llm.NoAnswer as exc:
        return failure("timeout", str(exc))
    except LLMError as exc:
        return failure("llm", str(exc))
    except Exception as exc:  # a bug of ours: one line to the hook, the service goes on
        return failure("internal", f"{type(exc).__name__}: {exc}")
    finally:
        _one_at_a_time.release()
    return {"ok": True, "reply": asdict(reply)}


def _fetch(message: dict[str, Any]) -> dict[str, Any]:
    from commit_polish import backend

    method, url, body = message.get("method"), message.get("url"), message.get("body")
    if method not in ("GET", "POST") or not isinstance(url, str) or not localonly.is_loopback(url):
        return failure("bad-request", "fetch takes GET or POST of a URL on this machine")
    if body is not None and not isinstance(body, dict):
        return failure("bad-request", "body must be a JSON object or null")
    try:
        timeout = min(max(_number(message, "timeout"), 0.01), MAX_FETCH_TIMEOUT)
    except ProtocolError as exc:
        return failure("bad-request", str(exc))
    answer = backend.fetch(method, url, timeout=timeout, body=body)
    if answer is None:
        return failure("down", f"nothing answered at {url}")
    return {"ok": True, "status": answer.status, "data": answer.data}


def handle(conn: socket.socket) -> None:
    """Answer one connection: a peer of another uid gets nothing at all."""
    with conn:
        if not _peer_is_us(conn):
            return
        try:
            line = read_line(conn, limit=MAX_REQUEST, end=time.monotonic() + READ_TIMEOUT)
            answer = respond(decode(line))
        except ProtocolError as exc:
            answer = failure("bad-request", str(exc))
        except OSError:
            return  # the hook went away or sent nothing in time: no one to tell
        data = encode(answer)
        if len(data) > MAX_REPLY:
            data = encode(failure("too-large", f"the answer was over {MAX_REPLY // 1024} KiB"))
        with contextlib.suppress(OSError):
            conn.settimeout(READ_TIMEOUT)
            conn.sendall(data)


def private_dir(directory: Path) -> None:
    """``directory``, created 0700 when missing; ServerError unless it is a real directory
    of ours (not a symlink, not another user's), and no one else may enter it."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(directory)
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid():
            if info.st_mode & 0o077:
                os.chmod(directory, 0o700)
            return
    except OSError as exc:
        raise ServerError(f"cannot use {directory} for the service's socket: {exc}") from exc
    raise ServerError(
        f"{directory} is not a directory of this user; remove it, or set XDG_RUNTIME_DIR"
    )


def listen(path: Path) -> socket.socket:
    """A listening socket at ``path`` (0600 in a 0700 directory), replacing a stale one."""
    private_dir(path.parent)
    if ping(path) is not None:
        raise ServerError(f"a commit-polish service already listens at {path}")
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            raise ServerError(f"{path} exists and is not a socket; remove it")
        path.unlink()  # stale: nobody answered at it
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    mask = os.umask(0o177)  # 0600 from the start, not after a chmod
    try:
        sock.bind(str(path))
    except OSError as exc:
        sock.close()
        raise ServerError(f"cannot listen at {path}: {exc.strerror or exc}") from exc
    finally:
        os.umask(mask)
    sock.listen(16)
    return sock


def warm() -> None:
    """Import LiteLLM and what its first call imports, before any hook is served."""
    llm.prewarm()
    llm.finish_prewarm()


def run(path: Path, *, ready: Callable[[], None] | None = None) -> None:
    """Warm up, then answer hooks at ``path`` until interrupted; the socket is removed."""
    warm()
    listener = listen(path)
    made = os.stat(path).st_ino
    slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def one(conn: socket.socket) -> None:
        try:
            handle(conn)
        finally:
            slots.release()

    try:
        if ready is not None:
            ready()
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:  # out of file descriptors, say: the hooks go in-process meanwhile
                time.sleep(0.1)
                continue
            if not slots.acquire(blocking=False):
                conn.close()  # a flood of connections: this one goes in-process
                continue
            threading.Thread(target=one, args=(conn,), daemon=True).start()
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            if os.stat(path).st_ino == made:  # not a newer service's socket
                path.unlink()


def main(argv: list[str] | None = None) -> int:
    import argparse
    import signal

    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}")
    parser.add_argument("--socket", type=Path, default=None, help="default: " + str(socket_path()))
    args = parser.parse_args(argv)
    path: Path = args.socket or socket_path()

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)

    def ready() -> None:
        sys.stderr.write(f"commit-polish service: warm, listening at {path} (pid {os.getpid()})\n")
        sys.stderr.flush()

    try:
        run(path, ready=ready)
    except KeyboardInterrupt:
        return 0
    except CommitPolishError as exc:
        sys.stderr.write(f"commit-polish service: {exc}\n")
        return 1
    return 0


# -------------------------------------------------------------------------- its lifecycle


@dataclass(frozen=True)
class Service:
    pid: int
    socket: str
    version: str
    log: str


def read_pid_file() -> Service | None:
    try:
        return Service(**json.loads(pid_file().read_text(encoding="utf-8")))
    except (FileNotFoundError, ValueError, TypeError):
        return None


def _is_ours(pid: int) -> bool:
    from commit_polish import server

    line = server.command_line(pid)
    return line is not None and MODULE in line


def start(*, detach: bool, say: Say) -> Starting | None:
    """Start the service (it warms up while the caller starts the model server); None,
    said in one line, when it cannot run here: the hook then imports LiteLLM itself, as
    without a service. A warm one of our version is kept; another one is replaced."""
    from commit_polish import server

    if not available():
        say("no Unix domain sockets here: the hook imports LiteLLM itself on every commit")
        return None
    path = socket_path()
    answer = ping(path)
    if answer is not None and answer.get("ok") is True:
        known = read_pid_file() or Service(int(answer.get("pid", 0)), str(path), PROTOCOL, "")
        return Starting(None, known, detach)
    stop()
    args = [sys.executable, "-m", MODULE, "--socket", str(path)]
    try:
        proc = server.spawn(args, detach=detach, log=log_file())
    except OSError as exc:
        say(f"the commit-polish service did not start ({exc}); the hook works without it")
        return None
    return Starting(proc, None, detach)


@dataclass
class Starting:
    """A service on its way up (``proc``), or one already running (``ready``)."""

    proc: subprocess.Popen[bytes] | None
    ready: Service | None
    detach: bool

    def wait(self, say: Say, *, timeout: float = START_TIMEOUT) -> Service | None:
        """The service once it answers; None, said in one line, when it did not come up."""
        from commit_polish import server

        if self.ready is not None or self.proc is None:
            return self.ready
        path, end = socket_path(), time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < end:
            answer = ping(path)
            if answer is not None and answer.get("ok") is True:
                log = str(log_file()) if self.detach else ""
                self.ready = Service(self.proc.pid, str(path), PROTOCOL, log)
                _write_pid_file(self.ready)
                server.keep(self.proc)
                return self.ready
            time.sleep(0.1)
        self.cancel()
        where = f" (log: {log_file()})" if self.detach else ""
        say(f"the commit-polish service did not start{where}; the hook works without it")
        return None

    def cancel(self) -> None:
        """Stop a service this start began (the model server did not come up, or the
        foreground serve ends)."""
        from commit_polish import server

        if self.proc is None:
            return
        server.terminate(self.proc)
        if self.ready is not None:
            pid_file().unlink(missing_ok=True)
        _remove_stale(socket_path())


def _write_pid_file(info: Service) -> None:
    from commit_polish.files import write_atomic

    pid_file().parent.mkdir(parents=True, exist_ok=True)
    write_atomic(pid_file(), json.dumps(asdict(info), indent=2).encode("utf-8"))


def stop(*, timeout: float = STOP_TIMEOUT) -> Service | None:
    """Stop the service :func:`start` started (only a pid still running it is signalled);
    a socket file nobody answers at is removed. None when none was running."""
    import signal

    from commit_polish import server

    info = read_pid_file()
    stopped = None
    if info is not None and _is_ours(info.pid):
        server.signal_group(info.pid, signal.SIGTERM)
        end = time.monotonic() + timeout
        while not server.process_gone(info.pid) and time.monotonic() < end:
            time.sleep(0.05)
        if not server.process_gone(info.pid):
            server.signal_group(info.pid, signal.SIGKILL)
        stopped = info
    pid_file().unlink(missing_ok=True)
    _remove_stale(socket_path())
    return stopped


def _remove_stale(path: Path) -> None:
    with contextlib.suppress(OSError):
        if stat.S_ISSOCK(os.lstat(path).st_mode) and ping(path, seconds=0.2) is None:
            path.unlink()


if __name__ == "__main__":
    from commit_polish.deadline import exit_process

    exit_process(main(), teardown=False)
