"""Real ``git commit`` runs through the installed hook, against a loopback stand-in server.

git starts the hook in a child process, out of pytest-httpx's reach, so these tests use the
``fake_server`` fixture (a real HTTP server on 127.0.0.1) under real LiteLLM.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from helpers import FakeLLMServer, git, hook_lines, last_message

GENERATED = "feat: add greeting module"


def stage(
    repo: Path, name: str = "greet.py", text: str = "def greet():\n    return 'hi'\n"
) -> None:
    (repo / name).write_text(text)
    git(repo, "add", name)


def commit(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return git(repo, "commit", *args, check=False)


def test_plain_commit_gets_generated_message_above_gits_comments(
    hooked_repo: Path, fake_server: FakeLLMServer, editor: Path
) -> None:
    stage(hooked_repo)
    result = commit(hooked_repo)
    assert result.returncode == 0, result.stderr
    assert last_message(hooked_repo) == GENERATED
    shown = editor.read_text()
    assert shown.startswith(GENERATED + "\n\n# Please enter the commit message")
    assert len(fake_server.requests) == 1
    assert hook_lines(result.stderr) == []


def test_request_carries_model_budgeted_prompt_and_diff(
    hooked_repo: Path, fake_server: FakeLLMServer, editor: Path
) -> None:
    stage(hooked_repo)
    commit(hooked_repo)
    body = fake_server.requests[0]
    assert body["model"] == "gemma-3-1b-it"
    assert body["max_tokens"] == 160
    assert body["temperature"] == 0.2
    messages = body["messages"]
    assert isinstance(messages, list)
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[1]["content"]
    assert "added greet.py +2 -0" in user
    assert user.rstrip().endswith("+    return 'hi'")


@pytest.mark.parametrize(
    "args",
    [["-m", "my own words"], ["-F", "-"]],
    ids=["-m", "-F"],
)
def test_message_from_user_is_kept(
    hooked_repo: Path, fake_server: FakeLLMServer, args: list[str]
) -> None:
    stage(hooked_repo)
    result = subprocess.run(
        ["git", "commit", *args],
        cwd=hooked_repo,
        input="my own words\n",
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert last_message(hooked_repo) == "my own words"
    assert fake_server.requests == []


def test_amend_keeps_message(hooked_repo: Path, fake_server: FakeLLMServer, editor: Path) -> None:
    stage(hooked_repo)
    assert commit(hooked_repo, "-m", "first version").returncode == 0
    stage(hooked_repo, "other.py", "x = 1\n")
    result = commit(hooked_repo, "--amend")
    assert result.returncode == 0, result.stderr
    assert last_message(hooked_repo) == "first version"
    assert fake_server.requests == []


def test_amend_regenerate_keeps_old_message_as_comments(
    hooked_repo: Path, fake_server: FakeLLMServer, editor: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage(hooked_repo)
    assert commit(hooked_repo, "-m", "first version").returncode == 0
    stage(hooked_repo, "other.py", "x = 1\n")
    monkeypatch.setenv("COMMIT_POLISH_ON_AMEND", "regenerate")
    result = commit(hooked_repo, "--amend")
    assert result.returncode == 0, result.stderr
    assert last_message(hooked_repo) == GENERATED
    assert "# Previous message:\n# first version\n" in editor.read_text()


def test_message_polish_rewrites_draft(
    hooked_repo: Path, fake_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMMIT_POLISH_ON_MESSAGE", "polish")
    stage(hooked_repo)
    result = commit(hooked_repo, "-m", "greet stuff")
    assert result.returncode == 0, result.stderr
    # -m opens no editor, so nothing of ours may be left as comment lines in the commit.
    assert last_message(hooked_repo) == GENERATED
    user = fake_server.requests[0]["messages"][1]["content"]  # type: ignore[index]
    assert "greet stuff" in user


def test_merge_message_is_kept(hooked_repo: Path, fake_server: FakeLLMServer) -> None:
    git(hooked_repo, "checkout", "-q", "-b", "topic")
    stage(hooked_repo)
    git(hooked_repo, "commit", "-q", "-m", "topic work")
    git(hooked_repo, "checkout", "-q", "main")
    stage(hooked_repo, "main.txt", "main\n")
    git(hooked_repo, "commit", "-q", "-m", "main work")
    result = git(hooked_repo, "merge", "--no-ff", "--no-edit", "topic", check=False)
    assert result.returncode == 0, result.stderr
    assert last_message(hooked_repo) == "Merge branch 'topic'"
    assert fake_server.requests == []


def test_verbose_scissors_part_untouched_and_not_sent(
    hooked_repo: Path, fake_server: FakeLLMServer, editor: Path
) -> None:
    stage(hooked_repo)
    result = commit(hooked_repo, "-v")
    assert result.returncode == 0, result.stderr
    shown = editor.read_text()
    assert shown.startswith(GENERATED + "\n")
    scissors = "# ------------------------ >8 ------------------------"
    assert scissors in shown
    assert "diff --git a/greet.py b/greet.py" in shown.split(scissors, 1)[1]
    assert last_message(hooked_repo) == GENERATED
    sent = str(fake_server.requests[0]["messages"])
    assert ">8" not in sent and "Please enter the commit message" not in sent


def test_commit_template_comments_kept(
    hooked_repo: Path, fake_server: FakeLLMServer, editor: Path, tmp_path: Path
) -> None:
    template = tmp_path / "template.txt"
    template.write_text("Summary here\n\n# Team rule: say why, not what.\n")
    git(hooked_repo, "config", "commit.template", str(template))
    stage(hooked_repo)
    result = commit(hooked_repo)
    assert result.returncode == 0, result.stderr
    shown = editor.read_text()
    assert shown.startswith(GENERATED + "\n\n# Team rule: say why, not what.\n")
    assert last_message(hooked_repo) == GENERATED


def test_comment_char_is_honoured(
    hooked_repo: Path, fake_server: FakeLLMServer, editor: Path, ask_bodies: Path
) -> None:
    git(hooked_repo, "config", "core.commentChar", ";")
    ask_bodies.write_text("[message]\nbody = true\ngrounded = false\n")  # the reply as sent
    fake_server.reply = "fix: handle empty input\n\n# not a comment under ';'"
    stage(hooked_repo)
    result = commit(hooked_repo)
    assert result.returncode == 0, result.stderr
    shown = editor.read_text()
    assert shown.startswith("fix: handle empty input\n\n# not a comment under ';'\n\n; Please")
    assert last_message(hooked_repo) == "fix: handle empty input\n\n# not a comment under ';'"


def test_nothing_staged_is_left_alone(hooked_repo: Path, fake_server: FakeLLMServer) -> None:
    result = commit(hooked_repo, "--allow-empty", "-m", "empty")
    assert result.returncode == 0
    result = commit(hooked_repo, "--allow-empty")
    assert fake_server.requests == []


def test_skip_variable(
    hooked_repo: Path, fake_server: FakeLLMServer, editor: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMMIT_POLISH_SKIP", "1")
    stage(hooked_repo)
    result = commit(hooked_repo)
    assert result.returncode == 0
    assert last_message(hooked_repo) == "typed by hand"
    assert fake_server.requests == []


def test_commit_all_uses_gits_temporary_index(
    hooked_repo: Path, fake_server: FakeLLMServer, editor: Path
) -> None:
    (hooked_repo / "README.md").write_text("# demo\nchanged but not staged\n")
    result = commit(hooked_repo, "-a")
    assert result.returncode == 0, result.stderr
    user = fake_server.requests[0]["messages"][1]["content"]  # type: ignore[index]
    assert "+changed but not staged" in user


def _skip_run_capture(repo: Path, editor: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """What git writes into the message file when the hook leaves it alone."""
    monkeypatch.setenv("COMMIT_POLISH_SKIP", "1")
    stage(repo)
    assert commit(repo, "--dry-run").returncode == 0
    assert commit(repo).returncode == 0
    git(repo, "reset", "-q", "--soft", "HEAD~1")
    monkeypatch.delenv("COMMIT_POLISH_SKIP")
    return editor.read_bytes()


@pytest.mark.parametrize("fault", ["server down", "http 500", "empty reply", "broken config"])
def test_failures_leave_gits_file_untouched_and_commit_proceeds(
    hooked_repo: Path,
    fake_server: FakeLLMServer,
    editor: Path,
    fault: str,
    monkeypatch: pytest.MonkeyPatch,
    closed_port: int,
    isolated_home: Path,
) -> None:
    expected = _skip_run_capture(hooked_repo, editor, monkeypatch)
    if fault == "server down":
        monkeypatch.setenv("COMMIT_POLISH_API_BASE", f"http://127.0.0.1:{closed_port}/v1")
    elif fault == "http 500":
        fake_server.status = 500
    elif fault == "empty reply":
        fake_server.reply = "   "
    else:
        cfg = Path(os.environ["COMMIT_POLISH_HOME"]) / "config" / "config.toml"
        cfg.parent.mkdir(parents=True)
        cfg.write_text("[ai]\nmodle = 'x'\n")
    result = commit(hooked_repo)
    assert result.returncode == 0, result.stderr
    assert editor.read_bytes() == expected
    assert last_message(hooked_repo) == "typed by hand"
    lines = hook_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    if fault == "server down":
        assert lines[0] == (
            f"commit-polish: no server at http://127.0.0.1:{closed_port}/v1 "
            "(start it with: commit-polish serve --detach)"
        )
    if fault == "broken config":
        assert "unknown key ai.modle" in lines[0]


def test_strict_mode_aborts_commit(
    hooked_repo: Path, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMMIT_POLISH_API_BASE", f"http://127.0.0.1:{closed_port}/v1")
    monkeypatch.setenv("COMMIT_POLISH_STRICT", "1")
    stage(hooked_repo)
    result = commit(hooked_repo, "-m", "x", "--no-edit")
    # -m is left alone even in strict mode: nothing failed.
    assert result.returncode == 0
    stage(hooked_repo, "b.py", "b = 2\n")
    result = commit(hooked_repo)
    assert result.returncode != 0
    assert hook_lines(result.stderr) == [
        f"commit-polish: no server at http://127.0.0.1:{closed_port}/v1 "
        "(start it with: commit-polish serve --detach) (strict mode: commit aborted)"
    ]


def history(repo: Path, subjects: list[str]) -> None:
    for subject in subjects:
        git(repo, "commit", "-q", "--allow-empty", "-m", subject)


def test_a_short_mixed_history_teaches_no_style(
    hooked_repo: Path, fake_server: FakeLLMServer, editor: Path
) -> None:
    """'Initial commit', one conventional subject and one plain one used to make the
    repository 'plain' and reject a good conventional reply twice."""
    history(hooked_repo, ["feat: add config", "Add readme"])
    stage(hooked_repo)
    result = commit(hooked_repo)
    assert result.returncode == 0, result.stderr
    assert last_message(hooked_repo) == GENERATED
    assert len(fake_server.requests) == 1
    assert hook_lines(result.stderr) == []


def test_a_rejection_says_the_rule_was_learned_from_the_history(
    hooked_repo: Path, fake_server: FakeLLMServer, editor: Path
) -> None:
    history(hooked_repo, [f"Add part {i}" for i in range(10)])
    stage(hooked_repo)
    result = commit(hooked_repo)
    assert result.returncode == 0, result.stderr
    assert last_message(hooked_repo) == "typed by hand"  # the file was left as git wrote it
    [line] = hook_lines(result.stderr)
    assert (
        "the subject must be a plain sentence starting with a capital letter "
        "(learned from 11 of the last 11 subjects), twice"
    ) in line
