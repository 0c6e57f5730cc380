"""The pinned artifacts commit-polish downloads: the llamafile runtime and the Gemma 3 models.

URLs, sizes and sha256 sums were checked against the public files (see the project's
reference notes). A mirror serves the same file names, so ``Artifact.name`` is also the name
looked up under a ``--mirror`` base URL or directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

MB = 1_000_000
HF = "https://huggingface.co/{repo}/resolve/main/{file}"


@dataclass(frozen=True)
class Artifact:
    """One file to fetch: where from, what it must hash to, and how big it is."""

    name: str  # file name on disk and on a mirror
    url: str
    sha256: str
    size: int | None = None  # exact bytes when pinned
    approx_size: int = 0  # for the free-space check when the exact size is unknown

    @property
    def expected_size(self) -> int:
        return self.size if self.size is not None else self.approx_size


@dataclass(frozen=True)
class Model:
    key: str  # what --model accepts
    artifact: Artifact
    litellm_model: str  # ai.model in the config
    summary: str


LLAMAFILE_VERSION = "0.9.3"
_LLAMAFILE_NAME = f"llamafile-{LLAMAFILE_VERSION}"
LLAMAFILE_URL = (
    f"https://github.com/mozilla-ai/llamafile/releases/download/{LLAMAFILE_VERSION}/"
    f"{_LLAMAFILE_NAME}"
)
LLAMAFILE_SHA256 = "c62b303d2fa6ca6829f10cf9b3c9bfae38a28182eacea92502a399b90547b24b"


def runtime(sha256: str | None = None) -> Artifact:
    """The llamafile runtime; ``sha256`` overrides the pinned sum (--runtime-sha256).

    On Windows the file must end in ``.exe`` to be executable. The name on a mirror stays
    the release name; only the local file gets the suffix.
    """
    return Artifact(
        name=_LLAMAFILE_NAME,
        url=LLAMAFILE_URL,
        sha256=(sha256 or LLAMAFILE_SHA256).lower(),
        size=None,  # not pinned: only an approximate size is on record
        approx_size=293 * MB,
    )


def runtime_filename() -> str:
    return _LLAMAFILE_NAME + (".exe" if os.name == "nt" else "")


def _hf(repo: str, file: str, size: int, sha256: str) -> Artifact:
    return Artifact(
        name=file,
        url=HF.format(repo=repo, file=file),
        sha256=sha256,
        size=size,
        approx_size=size,
    )


MODELS: dict[str, Model] = {
    model.key: model
    for model in (
        Model(
            key="gemma-3-1b",
            artifact=_hf(
                "ggml-org/gemma-3-1b-it-GGUF",
                "gemma-3-1b-it-Q4_K_M.gguf",
                806_058_240,
                "8ccc5cd1f1b3602548715ae25a66ed73fd5dc68a210412eea643eb20eb75a135",
            ),
            litellm_model="llamafile/gemma-3-1b-it",
            summary="Gemma 3 1B instruct, Q4_K_M (806 MB): the default",
        ),
        Model(
            key="gemma-3-4b",
            artifact=_hf(
                "ggml-org/gemma-3-4b-it-GGUF",
                "gemma-3-4b-it-Q4_K_M.gguf",
                2_489_757_856,
                "882e8d2db44dc554fb0ea5077cb7e4bc49e7342a1f0da57901c0802ea21a0863",
            ),
            litellm_model="llamafile/gemma-3-4b-it",
            summary="Gemma 3 4B instruct, Q4_K_M (2.5 GB): better messages, slower",
        ),
        Model(
            key="gemma-3-270m",
            artifact=_hf(
                "unsloth/gemma-3-270m-it-GGUF",
                "gemma-3-270m-it-Q4_K_M.gguf",
                253_115_424,
                "b1baabd6b729e4041822220d3e648e00d99cac5df86b10dffb77bcccf0688e39",
            ),
            litellm_model="llamafile/gemma-3-270m-it",
            summary="Gemma 3 270M instruct, Q4_K_M (253 MB): fastest, weakest",
        ),
    )
}

DEFAULT_MODEL = "gemma-3-1b"


def find_model(name: str) -> Model | None:
    """A catalog model by key; also accepts the ``-it`` and ``llamafile/`` spellings."""
    key = name.removeprefix("llamafile/").removesuffix("-it").lower()
    return MODELS.get(key)


def by_filename(filename: str) -> Model | None:
    """The catalog model whose file is ``filename`` (to recognise a recorded model path)."""
    for model in MODELS.values():
        if model.artifact.name == filename:
            return model
    return None
