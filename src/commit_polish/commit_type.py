"""Which Conventional Commits type a change takes, from what is known without a model.

The surest source first:

1. the changed files' kinds settle it: only tests is ``test``, only docs ``docs``, only CI
   files ``ci`` (tests or CI files with docs: still ``test`` or ``ci``);
2. else the history's own habit for changes of the same kinds, when at least ``MIN_SAME``
   recent commits touched files of exactly those kinds and most of them share a type
   (commitlint writes ``chore`` for a package.json edit where another project writes
   ``build``);
3. else what the facts show (renames and moves only: ``refactor``; whitespace only:
   ``style``; only build files and manifests: ``build``), and for source changes a guess:
   a new source file or public definition is a ``feat``, anything else a ``fix`` (the most
   common type of a source change in the histories measured, docs/quality.md).

A small model picks a type nearly at random (it matched the author's in 1 of 5 commits on
two Conventional Commits histories); these rules matched in about 2 of 3 of their last
100 human commits (72% on commitizen's, 51% on commitlint's).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from commit_polish import facts as facts_mod
from commit_polish.form import CONVENTIONAL

MIN_SAME = 3  # commits of the same kinds the habit is learned from, at least
HABIT_SHARE = 0.5  # of them, the share one type needs
# Release and dependency bumps say nothing of how a project types a change.
_BUMP = re.compile(r"\d+\.\d+")

_SETTLED = (
    (frozenset({"test"}), "test"),
    (frozenset({"docs"}), "docs"),
    (frozenset({"ci"}), "ci"),
)
_BUILD = frozenset({"build", "manifest", "lock"})


def of_kinds(kinds: frozenset[str]) -> str | None:
    """The type the kinds alone settle (tests, docs or CI files only; tests or CI files
    with the docs that describe them), else None."""
    if not kinds:
        return None
    if len(kinds) == 2 and "docs" in kinds:
        kinds = kinds - {"docs"}
    return next((kind for allowed, kind in _SETTLED if kinds <= allowed), None)


def kinds_of(paths: Sequence[str]) -> frozenset[str]:
    return frozenset(facts_mod.kind(path) for path in paths)


def habit(kinds: frozenset[str], history: Sequence[tuple[str, Sequence[str]]]) -> str | None:
    """The type most of the history's commits of exactly ``kinds`` took, when there are
    ``MIN_SAME`` of them and one type has ``HABIT_SHARE`` of them."""
    seen: Counter[str] = Counter()
    for subject, paths in history:
        found = CONVENTIONAL.match(subject)
        if found and paths and not _BUMP.search(subject) and kinds_of(paths) == kinds:
            seen[found.group("type")] += 1
    total = sum(seen.values())
    if total < MIN_SAME:
        return None
    kind, count = seen.most_common(1)[0]
    return kind if count >= HABIT_SHARE * total else None


def guess(found: facts_mod.Facts) -> str | None:
    """``refactor`` for renames and moves only, ``style`` for whitespace only, ``build`` for
    build files and manifests only; for source changes ``feat`` when a source file or a
    public definition is new, else ``fix``; None for anything else."""
    kinds = found.kinds()
    if found.files and all(f.status == "renamed" for f in found.files):
        return "refactor"
    if found.files and all(f.change == "whitespace" for f in found.files):
        return "style"
    if kinds and kinds <= _BUILD:
        return "build"
    sources = [f for f in found.files if f.kind == "source"]
    if not sources:
        return None
    new = any(
        f.status == "added" or any(not name.startswith("_") for name in f.added) for f in sources
    )
    return "feat" if new else "fix"


def choose(
    found: facts_mod.Facts,
    history: Sequence[tuple[str, Sequence[str]]],
    allowed: Sequence[str],
) -> str | None:
    """The type for this change (see the module's note): the surest of the picks that is
    one of ``allowed``."""
    kinds = found.kinds()
    picks = (of_kinds(kinds), habit(kinds, history), guess(found))
    return next((pick for pick in picks if pick is not None and pick in allowed), None)
