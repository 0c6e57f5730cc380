"""Every request shape the hook sends, through Gemma 3's chat template on a real llama-server.

Gemma 3 is the default model family. Its template has no system role (it folds a first
system message into the first user turn) and raises unless the other turns alternate
user/assistant/user strictly; llama-server applies it with Jinja (its default) and answers
HTTP 400 "... Jinja Exception: Conversation roles must alternate ..." when it raises. The
model is SmolLM2 with Gemma 3's template in its metadata (``dev.realserver``): it writes
poor text, but it is prompted exactly as Gemma 3 would be.

Each test commits through the installed hook and reads the server's log for what the
template made of each request.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers import git, hook_lines, last_message

from dev.realserver import (
    GEMMA3_CHAT_TEMPLATE,
    RealServer,
    gemma_template_gguf,
)

from .test_e2e import assert_clean_message, stage

TEMPLATE_ERROR = "Jinja Exception"


@pytest.fixture(scope="module")
def gemma_server(
    llama_server_bin: Path, pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RealServer]:
    from .conftest import _progress

    model = gemma_template_gguf(log=_progress(pytestconfig))
    log_path = tmp_path_factory.mktemp("gemma-server") / "server.log"
    with RealServer(llama_server_bin, model, log_path=log_path) as server:
        yield server


@pytest.fixture(autouse=True)
def quick_generation(monkeypatch: pytest.MonkeyPatch, gemma_server: RealServer) -> None:
    # As in test_e2e: short, repeatable replies and a budget for a loaded 2-core machine.
    monkeypatch.setenv("COMMIT_POLISH_MAX_TOKENS", "60")
    monkeypatch.setenv("COMMIT_POLISH_TEMPERATURE", "0")
    monkeypatch.setenv("COMMIT_POLISH_TIMEOUT", "180")
    monkeypatch.setenv("COMMIT_POLISH_API_BASE", gemma_server.api_base)


class ServerLog:
    """What the server logged from the moment this was made."""

    def __init__(self, server: RealServer) -> None:
        self.path = server.log_path
        self.offset = len(self.path.read_bytes())

    def text(self) -> str:
        return self.path.read_bytes()[self.offset :].decode(errors="replace")

    def tasks(self) -> int:
        return self.text().count("launch_slot_")

    def assert_no_template_error(self) -> None:
        errors = [line for line in self.text().splitlines() if "got exception" in line]
        assert not errors, "\n".join(errors)


@pytest.fixture
def stats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One JSON line per answered request (``llm.record_stats``), from the hook's process."""
    path = tmp_path / "stats.jsonl"
    monkeypatch.setenv("COMMIT_POLISH_STATS", str(path))
    return path


def answered(stats: Path) -> int:
    return len(stats.read_text().splitlines()) if stats.exists() else 0


def commit(repo: Path, *args: str) -> str:
    result = git(repo, "commit", *args, check=False)
    # GIT_EDITOR=true: git commits only when the hook wrote a message (or -m gave one).
    assert result.returncode == 0, result.stdout + result.stderr
    assert hook_lines(result.stderr) == [], result.stderr
    return last_message(repo)


# ------------------------------------------------------------------ the server and template


def test_the_server_prompts_with_gemma_3s_template(gemma_server: RealServer) -> None:
    props = httpx.get(f"{gemma_server.base_url}/props", timeout=30).json()
    # llama-server reports the template without its final newline.
    assert props["chat_template"] == GEMMA3_CHAT_TEMPLATE.rstrip("\n")


def test_the_template_refuses_turns_that_do_not_alternate(gemma_server: RealServer) -> None:
    # The control: what the tests below would see, had the hook sent such a shape.
    log = ServerLog(gemma_server)
    body = {
        "messages": [
            {"role": "system", "content": "You write commit messages."},
            {"role": "user", "content": "Diff: add a flag"},
            {"role": "user", "content": "Write it again."},
        ],
        "max_tokens": 4,
    }
    response = httpx.post(f"{gemma_server.api_base}/chat/completions", json=body, timeout=120)
    assert response.status_code == 400, response.text
    assert "Conversation roles must alternate" in response.text
    assert TEMPLATE_ERROR in log.text()


# ------------------------------------------------------------------ the hook's request shapes


def test_first_request_and_its_prefill(hooked_repo: Path, gemma_server: RealServer) -> None:
    log = ServerLog(gemma_server)
    stage(hooked_repo)
    assert_clean_message(commit(hooked_repo))
    log.assert_no_template_error()
    # /props answered: the prompt's prefill (n_predict 0), then the request proper.
    assert log.tasks() >= 2, log.text()


def test_repair_request(hooked_repo: Path, gemma_server: RealServer, stats: Path) -> None:
    from commit_polish import config, grammar

    # Without the grammar the tiny model does not write a Conventional Commits subject, so
    # its first answer is refused and the repair (system, user, assistant, user) is sent.
    grammar.remember_rejection(gemma_server.api_base, config.defaults().ai.model)
    log = ServerLog(gemma_server)
    stage(hooked_repo)
    result = git(hooked_repo, "commit", check=False)
    log.assert_no_template_error()
    assert answered(stats) == 2, (stats.read_text(), result.stderr)
    if result.returncode == 0:
        assert_clean_message(last_message(hooked_repo))
    else:  # the second answer was refused too: that is the model's doing, not the template's
        assert "twice" in result.stderr, result.stderr


def test_polish_of_a_draft(
    hooked_repo: Path, gemma_server: RealServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMMIT_POLISH_ON_MESSAGE", "polish")
    log = ServerLog(gemma_server)
    stage(hooked_repo)
    message = commit(hooked_repo, "-m", "parse ports and reject values out of range")
    assert_clean_message(message)
    assert message != "parse ports and reject values out of range"
    log.assert_no_template_error()
    assert log.tasks() >= 2, log.text()


def test_prefill_alone_is_accepted(
    repo: Path, gemma_server: RealServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpers import built_request

    from commit_polish import backend

    stage(repo)
    monkeypatch.chdir(repo)
    req = built_request()
    log = ServerLog(gemma_server)
    assert backend.prefill(req.api_base, req.model, req.messages, timeout=120)
    log.assert_no_template_error()


def test_turns_that_do_not_alternate_are_joined_before_they_are_sent(
    gemma_server: RealServer,
) -> None:
    # What the control above sends, through our two ways out. LiteLLM would hide the 400
    # (it resends with an empty assistant turn between the two user turns, one more round
    # trip and a prompt unlike the prefill's): the server's log tells.
    from commit_polish import backend, llm

    log = ServerLog(gemma_server)
    req = llm.Request(
        model="llamafile/gemma-3-1b-it",
        messages=[
            {"role": "system", "content": "You write commit messages."},
            {"role": "user", "content": "Diff: add a flag"},
            {"role": "user", "content": "Write it again."},
        ],
        api_base=gemma_server.api_base,
        temperature=0,
        max_tokens=4,
        timeout=120,
    )
    assert backend.prefill(req.api_base, req.model, req.messages, timeout=120)
    assert llm.complete(req).completion_tokens
    log.assert_no_template_error()
    assert log.tasks() == 2, log.text()  # the prefill and the request, nothing resent
