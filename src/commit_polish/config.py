"""Configuration: defaults, then the user's config.toml, then the repository's
``.commit-polish.toml``, then ``COMMIT_POLISH_*`` environment variables.

:func:`load` returns a frozen :class:`Config` of typed sections. Unknown keys and wrong types
are errors that name the file and the key. Every key name is unique across sections, so
``COMMIT_POLISH_<KEY>`` maps to exactly one key.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from commit_polish import envvars, paths
from commit_polish.errors import PATH_SHOWN, VALUE_SHOWN, ConfigError, shorten

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO_FILE = ".commit-polish.toml"


@dataclass(frozen=True)
class AI:
    model: str = "llamafile/gemma-3-1b-it"
    temperature: float = 0.2
    # A subject and a short body: bodies that run on are small models looping.
    max_tokens: int = 160
    timeout: float = 60.0
    # Seconds the whole hook aims at: the prompt is sized so that reading it and writing the
    # reply fit (speed.py); timeout stays the hard limit.
    target_seconds: float = 15.0
    allow_remote: bool = False
    # Messages to choose among, asked of a fast server only (validate.FAST_REPLY).
    candidates: int = 1


@dataclass(frozen=True)
class Llamafile:
    path: str = ""
    model_path: str = ""
    api_base: str = "http://127.0.0.1:8080/v1"
    port: int = 8080
    gpu_layers: int = 0
    # A server the user runs (install --server): nothing to download, start or check on disk.
    external_server: bool = False


@dataclass(frozen=True)
class Message:
    style: str = "conventional"
    gitmoji: bool = False
    language: str = "English"
    subject_max_length: int = 72
    # A subject only: what changed is in the diff and the facts; why, the model cannot know
    # (its bodies restate the diff, or loop). `body = true` asks for one.
    body: bool = False
    template: str = ""
    exclude: tuple[str, ...] = ()
    prompt_budget: int = 12000
    learn_style: bool = True
    rules: bool = True  # messages that need no model (rules.py) are written without one
    # The grammar makes a subject name a thing of the change (grammar.py): no vague subjects.
    grounded: bool = True


@dataclass(frozen=True)
class Hook:
    on_message: str = "keep"
    on_amend: str = "keep"
    strict: bool = False


@dataclass(frozen=True)
class Config:
    ai: AI = field(default_factory=AI)
    llamafile: Llamafile = field(default_factory=Llamafile)
    message: Message = field(default_factory=Message)
    hook: Hook = field(default_factory=Hook)
    # key -> where its value came from: "default", a file path, "env NAME" or a CLI flag
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def strict(self) -> bool:
        return self.hook.strict


SECTIONS: dict[str, type[Any]] = {
    "ai": AI,
    "llamafile": Llamafile,
    "message": Message,
    "hook": Hook,
}
# The annotation text of each field (``from __future__ import annotations``) -> its kind.
_KINDS = {"str": str, "int": int, "float": float, "bool": bool, "tuple[str, ...]": list}
KEY_SECTION = {f.name: s for s, cls in SECTIONS.items() for f in dataclasses.fields(cls)}
KEY_KIND: dict[str, type] = {
    f.name: _KINDS[str(f.type)] for cls in SECTIONS.values() for f in dataclasses.fields(cls)
}

CHOICES: dict[str, tuple[str, ...]] = {
    "style": ("conventional", "plain"),
    "on_message": ("keep", "polish"),
    "on_amend": ("keep", "regenerate"),
}
POSITIVE = frozenset(
    {"timeout", "target_seconds", "max_tokens", "subject_max_length", "prompt_budget", "candidates"}
)
# A commit hook that waits an hour has failed anyway; far beyond that (1e308) the clocks and
# socket timeouts under us overflow.
MAXIMUM: dict[str, float] = {"timeout": 3600.0, "target_seconds": 3600.0, "candidates": 8.0}
# Every changed path is matched against every exclude glob; a repository's 64 KiB file could
# hold 3,000 of them, seconds per thousand files.
EXCLUDE_MAX = 256

PATHS = frozenset({"template", "path", "model_path"})
# A repository's own file must not decide where its diffs are sent or what runs.
REPO_FORBIDDEN = frozenset(
    {
        "model",
        "path",
        "model_path",
        "api_base",
        "port",
        "allow_remote",
        "gpu_layers",
        "external_server",
    }
)

# The language is written into the instructions; a name, not a sentence.
LANGUAGE_MAX = 40
_LANGUAGE_PUNCTUATION = frozenset(" ()-")

TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "a list of strings",
}


def defaults() -> Config:
    return Config(sources=dict.fromkeys(KEY_SECTION, "default"))


def value(cfg: Config, key: str) -> Any:
    """The value of ``key`` (a flat key name such as ``"timeout"``)."""
    return getattr(getattr(cfg, KEY_SECTION[key]), key)


def flat(cfg: Config) -> dict[str, Any]:
    """Every key and its value, in schema order."""
    return {key: value(cfg, key) for key in KEY_SECTION}


def with_values(cfg: Config, values: Mapping[str, Any], source: str) -> Config:
    """``cfg`` with ``values`` (flat key -> already checked value) set, coming from ``source``."""
    sections = {
        name: dataclasses.replace(
            getattr(cfg, name), **{k: v for k, v in values.items() if KEY_SECTION[k] == name}
        )
        for name in SECTIONS
    }
    sources = {**cfg.sources, **dict.fromkeys(values, source)}
    return Config(**sections, sources=sources)


def check_value(key: str, raw: Any, where: str) -> Any:
    """``raw`` as the type of ``key``, or ConfigError naming ``where`` and the key."""
    expected = KEY_KIND[key]
    name = f"{KEY_SECTION[key]}.{key}"
    if isinstance(raw, int) and not isinstance(raw, bool):
        # TOML's integers are 64-bit, but tomllib reads any length (1e400 as digits)
        if not -(2**63) <= raw < 2**63:
            raise ConfigError(f"{where}: {name} is out of range, got {shown(raw)}")
        raw = float(raw) if expected is float else raw
    ok = (
        isinstance(raw, list | tuple) and all(isinstance(v, str) for v in raw)
        if expected is list
        else isinstance(raw, expected) and not (expected is not bool and isinstance(raw, bool))
    )
    if not ok:
        raise ConfigError(f"{where}: {name} must be {TYPE_NAMES[expected]}, got {shown(raw)}")
    problem = _problem(key, raw)
    if problem:
        raise ConfigError(f"{where}: {name} {problem}")
    return tuple(raw) if expected is list else raw


def _problem(key: str, raw: Any) -> str:
    """What is wrong with a value of the right type ("" when nothing is)."""
    if isinstance(raw, float) and not math.isfinite(raw):
        return f"must be a finite number, got {shown(raw)}"
    if key == "language" and not is_language_name(raw):
        return (
            "must be a language's name (letters, spaces, hyphens, parentheses; at most "
            f"{LANGUAGE_MAX}), got {shown(raw)}"
        )
    if key in PATHS and "\0" in raw:  # no file name holds one; os calls raise ValueError
        return "is not a file name (it holds a NUL character)"
    if key in CHOICES and raw not in CHOICES[key]:
        return f"must be one of {', '.join(CHOICES[key])}, got {shown(raw)}"
    if key in POSITIVE and raw <= 0:
        return f"must be positive, got {shown(raw)}"
    if key in MAXIMUM and raw > MAXIMUM[key]:
        return f"must be at most {MAXIMUM[key]:g}, got {shown(raw)}"
    if key == "gpu_layers" and raw < 0:
        return f"must be 0 or more, got {shown(raw)}"
    if key == "exclude" and (len(raw) > EXCLUDE_MAX or any(len(p) > EXCLUDE_MAX for p in raw)):
        return (
            f"may hold at most {EXCLUDE_MAX} globs of at most {EXCLUDE_MAX} characters, "
            f"got {len(raw)} (longest {max(map(len, raw))})"
        )
    return ""


def shown(raw: Any, *, quote: bool = True) -> str:
    """``raw`` as an error quotes it: its repr (or, with ``quote=False``, a name as it is),
    shortened, so that a 60 KB value in a cloned repository's file is still a short line."""
    return shorten(repr(raw) if quote else str(raw), VALUE_SHOWN)


def is_language_name(text: str) -> bool:
    """Whether ``text`` may be a language's name: 1 to 40 characters, a letter first, then
    letters of any script (with their combining marks, as हिन्दी and தமிழ் need), spaces,
    hyphens and parentheses. No digits, punctuation or line breaks: it is written into the
    instructions, and a sentence there is an instruction."""
    import unicodedata

    def fits(char: str) -> bool:
        kind = unicodedata.category(char)
        return kind.startswith(("L", "M")) or char in _LANGUAGE_PUNCTUATION

    return (
        0 < len(text) <= LANGUAGE_MAX
        and unicodedata.category(text[0]).startswith("L")
        and all(fits(c) for c in text)
    )


def read_file(path: Path, *, inside: Path | None = None) -> dict[str, Any]:
    """The TOML table in ``path`` ({} when there is none); with ``inside``, the file must
    resolve (symlinks followed) to a file in that directory."""
    from commit_polish.files import read_small

    if inside is not None and path.is_symlink():
        _check_inside(path, inside, str(path), "the file")
    try:
        data = read_small(path)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except ValueError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    except ValueError as exc:  # int() refuses more than 4,300 digits; TOML allows 19
        raise ConfigError(f"{path}: invalid TOML: a number too long to read") from exc
    except RecursionError as exc:  # tomllib recurses into each nested array or table
        raise ConfigError(f"{path}: invalid TOML: arrays or tables nested too deeply") from exc


def _check_inside(path: Path, root: Path, where: str, what: str) -> Path:
    """``path`` resolved, or ConfigError unless it lies inside ``root`` (a repository's
    work tree), outside its .git directory, and is not a file that holds secrets."""
    from commit_polish import redact

    resolved, top = path.resolve(), root.resolve()
    if not resolved.is_relative_to(top):
        named = shorten(str(resolved), PATH_SHOWN)
        raise ConfigError(f"{where}: {what} {named} is outside the repository {top}")
    inner = resolved.relative_to(top)
    # casefold: on a case-insensitive disk (macOS, Windows) .GIT/config is .git/config
    if ".git" in (part.casefold() for part in inner.parts) or redact.is_secret_file(resolved.name):
        named = shorten(str(inner), PATH_SHOWN)
        raise ConfigError(f"{where}: {what} {named} may not be read (a git or secret file)")
    return resolved


def _repo_template(raw: str, root: Path, where: str) -> str:
    """A repository's ``template`` as an absolute path inside its work tree."""
    if raw.startswith("~"):
        raise ConfigError(f"{where}: message.template may not start with ~ in a repository")
    return str(_check_inside(root / raw, root, where, "message.template")) if raw else raw


def table_values(table: dict[str, Any], where: str, *, repo: bool = False) -> dict[str, Any]:
    """The checked flat values of one TOML table."""
    out: dict[str, Any] = {}
    for section, body in table.items():
        if section not in SECTIONS:
            raise ConfigError(f"{where}: unknown section [{shown(section, quote=False)}]")
        if not isinstance(body, dict):
            raise ConfigError(f"{where}: {section} must be a table ([{section}])")
        for key, raw in body.items():
            if KEY_SECTION.get(key) != section:
                raise ConfigError(f"{where}: unknown key {section}.{shown(key, quote=False)}")
            if repo and key in REPO_FORBIDDEN:
                raise ConfigError(
                    f"{where}: {section}.{key} may only be set in your own config "
                    f"({paths.config_file()}), not in a repository"
                )
            out[key] = check_value(key, raw, where)
    return out


def _parse_env(key: str, raw: str, where: str) -> Any:
    expected = KEY_KIND[key]
    try:
        if expected is bool:
            lowered = raw.strip().lower()
            if lowered in envvars.TRUE_WORDS | envvars.FALSE_WORDS:
                return lowered in envvars.TRUE_WORDS
            raise ValueError(raw)
        if expected is int:
            return int(raw)
        if expected is float:
            return float(raw)
        if expected is list:
            return [part.strip() for part in raw.split(",") if part.strip()]
    except ValueError as exc:
        raise ConfigError(f"{where} must be {TYPE_NAMES[expected]}, got {shown(raw)}") from exc
    return raw


def parse_text(key: str, raw: str, where: str) -> Any:
    """``raw`` text (an environment variable, a command-line value) as a checked value of
    ``key``: ``true``/``false``, numbers, comma-separated lists."""
    return check_value(key, _parse_env(key, raw, where), where)


def apply_env(cfg: Config, environ: Mapping[str, str]) -> Config:
    for name, raw in environ.items():
        if not name.startswith(envvars.PREFIX) or name in envvars.RESERVED:
            continue
        key = name[len(envvars.PREFIX) :].lower()
        if key not in KEY_SECTION:
            raise ConfigError(f"environment: unknown variable {name}")
        checked = parse_text(key, raw, name)
        cfg = with_values(cfg, {key: checked}, f"env {name}")
    return cfg


def load(repo_root: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """The effective configuration for a repository (or none)."""
    cfg = defaults()
    user_file = paths.config_file()
    cfg = with_values(cfg, table_values(read_file(user_file), str(user_file)), str(user_file))
    if repo_root is not None:
        repo_file = repo_root / REPO_FILE
        repo_table = read_file(repo_file, inside=repo_root)
        repo_values = table_values(repo_table, str(repo_file), repo=True)
        if "template" in repo_values:
            repo_values["template"] = _repo_template(
                repo_values["template"], repo_root, str(repo_file)
            )
        cfg = with_values(cfg, repo_values, str(repo_file))
    return apply_env(cfg, os.environ if environ is None else environ)


def strict_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """Whether strict mode is on, readable even when a config file is broken."""
    env = os.environ if environ is None else environ
    return envvars.is_true(env.get(envvars.STRICT, ""))


def write_user_config(updates: dict[str, Any]) -> Path:
    """Merge ``updates`` (key -> value) into the user's config.toml, keeping other keys.

    Written to a temp file and renamed into place.
    """
    import tomli_w

    from commit_polish.files import write_atomic

    path = paths.config_file()
    table = read_file(path)
    for key, raw in updates.items():
        check_value(key, raw, "update")
        table.setdefault(KEY_SECTION[key], {})[key] = list(raw) if isinstance(raw, tuple) else raw
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, tomli_w.dumps(table).encode("utf-8"))
    return path


def key_name(text: str) -> str:
    """The flat key for ``timeout`` or ``ai.timeout``; ConfigError naming it otherwise."""
    section, _, key = text.rpartition(".")
    if key in KEY_SECTION and section in ("", KEY_SECTION[key]):
        return key
    raise ConfigError(f"unknown key {text!r} (see the keys with: commit-polish config)")


def as_text(value: Any) -> str:
    """A value as ``config get`` prints it and ``config set`` reads it back."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return ",".join(value)
    return str(value)


def as_toml(cfg: Config) -> str:
    """The effective configuration as TOML, each value followed by where it came from."""
    import tomli_w

    out: list[str] = []
    for section in SECTIONS:
        out.append(f"[{section}]")
        for key in (k for k, s in KEY_SECTION.items() if s == section):
            raw = value(cfg, key)
            line = tomli_w.dumps({key: list(raw) if isinstance(raw, tuple) else raw}).strip()
            out.append(f"{line}  # {cfg.sources[key]}")
        out.append("")
    return "\n".join(out)
