"""``commit-polish config set/unset``: one key of a config file changed, the rest kept.

A whole-file rewrite with tomli-w would drop the user's comments and layout, so the file is
edited as text: the key's own lines are replaced (a value may span lines: an array, a
multi-line string), a new key goes at the end of its section, a new section at the end of
the file. The result is parsed again and must be the old table with exactly that change;
if the file is laid out in a way the text edit cannot follow (dotted keys, inline tables),
it is rewritten whole with tomli-w instead and the caller is told that comments were lost.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from commit_polish import config, git, paths
from commit_polish.errors import ConfigError
from commit_polish.files import write_atomic

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_HEADER = re.compile(r"^\s*\[\s*(?P<name>[A-Za-z0-9_\-]+)\s*\]\s*(?:#.*)?$")
_ANY_HEADER = re.compile(r"^\s*\[")


@dataclass(frozen=True)
class Edit:
    path: Path
    changed: bool  # False: unset of a key the file does not hold
    kept_layout: bool  # False: the file was rewritten whole (comments lost)
    key: str = ""  # section.key
    shown: str = ""  # the value as written in TOML


def target(repo: bool) -> Path:
    """The file ``config set/unset/edit`` change: the user's, or the repository's."""
    if not repo:
        return paths.config_file()
    root = git.toplevel()
    if root is None:
        raise ConfigError("--repo: not inside a git repository (cd into one first)")
    return root / config.REPO_FILE


def set_from_text(key: str, raw: str, *, repo: bool = False) -> Edit:
    """``config set KEY VALUE``: checked as the key's type (and, with ``repo``, as a key a
    repository may set), then written."""
    name = config.key_name(key)
    path = target(repo)
    value = config.parse_text(name, raw, f"config set {key}")
    config.table_values({config.KEY_SECTION[name]: {name: _toml(value)}}, str(path), repo=repo)
    edit = set_key(path, name, value)
    shown = tomli_w.dumps({name: _toml(value)}).strip().split(" = ", 1)[1]
    return Edit(edit.path, edit.changed, edit.kept_layout, _dotted(name), shown)


def unset_from_text(key: str, *, repo: bool = False) -> Edit:
    name = config.key_name(key)
    edit = unset_key(target(repo), name)
    return Edit(edit.path, edit.changed, edit.kept_layout, _dotted(name))


def edit(repo: bool) -> Path:
    """Open the file in git's editor (core.editor, GIT_EDITOR, VISUAL, EDITOR), creating it
    if needed; then check it, so a typo is named now rather than at the next commit."""
    import click

    path = target(repo)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, b"# commit-polish configuration; keys: commit-polish config\n")
    click.edit(filename=str(path), editor=git.text(["var", "GIT_EDITOR"]))
    try:
        config.table_values(config.read_file(path), str(path), repo=repo)
    except ConfigError as exc:
        raise ConfigError(f"{exc} (fix it with: commit-polish config edit)") from exc
    return path


def _dotted(key: str) -> str:
    return f"{config.KEY_SECTION[key]}.{key}"


def set_key(path: Path, key: str, value: Any) -> Edit:
    """Write ``key = value`` (an already checked value) into the TOML file at ``path``."""
    text, table = _read(path)
    section = config.KEY_SECTION[key]
    wanted = {**table, section: {**table.get(section, {}), key: _toml(value)}}
    return _write(path, _set_text(text, section, key, _toml(value)), wanted)


def unset_key(path: Path, key: str) -> Edit:
    """Remove ``key`` from the file at ``path``; a section left empty stays."""
    text, table = _read(path)
    section = config.KEY_SECTION[key]
    if key not in table.get(section, {}):
        return Edit(path, changed=False, kept_layout=True)
    wanted = {**table, section: {k: v for k, v in table[section].items() if k != key}}
    lines = text.splitlines()
    found = _key_span(lines, section, key)
    edited = None if found is None else "\n".join(lines[: found[0]] + lines[found[1] :]) + "\n"
    return _write(path, edited, wanted)


def _toml(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _read(path: Path) -> tuple[str, dict[str, Any]]:
    table = config.read_file(path)  # ConfigError naming the file if it is broken
    text = path.read_text(encoding="utf-8") if table or path.exists() else ""
    return text, table


def _write(path: Path, edited: str | None, wanted: dict[str, Any]) -> Edit:
    kept = edited is not None and _parses_to(edited, wanted)
    content = edited if kept and edited is not None else tomli_w.dumps(wanted)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, content.encode("utf-8"))
    return Edit(path, changed=True, kept_layout=kept)


def _parses_to(text: str, wanted: dict[str, Any]) -> bool:
    try:
        return tomllib.loads(text) == wanted
    except tomllib.TOMLDecodeError:
        return False


def _set_text(text: str, section: str, key: str, value: Any) -> str | None:
    line = tomli_w.dumps({key: value}).rstrip("\n")
    lines = text.splitlines()
    found = _key_span(lines, section, key)
    if found is not None:
        start, end = found
        return "\n".join([*lines[:start], line, *lines[end:]]) + "\n"
    bounds = _section_bounds(lines, section)
    if bounds is None:
        gap = [""] if lines and lines[-1].strip() else []
        return "\n".join([*lines, *gap, f"[{section}]", line]) + "\n"
    start, end = bounds
    last = max(
        (
            i
            for i in range(start, end)
            if lines[i].strip() and not lines[i].lstrip().startswith("#")
        ),
        default=start,
    )
    return "\n".join([*lines[: last + 1], line, *lines[last + 1 :]]) + "\n"


def _section_bounds(lines: list[str], section: str) -> tuple[int, int] | None:
    """(the header's index, the index where the section ends)."""
    for i, line in enumerate(lines):
        header = _HEADER.match(line)
        if header and header.group("name") == section:
            end = next((j for j in range(i + 1, len(lines)) if _ANY_HEADER.match(lines[j])), None)
            return i, len(lines) if end is None else end
    return None


def _key_span(lines: list[str], section: str, key: str) -> tuple[int, int] | None:
    """The lines ``[start, end)`` that hold ``key``'s assignment inside ``[section]``: from
    the line that starts with the key to the first line after which it parses alone."""
    bounds = _section_bounds(lines, section)
    if bounds is None:
        return None
    start_of_key = re.compile(rf"""^\s*(?:{re.escape(key)}|"{re.escape(key)}")\s*=""")
    for i in range(bounds[0] + 1, bounds[1]):
        if start_of_key.match(lines[i]):
            for j in range(i + 1, bounds[1] + 1):
                try:
                    if key in tomllib.loads("\n".join(lines[i:j])):
                        return i, j
                except tomllib.TOMLDecodeError:
                    continue
            return None
    return None
