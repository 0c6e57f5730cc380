"""The pre-commit framework path, with the real ``pre-commit`` package.

pre-commit installs this project from a git repository into its own virtualenv and runs
``commit-polish hook MSGFILE`` with the source in PRE_COMMIT_COMMIT_MSG_SOURCE. The project is
copied into a throwaway repository so that the working tree, not the last commit, is tested.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, FakeLLMServer, git

PROJECT_FILES = ("pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml", "src")


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A git repository holding this project's files, and its commit id."""
    dest = tmp_path_factory.mktemp("commit-polish-src")
    for name in PROJECT_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(
                src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
            )
        else:
            shutil.copy2(src, dest / name)
    env_free = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", str(dest)], check=True)
    subprocess.run(["git", *env_free, "-C", str(dest), "add", "-A"], check=True)
    subprocess.run(
        ["git", *env_free, "-C", str(dest), "commit", "-q", "-m", "snapshot"], check=True
    )
    rev = subprocess.run(
        ["git", "-C", str(dest), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    return dest, rev


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One environment for the session: building it installs litellm once.
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def framework_repo(
    repo: Path, hook_repo: tuple[Path, str], pre_commit_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    source, rev = hook_repo
    monkeypatch.setenv("PRE_COMMIT_HOME", str(pre_commit_home))
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {source}\n    rev: {rev}\n    hooks:\n      - id: commit-polish\n"
    )
    git(repo, "add", ".pre-commit-config.yaml")
    git(repo, "commit", "-q", "-m", "Add pre-commit config")
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "install", "--hook-type", "prepare-commit-msg"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return repo


def run_precommit_commit(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "commit", *args], cwd=repo, capture_output=True, text=True, timeout=600
    )


def test_pre_commit_framework_generates_and_keeps(
    framework_repo: Path, fake_server: FakeLLMServer
) -> None:
    (framework_repo / "greet.py").write_text("def greet():\n    return 'hi'\n")
    git(framework_repo, "add", "greet.py")
    result = run_precommit_commit(framework_repo)
    assert result.returncode == 0, result.stdout + result.stderr
    message = git(framework_repo, "log", "-1", "--format=%B").stdout.strip()
    assert message == "feat: add greeting module"
    assert len(fake_server.requests) == 1

    (framework_repo / "greet.py").write_text("def greet():\n    return 'hello'\n")
    git(framework_repo, "add", "greet.py")
    result = run_precommit_commit(framework_repo, "-m", "my words")
    assert result.returncode == 0, result.stdout + result.stderr
    assert git(framework_repo, "log", "-1", "--format=%B").stdout.strip() == "my words"

    result = run_precommit_commit(framework_repo, "--amend", "--no-edit")
    assert result.returncode == 0, result.stdout + result.stderr
    assert git(framework_repo, "log", "-1", "--format=%B").stdout.strip() == "my words"
    assert len(fake_server.requests) == 1
