"""Helpers shared by the tests: real git, the stand-in OpenAI server, reply bodies, and
llama.cpp's endpoints as pytest-httpx answers them. Fixtures live in conftest.py."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=check)


def patch(path: str, *hunks: list[str], header: tuple[str, ...] = ()) -> str:
    """A file's diff as ``git diff --cached -U1`` writes it, for pure tests of what is read
    from diffs: ``header`` lines after ``diff --git``, then each hunk's lines (``@@`` first)."""
    lines = [f"diff --git a/{path} b/{path}", *header]
    if not any(h.startswith(("rename", "similarity", "old mode")) for h in header):
        lines += ["index 1111111..2222222 100644", f"--- a/{path}", f"+++ b/{path}"]
    for hunk in hunks:
        lines += hunk
    return "\n".join(lines) + "\n"


def last_message(repo: Path) -> str:
    return git(repo, "log", "-1", "--format=%B").stdout.rstrip("\n")


def commit_count(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "HEAD").stdout)


def hook_lines(stderr: str) -> list[str]:
    """The lines commit-polish printed among git's own output."""
    return [line for line in stderr.splitlines() if line.startswith("commit-polish:")]


# What git writes into the message file for a plain commit with greet.py staged.
GIT_FILE = (
    b"\n# Please enter the commit message for your changes. Lines starting\n"
    b"# with '#' will be ignored, and an empty message aborts the commit.\n#\n"
    b"# On branch main\n# Changes to be committed:\n#\tnew file:   greet.py\n#\n"
)


def chat_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/v1/chat/completions"


class FakeLLMServer:
    """An OpenAI-compatible stand-in on a loopback port, for tests where git runs the hook in
    a child process (pytest-httpx only reaches this process). Records every request body."""

    def __init__(self) -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[dict[str, object]] = []
        self.reply = "feat: add greeting module"
        self.status = 200
        self.timings: dict[str, float] | None = None  # llama-server's, sent when set
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._send(
                    200,
                    {"status": "ok"}
                    if self.path == "/health"
                    else {"data": [{"id": "fake-model"}]},
                )

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(body)
                if server.status != 200:
                    self._send(server.status, {"error": {"message": "boom"}})
                    return
                answer = completion(server.reply)
                if server.timings is not None:
                    answer["timings"] = server.timings
                self._send(200, answer)

            def _send(self, status: int, payload: dict[str, object]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.api_base = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def completion(
    content: str, *, prompt_tokens: int = 120, finish_reason: str = "stop"
) -> dict[str, object]:
    """An OpenAI chat.completion body as llama.cpp's server returns it."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gemma-3-1b-it",
        "choices": [
            {
                "index": 0,
                "finish_reason": finish_reason,
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": 12,
            "total_tokens": prompt_tokens + 12,
        },
    }


def run_precommit_commit(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "commit", *args], cwd=repo, capture_output=True, text=True, timeout=600
    )


PROPS_URL = re.compile(r"http://[^/]+/props$")
TOKENIZE_URL = re.compile(r"http://[^/]+/tokenize$")


def fake_tokens(text: str) -> list[int]:
    """A stand-in tokenizer: one token per 4 characters, rounded up."""
    return list(range(-(-len(text) // 4)))


def answer_as_llama_cpp(httpx_mock: Any, settings: dict[str, int], *, prefill: bool = True) -> None:
    """/props, /tokenize and (with ``prefill``) the prompt's prefill, as llama-server."""
    import json

    import httpx

    def props(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"default_generation_settings": dict(settings)})

    def tokenize(request: httpx.Request) -> httpx.Response:
        content = json.loads(request.content)["content"]
        return httpx.Response(200, json={"tokens": fake_tokens(content)})

    httpx_mock.add_callback(props, url=PROPS_URL, is_optional=True, is_reusable=True)
    httpx_mock.add_callback(tokenize, url=TOKENIZE_URL, is_optional=True, is_reusable=True)
    if prefill:
        # The prompt's prefill (n_predict 0): answered here, so that the responses a test
        # adds for the chat URL are left for the requests proper.
        httpx_mock.add_response(
            url=CHAT_URL,
            match_json=PrefillBody(),
            json=completion(""),
            is_optional=True,
            is_reusable=True,
        )


CHAT_URL = re.compile(r"http://[^/]+/v1/chat/completions$")


class PrefillBody:
    """Equal to the JSON body of a prefill request (pytest-httpx compares with ``==``)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, dict) and other.get("n_predict") == 0

    __hash__ = None  # type: ignore[assignment]


def is_prefill(request: Any) -> bool:
    """Whether an httpx request recorded by pytest-httpx is a prompt prefill."""
    import json

    return PrefillBody() == json.loads(request.content or b"{}")


def built_request() -> Any:
    """The request the hook would send for what is staged in the current directory."""
    from commit_polish import deadline, hook, request

    ctx = hook.load_context()
    with deadline.within(ctx.cfg.ai.timeout):  # as the hook does: its steps end with it
        return request.build(ctx.cfg, hook.start_request(ctx)).request
