"""The form of an acceptable commit message: the Conventional Commits pattern and types, the
body's width, and :class:`Spec`, which the grammar, the validator and the prompt all read."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_TYPES = (
    "feat",
    "fix",
    "docs",
    "style",
    "refactor",
    "perf",
    "test",
    "build",
    "ci",
    "chore",
    "revert",
)
BODY_WIDTH = 72

CONVENTIONAL = re.compile(
    r"^(?P<type>[a-z]+)(?:\((?P<scope>[^()\s]+)\))?(?P<bang>!)?: (?P<desc>\S.*)$"
)


@dataclass(frozen=True)
class Action:
    """What a grounded subject may say was done: one of ``verbs`` (capitalised) to one of
    ``names`` (actions.py)."""

    verbs: tuple[str, ...]
    names: tuple[str, ...]


@dataclass(frozen=True)
class Spec:
    """The shape of an acceptable message."""

    style: str = "conventional"  # or "plain"
    types: tuple[str, ...] = DEFAULT_TYPES
    scopes: tuple[str, ...] | None = None  # None: any scope of [a-z0-9_./-]
    subject_max: int = 72
    body: bool = True
    case: str = "any"  # first letter of the description: "lower", "upper" or "any"
    gitmoji: bool = False
    learned: str = ""  # where a style learned from the history came from, for problem lines
    # The verbs and names of the change (definitions, packages, files) the grammar makes the
    # subject use one pair of; empty: any words.
    actions: tuple[Action, ...] = ()
