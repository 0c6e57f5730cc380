"""The one error boundary: every command's failure is one line and one of few exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from commit_polish import config, configfile, errors, evaluate, hook, install, server, status
from commit_polish.cli import cli
from commit_polish.errors import CommitPolishError, ConfigError, LLMError

INTERNAL = "(please report this; COMMIT_POLISH_SKIP=1 turns the hook off)"

# (command line, module, function that does the command's work)
COMMANDS = [
    (["config"], config, "load"),
    (["config", "get", "timeout"], config, "load"),
    (["config", "set", "timeout", "5"], configfile, "set_from_text"),
    (["config", "edit"], configfile, "edit"),
    (["status"], status, "collect"),
    (["doctor"], status, "collect"),
    (["stop"], server, "stop"),
    (["uninstall"], install, "uninstall"),
    (["generate"], hook, "staged_messages"),
    (["install", "--no-hook"], install, "install"),
    (["eval"], evaluate, "run"),
    (["serve"], server, "options_from_config"),
]
IDS = [" ".join(args) for args, _module, _name in COMMANDS]
# What Ctrl-C prints for each command (a fresh line where a progress line may be showing).
INTERRUPTED = {
    "install": "\ncommit-polish: interrupted; run the same command again to resume\n",
    "eval": "\ncommit-polish: interrupted (the worktree was removed)\n",
    "serve": "\ncommit-polish: interrupted\n",
}


def invoke_raising(
    monkeypatch: pytest.MonkeyPatch, args: list[str], module: object, name: str, exc: BaseException
) -> tuple[int, str, str]:
    def boom(*_args: object, **_kwargs: object) -> None:
        raise exc

    monkeypatch.setattr(module, name, boom)
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(("args", "module", "name"), COMMANDS, ids=IDS)
def test_our_error_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, args: list[str], module: object, name: str
) -> None:
    exc = ConfigError("x.toml: unknown key ai.colour")
    code, out, err = invoke_raising(monkeypatch, args, module, name, exc)
    assert (code, out, err) == (1, "", "commit-polish: x.toml: unknown key ai.colour\n")


@pytest.mark.parametrize(("args", "module", "name"), COMMANDS, ids=IDS)
def test_ctrl_c_is_exit_130(
    monkeypatch: pytest.MonkeyPatch, args: list[str], module: object, name: str
) -> None:
    code, out, err = invoke_raising(monkeypatch, args, module, name, KeyboardInterrupt())
    assert (code, out) == (130, "")
    assert err == INTERRUPTED.get(args[0], "commit-polish: interrupted\n")


@pytest.mark.parametrize(("args", "module", "name"), COMMANDS, ids=IDS)
def test_a_bug_is_one_line_and_exit_3(
    monkeypatch: pytest.MonkeyPatch, args: list[str], module: object, name: str
) -> None:
    code, out, err = invoke_raising(monkeypatch, args, module, name, KeyError("colour"))
    assert (code, out) == (3, "")
    assert err == f"commit-polish: internal error (KeyError: 'colour') {INTERNAL}\n"


def test_usage_errors_stay_clicks_exit_2() -> None:
    result = CliRunner().invoke(cli, ["install", "--port", "0"])
    assert result.exit_code == 2
    assert "Invalid value for '--port'" in result.stderr


@pytest.mark.parametrize(
    ("exc", "kwargs", "expected"),
    [
        (LLMError("no server at X"), {}, ("no server at X", errors.EXIT_ERROR)),
        (CommitPolishError("plain"), {"kept": "; kept"}, ("plain", errors.EXIT_ERROR)),
        (KeyboardInterrupt(), {}, ("interrupted", errors.EXIT_INTERRUPTED)),
        (KeyboardInterrupt(), {"interrupted": "stopped"}, ("stopped", errors.EXIT_INTERRUPTED)),
        (
            ValueError("bad"),
            {},
            (f"internal error (ValueError: bad) {INTERNAL}", errors.EXIT_INTERNAL),
        ),
        (
            OSError("disk"),
            {"kept": "; message left as git wrote it"},
            (
                f"internal error (OSError: disk); message left as git wrote it {INTERNAL}",
                errors.EXIT_INTERNAL,
            ),
        ),
    ],
    ids=["ours", "ours-kept-unused", "ctrl-c", "ctrl-c-custom", "bug", "bug-kept"],
)
def test_classify(exc: BaseException, kwargs: dict[str, str], expected: tuple[str, int]) -> None:
    assert errors.classify(exc, **kwargs) == expected


@pytest.mark.parametrize(
    ("exc", "line"),
    [
        (ConfigError("f.toml: unknown key message.x\ny"), "f.toml: unknown key message.x\\ny"),
        (ConfigError("clear \x1b[2J screen"), "clear \\x1b[2J screen"),
        (ConfigError("bidi \u202eevil"), "bidi \\u202eevil"),
        (ConfigError("tab\there"), "tab\\there"),
        (ConfigError("Français, 日本語, हिन्दी"), "Français, 日本語, हिन्दी"),
        (ValueError("a\nb"), f"internal error (ValueError: a\\nb) {INTERNAL}"),
    ],
    ids=["newline", "terminal-escape", "bidi-override", "tab", "any-script-kept", "internal"],
)
def test_classify_gives_one_printable_line(exc: Exception, line: str) -> None:
    assert errors.classify(exc)[0] == line


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [("abc", 3, "abc"), ("abcd", 3, "ab…"), ("", 1, ""), ("日本語です", 4, "日本語…")],
)
def test_shorten(text: str, limit: int, expected: str) -> None:
    assert errors.shorten(text, limit) == expected
