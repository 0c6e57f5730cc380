"""The prepare-commit-msg flow: source rules first, then diff, prompt, model, message.

Everything that can decide "leave the file alone" runs before anything expensive: the skip
paths read one environment variable, the arguments, and at most two cheap git queries.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from commit_polish import config as config_mod
from commit_polish import git, message
from commit_polish.errors import CommitPolishError

if TYPE_CHECKING:
    from commit_polish.llm import Request

SOURCES_LEFT_ALONE = {"merge", "squash"}


@dataclass(frozen=True)
class Plan:
    mode: str  # "generate", "polish" or "regenerate"
    reason: str = ""


def resolve_source(
    source: str | None, sha: str | None, environ: dict[str, str]
) -> tuple[str | None, str | None]:
    """Arguments from git, or (under the pre-commit framework) from its variables."""
    if source is None:
        source = environ.get("PRE_COMMIT_COMMIT_MSG_SOURCE") or None
        sha = environ.get("PRE_COMMIT_COMMIT_OBJECT_NAME") or sha
    return source, sha


def plan(source: str | None, cfg: config_mod.Config) -> Plan | None:
    """What to do for this source, or None to leave the message file alone."""
    if source in (None, "", "template"):
        return Plan("generate")
    if source == "message":
        return Plan("polish") if cfg["on_message"] == "polish" else None
    if source == "commit":
        return Plan("regenerate") if cfg["on_amend"] == "regenerate" else None
    return None  # merge, squash, and anything git may add later


def _skip_requested(environ: dict[str, str]) -> bool:
    return environ.get("COMMIT_POLISH_SKIP", "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass
class Context:
    cfg: config_mod.Config
    root: Path | None


def load_context() -> Context:
    root = git.toplevel()
    return Context(cfg=config_mod.load(root), root=root)


def build_request(ctx: Context, *, draft: str = "") -> Request:
    """The model request for what is staged now."""
    from commit_polish import diff as diff_mod
    from commit_polish import llm, prompt

    cfg = ctx.cfg
    raw = git.staged_diff()
    summary = diff_mod.summarize(raw, budget=cfg["prompt_budget"], exclude=cfg["exclude"])
    template, _where = prompt.load_template(cfg["template"])
    opts = prompt.Options(
        style=cfg["style"],
        gitmoji=cfg["gitmoji"],
        language=cfg["language"],
        subject_max_length=cfg["subject_max_length"],
        body=cfg["body"],
    )
    omitted = (
        f"({summary.omitted_hunks} more hunks not shown: over the prompt budget)\n\n"
        if summary.omitted_hunks
        else ""
    )
    values = {
        "diff": summary.diff,
        "files": summary.files,
        "branch": git.branch() or "(detached)",
        "recent_commits": "\n".join(git.recent_subjects(5)) or "(none yet)",
        "draft": (
            f"Draft message written by the author (keep its meaning, improve it):\n{draft}\n\n"
            if draft
            else ""
        ),
        "omitted": omitted,
    }
    messages = prompt.build_messages(template=template, opts=opts, values=values)
    req = llm.Request(
        model=cfg["model"],
        messages=messages,
        api_base=cfg["api_base"],
        temperature=cfg["temperature"],
        max_tokens=cfg["max_tokens"],
        timeout=cfg["timeout"],
    )
    return req


def ask_model(ctx: Context, *, draft: str, comment: str) -> str:
    from commit_polish import llm

    req = build_request(ctx, draft=draft)
    status = LiveStatus(req.model) if sys.stderr.isatty() else None
    try:
        reply = llm.complete(req, status=status.update if status else None)
    finally:
        if status:
            status.clear()
    return message.clean_reply(
        reply.text,
        subject_max=ctx.cfg["subject_max_length"],
        comment=comment,
        body=ctx.cfg["body"],
    )


class LiveStatus:
    """A one-line status on a terminal's stderr, erased when done."""

    def __init__(self, model: str) -> None:
        self.model = model.split("/", 1)[-1]
        self.shown = False

    def update(self, elapsed: float) -> None:
        sys.stderr.write(f"\rcommit-polish: {self.model} is writing a message… {elapsed:.0f}s")
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def run_hook(
    msg_file: Path, source: str | None, sha: str | None, environ: dict[str, str]
) -> str | None:
    """Rewrite ``msg_file`` when the rules say so. Returns why it was left alone, or None.

    Raises CommitPolishError (or anything else) on failure, always before the file is
    touched: the only write is the final atomic rename.
    """
    if _skip_requested(environ):
        return "COMMIT_POLISH_SKIP is set"
    source, sha = resolve_source(source, sha, environ)
    if source in SOURCES_LEFT_ALONE:
        return f"{source} message kept"
    ctx = load_context()
    todo = plan(source, ctx.cfg)
    if todo is None:
        return f"{source} message kept"
    operation = git.operation_in_progress()
    if operation is not None:
        return f"{operation} in progress"
    if not git.has_staged_changes():
        return "nothing staged"
    original_bytes = msg_file.read_bytes()
    original = message.decode(original_bytes)
    comment = git.comment_string(original)
    draft = message.user_text(original, comment) if todo.mode != "generate" else ""
    # The prompt must be valid UTF-8 whatever bytes the user's draft holds.
    prompt_draft = message.encode(draft).decode("utf-8", "replace")
    new = ask_model(ctx, draft=prompt_draft, comment=comment)
    keep_old = draft if todo.mode == "regenerate" else None
    if todo.mode in ("polish", "regenerate") and not message.parse(original, comment).comment_lines:
        # No editor will open (git wrote no comment block): replace the text outright,
        # since comment lines would end up in the commit.
        keep_old = None
    if todo.mode == "generate":
        content = message.compose(new, original, comment)
    else:
        content = message.compose(new, _without_text(original, comment), comment, keep_old=keep_old)
    if message.decode(msg_file.read_bytes()) != original:
        raise CommitPolishError(
            "the message file changed while the model was working; left as it is"
        )
    message.write_atomic(msg_file, message.encode(content))
    return None


def _without_text(original: str, comment: str) -> str:
    parsed = message.parse(original, comment)
    head = "\n".join(parsed.comment_lines)
    return (head + "\n" if head else "") + parsed.tail


def _strict(environ: dict[str, str]) -> bool:
    try:
        return load_context().cfg.strict
    except Exception:
        return config_mod.strict_from_env(environ)


def main_hook(msg_file: Path, source: str | None, sha: str | None) -> int:
    """Run the hook and decide the exit code. Fails open unless strict mode is on."""
    environ = dict(os.environ)
    try:
        run_hook(msg_file, source, sha, environ)
        return 0
    except KeyboardInterrupt:
        problem = "interrupted; message left as git wrote it"
    except CommitPolishError as exc:
        problem = str(exc)
    except Exception as exc:  # a bug of ours must not cost anyone a commit
        problem = (
            f"internal error ({type(exc).__name__}: {exc}); message left as git wrote "
            "it (please report this; COMMIT_POLISH_SKIP=1 turns the hook off)"
        )
    if _strict(environ):
        sys.stderr.write(f"commit-polish: {problem} (strict mode: commit aborted)\n")
        return 1
    sys.stderr.write(f"commit-polish: {problem}\n")
    return 0


def exit_process(code: int) -> NoReturn:
    """End the hook process. A request abandoned at the time budget may still be running in
    a daemon thread; leave at once rather than let interpreter shutdown wait on it."""
    llm = sys.modules.get("commit_polish.llm")
    if llm is not None and llm.abandoned():
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(code)
    sys.exit(code)


def generate_for_stdout() -> str:
    """A message for what is staged, for ``commit-polish generate``."""
    if not git.has_staged_changes():
        raise CommitPolishError("nothing staged (stage changes with: git add)")
    return ask_model(load_context(), draft="", comment=git.comment_string())
