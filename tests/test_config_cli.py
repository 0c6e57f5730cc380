"""``commit-polish config get/set/unset/path/edit``: one key changed, the file's layout kept."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from commit_polish import config, configfile, paths
from commit_polish.cli import cli

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


# (id, file before, key, value, file after): the text edit, comments and order kept.
SET_ROWS = [
    ("missing file", None, "timeout", 5.0, "[ai]\ntimeout = 5.0\n"),
    ("empty file", "", "style", "plain", '[message]\nstyle = "plain"\n'),
    (
        "key replaced, comments kept",
        "# mine\n[ai]\n# slow laptop\ntimeout = 90.0\nmax_tokens = 200 # short\n",
        "timeout",
        5.0,
        "# mine\n[ai]\n# slow laptop\ntimeout = 5.0\nmax_tokens = 200 # short\n",
    ),
    (
        "key added at the end of its section",
        "[ai]\nmax_tokens = 200\n\n# keep\n[hook]\nstrict = true\n",
        "timeout",
        5.0,
        "[ai]\nmax_tokens = 200\ntimeout = 5.0\n\n# keep\n[hook]\nstrict = true\n",
    ),
    (
        "section added at the end",
        "[ai]\ntimeout = 5.0\n",
        "on_message",
        "polish",
        '[ai]\ntimeout = 5.0\n\n[hook]\non_message = "polish"\n',
    ),
    (
        "multi-line array replaced whole",
        '[message]\nexclude = [\n  "*.csv",  # data\n  "*.lock",\n]\nbody = false\n',
        "exclude",
        ("*.min.js",),
        '[message]\nexclude = [\n    "*.min.js",\n]\nbody = false\n',
    ),
    (
        "quoted key",
        '[ai]\n"timeout" = 9.0\n',
        "timeout",
        3.0,
        "[ai]\ntimeout = 3.0\n",
    ),
]


@pytest.mark.parametrize(
    ("before", "key", "value", "after"), [r[1:] for r in SET_ROWS], ids=[r[0] for r in SET_ROWS]
)
def test_set_key_edits_the_text(
    tmp_path: Path, before: str | None, key: str, value: object, after: str
) -> None:
    path = tmp_path / "config.toml"
    if before is not None:
        path.write_text(before)
    edit = configfile.set_key(path, key, value)
    assert (edit.changed, edit.kept_layout) == (True, True)
    assert path.read_text() == after


def test_set_key_falls_back_to_a_rewrite_for_dotted_keys(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("# note\nai.timeout = 9.0\n")
    edit = configfile.set_key(path, "max_tokens", 100)
    assert edit.kept_layout is False
    assert tomllib.loads(path.read_text()) == {"ai": {"timeout": 9.0, "max_tokens": 100}}


def test_unset_removes_only_that_key(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('# mine\n[message]\nexclude = [\n  "*.csv",\n]\nbody = false\n')
    assert configfile.unset_key(path, "exclude").changed
    assert path.read_text() == "# mine\n[message]\nbody = false\n"
    assert not configfile.unset_key(path, "exclude").changed


def test_cli_set_get_unset_round_trip(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    user = paths.config_file()
    assert run("config", "set", "ai.timeout", "5") == (
        0,
        f"ai.timeout = 5.0  (written to {user})\n",
    )
    assert run("config", "get", "timeout") == (0, "5.0\n")
    assert run("config", "set", "exclude", "*.csv, *.lock") == (
        0,
        f'message.exclude = [ "*.csv", "*.lock",]  (written to {user})\n'.replace(
            '[ "*.csv", "*.lock",]', '[\n    "*.csv",\n    "*.lock",\n]'
        ),
    )
    assert run("config", "get", "message.exclude") == (0, "*.csv,*.lock\n")
    assert run("config", "set", "strict", "yes") == (
        0,
        f"hook.strict = true  (written to {user})\n",
    )
    assert run("config", "get", "strict") == (0, "true\n")
    assert run("config", "unset", "timeout") == (0, f"ai.timeout removed from {user}\n")
    assert run("config", "unset", "timeout") == (0, f"ai.timeout is not set in {user}\n")
    assert run("config", "get", "timeout") == (0, "60.0\n")
    assert config.load(repo).hook.strict is True


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["get", "colour"], "unknown key 'colour' (see the keys with: commit-polish config)"),
        (
            ["get", "hook.timeout"],
            "unknown key 'hook.timeout' (see the keys with: commit-polish config)",
        ),
        (["set", "timeout", "soon"], "config set timeout must be a number, got 'soon'"),
        (["set", "timeout", "-1"], "config set timeout: ai.timeout must be positive, got -1.0"),
        (
            ["set", "style", "fancy"],
            "config set style: message.style must be one of conventional, plain, got 'fancy'",
        ),
    ],
)
def test_cli_set_and_get_name_what_is_wrong(
    repo: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], line: str
) -> None:
    monkeypatch.chdir(repo)
    assert run("config", *args) == (1, f"commit-polish: {line}\n")
    assert not paths.config_file().exists()


def test_cli_set_repo_writes_the_repository_file_and_refuses_what_it_may_not_set(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo)
    repo_file = repo / config.REPO_FILE
    assert run("config", "set", "--repo", "style", "plain") == (
        0,
        f'message.style = "plain"  (written to {repo_file})\n',
    )
    assert run("config", "path", "--repo") == (0, f"{repo_file}\n")
    code, out = run("config", "set", "--repo", "api_base", "http://10.0.0.9:8080/v1")
    assert (code, out) == (
        1,
        f"commit-polish: {repo_file}: llamafile.api_base may only be set in your own config "
        f"({paths.config_file()}), not in a repository\n",
    )
    assert repo_file.read_text() == '[message]\nstyle = "plain"\n'


def test_cli_path_and_repo_outside_a_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("config", "path") == (0, f"{paths.config_file()}\n")
    assert run("config", "path", "--repo") == (
        1,
        "commit-polish: --repo: not inside a git repository (cd into one first)\n",
    )


def test_cli_edit_opens_gits_editor_and_checks_the_result(
    repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(repo)
    script = tmp_path / "ed.sh"
    script.write_text('#!/bin/sh\nprintf "[ai]\\ncolour = 1\\n" >> "$1"\n')
    script.chmod(0o755)
    monkeypatch.setenv("GIT_EDITOR", str(script))
    user = paths.config_file()
    assert run("config", "edit") == (
        1,
        f"commit-polish: {user}: unknown key ai.colour (fix it with: commit-polish config edit)\n",
    )
    script.write_text('#!/bin/sh\nprintf "[ai]\\ntimeout = 7\\n" > "$1"\n')
    assert run("config", "edit") == (0, f"{user}: ok\n")
    assert config.load(repo).ai.timeout == 7.0
