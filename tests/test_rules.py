"""rules.apply from real-shaped diffs: a table per rule, in conventional and plain
repositories, in the forms their histories show, and the changes no rule may describe."""

from __future__ import annotations

import dataclasses

import pytest
from helpers import patch

from commit_polish import config, diff, facts, rules, style
from commit_polish.form import DEFAULT_TYPES, Spec
from commit_polish.style import Shape, Ticket

CONVENTIONAL = Shape(spec=Spec())
PLAIN = Shape(spec=Spec(style="plain", case="upper"), style="plain")


def learned(*subjects: str, **message: object) -> Shape:
    """The shape the hook would build from these recent subjects, said over until there are
    enough of them to learn a style from (style.MIN_HISTORY)."""
    cfg = config.with_values(config.defaults(), message, "test") if message else config.defaults()
    enough = list(subjects) * -(-style.MIN_HISTORY // len(subjects))
    return style.shape(cfg, subjects=enough, branch="main", paths=[])


def run(shape: Shape, *patches: str) -> tuple[str, str] | None:
    found = rules.apply(facts.gather(diff.parse("".join(patches).encode())), shape)
    return (found.name, found.text) if found else None


def requirement(name: str, old: str, new: str, path: str = "requirements.txt") -> str:
    return patch(path, ["@@ -3,2 +3,2 @@", f"-{name}=={old}", f"+{name}=={new}"])


PYPROJECT = patch(
    "pyproject.toml", ["@@ -12,2 +12,2 @@", '-    "ruff>=0.5.4",', '+    "ruff>=0.5.5",']
)
POETRY_LOCK = patch(
    "poetry.lock",
    [
        "@@ -120,3 +120,3 @@ files = [",
        ' name = "ruff"',
        '-version = "0.5.4"',
        '+version = "0.5.5"',
        ' description = "An extremely fast Python linter and code formatter."',
        "@@ -300,2 +300,2 @@",
        '-content-hash = "9f3e2b"',
        '+content-hash = "41ac70"',
    ],
)
HASH_ONLY_LOCK = patch(
    "poetry.lock", ["@@ -300,2 +300,2 @@", '-content-hash = "9f3e2b"', '+content-hash = "41ac70"']
)
SOURCE = patch("src/app.py", ["@@ -1,2 +1,2 @@", " import os", "-x = 1", "+x = 2"])
FIVE = "".join(requirement(f"pkg{i}", "1.0", "1.1", f"requirements-{i}.txt") for i in range(5))


TWO = requirement("pytest", "8.2.0", "8.2.2") + requirement(
    "mypy", "1.10.0", "1.11.0", "requirements-dev.txt"
)
TWO_BODY = "\n\n- pytest 8.2.0 -> 8.2.2\n- mypy 1.10.0 -> 1.11.0"


@pytest.mark.parametrize(
    ("shape", "patches", "expected"),
    [
        (
            CONVENTIONAL,
            [requirement("pytest", "8.2.0", "8.2.2")],
            "build(deps): bump pytest from 8.2.0 to 8.2.2",
        ),
        (PLAIN, [requirement("pytest", "8.2.0", "8.2.2")], "Bump pytest from 8.2.0 to 8.2.2"),
        (CONVENTIONAL, [POETRY_LOCK, PYPROJECT], "build(deps): bump ruff from 0.5.4 to 0.5.5"),
        (CONVENTIONAL, [TWO], "build(deps): bump pytest and mypy" + TWO_BODY),
        (PLAIN, [TWO], "Bump pytest and mypy" + TWO_BODY),
        (
            Shape(spec=Spec(body=False)),
            [TWO],
            "build(deps): bump pytest and mypy",
        ),
        (
            CONVENTIONAL,
            [FIVE],
            "build(deps): bump 5 dependencies\n\n"
            + "\n".join(f"- pkg{i} 1.0 -> 1.1" for i in range(5)),
        ),
        (
            Shape(spec=Spec(case="upper")),
            [requirement("pytest", "8.2.0", "8.2.2")],
            "build(deps): Bump pytest from 8.2.0 to 8.2.2",
        ),
        (
            Shape(spec=Spec(gitmoji=True)),
            [requirement("pytest", "8.2.0", "8.2.2")],
            "\u2b06\ufe0f build(deps): bump pytest from 8.2.0 to 8.2.2",
        ),
        (
            # Too long with both versions: the new one alone.
            Shape(spec=Spec(subject_max=42)),
            [requirement("pytest-asyncio", "0.23.6", "0.23.7")],
            "build(deps): bump pytest-asyncio to 0.23.7",
        ),
        (
            learned("chore(deps): bump a from 1 to 2", "feat: x", "fix: y", "docs: z"),
            [requirement("pytest", "8.2.0", "8.2.2")],
            "chore(deps): bump pytest from 8.2.0 to 8.2.2",
        ),
        (
            learned("build(deps-dev)!: bump a from 1 to 2", "feat: x", "fix: y"),
            [requirement("pytest", "8.2.0", "8.2.2")],
            "build(deps): bump pytest from 8.2.0 to 8.2.2",
        ),
        (
            learned("deps: bump a from 1 to 2", "deps: bump b from 1 to 2", "feat: x"),
            [requirement("pytest", "8.2.0", "8.2.2")],
            "deps: bump pytest from 8.2.0 to 8.2.2",
        ),
        (
            learned("Update flask from 2.0 to 3.0", "Add login", "Fix the build"),
            [requirement("pytest", "8.2.0", "8.2.2")],
            "Update pytest from 8.2.0 to 8.2.2",
        ),
        (
            # The history's "ci(deps)" is for its workflows, not for a manifest.
            learned("ci(deps): bump actions/checkout from 5 to 6", "feat: x", "fix: y"),
            [requirement("pytest", "8.2.0", "8.2.2")],
            "build(deps): bump pytest from 8.2.0 to 8.2.2",
        ),
        (
            learned("feat: Add x", "fix: Handle y", "docs: Describe z"),
            [requirement("pytest", "8.2.0", "8.2.2")],
            "build(deps): Bump pytest from 8.2.0 to 8.2.2",
        ),
    ],
)
def test_dependency_bumps(shape: Shape, patches: list[str], expected: str) -> None:
    assert run(shape, *patches) == ("dependencies", expected)


def test_a_ticket_goes_where_the_repository_puts_it() -> None:
    shape = Shape(
        spec=Spec(subject_max=64),
        ticket_id="ABC-12",
        ticket=Ticket(form="colon", position="start", keys=("ABC",)),
    )
    assert run(shape, requirement("pytest", "8.2.0", "8.2.2")) == (
        "dependencies",
        "ABC-12: build(deps): bump pytest from 8.2.0 to 8.2.2",
    )


@pytest.mark.parametrize(
    ("shape", "patches", "expected"),
    [
        (CONVENTIONAL, [HASH_ONLY_LOCK], "build(deps): update poetry.lock"),
        (PLAIN, [HASH_ONLY_LOCK], "Update poetry.lock"),
        # Every change a package's version (a bot's bump of a locked dependency): a bump.
        (CONVENTIONAL, [POETRY_LOCK], "build(deps): bump ruff from 0.5.4 to 0.5.5"),
        (PLAIN, [POETRY_LOCK], "Bump ruff from 0.5.4 to 0.5.5"),
        (
            CONVENTIONAL,
            [HASH_ONLY_LOCK, patch("web/yarn.lock", ["@@ -1,2 +1,2 @@", "-# a", "+# b"])],
            "build(deps): update poetry.lock and web/yarn.lock",
        ),
    ],
)
def test_lock_files_regenerated_alone(shape: Shape, patches: list[str], expected: str) -> None:
    assert run(shape, *patches) == ("lock", expected)


def renamed(old: str, new: str, similarity: int = 100) -> str:
    header = (f"similarity index {similarity}%", f"rename from {old}", f"rename to {new}")
    if similarity == 100:
        return patch(new, header=header)
    hunk = ["@@ -1 +1 @@", "-x = 1", "+x = 2"]
    return patch(new, hunk, header=(*header, f"--- a/{old}", f"+++ b/{new}"))


@pytest.mark.parametrize(
    ("shape", "patches", "expected"),
    [
        (
            CONVENTIONAL,
            [renamed("src/util.py", "src/helpers.py")],
            "refactor: rename src/util.py to src/helpers.py",
        ),
        (PLAIN, [renamed("src/util.py", "src/helpers.py")], "Rename src/util.py to src/helpers.py"),
        (CONVENTIONAL, [renamed("x.py", "pkg/x.py")], "refactor: move x.py to pkg/x.py"),
        (CONVENTIONAL, [renamed("a/b.py", "c/d.py")], "refactor: move a/b.py to c/d.py"),
        (
            CONVENTIONAL,
            [renamed(f"lib/{n}.py", f"pkg/{n}.py") for n in "abc"],
            "refactor: move 3 files from lib/ to pkg/\n\n"
            "- lib/a.py -> pkg/a.py\n- lib/b.py -> pkg/b.py\n- lib/c.py -> pkg/c.py",
        ),
        (
            Shape(spec=Spec(body=False)),
            [renamed("a.py", "pkg/a.py"), renamed("tools/b.py", "pkg/b.py")],
            "refactor: move 2 files to pkg/",
        ),
        (
            Shape(spec=Spec(body=False)),
            [renamed("src/a.py", "src/a2.py"), renamed("src/b.py", "src/b2.py")],
            "refactor: rename 2 files in src/",
        ),
        (
            Shape(spec=Spec(body=False)),
            [renamed("a/x.py", "b/x.py"), renamed("c/y.py", "d/y.py")],
            "refactor: move 2 files",
        ),
        (
            # Too long with the whole paths: the name and its new directory.
            Shape(spec=Spec(subject_max=55)),
            [renamed("src/commit_polish/helpers.py", "src/commit_polish/util/helpers.py")],
            "refactor: move helpers.py to src/commit_polish/util/",
        ),
    ],
)
def test_pure_renames(shape: Shape, patches: list[str], expected: str) -> None:
    assert run(shape, *patches) == ("rename", expected)


def reformatted(path: str) -> str:
    return patch(path, ["@@ -1,2 +1,2 @@", "-def f( x ):", "+def f(x):", "     return x"])


@pytest.mark.parametrize(
    ("shape", "patches", "expected"),
    [
        (CONVENTIONAL, [reformatted("src/a.py")], "style: reformat src/a.py"),
        (PLAIN, [reformatted("src/a.py")], "Reformat src/a.py"),
        (CONVENTIONAL, [reformatted("a.py"), reformatted("b.py")], "style: reformat a.py and b.py"),
        (
            CONVENTIONAL,
            [reformatted(f"src/m{i}.py") for i in range(4)],
            "style: reformat 4 files in src/",
        ),
        (
            CONVENTIONAL,
            [reformatted("a.py"), reformatted("b/c.py"), reformatted("d.py"), reformatted("e.py")],
            "style: reformat 4 files",
        ),
    ],
)
def test_whitespace_only_changes(shape: Shape, patches: list[str], expected: str) -> None:
    assert run(shape, *patches) == ("whitespace", expected)


VERSION = patch(
    "pyproject.toml",
    ["@@ -2,3 +2,3 @@", ' name = "demo"', '-version = "1.2.3"', '+version = "1.2.4"'],
)
INIT_VERSION = patch(
    "src/demo/__init__.py", ["@@ -1 +1 @@", '-__version__ = "1.2.3"', '+__version__ = "1.2.4"']
)


@pytest.mark.parametrize(
    ("shape", "patches", "expected"),
    [
        (CONVENTIONAL, [VERSION], "chore(release): 1.2.4"),
        (PLAIN, [VERSION, INIT_VERSION], "Release 1.2.4"),
        (
            learned("Bump version to 1.2.3", "Add login", "Fix the build"),
            [VERSION],
            "Bump version to 1.2.4",
        ),
        (
            learned("chore(release): v1.2.3", "feat: x", "fix: y"),
            [VERSION],
            "chore(release): v1.2.4",
        ),
        (
            learned("release: 1.2.3", "release: 1.2.2", "feat: x"),
            [VERSION],
            "release: 1.2.4",
        ),
        (
            # "v1.2.3" alone is no plain sentence: the plain default instead.
            learned("v1.2.3", "Add login", "Fix the build"),
            [VERSION],
            "Release 1.2.4",
        ),
        (
            # A version in an ordinary subject is not a release form.
            learned("fix: parse 1.2 dates", "feat: x", "fix: y"),
            [VERSION],
            "chore(release): 1.2.4",
        ),
    ],
)
def test_version_bumps_alone(shape: Shape, patches: list[str], expected: str) -> None:
    assert run(shape, *patches) == ("release", expected)


@pytest.mark.parametrize(
    ("shape", "patches"),
    [
        (CONVENTIONAL, [SOURCE]),
        (CONVENTIONAL, [requirement("pytest", "8.2.0", "8.2.2"), SOURCE]),
        (CONVENTIONAL, [POETRY_LOCK, PYPROJECT, SOURCE]),
        (
            CONVENTIONAL,
            [patch("requirements.txt", ["@@ -1 +1,2 @@", " six==1.16.0", "+attrs==23.2.0"])],
        ),
        (
            CONVENTIONAL,
            [patch("requirements.txt", ["@@ -1,2 +1 @@", "-six==1.16.0", " attrs==23.2.0"])],
        ),
        (
            CONVENTIONAL,
            [
                patch(
                    "pyproject.toml",
                    [
                        "@@ -3,2 +3,3 @@",
                        '-version = "1.2.3"',
                        '+version = "1.3.0"',
                        '+license = "MIT"',
                    ],
                )
            ],
        ),
        (CONVENTIONAL, [VERSION, requirement("pytest", "8.2.0", "8.2.2")]),
        (CONVENTIONAL, [renamed("src/a.py", "src/b.py", similarity=90)]),
        (CONVENTIONAL, [renamed("src/a.py", "src/b.py"), SOURCE]),
        (CONVENTIONAL, [reformatted("a.py"), SOURCE]),
        (
            CONVENTIONAL,
            [
                patch(
                    "package.json",
                    ["@@ -8,2 +8,2 @@", '-    "test": "jest",', '+    "test": "vitest",'],
                )
            ],
        ),
        # The repository's types leave out the one the rule needs.
        (
            Shape(spec=Spec(types=tuple(t for t in DEFAULT_TYPES if t != "style"))),
            [reformatted("a.py")],
        ),
        # Not even the shortest form fits.
        (Shape(spec=Spec(subject_max=20)), [requirement("pytest", "8.2.0", "8.2.2")]),
        (CONVENTIONAL, []),
    ],
)
def test_changes_no_rule_describes(shape: Shape, patches: list[str]) -> None:
    assert run(shape, *patches) is None


def test_a_body_line_too_long_is_left_out_not_the_message() -> None:
    long = "a-package-with-a-name-long-enough-to-overflow-a-body-line"
    patches = requirement(long, "1.0.0", "1.0.1") + requirement(
        "mypy", "1.10.0", "1.11.0", "requirements-dev.txt"
    )
    assert run(CONVENTIONAL, patches) == ("dependencies", "build(deps): bump 2 dependencies")


def test_message_is_the_rules_text() -> None:
    found = facts.gather(diff.parse(requirement("pytest", "8.2.0", "8.2.2").encode()))
    assert rules.message(found, CONVENTIONAL) == "build(deps): bump pytest from 8.2.0 to 8.2.2"


WORKFLOW_BUMP = patch(
    ".github/workflows/label_pr.yml",
    [
        "@@ -10,3 +10,3 @@ jobs:",
        "     steps:",
        "-      - uses: actions/labeler@v6",
        "+      - uses: actions/labeler@v7",
        "       with:",
    ],
)


@pytest.mark.parametrize(
    ("shape", "patches", "expected"),
    [
        # A workflow's action bumped to a new tag, as dependabot's ci(deps) history says it.
        (
            dataclasses.replace(
                learned("ci(deps): bump actions/setup-go from 5 to 6", "feat: x", "fix: y"),
                paths=(".github/workflows/label_pr.yml",),
            ),
            (WORKFLOW_BUMP,),
            ("dependencies", "ci(deps): bump actions/labeler from 6 to 7"),
        ),
        (
            CONVENTIONAL,
            (WORKFLOW_BUMP,),
            ("dependencies", "build(deps): bump actions/labeler from 6 to 7"),
        ),
        # A SHA pin is no version; a step changed beside the bump is more than a bump.
        (
            CONVENTIONAL,
            (
                patch(
                    ".github/workflows/ci.yml",
                    [
                        "@@ -4 +4 @@",
                        "-  - uses: a/checkout@8f4b7f8",
                        "+  - uses: a/checkout@b4ffde6",
                    ],
                ),
            ),
            None,
        ),
        (
            CONVENTIONAL,
            (
                patch(
                    ".github/workflows/ci.yml",
                    [
                        "@@ -4,2 +4,2 @@",
                        "-  - uses: a/checkout@v4",
                        "+  - uses: a/checkout@v5",
                        "-    run: make",
                        "+    run: make test",
                    ],
                ),
            ),
            None,
        ),
    ],
)
def test_workflow_actions_are_dependencies(
    shape: Shape, patches: tuple[str, ...], expected: tuple[str, str] | None
) -> None:
    assert run(shape, *patches) == expected
