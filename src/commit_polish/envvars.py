"""The environment variables commit-polish reads itself, and how it reads a yes or a no.

Kept free of imports: ``launch.py`` reads ``COMMIT_POLISH_SKIP`` before anything is loaded.
"""

from __future__ import annotations

from collections.abc import Mapping

PREFIX = "COMMIT_POLISH_"
SKIP = PREFIX + "SKIP"
STRICT = PREFIX + "STRICT"
HOME = PREFIX + "HOME"
STATS = PREFIX + "STATS"
DEV_CACHE = PREFIX + "DEV_CACHE"  # dev/realserver.py
# Variables with the prefix that are not config keys.
RESERVED = frozenset({SKIP, HOME, STATS, DEV_CACHE})

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


def is_true(raw: str) -> bool:
    """Whether a variable's text says yes (anything else, unset included, is a no)."""
    return raw.strip().lower() in TRUE_WORDS


def skip_requested(environ: Mapping[str, str]) -> bool:
    return is_true(environ.get(SKIP, ""))
