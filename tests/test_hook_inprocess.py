"""The hook in this process, under real LiteLLM with pytest-httpx answering for the server.

Each failure is injected underneath LiteLLM; the message file must stay byte-identical, the
hook must return 0 with exactly one stderr line, and strict mode must return 1 instead.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from helpers import GIT_FILE, chat_url, completion
from pytest_httpx import HTTPXMock

from commit_polish import errors, llm
from commit_polish.hook import main_hook


def stderr_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


def test_request_json_exact(
    staged: Path, httpx_mock: HTTPXMock, listening_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    httpx_mock.add_response(url=chat_url(listening_port), json=completion("feat: add greet"))
    assert main_hook(staged, None, None) == 0
    request = httpx_mock.get_requests()[0]
    body = json.loads(request.content)
    assert request.url == chat_url(listening_port)
    assert set(body) == {"model", "messages", "max_tokens", "temperature", "grammar"}
    assert body["model"] == "gemma-3-1b-it"
    assert body["max_tokens"] == 160
    assert body["temperature"] == 0.2
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["messages"][1]["content"] == (
        "Branch: main\nRecent commit subjects:\nInitial commit\n\n"
        "What changed, for sure:\nadded greet.py (Python, source): adds greet\n\n"
        "Changed files:\nadded greet.py +2 -0\n\nDiff:\n"
        "diff --git a/greet.py b/greet.py\n"
        "@@ -0,0 +1,2 @@\n+def greet():\n+    return 'hi'\n"
    )
    assert staged.read_bytes() == b"feat: add greet\n" + GIT_FILE
    assert stderr_lines(capsys) == []


def test_config_values_reach_the_request(
    staged: Path, httpx_mock: HTTPXMock, listening_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMMIT_POLISH_MODEL", "openai/qwen2.5")
    monkeypatch.setenv("COMMIT_POLISH_MAX_TOKENS", "64")
    monkeypatch.setenv("COMMIT_POLISH_TEMPERATURE", "0")
    httpx_mock.add_response(url=chat_url(listening_port), json=completion("feat: greet y"))
    assert main_hook(staged, None, None) == 0
    body = json.loads(httpx_mock.get_requests()[0].content)
    assert (body["model"], body["max_tokens"], body["temperature"]) == ("qwen2.5", 64, 0.0)


FAULTS = {
    "connection refused": (
        lambda m, port: m.add_exception(httpx.ConnectError("refused"), url=chat_url(port)),
        "commit-polish: no server at http://127.0.0.1:{port}/v1 "
        "(start it with: commit-polish serve --detach)",
    ),
    "read timeout": (
        lambda m, port: m.add_exception(httpx.ReadTimeout("slow"), url=chat_url(port)),
        "commit-polish: the server at http://127.0.0.1:{port}/v1 did not answer within 60s "
        "(raise ai.timeout, or use a smaller model)",
    ),
    "http 500": (
        lambda m, port: m.add_response(
            status_code=500, json={"error": {"message": "x"}}, url=chat_url(port)
        ),
        None,
    ),
    "http 404 model": (
        lambda m, port: m.add_response(
            status_code=404, json={"error": {"message": "nope"}}, url=chat_url(port)
        ),
        "commit-polish: the server at http://127.0.0.1:{port}/v1 does not know model "
        "'llamafile/gemma-3-1b-it' (check ai.model with: commit-polish config)",
    ),
    "invalid json": (
        lambda m, port: m.add_response(content=b"<html>oops", url=chat_url(port)),
        None,
    ),
    "empty choices": (
        lambda m, port: m.add_response(json={**completion("x"), "choices": []}, url=chat_url(port)),
        None,
    ),
    "think only": (
        lambda m, port: m.add_response(
            json=completion("<think>hmm, a commit</think>"), url=chat_url(port), is_reusable=True
        ),
        "commit-polish: the model's reply was empty, twice (try again, or a larger model)",
    ),
    "diff echo": (
        lambda m, port: m.add_response(
            json=completion("diff --git a/greet.py b/greet.py\n+def greet():\n+    return 1"),
            url=chat_url(port),
            is_reusable=True,
        ),
        "commit-polish: the model echoed the diff instead of writing a message, twice "
        "(try again, or a larger model)",
    ),
}


@pytest.mark.parametrize("strict", [False, True], ids=["fail-open", "strict"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_leaves_file_untouched(
    staged: Path,
    httpx_mock: HTTPXMock,
    listening_port: int,
    fault: str,
    strict: bool,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if strict:
        monkeypatch.setenv("COMMIT_POLISH_STRICT", "true")
    inject, expected = FAULTS[fault]
    inject(httpx_mock, listening_port)
    assert main_hook(staged, None, None) == (1 if strict else 0)
    assert staged.read_bytes() == GIT_FILE
    lines = stderr_lines(capsys)
    assert len(lines) == 1
    assert lines[0].startswith("commit-polish: ")
    suffix = " (strict mode: commit aborted)" if strict else ""
    if expected is not None:
        assert lines[0] == expected.format(port=listening_port) + suffix
    assert lines[0].endswith(suffix)


def test_server_not_listening_is_fast_and_does_not_import_litellm(
    staged: Path,
    closed_port: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("COMMIT_POLISH_API_BASE", f"http://127.0.0.1:{closed_port}/v1")
    called: list[object] = []
    monkeypatch.setattr(llm, "_import_litellm", lambda: called.append(1))
    started = time.monotonic()
    assert main_hook(staged, None, None) == 0
    elapsed = time.monotonic() - started
    assert called == []
    assert staged.read_bytes() == GIT_FILE
    assert stderr_lines(capsys) == [
        f"commit-polish: no server at http://127.0.0.1:{closed_port}/v1 "
        "(start it with: commit-polish serve --detach)"
    ]
    assert elapsed < 5  # generous: the point is "no import, no request", not a benchmark


def test_total_time_budget_holds_when_reply_never_comes(
    staged: Path,
    httpx_mock: HTTPXMock,
    listening_port: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("COMMIT_POLISH_TIMEOUT", "1")
    release = __import__("threading").Event()

    def hang(request: httpx.Request) -> httpx.Response:
        release.wait(30)
        return httpx.Response(200, json=completion("late: too late"))

    httpx_mock.add_callback(hang, url=chat_url(listening_port), is_optional=True)
    try:
        assert main_hook(staged, None, None) == 0
    finally:
        release.set()
    assert staged.read_bytes() == GIT_FILE
    assert stderr_lines(capsys) == [
        f"commit-polish: the server at http://127.0.0.1:{listening_port}/v1 did not answer "
        "within 1s (raise ai.timeout, or use a smaller model)"
    ]


def test_ctrl_c_stops_the_commit_and_leaves_the_file(
    staged: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(llm, "complete", interrupted)
    assert main_hook(staged, None, None) == errors.EXIT_INTERRUPTED
    assert staged.read_bytes() == GIT_FILE
    assert stderr_lines(capsys) == [
        "commit-polish: interrupted; commit stopped, message file untouched (commit again, "
        "or COMMIT_POLISH_SKIP=1 git commit to go without commit-polish)"
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[ai]\nmodel = 3\n", "ai.model must be a string, got 3"),
        ("[ai\n", "invalid TOML"),
        ("[hook]\non_amend = 'always'\n", "hook.on_amend must be one of keep, regenerate"),
    ],
    ids=["wrong type", "bad toml", "bad choice"],
)
def test_bad_config_fails_open_naming_file_and_key(
    staged: Path,
    content: str,
    expected: str,
    capsys: pytest.CaptureFixture[str],
    isolated_home: Path,
) -> None:
    cfg = isolated_home / "commit-polish" / "config" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(content)
    assert main_hook(staged, None, None) == 0
    assert staged.read_bytes() == GIT_FILE
    [line] = stderr_lines(capsys)
    assert line.startswith(f"commit-polish: {cfg}: ")
    assert expected in line


def test_unknown_template_placeholder_fails_open(
    staged: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    template = tmp_path / "t.txt"
    template.write_text("Diff: {diff}\nTicket: {ticket}\n")
    monkeypatch.setenv("COMMIT_POLISH_TEMPLATE", str(template))
    assert main_hook(staged, None, None) == 0
    assert staged.read_bytes() == GIT_FILE
    [line] = stderr_lines(capsys)
    assert line.startswith(
        f"commit-polish: template {template}, line 2: unknown placeholder {{ticket}}"
    )
    assert line.endswith("(message.template, set in env COMMIT_POLISH_TEMPLATE)")


def test_pre_commit_framework_variables(
    staged: Path, monkeypatch: pytest.MonkeyPatch, httpx_mock: HTTPXMock
) -> None:
    monkeypatch.setenv("PRE_COMMIT_COMMIT_MSG_SOURCE", "message")
    staged.write_bytes(b"my words\n")
    assert main_hook(staged, None, None) == 0
    assert staged.read_bytes() == b"my words\n"
    assert httpx_mock.get_requests() == []


@pytest.mark.parametrize("source", ["merge", "squash", "commit", "message"])
def test_skip_sources_do_not_import_litellm(
    staged: Path, source: str, httpx_mock: HTTPXMock
) -> None:
    import sys

    sys.modules.pop("litellm", None)
    assert main_hook(staged, source, "HEAD" if source == "commit" else None) == 0
    assert staged.read_bytes() == GIT_FILE
    assert "litellm" not in sys.modules


class _Tty:
    """stderr as a terminal, recording what is written."""

    def __init__(self) -> None:
        self.written: list[str] = []

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.written.append(text)
        return len(text)

    def flush(self) -> None:
        pass


def test_live_status_on_a_terminal_is_erased(
    staged: Path, httpx_mock: HTTPXMock, listening_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    def slow(request: httpx.Request) -> httpx.Response:
        time.sleep(0.5)
        return httpx.Response(200, json=completion("feat: add greet"))

    httpx_mock.add_callback(slow, url=chat_url(listening_port))
    tty = _Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    assert main_hook(staged, None, None) == 0
    out = "".join(tty.written)
    assert out.startswith("\rcommit-polish: gemma-3-1b-it is writing a message… 0s")
    assert out.endswith("\r\033[K")
    assert staged.read_bytes().startswith(b"feat: add greet\n")


def test_no_status_when_stderr_is_not_a_terminal(
    staged: Path, httpx_mock: HTTPXMock, listening_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    httpx_mock.add_response(url=chat_url(listening_port), json=completion("feat: add greet"))
    assert main_hook(staged, None, None) == 0
    assert capsys.readouterr().err == ""


def test_polish_with_non_utf8_draft_sends_valid_utf8(
    staged: Path, httpx_mock: HTTPXMock, listening_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMMIT_POLISH_ON_MESSAGE", "polish")
    staged.write_bytes(b"caf\xe9 fix\n")  # Latin-1, as an old editor might write it
    httpx_mock.add_response(url=chat_url(listening_port), json=completion("feat: greet the cafe"))
    assert main_hook(staged, "message", None) == 0
    body = json.loads(httpx_mock.get_requests()[0].content)
    assert "caf\ufffd fix" in body["messages"][1]["content"]
    assert staged.read_bytes() == b"feat: greet the cafe\n"
