"""Fetch one pinned artifact safely: resumable, verified, HTTPS only.

The bytes go to ``NAME.part`` (resumed with a Range request after an interruption) while
sha256 is computed; only a file whose hash matches is renamed to its final name, so a
failure never leaves anything at the final path. A ``NAME.sha256`` sidecar (sha256sum format)
written after verification lets later runs skip re-hashing hundreds of megabytes: it is
trusted only while it names the expected hash and is not older than the file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO
from urllib.parse import quote, urlsplit

import httpx

from commit_polish.catalog import MB, Artifact
from commit_polish.errors import ChecksumError, DownloadError, NetworkError

CHUNK = 1 << 20
PART_SUFFIX = ".part"
SIDECAR_SUFFIX = ".sha256"
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10
DEFAULT_RETRIES = 4  # attempts after the first one
MAX_BACKOFF = 30.0
DISK_MARGIN = 20 * MB  # room left for the config, logs and the filesystem itself
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
TIMEOUT = httpx.Timeout(connect=15.0, read=60.0, write=60.0, pool=15.0)

Sleep = Callable[[float], None]


# ------------------------------------------------------------------------------ reporting


def human_size(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def human_time(seconds: float) -> str:
    seconds = max(0, int(seconds))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """A progress bar (size, speed, ETA) on a terminal, one line per file otherwise."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.clock = clock
        self.name = ""
        self.total: int | None = None
        self.done = 0
        self.resumed_from = 0
        self.started = 0.0
        self.last_draw = 0.0

    def line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def start(self, name: str, total: int | None, done: int) -> None:
        self.name, self.total, self.done, self.resumed_from = name, total, done, done
        self.started = self.last_draw = self.clock()
        if self.tty:
            self._draw()

    def advance(self, count: int) -> None:
        self.done += count
        now = self.clock()
        if self.tty and now - self.last_draw >= 0.1:
            self.last_draw = now
            self._draw()

    def _speed(self) -> float:
        elapsed = self.clock() - self.started
        return (self.done - self.resumed_from) / elapsed if elapsed > 0 else 0.0

    def _draw(self) -> None:
        speed = self._speed()
        if self.total:
            frac = min(1.0, self.done / self.total)
            bar = "#" * int(frac * 24)
            eta = (self.total - self.done) / speed if speed > 0 else None
            text = (
                f"{self.name} [{bar:<24}] {frac:4.0%} {human_size(self.done)}/"
                f"{human_size(self.total)} {human_size(speed)}/s "
                f"ETA {human_time(eta) if eta is not None else '--:--'}"
            )
        else:
            text = f"{self.name} {human_size(self.done)} {human_size(speed)}/s"
        self.stream.write("\r" + text + "\x1b[K")
        self.stream.flush()

    def finish(self) -> None:
        elapsed = self.clock() - self.started
        fetched = self.done - self.resumed_from
        resumed = f", resumed at {human_size(self.resumed_from)}" if self.resumed_from else ""
        text = (
            f"downloaded {self.name}: {human_size(self.done)} in {human_time(elapsed)} "
            f"({human_size(fetched / elapsed if elapsed > 0 else 0)}/s{resumed})"
        )
        if self.tty:
            self.stream.write("\r\x1b[K")
        self.line(text)

    def abort(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


# --------------------------------------------------------------------------- verification


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def part_path(path: Path) -> Path:
    return path.with_name(path.name + PART_SUFFIX)


def sha256_file(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def is_verified(path: Path, sha256: str) -> bool:
    """True when ``path``'s sidecar says it hashed to ``sha256`` and it has not changed since."""
    try:
        stat, side = path.stat(), sidecar(path).stat()
        recorded = sidecar(path).read_text(encoding="utf-8").split()
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return False
    return bool(recorded) and recorded[0] == sha256.lower() and side.st_mtime_ns >= stat.st_mtime_ns


def record_verified(path: Path, sha256: str) -> None:
    sidecar(path).write_text(f"{sha256}  {path.name}\n", encoding="utf-8")


def check_space(directory: Path, needed: int) -> None:
    """Refuse to start when the filesystem holding ``directory`` cannot take ``needed`` bytes."""
    if needed <= 0:
        return
    probe = directory
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free < needed + DISK_MARGIN:
        raise DownloadError(
            f"not enough disk space in {directory}: {human_size(needed)} needed, "
            f"{human_size(free)} free; free some space (or set COMMIT_POLISH_HOME to a bigger "
            "disk) and run the command again"
        )


def space_needed(artifact: Artifact, dest: Path) -> int:
    """Bytes still to be written for ``artifact`` at ``dest`` (0 when already verified)."""
    if is_verified(dest, artifact.sha256):
        return 0
    try:
        have = part_path(dest).stat().st_size
    except FileNotFoundError:
        have = 0
    return max(0, artifact.expected_size - have)


# ------------------------------------------------------------------------------- sources


def is_url(text: str) -> bool:
    return "://" in text


def allowed_url(url: str, *, http_loopback: bool = False) -> bool:
    """HTTPS always; plain http only to a loopback host, and only when the caller allows it."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and http_loopback and (parts.hostname or "") in LOOPBACK_HOSTS


@dataclass(frozen=True)
class Source:
    """Where an artifact comes from: a URL, or a file in a local mirror directory."""

    url: str | None = None
    path: Path | None = None
    http_loopback: bool = False

    def describe(self) -> str:
        return self.url if self.url is not None else str(self.path)


def source_for(artifact: Artifact, mirror: str | None = None) -> Source:
    """The artifact's own URL, or the same file name under a mirror URL or directory."""
    if mirror is None:
        return Source(url=artifact.url)
    if is_url(mirror):
        url = mirror.rstrip("/") + "/" + quote(artifact.name)
        if not allowed_url(url, http_loopback=True):
            raise DownloadError(
                f"mirror {mirror} is not https (plain http is only accepted for 127.0.0.1, "
                "::1 and localhost); use an https mirror or a local directory"
            )
        return Source(url=url, http_loopback=True)
    directory = Path(mirror).expanduser()
    if not directory.is_dir():
        raise DownloadError(f"mirror directory {directory} does not exist; check --mirror")
    return Source(path=directory / artifact.name)


# ---------------------------------------------------------------------------- the .part


class _Part:
    """The partial file and the running sha256 of exactly the bytes it holds."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.hasher = hashlib.sha256()
        self.size = 0
        if path.exists():  # resuming: the hash must cover what an earlier run wrote
            with path.open("rb") as handle:
                while chunk := handle.read(CHUNK):
                    self.hasher.update(chunk)
                    self.size += len(chunk)

    def reset(self) -> None:
        self.path.write_bytes(b"")
        self.hasher = hashlib.sha256()
        self.size = 0

    def write(self, handle: BinaryIO, chunk: bytes) -> None:
        try:
            handle.write(chunk)
        except OSError as exc:
            raise DownloadError(
                f"cannot write {self.path}: {exc.strerror}; free some space and run the "
                "command again (the download resumes)"
            ) from exc
        self.hasher.update(chunk)
        self.size += len(chunk)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def unreachable(exc: BaseException, host: str) -> str | None:
    """Why ``host`` cannot be reached at all (its name does not resolve, or it refuses), or
    None for a failure worth retrying. Asking again does not make a name resolve: an offline
    machine should hear so at once, not after a minute of backoff."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return f"{host} does not resolve (is this machine offline?)"
        if isinstance(seen, ConnectionRefusedError):
            return f"{host} refused the connection"
        seen = seen.__cause__ or seen.__context__
    return None


class _Retry(Exception):
    """A failure worth another attempt (429/5xx, timeout, dropped connection)."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


# ---------------------------------------------------------------------------- transfers


@dataclass
class _Job:
    artifact: Artifact
    source: Source
    part: _Part
    progress: Progress
    client: httpx.Client


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return min(float(value), MAX_BACKOFF) if value.isdigit() else None


def _content_range_start(response: httpx.Response) -> int | None:
    # "bytes START-END/TOTAL"
    value = response.headers.get("content-range", "")
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _stream(job: _Job, response: httpx.Response) -> None:
    """Append the response body to the .part, hashing and reporting as it goes."""
    length = response.headers.get("content-length")
    total = job.part.size + int(length) if length and length.isdigit() else job.artifact.size
    limit = job.artifact.size
    job.progress.start(job.artifact.name, total, job.part.size)
    too_big = False
    writer = job.part.path.open("ab")
    try:
        for chunk in response.iter_bytes():  # as received: a drop loses nothing buffered
            job.part.write(writer, chunk)
            if limit is not None and job.part.size > limit:
                too_big = True
                break
            job.progress.advance(len(chunk))
    except httpx.TransportError as exc:
        job.progress.abort()
        raise _Retry(f"connection lost after {human_size(job.part.size)} ({exc})") from exc
    except BaseException:
        job.progress.abort()
        raise
    finally:
        writer.close()
    if too_big:
        job.progress.abort()
        job.part.remove()
        raise ChecksumError(
            f"{job.artifact.name} from {job.source.describe()} is larger than the expected "
            f"{limit} bytes; the download was deleted; check the URL or --mirror"
        )
    if total is not None and job.part.size < total:
        job.progress.abort()
        raise _Retry(f"transfer ended early at {human_size(job.part.size)}")
    job.progress.finish()


def _handle(job: _Job, response: httpx.Response, url: str) -> None:
    status = response.status_code
    name = job.artifact.name
    if status == 416 and job.part.size:
        return  # the .part is already complete (or wrong): verification decides
    if status in RETRY_STATUS:
        raise _Retry(f"HTTP {status} from {url}", _retry_after(response))
    if status == 404:
        raise DownloadError(f"{name} not found (HTTP 404) at {url}; check the URL or --mirror")
    if status not in (200, 206):
        raise DownloadError(f"{name}: HTTP {status} from {url}; check the URL or --mirror")
    if status == 200 and job.part.size:
        job.part.reset()  # the server ignored our Range header: start over
    if status == 206 and _content_range_start(response) != job.part.size:
        job.part.reset()
        raise _Retry(f"{url} answered a different byte range than requested")
    _stream(job, response)


def _attempt(job: _Job) -> None:
    """One GET (following redirects by hand, so none can downgrade to plain http)."""
    assert job.source.url is not None
    url = job.source.url
    for _ in range(MAX_REDIRECTS + 1):
        if not allowed_url(url, http_loopback=job.source.http_loopback):
            raise DownloadError(
                f"refusing to download {job.artifact.name} from {url}: not https "
                f"(reached from {job.source.url})"
            )
        headers = {"Accept-Encoding": "identity"}
        if job.part.size:
            headers["Range"] = f"bytes={job.part.size}-"
        request = job.client.build_request("GET", url, headers=headers)
        try:
            response = job.client.send(request, stream=True)
        except httpx.TransportError as exc:
            reason = unreachable(exc, urlsplit(url).hostname or url)
            if reason is not None:
                raise NetworkError(
                    f"{job.artifact.name}: {reason}; check the network and run the command again",
                    reason,
                ) from exc
            raise _Retry(f"{type(exc).__name__} for {url}: {exc}") from exc
        try:
            location = response.headers.get("location")
            if response.status_code in REDIRECT_STATUS and location:
                url = str(response.url.join(location))
                continue
            _handle(job, response, url)
            return
        finally:
            response.close()
    raise DownloadError(f"too many redirects for {job.source.url}")


def _download(job: _Job, *, retries: int, sleep: Sleep) -> None:
    for attempt in range(retries + 1):
        try:
            _attempt(job)
            return
        except _Retry as exc:
            if attempt == retries:
                reason = f"{exc.reason}; gave up after {retries + 1} attempts"
                raise NetworkError(
                    f"{job.artifact.name}: {reason}; check the network and run the command "
                    "again (the download resumes)",
                    reason,
                ) from exc
            delay = exc.delay if exc.delay is not None else min(2.0**attempt, MAX_BACKOFF)
            job.progress.line(f"{job.artifact.name}: {exc.reason}; retrying in {delay:.0f}s")
            sleep(delay)


def _copy(job: _Job) -> None:
    """From a local mirror directory: a plain copy, hashed on the way (no resume needed)."""
    assert job.source.path is not None
    src = job.source.path
    if not src.is_file():
        raise DownloadError(f"{job.artifact.name} is not in the mirror directory {src.parent}")
    job.part.reset()
    job.progress.start(job.artifact.name, src.stat().st_size, 0)
    writer = job.part.path.open("ab")
    try:
        with src.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                job.part.write(writer, chunk)
                job.progress.advance(len(chunk))
    finally:
        writer.close()
    job.progress.finish()


def _finish(job: _Job, dest: Path, mode: int | None) -> None:
    """Verify the .part and move it to ``dest``; a wrong file is deleted, never kept."""
    artifact, part = job.artifact, job.part
    digest = part.hasher.hexdigest()
    if digest != artifact.sha256:
        part.remove()
        raise ChecksumError(
            f"{artifact.name} from {job.source.describe()} has sha256 {digest}, expected "
            f"{artifact.sha256}; the download was deleted; run the command again, or pass the "
            "right --sha256/--runtime-sha256 if the file was updated on purpose"
        )
    if mode is not None:
        os.chmod(part.path, mode)
    os.replace(part.path, dest)
    record_verified(dest, digest)


def fetch(
    artifact: Artifact,
    dest: Path,
    *,
    mirror: str | None = None,
    client: httpx.Client | None = None,
    retries: int = DEFAULT_RETRIES,
    sleep: Sleep = time.sleep,
    progress: Progress | None = None,
    mode: int | None = None,
) -> bool:
    """Make ``dest`` hold ``artifact``, verified. Returns False when it already did.

    ``mode`` is applied before the final rename (the runtime gets 0o755).
    """
    progress = progress if progress is not None else Progress()
    if _already_there(artifact, dest, progress, mode):
        return False
    source = source_for(artifact, mirror)
    dest.parent.mkdir(parents=True, exist_ok=True)
    check_space(dest.parent, space_needed(artifact, dest))
    part = _Part(part_path(dest))
    own_client = client is None
    http = client if client is not None else _client()
    try:
        job = _Job(artifact, source, part, progress, http)
        if source.path is not None:
            _copy(job)
        else:
            _download(job, retries=retries, sleep=sleep)
        _finish(job, dest, mode)
    finally:
        if own_client:
            http.close()
    return True


def _already_there(artifact: Artifact, dest: Path, progress: Progress, mode: int | None) -> bool:
    if is_verified(dest, artifact.sha256):
        progress.line(f"{dest.name}: already present and verified")
        return True
    if not dest.is_file():
        return False
    # A file we have no record of (copied in by hand, or the sidecar was lost): hash it once.
    if sha256_file(dest) == artifact.sha256:
        if mode is not None:
            os.chmod(dest, mode)
        record_verified(dest, artifact.sha256)
        progress.line(f"{dest.name}: already present and verified")
        return True
    progress.line(f"{dest.name}: present but its sha256 is wrong; downloading it again")
    dest.unlink()
    sidecar(dest).unlink(missing_ok=True)
    return False


def _client() -> httpx.Client:
    from commit_polish import __version__

    return httpx.Client(
        follow_redirects=False,
        timeout=TIMEOUT,
        headers={"User-Agent": f"commit-polish/{__version__}"},
    )
