"""Validate a cleaned message, and ask the model once more, saying what was wrong.

Checks: the style (Conventional Commits with an allowed type, or a plain capitalised
subject), the lengths, that it is not an echo of the diff, and that every file path it
mentions is in the diff.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from commit_polish import message as message_mod
from commit_polish.deadline import Status
from commit_polish.errors import CommitPolishError, Unusable
from commit_polish.form import BODY_WIDTH, CONVENTIONAL, Spec
from commit_polish.llm import Reply, Request
from commit_polish.style import Shape, apply_ticket, split_ticket

if TYPE_CHECKING:
    from commit_polish.facts import Facts

# Extensions that make ``name.ext`` a file name rather than a word ("e.g.", "v1.2").
EXTENSIONS = frozenset(
    [
        "py",
        "pyi",
        "js",
        "jsx",
        "ts",
        "tsx",
        "mjs",
        "cjs",
        "go",
        "rs",
        "c",
        "h",
        "cc",
        "cpp",
        "hpp",
        "java",
        "kt",
        "kts",
        "rb",
        "php",
        "cs",
        "swift",
        "scala",
        "sh",
        "bash",
        "zsh",
        "ps1",
        "md",
        "rst",
        "txt",
        "adoc",
        "toml",
        "yaml",
        "yml",
        "json",
        "jsonc",
        "ini",
        "cfg",
        "conf",
        "lock",
        "xml",
        "html",
        "css",
        "scss",
        "sql",
        "proto",
        "gradle",
        "mod",
        "sum",
        "env",
        "dockerfile",
        "vue",
        "svelte",
        "lua",
        "pl",
        "ex",
        "exs",
        "erl",
        "hs",
        "ml",
        "clj",
        "dart",
        "r",
        "jl",
        "nix",
        "tf",
        "ipynb",
        "csv",
        "tsv",
    ]
)
# Product names that look like file names.
NOT_PATHS = frozenset(
    [
        "node.js",
        "vue.js",
        "next.js",
        "nuxt.js",
        "react.js",
        "express.js",
        "three.js",
        "d3.js",
        "chart.js",
        "ember.js",
        "backbone.js",
        "alpine.js",
        "socket.io",
    ]
)
_PATHLIKE = re.compile(r"(?<![\w@/.-])(?:[\w.-]+/)*[\w-][\w.-]*\.([A-Za-z0-9]+)(?![\w/-])")
_CODE_CHARS = re.compile(r"[(){};=<>\[\]]")


def mentioned_paths(text: str) -> list[str]:
    """File names and paths in ``text``: ``foo/bar.py``, ``name.ext`` with a known
    extension; ordinary words, versions and product names like Node.js are not."""
    found = []
    for match in _PATHLIKE.finditer(text):
        token = match.group(0).rstrip(".")
        ext = token.rsplit(".", 1)[-1].lower() if "." in token else ""
        if ext not in EXTENSIONS or token.lower() in NOT_PATHS:
            continue
        found.append(token)
    return found


def unknown_paths(text: str, diff_text: str, paths: tuple[str, ...] = ()) -> list[str]:
    """Paths mentioned in ``text`` that appear neither among ``paths`` nor in the diff."""
    out = []
    for token in mentioned_paths(text):
        if token in diff_text:
            continue
        if any(p == token or p.endswith("/" + token) for p in paths):
            continue
        if token not in out:
            out.append(token)
    return out


def _diff_lines(diff_text: str) -> set[str]:
    lines = set()
    for line in diff_text.splitlines():
        if line[:1] in "+-" and not line.startswith(("+++", "---")):
            stripped = line[1:].strip()
            if len(stripped) >= 8:
                lines.add(stripped)
    return lines


def is_echo(text: str, diff_text: str) -> bool:
    """Whether the message repeats the diff's lines instead of describing them: most of
    its lines are lines of the diff, or its subject is a line of code from it."""
    code = _diff_lines(diff_text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or not code:
        return False
    copied = [line for line in lines if line in code]
    if len(copied) >= 2 and len(copied) * 2 >= len(lines):
        return True
    return lines[0] in code and bool(_CODE_CHARS.search(lines[0]))


# A subject that says one to three words over and over: "build: ire: ire: ire: …".
_LOOP = re.compile(r"\b((?:\w+\W+){1,3}?)\1{2,}")
# Shorter lines of the prompt's own words are too common to count as copied.
MIN_COPIED = 18


def repeats_itself(subject: str) -> bool:
    """Whether the subject says the same one to three words three times in a row."""
    return bool(_LOOP.search(subject.lower() + " "))


def copies_history(subject: str, history: tuple[str, ...]) -> bool:
    """Whether the subject is an earlier commit's subject: an example copied, which
    describes some other change."""
    said = message_mod.words_of(split_ticket(subject)[2])
    return bool(said) and any(said == message_mod.words_of(split_ticket(old)[2]) for old in history)


def repeats_instructions(text: str, instructions: str) -> bool:
    """Whether a line of the message is the prompt's own words ("The subject is a plain
    sen…"): the model read the rules out instead of following them."""
    said = message_mod.words_of(instructions)
    lines = (message_mod.words_of(line) for line in text.splitlines())
    return any(len(line) >= MIN_COPIED and line in said for line in lines)


# A vague subject is asked again, but a second vague one is still a true message: better
# than none, which is what failing open would leave.
VAGUE = "the subject names nothing that changed"


def names_to_use(found: Facts, limit: int = 3) -> list[str]:
    """What a subject could name, most telling first: definitions added or changed, then
    packages, then the files' names."""
    out: list[str] = []
    for f in found.files:
        out += [*f.added, *f.changed, *f.removed]
    out += [dep.name for dep in found.dependencies]
    out += [f.path.rsplit("/", 1)[-1] for f in found.files]
    return list(dict.fromkeys(out))[:limit]


def ungrounded(subject: str, found: Facts | None) -> str | None:
    """The problem of a subject that names nothing of the change (no definition, file,
    directory or package of it): it could describe any commit."""
    from commit_polish import facts as facts_mod

    if found is None or not found.files or facts_mod.grounded(subject, found):
        return None
    names = ", ".join(names_to_use(found))
    return f"{VAGUE}; name what changed, such as {names}"


def style_problem(subject: str, spec: Spec) -> str | None:
    """Why ``subject`` is not in the style of ``spec``, or None; saying so when the style
    was learned from the history."""
    problem = _style_problem(subject, spec)
    return f"{problem} ({spec.learned})" if problem and spec.learned else problem


def _style_problem(subject: str, spec: Spec) -> str | None:
    body = subject
    if spec.gitmoji and body[:1] and not body[:1].isascii():
        body = body.split(" ", 1)[-1]
    if spec.style == "plain":
        first = body[:1]
        if CONVENTIONAL.match(body) or (first.isascii() and first.isalpha() and first.islower()):
            return "the subject must be a plain sentence starting with a capital letter"
        return None
    match = CONVENTIONAL.match(body)
    types = ", ".join(spec.types)
    if not match:
        return f"the subject must look like 'type(scope): description' with type one of {types}"
    if match.group("type") not in spec.types:
        return f"the type {match.group('type')!r} is not one of {types}"
    return None


def check(
    text: str,
    spec: Spec,
    *,
    diff_text: str = "",
    paths: tuple[str, ...] = (),
    history: tuple[str, ...] = (),
    instructions: str = "",
    facts: Facts | None = None,
) -> list[str]:
    """What is wrong with the cleaned message ``text`` (empty when nothing)."""
    problems = []
    subject, _sep, body = text.partition("\n")
    problem = style_problem(subject, spec)
    if problem:
        problems.append(problem)
    if repeats_itself(subject):
        problems.append("the subject repeats the same words; say what changed once")
    if copies_history(subject, history):
        problems.append("the subject is an earlier commit's subject; describe this change instead")
    if repeats_instructions(text, instructions):
        problems.append("it repeats the instructions instead of describing the change")
    if len(subject) > spec.subject_max:
        problems.append(
            f"the subject is {len(subject)} characters long; at most {spec.subject_max} allowed"
        )
    long_lines = [n for n, line in enumerate(body.splitlines(), 1) if len(line) > BODY_WIDTH]
    if long_lines:
        problems.append(f"body lines must be at most {BODY_WIDTH} characters long")
    if body.strip() and not spec.body:
        problems.append("write the subject line only, no body")
    if is_echo(text, diff_text):
        problems.append("it repeats lines of the diff instead of describing the change")
    unknown = unknown_paths(text, diff_text, paths)
    if unknown:
        names = ", ".join(unknown[:3])
        problems.append(f"it names files that are not in the diff: {names}")
    # Last: the least of the problems, and the one a second answer may keep.
    vague = ungrounded(subject, facts)
    if vague:
        problems.append(vague)
    return problems


@dataclass
class Generation:
    text: str = ""
    replies: list[Reply] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # of the message returned, if any
    shape: Shape | None = None  # the form the message was asked for
    rule: str | None = None  # the rule that wrote it with no model (rules.py), if one did
    candidates: list[str] = field(default_factory=list)  # acceptable ones, best first

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.replies)

    @property
    def prompt_tokens(self) -> int | None:
        counts = [r.prompt_tokens for r in self.replies if r.prompt_tokens is not None]
        return sum(counts) if counts else None


# The repair request adds the first answer and a correction to a prompt that may already
# fill the server's context. Both are bounded, so budget.RETRY_TOKENS leaves room for them.
RETRY_ANSWER_CHARS = 300
PROBLEMS_CHARS = 300


def said_before(reply: str) -> str:
    """The first answer as the repair request quotes it: without its control characters
    (a NUL or an escape sequence goes back to no server), and short."""
    return message_mod.strip_controls(reply)[:RETRY_ANSWER_CHARS]


def correction(problems: list[str]) -> str:
    said = "; ".join(problems)
    if len(said) > PROBLEMS_CHARS:
        said = said[: PROBLEMS_CHARS - 1] + "…"
    return (
        "That commit message is not acceptable: "
        + said
        + ". Write the commit message again, fixing this. Reply with the message only."
    )


def _judge(reply: Reply, shape: Shape, comment: str) -> tuple[str, list[str]]:
    """The cleaned message of ``reply`` and what is wrong with it."""
    try:
        text = message_mod.clean_reply(
            reply.text,
            subject_max=shape.spec.subject_max,
            comment=comment,
            body=shape.spec.body,
        )
    except message_mod.NotAMessage as exc:
        return "", [str(exc)]
    if reply.truncated:
        text = message_mod.without_last_line(text)
    return text, check(
        text,
        shape.spec,
        diff_text=shape.diff_text,
        paths=shape.paths,
        history=shape.history,
        instructions=shape.instructions,
        facts=shape.facts,
    )


def _vague_only(problems: list[str]) -> bool:
    return all(p.startswith(VAGUE) for p in problems)


# More candidates are asked for only from a server this quick: each costs its generated
# tokens (the prompt is in the server's cache), and the user is waiting on the commit.
FAST_REPLY = 8.0
# Further candidates are sampled hotter: at the first one's temperature they repeat it.
CANDIDATE_TEMPERATURE = 0.7


def score(text: str, shape: Shape) -> tuple[int, int]:
    """How good a valid message is, without a reference: grounded first (it names what
    changed), then how many of the change's names its subject uses (specific)."""
    found = shape.facts
    if found is None:
        return (0, 0)
    subject = text.partition("\n")[0].lower()
    named = sum(1 for name in names_to_use(found, limit=10) if name.lower() in subject)
    return (int(ungrounded(subject, found) is None), min(named, 3))


def _more_candidates(
    req: Request, shape: Shape, out: Generation, *, comment: str, wanted: int
) -> None:
    """Ask for up to ``wanted`` - 1 further candidates while the server is fast and time is
    left, adding the acceptable new ones (vague ones included) to ``out.candidates``."""
    from commit_polish import deadline, grammar

    hotter = replace(req, temperature=max(req.temperature, CANDIDATE_TEMPERATURE))
    for _ in range(wanted - 1):
        last = out.replies[-1].seconds
        if last > FAST_REPLY or deadline.remaining(req.timeout) < 3 * last + 1:
            return
        try:
            reply = grammar.complete(hotter)
        except CommitPolishError:  # the first answer is still good: keep it
            return
        out.replies.append(reply)
        text, problems = _judge(reply, shape, comment)
        if text and _vague_only(problems) and text not in out.candidates:
            out.candidates.append(text)


def ask(
    req: Request,
    shape: Shape,
    *,
    comment: str = "#",
    status: Status | None = None,
    candidates: int = 1,
) -> Generation:
    """Ask, clean and check; with ``candidates`` > 1 and a fast server, ask for more and
    keep the best by :func:`score`; on a problem ask once more with a note of what was
    wrong (a vague subject only when no candidate named anything).

    Raises LLMError naming the problem when the second answer is not acceptable either.
    """
    from commit_polish import grammar

    out = Generation(shape=shape)
    first = req
    for attempt in (1, 2):
        reply = grammar.complete(req, status=status)
        out.replies.append(reply)
        text, problems = _judge(reply, shape, comment)
        if attempt == 1 and text and _vague_only(problems):
            out.candidates.append(text)
            if candidates > 1:
                _more_candidates(first, shape, out, comment=comment, wanted=candidates)
            out.candidates.sort(key=lambda t: score(t, shape), reverse=True)
            if not problems or score(out.candidates[0], shape)[0]:
                text, problems = out.candidates[0], []
        if attempt == 2 and text and _vague_only(problems):
            problems = []
        out.text, out.problems = text, problems
        if not problems:
            out.text = apply_ticket(text, shape)
            return out
        if attempt == 1:
            req = replace(
                req,
                messages=[
                    *req.messages,
                    {"role": "assistant", "content": said_before(reply.text)},
                    {"role": "user", "content": correction(problems)},
                ],
            )
    problem = out.problems[0]
    if not problem.startswith("the model"):
        problem = f"the model's message was unusable: {problem}"
    raise Unusable(f"{problem}, twice (try again, or a larger model)", out)
