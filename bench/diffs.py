"""Repositories with a staged diff of a chosen size, made with real git."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

LINES_PER_FILE = 100
# Three 5-line blocks per file are rewritten: 15 removed + 15 added = 30 changed lines.
BLOCKS = (10, 50, 90)
BLOCK = 5
CHANGED_PER_FILE = 2 * BLOCK * len(BLOCKS)


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}
    for key in [k for k in env if k.startswith("GIT_") and k != "GIT_CONFIG_NOSYSTEM"]:
        del env[key]
    proc = subprocess.run(
        ["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.com", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


def _path(i: int) -> str:
    kind = i % 20
    if kind < 12:
        return f"src/pkg{i % 7}/module_{i:05}.py"
    if kind < 17:
        return f"tests/test_module_{i:05}.py"
    return f"docs/page_{i:05}.md"


def _line(i: int, n: int, version: int) -> str:
    if version == 0:
        return f"    total_{n} = compute_{i % 13}(value_{n}, limit={n * 7 % 101})\n"
    return f"    total_{n} = compute_{i % 13}(value_{n} + offset_{version}, limit={n * 3 % 97})\n"


def _content(i: int, changed: int) -> str:
    """File ``i`` with its first ``changed`` changed lines rewritten (0 = the original)."""
    rewrite: set[int] = set()
    budget = changed // 2
    for start in BLOCKS:
        for n in range(start, start + BLOCK):
            if len(rewrite) < budget:
                rewrite.add(n)
    head = f"def function_{i}(value):\n"
    return head + "".join(_line(i, n, 1 if n in rewrite else 0) for n in range(LINES_PER_FILE))


def make_repo(repo: Path, changed_lines: int, *, subject: str = "Add the modules") -> int:
    """A repository with ``changed_lines`` (rounded to even) staged changed lines; returns the
    number git reports."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    files = max(1, -(-changed_lines // CHANGED_PER_FILE))
    for i in range(files):
        path = repo / _path(i)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_content(i, 0))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", subject)
    left = changed_lines
    for i in range(files):
        take = min(left, CHANGED_PER_FILE)
        (repo / _path(i)).write_text(_content(i, max(take, 2)))
        left -= take
    git(repo, "add", "-A")
    stat = git(repo, "diff", "--cached", "--numstat")
    return sum(int(a) + int(d) for a, d, _ in (line.split("\t") for line in stat.splitlines()))
