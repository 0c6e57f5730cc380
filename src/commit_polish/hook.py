"""The prepare-commit-msg flow: source rules first, then diff, prompt, model, message.

Everything that can decide "leave the file alone" runs before anything expensive: the skip
paths read one environment variable, the arguments, and at most two cheap git queries.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from commit_polish import config as config_mod
from commit_polish import git, message
from commit_polish.errors import CommitPolishError

if TYPE_CHECKING:
    from commit_polish.budget import Fit
    from commit_polish.diff import Prepared
    from commit_polish.llm import Request
    from commit_polish.prompt import Options
    from commit_polish.validate import Generation

SOURCES_LEFT_ALONE = {"merge", "squash"}
# What building and sending a request imports of commit-polish (see start_request).
REQUEST_MODULES = ("backend", "budget", "diff", "grammar", "prompt", "redact", "style", "validate")


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
    shape: Any = None  # style.Shape of the last request built (issue 5)
    api_base: str | None = None  # once start_request has checked it


def load_context() -> Context:
    root = git.toplevel()
    return Context(cfg=config_mod.load(root), root=root)


def destination(ctx: Context) -> str:
    """The api_base the request goes to; LLMError unless it is on this machine or the user
    allowed remote servers. Nothing is read, imported or sent before this passes."""
    from commit_polish import llm, paths

    return llm.check_local(
        ctx.cfg["model"],
        ctx.cfg["api_base"],
        allow_remote=bool(ctx.cfg["allow_remote"]),
        config_file=str(paths.config_file()),
        environ=dict(os.environ),
    )


def start_request(ctx: Context) -> str:
    """The api_base, once it is allowed and something listens there (else LLMError); the
    checks run once per context.

    A request will then be sent, so LiteLLM's import, the bulk of the hook's time, starts
    now in the background and runs while the hook waits on git and on the server's probes.
    """
    if ctx.api_base is not None:
        return ctx.api_base
    import importlib

    from commit_polish import llm

    api_base = destination(ctx)
    llm.check_listening(api_base, ctx.cfg["timeout"])
    # Our own modules first, so that the two threads never import at the same time.
    for name in REQUEST_MODULES:
        importlib.import_module(f"commit_polish.{name}")
    llm.prewarm()
    ctx.api_base = api_base
    return api_base


def build_request(ctx: Context, *, draft: str = "") -> Request:
    """The model request for what is staged now, with secrets redacted."""
    from commit_polish import diff as diff_mod
    from commit_polish import grammar, llm, prompt, redact, style

    api_base = start_request(ctx)
    cfg = ctx.cfg
    raw = git.staged_diff(context=diff_mod.CONTEXT_LINES)
    prepared = diff_mod.prepare(
        raw,
        exclude=cfg["exclude"],
        changed_under_w=diff_mod.changed_ignoring_whitespace(
            git.staged_numstat(ignore_whitespace=True)
        ),
    )
    template, _where = prompt.load_template(cfg["template"])
    shape = ctx.shape = style.shape_here(cfg, raw)
    grammar_fields = grammar.fields(shape.spec, cfg["model"], api_base)
    opts = prompt.Options(
        style=shape.style,
        gitmoji=cfg["gitmoji"],
        language=shape.language,
        subject_max_length=cfg["subject_max_length"],
        body=cfg["body"],
    )
    values = {
        "diff": "",  # the file list, the diff and the note are fitted below (issue 6)
        "files": "",
        "branch": git.branch() or "(detached)",
        "recent_commits": redact.redact_text("\n".join(shape.examples)) or "(none yet)",
        "draft": (
            "Draft message written by the author (keep its meaning, improve it):\n"
            f"{redact.redact_text(draft)}\n\n"
            if draft
            else ""
        ),
        "omitted": "",
    }
    fitted = fit_summary(ctx, prepared, api_base, template, opts, values)
    summary = fitted.summary
    values["diff"], values["files"] = summary.diff, summary.files
    if summary.omitted_hunks:
        values["omitted"] = (
            f"({summary.omitted_hunks} more hunks not shown: over the prompt budget)\n\n"
        )
    messages = prompt.build_messages(template=template, opts=opts, values=values)
    req = llm.Request(
        model=cfg["model"],
        messages=messages,
        api_base=api_base,
        temperature=cfg["temperature"],
        max_tokens=cfg["max_tokens"],
        timeout=cfg["timeout"],
        extra_body={**fitted.extra_body, **grammar_fields},
    )
    return req


def fit_summary(
    ctx: Context,
    prepared: Prepared,
    api_base: str,
    template: str,
    opts: Options,
    values: dict[str, str],
) -> Fit:
    """A ``budget.Fit``: the summary sized to the server's context when it can say."""
    from commit_polish import budget, prompt

    fixed = prompt.build_messages(template=template, opts=opts, values=values)
    return budget.fit(
        prepared,
        model=ctx.cfg["model"],
        api_base=api_base,
        fixed_text="\n".join(m["content"] for m in fixed),
        max_tokens=ctx.cfg["max_tokens"],
        prompt_budget=ctx.cfg["prompt_budget"],
    )


def ask_model(ctx: Context, *, draft: str, comment: str) -> str:
    """A cleaned message for what is staged; CommitPolishError when the staged content
    changed while the model was working (the message would describe something else)."""
    return generate_message(ctx, draft=draft, comment=comment).text


def generate_message(ctx: Context, *, draft: str, comment: str) -> Generation:
    """ask_model with the replies' timings and token counts (``commit-polish eval``).
    The message is validated; one invalid answer is retried once with a correction."""
    from commit_polish import backend, llm, validate

    tree = git.write_tree()
    with llm.budget(ctx.cfg["timeout"]):  # probes, token counts and the model, all in one
        req = build_request(ctx, draft=draft)
        status = LiveStatus(req.model) if sys.stderr.isatty() else None
        try:
            if req.extra_body.get("cache_prompt"):  # a llama.cpp-family server
                backend.prefill(
                    req.api_base,
                    req.model,
                    req.messages,
                    timeout=req.timeout,
                    status=status.update if status else None,
                )
            result = validate.generate(
                req, ctx.shape, comment=comment, status=status.update if status else None
            )
        finally:
            if status:
                status.clear()
    if git.write_tree() != tree:
        raise CommitPolishError(
            "the staged changes changed while the model was working; message left as git "
            "wrote it (commit again for a fresh one)"
        )
    return result


class LiveStatus:
    """A one-line status on a terminal's stderr, erased when done."""

    def __init__(self, model: str) -> None:
        import time

        self.model = model.split("/", 1)[-1]
        self.shown = False
        self.clock = time.monotonic
        self.started = self.clock()

    def update(self, _elapsed: float) -> None:
        # Its own clock: the count goes on across the prompt's prefill and a repair request.
        elapsed = self.clock() - self.started
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
    start_request(ctx)
    if _read_only(msg_file):
        raise CommitPolishError(f"{msg_file} is read-only; message left as git wrote it")
    original = message.decode(msg_file.read_bytes())
    comment = git.comment_string(original)
    draft = message.user_text(original, comment) if todo.mode != "generate" else ""
    # The prompt must be valid UTF-8 whatever bytes the user's draft holds.
    prompt_draft = message.encode(draft).decode("utf-8", "replace")
    new = ask_model(ctx, draft=prompt_draft, comment=comment)
    # The old message is shown as comments only when git wrote its comment block (an editor
    # will open and strip them); otherwise comment lines would end up in the commit.
    editor_opens = bool(message.parse(original, comment).comment_lines)
    keep_old = draft if todo.mode == "regenerate" and editor_opens else None
    if todo.mode == "generate":
        content = message.compose(new, original, comment)
    else:
        content = message.compose(new, _without_text(original, comment), comment, keep_old=keep_old)
    if message.decode(msg_file.read_bytes()) != original:
        raise CommitPolishError(
            "the message file changed while the model was working; left as it is"
        )
    try:
        message.write_atomic(msg_file, message.encode(content))
    except OSError as exc:
        raise CommitPolishError(
            f"cannot write {msg_file}: {exc.strerror or exc}; message left as git wrote it"
        ) from exc
    return None


def _read_only(path: Path) -> bool:
    """Whether the message file's write bits are all off (someone made it read-only on
    purpose; a rename would still replace it, so ask the mode bits, not access())."""
    try:
        return not path.stat().st_mode & 0o222
    except OSError:
        return False


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


def exit_process(code: int, *, teardown: bool = True) -> NoReturn:
    """End the hook process. A request abandoned at the time budget may still be running in
    a daemon thread; leave at once rather than let interpreter shutdown wait on it.

    ``teardown=False`` is for the console entry point, which owns its process: once the
    request code was loaded it leaves at once too. Tearing down an interpreter that holds
    LiteLLM (thousands of modules) takes about a second and does nothing a hook needs:
    every file it wrote is already closed and renamed into place."""
    llm = sys.modules.get("commit_polish.llm")
    if llm is not None and (llm.abandoned() or not teardown):
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(code)
    sys.exit(code)


def generate_for_stdout() -> str:
    """A message for what is staged, for ``commit-polish generate``."""
    if not git.has_staged_changes():
        raise CommitPolishError("nothing staged (stage changes with: git add)")
    ctx = load_context()
    start_request(ctx)
    return ask_model(ctx, draft="", comment=git.comment_string())
