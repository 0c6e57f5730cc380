"""``commit-polish eval``: replay recent commits and compare generated subjects with the
human ones.

Each of the last N non-merge commits is staged, as a change against its parent, in a
throwaway detached worktree (no files checked out: only its index and HEAD matter), and a
message is generated through the hook's own code path. The user's work tree, index, branches
and worktree list are never touched; the worktree is removed afterwards, also on errors and
Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from commit_polish import git
from commit_polish.errors import CommitPolishError, GitError, Unusable
from commit_polish.form import CONVENTIONAL
from commit_polish.style import HISTORY, learn, split_ticket

if TYPE_CHECKING:
    from commit_polish import hook

# Variables that would point git at the user's repository instead of the worktree.
_REPO_VARIABLES = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_PREFIX",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
)


def tokens(text: str) -> list[str]:
    """Lowercase word tokens."""
    return re.findall(r"\w+", text.lower())


def lcs_length(a: list[str], b: list[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(reference: str, candidate: str) -> float:
    """ROUGE-L F1 of ``candidate`` against ``reference`` (LCS of lowercase word tokens)."""
    ref, cand = tokens(reference), tokens(candidate)
    lcs = lcs_length(ref, cand)
    if not lcs:
        return 0.0
    precision, recall = lcs / len(cand), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


def cc_type(subject: str) -> str | None:
    """The Conventional Commit type of ``subject`` (a leading ticket id skipped), or None."""
    match = CONVENTIONAL.match(split_ticket(subject)[2])
    return match.group("type") if match else None


@dataclass
class Row:
    sha: str
    human: str
    generated: str = ""
    valid: bool = False
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    prompt_tokens: int | None = None
    error: str = ""


@dataclass
class Report:
    model: str
    template: str
    rows: list[Row]
    valid_rate: float = 0.0
    mean_subject_length: float = 0.0
    type_agreement: float | None = None  # None: the repository does not use them
    type_compared: int = 0
    rouge_l_f1: float = 0.0
    conventional: bool = False  # whether the repository's history uses Conventional Commits


def summarize(report: Report) -> Report:
    rows = report.rows
    if not rows:
        return report
    report.valid_rate = sum(r.valid for r in rows) / len(rows)
    made = [r.generated for r in rows if r.generated]
    report.mean_subject_length = sum(len(s) for s in made) / len(made) if made else 0.0
    report.rouge_l_f1 = sum(rouge_l(r.human, r.generated) for r in rows) / len(rows)
    if report.conventional:
        pairs = [(cc_type(r.human), cc_type(r.generated)) for r in rows if cc_type(r.human)]
        report.type_compared = len(pairs)
        if pairs:
            report.type_agreement = sum(h == g for h, g in pairs) / len(pairs)
    return report


@contextlib.contextmanager
def _inside(path: Path) -> Iterator[None]:
    """The process works in ``path`` with no GIT_* variable pointing elsewhere (the hook's
    code path runs git in the current directory)."""
    saved = {k: os.environ.pop(k) for k in _REPO_VARIABLES if k in os.environ}
    cwd = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(cwd)
        os.environ.update(saved)


@contextlib.contextmanager
def throwaway_worktree(root: Path, commit: str) -> Iterator[Path]:
    """A detached worktree of ``root``'s repository, removed on the way out whatever
    happens (Ctrl-C included)."""
    base = Path(tempfile.mkdtemp(prefix="commit-polish-eval-"))
    path = base / "worktree"
    try:
        git.worktree_add(path, commit, cwd=root)
        yield path
    finally:
        try:
            git.worktree_remove(path, cwd=root)
        finally:
            shutil.rmtree(base, ignore_errors=True)


def _load_request_code(ctx: hook.Context) -> None:
    """LiteLLM's import (seconds) done before the first row's clock starts, so that rows
    time what each commit costs. A server that is down leaves it to the first row's line."""
    from commit_polish import hook, llm

    with contextlib.suppress(CommitPolishError):
        hook.start_request(ctx)
        llm.finish_prewarm()


def run(
    *,
    last: int = 10,
    model: str | None = None,
    template: str | None = None,
    progress: Callable[[Row], object] | None = None,
) -> Report:
    """Replay the last ``last`` commits of the repository in the current directory."""
    from commit_polish import config as config_mod
    from commit_polish import hook, prompt

    root = git.toplevel()
    if root is None:
        raise GitError("not in a git repository (run commit-polish eval inside one)")
    cfg = config_mod.load(root)
    if model:
        cfg = config_mod.with_values(cfg, {"model": model}, "--model")
    if template is not None:
        prompt.load_template(template)  # a bad template is an error before any work
        cfg = config_mod.with_values(cfg, {"template": template}, "--template")
    commits = git.log_commits(last, cwd=root)
    if not commits:
        raise CommitPolishError("no commits with a parent to replay on this branch")
    report = Report(model=cfg.ai.model, template=cfg.message.template or "built-in", rows=[])
    report.conventional = bool(learn(git.recent_subjects(HISTORY, cwd=root)).conventional)
    with throwaway_worktree(root, commits[0][1]) as worktree, _inside(worktree):
        ctx = hook.Context(cfg=cfg, root=worktree)
        hook.destination(ctx)  # refuse a remote server before anything is read
        _load_request_code(ctx)
        for sha, parent, subject in commits:
            git.stage_commit(sha, parent, worktree)
            row = Row(sha=sha, human=subject)
            started = time.monotonic()
            try:
                result = hook.generate(ctx, draft="", comment="#")
            except Unusable as exc:
                result = exc.generation
                row.error = str(exc)
            except CommitPolishError as exc:
                result = None
                row.error = str(exc)
            row.seconds = round(time.monotonic() - started, 3)
            if result is not None:
                row.generated = result.text.split("\n", 1)[0]
                row.prompt_tokens = result.prompt_tokens
                row.problems = list(result.problems)
                row.valid = bool(result.text) and not row.problems
            report.rows.append(row)
            if progress is not None:
                progress(row)
    return summarize(report)


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def render(report: Report) -> str:
    lines = [f"model {report.model}, template {report.template}", ""]
    lines.append("commit   valid   secs  tokens  human / generated subject")
    for row in report.rows:
        tokens_text = str(row.prompt_tokens) if row.prompt_tokens is not None else "-"
        lines.append(
            f"{row.sha[:7]}  {'yes' if row.valid else 'no':<5} {row.seconds:6.1f}  "
            f"{tokens_text:>6}  {row.human}"
        )
        lines.append(f"{'':32}{row.generated or '(none)'}")
        if row.error:
            lines.append(f"{'':32}! {row.error}")
        elif row.problems:
            lines.append(f"{'':32}! {row.problems[0]}")
    lines.append("")
    agreement = (
        f"{_pct(report.type_agreement)} of {report.type_compared}"
        if report.type_agreement is not None
        else "n/a (not a Conventional Commits repository)"
    )
    lines += [
        f"commits replayed     {len(report.rows)}",
        f"format-valid         {_pct(report.valid_rate)}",
        f"mean subject length  {report.mean_subject_length:.1f}",
        f"type agreement       {agreement}",
        f"ROUGE-L F1           {report.rouge_l_f1:.2f}",
    ]
    return "\n".join(lines)


def as_json(report: Report) -> dict[str, Any]:
    data = asdict(report)
    data["summary"] = {
        key: data.pop(key)
        for key in (
            "valid_rate",
            "mean_subject_length",
            "type_agreement",
            "type_compared",
            "rouge_l_f1",
            "conventional",
        )
    }
    data["summary"]["commits"] = len(report.rows)
    return data
