"""What is certain about a change, read from its parsed diff: each file's kind, language and
status, the definitions added, removed and changed, dependency bumps and the project's own
version bump.

It runs on every commit, on the ``diff.FileDiff`` list already parsed (git is not run
again), and its work is bounded: at most ``MAX_LINES`` changed lines per file are read (a
regenerated lock of 100,000 lines costs no more than one of 5,000) and at most
``MAX_SYMBOLS`` names per file and ``MAX_DEPENDENCIES`` dependencies are kept (more than
that will not fit a prompt anyway). Only names and versions are kept from the diff's
lines, never other string values: a hunk may hold a secret.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from commit_polish import diff, redact
from commit_polish.errors import CommitPolishError

# A file's changed lines read at most: symbols and dependencies are near the top of their
# hunks, and past this a file is a bulk change whose details the facts need not list.
MAX_LINES = 5_000
MAX_SYMBOLS = 20  # per file, per list
# Definition lines matched exactly per file: a file of nothing but definitions (generated
# stubs) would otherwise cost a regex call per line, for names past MAX_SYMBOLS anyway.
MAX_CANDIDATES = 10 * MAX_SYMBOLS
MAX_DEPENDENCIES = 50
MAX_FILES_TEXT = 40  # files described in text(); the rest are counted
# Files read for definitions and dependencies; the rest get their kind and status only
# (a diff of 10,000 small files cost a second read in full).
MAX_FILES = 1_000
# A lock's hunk may start below the line naming its package (-U1 shows ``version = …`` and
# not ``name = …``): the name is read from the staged file, scanning back from the hunk at
# most this many lines, in a file read up to BLOB_BYTES (a repository's lock is its own to
# size) and for at most BLOB_FILES locks a commit.
BACK_LINES = 200
BLOB_BYTES = 8 * 1024 * 1024
BLOB_FILES = 4
# Reads a staged file's content (at most BLOB_BYTES of it), or None when it cannot.
Reader = Callable[[str], bytes | None]
# A version as a manifest writes it: dotted numbers, a pre-release or build suffix (PEP 440
# letters, or anything after "-"/"+"), range operators. Hex without a separator is not one,
# and the length is bounded: a token someone put in a manifest must not pass as a version.
_ONE_VERSION = (
    r"v?\d+(?:\.(?:\d+|[x*]))*"
    r"(?:(?:a|b|c|rc|alpha|beta|pre|post|dev)\d*|[-+.][0-9A-Za-z][\w.+-]*)?"
)
_VERSION = re.compile(rf"[\^~<>=! ]*{_ONE_VERSION}(?:\s*,\s*[<>=!~^]*\s*{_ONE_VERSION})*")
_VERSION_MAX = 40

CI_PATTERNS = (
    ".github/workflows/*",
    ".github/actions/*",
    ".gitlab-ci.yml",
    ".gitlab/ci/*",
    ".circleci/*",
    "Jenkinsfile",
    "azure-pipelines.yml",
    "azure-pipelines.yaml",
    ".travis.yml",
    "appveyor.yml",
    ".appveyor.yml",
    "bitbucket-pipelines.yml",
    ".drone.yml",
    ".buildkite/*",
    ".woodpecker.yml",
    ".woodpecker/*",
)
BUILD_PATTERNS = (
    "Makefile",
    "GNUmakefile",
    "*.mk",
    "Dockerfile",
    "Dockerfile.*",
    "*.dockerfile",
    "docker-compose*.yml",
    "docker-compose*.yaml",
    "compose.yml",
    "compose.yaml",
    "CMakeLists.txt",
    "*.cmake",
    "meson.build",
    "setup.py",
    "setup.cfg",
    "tox.ini",
    "noxfile.py",
    "MANIFEST.in",
    "build.gradle",
    "build.gradle.kts",
    "settings.gradle",
    "settings.gradle.kts",
    "build.rs",
    "BUILD",
    "BUILD.bazel",
    "WORKSPACE",
    "justfile",
    "Justfile",
    "Rakefile",
    "webpack.config.*",
    "vite.config.*",
    "rollup.config.*",
    "esbuild.config.*",
    "tsconfig*.json",
    "babel.config.*",
    ".babelrc",
)
MANIFESTS = frozenset(
    {
        "package.json",
        "pyproject.toml",
        "Pipfile",
        "Cargo.toml",
        "go.mod",
        "Gemfile",
        "composer.json",
        "pom.xml",
    }
)
_REQUIREMENTS = ("requirements*.txt", "requirements/*.txt", "*requirements.txt", "requirements*.in")

_LANGUAGES = {
    "py": "Python",
    "pyi": "Python",
    "js": "JavaScript",
    "jsx": "JavaScript",
    "mjs": "JavaScript",
    "cjs": "JavaScript",
    "ts": "TypeScript",
    "tsx": "TypeScript",
    "mts": "TypeScript",
    "cts": "TypeScript",
    "go": "Go",
    "rs": "Rust",
    "java": "Java",
    "kt": "Kotlin",
    "kts": "Kotlin",
    "cs": "C#",
    "c": "C",
    "h": "C",
    "cc": "C++",
    "cpp": "C++",
    "cxx": "C++",
    "hpp": "C++",
    "hh": "C++",
    "rb": "Ruby",
    "php": "PHP",
    "sh": "Shell",
    "bash": "Shell",
    "zsh": "Shell",
    "swift": "Swift",
    "scala": "Scala",
    "lua": "Lua",
    "ex": "Elixir",
    "exs": "Elixir",
    "dart": "Dart",
    "vue": "Vue",
    "svelte": "Svelte",
    "html": "HTML",
    "css": "CSS",
    "scss": "SCSS",
    "sql": "SQL",
    "md": "Markdown",
    "rst": "reStructuredText",
    "toml": "TOML",
    "yml": "YAML",
    "yaml": "YAML",
    "json": "JSON",
    "tf": "Terraform",
    "nix": "Nix",
    "proto": "Protocol Buffers",
}
_NAMED_LANGUAGES = {
    "Makefile": "Makefile",
    "GNUmakefile": "Makefile",
    "Dockerfile": "Dockerfile",
    "Rakefile": "Ruby",
    "Gemfile": "Ruby",
    "Jenkinsfile": "Groovy",
}

_MODIFIERS = (
    r"(?:(?:public|private|protected|internal|static|final|abstract|sealed|open|override|"
    r"virtual|async|synchronized|native|partial|readonly|data|inline|suspend|unsafe|extern)\s+)"
)
_C_LIKE_CLASS = re.compile(
    rf"^\s*{_MODIFIERS}*(?:class|interface|enum|record|struct|object|trait)\s+(?P<name>\w+)"
)
# A method needs a modifier in front: without one a call or a declaration looks the same.
_JAVA_METHOD = re.compile(
    rf"^\s*{_MODIFIERS}+(?:<[^>]*>\s*)?[\w<>\[\],.?]+\s+(?P<name>\w+)\s*\([^;]*$"
)
_C_KEYWORDS = frozenset({"if", "for", "while", "switch", "return", "sizeof", "else", "do"})
_SYMBOLS: dict[str, tuple[re.Pattern[str], ...]] = {
    "Python": (re.compile(r"^\s*(?:async\s+)?(?:def|class)\s+(?P<name>\w+)"),),
    "JavaScript": (
        re.compile(
            r"^\s*(?:export\s+)?(?:default\s+)?(?:async\s+)?function\s*\*?\s*(?P<name>[\w$]+)"
        ),
        re.compile(r"^\s*(?:export\s+)?(?:default\s+)?(?:abstract\s+)?class\s+(?P<name>[\w$]+)"),
        re.compile(
            r"^\s*(?:export\s+)?(?:const|let|var)\s+(?P<name>[\w$]+)\s*(?::[^=]+)?=\s*"
            r"(?:async\s+)?(?:function\b|(?:\([^)]*\)|[\w$]+)\s*(?::[^=]+)?=>)"
        ),
        re.compile(r"^\s*(?:export\s+)?(?:declare\s+)?(?:interface|type|enum)\s+(?P<name>\w+)"),
    ),
    "Go": (
        re.compile(r"^func\s+(?:\([^)]*\)\s*)?(?P<name>\w+)"),
        re.compile(r"^type\s+(?P<name>\w+)\s+(?:struct|interface)\b"),
    ),
    "Rust": (
        re.compile(
            r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?"
            r'(?:extern\s+"[^"]*"\s+)?fn\s+(?P<name>\w+)'
        ),
        re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:struct|enum|trait|union|mod)\s+(?P<name>\w+)"),
        re.compile(r"^\s*impl(?:<[^>]*>)?\s+(?:[\w:]+(?:<[^>]*>)?\s+for\s+)?(?P<name>\w+)"),
    ),
    "Java": (_C_LIKE_CLASS, _JAVA_METHOD),
    "C#": (_C_LIKE_CLASS, _JAVA_METHOD),
    "Kotlin": (
        _C_LIKE_CLASS,
        re.compile(rf"^\s*{_MODIFIERS}*fun\s+(?:<[^>]*>\s*)?(?:[\w.]+\.)?(?P<name>\w+)\s*\("),
    ),
    "C": (
        re.compile(r"^(?:typedef\s+)?(?:struct|union|enum)\s+(?P<name>\w+)\s*\{?\s*$"),
        # A definition starts in column 0 and has no ";" (that would be a declaration).
        re.compile(r"^(?:[A-Za-z_][\w*&<>:,]*\s+)+\**(?P<name>[A-Za-z_][\w:~]*)\s*\([^;]*$"),
    ),
    "Ruby": (
        re.compile(r"^\s*def\s+(?:self\.)?(?P<name>\w+[?!=]?)"),
        re.compile(r"^\s*(?:class|module)\s+(?P<name>[A-Z][\w:]*)"),
    ),
    "PHP": (
        re.compile(rf"^\s*{_MODIFIERS}*function\s+&?(?P<name>\w+)"),
        re.compile(r"^\s*(?:(?:abstract|final|readonly)\s+)*(?:class|interface|trait|enum)\s+"),
    ),
    "Shell": (
        re.compile(r"^\s*function\s+(?P<name>[\w-]+)"),
        re.compile(r"^\s*(?P<name>[A-Za-z_][\w-]*)\s*\(\)\s*(?:\{|$)"),
    ),
}
_SYMBOLS["TypeScript"] = _SYMBOLS["JavaScript"]
_SYMBOLS["C++"] = (
    re.compile(r"^(?:template\s*<[^>]*>\s*)?(?:class|struct|union|enum)\s+(?P<name>\w+)[^;]*$"),
    _SYMBOLS["C"][1],
)
_SYMBOLS["PHP"] = (
    _SYMBOLS["PHP"][0],
    re.compile(
        r"^\s*(?:(?:abstract|final|readonly)\s+)*(?:class|interface|trait|enum)\s+(?P<name>\w+)"
    ),
)
_SYMBOLS["Vue"] = _SYMBOLS["Svelte"] = _SYMBOLS["JavaScript"]
# The start of a + or - line that may be a definition, per language: a superset of what
# _SYMBOLS matches, searched over a whole hunk at once. It never reaches past its line.
_JAVA_WORDS = (
    r"public|private|protected|internal|static|final|abstract|sealed|open|override|virtual|"
    r"async|synchronized|native|partial|readonly|data|inline|suspend|unsafe|extern|class|"
    r"interface|enum|record|struct|object|trait|fun"
)
_JS_WORDS = (
    r"export|default|async|function|class|abstract|const|let|var|interface|type|enum|declare"
)
_CANDIDATE_WORDS = {
    "Python": r"[ \t]*(?:async|def|class)\b",
    "JavaScript": rf"[ \t]*(?:{_JS_WORDS})\b",
    "Go": r"(?:func|type)\b",
    "Rust": r"[ \t]*(?:pub|const|async|unsafe|extern|fn|struct|enum|trait|union|mod|impl)\b",
    "Java": rf"[ \t]*(?:{_JAVA_WORDS})\b",
    "C": r"[A-Za-z_]",
    "Ruby": r"[ \t]*(?:def|class|module)\b",
    "PHP": r"[ \t]*(?:public|private|protected|static|abstract|final|readonly|function|class|"
    r"interface|trait|enum)\b",
    "Shell": r"[ \t]*(?:function\b|[A-Za-z_][\w-]*[ \t]*\(\))",
}
for _lang, _same in (
    ("TypeScript", "JavaScript"),
    ("Vue", "JavaScript"),
    ("Svelte", "JavaScript"),
    ("C#", "Java"),
    ("Kotlin", "Java"),
    ("C++", "C"),
):
    _CANDIDATE_WORDS[_lang] = _CANDIDATE_WORDS[_same]
_CANDIDATES = {
    # "\n" rather than a MULTILINE "^": the regex engine then skips to each newline instead
    # of trying every position (four times faster, measured).
    lang: re.compile(rf"\n[+-]{words}")
    for lang, words in _CANDIDATE_WORDS.items()
}


@dataclass(frozen=True)
class FileFact:
    path: str
    status: str  # added | modified | deleted | renamed | mode (the mode alone changed)
    kind: str  # source | test | docs | build | ci | manifest | lock | generated | data
    language: str | None
    old_path: str | None = None  # for renames
    added: tuple[str, ...] = ()  # symbols defined on + lines only
    removed: tuple[str, ...] = ()  # symbols defined on - lines only
    changed: tuple[str, ...] = ()  # enclosing definitions, and symbols removed and added
    # What all of its changed lines are, when they are all of one sort: "whitespace",
    # "dependencies" (dependency lines of a manifest; any line of a lock file), "version"
    # (the project's own version), "" (anything else, or nothing changed).
    change: str = ""
    same_content: bool = False  # a rename or mode change with no change to the content


@dataclass(frozen=True)
class Dependency:
    name: str
    old: str | None
    new: str | None
    manifest: str  # path of the manifest or lock file


@dataclass(frozen=True)
class Facts:
    files: tuple[FileFact, ...]
    dependencies: tuple[Dependency, ...] = ()
    version: tuple[str, str] | None = None  # the project's own version bump (old, new)
    # Files whose changed lines were not all read (MAX_LINES, MAX_FILES, the diff's read
    # limit): their definitions and dependencies may be incomplete.
    partial: tuple[str, ...] = ()

    def names(self) -> frozenset[str]:
        """What a grounded subject may name, lowercased: symbols, path stems and
        directories, old names of renamed files, package names."""
        out: set[str] = set()
        for f in self.files:
            for path in (f.path, f.old_path or ""):
                parts = [p for p in path.split("/") if p]
                out.update(parts[:-1])
                if parts:
                    out.add(parts[-1])
                    out.add(parts[-1].split(".", 1)[0])
            out.update(f.added + f.removed + f.changed)
        for dep in self.dependencies:
            out.add(dep.name)
            out.add(dep.name.rsplit("/", 1)[-1])
        return frozenset(name.lower() for name in out if name)

    def kinds(self) -> frozenset[str]:
        return frozenset(f.kind for f in self.files)

    def text(self, max_files: int = MAX_FILES_TEXT) -> str:
        """A compact block for the prompt: a line per file (at most ``max_files``, the
        source files first when some are left out), a line per dependency."""
        files = list(self.files)
        if len(files) > max_files:
            files.sort(key=lambda f: _TEXT_ORDER.get(f.kind, len(_TEXT_ORDER)))
        lines = [_file_line(f) for f in files[:max_files]]
        if len(files) > max_files:
            lines.append(f"… and {len(files) - max_files} more files")
        for dep, where in by_name(self.dependencies):
            lines.append(f"dependency {_dep_change(dep)} ({', '.join(where)})")
        if self.version:
            lines.append(f"version {self.version[0]} -> {self.version[1]}")
        return "\n".join(lines)


# Which files' lines are kept when not all fit: what a subject is most often about first.
_TEXT_ORDER = {
    kind: rank for rank, kind in enumerate(("source", "manifest", "build", "ci", "test"))
}


def _file_line(f: FileFact) -> str:
    about = ", ".join(part for part in (f.language, f.kind) if part)
    path = f"{f.old_path} -> {f.path}" if f.old_path else f.path
    head = f"{f.status} {path} ({about})"
    parts = [
        f"{verb} {', '.join(names)}"
        for verb, names in (("adds", f.added), ("removes", f.removed), ("changes", f.changed))
        if names
    ]
    if f.change == "whitespace":
        parts.append("whitespace only")
    elif f.same_content:
        parts.append("content unchanged")
    return head + (": " + "; ".join(parts) if parts else "")


def by_name(deps: tuple[Dependency, ...]) -> list[tuple[Dependency, list[str]]]:
    """One change per package, with the files that show it: a lock's exact versions win
    over a manifest's range, and a pair over one side alone (go.sum keeps old versions)."""
    found: dict[str, list[Dependency]] = {}
    for dep in deps:
        found.setdefault(dep.name, []).append(dep)
    out = []
    for same in found.values():
        best = min(same, key=lambda d: (not (d.old and d.new), kind(d.manifest) != "lock"))
        out.append((best, list(dict.fromkeys(d.manifest for d in same))))
    return out


def _dep_change(dep: Dependency) -> str:
    if dep.old and dep.new:
        return f"{dep.name} {dep.old} -> {dep.new}"
    if dep.new:
        return f"{dep.name} added {dep.new}"
    return f"{dep.name} removed {dep.old}"


def _matcher(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """Whether a path, or its file name, matches one of ``patterns`` (compiled once)."""
    compiled = diff._compiled(patterns)

    def matches(path: str) -> bool:
        return bool(compiled.match(path) or compiled.match(path.rsplit("/", 1)[-1]))

    return matches


_IS_CI = _matcher(CI_PATTERNS)
_IS_REQUIREMENTS = _matcher(_REQUIREMENTS)
_IS_BUILD = _matcher(BUILD_PATTERNS)
_IS_GENERATED = _matcher(diff.GENERATED_GLOBS)
_IS_DATA = _matcher(diff.DATA_PATTERNS)
_IS_TEST = _matcher(diff.TEST_PATTERNS)
_IS_DOCS = _matcher(diff.DOC_PATTERNS)


def kind(path: str, head: str = "") -> str:
    """What sort of file ``path`` is; ``head``, the start of its diff, may mark it
    generated."""
    name = path.rsplit("/", 1)[-1]
    if name in diff.LOCK_FILES:
        return "lock"
    if _IS_CI(path):
        return "ci"
    if name in MANIFESTS or _IS_REQUIREMENTS(path):
        return "manifest"
    if _IS_BUILD(path):
        return "build"
    if _IS_GENERATED(path) or any(marker in head for marker in diff.GENERATED_MARKERS):
        return "generated"
    if _IS_DATA(path):
        return "data"
    if _IS_TEST(path):
        return "test"
    if _IS_DOCS(path):
        return "docs"
    return "source"


def language(path: str) -> str | None:
    name = path.rsplit("/", 1)[-1]
    if name in _NAMED_LANGUAGES:
        return _NAMED_LANGUAGES[name]
    if name.startswith("Dockerfile"):
        return "Dockerfile"
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return _LANGUAGES.get(ext)


def symbol(line: str, lang: str | None) -> str | None:
    """The name ``line`` (code, no diff marker) defines, if it is a definition."""
    for pattern in _SYMBOLS.get(lang or "", ()):
        found = pattern.match(line)
        if found and found.group("name") not in _C_KEYWORDS:
            return found.group("name")
    return None


def _definition_lines(f: diff.FileDiff, lang: str) -> Iterator[str]:
    """The + and - lines of ``f`` (marker kept) that may define something, among its first
    MAX_LINES lines: a hunk is searched whole with one cheap regex (a call per line cost
    seconds on a 64 MB diff), and only its hits are matched exactly."""
    candidates = _CANDIDATES[lang]
    left, hits = MAX_LINES, 0
    for hunk in f.hunks:
        if left <= 0:
            return
        body = hunk[1 : left + 1]
        left -= len(body)
        text = "\n" + "\n".join(body)
        for found in candidates.finditer(text):
            end = text.find("\n", found.start() + 1)
            yield text[found.start() + 1 : end if end >= 0 else len(text)]
            hits += 1
            if hits == MAX_CANDIDATES:
                return


def _hunk_context(header: str) -> str:
    """The enclosing definition git wrote after a hunk's second ``@@``."""
    parts = header.split("@@", 2)
    return parts[2].strip() if len(parts) == 3 else ""


def _first(names: list[str], drop: set[str]) -> tuple[str, ...]:
    """The first MAX_SYMBOLS distinct ``names`` not in ``drop``, in order."""
    seen: dict[str, None] = {}
    for name in names:
        if name not in drop:
            seen[name] = None
            if len(seen) == MAX_SYMBOLS:
                break
    return tuple(seen)


def symbols(f: diff.FileDiff, lang: str | None) -> tuple[tuple[str, ...], ...]:
    """(added, removed, changed) definitions of ``f``: a name both removed and added, or
    named by a hunk header as the definition the hunk is in, is changed."""
    if lang is None or lang not in _SYMBOLS:
        return (), (), ()
    plus: list[str] = []
    minus: list[str] = []
    for line in _definition_lines(f, lang):
        name = symbol(line[1:], lang)
        if name:
            (plus if line[0] == "+" else minus).append(name)
    both = set(plus) & set(minus)
    added = _first(plus, both)
    removed = _first(minus, both)
    context = [symbol(_hunk_context(h[0]), lang) or "" for h in f.hunks[:MAX_CANDIDATES]]
    changed = _first([n for n in [*context, *minus] if n in both or n in context], set())
    return added, removed, tuple(n for n in changed if n and n not in added + removed)


def _status(f: diff.FileDiff) -> str:
    if f.status.startswith("renamed"):
        return "renamed"
    if f.status in ("added", "deleted"):
        return f.status
    if not f.hunks and any(line.startswith("new mode ") for line in f.header):
        return "mode"
    return "modified"


# --- dependencies and versions ---------------------------------------------------------------


@dataclass
class _Lines:
    """What one manifest's changed lines hold: dependency versions by side, the project's
    version by side, and whether any line was neither."""

    old: dict[str, str] = field(default_factory=dict)
    new: dict[str, str] = field(default_factory=dict)
    version_old: str | None = None
    version_new: str | None = None
    other: bool = False
    any_dep: bool = False

    def dep(self, side: str, name: str, spec: str) -> None:
        version = clean_version(spec)
        if version is None:
            self.other = True
            return
        self.any_dep = True
        (self.old if side == "-" else self.new).setdefault(name, version)

    def version(self, side: str, spec: str) -> None:
        version = clean_version(spec)
        if version is None:
            self.other = True
        elif side == "-":
            self.version_old = self.version_old or version
        else:
            self.version_new = self.version_new or version


def clean_version(spec: str) -> str | None:
    """A version as a message says it (``^1.2.3`` → ``1.2.3``; ``>=1,<2`` kept), or None
    when ``spec`` is not one (a path, a URL, a git ref, anything long)."""
    spec = spec.strip()
    if len(spec) > _VERSION_MAX or not _VERSION.fullmatch(spec):
        return None
    if redact.redact_text(spec) != spec:  # a secret's shape, whatever it looks like
        return None
    simple = re.fullmatch(r"[\^~<>=! ]*v?(\d[\w.+*-]*)", spec)
    return simple.group(1) if simple else re.sub(r"\s+", "", spec)  # ">= 1, <2" as ">=1,<2"


def python_name(name: str) -> str:
    """A Python package's name as its index and the bots say it (PEP 503: ``uv_build`` is
    ``uv-build``), so that a manifest's and a lock's entries are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def is_range(version: str) -> bool:
    """Whether a version :func:`clean_version` gave is a range (``>=1.2,<2``), not one."""
    return not re.fullmatch(r"\d[\w.+*-]*", version)


_JSON_PAIR = re.compile(r'^\s*"(?P<key>[^"]{1,214})"\s*:\s*"(?P<value>[^"]*)",?\s*$')
_JSON_KEY = re.compile(r'^\s*"(?P<key>[^"]{1,214})"\s*:\s*\{\s*$')
_JSON_NOT_DEPS = frozenset({"node", "npm", "yarn", "pnpm", "name", "main", "types", "module"})
_TOML_PAIR = re.compile(
    r'^(?P<indent>\s*)(?P<key>[\w.-]+)\s*=\s*(?:"(?P<value>[^"]*)"|'
    r'\{[^}]*\bversion\s*=\s*"(?P<inline>[^"]*)"[^}]*\})\s*(?:#.*)?$'
)
_PEP508 = re.compile(
    r'^\s*"(?P<name>[A-Za-z0-9][\w.-]*)(?:\[[^\]]*\])?\s*(?P<spec>[<>=!~^][^";]*)?'
    r'(?:;[^"]*)?",?\s*$'
)
# ``requires = ["uv_build>=0.8,<0.9", "x"]``: a one-line array of PEP 508 strings.
_TOML_ARRAY = re.compile(r"^\s*(?P<key>[\w.-]+)\s*=\s*\[(?P<items>[^\]]*)\]\s*,?\s*(?:#.*)?$")
_ARRAY_ITEM = re.compile(r'\s*("[^"]*")\s*(?:,|$)')
_TOML_NOT_DEPS = frozenset(
    {"python", "requires-python", "python_version", "target-version", "minversion", "name"}
)
_REQUIREMENT = re.compile(
    r"^(?P<name>[A-Za-z0-9][\w.-]*)(?:\[[^\]]*\])?\s*(?P<spec>(?:[<>=!~]=?|===)\s*[^;#\s\\]+"
    r"(?:\s*,\s*[<>=!~]=?\s*[^;#\s,\\]+)*)\s*(?:;[^#\\]*)?(?:#.*)?\\?$"
)
_GO_REQUIRE = re.compile(r"^\s*(?:require\s+)?(?P<name>[\w.-]+\.[\w./~-]+)\s+(?P<spec>v[\w.+-]+)")
_GO_SUM = re.compile(r"^(?P<name>\S+)\s+(?P<spec>v[\w.+-]+?)(?:/go\.mod)?\s+h1:")
_GEM = re.compile(r"""^\s*gem\s+["'](?P<name>[\w.-]+)["']\s*,\s*["'](?P<spec>[^"']+)["']""")
# A workflow step's action at a version tag (``uses: actions/checkout@v4``); a SHA pin is
# not a version, and its line counts as another change.
_ACTION_USES = re.compile(
    r"^\s*(?:-\s+)?uses:\s*[\"']?(?P<name>[\w.-]+/[\w./-]+)@(?P<spec>v?\d[\w.]*)[\"']?\s*(?:#.*)?$"
)
_GEM_LOCK = re.compile(r"^    (?P<name>[\w.-]+) \((?P<spec>[^)]+)\)\s*$")
_LOCK_NAME = re.compile(r'^\s*name\s*=\s*"(?P<name>[^"]+)"\s*$')
_LOCK_VERSION = re.compile(r'^\s*version\s*=\s*"(?P<spec>[^"]+)"\s*$')
_YARN_HEAD = re.compile(r'^"?(?P<name>@?[^@\s"]+)@[^\n]*:\s*$')
_YARN_VERSION = re.compile(r'^\s+version:?\s+"?(?P<spec>[^"\s]+)"?\s*$')
_PNPM_KEY = re.compile(r"^\s{2}'?/?(?P<name>@?[^@\s/'][^@\s']*)@(?P<spec>\d[^:(\s']*)[:(']")
# pnpm-lock.yaml's importers: a direct dependency's name, then its specifier and version.
_PNPM_IMPORTER = re.compile(r"^ {6}'?(?P<name>@?[^\s:'@][^\s:']*)'?:\s*$")
_PNPM_VERSION = re.compile(r"^ {8}version: '?(?P<spec>\d[^(\s']*)")
# Where a Python package keeps ``__version__``; other modules are not read for it.
_VERSION_MODULES = frozenset({"__init__.py", "_version.py", "version.py", "__about__.py"})
_PYVERSION = re.compile(r"""^__version__\s*=\s*["'](?P<spec>[^"']+)["']\s*$""")


def _sides(f: diff.FileDiff, headers: bool = False) -> Iterator[tuple[str, str]]:
    """(side, text) for each line of ``f``'s hunks up to MAX_LINES changed lines: side is
    "-", "+" or " " (context, which belongs to both), and with ``headers`` "@" for each
    hunk's header."""
    n = 0
    for hunk in f.hunks:
        if headers:
            yield "@", hunk[0]
        for line in hunk[1:]:
            side = line[:1]
            if side in ("+", "-"):
                n += 1
                if n > MAX_LINES:
                    return
            elif side != " ":
                continue
            yield side, line[1:]


def _json_manifest(f: diff.FileDiff, out: _Lines) -> None:
    """package.json, composer.json: ``"name": "^1.2.3"`` lines; the top ``"version"``."""
    for side, text in _sides(f):
        if side == " ":
            continue
        pair = _JSON_PAIR.match(text)
        key = pair.group("key") if pair else ""
        if pair and key == "version" and len(text) - len(text.lstrip()) <= 2:
            out.version(side, pair.group("value"))
        elif pair and key not in _JSON_NOT_DEPS and clean_version(pair.group("value")):
            out.dep(side, key, pair.group("value"))
        elif text.strip():
            out.other = True


def _toml_manifest(f: diff.FileDiff, out: _Lines) -> None:
    """pyproject.toml, Cargo.toml, Pipfile: ``version = "…"`` (the project's own, at the
    left margin), ``name = "^1.2"`` / ``name = { version = "…" }`` and PEP 508 strings."""
    for side, text in _sides(f):
        if side == " ":
            continue
        pair = _TOML_PAIR.match(text)
        pep = _PEP508.match(text) if not pair else None
        array = _TOML_ARRAY.match(text) if not (pair or pep) else None
        if array and _pep508_array(side, array.group("items"), out):
            continue
        if pair and pair.group("key") == "version" and not pair.group("indent"):
            out.version(side, pair.group("value") or "")
        elif pair and pair.group("key") not in _TOML_NOT_DEPS | {"version"}:
            out.dep(side, pair.group("key"), pair.group("value") or pair.group("inline") or "")
        elif pep and pep.group("spec"):
            out.dep(side, python_name(pep.group("name")), pep.group("spec"))
        elif text.strip():
            out.other = True


def _pep508_array(side: str, items: str, out: _Lines) -> bool:
    """Read a one-line array's PEP 508 strings as dependencies; False when an item is not
    one (nothing is read then)."""
    found = []
    at = 0
    while at < len(items.rstrip()):
        item = _ARRAY_ITEM.match(items, at)
        pep = _PEP508.match(item.group(1)) if item else None
        if not item or not pep:
            return False
        found.append(pep)
        at = item.end()
    for pep in found:
        if pep.group("spec"):
            out.dep(side, python_name(pep.group("name")), pep.group("spec"))
    return bool(found)


def _line_manifest(f: diff.FileDiff, out: _Lines, pattern: re.Pattern[str]) -> None:
    """requirements.txt, go.mod, Gemfile: one dependency a line."""
    for side, text in _sides(f):
        if side == " ":
            continue
        found = pattern.match(text)
        if found:
            out.dep(side, found.group("name"), found.group("spec"))
        elif text.strip().startswith(("--hash", "# via", "#   ")):
            continue  # pip-compile's hashes and provenance: detail of a pinned line
        elif text.strip():
            out.other = True


_HUNK_START = re.compile(r"^@@ -\d+(?:,\d+)? \+(?P<start>\d+)")


def name_above(lines: list[bytes], start: int, name_re: re.Pattern[str]) -> str:
    """The package name in effect at line ``start`` (1-based) of a staged lock: the nearest
    ``name_re`` line above it, within BACK_LINES; "" when there is none."""
    for line in reversed(lines[max(start - 1 - BACK_LINES, 0) : max(start - 1, 0)]):
        named = name_re.match(line.decode("utf-8", "replace"))
        if named:
            return named.group("name")
    return ""


def _paired_lock(
    f: diff.FileDiff,
    out: _Lines,
    name_re: re.Pattern[str],
    version_re: re.Pattern[str],
    staged: list[bytes] | None = None,
) -> None:
    """Locks that name a package on one line and give its version on a later one
    (poetry.lock, uv.lock, Cargo.lock, package-lock.json, composer.lock, yarn.lock): the
    name may be a context line, or (with the ``staged`` file's lines) above the hunk. Each
    side keeps the last name it saw."""
    current = {"-": "", "+": ""}
    for side, text in _sides(f, staged is not None):
        if side == "@":
            start = _HUNK_START.match(text)
            above = name_above(staged or [], int(start.group("start")), name_re) if start else ""
            current = {"-": above, "+": above}  # a bump keeps the tables in their order
            continue
        named = name_re.match(text)
        if named:
            for s in ("-", "+") if side == " " else (side,):
                current[s] = named.group("name").rsplit("node_modules/", 1)[-1]
            continue
        version = version_re.match(text) if side != " " else None
        if version and current[side]:
            out.dep(side, current[side], version.group("spec"))
        elif version:  # before any package: the project's own (package-lock.json's top)
            out.version(side, version.group("spec"))


_JSON_VERSION = re.compile(r'^\s*"version"\s*:\s*"(?P<spec>[^"]+)",?\s*$')
_NPM_PACKAGE = re.compile(r'^\s*"(?P<name>(?:[^"]*/)?node_modules/[^"]+)"\s*:\s*\{\s*$')
_COMPOSER_NAME = re.compile(r'^\s*"name"\s*:\s*"(?P<name>[^"]+)",?\s*$')


def _keyed_lock(f: diff.FileDiff, out: _Lines, pattern: re.Pattern[str]) -> None:
    """Locks whose lines carry name and version together (Gemfile.lock, go.sum,
    pnpm-lock.yaml)."""
    for side, text in _sides(f):
        found = pattern.match(text) if side != " " else None
        if found:
            out.dep(side, found.group("name"), found.group("spec"))


def _pnpm_lock(f: diff.FileDiff, out: _Lines, staged: list[bytes] | None) -> None:
    """pnpm-lock.yaml: the importers' direct dependencies when their versions changed (what
    a bump is about); else the packages' ``name@version`` keys."""
    _paired_lock(f, out, _PNPM_IMPORTER, _PNPM_VERSION, staged)
    if out.old or out.new:
        out.version_old = out.version_new = None  # (a version under no name is not ours)
        return
    out.version_old = out.version_new = None
    _keyed_lock(f, out, _PNPM_KEY)


def _read_dependencies(f: diff.FileDiff, staged: list[bytes] | None = None) -> _Lines | None:
    """The dependency and version lines of a manifest or lock file, or None for others;
    ``staged`` is the lock's staged content by line, when read."""
    name = f.path.rsplit("/", 1)[-1]
    out = _Lines()
    if name in ("package.json", "composer.json"):
        _json_manifest(f, out)
    elif name in ("pyproject.toml", "Cargo.toml", "Pipfile"):
        _toml_manifest(f, out)
    elif name == "go.mod":
        _line_manifest(f, out, _GO_REQUIRE)
    elif name == "Gemfile":
        _line_manifest(f, out, _GEM)
    elif _IS_REQUIREMENTS(f.path):
        _line_manifest(f, out, _REQUIREMENT)
    elif name in ("poetry.lock", "uv.lock", "Cargo.lock"):
        _paired_lock(f, out, _LOCK_NAME, _LOCK_VERSION, staged)
    elif name == "package-lock.json":
        _paired_lock(f, out, _NPM_PACKAGE, _JSON_VERSION, staged)
    elif name == "composer.lock":
        _paired_lock(f, out, _COMPOSER_NAME, _JSON_VERSION)
    elif name == "yarn.lock":
        _paired_lock(f, out, _YARN_HEAD, _YARN_VERSION)
    elif name == "Gemfile.lock":
        _keyed_lock(f, out, _GEM_LOCK)
    elif name == "go.sum":
        _keyed_lock(f, out, _GO_SUM)
    elif name == "pnpm-lock.yaml":
        _pnpm_lock(f, out, staged)
    elif _IS_CI(f.path) and name.endswith((".yml", ".yaml")):
        _line_manifest(f, out, _ACTION_USES)
    elif name in ("VERSION", "VERSION.txt"):
        _version_file(f, out, None)
    elif name in _VERSION_MODULES:
        _version_file(f, out, _PYVERSION)
    else:
        return None
    return out


def _version_file(f: diff.FileDiff, out: _Lines, pattern: re.Pattern[str] | None) -> None:
    """A VERSION file (the version is the whole line) or ``__version__ = "…"``."""
    for side, text in _sides(f):
        if side == " ":
            continue
        found = pattern.match(text) if pattern else None
        spec = found.group("spec") if found else text if pattern is None else ""
        if spec.strip() and clean_version(spec):
            out.version(side, spec)
        else:
            out.other = True


def _dependencies(path: str, lines: _Lines) -> list[Dependency]:
    names = list(lines.old) + [n for n in lines.new if n not in lines.old]
    return [
        Dependency(name=n, old=lines.old.get(n), new=lines.new.get(n), manifest=path)
        for n in names
        if lines.old.get(n) != lines.new.get(n)
    ]


_PAIRED_LOCKS = frozenset({"poetry.lock", "uv.lock", "Cargo.lock", "package-lock.json"})


def _staged_lines(f: diff.FileDiff, reader: Reader | None, budget: list[int]) -> list[bytes] | None:
    """A lock's staged lines, when ``reader`` is given, the lock's hunks may start below a
    name, and ``budget`` (locks left to read) allows; else None."""
    if reader is None or f.path.rsplit("/", 1)[-1] not in _PAIRED_LOCKS | {"pnpm-lock.yaml"}:
        return None
    if budget[0] <= 0 or f.status == "deleted":
        return None
    budget[0] -= 1
    try:
        content = reader(f.path)
    except (OSError, ValueError, CommitPolishError):  # the facts go on without it
        return None
    return content[:BLOB_BYTES].split(b"\n") if content is not None else None


def gather(files: list[diff.FileDiff], reader: Reader | None = None) -> Facts:
    """The facts of a parsed staged diff; ``reader`` reads a staged file, for the names of
    locks' packages above their hunks."""
    detailed = [f for f in files[:MAX_FILES] if not (f.binary or f.size or f.unread)]
    budget = [BLOB_FILES]
    read = {
        f.path: lines
        for f in detailed
        if (lines := _read_dependencies(f, _staged_lines(f, reader, budget))) is not None
    }
    deps = [dep for path, lines in read.items() for dep in _dependencies(path, lines)]
    versions = [
        (lines.version_old, lines.version_new)
        for lines in read.values()
        if lines.version_old and lines.version_new and lines.version_new != lines.version_old
    ]
    version = versions[0] if versions else None
    # A lock that holds the project itself (uv.lock, Cargo.lock) bumps it as a package.
    own = {d.manifest for d in deps if version and (d.old, d.new) == version}
    deps = [d for d in deps if not (version and (d.old, d.new) == version)]
    by_path: dict[str, list[Dependency]] = {}
    for dep in deps:
        by_path.setdefault(dep.manifest, []).append(dep)
    out = [
        _file_fact(f, read.get(f.path), by_path.get(f.path, []), f.path in own)
        if n < MAX_FILES
        else _file_fact(f, None, [], False, detailed=False)
        for n, f in enumerate(files)
    ]
    partial = tuple(
        f.path
        for n, f in enumerate(files)
        if n >= MAX_FILES or f.unread or f.added + f.removed > MAX_LINES
    )
    return Facts(
        files=tuple(out),
        dependencies=tuple(deps[:MAX_DEPENDENCIES]),
        version=version,
        partial=partial,
    )


def _file_fact(
    f: diff.FileDiff,
    lines: _Lines | None,
    deps: list[Dependency],
    own: bool,
    *,
    detailed: bool = True,
) -> FileFact:
    head = "\n".join(f.hunks[0][:12]) if f.hunks else ""
    lang = language(f.path)
    file_kind = kind(f.path, head)
    added, removed, changed = symbols(f, lang) if detailed else ((), (), ())
    return FileFact(
        path=f.path,
        status=_status(f),
        kind=file_kind,
        language=lang,
        old_path=f.old_path or None,
        added=added,
        removed=removed,
        changed=changed,
        change=_change(f, lines, deps, own) if detailed else "",
        same_content=(f.same_content or _status(f) == "mode") and not f.hunks,
    )


def _change(f: diff.FileDiff, lines: _Lines | None, deps: list[Dependency], own: bool) -> str:
    """What all of ``f``'s changed lines are (see FileFact.change); ``deps`` are the
    dependency changes found in it, ``own`` whether it also bumped the project itself (a
    lock's entry for it)."""
    if not f.hunks or f.binary or f.size or f.unread:
        return ""
    if diff.whitespace_only(f):
        return "whitespace"
    lock = f.path.rsplit("/", 1)[-1] in diff.LOCK_FILES
    if lines is None or lines.other or (f.added + f.removed > MAX_LINES and not lock):
        return ""  # (a lock's lines are all about its packages, however many were read)
    if lines.version_old or lines.version_new or own:
        return "" if deps else "version"
    return "dependencies" if deps or lock else ""


# --- grounding -------------------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z_][\w.-]*")


# Parts of names, and words, shorter than this are too common to count as naming a thing.
MIN_STEM = 4


def _parts(name: str) -> set[str]:
    """A name's parts: ``parse_port`` and ``parsePort`` are also about "parse" and "port"."""
    words = re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name)
    return {w.lower() for w in words if len(w) >= MIN_STEM}


def _stem_match(word: str, names: frozenset[str]) -> bool:
    """Whether ``word`` and a name are one word inflected: one starts with the other and
    the shorter has MIN_STEM letters or more (greet, greeting; test, tests)."""
    if len(word) < MIN_STEM:
        return False
    return any(
        len(name) >= MIN_STEM and (word.startswith(name) or name.startswith(word)) for name in names
    )


def grounded(subject: str, facts: Facts) -> bool:
    """Whether ``subject`` names at least one thing of the change: a symbol, a file or
    directory, a package, or a part of one's name (``port`` of ``parse_port``). Words are
    compared lowercased, inflected (``greeting`` names ``greet``), and split at dots and
    dashes (``parse_port()``, ``server.py``)."""
    names = facts.names()
    said = subject.lower()
    # Names no word pattern splits well ('we"ird.py', "my file.py") are found whole.
    if any(len(name) >= MIN_STEM and name in said for name in names):
        return True
    parts = frozenset(p for name in names for p in _parts(name)) | names
    for word in _WORD.findall(subject):
        lowered = word.lower().rstrip(".")
        candidates = {lowered, lowered.split(".", 1)[0], *re.split(r"[.-]", lowered)}
        if candidates & names or any(_stem_match(c, parts) for c in candidates):
            return True
    return False
