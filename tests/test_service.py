"""commit-polish's warm service: real ``git commit`` through the hook with a real service
process (its LiteLLM sends to the FakeLLMServer), the fallbacks when no usable service
answers, the uid check, the bounds on messages, and start / stop / status.

Whether the hook process imported LiteLLM or httpx is what it records itself in
``$COMMIT_POLISH_STATS`` (``via`` and ``imported``), written by the hook, not the service.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers import FakeLLMServer, git, hook_lines, last_message

from commit_polish import llm, service
from commit_polish import status as doctor
from commit_polish.errors import ServerError
from commit_polish.service import PROTOCOL, ProtocolError

GENERATED = "feat: add greeting module"
SLACK = 6  # interpreter and git start-up on a busy machine
PING_OK = {"ok": True, "protocol": PROTOCOL, "pid": 1, "warm": True}
RESTART = "(restart it with: commit-polish stop, then commit-polish serve --detach)"


def stage(repo: Path) -> None:
    (repo / "greet.py").write_text("def greet():\n    return 'hi'\n")
    git(repo, "add", "greet.py")


def commit(repo: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = git(repo, "commit", check=False)
    return result, time.monotonic() - started


@pytest.fixture
def stats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[dict[str, Any]]]:
    """The lines the hook recorded about its replies."""
    path = tmp_path / "stats.jsonl"
    monkeypatch.setenv("COMMIT_POLISH_STATS", str(path))

    def lines() -> list[dict[str, Any]]:
        text = path.read_text() if path.exists() else ""
        return [json.loads(line) for line in text.splitlines()]

    return lines


Answer = Callable[[dict[str, Any]], "dict[str, Any] | bytes | None"]


class StandIn:
    """Something at the hook's service socket that answers as ``answer`` says: a message,
    raw bytes (then the connection is closed), or None (the connection is held, silent)."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.path = service.socket_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(self.path))
        self.sock.listen(16)
        self.seen: list[dict[str, Any]] = []
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError, ProtocolError):
            message = service.decode(
                service.read_line(conn, limit=service.MAX_REQUEST, end=time.monotonic() + 10)
            )
            self.seen.append(message)
            answer = self.answer(message)
            if answer is None:
                self.stop.wait(60)
            elif isinstance(answer, bytes):
                conn.sendall(answer)
            else:
                conn.sendall(service.encode(answer))

    def close(self) -> None:
        self.stop.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


@pytest.fixture
def stand_in() -> Iterator[Callable[[Answer], StandIn]]:
    made: list[StandIn] = []

    def start(answer: Answer) -> StandIn:
        made.append(StandIn(answer))
        return made[-1]

    yield start
    for one in made:
        one.close()


def ping_only(message: dict[str, Any]) -> dict[str, Any] | None:
    """A service that answers ping and then holds every request."""
    return PING_OK if message.get("op") == "ping" else None


# ------------------------------------------------------------------ git commit, service up


def test_commit_through_the_warm_service_imports_no_litellm(
    hooked_repo: Path,
    fake_server: FakeLLMServer,
    editor: Path,
    warm_service: Path,
    stats: Callable[[], list[dict[str, Any]]],
) -> None:
    stage(hooked_repo)
    result, _ = commit(hooked_repo)
    assert result.returncode == 0, result.stderr
    assert hook_lines(result.stderr) == []
    assert last_message(hooked_repo) == GENERATED
    [body] = fake_server.requests  # sent by the service's LiteLLM, as the hook built it
    assert (body["model"], body["max_tokens"], body["temperature"]) == ("gemma-3-1b-it", 160, 0.2)
    messages = body["messages"]
    assert isinstance(messages, list)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "added greet.py +2 -0" in messages[1]["content"]
    [line] = stats()
    assert line["via"] == "service"
    assert line["imported"] == []  # neither litellm, nor openai, nor httpx in the hook


def test_a_server_error_through_the_service_is_the_usual_line(
    hooked_repo: Path, fake_server: FakeLLMServer, editor: Path, warm_service: Path
) -> None:
    fake_server.status = 500
    stage(hooked_repo)
    result, _ = commit(hooked_repo)
    assert result.returncode == 0, result.stderr
    assert last_message(hooked_repo) == "typed by hand"
    assert hook_lines(result.stderr) == [
        f"commit-polish: the server at {fake_server.api_base} answered HTTP 500: boom "
        "(see the server's log)"
    ]


# ------------------------------------------------------- no usable service: in-process


def _stale_socket() -> None:
    path = service.socket_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))  # and closed: the file stays, nobody listens


def _plain_file() -> None:
    path = service.socket_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("not a socket\n")


NO_SERVICE: dict[str, Callable[[Callable[[Answer], StandIn]], object]] = {
    "no socket": lambda stand_in: None,
    "stale socket": lambda stand_in: _stale_socket(),
    "a plain file": lambda stand_in: _plain_file(),
    "another version": lambda stand_in: stand_in(
        lambda m: {"ok": False, "kind": "version", "protocol": "0.0.1", "message": "old"}
    ),
    "hangs at ping": lambda stand_in: stand_in(lambda m: None),
}


@pytest.mark.parametrize("case", [c for c in NO_SERVICE if c != "a plain file"])
def test_without_a_usable_service_the_hook_goes_in_process_silently(
    hooked_repo: Path,
    fake_server: FakeLLMServer,
    editor: Path,
    stand_in: Callable[[Answer], StandIn],
    stats: Callable[[], list[dict[str, Any]]],
    case: str,
) -> None:
    NO_SERVICE[case](stand_in)
    stage(hooked_repo)
    result, _ = commit(hooked_repo)
    assert result.returncode == 0, result.stderr
    assert hook_lines(result.stderr) == []
    assert last_message(hooked_repo) == GENERATED
    [line] = stats()
    assert line["via"] == "in-process"
    assert "litellm" in line["imported"]


@pytest.mark.parametrize("case", ["no socket", "stale socket", "a plain file"])
def test_finding_no_service_costs_nothing(stand_in: Callable[[Answer], StandIn], case: str) -> None:
    NO_SERVICE[case](stand_in)
    started = time.monotonic()
    assert service.connect("http://127.0.0.1:8080/v1") is None
    assert time.monotonic() - started < 0.05


def test_a_remote_api_base_never_goes_through_the_service(warm_service: Path) -> None:
    # The service holds its own user's environment, not the keys a hosted provider needs.
    assert service.connect("https://api.example.com/v1") is None
    assert service.connect("http://127.0.0.1:8080/v1") == warm_service
    assert not service.carries("https://api.example.com/v1")


# --------------------------------------------------------------- a service that fails


def test_a_hung_service_costs_at_most_the_budget(
    hooked_repo: Path,
    fake_server: FakeLLMServer,
    editor: Path,
    stand_in: Callable[[Answer], StandIn],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COMMIT_POLISH_TIMEOUT", "3")
    stand_in(ping_only)
    stage(hooked_repo)
    result, seconds = commit(hooked_repo)
    assert result.returncode == 0, result.stderr
    assert last_message(hooked_repo) == "typed by hand"
    assert hook_lines(result.stderr) == [
        f"commit-polish: commit-polish's service at {service.socket_path()} did not answer "
        f"within 3s {RESTART}"
    ]
    assert seconds < 3 + SLACK
    assert fake_server.requests == []


BROKEN: dict[str, tuple[bytes, str]] = {
    "crashes (closes the connection)": (b"", "the connection was closed"),
    "a reply over 1 MB": (b"x" * (service.MAX_REPLY + 10), "a message over 1024 KiB"),
    "not JSON": (b"<html>\n", "not JSON"),
    "a reply without text": (b'{"ok": true, "reply": {"text": 7}}\n', "reply must be"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_service_is_one_line_naming_it(
    hooked_repo: Path,
    fake_server: FakeLLMServer,
    editor: Path,
    stand_in: Callable[[Answer], StandIn],
    case: str,
) -> None:
    sent, said = BROKEN[case]
    stand_in(lambda m: PING_OK if m.get("op") == "ping" else sent)
    stage(hooked_repo)
    result, _ = commit(hooked_repo)
    assert result.returncode == 0, result.stderr
    assert last_message(hooked_repo) == "typed by hand"
    [line] = hook_lines(result.stderr)
    assert line.startswith(f"commit-polish: commit-polish's service at {service.socket_path()} ")
    assert said in line and line.endswith(RESTART)


def test_status_shows_a_service_of_another_version(
    stand_in: Callable[[Answer], StandIn],
) -> None:
    stand_in(lambda m: {"ok": False, "kind": "version", "protocol": "0.0.1", "message": "old"})
    check = doctor._service_check()
    assert check.ok is False
    assert check.detail == (
        f"the service at {service.socket_path()} is commit-polish 0.0.1, not {PROTOCOL}: "
        "the hook goes without it"
    )
    assert check.fix == "commit-polish stop, then commit-polish serve --detach"


# -------------------------------------------------------------------------- who may talk


@pytest.mark.parametrize(
    ("uid", "own", "allowed"),
    [(1000, 1000, True), (0, 0, True), (1001, 1000, False), (0, 1000, False), (None, 1000, False)],
)
def test_peer_allowed(uid: int | None, own: int, allowed: bool) -> None:
    assert service.peer_allowed(uid, own) is allowed


def test_peer_uid_is_the_kernels_word() -> None:
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        assert service.peer_uid(left) == os.getuid()


OTHER_UID: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "another uid": lambda mp: mp.setattr(service, "peer_uid", lambda sock: os.getuid() + 1),
    "a uid it cannot check": lambda mp: mp.setattr(service, "_peer_uid_reader", lambda: None),
}


@pytest.mark.parametrize("case", list(OTHER_UID))
def test_the_service_says_nothing_to_a_peer_it_cannot_trust(
    monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    left, right = socket.socketpair(socket.AF_UNIX)
    with left:
        OTHER_UID[case](monkeypatch)
        thread = threading.Thread(target=service.handle, args=(right,))
        thread.start()
        left.settimeout(5)
        assert left.recv(100) == b""
        thread.join(5)
        assert right.fileno() == -1


@pytest.mark.parametrize("case", list(OTHER_UID))
def test_the_hook_sends_nothing_to_a_service_it_cannot_trust(
    warm_service: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    OTHER_UID[case](monkeypatch)
    assert service.connect("http://127.0.0.1:8080/v1") is None


# ------------------------------------------------------------------------ the messages


def _read(payload: bytes, limit: int, *, close: bool = True) -> bytes:
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        left.sendall(payload)
        if close:
            left.shutdown(socket.SHUT_WR)
        return service.read_line(right, limit=limit, end=time.monotonic() + 0.5)


@pytest.mark.parametrize(
    ("payload", "limit", "result"),
    [
        (b'{"a": 1}\n', 100, b'{"a": 1}'),
        (b'{"a": 1}\nmore', 100, b'{"a": 1}'),
        (b"x" * 1024 + b"\n", 1024, b"x" * 1024),
        (b"x" * 1025 + b"\n", 1024, "a message over 1 KiB"),
        (b"x" * 5000, 4096, "a message over 4 KiB"),
        (b'{"a": 1}', 100, "the connection was closed"),
        (b"", 100, "the connection was closed"),
    ],
)
def test_read_line_is_bounded(payload: bytes, limit: int, result: bytes | str) -> None:
    if isinstance(result, bytes):
        assert _read(payload, limit) == result
    else:
        with pytest.raises(ProtocolError, match=result):
            _read(payload, limit)


def test_read_line_gives_up_at_its_end() -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        _read(b'{"a"', 100, close=False)
    assert time.monotonic() - started < 2


def test_the_service_refuses_a_request_over_8_mb(warm_service: Path) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(str(warm_service))
        sock.sendall(b"x" * (service.MAX_REQUEST + 1))
        answer = service.decode(sock.makefile("rb").readline())
    assert answer["ok"] is False and answer["kind"] == "bad-request"
    assert answer["message"] == "a message over 8192 KiB"


REQUEST = llm.Request(
    model="llamafile/x",
    messages=[{"role": "user", "content": "hi"}],
    api_base="http://127.0.0.1:8080/v1",
    temperature=0.2,
    max_tokens=30,
    timeout=60.0,
    extra_body={"cache_prompt": True},
)


def test_a_request_crosses_whole_with_the_time_left() -> None:
    sent = json.loads(service.encode(service.request_json(REQUEST, 7.5)))
    assert service.request_from(sent) == replace(REQUEST, timeout=7.5)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"model": 1}, "model must be a string"),
        ({"api_base": None}, "api_base must be a string"),
        ({"messages": "hi"}, "messages must be a list"),
        ({"messages": [{"role": 1}]}, "messages must be a list"),
        ({"temperature": "hot"}, "temperature must be a number"),
        ({"temperature": True}, "temperature must be a number"),
        ({"max_tokens": 1.5}, "max_tokens must be a whole number"),
        ({"max_tokens": None}, "max_tokens must be a whole number"),
        ({"timeout": None}, "timeout must be a number"),
        ({"extra_body": []}, "extra_body must be a JSON object"),
    ],
)
def test_a_bad_request_names_its_field(change: dict[str, Any], named: str) -> None:
    with pytest.raises(ProtocolError, match=named):
        service.request_from({**service.request_json(REQUEST, 5.0), **change})


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ({"protocol": "0.0.1", "op": "ping"}, "version"),
        ({"op": "ping"}, "version"),
        ({"protocol": PROTOCOL, "op": "dance"}, "bad-request"),
        ({"protocol": PROTOCOL, "op": "complete", "request": "hi"}, "bad-request"),
        (
            {
                "protocol": PROTOCOL,
                "op": "complete",
                "request": {**service.request_json(REQUEST, 5), "api_base": "https://x.io/v1"},
            },
            "bad-request",
        ),
        (
            {"protocol": PROTOCOL, "op": "fetch", "method": "GET", "url": "https://x.io/props"},
            "bad-request",
        ),
        (
            {"protocol": PROTOCOL, "op": "fetch", "method": "PUT", "url": "http://127.0.0.1/x"},
            "bad-request",
        ),
    ],
)
def test_respond_refuses(message: dict[str, Any], kind: str) -> None:
    answer = service.respond(message)
    assert (answer["ok"], answer["kind"], answer["protocol"]) == (False, kind, PROTOCOL)


def test_respond_to_ping() -> None:
    answer = service.respond({"protocol": PROTOCOL, "op": "ping"})
    warm = llm.litellm_loaded()  # whether this test process has imported it, as a service has
    assert answer == {"ok": True, "protocol": PROTOCOL, "pid": os.getpid(), "warm": warm}


# ----------------------------------------------------------------- the socket's place


def test_listen_replaces_a_stale_socket_and_makes_it_private() -> None:
    _stale_socket()
    path = service.socket_path()
    with service.listen(path) as sock:
        assert sock.getsockname() == str(path)
        assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.lstat(path.parent).st_mode) == 0o700


def test_listen_leaves_a_file_that_is_not_a_socket() -> None:
    _plain_file()
    with pytest.raises(ServerError, match="exists and is not a socket; remove it"):
        service.listen(service.socket_path())
    assert service.socket_path().read_text() == "not a socket\n"


def test_the_socket_directory_must_be_ours_alone(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o755)
    link = tmp_path / "run"
    link.symlink_to(elsewhere)
    with pytest.raises(ServerError, match="is not a directory of this user"):
        service.private_dir(link)
    loose = tmp_path / "loose"
    loose.mkdir()
    loose.chmod(0o755)
    service.private_dir(loose)
    assert stat.S_IMODE(loose.stat().st_mode) == 0o700


# -------------------------------------------------------------------- start, stop, status


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_start_status_stop() -> None:
    said: list[str] = []
    starting = service.start(detach=True, say=said.append)
    assert starting is not None
    try:
        up = starting.wait(said.append)
        assert up is not None, said
        assert said == []
        path = service.socket_path()
        assert up == service.read_pid_file()
        assert (up.socket, up.version, up.log) == (str(path), PROTOCOL, str(service.log_file()))
        check = doctor._service_check()
        assert (check.ok, check.detail) == (True, f"warm at {path} (pid {up.pid})")
        assert check.data == {
            "socket": str(path),
            "running": True,
            "pid": up.pid,
            "version": PROTOCOL,
            "warm": True,
        }
        again = service.start(detach=True, say=said.append)  # kept, not a second one
        assert again is not None and again.proc is None and again.ready == up
    finally:
        gone = service.stop()
    assert gone == up
    assert not _alive(up.pid)
    assert not path.exists() and service.read_pid_file() is None
    assert service.stop() is None
    after = doctor._service_check()
    assert after.ok is None and after.detail.startswith("not running;")


def test_without_unix_sockets_there_is_no_service_and_the_hook_goes_in_process(
    warm_service: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(socket, "AF_UNIX")  # as on Windows
    said: list[str] = []
    assert service.start(detach=True, say=said.append) is None
    assert said == ["no Unix domain sockets here: the hook imports LiteLLM itself on every commit"]
    assert service.connect("http://127.0.0.1:8080/v1") is None
    assert doctor._service_check().ok is None


def test_with_no_time_left_the_service_is_not_asked(warm_service: Path) -> None:
    from commit_polish import deadline

    assert service.connect(REQUEST.api_base) == warm_service
    with deadline.within(0.1), pytest.raises(llm.NoAnswer, match="did not answer within 60s"):
        service.complete(REQUEST)
