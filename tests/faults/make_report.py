"""Run the fault suite and write docs/reliability.md from what it observed.

    .venv/bin/python tests/faults/make_report.py            # run tests/faults, write the doc
    .venv/bin/python tests/faults/make_report.py --from results.json   # render only

The table is never written by hand: each fault test records (fault, expected, observed)
through ``record_property``; ``tests/faults/conftest.py`` collects the rows into the JSON file
named by $RELIABILITY_RESULTS, and this script renders them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"

HEADER = """\
# Reliability: every fault tried, and what happened

commit-polish promises to keep code on this machine and never to cost anyone a commit. The
fault suite (`tests/faults/`) checks both the way a hostile world would: it runs **real
`git commit`s through the installed hook** against a stand-in server that misbehaves on
purpose (or, where noted, the hook in-process), and asserts what a user would expect:
the commit goes on (or stops only where git itself must), the message file is git's or
ours but never a mix, the user's own words are never lost, and the hook says what happened
in one line.

This page is generated from the suite's own observations; do not edit the table by hand.
Regenerate it with:

    .venv/bin/python tests/faults/make_report.py

Ports and temporary paths are replaced by `PORT` and `<tmp>`; times are wall-clock seconds
on the machine that ran the suite.

| Fault | Expected | Observed | Result |
| --- | --- | --- | --- |
"""


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(rows: list[dict[str, str]]) -> str:
    lines = [
        f"| {cell(r['fault'])} | {cell(r['expected'])} | {cell(r['observed'])} | "
        f"{'pass' if r['outcome'] == 'passed' else '**' + r['outcome'].upper() + '**'} |"
        for r in rows
    ]
    passed = sum(r["outcome"] == "passed" for r in rows)
    return HEADER + "\n".join(lines) + f"\n\n{passed} of {len(rows)} faults behaved as expected.\n"


def run_suite(results: Path) -> int:
    env = {**os.environ, "RELIABILITY_RESULTS": str(results)}
    cmd = [sys.executable, "-m", "pytest", "tests/faults", "-q", "-p", "no:cacheprovider"]
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--from", dest="source", type=Path, help="render this results JSON")
    parser.add_argument("--output", type=Path, default=DOC)
    args = parser.parse_args(argv)
    code = 0
    if args.source is not None:
        rows = json.loads(args.source.read_text())
    else:
        with tempfile.TemporaryDirectory() as tmp:
            results = Path(tmp) / "results.json"
            code = run_suite(results)
            if not results.exists():
                print("the suite wrote no results", file=sys.stderr)
                return code or 1
            rows = json.loads(results.read_text())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(rows))
    print(f"wrote {args.output} ({len(rows)} faults)")
    return code


if __name__ == "__main__":
    sys.exit(main())
