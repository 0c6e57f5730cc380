"""``serve`` / ``stop`` / ``status`` with a stand-in server process on a free loopback port.

The stand-in is a small Python script installed as the "runtime": it takes the llama.cpp
server flags, answers ``/health`` (503 while "loading") and ``/v1/models``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from commit_polish import config, download, hookscript, paths, server, service
from commit_polish.cli import cli

FAKE_SERVER = """
import argparse, json, os, signal, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

if os.environ.get("FAKE_EXIT"):
    print(os.environ["FAKE_EXIT"], flush=True)
    sys.exit(3)
parser = argparse.ArgumentParser()
parser.add_argument("--server", action="store_true")
parser.add_argument("--nobrowser", action="store_true")
parser.add_argument("-m", required=True)
parser.add_argument("--host", required=True)
parser.add_argument("--port", type=int, required=True)
parser.add_argument("-c", type=int)
parser.add_argument("-a")
parser.add_argument("-np", type=int)
args = parser.parse_args()
ready_at = time.monotonic() + float(os.environ.get("FAKE_LOADING", "0"))
with open(os.environ["FAKE_ARGV_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            loading = time.monotonic() < ready_at
            code, body = (503, {"error": {"message": "Loading model"}}) if loading else (
                200, {"status": "ok"})
        elif self.path == "/v1/models":
            code, body = 200, {"object": "list", "data": [{"id": args.a or args.m}]}
        else:
            code, body = 404, {"error": "not found"}
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass

def linger(signum, frame):
    # Same pid, the listening socket kept, the model gone from the command line.
    fd = httpd.socket.fileno()
    os.set_inheritable(fd, True)
    script = os.path.join(os.path.dirname(__file__), "linger.py")
    os.execv(sys.executable, [sys.executable, script, os.environ["FAKE_LINGER"]])

httpd = ThreadingHTTPServer((args.host, args.port), Handler)
if os.environ.get("FAKE_LINGER"):
    signal.signal(signal.SIGTERM, linger)
print(f"fake server on {args.host}:{args.port}", flush=True)
httpd.serve_forever()
"""

# What the stand-in execs on SIGTERM when FAKE_LINGER is set: an exiting server's command
# line already reads empty (not ours) while it still holds the port; this stretches that
# moment to FAKE_LINGER seconds, or with "forever" ignores SIGTERM until it is killed.
LINGER = """
import os, signal, sys, time
with open(os.environ["FAKE_ARGV_LOG"], "a") as log:
    log.write("lingering\\n")
if sys.argv[1] == "forever":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        time.sleep(60)
time.sleep(float(sys.argv[1]))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def argv_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "argv.log"
    monkeypatch.setenv("FAKE_ARGV_LOG", str(log))
    return log


@pytest.fixture
def files(tmp_path: Path, argv_log: Path) -> tuple[Path, Path]:
    """A stand-in ``llama-server`` and a model file."""
    script = tmp_path / "fake_server.py"
    script.write_text(FAKE_SERVER)
    (tmp_path / "linger.py").write_text(LINGER)
    runtime = tmp_path / "bin" / "llama-server"
    runtime.parent.mkdir()
    runtime.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}" "$@"\n')
    runtime.chmod(0o755)
    model = tmp_path / "tiny.gguf"
    model.write_bytes(b"GGUF")
    return runtime, model


@pytest.fixture
def configured(files: tuple[Path, Path], port: int) -> tuple[Path, Path]:
    runtime, model = files
    config.write_user_config(
        {
            "path": str(runtime),
            "model_path": str(model),
            "model": "llamafile/tiny-1b-it",
            "port": port,
            "api_base": server.api_base(port),
        }
    )
    return files


@pytest.fixture(autouse=True)
def _stop_leftovers() -> Iterator[None]:
    yield
    service.stop()
    server.stop()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    monkeypatch.chdir(path)
    return path


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


# ---------------------------------------------------------------------------- unit level


@pytest.mark.parametrize(("layers", "tail"), [(0, ["-a", "m"]), (99, ["-a", "m", "-ngl", "99"])])
def test_gpu_layers_on_the_command_line(layers: int, tail: list[str]) -> None:
    for kind in ("llamafile", "llama-server"):
        args = server.command(
            Path("/r/rt"), Path("/m.gguf"), 8080, kind=kind, alias="m", gpu_layers=layers
        )
        assert args[-len(tail) :] == tail


def test_serve_options_take_gpu_layers_from_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMIT_POLISH_PATH", "/r/rt")
    monkeypatch.setenv("COMMIT_POLISH_MODEL_PATH", "/m.gguf")
    assert server.options_from_config().gpu_layers == 0
    monkeypatch.setenv("COMMIT_POLISH_GPU_LAYERS", "20")
    assert server.options_from_config().gpu_layers == 20


def test_command_line_per_runtime(tmp_path: Path) -> None:
    model, rt = Path("/m/model.gguf"), Path("/r/llamafile-0.9.3")
    assert server.command(
        rt, model, 8081, kind="llamafile", version=(0, 9, 3), alias="gemma-3-1b-it"
    ) == [
        "/r/llamafile-0.9.3",
        "--server",
        "--nobrowser",
        "-m",
        "/m/model.gguf",
        "--host",
        "127.0.0.1",
        "--port",
        "8081",
        "-c",
        "8192",
        "-a",
        "gemma-3-1b-it",
    ]
    assert server.command(rt, model, 8080, kind="llamafile", version=(0, 10, 0))[:3] == [
        "/r/llamafile-0.9.3",
        "--server",
        "-m",
    ]
    assert server.command(Path("/b/llama-server"), model, 8080, kind="llama-server") == [
        "/b/llama-server",
        "-m",
        "/m/model.gguf",
        "--host",
        "127.0.0.1",
        "--port",
        "8080",
        "-c",
        "8192",
        "-np",
        "1",
    ]
    assert server.sh_fallback(["/r/llamafile", "--server"]) == ["sh", "/r/llamafile", "--server"]


def test_detect_kind_by_name(tmp_path: Path) -> None:
    assert server.detect_kind(Path("/x/llamafile-0.9.3")) == ("llamafile", (0, 9, 3))
    assert server.detect_kind(Path("/x/llama-server")) == ("llama-server", ())
    other = tmp_path / "my-server"
    other.write_text("#!/bin/sh\necho 'llamafile v0.10.2'\n")
    other.chmod(0o755)
    assert server.detect_kind(other) == ("llamafile", (0, 10, 2))


def test_port_in_use(port: int) -> None:
    assert server.port_in_use(port) is False
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        assert server.port_in_use(port) is True


# -------------------------------------------------------------------------- life cycle


def test_serve_detach_status_stop(
    configured: tuple[Path, Path], port: int, repo: Path, argv_log: Path
) -> None:
    runtime, model = configured
    hookscript.install_hook(repo)
    for path, sha in ((runtime, "a" * 64), (model, "b" * 64)):
        download.record_verified(path, sha)

    result = invoke("serve", "--detach")

    assert result.exit_code == 0, result.output
    info = server.read_pid_file()
    assert info is not None and alive(info.pid)
    warm = service.read_pid_file()
    assert warm is not None and alive(warm.pid)
    sock = service.socket_path()
    assert result.stdout == (
        f"server ready at http://127.0.0.1:{port}/v1\n"
        f"pid {info.pid}, log {paths.state_dir() / 'server.log'}; "
        "stop it with: commit-polish stop\n"
        f"service warm at {sock} (pid {warm.pid})\n"
    )
    assert json.loads(argv_log.read_text()) == [
        "-m",
        str(model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "-c",
        "8192",
        "-np",
        "1",
        "-a",
        "tiny-1b-it",
    ]

    status = invoke("status")
    assert status.exit_code == 0, status.output
    hook = repo / ".git" / "hooks" / "prepare-commit-msg"
    assert status.stdout == (
        f"ok      config   {paths.config_file()} (user)\n"
        f"ok      runtime  {runtime} (verified)\n"
        f"ok      model    {model} (verified)\n"
        f"ok      server   reachable at http://127.0.0.1:{port}/v1, serving tiny-1b-it, "
        f"started by commit-polish (pid {info.pid})\n"
        f"ok      service  warm at {sock} (pid {warm.pid})\n"
        f"ok      hook     {hook}\n"
        "-       style    not learned (0 commit subject(s), at least 10 are needed)\n"
        "-       speed    reads 64 prompt tokens/s, writes 16/s (default, none measured): "
        "about 704 prompt tokens within 15 s\n"
    )
    report = json.loads(invoke("doctor", "--json").stdout)
    assert report["ok"] is True
    names = [c["name"] for c in report["checks"]]
    assert names == ["config", "runtime", "model", "server", "service", "hook", "style", "speed"]
    assert report["checks"][3]["data"]["models"] == ["tiny-1b-it"]
    assert report["checks"][4]["data"]["version"] == service.PROTOCOL

    stopped = invoke("stop")
    assert stopped.stdout == (
        f"server stopped (pid {info.pid}, port {port})\nservice stopped (pid {warm.pid})\n"
    )
    assert not alive(info.pid) and not alive(warm.pid)
    assert server.read_pid_file() is None and service.read_pid_file() is None
    assert not sock.exists()
    after = invoke("status")
    assert after.exit_code == 1
    assert (
        f"MISSING server   nothing answers at http://127.0.0.1:{port}/v1\n"
        "                 fix: commit-polish serve --detach\n"
    ) in after.stdout
    assert invoke("stop").stdout == "no server started by commit-polish is running\n"


def test_serve_refuses_a_taken_port(configured: tuple[Path, Path], port: int) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        result = CliRunner().invoke(cli, ["serve", "--detach"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"commit-polish: port {port} on 127.0.0.1 is already in use by another program; pick "
        f"a free one with: commit-polish serve --port {port + 1}\n"
    )
    assert server.read_pid_file() is None


def test_serve_twice_says_already_running(configured: tuple[Path, Path], port: int) -> None:
    assert invoke("serve", "--detach", "--no-service").exit_code == 0
    pid = server.read_pid_file().pid  # type: ignore[union-attr]
    result = CliRunner().invoke(cli, ["serve", "--detach", "--no-service"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"commit-polish: commit-polish's server is already running at "
        f"http://127.0.0.1:{port}/v1 (pid {pid}); stop it with: commit-polish stop\n"
    )


def test_serve_port_option_updates_config(configured: tuple[Path, Path]) -> None:
    other = free_port()
    result = invoke("serve", "--detach", "--no-service", "--port", str(other))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"server ready at http://127.0.0.1:{other}/v1\n")
    cfg = config.load(None)
    assert (cfg.llamafile.port, cfg.llamafile.api_base) == (other, f"http://127.0.0.1:{other}/v1")


def test_serve_waits_while_the_model_loads(
    configured: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, port: int
) -> None:
    monkeypatch.setenv("FAKE_LOADING", "1.0")
    started = time.monotonic()
    result = invoke("serve", "--detach", "--no-service")
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started >= 1.0
    assert server.health(server.api_base(port)) == "ok"


def test_serve_reports_an_early_exit(
    configured: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_EXIT", "error: model file is corrupt")
    result = CliRunner().invoke(cli, ["serve", "--detach"])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "commit-polish: llama-server exited with code 3 before it was ready (log: "
        f"{paths.state_dir() / 'server.log'}: error: model file is corrupt)"
    )
    assert server.read_pid_file() is None


def test_serve_not_configured() -> None:
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 1
    assert result.stderr == (
        "commit-polish: no runtime or model is configured; run: commit-polish install\n"
    )


def record_server(pid: int, port: int, model: Path) -> None:
    """A pid file as ``serve --detach`` writes it."""
    paths.state_dir().mkdir(parents=True, exist_ok=True)
    record = {"pid": pid, "port": port, "runtime": "/x/llamafile", "model": str(model)}
    server.pid_file().write_text(json.dumps({**record, "log": "", "command": []}))


def test_stop_never_kills_a_recycled_pid(tmp_path: Path) -> None:
    stranger = subprocess.Popen(["sleep", "30"])
    try:
        record_server(stranger.pid, 8080, tmp_path / "gone.gguf")
        assert invoke("stop").stdout == "no server started by commit-polish is running\n"
        assert stranger.poll() is None  # still running
        assert not server.pid_file().exists()  # the stale record is gone
    finally:
        stranger.kill()
        stranger.wait()


@pytest.mark.parametrize(("linger", "grace"), [("1.0", server.STOP_GRACE), ("forever", 0.5)])
def test_stop_returns_once_the_pid_is_gone_and_the_port_free(
    configured: tuple[Path, Path],
    port: int,
    argv_log: Path,
    monkeypatch: pytest.MonkeyPatch,
    linger: str,
    grace: float,
) -> None:
    # On SIGTERM the stand-in drops the model from its command line but keeps the port,
    # then exits a second later, well within the grace ("1.0"), or only when SIGKILLed.
    monkeypatch.setenv("FAKE_LINGER", linger)
    assert invoke("serve", "--detach", "--no-service").exit_code == 0
    info = server.read_pid_file()
    assert info is not None
    try:
        assert server.stop(timeout=grace) == info
        assert not alive(info.pid)
        assert not server.port_in_use(port)
        assert server.read_pid_file() is None
        assert argv_log.read_text().endswith("lingering\n")  # it did lose its identity
    finally:
        if alive(info.pid):
            os.killpg(info.pid, signal.SIGKILL)


# Names the model on its command line, prints an empty line once running; SIGTERM ends it.
SLEEPER = [sys.executable, "-c", "import time; print(flush=True); time.sleep(60)"]


def stand_in(model: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([*SLEEPER, str(model)], stdout=subprocess.PIPE)
    # Popen returns inside execve, before /proc shows the new command line: wait for it.
    assert proc.stdout is not None and proc.stdout.readline() == b"\n"
    return proc


def test_stop_counts_a_zombie_it_cannot_reap_as_gone(tmp_path: Path, port: int) -> None:
    # The stand-in's parent never waits for it: once SIGTERM ends it, it stays a zombie that
    # only that parent could reap, and stop must not wait (or SIGKILL) in vain.
    spawn = "import subprocess as s, sys, time; print(s.Popen(sys.argv[1:]).pid, flush=True)"
    model = tmp_path / "tiny.gguf"
    parent = subprocess.Popen(
        [sys.executable, "-c", spawn + "; time.sleep(60)", *SLEEPER, str(model)],
        stdout=subprocess.PIPE,
    )
    try:
        assert parent.stdout is not None
        # The pid line and the child's empty "running" line, in either order.
        pid = int(max(parent.stdout.readline(), parent.stdout.readline()))
        record_server(pid, port, model)
        info = server.read_pid_file()
        assert server.stop(timeout=2.0) == info
        assert server._is_zombie(pid)  # still there, but exited
        assert server.read_pid_file() is None
    finally:
        parent.kill()
        parent.communicate()


def test_stop_names_what_holds_the_port(
    tmp_path: Path, port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "KILL_GRACE", 0.2)
    proc = stand_in(tmp_path / "tiny.gguf")
    try:
        record_server(proc.pid, port, tmp_path / "tiny.gguf")
        with socket.socket() as other, pytest.raises(server.ServerError) as raised:
            other.bind(("127.0.0.1", port))
            other.listen()
            server.stop(timeout=0.2)
        assert str(raised.value) == (
            f"server pid {proc.pid} exited, but port {port} on 127.0.0.1 still accepts "
            f"connections; find what holds it with: lsof -nP -iTCP:{port} -sTCP:LISTEN"
        )
        assert not alive(proc.pid)
        assert server.read_pid_file() is None  # the pid is gone: the record is stale
    finally:
        proc.kill()
        proc.communicate()  # reaps it and closes its stdout pipe


def test_stop_keeps_the_record_of_a_pid_that_survives_sigkill(
    tmp_path: Path, port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if stuck in the kernel (state D): signals are sent, but the process stays.
    monkeypatch.setattr(server, "process_gone", lambda pid: False)
    monkeypatch.setattr(server, "KILL_GRACE", 0.2)
    proc = stand_in(tmp_path / "tiny.gguf")
    try:
        record_server(proc.pid, port, tmp_path / "tiny.gguf")
        with pytest.raises(server.ServerError) as raised:
            server.stop(timeout=0.2)
        assert str(raised.value) == (
            f"server pid {proc.pid} did not exit even after SIGKILL; look at it with: "
            f"ps -o pid,stat,command -p {proc.pid}, then run: commit-polish stop"
        )
        assert server.read_pid_file() is not None  # so a later stop can try again
    finally:
        proc.kill()
        proc.communicate()  # reaps it and closes its stdout pipe


def test_ape_fallback_through_sh(files: tuple[Path, Path], port: int, tmp_path: Path) -> None:
    # No "#!" line: execve fails with ENOEXEC, as an APE binary does under binfmt_misc/WINE
    # trouble; run as a shell script (what an APE also is) it works.
    _runtime, model = files
    ape = tmp_path / "bin" / "llamafile-test"
    ape.write_text(f'exec "{sys.executable}" "{tmp_path / "fake_server.py"}" "$@"\n')
    ape.chmod(0o755)
    config.write_user_config(
        {
            "path": str(ape),
            "model_path": str(model),
            "port": port,
            "api_base": server.api_base(port),
        }
    )

    result = invoke("serve", "--detach", "--no-service")

    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(
        "llamafile-test could not be executed directly; running it through sh\n"
    )
    info = server.read_pid_file()
    assert info is not None and info.command[:4] == ["sh", str(ape), "--server", "--nobrowser"]


def test_foreground_serve_stops_on_ctrl_c(configured: tuple[Path, Path], port: int) -> None:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1] / "src"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "commit_polish", "serve", "--no-service"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == f"server ready at http://127.0.0.1:{port}/v1\n"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 130
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 5
    while server.port_in_use(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not server.port_in_use(port)


def test_foreground_serve_runs_the_service_until_ctrl_c(
    configured: tuple[Path, Path], port: int
) -> None:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1] / "src"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "commit_polish", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == f"server ready at http://127.0.0.1:{port}/v1\n"
        warm = proc.stdout.readline()
        up = service.read_pid_file()
        assert up is not None and alive(up.pid)
        assert warm == f"service warm at {service.socket_path()} (pid {up.pid})\n"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 130
    finally:
        proc.kill()
        proc.wait()
    assert not alive(up.pid)
    assert service.read_pid_file() is None and not service.socket_path().exists()


# ------------------------------------------------------------------------------ status


def test_status_with_nothing_installed(repo: Path, port: int) -> None:
    config.write_user_config({"port": port, "api_base": server.api_base(port)})
    result = invoke("status")
    assert result.exit_code == 1
    assert result.stdout == (
        f"ok      config   {paths.config_file()} (user)\n"
        "MISSING runtime  not configured\n"
        "                 fix: commit-polish install\n"
        "MISSING model    not configured\n"
        "                 fix: commit-polish install\n"
        f"MISSING server   nothing answers at http://127.0.0.1:{port}/v1\n"
        "                 fix: commit-polish serve --detach\n"
        "-       service  not running; the hook imports LiteLLM on each commit "
        "(start: commit-polish serve --detach)\n"
        "MISSING hook     not installed in this repository "
        f"({repo / '.git' / 'hooks' / 'prepare-commit-msg'})\n"
        "                 fix: commit-polish install\n"
        "-       style    not learned (0 commit subject(s), at least 10 are needed)\n"
        "-       speed    reads 64 prompt tokens/s, writes 16/s (default, none measured): "
        "about 704 prompt tokens within 15 s\n"
    )


@pytest.mark.parametrize(
    ("subjects", "ok", "detail"),
    [
        (["feat: x"] * 10, True, "Conventional Commits (learned from 10 of the last 10 subjects)"),
        (["Add x"] * 10, True, "plain subjects (learned from 10 of the last 10 subjects)"),
        (
            ["feat: x", "Add y"] * 5,
            None,
            "not known (5 of 10 subjects are conventional, 70% either way are needed)",
        ),
    ],
)
def test_status_says_what_style_was_learned(
    repo: Path, subjects: list[str], ok: bool | None, detail: str
) -> None:
    for subject in subjects:
        subprocess.run(
            ["git", "commit", "-q", "--allow-empty", "-m", subject], cwd=repo, check=True
        )
    checks = {c["name"]: c for c in json.loads(invoke("status", "--json").stdout)["checks"]}
    assert (checks["style"]["ok"], checks["style"]["detail"]) == (ok, detail)


def test_status_shows_chained_and_foreign_hooks(repo: Path) -> None:
    hook = repo / ".git" / "hooks" / "prepare-commit-msg"
    hook.write_text("#!/bin/sh\nexit 0\n")
    hook.chmod(0o755)
    checks = {c["name"]: c for c in json.loads(invoke("status", "--json").stdout)["checks"]}
    assert checks["hook"]["ok"] is False
    assert checks["hook"]["fix"] == "commit-polish install  (keeps that hook and runs it first)"

    hookscript.install_hook(repo)
    checks = {c["name"]: c for c in json.loads(invoke("status", "--json").stdout)["checks"]}
    assert checks["hook"]["ok"] is True
    assert checks["hook"]["detail"] == f"{hook}, runs prepare-commit-msg.commit-polish-orig first"


def test_status_outside_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    checks = {c["name"]: c for c in json.loads(invoke("status", "--json").stdout)["checks"]}
    assert checks["hook"] == {
        "name": "hook",
        "ok": None,
        "detail": "not inside a git repository",
        "fix": None,
        "data": {"repository": False},
    }


def test_status_flags_an_unverified_download(
    configured: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = paths.models_dir() / "tiny.gguf"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"GGUF")
    config.write_user_config({"model_path": str(model)})
    checks = {c["name"]: c for c in json.loads(invoke("status", "--json").stdout)["checks"]}
    assert checks["model"]["ok"] is False
    assert checks["model"]["fix"] == "commit-polish install"
    assert checks["runtime"]["detail"].endswith("(your own file, not verified by commit-polish)")


def test_install_serve_starts_the_server(files: tuple[Path, Path], port: int, repo: Path) -> None:
    runtime, model = files
    result = invoke(
        "install", "--runtime", str(runtime), "--model", str(model), "--port", str(port), "--serve"
    )

    assert result.exit_code == 0, result.output
    info = server.read_pid_file()
    assert info is not None and alive(info.pid)
    assert (
        f"server ready at http://127.0.0.1:{port}/v1 (pid {info.pid}); stop it with: "
        "commit-polish stop\n"
    ) in result.stdout
    assert server.served_models(server.api_base(port)) == ["tiny"]
    assert config.load(None).llamafile.api_base == f"http://127.0.0.1:{port}/v1"
    warm = service.read_pid_file()
    assert warm is not None and alive(warm.pid)
    assert f"service warm at {service.socket_path()} (pid {warm.pid})\n" in result.stdout
    assert invoke("uninstall", "--purge").exit_code == 0
    assert not alive(warm.pid) and not service.socket_path().exists()
