"""``commit-polish eval``: ROUGE-L, and a replay on a real history that leaves it untouched."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import FakeLLMServer, completion, git
from pytest_httpx import HTTPXMock

from commit_polish import evaluate
from commit_polish import git as git_mod
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


# B-Norm: the expected values are derived by hand from MCMD's metrics/B-Norm.py
# (DeepSoftwareAnalytics/CommitMsgEmpirical; CodeXGLUE's code-to-text bleu.py is the same):
# p1 unsmoothed, p2..p4 = (matches + 1) / (n-grams + 1), BP = exp(min(0, 1 - (r + 1)/(c + 1))).
@pytest.mark.parametrize(
    ("reference", "candidate", "expected"),
    [
        ("add eval command", "Add eval command", 100.0),
        # p = 1, 2/3, 1/2, 1 (no 4-gram: 1/1); r = 4, c = 3
        ("fix the hook timeout", "fix hook timeout", 100 * (1 / 3) ** 0.25 * math.exp(-0.25)),
        # "feat ( cli ) : add eval" against "feat : add eval": p = 1, 3/4, 2/3, 1/2; r 7, c 4
        ("feat(cli): add eval", "feat: add eval", 100 * 0.25**0.25 * math.exp(-0.6)),
        # underscores split off: "fix _ _ init _ _ import"; p = 1, 1/3, 1/2, 1; r 7, c 3
        ("Fix __init__ import", "fix init import", 100 * (1 / 6) ** 0.25 * math.exp(-1)),
        # the reference's quirk: an empty candidate scores exp(-r), not 0
        ("fix bug", "", 100 * math.exp(-2)),
        ("", "", 100.0),
        ("fix hook", "docs: explain templates", pytest.approx(0, abs=1e-60)),
        # lines are just more words: the body is compared as one sequence
        ("fix: a\n\nwhy b", "fix: a why b", 100.0),
    ],
)
def test_b_norm(reference: str, candidate: str, expected: float) -> None:
    assert evaluate.b_norm(reference, candidate) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("reference", "candidate", "expected"),
    [
        ("kitten", "sitting", 1 - 3 / 7),
        ("fix: a", "fix: a", 1.0),
        ("", "", 1.0),
        ("abc", "", 0.0),
        ("Fix", "fix", 1 - 1 / 3),  # characters, case counts
        ("x" * 1500, "x" * 1000 + "y" * 500, 1.0),  # past EDIT_CHARS nothing is compared
    ],
)
def test_edit_similarity(reference: str, candidate: str, expected: float) -> None:
    assert evaluate.edit_similarity(reference, candidate) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fix: a\n\n- b\n- c", False),
        ("fix: a\n\n- b\n- b", True),
        ("fix: a\n\nfix: a", True),  # the body says the subject again
        ("fix: a\n\n  b  \nb", True),
        ("fix: a\n\n\n\n", False),  # blank lines are not lines said twice
        ("", False),
    ],
)
def test_repeats_line(text: str, expected: bool) -> None:
    assert evaluate.repeats_line(text) is expected


@pytest.mark.parametrize(
    ("author", "subject", "skipped"),
    [
        ("dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>", "Bump x", True),
        ("renovate[bot] <bot@renovateapp.com>", "chore(deps): update dependency y to v2", True),
        ("A U Thor <a@example.com>", "Bump httpx from 0.27.0 to 0.28.1", True),
        ("A U Thor <a@example.com>", "v1.2.3", True),
        ("A U Thor <a@example.com>", "2.0.0rc1", True),
        ("A U Thor <a@example.com>", "Release 8.1.0", True),
        ("A U Thor <a@example.com>", "Bump version to 1.2", True),
        ("A U Thor <a@example.com>", "chore(release): 2.3.0", True),
        ("A U Thor <a@example.com>", "[pre-commit.ci] pre-commit autoupdate", True),
        ("A U Thor <a@example.com>", "chore(deps): bump litellm", False),  # a person's
        ("A U Thor <a@example.com>", "Release notes: explain the cache", False),
        ("A U Thor <a@example.com>", "Fix version check for 1.2", False),
        ("Robert Botham <rb@example.com>", "Add bot detection", False),
    ],
)
def test_default_skip(author: str, subject: str, skipped: bool) -> None:
    commit = git_mod.Logged("a" * 40, "b" * 40, author, subject + "\n\nbody")
    assert evaluate.skipped(commit, re.compile(evaluate.DEFAULT_SKIP)) is skipped


def test_pick_counts_the_skipped_until_enough_are_kept() -> None:
    def commit(author: str) -> git_mod.Logged:
        return git_mod.Logged("a" * 40, "b" * 40, author, "Add x")

    bot, person = commit("ci[bot] <c@x>"), commit("P <p@x>")
    skip = re.compile(evaluate.DEFAULT_SKIP)
    assert evaluate.pick([bot, person, bot, person, bot], 2, skip) == ([person, person], 2)
    assert evaluate.pick([bot, person], 2, None) == ([bot, person], 0)


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
    pairs = [(r["human"], r["generated"]) for r in data["rows"]]
    b_norms = [evaluate.b_norm(h, g) for h, g in pairs]
    similarities = [evaluate.edit_similarity(h, g) for h, g in pairs]
    assert [r["b_norm"] for r in data["rows"]] == pytest.approx(b_norms)
    assert data["summary"] == {
        "valid_rate": 1.0,
        "mean_subject_length": pytest.approx((23 + 15 + 29) / 3),
        "type_agreement": 1.0,
        "scope_agreement": 1.0,
        "type_compared": 3,
        "rouge_l_f1": pytest.approx((1.0 + 1 / 3 + 2 * 0.8 * 1.0 / 1.8) / 3),
        # subject-only messages: the whole message scores as the subject
        "b_norm": pytest.approx(sum(b_norms) / 3),
        "b_norm_message": pytest.approx(sum(b_norms) / 3),
        "edit_similarity": pytest.approx(sum(similarities) / 3),
        "edit_similarity_message": pytest.approx(sum(similarities) / 3),
        "repeated_bodies": 0,
        "median_completion_tokens": 12,
        "grounded_rate": 1.0,
        "rule_hits": {},
        "conventional": None,  # three subjects teach no style
        "skipped": 0,
        "skip": evaluate.DEFAULT_SKIP,
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
    assert lines[2] == "commit   valid   secs  tokens  B-Norm  human / generated subject"
    assert lines[3].split()[1:2] == ["no"]
    assert lines[3].split()[3:] == ["240", "0.0", "fix(app):", "greet", "by", "name"]
    assert lines[4] == " " * 40 + "Fixed stuff"
    assert lines[5].strip().startswith("! the model's message was unusable: the subject must")
    assert lines[6:] == [
        "",
        "commits replayed     1 (0 skipped by --skip)",
        "format-valid         0%",
        "mean subject length  11.0",
        "type agreement       0% of 1",
        "scope agreement      0% of 1",
        "B-Norm               subject 0.0, message 0.0",
        "edit similarity      subject 0.17, message 0.17",
        "ROUGE-L F1           0.00",
        "repeated bodies      0 of 1",
        "generated tokens     median 24",  # the answer and the repair's, 12 each
        "grounded             0% of 1",
        "rule hits            none",
    ]
    assert snapshot(history) == before


def commit_file(repo: Path, path: str, text: str, message: str, *author: str) -> None:
    """Commit ``path`` alone: the user's staged change in ``history`` stays staged."""
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(text)
    git(repo, "add", path)
    git(repo, "commit", "-q", *author, "-m", message, "--", path)


def reply(content: str, completion_tokens: int) -> dict[str, object]:
    body = completion(content, prompt_tokens=90)
    body["usage"] = {"prompt_tokens": 90, "completion_tokens": completion_tokens}
    return body


POLITE = "fix(app): greet politely\n\nSay hello instead of hi."


@pytest.fixture
def with_a_bot(history: Path) -> Path:
    """The history, then a dependabot commit, then a person's with a body and a trailer."""
    bot = "--author=dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>"
    commit_file(history, "requirements.txt", "httpx==0.28\n", "Bump httpx from 0.27 to 0.28", bot)
    signed = POLITE + "\n\nSigned-off-by: A U Thor <author@example.com>"
    commit_file(history, "src/app/polite.py", "def hello():\n    pass\n", signed)
    return history


def test_eval_scores_whole_messages_and_leaves_the_bot_out(
    with_a_bot: Path, httpx_mock: HTTPXMock, listening_port: int, ask_bodies: Path
) -> None:
    # Bodies asked for, and the type left to the model: the replies below are scored as sent.
    ask_bodies.write_text("[message]\nbody = true\ngrounded = false\n")
    before = snapshot(with_a_bot)
    looping = "fix(app): greet politely\n\nSay hello instead of hi.\nSay hello instead of hi."
    httpx_mock.add_response(url=chat(listening_port), json=reply(looping, 30))
    httpx_mock.add_response(url=chat(listening_port), json=reply("docs: tidy wording", 6))
    httpx_mock.add_response(url=chat(listening_port), json=reply("docs: tidy the words", 5))
    result = CliRunner().invoke(cli, ["eval", "--last", "2", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    rows = data["rows"]
    assert [r["human"] for r in rows] == ["fix(app): greet politely", "fix(app): greet by name"]
    first = rows[0]
    assert first["human_message"] == POLITE  # git's trailer is not the model's to write
    said_once = "fix(app): greet politely\n\nSay hello instead of hi."  # the loop is cut
    assert first["generated_message"] == said_once
    assert first["b_norm_message"] == pytest.approx(evaluate.b_norm(POLITE, said_once))
    assert first["b_norm"] == 100.0
    assert first["edit_similarity_message"] == pytest.approx(
        evaluate.edit_similarity(POLITE, said_once)
    )
    # The vague subject was asked again, and the second vague one kept.
    assert [(r["repeats_line"], r["completion_tokens"], r["grounded"]) for r in rows] == [
        (False, 30, True),  # names app (src/app)
        (False, 11, False),
    ]
    summary = data["summary"]
    assert summary["skipped"] == 1
    assert summary["repeated_bodies"] == 0
    assert summary["median_completion_tokens"] == 20.5
    assert summary["grounded_rate"] == 0.5
    assert (summary["type_agreement"], summary["scope_agreement"]) == (0.5, 0.5)
    users = [
        json.loads(r.content)["messages"][1]["content"]
        for r in httpx_mock.get_requests()
        if r.url.path.endswith("/chat/completions")
    ]
    assert len(users) == 3 and not any("requirements.txt" in u for u in users)
    assert snapshot(with_a_bot) == before


def test_eval_skip_empty_keeps_the_bot(
    with_a_bot: Path, httpx_mock: HTTPXMock, listening_port: int
) -> None:
    httpx_mock.add_response(
        url=chat(listening_port), json=completion("build: bump httpx"), is_reusable=True
    )
    result = CliRunner().invoke(cli, ["eval", "--last", "2", "--skip", "", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [r["human"] for r in data["rows"]] == [
        "fix(app): greet politely",
        "Bump httpx from 0.27 to 0.28",
    ]
    assert (data["summary"]["skipped"], data["summary"]["skip"]) == (0, "")


def test_eval_bad_skip_names_the_option(history: Path) -> None:
    result = CliRunner().invoke(cli, ["eval", "--skip", "(bot"])
    assert result.exit_code == 2
    assert "Invalid value for --skip: '(bot' is not a regular expression" in result.output


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


def test_log_commits_reads_whole_messages_and_stops_at_its_byte_limit(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages = ["Add a\n\nWhy a.", "Add b\n\n" + "b" * 3000, "Add c"]
    for message in messages:
        git(repo, "commit", "-q", "--allow-empty", "-m", message)
    logged = git_mod.log_commits(10, cwd=repo)
    assert [c.message for c in logged] == messages[::-1]  # the root commit has no parent
    assert logged[0].author == "Test User <test@example.com>"
    assert logged[0].parent == logged[1].sha
    monkeypatch.setattr(git_mod, "LOG_BYTES", 2000)  # "Add b" does not fit
    assert [c.message for c in git_mod.log_commits(10, cwd=repo)] == ["Add c"]
