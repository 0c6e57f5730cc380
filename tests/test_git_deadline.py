"""git under the hook's deadline: killed when it runs out, and a line that names what took
the time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from commit_polish import deadline, git
from commit_polish.errors import GitError


def test_a_git_run_after_the_budget_is_gone_names_what_used_it(repo: Path) -> None:
    with deadline.within(0.05):
        with deadline.step("reading the staged diff"):
            time.sleep(0.1)
        with pytest.raises(GitError) as caught:
            git.branch(repo)
    assert str(caught.value).startswith(
        "the 0.05s budget (ai.timeout) was used up by reading the staged diff (0.1s) "
        "before git symbolic-ref --short could run; nothing was sent to the model"
    )


def test_steps_are_timed_per_deadline() -> None:
    with deadline.within(10):
        with deadline.step("reading the staged diff"):
            assert deadline.current_step() == "reading the staged diff"
        assert deadline.current_step() is None
        slowest = deadline.slowest_step()
        assert slowest is not None and slowest[0] == "reading the staged diff"
        with deadline.within(5):
            assert deadline.slowest_step() is None
        assert deadline.slowest_step() == slowest
    assert deadline.slowest_step() is None


@pytest.mark.parametrize(
    ("limit", "whole"), [(1, False), (10, False), (10**6, True)], ids=["1", "10", "all"]
)
def test_run_capped_reads_up_to_its_limit(repo: Path, limit: int, whole: bool) -> None:
    full = git.run(["log", "--format=%H %s"], cwd=repo).stdout
    out, complete = git.run_capped(["log", "--format=%H %s"], limit=limit, cwd=repo)
    assert (out, complete) == (full[:limit], whole)


def test_run_capped_says_when_git_fails(repo: Path) -> None:
    with pytest.raises(GitError, match=r"^git log --no-such-option failed: "):
        git.run_capped(["log", "--no-such-option"], limit=100, cwd=repo)


def test_work_abandoned_at_the_deadline_is_forgotten_once_it_ends() -> None:
    import threading

    from commit_polish import deadline

    gates = [threading.Event() for _ in range(3)]
    for gate in gates:
        assert not deadline.run_bounded(gate.wait, seconds=0.01, name="slow")
    assert deadline.abandoned()
    for gate in gates:
        gate.set()
    for thread in list(deadline._abandoned):
        thread.join(timeout=5)
    assert not deadline.abandoned()
    again = threading.Event()
    assert not deadline.run_bounded(again.wait, seconds=0.01, name="slow")
    # A process that abandons work on many requests (eval, the service) keeps only the live.
    assert [t.is_alive() for t in deadline._abandoned] == [True]
    again.set()
