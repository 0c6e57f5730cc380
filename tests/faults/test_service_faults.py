"""The model server's faults again, with commit-polish's warm service carrying the request
(a real service process; the hook imports no LiteLLM): the user must see exactly what they
see without it, the same one line, the same untouched message, within the same budget."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import commit_count, last_message

from commit_polish import message

from .conftest import (
    GIT_TEMPLATE_START,
    Fault,
    FaultServer,
    describe,
    drip,
    hang,
    run_commit,
    stage,
)
from .test_hook_faults import BUDGET, SERVER_FAULTS, SLACK, hooked, point_at_closed_port

Start = Callable[..., FaultServer]
__all__ = ["hooked"]  # the fixture, shared with test_hook_faults


@pytest.mark.parametrize("name", list(SERVER_FAULTS))
def test_server_fault_through_the_warm_service(
    hooked: Path,
    editor: Path,
    fault_server: Start,
    fault: Callable[[str, str], Fault],
    warm_service: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    behaviour, said = SERVER_FAULTS[name]
    timed = behaviour in (hang, drip)
    f = fault(
        f"{name} (git commit, through the warm service)",
        "as without the service: the commit goes on, the editor opens on git's untouched "
        "message, the hook prints the same one line"
        + (f"; the hook ends at its {BUDGET} s budget" if timed else ""),
    )
    if timed:
        monkeypatch.setenv("COMMIT_POLISH_TIMEOUT", str(BUDGET))
    if behaviour is None:
        point_at_closed_port(monkeypatch)
    else:
        fault_server(behaviour)
    stage(hooked)
    before = commit_count(hooked)
    result = run_commit(hooked)
    shown = editor.read_text()
    untouched = shown.startswith(GIT_TEMPLATE_START) and message.user_text(shown, "#") == ""
    f.observed(
        describe(result, hooked, before)
        + ("; editor showed git's message untouched" if untouched else "; EDITOR SHOWED CHANGES")
        + (f"; {result.seconds:.1f} s in all" if timed else "")
    )
    assert result.returncode == 0, result.stderr
    assert last_message(hooked) == "typed by hand"
    assert untouched, shown
    [line] = result.hook_lines
    assert said in line
    assert "service" not in line  # the server's fault, said as such
    if timed:
        assert result.seconds < BUDGET + SLACK
