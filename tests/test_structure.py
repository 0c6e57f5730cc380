"""Rules that live in one place: which servers are llama.cpp-family, how probes reach them."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import FakeLLMServer

from commit_polish import backend, budget, config, grammar, server


@pytest.mark.parametrize(
    ("model", "api_base", "expected"),
    [
        ("llamafile/gemma-3-1b-it", "http://127.0.0.1:8080/v1", True),
        ("llamafile/gemma-3-1b-it", "http://gpu-box:8080/v1", True),
        ("openai/qwen2.5", "http://localhost:8081/v1", True),
        ("openai/qwen2.5", "http://10.0.0.5:8000/v1", False),
        ("hosted_vllm/qwen2.5", "http://[::1]:8000/v1", True),
        ("ollama/qwen3:0.6b", "http://localhost:11434", False),
        ("gemma", "http://127.0.0.1:8080/v1", False),
    ],
)
def test_one_rule_for_llama_cpp_servers(model: str, api_base: str, expected: bool) -> None:
    assert backend.is_llama_cpp(model, api_base) is expected
    # The grammar follows the same rule (nothing rejected it yet) ...
    assert grammar.applies(model, api_base) is expected


def test_the_budget_probes_only_llama_cpp_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    monkeypatch.setattr(backend, "probe", lambda base, **kw: asked.append(base))
    from commit_polish import diff

    empty = diff.prepare(b"")
    budget.fit(empty, model="openai/m", api_base="http://10.0.0.5/v1", **_FIT)
    budget.fit(empty, model="openai/m", api_base="http://127.0.0.1:1/v1", **_FIT)
    assert asked == ["http://127.0.0.1:1/v1"]


_FIT = {"fixed_text": "", "max_tokens": 10, "prompt_budget": 100}


def test_status_probes_bypass_the_proxy(
    fake_server: FakeLLMServer, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy that is not there: a probe sent through it would find nothing.
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{closed_port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert server.health(fake_server.api_base) == "ok"
    assert server.served_models(fake_server.api_base) == ["fake-model"]


def test_config_is_typed_and_keeps_its_sources(tmp_path: Path) -> None:
    cfg = config.load(tmp_path, environ={"COMMIT_POLISH_TIMEOUT": "7", "COMMIT_POLISH_BODY": "0"})
    assert (cfg.ai.timeout, cfg.message.body, cfg.hook.strict) == (7.0, False, False)
    assert cfg.sources["timeout"] == "env COMMIT_POLISH_TIMEOUT"
    changed = config.with_values(cfg, {"model": "ollama/x"}, "--model")
    assert (changed.ai.model, changed.sources["model"]) == ("ollama/x", "--model")
    assert (cfg.ai.model, cfg.sources["model"]) == ("llamafile/gemma-3-1b-it", "default")
