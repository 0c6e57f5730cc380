"""Installer faults: downloads that break, lie, or run out of disk (HTTP via pytest-httpx)."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import httpx
import pytest
from pytest_httpx import HTTPXMock

from commit_polish import download
from commit_polish.catalog import Artifact
from commit_polish.errors import ChecksumError, DownloadError

from .conftest import Fault

MakeFault = Callable[[str, str], Fault]
URL = "https://models.example.org/files/tiny.gguf"
DATA = bytes(range(256)) * 4096  # 1 MB
SHA = hashlib.sha256(DATA).hexdigest()
ARTIFACT = Artifact(name="tiny.gguf", url=URL, sha256=SHA, size=len(DATA))


class Broken(httpx.SyncByteStream):
    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self) -> Iterator[bytes]:
        yield self.data
        raise httpx.ReadError("connection reset by peer")


def fetch(dest: Path, out: io.StringIO) -> bool:
    progress = download.Progress(out, tty=False)
    return download.fetch(ARTIFACT, dest, sleep=lambda s: None, progress=progress, retries=2)


def test_interrupted_download_resumes(
    httpx_mock: HTTPXMock, tmp_path: Path, fault: MakeFault
) -> None:
    f = fault(
        "installer: download interrupted on every attempt, then run again",
        "one line saying to run again; the part is kept; the rerun resumes and verifies",
    )
    dest, out = tmp_path / "tiny.gguf", io.StringIO()
    cut = 300_000
    httpx_mock.add_response(
        url=URL, headers={"Content-Length": str(len(DATA))}, stream=Broken(DATA[:cut])
    )
    for _ in range(2):
        httpx_mock.add_exception(httpx.ConnectError("network is unreachable"), url=URL)
    with pytest.raises(DownloadError) as info:
        fetch(dest, out)
    kept = download.part_path(dest).stat().st_size
    httpx_mock.add_response(
        url=URL,
        status_code=206,
        content=DATA[cut:],
        headers={"Content-Range": f"bytes {cut}-{len(DATA) - 1}/{len(DATA)}"},
        match_headers={"Range": f"bytes={cut}-"},
    )
    fetch(dest, out)
    f.observed(
        f"first run: `{info.value}`; {kept} bytes kept; second run resumed at byte {cut}; "
        f"file verified: {dest.read_bytes() == DATA}"
    )
    assert "run the command again (the download resumes)" in str(info.value)
    assert kept == cut
    assert dest.read_bytes() == DATA


def test_corrupted_download_is_deleted(
    httpx_mock: HTTPXMock, tmp_path: Path, fault: MakeFault
) -> None:
    f = fault(
        "installer: corrupted file (sha256 mismatch)",
        "one line naming both hashes; nothing kept under the final name",
    )
    dest, out = tmp_path / "tiny.gguf", io.StringIO()
    bad = bytearray(DATA)
    bad[1000] ^= 0xFF
    httpx_mock.add_response(url=URL, content=bytes(bad))
    with pytest.raises(ChecksumError) as info:
        fetch(dest, out)
    f.observed(
        f"`{str(info.value)[:90]}…`; file at destination: {dest.exists()}; "
        f"part kept: {download.part_path(dest).exists()}"
    )
    assert f"expected {SHA}" in str(info.value)
    assert not dest.exists() and not download.part_path(dest).exists()


def test_disk_fills_up_mid_download(
    httpx_mock: HTTPXMock, tmp_path: Path, fault: MakeFault, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = fault(
        "installer: disk fills up in the middle of the download (ENOSPC)",
        "one line saying to free space and run again; no corrupt file at the final name",
    )
    dest, out = tmp_path / "tiny.gguf", io.StringIO()
    httpx_mock.add_response(url=URL, content=DATA)
    real_write = download._Part.write
    written = [0]

    def write(self: Any, handle: BinaryIO, chunk: bytes) -> None:
        if written[0] + len(chunk) > 200_000:
            raise_full = _Full()
            return real_write(self, raise_full, chunk)  # type: ignore[arg-type]
        written[0] += len(chunk)
        return real_write(self, handle, chunk)

    monkeypatch.setattr(download._Part, "write", write)
    with pytest.raises(DownloadError) as info:
        fetch(dest, out)
    f.observed(f"`{info.value}`; file at destination: {dest.exists()}")
    assert "No space left on device; free some space and run the command again" in str(info.value)
    assert not dest.exists()


class _Full:
    def write(self, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_not_enough_space_up_front(
    httpx_mock: HTTPXMock, tmp_path: Path, fault: MakeFault, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = fault(
        "installer: not enough free space before starting",
        "refused before any request, one line with needed and free sizes",
    )
    dest, out = tmp_path / "tiny.gguf", io.StringIO()
    monkeypatch.setattr(
        shutil,
        "disk_usage",
        lambda p: shutil._ntuple_diskusage(10**9, 10**9 - 1000, 1000),  # type: ignore[attr-defined]
    )
    with pytest.raises(DownloadError) as info:
        fetch(dest, out)
    f.observed(f"`{info.value}`; requests sent: {len(httpx_mock.get_requests())}")
    assert "not enough disk space" in str(info.value)
    assert httpx_mock.get_requests() == []
