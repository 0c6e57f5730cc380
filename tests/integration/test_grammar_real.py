"""Constrained decoding against the real llama-server with SmolLM2-135M.

Every generated grammar is accepted, and a table of 20+ real-looking diffs all yield
messages in the configured style (the grammar makes them well formed by construction).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from commit_polish import grammar, style, validate
from commit_polish.grammar import Spec
from dev.realserver import RealServer

SPECS = [
    Spec(),
    Spec(style="plain", case="upper"),
    Spec(scopes=("cli", "docs"), case="lower", body=False),
    Spec(scopes=(), gitmoji=True, subject_max=50),
    Spec(types=("feat", "fix", "deps"), scopes=('we"ird', "a\\b"), case="upper"),
]


@pytest.mark.parametrize("spec", SPECS, ids=[str(i) for i in range(len(SPECS))])
def test_grammar_accepted_by_llama_server(real_server: RealServer, spec: Spec) -> None:
    body = {
        "messages": [{"role": "user", "content": "Commit message for: add a --dry-run flag"}],
        "max_tokens": 60,
        "temperature": 0,
        "grammar": grammar.build(spec),
    }
    response = httpx.post(f"{real_server.api_base}/chat/completions", json=body, timeout=120)
    assert response.status_code == 200, response.text
    text = response.json()["choices"][0]["message"]["content"]
    subject = text.split("\n", 1)[0]
    assert validate.style_problem(subject, spec) is None, text
    assert len(subject) <= spec.subject_max


def test_grammar_broken_is_rejected_with_http_400(real_server: RealServer) -> None:
    body = {
        "messages": [{"role": "user", "content": "x"}],
        "max_tokens": 4,
        "grammar": "root ::= (",
    }
    response = httpx.post(f"{real_server.api_base}/chat/completions", json=body, timeout=60)
    assert response.status_code == 400
    assert "grammar" in response.json()["error"]["message"]


PY = "def total(items):\n    return sum(i.price for i in items)\n"
# name -> (files before, files after); None deletes a file.
DIFFS: dict[str, tuple[dict[str, str], dict[str, str | None]]] = {
    "python feature": (
        {"shop/cart.py": PY},
        {"shop/cart.py": PY + "\n\ndef count(items):\n    return len(items)\n"},
    ),
    "python bugfix": (
        {"shop/cart.py": PY},
        {"shop/cart.py": PY.replace("sum(", "round(sum(").replace("items)\n", "items), 2)\n")},
    ),
    "js component": (
        {"web/app.js": "export const a = 1;\n"},
        {
            "web/button.js": "export function Button({label}) {\n"
            "  return `<button>${label}</button>`;\n}\n"
        },
    ),
    "ts types": (
        {"web/api.ts": "export type User = { id: number };\n"},
        {"web/api.ts": "export type User = { id: number; email: string };\n"},
    ),
    "go handler": (
        {"cmd/server/main.go": "package main\n\nfunc main() {}\n"},
        {
            "cmd/server/main.go": 'package main\n\nimport "net/http"\n\n'
            'func main() {\n\thttp.HandleFunc("/health", health)\n}\n'
        },
    ),
    "rust error": (
        {"src/lib.rs": "pub fn parse(s: &str) -> u32 { s.parse().unwrap() }\n"},
        {
            "src/lib.rs": "pub fn parse(s: &str) -> Result<u32, std::num::ParseIntError> {\n"
            "    s.parse()\n}\n"
        },
    ),
    "docs readme": (
        {"README.md": "# Shop\n"},
        {"README.md": "# Shop\n\n## Install\n\n    pip install shop\n"},
    ),
    "docs typo": (
        {"docs/guide.md": "Teh cart holds items.\n"},
        {"docs/guide.md": "The cart holds items.\n"},
    ),
    "config yaml": (
        {"config/app.yaml": "port: 8080\n"},
        {"config/app.yaml": "port: 8080\ntimeout: 30\n"},
    ),
    "toml deps": (
        {"pyproject.toml": '[project]\nname = "shop"\ndependencies = []\n'},
        {"pyproject.toml": '[project]\nname = "shop"\ndependencies = ["httpx>=0.27"]\n'},
    ),
    "ci workflow": (
        {".github/workflows/ci.yml": "on: push\n"},
        {
            ".github/workflows/ci.yml": "on: [push, pull_request]\n"
            "jobs:\n  test:\n    runs-on: ubuntu-latest\n"
        },
    ),
    "tests added": (
        {"shop/cart.py": PY},
        {
            "tests/test_cart.py": "from shop.cart import total\n\n\n"
            "def test_empty():\n    assert total([]) == 0\n"
        },
    ),
    "deletion": ({"shop/legacy.py": "OLD = True\n", "shop/cart.py": PY}, {"shop/legacy.py": None}),
    "rename": ({"shop/util.py": PY}, {"shop/util.py": None, "shop/pricing.py": PY}),
    "dockerfile": (
        {"Dockerfile": "FROM python:3.11\n"},
        {"Dockerfile": "FROM python:3.12-slim\nCOPY . /app\n"},
    ),
    "sql migration": (
        {"db/001.sql": "CREATE TABLE users (id int);\n"},
        {"db/002.sql": "ALTER TABLE users ADD COLUMN email text;\n"},
    ),
    "shell script": (
        {"scripts/deploy.sh": "#!/bin/sh\nrsync -a . host:\n"},
        {"scripts/deploy.sh": "#!/bin/sh\nset -eu\nrsync -a --delete . host:\n"},
    ),
    "gitignore": ({".gitignore": "*.pyc\n"}, {".gitignore": "*.pyc\n.venv/\ndist/\n"}),
    "refactor rename var": (
        {"shop/cart.py": PY},
        {
            "shop/cart.py": PY.replace("items", "products")
            .replace("i.", "p.")
            .replace("for i ", "for p ")
        },
    ),
    "perf cache": (
        {"shop/cart.py": PY},
        {"shop/cart.py": "import functools\n\n\n@functools.lru_cache\n" + PY},
    ),
    "html page": (
        {"web/index.html": "<h1>Shop</h1>\n"},
        {"web/index.html": "<h1>Shop</h1>\n<p>Welcome!</p>\n"},
    ),
    "json config": (
        {"package.json": '{"name": "web"}\n'},
        {"package.json": '{"name": "web", "scripts": {"test": "vitest"}}\n'},
    ),
}


def run_git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def write(repo: Path, files: dict[str, str | None]) -> None:
    for name, text in files.items():
        path = repo / name
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def generate(repo: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, style.Shape]:
    from commit_polish import hook

    monkeypatch.chdir(repo)
    ctx = hook.load_context()
    try:
        result = hook.generate(ctx, draft="", comment="#")
    except validate.Unusable as exc:  # content problems (e.g. a path): the form still counts
        result = exc.generation
    assert result.shape is not None
    return result.text, result.shape


@pytest.fixture
def server_env(real_server: RealServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMIT_POLISH_API_BASE", real_server.api_base)
    monkeypatch.setenv("COMMIT_POLISH_MODEL", "llamafile/smollm2")
    monkeypatch.setenv("COMMIT_POLISH_MAX_TOKENS", "80")
    monkeypatch.setenv("COMMIT_POLISH_TIMEOUT", "120")
    monkeypatch.setenv("COMMIT_POLISH_TEMPERATURE", "0")


PLAIN = {"docs readme", "go handler", "rename", "json config"}


@pytest.mark.usefixtures("server_env")
def test_grammar_twenty_diffs_parse_as_the_configured_style(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = []
    for n, (name, (before, after)) in enumerate(DIFFS.items()):
        repo = tmp_path / f"r{n}"
        repo.mkdir()
        run_git(repo, "init", "-q")
        write(repo, before)
        run_git(repo, "add", "-A")
        run_git(repo, "commit", "-q", "-m", "Initial commit")
        if name in PLAIN:
            (repo / ".commit-polish.toml").write_text('[message]\nstyle = "plain"\n')
        write(repo, after)
        run_git(repo, "add", "-A")
        text, shape = generate(repo, monkeypatch)
        subject = text.split("\n", 1)[0]
        results.append((name, shape.spec.style, subject))
        assert shape.spec.style == ("plain" if name in PLAIN else "conventional")
        problem = validate.style_problem(subject, shape.spec)
        assert problem is None and 0 < len(subject) <= 72, (name, text, problem)
        assert all(len(line) <= 72 for line in text.splitlines()), (name, text)
    if os.environ.get("COMMIT_POLISH_SHOW"):
        print("\n".join(f"{n:20} {s:12} {t}" for n, s, t in results))
    assert len(results) >= 20
