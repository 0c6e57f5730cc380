"""The fault suite's tools: a raw-socket stand-in server that misbehaves on request, real
``git commit`` helpers, and the collector behind ``docs/reliability.md``.

Each fault test calls ``fault(name, expected)`` and then ``.observed(text)``; the rows
(fault, expected, observed, outcome) are written as JSON to ``$RELIABILITY_RESULTS`` when
that is set. ``python tests/faults/make_report.py`` runs this directory with it set and
renders the table.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import commit_count, completion, git, hook_lines, last_message

HERE = Path(__file__).resolve().parent
DOC = HERE.parents[1] / "docs" / "reliability.md"
RESULTS_ENV = "RELIABILITY_RESULTS"

_rows: list[dict[str, str]] = []


# ---------------------------------------------------------------------- the collector


class Fault:
    def __init__(self, record: Callable[[str, object], None], name: str, expected: str) -> None:
        self._record = record
        self.name = name
        record("fault", name)
        record("expected", expected)

    def observed(self, text: str) -> None:
        self._record("observed", normalize(text))


@pytest.fixture
def fault(record_property: Callable[[str, object], None]) -> Callable[[str, str], Fault]:
    def make(name: str, expected: str) -> Fault:
        return Fault(record_property, name, expected)

    return make


def normalize(text: str) -> str:
    """Observed text without what changes from run to run (ports, temp paths)."""
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)
    text = re.sub(r"/tmp/\S*?/(repo|wt\d|home|msg)\b", r"<tmp>/\1", text)
    text = re.sub(r"/(?:tmp|var)/\S+/(\S+)", r"<tmp>/\1", text)
    return text


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    props = dict(report.user_properties)
    if "fault" not in props:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _rows.append(
            {
                "fault": str(props["fault"]),
                "expected": str(props.get("expected", "")),
                "observed": str(props.get("observed", "(test ended before observing)")),
                "outcome": report.outcome,
                "test": report.nodeid,
            }
        )


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get(RESULTS_ENV)
    if target:
        Path(target).write_text(json.dumps(_rows, indent=1))
        return
    if _rows and DOC.exists():
        documented = DOC.read_text()
        missing = [row["fault"] for row in _rows if f"| {row['fault']} |" not in documented]
        if missing:
            reporter = session.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.write_line(
                    f"docs/reliability.md does not list {len(missing)} fault(s) run here "
                    f"({missing[0]!r}…); regenerate it: python tests/faults/make_report.py",
                    yellow=True,
                )


# ------------------------------------------------------------------- stand-in server

Behaviour = Callable[["FaultServer", socket.socket, dict[str, object]], None]


@dataclass
class FaultServer:
    """An HTTP/1.1 server on 127.0.0.1 written on raw sockets, so that it can misbehave in
    ways http.server would not: hang, drip, reset, send bytes that are not UTF-8."""

    behaviour: Behaviour
    requests: list[dict[str, object]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.api_base = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                body = read_request(conn)
            except (OSError, ValueError):
                return
            if body is None:  # the hook's "is anyone listening" probe
                return
            self.requests.append(body)
            with contextlib.suppress(OSError):
                self.behaviour(self, conn, body)

    def close(self) -> None:
        self.stop.set()
        # close() alone would not wake the thread blocked in accept(): on Linux the socket
        # would go on listening and take one more connection, and its descriptor number
        # could meanwhile be reused by the next test's server. A later test then got this
        # server's answer (an HTTP 401 for a disk-full fault). shutdown() ends the accept.
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(5)


def read_request(conn: socket.socket) -> dict[str, object] | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    parsed: dict[str, object] = json.loads(rest[:length] or b"{}")
    return parsed


def http_response(status: int, body: bytes, content_type: str = "application/json") -> bytes:
    reason = {200: "OK", 401: "Unauthorized", 404: "Not Found", 500: "Internal Server Error"}
    return (
        f"HTTP/1.1 {status} {reason.get(status, 'Status')}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body


def reply(text: str) -> Behaviour:
    def send(server: FaultServer, conn: socket.socket, body: dict[str, object]) -> None:
        conn.sendall(http_response(200, json.dumps(completion(text)).encode()))

    return send


def raw(status: int, payload: bytes, content_type: str = "application/json") -> Behaviour:
    def send(server: FaultServer, conn: socket.socket, body: dict[str, object]) -> None:
        conn.sendall(http_response(status, payload, content_type))

    return send


def hang(server: FaultServer, conn: socket.socket, body: dict[str, object]) -> None:
    server.stop.wait(120)


def drip(server: FaultServer, conn: socket.socket, body: dict[str, object]) -> None:
    """A well-formed reply, one byte every half second."""
    data = http_response(200, json.dumps(completion("feat: eventually")).encode())
    for byte in data:
        if server.stop.wait(0.5):
            return
        conn.sendall(bytes([byte]))


def reset_mid_reply(server: FaultServer, conn: socket.socket, body: dict[str, object]) -> None:
    data = http_response(200, json.dumps(completion("feat: cut short")).encode())
    conn.sendall(data[: len(data) // 2])
    time.sleep(0.1)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST


@pytest.fixture
def fault_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Behaviour], FaultServer]]:
    servers: list[FaultServer] = []

    def start(behaviour: Behaviour) -> FaultServer:
        server = FaultServer(behaviour)
        servers.append(server)
        monkeypatch.setenv("COMMIT_POLISH_API_BASE", server.api_base)
        return server

    yield start
    for server in servers:
        server.close()


# -------------------------------------------------------------------------- commits

GIT_TEMPLATE_START = "\n# Please enter the commit message for your changes."


@dataclass
class Commit:
    returncode: int
    stderr: str
    seconds: float

    @property
    def hook_lines(self) -> list[str]:
        return hook_lines(self.stderr)


def run_commit(repo: Path, *args: str, timeout: float = 60) -> Commit:
    started = time.monotonic()
    proc = subprocess.run(
        ["git", "commit", *args], cwd=repo, capture_output=True, text=True, timeout=timeout
    )
    return Commit(proc.returncode, proc.stderr, time.monotonic() - started)


def stage(
    repo: Path, name: str = "greet.py", text: str = "def greet():\n    return 'hi'\n"
) -> None:
    (repo / name).write_text(text)
    git(repo, "add", name)


def describe(commit: Commit, repo: Path, before: int) -> str:
    """What a user saw: whether a commit was made, with what message, and the hook's line."""
    made = commit_count(repo) > before
    outcome = f"commit made with message {last_message(repo)!r}" if made else "no commit made"
    lines = commit.hook_lines
    said = "; hook printed nothing" if not lines else "; hook said `" + "` / `".join(lines) + "`"
    return f"exit {commit.returncode}, {outcome}{said}"
