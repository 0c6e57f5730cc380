"""One deadline for the whole hook, work that cannot outlive it, and how the process ends.

Per-read timeouts cannot bound a server that drips a byte at a time, so every request runs
in a daemon thread joined against the deadline. A thread given up on is remembered: the
process then leaves without waiting for it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import NoReturn

Status = Callable[[float], None]  # told the seconds elapsed while waiting

_deadline: float | None = None
_budget: float | None = None  # the seconds the current deadline was set to
_abandoned: list[threading.Thread] = []
# Named stages of the current deadline and the seconds each took, so that a timeout line can
# say what took the time; the innermost running one is last in _running.
_steps: dict[str, float] = {}
_running: list[str] = []


@contextlib.contextmanager
def within(seconds: float) -> Iterator[None]:
    """Within this block every request (probes, token counts, completions and retries)
    shares one deadline ``seconds`` from now: the hook's total time budget."""
    global _deadline, _budget
    outer = _deadline, _budget, dict(_steps)
    _deadline, _budget = time.monotonic() + seconds, seconds
    _steps.clear()
    try:
        yield
    finally:
        _deadline, _budget = outer[:2]
        _steps.clear()
        _steps.update(outer[2])


@contextlib.contextmanager
def step(name: str) -> Iterator[None]:
    """Time the stage ``name`` ("reading the staged diff") against the current deadline."""
    started = time.monotonic()
    _running.append(name)
    try:
        yield
    finally:
        _running.pop()
        _steps[name] = _steps.get(name, 0.0) + time.monotonic() - started


def current_step() -> str | None:
    """The stage running now, if any."""
    return _running[-1] if _running else None


def slowest_step() -> tuple[str, float] | None:
    """The finished stage that took longest under the current deadline, with its seconds."""
    if not _steps:
        return None
    name = max(_steps, key=lambda n: _steps[n])
    return name, _steps[name]


def budget() -> float | None:
    """The seconds of the deadline in force (None outside :func:`within`)."""
    return _budget


def remaining(limit: float) -> float:
    """``limit`` seconds, or less when the current deadline comes sooner (never negative)."""
    if _deadline is None:
        return limit
    return max(min(limit, _deadline - time.monotonic()), 0.0)


def run_bounded(
    work: Callable[[], None], *, seconds: float, name: str, status: Status | None = None
) -> bool:
    """Run ``work`` in a daemon thread for at most ``seconds``; whether it finished.

    ``status`` is told the time elapsed every 0.2 s.
    """
    started = time.monotonic()
    end = started + max(seconds, 0.0)
    thread = threading.Thread(target=work, name=f"commit-polish-{name}", daemon=True)
    thread.start()
    while thread.is_alive() and time.monotonic() < end:
        thread.join(timeout=min(0.2, max(end - time.monotonic(), 0)))
        if status is not None:
            status(time.monotonic() - started)
    if thread.is_alive():
        # Pruned as it grows: a long-lived process (eval, the service) abandons many.
        _abandoned[:] = [t for t in _abandoned if t.is_alive()]
        _abandoned.append(thread)
        return False
    return True


def abandoned() -> bool:
    """Whether work given up at the deadline is still running."""
    return any(thread.is_alive() for thread in _abandoned)


def exit_process(code: int, *, teardown: bool = True) -> NoReturn:
    """End the process. Work abandoned at the deadline may still be running in a daemon
    thread; leave at once rather than let interpreter shutdown wait on it.

    ``teardown=False`` is for the console entry point, which owns its process: once the
    request code was loaded it leaves at once too. Tearing down an interpreter that holds
    LiteLLM (thousands of modules) takes about a second and does nothing a hook needs:
    every file it wrote is already closed and renamed into place."""
    request_loaded = "commit_polish.llm" in sys.modules
    if abandoned() or (request_loaded and not teardown):
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(code)
    sys.exit(code)
