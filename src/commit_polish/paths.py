"""Every directory commit-polish uses, from platformdirs, with one override.

``COMMIT_POLISH_HOME`` moves everything (config, data, cache, state) under one directory;
tests use it so that nothing touches the real home directory.
"""

from __future__ import annotations

import os
from pathlib import Path

APP = "commit-polish"
HOME_ENV = "COMMIT_POLISH_HOME"


def _home() -> Path | None:
    value = os.environ.get(HOME_ENV)
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    home = _home()
    if home is not None:
        return home / "config"
    import platformdirs

    return Path(platformdirs.user_config_dir(APP))


def data_dir() -> Path:
    home = _home()
    if home is not None:
        return home / "data"
    import platformdirs

    return Path(platformdirs.user_data_dir(APP))


def cache_dir() -> Path:
    home = _home()
    if home is not None:
        return home / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP))


def state_dir() -> Path:
    home = _home()
    if home is not None:
        return home / "state"
    import platformdirs

    return Path(platformdirs.user_state_dir(APP))


def config_file() -> Path:
    return config_dir() / "config.toml"


def runtime_dir() -> Path:
    return data_dir() / "runtime"


def models_dir() -> Path:
    return data_dir() / "models"
