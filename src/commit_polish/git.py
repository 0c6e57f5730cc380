"""The only place that runs git.

Inside a hook git exports GIT_DIR, GIT_INDEX_FILE and friends; they must be honoured (a
``git commit -a`` stages into a temporary index that only GIT_INDEX_FILE points at). Commands
that work on another repository pass ``isolate=True`` so that those variables are stripped.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

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
    from commit_polish import deadline

    budget = deadline.budget()
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=_env(isolate),
            input=input_bytes,
            capture_output=True,
            check=False,
            timeout=None if budget is None else deadline.remaining(budget),
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed or not on PATH") from exc
    except subprocess.TimeoutExpired as exc:
        raise GitError(
            f"git {_name(args)} took longer than the {budget:g}s budget (ai.timeout), before "
            "anything was sent to the model (unstage very large files, or raise ai.timeout)"
        ) from exc
    if check and proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        first = detail[0] if detail else f"exit code {proc.returncode}"
        raise GitError(f"git {_name(args)} failed: {first}")
    return proc


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
    return run(
        [
            *_DIFF_SETTINGS,
            "diff",
            "--cached",
            *_DIFF_FLAGS,
            f"-U{context}",
            *_revision_and_paths(base, leave_out),
        ],
        cwd=cwd,
    ).stdout


def _revision_and_paths(base: str | None, leave_out: Sequence[str]) -> list[str]:
    excluded = [f":(top,exclude,literal){p}" for p in leave_out]
    return [*([base] if base else []), "--", *([":/", *excluded] if excluded else [])]


def large_staged_files(
    limit: int, cwd: Path | str | None = None, *, base: str | None = None
) -> dict[str, tuple[int, bool]]:
    """Staged files whose new content is over ``limit`` bytes, with their sizes and whether
    they are new, from the blobs' sizes alone: a diff of such a file would be read, and
    held, whole."""
    head = run(["rev-parse", "-q", "--verify", "HEAD"], cwd=cwd, check=False)
    against = base or ("HEAD" if head.returncode == 0 else amend_base(cwd))
    raw = run(["diff-index", "--cached", "-z", "--no-renames", against], cwd=cwd).stdout
    fields = raw.split(b"\0")
    blobs: dict[str, tuple[str, bool]] = {}
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        parts = meta.split()  # :old-mode new-mode old-sha new-sha status
        if len(parts) >= 5 and parts[3].strip(b"0"):  # all zeros: deleted
            added = not parts[2].strip(b"0")
            blobs[path.decode("utf-8", "surrogateescape")] = (parts[3].decode(), added)
    if not blobs:
        return {}
    sizes = run(
        ["cat-file", "--batch-check=%(objectsize)"],
        cwd=cwd,
        input_bytes="".join(sha + "\n" for sha, _added in blobs.values()).encode(),
    ).stdout.split()
    return {
        path: (int(size), blobs[path][1])
        for path, size in zip(blobs, sizes, strict=False)
        if size.isdigit() and int(size) > limit
    }


def amend_base(cwd: Path | str | None = None) -> str:
    """What an amended commit is compared with: HEAD's first parent, or the empty tree
    when HEAD is a root commit."""
    proc = run(["rev-parse", "--verify", "-q", "HEAD^"], cwd=cwd, check=False)
    if proc.returncode == 0:
        return proc.stdout.decode().strip()
    return text(["hash-object", "-t", "tree", "--stdin"], cwd=cwd)  # of empty input


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


def log_commits(count: int, cwd: Path | str | None = None) -> list[tuple[str, str, str]]:
    """(sha, parent, subject) of the last ``count`` non-merge commits that have a parent
    (the root commit has no diff to replay), newest first."""
    proc = run(
        ["log", f"-n{count}", "--no-merges", _LOG_IN_UTF8, "--format=%H%x00%P%x00%s", "HEAD"],
        cwd=cwd,
        check=False,
    )
    if proc.returncode != 0:  # unborn branch
        return []
    out = []
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        sha, parents, subject = [*line.split("\0"), "", ""][:3]
        if parents:
            out.append((sha, parents.split()[0], subject))
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
