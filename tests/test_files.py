"""Unit tests for commit_polish.files: the atomic writer."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from commit_polish.files import write_atomic


def _leftovers(directory: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


@pytest.mark.parametrize("mode", [0o600, 0o644, 0o640], ids=["600", "644", "640"])
def test_write_atomic_replaces_and_keeps_mode(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "COMMIT_EDITMSG"
    target.write_bytes(b"old\n")
    target.chmod(mode)
    write_atomic(target, b"new \xff\n")
    assert target.read_bytes() == b"new \xff\n"
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert _leftovers(tmp_path, {"COMMIT_EDITMSG"}) == []


def test_write_atomic_creates_missing_file(tmp_path: Path) -> None:
    target = tmp_path / "new.toml"
    write_atomic(target, b"x = 1\n")
    assert target.read_bytes() == b"x = 1\n"
    assert _leftovers(tmp_path, {"new.toml"}) == []


@pytest.mark.parametrize("failing", ["replace", "fsync", "chmod"])
def test_write_atomic_failure_leaves_original(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    target = tmp_path / "COMMIT_EDITMSG"
    original = b"\nexact bytes \xff\n# comment\n"
    target.write_bytes(original)
    target.chmod(0o644)

    def boom(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, boom)
    with pytest.raises(OSError, match="No space left on device"):
        write_atomic(target, b"replacement\n")
    monkeypatch.undo()
    assert target.read_bytes() == original
    assert _leftovers(tmp_path, {"COMMIT_EDITMSG"}) == []


def test_write_atomic_interrupted_leaves_original(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "msg"
    target.write_bytes(b"keep me\n")

    def interrupt(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, b"other\n")
    monkeypatch.undo()
    assert target.read_bytes() == b"keep me\n"
    assert _leftovers(tmp_path, {"msg"}) == []
