"""Fixtures for tests against the real llama-server with SmolLM2 (built/fetched once, cached).

The first run on a machine builds llama-server (~6 minutes on 2 cores); later runs reuse the
cache in $COMMIT_POLISH_DEV_CACHE or the user cache dir.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# `dev` lives at the repository root, which is not on sys.path when pytest runs from a subdir.
_REPO_ROOT = str(Path(__file__).resolve().parents[2])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from dev.realserver import RealServer, llama_server_binary, smollm2_gguf  # noqa: E402

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Every test in this directory needs the real backend: mark them so `-m "not integration"`
    # deselects them without each file remembering to.
    for item in items:
        if _HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.integration)


def _progress(config: pytest.Config) -> Callable[[str], None]:
    """A log function that gets past pytest's capturing: a silent 6-minute build looks hung."""
    capman = config.pluginmanager.getplugin("capturemanager")

    def log(message: str) -> None:
        if capman is None:
            print(message, file=sys.stderr, flush=True)
            return
        with capman.global_and_fixture_disabled():
            print(f"\n{message}", file=sys.stderr, flush=True)

    return log


@pytest.fixture(scope="session")
def llama_server_bin(pytestconfig: pytest.Config) -> Path:
    return llama_server_binary(log=_progress(pytestconfig))


@pytest.fixture(scope="session")
def smollm2_model(pytestconfig: pytest.Config) -> Path:
    return smollm2_gguf(log=_progress(pytestconfig))


@pytest.fixture(scope="session")
def real_server(
    llama_server_bin: Path, smollm2_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RealServer]:
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    with RealServer(llama_server_bin, smollm2_model, log_path=log_path) as server:
        yield server


@pytest.fixture
def stop_detached(repo: Path) -> Iterator[None]:
    """Whatever a test started with ``commit-polish serve --detach`` is stopped, even when
    the test fails (the server runs in its own session and would outlive the test run)."""
    from .helpers import cli

    yield
    cli(repo, "stop", timeout=60)
