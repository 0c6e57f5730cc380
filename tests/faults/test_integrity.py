"""What git wrote survives the hook, and no reply can break or block a commit: trailers,
autosquash subjects, revert text, the configured encoding; control characters and runaway
replies. Real ``git commit``s through the installed hook against a loopback server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import commit_count, git, last_message

from commit_polish import hookscript

from .conftest import Behaviour, Fault, FaultServer, describe, reply, run_commit, stage

Start = Callable[[Behaviour], FaultServer]
MakeFault = Callable[[str, str], Fault]
GENERATED = "feat: add greet"


@pytest.fixture
def hooked(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    hookscript.install_hook(repo)
    monkeypatch.setenv("COMMIT_POLISH_TIMEOUT", "60")
    monkeypatch.setenv("GIT_EDITOR", "true")  # the editor saves what it was given
    return repo


def asked(server: FaultServer) -> list[dict[str, object]]:
    return [r for r in server.requests if "messages" in r]


def prompt_of(server: FaultServer) -> str:
    return json.dumps(asked(server)[-1]["messages"])


def committed_bytes(repo: Path) -> bytes:
    return subprocess.run(
        ["git", "cat-file", "commit", "HEAD"], cwd=repo, capture_output=True, check=True
    ).stdout


# ---------------------------------------------------------------- trailers


def co_author_template(repo: Path) -> list[str]:
    template = repo.parent / "template.txt"
    template.write_text("\n\nCo-authored-by: Ada <ada@example.com>\n")
    git(repo, "config", "commit.template", str(template))
    return []


TRAILER_CASES: dict[str, tuple[Callable[[Path], list[str]], str, str]] = {
    "git commit -s": (lambda r: ["-s"], GENERATED, "Signed-off-by: Tester <tester@example.com>"),
    "git commit --trailer": (
        lambda r: ["--trailer", "Reviewed-by: Grace <grace@example.com>"],
        GENERATED,
        "Reviewed-by: Grace <grace@example.com>",
    ),
    "commit.template with Co-authored-by": (
        co_author_template,
        GENERATED,
        "Co-authored-by: Ada <ada@example.com>",
    ),
    "git commit -s, the model invents trailers": (
        lambda r: ["-s"],
        GENERATED + "\n\nExplain it.\n\nSigned-off-by: Bot <bot@x>\nCo-authored-by: AI <ai@x>",
        "Signed-off-by: Tester <tester@example.com>",
    ),
    "git commit -s, the model signs off below its prose": (
        lambda r: ["-s"],
        GENERATED + "\n\nAdd a greet function.\nThe CLI uses it.\nSigned-off-by: Bot <bot@x>",
        "Signed-off-by: Tester <tester@example.com>",
    ),
}


@pytest.mark.parametrize("name", list(TRAILER_CASES))
def test_gits_trailers_are_kept_and_invented_ones_dropped(
    hooked: Path, fault: MakeFault, fault_server: Start, ask_bodies: Path, name: str
) -> None:
    args_for, answer, trailer = TRAILER_CASES[name]
    f = fault(
        f"{name} (message generated)",
        "the generated message ends with git's trailer; none the model made up",
    )
    git(hooked, "config", "user.name", "Tester")
    git(hooked, "config", "user.email", "tester@example.com")
    fault_server(reply(answer))
    stage(hooked)
    result = run_commit(hooked, *args_for(hooked))
    msg = last_message(hooked)
    f.observed(f"exit {result.returncode}; committed {msg!r}")
    assert result.returncode == 0, result.stderr
    assert msg.startswith(GENERATED)
    assert msg.endswith("\n\n" + trailer)
    assert "Bot <bot@x>" not in msg and "AI <ai@x>" not in msg
    prose = [line for line in answer.splitlines() if line and "-by: " not in line]
    assert [line for line in prose if line not in msg] == []


def test_template_trailer_block_is_kept_as_written(
    hooked: Path, fault: MakeFault, fault_server: Start
) -> None:
    f = fault(
        "commit.template with a folded trailer, Key:value and a non-trailer line",
        "the trailer block is kept as git wrote it, not as interpret-trailers reprints it",
    )
    block = (
        "See ticket 123.\nSigned-off-by: Ada <ada@example.com>\nCo-authored-by:Bo <b@x>\n"
        "Reviewed-by: Grace\n  <grace@x>"
    )
    template = hooked.parent / "template.txt"
    template.write_text(f"\n\n{block}\n")
    git(hooked, "config", "commit.template", str(template))
    fault_server(reply(GENERATED))
    stage(hooked)
    result = run_commit(hooked)
    msg = last_message(hooked)
    f.observed(f"exit {result.returncode}; committed {msg!r}")
    assert result.returncode == 0, result.stderr
    assert msg == f"{GENERATED}\n\n{block}"


@pytest.mark.parametrize("root", [False, True], ids=["child commit", "root commit"])
def test_amend_regenerate_keeps_trailers_and_describes_the_whole_commit(
    repo: Path,
    fault: MakeFault,
    fault_server: Start,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    root: bool,
) -> None:
    f = fault(
        f"git commit --amend, on_amend = regenerate ({'root' if root else 'child'} commit)",
        "the old trailers are kept; the model sees the whole amended commit's change",
    )
    if root:
        repo = tmp_path / "fresh"
        git(tmp_path, "init", "-q", str(repo))
    hookscript.install_hook(repo)
    monkeypatch.setenv("COMMIT_POLISH_TIMEOUT", "60")
    monkeypatch.setenv("COMMIT_POLISH_ON_AMEND", "regenerate")
    server = fault_server(reply("feat: add greet and wave"))
    stage(repo, "greet.py", "def greet():\n    return 'hi'\n")
    old = "add greet\n\nChange-Id: I0123456789abcdef\nSigned-off-by: A <a@example.com>"
    git(repo, "commit", "-q", "--no-verify", "-m", old)
    stage(repo, "wave.py", "def wave():\n    return 'o/'\n")
    monkeypatch.setenv("GIT_EDITOR", "true")
    result = run_commit(repo, "--amend")
    msg = last_message(repo)
    sent = prompt_of(server) if asked(server) else ""
    f.observed(
        f"exit {result.returncode}; committed {msg!r}; greet.py in the prompt: {'greet' in sent}"
    )
    assert result.returncode == 0, result.stderr
    assert msg == (
        "feat: add greet and wave\n\nChange-Id: I0123456789abcdef\nSigned-off-by: A <a@example.com>"
    )
    assert "greet.py" in sent and "wave.py" in sent


def test_reuse_message_of_another_commit_describes_only_what_is_staged(
    hooked: Path, fault: MakeFault, fault_server: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = fault(
        "git commit -C <older commit>, on_amend = regenerate",
        "a new commit: the model sees what is staged, not HEAD's change too",
    )
    stage(hooked, "a.py", "a = 1\n")
    git(hooked, "commit", "-q", "--no-verify", "-m", "Add a")
    older = git(hooked, "rev-parse", "HEAD").stdout.strip()
    stage(hooked, "b.py", "b = 1\n")
    git(hooked, "commit", "-q", "--no-verify", "-m", "Add b")
    stage(hooked, "c.py", "c = 1\n")
    monkeypatch.setenv("COMMIT_POLISH_ON_AMEND", "regenerate")
    server = fault_server(reply("feat: add c"))  # 3 subjects teach no style: conventional
    result = run_commit(hooked, "-C", older)
    sent = prompt_of(server) if asked(server) else ""
    f.observed(
        f"exit {result.returncode}; committed {last_message(hooked)!r}; "
        f"b.py in the prompt: {'b.py' in sent}"
    )
    assert result.returncode == 0, result.stderr
    assert "c.py" in sent and "b.py" not in sent
    assert last_message(hooked) == "feat: add c"


def test_amending_a_merge_keeps_its_message(
    hooked: Path, fault: MakeFault, fault_server: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = fault(
        "git commit --amend of a merge, on_amend = regenerate",
        "the merge's message is kept; no request",
    )
    main = git(hooked, "symbolic-ref", "--short", "HEAD").stdout.strip()
    git(hooked, "checkout", "-q", "-b", "side")
    stage(hooked)
    git(hooked, "commit", "-q", "--no-verify", "-m", "add greet")
    git(hooked, "checkout", "-q", main)
    git(hooked, "merge", "-q", "--no-ff", "-m", "Merge branch 'side'", "side")
    monkeypatch.setenv("COMMIT_POLISH_ON_AMEND", "regenerate")
    server = fault_server(reply("feat: add greet"))
    stage(hooked, "wave.py", "def wave():\n    return 'o/'\n")
    result = run_commit(hooked, "--amend")
    msg = last_message(hooked)
    f.observed(f"exit {result.returncode}; committed {msg!r}; requests {len(asked(server))}")
    assert result.returncode == 0, result.stderr
    assert msg == "Merge branch 'side'"
    assert asked(server) == []


# ------------------------------------------------------- git-written subjects


def fixup(repo: Path) -> list[str]:
    return ["--fixup", "HEAD"]


def squash(repo: Path) -> list[str]:
    return ["--squash", "HEAD", "-m", "more"]


def amend_fixup(repo: Path) -> list[str]:
    return ["--fixup=amend:HEAD"]


@pytest.mark.parametrize(
    ("name", "args_for", "prefix"),
    [
        ("git commit --fixup", fixup, "fixup! Initial commit"),
        ("git commit --squash", squash, "squash! Initial commit"),
        ("git commit --fixup=amend:", amend_fixup, "amend! Initial commit"),
    ],
)
def test_autosquash_subjects_are_kept_when_polishing(
    hooked: Path,
    fault: MakeFault,
    fault_server: Start,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    args_for: Callable[[Path], list[str]],
    prefix: str,
) -> None:
    f = fault(f"{name}, on_message = polish", "the subject git wrote is kept; no request")
    monkeypatch.setenv("COMMIT_POLISH_ON_MESSAGE", "polish")
    server = fault_server(reply("feat: polished away"))
    stage(hooked)
    result = run_commit(hooked, *args_for(hooked))
    msg = last_message(hooked)
    f.observed(f"exit {result.returncode}; committed {msg!r}; requests {len(asked(server))}")
    assert result.returncode == 0, result.stderr
    assert msg.startswith(prefix)
    assert asked(server) == []


def test_revert_text_is_kept_when_polishing(
    hooked: Path, fault: MakeFault, fault_server: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = fault("git revert, on_message = polish", "git's Revert text is kept; no request")
    stage(hooked)
    git(hooked, "commit", "-q", "--no-verify", "-m", "add greet")
    sha = git(hooked, "rev-parse", "HEAD").stdout.strip()
    monkeypatch.setenv("COMMIT_POLISH_ON_MESSAGE", "polish")
    server = fault_server(reply("feat: polished away"))
    proc = subprocess.run(["git", "revert", "HEAD"], cwd=hooked, capture_output=True, text=True)
    msg = last_message(hooked)
    f.observed(f"exit {proc.returncode}; committed {msg!r}; requests {len(asked(server))}")
    assert proc.returncode == 0, proc.stderr
    assert msg == f'Revert "add greet"\n\nThis reverts commit {sha}.'
    assert asked(server) == []


def revert_with_reference(repo: Path) -> list[str]:
    git(repo, "config", "revert.reference", "true")
    return ["revert", "HEAD"]


def revert_a_merge(repo: Path) -> list[str]:
    git(repo, "checkout", "-q", "-b", "side")
    stage(repo, "side.py", "x = 1\n")
    git(repo, "commit", "-q", "--no-verify", "-m", "add side")
    git(repo, "checkout", "-q", "-")
    git(repo, "merge", "-q", "--no-ff", "--no-verify", "-m", "Merge side", "side")
    return ["revert", "-m", "1", "HEAD"]


@pytest.mark.parametrize(
    ("name", "args_for", "line"),
    [
        ("git revert with revert.reference", revert_with_reference, r"[0-9a-f]{7,} \(add greet, "),
        ("git revert of a merge", revert_a_merge, r"[0-9a-f]{40}, reversing\nchanges made to "),
    ],
)
def test_other_revert_forms_are_kept_when_polishing(
    hooked: Path,
    fault: MakeFault,
    fault_server: Start,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    args_for: Callable[[Path], list[str]],
    line: str,
) -> None:
    f = fault(f"{name}, on_message = polish", "git's revert text is kept; no request")
    stage(hooked)
    git(hooked, "commit", "-q", "--no-verify", "-m", "add greet")
    args = args_for(hooked)
    monkeypatch.setenv("COMMIT_POLISH_ON_MESSAGE", "polish")
    server = fault_server(reply("Polish the revert away"))
    proc = subprocess.run(["git", *args], cwd=hooked, capture_output=True, text=True)
    msg = last_message(hooked)
    f.observed(f"exit {proc.returncode}; committed {msg!r}; requests {len(asked(server))}")
    assert proc.returncode == 0, proc.stderr
    assert re.search("^This reverts commit " + line, msg, re.MULTILINE), msg
    assert asked(server) == []


# ---------------------------------------------------------------- encoding


def test_latin1_history_reaches_the_prompt_as_written(
    hooked: Path, fault: MakeFault, fault_server: Start
) -> None:
    f = fault(
        "i18n.commitEncoding = ISO-8859-1, earlier subjects in Latin-1",
        "the prompt's example subjects read as they were written",
    )
    git(hooked, "config", "i18n.commitEncoding", "ISO-8859-1")
    stage(hooked, "old.py", "x = 1\n")
    old = hooked.parent / "old-message"
    old.write_bytes("Corrigé l'accès\n".encode("latin-1"))
    git(hooked, "commit", "-q", "--no-verify", "-F", str(old))
    server = fault_server(reply("feat: add greet"))
    stage(hooked)
    result = run_commit(hooked, "-q")
    sent = json.dumps(asked(server)[-1]["messages"], ensure_ascii=False)
    shown = sent[sent.find("Corrig") :][: len("Corrigé l'accès")]
    f.observed(f"exit {result.returncode}; the prompt shows {shown!r}")
    assert result.returncode == 0, result.stderr
    assert shown == "Corrigé l'accès"


def test_commit_encoding_latin1_is_written_in_latin1(
    hooked: Path, fault: MakeFault, fault_server: Start
) -> None:
    f = fault("i18n.commitEncoding = ISO-8859-1", "the message is written in Latin-1")
    git(hooked, "config", "i18n.commitEncoding", "ISO-8859-1")
    fault_server(reply("feat: add café greeting"))
    stage(hooked)
    result = run_commit(hooked, "-q")  # git's summary line would be Latin-1 too
    raw = committed_bytes(hooked)
    shown = git(hooked, "-c", "i18n.logOutputEncoding=UTF-8", "log", "-1", "--format=%s")
    shown = shown.stdout.strip()
    f.observed(f"exit {result.returncode}; git log shows {shown!r}")
    assert result.returncode == 0, result.stderr
    assert b"encoding ISO-8859-1" in raw and "café".encode("latin-1") in raw
    assert shown == "feat: add café greeting"


def test_unknown_commit_encoding_fails_open_naming_it(
    hooked: Path, fault: MakeFault, fault_server: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = fault(
        "i18n.commitEncoding = klingon (unknown), on_message = polish",
        "one line naming the value; no request",
    )
    git(hooked, "config", "i18n.commitEncoding", "klingon")
    monkeypatch.setenv("COMMIT_POLISH_ON_MESSAGE", "polish")
    server = fault_server(reply("feat: add greet"))
    stage(hooked)
    before = commit_count(hooked)
    result = run_commit(hooked, "-m", "add greet")
    f.observed(describe(result, hooked, before))
    assert result.returncode == 0, result.stderr
    assert last_message(hooked) == "add greet"
    assert result.hook_lines == [
        "commit-polish: i18n.commitEncoding = 'klingon' is not an encoding commit-polish "
        "knows; message left as git wrote it"
    ]
    assert asked(server) == []


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (
            "UTF-16",
            "is not ASCII-compatible, and git cannot commit a message in it; message left as "
            "git wrote it (use UTF-8)",
        ),
        ("base64", "is not an encoding commit-polish knows; message left as git wrote it"),
    ],
)
def test_commit_encoding_git_cannot_use_fails_open_naming_it(
    hooked: Path,
    fault: MakeFault,
    fault_server: Start,
    monkeypatch: pytest.MonkeyPatch,
    value: str,
    said: str,
) -> None:
    f = fault(
        f"i18n.commitEncoding = {value}, on_message = polish",
        "one line naming the value; no request",
    )
    git(hooked, "config", "i18n.commitEncoding", value)
    monkeypatch.setenv("COMMIT_POLISH_ON_MESSAGE", "polish")
    server = fault_server(reply("feat: add greet"))
    stage(hooked)
    result = run_commit(hooked, "-q", "-m", "add greet")  # git's summary would be UTF-16
    message = committed_bytes(hooked).split(b"\n\n", 1)[-1]  # git log would re-encode it
    f.observed(f"exit {result.returncode}; committed {message!r}; said {result.hook_lines}")
    assert result.returncode == 0, result.stderr
    assert message == b"add greet\n"
    assert result.hook_lines == [f"commit-polish: i18n.commitEncoding = {value!r} {said}"]
    assert asked(server) == []


# ---------------------------------------------------------------- replies


@pytest.mark.parametrize(
    ("name", "answer", "expected"),
    [
        ("NUL byte", "feat: add\x00 greet", "feat: add greet"),
        ("ANSI colour", "\x1b[31mfeat: add greet\x1b[0m", "feat: add greet"),
        (
            "OSC 8 hyperlink",
            "feat: add \x1b]8;;http://x.example\x07greet\x1b]8;;\x07",
            "feat: add greet",
        ),
        ("BEL, BS and FF", "feat: add\x07 gre\x08et\x0c", "feat: add greet"),
        ("an unterminated OSC title", "\x1b]0;title\nfeat: add greet\n", "feat: add greet"),
        (
            "carriage returns",
            "feat: add greet\r\n\r\nBody line.\r\n",
            "feat: add greet\n\nBody line.",
        ),
    ],
)
def test_control_characters_in_a_reply_are_stripped(
    hooked: Path,
    fault: MakeFault,
    fault_server: Start,
    ask_bodies: Path,
    name: str,
    answer: str,
    expected: str,
) -> None:
    f = fault(f"reply holding {name}", "stripped; the commit is made with the plain text")
    fault_server(reply(answer))
    stage(hooked)
    before = commit_count(hooked)
    result = run_commit(hooked)
    msg = last_message(hooked) if commit_count(hooked) > before else None
    f.observed(f"exit {result.returncode}; committed {msg!r}")
    assert result.returncode == 0, result.stderr
    assert msg == expected


def test_repair_request_quotes_the_first_answer_without_controls(
    hooked: Path, fault: MakeFault, fault_server: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = fault(
        "an unusable reply holding NUL and escapes (retried)",
        "the repair request quotes it without them",
    )
    monkeypatch.setenv("COMMIT_POLISH_ON_MESSAGE", "polish")
    server = fault_server(reply("\x1b[31mfeat: add greet to nowhere.py\x00\x1b[0m"))
    stage(hooked)
    result = run_commit(hooked, "-m", "add greet")
    quoted = [
        str(m["content"])
        for r in asked(server)
        for m in r["messages"]  # type: ignore[attr-defined]
        if m["role"] == "assistant"
    ]
    f.observed(f"exit {result.returncode}; the repair request quoted {quoted!r}")
    assert result.returncode == 0, result.stderr
    assert quoted == ["feat: add greet to nowhere.py"]


def test_runaway_reply_body_is_capped(
    hooked: Path, fault: MakeFault, fault_server: Start, ask_bodies: Path
) -> None:
    f = fault("reply with a 4,000-line body", "the body is cut to 60 lines")
    body = "\n".join(f"- change number {i}" for i in range(4000))
    fault_server(reply(f"feat: add greet\n\n{body}"))
    stage(hooked)
    result = run_commit(hooked)
    lines = last_message(hooked).splitlines()
    f.observed(f"exit {result.returncode}; committed {len(lines)} lines")
    assert result.returncode == 0, result.stderr
    assert lines[0] == "feat: add greet" and len(lines) == 62


def test_missing_message_file_is_named(repo: Path, fault: MakeFault) -> None:
    f = fault("hook run on a message file that does not exist", "one line naming the file")
    missing = repo / ".git" / "NO_SUCH_MSG"
    stage(repo)
    proc = subprocess.run(
        [sys.executable, "-m", "commit_polish", "hook", str(missing)],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    f.observed(f"exit {proc.returncode}; said {proc.stderr.strip()!r}")
    assert proc.returncode == 0
    assert proc.stderr == (
        f"commit-polish: cannot read the message file {missing}: No such file or directory "
        "(git passes it to its prepare-commit-msg hook; run commit-polish hook only from git)\n"
    )
