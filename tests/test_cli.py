"""``commit-polish generate`` and ``hook`` through click, plus the home-directory guard."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import completion, git
from pytest_httpx import HTTPXMock

from commit_polish import paths
from commit_polish.cli import cli


@pytest.fixture
def in_repo(repo: Path, monkeypatch: pytest.MonkeyPatch, listening_port: int) -> Path:
    monkeypatch.chdir(repo)
    monkeypatch.setenv("COMMIT_POLISH_API_BASE", f"http://127.0.0.1:{listening_port}/v1")
    return repo


def test_generate_prints_cleaned_message(in_repo: Path, httpx_mock: HTTPXMock) -> None:
    (in_repo / "a.py").write_text("x = 1\n")
    git(in_repo, "add", "a.py")
    httpx_mock.add_response(json=completion("```\nfeat: add a module.\n```"))
    result = CliRunner().invoke(cli, ["generate"])
    assert result.exit_code == 0
    assert result.stdout == "feat: add a module\n"


def test_generate_with_nothing_staged_fails_with_next_step(in_repo: Path) -> None:
    result = CliRunner().invoke(cli, ["generate"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "commit-polish: nothing staged (stage changes with: git add)\n"


def test_generate_outside_a_repository_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["generate"])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "commit-polish: not in a git repository (cd into one, stage changes, run again)\n"
    )


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version(flag: str) -> None:
    from commit_polish import __version__

    result = CliRunner().invoke(cli, [flag])
    assert (result.exit_code, result.output) == (0, f"commit-polish, version {__version__}\n")


def test_help_lists_each_command_once_and_hides_the_hook() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    commands = result.output.split("Commands:\n", 1)[1].splitlines()
    names = [line.split()[0] for line in commands]
    assert names == [
        "config", "eval", "generate", "install", "serve", "status", "stop", "uninstall"
    ]  # fmt: skip
    assert "(also: doctor)" in CliRunner().invoke(cli, ["status", "--help"]).output
    assert CliRunner().invoke(cli, ["doctor", "--help"]).exit_code == 0


def test_generate_server_down_exits_nonzero(
    in_repo: Path, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMMIT_POLISH_API_BASE", f"http://127.0.0.1:{closed_port}/v1")
    (in_repo / "a.py").write_text("x = 1\n")
    git(in_repo, "add", "a.py")
    result = CliRunner().invoke(cli, ["generate"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"commit-polish: no server at http://127.0.0.1:{closed_port}/v1 "
        "(start it with: commit-polish serve --detach)\n"
    )


def test_hook_command_fail_open_exit_code(
    in_repo: Path, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMMIT_POLISH_API_BASE", f"http://127.0.0.1:{closed_port}/v1")
    (in_repo / "a.py").write_text("x = 1\n")
    git(in_repo, "add", "a.py")
    msg = in_repo / ".git" / "COMMIT_EDITMSG"
    msg.write_bytes(b"\n# comment\n")
    result = CliRunner().invoke(cli, ["hook", str(msg)])
    assert result.exit_code == 0
    assert msg.read_bytes() == b"\n# comment\n"


def test_no_path_points_at_the_real_home(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_home = Path(os.path.expanduser("~"))
    assert real_home == isolated_home
    for fn in (paths.config_dir, paths.data_dir, paths.cache_dir, paths.state_dir):
        assert fn().is_relative_to(isolated_home)
    monkeypatch.delenv("COMMIT_POLISH_HOME")  # platformdirs itself follows the XDG variables
    for fn in (paths.config_dir, paths.data_dir, paths.cache_dir, paths.state_dir):
        assert fn().is_relative_to(isolated_home)


# ------------------------------------------------------------------ the entry point


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["hook", "F", "merge"], {}, True),
        (["hook", "F", "squash"], {}, True),
        (["hook", "F"], {"COMMIT_POLISH_SKIP": "yes"}, True),
        (["hook", "F"], {"PRE_COMMIT_COMMIT_MSG_SOURCE": "merge"}, True),
        (["hook", "F", "message"], {"PRE_COMMIT_COMMIT_MSG_SOURCE": "merge"}, False),
        (["hook", "F", "message"], {}, False),
        (["hook", "F", "commit", "HEAD"], {}, False),
        (["hook", "F"], {"COMMIT_POLISH_SKIP": "0"}, False),
    ],
)
def test_launch_left_alone_agrees_with_the_hook(
    args: list[str], env: dict[str, str], expected: bool
) -> None:
    from commit_polish import envvars, hook, launch

    assert launch.left_alone(args, env) is expected
    source, _sha = hook.resolve_source(args[2] if len(args) > 2 else None, None, env)
    assert (envvars.skip_requested(env) or source in hook.SOURCES_LEFT_ALONE) is expected


def test_launch_hook_skip_imports_nothing_heavy(repo: Path) -> None:
    import subprocess
    import sys

    msg = repo / ".git" / "COMMIT_EDITMSG"
    msg.write_text("kept\n")
    code = (
        "import sys; sys.argv = ['commit-polish', 'hook', sys.argv[1], 'message']\n"
        "from commit_polish import launch\n"
        "try:\n    launch.main()\nexcept SystemExit:\n    pass\n"
        "heavy = {'litellm', 'httpx', 'click'} & set(sys.modules)\n"
        "print(sorted(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(msg)], cwd=repo, capture_output=True, text=True
    )
    assert out.stdout.strip() == "[]", out.stderr
    assert msg.read_text() == "kept\n"


def test_launch_hook_with_server_down_imports_no_litellm(repo: Path, closed_port: int) -> None:
    """LiteLLM's import starts early (in the background) only once a server listens."""
    import subprocess
    import sys

    (repo / "a.py").write_text("x = 1\n")
    git(repo, "add", "a.py")
    msg = repo / ".git" / "COMMIT_EDITMSG"
    msg.write_text("\n# git's comment\n")
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from commit_polish import hook\n"
        "code = hook.main_hook(Path(sys.argv[1]), None, None)\n"
        "time.sleep(0.2)\n"  # time for a background import to show, had one started
        "print(code, 'litellm' in sys.modules)"
    )
    env = {**os.environ, "COMMIT_POLISH_API_BASE": f"http://127.0.0.1:{closed_port}/v1"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(msg)], cwd=repo, env=env, capture_output=True, text=True
    )
    assert out.stdout.strip() == "0 False", out.stderr
    assert out.stderr == (
        f"commit-polish: no server at http://127.0.0.1:{closed_port}/v1 "
        "(start it with: commit-polish serve --detach)\n"
    )
    assert msg.read_text() == "\n# git's comment\n"


@pytest.mark.parametrize("status", [200, 500])
def test_launch_hook_exits_at_once_after_the_request(
    repo: Path, fake_server: object, status: int
) -> None:
    """The console entry skips the interpreter's teardown once LiteLLM was loaded; the
    message, the stderr line and the exit code must all be out before it leaves."""
    import subprocess
    import sys

    from helpers import FakeLLMServer

    assert isinstance(fake_server, FakeLLMServer)
    fake_server.status = status
    (repo / "a.py").write_text("x = 1\n")
    git(repo, "add", "a.py")
    msg = repo / ".git" / "COMMIT_EDITMSG"
    msg.write_text("\n# git's comment\n")
    out = subprocess.run(
        [sys.executable, "-m", "commit_polish", "hook", str(msg)],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0
    if status == 200:
        assert out.stderr == ""
        assert msg.read_text() == "feat: add greeting module\n\n# git's comment\n"
    else:
        assert out.stderr.startswith(f"commit-polish: the server at {fake_server.api_base} ")
        assert msg.read_text() == "\n# git's comment\n"


def test_exit_while_litellm_is_still_being_imported_does_not_hang(tmp_path: Path) -> None:
    """``commit-polish generate`` can fail (and exit) while the background import of LiteLLM
    is still running. A finalizer that imports (LiteLLM's HTTP client has one) must not wait
    forever on an import lock held by that thread."""
    import subprocess
    import sys

    code = (
        "from commit_polish import llm\n"
        "llm.prewarm()\n"
        "class Finalizer:\n"
        "    def __del__(self):\n"
        "        import litellm.llms.custom_httpx.http_handler\n"
        "keep = Finalizer()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr


def test_generate_from_the_console_entry(repo: Path, fake_server: object) -> None:
    """``commit-polish generate`` leaves without teardown once LiteLLM is loaded: its output
    and exit code must be out before it does."""
    import subprocess
    import sys

    from helpers import FakeLLMServer

    assert isinstance(fake_server, FakeLLMServer)

    def generate() -> tuple[int, str, str]:
        out = subprocess.run(
            [sys.executable, "-m", "commit_polish", "generate"],
            cwd=repo,
            capture_output=True,
            text=True,
        )
        return out.returncode, out.stdout, out.stderr

    (repo / "a.py").write_text("x = 1\n")
    git(repo, "add", "a.py")
    assert generate() == (0, "feat: add greeting module\n", "")
    git(repo, "reset", "-q")  # nothing staged: nothing to describe, LiteLLM never loaded
    assert generate() == (
        1,
        "",
        "commit-polish: nothing staged (stage changes with: git add)\n",
    )
    fake_server.status = 500  # a failure once LiteLLM is loaded: exit code 1 all the same
    git(repo, "add", "a.py")
    code, stdout, stderr = generate()
    assert (code, stdout) == (1, "")
    assert stderr.startswith(f"commit-polish: the server at {fake_server.api_base} ")
