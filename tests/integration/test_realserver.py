"""The real backend itself: the llama-server endpoints commit-polish relies on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dev.realserver import RealServer

# Chat messages shaped like what the hook sends: instructions, then the change.
_MESSAGES = [
    {"role": "system", "content": "You write one-line git commit messages."},
    {"role": "user", "content": "Diff: add a --dry-run flag to the install command."},
]


@pytest.fixture(scope="module")
def client(real_server: RealServer) -> Iterator[httpx.Client]:
    # Generous timeout: a 2-core CI machine under load generates slowly.
    with httpx.Client(base_url=real_server.base_url, timeout=120.0) as http:
        yield http


def _chat(client: httpx.Client, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": _MESSAGES, "temperature": 0, "max_tokens": 48, **extra}
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def test_health_is_ok(client: httpx.Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json().get("status") == "ok"


def test_models_lists_the_loaded_model(client: httpx.Client, real_server: RealServer) -> None:
    data = client.get("/v1/models").json()
    ids = [model["id"] for model in data["data"]]
    assert ids, data
    # Without -a/--alias the id is derived from the model file's name.
    assert any(real_server.model.stem in model_id for model_id in ids), ids


def test_grammar_constrains_chat_output(client: httpx.Client) -> None:
    # llama.cpp's GBNF `grammar` field: what commit-polish passes through LiteLLM's extra_body.
    grammar = 'root ::= "feat: " [a-z ]{3,30}'
    data = _chat(client, grammar=grammar)
    content = data["choices"][0]["message"]["content"]
    assert re.fullmatch(r"feat: [a-z ]{3,30}", content), repr(content)


def test_props_reports_context_size(client: httpx.Client, real_server: RealServer) -> None:
    props = client.get("/props").json()
    # With one slot (-np 1) the slot's context is the whole -c value.
    assert props["default_generation_settings"]["n_ctx"] == real_server.ctx


def test_tokenize_returns_tokens(client: httpx.Client) -> None:
    data = client.post("/tokenize", json={"content": "fix: handle empty diffs"}).json()
    tokens = data["tokens"]
    assert tokens
    assert all(isinstance(token, int) for token in tokens)


def test_usage_and_timings_report_prompt_cache(client: httpx.Client) -> None:
    # Same prompt twice: the second request reuses the KV cache of the first.
    _chat(client, cache_prompt=True, max_tokens=4)
    data = _chat(client, cache_prompt=True, max_tokens=4)
    usage, timings = data["usage"], data["timings"]
    assert usage["prompt_tokens"] > 0
    assert usage["completion_tokens"] > 0
    cached = usage["prompt_tokens_details"]["cached_tokens"]
    assert cached > 0
    assert timings["cache_n"] == cached
    # Every prompt token is either taken from the cache or evaluated now.
    assert timings["cache_n"] + timings["prompt_n"] == usage["prompt_tokens"]
