"""What a llama.cpp-family server (llama-server, llamafile) is and can tell us about itself,
and the one HTTP client for every request that is not LiteLLM's.

:func:`is_llama_cpp` is the one rule for "worth asking llama.cpp's endpoints and sending its
fields" (``/props``, ``/tokenize``, ``cache_prompt``, ``grammar``, the prefill). Two cheap
questions, asked only on the generate path once the server is known to listen:
its context size (``GET /props``) and how many tokens a text is (``POST /tokenize``). Any
other server (Ollama, vLLM, a proxy) answers 404 or something else, and every failure is
``None``: the caller then falls back to character estimates. Nothing is cached on disk: on
loopback ``/props`` costs about a millisecond, and a cached answer would go stale when the
server is restarted with another ``-c``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from commit_polish import deadline, localonly

PROBE_TIMEOUT = 2.0
TOKENIZE_TIMEOUT = 5.0
# LiteLLM providers that speak llama.cpp's OpenAI-compatible API: ``llamafile/`` is what our
# install writes; ``openai/`` (or vLLM's) is how llama-server and LLaMA Box
# are usually configured, which counts only for a server on this machine.
LLAMA_CPP_PROVIDERS = ("llamafile",)
LOCAL_LLAMA_CPP_PROVIDERS = ("openai", "hosted_vllm")


def is_llama_cpp(model: str, api_base: str) -> bool:
    """Whether ``model`` at ``api_base`` may be a llama.cpp-family server. A server that is
    not one answers /props with an error, and is then treated as any other."""
    provider = localonly.provider(model)
    if provider in LLAMA_CPP_PROVIDERS:
        return True
    return provider in LOCAL_LLAMA_CPP_PROVIDERS and localonly.is_loopback(api_base)


@dataclass(frozen=True)
class ServerInfo:
    n_ctx: int  # the context size of one slot, in tokens


def root_url(api_base: str) -> str:
    """``http://host:port`` for ``http://host:port/v1`` (llama.cpp's own endpoints)."""
    base = api_base.rstrip("/")
    if base.endswith("/v1"):
        base = base[: -len("/v1")]
    return base


def _request(
    method: str,
    url: str,
    *,
    timeout: float,
    body: dict[str, Any] | None,
    status: Callable[[float], None] | None = None,
) -> Any:
    """The decoded JSON answer, or None on any failure (transport, status, not JSON), within
    ``timeout`` seconds in all (and within the hook's budget): httpx's timeouts are per read,
    and a server dripping a byte at a time would defeat them. ``status`` is told the time
    elapsed every 0.2 s while waiting."""
    limit = deadline.remaining(timeout)
    outcome: list[Any] = []
    deadline.run_bounded(
        lambda: outcome.append(_request_now(method, url, timeout=limit, body=body)),
        seconds=limit,
        name="probe",
        status=status,
    )
    return outcome[0] if outcome else None


_clients: dict[bool, Any] = {}


def _client(url: str) -> Any:
    """One httpx client per process (and per scheme), so that /props and the /tokenize calls
    share a connection. trust_env=False: a loopback server must never be reached through
    HTTP_PROXY. A plain-http client skips loading the CA certificates (about 50 ms each
    time), which only an https server needs."""
    import httpx

    https = url.startswith("https:")
    if https not in _clients:
        _clients[https] = httpx.Client(trust_env=False, verify=https)
    return _clients[https]


def _request_now(method: str, url: str, *, timeout: float, body: dict[str, Any] | None) -> Any:
    answer = fetch(method, url, timeout=timeout, body=body)
    return answer.data if answer is not None and answer.status == 200 else None


@dataclass(frozen=True)
class Answer:
    status: int
    data: Any  # the decoded JSON body, None when it is not JSON


def fetch(
    method: str, url: str, *, timeout: float, body: dict[str, Any] | None = None
) -> Answer | None:
    """One request through the shared client (through commit-polish's warm service when it
    carries the URL: this process then never imports httpx); None when nothing answered
    (refused, reset, timed out)."""
    from commit_polish import service

    if service.carries(url):
        return service.fetch(method, url, timeout=timeout, body=body)
    import httpx

    try:
        response = _client(url).request(method, url, json=body, timeout=timeout)
    except httpx.HTTPError:
        return None
    try:
        data = response.json()
    except ValueError:
        data = None
    return Answer(response.status_code, data)


def probe(api_base: str, *, timeout: float = PROBE_TIMEOUT) -> ServerInfo | None:
    """The server's context size, or None when it is not a llama.cpp-family server."""
    if not api_base:
        return None
    data = _request("GET", root_url(api_base) + "/props", timeout=timeout, body=None)
    if not isinstance(data, dict):
        return None
    settings = data.get("default_generation_settings")
    n_ctx = settings.get("n_ctx") if isinstance(settings, dict) else None
    if n_ctx is None:  # older llama.cpp servers put it at the top level
        n_ctx = data.get("n_ctx")
    if not isinstance(n_ctx, int) or isinstance(n_ctx, bool) or n_ctx <= 0:
        return None
    return ServerInfo(n_ctx=n_ctx)


def count_tokens(api_base: str, text: str, *, timeout: float = TOKENIZE_TIMEOUT) -> int | None:
    """How many tokens the server's model makes of ``text``, or None when it cannot say."""
    if not api_base:
        return None
    data = _request(
        "POST", root_url(api_base) + "/tokenize", timeout=timeout, body={"content": text}
    )
    tokens = data.get("tokens") if isinstance(data, dict) else None
    if not isinstance(tokens, list):
        return None
    return len(tokens)


def prefill(
    api_base: str,
    model: str,
    messages: list[dict[str, str]],
    *,
    timeout: float,
    status: Callable[[float], None] | None = None,
) -> bool:
    """Have the server read ``messages`` into its prompt cache without writing a word
    (``n_predict`` 0), and wait until it has; whether it answered.

    On a CPU reading the prompt is most of the time to a message, and the request proper
    can only be sent once LiteLLM is imported (seconds). Sent while that import runs, this
    lets the two overlap: the request proper then finds its whole prompt cached, on this
    slot or (with several) on the one the server picks by similarity.
    """
    if not api_base:
        return False
    from commit_polish import prompt

    body = {
        "model": model.split("/", 1)[-1],
        # As llm.complete sends them, so that the request proper finds this prefix cached.
        "messages": prompt.alternating(messages),
        # n_predict 0: read the prompt, write nothing. A server that reads only max_tokens
        # writes one token; none would take 0 for "no limit".
        "n_predict": 0,
        "max_tokens": 1,
        "cache_prompt": True,
    }
    url = api_base.rstrip("/") + "/chat/completions"
    data = _request("POST", url, timeout=timeout, body=body, status=status)
    if isinstance(data, dict):  # the request proper finds its prompt cached: time it here
        from commit_polish import speed

        speed.record(api_base, model, speed.from_timings(data.get("timings")))
    return data is not None
