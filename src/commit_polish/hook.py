"""The prepare-commit-msg flow: source rules first, then diff, prompt, model, message.

Everything that can decide "leave the file alone" runs before anything expensive: the skip
paths read one environment variable, the arguments, and at most two cheap git queries. The
request itself is built in ``request.py`` and validated in ``validate.py``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from commit_polish import config as config_mod
from commit_polish import envvars, errors, git, message
from commit_polish.errors import CommitPolishError

if TYPE_CHECKING:
    from commit_polish.request import Staged
    from commit_polish.validate import Generation

SOURCES_LEFT_ALONE = {"merge", "squash"}
KEPT = "; message left as git wrote it"
# Ctrl-C at a terminal reaches git too, and git dies of it; the hook then exits non-zero so
# that the commit is stopped even when only the hook was interrupted: what the line says is
# true either way.
INTERRUPTED = (
    "interrupted; commit stopped, message file untouched "
    "(commit again, or COMMIT_POLISH_SKIP=1 git commit to go without commit-polish)"
)


@dataclass(frozen=True)
class Action:
    """What the hook does to the message file."""

    mode: str  # "generate", "polish" or "regenerate"


def resolve_source(
    source: str | None, sha: str | None, environ: dict[str, str]
) -> tuple[str | None, str | None]:
    """Arguments from git, or (under the pre-commit framework) from its variables."""
    if source is None:
        source = environ.get("PRE_COMMIT_COMMIT_MSG_SOURCE") or None
        sha = environ.get("PRE_COMMIT_COMMIT_OBJECT_NAME") or sha
    return source, sha


def action_for(source: str | None, cfg: config_mod.Config) -> Action | None:
    """What to do for this source, or None to leave the message file alone."""
    if source in (None, "", "template"):
        return Action("generate")
    if source == "message":
        return Action("polish") if cfg.hook.on_message == "polish" else None
    if source == "commit":
        return Action("regenerate") if cfg.hook.on_amend == "regenerate" else None
    return None  # merge, squash, and anything git may add later


@dataclass
class Context:
    cfg: config_mod.Config
    root: Path | None
    api_base: str | None = None  # once start_request has checked it


def load_context() -> Context:
    root = git.toplevel()
    return Context(cfg=config_mod.load(root), root=root)


def destination(ctx: Context) -> str:
    """The api_base the request goes to; LLMError unless it is on this machine or the user
    allowed remote servers. Nothing is read, imported or sent before this passes."""
    from commit_polish import localonly, paths

    return localonly.check_local(
        ctx.cfg.ai.model,
        ctx.cfg.llamafile.api_base,
        allow_remote=ctx.cfg.ai.allow_remote,
        config_file=str(paths.config_file()),
        environ=dict(os.environ),
    )


def start_request(ctx: Context) -> str:
    """The api_base, once it is allowed and something listens there (else LLMError); the
    checks run once per context.

    A request will then be sent: through commit-polish's warm service when one answers
    (``service.py``), else from here, and then LiteLLM's import, the bulk of the hook's
    time, starts now in the background and runs while the hook waits on git and on the
    server's probes.
    """
    if ctx.api_base is not None:
        return ctx.api_base
    from commit_polish import localonly

    api_base = destination(ctx)
    localonly.check_listening(
        api_base, ctx.cfg.ai.timeout, external=ctx.cfg.llamafile.external_server
    )
    # Everything the request path imports of ours, before LiteLLM's import starts in the
    # other thread, so that the two never wait on each other's import locks.
    from commit_polish import facts, llm, request, rules, service, validate  # noqa: F401

    if service.connect(api_base) is None:
        llm.prewarm()
    ctx.api_base = api_base
    return api_base


def generate(ctx: Context, *, draft: str, comment: str, base: str | None = None) -> Generation:
    """A validated message for what is staged, with the replies' timings and token counts;
    one invalid answer is retried once with a correction. A change a rule can say
    (``rules.py``) gets its message with no server contacted. CommitPolishError when the
    staged content changed while the model was working (the message would describe
    something else)."""
    from commit_polish import deadline, request

    destination(ctx)  # a remote server is refused before anything is read
    tree = git.write_tree()
    with deadline.within(ctx.cfg.ai.timeout):  # git, probes, token counts and the model
        staged = request.read_staged(ctx.cfg, base)
        result = by_rule(ctx.cfg, staged, draft)
        if result is None:
            result = _ask_model(ctx, staged, draft=draft, comment=comment)
    if git.write_tree() != tree:
        raise CommitPolishError(
            f"the staged changes changed while the model was working{KEPT} "
            "(commit again for a fresh one)"
        )
    return result


def by_rule(cfg: config_mod.Config, staged: Staged, draft: str) -> Generation | None:
    """The message of a change that needs no model (``rules.py``): not when the rules are
    off (``message.rules``), nor over a draft of the user's, which only a model polishes."""
    if draft or not cfg.message.rules:
        return None
    from commit_polish import rules, validate

    found = rules.apply(staged.facts, staged.shape)
    if found is None:
        return None
    return validate.Generation(text=found.text, shape=staged.shape, rule=found.name)


def _ask_model(ctx: Context, staged: Staged, *, draft: str, comment: str) -> Generation:
    from commit_polish import backend, request, service, validate

    built = request.build(ctx.cfg, start_request(ctx), draft=draft, staged=staged)
    req = built.request
    status = LiveStatus(req.model) if sys.stderr.isatty() else None
    try:
        # The prefill overlaps the prompt's reading with LiteLLM's import; a warm service
        # has nothing to overlap it with.
        if built.llama_cpp and not service.carries(req.api_base):
            backend.prefill(
                req.api_base,
                req.model,
                req.messages,
                timeout=req.timeout,
                status=status.update if status else None,
            )
        return validate.ask(
            req,
            built.shape,
            comment=comment,
            status=status.update if status else None,
            candidates=ctx.cfg.ai.candidates,
        )
    finally:
        if status:
            status.clear()


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
    if envvars.skip_requested(environ):
        return "COMMIT_POLISH_SKIP is set"
    source, sha = resolve_source(source, sha, environ)
    if source in SOURCES_LEFT_ALONE:
        return f"{source} message kept"
    ctx = load_context()
    action = action_for(source, ctx.cfg)
    if action is None:
        return f"{source} message kept"
    base = _base(action, sha)
    busy = _nothing_to_describe(base)
    if busy:
        return busy
    if action.mode == "regenerate" and sha and git.is_merge(sha):
        # Its message says what was merged; a diff against the first parent would have the
        # model describe the whole merged branch as one change.
        return "a merge's message kept"
    encoding = _commit_encoding()
    original = _read_message(msg_file, encoding)
    comment = git.comment_string(original)
    draft = message.user_text(original, comment) if action.mode != "generate" else ""
    if message.written_by_git(draft):
        return "git's own message kept (fixup!, squash!, amend! or a revert)"
    # The prompt must be valid UTF-8 whatever bytes the user's draft holds.
    prompt_draft = message.encode(draft, encoding).decode(encoding, "replace")
    new = generate(ctx, draft=prompt_draft, comment=comment, base=base).text
    ours = "\n".join(message.parse(original, comment).text_lines)
    kept = message.last_paragraph(ours) if git.trailers(ours) else []
    new = message.with_trailers(new, kept, invented=bool(git.trailers(new)))
    content = _content(action, new, original, draft, comment)
    _write_message(msg_file, original, content, encoding)
    return None


def _base(action: Action, sha: str | None) -> str | None:
    """What the new commit is compared with: HEAD (None), or for ``--amend`` (git names
    HEAD as the commit whose message it reuses) HEAD's parent, so that the whole amended
    commit is described. ``-c``/``-C`` of another commit make a new commit on HEAD. git
    passes the same arguments for ``-c HEAD`` as for ``--amend``, and for ``--amend -C X``
    as for ``-C X``: those two are taken as an amend and as a new commit."""
    if action.mode != "regenerate" or not sha or not git.names_head(sha):
        return None
    return git.amend_base()


def _nothing_to_describe(base: str | None) -> str | None:
    operation = git.operation_in_progress()
    if operation is not None:
        return f"{operation} in progress"
    if not git.has_staged_changes(base=base):
        return "nothing staged"
    return None


def _commit_encoding() -> str:
    """The encoding git expects the message in (``i18n.commitEncoding``, default UTF-8)."""
    import codecs

    name = git.config_value("i18n.commitEncoding") or message.ENCODING
    try:
        codec = codecs.lookup(name).name
        # git reads the file as bytes and refuses a NUL: UTF-16 or UTF-32 text (a NUL in
        # every ASCII character) could never be committed, nor read as git wrote it.
        ascii_compatible = "\n#".encode(codec) == b"\n#"
    except LookupError:  # unknown, or not a text encoding (base64, rot13)
        raise CommitPolishError(
            f"i18n.commitEncoding = {name!r} is not an encoding commit-polish knows{KEPT}"
        ) from None
    if not ascii_compatible:
        raise CommitPolishError(
            f"i18n.commitEncoding = {name!r} is not ASCII-compatible, and git cannot commit "
            f"a message in it{KEPT} (use UTF-8)"
        )
    return codec


def _read_message(msg_file: Path, encoding: str) -> str:
    if _read_only(msg_file):
        raise CommitPolishError(f"{msg_file} is read-only{KEPT}")
    try:
        return message.decode(msg_file.read_bytes(), encoding)
    except OSError as exc:
        raise CommitPolishError(
            f"cannot read the message file {msg_file}: {exc.strerror or exc} "
            "(git passes it to its prepare-commit-msg hook; run commit-polish hook only from git)"
        ) from exc


def _content(action: Action, new: str, original: str, draft: str, comment: str) -> str:
    """The new message file: ``new`` above what git wrote that is not the user's text."""
    if action.mode == "generate":
        return message.compose(new, original, comment)
    # The old message is shown as comments only when git wrote its comment block (an editor
    # will open and strip them); otherwise comment lines would end up in the commit.
    editor_opens = bool(message.parse(original, comment).comment_lines)
    keep_old = draft if action.mode == "regenerate" and editor_opens else None
    return message.compose(new, _without_text(original, comment), comment, keep_old=keep_old)


def _write_message(msg_file: Path, original: str, content: str, encoding: str) -> None:
    from commit_polish.files import write_atomic

    try:
        now = message.decode(msg_file.read_bytes(), encoding)
    except OSError as exc:
        raise CommitPolishError(
            f"cannot read the message file {msg_file} again: {exc.strerror or exc}"
            " (it went away while the model was working); nothing written"
        ) from exc
    if now != original:
        raise CommitPolishError(
            "the message file changed while the model was working; left as it is"
        )
    try:
        write_atomic(msg_file, message.encode(content, encoding))
    except OSError as exc:
        raise CommitPolishError(f"cannot write {msg_file}: {exc.strerror or exc}{KEPT}") from exc


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
    """Run the hook and decide the exit code: the hook's error boundary. Every failure is
    one line; the commit goes on (exit 0) unless strict mode is on. Ctrl-C stops it."""
    environ = dict(os.environ)
    try:
        run_hook(msg_file, source, sha, environ)
        return errors.EXIT_OK
    except (Exception, KeyboardInterrupt) as exc:  # a bug of ours must not cost a commit
        problem, code = errors.classify(exc, interrupted=INTERRUPTED, kept=KEPT)
    if code == errors.EXIT_INTERRUPTED:
        sys.stderr.write(f"commit-polish: {problem}\n")
        return code
    if _strict(environ):
        sys.stderr.write(f"commit-polish: {problem} (strict mode: commit aborted)\n")
        return errors.EXIT_ERROR
    sys.stderr.write(f"commit-polish: {problem}\n")
    return errors.EXIT_OK


def staged_messages(count: int = 1) -> list[str]:
    """Messages for what is staged, best first, for ``commit-polish generate [-n K]``: with
    K, up to K candidates (the server may be too slow for more than one)."""
    if not git.is_repository():
        raise CommitPolishError("not in a git repository (cd into one, stage changes, run again)")
    if not git.has_staged_changes():
        raise CommitPolishError("nothing staged (stage changes with: git add)")
    ctx = load_context()
    if count > 1:
        ctx.cfg = config_mod.with_values(ctx.cfg, {"candidates": count}, "generate -n")
    result = generate(ctx, draft="", comment=git.comment_string())
    if result.shape is None:  # nothing was asked of a model: nothing to rank
        return [result.text]
    from commit_polish.style import apply_ticket

    ranked = [apply_ticket(text, result.shape) for text in result.candidates]
    return list(dict.fromkeys([result.text, *ranked]))[:count]
