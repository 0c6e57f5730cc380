"""Local only by default: a diff goes to a loopback api_base and nowhere else.

The socket-layer tests run commit-polish in child processes whose ``socket`` module is
wrapped by a ``sitecustomize`` (on PYTHONPATH): every connect and name lookup is logged, and
anything but the configured loopback address is refused.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import FakeLLMServer, git

from commit_polish import llm, localonly, paths, service
from commit_polish.cli import cli
from commit_polish.errors import LLMError
from commit_polish.hook import main_hook

GIT_FILE = b"\n# Please enter the commit message for your changes.\n"


@pytest.mark.parametrize(
    ("api_base", "loopback"),
    [
        ("http://127.0.0.1:8080/v1", True),
        ("http://127.1.2.3:8080/v1", True),
        ("http://localhost:11434", True),
        ("http://LOCALHOST.:11434", True),
        ("http://[::1]:8080/v1", True),
        ("http://[::ffff:127.0.0.1]:8080/v1", True),
        ("https://user:pw@127.0.0.1/v1", True),
        ("http://10.1.2.3:8080/v1", False),
        ("http://192.168.1.5:8080/v1", False),
        ("http://0.0.0.0:8080/v1", False),
        ("http://[::]:8080/v1", False),
        ("http://localhost.example.com:8080/v1", False),
        ("http://127.0.0.1.nip.io/v1", False),
        ("http://api.openai.com/v1", False),
        ("http://[::1/v1", False),
        ("", False),
        ("not a url", False),
    ],
)
def test_is_loopback(api_base: str, loopback: bool) -> None:
    assert localonly.is_loopback(api_base) is loopback


@pytest.mark.parametrize(
    ("model", "api_base", "environ", "expected"),
    [
        ("llamafile/gemma", "", {}, "http://127.0.0.1:8080/v1"),
        ("ollama/llama3", "", {}, "http://localhost:11434"),
        ("ollama_chat/llama3", "", {}, "http://localhost:11434"),
        ("openai/qwen", "http://127.0.0.1:9000/v1", {}, "http://127.0.0.1:9000/v1"),
    ],
)
def test_local_destinations_pass(
    model: str, api_base: str, environ: dict[str, str], expected: str
) -> None:
    got = localonly.check_local(
        model, api_base, allow_remote=False, config_file="cfg.toml", environ=environ
    )
    assert got == expected


@pytest.mark.parametrize(
    ("model", "api_base", "environ", "expected"),
    [
        (
            "openai/gpt-4o",
            "",
            {},
            "model openai/gpt-4o with no api_base is a hosted service; diffs stay local "
            "unless you set allow_remote = true in cfg.toml",
        ),
        (
            "llamafile/gemma",
            "http://10.1.2.3:8080/v1",
            {},
            "api_base http://10.1.2.3:8080/v1 is not on this machine; diffs stay local "
            "unless you set allow_remote = true in cfg.toml",
        ),
        (
            "ollama/llama3",
            "",
            {"OLLAMA_API_BASE": "http://gpu-box:11434"},
            "api_base http://gpu-box:11434 is not on this machine; diffs stay local "
            "unless you set allow_remote = true in cfg.toml",
        ),
    ],
)
def test_remote_destinations_are_refused(
    model: str, api_base: str, environ: dict[str, str], expected: str
) -> None:
    with pytest.raises(LLMError) as info:
        localonly.check_local(
            model, api_base, allow_remote=False, config_file="cfg.toml", environ=environ
        )
    assert str(info.value) == expected
    assert localonly.check_local(
        model, api_base, allow_remote=True, config_file="cfg.toml", environ=environ
    ) == localonly.effective_api_base(model, api_base, environ)


@pytest.fixture
def staged(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (repo / "a.py").write_text("x = 1\n")
    git(repo, "add", "a.py")
    monkeypatch.chdir(repo)
    msg = repo / ".git" / "COMMIT_EDITMSG"
    msg.write_bytes(GIT_FILE)
    return msg


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"COMMIT_POLISH_API_BASE": "http://10.1.2.3:8080/v1"},
            "commit-polish: api_base http://10.1.2.3:8080/v1 is not on this machine; diffs "
            "stay local unless you set allow_remote = true in {cfg}",
        ),
        (
            {"COMMIT_POLISH_API_BASE": "", "COMMIT_POLISH_MODEL": "openai/gpt-4o"},
            "commit-polish: model openai/gpt-4o with no api_base is a hosted service; diffs "
            "stay local unless you set allow_remote = true in {cfg}",
        ),
    ],
    ids=["remote host", "hosted provider"],
)
def test_hook_refuses_remote_before_any_connection(
    staged: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    expected: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(llm, "_import_litellm", refuse)
    assert main_hook(staged, None, None) == 0
    assert staged.read_bytes() == GIT_FILE
    assert capsys.readouterr().err.splitlines() == [expected.format(cfg=paths.config_file())]
    assert attempts == []


def test_generate_refuses_remote(staged: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMIT_POLISH_API_BASE", "https://llm.example.com/v1")
    result = CliRunner().invoke(cli, ["generate"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "commit-polish: api_base https://llm.example.com/v1 is not on this machine; diffs "
        f"stay local unless you set allow_remote = true in {paths.config_file()}\n"
    )


def test_repository_file_cannot_allow_remote(
    staged: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = staged.parents[1]
    (repo / ".commit-polish.toml").write_text("[ai]\nallow_remote = true\n")
    assert main_hook(staged, None, None) == 0
    assert staged.read_bytes() == GIT_FILE
    [line] = capsys.readouterr().err.splitlines()
    assert "ai.allow_remote may only be set in your own config" in line


# ------------------------------------------------------------------ the socket layer

GUARD = textwrap.dedent(
    """
    import json, os, socket

    _LOG = os.environ["NETGUARD_LOG"]
    _ALLOWED = json.loads(os.environ["NETGUARD_ALLOW"])  # [[host, port], ...]
    _real_connect = socket.socket.connect
    _real_connect_ex = socket.socket.connect_ex
    _real_getaddrinfo = socket.getaddrinfo

    def _record(kind, host, port):
        ok = [str(host), int(port or 0)] in _ALLOWED or (kind == "getaddrinfo" and any(
            str(host) == h for h, _p in _ALLOWED))
        with open(_LOG, "a") as f:
            f.write(json.dumps([kind, str(host), port, ok]) + "\\n")
        if not ok:
            raise PermissionError(f"netguard: {kind} to {host}:{port} refused")

    def _target(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _record("connect", address[0], address[1])
        elif address != os.environ.get("NETGUARD_SERVICE"):  # the user's own service: local
            _record("connect", repr(address), 0)

    def connect(self, address):
        _target(self, address)
        return _real_connect(self, address)

    def connect_ex(self, address):
        _target(self, address)
        return _real_connect_ex(self, address)

    def getaddrinfo(host, port, *args, **kwargs):
        _record("getaddrinfo", host, port if isinstance(port, int) else 0)
        return _real_getaddrinfo(host, port, *args, **kwargs)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.getaddrinfo = getaddrinfo
    """
)

CHILD = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    import commit_polish, commit_polish.cli, commit_polish.hook as hook
    assert "litellm" not in sys.modules
    msg = Path(sys.argv[1])
    original = msg.read_bytes()
    os.environ["COMMIT_POLISH_SKIP"] = "1"
    assert hook.main_hook(msg, None, None) == 0
    del os.environ["COMMIT_POLISH_SKIP"]
    for source in ("merge", "squash", "message", "commit"):
        assert hook.main_hook(msg, source, "HEAD") == 0
    assert msg.read_bytes() == original
    assert "litellm" not in sys.modules, "a skip path imported litellm"
    print(hook.staged_messages()[0])
    import litellm  # already imported by generate; the import itself must add nothing
    """
)


@pytest.fixture
def netguard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    guard_dir = tmp_path / "netguard"
    guard_dir.mkdir()
    (guard_dir / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "netguard.log"
    monkeypatch.setenv("PYTHONPATH", str(guard_dir))
    monkeypatch.setenv("NETGUARD_LOG", str(log))
    monkeypatch.setenv("NETGUARD_SERVICE", str(service.socket_path()))
    # A proxy in the environment must not receive a diff meant for this machine.
    monkeypatch.setenv("HTTP_PROXY", "http://10.255.255.1:3128")
    monkeypatch.setenv("HTTPS_PROXY", "http://10.255.255.1:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("LITELLM_LOCAL_MODEL_COST_MAP", raising=False)
    return log


def connections(log: Path) -> list[list[object]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_import_skip_paths_and_generate_touch_only_the_loopback_server(
    staged: Path, netguard: Path, fake_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NETGUARD_ALLOW", json.dumps([["127.0.0.1", fake_server.port]]))
    fake_server.reply = "feat: add a.py"  # it names the change: one request, no repair
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(staged)],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "feat: add a.py"
    seen = connections(netguard)
    assert seen, "the guard recorded nothing: was sitecustomize loaded?"
    assert all(ok for *_rest, ok in seen), seen
    assert {(kind, host, port) for kind, host, port, _ok in seen} <= {
        ("getaddrinfo", "127.0.0.1", fake_server.port),
        ("connect", "127.0.0.1", fake_server.port),
    }
    assert len(fake_server.requests) == 1


def test_git_commit_through_the_hook_touches_only_the_loopback_server(
    hooked_repo: Path, netguard: Path, fake_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NETGUARD_ALLOW", json.dumps([["127.0.0.1", fake_server.port]]))
    (hooked_repo / "greeting.py").write_text("x = 1\n")
    git(hooked_repo, "add", "greeting.py")
    result = git(hooked_repo, "commit", "-q", check=False)
    assert result.returncode == 0, result.stderr
    assert git(hooked_repo, "log", "-1", "--format=%s").stdout.strip() == (
        "feat: add greeting module"
    )
    seen = connections(netguard)
    assert seen and all(ok for *_rest, ok in seen), seen
    assert {host for _kind, host, _port, _ok in seen} == {"127.0.0.1"}


def test_git_commit_through_the_warm_service_touches_only_it_and_the_loopback_server(
    hooked_repo: Path,
    netguard: Path,
    fake_server: FakeLLMServer,
    warm_service: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NETGUARD_ALLOW", json.dumps([["127.0.0.1", fake_server.port]]))
    (hooked_repo / "greeting.py").write_text("x = 1\n")
    git(hooked_repo, "add", "greeting.py")
    result = git(hooked_repo, "commit", "-q", check=False)
    assert result.returncode == 0, result.stderr
    assert git(hooked_repo, "log", "-1", "--format=%s").stdout.strip() == (
        "feat: add greeting module"
    )
    seen = connections(netguard)  # the hook's own: the service's LiteLLM runs elsewhere
    assert seen == [  # only "is it listening?"
        ["getaddrinfo", "127.0.0.1", fake_server.port, True],
        ["connect", "127.0.0.1", fake_server.port, True],
    ]
    assert len(fake_server.requests) == 1


def test_remote_refusal_makes_no_connection_at_all(
    hooked_repo: Path, netguard: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NETGUARD_ALLOW", "[]")
    monkeypatch.setenv("COMMIT_POLISH_API_BASE", "http://10.1.2.3:8080/v1")
    (hooked_repo / "a.py").write_text("x = 1\n")
    git(hooked_repo, "add", "a.py")
    result = git(hooked_repo, "commit", "-q", "-m", "mine", check=False)
    assert result.returncode == 0, result.stderr
    assert connections(netguard) == []
    monkeypatch.setenv("COMMIT_POLISH_ON_MESSAGE", "polish")
    (hooked_repo / "a.py").write_text("x = 2\n")
    git(hooked_repo, "add", "a.py")
    result = git(hooked_repo, "commit", "-q", "-m", "mine too", check=False)
    assert result.returncode == 0, result.stderr
    assert "is not on this machine" in result.stderr
    assert git(hooked_repo, "log", "-1", "--format=%B").stdout.strip() == "mine too"
    assert connections(netguard) == []
