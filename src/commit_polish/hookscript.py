"""Install and remove commit-polish's ``prepare-commit-msg`` hook.

The hook goes where ``git rev-parse --git-path hooks`` says, so ``core.hooksPath`` and linked
worktrees are honoured. A hook that is already there and is not ours is renamed to
``prepare-commit-msg.commit-polish-orig`` and run first by our script (chained), never
overwritten; ``uninstall_hook`` removes exactly our script (recognised by its marker line) and
puts the original back.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from commit_polish import git, paths
from commit_polish.errors import GitError
from commit_polish.files import write_atomic

HOOK_NAME = "prepare-commit-msg"
ORIG_SUFFIX = ".commit-polish-orig"
MARKER = "# commit-polish hook v1"
# Any version of our marker; a later script format bumps the number but stays recognisable.
MARKER_PREFIX = "# commit-polish hook v"
GLOBAL_HOOKS_DIRNAME = "hooks"

_SCRIPT = """\
#!/bin/sh
{marker}
# Written by `commit-polish install`; `commit-polish uninstall` removes it and puts back
# the hook that was here before (kept as {hook}{orig}, run first).
orig="$(dirname "$0")/{hook}{orig}"
if [ -x "$orig" ]; then
    "$orig" "$@" || exit $?
fi
py={python}
if [ ! -x "$py" ]; then
    echo "commit-polish: $py is gone; run 'commit-polish install' again (hook skipped)" >&2
    exit 0
fi
exec "$py" -m commit_polish hook "$@"
"""


@dataclass(frozen=True)
class HookState:
    """What is installed in one hooks directory."""

    path: Path  # where git looks for prepare-commit-msg
    installed: bool  # our script is there
    foreign: bool  # a prepare-commit-msg that is not ours is there
    chained: Path | None  # the original hook we run first, if any


def _python() -> str:
    exe = sys.executable or "python3"
    # Git for Windows runs hooks with its own sh, which wants forward slashes.
    return Path(exe).as_posix() if os.name == "nt" else exe


def script(python: str | None = None) -> str:
    """The hook script text, running ``python -m commit_polish hook``."""
    return _SCRIPT.format(
        marker=MARKER, hook=HOOK_NAME, orig=ORIG_SUFFIX, python=shlex.quote(python or _python())
    )


def is_ours(path: Path) -> bool:
    """Whether ``path`` is a commit-polish hook script (any version)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        return False
    return any(line.startswith(MARKER_PREFIX.encode()) for line in head.splitlines()[:5])


def _exists(path: Path) -> bool:
    # A dangling symlink is still a hook somebody put there.
    return path.exists() or path.is_symlink()


def install_into(hooks: Path) -> Path:
    """Put our hook into the directory ``hooks``, chaining whatever was there. Idempotent."""
    hooks.mkdir(parents=True, exist_ok=True)
    target = hooks / HOOK_NAME
    orig = hooks / (HOOK_NAME + ORIG_SUFFIX)
    if _exists(target) and not is_ours(target):
        if _exists(orig):
            raise GitError(
                f"both {target} and {orig} exist and neither is commit-polish's; "
                f"merge them into {orig} by hand, remove {target}, then run "
                "'commit-polish install' again"
            )
        os.replace(target, orig)
    text = script().encode("utf-8")
    if not (target.is_file() and target.read_bytes() == text):
        write_atomic(target, text)
    os.chmod(target, 0o755)
    return target


def uninstall_from(hooks: Path) -> bool:
    """Remove our hook from ``hooks`` and restore the original. True if ours was there."""
    target = hooks / HOOK_NAME
    orig = hooks / (HOOK_NAME + ORIG_SUFFIX)
    if not is_ours(target):
        return False
    target.unlink()
    if _exists(orig):
        os.replace(orig, target)
    return True


def state_of(hooks: Path) -> HookState:
    target = hooks / HOOK_NAME
    orig = hooks / (HOOK_NAME + ORIG_SUFFIX)
    ours = is_ours(target)
    return HookState(
        path=target,
        installed=ours,
        foreign=_exists(target) and not ours,
        chained=orig if ours and _exists(orig) else None,
    )


def install_hook(cwd: Path | None = None) -> Path:
    """Install the hook for the repository at ``cwd`` (default: the current directory)."""
    if not git.is_repository(cwd):
        raise GitError(f"{cwd or Path.cwd()} is not inside a git repository")
    return install_into(git.hooks_dir(cwd))


def uninstall_hook(cwd: Path | None = None) -> bool:
    """Remove the hook from the repository at ``cwd``. True if it was installed."""
    if not git.is_repository(cwd):
        raise GitError(f"{cwd or Path.cwd()} is not inside a git repository")
    return uninstall_from(git.hooks_dir(cwd))


def hook_state(cwd: Path | None = None) -> HookState | None:
    """The hook state of the repository at ``cwd``, or None outside a repository."""
    if not git.is_repository(cwd):
        return None
    return state_of(git.hooks_dir(cwd))


# ------------------------------------------------------------------ global hooks directory


def global_hooks_dir() -> Path:
    """Our own global hooks directory (used when the user has no core.hooksPath)."""
    return paths.data_dir() / GLOBAL_HOOKS_DIRNAME


@dataclass(frozen=True)
class GlobalResult:
    path: Path  # the hook script
    configured: bool  # we set core.hooksPath ourselves


def install_global() -> GlobalResult:
    """Install the hook for every repository through ``git config --global core.hooksPath``.

    An existing global core.hooksPath is the user's: we install into it instead of replacing
    it. Note that a global core.hooksPath makes git ignore each repository's .git/hooks.
    """
    current = git.global_config_value("core.hooksPath")
    if current:
        return GlobalResult(install_into(Path(current).expanduser()), configured=False)
    hooks = global_hooks_dir()
    path = install_into(hooks)
    git.set_global_config("core.hooksPath", str(hooks))
    return GlobalResult(path, configured=True)


def uninstall_global() -> bool:
    """Remove the global hook; unset core.hooksPath if it points at our directory."""
    current = git.global_config_value("core.hooksPath")
    if not current:
        return False
    hooks = Path(current).expanduser()
    removed = uninstall_from(hooks)
    if hooks == global_hooks_dir():
        git.unset_global_config("core.hooksPath")
        removed = True
    return removed
