"""Real ``git commit`` runs through the installed hook while things go wrong.

Each test asserts what a user would expect: the commit goes on (or, where git itself must
stop, stops without losing a word), the message file is git's or ours but never a mix, and
the hook says what happened in one line.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import commit_count, completion, git, hook_lines, last_message

from commit_polish import hookscript, message
from commit_polish.hook import main_hook

from .conftest import (
    GIT_TEMPLATE_START,
    Behaviour,
    Fault,
    FaultServer,
    describe,
    drip,
    hang,
    raw,
    reply,
    reset_mid_reply,
    run_commit,
    stage,
)

Start = Callable[[Behaviour], FaultServer]
MakeFault = Callable[[str, str], Fault]

# The hook's total time budget (COMMIT_POLISH_TIMEOUT) for the faults about time. It covers
# importing LiteLLM as well as every request, so it cannot be much smaller.
BUDGET = 5
SLACK = 6  # interpreter and git start-up on a busy machine
OK_JSON = json.dumps(completion("x")).encode()
SERVER_FAULTS: dict[str, tuple[Behaviour | None, str]] = {
    "server down": (None, "no server at http://127.0.0.1:"),
    "server hangs (reply never comes)": (hang, "did not answer within 5s"),
    "slow drip, one byte per 0.5 s": (drip, "did not answer within 5s"),
    "HTTP 500": (raw(500, b'{"error": {"message": "boom"}}'), "answered HTTP 500"),
    "HTTP 404": (raw(404, b'{"error": {"message": "no such model"}}'), "does not know model"),
    "HTTP 401": (raw(401, b'{"error": {"message": "bad key"}}'), "HTTP 401"),
    "HTTP 200 whose body is a JSON error": (
        raw(200, b'{"error": {"message": "model is still loading", "code": 503}}'),
        "answered with an error: model is still loading (see the server's log)",
    ),
    "invalid JSON": (raw(200, b"<html>proxy error</html>", "text/html"), "commit-polish: "),
    "empty choices": (
        raw(200, json.dumps({**completion("x"), "choices": []}).encode()),
        "commit-polish: ",
    ),
    "10 MB reply": (
        raw(200, json.dumps(completion("feat: big\n\n" + "word " * 2_000_000)).encode()),
        "characters long, far beyond max_tokens",
    ),
    "non-UTF-8 reply bytes": (
        raw(200, OK_JSON.replace(b'"x"', b'"feat: caf\xe9 \xff\xfe"')),
        "commit-polish: ",
    ),
    "<think> only": (reply("<think>the user wants a commit message</think>"), "was empty"),
    "connection reset mid-reply": (reset_mid_reply, "commit-polish: "),
}


@pytest.fixture
def hooked(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    hookscript.install_hook(repo)
    # Generous: LiteLLM's import (1.5 s idle, 10 s on a loaded machine) is inside the budget.
    monkeypatch.setenv("COMMIT_POLISH_TIMEOUT", "60")
    return repo


def point_at_closed_port(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("COMMIT_POLISH_API_BASE", f"http://127.0.0.1:{port}/v1")


@pytest.mark.parametrize("name", list(SERVER_FAULTS))
def test_server_fault_plain_commit(
    hooked: Path,
    editor: Path,
    fault_server: Start,
    fault: MakeFault,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    behaviour, said = SERVER_FAULTS[name]
    timed = behaviour in (hang, drip)
    f = fault(
        f"{name} (git commit)",
        "commit goes on: the editor opens on git's untouched message, the hook prints one line"
        + (f"; the hook ends at its {BUDGET} s budget" if timed else ""),
    )
    if timed:
        monkeypatch.setenv("COMMIT_POLISH_TIMEOUT", str(BUDGET))
    if behaviour is None:
        point_at_closed_port(monkeypatch)
    else:
        fault_server(behaviour)
    stage(hooked)
    before = commit_count(hooked)
    result = run_commit(hooked)
    shown = editor.read_text()
    untouched = shown.startswith(GIT_TEMPLATE_START) and message.user_text(shown, "#") == ""
    f.observed(
        describe(result, hooked, before)
        + ("; editor showed git's message untouched" if untouched else "; EDITOR SHOWED CHANGES")
        + (f"; {result.seconds:.1f} s in all" if timed else "")
    )
    assert result.returncode == 0, result.stderr
    assert last_message(hooked) == "typed by hand"
    assert untouched, shown
    [line] = result.hook_lines
    assert said in line
    if timed:
        assert result.seconds < BUDGET + SLACK


@pytest.mark.parametrize(
    "name",
    ["server down", "server hangs (reply never comes)", "HTTP 500", "connection reset mid-reply"],
)
def test_server_fault_keeps_the_users_words(
    hooked: Path,
    fault_server: Start,
    fault: MakeFault,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    behaviour, said = SERVER_FAULTS[name]
    f = fault(
        f"{name} (git commit -m, on_message = polish)",
        "commit made with the user's -m text byte for byte; one line",
    )
    monkeypatch.setenv("COMMIT_POLISH_ON_MESSAGE", "polish")
    if behaviour in (hang, drip):
        monkeypatch.setenv("COMMIT_POLISH_TIMEOUT", str(BUDGET))
    if behaviour is None:
        point_at_closed_port(monkeypatch)
    else:
        fault_server(behaviour)
    stage(hooked)
    before = commit_count(hooked)
    words = "Fix the greeting  \n\nIt said hi twice; now once. Ünïcödé kept."
    result = run_commit(hooked, "-m", words, "--cleanup=verbatim")
    f.observed(describe(result, hooked, before))
    assert result.returncode == 0, result.stderr
    assert git(hooked, "log", "-1", "--format=%B").stdout.rstrip("\n") == words
    [line] = result.hook_lines
    assert said in line


def test_strict_mode_aborts_and_keeps_the_users_words(
    hooked: Path, fault: MakeFault, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = fault(
        "server down with strict = true (git commit -m, polish)",
        "commit aborted as configured; the user's text is still in .git/COMMIT_EDITMSG",
    )
    monkeypatch.setenv("COMMIT_POLISH_STRICT", "true")
    monkeypatch.setenv("COMMIT_POLISH_ON_MESSAGE", "polish")
    point_at_closed_port(monkeypatch)
    stage(hooked)
    before = commit_count(hooked)
    result = run_commit(hooked, "-m", "my words")
    kept = (hooked / ".git" / "COMMIT_EDITMSG").read_text()
    f.observed(describe(result, hooked, before) + f"; COMMIT_EDITMSG holds {kept!r}")
    assert result.returncode != 0
    assert commit_count(hooked) == before
    assert kept == "my words\n"
    assert result.hook_lines[0].endswith("(strict mode: commit aborted)")


def test_remote_api_base_is_refused(
    hooked: Path, editor: Path, fault: MakeFault, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = fault(
        "api_base on another machine, allow_remote unset",
        "nothing sent; commit goes on with git's message; one line saying how to opt in",
    )
    monkeypatch.setenv("COMMIT_POLISH_API_BASE", "http://10.1.2.3:8080/v1")
    stage(hooked)
    before = commit_count(hooked)
    result = run_commit(hooked)
    f.observed(describe(result, hooked, before))
    assert result.returncode == 0
    assert last_message(hooked) == "typed by hand"
    [line] = result.hook_lines
    assert "is not on this machine; diffs stay local unless you set allow_remote = true" in line


def test_staged_content_changes_while_the_model_works(
    hooked: Path, editor: Path, fault: MakeFault, fault_server: Start
) -> None:
    f = fault(
        "staged content changes while the model works",
        "the stale message is not written; editor opens on git's message; one line",
    )

    def stage_more_then_reply(server: FaultServer, conn: object, body: dict[str, object]) -> None:
        (hooked / "late.py").write_text("late = True\n")
        git(hooked, "add", "late.py")
        reply("feat: add greeting")(server, conn, body)  # type: ignore[arg-type]

    fault_server(stage_more_then_reply)
    stage(hooked)
    before = commit_count(hooked)
    result = run_commit(hooked)
    shown = editor.read_text()
    f.observed(describe(result, hooked, before))
    assert result.returncode == 0, result.stderr
    assert shown.startswith(GIT_TEMPLATE_START)
    assert "feat: add greeting" not in shown
    [line] = result.hook_lines
    assert "staged changes changed while the model was working" in line


def test_broken_config_file(
    hooked: Path, editor: Path, fault: MakeFault, isolated_home: Path, fault_server: Start
) -> None:
    f = fault(
        "broken config file (invalid TOML)",
        "commit goes on with git's message; one line naming the file",
    )
    fault_server(reply("feat: never asked"))
    cfg = isolated_home / "commit-polish" / "config" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text("[ai\nmodel = 'x'\n")
    stage(hooked)
    before = commit_count(hooked)
    result = run_commit(hooked)
    f.observed(describe(result, hooked, before))
    assert result.returncode == 0
    assert last_message(hooked) == "typed by hand"
    [line] = result.hook_lines
    assert str(cfg) in line and "invalid TOML" in line


@pytest.mark.parametrize("kind", ["a directory", "not UTF-8"])
def test_unreadable_template(
    hooked: Path,
    editor: Path,
    fault: MakeFault,
    fault_server: Start,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    f = fault(
        f"unreadable template ({kind})",
        "commit goes on with git's message; one line naming the template",
    )
    server = fault_server(reply("feat: never asked"))
    template = tmp_path / "template.txt"
    if kind == "a directory":
        template.mkdir()
    else:
        template.write_bytes(b"Diff: {diff}\n\xff\xfe\n")
    monkeypatch.setenv("COMMIT_POLISH_TEMPLATE", str(template))
    stage(hooked)
    before = commit_count(hooked)
    result = run_commit(hooked)
    f.observed(describe(result, hooked, before))
    assert result.returncode == 0
    assert last_message(hooked) == "typed by hand"
    [line] = result.hook_lines
    assert f"template {template}: cannot read" in line
    assert server.requests == []


def test_diff_with_nul_bytes_and_invalid_utf8(
    hooked: Path, editor: Path, fault: MakeFault, fault_server: Start
) -> None:
    f = fault(
        "diff with NUL bytes and invalid UTF-8",
        "a message is generated; the request is valid UTF-8 JSON; commit made",
    )
    server = fault_server(reply("feat: add odd data"))
    (hooked / ".gitattributes").write_text("*.dat diff\n")  # show NULs as text, not "binary"
    (hooked / "odd.dat").write_bytes(b"nul\x00here\nlatin1 caf\xe9\nbad \xff\xfe\n")
    (hooked / "latin.txt").write_bytes(b"r\xe9sum\xe9\n")
    git(hooked, "add", ".gitattributes", "odd.dat", "latin.txt")
    before = commit_count(hooked)
    result = run_commit(hooked)
    f.observed(describe(result, hooked, before))
    assert result.returncode == 0, result.stderr
    assert last_message(hooked) == "feat: add odd data"
    prompt = json.dumps(next(r for r in server.requests if "messages" in r))
    assert "caf\\ufffd" in prompt
    assert result.hook_lines == []


def test_message_file_read_only(
    hooked: Path, editor: Path, fault: MakeFault, fault_server: Start
) -> None:
    f = fault(
        "message file read-only (chmod 0444 by an earlier hook)",
        "nothing asked or written; commit goes on with git's message; one line",
    )
    server = fault_server(reply("feat: never written"))
    # An earlier prepare-commit-msg hook that makes the file read-only; ours is chained after.
    hookscript.uninstall_hook(hooked)
    first = hooked / ".git" / "hooks" / "prepare-commit-msg"
    first.write_text('#!/bin/sh\nchmod 0444 "$1"\n')
    first.chmod(0o755)
    hookscript.install_hook(hooked)
    stage(hooked)
    before = commit_count(hooked)
    result = run_commit(hooked)
    f.observed(describe(result, hooked, before))
    assert result.returncode == 0, result.stderr
    assert last_message(hooked) == "typed by hand"
    [line] = result.hook_lines
    assert "is read-only; message left as git wrote it" in line
    assert server.requests == []


def test_two_commits_at_once_in_two_worktrees(
    hooked: Path, tmp_path: Path, fault: MakeFault, fault_server: Start
) -> None:
    f = fault(
        "two commits at once in two worktrees",
        "both commits made, each with the message for its own diff",
    )
    arrived = threading.Barrier(2, timeout=20)

    def per_diff(server: FaultServer, conn: object, body: dict[str, object]) -> None:
        arrived.wait()  # both hooks are waiting on the model at the same time
        prompt = json.dumps(body)
        name = "alpha" if "alpha.py" in prompt else "beta" if "beta.py" in prompt else "?"
        reply(f"feat: add {name}")(server, conn, body)  # type: ignore[arg-type]

    fault_server(per_diff)
    trees = {}
    for name in ("alpha", "beta"):
        wt = tmp_path / f"wt-{name}"
        git(hooked, "worktree", "add", "-q", "-b", name, str(wt))
        stage(wt, f"{name}.py", f"{name} = 1\n")
        trees[name] = wt
    procs = {
        name: subprocess.Popen(
            ["git", "commit", "-q", "--no-edit"],
            cwd=wt,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, wt in trees.items()
    }
    codes = {name: proc.wait(timeout=60) for name, proc in procs.items()}
    messages = {name: last_message(wt) for name, wt in trees.items()}
    f.observed(f"exit codes {codes}; messages {messages}")
    assert codes == {"alpha": 0, "beta": 0}
    assert messages == {"alpha": "feat: add alpha", "beta": "feat: add beta"}


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])


def _find_hook_pid(git_pid: int, timeout: float = 30) -> int:
    """The hook process started by *our* ``git commit`` (a descendant of ``git_pid``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"commit_polish" not in argv or b"hook" not in argv:
                continue
            pid = ancestor = int(entry.name)
            while ancestor > 1 and ancestor != git_pid:
                ancestor = _parent(ancestor)
            if ancestor == git_pid:
                return pid
        time.sleep(0.05)
    raise AssertionError("the hook process never started")


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_hook_killed_with_sigkill_while_waiting(
    hooked: Path, fault: MakeFault, fault_server: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = fault(
        "hook killed with SIGKILL while the model works (git commit -m, polish)",
        "git stops the commit (its hook died); the message file is intact: the user's text",
    )
    monkeypatch.setenv("COMMIT_POLISH_TIMEOUT", "30")
    monkeypatch.setenv("COMMIT_POLISH_ON_MESSAGE", "polish")
    server = fault_server(hang)
    stage(hooked)
    before = commit_count(hooked)
    proc = subprocess.Popen(
        ["git", "commit", "-m", "my words, all of them"],
        cwd=hooked,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        pid = _find_hook_pid(proc.pid)
        deadline = time.monotonic() + 30
        while not any("messages" in r for r in server.requests) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any("messages" in r for r in server.requests), "the hook never asked the model"
        os.kill(pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    msg = hooked / ".git" / "COMMIT_EDITMSG"
    kept = msg.read_text()
    leftovers = sorted(p.name for p in msg.parent.glob(".COMMIT_EDITMSG.*.tmp"))
    made = "no commit made" if commit_count(hooked) == before else "commit made"
    f.observed(
        f"exit {proc.returncode}, {made}"
        f"; COMMIT_EDITMSG holds {kept!r}; temp files left: {len(leftovers)}"
    )
    assert proc.returncode != 0
    assert commit_count(hooked) == before
    assert kept == "my words, all of them\n"


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
@pytest.mark.parametrize("whom", ["group", "hook"])
def test_ctrl_c_while_waiting_stops_the_commit_and_says_so(
    hooked: Path, fault: MakeFault, fault_server: Start, monkeypatch: pytest.MonkeyPatch, whom: str
) -> None:
    f = fault(
        {
            "group": "Ctrl-C at the terminal while the model works (SIGINT to git and the hook)",
            "hook": "SIGINT to the hook alone while the model works",
        }[whom],
        "no commit made; the message file is intact; the line says the commit was stopped",
    )
    monkeypatch.setenv("COMMIT_POLISH_TIMEOUT", "30")
    monkeypatch.setenv("COMMIT_POLISH_ON_MESSAGE", "polish")
    server = fault_server(hang)
    stage(hooked)
    before = commit_count(hooked)
    proc = subprocess.Popen(
        ["git", "commit", "-m", "my words, all of them"],
        cwd=hooked,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        pid = _find_hook_pid(proc.pid)
        deadline = time.monotonic() + 30
        while not any("messages" in r for r in server.requests) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any("messages" in r for r in server.requests), "the hook never asked the model"
        if whom == "group":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(pid, signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:  # git may die before its hook
        time.sleep(0.05)
    kept = (hooked / ".git" / "COMMIT_EDITMSG").read_text()
    lines = hook_lines(err)
    made = "no commit made" if commit_count(hooked) == before else "commit made"
    f.observed(
        f"git {'killed by SIGINT' if proc.returncode < 0 else 'exit ' + str(proc.returncode)}"
        f", {made}; COMMIT_EDITMSG holds {kept!r}; hook said `{' / '.join(lines)}`"
    )
    assert proc.returncode != 0
    assert commit_count(hooked) == before
    assert kept == "my words, all of them\n"
    assert lines == [
        "commit-polish: interrupted; commit stopped, message file untouched (commit again,"
        " or COMMIT_POLISH_SKIP=1 git commit to go without commit-polish)"
    ]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


ATOMIC_CHILD = """
import sys
from pathlib import Path
from commit_polish.files import write_atomic
path = Path(sys.argv[1])
a, b = b"A" * 3_000_000 + b"\\n", b"B" * 3_000_000 + b"\\n"
print("ready", flush=True)
while True:
    write_atomic(path, a)
    write_atomic(path, b)
"""


def test_sigkill_mid_write_never_leaves_a_partial_file(tmp_path: Path, fault: MakeFault) -> None:
    f = fault(
        "process killed with SIGKILL in the middle of writing the message file (x20)",
        "the file is always one complete version, never partial",
    )
    path = tmp_path / "COMMIT_EDITMSG"
    original = b"\n# git's original message\n"
    seen: set[str] = set()
    for i in range(20):
        path.write_bytes(original)
        proc = subprocess.Popen(
            [sys.executable, "-c", ATOMIC_CHILD, str(path)], stdout=subprocess.PIPE
        )
        assert proc.stdout is not None
        proc.stdout.readline()
        time.sleep(0.01 + (i % 7) * 0.013)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        data = path.read_bytes()
        kind = {original: "original", b"A" * 3_000_000 + b"\n": "A", b"B" * 3_000_000 + b"\n": "B"}
        seen.add(kind.get(data, f"PARTIAL ({len(data)} bytes)"))
    f.observed(f"20 kills; file contents seen: {', '.join(sorted(seen))}")
    assert all(not s.startswith("PARTIAL") for s in seen), seen


def test_disk_full_on_write(
    repo: Path,
    fault: MakeFault,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fault_server: Start,
) -> None:
    f = fault(
        "disk full when writing the message file (in-process, ENOSPC)",
        "message file byte-identical, no temp file left, one line, exit 0",
    )
    fault_server(reply("feat: add greeting"))
    stage(repo)
    monkeypatch.chdir(repo)
    msg = repo / ".git" / "COMMIT_EDITMSG"
    original = b"\n# Please enter the commit message for your changes.\n"
    msg.write_bytes(original)

    real_fsync = os.fsync

    def full(fd: int) -> None:
        # Only the message's temp file hits the full disk: other files the process syncs
        # (LiteLLM's, the HTTP client's, from other threads too) must not fail for reasons
        # this fault is not about, not even when their descriptor is already gone.
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            target = ""
        if ".COMMIT_EDITMSG." in target:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    code = main_hook(msg, None, None)
    lines = capsys.readouterr().err.splitlines()
    leftovers = list(msg.parent.glob(".COMMIT_EDITMSG.*"))
    f.observed(
        f"exit {code}; file {'identical' if msg.read_bytes() == original else 'CHANGED'}; "
        f"temp files left: {len(leftovers)}; hook said `{' / '.join(lines)}`"
    )
    assert code == 0
    assert msg.read_bytes() == original
    assert leftovers == []
    assert lines == [
        f"commit-polish: cannot write {msg}: No space left on device; message left as git wrote it"
    ]


def test_message_dir_not_writable(
    repo: Path,
    fault: MakeFault,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fault_server: Start,
) -> None:
    f = fault(
        "message file's directory not writable (in-process, EACCES on the temp file)",
        "message file byte-identical, one line, exit 0",
    )
    fault_server(reply("feat: add greeting"))
    stage(repo)
    monkeypatch.chdir(repo)
    msg = repo / ".git" / "COMMIT_EDITMSG"
    original = b"\n# Please enter the commit message for your changes.\n"
    msg.write_bytes(original)
    import tempfile

    real_mkstemp = tempfile.mkstemp

    def denied(*args: Any, **kwargs: Any) -> tuple[int, str]:
        # Only in the message's directory: anything else this process (LiteLLM, other
        # threads) makes a temporary file for is not what this fault is about.
        if Path(str(kwargs.get("dir", ""))) == msg.parent:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    code = main_hook(msg, None, None)
    lines = capsys.readouterr().err.splitlines()
    f.observed(
        f"exit {code}; file {'identical' if msg.read_bytes() == original else 'CHANGED'}; "
        f"hook said `{' / '.join(lines)}`"
    )
    assert code == 0
    assert msg.read_bytes() == original
    assert lines == [
        f"commit-polish: cannot write {msg}: Permission denied; message left as git wrote it"
    ]
