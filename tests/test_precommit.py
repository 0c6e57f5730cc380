"""The pre-commit framework path, with the real ``pre-commit`` package.

The fixtures (``hook_repo``, ``pre_commit_home``, ``framework_repo``) live in conftest.py:
tests/integration/ drives the same framework against the real server.
"""

from __future__ import annotations

from pathlib import Path

from helpers import FakeLLMServer, git, run_precommit_commit


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
