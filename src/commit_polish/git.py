"""The only place that runs git.

Inside a hook git exports GIT_DIR, GIT_INDEX_FILE and friends; they must be honoured (a
``git commit -a`` stages into a temporary index that only GIT_INDEX_FILE points at). Commands
that work on another repository pass ``isolate=True`` so that those variables are stripped.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, NamedTuple

from commit_polish.errors import GitError

# git's candidates for core.commentChar=auto, in its order.
_AUTO_COMMENT_CHARS = "#;@!$%^&|:"


def _env(isolate: bool) -> dict[str, str]:
    env = dict(os.environ)
    if isolate:
        for key in list(env):
            if key.startswith("GIT_"):
                del env[key]
    # Never let git open a pager or prompt from inside a hook.
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_PAGER"] = "cat"
    return env


def run(
    args: Sequence[str],
    *,
    cwd: Path | str | None = None,
    isolate: bool = False,
    check: bool = True,
    input_bytes: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git ARGS`` and return the completed process (stdout/stderr as bytes).

    Inside the hook's time budget (``deadline.within``) git gets what is left of it and is
    killed when that runs out: a huge file or a slow filesystem must not hold the commit.
    """
    timeout = _time_left(args)
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=_env(isolate),
            input=input_bytes,
            capture_output=True,
            check=False,
            timeout=timeout,
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed or not on PATH") from exc
    except subprocess.TimeoutExpired as exc:
        raise _too_slow(args) from exc
    if check:
        _check(args, proc.returncode, proc.stderr)
    return proc


def run_capped(
    args: Sequence[str], *, limit: int, cwd: Path | str | None = None
) -> tuple[bytes, bool]:
    """``git ARGS``'s stdout, read up to ``limit`` bytes and whether that was all of it.

    Past the limit git is killed: what it would print after that is never read or held.
    Under the hook's deadline as :func:`run` is.
    """
    timeout = _time_left(args)
    end = None if timeout is None else time.monotonic() + timeout
    try:
        proc = subprocess.Popen(
            ["git", *args],
            cwd=cwd,
            env=_env(False),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed or not on PATH") from exc
    out: list[bytes] = []
    err: list[bytes] = []
    stdout = _reader(proc.stdout, out, limit + 1, proc)
    stderr = _reader(proc.stderr, err, _STDERR_KEPT, None)
    try:
        _join(stdout, end)
        if sum(map(len, out)) > limit:  # git was killed
            proc.wait()
            return b"".join(out)[:limit], False
        proc.wait(timeout=None if end is None else max(end - time.monotonic(), 0))
        _join(stderr, end)
    except subprocess.TimeoutExpired as exc:
        proc.kill()
        proc.wait()
        raise _too_slow(args) from exc  # the daemon readers end when the pipes close
    _check(args, proc.returncode, b"".join(err))
    return b"".join(out), True


def _reader(
    stream: IO[bytes] | None, chunks: list[bytes], limit: int, proc: subprocess.Popen[bytes] | None
) -> threading.Thread:
    assert stream is not None
    thread = threading.Thread(target=_read, args=(stream, chunks, limit, proc), daemon=True)
    thread.start()
    return thread


def _join(thread: threading.Thread, end: float | None) -> None:
    """Wait for ``thread`` until ``end``; a child git left behind may hold its pipe open."""
    thread.join(None if end is None else max(end - time.monotonic(), 0))
    if thread.is_alive():
        raise subprocess.TimeoutExpired("git", 0)


# What is kept of git's stderr for an error line; the rest is read and dropped.
_STDERR_KEPT = 64 * 1024


def _read(
    stream: IO[bytes], chunks: list[bytes], limit: int, proc: subprocess.Popen[bytes] | None
) -> None:
    """Read ``stream`` to its end, keeping its first ``limit`` bytes; with ``proc``, kill it
    once past the limit instead of reading on."""
    kept = 0
    while chunk := stream.read1(1 << 16):  # type: ignore[attr-defined]
        if kept < limit:
            chunks.append(chunk[: limit - kept])
            kept += len(chunks[-1])
        if kept >= limit and proc is not None:
            proc.kill()
            break
    stream.close()


def _time_left(args: Sequence[str]) -> float | None:
    """The seconds git may take: what is left of the hook's budget (None outside it).
    GitError when nothing is left: git would be killed at once, and the line must name
    what used the time up, not this git."""
    from commit_polish import deadline

    budget = deadline.budget()
    if budget is None:
        return None
    left = deadline.remaining(budget)
    if left <= 0:
        slowest = deadline.slowest_step()
        by = f" by {slowest[0]} ({slowest[1]:.1f}s)" if slowest else ""
        raise GitError(
            f"the {budget:g}s budget (ai.timeout) was used up{by} before git {_name(args)} "
            "could run; nothing was sent to the model (unstage very large files, or raise "
            "ai.timeout)"
        )
    return left


def _too_slow(args: Sequence[str]) -> GitError:
    from commit_polish import deadline

    doing = deadline.current_step()
    return GitError(
        f"git {_name(args)} took longer than the {deadline.budget() or 0:g}s budget (ai.timeout)"
        f"{' ' + doing if doing else ''}, before anything was sent to the model (unstage "
        "very large files, or raise ai.timeout)"
    )


def _check(args: Sequence[str], code: int, stderr: bytes) -> None:
    if code != 0:
        detail = stderr.decode("utf-8", "replace").strip().splitlines()
        first = detail[0] if detail else f"exit code {code}"
        raise GitError(f"git {_name(args)} failed: {first}")


def _name(args: Sequence[str]) -> str:
    """The subcommand and its first argument, past any ``-c key=value``."""
    words = list(args)
    while len(words) >= 2 and words[0] == "-c":
        words = words[2:]
    return " ".join(words[:2])


def text(args: Sequence[str], *, cwd: Path | str | None = None, isolate: bool = False) -> str:
    """Run git and return stdout decoded leniently, without the trailing newline."""
    out = run(args, cwd=cwd, isolate=isolate).stdout
    return out.decode("utf-8", "replace").rstrip("\n")


def git_dir(cwd: Path | str | None = None) -> Path:
    return Path(text(["rev-parse", "--absolute-git-dir"], cwd=cwd))


def git_path(name: str, cwd: Path | str | None = None) -> Path:
    """``git rev-parse --git-path NAME``: honours core.hooksPath, worktrees and GIT_DIR."""
    out = text(["rev-parse", "--git-path", name], cwd=cwd)
    path = Path(out)
    if not path.is_absolute():
        base = Path(cwd) if cwd is not None else Path.cwd()
        path = base / path
    return path


def hooks_dir(cwd: Path | str | None = None) -> Path:
    return git_path("hooks", cwd)


def is_repository(cwd: Path | str | None = None) -> bool:
    return run(["rev-parse", "--git-dir"], cwd=cwd, check=False).returncode == 0


def toplevel(cwd: Path | str | None = None) -> Path | None:
    proc = run(["rev-parse", "--show-toplevel"], cwd=cwd, check=False)
    if proc.returncode != 0:
        return None
    return Path(proc.stdout.decode("utf-8", "replace").strip())


def operation_in_progress(cwd: Path | str | None = None) -> str | None:
    """Name the rebase / cherry-pick / revert / merge in progress, if any."""
    gdir = git_dir(cwd)
    markers = {
        "rebase-merge": "rebase",
        "rebase-apply": "rebase",
        "CHERRY_PICK_HEAD": "cherry-pick",
        "REVERT_HEAD": "revert",
        "MERGE_HEAD": "merge",
    }
    for marker, name in markers.items():
        if (gdir / marker).exists():
            return name
    return None


def has_staged_changes(cwd: Path | str | None = None, *, base: str | None = None) -> bool:
    """Whether the index differs from HEAD (or from ``base``, a commit or tree)."""
    proc = run(
        ["diff", "--cached", "--quiet", "--no-ext-diff", *([base] if base else [])],
        cwd=cwd,
        check=False,
    )
    if proc.returncode not in (0, 1):
        raise GitError("git diff --cached failed: " + proc.stderr.decode("utf-8", "replace"))
    return proc.returncode == 1


# The diff is read the same way whatever the user's gitconfig says: a/ and b/ prefixes
# (diff.noprefix and diff.mnemonicPrefix would change them), names unquoted but where git
# must quote them, no colour, no external diff, and no textconv: a repository's
# .gitattributes names the filter, and git-crypt's or sops' would decrypt secrets into the
# prompt. Binary files stay "Binary files … differ".
_DIFF_SETTINGS = [
    "-c",
    "core.quotePath=false",
    "-c",
    "diff.noprefix=false",
    "-c",
    "diff.mnemonicPrefix=false",
    "-c",
    "diff.relative=false",
]
_DIFF_FLAGS = [
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--submodule=short",  # diff.submodule=log would print no header, only the other log
    "-M",
]


def staged_diff(
    cwd: Path | str | None = None,
    *,
    context: int = 3,
    base: str | None = None,
    leave_out: Sequence[str] = (),
) -> bytes:
    """The staged change as a patch (against HEAD, or ``base``), without ``leave_out``."""
    return run(_staged_diff_args(context, base, leave_out), cwd=cwd).stdout


def staged_patch(
    cwd: Path | str | None = None,
    *,
    limit: int,
    context: int = 3,
    base: str | None = None,
    leave_out: Sequence[str] = (),
) -> tuple[bytes, bool]:
    """:func:`staged_diff` read up to ``limit`` bytes (git is killed past it), cut after the
    last file that came whole, and whether nothing was cut."""
    raw, whole = run_capped(_staged_diff_args(context, base, leave_out), limit=limit, cwd=cwd)
    if whole:
        return raw, True
    cut = raw.rfind(b"\ndiff --git ")
    return (raw[: cut + 1] if cut >= 0 else b""), False


def _staged_diff_args(context: int, base: str | None, leave_out: Sequence[str]) -> list[str]:
    return [
        *_DIFF_SETTINGS,
        "diff",
        "--cached",
        *_DIFF_FLAGS,
        f"-U{context}",
        *_revision_and_paths(base, leave_out),
    ]


def _revision_and_paths(base: str | None, leave_out: Sequence[str]) -> list[str]:
    excluded = [f":(top,exclude,literal){p}" for p in leave_out]
    return [*([base] if base else []), "--", *([":/", *excluded] if excluded else [])]


def staged_file(path: str, *, limit: int, cwd: Path | str | None = None) -> bytes | None:
    """The staged content of ``path`` (from the top of the work tree), up to ``limit``
    bytes; None when it is not in the index or git fails."""
    try:
        return run_capped(["show", f":{path}"], limit=limit, cwd=cwd)[0]
    except GitError:
        return None


def staged_sizes(
    cwd: Path | str | None = None, *, base: str | None = None
) -> dict[str, tuple[int, str]]:
    """Every staged path with the size of its new content and "added", "modified" or
    "deleted" (0 bytes), from the index and the blobs' sizes: no content is read."""
    head = run(["rev-parse", "-q", "--verify", "HEAD"], cwd=cwd, check=False)
    against = base or ("HEAD" if head.returncode == 0 else empty_tree(cwd))
    raw = run(["diff-index", "--cached", "-z", "--no-renames", against], cwd=cwd).stdout
    fields = raw.split(b"\0")
    entries: dict[str, tuple[str, str]] = {}
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        parts = meta.split()  # :old-mode new-mode old-sha new-sha status
        if len(parts) < 5:
            continue
        name = path.decode("utf-8", "surrogateescape")  # also a pathspec: must round-trip
        if not parts[3].strip(b"0"):  # all zeros: deleted
            entries[name] = ("", "deleted")
        else:
            entries[name] = (parts[3].decode(), "modified" if parts[2].strip(b"0") else "added")
    blobs = sorted({sha for sha, _status in entries.values() if sha})
    sizes = _blob_sizes(blobs, cwd) if blobs else {}
    return {path: (sizes.get(sha, 0), status) for path, (sha, status) in entries.items()}


def _blob_sizes(shas: Sequence[str], cwd: Path | str | None) -> dict[str, int]:
    """Object sizes by name; one missing (a submodule's commit) is left out."""
    out = run(
        ["cat-file", "--batch-check=%(objectname) %(objectsize)"],
        cwd=cwd,
        input_bytes="".join(sha + "\n" for sha in shas).encode(),
    ).stdout.decode("ascii", "replace")
    sizes = {}
    for line in out.splitlines():
        sha, _, size = line.partition(" ")
        if size.isdigit():
            sizes[sha] = int(size)
    return sizes


def amend_base(cwd: Path | str | None = None) -> str:
    """What an amended commit is compared with: HEAD's first parent, or the empty tree
    when HEAD is a root commit."""
    proc = run(["rev-parse", "--verify", "-q", "HEAD^"], cwd=cwd, check=False)
    if proc.returncode == 0:
        return proc.stdout.decode().strip()
    return empty_tree(cwd)


def empty_tree(cwd: Path | str | None = None) -> str:
    """The id of the empty tree in this repository's hash (SHA-1 or SHA-256)."""
    # Given empty input: --stdin must not read the hook's own stdin.
    return (
        run(["hash-object", "-t", "tree", "--stdin"], cwd=cwd, input_bytes=b"")
        .stdout.decode()
        .strip()
    )


def names_head(revision: str, cwd: Path | str | None = None) -> bool:
    """Whether ``revision`` is the commit HEAD points at."""
    proc = run(["rev-parse", f"{revision}^{{commit}}", "HEAD^{commit}", "--"], cwd=cwd, check=False)
    shas = proc.stdout.decode().split()
    return proc.returncode == 0 and len(shas) == 3 and shas[0] == shas[1]


def is_merge(revision: str, cwd: Path | str | None = None) -> bool:
    """Whether ``revision`` names a commit with more than one parent."""
    proc = run(["rev-parse", "-q", "--verify", f"{revision}^2"], cwd=cwd, check=False)
    return proc.returncode == 0


def trailers(message_text: str, cwd: Path | str | None = None) -> list[str]:
    """The trailer lines of a message (``Signed-off-by: …``), found as git finds them:
    the last paragraph, when it is made of ``Key: value`` lines."""
    if ":" not in message_text:
        return []
    out = run(
        ["interpret-trailers", "--parse", "--no-divider"],
        cwd=cwd,
        input_bytes=message_text.encode("utf-8", "surrogateescape"),
    ).stdout
    return out.decode("utf-8", "surrogateescape").splitlines()


def branch(cwd: Path | str | None = None) -> str:
    proc = run(["symbolic-ref", "--short", "-q", "HEAD"], cwd=cwd, check=False)
    return proc.stdout.decode("utf-8", "replace").strip()


# git log re-encodes messages to i18n.logOutputEncoding, which defaults to
# i18n.commitEncoding: a Latin-1 repository's subjects would reach the prompt as mojibake.
_LOG_IN_UTF8 = "--encoding=UTF-8"


def recent_subjects(count: int, cwd: Path | str | None = None) -> list[str]:
    proc = run(
        ["log", f"-n{count}", "--no-merges", _LOG_IN_UTF8, "--format=%s"], cwd=cwd, check=False
    )
    if proc.returncode != 0:  # unborn branch: no history yet
        return []
    return [s for s in proc.stdout.decode("utf-8", "replace").splitlines() if s.strip()]


# What ``recent_history`` reads at most: a history of huge commits lists many paths.
HISTORY_BYTES = 1024 * 1024


def recent_history(count: int, cwd: Path | str | None = None) -> list[tuple[str, list[str]]]:
    """(subject, paths it touched) of the last ``count`` non-merge commits, newest first,
    in one bounded read (a cut read drops its last, partial commit)."""
    head = run(["rev-parse", "-q", "--verify", "HEAD"], cwd=cwd, check=False)
    if head.returncode != 0:  # unborn branch: no history yet
        return []
    raw, whole = run_capped(
        [
            *_DIFF_SETTINGS,
            "log",
            f"-n{count}",
            "--no-merges",
            "--no-renames",
            _LOG_IN_UTF8,
            "--format=%x00%s",
            "--name-only",
        ],
        limit=HISTORY_BYTES,
        cwd=cwd,
    )
    chunks = raw.decode("utf-8", "replace").split("\0")[1:]  # each: subject, blank, paths
    if not whole:
        chunks = chunks[:-1]
    out = []
    for chunk in chunks:
        subject, *paths = chunk.split("\n")
        if subject.strip():
            out.append((subject, [p for p in paths if p]))
    return out


def config_value(key: str, cwd: Path | str | None = None) -> str | None:
    proc = run(["config", "--get", key], cwd=cwd, check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", "replace").rstrip("\n")


def comment_string(message: str = "", cwd: Path | str | None = None) -> str:
    """The comment prefix git uses: core.commentString, then core.commentChar, default '#'.

    For ``auto`` git picks the first candidate that starts no line of the message; in
    prepare-commit-msg the file already holds git's comments, so we look for the candidate
    that starts git's own comment lines instead.
    """
    value = config_value("core.commentString", cwd) or config_value("core.commentChar", cwd)
    if not value:
        return "#"
    if value != "auto":
        return value
    starts = {line[:1] for line in message.splitlines() if line}
    for char in _AUTO_COMMENT_CHARS:
        if any(line.startswith(char + " ") for line in message.splitlines()):
            return char
    for char in _AUTO_COMMENT_CHARS:
        if char not in starts:
            return char
    return "#"


def write_tree(cwd: Path | str | None = None) -> str:
    return text(["write-tree"], cwd=cwd)


# --- used by the installer ---------------------------------------------------------------


def global_config_value(key: str) -> str | None:
    """``git config --global --get KEY`` (None when unset)."""
    proc = run(["config", "--global", "--get", key], check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", "replace").rstrip("\n")


def set_global_config(key: str, value: str) -> None:
    run(["config", "--global", key, value])


def unset_global_config(key: str) -> None:
    run(["config", "--global", "--unset", key], check=False)


# --- used by ``commit-polish eval`` --------------------------------------------------------


class Logged(NamedTuple):
    sha: str
    parent: str
    author: str  # "Name <email>"
    message: str  # whole, as committed (trailing newlines dropped)


# What ``log_commits`` reads at most: a history's messages are its authors' to size.
LOG_BYTES = 32 * 1024 * 1024


def log_commits(count: int, cwd: Path | str | None = None) -> list[Logged]:
    """The last ``count`` non-merge commits that have a parent (the root commit has no diff
    to replay), newest first; fewer when their messages pass ``LOG_BYTES``."""
    try:
        raw, _whole = run_capped(
            [
                *("log", f"-n{count}", "--no-merges", "-z", _LOG_IN_UTF8),
                "--format=%H%x00%P%x00%an <%ae>%x00%B",
            ],
            limit=LOG_BYTES,
            cwd=cwd,
        )
    except GitError:  # unborn branch
        return []
    # Four fields a commit, each ending in a NUL: what follows the last NUL is empty, or
    # the part of a field a cut read got.
    fields = raw.decode("utf-8", "replace").split("\0")[:-1]
    out = []
    for i in range(0, len(fields) - 3, 4):
        sha, parents, author, message = fields[i : i + 4]
        if parents:
            out.append(Logged(sha, parents.split()[0], author, message.rstrip("\n")))
    return out


def worktree_add(path: Path, commit: str, cwd: Path | str | None = None) -> None:
    """A detached worktree at ``commit`` without checking files out (only its index and
    HEAD are used); no branch is created."""
    run(["worktree", "add", "--detach", "--no-checkout", "-q", str(path), commit], cwd=cwd)


def worktree_remove(path: Path, cwd: Path | str | None = None) -> None:
    run(["worktree", "remove", "--force", str(path)], cwd=cwd, check=False)
    run(["worktree", "prune"], cwd=cwd, check=False)


def stage_commit(sha: str, parent: str, cwd: Path | str) -> None:
    """In the throwaway worktree ``cwd``: HEAD at ``parent``, the index at ``sha``'s tree,
    so that what is staged is exactly ``sha``'s change."""
    run(["reset", "-q", "--soft", parent], cwd=cwd, isolate=True)
    run(["read-tree", sha], cwd=cwd, isolate=True)
