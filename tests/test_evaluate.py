"""``commit-polish eval``: ROUGE-L, and a replay on a real history that leaves it untouched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import FakeLLMServer, completion, git
from pytest_httpx import HTTPXMock

from commit_polish import evaluate
from commit_polish.cli import cli


@pytest.mark.parametrize(
    ("reference", "candidate", "expected"),
    [
        ("add eval command", "add eval command", 1.0),
        ("add eval command", "Add the EVAL command", 2 * (3 / 4) * 1.0 / (3 / 4 + 1.0)),
        ("fix hook timeout", "docs: explain templates", 0.0),
        ("", "anything", 0.0),
        ("a b c d", "d c b a", 2 * 0.25 * 0.25 / 0.5),
        ("feat(cli): add eval", "feat: add eval", 2 * 1.0 * 0.75 / 1.75),
    ],
)
def test_rouge_l(reference: str, candidate: str, expected: float) -> None:
    assert evaluate.rouge_l(reference, candidate) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("subject", "expected"),
    [("feat(cli): x", "feat"), ("ABC-1: fix: y", "fix"), ("Add z", None), ("fix!: w", "fix")],
)
def test_cc_type(subject: str, expected: str | None) -> None:
    assert evaluate.cc_type(subject) == expected


def snapshot(repo: Path) -> dict[str, str]:
    return {
        "head": git(repo, "rev-parse", "HEAD").stdout,
        "branches": git(repo, "for-each-ref").stdout,
        "status": git(repo, "status", "--porcelain=v2", "--branch").stdout,
        "index": git(repo, "ls-files", "-s").stdout,
        "staged": git(repo, "diff", "--cached").stdout,
        "worktrees": git(repo, "worktree", "list", "--porcelain").stdout,
        "stash": git(repo, "stash", "list").stdout,
    }


@pytest.fixture
def history(repo: Path, monkeypatch: pytest.MonkeyPatch, listening_port: int) -> Path:
    steps = [
        ("src/app/greet.py", "def greet():\n    return 'hi'\n", "feat(app): add greet"),
        ("docs/usage.md", "# Usage\n\nCall greet().\n", "docs: describe greet"),
        (
            "src/app/greet.py",
            "def greet(name):\n    return 'hi ' + name\n",
            "fix(app): greet by name",
        ),
    ]
    for path, text, subject in steps:
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
        git(repo, "add", path)
        git(repo, "commit", "-q", "-m", subject)
    # The user's own state: a staged change, an unstaged one, an untracked file.
    (repo / "docs" / "usage.md").write_text("# Usage\n\nstaged\n")
    git(repo, "add", "docs/usage.md")
    (repo / "src" / "app" / "greet.py").write_text("unstaged\n")
    (repo / "notes.txt").write_text("untracked\n")
    monkeypatch.chdir(repo)
    monkeypatch.setenv("COMMIT_POLISH_API_BASE", f"http://127.0.0.1:{listening_port}/v1")
    return repo


def chat(port: int) -> str:
    return f"http://127.0.0.1:{port}/v1/chat/completions"


def test_eval_replays_commits_and_leaves_the_repository_alone(
    history: Path, httpx_mock: HTTPXMock, listening_port: int
) -> None:
    before = snapshot(history)
    for reply in ("fix(app): greet by name", "docs: add usage", "feat(app): add greet function"):
        httpx_mock.add_response(url=chat(listening_port), json=completion(reply, prompt_tokens=90))
    result = CliRunner().invoke(cli, ["eval", "--last", "5", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [(r["human"], r["generated"], r["valid"], r["prompt_tokens"]) for r in data["rows"]] == [
        ("fix(app): greet by name", "fix(app): greet by name", True, 90),
        ("docs: describe greet", "docs: add usage", True, 90),
        ("feat(app): add greet", "feat(app): add greet function", True, 90),
    ]
    assert data["summary"] == {
        "valid_rate": 1.0,
        "mean_subject_length": pytest.approx((23 + 15 + 29) / 3),
        "type_agreement": 1.0,
        "type_compared": 3,
        "rouge_l_f1": pytest.approx((1.0 + 1 / 3 + 2 * 0.8 * 1.0 / 1.8) / 3),
        "conventional": True,
        "commits": 3,
    }
    # Each request carried that commit's change only, against its parent.
    bodies = [
        json.loads(r.content)
        for r in httpx_mock.get_requests()
        if r.url.path.endswith("/chat/completions")
    ]
    users = [b["messages"][1]["content"] for b in bodies]
    assert "return 'hi ' + name" in users[0] and "docs/usage.md" not in users[0]
    assert "Call greet()." in users[1] and "greet.py" not in users[1]
    assert "def greet():" in users[2]
    assert "fix(app): greet by name" not in users[0]  # its own subject is not in the history
    assert snapshot(history) == before


def test_eval_text_output_and_worktree_removed_on_failure(
    history: Path, httpx_mock: HTTPXMock, listening_port: int
) -> None:
    before = snapshot(history)
    httpx_mock.add_response(
        url=chat(listening_port), json=completion("Fixed stuff"), is_reusable=True
    )
    result = CliRunner().invoke(cli, ["eval", "--last", "1"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[2] == "commit   valid   secs  tokens  human / generated subject"
    assert lines[3].split()[1:2] == ["no"]
    assert lines[3].endswith("fix(app): greet by name")
    assert lines[4].strip() == "Fixed stuff"
    assert lines[5].strip().startswith("! the model's message was unusable: the subject must")
    assert lines[-5:-1] == [
        "commits replayed     1",
        "format-valid         0%",
        "mean subject length  11.0",
        "type agreement       0% of 1",
    ]
    assert snapshot(history) == before


def test_eval_removes_the_worktree_on_ctrl_c(
    history: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from commit_polish import hook

    before = snapshot(history)

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(hook, "generate", interrupted)
    result = CliRunner().invoke(cli, ["eval"])
    assert result.exit_code == 130
    assert snapshot(history) == before


FIRST_ROW_PROBE = """
import json, sys
from commit_polish import evaluate, hook
real = hook.generate
seen = []
def generate(ctx, **kwargs):
    seen.append("litellm" in sys.modules)
    return real(ctx, **kwargs)
hook.generate = generate
evaluate.run(last=2)
print(json.dumps(seen))
"""


def test_eval_rows_start_their_clocks_after_litellm_is_loaded(history: Path) -> None:
    """Row times are per commit: the import (seconds) is paid before the first row."""
    server = FakeLLMServer()
    try:
        env = {**os.environ, "COMMIT_POLISH_API_BASE": server.api_base}
        proc = subprocess.run(
            [sys.executable, "-c", FIRST_ROW_PROBE], env=env, capture_output=True, text=True
        )
    finally:
        server.close()
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [True, True]
