"""The only module that imports litellm, and only when a request will really be sent: the
import, the call, and the translation of LiteLLM's errors into one-line LLMErrors.

The call runs under the hook's deadline (``deadline.py``), after the TCP check
(``localonly.py``) has shown that something listens.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from commit_polish import deadline, envvars, localonly, prompt
from commit_polish.errors import LLMError

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
    external_server: bool = False  # the user runs the server: say so when it is down


@dataclass(frozen=True)
class Reply:
    text: str
    prompt_tokens: int | None
    completion_tokens: int | None
    seconds: float
    cached_tokens: int | None = None  # prompt tokens the server took from its cache
    truncated: bool = False  # generation stopped at max_tokens, maybe mid-sentence
    # llama-server's own timings (prompt_n, prompt_ms, predicted_n, predicted_ms), when sent
    timings: dict[str, float] | None = None


def _import_litellm() -> Any:
    # Without this, importing litellm fetches a price list from the internet.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_LOG", "ERROR")
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    litellm.drop_params = True
    if litellm.client_session is None:
        import httpx

        # LiteLLM turns a server's JSON error ({"error": {"message": …}}, even under HTTP
        # 200) into an exception with no text; this client keeps the server's own words.
        litellm.client_session = httpx.Client(
            follow_redirects=True, event_hooks={"response": [_keep_error_text]}
        )
    return litellm


# The last error a server sent (its HTTP status, its text), for _translate.
_server_errors: list[tuple[int, str]] = []


def _keep_error_text(response: Any) -> None:
    """Remember the message of a JSON error body (the SDK reads the body afterwards)."""
    response.read()
    if response.status_code == 200 and b'"error"' not in response.content[:512]:
        return  # a reply, not an error: the SDK parses it, once is enough
    try:
        data = response.json()
    except ValueError:
        return
    error = data.get("error") if isinstance(data, dict) else None
    text = error.get("message") if isinstance(error, dict) else error
    if isinstance(text, str) and text.strip():
        _server_errors[:] = [(response.status_code, _short(" ".join(text.split())))]


# llama.cpp's words for a chat template that raised; its reason comes last, after a
# copy of the template's source that would fill the line.
_TEMPLATE_RAISED = re.compile(r"Jinja Exception:\s*(.+)")
TEMPLATE_REFUSED = "the model's chat template refused the request: "


def _short(text: str) -> str:
    raised = _TEMPLATE_RAISED.search(text)
    if raised:
        text = TEMPLATE_REFUSED + raised.group(1)
    return text[:160]


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


def finish_prewarm() -> None:
    """Wait for :func:`prewarm`'s import, for callers that time what follows."""
    if _prewarm is not None:
        _prewarm.join()


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
    sent_status, sent_text = _server_errors[-1] if _server_errors else (None, "")
    detail = sent_text if sent_text.startswith(TEMPLATE_REFUSED) else _detail(exc) or sent_text
    if "Timeout" in name:
        return no_answer(req)
    if "Connection" in name or detail.startswith("Connection error"):
        return localonly.no_server(req.api_base, external=req.external_server)
    if "NotFound" in name:
        return LLMError(
            f"the server at {req.api_base} does not know model {req.model!r} "
            "(check ai.model with: commit-polish config)"
        )
    status = getattr(exc, "status_code", None)
    where = f"the server at {req.api_base}"
    if sent_status == 200:  # an error in a success reply: LiteLLM's status is made up
        return LLMError(f"{where} answered with an error: {detail} (see the server's log)")
    if status:
        return LLMError(f"{where} answered HTTP {status}: {detail} (see the server's log)")
    return LLMError(f"the request to {where} failed: {detail}")


class NoAnswer(LLMError):
    """The server did not answer within the time allowed."""


def no_answer(req: Request) -> NoAnswer:
    """The line for a server that ran out of time, naming what else took a good part of
    it (reading a huge diff leaves the server little of the budget)."""
    slowest = deadline.slowest_step()
    also = ""
    if slowest and slowest[1] >= max(1.0, req.timeout / 4):
        also = f"; {slowest[0]} took {slowest[1]:.1f}s of it"
    return NoAnswer(
        f"the server at {req.api_base} did not answer within "
        f"{req.timeout:.0f}s{also} (raise ai.timeout, or use a smaller model)"
    )


def _api_key(req: Request) -> str | None:
    # An OpenAI-compatible local server (llama-server, LLaMA Box, vLLM) accepts any key, but
    # the openai client refuses to send a request without one.
    if req.model.startswith("openai/") and req.api_base and not os.environ.get("OPENAI_API_KEY"):
        return "sk-no-key-required"
    return None


def _call(req: Request) -> Reply:
    localonly.bypass_proxies(req.api_base)
    _server_errors.clear()
    litellm = _import_litellm()
    started = time.monotonic()
    response = litellm.completion(
        api_key=_api_key(req),
        model=req.model,
        messages=prompt.alternating(req.messages),
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
        truncated=getattr(choices[0], "finish_reason", None) == "length",
        timings=timings_of(getattr(response, "timings", None)),
    )


TIMING_KEYS = ("prompt_n", "prompt_ms", "predicted_n", "predicted_ms")


def timings_of(raw: Any) -> dict[str, float] | None:
    """The numbers of a server's ``timings`` object that speed.py reads, else None."""
    if not isinstance(raw, dict):
        return None
    kept = {
        k: raw[k]
        for k in TIMING_KEYS
        if isinstance(raw.get(k), int | float) and not isinstance(raw[k], bool)
    }
    return kept or None


def complete(req: Request, *, status: deadline.Status | None = None) -> Reply:
    """Send ``req`` and return the reply text, within ``req.timeout`` seconds in all:
    through commit-polish's warm service when one carries it (``service.py``), else from
    this process."""
    from commit_polish import service

    if service.carries(req.api_base):
        reply = service.complete(req, status=status)
        via = "service"
    else:
        reply = answer(req, status=status)
        via = "in-process"
    record_stats(req, reply, via=via)
    record_speed(req, reply)
    return reply


def record_speed(req: Request, reply: Reply) -> None:
    """Fold this reply's speed into the server's estimate (``speed.py``)."""
    from commit_polish import speed

    sample = speed.from_timings(reply.timings)
    if sample is None:
        evaluated = reply.prompt_tokens
        if evaluated is not None:
            evaluated -= reply.cached_tokens or 0
        sample = speed.from_wall(
            speed.load(req.api_base, req.model),
            evaluated=evaluated,
            completion=reply.completion_tokens,
            seconds=reply.seconds,
        )
    speed.record(req.api_base, req.model, sample)


def answer(req: Request, *, status: deadline.Status | None = None) -> Reply:
    """``req`` sent from this process through LiteLLM, within ``req.timeout`` seconds."""
    end = time.monotonic() + deadline.remaining(req.timeout)
    localonly.check_listening(req.api_base, req.timeout, external=req.external_server)
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["reply"] = _call(req)
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    if not deadline.run_bounded(work, seconds=end - time.monotonic(), name="llm", status=status):
        raise no_answer(req)
    if "error" in outcome:
        exc = outcome["error"]
        if isinstance(exc, LLMError):
            raise exc
        raise _translate(exc, req) from exc
    reply: Reply = outcome["reply"]
    return reply


def record_stats(req: Request, reply: Reply, *, via: str = "in-process") -> None:
    """Append one JSON line about this reply to ``$COMMIT_POLISH_STATS`` when it is set
    (for benchmarks and "why is it slow?": how it was sent, and whether this process paid
    for LiteLLM's or httpx's import); never fails the request."""
    path = os.environ.get(envvars.STATS)
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
        "via": via,
        "imported": [name for name in ("litellm", "httpx", "openai") if name in sys.modules],
    }
    try:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")
    except OSError:
        pass


def litellm_loaded() -> bool:
    """Whether litellm has been imported in this process (the skip paths must not)."""
    return "litellm" in sys.modules
