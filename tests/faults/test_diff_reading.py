"""The diff is read the same way whatever the user's settings and file names, without
running a repository's filters, and within the hook's time budget. Real ``git commit``s
through the installed hook against a loopback server."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import git, last_message

from commit_polish import hookscript
from commit_polish.hook import main_hook

from .conftest import Behaviour, Fault, FaultServer, hang, reply, run_commit

Start = Callable[[Behaviour], FaultServer]
MakeFault = Callable[[str, str], Fault]


@pytest.fixture
def hooked(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    hookscript.install_hook(repo)
    monkeypatch.setenv("COMMIT_POLISH_TIMEOUT", "60")
    monkeypatch.setenv("GIT_EDITOR", "true")
    return repo


def user_prompt(server: FaultServer) -> str:
    asked = [r for r in server.requests if "messages" in r]
    assert asked, "no request was sent"
    messages = asked[-1]["messages"]
    assert isinstance(messages, list)
    return str(messages[-1]["content"])


def add(repo: Path, name: str, text: str) -> None:
    (repo / name).write_text(text)
    git(repo, "add", "--", name)


@pytest.mark.parametrize("setting", ["diff.noprefix", "diff.mnemonicPrefix"])
def test_users_diff_prefix_setting_changes_nothing(
    hooked: Path, fault: MakeFault, fault_server: Start, isolated_home: Path, setting: str
) -> None:
    f = fault(f"{setting} = true in the user's gitconfig", "the prompt holds the file and hunk")
    with (isolated_home / ".gitconfig").open("a") as gitconfig:
        gitconfig.write(f"[diff]\n\t{setting.split('.')[1]} = true\n")
    server = fault_server(reply("feat: add greet"))
    add(hooked, "greet.py", "def greet():\n    return 'hi'\n")
    result = run_commit(hooked)
    prompt = user_prompt(server)
    f.observed(
        f"exit {result.returncode}; file listed: {'added greet.py' in prompt}; "
        f"hunk sent: {'def greet' in prompt}"
    )
    assert result.returncode == 0, result.stderr
    assert "added greet.py +2 -0" in prompt
    assert "+def greet():" in prompt


@pytest.mark.parametrize(
    "name", ["café.py", 'we"ird.py', "tab\tname.py", "new\nline.py", "my file.py"]
)
def test_unusual_file_names_are_described(
    hooked: Path, fault: MakeFault, fault_server: Start, name: str
) -> None:
    f = fault(
        f"a staged file named {name!r}",
        "the file is listed by its name and its hunk sent; a reply naming it is accepted",
    )
    said = f"feat: add greet in {name.splitlines()[0]}"  # it names the change
    server = fault_server(reply(said))
    add(hooked, name, "def greet():\n    return 'hi'\n")
    result = run_commit(hooked)
    prompt = user_prompt(server)
    f.observed(
        f"exit {result.returncode}; listed: {f'added {name} +2' in prompt}; "
        f"hunk: {'+def greet' in prompt}; committed {last_message(hooked)!r}"
    )
    assert result.returncode == 0, result.stderr
    assert f"added {name} +2 -0" in prompt
    assert "+def greet():" in prompt
    assert last_message(hooked) == said.expandtabs(4)


def test_a_repositorys_textconv_is_never_run(
    hooked: Path, fault: MakeFault, fault_server: Start, tmp_path: Path
) -> None:
    f = fault(
        "textconv filter set for a file (as git-crypt or sops would decrypt)",
        "the filter is not run; the file's own text is what is sent",
    )
    marker = tmp_path / "textconv-ran"
    script = tmp_path / "decrypt.sh"
    script.write_text(f'#!/bin/sh\ntouch "{marker}"\necho "password = Decrypted-Hunter2-Xy9"\n')
    script.chmod(0o755)
    git(hooked, "config", "diff.decrypt.textconv", str(script))
    add(hooked, ".gitattributes", "*.enc diff=decrypt\n")
    git(hooked, "commit", "-q", "--no-verify", "-m", "attributes")
    server = fault_server(reply("feat: add secrets"))
    add(hooked, "secrets.enc", "ENCRYPTED-BLOB-0001\n")
    result = run_commit(hooked)
    prompt = user_prompt(server)
    f.observed(
        f"exit {result.returncode}; filter ran: {marker.exists()}; "
        f"decrypted text sent: {'Decrypted-Hunter2' in prompt}"
    )
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    assert "Decrypted-Hunter2" not in prompt
    assert "ENCRYPTED-BLOB-0001" in prompt


def test_a_huge_staged_file_is_listed_not_read(
    hooked: Path, fault: MakeFault, fault_server: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = fault(
        "a 60 MB file staged, timeout = 20",
        "listed with its size and never diffed; the commit gets its message",
    )
    monkeypatch.setenv("COMMIT_POLISH_TIMEOUT", "20")
    server = fault_server(reply("feat: add the data dump"))
    with (hooked / "dump.txt").open("w") as out:
        line = "0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\n"
        for _ in range(60_000_000 // len(line)):
            out.write(line)
    git(hooked, "add", "dump.txt")
    add(hooked, "greet.py", "def greet():\n    return 'hi'\n")
    result = run_commit(hooked)
    prompt = user_prompt(server)
    f.observed(
        f"exit {result.returncode}; {result.seconds:.1f} s; dump listed as "
        f"{[ln for ln in prompt.splitlines() if 'dump.txt' in ln]}; "
        f"its text sent: {'abcdefghijklmnop' in prompt}"
    )
    assert result.returncode == 0, result.stderr
    assert "added dump.txt 60.0 MB (too large to diff" in prompt
    assert "abcdefghijklmnop" not in prompt
    assert "+def greet():" in prompt
    assert last_message(hooked) == "feat: add the data dump"


def slow_git(tmp_path: Path, seconds: int) -> Path:
    """A directory holding a git that takes ``seconds`` to produce the staged patch."""
    real = shutil.which("git")
    assert real
    bindir = tmp_path / "slowbin"
    bindir.mkdir()
    (bindir / "git").write_text(
        "#!/bin/sh\n"
        # A subshell: a child of git's that outlives it when git is killed, as git's own
        # helpers may, and holds its pipes open until it is done.
        'for a in "$@"; do [ "$a" = "--src-prefix=a/" ] && '
        f'(sleep {seconds} && touch "{bindir}/slept"); done\n'
        f'exec "{real}" "$@"\n'
    )
    (bindir / "git").chmod(0o755)
    return bindir


def hook_in_process(
    repo: Path, monkeypatch: pytest.MonkeyPatch, bindir: Path, api_base: str
) -> tuple[int, Path]:
    """git puts its own directory first on a hook's PATH, so a slow git cannot be slipped
    in under ``git commit``: the hook runs in this process, its git calls through
    ``bindir``'s git. The exit code and the message file."""
    add(repo, "greet.py", "def greet():\n    return 'hi'\n")
    msg = repo / ".git" / "COMMIT_EDITMSG"
    msg.write_bytes(b"\n# Please enter the commit message.\n")
    monkeypatch.chdir(repo)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("COMMIT_POLISH_TIMEOUT", "5")
    monkeypatch.setenv("COMMIT_POLISH_API_BASE", api_base)
    return main_hook(msg, None, None), msg


def test_slow_git_is_named_not_the_server(
    repo: Path,
    fault: MakeFault,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    listening_port: int,
) -> None:
    f = fault(
        "git takes 30 s to produce the diff (a slow disk), timeout = 5",
        "the hook ends at its budget; the line names git, not the server; nothing is sent",
    )
    started = time.monotonic()
    code, msg = hook_in_process(
        repo, monkeypatch, slow_git(tmp_path, 30), f"http://127.0.0.1:{listening_port}/v1"
    )
    seconds = time.monotonic() - started
    lines = capsys.readouterr().err.splitlines()
    f.observed(f"exit {code}; {seconds:.1f} s; hook said `{' / '.join(lines)}`")
    assert code == 0
    assert not (tmp_path / "slowbin" / "slept").exists(), "the hook waited for git's sleep"
    assert msg.read_bytes() == b"\n# Please enter the commit message.\n"
    [line] = lines
    assert line.startswith("commit-polish: git diff --cached took longer than the 5s budget")
    assert "reading the staged diff, before anything was sent to the model" in line


def test_a_server_timeout_says_git_took_part_of_the_budget(
    repo: Path,
    fault: MakeFault,
    fault_server: Start,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    f = fault(
        "git takes 3 s to produce the diff, then the server does not answer, timeout = 5",
        "the line blames the server and says reading the diff took 3 s of the budget",
    )
    server = fault_server(hang)
    code, msg = hook_in_process(repo, monkeypatch, slow_git(tmp_path, 3), server.api_base)
    lines = capsys.readouterr().err.splitlines()
    f.observed(f"exit {code}; hook said `{' / '.join(lines)}`")
    assert code == 0
    assert msg.read_bytes() == b"\n# Please enter the commit message.\n"
    [line] = lines
    assert re.fullmatch(
        r"commit-polish: the server at \S+ did not answer within 5s; reading the staged diff "
        r"took \d\.\ds of it \(raise ai\.timeout, or use a smaller model\)",
        line,
    ), line


def test_a_diff_over_the_read_cap_is_not_read_whole(
    hooked: Path, fault: MakeFault, fault_server: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = fault(
        "400 files of 990 kB staged (400 MB of diff, each file under the 1 MB limit), timeout = 10",
        "the diff is read up to its cap and the rest listed by size; the commit gets its message",
    )
    # 10 s, not 5: the hook's LiteLLM import is in the budget too, and slow on a loaded
    # machine. Read whole, this diff took 10 s and 1.8 GB (5.5 s, 1.6 GB of it the hook's).
    monkeypatch.setenv("COMMIT_POLISH_TIMEOUT", "10")
    server = fault_server(reply("feat: add greet and the data tables"))
    add(hooked, "a_greet.py", "def greet():\n    return 'hi'\n")
    line = "0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\n"
    block = line * (990_000 // len(line))
    for n in range(400):
        (hooked / f"table{n:03}.txt").write_text(block)
    git(hooked, "add", ".")
    result = run_commit(hooked)
    prompt = user_prompt(server) if server.requests else ""
    unread = "1.0 MB (not read, diff over the read limit, not shown)"
    f.observed(
        f"exit {result.returncode}; {result.seconds:.1f} s; hunk sent: {'+def greet' in prompt}; "
        f"tables listed as not read: {prompt.count(unread)}; "
        f"hook said `{' / '.join(result.hook_lines)}`; committed {last_message(hooked)!r}"
    )
    assert result.returncode == 0, result.stderr
    assert result.hook_lines == []
    assert "added a_greet.py +2 -0" in prompt
    assert "+def greet():" in prompt
    assert "+0123456789 abcdefghijklmnopqrstuvwxyz" in prompt  # the first tables were read
    assert re.search(rf"^added table\d+\.txt {re.escape(unread)}$", prompt, re.MULTILINE)
    assert last_message(hooked) == "feat: add greet and the data tables"
