"""Fixtures shared by every test.

No test reads or writes the real home directory: the autouse ``isolated_home`` fixture points
commit-polish's paths, HOME, the XDG directories and git's global config at a temp dir.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # for ``import dev.realserver``
    sys.path.insert(0, str(ROOT))


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith(("GIT_", "COMMIT_POLISH_", "PRE_COMMIT_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("COMMIT_POLISH_HOME", str(home / "commit-polish"))
    for var, sub in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_STATE_HOME", ".local/state"),
    ):
        monkeypatch.setenv(var, str(home / sub))
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Test User\n\temail = test@example.com\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    # Outside-a-repository tests must not find a repository above the temp dirs.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path_factory.getbasetemp()))
    # git must never wait for an editor in a test.
    monkeypatch.setenv("GIT_EDITOR", "true")
    return home


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=check)


def last_message(repo: Path) -> str:
    return git(repo, "log", "-1", "--format=%B").stdout.rstrip("\n")


def commit_count(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "HEAD").stdout)


def hook_lines(stderr: str) -> list[str]:
    """The lines commit-polish printed among git's own output."""
    return [line for line in stderr.splitlines() if line.startswith("commit-polish:")]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A real repository with one commit, nothing staged."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    (path / "README.md").write_text("# demo\n")
    git(path, "add", "README.md")
    git(path, "commit", "-q", "-m", "Initial commit")
    return path


@pytest.fixture
def editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An editor that saves what git handed it to ``captured`` and, when the file holds no
    message, types one (as a person would), so the commit can go on."""
    captured = tmp_path / "captured"
    script = tmp_path / "editor.sh"
    script.write_text(
        "#!/bin/sh\n"
        f'cp "$1" "{captured}"\n'
        'if ! grep -q "^[^#;]" "$1"; then echo "typed by hand" >> "$1"; fi\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("GIT_EDITOR", str(script))
    return captured


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A loopback port that accepts TCP connections and never answers.

    The hook checks that something listens before importing litellm; pytest-httpx then
    answers the HTTP request itself.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# What git writes into the message file for a plain commit with greet.py staged.
GIT_FILE = (
    b"\n# Please enter the commit message for your changes. Lines starting\n"
    b"# with '#' will be ignored, and an empty message aborts the commit.\n#\n"
    b"# On branch main\n# Changes to be committed:\n#\tnew file:   greet.py\n#\n"
)


@pytest.fixture
def staged(repo: Path, monkeypatch: pytest.MonkeyPatch, listening_port: int) -> Path:
    """``repo`` with greet.py staged, as the cwd, its message file as git wrote it, and
    api_base on ``listening_port`` (pytest-httpx answers the requests in this process)."""
    (repo / "greet.py").write_text("def greet():\n    return 'hi'\n")
    git(repo, "add", "greet.py")
    monkeypatch.chdir(repo)
    monkeypatch.setenv("COMMIT_POLISH_API_BASE", f"http://127.0.0.1:{listening_port}/v1")
    msg = repo / ".git" / "COMMIT_EDITMSG"
    msg.write_bytes(GIT_FILE)
    return msg


def chat_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/v1/chat/completions"


class FakeLLMServer:
    """An OpenAI-compatible stand-in on a loopback port, for tests where git runs the hook in
    a child process (pytest-httpx only reaches this process). Records every request body."""

    def __init__(self) -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[dict[str, object]] = []
        self.reply = "feat: add greeting module"
        self.status = 200
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._send(
                    200,
                    {"status": "ok"}
                    if self.path == "/health"
                    else {"data": [{"id": "fake-model"}]},
                )

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(body)
                if server.status != 200:
                    self._send(server.status, {"error": {"message": "boom"}})
                    return
                self._send(200, completion(server.reply))

            def _send(self, status: int, payload: dict[str, object]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.api_base = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def completion(content: str, *, prompt_tokens: int = 120) -> dict[str, object]:
    """An OpenAI chat.completion body as llama.cpp's server returns it."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gemma-3-1b-it",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": 12,
            "total_tokens": prompt_tokens + 12,
        },
    }


@pytest.fixture
def fake_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    server = FakeLLMServer()
    monkeypatch.setenv("COMMIT_POLISH_API_BASE", server.api_base)
    yield server
    server.close()


@pytest.fixture
def hooked_repo(repo: Path) -> Path:
    """``repo`` with commit-polish installed as its prepare-commit-msg hook."""
    from commit_polish import githook

    githook.install_hook(repo)
    return repo


# --- the pre-commit framework (tests/test_precommit.py and tests/integration/) ----------------
#
# pre-commit installs this project from a git repository into its own virtualenv and runs
# ``commit-polish hook MSGFILE`` with the source in PRE_COMMIT_COMMIT_MSG_SOURCE. The project is
# copied into a throwaway repository so that the working tree, not the last commit, is tested.

PROJECT_FILES = ("pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml", "src")


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A git repository holding this project's files, and its commit id."""
    dest = tmp_path_factory.mktemp("commit-polish-src")
    for name in PROJECT_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(
                src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
            )
        else:
            shutil.copy2(src, dest / name)
    env_free = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", str(dest)], check=True)
    subprocess.run(["git", *env_free, "-C", str(dest), "add", "-A"], check=True)
    subprocess.run(
        ["git", *env_free, "-C", str(dest), "commit", "-q", "-m", "snapshot"], check=True
    )
    rev = subprocess.run(
        ["git", "-C", str(dest), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    return dest, rev


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One environment for the session: building it installs litellm once.
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def framework_repo(
    repo: Path, hook_repo: tuple[Path, str], pre_commit_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    source, rev = hook_repo
    monkeypatch.setenv("PRE_COMMIT_HOME", str(pre_commit_home))
    # verbose: pre-commit shows the hook's output (its one "commit-polish:" line when it
    # fails open) even when the hook passes, so a failing test can say why.
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {source}\n    rev: {rev}\n    hooks:\n      - id: commit-polish\n"
        "        verbose: true\n"
    )
    git(repo, "add", ".pre-commit-config.yaml")
    git(repo, "commit", "-q", "-m", "Add pre-commit config")
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "install", "--hook-type", "prepare-commit-msg"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return repo


def run_precommit_commit(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "commit", *args], cwd=repo, capture_output=True, text=True, timeout=600
    )


# --------------------------------------------------------------- llama.cpp's /props, /tokenize

PROPS_URL = re.compile(r"http://[^/]+/props$")
TOKENIZE_URL = re.compile(r"http://[^/]+/tokenize$")


def fake_tokens(text: str) -> list[int]:
    """A stand-in tokenizer: one token per 4 characters, rounded up."""
    return list(range(-(-len(text) // 4)))


@pytest.fixture(autouse=True)
def _not_llama_cpp(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """In this process the server is not llama.cpp-family (no ``/props`` request at all)
    unless the test asks for ``llama_cpp``: tests written before issue 6 see exactly the
    requests they saw before, and a catch-all response is not spent on ``/props``."""
    if "llama_cpp" in request.fixturenames:
        return
    from commit_polish import backend

    monkeypatch.setattr(backend, "probe", lambda api_base, **kwargs: None)


@pytest.fixture
def llama_cpp(httpx_mock: Any) -> dict[str, int]:
    """pytest-httpx answers as llama-server with ``n_ctx`` (change it before the request)
    and counts tokens with :func:`fake_tokens`."""
    settings = {"n_ctx": 4096}
    answer_as_llama_cpp(httpx_mock, settings)
    return settings


def answer_as_llama_cpp(httpx_mock: Any, settings: dict[str, int], *, prefill: bool = True) -> None:
    """/props, /tokenize and (with ``prefill``) the prompt's prefill, as llama-server."""
    import json

    import httpx

    def props(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"default_generation_settings": dict(settings)})

    def tokenize(request: httpx.Request) -> httpx.Response:
        content = json.loads(request.content)["content"]
        return httpx.Response(200, json={"tokens": fake_tokens(content)})

    httpx_mock.add_callback(props, url=PROPS_URL, is_optional=True, is_reusable=True)
    httpx_mock.add_callback(tokenize, url=TOKENIZE_URL, is_optional=True, is_reusable=True)
    if prefill:
        # The prompt's prefill (n_predict 0): answered here, so that the responses a test
        # adds for the chat URL are left for the requests proper.
        httpx_mock.add_response(
            url=CHAT_URL,
            match_json=PrefillBody(),
            json=completion(""),
            is_optional=True,
            is_reusable=True,
        )


CHAT_URL = re.compile(r"http://[^/]+/v1/chat/completions$")


class PrefillBody:
    """Equal to the JSON body of a prefill request (pytest-httpx compares with ``==``)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, dict) and other.get("n_predict") == 0

    __hash__ = None  # type: ignore[assignment]


def is_prefill(request: Any) -> bool:
    """Whether an httpx request recorded by pytest-httpx is a prompt prefill."""
    import json

    return PrefillBody() == json.loads(request.content or b"{}")
