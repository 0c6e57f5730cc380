"""GBNF grammars for llama.cpp-family servers: the reply is a well-formed message by construction.

The grammar is generated from the configured (or learned) style and sent in llama.cpp's
``grammar`` request field through LiteLLM's ``extra_body``. A server that rejects the field
(HTTP 400 naming the grammar) is remembered in a small file under the cache directory and
served without it from then on.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import replace
from pathlib import Path

from commit_polish.deadline import Status
from commit_polish.errors import LLMError
from commit_polish.form import BODY_WIDTH, Action, Spec
from commit_polish.llm import Reply, Request

BODY_LINES = 6  # small models loop in the body until max_tokens; a good body is short
# A plain subject starts with an imperative verb: small models otherwise open with prose
# about the code ("Your code is a good example of…") instead of a message.
PLAIN_VERBS = (
    "Add", "Allow", "Avoid", "Bump", "Change", "Check", "Clean", "Convert", "Correct",
    "Create", "Disable", "Document", "Drop", "Enable", "Ensure", "Expose", "Extract", "Fix",
    "Format", "Handle", "Improve", "Introduce", "Keep", "Log", "Make", "Merge", "Move",
    "Prevent", "Reduce", "Refactor", "Remove", "Rename", "Replace", "Respond", "Return",
    "Revert", "Set", "Show", "Simplify", "Skip", "Split", "Support", "Test", "Update",
    "Upgrade", "Use", "Validate", "Wrap",
)  # fmt: skip
FREE_SCOPE_MAX = 20  # characters of a scope when the allowed scopes are not known
REJECTED_FILE = "grammar-rejected.json"


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_CHAR = r"[^\x00-\x1f]"  # any character but control characters (so never a newline)
_LAST = r"[^\x00-\x1f .:]"  # no trailing space, period or colon ("Here is…:")
_FIRST = {"lower": "[a-z]", "upper": "[A-Z]", "any": r"[^\x00-\x20]"}
_WORD_FIRST = {"lower": "[a-z]", "upper": "[A-Z]", "any": "[a-zA-Z]"}


def _text_rule(name: str, length: int, case: str) -> str:
    """A rule for 1..length characters: a first letter, then no trailing space or period."""
    if length <= 1:
        return f"{name} ::= {_FIRST[case]}"
    if length == 2:
        return f"{name} ::= {_FIRST[case]} {_LAST}?"
    return f"{name} ::= {_FIRST[case]} ({_CHAR}{{0,{length - 2}}} {_LAST})?"


# A grounded subject: a verb, maybe a linking word, one of the change's names, then a few
# words. Every part is closed or narrow because a small model fills free text with URLs,
# dates and made-up file names (seen: "bump: https://github.com/git-c release-scm.md",
# "Improve the issue faqs.md with pytz.py. 1.0.0.0") and loops in longer runs of words
# ("xtra xtra xtra xtra cli.py"). The verbs are paired with the names they are true of
# (actions.py). Verbs that say nothing of what was done ("Improve the codebase") or that
# git and the rules write are in none of the pairs.
GROUNDED_VERBS = tuple(
    v
    for v in PLAIN_VERBS
    if v
    not in {"Avoid", "Bump", "Change", "Improve", "Introduce", "Log", "Merge", "Respond", "Revert"}
)
LINKS = ("the", "a", "an", "support for", "tests for")
REST_WORD = 10  # characters of each word after the name
REST_WORDS = 6  # words after the name at most
NAME_MAX = 40  # longer names are left out of the choice


def _cased(verbs: tuple[str, ...], case: str) -> list[str]:
    lower = [v.lower() for v in verbs]
    return {"lower": lower, "upper": list(verbs)}.get(case, lower + list(verbs))


def _action(action: Action, length: int, case: str) -> str | None:
    """One pair's alternative: a verb, maybe a link, one of its names and at most a few
    words after it, in ``length`` characters; None when no name fits."""
    verbs = _cased(action.verbs, case)
    lead = max(len(v) for v in verbs) + 1 + max(len(w) for w in LINKS) + 1
    fitting = [n for n in dict.fromkeys(action.names) if len(n) <= min(NAME_MAX, length - lead)]
    if not fitting:
        return None
    choices = []
    for n in fitting:
        words = min((length - lead - len(n)) // (REST_WORD + 1), REST_WORDS)
        rest = f' (" " [a-zA-Z] [a-z]{{0,{REST_WORD - 1}}}){{0,{words}}}'
        choices.append(_literal(n) + (rest if words else ""))
    verb = " | ".join(_literal(v) for v in verbs)
    return f'({verb}) " " (link " ")? (' + " | ".join(choices) + ")"


def _grounded_rule(name: str, length: int, case: str, actions: tuple[Action, ...]) -> str | None:
    """A rule for at most ``length`` characters: one of ``actions``' verbs, maybe a linking
    word (``link``), one of that action's names, and at most a few words of letters after
    it. The subject says what was done to a thing of the change, not a guess. None when no
    name fits the length."""
    groups = [g for g in (_action(a, length, case) for a in actions) if g is not None]
    if not groups:
        return None
    body = groups[0] if len(groups) == 1 else " | ".join(f"({g})" for g in groups)
    return f"{name} ::= {body}"


LINK_RULE = "link ::= " + " | ".join(_literal(w) for w in LINKS)


def _plain(spec: Spec, limit: int, lead: str) -> tuple[list[str], bool]:
    """The plain style's subject rules, and whether they are grounded."""
    case = "lower" if spec.case == "lower" else "upper"
    rule = _grounded_rule(f"text-{limit}", limit, case, spec.actions)
    if rule is not None:
        return [f"subject ::= {lead}text-{limit}", rule], True
    verbs = [v.lower() if spec.case == "lower" else v for v in PLAIN_VERBS]
    rest = limit - max(len(v) for v in verbs) - 1
    return [
        f'subject ::= {lead}verb " " text-{rest}',
        "verb ::= " + " | ".join(_literal(v) for v in verbs),
        _text_rule(f"text-{rest}", rest, "any"),
    ], False


def _conventional(spec: Spec, limit: int, lead: str) -> tuple[list[str], bool]:
    """The Conventional Commits subject rules, and whether they are grounded."""
    rules: list[str] = []
    if spec.scopes is None:
        scope_len = FREE_SCOPE_MAX
        scope_body = f"[a-z0-9_./-]{{1,{FREE_SCOPE_MAX}}}"
    else:
        scope_len = max((len(s) for s in spec.scopes), default=0)
        scope_body = "(" + " | ".join(_literal(s) for s in spec.scopes) + ")"
    by_length: dict[int, list[str]] = {}
    for name in spec.types:
        by_length.setdefault(len(name), []).append(name)
    alternatives = []
    lengths: set[int] = set()
    for length, names in sorted(by_length.items()):
        group = " | ".join(_literal(n) for n in names)
        alternatives.append(
            f"({group}) tail-{length}" if len(names) > 1 else f"{group} tail-{length}"
        )
    rules.append(f"subject ::= {lead}" + " | ".join(alternatives))
    for length in sorted(by_length):
        plain = limit - length - 3  # "!" and ": "
        scoped = plain - scope_len - 2  # "(" scope ")"
        tail = f'tail-{length} ::= "!"? ": " text-{plain}'
        if spec.scopes != () and scoped >= 1:
            tail += f' | scope "!"? ": " text-{scoped}'
            lengths.add(scoped)
        lengths.add(plain)
        rules.append(tail)
    if spec.scopes != ():
        rules.append(f'scope ::= "(" {scope_body} ")"')
    grounded = False
    for length in sorted(lengths, reverse=True):
        rule = _grounded_rule(f"text-{length}", length, spec.case, spec.actions)
        grounded = grounded or rule is not None
        rules.append(rule or _text_rule(f"text-{length}", length, spec.case))
    return rules, grounded


def build(spec: Spec) -> str:
    """The GBNF grammar text for ``spec``. Every subject it admits is at most
    ``spec.subject_max`` characters long."""
    limit = spec.subject_max - (3 if spec.gitmoji else 0)
    lead = '(gitmoji " ")? ' if spec.gitmoji else ""
    # Without a body the subject may end in a period or a newline, which clean_reply drops:
    # a model that wants to end its line is let stop there, not made to run on in letters.
    rules = ["root ::= subject" + (" body?" if spec.body else ' "."? "\\n"?')]
    subject, grounded = (_plain if spec.style == "plain" else _conventional)(spec, limit, lead)
    rules += subject
    if grounded:
        rules.append(LINK_RULE)
    if spec.gitmoji:
        rules.append(r"gitmoji ::= [^\x00-\x7f]{1,2}")
    if spec.body:
        rules.append(f'body ::= "\\n\\n" line ("\\n" line?){{0,{BODY_LINES - 1}}}')
        rules.append(f"line ::= {_CHAR}{{1,{BODY_WIDTH}}}")
    return "\n".join(rules) + "\n"


# ----------------------------------------------------------------- when to send it


def applies(model: str, api_base: str) -> bool:
    """Whether the server may be llama.cpp-family (``backend.is_llama_cpp``) and has not
    rejected the grammar field before (other OpenAI-compatible servers on this machine
    ignore the field or reject it once)."""
    from commit_polish import backend

    return backend.is_llama_cpp(model, api_base) and not rejected(api_base, model)


def _rejected_path() -> Path:
    from commit_polish import paths

    return paths.cache_dir() / REJECTED_FILE


def _key(api_base: str, model: str) -> str:
    return f"{api_base} {model}"


def _load_rejected() -> list[str]:
    try:
        data = json.loads(_rejected_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [item for item in data if isinstance(item, str)] if isinstance(data, list) else []


def rejected(api_base: str, model: str) -> bool:
    return _key(api_base, model) in _load_rejected()


def remember_rejection(api_base: str, model: str) -> None:
    """Record that this server rejects the grammar field (best effort: a cache)."""
    known = _load_rejected()
    key = _key(api_base, model)
    if key in known:
        return
    from commit_polish.files import write_atomic

    path = _rejected_path()
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps([*known, key][-100:]).encode("utf-8"))


_GRAMMAR_WORD = re.compile(r"grammar", re.IGNORECASE)


def is_rejection(exc: LLMError) -> bool:
    """Whether ``exc`` is a server's HTTP 400/422 refusing the grammar field."""
    cause = exc.__cause__
    status = getattr(cause, "status_code", None)
    text = f"{exc} {cause or ''}"
    if status is None:
        found = re.search(r"HTTP (\d{3})", str(exc))
        status = int(found.group(1)) if found else None
    return status in (400, 422) and bool(_GRAMMAR_WORD.search(text))


def complete(req: Request, *, status: Status | None = None) -> Reply:
    """``llm.complete``; when the server refuses the grammar, remember that and send the
    same request once more without it."""
    from commit_polish import llm

    try:
        return llm.complete(req, status=status)
    except LLMError as exc:
        if "grammar" not in req.extra_body or not is_rejection(exc):
            raise
    remember_rejection(req.api_base, req.model)
    extra = {k: v for k, v in req.extra_body.items() if k != "grammar"}
    return llm.complete(replace(req, extra_body=extra), status=status)


def fields(spec: Spec, model: str, api_base: str) -> dict[str, str]:
    """The request fields to merge into ``extra_body``: ``{"grammar": ...}`` or nothing."""
    return {"grammar": build(spec)} if applies(model, api_base) else {}
