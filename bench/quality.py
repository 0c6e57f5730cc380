"""Message quality on real histories: ``commit-polish eval`` against llama-server + SmolLM2.

    .venv/bin/python -m bench.quality --label after REPO_DIR [REPO_DIR ...]
    .venv/bin/python -m bench.quality --render     # docs/quality.md and docs/quality.png

Each REPO_DIR (a local clone or bare mirror of a public repository) is cloned afresh into a
temporary directory and its last ``--last`` commits are replayed by ``commit-polish eval``,
run as a subprocess of the Python running this script: run it from another checkout's
virtualenv to measure that checkout's code. Each run's JSON report is kept in
docs/quality/<label>/<repo>.json, with the repository's commit, so that a figure in
docs/quality.md can always be traced to the run that produced it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RESULTS = DOCS / "quality"
CTX = 4096


def _git(*args: str, cwd: Path | None = None) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def _name(source: Path) -> str:
    """owner+name from a mirror's path (…/owner+name/repo), else the directory's name."""
    parts = source.resolve().parts
    return parts[-2] if parts[-1] == "repo" and len(parts) > 1 else parts[-1]


def _code_version() -> str:
    """The commit of the commit-polish being measured (the one sys.executable imports)."""
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import commit_polish, os; print(os.path.dirname(commit_polish.__file__))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    dirty = _git("status", "--porcelain", "--untracked-files=no", cwd=Path(where))
    return _git("rev-parse", "--short", "HEAD", cwd=Path(where)) + ("+dirty" if dirty else "")


def _mark_copies(report: dict[str, Any], clone: Path) -> None:
    """Mark each row whose generated subject is one of the 200 subjects before its commit:
    an example copied from the history, which describes another change."""
    for row in report["rows"]:
        earlier = _git("log", "-n", "200", "--format=%s", f"{row['sha']}^", cwd=clone)
        row["copied"] = bool(row.get("generated")) and row["generated"] in earlier.splitlines()


def replay(
    source: Path, *, last: int, label: str, api_base: str, alias: str, skip: str | None
) -> Path:
    """Run eval on a fresh clone of ``source``; return the JSON file written."""
    name = _name(source)
    with tempfile.TemporaryDirectory(prefix="commit-polish-quality-") as tmp:
        clone = Path(tmp) / "repo"
        _git("clone", "-q", "--no-hardlinks", str(source), str(clone))
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "COMMIT_"))},
            "COMMIT_POLISH_HOME": str(Path(tmp) / "home"),
            "COMMIT_POLISH_API_BASE": api_base,
            "COMMIT_POLISH_MODEL": f"llamafile/{alias}",
            # The server is shared by nothing else: a slow CPU must not turn rows into timeouts.
            "COMMIT_POLISH_TIMEOUT": "300",
            # The context is the limit here, as in the runs before the time budget existed:
            # how fast this machine happens to be must not change what the model reads
            # (bench.run's target section measures the budget).
            "COMMIT_POLISH_TARGET_SECONDS": "3600",
        }
        started = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                *("-m", "commit_polish", "eval", "--last", str(last), "--json"),
                *(("--skip", skip) if skip is not None else ()),
            ],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise SystemExit(f"eval failed on {name}: {proc.stderr.strip()[-2000:]}")
        report = json.loads(proc.stdout)
        _mark_copies(report, clone)
        report["bench"] = {
            "repository": name,
            "commit": _git("rev-parse", "HEAD", cwd=clone),
            "label": label,
            "last": last,
            "code": _code_version(),
            "date": datetime.date.today().isoformat(),
            "wall_seconds": round(time.monotonic() - started, 1),
        }
    out = RESULTS / label / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    return out


def run_all(sources: list[Path], *, last: int, label: str, skip: str | None) -> None:
    sys.path.insert(0, str(ROOT))
    from dev.realserver import RealServer, llama_server_binary, smollm2_gguf

    alias = "smollm2-135m"
    with RealServer(llama_server_binary(), smollm2_gguf(), ctx=CTX, alias=alias) as server:
        for source in sources:
            out = replay(
                source, last=last, label=label, api_base=server.api_base, alias=alias, skip=skip
            )
            print(f"{source}: {out.relative_to(ROOT)}", file=sys.stderr)


def regrade(sources: list[Path], label: str) -> None:
    """Judge every row's groundedness again with this checkout's ``facts.grounded``, on the
    commit's own diff: runs of older code judged it their own way, and a before/after
    comparison needs one judge."""
    from commit_polish import diff, facts

    for source in sources:
        out = RESULTS / label / f"{_name(source)}.json"
        report = json.loads(out.read_text())
        for row in report["rows"]:
            raw = subprocess.run(
                [
                    *("git", "-C", str(source), "diff", "--no-color", "--no-ext-diff"),
                    *("--no-textconv", "--src-prefix=a/", "--dst-prefix=b/"),
                    *(f"{row['sha']}^", row["sha"]),
                ],
                capture_output=True,
                check=True,
            ).stdout[: 64 * 1024 * 1024]
            found = facts.gather(diff.parse(raw))
            row["grounded"] = bool(row.get("generated")) and facts.grounded(row["generated"], found)
        report.setdefault("bench", {})["graded_by"] = "facts.grounded at " + _code_version()
        out.write_text(json.dumps(report, indent=1) + "\n")


def load(label: str) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((RESULTS / label).glob("*.json"))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sources", nargs="*", type=Path)
    parser.add_argument("--label", default="after")
    parser.add_argument("--last", type=int, default=20)
    parser.add_argument("--skip", help="eval's --skip (default: eval's own, bots left out)")
    parser.add_argument("--regrade", action="store_true", help="judge groundedness again")
    parser.add_argument("--render", action="store_true")
    args = parser.parse_args(argv)
    if args.sources and args.regrade:
        regrade(args.sources, args.label)
    elif args.sources:
        run_all(args.sources, last=args.last, label=args.label, skip=args.skip)
    if args.render:
        from bench import quality_report

        quality_report.write(RESULTS, DOCS)


if __name__ == "__main__":
    main()
