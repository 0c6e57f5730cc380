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
import math
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from commit_polish import git
from commit_polish.errors import CommitPolishError, GitError, Unusable
from commit_polish.form import CONVENTIONAL
from commit_polish.style import HISTORY, Shape, learn, split_ticket

if TYPE_CHECKING:
    from commit_polish import hook
    from commit_polish.validate import Generation

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
    return (cc_parts(subject) or (None, None))[0]


def cc_parts(subject: str) -> tuple[str, str | None] | None:
    """(type, scope) of a Conventional Commits ``subject``, or None when it is not one."""
    match = CONVENTIONAL.match(split_ticket(subject)[2])
    return (match.group("type"), match.group("scope")) if match else None


# B-Norm, the BLEU that MCMD (Tao et al., ICSME 2021, metrics/B-Norm.py in
# DeepSoftwareAnalytics/CommitMsgEmpirical) and CommitChronicle (Eliseeva et al., ASE 2023,
# reusing the same bleuFromMaps/splitPuncts) report; CodeXGLUE's code-to-text smooth_bleu.py is
# the same code. Tokens: that script's splitPuncts (``[\w]+|[^\s\w]`` on the lowercased text),
# then its mteval normalize(), which on already split text only pads "_": so words split at
# underscores. Not nltk's word_tokenize.
_BNORM_TOKEN = re.compile(r"[^\W_]+|[^\w\s]|_")
BLEU_ORDER = 4


def bnorm_tokens(text: str) -> list[str]:
    return _BNORM_TOKEN.findall(text.strip().lower())


def _ngrams(words: list[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def b_norm(reference: str, candidate: str) -> float:
    """Sentence BLEU-4 of ``candidate`` against ``reference`` as B-Norm computes it, 0..100:
    add-one smoothing for 2- to 4-grams only, brevity penalty exp(min(0, 1 - (r+1)/(c+1)))."""
    ref, cand = bnorm_tokens(reference), bnorm_tokens(candidate)
    tiny = sys.float_info.min  # the reference's guard against log(0): a miss costs ~e^-177
    log_sum = 0.0
    for n in range(1, BLEU_ORDER + 1):
        ref_counts, cand_counts = _ngrams(ref, n), _ngrams(cand, n)
        correct = sum(min(c, ref_counts[g]) for g, c in cand_counts.items())
        guess = max(len(cand) - n + 1, 0)
        smooth = 1 if n > 1 else 0
        log_sum += math.log(correct + smooth + tiny) - math.log(guess + smooth + tiny)
    brevity = min(0.0, 1 - (len(ref) + 1) / (len(cand) + 1))
    return 100 * math.exp(log_sum / BLEU_ORDER + brevity)


# Edit distance is quadratic: texts are compared on their first characters only.
EDIT_CHARS = 1000


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def edit_similarity(reference: str, candidate: str) -> float:
    """1 - Levenshtein distance / the longer length, in characters (1.0 for two empties)."""
    a, b = reference[:EDIT_CHARS], candidate[:EDIT_CHARS]
    longest = max(len(a), len(b))
    return 1 - levenshtein(a, b) / longest if longest else 1.0


def repeats_line(text: str) -> bool:
    """Whether a non-blank line of ``text`` comes twice: a body that says its subject or a
    bullet again (a small model stuck in a loop)."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    return len(set(lines)) < len(lines)


# The subject of a message is its first line, as git's %s is.
def subject_of(message: str) -> str:
    return message.split("\n", 1)[0]


@dataclass
class Row:
    sha: str
    human: str  # subject
    generated: str = ""  # subject
    human_message: str = ""  # whole, without git trailers
    generated_message: str = ""
    valid: bool = False
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None  # of every reply, the repair's included
    grounded: bool | None = None  # None: nothing generated
    rule: str | None = None  # the rule that rejected a reply, when the Generation names one
    error: str = ""
    # Scores, filled by summarize().
    b_norm: float = 0.0
    b_norm_message: float = 0.0
    edit_similarity: float = 0.0
    edit_similarity_message: float = 0.0
    repeats_line: bool = False


@dataclass
class Report:
    model: str
    template: str
    rows: list[Row]
    skipped: int = 0  # commits left out by --skip
    skip: str = ""
    valid_rate: float = 0.0
    mean_subject_length: float = 0.0
    type_agreement: float | None = None  # None: no human subject is conventional
    scope_agreement: float | None = None
    type_compared: int = 0
    rouge_l_f1: float = 0.0
    b_norm: float = 0.0  # subjects, mean of sentence scores, 0..100
    b_norm_message: float = 0.0  # whole messages
    edit_similarity: float = 0.0
    edit_similarity_message: float = 0.0
    repeated_bodies: int = 0
    median_completion_tokens: float | None = None
    grounded_rate: float | None = None  # over rows with a generated subject
    rule_hits: dict[str, int] = field(default_factory=dict)
    conventional: bool | None = None  # the history's style; None: not known


def _score(row: Row) -> None:
    row.b_norm = b_norm(row.human, row.generated)
    row.b_norm_message = b_norm(row.human_message, row.generated_message)
    row.edit_similarity = edit_similarity(row.human, row.generated)
    row.edit_similarity_message = edit_similarity(row.human_message, row.generated_message)
    row.repeats_line = repeats_line(row.generated_message)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def summarize(report: Report) -> Report:
    rows = report.rows
    if not rows:
        return report
    for row in rows:
        _score(row)
    report.valid_rate = sum(r.valid for r in rows) / len(rows)
    made = [r.generated for r in rows if r.generated]
    report.mean_subject_length = _mean([len(s) for s in made])
    report.rouge_l_f1 = _mean([rouge_l(r.human, r.generated) for r in rows])
    report.b_norm = _mean([r.b_norm for r in rows])
    report.b_norm_message = _mean([r.b_norm_message for r in rows])
    report.edit_similarity = _mean([r.edit_similarity for r in rows])
    report.edit_similarity_message = _mean([r.edit_similarity_message for r in rows])
    report.repeated_bodies = sum(r.repeats_line for r in rows)
    _agreement(report)
    counts = [r.completion_tokens for r in rows if r.completion_tokens is not None]
    report.median_completion_tokens = statistics.median(counts) if counts else None
    judged = [r.grounded for r in rows if r.grounded is not None]
    report.grounded_rate = sum(judged) / len(judged) if judged else None
    report.rule_hits = dict(Counter(r.rule for r in rows if r.rule).most_common())
    return report


def _agreement(report: Report) -> None:
    """Type and scope agreement over the rows whose human subject is conventional."""
    pairs = [(cc_parts(r.human), cc_parts(r.generated)) for r in report.rows]
    known = [(h, g or (None, None)) for h, g in pairs if h]
    report.type_compared = len(known)
    if known:
        report.type_agreement = sum(h[0] == g[0] for h, g in known) / len(known)
        report.scope_agreement = sum(h == g for h, g in known) / len(known)


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


# Commits no person wrote, left out unless --skip says otherwise; matched against the author
# ("Name <email>") and the subject: bot accounts, and release or version bumps.
DEFAULT_SKIP = (
    r"(?i)\[bot\]"
    r"|^v?\d+(\.\d+)+\S*$"
    r"|^(release|bump version|prepare release)\b.*\d"
    r"|^chore\(release\)"
    r"|^bump \S+ from \S+ to \S+"
    r"|^\[pre-commit\.ci\]"
)
SCAN = 4  # commits looked at per commit replayed, to find enough that are not skipped


def skipped(commit: git.Logged, skip: re.Pattern[str] | None) -> bool:
    if skip is None:
        return False
    return bool(skip.search(commit.author) or skip.search(subject_of(commit.message)))


def pick(
    commits: list[git.Logged], last: int, skip: re.Pattern[str] | None
) -> tuple[list[git.Logged], int]:
    """The newest ``last`` commits not skipped, and how many were skipped on the way."""
    kept: list[git.Logged] = []
    left_out = 0
    for commit in commits:
        if len(kept) == last:
            break
        if skipped(commit, skip):
            left_out += 1
        else:
            kept.append(commit)
    return kept, left_out


def without_trailers(message: str, trailers: list[str]) -> str:
    """``message`` without its trailer paragraph (Signed-off-by: …), which git, not the
    model, writes: the hook keeps the user's."""
    body, sep, _last = message.rpartition("\n\n")
    return body.rstrip("\n") if trailers and sep else message


# Whether a generated subject is grounded in the change it describes.
Grounded = Callable[[str, Shape], bool]


def in_the_facts(subject: str, shape: Shape) -> bool:
    """Whether the subject names a definition, file, directory or package of the change
    (``facts.grounded``), the same judge the hook's validation uses."""
    from commit_polish import facts

    return shape.facts is not None and facts.grounded(subject, shape.facts)


def _fill(row: Row, result: Generation, grounded: Grounded) -> None:
    row.generated_message = result.text
    row.generated = subject_of(result.text)
    row.prompt_tokens = result.prompt_tokens
    counts = [r.completion_tokens for r in result.replies if r.completion_tokens is not None]
    row.completion_tokens = sum(counts) if counts else None
    row.problems = list(result.problems)
    row.valid = bool(result.text) and not row.problems
    row.rule = getattr(result, "rule", None)
    if row.generated and result.shape is not None:
        row.grounded = grounded(row.generated, result.shape)


def run(
    *,
    last: int = 10,
    model: str | None = None,
    template: str | None = None,
    skip: str = DEFAULT_SKIP,
    grounded: Grounded = in_the_facts,
    progress: Callable[[Row], object] | None = None,
) -> Report:
    """Replay the last ``last`` commits of the repository in the current directory, leaving
    out those whose author or subject ``skip`` matches (an empty ``skip`` keeps all)."""
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
    pattern = re.compile(skip) if skip else None
    commits, left_out = pick(git.log_commits(last * SCAN, cwd=root), last, pattern)
    if not commits:
        raise CommitPolishError(
            f"no commits with a parent to replay on this branch ({left_out} skipped by --skip)"
        )
    report = Report(
        model=cfg.ai.model,
        template=cfg.message.template or "built-in",
        rows=[],
        skipped=left_out,
        skip=skip,
    )
    report.conventional = learn(git.recent_subjects(HISTORY, cwd=root)).conventional
    with throwaway_worktree(root, commits[0].parent) as worktree, _inside(worktree):
        ctx = hook.Context(cfg=cfg, root=worktree)
        hook.destination(ctx)  # refuse a remote server before anything is read
        _load_request_code(ctx)
        for commit in commits:
            git.stage_commit(commit.sha, commit.parent, worktree)
            message = without_trailers(commit.message, git.trailers(commit.message))
            row = Row(sha=commit.sha, human=subject_of(message), human_message=message)
            started = time.monotonic()
            result: Generation | None
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
                _fill(row, result, grounded)
            report.rows.append(row)
            if progress is not None:
                progress(row)
    return summarize(report)


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def _of(rate: float | None, count: int, none: str) -> str:
    return f"{_pct(rate)} of {count}" if rate is not None else none


def render(report: Report) -> str:
    lines = [f"model {report.model}, template {report.template}", ""]
    lines.append("commit   valid   secs  tokens  B-Norm  human / generated subject")
    for row in report.rows:
        tokens_text = str(row.prompt_tokens) if row.prompt_tokens is not None else "-"
        lines.append(
            f"{row.sha[:7]}  {'yes' if row.valid else 'no':<5} {row.seconds:6.1f}  "
            f"{tokens_text:>6}  {row.b_norm:6.1f}  {row.human}"
        )
        lines.append(f"{'':40}{row.generated or '(none)'}")
        if row.error:
            lines.append(f"{'':40}! {row.error}")
        elif row.problems:
            lines.append(f"{'':40}! {row.problems[0]}")
    return "\n".join([*lines, "", *_summary_lines(report)])


def _summary_lines(report: Report) -> list[str]:
    n = len(report.rows)
    compared = report.type_compared
    no_cc = "n/a (no human subject is conventional)"
    judged = sum(r.grounded is not None for r in report.rows)
    tokens_text = (
        f"median {report.median_completion_tokens:g}"
        if report.median_completion_tokens is not None
        else "n/a (the server did not say)"
    )
    hits = ", ".join(f"{rule} {count}" for rule, count in report.rule_hits.items())
    skip = (
        f" ({report.skipped} skipped by --skip)" if report.skip else " (--skip '': none left out)"
    )
    return [
        f"commits replayed     {n}{skip}",
        f"format-valid         {_pct(report.valid_rate)}",
        f"mean subject length  {report.mean_subject_length:.1f}",
        f"type agreement       {_of(report.type_agreement, compared, no_cc)}",
        f"scope agreement      {_of(report.scope_agreement, compared, no_cc)}",
        f"B-Norm               subject {report.b_norm:.1f}, message {report.b_norm_message:.1f}",
        f"edit similarity      subject {report.edit_similarity:.2f}, "
        f"message {report.edit_similarity_message:.2f}",
        f"ROUGE-L F1           {report.rouge_l_f1:.2f}",
        f"repeated bodies      {report.repeated_bodies} of {n}",
        f"generated tokens     {tokens_text}",
        f"grounded             {_of(report.grounded_rate, judged, 'n/a (nothing generated)')}",
        f"rule hits            {hits or 'none'}",
    ]


SUMMARY_KEYS = (
    "valid_rate",
    "mean_subject_length",
    "type_agreement",
    "scope_agreement",
    "type_compared",
    "rouge_l_f1",
    "b_norm",
    "b_norm_message",
    "edit_similarity",
    "edit_similarity_message",
    "repeated_bodies",
    "median_completion_tokens",
    "grounded_rate",
    "rule_hits",
    "conventional",
    "skipped",
    "skip",
)


def as_json(report: Report) -> dict[str, Any]:
    data = asdict(report)
    data["summary"] = {key: data.pop(key) for key in SUMMARY_KEYS}
    data["summary"]["commits"] = len(report.rows)
    return data
