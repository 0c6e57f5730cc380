"""Unit tests for commit_polish.message: reply cleaning and message files."""

from __future__ import annotations

from typing import Any

import pytest

from commit_polish import message
from commit_polish.message import clean_reply, compose, parse, split_scissors, user_text

# ------------------------------------------------------------------ reply cleaning

LONG_SUBJECT = "feat: add a configurable retry policy for flaky network calls in the uploader"
LONG_BULLET = (
    "- Retry uploads up to three times with exponential backoff when the server answers "
    "503 or the connection resets."
)
LONG_PARAGRAPH = (
    "The uploader gave up after the first failed request, which made every flaky network "
    "hiccup fail the whole sync run."
)
ECHOED_DIFF = """\
diff --git a/src/app.py b/src/app.py
index 3b18e51..a9c3f2d 100644
--- a/src/app.py
+++ b/src/app.py
@@ -1,3 +1,4 @@
 import os
+import sys
-print("hi")
+print("hello")
"""

# (reply, keyword arguments, expected message)
CLEAN_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("feat: add greeting module", {}, "feat: add greeting module"),
    (
        "<think>\nThe user added a greeting module. The subject should be short.\n</think>\n\n"
        "feat: add greeting module",
        {},
        "feat: add greeting module",
    ),
    (
        "<think>Okay, let me look at the diff.</think>feat(cli): add --dry-run flag\n\n"
        "Print the message instead of writing it.",
        {},
        "feat(cli): add --dry-run flag\n\nPrint the message instead of writing it.",
    ),
    ("<THINKING>hmm</THINKING>\nfix: close the socket", {}, "fix: close the socket"),
    ("```text\nfeat: add greeting module\n```", {}, "feat: add greeting module"),
    ("```\nfix: handle empty input\n```\n", {}, "fix: handle empty input"),
    (
        "```git\nfix: handle empty input\n\nReturn early when stdin is empty.\n```",
        {},
        "fix: handle empty input\n\nReturn early when stdin is empty.",
    ),
    ('"feat: add greeting module"', {}, "feat: add greeting module"),
    ("'feat: add greeting module'", {}, "feat: add greeting module"),
    ("`feat: add greeting module`", {}, "feat: add greeting module"),
    ("\u201cfeat: add greeting module\u201d", {}, "feat: add greeting module"),
    ("'fix: don't crash on empty files'", {}, "fix: don't crash on empty files"),
    # Inline code at both ends is not a pair of wrapping quotes.
    ("`parse` now accepts `bytes`", {}, "`parse` now accepts `bytes`"),
    (
        '"feat: add greeting module"\n\nSay hello on start.',
        {},
        "feat: add greeting module\n\nSay hello on start.",
    ),
    (
        '"feat: add greeting module"\n\nPrint "hi" and "bye"',
        {},
        'feat: add greeting module\n\nPrint "hi" and "bye"',
    ),
    ("Here is a commit message:\n\nfeat: add greeting module", {}, "feat: add greeting module"),
    (
        "Sure! Here's the commit message:\n\nfeat: add greeting module",
        {},
        "feat: add greeting module",
    ),
    ("Commit message:\nfeat: add greeting module", {}, "feat: add greeting module"),
    ("**Commit message:**\nfeat: add greeting module", {}, "feat: add greeting module"),
    ("**Commit message:** feat: add greeting module", {}, "feat: add greeting module"),
    (
        "Here is a concise commit message for these changes:\n\n```\n"
        "fix: handle empty input\n```\n",
        {},
        "fix: handle empty input",
    ),
    ("Subject: fix: handle empty input", {}, "fix: handle empty input"),
    ('Commit message:\n\n"fix: handle empty input"', {}, "fix: handle empty input"),
    ("**fix: handle empty input**", {}, "fix: handle empty input"),
    (
        "feat: add greeting module   \n\nSay hello on start.  \t\n",
        {},
        "feat: add greeting module\n\nSay hello on start.",
    ),
    (
        "feat: add greeting module\r\n\r\nSay hello on start.\r\n",
        {},
        "feat: add greeting module\n\nSay hello on start.",
    ),
    (
        LONG_SUBJECT,
        {},
        "feat: add a configurable retry policy for flaky network calls in the",
    ),
    ("feat: add greeting module", {"subject_max": 20}, "feat: add greeting"),
    ("feat: add greeting, module", {"subject_max": 19}, "feat: add greeting"),
    (
        "refactor:rename_the_configuration_loader_module",
        {"subject_max": 20},
        "refactor:rename_the_",
    ),
    ("feat: add greeting module.", {}, "feat: add greeting module"),
    (
        "fix: handle an empty configuration file without crashing the commit hook.",
        {},
        "fix: handle an empty configuration file without crashing the commit hook",
    ),
    (
        "feat: add greeting module\n\n\n\nSay hello on start.\n\n\n\nAnd goodbye on exit.",
        {},
        "feat: add greeting module\n\nSay hello on start.\n\nAnd goodbye on exit.",
    ),
    (
        "fix: retry failed uploads\n\n" + LONG_BULLET,
        {},
        "fix: retry failed uploads\n\n"
        "- Retry uploads up to three times with exponential backoff when the\n"
        "  server answers 503 or the connection resets.",
    ),
    (
        "fix: retry failed uploads\n\n" + LONG_PARAGRAPH,
        {},
        "fix: retry failed uploads\n\n"
        "The uploader gave up after the first failed request, which made every\n"
        "flaky network hiccup fail the whole sync run.",
    ),
    (
        "fix: retry failed uploads\n\n" + LONG_PARAGRAPH,
        {"body": False},
        "fix: retry failed uploads",
    ),
    (
        "feat: add greeting module\n\n- add greet()\n- add farewell()\n- export both",
        {},
        "feat: add greeting module\n\n- add greet()\n- add farewell()\n- export both",
    ),
    (
        "feat: add greeting module\n# Please enter the commit message for your changes.\n#\n"
        "Say hello on start.",
        {},
        "feat: add greeting module\n\nSay hello on start.",
    ),
    (
        "feat: add greeting module\n\n; a note for the reviewer\n# not a comment here",
        {"comment": ";"},
        "feat: add greeting module\n\n# not a comment here",
    ),
    ("# feat: add greeting module", {}, "feat: add greeting module"),
    (
        "# feat: add greeting module\n\nSay hello on start.",
        {},
        "feat: add greeting module\n\nSay hello on start.",
    ),
    ("## feat: add greeting module", {}, "feat: add greeting module"),
]

CLEAN_IDS = [
    "plain",
    "think-block",
    "think-inline-with-body",
    "thinking-uppercase",
    "fence-text",
    "fence-bare",
    "fence-git-with-body",
    "double-quotes",
    "single-quotes",
    "backticks",
    "curly-quotes",
    "single-quotes-with-apostrophe",
    "inline-code-both-ends",
    "quoted-subject-with-body",
    "quoted-subject-body-ends-in-quote",
    "preamble-here-is",
    "preamble-sure",
    "preamble-commit-message",
    "preamble-bold",
    "inline-bold-label",
    "preamble-then-fence",
    "subject-label",
    "preamble-then-quotes",
    "bold-subject",
    "trailing-spaces",
    "crlf",
    "subject-too-long",
    "subject-limit-20",
    "subject-cut-strips-comma",
    "subject-no-space-hard-cut",
    "trailing-period",
    "trailing-period-at-limit",
    "blank-lines-collapse",
    "bullet-wrapped-hanging",
    "paragraph-wrapped",
    "body-off",
    "bullet-list-body",
    "comment-lines-dropped",
    "comment-char-semicolon",
    "markdown-heading-subject",
    "markdown-heading-with-body",
    "markdown-h2-subject",
]


@pytest.mark.parametrize(("reply", "kwargs", "expected"), CLEAN_CASES, ids=CLEAN_IDS)
def test_clean_reply(reply: str, kwargs: dict[str, Any], expected: str) -> None:
    assert clean_reply(reply, **kwargs) == expected


@pytest.mark.parametrize(("reply", "kwargs", "expected"), CLEAN_CASES, ids=CLEAN_IDS)
def test_clean_reply_is_idempotent(reply: str, kwargs: dict[str, Any], expected: str) -> None:
    once = clean_reply(reply, **kwargs)
    assert clean_reply(once, **kwargs) == once


@pytest.mark.parametrize(("reply", "kwargs", "expected"), CLEAN_CASES, ids=CLEAN_IDS)
def test_clean_reply_obeys_limits(reply: str, kwargs: dict[str, Any], expected: str) -> None:
    cleaned = clean_reply(reply, **kwargs)
    subject, _, body = cleaned.partition("\n")
    assert len(subject) <= kwargs.get("subject_max", 72)
    assert not subject.endswith(".")
    assert subject == subject.strip()
    if body:
        assert body.startswith("\n") and not body.startswith("\n\n")
        assert all(len(line) <= 72 for line in body.split("\n"))
        assert all(line == line.rstrip() for line in body.split("\n"))


EMPTY = "the model's reply was empty"
ECHO = "the model echoed the diff instead of writing a message"


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ("", EMPTY),
        ("   \n\n \t \n", EMPTY),
        ("<think>The diff adds a module, so the message should", EMPTY),
        ("<think>a</think>\n<think>the diff", EMPTY),
        ("```\n```", EMPTY),
        ('""', EMPTY),
        ("Here is a commit message:\n\n", EMPTY),
        ("#\n#\n", EMPTY),
        (ECHOED_DIFF, ECHO),
        ("```diff\n" + ECHOED_DIFF + "```", ECHO),
        ("+import sys\n-print('hi')\n+print('hello')", ECHO),
    ],
    ids=[
        "empty",
        "whitespace",
        "unclosed-think",
        "closed-then-unclosed-think",
        "empty-fence",
        "empty-quotes",
        "preamble-only",
        "comment-chars-only",
        "echoed-diff",
        "fenced-diff",
        "bare-plus-minus-lines",
    ],
)
def test_clean_reply_rejects(reply: str, error: str) -> None:
    with pytest.raises(message.NotAMessage) as info:
        clean_reply(reply)
    assert str(info.value) == error


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- add greet()\n- add farewell()", False),
        ("* add greet()\n* add farewell()", False),
        ("feat: x\n\n- one\n- two\n- three\n- four", False),
        ("-x = 1\n+x = 2", True),
        ("@@ -1 +1 @@\n-a\n+b", True),
        ("diff --git a/x b/x\nindex 1111111..2222222 100644", True),
        ("", False),
    ],
    ids=[
        "dash-bullets",
        "star-bullets",
        "message-with-bullets",
        "plus-minus",
        "hunk",
        "git-header",
        "empty",
    ],
)
def test_looks_like_diff(text: str, expected: bool) -> None:
    assert message.looks_like_diff(text) is expected


# ------------------------------------------------------------------ message files

GIT_BLOCK = (
    "# Please enter the commit message for your changes. Lines starting\n"
    "# with '#' will be ignored, and an empty message aborts the commit.\n"
    "#\n"
    "# On branch main\n"
    "# Changes to be committed:\n"
    "#\tnew file:   greet.py\n"
    "#\n"
)
SCISSORS_TAIL = (
    "# ------------------------ >8 ------------------------\n"
    "# Do not modify or remove the line above.\n"
    "# Everything below it will be ignored.\n"
    "diff --git a/greet.py b/greet.py\n"
    "new file mode 100644\n"
    "--- /dev/null\n"
    "+++ b/greet.py\n"
    "@@ -0,0 +1 @@\n"
    "+# not a comment: this is diff content\n"
    "+print('hi')  \n"
    "\n"
)
SEMI_BLOCK = GIT_BLOCK.replace("#", ";")
SEMI_TAIL = (
    SCISSORS_TAIL.replace("# ---", "; ---").replace("# Do", "; Do").replace("# Every", "; Every")
)


@pytest.mark.parametrize(
    ("text", "comment", "text_lines", "comment_count", "tail"),
    [
        ("\n" + GIT_BLOCK, "#", [""], 7, ""),
        ("\n" + GIT_BLOCK + SCISSORS_TAIL, "#", [""], 7, SCISSORS_TAIL),
        ("\n" + SEMI_BLOCK + SEMI_TAIL, ";", [""], 7, SEMI_TAIL),
        ("my draft\n\nbody\n" + GIT_BLOCK, "#", ["my draft", "", "body"], 7, ""),
        ("# hash is text here\n" + SEMI_BLOCK, ";", ["# hash is text here"], 7, ""),
        ("no newline at end", "#", ["no newline at end"], 0, ""),
        ("", "#", [], 0, ""),
    ],
    ids=[
        "git-block",
        "scissors",
        "semicolon-scissors",
        "draft",
        "hash-under-semicolon",
        "no-newline",
        "empty",
    ],
)
def test_parse(
    text: str, comment: str, text_lines: list[str], comment_count: int, tail: str
) -> None:
    parsed = parse(text, comment)
    assert parsed.text_lines == text_lines
    assert len(parsed.comment_lines) == comment_count
    assert all(line.startswith(comment) for line in parsed.comment_lines)
    assert parsed.tail == tail


@pytest.mark.parametrize(
    ("text", "comment", "head", "tail"),
    [
        ("a\n" + SCISSORS_TAIL, "#", "a\n", SCISSORS_TAIL),
        (
            "a\n# ------------------------ >8 ------------------------\r\nb\r\n",
            "#",
            "a\n",
            "# ------------------------ >8 ------------------------\r\nb\r\n",
        ),
        # The marker only counts as a whole line with this comment string.
        (
            "a\n; ------------------------ >8 ------------------------\n",
            "#",
            "a\n; ------------------------ >8 ------------------------\n",
            "",
        ),
        (
            "a\n #  ------------------------ >8 ------------------------\n",
            "#",
            "a\n #  ------------------------ >8 ------------------------\n",
            "",
        ),
        ("a\n" + SCISSORS_TAIL + SCISSORS_TAIL, "#", "a\n", SCISSORS_TAIL + SCISSORS_TAIL),
    ],
    ids=["hash", "crlf", "other-char", "not-exact", "first-marker-wins"],
)
def test_split_scissors(text: str, comment: str, head: str, tail: str) -> None:
    assert split_scissors(text, comment) == (head, tail)
    assert "".join(split_scissors(text, comment)) == text


@pytest.mark.parametrize(
    ("text", "comment", "expected"),
    [
        ("\n" + GIT_BLOCK, "#", ""),
        ("  fix: x  \n\nbody\n" + GIT_BLOCK + SCISSORS_TAIL, "#", "fix: x  \n\nbody"),
        ("fix: x\n# dropped\n; kept\n", "#", "fix: x\n; kept"),
        ("fix: x\n# kept\n; dropped\n", ";", "fix: x\n# kept"),
        ("draft\n" + SCISSORS_TAIL.replace("# not a", "not a"), "#", "draft"),
    ],
    ids=["only-comments", "draft-above-scissors", "hash", "semicolon", "text-below-scissors"],
)
def test_user_text(text: str, comment: str, expected: str) -> None:
    assert user_text(text, comment) == expected


@pytest.mark.parametrize(
    ("new", "original", "comment", "keep_old", "expected"),
    [
        ("feat: add greet", "\n" + GIT_BLOCK, "#", None, "feat: add greet\n\n" + GIT_BLOCK),
        (
            "feat: add greet\n\nSay hello.\n",
            "\n" + GIT_BLOCK + SCISSORS_TAIL,
            "#",
            None,
            "feat: add greet\n\nSay hello.\n\n" + GIT_BLOCK + SCISSORS_TAIL,
        ),
        (
            "feat: add greet",
            "\n" + SEMI_BLOCK + SEMI_TAIL,
            ";",
            None,
            "feat: add greet\n\n" + SEMI_BLOCK + SEMI_TAIL,
        ),
        # A commit template's own comment lines are kept.
        (
            "feat: add greet",
            "# Why:\n# What:\n",
            "#",
            None,
            "feat: add greet\n\n# Why:\n# What:\n",
        ),
        # -m without an editor: no comment block, the file is just the message.
        ("feat: add greet", "old message\n", "#", None, "feat: add greet\n"),
        ("feat: add greet", "", "#", None, "feat: add greet\n"),
        (
            "feat: add greet",
            "\n" + GIT_BLOCK,
            "#",
            "old subject\n\nold body",
            "feat: add greet\n\n# Previous message:\n# old subject\n#\n# old body\n#\n" + GIT_BLOCK,
        ),
        (
            "feat: add greet",
            "\n" + SEMI_BLOCK,
            ";",
            "old subject",
            "feat: add greet\n\n; Previous message:\n; old subject\n;\n" + SEMI_BLOCK,
        ),
        # keep_old needs git's comment block: otherwise the comments would be committed.
        ("feat: add greet", "old subject\n", "#", "old subject", "feat: add greet\n"),
    ],
    ids=[
        "git-block",
        "scissors-kept",
        "semicolon",
        "template-comments",
        "no-comments",
        "empty-file",
        "keep-old",
        "keep-old-semicolon",
        "keep-old-without-block",
    ],
)
def test_compose(
    new: str, original: str, comment: str, keep_old: str | None, expected: str
) -> None:
    result = compose(new, original, comment, keep_old=keep_old)
    assert result == expected
    assert user_text(result, comment) == new.strip()


def test_compose_keeps_scissors_tail_byte_for_byte() -> None:
    tail = SCISSORS_TAIL + "+trailing spaces   \n\t\n\n+\xff-ish \udcff byte\n"
    original = "\n" + GIT_BLOCK + tail
    result = compose("feat: x", original, "#")
    assert result.endswith(tail)
    assert split_scissors(result, "#")[1] == tail


@pytest.mark.parametrize(
    "raw",
    [
        b"caf\xe9 latin-1 draft\n# comment\n",
        b"\xff\xfe\x00bad\n" + SCISSORS_TAIL.encode() + b"+\x80\x81\n",
        "ok utf-8 \u00e9\n".encode(),
    ],
    ids=["latin1", "invalid-bytes-and-nul", "utf8"],
)
def test_decode_encode_round_trip(raw: bytes) -> None:
    text = message.decode(raw)
    assert message.encode(text) == raw
    head, tail = split_scissors(text, "#")
    assert message.encode(head) + message.encode(tail) == raw


def test_compose_non_utf8_tail_round_trips() -> None:
    tail_bytes = SCISSORS_TAIL.encode() + b"+caf\xe9\n"
    original = message.decode(b"\n" + GIT_BLOCK.encode() + tail_bytes)
    out = message.encode(compose("fix: x", original, "#"))
    assert out == b"fix: x\n\n" + GIT_BLOCK.encode() + tail_bytes


@pytest.mark.parametrize(
    "reply",
    [
        "Here is a commit message: feat: add parser",
        "Sure! Here's the commit message: feat: add parser",
        "**Commit message:** feat: add parser",
    ],
)
def test_preamble_on_the_same_line_is_dropped(reply: str) -> None:
    assert clean_reply(reply) == "feat: add parser"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("a\x00b", "ab"),
        ("\x1b[1;31mred\x1b[0m", "red"),
        ("\x1b]0;title\x07x", "x"),
        ("\x1b]8;;http://e.x\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("\x1bcreset", "reset"),
        ("\x1b]0;title never ended\nfeat: x", "\nfeat: x"),  # not the lines below it
        ("\x1bPq#0;2;0;0;0\x1b\\sixel gone", "sixel gone"),
        ("\x1b_private\x07x", "x"),
        ("a\tb", "a   b"),
        ("bell\x07 bs\x08 ff\x0c vt\x0b del\x7f c1\x85", "bell bs ff vt del c1"),
        ("one\r\ntwo\rthree", "one\ntwo\nthree"),
        ("abc\u202edcba\u2066x\u2069", "abcdcbax"),
        ("\ufeffa\u200eb\u200fc\u061cd", "abcd"),
        ("one\u2028two\u2029three", "one\ntwo\nthree"),
        ("family \U0001f468\u200d\U0001f469", "family \U0001f468\u200d\U0001f469"),
        ("café ✓ 日本", "café ✓ 日本"),
    ],
)
def test_strip_controls(text: str, expected: str) -> None:
    assert message.strip_controls(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("subject", ["subject"]),
        ("s\n\nbody\n\nA: 1\nB:2\n  folded\n\n \n", ["A: 1", "B:2", "  folded"]),
        ("s\n\nbody\n \nBug #1\nSigned-off-by: X", ["Bug #1", "Signed-off-by: X"]),
    ],
)
def test_last_paragraph(text: str, expected: list[str]) -> None:
    assert message.last_paragraph(text) == expected


@pytest.mark.parametrize(
    ("generated", "kept", "invented", "expected"),
    [
        ("feat: x", [], False, "feat: x"),
        ("feat: x", ["Signed-off-by: A <a@x>"], False, "feat: x\n\nSigned-off-by: A <a@x>"),
        ("feat: x\n\nbody", ["Change-Id: I1"], False, "feat: x\n\nbody\n\nChange-Id: I1"),
        ("feat: x\n\nbody\n\nSigned-off-by: Bot <b@x>", [], True, "feat: x\n\nbody"),
        (
            "feat: x\n\nCo-authored-by: AI <ai@x>",
            ["Signed-off-by: A <a@x>"],
            True,
            "feat: x\n\nSigned-off-by: A <a@x>",
        ),
        # git counts a paragraph with one Signed-off-by among prose as a trailer block.
        (
            "feat: x\n\nAdd x.\nUsed by the CLI.\nSigned-off-by: Bot <b@x>",
            ["Signed-off-by: A <a@x>"],
            True,
            "feat: x\n\nAdd x.\nUsed by the CLI.\n\nSigned-off-by: A <a@x>",
        ),
        (
            "feat: x\n\nbody\n\nCo-authored-by: AI\n  <ai@x>\nSigned-off-by: Bot <b@x>",
            [],
            True,
            "feat: x\n\nbody",
        ),
        ("fix: handle Key: value pairs", [], True, "fix: handle Key: value pairs"),
    ],
)
def test_with_trailers(generated: str, kept: list[str], invented: bool, expected: str) -> None:
    assert message.with_trailers(generated, kept, invented=invented) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fixup! add greet", True),
        ("squash! add greet\n\nmore", True),
        ("amend! add greet\n\nadd greet, reworded", True),
        ('Revert "add greet"\n\nThis reverts commit 0123abcd4567.', True),
        ('Reapply "add greet"\n\nThis reverts commit 0123abcd4567.', True),
        ('Revert "add greet"', False),  # a user's own subject, no git text below it
        ('Revert "Merge side"\n\nThis reverts commit 0123abcd4567, reversing\nchanges', True),
        ("# SAY WHY\n\nThis reverts commit 0123abc (add greet, 2026-12-03).", True),
        ("This reverts commit 0123abc (add greet, 2026-12-03).", True),
        ("fix parser\n\nThis reverts commit history to sanity.", False),
        ("fix: fixup! handling in the parser", False),
        ("feat: add greet", False),
    ],
)
def test_written_by_git(text: str, expected: bool) -> None:
    assert message.written_by_git(text) is expected


@pytest.mark.parametrize(
    ("text", "encoding", "expected"),
    [
        ("café", "utf-8", "café".encode()),
        ("café", "iso8859-1", b"caf\xe9"),
        ("ok ✓", "iso8859-1", b"ok ?"),
        (b"caf\xe9 \xff".decode("utf-8", "surrogateescape"), "utf-8", b"caf\xe9 \xff"),
    ],
)
def test_encode(text: str, encoding: str, expected: bytes) -> None:
    assert message.encode(text, encoding) == expected


def _body(*paragraphs: list[str]) -> str:
    return "\n\n".join("\n".join(p) for p in paragraphs)


P58 = [f"Line {i} of a long paragraph." for i in range(58)]
BULLETS = [f"- item {i}" for i in range(80)]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("\n".join(BULLETS), "\n".join(BULLETS[:60])),
        # the cut would split the second paragraph: it goes whole
        (_body(P58, ["Second, split", "by the cut.", "Here."]), _body(P58)),
        # a bullet whose wrapped continuation the cut would split
        (
            _body(P58[:57], ["- first", "- second one", "  continued", "  and more"]),
            _body(P58[:57], ["- first"]),
        ),
        # one paragraph longer than the cap: cut where the cap falls
        ("\n".join(f"Line {i}." for i in range(100)), "\n".join(f"Line {i}." for i in range(60))),
    ],
    ids=["bullets", "paragraph", "bullet continuation", "one long paragraph"],
)
def test_a_runaway_body_is_cut_between_items(body: str, expected: str) -> None:
    cleaned = message.clean_reply("feat: add greet\n\n" + body)
    assert cleaned == "feat: add greet\n\n" + expected
    assert len(cleaned.splitlines()) <= 2 + message.MAX_BODY_LINES


@pytest.mark.parametrize(
    ("subject", "lines", "kept"),
    [
        ("feat: add x", ["- adds x", "- adds y"], ["- adds x", "- adds y"]),
        ("feat: add x", ["- adds x", "- adds y", "- Adds x."], ["- adds x", "- adds y"]),
        ("feat: add x", ["Add x", "more"], []),  # the subject said again
        ("feat: add x", ["one", "", "two", "", "one", "three"], ["one", "", "two", ""]),
        ("feat: add x", ["", "a", ""], ["", "a", ""]),  # blank lines are no repeat
    ],
)
def test_until_repeat(subject: str, lines: list[str], kept: list[str]) -> None:
    assert message.until_repeat(subject, lines) == kept


def test_a_looping_body_ends_at_its_first_repeated_line() -> None:
    reply = "fix: guard the port\n\n- Check the port range\n- Check the port range\n" * 5
    assert message.clean_reply(reply) == "fix: guard the port\n\n- Check the port range"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (
            "fix: guard the port\n\nCheck the range\nbefore binding so that",
            "fix: guard the port\n\nCheck the range",
        ),
        (
            "fix: guard the port\n\nCheck the range\n\nand then",
            "fix: guard the port\n\nCheck the range",
        ),
        ("fix: guard the port\n\nCheck the", "fix: guard the port"),
        ("fix: guard the port", "fix: guard the port"),
    ],
)
def test_without_last_line(text: str, kept: str) -> None:
    assert message.without_last_line(text) == kept


@pytest.mark.parametrize(
    ("reply", "kept"),
    [
        (
            "feat: add Button\n\n+export function Button({label}) {\n+  return label;\n+}",
            "feat: add Button",
        ),
        ("Add greet\n+def greet():\n+    return 'hi'", "Add greet"),
    ],
)
def test_a_subject_over_a_copied_diff_is_kept_alone(reply: str, kept: str) -> None:
    assert clean_reply(reply) == kept


@pytest.mark.parametrize(
    "reply", ["+def greet():\n+    return 'hi'", "def greet() {\n+  x;\n+  y;"]
)
def test_a_diff_with_no_subject_of_its_own_is_no_message(reply: str) -> None:
    with pytest.raises(message.NotAMessage):
        clean_reply(reply)
