"""The only module that imports litellm, and only when a request will really be sent.

Before litellm is imported, a plain TCP connect checks that something listens at
``api_base``: a stopped server is reported in milliseconds instead of after a two-second
import. The request runs in a daemon thread so that the total time budget holds even when a
server drips bytes slowly enough to defeat per-read timeouts.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from commit_polish.errors import LLMError

Status = Callable[[float], None]


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


def _import_litellm() -> Any:
    # Without this, importing litellm fetches a price list from the internet.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_LOG", "ERROR")
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    litellm.drop_params = True
    return litellm


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


def _call(req: Request) -> Reply:
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
    usage = getattr(response, "usage", None)
    return Reply(
        text=content,
        prompt_tokens=getattr(usage, "prompt_tokens", None),
        completion_tokens=getattr(usage, "completion_tokens", None),
        seconds=time.monotonic() - started,
    )


def complete(req: Request, *, status: Status | None = None) -> Reply:
    """Send ``req`` and return the reply text, within ``req.timeout`` seconds in all."""
    deadline = time.monotonic() + req.timeout
    check_listening(req.api_base, req.timeout)
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["reply"] = _call(req)
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    started = time.monotonic()
    thread = threading.Thread(target=work, name="commit-polish-llm", daemon=True)
    thread.start()
    while thread.is_alive() and time.monotonic() < deadline:
        thread.join(timeout=min(0.2, max(deadline - time.monotonic(), 0)))
        if status is not None:
            status(time.monotonic() - started)
    if thread.is_alive():
        _abandoned.append(thread)
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
    return reply


_abandoned: list[threading.Thread] = []


def abandoned() -> bool:
    """Whether a request given up at the time budget is still running."""
    return any(thread.is_alive() for thread in _abandoned)


def litellm_loaded() -> bool:
    """Whether litellm has been imported in this process (the skip paths must not)."""
    return "litellm" in sys.modules
