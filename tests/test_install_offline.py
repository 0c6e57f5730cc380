"""An install on a machine that cannot reach the download hosts: fail at once, say which
files are needed and the ways out; ``--dry-run``; ``--mirror DIR``; a local model that is
not GGUF. The real catalog is used, so the texts show the real names, sizes and sums."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from pytest_httpx import HTTPXMock

from commit_polish import catalog, download, paths
from commit_polish.cli import cli

RUNTIME = catalog.runtime()
MODEL = catalog.MODELS["gemma-3-1b"].artifact
WAYS_OUT = (
    "ways out: fetch them on another machine into a directory and run: commit-polish install "
    "--mirror DIR; or use files you already have: commit-polish install --runtime PATH "
    "--model PATH.gguf; or use a model server you already run: commit-polish install "
    "--server URL"
)
RUNTIME_LINE = (
    "llamafile-0.9.3 (about 293.0 MB, "
    "https://github.com/mozilla-ai/llamafile/releases/download/0.9.3/llamafile-0.9.3, "
    "sha256 c62b303d2fa6ca6829f10cf9b3c9bfae38a28182eacea92502a399b90547b24b)"
)
MODEL_LINE = (
    "gemma-3-1b-it-Q4_K_M.gguf (806.1 MB, "
    "https://huggingface.co/ggml-org/gemma-3-1b-it-GGUF/resolve/main/gemma-3-1b-it-Q4_K_M.gguf, "
    "sha256 8ccc5cd1f1b3602548715ae25a66ed73fd5dc68a210412eea643eb20eb75a135)"
)


@pytest.fixture(autouse=True)
def big_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Room for the real catalog's 1.1 GB, whatever the test machine has."""
    monkeypatch.setattr(
        shutil,
        "disk_usage",
        lambda p: shutil._ntuple_diskusage(10**12, 0, 10**12),  # type: ignore[attr-defined]
    )


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    from commit_polish import install

    slept: list[float] = []
    assert install.install.__kwdefaults__ is not None
    monkeypatch.setitem(install.install.__kwdefaults__, "sleep", slept.append)
    return slept


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    monkeypatch.chdir(path)
    return path


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def no_name(host: str) -> httpx.ConnectError:
    """What httpx raises when a name does not resolve: the gaierror is in the chain."""
    error = httpx.ConnectError("[Errno -3] Temporary failure in name resolution")
    error.__cause__ = socket.gaierror(-3, "Temporary failure in name resolution")
    return error


def test_dns_failure_fails_fast_and_lists_every_file(
    httpx_mock: HTTPXMock, repo: Path, sleeps: list[float]
) -> None:
    httpx_mock.add_exception(no_name("github.com"), url=RUNTIME.url)

    result = invoke("install")

    assert result.exit_code == 1
    assert result.stderr == (
        "commit-polish: cannot download llamafile-0.9.3: github.com does not resolve (is this "
        f"machine offline?); install needs: {RUNTIME_LINE}; {MODEL_LINE}; {WAYS_OUT}\n"
    )
    assert len(httpx_mock.get_requests()) == 1  # no retry
    assert sleeps == []
    assert not paths.config_file().exists()
    assert not (paths.runtime_dir() / RUNTIME.name).exists()


def test_only_the_files_still_needed_are_listed(
    httpx_mock: HTTPXMock, repo: Path, sleeps: list[float]
) -> None:
    runtime = paths.runtime_dir() / catalog.runtime_filename()
    runtime.parent.mkdir(parents=True)
    runtime.write_bytes(b"#!/bin/sh\n")
    download.record_verified(runtime, RUNTIME.sha256)
    httpx_mock.add_exception(no_name("huggingface.co"), url=MODEL.url)

    result = invoke("install")

    assert result.exit_code == 1
    assert result.stderr == "llamafile-0.9.3: already present and verified\n" + (
        "commit-polish: cannot download gemma-3-1b-it-Q4_K_M.gguf: huggingface.co does not "
        f"resolve (is this machine offline?); install needs: {MODEL_LINE}; {WAYS_OUT}\n"
    )
    assert sleeps == []


def test_refused_mirror_fails_fast(repo: Path, sleeps: list[float], closed_port: int) -> None:
    # A real refusal (no httpx_mock here): a loopback mirror whose port nobody listens on.
    mirror = f"http://127.0.0.1:{closed_port}/files"
    result = invoke("install", "--mirror", mirror)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "commit-polish: cannot download llamafile-0.9.3: 127.0.0.1 refused the connection; "
        f"install needs: {RUNTIME_LINE}; "
    )
    assert sleeps == []


def test_a_timeout_is_still_retried_and_then_lists_the_files(
    httpx_mock: HTTPXMock, repo: Path, sleeps: list[float]
) -> None:
    for _ in range(download.DEFAULT_RETRIES + 1):
        httpx_mock.add_exception(httpx.ConnectTimeout("timed out"), url=RUNTIME.url)

    result = invoke("install")

    assert sleeps == [1.0, 2.0, 4.0, 8.0]
    assert result.stderr.splitlines()[-1] + "\n" == (
        "commit-polish: cannot download llamafile-0.9.3: ConnectTimeout for "
        f"{RUNTIME.url}: timed out; gave up after 5 attempts; install needs: {RUNTIME_LINE}; "
        f"{MODEL_LINE}; {WAYS_OUT}\n"
    )


def test_dry_run_prints_the_plan_and_does_nothing(httpx_mock: HTTPXMock, repo: Path) -> None:
    result = invoke("install", "--dry-run")

    runtime = paths.runtime_dir() / catalog.runtime_filename()
    model = paths.models_dir() / MODEL.name
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "dry run: nothing is downloaded or written\n"
        f"download: {RUNTIME_LINE}\n"
        f"  to      {runtime}\n"
        f"download: {MODEL_LINE}\n"
        f"  to      {model}\n"
        "total:    about 1.1 GB\n"
        f"runtime:  {runtime}\n"
        f"model:    {model} (llamafile/gemma-3-1b-it)\n"
        f"config:   {paths.config_file()} (would be written)\n"
        "hook:     would be installed in this repository\n"
        "offline? " + WAYS_OUT.removeprefix("ways out: ") + "\n"
    )
    assert httpx_mock.get_requests() == []
    assert not paths.data_dir().exists()
    assert not paths.config_file().exists()
    assert not (repo / ".git" / "hooks" / "prepare-commit-msg").exists()


def test_dry_run_with_a_mirror_shows_what_it_lacks(
    httpx_mock: HTTPXMock, repo: Path, tmp_path: Path
) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / MODEL.name).write_bytes(b"x")

    result = invoke("install", "--dry-run", "--mirror", str(mirror), "--no-hook")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert f"  from    {mirror / RUNTIME.name} (not there)" in lines
    assert f"  from    {mirror / MODEL.name}" in lines
    assert "hook:     not installed (--no-hook)" in lines
    assert httpx_mock.get_requests() == []


def test_mirror_directory_names_every_missing_file_at_once(
    httpx_mock: HTTPXMock, repo: Path, tmp_path: Path
) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()

    result = invoke("install", "--mirror", str(mirror))

    assert result.exit_code == 1
    assert result.stderr == (
        f"commit-polish: the mirror directory {mirror} lacks 2 of the files install needs: "
        f"{RUNTIME_LINE}; {MODEL_LINE}; put them there by these names and run the command "
        "again\n"
    )
    assert not paths.data_dir().exists()  # nothing copied before the check


def test_a_local_model_that_is_not_gguf_is_refused(tmp_path: Path, repo: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"0123456789abcdef")  # 16 bytes, no GGUF header
    runtime = tmp_path / "llama-server"
    runtime.write_bytes(b"#!/bin/sh\n")
    runtime.chmod(0o755)

    result = invoke("install", "--model", str(fake), "--runtime", str(runtime))

    assert result.exit_code == 1
    assert result.stderr == (
        f"commit-polish: model file {fake} is not a GGUF model (it does not start with the "
        "bytes GGUF); check --model\n"
    )
    assert not paths.config_file().exists()


@pytest.mark.parametrize(
    ("head", "ok"),
    [
        (b"GGUF\x03\x00\x00\x00", True),
        (b"GGUF", True),
        (b"GGML\x03\x00\x00\x00", False),  # the older format llama.cpp no longer reads
        (b"gguf", False),
        (b"GGU", False),
        (b"", False),
    ],
)
def test_gguf_check(tmp_path: Path, head: bytes, ok: bool) -> None:
    from commit_polish import install
    from commit_polish.errors import ConfigError

    path = tmp_path / "m.gguf"
    path.write_bytes(head)
    if ok:
        install._check_gguf(path)
    else:
        with pytest.raises(ConfigError, match="is not a GGUF model"):
            install._check_gguf(path)
