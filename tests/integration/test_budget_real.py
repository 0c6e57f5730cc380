"""Issue 6 against the real llama-server: a huge diff still fits the server's context."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from bench.diffs import make_repo
from dev.realserver import RealServer


def test_20000_line_diff_fits_the_servers_context(real_server: RealServer, tmp_path: Path) -> None:
    # 667 files with three rewritten 5-line blocks each: many small hunks, as in real work.
    repo = tmp_path / "big"
    assert make_repo(repo, 20_000) == 20_000
    n_ctx = httpx.get(f"{real_server.base_url}/props").json()["default_generation_settings"][
        "n_ctx"
    ]
    msg = repo / ".git" / "COMMIT_EDITMSG"
    msg.write_text("\n# git's comment\n")
    stats = tmp_path / "stats.jsonl"
    env = {
        **os.environ,
        "COMMIT_POLISH_API_BASE": real_server.api_base,
        "COMMIT_POLISH_MODEL": "llamafile/smollm2",
        "COMMIT_POLISH_MAX_TOKENS": "48",
        # Greedy: the tiny model at 0.2 sometimes echoed this big diff twice, and strict
        # mode (which shows any failure, such as a context overflow) then aborted.
        "COMMIT_POLISH_TEMPERATURE": "0",
        "COMMIT_POLISH_TIMEOUT": "600",
        # Far above what the context holds: the server's n_ctx must be what limits it.
        "COMMIT_POLISH_PROMPT_BUDGET": "1000000",
        "COMMIT_POLISH_TARGET_SECONDS": "600",  # and so must the time budget
        "COMMIT_POLISH_STRICT": "1",
        "COMMIT_POLISH_STATS": str(stats),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "commit_polish", "hook", str(msg)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    record = json.loads(stats.read_text().splitlines()[-1])
    assert record["cache_prompt"] is True
    # Fits, and uses the context: hunks fill the room the server reported.
    assert 0.5 * n_ctx < record["prompt_tokens"] + 48 <= n_ctx
    # The prompt was read into the server's cache while LiteLLM was still being imported
    # (the prefill): the request proper found nearly all of it there.
    assert record["cached_tokens"] >= 0.9 * record["prompt_tokens"]
    assert not msg.read_text().startswith("\n#")  # a message was written above the comment
