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
    ``kind``; empty when the facts name nothing."""
    added: list[str] = []
    removed: list[str] = []
    renamed: list[str] = []
    changed: list[str] = []
    files: list[str] = []  # changed files, named when no definition is
    for f in _about(found):
        if f.status == "added":
            added += [*f.added, _file_name(f)]
        elif f.status == "deleted":
            removed += [*f.removed, _file_name(f)]
        elif f.status == "renamed" and f.same_content:
            renamed.append((f.old_path or f.path).rsplit("/", 1)[-1])
        else:
            added += f.added
            removed += f.removed
            changed += f.changed
            files.append(_file_name(f))
    changed = changed or [dep.name for dep in found.dependencies] + files
    pairs = (
        (ADD, added),
        (REMOVE, removed),
        (RENAME, renamed),
        (BY_TYPE.get(kind or "", CHANGE), changed),
    )
    return tuple(Action(verbs, _kept(names)) for verbs, names in pairs if _kept(names))
