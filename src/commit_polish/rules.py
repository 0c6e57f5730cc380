"""Messages that need no model: changes whose whole meaning is in the facts.

A dependency bump, a lock file regenerated, pure renames, whitespace-only changes and a
version bump alone are said exactly from :mod:`facts`, in the repository's form (its
Conventional Commits or plain subjects, the case of the first letter, a form its history
shows for bumps and releases, its ticket ids). Anything else, or a message that would not
pass :func:`validate.check` for the shape, is left to the model (None).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from commit_polish import validate
from commit_polish.facts import Dependency, Facts, FileFact, by_name, is_range
from commit_polish.facts import kind as file_kind
from commit_polish.style import Shape, apply_ticket

MAX_NAMED = 3  # packages or files named in a subject; more are counted
MAX_BODY = 10  # lines listing them in the body
_GITMOJI = {
    "dependencies": "\u2b06\ufe0f",  # arrow_up: upgrade dependencies
    "lock": "\u2b06\ufe0f",
    "rename": "\U0001f69a",  # truck: move or rename
    "whitespace": "\U0001f3a8",  # art: format
    "release": "\U0001f516",  # bookmark: release
}
_TYPES = {
    "dependencies": "build(deps)",
    "lock": "build(deps)",
    "rename": "refactor",
    "whitespace": "style",
    "release": "chore(release)",
}
# A history's lead for dependency changes; "!" (breaking) is never copied, and dependabot's
# deps-dev scope, for development dependencies, becomes deps.
_DEPS_LEAD = re.compile(r"^(?P<type>[a-z]+)(?P<scope>\((?:deps|deps-dev|dependencies)\))?!?: ")
_BUMP = re.compile(
    r"^(?:[a-z]+(?:\([^()\s]+\))?!?: )?(?P<verb>bump|update|upgrade) "
    r"(?:\S+ from |dependency \S+ to )",
    re.I,
)
# renovate's form: "chore(deps): update dependency eslint to v9.2.0".
_RENOVATE = re.compile(
    r"^(?:[a-z]+(?:\([^()\s]+\))?!?: )?update dependency \S+ to (?P<v>v?)\d", re.I | re.M
)
# Types a dependency change may take from the history (adding a feature is not a bump).
_NOT_DEPS_TYPES = ("feat", "revert")
# Types that say which files changed: a history's "ci(deps)" is for its workflows' actions,
# not for a lock or manifest (commitizen's dependabot wrote it for uv.lock a while, then
# "build(deps)" again, as its config asks).
_KIND_TYPES = frozenset({"ci", "docs", "test"})
_VERSIONISH = re.compile(r"v?\d+(?:\.\d+)+[\w.+-]*")
_RELEASE_WORDS = re.compile(r"release|version|bump", re.I)


class _Whole(str):
    """A subject taken whole from the history's own form: no lead or case is added."""

    __slots__ = ()


@dataclass(frozen=True)
class Rule:
    name: str  # which rule wrote it: dependencies, lock, rename, whitespace, release
    text: str


def message(facts: Facts, shape: Shape) -> str | None:
    """A complete message when the change needs no model, else None."""
    found = apply(facts, shape)
    return found.text if found else None


def apply(facts: Facts, shape: Shape) -> Rule | None:
    """The rule that says this change, and its message; None when none can say it rightly."""
    files = facts.files
    if not files:
        return None
    name = _which(files, facts)
    if name is None:
        return None
    paths = tuple(p for f in files for p in (f.path, f.old_path) if p)
    texts = list(_WRITERS[name](facts, shape))
    # A body that does not pass (a line too long) is left out rather than the message.
    texts += [t.partition("\n")[0] for t in texts if "\n" in t]  # (history forms have none)
    for text in texts:
        whole = _with_lead(name, text, shape)
        if not validate.check(whole, shape.spec, diff_text=shape.diff_text, paths=paths):
            return Rule(name=name, text=apply_ticket(whole, shape))
    return None


def _which(files: tuple[FileFact, ...], facts: Facts) -> str | None:
    changes = {f.change for f in files}
    if changes == {"whitespace"}:
        return "whitespace"
    if all(f.status == "renamed" and f.same_content for f in files):
        return "rename"
    if changes == {"version"} and facts.version:
        return "release"
    if changes == {"dependencies"}:
        # A workflow's actions are dependencies it declares, as a manifest's are.
        return "dependencies" if any(f.kind in ("manifest", "ci") for f in files) else "lock"
    return None


# --- the form: lead (type and scope, or none), case, gitmoji ----------------------------------


def _with_lead(name: str, text: str, shape: Shape) -> str:
    """``text`` ("bump ruff from …", a body after a newline) with the subject's type and
    scope (or none, in a plain repository), its case, and a gitmoji if wanted."""
    subject, sep, body = text.partition("\n")
    if not isinstance(text, _Whole):
        if shape.spec.style == "plain" or shape.spec.case == "upper":
            subject = subject[:1].upper() + subject[1:]
        if shape.spec.style != "plain":
            subject = f"{_lead(name, shape)}: {subject}"
    if shape.spec.gitmoji:
        subject = f"{_GITMOJI[name]} {subject}"
    return subject + sep + body


def _lead(name: str, shape: Shape) -> str:
    """The type and scope the repository's history uses for dependency changes
    (``chore(deps)``, ``deps``), else ours."""
    if name in ("dependencies", "lock"):
        for example in shape.examples:
            found = _DEPS_LEAD.match(example)
            if not found or not (found.group("scope") or _BUMP.match(example)):
                continue
            kind = found.group("type")
            paths = shape.paths
            if kind in _KIND_TYPES and not (paths and all(file_kind(p) == kind for p in paths)):
                continue
            if kind in shape.spec.types and kind not in _NOT_DEPS_TYPES:
                scope = found.group("scope")
                return kind + ("(deps)" if scope == "(deps-dev)" else scope or "")
    return _TYPES[name]


def _verb(default: str, shape: Shape) -> str:
    """The verb the history's bump subjects use ("update" for "Update x from 1 to 2")."""
    for example in shape.examples:
        found = _BUMP.match(example)
        if found:
            return found.group("verb").lower()
    return default


def _names(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _body(lines: list[str], shape: Shape) -> str:
    if not shape.spec.body or not lines:
        return ""
    more = [f"- and {len(lines) - MAX_BODY} more"] if len(lines) > MAX_BODY else []
    return "\n\n" + "\n".join(lines[:MAX_BODY] + more)


# --- the rules -----------------------------------------------------------------------------


def _dependency_lines(deps: list[Dependency]) -> list[str]:
    out = []
    for dep in deps:
        if dep.old and dep.new:
            out.append(f"- {dep.name} {dep.old} -> {dep.new}")
        elif dep.new:
            out.append(f"- {dep.name} {dep.new} (added)")
        else:
            out.append(f"- {dep.name} {dep.old} (removed)")
    return out


def _dependencies(facts: Facts, shape: Shape) -> Iterator[str]:
    """Bumps only: a package added or removed is a change the model should describe."""
    deps = [dep for dep, _where in by_name(facts.dependencies)]
    if facts.partial or not deps or not all(dep.old and dep.new for dep in deps):
        return  # some lines unread: there may be more (or other) changes than these
    verb = _verb("bump", shape)
    if len(deps) == 1:
        dep = deps[0]
        if is_range(dep.old or "") or is_range(dep.new or ""):
            # dependabot's words for a range: the versions it allows, not one version.
            yield f"update {dep.name} requirement from {dep.old} to {dep.new}"
        elif renovate := _RENOVATE.search("\n".join(shape.examples)):
            yield f"update dependency {dep.name} to {renovate.group('v')}{dep.new}"
        yield f"{verb} {dep.name} from {dep.old} to {dep.new}"
        yield f"{verb} {dep.name} to {dep.new}"
        return
    body = _body(_dependency_lines(deps), shape)
    if len(deps) <= MAX_NAMED:
        yield f"{verb} {_names([d.name for d in deps])}{body}"
    yield f"{verb} {len(deps)} dependencies{body}"


def _lock(facts: Facts, shape: Shape) -> Iterator[str]:
    # A lock whose every change is a package's version (a bot's bump of a transitive or
    # locked dependency) says so as a bump; one that lists none is "updated".
    yield from _dependencies(facts, shape)
    locks = [f.path for f in facts.files]
    listed = [] if facts.partial else [dep for dep, _where in by_name(facts.dependencies)]
    body = _body(_dependency_lines(listed), shape)  # not a list that may be incomplete
    if len(locks) <= MAX_NAMED:
        yield f"update {_names(locks)}{body}"
        yield f"update {_names([p.rsplit('/', 1)[-1] for p in locks])}{body}"
    yield f"update {len(locks)} lock files{body}"


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def _base(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _rename(facts: Facts, shape: Shape) -> Iterator[str]:
    moves = [(f.old_path or "", f.path) for f in facts.files]
    if len(moves) == 1:
        old, new = moves[0]
        if _parent(old) == _parent(new):
            yield f"rename {old} to {new}"
            yield f"rename {_base(old)} to {_base(new)}"
        else:
            yield f"move {old} to {new}"
            if _base(old) == _base(new):
                yield f"move {_base(old)} to {_parent(new) or 'the top level'}/"
        return
    count = len(moves)
    body = _body([f"- {old} -> {new}" for old, new in moves], shape)
    olds, news = {_parent(o) for o, _n in moves}, {_parent(n) for _o, n in moves}
    if all(_parent(o) == _parent(n) for o, n in moves):
        where = f" in {next(iter(news))}/" if len(news) == 1 and news != {""} else ""
        yield f"rename {count} files{where}{body}"
        yield f"rename {count} files{body}"
        return
    if len(news) == 1:
        into = f"{next(iter(news))}/" if news != {""} else "the top level"
        if len(olds) == 1 and olds != {""}:
            yield f"move {count} files from {next(iter(olds))}/ to {into}{body}"
        yield f"move {count} files to {into}{body}"
    yield f"move {count} files{body}"


def _whitespace(facts: Facts, shape: Shape) -> Iterator[str]:
    paths = [f.path for f in facts.files]
    if len(paths) <= MAX_NAMED:
        yield f"reformat {_names(paths)}"
        yield f"reformat {_names([_base(p) for p in paths])}"
    dirs = {_parent(p) for p in paths}
    if len(dirs) == 1 and dirs != {""}:
        yield f"reformat {len(paths)} files in {next(iter(dirs))}/"
    yield f"reformat {len(paths)} files"


def _release(facts: Facts, shape: Shape) -> Iterator[str]:
    if not facts.version:
        return
    new = facts.version[1]
    for example in shape.examples:
        found = _VERSIONISH.search(example)
        if found:
            rest = example[: found.start()] + example[found.end() :]
            if _RELEASE_WORDS.search(rest) or not rest.strip(" :-"):
                v = "v" if found.group(0).startswith("v") else ""
                yield _Whole(example[: found.start()] + v + new + example[found.end() :])
                break
    yield new if shape.spec.style != "plain" else f"release {new}"


_WRITERS: dict[str, Callable[[Facts, Shape], Iterator[str]]] = {
    "dependencies": _dependencies,
    "lock": _lock,
    "rename": _rename,
    "whitespace": _whitespace,
    "release": _release,
}
