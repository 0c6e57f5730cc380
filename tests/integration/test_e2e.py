"""End to end on the real backend: the CLI, git, the installed hook and llama-server + SmolLM2.

Nothing of ours is faked here: ``commit-polish`` runs as a child process (``python -m
commit_polish``), git runs the installed hook, and the hook talks to a real llama-server over
loopback. SmolLM2-135M writes poor text, so these tests assert the form of a message (what
``clean_reply`` guarantees), never its content.
"""

from __future__ import annotations

import socket
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest
from helpers import commit_count, git, hook_lines, last_message, run_precommit_commit

from dev.realserver import RealServer, free_port

from .helpers import cli, ok, port_accepts, status_checks

# A change worth a message: small enough that the prompt stays a few hundred tokens.
CHANGE = '''\
"""Small network helpers."""


def parse_port(text: str) -> int:
    """Return the TCP port in TEXT, rejecting values outside 1-65535."""
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValueError(f"port out of range: {port}")
    return port
'''


@pytest.fixture(autouse=True)
def quick_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    # max_tokens 300 (the default) takes ~20 s per commit on 2 loaded cores; 60 tokens is a
    # subject line and a short body, which is all these tests look at. Temperature 0 makes
    # the tiny model's reply repeatable from run to run (same diff, same prompt).
    monkeypatch.setenv("COMMIT_POLISH_MAX_TOKENS", "60")
    monkeypatch.setenv("COMMIT_POLISH_TEMPERATURE", "0")
    # The hook's whole-run budget (60 s by default) covers importing litellm and, when the
    # first answer is unusable, a second request; a 2-core CI machine running other jobs can
    # need more. These tests are about the mechanics, not latency.
    monkeypatch.setenv("COMMIT_POLISH_TIMEOUT", "180")


def stage(repo: Path, name: str = "netutil.py", text: str = CHANGE) -> None:
    (repo / name).write_text(text)
    git(repo, "add", name)


def assert_clean_message(message: str) -> None:
    """What the hook promises about any message it writes, whatever the model said."""
    assert message.strip(), "empty message"
    subject = message.split("\n", 1)[0]
    assert subject.strip(), message
    assert len(subject) <= 72, subject
    assert not subject.endswith("."), subject
    assert "```" not in message, message
    assert "<think>" not in message.lower(), message
    assert not any(line.startswith("#") for line in message.splitlines()), message


def tasks_started(server: RealServer) -> int:
    """Chat requests llama-server has begun (one ``launch_slot_`` log line each)."""
    return server.log_path.read_text(errors="replace").count("launch_slot_")


# ------------------------------------------------------------------ install, serve, commit


def test_install_serve_commit_status_stop(
    repo: Path, llama_server_bin: Path, smollm2_model: Path, stop_detached: None
) -> None:
    port = free_port()
    install = ok(
        cli(
            repo,
            "install",
            "--runtime",
            str(llama_server_bin),
            "--model",
            str(smollm2_model),
            "--port",
            str(port),
        )
    )
    hooks = Path(git(repo, "rev-parse", "--git-path", "hooks").stdout.strip())
    hook = (repo / hooks / "prepare-commit-msg").resolve()
    assert f"hook installed: {hook}" in install.stdout
    assert hook.stat().st_mode & stat.S_IXUSR

    served = ok(cli(repo, "serve", "--detach"))
    assert f"server ready at http://127.0.0.1:{port}/v1" in served.stdout
    assert port_accepts(port)

    stage(repo)
    result = git(repo, "commit", check=False)  # GIT_EDITOR=true: the message is what the hook wrote
    assert result.returncode == 0, result.stdout + result.stderr
    # No line from the hook: it did not fail open (had it, git would also have aborted on an
    # empty message, since the editor adds nothing).
    assert hook_lines(result.stderr) == [], result.stderr
    assert commit_count(repo) == 2
    assert_clean_message(last_message(repo))

    code, checks = status_checks(repo)
    assert code == 0, checks
    server = checks["server"]
    assert server["ok"] is True, server
    assert server["data"]["health"] == "ok"
    assert server["data"]["api_base"] == f"http://127.0.0.1:{port}/v1"
    # install names the model after the GGUF file; serve passes that name as the alias.
    assert server["data"]["models"] == [smollm2_model.stem]
    assert isinstance(server["data"]["pid"], int)
    assert checks["runtime"]["data"]["path"] == str(llama_server_bin.resolve())
    assert checks["model"]["data"]["path"] == str(smollm2_model.resolve())
    assert checks["hook"]["ok"] is True

    stopped = ok(cli(repo, "stop"))
    assert f"server stopped (pid {server['data']['pid']}, port {port})" in stopped.stdout
    assert not port_accepts(port)
    with socket.socket() as sock:  # free for a new server (which, like llama-server, sets
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # SO_REUSEADDR: our own
        sock.bind(("127.0.0.1", port))  # probes leave TIME_WAIT entries behind)
    code, checks = status_checks(repo)
    assert code == 1
    assert checks["server"]["ok"] is False
    assert checks["server"]["data"]["health"] == "down"
    assert "no server started by commit-polish is running" in ok(cli(repo, "stop")).stdout


# ------------------------------------------------------------------ the pre-commit framework


def test_pre_commit_framework_on_the_real_server(
    framework_repo: Path, real_server: RealServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMMIT_POLISH_API_BASE", real_server.api_base)
    before = tasks_started(real_server)

    stage(framework_repo)
    result = run_precommit_commit(framework_repo)
    # With GIT_EDITOR=true a commit only succeeds when the hook wrote a message.
    assert result.returncode == 0, result.stdout + result.stderr
    assert_clean_message(last_message(framework_repo))
    asked = tasks_started(real_server)
    assert asked > before  # (more than one request when the first answer is retried)

    stage(framework_repo, text=CHANGE + "\n\nDEFAULT_PORT = 8080\n")
    result = run_precommit_commit(framework_repo, "-m", "my words")
    assert result.returncode == 0, result.stdout + result.stderr
    assert last_message(framework_repo) == "my words"

    result = run_precommit_commit(framework_repo, "--amend", "--no-edit")
    assert result.returncode == 0, result.stdout + result.stderr
    assert last_message(framework_repo) == "my words"
    # The kept messages never reached the model.
    assert tasks_started(real_server) == asked


# ------------------------------------------------------------------ the server dies mid-commit


class KillOnArrival(threading.Thread):
    """SIGKILLs the server as soon as its log shows a chat request being processed."""

    def __init__(self, server: RealServer, proc: subprocess.Popen[bytes]) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.proc = proc
        self.offset = len(server.log_path.read_bytes())
        self.killed_after: float | None = None
        self.done = threading.Event()
        self.started_at = time.monotonic()

    def run(self) -> None:
        while not self.done.is_set():
            with self.server.log_path.open("rb") as log:
                log.seek(self.offset)
                if b"launch_slot_" in log.read():
                    self.proc.kill()
                    self.killed_after = time.monotonic() - self.started_at
                    return
            time.sleep(0.01)


def test_server_killed_mid_commit_keeps_gits_message(
    hooked_repo: Path,
    llama_server_bin: Path,
    smollm2_model: Path,
    editor: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A server of our own (the session one must survive), and a long generation budget: the
    # request is still being worked on when the server dies.
    monkeypatch.setenv("COMMIT_POLISH_MAX_TOKENS", "1000")
    with RealServer(
        llama_server_bin, smollm2_model, ctx=4096, log_path=tmp_path / "server.log"
    ) as server:
        monkeypatch.setenv("COMMIT_POLISH_API_BASE", server.api_base)
        proc = server._proc  # RealServer keeps its Popen private; we need its pid to kill it
        assert proc is not None
        stage(hooked_repo)
        killer = KillOnArrival(server, proc)
        killer.start()
        try:
            result = git(hooked_repo, "commit", check=False)
        finally:
            killer.done.set()
            killer.join()
        assert killer.killed_after is not None, "the request never reached the server"
        assert proc.poll() is not None

    assert result.returncode == 0, result.stdout + result.stderr
    # git's own message reached the editor untouched: only comment lines, no generated text.
    shown = editor.read_text()
    assert shown.startswith("\n# Please enter the commit message"), shown
    assert all(not line or line.startswith("#") for line in shown.splitlines()), shown
    assert last_message(hooked_repo) == "typed by hand"
    assert commit_count(hooked_repo) == 2
    lines = hook_lines(result.stderr)
    assert len(lines) == 1, result.stderr
