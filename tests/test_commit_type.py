"""commit_type.choose from real-shaped facts and histories: what the kinds settle, the
history's habit for changes of the same kinds, and the facts' guess, in that order."""

from __future__ import annotations

import pytest

from commit_polish import commit_type, facts
from commit_polish.facts import Facts, FileFact
from commit_polish.form import DEFAULT_TYPES


def changed(*files: tuple[str, ...]) -> Facts:
    """Facts of (path, kind, status, added definitions...) files."""
    return Facts(
        files=tuple(
            FileFact(path=path, kind=kind, status=status, language=None, added=tuple(added))
            for path, kind, status, *added in files
        )
    )


SOURCE = ("src/app/cli.py", "source", "modified")
TEST = ("tests/test_cli.py", "test", "modified")
DOCS = ("docs/usage.md", "docs", "modified")
CI = (".github/workflows/ci.yml", "ci", "modified")
MANIFEST = ("package.json", "manifest", "modified")

# Six commits that edited package.json alone, typed as commitlint types them.
CHORE_HABIT = [("chore: have renovate rebase stale PRs", ["package.json"])] * 4 + [
    ("build: add corepack field", ["package.json"])
] * 2
# Source and tests together, mostly fixes; the release commits say nothing of a habit.
FIX_HABIT = [("fix(cli): handle empty input", ["src/app/cli.py", "tests/test_cli.py"])] * 3 + [
    ("bump: version 4.1.0 → 4.2.0", ["src/app/cli.py", "tests/test_cli.py"])
] * 5


@pytest.mark.parametrize(
    ("found", "history", "expected"),
    [
        # The kinds settle it, whatever the history did.
        (changed(TEST), FIX_HABIT, "test"),
        (changed(DOCS, ("README.md", "docs", "modified")), [], "docs"),
        (changed(CI), [], "ci"),
        (changed(CI, DOCS), [], "ci"),  # a workflow and the page that describes it
        (changed(TEST, DOCS), FIX_HABIT, "test"),
        (changed(TEST, DOCS, CI), [], None),
        (changed(("mkdocs.yml", facts.kind("mkdocs.yml"), "modified")), [], "docs"),
        # Build files and manifests: the history's habit first, else build.
        (changed(MANIFEST), CHORE_HABIT, "chore"),
        (changed(MANIFEST), [], "build"),
        (changed(MANIFEST), CHORE_HABIT[:2], "build"),  # too few commits to learn from
        # Source: the habit for the same kinds; release bumps are not counted.
        (changed(SOURCE, TEST), FIX_HABIT, "fix"),
        (changed(SOURCE, TEST), FIX_HABIT[3:], "fix"),  # only bumps: the guess, a fix
        # The habit outranks the guess: a new file in a project that types these as fixes.
        (changed(SOURCE, TEST, ("src/app/new.py", "source", "added")), FIX_HABIT, "fix"),
        (changed(SOURCE, TEST, ("src/app/new.py", "source", "added")), [], "feat"),
        # The guess: a new public definition is a feature, a private one is not.
        (changed(("src/app/net.py", "source", "modified", "parse_port")), [], "feat"),
        (changed(("src/app/net.py", "source", "modified", "_parse")), [], "fix"),
        # Renames and moves only; whitespace only.
        (
            changed(("src/b.py", "source", "renamed"), ("tests/t.py", "test", "renamed")),
            [],
            "refactor",
        ),
        (
            Facts(files=(FileFact("a.py", "modified", "source", None, change="whitespace"),)),
            [],
            "style",
        ),
        # Nothing to go on: the model chooses.
        (changed(("assets/logo.png", "data", "modified")), [], None),
        (Facts(files=()), [], None),
    ],
)
def test_choose(found: Facts, history: list[tuple[str, list[str]]], expected: str | None) -> None:
    assert commit_type.choose(found, history, DEFAULT_TYPES) == expected


def test_a_habit_needs_a_clear_share() -> None:
    split = [("chore: a", ["package.json"]), ("build: b", ["package.json"])] * 2 + [
        ("ci: c", ["package.json"])
    ] * 2
    assert commit_type.habit(frozenset({"manifest"}), split) is None
    assert commit_type.habit(frozenset({"manifest"}), CHORE_HABIT) == "chore"


def test_a_type_the_style_does_not_allow_falls_through() -> None:
    # A project whose types have no "chore": the habit is not offered, the guess is.
    assert commit_type.choose(changed(MANIFEST), CHORE_HABIT, ("feat", "fix", "build")) == "build"
    assert commit_type.choose(changed(MANIFEST), CHORE_HABIT, ("feat", "fix")) is None
