"""Token budgets from the server: /props and /tokenize, and the fallbacks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from helpers import answer_as_llama_cpp, built_request, completion, fake_tokens, git, is_prefill
from pytest_httpx import HTTPXMock

from commit_polish import backend, budget, diff, hook
from commit_polish import git as git_mod

BASE = "http://127.0.0.1:8080/v1"
PROPS = "http://127.0.0.1:8080/props"
TOKENIZE = "http://127.0.0.1:8080/tokenize"


@pytest.mark.parametrize(
    ("base", "root"),
    [
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080/v1/", "http://127.0.0.1:8080"),
        ("http://localhost:9000", "http://localhost:9000"),
    ],
)
def test_root_url(base: str, root: str) -> None:
    assert backend.root_url(base) == root


def test_probe_reads_n_ctx(httpx_mock: HTTPXMock, llama_cpp: dict[str, int]) -> None:
    llama_cpp["n_ctx"] = 8192
    assert backend.probe(BASE) == backend.ServerInfo(n_ctx=8192)


def test_probe_reads_top_level_n_ctx(httpx_mock: HTTPXMock, llama_cpp: dict[str, int]) -> None:
    httpx_mock.reset()
    httpx_mock.add_response(url=PROPS, json={"n_ctx": 2048})
    assert backend.probe(BASE) == backend.ServerInfo(n_ctx=2048)


@pytest.mark.parametrize(
    "answer",
    [
        {"status_code": 404, "json": {"error": "not found"}},
        {"status_code": 500, "json": {"default_generation_settings": {"n_ctx": 4096}}},
        {"content": b"<html>not json</html>"},
        {"json": {"data": [{"id": "model"}]}},
        {"json": {"default_generation_settings": {"n_ctx": "4096"}}},
        {"json": {"default_generation_settings": {"n_ctx": 0}}},
        {"json": [1, 2, 3]},
    ],
    ids=["404", "500", "not-json", "other-shape", "string", "zero", "list"],
)
def test_probe_not_llama_cpp(
    httpx_mock: HTTPXMock, llama_cpp: dict[str, int], answer: dict[str, object]
) -> None:
    httpx_mock.reset()
    httpx_mock.add_response(url=PROPS, **answer)  # type: ignore[arg-type]
    assert backend.probe(BASE) is None


def test_probe_transport_errors_are_none(httpx_mock: HTTPXMock, llama_cpp: dict[str, int]) -> None:
    httpx_mock.reset()
    httpx_mock.add_exception(httpx.ConnectError("refused"), url=PROPS)
    assert backend.probe(BASE) is None
    httpx_mock.add_exception(httpx.ReadTimeout("slow"), url=PROPS)
    assert backend.probe(BASE) is None
    assert backend.probe("") is None


def test_count_tokens(httpx_mock: HTTPXMock, llama_cpp: dict[str, int]) -> None:
    assert backend.count_tokens(BASE, "x" * 10) == 3
    sent = json.loads(httpx_mock.get_requests()[-1].content)
    assert sent == {"content": "x" * 10}


@pytest.mark.parametrize(
    "answer",
    [{"status_code": 404}, {"json": {"tokens": "many"}}, {"content": b"oops"}],
    ids=["404", "shape", "not-json"],
)
def test_count_tokens_failures(
    httpx_mock: HTTPXMock, llama_cpp: dict[str, int], answer: dict[str, object]
) -> None:
    httpx_mock.reset()
    httpx_mock.add_response(url=TOKENIZE, **answer)  # type: ignore[arg-type]
    assert backend.count_tokens(BASE, "text") is None


# ------------------------------------------------------------------ fitting


def _big_diff(repo: Path, files: int = 200) -> diff.Prepared:
    for i in range(files):
        (repo / f"m{i:03}.py").write_text("".join(f"value_{i}_{n} = {n}\n" for n in range(60)))
    git(repo, "add", "-A")
    return diff.prepare(git_mod.staged_diff(repo, context=diff.CONTEXT_LINES))


@pytest.mark.parametrize("n_ctx", [1024, 2048, 4096])
def test_fit_counts_tokens_within_context(
    repo: Path, httpx_mock: HTTPXMock, llama_cpp: dict[str, int], n_ctx: int
) -> None:
    llama_cpp["n_ctx"] = n_ctx
    prepared = _big_diff(repo)
    fixed = "system rules " * 40
    fit = budget.fit(
        prepared,
        model="llamafile/m",
        api_base=BASE,
        fixed_text=fixed,
        max_tokens=200,
        prompt_budget=100_000,
    )
    room = n_ctx - 200 - len(fake_tokens(fixed)) - budget.MARGIN_TOKENS - budget.RETRY_TOKENS
    assert fit.n_ctx == n_ctx
    assert fit.room_tokens == room
    assert fit.tokens is not None
    assert fit.tokens == len(fake_tokens(budget.summary_text(fit.summary))) <= room
    # Most of the room is used: the measured ratio rescales the first guess.
    assert fit.tokens > 0.7 * room
    assert fit.extra_body == {"cache_prompt": True}


def test_fit_keeps_the_users_character_cap(
    repo: Path, httpx_mock: HTTPXMock, llama_cpp: dict[str, int]
) -> None:
    llama_cpp["n_ctx"] = 32768
    fit = budget.fit(
        _big_diff(repo),
        model="openai/m",
        api_base=BASE,
        fixed_text="rules",
        max_tokens=100,
        prompt_budget=3000,
    )
    assert len(fit.summary.files) + len(fit.summary.diff) <= 3000
    assert fit.extra_body == {"cache_prompt": True}


def test_fit_without_tokenize_estimates_safely(
    repo: Path, httpx_mock: HTTPXMock, llama_cpp: dict[str, int]
) -> None:
    httpx_mock.reset()
    httpx_mock.add_response(url=PROPS, json={"default_generation_settings": {"n_ctx": 2048}})
    httpx_mock.add_response(url=TOKENIZE, status_code=404, is_reusable=True)
    fixed = "rules " * 50
    fit = budget.fit(
        _big_diff(repo),
        model="llamafile/m",
        api_base=BASE,
        fixed_text=fixed,
        max_tokens=300,
        prompt_budget=100_000,
    )
    room = 2048 - 300 - -(-len(fixed) * 2 // 5) - budget.MARGIN_TOKENS - budget.RETRY_TOKENS
    assert fit.room_tokens == room
    assert fit.tokens is None
    size = len(budget.summary_text(fit.summary))
    assert size <= room * budget.SAFE_CHARS_PER_TOKEN
    assert fit.extra_body == {"cache_prompt": True}


def test_fit_not_llama_cpp_uses_the_character_budget(
    repo: Path, httpx_mock: HTTPXMock, llama_cpp: dict[str, int]
) -> None:
    httpx_mock.reset()
    httpx_mock.add_response(url=PROPS, status_code=404)
    prepared = _big_diff(repo)
    fit = budget.fit(
        prepared,
        model="openai/m",
        api_base=BASE,
        fixed_text="rules",
        max_tokens=300,
        prompt_budget=5000,
    )
    assert fit == budget.Fit(diff.select(prepared, 5000))
    assert fit.extra_body == {}


def test_fit_never_asks_an_ollama_server(repo: Path, httpx_mock: HTTPXMock) -> None:
    prepared = _big_diff(repo, files=3)
    fit = budget.fit(
        prepared,
        model="ollama/llama3",
        api_base="http://localhost:11434",
        fixed_text="rules",
        max_tokens=300,
        prompt_budget=5000,
    )
    assert fit.extra_body == {}
    assert httpx_mock.get_requests() == []


# ------------------------------------------------------------------ the hook's request


def test_hook_sends_cache_prompt_to_llama_cpp(
    staged: Path,
    httpx_mock: HTTPXMock,
    llama_cpp: dict[str, int],
    listening_port: int,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    stats = tmp_path / "stats.jsonl"
    monkeypatch.setenv("COMMIT_POLISH_STATS", str(stats))
    chat = f"http://127.0.0.1:{listening_port}/v1/chat/completions"
    answer = completion("feat: add greet")
    answer["usage"] = {
        "prompt_tokens": 120,
        "completion_tokens": 5,
        "total_tokens": 125,
        "prompt_tokens_details": {"cached_tokens": 100},
    }
    httpx_mock.add_response(url=chat, json=answer)
    assert hook.main_hook(staged, None, None) == 0
    posts = [r for r in httpx_mock.get_requests() if r.url == chat and not is_prefill(r)]
    body = json.loads(posts[0].content)
    assert body["cache_prompt"] is True
    user = body["messages"][1]["content"]
    assert user.endswith("+def greet():\n+    return 'hi'\n")  # the diff comes last
    assert staged.read_bytes().startswith(b"feat: add greet\n")
    line = json.loads(stats.read_text().splitlines()[0])
    assert (line["prompt_tokens"], line["cached_tokens"], line["cache_prompt"]) == (120, 100, True)


def test_prompt_is_prefilled_before_the_request(
    staged: Path, httpx_mock: HTTPXMock, llama_cpp: dict[str, int], listening_port: int
) -> None:
    """While LiteLLM is imported, the server reads the very prompt the request will carry."""
    chat = f"http://127.0.0.1:{listening_port}/v1/chat/completions"
    httpx_mock.add_response(url=chat, json=completion("feat: add greet"))
    assert hook.main_hook(staged, None, None) == 0
    prefill, request = (json.loads(r.content) for r in httpx_mock.get_requests(url=chat))
    assert prefill == {
        "model": "gemma-3-1b-it",
        "messages": request["messages"],
        "n_predict": 0,
        "max_tokens": 1,
        "cache_prompt": True,
    }
    assert request["max_tokens"] == 160 and "n_predict" not in request
    assert staged.read_bytes().startswith(b"feat: add greet\n")


def test_failed_prefill_changes_nothing(
    staged: Path,
    httpx_mock: HTTPXMock,
    llama_cpp: dict[str, int],
    listening_port: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    chat = f"http://127.0.0.1:{listening_port}/v1/chat/completions"
    httpx_mock.reset()  # the fixture's prefill answer goes; this one fails instead
    httpx_mock.add_callback(
        lambda request: (
            httpx.Response(500, json={"error": "no"})
            if is_prefill(request)
            else httpx.Response(200, json=completion("feat: add greet"))
        ),
        url=chat,
        is_reusable=True,
    )
    answer_as_llama_cpp(httpx_mock, llama_cpp, prefill=False)
    assert hook.main_hook(staged, None, None) == 0
    assert staged.read_bytes().startswith(b"feat: add greet\n")
    assert capsys.readouterr().err == ""
    assert len(httpx_mock.get_requests(url=chat)) == 2


def test_hook_sends_no_cache_prompt_elsewhere(
    staged: Path, httpx_mock: HTTPXMock, llama_cpp: dict[str, int], listening_port: int
) -> None:
    httpx_mock.reset()
    chat = f"http://127.0.0.1:{listening_port}/v1/chat/completions"
    httpx_mock.add_response(url=f"http://127.0.0.1:{listening_port}/props", status_code=404)
    httpx_mock.add_response(url=chat, json=completion("feat: add greet"))
    assert hook.main_hook(staged, None, None) == 0
    posts = [r for r in httpx_mock.get_requests() if r.url == chat]
    assert len(posts) == 1  # and no prefill
    assert "cache_prompt" not in json.loads(posts[0].content)


def test_ollama_request_has_no_cache_prompt(
    staged: Path, monkeypatch: pytest.MonkeyPatch, listening_port: int
) -> None:
    monkeypatch.setenv("COMMIT_POLISH_MODEL", "ollama/llama3")
    monkeypatch.setenv("COMMIT_POLISH_API_BASE", f"http://127.0.0.1:{listening_port}")
    called: list[str] = []
    monkeypatch.setattr(backend, "probe", lambda base, **kw: called.append(base))
    req = built_request()
    assert "cache_prompt" not in req.extra_body
    assert called == []


@pytest.mark.parametrize("n_ctx", [2048, 4096])
def test_repair_request_still_fits_the_context(
    staged: Path,
    httpx_mock: HTTPXMock,
    llama_cpp: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
    n_ctx: int,
) -> None:
    """The first prompt fills the context; the repair adds the first answer and a correction
    to it, and must fit too (with room for its own reply)."""
    llama_cpp["n_ctx"] = n_ctx
    monkeypatch.setenv("COMMIT_POLISH_TARGET_SECONDS", "3600")  # the context is the limit
    _big_diff(staged.parent.parent)
    chat = re.compile(r"http://127\.0\.0\.1:\d+/v1/chat/completions$")
    rambling = "Added app/main.py, lib/x.py and " + "then more words about docs/y.py " * 300
    httpx_mock.add_response(url=chat, json=completion(rambling))
    httpx_mock.add_response(url=chat, json=completion("feat: add greet"))
    assert hook.main_hook(staged, None, None) == 0
    assert staged.read_text().startswith("feat: add greet\n")
    first, second = (
        json.loads(r.content) for r in httpx_mock.get_requests(url=chat) if not is_prefill(r)
    )
    sizes = [
        len(fake_tokens("\n".join(m["content"] for m in b["messages"]))) for b in (first, second)
    ]
    assert all(size + first["max_tokens"] <= n_ctx for size in sizes)
    # Whatever the first prompt's size within its room, the repair fits: what it adds
    # (a long rambling answer, file names) stays within the room kept for it.
    assert sizes[0] > 0.6 * (n_ctx - first["max_tokens"])
    assert 0 < sizes[1] - sizes[0] <= budget.RETRY_TOKENS
