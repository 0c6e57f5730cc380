"""Files we write: always to a temp file in the same directory, then renamed into place."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file in the same directory and ``os.replace``.

    The file's permission bits are kept when it already exists, so a reader never sees a
    half-written file and a failed write leaves the old content as it was.
    """
    path = Path(path)
    try:
        mode: int | None = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    import tempfile  # here, not at the top: the hook's skip paths never write

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


# Config files and templates are small; a cloned repository may make either a symlink to
# /dev/zero or a FIFO, so only regular files are read, and only this much of them.
MAX_TEXT_FILE = 64 * 1024


def read_small(path: Path, *, limit: int = MAX_TEXT_FILE) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; OSError (FileNotFoundError
    when missing) or ValueError saying why it is refused."""
    import stat

    # O_NONBLOCK: opening a FIFO must not wait for a writer.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError("not a regular file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than {limit // 1024} KiB")
    return data
