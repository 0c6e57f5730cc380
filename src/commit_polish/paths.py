"""Every directory commit-polish uses, from platformdirs, with one override.

``COMMIT_POLISH_HOME`` moves everything (config, data, cache, state) under one directory;
tests use it so that nothing touches the real home directory.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from commit_polish import envvars

APP = "commit-polish"


def _dir(kind: str) -> Path:
    """``$COMMIT_POLISH_HOME/KIND``, else platformdirs' ``user_KIND_dir`` for the app."""
    value = os.environ.get(envvars.HOME)
    if value:
        return Path(value).expanduser() / kind
    import platformdirs  # only paths that need it pay for the import

    return Path(getattr(platformdirs, f"user_{kind}_dir")(APP))


def config_dir() -> Path:
    return _dir("config")


def data_dir() -> Path:
    return _dir("data")


def cache_dir() -> Path:
    return _dir("cache")


def state_dir() -> Path:
    return _dir("state")


def config_file() -> Path:
    return config_dir() / "config.toml"


def runtime_dir() -> Path:
    return data_dir() / "runtime"


def models_dir() -> Path:
    return data_dir() / "models"


def service_dir() -> Path:
    """Where the service's socket lives: the user's runtime directory, else the state dir.

    Not platformdirs' fallback for a Linux without ``XDG_RUNTIME_DIR``: that is a fixed name
    in /tmp, which another user can create first.
    """
    value = os.environ.get(envvars.HOME)
    if value:
        return Path(value).expanduser() / "run"
    if sys.platform.startswith("linux") and not os.environ.get("XDG_RUNTIME_DIR"):
        return state_dir() / "run"
    import platformdirs

    return Path(platformdirs.user_runtime_dir(APP))
