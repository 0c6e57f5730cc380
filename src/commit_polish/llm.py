"""The only module that imports litellm, and only when a request will really be sent.

Before litellm is imported, a plain TCP connect checks that something listens at
``api_base``: a stopped server is reported in milliseconds instead of after a two-second
import. The request runs in a daemon thread so that the total time budget holds even when a
server drips bytes slowly enough to defeat per-read timeouts.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from commit_polish.errors import LLMError

Status = Callable[[float], None]
MAX_REPLY_CHARS = 100_000


@dataclass(frozen=True)
class Request:
    model: str
    messages: list[dict[str, str]]
    api_base: str
    temperature: float
    max_tokens: int
    timeout: float
    extra_body: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    text: str
    prompt_tokens: int | None
    completion_tokens: int | None
    seconds: float
    cached_tokens: int | None = None  # prompt tokens the server took from its cache


def check_listening(api_base: str, timeout: float) -> None:
    """Raise LLMError when nothing accepts TCP connections at ``api_base``."""
    parts = urlsplit(api_base)
    if not parts.hostname:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=min(timeout, 3.0)):
            pass
    except OSError as exc:
        raise LLMError(f"no server at {api_base} (start it with: commit-polish serve)") from exc


# Providers whose LiteLLM default server is on this machine when no api_base is given:
# provider -> (environment variable LiteLLM reads first, default base).
LOCAL_DEFAULTS = {
    "llamafile": ("LLAMAFILE_API_BASE", "http://127.0.0.1:8080/v1"),
    "ollama": ("OLLAMA_API_BASE", "http://localhost:11434"),
    "ollama_chat": ("OLLAMA_API_BASE", "http://localhost:11434"),
}


def effective_api_base(model: str, api_base: str, environ: dict[str, str] | None = None) -> str:
    """The server LiteLLM would send ``model``'s request to ("" when a hosted service)."""
    if api_base:
        return api_base
    env = os.environ if environ is None else environ
    provider = model.split("/", 1)[0] if "/" in model else ""
    if provider in LOCAL_DEFAULTS:
        variable, default = LOCAL_DEFAULTS[provider]
        return env.get(variable) or default
    return ""


def is_loopback(api_base: str) -> bool:
    """Whether ``api_base`` names this machine: 127.0.0.0/8, ::1 or localhost.

    Decided from the text alone, never by resolving a name (a resolver could say anything).
    """
    import ipaddress

    try:
        host = urlsplit(api_base).hostname
    except ValueError:
        return False
    if not host:
        return False
    host = host.rstrip(".").lower()
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def check_local(
    model: str, api_base: str, *, allow_remote: bool, config_file: str, environ: dict[str, str]
) -> str:
    """The api_base to use, or LLMError when it is not on this machine and remote servers
    were not allowed. Runs before any connection is made and before litellm is imported."""
    base = effective_api_base(model, api_base, environ)
    if allow_remote or is_loopback(base):
        return base
    hint = f"diffs stay local unless you set allow_remote = true in {config_file}"
    if not base:
        raise LLMError(f"model {model} with no api_base is a hosted service; {hint}")
    raise LLMError(f"api_base {base} is not on this machine; {hint}")


def _import_litellm() -> Any:
    # Without this, importing litellm fetches a price list from the internet.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_LOG", "ERROR")
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    litellm.drop_params = True
    return litellm


# Modules LiteLLM imports lazily on its first completion() (openai's resource classes, the
# llamafile handler, the HTTP transport): about 0.7 s of a hook's run that prewarm() takes
# off the critical path. A name missing from another LiteLLM version is skipped.
_FIRST_CALL_MODULES = (
    "openai.resources",
    "litellm.proxy._types",
    "litellm.llms.llamafile.chat",
    "httpcore",
    "h2.connection",
)
_prewarm: threading.Thread | None = None


def prewarm() -> None:
    """Import litellm and what its first call needs in a background thread.

    Called once a request is certain (the server listens): the import, CPU-bound, then runs
    while the hook waits on git and on the server's /props and /tokenize instead of after
    them. A request made before it is done waits on Python's import lock, not twice.
    """
    global _prewarm
    if _prewarm is not None or litellm_loaded():
        return

    def work() -> None:
        import importlib

        with contextlib.suppress(Exception):
            _import_litellm()
            for name in _FIRST_CALL_MODULES:
                with contextlib.suppress(ImportError):
                    importlib.import_module(name)

    # Not a daemon: an interpreter that finalizes while a daemon thread holds an import
    # lock hangs as soon as a finalizer imports (LiteLLM's client __del__ does). Exiting
    # waits for the import instead; the hook's own entry point leaves with os._exit.
    _prewarm = threading.Thread(target=work, name="commit-polish-prewarm", daemon=False)
    _prewarm.start()


def _detail(exc: BaseException) -> str:
    """The useful part of a LiteLLM error text, which repeats class and provider names."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    text = re.sub(r"^(?:litellm\.\w+:\s*)?(?:\w+Error:\s*)?(?:\w+Exception\s*-\s*)?", "", text)
    return text[:160]


def _translate(exc: BaseException, req: Request) -> LLMError:
    name = type(exc).__name__
    detail = _detail(exc)
    if "Timeout" in name:
        return LLMError(
            f"the server at {req.api_base} did not answer within "
            f"{req.timeout:.0f}s (raise ai.timeout, or use a smaller model)"
        )
    if "Connection" in name or detail.startswith("Connection error"):
        return LLMError(f"no server at {req.api_base} (start it with: commit-polish serve)")
    if "NotFound" in name:
        return LLMError(
            f"the server at {req.api_base} does not know model {req.model!r} "
            "(check ai.model with: commit-polish config)"
        )
    status = getattr(exc, "status_code", None)
    where = f"the server at {req.api_base}"
    if status:
        return LLMError(f"{where} answered HTTP {status}: {detail} (see the server's log)")
    return LLMError(f"the request to {where} failed: {detail}")


def _api_key(req: Request) -> str | None:
    # An OpenAI-compatible local server (llama-server, LLaMA Box, vLLM) accepts any key, but
    # the openai client refuses to send a request without one.
    if req.model.startswith("openai/") and req.api_base and not os.environ.get("OPENAI_API_KEY"):
        return "sk-no-key-required"
    return None


_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


def bypass_proxies(api_base: str) -> None:
    """Add a loopback ``api_base``'s host to NO_PROXY when a proxy is configured.

    httpx (under LiteLLM) sends even a request for 127.0.0.1 to HTTP_PROXY; a diff meant
    for this machine would go to the proxy's host instead.
    """
    if not is_loopback(api_base):
        return
    if not any(os.environ.get(v) or os.environ.get(v.lower()) for v in _PROXY_VARIABLES):
        return
    host = urlsplit(api_base).hostname or ""
    for variable in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(variable, "")
        if host not in [part.strip() for part in current.split(",")]:
            os.environ[variable] = f"{current},{host}" if current else host


def _call(req: Request) -> Reply:
    bypass_proxies(req.api_base)
    litellm = _import_litellm()
    started = time.monotonic()
    response = litellm.completion(
        api_key=_api_key(req),
        model=req.model,
        messages=req.messages,
        api_base=req.api_base or None,
        temperature=req.temperature,
        max_tokens=req.max_tokens,
        timeout=req.timeout,
        num_retries=0,
        extra_body=req.extra_body or None,
    )
    choices = getattr(response, "choices", None) or []
    if not choices:
        raise LLMError("the server's reply had no choices (check the server log)")
    content = getattr(choices[0].message, "content", None)
    if not isinstance(content, str):
        raise LLMError("the server's reply had no text (check the server log)")
    if len(content) > MAX_REPLY_CHARS:
        # max_tokens bounds a working server's reply to a few kB; this one is broken.
        raise LLMError(
            f"the server's reply was {len(content):,} characters long, far beyond max_tokens "
            "(check the server and its log)"
        )
    usage = getattr(response, "usage", None)
    return Reply(
        text=content,
        prompt_tokens=getattr(usage, "prompt_tokens", None),
        completion_tokens=getattr(usage, "completion_tokens", None),
        seconds=time.monotonic() - started,
        cached_tokens=getattr(getattr(usage, "prompt_tokens_details", None), "cached_tokens", None),
    )


_budget_deadline: float | None = None


@contextlib.contextmanager
def budget(seconds: float) -> Iterator[None]:
    """Within this block every request (probes, token counts, completions and retries)
    shares one deadline ``seconds`` from now: the hook's total time budget."""
    global _budget_deadline
    outer = _budget_deadline
    _budget_deadline = time.monotonic() + seconds
    try:
        yield
    finally:
        _budget_deadline = outer


def remaining(limit: float) -> float:
    """``limit`` seconds, or less when the current budget ends sooner (never negative)."""
    if _budget_deadline is None:
        return limit
    return max(min(limit, _budget_deadline - time.monotonic()), 0.0)


def complete(req: Request, *, status: Status | None = None) -> Reply:
    """Send ``req`` and return the reply text, within ``req.timeout`` seconds in all."""
    deadline = time.monotonic() + remaining(req.timeout)
    check_listening(req.api_base, req.timeout)
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["reply"] = _call(req)
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    if not run_bounded(work, seconds=deadline - time.monotonic(), name="llm", status=status):
        raise LLMError(
            f"the server at {req.api_base} did not answer within "
            f"{req.timeout:.0f}s (raise ai.timeout, or use a smaller model)"
        )
    if "error" in outcome:
        exc = outcome["error"]
        if isinstance(exc, LLMError):
            raise exc
        raise _translate(exc, req) from exc
    reply: Reply = outcome["reply"]
    record_stats(req, reply)
    return reply


def run_bounded(
    work: Callable[[], None], *, seconds: float, name: str, status: Status | None = None
) -> bool:
    """Run ``work`` in a daemon thread for at most ``seconds``; whether it finished.

    Per-read timeouts cannot bound a server that drips a byte at a time; this can. A thread
    given up on is remembered, so that the hook's process leaves without waiting for it.
    ``status`` is told the time elapsed every 0.2 s.
    """
    started = time.monotonic()
    deadline = started + max(seconds, 0.0)
    thread = threading.Thread(target=work, name=f"commit-polish-{name}", daemon=True)
    thread.start()
    while thread.is_alive() and time.monotonic() < deadline:
        thread.join(timeout=min(0.2, max(deadline - time.monotonic(), 0)))
        if status is not None:
            status(time.monotonic() - started)
    if thread.is_alive():
        _abandoned.append(thread)
        return False
    return True


STATS_ENV = "COMMIT_POLISH_STATS"


def record_stats(req: Request, reply: Reply) -> None:
    """Append one JSON line about this reply to ``$COMMIT_POLISH_STATS`` when it is set
    (for benchmarks and "why is it slow?"); never fails the request."""
    path = os.environ.get(STATS_ENV)
    if not path:
        return
    import json

    line = {
        "model": req.model,
        "prompt_chars": sum(len(m.get("content", "")) for m in req.messages),
        "prompt_tokens": reply.prompt_tokens,
        "cached_tokens": reply.cached_tokens,
        "completion_tokens": reply.completion_tokens,
        "seconds": round(reply.seconds, 4),
        "cache_prompt": req.extra_body.get("cache_prompt"),
    }
    try:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")
    except OSError:
        pass


_abandoned: list[threading.Thread] = []


def abandoned() -> bool:
    """Whether a request given up at the time budget is still running."""
    return any(thread.is_alive() for thread in _abandoned)


def litellm_loaded() -> bool:
    """Whether litellm has been imported in this process (the skip paths must not)."""
    return "litellm" in sys.modules
