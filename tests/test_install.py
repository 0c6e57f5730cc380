"""Downloads (every path through pytest-httpx, no real network) and ``commit-polish install``."""

from __future__ import annotations

import hashlib
import io
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from pytest_httpx import HTTPXMock

from commit_polish import catalog, config, download, hookscript, paths
from commit_polish.catalog import Artifact
from commit_polish.cli import cli
from commit_polish.errors import ChecksumError, DownloadError

URL = "https://models.example.org/files/tiny.gguf"
DATA = bytes(range(256)) * 4096 + b"tail"  # ~1 MB: several chunks
SHA = hashlib.sha256(DATA).hexdigest()
GGUF_DATA = b"GGUF\x03\x00\x00\x00" + DATA  # a local model must start with the magic
GGUF_SHA = hashlib.sha256(GGUF_DATA).hexdigest()


@pytest.fixture
def artifact() -> Artifact:
    return Artifact(name="tiny.gguf", url=URL, sha256=SHA, size=len(DATA))


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "models" / "tiny.gguf"


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def out() -> io.StringIO:
    return io.StringIO()


def fetch(artifact: Artifact, dest: Path, sleeps: Sleeps, out: io.StringIO, **kw: Any) -> bool:
    progress = download.Progress(out, tty=False)
    return download.fetch(artifact, dest, sleep=sleeps, progress=progress, **kw)


def assert_nothing_at(dest: Path) -> None:
    assert not dest.exists()
    assert not download.sidecar(dest).exists()


class Broken(httpx.SyncByteStream):
    """A body that delivers ``data`` and then fails like a dropped connection."""

    def __init__(self, data: bytes, exc: BaseException) -> None:
        self.data, self.exc = data, exc

    def __iter__(self) -> Iterator[bytes]:
        yield self.data
        raise self.exc


# ------------------------------------------------------------------------------ downloads


def test_fresh_download(
    httpx_mock: HTTPXMock, artifact: Artifact, dest: Path, sleeps: Sleeps, out: io.StringIO
) -> None:
    httpx_mock.add_response(url=URL, content=DATA)

    assert fetch(artifact, dest, sleeps, out) is True

    assert dest.read_bytes() == DATA
    assert download.sidecar(dest).read_text() == f"{SHA}  tiny.gguf\n"
    assert not download.part_path(dest).exists()
    assert out.getvalue().startswith("downloaded tiny.gguf: 1.0 MB in 0:00 (")
    assert out.getvalue().count("\n") == 1  # one line per file off a terminal
    request = httpx_mock.get_request()
    assert request is not None and "Range" not in request.headers


def test_resume_after_interrupted_transfer(
    httpx_mock: HTTPXMock, artifact: Artifact, dest: Path, sleeps: Sleeps, out: io.StringIO
) -> None:
    half = len(DATA) // 2
    httpx_mock.add_response(
        url=URL,
        headers={"Content-Length": str(len(DATA))},
        stream=Broken(DATA[:half], httpx.ReadError("connection reset")),
    )
    httpx_mock.add_response(
        url=URL,
        status_code=206,
        content=DATA[half:],
        headers={"Content-Range": f"bytes {half}-{len(DATA) - 1}/{len(DATA)}"},
        match_headers={"Range": f"bytes={half}-"},
    )

    assert fetch(artifact, dest, sleeps, out) is True

    assert dest.read_bytes() == DATA
    assert [r.headers.get("Range") for r in httpx_mock.get_requests()] == [None, f"bytes={half}-"]
    assert sleeps == [1.0]
    assert "connection lost after 524.3 kB" in out.getvalue()
    assert "resumed at 524.3 kB" in out.getvalue()


def test_resume_a_part_left_by_an_earlier_run(
    httpx_mock: HTTPXMock, artifact: Artifact, dest: Path, sleeps: Sleeps, out: io.StringIO
) -> None:
    dest.parent.mkdir(parents=True)
    download.part_path(dest).write_bytes(DATA[:1000])
    httpx_mock.add_response(
        url=URL,
        status_code=206,
        content=DATA[1000:],
        headers={"Content-Range": f"bytes 1000-{len(DATA) - 1}/{len(DATA)}"},
        match_headers={"Range": "bytes=1000-"},
    )

    assert fetch(artifact, dest, sleeps, out) is True
    assert dest.read_bytes() == DATA


def test_server_ignoring_range_restarts_cleanly(
    httpx_mock: HTTPXMock, artifact: Artifact, dest: Path, sleeps: Sleeps, out: io.StringIO
) -> None:
    dest.parent.mkdir(parents=True)
    download.part_path(dest).write_bytes(b"garbage!")
    httpx_mock.add_response(url=URL, status_code=200, content=DATA)

    assert fetch(artifact, dest, sleeps, out) is True
    assert dest.read_bytes() == DATA


def test_checksum_mismatch(
    httpx_mock: HTTPXMock, artifact: Artifact, dest: Path, sleeps: Sleeps, out: io.StringIO
) -> None:
    bad = DATA[:-4] + b"TAIL"
    httpx_mock.add_response(url=URL, content=bad)

    with pytest.raises(ChecksumError) as info:
        fetch(artifact, dest, sleeps, out)

    assert str(info.value) == (
        f"tiny.gguf from {URL} has sha256 {hashlib.sha256(bad).hexdigest()}, expected {SHA}; "
        "the download was deleted; run the command again, or pass the right "
        "--sha256/--runtime-sha256 if the file was updated on purpose"
    )
    assert_nothing_at(dest)
    assert not download.part_path(dest).exists()


def test_larger_than_expected_stops_early(
    httpx_mock: HTTPXMock, artifact: Artifact, dest: Path, sleeps: Sleeps, out: io.StringIO
) -> None:
    httpx_mock.add_response(url=URL, content=DATA + b"x" * (2 << 20))
    with pytest.raises(ChecksumError, match="larger than the expected"):
        fetch(artifact, dest, sleeps, out)
    assert_nothing_at(dest)
    assert not download.part_path(dest).exists()


def test_404_is_not_retried(
    httpx_mock: HTTPXMock, artifact: Artifact, dest: Path, sleeps: Sleeps, out: io.StringIO
) -> None:
    httpx_mock.add_response(url=URL, status_code=404)

    with pytest.raises(DownloadError) as info:
        fetch(artifact, dest, sleeps, out)

    assert str(info.value) == f"tiny.gguf not found (HTTP 404) at {URL}; check the URL or --mirror"
    assert len(httpx_mock.get_requests()) == 1
    assert sleeps == []
    assert_nothing_at(dest)


def test_503_then_200(
    httpx_mock: HTTPXMock, artifact: Artifact, dest: Path, sleeps: Sleeps, out: io.StringIO
) -> None:
    httpx_mock.add_response(url=URL, status_code=503)
    httpx_mock.add_response(url=URL, status_code=503)
    httpx_mock.add_response(url=URL, content=DATA)

    assert fetch(artifact, dest, sleeps, out) is True

    assert sleeps == [1.0, 2.0]  # exponential backoff
    assert dest.read_bytes() == DATA
    assert f"tiny.gguf: HTTP 503 from {URL}; retrying in 1s\n" in out.getvalue()


def test_429_honours_retry_after(
    httpx_mock: HTTPXMock, artifact: Artifact, dest: Path, sleeps: Sleeps, out: io.StringIO
) -> None:
    httpx_mock.add_response(url=URL, status_code=429, headers={"Retry-After": "7"})
    httpx_mock.add_response(url=URL, content=DATA)
    assert fetch(artifact, dest, sleeps, out) is True
    assert sleeps == [7.0]


def test_timeout_is_retried(
    httpx_mock: HTTPXMock, artifact: Artifact, dest: Path, sleeps: Sleeps, out: io.StringIO
) -> None:
    httpx_mock.add_exception(httpx.ConnectTimeout("timed out"), url=URL)
    httpx_mock.add_response(url=URL, content=DATA)
    assert fetch(artifact, dest, sleeps, out) is True
    assert sleeps == [1.0]


def test_retries_give_up(
    httpx_mock: HTTPXMock, artifact: Artifact, dest: Path, sleeps: Sleeps, out: io.StringIO
) -> None:
    for _ in range(3):
        httpx_mock.add_response(url=URL, status_code=502)

    with pytest.raises(DownloadError) as info:
        fetch(artifact, dest, sleeps, out, retries=2)

    assert str(info.value) == (
        f"tiny.gguf: HTTP 502 from {URL}; gave up after 3 attempts; check the network and run "
        "the command again (the download resumes)"
    )
    assert sleeps == [1.0, 2.0]
    assert_nothing_at(dest)


def test_redirect_to_plain_http_is_refused(
    httpx_mock: HTTPXMock, artifact: Artifact, dest: Path, sleeps: Sleeps, out: io.StringIO
) -> None:
    httpx_mock.add_response(
        url=URL, status_code=302, headers={"Location": "http://cdn.example.org/tiny.gguf"}
    )

    with pytest.raises(DownloadError) as info:
        fetch(artifact, dest, sleeps, out)

    assert str(info.value) == (
        "refusing to download tiny.gguf from http://cdn.example.org/tiny.gguf: not https "
        f"(reached from {URL})"
    )
    assert len(httpx_mock.get_requests()) == 1  # the http URL was never requested
    assert_nothing_at(dest)


def test_https_redirect_is_followed_with_range(
    httpx_mock: HTTPXMock, artifact: Artifact, dest: Path, sleeps: Sleeps, out: io.StringIO
) -> None:
    dest.parent.mkdir(parents=True)
    download.part_path(dest).write_bytes(DATA[:10])
    cdn = "https://cdn.example.org/blob/abc"
    httpx_mock.add_response(
        url=URL, status_code=302, headers={"Location": cdn}, match_headers={"Range": "bytes=10-"}
    )
    httpx_mock.add_response(
        url=cdn,
        status_code=206,
        content=DATA[10:],
        headers={"Content-Range": f"bytes 10-{len(DATA) - 1}/{len(DATA)}"},
        match_headers={"Range": "bytes=10-"},
    )
    assert fetch(artifact, dest, sleeps, out) is True
    assert dest.read_bytes() == DATA


def test_not_enough_disk(
    monkeypatch: pytest.MonkeyPatch,
    artifact: Artifact,
    dest: Path,
    sleeps: Sleeps,
    out: io.StringIO,
) -> None:
    def tiny_disk(path: Any) -> Any:
        return shutil._ntuple_diskusage(10**9, 10**9 - 1000, 1000)  # type: ignore[attr-defined]

    monkeypatch.setattr(shutil, "disk_usage", tiny_disk)

    with pytest.raises(DownloadError) as info:
        fetch(artifact, dest, sleeps, out)  # no response registered: a request would fail

    assert str(info.value) == (
        f"not enough disk space in {dest.parent}: 1.0 MB needed, 1.0 kB free; free some space "
        "(or set COMMIT_POLISH_HOME to a bigger disk) and run the command again"
    )
    assert_nothing_at(dest)


def test_already_installed_makes_no_request(
    httpx_mock: HTTPXMock, artifact: Artifact, dest: Path, sleeps: Sleeps, out: io.StringIO
) -> None:
    httpx_mock.add_response(url=URL, content=DATA)
    assert fetch(artifact, dest, sleeps, out) is True
    out.truncate(0)
    out.seek(0)

    assert fetch(artifact, dest, sleeps, out) is False

    assert len(httpx_mock.get_requests()) == 1
    assert out.getvalue() == "tiny.gguf: already present and verified\n"


def test_present_file_without_record_is_hashed_once(
    artifact: Artifact, dest: Path, sleeps: Sleeps, out: io.StringIO
) -> None:
    dest.parent.mkdir(parents=True)
    dest.write_bytes(DATA)
    assert fetch(artifact, dest, sleeps, out) is False
    assert download.is_verified(dest, SHA)


def test_modified_file_is_downloaded_again(
    httpx_mock: HTTPXMock, artifact: Artifact, dest: Path, sleeps: Sleeps, out: io.StringIO
) -> None:
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"not the model")
    httpx_mock.add_response(url=URL, content=DATA)
    assert fetch(artifact, dest, sleeps, out) is True
    assert dest.read_bytes() == DATA
    assert "present but its sha256 is wrong; downloading it again" in out.getvalue()


def test_ctrl_c_keeps_the_part_for_resume(
    httpx_mock: HTTPXMock, artifact: Artifact, dest: Path, sleeps: Sleeps, out: io.StringIO
) -> None:
    httpx_mock.add_response(url=URL, stream=Broken(DATA[:5000], KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        fetch(artifact, dest, sleeps, out)
    assert_nothing_at(dest)
    assert download.part_path(dest).read_bytes() == DATA[:5000]


def test_mirror_loopback_http(
    httpx_mock: HTTPXMock, artifact: Artifact, dest: Path, sleeps: Sleeps, out: io.StringIO
) -> None:
    httpx_mock.add_response(url="http://127.0.0.1:9999/m/tiny.gguf", content=DATA)
    assert fetch(artifact, dest, sleeps, out, mirror="http://127.0.0.1:9999/m/") is True
    assert dest.read_bytes() == DATA


def test_mirror_plain_http_elsewhere_is_refused(
    artifact: Artifact, dest: Path, sleeps: Sleeps, out: io.StringIO
) -> None:
    with pytest.raises(DownloadError, match="is not https"):
        fetch(artifact, dest, sleeps, out, mirror="http://mirror.example.org/m")


def test_mirror_directory(
    tmp_path: Path, artifact: Artifact, dest: Path, sleeps: Sleeps, out: io.StringIO
) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "tiny.gguf").write_bytes(DATA)
    assert fetch(artifact, dest, sleeps, out, mirror=str(mirror)) is True
    assert dest.read_bytes() == DATA

    dest.unlink()
    (mirror / "tiny.gguf").write_bytes(b"tampered")
    with pytest.raises(ChecksumError, match=f"tiny.gguf from {mirror}/tiny.gguf has sha256"):
        fetch(artifact, dest, sleeps, out, mirror=str(mirror))
    assert not dest.exists()


def test_progress_bar_on_a_terminal() -> None:
    stream = io.StringIO()
    now = [0.0]
    bar = download.Progress(stream, tty=True, clock=lambda: now[0])
    bar.start("model.gguf", 100_000_000, 0)
    now[0] = 2.0
    bar.advance(50_000_000)
    now[0] = 4.0
    bar.finish()
    text = stream.getvalue()
    assert (
        "\rmodel.gguf [############            ]  50% 50.0 MB/100.0 MB 25.0 MB/s ETA 0:02" in text
    )
    assert text.endswith("downloaded model.gguf: 50.0 MB in 0:04 (12.5 MB/s)\n")


# -------------------------------------------------------------------------------- install

RUNTIME = b"#!/bin/sh\necho fake llamafile\n"
RUNTIME_URL = "https://releases.example.org/llamafile-0.9.3"


@pytest.fixture
def fake_catalog(monkeypatch: pytest.MonkeyPatch) -> catalog.Model:
    """A catalog with a tiny runtime and model, so install runs end to end offline."""
    model = catalog.Model(
        key="tiny-1b",
        artifact=Artifact("tiny.gguf", URL, SHA, len(DATA)),
        litellm_model="llamafile/tiny-1b-it",
        summary="test",
    )

    def runtime(sha256: str | None = None) -> Artifact:
        return Artifact(
            "llamafile-0.9.3",
            RUNTIME_URL,
            sha256 or hashlib.sha256(RUNTIME).hexdigest(),
            None,
            len(RUNTIME),
        )

    monkeypatch.setattr(catalog, "MODELS", {"tiny-1b": model})
    monkeypatch.setattr(catalog, "DEFAULT_MODEL", "tiny-1b")
    monkeypatch.setattr(catalog, "LLAMAFILE_URL", RUNTIME_URL)
    monkeypatch.setattr(catalog, "runtime", runtime)
    monkeypatch.setattr(download.time, "sleep", lambda s: None)
    return model


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    monkeypatch.chdir(path)
    return path


def serve_files(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=RUNTIME_URL, content=RUNTIME)
    httpx_mock.add_response(url=URL, content=DATA)


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_install_end_to_end(httpx_mock: HTTPXMock, fake_catalog: catalog.Model, repo: Path) -> None:
    serve_files(httpx_mock)

    result = run("install")

    runtime = paths.runtime_dir() / "llamafile-0.9.3"
    model = paths.models_dir() / "tiny.gguf"
    hook = repo / ".git" / "hooks" / "prepare-commit-msg"
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"runtime: {runtime}\n"
        f"model:   {model} (llamafile/tiny-1b-it)\n"
        f"config:  {paths.config_file()}\n"
        f"hook installed: {hook}\n"
        "next: start the server with: commit-polish serve --detach\n"
    )
    assert runtime.read_bytes() == RUNTIME
    assert stat.S_IMODE(runtime.stat().st_mode) == 0o755
    assert model.read_bytes() == DATA
    assert hookscript.is_ours(hook)
    cfg = config.load(None)
    assert (
        cfg.llamafile.path,
        cfg.llamafile.model_path,
        cfg.ai.model,
        cfg.llamafile.port,
        cfg.llamafile.api_base,
    ) == (
        str(runtime),
        str(model),
        "llamafile/tiny-1b-it",
        8080,
        "http://127.0.0.1:8080/v1",
    )


def test_install_again_downloads_nothing(
    httpx_mock: HTTPXMock, fake_catalog: catalog.Model, repo: Path
) -> None:
    serve_files(httpx_mock)
    assert run("install").exit_code == 0

    result = run("install")  # no response registered any more: a request would fail

    assert result.exit_code == 0, result.output
    assert "llamafile-0.9.3: already present and verified\n" in result.stderr
    assert "tiny.gguf: already present and verified\n" in result.stderr
    assert len(httpx_mock.get_requests()) == 2


def test_install_keeps_user_keys_and_port(
    httpx_mock: HTTPXMock, fake_catalog: catalog.Model, repo: Path
) -> None:
    paths.config_file().parent.mkdir(parents=True)
    paths.config_file().write_text('[message]\nstyle = "plain"\n[ai]\ntemperature = 0.5\n')
    serve_files(httpx_mock)

    assert run("install", "--port", "8081", "--no-hook").exit_code == 0

    cfg = config.load(None)
    assert (cfg.message.style, cfg.ai.temperature) == ("plain", 0.5)
    assert (cfg.llamafile.port, cfg.llamafile.api_base) == (8081, "http://127.0.0.1:8081/v1")
    assert not (repo / ".git" / "hooks" / "prepare-commit-msg").exists()


def test_install_outside_a_repository(
    httpx_mock: HTTPXMock,
    fake_catalog: catalog.Model,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    serve_files(httpx_mock)

    result = run("install")

    assert result.exit_code == 0
    assert (
        "not inside a git repository, so no hook was installed: run 'commit-polish install' "
        "inside each repository (quick once the files are here), or 'commit-polish install "
        "--global' for all of them\n"
    ) in result.stdout
    assert (paths.models_dir() / "tiny.gguf").exists()


def test_install_local_model_and_runtime(tmp_path: Path, repo: Path) -> None:
    model = tmp_path / "my model.gguf"
    model.write_bytes(GGUF_DATA)
    runtime = tmp_path / "llama-server"
    runtime.write_bytes(RUNTIME)
    runtime.chmod(0o755)

    result = run("install", "--model", str(model), "--runtime", str(runtime), "--sha256", GGUF_SHA)

    assert result.exit_code == 0, result.output
    cfg = config.load(None)
    assert (cfg.llamafile.path, cfg.llamafile.model_path, cfg.ai.model) == (
        str(runtime),
        str(model),
        "llamafile/my model",
    )
    assert not paths.data_dir().joinpath("models").exists()  # nothing copied or downloaded
    # a second install without flags keeps the user's own files
    assert run("install").exit_code == 0
    assert config.load(None).llamafile.model_path == str(model)


def test_install_model_url_needs_sha256(repo: Path) -> None:
    result = CliRunner().invoke(cli, ["install", "--model", URL])
    assert result.exit_code == 1
    assert result.stderr == (
        f"commit-polish: --model {URL} needs --sha256 HEX so the download can be verified\n"
    )


def test_install_model_url(httpx_mock: HTTPXMock, fake_catalog: catalog.Model, repo: Path) -> None:
    other = "https://example.org/x/other-model.gguf"
    httpx_mock.add_response(url=RUNTIME_URL, content=RUNTIME)
    httpx_mock.add_response(url=other, content=DATA)
    result = run("install", "--model", other, "--sha256", SHA.upper(), "--no-hook")
    assert result.exit_code == 0, result.output
    assert config.load(None).ai.model == "llamafile/other-model"
    assert (paths.models_dir() / "other-model.gguf").read_bytes() == DATA


def test_install_unknown_model(repo: Path) -> None:
    result = CliRunner().invoke(cli, ["install", "--model", "gemma-3-3b"])
    assert result.exit_code == 1
    assert result.stderr == (
        "commit-polish: unknown model 'gemma-3-3b'; use one of gemma-3-1b, gemma-3-4b, "
        "gemma-3-270m, a .gguf path or an https URL with --sha256\n"
    )


def test_install_checksum_failure_exits_1(
    httpx_mock: HTTPXMock, fake_catalog: catalog.Model, repo: Path
) -> None:
    httpx_mock.add_response(url=RUNTIME_URL, content=b"evil")
    result = CliRunner().invoke(cli, ["install"])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith(
        f"commit-polish: llamafile-0.9.3 from {RUNTIME_URL} has sha256 "
    )
    assert not (paths.runtime_dir() / "llamafile-0.9.3").exists()
    assert not paths.config_file().exists()  # nothing half-configured


def test_install_from_mirror_directory(
    fake_catalog: catalog.Model, repo: Path, tmp_path: Path
) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "llamafile-0.9.3").write_bytes(RUNTIME)
    (mirror / "tiny.gguf").write_bytes(DATA)
    result = run("install", "--mirror", str(mirror), "--no-hook")
    assert result.exit_code == 0, result.output
    assert (paths.models_dir() / "tiny.gguf").read_bytes() == DATA


def test_install_checks_disk_space_before_any_download(
    fake_catalog: catalog.Model, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(download, "DISK_MARGIN", 0)
    monkeypatch.setattr(
        shutil,
        "disk_usage",
        lambda p: shutil._ntuple_diskusage(  # type: ignore[attr-defined]
            10**9, 10**9 - 100, len(DATA)
        ),
    )  # room for the model alone, not model + runtime
    result = CliRunner().invoke(cli, ["install"])
    assert result.exit_code == 1
    assert "not enough disk space" in result.stderr
    assert not paths.runtime_dir().exists()


def test_uninstall_and_purge(
    httpx_mock: HTTPXMock, fake_catalog: catalog.Model, repo: Path
) -> None:
    hook = repo / ".git" / "hooks" / "prepare-commit-msg"
    hook.write_text("#!/bin/sh\nexit 0\n")
    serve_files(httpx_mock)
    assert run("install").exit_code == 0

    result = run("uninstall", "--purge")

    assert result.exit_code == 0
    assert result.stdout == (
        f"hook removed: {hook}\ndeleted {paths.runtime_dir()}\ndeleted {paths.models_dir()}\n"
    )
    assert hook.read_text() == "#!/bin/sh\nexit 0\n"
    cfg = config.load(None)
    assert (cfg.llamafile.path, cfg.llamafile.model_path, cfg.ai.model) == (
        "",
        "",
        "llamafile/tiny-1b-it",
    )
    assert run("uninstall").stdout == "nothing of commit-polish's to remove here\n"


def test_install_global(httpx_mock: HTTPXMock, fake_catalog: catalog.Model, repo: Path) -> None:
    serve_files(httpx_mock)
    result = run("install", "--global")
    assert result.exit_code == 0
    assert f"hook installed for all repositories: {hookscript.global_hooks_dir()}" in result.stdout
    out = subprocess.run(
        ["git", "config", "--global", "core.hooksPath"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == str(hookscript.global_hooks_dir())
    assert run("uninstall").stdout == (
        f"the hook in {hookscript.global_hooks_dir()} serves all repositories; remove it with: "
        "commit-polish uninstall --global\n"
    )
    assert run("uninstall", "--global").stdout == "global hook removed\n"
    assert not (hookscript.global_hooks_dir() / "prepare-commit-msg").exists()


def test_catalog_is_pinned() -> None:
    assert catalog.MODELS["gemma-3-1b"].artifact.size == 806_058_240
    assert catalog.MODELS["gemma-3-1b"].artifact.url == (
        "https://huggingface.co/ggml-org/gemma-3-1b-it-GGUF/resolve/main/gemma-3-1b-it-Q4_K_M.gguf"
    )
    assert catalog.find_model("llamafile/gemma-3-4b-it") is catalog.MODELS["gemma-3-4b"]
    assert catalog.runtime().url.endswith("/0.9.3/llamafile-0.9.3")
    assert all(len(m.artifact.sha256) == 64 for m in catalog.MODELS.values())
    assert sys.platform == "win32" or catalog.runtime_filename() == "llamafile-0.9.3"
