"""The prepare-commit-msg hook installer, against real git in temporary repositories."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from commit_polish import hookscript
from commit_polish.errors import GitError


def git(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    assert git("init", "-q", cwd=path).returncode == 0
    return path


@pytest.fixture
def calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in interpreter: the hook execs it, it records its arguments and exits 0.

    This proves our script ran (and how) without depending on the hook's own behaviour.
    """
    log = tmp_path / "calls.log"
    fake = tmp_path / "fake-python"
    fake.write_text(f'#!/bin/sh\necho "ours $*" >> "{log}"\nexit 0\n')
    fake.chmod(0o755)
    monkeypatch.setattr(hookscript, "_python", lambda: str(fake))
    return log


def commit(repo: Path, message: str = "msg") -> subprocess.CompletedProcess[str]:
    (repo / "file.txt").write_text(message)
    git("add", "file.txt", cwd=repo)
    return git("commit", "-q", "-m", message, cwd=repo)


def write_hook(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


def test_fresh_install_runs_on_commit(repo: Path, calls: Path) -> None:
    hook = hookscript.install_hook(repo)

    assert hook == repo / ".git" / "hooks" / "prepare-commit-msg"
    assert hookscript.MARKER in hook.read_text()
    assert hook.stat().st_mode & stat.S_IXUSR
    assert commit(repo).returncode == 0
    assert calls.read_text() == "ours -m commit_polish hook .git/COMMIT_EDITMSG message\n"


def test_script_runs_the_installing_interpreter(repo: Path) -> None:
    hook = hookscript.install_hook(repo)
    assert f"py={hookscript.shlex.quote(hookscript._python())}\n" in hook.read_text()


def test_existing_hook_is_chained_and_still_run(repo: Path, calls: Path) -> None:
    original = repo / ".git" / "hooks" / "prepare-commit-msg"
    write_hook(original, f'echo "orig $*" >> "{calls}"\n')
    original_text = original.read_text()

    hookscript.install_hook(repo)

    kept = original.with_name("prepare-commit-msg.commit-polish-orig")
    assert kept.read_text() == original_text
    assert commit(repo).returncode == 0
    assert calls.read_text().splitlines() == [
        "orig .git/COMMIT_EDITMSG message",
        "ours -m commit_polish hook .git/COMMIT_EDITMSG message",
    ]


def test_failing_chained_hook_aborts_the_commit(repo: Path, calls: Path) -> None:
    write_hook(repo / ".git" / "hooks" / "prepare-commit-msg", "exit 3\n")
    hookscript.install_hook(repo)

    result = commit(repo)

    assert result.returncode != 0
    assert not calls.exists()  # our part never ran
    assert git("rev-parse", "-q", "--verify", "HEAD", cwd=repo).returncode != 0


def test_reinstall_is_idempotent(repo: Path, calls: Path) -> None:
    original = repo / ".git" / "hooks" / "prepare-commit-msg"
    write_hook(original, "exit 0\n")
    first = hookscript.install_hook(repo).read_text()
    second = hookscript.install_hook(repo).read_text()

    assert first == second
    assert original.with_name("prepare-commit-msg.commit-polish-orig").read_text() == (
        "#!/bin/sh\nexit 0\n"
    )
    assert sorted(p.name for p in original.parent.glob("prepare-commit-msg*")) == [
        "prepare-commit-msg",
        "prepare-commit-msg.commit-polish-orig",
        "prepare-commit-msg.sample",  # git's own sample, untouched
    ]


def test_core_hooks_path_is_honoured(repo: Path, calls: Path) -> None:
    git("config", "core.hooksPath", ".githooks", cwd=repo)
    (repo / "sub").mkdir()

    hook = hookscript.install_hook(repo / "sub")

    assert hook == repo / "sub" / ".." / ".githooks" / "prepare-commit-msg"
    assert hook.resolve() == (repo / ".githooks" / "prepare-commit-msg").resolve()
    assert not (repo / ".git" / "hooks" / "prepare-commit-msg").exists()
    assert commit(repo).returncode == 0
    assert "ours -m commit_polish hook" in calls.read_text()


def test_worktree_shares_the_hook(repo: Path, calls: Path, tmp_path: Path) -> None:
    assert commit(repo, "first").returncode == 0
    assert not calls.exists()
    worktree = tmp_path / "wt"
    assert git("worktree", "add", "-q", str(worktree), cwd=repo).returncode == 0

    hook = hookscript.install_hook(worktree)

    assert hook.resolve() == (repo / ".git" / "hooks" / "prepare-commit-msg").resolve()
    assert commit(worktree, "second").returncode == 0
    assert calls.read_text().startswith("ours -m commit_polish hook ")
    assert hookscript.hook_state(repo) == hookscript.hook_state(worktree)


def test_uninstall_restores_the_original(repo: Path) -> None:
    original = repo / ".git" / "hooks" / "prepare-commit-msg"
    write_hook(original, "echo original\n")
    before = (original.read_bytes(), original.stat().st_mode)
    hookscript.install_hook(repo)

    assert hookscript.uninstall_hook(repo) is True

    assert (original.read_bytes(), original.stat().st_mode) == before
    assert not original.with_name("prepare-commit-msg.commit-polish-orig").exists()
    assert hookscript.uninstall_hook(repo) is False  # a second time: nothing of ours left


def test_uninstall_without_original_removes_the_file(repo: Path) -> None:
    hook = hookscript.install_hook(repo)
    assert hookscript.uninstall_hook(repo) is True
    assert not hook.exists()


def test_uninstall_leaves_a_foreign_hook_alone(repo: Path) -> None:
    foreign = repo / ".git" / "hooks" / "prepare-commit-msg"
    write_hook(foreign, "echo theirs\n")
    assert hookscript.uninstall_hook(repo) is False
    assert foreign.read_text() == "#!/bin/sh\necho theirs\n"


def test_hook_state(repo: Path) -> None:
    hooks = repo / ".git" / "hooks"
    assert hookscript.hook_state(repo) == hookscript.HookState(
        hooks / "prepare-commit-msg", installed=False, foreign=False, chained=None
    )
    write_hook(hooks / "prepare-commit-msg", "exit 0\n")
    assert hookscript.hook_state(repo).foreign is True  # type: ignore[union-attr]
    hookscript.install_hook(repo)
    assert hookscript.hook_state(repo) == hookscript.HookState(
        hooks / "prepare-commit-msg",
        installed=True,
        foreign=False,
        chained=hooks / "prepare-commit-msg.commit-polish-orig",
    )


def test_two_foreign_hooks_refuse_to_install(repo: Path) -> None:
    hooks = repo / ".git" / "hooks"
    write_hook(hooks / "prepare-commit-msg", "echo a\n")
    write_hook(hooks / "prepare-commit-msg.commit-polish-orig", "echo b\n")
    with pytest.raises(GitError, match=r"merge them into .* by hand"):
        hookscript.install_hook(repo)
    assert (hooks / "prepare-commit-msg").read_text() == "#!/bin/sh\necho a\n"


def test_outside_a_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    os.environ["GIT_CEILING_DIRECTORIES"] = str(tmp_path)
    try:
        with pytest.raises(GitError, match="not inside a git repository"):
            hookscript.install_hook(plain)
        assert hookscript.hook_state(plain) is None
    finally:
        del os.environ["GIT_CEILING_DIRECTORIES"]


def test_global_install_sets_hooks_path(repo: Path, calls: Path) -> None:
    result = hookscript.install_global()

    expected_dir = hookscript.global_hooks_dir()
    assert result == hookscript.GlobalResult(expected_dir / "prepare-commit-msg", configured=True)
    assert git("config", "--global", "core.hooksPath", cwd=repo).stdout.strip() == str(expected_dir)
    assert commit(repo).returncode == 0
    assert "ours -m commit_polish hook" in calls.read_text()

    assert hookscript.uninstall_global() is True
    assert git("config", "--global", "core.hooksPath", cwd=repo).returncode == 1
    assert not (expected_dir / "prepare-commit-msg").exists()


def test_global_install_uses_the_users_hooks_path(tmp_path: Path) -> None:
    theirs = tmp_path / "my-hooks"
    write_hook(theirs / "prepare-commit-msg", "echo mine\n")
    subprocess.run(["git", "config", "--global", "core.hooksPath", str(theirs)], check=True)

    result = hookscript.install_global()

    assert result == hookscript.GlobalResult(theirs / "prepare-commit-msg", configured=False)
    assert (theirs / "prepare-commit-msg.commit-polish-orig").read_text() == (
        "#!/bin/sh\necho mine\n"
    )
    assert hookscript.uninstall_global() is True
    assert (theirs / "prepare-commit-msg").read_text() == "#!/bin/sh\necho mine\n"
    out = subprocess.run(
        ["git", "config", "--global", "core.hooksPath"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == str(theirs)  # the user's setting stays
