"""Prompt templates and rendering.

The system message holds only fixed instructions derived from the config, and comes first;
the user message ends with the diff. Keeping the variable part last lets a llama.cpp-family
server reuse its cache of the fixed prefix from one commit to the next.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from commit_polish.errors import PATH_SHOWN, ConfigError, shorten
from commit_polish.form import DEFAULT_TYPES

PLACEHOLDERS = {
    "diff": "the staged changes (bounded by the prompt budget)",
    "files": "one line per changed file with its +/- counts",
    "facts": "what the diff says for sure: each file's kind and language, the definitions "
    "it adds, removes or changes, dependency versions",
    "branch": "the current branch name",
    "recent_commits": "subjects of the last commits on this branch",
    "draft": "the message the user wrote (-m / -F), when polishing it",
    "omitted": "a note on how many hunks did not fit the budget",
}

DEFAULT_TEMPLATE = """\
Branch: {branch}
Recent commit subjects:
{recent_commits}

{draft}What changed, for sure:
{facts}

Changed files:
{files}

{omitted}Diff:
{diff}
"""


@dataclass(frozen=True)
class Options:
    style: str = "conventional"
    gitmoji: bool = False
    language: str = "English"
    subject_max_length: int = 72
    body: bool = True
    types: tuple[str, ...] = DEFAULT_TYPES


def system_prompt(opts: Options) -> str:
    rules = [
        "You write git commit messages. Reply with the commit message only: no preamble, "
        "no quotes, no code fences, no explanation, no review of the code.",
        f"Line 1 is the subject: imperative mood, at most {opts.subject_max_length} "
        "characters, no trailing period.",
    ]
    if opts.style == "conventional":
        rules.append(
            f"The subject follows Conventional Commits: type(scope): description, where type "
            f"is one of {', '.join(opts.types)}; the scope is optional."
        )
    else:
        rules.append("The subject is a plain sentence starting with a capital letter.")
    if opts.gitmoji:
        rules.append("Start the subject with the one gitmoji that fits the change.")
    if opts.body:
        rules.append(
            "If the change needs explaining, add a blank line and a short body that says "
            "why, wrapped at 72 columns. Otherwise write the subject only."
        )
    else:
        rules.append("Write the subject line only, no body.")
    rules.append(f"Write in {opts.language}. Describe only changes that appear in the diff.")
    return "\n".join(f"- {rule}" for rule in rules)


def load_template(path: str, *, setting: str = "") -> tuple[str, str]:
    """(template text, where) for a configured template path, or the built-in one. An error
    names ``setting`` too (the file or variable that set message.template): that is what
    the user has to change."""
    if not path:
        return DEFAULT_TEMPLATE, "built-in template"
    from commit_polish import redact

    file = Path(path).expanduser()  # a repository's own value is checked in config.py
    try:
        text = _read_template(file)
        check_template(text, shorten(str(file), PATH_SHOWN))
    except ConfigError as exc:
        if not setting:
            raise
        raise ConfigError(f"{exc} (message.template, set in {setting})") from exc
    # Its text goes to the model as it is: the same secret rules as for the diff.
    return redact.redact_text(text), str(file)


def _read_template(file: Path) -> str:
    from commit_polish.files import read_small

    try:
        return read_small(file).decode("utf-8")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = (
            exc.strerror
            if isinstance(exc, OSError)
            else "not UTF-8 text"
            if isinstance(exc, UnicodeDecodeError)
            else str(exc)
        )
        named = shorten(str(file), PATH_SHOWN)
        raise ConfigError(f"template {named}: cannot read: {reason}") from exc


# ``{{`` and ``}}`` are literal braces; ``{name}`` a placeholder; any other brace is wrong. A
# field may nest one more (``{diff:{branch.__class__}}``, as str.format allows), so an error
# can quote it whole.
_FIELD = re.compile(r"\{\{|\}\}|\{((?:[^{}]|\{[^{}]*\})*)\}|[{}]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SHOWN = 40  # characters of a bad placeholder quoted in an error


def check_template(text: str, where: str) -> None:
    """A template may hold only ``{name}`` placeholders: no format spec, conversion,
    attribute or index (``{diff:>9}``, ``{diff!r}``, ``{branch.x}``), which str.format
    would evaluate; and each at most once, since the prompt budget sizes the diff and the
    file list for one copy (a 64 KiB template of {diff} would be 130 MB). ConfigError naming
    ``where``, the line and the bad field otherwise."""
    seen: set[str] = set()
    for match in _FIELD.finditer(text):
        token, name = match.group(0), match.group(1)
        if token in ("{{", "}}"):
            continue
        if name is not None and name in PLACEHOLDERS and name not in seen:
            seen.add(name)
            continue
        at = f"template {where}, line {text.count(chr(10), 0, match.start()) + 1}"
        if name in seen:
            raise ConfigError(f"{at}: {token} a second time (each placeholder may appear once)")
        raise ConfigError(f"{at}: {_field_problem(token, name)}")


def _field_problem(token: str, name: str | None) -> str:
    known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
    if name is None:
        return f"a lone {token!r} (write literal braces as {{{{ }}}})"
    shown = token if len(token) <= _SHOWN else token[: _SHOWN - 3] + "…}"
    if _NAME.fullmatch(name):
        return f"unknown placeholder {shown} (known: {known})"
    return (
        f"placeholder {shown} is not a plain {{name}}: no format spec, conversion, "
        f"attribute or index (known: {known})"
    )


def draft_note(draft: str) -> str:
    """The ``{draft}`` text: the author's own message, when polishing it."""
    if not draft:
        return ""
    return f"Draft message written by the author (keep its meaning, improve it):\n{draft}\n\n"


def omitted_note(hunks: int) -> str:
    """The ``{omitted}`` text: how many hunks did not fit the prompt budget."""
    return f"({hunks} more hunks not shown: over the prompt budget)\n\n" if hunks else ""


def values(*, branch: str, recent_commits: str, draft: str, facts: str = "") -> dict[str, str]:
    """Every placeholder's text but the file list, the diff and the note on what did not
    fit: those are fitted to the budget last, measured against this fixed part."""
    return {
        "diff": "",
        "files": "",
        "branch": branch or "(detached)",
        "recent_commits": recent_commits or "(none yet)",
        "draft": draft_note(draft),
        "facts": facts or "(nothing known)",
        "omitted": "",
    }


def render(template: str, values: dict[str, Any]) -> str:
    """``template`` with each ``{name}`` replaced by its value: a plain substitution, so a
    value's own braces are never read again."""

    def one(match: re.Match[str]) -> str:
        token, name = match.group(0), match.group(1)
        if name in PLACEHOLDERS:
            return str(values.get(name, ""))
        return {"{{": "{", "}}": "}"}.get(token, token)

    return _FIELD.sub(one, template)


def build_messages(*, template: str, opts: Options, values: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": system_prompt(opts)},
        {"role": "user", "content": render(template, values)},
    ]


def alternating(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """``messages`` as strict chat templates accept them: one system message at most, and
    first; then user and assistant turns that alternate.

    Gemma 3's template (the default model's) raises on two user turns in a row, and
    llama-server then answers HTTP 400. A later system message counts as the user's words
    (Gemma has no system role), and turns of one role in a row become one turn, their
    texts joined in order, so the fixed part of the prompt stays first.
    """
    out: list[dict[str, str]] = []
    for message in messages:
        role = message["role"]
        if role == "system" and any(m["role"] != "system" for m in out):
            role = "user"
        if out and out[-1]["role"] == role:
            out[-1] = {"role": role, "content": out[-1]["content"] + "\n\n" + message["content"]}
        else:
            out.append({**message, "role": role})
    return out
