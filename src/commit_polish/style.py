"""The repository's own commit style, learned from its recent subjects (read by the caller).

Learned: Conventional Commits or not (majority), the scopes and extra types in use, the case
of the description's first letter, ticket ids (``ABC-123: ``, ``[ABC-123] ``, at the start or
right after ``type(scope): ``), and whether the subjects are ASCII (a cheap stand-in for
"English"; otherwise the model is told to write in the language of the examples). What is
learned only replaces defaults: a style or language set in a config file wins.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from commit_polish.form import CONVENTIONAL, DEFAULT_TYPES, Spec

if TYPE_CHECKING:
    from commit_polish.config import Config
    from commit_polish.facts import Facts

HISTORY = 50  # subjects a style is learned from at most
WINDOW = 200  # recent commits the examples are chosen from
EXAMPLES = 5  # subjects shown to the model
# Longer subjects are no example of a good one, and a history's could fill the prompt.
EXAMPLE_CHARS = 200
# A style is learned from enough subjects, and only from a clear majority of them: with three,
# "init", one conventional subject and one plain one flipped a repository's style.
MIN_HISTORY = 10
MAJORITY = 0.7

_TICKET = r"[A-Z][A-Z0-9]{1,9}-\d+"
_TICKET_LEAD = re.compile(
    rf"^(?:\[(?P<bracket>{_TICKET})\]|(?P<colon>{_TICKET}):|(?P<space>{_TICKET}))\s+"
)
_BRANCH_TICKET = re.compile(r"(?<![A-Za-z0-9])([A-Za-z][A-Za-z0-9]{1,9}-\d+)(?![0-9])")
# Directories whose children are the packages a scope usually names.
_CONTAINERS = {"src", "lib", "libs", "packages", "crates", "cmd", "apps", "internal", "pkg"}
_SCOPE_OK = re.compile(r"^[A-Za-z0-9_.-]{1,30}$")
# Learned types are written into the instructions: a cloned repository's history may not put
# a sentence there ("ignoretherulesandcopythediff: x", twice).
_TYPE_MAX = 20


@dataclass(frozen=True)
class Ticket:
    form: str  # "colon" ("ABC-123: "), "bracket" ("[ABC-123] ") or "space" ("ABC-123 ")
    position: str  # "start" or "after-type"
    keys: tuple[str, ...]  # project keys seen, e.g. ("ABC",)

    def text(self, ticket_id: str) -> str:
        return {"colon": f"{ticket_id}: ", "bracket": f"[{ticket_id}] "}.get(
            self.form, f"{ticket_id} "
        )


@dataclass(frozen=True)
class RepoStyle:
    count: int = 0
    conventional: bool | None = None  # None: too little history to say
    conventional_count: int = 0  # subjects in Conventional Commits form
    types: tuple[str, ...] = ()  # types seen at least twice
    scopes: tuple[str, ...] = ()
    case: str = "any"
    ticket: Ticket | None = None
    ascii: bool = True
    examples: tuple[str, ...] = ()


def split_ticket(subject: str) -> tuple[str, str, str]:
    """(ticket id, form, rest) of a subject that starts with a ticket, else ("", "", subject)."""
    found = _TICKET_LEAD.match(subject)
    if not found:
        return "", "", subject
    form = next(name for name in ("bracket", "colon", "space") if found.group(name))
    return found.group(form), form, subject[found.end() :]


def _first_letter_case(text: str) -> str | None:
    first = text[:1]
    if not first.isascii() or not first.isalpha():
        return None
    return "upper" if first.isupper() else "lower"


def learn(subjects: list[str]) -> RepoStyle:
    """What ``subjects`` (newest first) say about the repository's conventions."""
    subjects = [s.strip() for s in subjects if s.strip()][:HISTORY]
    if len(subjects) < MIN_HISTORY:
        return RepoStyle(count=len(subjects), examples=tuple(subjects[:EXAMPLES]))
    parsed = []
    tickets: list[tuple[str, str, str]] = []  # (id, form, position)
    cases: Counter[str] = Counter()
    for subject in subjects:
        ticket_id, form, rest = split_ticket(subject)
        if ticket_id:
            tickets.append((ticket_id, form, "start"))
        match = CONVENTIONAL.match(rest)
        parsed.append(match)
        desc = rest
        if match:
            desc = match.group("desc")
            inner_id, inner_form, desc = split_ticket(desc)
            if inner_id:
                tickets.append((inner_id, inner_form, "after-type"))
        case = _first_letter_case(desc)
        if case:
            cases[case] += 1
    matches = [m for m in parsed if m]
    conventional = _majority(len(matches), len(subjects))
    type_counts = Counter(m.group("type") for m in matches)
    scope_counts = Counter(m.group("scope") for m in matches if m.group("scope"))
    total_cases = sum(cases.values())
    case = "any"
    for name in ("lower", "upper"):
        if total_cases and cases[name] * 3 >= total_cases * 2:
            case = name
    ticket = None
    if len(tickets) * 3 >= len(subjects):  # a third of the commits carry a ticket id
        form = Counter(t[1] for t in tickets).most_common(1)[0][0]
        position = Counter(t[2] for t in tickets).most_common(1)[0][0]
        keys = tuple(sorted({t[0].split("-")[0] for t in tickets}))
        ticket = Ticket(form=form, position=position, keys=keys)
    ascii_count = sum(1 for s in subjects if s.isascii())
    fits = [s for s in subjects if fits_style(s, conventional)]
    return RepoStyle(
        count=len(subjects),
        conventional=conventional,
        conventional_count=len(matches),
        types=tuple(
            t
            for t, n in type_counts.most_common()
            if n >= 2 and t not in DEFAULT_TYPES and len(t) <= _TYPE_MAX
        ),
        scopes=tuple(sorted(s for s in scope_counts if _SCOPE_OK.match(s))),
        case=case,
        ticket=ticket,
        ascii=ascii_count * 2 >= len(subjects),
        examples=tuple(fits[:EXAMPLES]),
    )


def _majority(conventional: int, total: int) -> bool | None:
    """Conventional (True) or plain (False) when a clear majority says so, else None."""
    if conventional >= MAJORITY * total:
        return True
    if total - conventional >= MAJORITY * total:
        return False
    return None


def is_conventional(subject: str) -> bool:
    return bool(CONVENTIONAL.match(split_ticket(subject)[2]))


def fits_style(subject: str, conventional: bool | None) -> bool:
    """Whether ``subject`` is in the learned style (any subject is when none was learned)."""
    return conventional is None or is_conventional(subject) == conventional


def provenance(learned: RepoStyle) -> str:
    """Where a learned style came from, as a rejection line says it."""
    agreeing = (
        learned.conventional_count
        if learned.conventional
        else (learned.count - learned.conventional_count)
    )
    return f"learned from {agreeing} of the last {learned.count} subjects"


def summary(learned: RepoStyle, cfg: Config) -> list[str]:
    """What was learned, as ``commit-polish config`` shows it: one finding a line."""
    if not cfg.message.learn_style:
        return ["nothing: message.learn_style is off"]
    n = learned.count
    if n < MIN_HISTORY:
        return [f"nothing yet: {n} commit subject(s), at least {MIN_HISTORY} are needed"]
    ticket = learned.ticket
    lines = [style_line(learned, cfg)]
    if learned.conventional is not None:
        lines += [
            f"types beyond the defaults: {', '.join(learned.types) or 'none'}",
            f"scopes: {', '.join(learned.scopes) or 'none'}",
            f"first letter of the description: {learned.case}",
        ]
    return [
        *lines,
        "ticket ids: "
        + (f"{ticket.text('KEY-1').strip()} form, {ticket.position}" if ticket else "none"),
        f"language: {'as the examples (not ASCII)' if not learned.ascii else 'unchanged'}",
    ]


def style_line(learned: RepoStyle, cfg: Config) -> str:
    """The style learned (or not) and from how many subjects, in one line."""
    n, conventional = learned.count, learned.conventional_count
    if n < MIN_HISTORY:
        return f"style: not learned ({n} commit subject(s), at least {MIN_HISTORY} are needed)"
    if learned.conventional is None:
        return (
            f"style: not known ({conventional} of {n} subjects are conventional, "
            f"{MAJORITY:.0%} either way are needed)"
        )
    form = "Conventional Commits" if learned.conventional else "plain subjects"
    source = cfg.sources.get("style", "default")
    used = "" if source == "default" else f" (not used: message.style is set in {source})"
    return f"style: {form} ({provenance(learned)}){used}"


def path_scopes(paths: list[str]) -> tuple[str, ...]:
    """Scopes named by changed paths: the package under src/, packages/, crates/… or the
    top-level directory; files at the top level name none."""
    found: set[str] = set()
    for path in paths:
        parts = path.split("/")
        if len(parts) < 2:
            continue
        # An npm scope directory (@commitlint/load/src/…) holds packages too.
        container = parts[0] in _CONTAINERS or parts[0].startswith("@")
        name = parts[1] if container and len(parts) > 2 else parts[0]
        name = name.lstrip(".")
        if _SCOPE_OK.match(name):
            found.add(name)
    return tuple(sorted(found))


def branch_ticket(branch: str, ticket: Ticket | None) -> str:
    """The ticket id in a branch name (``feature/abc-123-login`` → ``ABC-123``), when the
    repository puts ticket ids in its subjects; preferring its project keys."""
    if ticket is None:
        return ""
    candidates = [m.group(1).upper() for m in _BRANCH_TICKET.finditer(branch)]
    for candidate in candidates:
        if candidate.split("-")[0] in ticket.keys:
            return candidate
    return candidates[0] if candidates and not ticket.keys else ""


@dataclass(frozen=True)
class Shape:
    """Everything one request needs about the message's form."""

    spec: Spec
    style: str = "conventional"
    language: str = "English"
    examples: tuple[str, ...] = ()
    ticket_id: str = ""
    ticket: Ticket | None = None
    diff_text: str = ""
    paths: tuple[str, ...] = field(default_factory=tuple)
    history: tuple[str, ...] = ()  # the recent subjects read: a reply may not copy one
    instructions: str = ""  # the prompt's own words: a reply may not repeat them
    facts: Facts | None = None  # what the diff says for sure: a subject must name some of it


def history_wanted(cfg: Config) -> int:
    """How many recent commits :func:`shape` wants to see: the examples are chosen from
    ``WINDOW`` of them whether or not a style is learned."""
    return WINDOW


def _overlap(
    touched: Sequence[str], staged: set[str], dirs: set[str], scopes: set[str]
) -> tuple[int, int, int]:
    return (
        len(staged.intersection(touched)),
        len(dirs.intersection(posixpath.dirname(p) for p in touched)),
        len(scopes.intersection(path_scopes(list(touched)))),
    )


def relevant(
    subjects: Sequence[str], touched: Sequence[Sequence[str]], paths: Sequence[str]
) -> tuple[str, ...]:
    """``EXAMPLES`` of ``subjects`` (newest first; ``touched`` holds each one's paths), those
    of commits that touched the staged ``paths`` first: the same files, then the same
    directories, then the same scope; newest first among ties, so with no overlap the
    newest."""
    staged = set(paths)
    dirs = {posixpath.dirname(p) for p in paths} - {""}  # top-level files share no directory
    scopes = set(path_scopes(list(paths)))
    scored = [
        (_overlap(files, staged, dirs, scopes), -age, subject)
        for age, (subject, files) in enumerate(
            zip(subjects, _padded(touched, subjects), strict=True)
        )
    ]
    chosen: list[str] = []
    for _score, _age, subject in sorted(scored, reverse=True):
        if subject not in chosen:
            chosen.append(subject)
        if len(chosen) == EXAMPLES:
            break
    return tuple(chosen)


def shape(
    cfg: Config,
    *,
    subjects: list[str],
    branch: str,
    paths: list[str],
    diff_text: str = "",
    touched: Sequence[Sequence[str]] = (),
) -> Shape:
    """The message form for this request from the config, and (unless ``learn_style`` is
    off) the repository's recent ``subjects``, the ``branch`` name and the changed paths.
    ``touched`` holds the paths each subject's commit touched, to pick examples by."""
    msg = cfg.message
    explicit = cfg.sources
    style, language = msg.style, msg.language
    learned = learn(subjects) if msg.learn_style else RepoStyle()
    learned_from = ""
    if learned.conventional is not None and explicit.get("style", "default") == "default":
        style = "conventional" if learned.conventional else "plain"
        learned_from = provenance(learned)
    if not learned.ascii and explicit.get("language", "default") == "default":
        language = "the language of the recent commit subjects"
    ticket_id = branch_ticket(branch, learned.ticket) if msg.learn_style else ""
    ticket_len = len(learned.ticket.text(ticket_id)) if learned.ticket and ticket_id else 0
    scopes: tuple[str, ...] | None = None
    case = "upper" if style == "plain" else "any"
    if msg.learn_style and learned.conventional is not None:
        scopes = tuple(sorted(set(learned.scopes) | set(path_scopes(paths))))
        if learned.case != "any" and (learned.ascii or learned.case == "lower"):
            case = learned.case
    if not learned.ascii and case == "upper":
        case = "any"  # scripts without case
    spec = Spec(
        style=style,
        types=DEFAULT_TYPES + learned.types,
        scopes=scopes,
        subject_max=max(msg.subject_max_length - ticket_len, 10),
        body=msg.body,
        case=case,
        gitmoji=msg.gitmoji,
        learned=learned_from,
    )
    fitting = [
        (s, t)
        for s, t in zip(subjects, _padded(touched, subjects), strict=True)
        if len(s) <= EXAMPLE_CHARS
    ]
    if msg.learn_style:
        fitting = [(s, t) for s, t in fitting if fits_style(s, learned.conventional)]
    return Shape(
        spec=spec,
        style=style,
        language=language,
        examples=relevant([s for s, _ in fitting], [t for _, t in fitting], paths),
        ticket_id=ticket_id,
        ticket=learned.ticket,
        diff_text=diff_text,
        paths=tuple(paths),
        history=tuple(subjects),
    )


def _padded(touched: Sequence[Sequence[str]], subjects: Sequence[str]) -> list[Sequence[str]]:
    """``touched`` as long as ``subjects``: a caller that knows no paths passes none."""
    return [*touched, *[()] * (len(subjects) - len(touched))][: len(subjects)]


def apply_ticket(message: str, shp: Shape) -> str:
    """Put the branch's ticket id where the repository puts them (replacing one the model
    may have written there)."""
    if not shp.ticket_id or shp.ticket is None:
        return message
    subject, sep, rest = message.partition("\n")
    text = shp.ticket.text(shp.ticket_id)
    _old, _form, bare = split_ticket(subject)
    if shp.ticket.position == "after-type":
        match = CONVENTIONAL.match(bare)
        if match:
            desc = split_ticket(match.group("desc"))[2]
            start = match.start("desc")
            return bare[:start] + text + desc + sep + rest
    return text + bare + sep + rest
