"""Property tests (hypothesis) for the pure message functions.

What "never drops text the user wrote" means here:

* ``clean_reply`` works on the model's text, not the user's. Its promise is that it only
  removes wrapping (reasoning blocks, fences, preambles, quotes, comment lines git would strip
  anyway) and only shortens the subject: every word of the body survives, in order, and a
  reply that is already a clean message comes back unchanged.
* The user's own text lives in the message file. ``compose`` must keep git's comment lines and
  everything from the scissors line on byte-for-byte, and what it puts above them is exactly
  what git will commit (``user_text`` of the result). When the old message is kept as comment
  lines (``keep_old``), uncommenting them gives the user's text back.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from commit_polish import message

settings.register_profile(
    "commit-polish", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("commit-polish")

COMMENTS = st.sampled_from(["#", ";", "//", "%"])
SUBJECT_MAX = st.integers(min_value=10, max_value=120)

# Text the way editors and models produce it: any printable character, and newlines.
ANY_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=400
)
LINEY_TEXT = st.lists(
    st.one_of(
        st.text(max_size=60),
        st.sampled_from(
            [
                "",
                "# comment",
                "```",
                "```text",
                "<think>",
                "</think>",
                "Here is a commit message:",
                "Commit message:",
                "**Subject:** fix: x",
                '"',
                "- bullet",
                "+added",
                "diff --git a/x b/x",
                "# ------------------------ >8 ------------------------",
            ]
        ),
    ),
    max_size=12,
).map("\n".join)

WORD = st.builds(
    str.__add__,
    st.sampled_from("abcdefghijklmnopqrstuvwxyz"),
    st.text("abcdefghijklmnopqrstuvwxyz0123456789", max_size=11),
)
SENTENCE = st.lists(WORD, min_size=1, max_size=10).map(" ".join)


def clean(text: str, subject_max: int = 72, comment: str = "#", body: bool = True) -> str | None:
    try:
        return message.clean_reply(text, subject_max=subject_max, comment=comment, body=body)
    except message.NotAMessage:
        return None


@given(
    reply=st.one_of(ANY_TEXT, LINEY_TEXT), limit=SUBJECT_MAX, comment=COMMENTS, body=st.booleans()
)
@example(reply="<think>", limit=72, comment="#", body=True)
@example(reply='"', limit=72, comment="#", body=True)
@example(reply="\u201c\u201d", limit=72, comment="#", body=True)
def test_clean_reply_raises_only_not_a_message(
    reply: str, limit: int, comment: str, body: bool
) -> None:
    try:
        out = message.clean_reply(reply, subject_max=limit, comment=comment, body=body)
    except message.NotAMessage:
        return
    subject = out.split("\n", 1)[0]
    assert subject.strip() and len(subject) <= limit
    assert not subject.endswith(".")
    assert out == out.strip()


@given(
    reply=st.one_of(ANY_TEXT, LINEY_TEXT), limit=SUBJECT_MAX, comment=COMMENTS, body=st.booleans()
)
def test_clean_reply_is_idempotent(reply: str, limit: int, comment: str, body: bool) -> None:
    once = clean(reply, limit, comment, body)
    assume(once is not None)
    assert clean(once, limit, comment, body) == once


@st.composite
def clean_messages(draw: st.DrawFn) -> str:
    """A message that needs no cleaning: short subject, blank line, wrapped body, and no
    line that says again what the subject or an earlier line said (that ends a body)."""
    subject = draw(SENTENCE.filter(lambda s: len(s) <= 60))
    kind = draw(st.sampled_from(["feat", "fix", "docs", "refactor"]))
    paragraphs = draw(
        st.lists(
            SENTENCE.filter(lambda s: len(s) <= 72),
            max_size=4,
            unique_by=lambda s: " ".join(re.findall(r"\w+", s.lower())),
        ).filter(lambda ps: message.until_repeat(subject, ps) == ps)
    )
    text = f"{kind}: {subject}"
    if paragraphs:
        text += "\n\n" + "\n".join(paragraphs)
    return text


@given(msg=clean_messages())
def test_a_clean_message_comes_back_unchanged(msg: str) -> None:
    assert message.clean_reply(msg) == msg


@given(
    msg=clean_messages(),
    think=st.booleans(),
    fence=st.booleans(),
    preamble=st.sampled_from(["", "Here is a commit message:\n", "Sure! Here's the message:\n"]),
    quote=st.sampled_from(["", '"']),
    noise=st.lists(st.sampled_from(["# a comment", "#"]), max_size=2),
)
def test_wrapping_is_removed_and_every_word_kept(
    msg: str, think: bool, fence: bool, preamble: str, quote: str, noise: list[str]
) -> None:
    wrapped = quote + msg + quote
    if fence:
        wrapped = "```\n" + wrapped + "\n```"
    wrapped = preamble + wrapped
    if think:
        wrapped = "<think>the user wants a message\n</think>\n" + wrapped
    if noise:
        wrapped += "\n" + "\n".join(noise)
    assert message.clean_reply(wrapped) == msg


@given(
    subject=SENTENCE,
    paragraphs=st.lists(st.lists(WORD, min_size=1, max_size=40).map(" ".join), max_size=4),
    limit=SUBJECT_MAX,
)
def test_body_words_survive_in_order(subject: str, paragraphs: list[str], limit: int) -> None:
    reply = "fix: " + subject + ("\n\n" + "\n\n".join(paragraphs) if paragraphs else "")
    out = message.clean_reply(reply, subject_max=limit)
    head, _, rest = out.partition("\n\n")
    # A line that says again what was said ends the body (message.until_repeat).
    assume(message.until_repeat(head, paragraphs) == paragraphs)
    assert rest.split() == " ".join(paragraphs).split()
    # The subject is only ever cut, never rewritten.
    assert ("fix: " + subject).startswith(head)


# ------------------------------------------------------------ message files and scissors


@st.composite
def message_files(draw: st.DrawFn) -> tuple[str, str]:
    """(file text, comment string) shaped like what git hands the hook."""
    comment = draw(COMMENTS)
    line = st.one_of(
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=30).map(
            lambda s: s.replace("\n", " ").replace("\r", " ")
        ),
        st.text(max_size=20).map(lambda s, c=comment: c + " " + s.replace("\n", " ")),
        st.just(comment),
    )
    head = draw(st.lists(line, max_size=8))
    if draw(st.booleans()):  # git's own comment block, as when an editor will open
        head.append(f"{comment} Please enter the commit message for your changes.")
    text = "\n".join(head)
    if draw(st.booleans()):
        tail_lines = draw(st.lists(line, max_size=5))
        text += "\n" + message.scissors_line(comment) + "\n" + "\n".join(tail_lines)
    if draw(st.booleans()):
        text += "\n"
    return text, comment


@given(file=message_files())
def test_split_scissors_round_trips(file: tuple[str, str]) -> None:
    text, comment = file
    head, tail = message.split_scissors(text, comment)
    assert head + tail == text
    assert tail == "" or tail.startswith(message.scissors_line(comment))


@given(file=message_files(), new=clean_messages())
def test_compose_keeps_comments_and_tail_and_writes_exactly_the_message(
    file: tuple[str, str], new: str
) -> None:
    original, comment = file
    assume(not any(line.startswith(comment) for line in new.splitlines()))
    out = message.compose(new, original, comment)
    before, after = message.parse(original, comment), message.parse(out, comment)
    assert after.tail == before.tail  # byte-for-byte
    assert after.comment_lines == before.comment_lines
    assert message.user_text(out, comment) == new


@given(file=message_files(), new=clean_messages(), old=st.lists(SENTENCE, max_size=4))
def test_keep_old_round_trips_the_users_text(
    file: tuple[str, str], new: str, old: list[str]
) -> None:
    original, comment = file
    before = message.parse(original, comment)
    assume(before.comment_lines)  # keep_old is only used when an editor will open
    old_text = "\n".join(old)
    out = message.compose(new, original, comment, keep_old=old_text)
    after = message.parse(out, comment)
    assert after.tail == before.tail
    assert message.user_text(out, comment) == new
    marker = f"{comment} Previous message:"
    start = after.comment_lines.index(marker) + 1
    kept = after.comment_lines[start : start + len(old)]
    uncommented = [re.sub("^" + re.escape(comment) + " ?", "", line) for line in kept]
    assert uncommented == old
    assert after.comment_lines[start + len(old) + 1 :] == before.comment_lines


@given(file=message_files())
def test_user_text_is_what_git_would_keep(file: tuple[str, str]) -> None:
    text, comment = file
    kept = message.user_text(text, comment)
    head, _tail = message.split_scissors(text, comment)
    for line in head.splitlines():
        if not line.startswith(comment) and line.strip():
            assert line.strip() in kept


@given(data=st.binary(max_size=200))
def test_decode_encode_round_trips_any_bytes(data: bytes) -> None:
    assert message.encode(message.decode(data)) == data


@pytest.mark.parametrize("comment", ["#", ";"])
def test_scissors_line_inside_text_is_not_a_scissors_without_comment(comment: str) -> None:
    text = "subject\n" + message.SCISSORS + "\nbody\n"
    assert message.split_scissors(text, comment) == (text, "")
