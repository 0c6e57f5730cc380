"""Pure functions over commit message text.

Message files are handled as ``str`` decoded with ``surrogateescape`` so that bytes that are
not UTF-8 survive a round trip untouched.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from commit_polish.form import BODY_WIDTH, CONVENTIONAL

ENCODING = "utf-8"
ERRORS = "surrogateescape"
SCISSORS = "------------------------ >8 ------------------------"


class NotAMessage(ValueError):
    """A reply that holds no commit message; the text says why (a reason, not a hint: the
    caller decides what the user is told)."""


def decode(data: bytes, encoding: str = ENCODING) -> str:
    return data.decode(encoding, ERRORS)


def encode(text: str, encoding: str = ENCODING) -> bytes:
    """``text`` as bytes; bytes that came in undecodable go back as they were, and a
    character the encoding lacks (an emoji under Latin-1) becomes ``?``."""
    return text.encode(encoding, _KEEP_OR_REPLACE)


def _keep_or_replace(exc: UnicodeError) -> tuple[bytes | str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    chunk = exc.object[exc.start : exc.end]
    if all("\udc80" <= c <= "\udcff" for c in chunk):
        return bytes(ord(c) - 0xDC00 for c in chunk), exc.end
    return "?" * len(chunk), exc.end


_KEEP_OR_REPLACE = "commit-polish-keep-or-replace"
codecs.register_error(_KEEP_OR_REPLACE, _keep_or_replace)


@dataclass(frozen=True)
class Parsed:
    """A message file split the way git will read it."""

    text_lines: list[str]  # lines above the scissors that are not comments
    comment_lines: list[str]  # comment lines above the scissors, in order
    tail: str  # the scissors line and everything below it, verbatim ("" if none)


def is_comment(line: str, comment: str) -> bool:
    return line.startswith(comment)


def scissors_line(comment: str) -> str:
    return f"{comment} {SCISSORS}"


def split_scissors(text: str, comment: str) -> tuple[str, str]:
    """(head, tail): tail starts at git's scissors line and is never changed by us."""
    marker = scissors_line(comment)
    start = 0
    for line in text.splitlines(keepends=True):
        if line.rstrip("\r\n") == marker:
            return text[:start], text[start:]
        start += len(line)
    return text, ""


def parse(text: str, comment: str) -> Parsed:
    head, tail = split_scissors(text, comment)
    lines = head.splitlines()
    return Parsed(
        text_lines=[line for line in lines if not is_comment(line, comment)],
        comment_lines=[line for line in lines if is_comment(line, comment)],
        tail=tail,
    )


def user_text(text: str, comment: str) -> str:
    """What git would keep of the message: non-comment lines above the scissors, trimmed."""
    return "\n".join(parse(text, comment).text_lines).strip()


def last_paragraph(text: str) -> list[str]:
    """The lines of ``text``'s last paragraph, as written: where git looks for trailers.
    Kept verbatim, not as ``git interpret-trailers --parse`` prints them (it unfolds
    continuation lines, respaces ``Key:value`` and leaves out the block's other lines)."""
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    start = len(lines)
    while start and lines[start - 1].strip():
        start -= 1
    return lines[start:]


def with_trailers(generated: str, kept: list[str], *, invented: bool) -> str:
    """``generated`` ending in git's trailers ``kept`` (``Signed-off-by:`` from -s, a
    template's ``Co-authored-by:``, an amended commit's ``Change-Id:``). With ``invented``
    (git finds a trailer block in what the model wrote), that block's trailers are dropped
    first: a model does not know who signed off or co-authored."""
    text = generated.rstrip("\n")
    if invented:
        text = _without_trailer_lines(text)
    return text + ("\n\n" + "\n".join(kept) if kept else "")


# git's trailer token: letters, digits and dashes before the colon.
_TRAILER_LINE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*\s*:")


def _without_trailer_lines(text: str) -> str:
    """``text`` without the ``Key: value`` lines (and their indented continuations) of its
    last paragraph. git also counts a paragraph as trailers when only a quarter of its lines
    are, say one ``Signed-off-by:`` below the model's prose: the prose stays."""
    head, sep, last = text.rpartition("\n\n")
    if not sep:  # the subject is never a trailer
        return text
    prose: list[str] = []
    in_trailer = False
    for line in last.split("\n"):
        in_trailer = bool(_TRAILER_LINE.match(line)) or (in_trailer and line[:1].isspace())
        if not in_trailer:
            prose.append(line)
    rest = "\n".join(prose).strip("\n")
    return head.rstrip("\n") + ("\n\n" + rest if rest.strip() else "")


def as_comments(text: str, comment: str) -> list[str]:
    return [f"{comment} {line}".rstrip() if line else comment for line in text.splitlines()]


def compose(message: str, original: str, comment: str, *, keep_old: str | None = None) -> str:
    """The new file: our message, then git's comment lines, then the scissors part.

    ``keep_old``, when given, is shown as comment lines (only used when git's own comment
    block is present, i.e. an editor will open and strip them).
    """
    parsed = parse(original, comment)
    out = [message.rstrip("\n"), ""]
    if keep_old is not None and parsed.comment_lines:
        out += [f"{comment} Previous message:", *as_comments(keep_old, comment), comment]
    out += parsed.comment_lines
    body = "\n".join(out).rstrip("\n") + "\n"
    if parsed.tail:
        body += parsed.tail
    return body


# ---------------------------------------------------------------- reply cleaning

# What a terminal or git would act on rather than show: escape sequences (CSI colours, OSC
# hyperlinks and titles, DCS/APC/PM/SOS strings, two-character ESC codes), C0 and C1 control
# characters but the newline (a NUL makes git refuse the commit), DEL, and the
# bidirectional-text controls that make a line read other than it is. Tabs become spaces.
# An unterminated string ends at its line: it must not swallow the message below it.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b[\]P^_X][^\x07\x1b\n]*(?:\x07|\x1b\\)?"
    r"|\x1b[ -~]?"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)
# The bidi marks (LRM, RLM, ALM) and a BOM are invisible too; zero-width joiners are not
# touched (emoji sequences are made of them).
_CONTROLS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)
_LINE_BREAKS = re.compile("\r\n?|[\u2028\u2029]")
# A body longer than this is a model that did not stop, not a description.
MAX_BODY_LINES = 60


# Subjects git writes for autosquash, and the text of ``git revert``: rewording them would
# break ``rebase --autosquash`` or hide which commit was reverted.
_AUTOSQUASH = re.compile(r"^(?:fixup|squash|amend)! ")
# git revert's line, in its three forms: "<sha>.", a merge's "<sha>, reversing" and
# revert.reference's "<abbrev> (subject, date)." (whose subject git leaves for the user).
_REVERTS = re.compile(r"^This reverts commit [0-9a-f]{7,64}(?:\.|, reversing$| \()", re.MULTILINE)


def written_by_git(text: str) -> bool:
    """Whether ``text`` (the user's part of the file) is a message git itself wrote."""
    subject = text.lstrip("\n").split("\n", 1)[0]
    return bool(_AUTOSQUASH.match(subject) or _REVERTS.search(text))


def strip_controls(text: str) -> str:
    """``text`` without what would not be shown as written (see ``_ESCAPES``)."""
    text = _LINE_BREAKS.sub("\n", text)
    text = _ESCAPES.sub("", text).expandtabs(4)
    return _CONTROLS.sub("", text)


_THINK = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.DOTALL | re.IGNORECASE)
_OPEN_THINK = re.compile(r"<(think|thinking|reasoning)>.*\Z", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"^\s*```[\w+-]*\s*$")
_PREAMBLE = re.compile(
    r"^\s*(?:\*\*)?(?:sure[!,.]?\s*)?(?:here(?:'s| is| are)\b[^\n]*?|"
    r"(?:suggested |proposed |generated )?commit message\s*(?:\([^)]*\))?\s*)"
    r"(?:\*\*)?[:\-]\s*(?:\*\*)?\s*$",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^#{1,6}\s+(?=\S)")
_INLINE_LABEL = re.compile(
    r"^\s*(?:\*\*)?(?:(?:sure[!,.]?\s*)?here(?:'s| is)\b[^:\n]*?commit message[^:\n]*?|"
    r"commit message|subject|title|summary)(?:\*\*)?\s*:\s*(?:\*\*)?\s*",
    re.IGNORECASE,
)
_QUOTES = {'"': '"', "'": "'", "`": "`", "\u201c": "\u201d"}  # opening -> closing
_DIFF_LINE = re.compile(r"^(diff --git |index [0-9a-f]+\.\.|@@ -\d|--- a/|\+\+\+ b/)")


def _strip_quotes(text: str) -> str:
    text = text.strip()
    for _ in range(3):
        # Only a matching pair whose opening char does not recur inside wraps the text:
        # "`parse` now accepts `bytes`" is inline code, not a quoted message.
        inner = re.sub(r"(?<=\w)'(?=\w)", "", text[1:-1])  # apostrophes in words
        if len(text) >= 2 and _QUOTES.get(text[0]) == text[-1] and text[0] not in inner:
            text = text[1:-1].strip()
        else:
            break
    return text


def _drop_fences(lines: list[str]) -> list[str]:
    return [line for line in lines if not _FENCE.match(line)]


# A subject line: "type(scope): words" or words; not code, not a diff header.
_CONVENTIONAL_OR_WORDS = re.compile(r"^(?:[a-z]+(?:\([^()\s]+\))?!?: )?[A-Za-z][\w'-]* [^{};=<>]*$")


def looks_like_diff(text: str) -> bool:
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        return False
    return sum(1 for line in lines if _is_diff_line(line)) * 2 >= len(lines)


def _is_diff_line(line: str) -> bool:
    # "- item" is a bullet; "-code" and "+ anything" are diff lines.
    if _DIFF_LINE.match(line):
        return True
    return line.startswith("+") or (line.startswith("-") and line[1:2] not in (" ", ""))


def _shorten_subject(subject: str, limit: int) -> str:
    # Until nothing changes: a cut can expose a character the first pass would have
    # stripped, and cleaning a cleaned message must change nothing.
    while True:
        shorter = _shorten_once(subject, limit)
        if shorter == subject:
            return shorter
        subject = shorter


def _shorten_once(subject: str, limit: int) -> str:
    subject = subject.strip().strip("*").strip()
    subject = re.sub(r"^#+\s+", "", subject)  # a markdown heading is not a subject
    subject = subject.rstrip(". ")
    if len(subject) <= limit:
        return subject
    cut = subject[: limit + 1]
    space = cut.rfind(" ")
    cut = cut[:space] if space > limit // 2 else subject[:limit]
    return cut.rstrip(" ,;:-.")


def _wrap_body(lines: list[str], width: int) -> list[str]:
    import textwrap

    out: list[str] = []
    for line in lines:
        if len(line) <= width or not line.strip():
            out.append(line)
            continue
        bullet = re.match(r"^(\s*(?:[-*+]|\d+[.)])\s+)", line)
        indent = " " * len(bullet.group(1)) if bullet else re.match(r"^\s*", line).group(0)  # type: ignore[union-attr]
        out += textwrap.wrap(
            line,
            width=width,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        )
    return out


_ITEM_START = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")


def _cut_body(lines: list[str], limit: int) -> list[str]:
    """At most ``limit`` lines; a paragraph or list item the cut would split is left out
    whole, unless it is all there is (a message must not end mid-sentence)."""
    kept = lines[:limit]
    if len(lines) <= limit or not kept[-1].strip():
        return kept
    after = lines[limit]
    if not after.strip() or _ITEM_START.match(after):
        return kept  # the cut falls between two items
    start = limit - 1  # back to where the split item begins
    while start > 0 and kept[start - 1].strip() and not _ITEM_START.match(kept[start]):
        start -= 1
    return kept[:start] if any(line.strip() for line in kept[:start]) else kept


def words_of(line: str) -> str:
    """A line as a reader compares it: no list marker, case or punctuation."""
    return " ".join(re.findall(r"\w+", _ITEM_START.sub("", line).lower()))


def until_repeat(subject: str, lines: list[str]) -> list[str]:
    """The body up to its first line that says again what the subject or an earlier line
    said: a small model that starts repeating itself goes on until max_tokens."""
    found = CONVENTIONAL.match(subject)
    seen = {words_of(found.group("desc") if found else subject)}
    for n, line in enumerate(lines):
        said = words_of(line)
        if said and said in seen:
            return lines[:n]
        seen.add(said)
    return lines


def without_last_line(text: str) -> str:
    """A message whose generation was cut at max_tokens, without the body line the cut
    left half written (the subject is kept whole: the grammar ends it before a body)."""
    subject, sep, body = text.partition("\n\n")
    lines = body.split("\n")[:-1]
    while lines and not lines[-1].strip():
        lines.pop()
    return subject + (sep + "\n".join(lines) if lines else "")


def clean_reply(reply: str, *, subject_max: int = 72, comment: str = "#", body: bool = True) -> str:
    """Turn a model's reply into a commit message, or raise NotAMessage if there is none.

    Drops reasoning blocks, code fences, wrapping quotes and preambles; keeps the subject
    within the limit without a trailing period; puts one blank line before the body and
    wraps the body at 72 columns.
    """
    text = _THINK.sub("", strip_controls(reply))
    text = _OPEN_THINK.sub("", text)
    lines = _drop_fences(text.split("\n"))
    lines = [line.rstrip() for line in lines]
    while lines and (not lines[0].strip() or _PREAMBLE.match(lines[0])):
        lines.pop(0)
    if lines and _HEADING.match(lines[0]):  # "# feat: x" is a markdown heading, not a comment
        lines[0] = _HEADING.sub("", lines[0])
    # Lines git would strip as comments would vanish anyway; keep the message honest.
    lines = [line for line in lines if not line.startswith(comment + " ") and line != comment]
    text = _strip_quotes("\n".join(lines))
    if not text:
        raise NotAMessage("the model's reply was empty")
    if looks_like_diff(text):
        # A subject of its own over a body copied from the diff (a small model, made to
        # name a definition, goes on with its code): the subject is a message.
        first = text.split("\n", 1)[0]
        if not first.strip() or _is_diff_line(first) or not _CONVENTIONAL_OR_WORDS.match(first):
            raise _echoed_diff()
        text = first
    lines = text.split("\n")
    subject = _shorten_subject(_INLINE_LABEL.sub("", _strip_quotes(lines[0])), subject_max)
    if not subject:
        raise NotAMessage("the model's reply had no subject line")
    rest = lines[1:]
    while rest and not rest[0].strip():
        rest.pop(0)
    # collapse runs of blank lines inside the body
    body_lines: list[str] = []
    for line in rest:
        if not line.strip() and body_lines and not body_lines[-1].strip():
            continue
        body_lines.append(line)
    body_lines = until_repeat(subject, body_lines)
    while body_lines and not body_lines[-1].strip():
        body_lines.pop()
    result = subject
    if body and body_lines:
        wrapped = _cut_body(_wrap_body(body_lines, BODY_WIDTH), MAX_BODY_LINES)
        while not wrapped[-1].strip():
            wrapped.pop()
        result += "\n\n" + "\n".join(wrapped)
    if looks_like_diff(result):  # what is left (say, the subject alone) must pass too
        raise _echoed_diff()
    return result


def _echoed_diff() -> NotAMessage:
    return NotAMessage("the model echoed the diff instead of writing a message")
