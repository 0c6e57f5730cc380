"""``commit-polish install --server URL``: a server the user already runs (Ollama, LM Studio,
llama-server). Config and hook only, no download; ``status`` is content while it answers,
and a real ``git commit`` through the installed hook gets its message from that server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from helpers import FakeLLMServer, git, hook_lines, last_message
from pytest_httpx import HTTPXMock

from commit_polish import config, hookscript, install, paths
from commit_polish.cli import cli
from commit_polish.errors import ConfigError


def only_loopback_is_real(request: httpx.Request) -> bool:
    # The stand-in server is real; anything else would be a download and is recorded.
    return request.url.host != "127.0.0.1"


pytestmark = pytest.mark.httpx_mock(should_mock=only_loopback_is_real)


@pytest.fixture
def llm() -> Iterator[FakeLLMServer]:
    server = FakeLLMServer()
    yield server
    server.close()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    monkeypatch.chdir(path)
    return path


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_install_server_writes_config_and_hook_and_downloads_nothing(
    httpx_mock: HTTPXMock, llm: FakeLLMServer, repo: Path
) -> None:
    result = invoke("install", "--server", f"http://127.0.0.1:{llm.port}")

    hook = repo / ".git" / "hooks" / "prepare-commit-msg"
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"server:  {llm.api_base} (answers, serving fake-model)\n"
        "model:   llamafile/fake-model\n"
        f"config:  {paths.config_file()}\n"
        f"hook installed: {hook}\n"
    )
    assert result.stderr == ""
    assert httpx_mock.get_requests() == []  # no download, not even an attempt
    assert not paths.data_dir().exists()
    assert hookscript.is_ours(hook)
    cfg = config.load(None)
    assert (cfg.ai.model, cfg.llamafile.api_base, cfg.llamafile.external_server) == (
        "llamafile/fake-model",
        llm.api_base,
        True,
    )

    status = invoke("status")
    assert status.exit_code == 0, status.output
    assert status.stdout == (
        f"ok      config   {paths.config_file()} (user)\n"
        "-       runtime  not needed: your own server (install --server)\n"
        "-       model    llamafile/fake-model, asked of your server\n"
        f"ok      server   reachable at {llm.api_base}, serving fake-model\n"
        "-       service  not running; the hook imports LiteLLM on each commit "
        "(start: commit-polish serve --service-only --detach)\n"
        f"ok      hook     {hook}\n"
        "-       style    not learned (0 commit subject(s), at least 10 are needed)\n"
        "-       speed    reads 64 prompt tokens/s, writes 16/s (default, none measured): "
        "about 704 prompt tokens within 15 s\n"
    )

    (repo / "greet.py").write_text("def greet():\n    return 'hi'\n")
    git(repo, "add", "greet.py")
    committed = git(repo, "commit", check=False)
    assert committed.returncode == 0, committed.stderr
    assert hook_lines(committed.stderr) == []
    assert last_message(repo) == "feat: add greeting module"
    chats = [body for body in llm.requests if "messages" in body]
    assert len(chats) == 1 and chats[0]["model"] == "fake-model"

    assert invoke("uninstall").stdout == f"hook removed: {hook}\n"
    assert not hook.exists()


def test_status_when_your_server_is_down(
    httpx_mock: HTTPXMock, llm: FakeLLMServer, repo: Path
) -> None:
    assert invoke("install", "--server", llm.api_base, "--no-hook").exit_code == 0
    llm.close()

    status = invoke("status")

    assert status.exit_code == 1
    assert status.stdout.splitlines()[3:5] == [
        f"MISSING server   your server at {llm.api_base} does not answer",
        f"                 fix: start your server at {llm.api_base} (or use another: "
        "commit-polish install --server URL)",
    ]
    assert "MISSING runtime" not in status.stdout
    assert "MISSING model" not in status.stdout
    assert httpx_mock.get_requests() == []


def test_commit_when_your_server_is_down_says_to_start_yours(
    httpx_mock: HTTPXMock, repo: Path, closed_port: int
) -> None:
    base = f"http://127.0.0.1:{closed_port}/v1"
    assert invoke("install", "--server", base, "--model", "gemma3:1b").exit_code == 0
    (repo / "greet.py").write_text("def greet():\n    return 'hi'\n")
    git(repo, "add", "greet.py")

    committed = git(repo, "commit", "-q", "--allow-empty-message", check=False)

    # Not "commit-polish serve": that would start a second server beside the user's own.
    assert hook_lines(committed.stderr) == [
        f"commit-polish: no server at {base} (start your server there, or use another: "
        "commit-polish install --server URL)"
    ]
    assert httpx_mock.get_requests() == []


def test_install_server_not_running_needs_a_model_name(
    httpx_mock: HTTPXMock, repo: Path, closed_port: int
) -> None:
    base = f"http://127.0.0.1:{closed_port}/v1"
    refused = invoke("install", "--server", base)
    assert refused.exit_code == 1
    assert refused.stderr == (
        f"commit-polish: nothing answers at {base}; start your server, or name its model "
        "with --model NAME\n"
    )
    assert not paths.config_file().exists()

    named = invoke("install", "--server", base, "--model", "gemma3:1b", "--no-hook")
    assert named.exit_code == 0, named.output
    assert named.stdout.splitlines()[-1] == (
        f"next: start your server at {base}, then check with: commit-polish status"
    )
    assert config.load(None).ai.model == "llamafile/gemma3:1b"
    assert httpx_mock.get_requests() == []


def test_a_remote_server_is_refused_unless_allowed(httpx_mock: HTTPXMock, repo: Path) -> None:
    result = invoke("install", "--server", "http://192.168.1.5:11434")
    assert result.exit_code == 1
    assert result.stderr == (
        "commit-polish: --server http://192.168.1.5:11434/v1 is not on this machine, and "
        "diffs stay local unless you allow it: commit-polish config set allow_remote true, "
        "then run this install again\n"
    )
    assert httpx_mock.get_requests() == []  # refused before anything was sent


def test_a_remote_server_once_allowed(httpx_mock: HTTPXMock, repo: Path) -> None:
    httpx_mock.add_response(url="http://192.168.1.5:11434/health", status_code=404)
    httpx_mock.add_response(
        url="http://192.168.1.5:11434/v1/models",
        json={"data": [{"id": "gemma3:1b"}]},
        is_reusable=True,  # /health's 404 makes health() ask for the list too
    )
    assert invoke("config", "set", "allow_remote", "true").exit_code == 0
    result = invoke("install", "--server", "http://192.168.1.5:11434", "--no-hook")
    assert result.exit_code == 0, result.output
    assert config.load(None).llamafile.api_base == "http://192.168.1.5:11434/v1"


def test_dry_run_with_server_writes_nothing(
    httpx_mock: HTTPXMock, llm: FakeLLMServer, repo: Path
) -> None:
    result = invoke("install", "--server", llm.api_base, "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "dry run: nothing is downloaded or written\n"
        f"server:  {llm.api_base} (answers, serving fake-model)\n"
        "model:   llamafile/fake-model\n"
        f"config:  {paths.config_file()} (would be written)\n"
        "hook:    would be installed in this repository\n"
    )
    assert not paths.config_file().exists()
    assert not (repo / ".git" / "hooks" / "prepare-commit-msg").exists()


def test_server_with_download_flags_is_a_usage_error(repo: Path) -> None:
    result = invoke("install", "--server", "http://127.0.0.1:1", "--mirror", "/tmp", "--serve")
    assert result.exit_code == 2
    assert "--server uses your own server: --mirror, --serve do not apply to it" in result.stderr


def test_serve_refuses_when_the_server_is_yours(
    httpx_mock: HTTPXMock, llm: FakeLLMServer, repo: Path
) -> None:
    assert invoke("install", "--server", llm.api_base, "--no-hook").exit_code == 0
    result = invoke("serve", "--detach")
    assert result.exit_code == 1
    assert result.stderr == (
        f"commit-polish: the config uses your own server at {llm.api_base} (install "
        "--server): start that one (and 'commit-polish serve --service-only' for the warm "
        "service); or run 'commit-polish install' to download commit-polish's own\n"
    )


def test_serve_service_only_runs_the_warm_service_for_your_server(
    httpx_mock: HTTPXMock, llm: FakeLLMServer, repo: Path
) -> None:
    from commit_polish import service

    assert invoke("install", "--server", llm.api_base, "--no-hook").exit_code == 0
    result = invoke("serve", "--service-only", "--detach")
    try:
        assert result.exit_code == 0, result.stderr
        up = service.read_pid_file()
        assert up is not None
        assert result.stdout == (
            f"service warm at {up.socket} (pid {up.pid})\nstop it with: commit-polish stop\n"
        )
        assert service.connect(llm.api_base) == service.socket_path()
    finally:
        stopped = invoke("stop")
    assert stopped.stdout == (
        f"no server started by commit-polish is running\nservice stopped (pid {up.pid})\n"
    )


def test_service_only_takes_no_port(repo: Path) -> None:
    result = invoke("serve", "--service-only", "--port", "8081")
    assert result.exit_code == 2
    assert "--service-only takes neither --port nor --no-service" in result.stderr


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("http://localhost:11434", "http://localhost:11434/v1"),  # Ollama
        ("localhost:1234", "http://localhost:1234/v1"),  # LM Studio, no scheme
        ("http://127.0.0.1:1234/v1/", "http://127.0.0.1:1234/v1"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1"),  # llama-server
        ("https://[::1]:8443/api/v1", "https://[::1]:8443/api/v1"),
    ],
)
def test_server_api_base(url: str, base: str) -> None:
    assert install.server_api_base(url) == base


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("ftp://127.0.0.1/", "--server must be an http:// or https:// URL, got 'ftp://127.0.0.1/'"),
        ("http://127.0.0.1:99999", "--server http://127.0.0.1:99999: Port out of range 0-65535"),
        ("http://127.0.0.1:8080/v1?x=1", "give the server's base URL, without ? or #"),
    ],
)
def test_server_api_base_refuses(url: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error.replace("?", r"\?")):
        install.server_api_base(url)


B = "http://127.0.0.1:1/v1"


@pytest.mark.parametrize(
    ("name", "served", "expected"),
    [
        (None, ["fake-model"], ("fake-model", "")),
        ("gemma3:1b", ["gemma3:1b", "qwen3:0.6b"], ("gemma3:1b", "")),
        ("llamafile/gemma-3-1b-it", None, ("gemma-3-1b-it", "")),
        (
            "gemma3",
            ["gemma3:1b"],
            ("gemma3", f"note: {B} lists gemma3:1b, not gemma3; if commits fail, use one"),
        ),
    ],
)
def test_server_model(
    name: str | None, served: list[str] | None, expected: tuple[str, str]
) -> None:
    assert install.server_model(name, B, served) == expected


def test_server_model_needs_a_choice_among_several() -> None:
    with pytest.raises(ConfigError) as info:
        install.server_model(None, B, ["a", "b"])
    assert str(info.value) == f"{B} serves 2 models (a, b); choose one with --model NAME"
