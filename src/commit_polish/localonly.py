"""Diffs stay on this machine unless the user says otherwise, and a server that is not
listening is noticed in milliseconds.

Decided before anything is read, imported or sent: :func:`check_local` refuses an api_base
off this machine (or a hosted provider) unless ``allow_remote`` is set, and
:func:`check_listening` makes one TCP connect before LiteLLM's multi-second import.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

from commit_polish.errors import START_SERVER, LLMError


def no_server(api_base: str, *, external: bool = False) -> LLMError:
    """The error for a server that does not answer, with the step that starts it: ours
    (``serve --detach``) or, for a server the user runs (``install --server``), theirs."""
    if external:
        return LLMError(
            f"no server at {api_base} (start your server there, "
            "or use another: commit-polish install --server URL)"
        )
    return LLMError(f"no server at {api_base} (start it with: {START_SERVER})")


def check_listening(api_base: str, timeout: float, *, external: bool = False) -> None:
    """Raise LLMError when nothing accepts TCP connections at ``api_base``."""
    parts = urlsplit(api_base)
    if not parts.hostname:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=min(timeout, 3.0)):
            pass
    except OSError as exc:
        raise no_server(api_base, external=external) from exc


# Providers whose LiteLLM default server is on this machine when no api_base is given:
# provider -> (environment variable LiteLLM reads first, default base).
LOCAL_DEFAULTS = {
    "llamafile": ("LLAMAFILE_API_BASE", "http://127.0.0.1:8080/v1"),
    "ollama": ("OLLAMA_API_BASE", "http://localhost:11434"),
    "ollama_chat": ("OLLAMA_API_BASE", "http://localhost:11434"),
}


def provider(model: str) -> str:
    """LiteLLM's provider prefix of ``model`` ("llamafile" for ``llamafile/x``; "" if none)."""
    return model.split("/", 1)[0] if "/" in model else ""


def effective_api_base(model: str, api_base: str, environ: dict[str, str] | None = None) -> str:
    """The server LiteLLM would send ``model``'s request to ("" when a hosted service)."""
    if api_base:
        return api_base
    env = os.environ if environ is None else environ
    if provider(model) in LOCAL_DEFAULTS:
        variable, default = LOCAL_DEFAULTS[provider(model)]
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
