"""One error base for everything commit-polish reports to a user, and a few subclasses.

Every message is one line that says what went wrong and, where we know it, the next step.
"""

from __future__ import annotations


class CommitPolishError(Exception):
    """An error we expected and can explain in one line."""

    exit_code = 1


class ConfigError(CommitPolishError):
    """A config file, key, value or template is wrong."""


class GitError(CommitPolishError):
    """git failed or the repository is not in a state we can work with."""


class LLMError(CommitPolishError):
    """The model server was unreachable, too slow, or answered something unusable."""


class DownloadError(CommitPolishError):
    """A download failed: network, HTTP status, disk."""


class ChecksumError(DownloadError):
    """A downloaded file does not have the sha256 it must have."""


class ServerError(CommitPolishError):
    """Starting, stopping or querying the local model server failed."""
