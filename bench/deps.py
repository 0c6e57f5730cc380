"""Dependency bumps said by rule, on real histories: no model, no server.

    .venv/bin/python -m bench.deps [--last N] [--json] REPO_DIR [REPO_DIR ...]

Each bot commit (author dependabot or renovate) of each REPO_DIR (a clone or bare mirror)
is staged against its parent in a throwaway worktree of a shared clone, as ``eval`` does,
and ``request.read_staged`` (the hook's own diff, history and facts) and ``rules.apply``
run on it. Counted: commits that get a rule message, whose subject equals the bot's exactly,
and equals it up to the Conventional Commits type and scope. The pull request number a
squash merge appends (`` (#2050)``) is not the bot's and is left out of the comparison.
With ``--json`` each repository's rows go to docs/quality/bots/<repo>-<label>.json.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "quality" / "deps"
BOTS = r"dependabot|renovate"
_PR = re.compile(r" \(#\d+\)$")
_LEAD = re.compile(r"^[a-z]+(?:\([^()]*\))?!?: ")


def _name(source: Path) -> str:
    parts = source.resolve().parts
    return parts[-2] if parts[-1] == "repo" and len(parts) > 1 else parts[-1]


def bare(subject: str) -> str:
    """A subject without the merge's PR number and without its type and scope."""
    return _LEAD.sub("", _PR.sub("", subject), count=1)


def replay(source: Path, last: int) -> list[dict[str, Any]]:
    from commit_polish import config, evaluate, git, request, rules

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="commit-polish-deps-") as tmp:
        clone = Path(tmp) / "repo"
        subprocess.run(
            ["git", "clone", "-q", "--shared", "--no-checkout", str(source), str(clone)],
            check=True,
        )
        log = git.text(
            [
                *("log", f"-n{last}", "--no-merges", "-E", f"--author={BOTS}"),
                "--format=%H %P%x00%s",
            ],
            cwd=clone,
        )
        commits = [line.split("\0", 1) for line in log.splitlines() if line]
        cfg = config.defaults()
        with (
            evaluate.throwaway_worktree(clone, "HEAD") as worktree,
            evaluate._inside(worktree),
        ):
            for shas, subject in commits:
                sha, *parents = shas.split()
                if not parents:
                    continue
                git.stage_commit(sha, parents[0], worktree)
                staged = request.read_staged(cfg)
                found = rules.apply(staged.facts, staged.shape)
                ours = found.text.split("\n", 1)[0] if found else ""
                rows.append(
                    {
                        "sha": sha,
                        "bot": subject,
                        "rule": found.name if found else None,
                        "ours": ours,
                        "exact": bool(ours) and ours == _PR.sub("", subject),
                        "up_to_type": bool(ours) and bare(ours) == bare(subject),
                    }
                )
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {
        "commits": len(rows),
        "rule": sum(r["rule"] is not None for r in rows),
        "exact": sum(r["exact"] for r in rows),
        "up_to_type": sum(r["up_to_type"] for r in rows),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sources", nargs="+", type=Path)
    parser.add_argument("--last", type=int, default=300, help="bot commits per repository")
    parser.add_argument("--label", default="after", help="the name the JSON is kept under")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    for source in args.sources:
        rows = replay(source, args.last)
        counts = summary(rows)
        print(f"{_name(source)}: {counts}", file=sys.stderr)
        if args.json:
            RESULTS.mkdir(parents=True, exist_ok=True)
            out = RESULTS / f"{_name(source)}-{args.label}.json"
            out.write_text(json.dumps({"summary": counts, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
