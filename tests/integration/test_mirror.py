"""``install --mirror`` against a real HTTP server on 127.0.0.1 serving the real files.

The mirror serves the real llama-server binary under the catalog's runtime file name and the
real SmolLM2 GGUF under the default catalog model's file name. The catalog pins the hashes of
the real llamafile and Gemma files, so the test passes the real hashes of what it serves:
``--runtime-sha256`` for the runtime and ``--sha256`` (which overrides a catalog model's
pinned hash) for the model.
"""

from __future__ import annotations

import functools
import os
import stat
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from commit_polish import catalog, paths
from dev.realserver import file_sha256, free_port

from .helpers import cli, ok, port_accepts, status_checks

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - a dependency of commit-polish on 3.10
    import tomli as tomllib


class Mirror:
    """A stdlib file server on 127.0.0.1 that records the path of every request."""

    def __init__(self, root: Path) -> None:
        self.requests: list[str] = []
        mirror = self

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                mirror.requests.append(self.path)
                super().do_GET()

            def do_HEAD(self) -> None:
                mirror.requests.append(self.path)
                super().do_HEAD()

        handler = functools.partial(Handler, directory=str(root))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def mirror(tmp_path: Path, llama_server_bin: Path, smollm2_model: Path) -> Iterator[Mirror]:
    root = tmp_path / "mirror"
    root.mkdir()
    # Links, not copies: the handler opens them like any file, and 110 MB are not duplicated.
    (root / catalog.runtime().name).symlink_to(llama_server_bin)
    (root / catalog.MODELS[catalog.DEFAULT_MODEL].artifact.name).symlink_to(smollm2_model)
    server = Mirror(root)
    yield server
    server.close()


def test_install_from_a_loopback_mirror_then_serve(
    repo: Path,
    mirror: Mirror,
    llama_server_bin: Path,
    smollm2_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stop_detached: None,
) -> None:
    runtime_sha = file_sha256(llama_server_bin)
    model_sha = file_sha256(smollm2_model)
    runtime_name = catalog.runtime().name
    model_name = catalog.MODELS[catalog.DEFAULT_MODEL].artifact.name
    port = free_port()
    args = (
        "install",
        "--mirror",
        mirror.url,
        "--runtime-sha256",
        runtime_sha,
        "--sha256",
        model_sha,
        "--port",
        str(port),
    )

    first = ok(cli(repo, *args))
    assert sorted(mirror.requests) == sorted([f"/{runtime_name}", f"/{model_name}"])
    assert f"downloaded {runtime_name}" in first.stderr
    assert f"downloaded {model_name}" in first.stderr

    # The files landed in the data dir, verified, with their sidecar records.
    runtime = paths.runtime_dir() / catalog.runtime_filename()
    model = paths.models_dir() / model_name
    assert runtime.is_relative_to(paths.data_dir())
    assert file_sha256(runtime) == runtime_sha
    assert file_sha256(model) == model_sha
    assert runtime.stat().st_mode & stat.S_IXUSR
    assert (runtime.parent / (runtime.name + ".sha256")).read_text().split()[0] == runtime_sha
    assert (model.parent / (model.name + ".sha256")).read_text().split()[0] == model_sha
    leftovers = [p.name for p in paths.data_dir().rglob("*.part")]
    assert leftovers == []

    # The config points at them.
    with paths.config_file().open("rb") as handle:
        written = tomllib.load(handle)
    assert written["llamafile"]["path"] == str(runtime)
    assert written["llamafile"]["model_path"] == str(model)
    assert written["llamafile"]["port"] == port
    assert written["llamafile"]["api_base"] == f"http://127.0.0.1:{port}/v1"
    assert written["ai"]["model"] == catalog.MODELS[catalog.DEFAULT_MODEL].litellm_model

    # Again: everything is already verified, so the mirror is not asked for anything.
    second = ok(cli(repo, *args))
    assert len(mirror.requests) == 2
    assert f"{runtime.name}: already present and verified" in second.stderr
    assert f"{model_name}: already present and verified" in second.stderr
    mirror.close()  # from here on nothing may need the network

    # The mirrored files run. They sit under llamafile's name, and for a runtime called
    # llamafile-0.9.3 `serve` adds llamafile's own flags (--server --nobrowser), which
    # llama-server rejects. So serve the very same bytes through a hard link named
    # llama-server, chosen with the COMMIT_POLISH_PATH override; the model is the mirrored one.
    link = tmp_path / "llama-server"
    os.link(runtime, link)
    monkeypatch.setenv("COMMIT_POLISH_PATH", str(link))
    served = ok(cli(repo, "serve", "--detach"))
    assert f"server ready at http://127.0.0.1:{port}/v1" in served.stdout

    code, checks = status_checks(repo)
    assert code == 0, checks
    assert checks["server"]["ok"] is True, checks["server"]
    # serve names the model after the catalog entry the config records.
    assert checks["server"]["data"]["models"] == ["gemma-3-1b-it"]
    assert checks["model"]["data"] == {"path": str(model), "verified": True, "sha256": model_sha}

    ok(cli(repo, "stop"))
    assert not port_accepts(port)
