"""One error base for everything commit-polish reports to a user, and the one rule that turns
any exception into a line and an exit code.

Every message is one line that says what went wrong and, where we know it, the next step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from commit_polish.validate import Generation

# The exit codes, and all of them: a script can tell "we said no" from "we broke".
EXIT_OK = 0
EXIT_ERROR = 1  # a CommitPolishError: the line says what to do
EXIT_USAGE = 2  # click's own: a wrong option or argument
EXIT_INTERNAL = 3  # a bug of ours
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT

REPORT_HINT = "please report this; COMMIT_POLISH_SKIP=1 turns the hook off"
# The one next step for "no server there", wherever it is said (hook, generate, status).
START_SERVER = "commit-polish serve --detach"


class CommitPolishError(Exception):
    """An error we expected and can explain in one line."""


class ConfigError(CommitPolishError):
    """A config file, key, value or template is wrong."""


class GitError(CommitPolishError):
    """git failed or the repository is not in a state we can work with."""


class LLMError(CommitPolishError):
    """The model server was unreachable, too slow, or answered something unusable."""


class Unusable(LLMError):
    """Two answers failed validation; ``generation`` holds the last one."""

    def __init__(self, text: str, generation: Generation) -> None:
        super().__init__(text)
        self.generation = generation


class DownloadError(CommitPolishError):
    """A download failed: network, HTTP status, disk."""


class NetworkError(DownloadError):
    """A file could not be fetched over the network (no name, refused, gave up retrying);
    ``reason`` is the cause without the advice, for a caller that knows better advice."""

    def __init__(self, text: str, reason: str = "") -> None:
        super().__init__(text)
        self.reason = reason or text


class ChecksumError(DownloadError):
    """A downloaded file does not have the sha256 it must have."""


class ServerError(CommitPolishError):
    """Starting, stopping or querying the local model server failed."""


def classify(
    exc: BaseException, *, interrupted: str = "interrupted", kept: str = ""
) -> tuple[str, int]:
    """(the line to print without our prefix, the exit code) for an exception that ended a
    command. Anything that is not ours is an internal error: one line, never a traceback.
    ``kept`` says what was left untouched (the hook: "; message left as git wrote it")."""
    if isinstance(exc, CommitPolishError):
        return printable(str(exc)), EXIT_ERROR
    if isinstance(exc, KeyboardInterrupt):
        return interrupted, EXIT_INTERRUPTED
    line = f"internal error ({type(exc).__name__}: {exc}){kept} ({REPORT_HINT})"
    return printable(line), EXIT_INTERNAL


# How much of a name, value or path an error quotes: a cloned repository's file may hold
# 64 KiB of one, and the line must stay readable.
VALUE_SHOWN = 60
PATH_SHOWN = 200


def shorten(text: str, limit: int) -> str:
    """``text``, cut to ``limit`` characters with an ellipsis when longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def printable(text: str) -> str:
    """``text`` with every character that is not printable (newlines, terminal escapes,
    bidi overrides) written as its escape: a message may quote a cloned repository's keys,
    paths and placeholders, and must still be one line that cannot rewrite the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
