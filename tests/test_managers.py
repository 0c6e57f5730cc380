"""Hook managers with the real tools: husky 9 and lefthook from npm, pre-commit from PyPI.

husky and lefthook are installed once per machine into a cache directory (like dev/realserver's
llama-server) and each test repository installs them from that npm cache with ``--offline``,
as ``npm install`` would for a user; the tests skip only where npm is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import FakeLLMServer, git, last_message

from commit_polish import hookscript, managers
from commit_polish.cli import cli
from dev.realserver import _cache_lock, cache_root

HUSKY = "9.1.7"
LEFTHOOK = "2.2.2"


@dataclass(frozen=True)
class Npm:
    exe: str
    cache: Path  # npm's own cache, holding both packages

    def install(self, repo: Path) -> None:
        """``npm install`` in ``repo`` from the cache alone (runs husky's ``prepare``)."""
        result = subprocess.run(
            [self.exe, "install", "--offline", "--no-audit", "--no-fund", "--cache", self.cache],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def _npm_env() -> dict[str, str]:
    return {**os.environ, "npm_config_update_notifier": "false"}


@pytest.fixture(scope="session")
def npm() -> Npm:
    exe = shutil.which("npm")
    if exe is None:
        pytest.skip("npm is not installed: the husky and lefthook tests need Node.js and npm")
    root = cache_root() / f"npm-husky-{HUSKY}-lefthook-{LEFTHOOK}"
    done = root / ".done"
    with _cache_lock("npm-hook-managers"):
        if not done.exists():
            root.mkdir(parents=True, exist_ok=True)
            (root / "package.json").write_text(
                json.dumps(
                    {"private": True, "devDependencies": {"husky": HUSKY, "lefthook": LEFTHOOK}}
                )
            )
            result = subprocess.run(
                [exe, "install", "--no-audit", "--no-fund", "--cache", root / "npm-cache"],
                cwd=root,
                capture_output=True,
                text=True,
                timeout=600,
                env=_npm_env(),
            )
            assert result.returncode == 0, result.stdout + result.stderr
            done.touch()
    return Npm(exe, root / "npm-cache")


@pytest.fixture
def on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """``commit-polish`` on PATH, as pipx puts it, for the manager's entry to find."""
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "commit-polish").exists()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("npm_config_update_notifier", "false")


def commit(repo: Path, name: str, text: str) -> subprocess.CompletedProcess[str]:
    (repo / name).write_text(text)
    git(repo, "add", name)
    result = subprocess.run(
        ["git", "commit"], cwd=repo, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def package_json(repo: Path, deps: dict[str, str], **scripts: str) -> None:
    body = {"name": "demo", "private": True, "scripts": scripts, "devDependencies": deps}
    (repo / "package.json").write_text(json.dumps(body, indent=2) + "\n")
    (repo / ".gitignore").write_text("node_modules/\n")
    git(repo, "add", "package.json", ".gitignore")
    git(repo, "commit", "-q", "-m", "Add package.json")


def hook_status(repo: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The lines of ``commit-polish status`` about the hook."""
    monkeypatch.chdir(repo)
    out = CliRunner().invoke(cli, ["status"]).stdout.splitlines()
    start = next(i for i, line in enumerate(out) if line[8:].startswith("hook "))
    end = next((i for i, line in enumerate(out) if line[8:].startswith("style ")), len(out))
    return out[start:end]


# ------------------------------------------------------------------------------------ husky


@pytest.fixture
def husky_repo(repo: Path, npm: Npm, on_path: None, tmp_path: Path) -> Path:
    """A repository set up with husky 9 as its docs say, with the user's own
    prepare-commit-msg that appends its arguments to ``tmp_path/marker``."""
    package_json(repo, {"husky": HUSKY}, prepare="husky")
    npm.install(repo)
    assert git(repo, "config", "core.hooksPath").stdout.strip() == ".husky/_"
    (repo / ".husky" / "prepare-commit-msg").write_text(f'echo "user $2" >> {tmp_path}/marker\n')
    return repo


def test_husky_install_commit_npm_install_uninstall(
    husky_repo: Path,
    npm: Npm,
    fake_server: FakeLLMServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    script = husky_repo / ".husky" / "prepare-commit-msg"
    before = script.read_bytes()
    stubs = {p.name: p.read_bytes() for p in (husky_repo / ".husky" / "_").iterdir()}

    placed = managers.install(husky_repo)

    assert placed is not None
    assert placed.lines == [f"hook installed: {script} runs commit-polish (husky)"]
    assert script.read_bytes() == before + managers.HUSKY_LINE.encode() + b"\n"
    assert {p.name: p.read_bytes() for p in (husky_repo / ".husky" / "_").iterdir()} == stubs
    assert hook_status(husky_repo, monkeypatch) == [
        f"ok      hook     {script} runs commit-polish (husky)"
    ]

    commit(husky_repo, "greet.py", "def greet():\n    return 'hi'\n")
    assert last_message(husky_repo) == "feat: add greeting module"
    assert (tmp_path / "marker").read_text() == "user \n"  # the user's line ran, with git's args
    assert len(fake_server.requests) == 1

    npm.install(husky_repo)  # regenerates husky's stubs
    fake_server.reply = "feat: add bye, a farewell"
    commit(husky_repo, "bye.py", "def bye():\n    return 'bye'\n")
    assert last_message(husky_repo) == "feat: add bye, a farewell"
    assert len(fake_server.requests) == 2

    again = managers.install(husky_repo)
    assert again is not None
    assert again.lines == [f"hook already in place: {script} runs commit-polish (husky)"]
    assert script.read_bytes() == before + managers.HUSKY_LINE.encode() + b"\n"

    monkeypatch.chdir(husky_repo)
    result = CliRunner().invoke(cli, ["uninstall"])
    assert result.stdout == f"hook removed: the commit-polish line in {script}\n"
    assert script.read_bytes() == before
    assert hook_status(husky_repo, monkeypatch) == [
        f"MISSING hook     husky runs {script}, which does not run commit-polish",
        f"{'':17}fix: commit-polish install",
    ]


def test_husky_without_a_user_script(
    husky_repo: Path, fake_server: FakeLLMServer, tmp_path: Path
) -> None:
    script = husky_repo / ".husky" / "prepare-commit-msg"
    script.unlink()
    assert managers.install(husky_repo) is not None
    assert script.read_text() == managers.HUSKY_LINE + "\n"  # no shebang or exec bit: sh runs it
    commit(husky_repo, "greet.py", "x = 1\n")
    assert last_message(husky_repo) == "feat: add greeting module"
    placed = managers.uninstall(husky_repo)
    assert placed is not None and placed.changed == script
    assert not script.exists()


def test_husky_line_never_blocks_without_commit_polish(
    husky_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A teammate without commit-polish commits as before (husky runs the script with -e)."""
    assert managers.install(husky_repo) is not None
    node = Path(shutil.which("node") or "/usr/bin/node").parent
    monkeypatch.setenv("PATH", f"{node}{os.pathsep}/usr/bin{os.pathsep}/bin")
    assert shutil.which("commit-polish") is None
    (husky_repo / "a.txt").write_text("a\n")
    git(husky_repo, "add", "a.txt")
    result = subprocess.run(
        ["git", "commit", "-m", "mine"], cwd=husky_repo, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert last_message(husky_repo) == "mine"
    assert (tmp_path / "marker").read_text() == "user message\n"
    assert hook_status(husky_repo, monkeypatch)[0] == (
        f"MISSING hook     {husky_repo / '.husky' / 'prepare-commit-msg'} runs commit-polish "
        "(husky), but commit-polish is not on PATH, so it is skipped"
    )


def test_husky_after_our_old_script_in_its_stub_dir(
    husky_repo: Path, fake_server: FakeLLMServer, tmp_path: Path
) -> None:
    """Upgrading from a commit-polish that wrote into .husky/_: the stub comes back."""
    stub = husky_repo / ".husky" / "_" / "prepare-commit-msg"
    original = stub.read_bytes()
    hookscript.install_into(husky_repo / ".husky" / "_")  # what the old install did
    placed = managers.install(husky_repo)
    assert placed is not None
    assert placed.lines[1] == (f"removed commit-polish's own {stub}: husky runs it now")
    assert stub.read_bytes() == original
    commit(husky_repo, "greet.py", "x = 1\n")
    assert len(fake_server.requests) == 1
    assert (tmp_path / "marker").read_text() == "user \n"


# --------------------------------------------------------------------------------- lefthook

USER_LEFTHOOK = """\
# the team's hooks
pre-commit:
  parallel: true
  commands:
    lint:
      run: echo lint

prepare-commit-msg:
  commands:
    mark:
      run: echo "user {{2}}" >> {marker}
"""


@pytest.fixture
def lefthook_repo(repo: Path, npm: Npm, on_path: None, tmp_path: Path) -> Path:
    package_json(repo, {"lefthook": LEFTHOOK})
    npm.install(repo)
    (repo / "lefthook.yml").write_text(USER_LEFTHOOK.format(marker=tmp_path / "marker"))
    lefthook(repo, "install")
    return repo


def lefthook(repo: Path, *args: str) -> None:
    result = subprocess.run(
        [str(repo / "node_modules" / ".bin" / "lefthook"), *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_lefthook_install_commit_reinstall_uninstall(
    lefthook_repo: Path, fake_server: FakeLLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = lefthook_repo / "lefthook.yml"
    before = config.read_text()

    placed = managers.install(lefthook_repo)

    assert placed is not None
    assert placed.lines == [f"hook installed: {config} runs commit-polish (lefthook)"]
    assert config.read_text() == before.replace(
        "  commands:\n    mark:",
        f"  commands:\n    commit-polish:\n      run: {managers.LEFTHOOK_RUN}\n    mark:",
    )
    assert not hookscript.is_ours(lefthook_repo / ".git" / "hooks" / "prepare-commit-msg")
    assert hook_status(lefthook_repo, monkeypatch) == [
        f"ok      hook     {config} runs commit-polish (lefthook)"
    ]

    commit(lefthook_repo, "greet.py", "def greet():\n    return 'hi'\n")
    assert last_message(lefthook_repo) == "feat: add greeting module"
    assert (tmp_path / "marker").read_text() == "user {2}\n"  # lefthook's own placeholder
    assert len(fake_server.requests) == 1

    lefthook(lefthook_repo, "install", "-f")
    fake_server.reply = "feat: add bye, a farewell"
    commit(lefthook_repo, "bye.py", "def bye():\n    return 'bye'\n")
    assert last_message(lefthook_repo) == "feat: add bye, a farewell"
    assert len(fake_server.requests) == 2

    again = managers.install(lefthook_repo)
    assert again is not None
    assert again.lines == [f"hook already in place: {config} runs commit-polish (lefthook)"]

    placed = managers.uninstall(lefthook_repo)
    assert placed is not None
    assert placed.lines == [f"hook removed: the commit-polish command in {config}"]
    assert config.read_text() == before


def test_lefthook_without_a_prepare_commit_msg_block(
    lefthook_repo: Path, fake_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = lefthook_repo / "lefthook.yml"
    config.write_text("pre-commit:\n  commands:\n    lint:\n      run: echo lint\n")
    lefthook(lefthook_repo, "install", "-f")
    hooks = lefthook_repo / ".git" / "hooks"
    (hooks / "prepare-commit-msg").unlink()  # lefthook leaves it behind; a fresh clone has none
    hookscript.install_into(hooks)  # an earlier commit-polish install, before lefthook

    placed = managers.install(lefthook_repo)

    assert placed is not None
    assert placed.lines == [
        f"hook installed: {config} runs commit-polish (lefthook)",
        f"removed commit-polish's own {hooks / 'prepare-commit-msg'}: lefthook runs it now",
        "next: run 'lefthook install' so git runs lefthook's prepare-commit-msg",
    ]
    assert config.read_text().endswith(managers.LEFTHOOK_BLOCK)
    assert hook_status(lefthook_repo, monkeypatch) == [
        f"MISSING hook     {config} runs commit-polish (lefthook), but "
        f"{hooks / 'prepare-commit-msg'} is not lefthook's",
        f"{'':17}fix: lefthook install",
    ]
    lefthook(lefthook_repo, "install")
    commit(lefthook_repo, "greet.py", "x = 1\n")
    assert last_message(lefthook_repo) == "feat: add greeting module"
    assert len(fake_server.requests) == 1
    assert managers.uninstall(lefthook_repo) is not None
    assert config.read_text() == "pre-commit:\n  commands:\n    lint:\n      run: echo lint\n"


# ------------------------------------------------------------- lefthook.yml as text (pure)

RUN = f"run: {managers.LEFTHOOK_RUN}"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("", managers.LEFTHOOK_BLOCK),
        ("pre-commit:\n  commands: {}", "pre-commit:\n  commands: {}\n" + managers.LEFTHOOK_BLOCK),
        (
            "prepare-commit-msg:\n    commands:\n        a:\n            run: x\n",
            f"prepare-commit-msg:\n    commands:\n        commit-polish:\n            {RUN}\n"
            "        a:\n            run: x\n",
        ),
        (
            "prepare-commit-msg:  # ours\n  parallel: true\n  commands:\n\n    # a\n    a:\n"
            "      run: x\nother: 1\n",
            "prepare-commit-msg:  # ours\n  parallel: true\n  commands:\n    commit-polish:\n"
            f"      {RUN}\n\n    # a\n    a:\n      run: x\nother: 1\n",
        ),
        ("prepare-commit-msg:\n  jobs:\n    - run: x\n", None),
        ("prepare-commit-msg:\n  commands: {a: {run: x}}\n", None),
        ("prepare-commit-msg: {}\n", None),
        ("prepare-commit-msg:\n", None),
        ("x: &a\n  prepare-commit-msg: 1\n", None),
    ],
)
def test_lefthook_insert(before: str, after: str | None) -> None:
    assert managers.lefthook_insert(before) == after
    if after is not None:
        assert managers.lefthook_remove(after) == before + (
            "\n" if before and not before.endswith("\n") else ""
        )


def test_lefthook_remove_leaves_a_look_alike() -> None:
    assert managers.lefthook_remove("a:\n  run: " + managers.LEFTHOOK_RUN + "\n") is None


def test_lefthook_unsafe_config_gets_instructions(repo: Path) -> None:
    config = repo / "lefthook.yml"
    config.write_text("prepare-commit-msg:\n  jobs:\n    - run: x\n")
    placed = managers.install(repo)
    assert placed is not None and placed.changed is None
    assert placed.lines[0] == (
        f"add this command under prepare-commit-msg: commands: in {config} by hand "
        "(commit-polish would not reformat your YAML):\n"
        f"    commit-polish:\n      run: {managers.LEFTHOOK_RUN}"
    )
    assert config.read_text() == "prepare-commit-msg:\n  jobs:\n    - run: x\n"
    assert not (repo / ".git" / "hooks" / "prepare-commit-msg").exists()


# ------------------------------------------------------------------------------- pre-commit


def test_pre_commit_config_without_our_id(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = repo / ".pre-commit-config.yaml"
    config.write_text("repos: []\n")
    placed = managers.install(repo)
    assert placed is not None
    assert placed.lines == [
        f"this repository uses pre-commit: add commit-polish to {config} under repos:\n"
        f"{managers.PRE_COMMIT_SNIPPET}then run: pre-commit install --hook-type "
        "prepare-commit-msg"
    ]
    assert not (repo / ".git" / "hooks" / "prepare-commit-msg").exists()
    assert hook_status(repo, monkeypatch) == [
        f"MISSING hook     this repository uses pre-commit and {config} does not list "
        "commit-polish",
        f"{'':17}fix: commit-polish install  (prints what to add)",
    ]


def test_pre_commit_id_without_pre_commits_hook(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = repo / ".pre-commit-config.yaml"
    config.write_text("repos:\n  - repo: x\n    rev: v1\n    hooks:\n      - id: commit-polish\n")
    placed = managers.install(repo)
    assert placed is not None
    assert placed.lines == [
        f"commit-polish runs through pre-commit ({config})",
        "next: pre-commit install --hook-type prepare-commit-msg",
    ]
    assert hook_status(repo, monkeypatch) == [
        f"MISSING hook     runs through pre-commit ({config}), but pre-commit's "
        "prepare-commit-msg hook is not installed",
        f"{'':17}fix: pre-commit install --hook-type prepare-commit-msg",
    ]


def test_pre_commit_framework_runs_us_once(
    framework_repo: Path, fake_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Our own script chained onto pre-commit's (what install used to do) is removed."""
    hooks = framework_repo / ".git" / "hooks"
    precommit_hook = (hooks / "prepare-commit-msg").read_bytes()
    hookscript.install_hook(framework_repo)
    config = framework_repo / ".pre-commit-config.yaml"
    assert hook_status(framework_repo, monkeypatch)[0] == (
        f"MISSING hook     pre-commit runs commit-polish and so does {hooks / 'prepare-commit-msg'}"
        ": two model requests per commit"
    )

    placed = managers.install(framework_repo)

    assert placed is not None
    assert placed.lines == [
        f"commit-polish runs through pre-commit ({config})",
        f"removed commit-polish's own {hooks / 'prepare-commit-msg'}: pre-commit runs it now",
    ]
    assert (hooks / "prepare-commit-msg").read_bytes() == precommit_hook
    assert hook_status(framework_repo, monkeypatch) == [
        f"ok      hook     runs through pre-commit ({config})"
    ]
    commit(framework_repo, "greet.py", "def greet():\n    return 'hi'\n")
    assert last_message(framework_repo) == "feat: add greeting module"
    assert len(fake_server.requests) == 1
    assert managers.install(framework_repo) is not None  # again: still nothing written
    assert (hooks / "prepare-commit-msg").read_bytes() == precommit_hook

    monkeypatch.chdir(framework_repo)
    assert CliRunner().invoke(cli, ["uninstall"]).stdout == (
        f"commit-polish runs through pre-commit: remove its '- id: commit-polish' entry from "
        f"{config}\n"
    )


def test_pre_commit_moved_our_script_to_legacy(repo: Path) -> None:
    """`pre-commit install` over our script keeps it as .legacy and runs both."""
    hooks = repo / ".git" / "hooks"
    hookscript.install_hook(repo)
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n- repo: x\n  hooks:\n  - id: commit-polish\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "install", "--hook-type", "prepare-commit-msg"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert hookscript.is_ours(hooks / "prepare-commit-msg.legacy")
    placed = managers.install(repo)
    assert placed is not None
    assert placed.lines[1] == (
        f"removed {hooks / 'prepare-commit-msg.legacy'}: pre-commit ran it as well as its own "
        "commit-polish"
    )
    assert managers.is_pre_commit_hook(hooks / "prepare-commit-msg")


@pytest.mark.parametrize(
    ("text", "listed"),
    [
        ("      - id: commit-polish\n", True),
        ("  - id: 'commit-polish'  # the message\n", True),
        ('    id: "commit-polish"\n', True),
        ("      - id: commit-polish-extra\n", False),
        ("# - id: commit-polish\n", False),
        ("      - id: ruff\n", False),
    ],
)
def test_lists_our_id(text: str, listed: bool) -> None:
    assert managers.lists_our_id(text) is listed


def test_manager_file_outside_the_repository_is_left_alone(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.yml"
    outside.write_text("pre-commit: {}\n")
    (repo / "lefthook.yml").symlink_to(outside)
    with pytest.raises(Exception, match="points outside the repository"):
        managers.install(repo)
    assert outside.read_text() == "pre-commit: {}\n"
