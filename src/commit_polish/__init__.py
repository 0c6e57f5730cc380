"""commit-polish: commit messages from a local LLM, written by git's prepare-commit-msg hook."""

from __future__ import annotations

__version__ = "0.1.0"
