"""Unit tests for commit_polish.prompt: templates, placeholders, the system prompt."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from commit_polish import prompt
from commit_polish.errors import ConfigError
from commit_polish.prompt import Options

KNOWN = "{diff}, {files}, {branch}, {recent_commits}, {draft}, {omitted}"

VALUES: dict[str, Any] = {
    "diff": "diff --git a/x.py b/x.py\n@@ -1 +1 @@\n-a = 1\n+a = 2",
    "files": "modified x.py +1 -1",
    "branch": "main",
    "recent_commits": "feat: add x\nfix: y",
    "draft": "",
    "omitted": "",
}


# ------------------------------------------------------------------ templates


def unknown(field: str) -> str:
    return f"unknown placeholder {field} (known: {KNOWN})"


def not_plain(field: str) -> str:
    return (
        f"placeholder {field} is not a plain {{name}}: no format spec, conversion, attribute "
        f"or index (known: {KNOWN})"
    )


def lone(brace: str) -> str:
    return f"a lone {brace!r} (write literal braces as {{{{ }}}})"


@pytest.mark.parametrize(
    ("text", "line", "error"),
    [
        ("Diff: {dif}", 1, unknown("{dif}")),
        ("{diff}\n{author}", 2, unknown("{author}")),
        ("{" + "x" * 60 + "}", 1, unknown("{" + "x" * 36 + "…}")),
        ("{0}", 1, not_plain("{0}")),
        ("{}", 1, not_plain("{}")),
        ("{diff.splitlines}", 1, not_plain("{diff.splitlines}")),
        ("{branch[0]}", 1, not_plain("{branch[0]}")),
        ("{ diff }", 1, not_plain("{ diff }")),
        ("{diff:>900000000}", 1, not_plain("{diff:>900000000}")),
        ("a\n\n{diff!r}", 3, not_plain("{diff!r}")),
        ("{diff:{branch.__class__}}", 1, not_plain("{diff:{branch.__class__}}")),
        ("{diff:{" + "x" * 60 + "}}", 1, not_plain("{diff:{" + "x" * 30 + "…}")),
        ("{files}\n{diff", 2, lone("{")),
        ("diff}", 1, lone("}")),
        ("{diff:{{x}}}", 1, lone("{")),
        ("{files}\n{diff}\n\n{diff}", 4, "{diff} a second time (each placeholder may appear once)"),
        ("{branch}{branch}", 1, "{branch} a second time (each placeholder may appear once)"),
    ],
    ids=[
        "typo",
        "unknown-on-line-2",
        "long-name-shortened",
        "positional-index",
        "positional-empty",
        "attribute",
        "index",
        "spaces",
        "format-spec",
        "conversion-on-line-3",
        "nested-field-quoted-whole",
        "long-field-shortened",
        "unclosed-brace",
        "stray-close-brace",
        "escaped-brace-in-a-spec",
        "diff-twice",
        "branch-twice",
    ],
)
def test_template_errors(tmp_path: Path, text: str, line: int, error: str) -> None:
    file = tmp_path / "prompt.txt"
    file.write_text(text)
    with pytest.raises(ConfigError) as info:
        prompt.load_template(str(file))
    assert str(info.value) == f"template {file}, line {line}: {error}"


@pytest.mark.parametrize(
    ("text", "error"),
    [("{diff!r}", ", line 1: placeholder {diff!r}"), (None, ": cannot read: No such file")],
    ids=["bad-placeholder", "missing"],
)
def test_template_errors_name_where_it_was_set(
    tmp_path: Path, text: str | None, error: str
) -> None:
    file = tmp_path / "prompt.txt"
    if text is not None:
        file.write_text(text)
    setting = str(tmp_path / ".commit-polish.toml")
    with pytest.raises(ConfigError) as info:
        prompt.load_template(str(file), setting=setting)
    message = str(info.value)
    assert message.startswith(f"template {file}{error}")
    assert message.endswith(f" (message.template, set in {setting})")


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("{files}\n---\n{diff}", VALUES, "modified x.py +1 -1\n---\n" + VALUES["diff"]),
        ("On {branch}: {{literal}}", VALUES, "On main: {literal}"),
        ("Branch {branch}, draft [{draft}]", {"branch": "dev"}, "Branch dev, draft []"),
        ("no placeholders at all", VALUES, "no placeholders at all"),
        ("{diff}", {"diff": "a {files} b {"}, "a {files} b {"),
    ],
    ids=[
        "known",
        "escaped-braces",
        "missing-values-empty",
        "static",
        "braces-in-values-not-expanded",
    ],
)
def test_template_file_renders(
    tmp_path: Path, text: str, values: dict[str, Any], expected: str
) -> None:
    file = tmp_path / "prompt.txt"
    file.write_text(text)
    template, where = prompt.load_template(str(file))
    assert (template, where) == (text, str(file))
    assert prompt.render(template, values) == expected


def test_template_path_expands_user(isolated_home: Path) -> None:
    (isolated_home / "p.txt").write_text("{diff}")
    assert prompt.load_template("~/p.txt") == ("{diff}", str(isolated_home / "p.txt"))


def test_builtin_template() -> None:
    assert prompt.load_template("") == (prompt.DEFAULT_TEMPLATE, "built-in template")
    prompt.check_template(prompt.DEFAULT_TEMPLATE, "built-in template")


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d: d / "missing.txt", "No such file or directory"),
        (lambda d: d, "Is a directory"),
        (lambda d: _write(d / "latin1.txt", b"Diff: {diff} caf\xe9"), "not UTF-8 text"),
    ],
    ids=["missing", "directory", "not-utf8"],
)
def test_unreadable_template(tmp_path: Path, make: Any, reason: str) -> None:
    file = make(tmp_path)
    with pytest.raises(ConfigError) as info:
        prompt.load_template(str(file))
    assert str(info.value) == f"template {file}: cannot read: {reason}"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d: Path("/dev/zero"), "not a regular file"),
        (lambda d: _fifo(d / "fifo"), "not a regular file"),
        (lambda d: _write(d / "big.txt", b"{diff}" + b" " * 65536), "larger than 64 KiB"),
    ],
    ids=["dev-zero", "fifo", "over-64-kib"],
)
def test_template_read_is_bounded(tmp_path: Path, make: Any, reason: str) -> None:
    file = make(tmp_path)
    with pytest.raises(ConfigError) as info:
        prompt.load_template(str(file))
    assert str(info.value) == f"template {file}: cannot read: {reason}"


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def test_template_text_is_redacted(tmp_path: Path) -> None:
    file = tmp_path / "p.txt"
    file.write_text('api_key = "Zx81Qw72Lm63Np54"\n{diff}')
    assert prompt.load_template(str(file))[0] == 'api_key = "[REDACTED]"\n{diff}'


def test_render_substitutes_once() -> None:
    assert prompt.render("{diff}{{diff}}{files", {"diff": "{files}"}) == "{files}{diff}{files"


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_default_template_renders_exactly() -> None:
    values = {**VALUES, "draft": "Draft message: x\n\n", "omitted": ""}
    assert prompt.render(prompt.DEFAULT_TEMPLATE, values) == (
        "Branch: main\n"
        "Recent commit subjects:\n"
        "feat: add x\nfix: y\n"
        "\n"
        "Draft message: x\n\n"
        "Changed files:\n"
        "modified x.py +1 -1\n"
        "\n"
        "Diff:\n" + VALUES["diff"] + "\n"
    )


@pytest.mark.parametrize(
    "diff_text",
    [VALUES["diff"], "", "diff --git a/other b/other\n@@ -0,0 +1 @@\n+x"],
    ids=["diff", "empty", "other"],
)
def test_diff_is_last_in_user_message(diff_text: str) -> None:
    messages = prompt.build_messages(
        template=prompt.DEFAULT_TEMPLATE, opts=Options(), values={**VALUES, "diff": diff_text}
    )
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[1]["content"]
    assert user.endswith("\nDiff:\n" + diff_text + "\n")


# ------------------------------------------------------------------ system prompt

BASE_FIRST = (
    "- You write git commit messages. Reply with the commit message only: no preamble, "
    "no quotes, no code fences, no explanation, no review of the code."
)
CONVENTIONAL = (
    "- The subject follows Conventional Commits: type(scope): description, where type is "
    "one of feat, fix, docs, style, refactor, perf, test, build, ci, chore, revert; the "
    "scope is optional."
)
PLAIN = "- The subject is a plain sentence starting with a capital letter."
BODY_ON = (
    "- If the change needs explaining, add a blank line and a short body that says why, "
    "wrapped at 72 columns. Otherwise write the subject only."
)
BODY_OFF = "- Write the subject line only, no body."
GITMOJI = "- Start the subject with the one gitmoji that fits the change."


def subject_rule(limit: int) -> str:
    return (
        f"- Line 1 is the subject: imperative mood, at most {limit} characters, no trailing period."
    )


def language_rule(language: str) -> str:
    return f"- Write in {language}. Describe only changes that appear in the diff."


@pytest.mark.parametrize(
    ("opts", "lines"),
    [
        (
            Options(),
            [BASE_FIRST, subject_rule(72), CONVENTIONAL, BODY_ON, language_rule("English")],
        ),
        (
            Options(style="plain"),
            [BASE_FIRST, subject_rule(72), PLAIN, BODY_ON, language_rule("English")],
        ),
        (
            Options(gitmoji=True),
            [
                BASE_FIRST,
                subject_rule(72),
                CONVENTIONAL,
                GITMOJI,
                BODY_ON,
                language_rule("English"),
            ],
        ),
        (
            Options(body=False),
            [BASE_FIRST, subject_rule(72), CONVENTIONAL, BODY_OFF, language_rule("English")],
        ),
        (
            Options(language="German"),
            [BASE_FIRST, subject_rule(72), CONVENTIONAL, BODY_ON, language_rule("German")],
        ),
        (
            Options(subject_max_length=50),
            [BASE_FIRST, subject_rule(50), CONVENTIONAL, BODY_ON, language_rule("English")],
        ),
        (
            Options(
                style="plain", gitmoji=True, body=False, language="Japanese", subject_max_length=40
            ),
            [BASE_FIRST, subject_rule(40), PLAIN, GITMOJI, BODY_OFF, language_rule("Japanese")],
        ),
    ],
    ids=["default", "plain", "gitmoji", "body-off", "language", "subject-50", "all"],
)
def test_system_prompt(opts: Options, lines: list[str]) -> None:
    assert prompt.system_prompt(opts).split("\n") == lines


@pytest.mark.parametrize(
    "opts",
    [Options(), Options(style="plain", gitmoji=True, body=False, language="French")],
    ids=["default", "custom"],
)
def test_system_message_is_independent_of_the_diff(opts: Options) -> None:
    first = prompt.build_messages(template=prompt.DEFAULT_TEMPLATE, opts=opts, values=VALUES)
    other = {
        **VALUES,
        "diff": "diff --git a/y b/y\n@@ -0,0 +1 @@\n+y",
        "files": "added y",
        "branch": "topic",
        "recent_commits": "",
        "draft": "Draft: z\n\n",
        "omitted": "(3 more hunks)\n",
    }
    second = prompt.build_messages(template=prompt.DEFAULT_TEMPLATE, opts=opts, values=other)
    assert first[0] == second[0] == {"role": "system", "content": prompt.system_prompt(opts)}
    assert first[1] != second[1]
    for value in (*VALUES.values(), *other.values()):
        if value:
            assert value not in first[0]["content"]
