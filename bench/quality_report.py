"""docs/quality.md's results and docs/quality.png from the eval reports in docs/quality/.

Figures are recomputed here from the per-commit rows (pooled over the repositories, and per
repository), so that every number in the page comes from rows anyone can inspect.
"""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path
from typing import Any

from bench import png

START, END = "<!-- results:start -->", "<!-- results:end -->"
_TYPE = re.compile(r"^([a-z]+)(?:\([^()\s]+\))?!?: \S")
# Subjects of dependency bumps, as bots and people write them.
_BUMP = re.compile(r"\b(bump|update|upgrade)s?\b.*\b(from|to)\b", re.I)
LABELS = ("before", "facts", "after")  # facts: the first pass of issue 13 (9e82550)
Row = dict[str, Any]


def _type(subject: str) -> str | None:
    found = _TYPE.match(subject or "")
    return found.group(1) if found else None


def _pct(part: float, whole: float) -> float | None:
    return 100.0 * part / whole if whole else None


def metrics(rows: list[Row], conventional: list[Row]) -> dict[str, float | None]:
    """The issue's figures over ``rows``; type agreement over ``conventional`` (the rows
    of repositories whose history follows Conventional Commits)."""
    made = [r for r in rows if r.get("generated")]
    typed = [r for r in conventional if _type(r["human"])]
    tokens = [r["completion_tokens"] or 0 for r in rows if r.get("completion_tokens") is not None]
    tokens += [0 for r in rows if r.get("rule") and r.get("completion_tokens") is None]
    return {
        "commits": float(len(rows)),
        "well-formed %": _pct(sum(bool(r.get("valid")) for r in rows), len(rows)),
        "grounded %": _pct(sum(r.get("grounded") is True for r in made), len(made)),
        "type agreement %": _pct(
            sum(_type(r["human"]) == _type(r.get("generated", "")) for r in typed), len(typed)
        ),
        "B-Norm subject": statistics.fmean([r.get("b_norm", 0.0) for r in rows]) if rows else None,
        "B-Norm message": (
            statistics.fmean([r.get("b_norm_message", 0.0) for r in rows]) if rows else None
        ),
        "edit similarity %": (
            100 * statistics.fmean([r.get("edit_similarity", 0.0) for r in rows]) if rows else None
        ),
        "repeated bodies": float(sum(bool(r.get("repeats_line")) for r in rows)),
        "copied subjects": float(sum(bool(r.get("copied")) for r in rows)),
        "median generated tokens": float(statistics.median(tokens)) if tokens else None,
        "rule messages": float(sum(bool(r.get("rule")) for r in rows)),
    }


def load(results: Path, label: str) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((results / label).glob("*.json"))}


def _conventional_rows(reports: dict[str, dict[str, Any]]) -> list[Row]:
    return [
        row
        for report in reports.values()
        if report["summary"].get("conventional")
        for row in report["rows"]
    ]


def _cell(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def table(columns: dict[str, dict[str, float | None]]) -> list[str]:
    names = list(columns)
    keys = list(next(iter(columns.values())))
    lines = ["| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for key in keys:
        lines.append(f"| {key} | " + " | ".join(_cell(columns[n][key]) for n in names) + " |")
    return lines


def dependency_rows(reports: dict[str, dict[str, Any]]) -> list[Row]:
    return [r for rep in reports.values() for r in rep["rows"] if _BUMP.search(r["human"])]


def write(results: Path, docs: Path) -> None:
    runs = {label: load(results, label) for label in LABELS if (results / label).is_dir()}
    lines: list[str] = []
    pooled: dict[str, dict[str, float | None]] = {}
    for label, reports in runs.items():
        rows = [row for report in reports.values() for row in report["rows"]]
        pooled[label] = metrics(rows, _conventional_rows(reports))
    if pooled:
        lines += ["### All repositories, pooled", "", *table(pooled), ""]
    names = sorted({name for reports in runs.values() for name in reports})
    for name in names:
        columns = {}
        for label, reports in runs.items():
            if name in reports:
                rep = reports[name]
                conv = rep["rows"] if rep["summary"].get("conventional") else []
                columns[label] = metrics(rep["rows"], conv)
        bench = next(runs[label][name]["bench"] for label in runs if name in runs[label])
        style = "Conventional Commits" if columns and _is_conventional(runs, name) else "plain"
        lines += [
            f"### {name.replace('+', '/')} at {bench['commit'][:10]} ({style} history)",
            "",
            *table(columns),
            "",
        ]
    deps = load(results, "deps") if (results / "deps").is_dir() else {}
    if deps:
        rows = dependency_rows(deps)
        free = [r for r in rows if r.get("rule") and not r.get("completion_tokens")]
        lines += [
            "### Dependency bumps (bots kept: `--skip ''`)",
            "",
            f"{len(free)} of {len(rows)} dependency-bump commits got their message from the "
            "rules, with zero model tokens:",
            "",
            "| human subject | generated | rule | generated tokens |",
            "|---|---|---|---|",
            *(
                f"| {r['human']} | {r.get('generated') or '(none)'} | {r.get('rule') or '-'} | "
                f"{r.get('completion_tokens') or 0} |"
                for r in rows
            ),
            "",
        ]
    _replace(docs / "quality.md", "\n".join(lines))
    if len(pooled) >= 2:
        _plot(docs / "quality.png", pooled)


def _is_conventional(runs: dict[str, dict[str, dict[str, Any]]], name: str) -> bool:
    return any(bool(r[name]["summary"].get("conventional")) for r in runs.values() if name in r)


def _plot(path: Path, pooled: dict[str, dict[str, float | None]]) -> None:
    keys = [
        ("well-formed %", "formed"),
        ("grounded %", "grounded"),
        ("type agreement %", "type"),
        ("B-Norm subject", "b-norm"),
        ("edit similarity %", "edit sim"),
        ("median generated tokens", "tokens"),
    ]
    colors = {"before": (150, 150, 150), "facts": (255, 160, 60), "after": (31, 119, 180)}
    png.bars(
        path,
        [short for _key, short in keys],
        [
            (label, [values[key] or 0.0 for key, _short in keys], colors[label])
            for label, values in pooled.items()
        ],
        title="smollm2-135m on real histories: before, facts and after (pooled)",
    )


def _replace(page: Path, results: str) -> None:
    text = page.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    page.write_text(f"{head}{START}\n{results}\n{END}{tail}")
