"""start_request loads every module of ours that the request path needs, before LiteLLM's
background import starts: the two threads must never import at the same time. Checked in a
fresh interpreter (this test process has long imported everything)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from helpers import FakeLLMServer, git

CHILD = textwrap.dedent(
    """
    import json, sys
    from commit_polish import hook

    ctx = hook.load_context()
    hook.start_request(ctx)
    before = {name for name in sys.modules if name.startswith("commit_polish")}
    generation = hook.generate(ctx, draft="", comment="#")
    after = {name for name in sys.modules if name.startswith("commit_polish")}
    print(json.dumps({"text": generation.text, "late": sorted(after - before)}))
    """
)


def test_start_request_imports_the_whole_request_path(
    repo: Path, fake_server: FakeLLMServer
) -> None:
    (repo / "greet.py").write_text("def greet():\n    return 'hi'\n")
    git(repo, "add", "greet.py")
    result = subprocess.run(
        [sys.executable, "-c", CHILD],
        cwd=repo,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.splitlines()[-1])
    assert out == {"text": "feat: add greeting module", "late": []}
