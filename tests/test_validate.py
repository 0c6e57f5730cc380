"""Validation of cleaned messages, and the one repair request (pytest-httpx under LiteLLM)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import GIT_FILE, chat_url, completion
from pytest_httpx import HTTPXMock

from commit_polish import grammar, validate
from commit_polish.form import Action
from commit_polish.grammar import Spec
from commit_polish.hook import main_hook

DIFF = (
    "diff --git a/src/app/greet.py b/src/app/greet.py\n"
    "--- a/src/app/greet.py\n+++ b/src/app/greet.py\n"
    "@@ -1,2 +1,2 @@\n-def greet(name):\n+def greet(name, loud=False):\n"
    "+    return name.upper() if loud else name\n"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fix: handle src/app/greet.py and README.md", ["src/app/greet.py", "README.md"]),
        ("Use Node.js and Vue.js, e.g. version 1.2.3", []),
        ("Update docs/guide.rst.", ["docs/guide.rst"]),
        ("Support input/output and client/server", []),
        ("Mention me@example.com and https://x.io/a.html", []),
        (
            "Bump pyproject.toml, Cargo.lock and main.go",
            ["pyproject.toml", "Cargo.lock", "main.go"],
        ),
        ("Fix the .py loader and the config file", []),
    ],
)
def test_mentioned_paths(text: str, expected: list[str]) -> None:
    assert validate.mentioned_paths(text) == expected


CONV = Spec(types=("feat", "fix"), subject_max=40)


@pytest.mark.parametrize(
    ("text", "spec", "expected"),
    [
        ("fix: accept a loud flag in greet", CONV, []),
        ("fix(app)!: accept loud in greet.py", CONV, []),
        (
            "Accept a loud flag",
            CONV,
            ["the subject must look like 'type(scope): description' with type one of feat, fix"],
        ),
        ("docs: explain", CONV, ["the type 'docs' is not one of feat, fix"]),
        ("fix: " + "x" * 40, CONV, ["the subject is 45 characters long; at most 40 allowed"]),
        ("fix: a\n\n" + "y" * 73, CONV, ["body lines must be at most 72 characters long"]),
        ("fix: a\n\nWhy.", Spec(body=False), ["write the subject line only, no body"]),
        (
            "fix: update src/app/util.py",
            CONV,
            ["it names files that are not in the diff: src/app/util.py"],
        ),
        (
            "def greet(name, loud=False):",
            Spec(style="plain"),
            [
                "the subject must be a plain sentence starting with a capital letter",
                "it repeats lines of the diff instead of describing the change",
            ],
        ),
        ("Add a loud flag", Spec(style="plain"), []),
        (
            "add a loud flag",
            Spec(style="plain"),
            ["the subject must be a plain sentence starting with a capital letter"],
        ),
        (
            "fix: add a loud flag",
            Spec(style="plain"),
            ["the subject must be a plain sentence starting with a capital letter"],
        ),
        ("✨ feat: add a loud flag", Spec(gitmoji=True), []),
    ],
)
def test_check(text: str, spec: Spec, expected: list[str]) -> None:
    assert validate.check(text, spec, diff_text=DIFF, paths=("src/app/greet.py",)) == expected


def bodies(httpx_mock: HTTPXMock) -> list[dict[str, object]]:
    return [
        json.loads(r.content)
        for r in httpx_mock.get_requests()
        if r.url.path.endswith("/completions")
    ]


def test_invalid_answer_is_repaired_once(
    staged: Path, httpx_mock: HTTPXMock, listening_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    httpx_mock.add_response(
        url=chat_url(listening_port), json=completion("Added greet to utils.py")
    )
    httpx_mock.add_response(url=chat_url(listening_port), json=completion("feat: add greet"))
    assert main_hook(staged, None, None) == 0
    assert staged.read_bytes() == b"feat: add greet\n" + GIT_FILE
    first, second = bodies(httpx_mock)
    assert second["messages"][:-2] == first["messages"]
    assert second["messages"][-2:] == [
        {"role": "assistant", "content": "Added greet to utils.py"},
        {
            "role": "user",
            "content": "That commit message is not acceptable: the subject must look like "
            "'type(scope): description' with type one of feat; it names files that are not in "
            "the diff: "
            "utils.py. Write the commit message again, fixing this. Reply with the message only.",
        },
    ]
    assert capsys.readouterr().err == ""


def test_second_invalid_answer_fails_open_after_one_retry(
    staged: Path, httpx_mock: HTTPXMock, listening_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    httpx_mock.add_response(
        url=chat_url(listening_port), json=completion("feat: edit lib/other.py"), is_reusable=True
    )
    assert main_hook(staged, None, None) == 0
    assert staged.read_bytes() == GIT_FILE
    assert len(bodies(httpx_mock)) == 2
    assert capsys.readouterr().err == (
        "commit-polish: the model's message was unusable: it names files that are not in the "
        "diff: lib/other.py, twice (try again, or a larger model)\n"
    )


def test_grammar_is_sent_and_a_rejection_is_remembered(
    staged: Path, httpx_mock: HTTPXMock, listening_port: int
) -> None:
    url = chat_url(listening_port)
    httpx_mock.add_response(
        url=url,
        status_code=400,
        json={
            "error": {
                "code": 400,
                "message": "Failed to initialize samplers: failed to parse grammar",
                "type": "invalid_request_error",
            }
        },
    )
    httpx_mock.add_response(url=url, json=completion("feat: add greet"), is_reusable=True)
    assert main_hook(staged, None, None) == 0
    assert staged.read_bytes() == b"feat: add greet\n" + GIT_FILE
    first, second = bodies(httpx_mock)
    # The subject must name the definition the change adds.
    assert first["grammar"] == grammar.build(
        # greet.py is new and defines greet: a feature, in a subject of its own.
        Spec(
            types=("feat",),
            scopes=None,
            subject_max=72,
            body=False,
            case="any",
            actions=(Action(("Add",), ("greet",)),),
        )
    )
    assert "grammar" not in second
    assert {k: v for k, v in first.items() if k != "grammar"} == second
    # Later runs do not send it again.
    staged.write_bytes(GIT_FILE)
    assert main_hook(staged, None, None) == 0
    assert "grammar" not in bodies(httpx_mock)[2]


def test_other_http_400_is_not_taken_for_a_grammar_rejection(
    staged: Path, httpx_mock: HTTPXMock, listening_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    httpx_mock.add_response(
        url=chat_url(listening_port),
        status_code=400,
        json={"error": {"message": "context too long"}},
    )
    assert main_hook(staged, None, None) == 0
    assert len(bodies(httpx_mock)) == 1
    assert "HTTP 400" in capsys.readouterr().err
    assert grammar.applies("llamafile/gemma-3-1b-it", f"http://127.0.0.1:{listening_port}/v1")


@pytest.mark.parametrize(
    ("problems", "said"),
    [
        (["too long"], "too long"),
        (["a", "b"], "a; b"),
        (["x" * 400], "x" * 299 + "…"),
    ],
)
def test_correction_is_bounded(problems: list[str], said: str) -> None:
    assert validate.correction(problems) == (
        f"That commit message is not acceptable: {said}. Write the commit message again, "
        "fixing this. Reply with the message only."
    )


@pytest.mark.parametrize(
    ("subject", "loops"),
    [
        ("build: ire: ire: ire: ire", True),
        ("fix: the the the parser", True),
        ("docs: add a b a b a b", True),
        ("fix: retry, retry once more", False),
        ("feat: add parse_port and parse_host", False),
        ("Bump ruff from 0.5.4 to 0.5.5", False),
    ],
)
def test_repeats_itself(subject: str, loops: bool) -> None:
    assert validate.repeats_itself(subject) is loops


HISTORY = (
    "build(deps): bump importlib-metadata from 8.1.0 to 8.2.0",
    "[ABC-12] Add the login form",
    "fix: handle empty input",
)


@pytest.mark.parametrize(
    ("subject", "copied"),
    [
        ("build(deps): bump importlib-metadata from 8.1.0 to 8.2.0", True),
        ("Fix: Handle empty input.", True),  # case and punctuation do not make it new
        ("[ABC-99] Add the login form", True),  # nor another ticket
        ("build(deps): bump ruff from 0.5.4 to 0.5.5", False),
        ("fix: handle empty input in parse_port", False),
    ],
)
def test_copies_history(subject: str, copied: bool) -> None:
    assert validate.copies_history(subject, HISTORY) is copied


RULES = (
    "- The subject is a plain sentence starting with a capital letter.\n"
    "- Write in English. Describe only changes that appear in the diff.\n"
    "What changed, for sure:\n"
)


@pytest.mark.parametrize(
    ("text", "repeats"),
    [
        ("Improve the following changes\n\nThe subject is a plain sentence starting", True),
        ("Describe only changes that appear in the diff", True),
        ("Write in English", False),  # too short to be a copy rather than a coincidence
        ("feat: add parse_port\n\nWhat changed, for sure:", True),  # seen in make demo
        ("Add parse_port to read the port from the environment", False),
    ],
)
def test_repeats_instructions(text: str, repeats: bool) -> None:
    assert validate.repeats_instructions(text, RULES) is repeats


def test_a_reply_cut_at_max_tokens_loses_its_half_written_line(
    staged: Path, httpx_mock: HTTPXMock, listening_port: int, ask_bodies: Path
) -> None:
    reply = "feat: add greet\n\nGreet people by name, loudly\nif they ask for it, so that"
    httpx_mock.add_response(
        url=chat_url(listening_port), json=completion(reply, finish_reason="length")
    )
    assert main_hook(staged, None, None) == 0
    assert staged.read_bytes() == b"feat: add greet\n\nGreet people by name, loudly\n" + GIT_FILE


def test_candidates_keep_the_grounded_one_without_a_repair(
    staged: Path, httpx_mock: HTTPXMock, listening_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMMIT_POLISH_CANDIDATES", "3")
    for text in ("feat: improve the code", "feat: add greet", "feat: add greet"):
        httpx_mock.add_response(url=chat_url(listening_port), json=completion(text))
    assert main_hook(staged, None, None) == 0
    assert staged.read_bytes() == b"feat: add greet\n" + GIT_FILE
    first, *more = bodies(httpx_mock)
    assert len(more) == 2  # the third, a repeat of the second, is not kept twice
    # The same prompt (read from the server's cache), sampled hotter; no correction turn.
    assert all(b["messages"] == first["messages"] for b in more)
    assert [b["temperature"] for b in (first, *more)] == [0.2, 0.7, 0.7]


def test_a_failing_extra_candidate_keeps_the_first(
    staged: Path, httpx_mock: HTTPXMock, listening_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMMIT_POLISH_CANDIDATES", "2")
    httpx_mock.add_response(url=chat_url(listening_port), json=completion("feat: add greet"))
    httpx_mock.add_response(url=chat_url(listening_port), status_code=500, json={"error": "x"})
    assert main_hook(staged, None, None) == 0
    assert staged.read_bytes() == b"feat: add greet\n" + GIT_FILE


def test_generate_n_prints_the_candidates_best_first(
    staged: Path, httpx_mock: HTTPXMock, listening_port: int
) -> None:
    from click.testing import CliRunner

    from commit_polish.cli import cli

    for text in ("feat: improve the code", "feat: add greet", "feat: greet in greet.py"):
        httpx_mock.add_response(url=chat_url(listening_port), json=completion(text))
    result = CliRunner().invoke(cli, ["generate", "-n", "3"])
    assert result.exit_code == 0, result.output
    # Both grounded; greet.py's subject names two of the change's names, so it leads.
    assert result.stdout == (
        "---\nfeat: greet in greet.py\n---\nfeat: add greet\n---\nfeat: improve the code\n"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("feat: improve the code", (0, 0)),
        ("feat: add greet", (1, 1)),
        ("feat: greet from greet.py", (1, 2)),
    ],
)
def test_score(text: str, expected: tuple[int, int]) -> None:
    from commit_polish import diff, facts
    from commit_polish.style import Shape

    raw = (
        b"diff --git a/greet.py b/greet.py\n--- /dev/null\n+++ b/greet.py\n"
        b"@@ -0,0 +1 @@\n+def greet():\n"
    )
    shape = Shape(spec=Spec(), facts=facts.gather(diff.parse(raw)))
    assert validate.score(text, shape) == expected
