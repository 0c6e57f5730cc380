"""Secrets never reach the prompt (redact.py), checked on the request the server receives.

Every secret here is generated at test time from a seeded RNG: real-shaped, never real, and
never written in this file (so no scanner mistakes the test for a leak).
"""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import pytest
from helpers import completion, git
from pytest_httpx import HTTPXMock

from commit_polish import diff, redact
from commit_polish import git as git_mod
from commit_polish.hook import main_hook

RNG = random.Random(7)
UPPER_DIGITS = string.ascii_uppercase + string.digits
ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"


def rand(alphabet: str, n: int) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n)) + RNG.choice(string.digits)


def pem(kind: str) -> tuple[str, str]:
    body = [rand(B64, 63) for _ in range(4)]
    head = "-----BEGIN " + kind + "PRIVATE KEY-----"
    tail = "-----END " + kind + "PRIVATE KEY-----"
    return "\n".join([head, *body, tail]), body[1]


def jwt() -> str:
    head = "eyJ" + rand(URLSAFE, 20)
    payload = "eyJ" + rand(URLSAFE, 40)
    return f"{head}.{payload}.{rand(URLSAFE, 42)}"


_RSA, _RSA_LINE = pem("RSA ")
_OSSH, _OSSH_LINE = pem("OPENSSH ")
_PK8 = pem("")[0]

# (id, path, file content, the secret text that must not be sent)
SECRETS: list[tuple[str, str, str, str]] = [
    ("rsa private key block", "deploy/notes.txt", f"key:\n{_RSA}\nend\n", _RSA_LINE),
    (
        "openssh key in a python string",
        "keys.py",
        "KEY = " + json.dumps(_OSSH) + "\n",
        _OSSH_LINE,
    ),
    ("pkcs8 key pasted in markdown", "KEYS.md", f"```\n{_PK8}\n```\n", _PK8.split("\n")[2]),
    *[
        (f"aws {prefix} key id", "settings.py", f'AWS_KEY_ID = "{s}"\n', s)
        for prefix in ("AKIA", "ASIA")
        for s in [prefix + rand(UPPER_DIGITS, 15)]
    ],
    *[
        ("aws secret key in ini", "config.ini", f"[default]\naws_secret_access_key = {s}\n", s)
        for s in [rand(B64, 39)]
    ],
    *[
        (f"github {p}", "ci.md", f'curl -H "Authorization: token {s}" api\n', s)
        for p in ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")
        for s in [p + rand(ALNUM, 35)]
    ],
    *[
        ("github fine-grained pat", "run.py", f"client = Github({s!r})\n", s)
        for s in ["github_pat_" + rand(ALNUM, 21) + "_" + rand(ALNUM, 58)]
    ],
    *[
        ("gitlab", "deploy.py", f"gl = Gitlab(url, {s!r})\n", s)
        for s in ["glpat-" + rand(URLSAFE, 19)]
    ],
    *[
        (f"slack {p}", "bot.js", f"const client = new WebClient('{s}');\n", s)
        for p in ("xoxb-", "xoxp-", "xoxa-", "xoxr-")
        for s in [p + rand(string.digits, 11) + "-" + rand(ALNUM, 23)]
    ],
    *[
        ("openai sk-", "ai.py", f"openai.api_base_key({s!r})\n", s)
        for s in ["sk-" + rand(ALNUM, 47)]
    ],
    *[
        ("openai sk-proj-", "notes.txt", f"use {s} for the demo\n", s)
        for s in ["sk-proj-" + rand(URLSAFE, 80)]
    ],
    *[
        ("google api key", "maps.js", f"load({{key: '{s}'}});\n", s)
        for s in ["AIza" + rand(URLSAFE, 34)]
    ],
    *[
        ("jwt", "fixtures.py", f"HEADERS = {{'Authorization': 'Bearer ' + {s!r}}}\n", s)
        for s in [jwt()]
    ],
    *[
        ("bearer header", "api.http", f"GET /\nAuthorization: Bearer {s}\n", s)
        for s in [rand(URLSAFE, 31)]
    ],
    *[
        ("password in a url", "db.py", f'DSN = "postgres://app:{s}@db.internal/app"\n', s)
        for s in [rand(ALNUM, 13)]
    ],
    *[("password (python)", "db.py", f'DB_PASSWORD = "{s}"\n', s) for s in [rand(ALNUM, 11)]],
    *[("passwd (yaml)", "deploy.yml", f"db:\n  passwd: {s}\n", s) for s in [rand(ALNUM, 11)]],
    *[
        ("secret (javascript)", "auth.js", f"const clientSecret = '{s}';\n", s)
        for s in [rand(ALNUM, 23)]
    ],
    *[("token (ini)", "app.cfg", f"[bot]\ntoken = {s}\n", s) for s in [rand(ALNUM, 23)]],
    *[
        ("api_key (json)", "app.json", json.dumps({"api_key": s}) + "\n", s)
        for s in [rand(ALNUM, 23)]
    ],
    *[("apikey (env syntax)", "setup.sh", f"export APIKEY={s}\n", s) for s in [rand(ALNUM, 23)]],
    *[("access_key (toml)", "s3.toml", f'access_key = "{s}"\n', s) for s in [rand(ALNUM, 19)]],
    *[
        ("client_secret (yaml)", "oauth.yaml", f"client_secret: '{s}'\n", s)
        for s in [rand(ALNUM, 23)]
    ],
    *[
        ("password kwarg (go)", "main.go", f'db.Open(Config{{Password: "{s}"}})\n', s)
        for s in [rand(ALNUM, 11)]
    ],
    *[
        ("mysqldump -p", "backup.sh", f"mysqldump -u root -p{s} app > app.sql\n", s)
        for s in [rand(ALNUM, 13)]
    ],
    *[
        ("curl -u user:pass", "upload.sh", f"curl -u ci:{s} -T app.tgz $REPO\n", s)
        for s in [rand(ALNUM, 13)]
    ],
    *[
        ("dockerfile ENV", "Dockerfile", f"FROM alpine\nENV DB_PASSWORD {s}\n", s)
        for s in [rand(ALNUM, 13)]
    ],
    *[
        ("xml <password>", "settings.xml", f"<server>\n  <password>{s}</password>\n</server>\n", s)
        for s in [rand(ALNUM, 13)]
    ],
    *[
        ("php define", "wp-config.php", f"<?php\ndefine('DB_PASSWORD', '{s}');\n", s)
        for s in [rand(ALNUM, 13)]
    ],
]

BENIGN: list[tuple[str, str]] = [
    ("lexer.py", "token = next_token()"),
    ("forms.py", "password_field = forms.CharField()"),
    ("auth.py", "if secret is None:"),
    ("auth.py", "password = getpass.getpass()"),
    ("auth.py", "def check_password(password: str) -> bool:"),
    ("auth.py", "SECRET_KEY = os.environ['SECRET_KEY']"),
    ("auth.py", "api_key: str"),
    ("auth.py", 'token_type = "Bearer"'),
    ("auth.py", "self.secret_name = secret_name"),
    ("model.py", "max_tokens = 300"),
    ("model.py", "tokens = tokenizer.encode(text)"),
    ("login.js", "if (password.length < 8) {"),
    ("login.js", "const token = await getToken();"),
    ("login.js", "items.map(token => token.trim())"),
    ("compose.yml", "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}"),
    ("settings.ini", "password = %(db_password)s"),
    (
        "checksums.txt",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  deps.tar.gz",
    ),
    ("NOTES.md", "We use sk-learn; OpenAI keys start with sk- and AWS ones with AKIA."),
    ("NOTES.md", "Contact: user@example.com, see https://example.com:8080/path"),
    ("NOTES.md", "Set the token in your config, never in the repository."),
    ("app.py", 'url = "https://api.example.com/v1/tokens"'),
    ("app.py", "show_password = True"),
]


@pytest.fixture
def staged_repo(repo: Path, monkeypatch: pytest.MonkeyPatch, listening_port: int) -> Path:
    monkeypatch.chdir(repo)
    monkeypatch.setenv("COMMIT_POLISH_API_BASE", f"http://127.0.0.1:{listening_port}/v1")
    return repo


def sent_prompt(repo: Path, httpx_mock: HTTPXMock, port: int, source: str | None = None) -> str:
    httpx_mock.add_response(
        url=f"http://127.0.0.1:{port}/v1/chat/completions",
        json=completion("feat: x"),
        is_reusable=True,  # a vague subject is asked for again; the prompt is what counts here
    )
    msg = repo / ".git" / "COMMIT_EDITMSG"
    if not msg.exists():
        msg.write_bytes(b"\n# Please enter the commit message.\n")
    assert main_hook(msg, source, None) == 0
    body = json.loads(httpx_mock.get_requests()[0].content)
    return "\n".join(m["content"] for m in body["messages"])


def stage(repo: Path, path: str, content: str) -> None:
    file = repo / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(content)
    git(repo, "add", path)


@pytest.mark.parametrize(
    ("path", "content", "secret"), [s[1:] for s in SECRETS], ids=[s[0] for s in SECRETS]
)
def test_secret_is_not_sent(
    staged_repo: Path,
    httpx_mock: HTTPXMock,
    listening_port: int,
    path: str,
    content: str,
    secret: str,
) -> None:
    stage(staged_repo, path, content)
    prompt = sent_prompt(staged_repo, httpx_mock, listening_port)
    assert secret not in prompt
    assert redact.PLACEHOLDER in prompt
    assert f"added {path} " in prompt  # the file is still described


def test_key_body_without_its_begin_line_is_not_sent(
    staged_repo: Path, httpx_mock: HTTPXMock, listening_port: int
) -> None:
    """One line changed deep inside a committed key: the hunk holds nothing but key lines
    (old, new and context), and git's hunk header quotes a key line from above it."""

    def key_line() -> str:  # starts with a letter, so git takes it as function context
        return RNG.choice(string.ascii_letters) + rand(B64, 62)

    body = [key_line() for _ in range(20)]
    head, tail = "-----BEGIN OPENSSH PRIVATE KEY-----", "-----END OPENSSH PRIVATE KEY-----"
    stage(staged_repo, "deploy/notes.txt", "\n".join(["key:", head, *body, tail, ""]))
    git(staged_repo, "commit", "-q", "-m", "add the deploy key")
    new = key_line()
    changed = [*body[:12], new, *body[13:]]
    stage(staged_repo, "deploy/notes.txt", "\n".join(["key:", head, *changed, tail, ""]))
    raw = git_mod.staged_diff(staged_repo, context=diff.CONTEXT_LINES).decode()
    hunk_header = next(line for line in raw.splitlines() if line.startswith("@@"))
    assert head not in raw
    assert hunk_header.endswith(" @@ " + body[10])
    prompt = sent_prompt(staged_repo, httpx_mock, listening_port)
    for secret in [*body, new]:
        assert secret not in prompt
    assert redact.PLACEHOLDER in prompt
    assert "modified deploy/notes.txt +1 -1" in prompt


def test_benign_code_is_sent_unchanged(
    staged_repo: Path, httpx_mock: HTTPXMock, listening_port: int
) -> None:
    for i, (path, line) in enumerate(BENIGN):
        stage(staged_repo, f"d{i}/{path}", line + "\n")
    prompt = sent_prompt(staged_repo, httpx_mock, listening_port)
    assert redact.PLACEHOLDER not in prompt
    for _path, line in BENIGN:
        assert f"+{line}\n" in prompt + "\n"


@pytest.mark.parametrize(("path", "line"), BENIGN, ids=[b[1][:40] for b in BENIGN])
def test_benign_line_unchanged(path: str, line: str) -> None:
    assert redact.redact_lines(["+" + line], path=path, diff=True) == ["+" + line]


@pytest.mark.parametrize(
    "name",
    [
        ".env",
        ".env.production",
        "prod.env",
        "certs/server.pem",
        "tls.key",
        "home/.ssh/id_rsa",
        "id_rsa.pub",
        "id_ed25519",
        "store.p12",
        "store.pfx",
        "app.jks",
        "release.keystore",
        ".netrc",
        ".npmrc",
        "credentials.json",
        "gcp/credentials-prod.json",
        "ID_RSA",
    ],
)
def test_secret_files_are_listed_by_name_only(
    staged_repo: Path, httpx_mock: HTTPXMock, listening_port: int, name: str
) -> None:
    marker = rand(ALNUM, 20)
    stage(staged_repo, name, f"VALUE={marker}\n")
    prompt = sent_prompt(staged_repo, httpx_mock, listening_port)
    assert marker not in prompt
    assert f"added {name} +1 -0 (secret, not shown)" in prompt


@pytest.mark.parametrize("name", ["environment.py", "envelope.txt", "keys.py", "monkey.rs"])
def test_ordinary_files_are_not_secret_files(name: str) -> None:
    assert not redact.is_secret_file(name)


def test_draft_is_redacted_when_polishing(
    staged_repo: Path, httpx_mock: HTTPXMock, listening_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMMIT_POLISH_ON_MESSAGE", "polish")
    secret = "ghp_" + rand(ALNUM, 35)
    stage(staged_repo, "a.py", "x = 1\n")
    msg = staged_repo / ".git" / "COMMIT_EDITMSG"
    msg.write_text(f"rotate the token {secret}\n")
    prompt = sent_prompt(staged_repo, httpx_mock, listening_port, source="message")
    assert secret not in prompt
    assert "rotate the token [REDACTED]" in prompt


def test_recent_subjects_are_redacted(
    staged_repo: Path, httpx_mock: HTTPXMock, listening_port: int
) -> None:
    secret = "AKIA" + rand(UPPER_DIGITS, 15)
    stage(staged_repo, "a.py", "x = 1\n")
    git(staged_repo, "commit", "-q", "-m", f"oops: add key {secret}")
    stage(staged_repo, "a.py", "x = 2\n")
    prompt = sent_prompt(staged_repo, httpx_mock, listening_port)
    assert secret not in prompt
    assert "oops: add key [REDACTED]" in prompt


def test_diff_marker_kept_and_key_redacted_to_end_when_cut() -> None:
    lines = ["+-----BEGIN RSA PRIVATE KEY-----", "+" + rand(B64, 60), " context"]
    assert redact.redact_lines(lines, diff=True) == ["+[REDACTED]", "+[REDACTED]", " [REDACTED]"]


def test_redaction_is_idempotent() -> None:
    for _id, path, content, _secret in SECRETS:
        once = redact.redact_text(content, path=path)
        assert redact.redact_text(once, path=path) == once


@pytest.mark.parametrize("line", ["x" * 65536, "a1" * 32768, "a.b-" * 16384])
def test_a_long_run_of_name_characters_takes_linear_time(line: str) -> None:
    # Tried at every position of the run, the assignment pattern took about a minute here
    # (a repository's 64 KiB template of one long word).
    import time

    started = time.monotonic()
    assert redact.redact_text(line) == line
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('2fa_token = "abcdefgh1234"', '2fa_token = "[REDACTED]"'),
        ('x2_password = "abcdefgh1234"', 'x2_password = "[REDACTED]"'),
    ],
)
def test_names_with_digits_still_count(line: str, expected: str) -> None:
    assert redact.redact_text(line) == expected
