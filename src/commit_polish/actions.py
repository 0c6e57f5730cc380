"""What a grounded subject may say was done: verbs paired with the names they are true of.

From the facts: "Add" goes with what the change adds (new files, definitions on added lines
only), "Remove" with what it deletes, "Rename" with what it renames, and the verbs of the
change's type (``commit_type``) with what it changes. The grammar offers only these pairs,
so a subject cannot say "remove the index.test.ts file" of a file the change edits (seen on
commitlint's history), and a small model left to every verb does not open every subject
with the same one (SmolLM2-135M wrote "Allow …" for all 15 of click's last commits).

The names are the code's when source files changed: a test's or a doc's name is what the
change touched, not what it is about.
"""

from __future__ import annotations

from commit_polish.facts import Facts, FileFact
from commit_polish.form import Action

# Enough names to choose from, few enough that a small model's sampler is not spread thin.
MAX_NAMES = 8

ADD = ("Add",)
REMOVE = ("Remove", "Drop")
RENAME = ("Rename", "Move")
# Verbs for changing what exists, by type; any other type (or none) gets CHANGE.
BY_TYPE = {
    "feat": ("Add", "Support", "Allow", "Enable", "Expose"),
    "fix": ("Fix", "Handle", "Prevent", "Correct", "Ensure", "Make", "Keep"),
    "refactor": ("Refactor", "Simplify", "Extract", "Split", "Clean", "Replace"),
    "perf": ("Reduce", "Skip", "Make"),
    "docs": ("Document", "Update", "Fix", "Clean"),
    "test": ("Test", "Fix", "Update", "Check"),
    "style": ("Format", "Clean"),
    "build": ("Update", "Upgrade", "Use", "Set"),
    "ci": ("Update", "Use", "Set", "Skip"),
    "chore": ("Update", "Clean", "Set", "Use"),
}
CHANGE = ("Fix", "Update", "Handle", "Make", "Use", "Support", "Simplify", "Refactor")


def _file_name(f: FileFact) -> str:
    return f.path.rsplit("/", 1)[-1]


def _about(found: Facts) -> list[FileFact]:
    """The files a subject is about: the source files when some changed, else all."""
    sources = [f for f in found.files if f.kind == "source"]
    return sources or list(found.files)


def _kept(names: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for n in names if n))[:MAX_NAMES]


def of(found: Facts, kind: str | None) -> tuple[Action, ...]:
    """The (verbs, names) pairs a subject for ``found`` chooses from, for a change of type
    ``kind``; empty when the facts name nothing. Each pair names definitions when the
    change has some (``parse_port`` rather than ``netutil.py``: the most specific thing a
    commit can name), else files and packages."""
    added, removed, renamed, changed = _Names(), _Names(), _Names(), _Names()
    for f in _about(found):
        name = _file_name(f)
        if f.status == "added":
            added.add(f.added, name)
        elif f.status == "deleted":
            removed.add(f.removed, name)
        elif f.status == "renamed" and f.same_content:
            renamed.add((), (f.old_path or f.path).rsplit("/", 1)[-1])
        else:
            added.add(f.added, None)
            removed.add(f.removed, None)
            # The file is named only when no definition of it is: an edit that adds
            # parse_port to netutil.py is about parse_port.
            defined = f.added or f.removed or f.changed
            changed.add(f.changed, None if defined else name)
    changed.files[:0] = [dep.name for dep in found.dependencies]
    pairs = (
        (ADD, added),
        (REMOVE, removed),
        (RENAME, renamed),
        (BY_TYPE.get(kind or "", CHANGE), changed),
    )
    return tuple(Action(verbs, names.chosen()) for verbs, names in pairs if names.chosen())


class _Names:
    """One pair's names: the definitions, else the files."""

    def __init__(self) -> None:
        self.symbols: list[str] = []
        self.files: list[str] = []

    def add(self, symbols: tuple[str, ...], file: str | None) -> None:
        self.symbols += symbols
        if file:
            self.files.append(file)

    def chosen(self) -> tuple[str, ...]:
        return _kept(self.symbols or self.files)
