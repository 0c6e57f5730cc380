"""Fixtures shared by every test.

No test reads or writes the real home directory: the autouse ``isolated_home`` fixture points
commit-polish's paths, HOME, the XDG directories and git's global config at a temp dir.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import GIT_FILE, FakeLLMServer, answer_as_llama_cpp, git

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


@pytest.fixture
def ask_bodies(isolated_home: Path) -> Path:
    """A user config that asks the model for bodies (``body = true``; the default is a
    subject only), for tests of what is done with a body."""
    cfg = isolated_home / "commit-polish" / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text("[message]\nbody = true\n")
    return cfg


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


@pytest.fixture
def fake_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    server = FakeLLMServer()
    monkeypatch.setenv("COMMIT_POLISH_API_BASE", server.api_base)
    yield server
    server.close()


# --- commit-polish's warm service (tests/test_service.py, tests/faults/test_service_faults.py) --


@pytest.fixture(autouse=True)
def _no_service_known(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process has asked no service yet: a test's hook in this process finds (or does
    not find) one of its own, never one an earlier test found."""
    from commit_polish import service

    monkeypatch.setattr(service, "_live", {})


@pytest.fixture(scope="session")
def service_socket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One real service process for the session (warming up takes seconds), listening on a
    socket of its own; its LiteLLM sends each request to the api_base the hook names."""
    from commit_polish import service

    home = tmp_path_factory.mktemp("service-home")
    path = home / "run" / "service.sock"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMMIT_POLISH_", "GIT_"))}
    env.update(HOME=str(home), COMMIT_POLISH_HOME=str(home / "commit-polish"))
    args = [sys.executable, "-m", "commit_polish.service", "--socket", str(path)]
    proc = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    end = time.monotonic() + 120  # LiteLLM's import on a busy machine
    try:
        while service.ping(path) is None:
            assert proc.poll() is None, "the service exited before it listened"
            assert time.monotonic() < end, "the service did not listen within 120 s"
            time.sleep(0.1)
        yield path
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture
def warm_service(service_socket: Path) -> Path:
    """The session's service, where this test's hooks look for one (a symlink to it)."""
    from commit_polish import service

    link = service.socket_path()
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(service_socket)
    return link


@pytest.fixture
def hooked_repo(repo: Path) -> Path:
    """``repo`` with commit-polish installed as its prepare-commit-msg hook."""
    from commit_polish import hookscript

    hookscript.install_hook(repo)
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


# --------------------------------------------------------------- llama.cpp's /props, /tokenize


@pytest.fixture(autouse=True)
def _not_llama_cpp(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """In this process the server is not llama.cpp-family (no ``/props`` request at all)
    unless the test asks for ``llama_cpp``: tests of other servers see only the requests
    they mean to, and a catch-all response is not spent on ``/props``."""
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
