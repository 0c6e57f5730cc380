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
from commit_polish.form import BODY_WIDTH, Spec
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
# ("xtra xtra xtra xtra cli.py").
# Verbs that say what was done: the vague ones a small model reaches for first ("Improve the
# codebase", "Introduce to the") and those git or the rules write are left out.
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


def _verbs(case: str) -> list[str]:
    lower = [v.lower() for v in GROUNDED_VERBS]
    return {"lower": lower, "upper": list(GROUNDED_VERBS)}.get(case, lower + list(GROUNDED_VERBS))


def _grounded_rule(
    name: str, length: int, case: str, names: tuple[str, ...], *, verb: bool = True
) -> str | None:
    """A rule for at most ``length`` characters: a verb (``gverb-CASE``, unless ``verb`` is
    off: the plain style writes its own), maybe a linking word (``link``), one of ``names``,
    and at most a few words of letters and digits after it. The object of the subject is a
    thing of the change, not a guess. None when no name fits the length."""
    verbs = _verbs(case) if verb else []
    lead = (max(len(v) for v in verbs) + 1 if verbs else 0) + max(len(w) for w in LINKS) + 1
    fitting = [n for n in dict.fromkeys(names) if len(n) <= min(NAME_MAX, length - lead)]
    if not fitting:
        return None
    choices = []
    for n in fitting:
        words = min((length - lead - len(n)) // (REST_WORD + 1), REST_WORDS)
        rest = f' (" " [a-zA-Z] [a-z]{{0,{REST_WORD - 1}}}){{0,{words}}}'
        choices.append(_literal(n) + (rest if words else ""))
    head = f'gverb-{case} " " ' if verb else ""
    return f'{name} ::= {head}(link " ")? (' + " | ".join(choices) + ")"


def _grounded_words(case: str | None) -> list[str]:
    """The rules a grounded description refers to: its verbs (for ``case``; none when the
    style writes its own) and its linking words."""
    rules = ["link ::= " + " | ".join(_literal(w) for w in LINKS)]
    if case is not None:
        rules.append(f"gverb-{case} ::= " + " | ".join(_literal(v) for v in _verbs(case)))
    return rules


def _description_rule(name: str, length: int, case: str, spec: Spec, *, verb: bool = True) -> str:
    grounded = _grounded_rule(name, length, case, spec.names, verb=verb)
    return grounded or _text_rule(name, length, case)


def build(spec: Spec) -> str:
    """The GBNF grammar text for ``spec``. Every subject it admits is at most
    ``spec.subject_max`` characters long."""
    rules: list[str] = []
    limit = spec.subject_max - (3 if spec.gitmoji else 0)
    lead = '(gitmoji " ")? ' if spec.gitmoji else ""
    # Without a body the subject may end in a period or a newline, which clean_reply drops:
    # a model that wants to end its line is let stop there, not made to run on in letters.
    rules.append("root ::= subject" + (" body?" if spec.body else ' "."? "\\n"?'))
    if spec.style == "plain":
        verbs = [v.lower() if spec.case == "lower" else v for v in PLAIN_VERBS]
        if spec.names:
            verbs = [v for v in verbs if v.capitalize() in GROUNDED_VERBS]
        rest = limit - max(len(v) for v in verbs) - 1
        rules.append(f'subject ::= {lead}verb " " text-{rest}')
        rules.append("verb ::= " + " | ".join(_literal(v) for v in verbs))
        rules.append(_description_rule(f"text-{rest}", rest, "any", spec, verb=False))
    else:
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
        for length in sorted(lengths, reverse=True):
            rules.append(_description_rule(f"text-{length}", length, spec.case, spec))
    if any(rule.startswith("text-") and '(link " ")?' in rule for rule in rules):
        rules.extend(_grounded_words(None if spec.style == "plain" else spec.case))
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
