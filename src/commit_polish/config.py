"""Configuration: defaults, then the user's config.toml, then the repository's
``.commit-polish.toml``, then ``COMMIT_POLISH_*`` environment variables.

Unknown keys and wrong types are errors that name the file and the key. Every key name is
unique across sections, so ``COMMIT_POLISH_<KEY>`` maps to exactly one key.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from commit_polish import paths
from commit_polish.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO_FILE = ".commit-polish.toml"
ENV_PREFIX = "COMMIT_POLISH_"
# Variables with the prefix that are not config keys.
ENV_RESERVED = {"HOME", "SKIP", "DEV_CACHE", "STATS"}  # DEV_CACHE: dev/realserver.py

# section -> key -> (type, default). Types: str, int, float, bool, list (of str).
SCHEMA: dict[str, dict[str, tuple[type, Any]]] = {
    "ai": {
        "model": (str, "llamafile/gemma-3-1b-it"),
        "temperature": (float, 0.2),
        "max_tokens": (int, 300),
        "timeout": (float, 60.0),
        "allow_remote": (bool, False),
    },
    "llamafile": {
        "path": (str, ""),
        "model_path": (str, ""),
        "api_base": (str, "http://127.0.0.1:8080/v1"),
        "port": (int, 8080),
        "gpu_layers": (int, 0),
    },
    "message": {
        "style": (str, "conventional"),
        "gitmoji": (bool, False),
        "language": (str, "English"),
        "subject_max_length": (int, 72),
        "body": (bool, True),
        "template": (str, ""),
        "exclude": (list, []),
        "prompt_budget": (int, 12000),
        "learn_style": (bool, True),
    },
    "hook": {
        "on_message": (str, "keep"),
        "on_amend": (str, "keep"),
        "strict": (bool, False),
    },
}

CHOICES: dict[str, tuple[str, ...]] = {
    "style": ("conventional", "plain"),
    "on_message": ("keep", "polish"),
    "on_amend": ("keep", "regenerate"),
}

# A repository's own file must not decide where its diffs are sent or what runs.
REPO_FORBIDDEN = {"model", "path", "model_path", "api_base", "port", "allow_remote", "gpu_layers"}

TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "a list of strings",
}

KEY_SECTION = {key: section for section, keys in SCHEMA.items() for key in keys}


@dataclass
class Config:
    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def strict(self) -> bool:
        return bool(self.values["strict"])


def defaults() -> Config:
    cfg = Config()
    for keys in SCHEMA.values():
        for key, (_type, default) in keys.items():
            cfg.values[key] = list(default) if isinstance(default, list) else default
            cfg.sources[key] = "default"
    return cfg


def _check_value(key: str, value: Any, where: str) -> Any:
    expected, _default = SCHEMA[KEY_SECTION[key]][key]
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    ok = (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
        if expected is list
        else isinstance(value, expected) and not (expected is not bool and isinstance(value, bool))
    )
    if not ok:
        kind = TYPE_NAMES[expected]
        raise ConfigError(f"{where}: {KEY_SECTION[key]}.{key} must be {kind}, got {value!r}")
    if key in CHOICES and value not in CHOICES[key]:
        raise ConfigError(
            f"{where}: {KEY_SECTION[key]}.{key} must be one of {', '.join(CHOICES[key])}, "
            f"got {value!r}"
        )
    if key in {"timeout", "max_tokens", "subject_max_length", "prompt_budget"} and value <= 0:
        raise ConfigError(f"{where}: {KEY_SECTION[key]}.{key} must be positive, got {value!r}")
    if key == "gpu_layers" and value < 0:
        raise ConfigError(f"{where}: {KEY_SECTION[key]}.{key} must be 0 or more, got {value!r}")
    return value


def read_file(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc


def apply_table(cfg: Config, table: dict[str, Any], where: str, *, repo: bool = False) -> None:
    for section, body in table.items():
        if section not in SCHEMA:
            raise ConfigError(f"{where}: unknown section [{section}]")
        if not isinstance(body, dict):
            raise ConfigError(f"{where}: {section} must be a table ([{section}])")
        for key, value in body.items():
            if key not in SCHEMA[section]:
                raise ConfigError(f"{where}: unknown key {section}.{key}")
            if repo and key in REPO_FORBIDDEN:
                raise ConfigError(
                    f"{where}: {section}.{key} may only be set in your own config "
                    f"({paths.config_file()}), not in a repository"
                )
            cfg.values[key] = _check_value(key, value, where)
            cfg.sources[key] = where


def _parse_env(key: str, raw: str, where: str) -> Any:
    expected = SCHEMA[KEY_SECTION[key]][key][0]
    try:
        if expected is bool:
            lowered = raw.strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        if expected is int:
            return int(raw)
        if expected is float:
            return float(raw)
        if expected is list:
            return [part.strip() for part in raw.split(",") if part.strip()]
    except ValueError as exc:
        raise ConfigError(f"{where} must be {TYPE_NAMES[expected]}, got {raw!r}") from exc
    return raw


def apply_env(cfg: Config, environ: dict[str, str]) -> None:
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key.upper() in ENV_RESERVED:
            continue
        if key not in KEY_SECTION:
            raise ConfigError(f"environment: unknown variable {name}")
        cfg.values[key] = _check_value(key, _parse_env(key, raw, name), name)
        cfg.sources[key] = f"env {name}"


def load(repo_root: Path | None = None, environ: dict[str, str] | None = None) -> Config:
    """The effective configuration for a repository (or none)."""
    cfg = defaults()
    user_file = paths.config_file()
    apply_table(cfg, read_file(user_file), str(user_file))
    if repo_root is not None:
        repo_file = repo_root / REPO_FILE
        apply_table(cfg, read_file(repo_file), str(repo_file), repo=True)
    apply_env(cfg, dict(os.environ) if environ is None else environ)
    return cfg


def strict_from_env(environ: dict[str, str] | None = None) -> bool:
    """Whether strict mode is on, readable even when a config file is broken."""
    env = dict(os.environ) if environ is None else environ
    raw = env.get(ENV_PREFIX + "STRICT", "")
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def write_user_config(updates: dict[str, Any]) -> Path:
    """Merge ``updates`` (key -> value) into the user's config.toml, keeping other keys.

    Written to a temp file and renamed into place.
    """
    import tomli_w

    from commit_polish.message import write_atomic

    path = paths.config_file()
    table = read_file(path)
    for key, value in updates.items():
        section = KEY_SECTION[key]
        _check_value(key, value, "update")
        table.setdefault(section, {})[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, tomli_w.dumps(table).encode("utf-8"))
    return path


def describe(cfg: Config) -> list[tuple[str, Any, str]]:
    """(section.key, value, source) rows for ``commit-polish config``."""
    return [
        (f"{KEY_SECTION[key]}.{key}", cfg.values[key], cfg.sources[key])
        for section in SCHEMA
        for key in SCHEMA[section]
    ]
