"""The roles of every request, as strict chat templates (Gemma 3's) accept them.

Gemma 3's template raises unless the turns after a first system message alternate
user/assistant/user; llama-server then answers HTTP 400 and no message is written.
``prompt.alternating`` runs at both places a chat request leaves (``llm`` and the prefill in
``backend``); these tests render what was sent through Gemma 3's real template.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import GIT_FILE, chat_url, completion
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pytest_httpx import HTTPXMock

from commit_polish import backend, llm, prompt
from commit_polish.hook import main_hook
from dev.realserver import GEMMA3_CHAT_TEMPLATE

S = {"role": "system", "content": "rules"}
U = {"role": "user", "content": "diff"}
A = {"role": "assistant", "content": "answer"}
FIX = {"role": "user", "content": "fix it"}


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([S, U], [S, U]),
        ([S, U, A, FIX], [S, U, A, FIX]),
        ([U], [U]),
        ([], []),
        ([S, U, FIX], [S, user("diff\n\nfix it")]),
        ([S, S, U], [{"role": "system", "content": "rules\n\nrules"}, U]),
        ([S, U, S], [S, user("diff\n\nrules")]),
        ([U, S, A], [user("diff\n\nrules"), A]),
        ([S, U, A, A, FIX], [S, U, {"role": "assistant", "content": "answer\n\nanswer"}, FIX]),
        ([S, U, A], [S, U, A]),  # a last assistant turn is a prefill of the answer: kept
    ],
)
def test_alternating(messages: list[dict[str, str]], expected: list[dict[str, str]]) -> None:
    assert prompt.alternating(messages) == expected


def test_alternating_leaves_its_input_alone() -> None:
    messages = [dict(S), dict(U), dict(FIX)]
    prompt.alternating(messages)
    assert messages == [S, U, FIX]


# ------------------------------------------------------------------ Gemma 3's template


class TemplateError(Exception):
    pass


def render_gemma3(messages: list[dict[str, Any]]) -> str:
    """What a Jinja chat engine makes of ``messages`` with Gemma 3's template (as
    transformers does it: a sandbox, and ``raise_exception`` raising)."""

    def raise_exception(text: str) -> None:
        raise TemplateError(text)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    template = env.from_string(GEMMA3_CHAT_TEMPLATE)
    return template.render(messages=messages, bos_token="<bos>", add_generation_prompt=True)


def test_the_renderer_refuses_what_gemma_3_refuses() -> None:
    # The control for the tests below: two user turns in a row raise.
    with pytest.raises(TemplateError, match="Conversation roles must alternate"):
        render_gemma3([S, U, FIX])


def test_gemma_3_folds_the_system_prompt_first() -> None:
    rendered = render_gemma3([S, U, A, FIX])
    assert rendered.startswith("<bos><start_of_turn>user\nrules\n\ndiff<end_of_turn>\n")
    assert rendered.endswith("<start_of_turn>user\nfix it<end_of_turn>\n<start_of_turn>model\n")


def chat_bodies(httpx_mock: HTTPXMock) -> list[dict[str, Any]]:
    return [
        json.loads(r.content)
        for r in httpx_mock.get_requests()
        if r.url.path.endswith("/chat/completions")
    ]


@pytest.mark.parametrize(
    ("source", "draft"),
    [(None, b""), ("message", b"add a greeting\n")],  # a message of its own; a -m draft
)
def test_every_hook_request_renders_under_gemma_3(
    staged: Path,
    httpx_mock: HTTPXMock,
    listening_port: int,
    monkeypatch: pytest.MonkeyPatch,
    source: str | None,
    draft: bytes,
) -> None:
    monkeypatch.setenv("COMMIT_POLISH_ON_MESSAGE", "polish")
    staged.write_bytes(draft + GIT_FILE)
    url = chat_url(listening_port)
    # A refused first answer, so that the repair request is sent too.
    httpx_mock.add_response(url=url, json=completion("Added greet to utils.py"))
    httpx_mock.add_response(url=url, json=completion("feat: add greet"))
    assert main_hook(staged, source, None) == 0
    sent = chat_bodies(httpx_mock)
    assert [[m["role"] for m in body["messages"]] for body in sent] == [
        ["system", "user"],
        ["system", "user", "assistant", "user"],
    ]
    for body in sent:
        assert "<start_of_turn>user\n- You write git commit messages" in render_gemma3(
            body["messages"]
        )


# ------------------------------------------------------------------ at the two choke points


def request(port: int, messages: list[dict[str, str]]) -> llm.Request:
    return llm.Request(
        model="llamafile/gemma-3-1b-it",
        messages=messages,
        api_base=f"http://127.0.0.1:{port}/v1",
        temperature=0.2,
        max_tokens=50,
        timeout=10,
    )


def test_a_request_sends_roles_that_alternate(httpx_mock: HTTPXMock, listening_port: int) -> None:
    httpx_mock.add_response(url=chat_url(listening_port), json=completion("feat: add greet"))
    llm.complete(request(listening_port, [S, U, FIX]))
    (body,) = chat_bodies(httpx_mock)
    assert body["messages"] == [S, user("diff\n\nfix it")]
    render_gemma3(body["messages"])


def test_a_prefill_sends_what_the_request_will(httpx_mock: HTTPXMock, listening_port: int) -> None:
    url = chat_url(listening_port)
    httpx_mock.add_response(url=url, json=completion(""))
    httpx_mock.add_response(url=url, json=completion("feat: add greet"))
    req = request(listening_port, [S, U, FIX])
    assert backend.prefill(req.api_base, req.model, req.messages, timeout=10)
    llm.complete(req)
    prefill, proper = chat_bodies(httpx_mock)
    assert prefill["messages"] == proper["messages"] == [S, user("diff\n\nfix it")]


# ------------------------------------------------------------------ a template that raises

# llama-server's answer when a chat template raises (Gemma 2's refuses any system message).
TEMPLATE_RAISED = {
    "error": {
        "code": 400,
        "message": "Unable to generate parser for this template. Automatic parser generation "
        "failed: \n------------\nWhile executing CallExpression at line 1, column 72 in "
        "source:\n{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception("
        "'System role not supported') }}{% endif %}\n                                    ^\n"
        "Error: Jinja Exception: System role not supported",
        "type": "invalid_request_error",
    }
}


def test_a_template_that_raises_is_named_with_its_reason(
    staged: Path, httpx_mock: HTTPXMock, listening_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    httpx_mock.add_response(url=chat_url(listening_port), status_code=400, json=TEMPLATE_RAISED)
    assert main_hook(staged, None, None) == 0
    assert staged.read_bytes() == GIT_FILE
    api_base = f"http://127.0.0.1:{listening_port}/v1"
    assert capsys.readouterr().err == (
        f"commit-polish: the server at {api_base} answered HTTP 400: the model's chat "
        "template refused the request: System role not supported (see the server's log)\n"
    )
