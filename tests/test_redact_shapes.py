"""The shapes of secret redact.py recognises, and look-alike code it must send unchanged.

Each row is named by its shape. Every secret is generated at test time from a seeded RNG:
real-shaped, never real, and never written in this file (so no scanner mistakes the test
for a leak). Rows are judged on what ``redact_lines(..., diff=True)`` makes of a hunk, as
diff.py calls it; one-line rows are also judged on ``redact_line``.
"""

from __future__ import annotations

import base64
import random
import string
from urllib.parse import quote

import pytest

from commit_polish import redact

RNG = random.Random(12)
LETTERS = string.ascii_letters
ALNUM = LETTERS + string.digits
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"
HEX = "0123456789abcdef"


def rand(alphabet: str, n: int) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


def password(n: int = 14) -> str:
    """Letters, digits and a few punctuation marks, as people choose them."""
    return rand(ALNUM, n - 2) + RNG.choice("!#%^~") + RNG.choice(string.digits)


def key_line(n: int = 64) -> str:
    """One line of a PEM or OpenSSH key body: base64 with all three character classes."""
    while True:
        line = rand(B64, n)
        if any(c.isdigit() for c in line) and line.upper() != line and line.lower() != line:
            return line


def key_body(n: int, width: int = 64) -> list[str]:
    return [key_line(width) for _ in range(n)]


def discord_token() -> str:
    user_id = str(RNG.randrange(10**17, 10**19)).encode()
    first = base64.urlsafe_b64encode(user_id).decode().rstrip("=")
    return f"{first}.{rand(URLSAFE, 6)}.{rand(URLSAFE, 38)}"


def is_code(path: str) -> bool:
    return path.rsplit(".", 1)[-1] in redact.CODE_EXTENSIONS


Row = tuple[str, list[str], list[str], list[str]]  # path, hunk lines, secrets, kept


def line(path: str, text: str, secrets: list[str], kept: list[str]) -> Row:
    return path, ["+" + text], secrets, kept


def _key_rows() -> dict[str, Row]:
    rows: dict[str, Row] = {}
    body = key_body(8)
    old, new = body[4], key_line()
    hunk = [
        "@@ -9,7 +9,7 @@ spec:",
        *(" " + b for b in body[1:4]),
        "-" + old,
        "+" + new,
        *(" " + b for b in body[5:8]),
    ]
    rows["pem body, BEGIN outside the hunk"] = ("deploy/notes.txt", hunk, [*body, new], ["@@"])
    body = key_body(7, 70)
    new = key_line(70)
    hunk = [
        "@@ -20,7 +20,7 @@",
        *("     " + b for b in body[:3]),
        "-     " + body[3],
        "+     " + new,
        *("     " + b for b in body[4:]),
    ]
    rows["openssh body indented in yaml, BEGIN outside the hunk"] = (
        "k8s/secret.yaml",
        hunk,
        [*body, new],
        [],
    )
    body = key_body(4)
    tail = rand(B64, 22) + "=="
    hunk = [
        "@@ -30,6 +30,6 @@",
        *(" " + b for b in body[:3]),
        "-" + body[3],
        "+" + key_line(),
        " " + tail,
        " -----END PRIVATE KEY-----",
        " ",
    ]
    rows["short last line of a key body, next to the END line"] = (
        "docs/setup.md",
        hunk,
        [*body, tail],
        ["-----END PRIVATE KEY-----"],
    )
    body = key_body(5)
    lettered = rand(LETTERS + "+/", 64)  # no digit: weak alone, key material among key lines
    hunk = ["@@ -3,5 +3,5 @@", *(" " + b for b in body[:2]), "+" + lettered, " " + body[2]]
    rows["key line without digits among key lines"] = ("notes.txt", hunk, [*body[:3], lettered], [])
    context = key_line()
    hunk = ["@@ -40,7 +40,7 @@ " + context, " x", "-y", "+z", " w"]
    rows["key line in the hunk header (git's function context)"] = (
        "notes.txt",
        hunk,
        [context],
        ["@@ -40,7 +40,7 @@", "+z"],
    )
    body = key_body(4)
    hunk = [
        "@@ -1,6 +1,6 @@",
        *(f'+    "{b}\\n"' for b in body[:3]),
        f'+    "{body[3]}\\n",',
    ]
    rows["key lines as quoted strings (python)"] = ("tests/keys.py", hunk, body, [])
    body = key_body(3)
    hunk = ["@@ -1,3 +1,3 @@", *(f'+  "{b}",' for b in body)]
    rows["key lines in a json array"] = ("fixtures/key.json", hunk, body, [])
    return rows


def _token_rows() -> dict[str, Row]:
    rows: dict[str, Row] = {}
    s = "hf_" + rand(LETTERS, 34)
    rows["hugging face hf_ token"] = line(
        "README.md", f"huggingface-cli login --token {s}", [s], ["huggingface-cli login"]
    )
    s = "api_org_" + rand(LETTERS, 34)
    rows["hugging face api_org_ token"] = line("app.py", f"client = Hub({s!r})", [s], ["Hub("])
    s = f"SG.{rand(URLSAFE, 22)}.{rand(URLSAFE, 43)}"
    rows["sendgrid SG. key"] = line("mail.py", f"sg = SendGridAPIClient({s!r})", [s], ["sg = "])
    s = "SK" + rand(HEX, 32)
    rows["twilio SK api key"] = line("sms.js", f"new Twilio('{s}', apiSecret);", [s], ["apiSecret"])
    sid, s = "AC" + rand(HEX, 32), rand(HEX, 32)
    rows["twilio auth token after the account sid"] = line(
        "sms.py", f'client = Client("{sid}", "{s}")', [s], [sid]
    )
    s = rand(HEX, 32)
    rows["twilio auth token under a twilio name"] = line(
        "config.js", f"  twilioAuth: '{s}',", [s], ["twilioAuth: '"]
    )
    s = discord_token()
    rows["discord bot token"] = line("bot.py", f"client.run({s!r})", [s], ["client.run("])
    s = f"{RNG.randrange(10**9, 10**10)}:AA{rand(URLSAFE, 33)}"
    rows["telegram bot token"] = line(
        "bot.py", f"bot = telebot.TeleBot({s!r})", [s], ["telebot.TeleBot("]
    )
    s = f"{RNG.randrange(10**8, 10**9)}:AA{rand(URLSAFE, 33)}"
    rows["telegram bot token in the bot api url"] = line(
        "notify.sh",
        f"curl -s https://api.telegram.org/bot{s}/sendMessage -d text=done",
        [s],
        ["https://api.telegram.org/bot", "/sendMessage -d text=done"],
    )
    return rows


def _declaration_rows() -> dict[str, Row]:
    rows: dict[str, Row] = {}
    s = password(20)
    rows["typescript typed const"] = line(
        "src/api.ts", f'export const apiToken: string = "{s}";', [s], ["export const apiToken"]
    )
    s = password(20)
    rows["kotlin typed val"] = line(
        "Api.kt", f'    private val apiKey: String = "{s}"', [s], ["private val apiKey"]
    )
    s = password(20)
    rows["rust typed const"] = line(
        "src/main.rs", f'const API_TOKEN: &str = "{s}";', [s], ["const API_TOKEN: &str = "]
    )
    return rows


def _connection_rows() -> dict[str, Row]:
    rows: dict[str, Row] = {}
    s = password()
    rows["c# connection string Password="] = line(
        "Data/Db.cs",
        f'var cs = "Server=db;Database=app;User Id=app;Password={s};Encrypt=true";',
        [s],
        ['var cs = "Server=db;Database=app;User Id=app;Password=', ";Encrypt=true"],
    )
    s = password()
    rows["json connection string Password="] = line(
        "appsettings.json",
        f'    "Default": "Server=db;Database=app;User Id=app;Password={s};"',
        [s],
        ['"Default": "Server=db;Database=app;User Id=app;Password='],
    )
    s = password()
    rows["odbc connection string Pwd="] = line(
        "db.py",
        f'CONN = "Driver={{ODBC Driver 18}};Server=db;Uid=app;Pwd={s};"',
        [s],
        ["Driver={ODBC Driver 18};Server=db;Uid=app;Pwd="],
    )
    s = rand(B64, 86) + "=="
    rows["azure storage AccountKey="] = line(
        "Startup.cs",
        'var conn = "DefaultEndpointsProtocol=https;AccountName=acct;'
        f'AccountKey={s};EndpointSuffix=core.windows.net";',
        [s],
        ["AccountName=acct;AccountKey=", ";EndpointSuffix=core.windows.net"],
    )
    s = rand(B64, 43) + "="
    rows["azure service bus SharedAccessKey="] = line(
        "local.settings.json",
        '    "Bus": "Endpoint=sb://ns.servicebus.windows.net/;'
        f'SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={s}"',
        [s],
        ["SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey="],
    )
    return rows


def _url_rows() -> dict[str, Row]:
    rows: dict[str, Row] = {}
    a, b = password(8), password(8)
    rows["url password containing @"] = line(
        "db.py",
        f'DSN = "postgres://app:{a}@{b}@db.internal:5432/app"',
        [a, b, f"{a}@{b}"],
        ["postgres://app:", "@db.internal:5432/app"],
    )
    a, b = password(6), password(9)
    rows["url password containing @ and :, in yaml"] = line(
        "deploy.yml",
        f"  remote: https://deploy:{a}@:{b}@git.example.com/app.git",
        [a, b],
        ["https://deploy:", "@git.example.com/app.git"],
    )
    s = password(24)
    rows["redis url with an empty user"] = line(
        "settings.py", f'CACHE = "redis://:{s}@cache:6379/0"', [s], ["redis://:", "@cache:6379/0"]
    )
    s = quote(rand(B64, 43) + "=", safe="")
    rows["azure sas sig="] = line(
        "upload.py",
        'URL = "https://acct.blob.core.windows.net/c/b.txt?sv=2022-11-02&ss=b&sp=r'
        f'&se=2030-01-01T00:00:00Z&spr=https&sig={s}"',
        [s],
        ["?sv=2022-11-02&ss=b&sp=r&se=2030-01-01T00:00:00Z&spr=https&sig="],
    )
    s = password()
    rows["?password= in a url in javascript"] = line(
        "src/login.js",
        f'fetch("https://api.example.com/login?user=me&password={s}&remember=1")',
        [s],
        ["?user=me&password=", "&remember=1"],
    )
    s = rand(URLSAFE, 32)
    rows["&token= in a url in python"] = line(
        "client.py",
        f'resp = get("https://api.example.com/v1/items?limit=10&token={s}")',
        [s],
        ["?limit=10&token="],
    )
    s = rand(URLSAFE, 40)
    rows["?access_token= in a url in go"] = line(
        "graph.go",
        f'resp, err := http.Get("https://graph.example.com/me?access_token={s}&fields=id")',
        [s],
        ["/me?access_token=", "&fields=id"],
    )
    return rows


def _command_rows() -> dict[str, Row]:
    rows: dict[str, Row] = {}
    s = password()
    rows["mysqldump -p attached"] = line(
        "backup.sh", f"mysqldump -u root -p{s} app > app.sql", [s], ["mysqldump -u root -p"]
    )
    s = password()
    rows["mysql -p in an argument list"] = line(
        "backup.py",
        f'subprocess.run(["mysql", "-u", "app", "-p{s}", "-e", sql])',
        [s],
        ['"-p', '"-e", sql'],
    )
    s = password()
    rows["sshpass -p"] = line(
        "deploy.sh", f"sshpass -p '{s}' ssh deploy@web1", [s], ["ssh deploy@web1"]
    )
    s = password()
    rows["curl -u user:pass"] = line(
        "ci.yml", f"  - curl -u deploy:{s} https://repo.example.com/upload", [s], ["-u deploy:"]
    )
    s = password()
    rows["curl --user=user:pass"] = line(
        "Makefile", f"\tcurl --user=ci:{s} -T dist.tgz $(REPO)", [s], ["--user=ci:", "-T dist"]
    )
    s = password()
    rows["--password as two words"] = line(
        "release.sh", f"docker login -u ci --password {s} registry.example.com", [s], ["-u ci"]
    )
    return rows


def _markup_rows() -> dict[str, Row]:
    rows: dict[str, Row] = {}
    s = password()
    rows["dockerfile ENV name value"] = line("Dockerfile", f"ENV DB_PASSWORD {s}", [s], ["ENV"])
    s, t = password(8), password(8)
    rows["dockerfile ENV value with spaces"] = line(
        "docker/app.Dockerfile", f"ENV API_TOKEN {s} {t}", [s, t], ["ENV API_TOKEN"]
    )
    s = password()
    rows["xml <password>"] = line(
        "settings.xml", f"      <password>{s}</password>", [s], ["<password>", "</password>"]
    )
    s = password()
    rows["xml namespaced <db:password>"] = line(
        "context.xml",
        f'  <db:password encrypted="false">{s}</db:password>',
        [s],
        ["</db:password>"],
    )
    s = password()
    rows["xml appSettings key/value"] = line(
        "Web.config", f'    <add key="DbPassword" value="{s}" />', [s], ['key="DbPassword"']
    )
    s = password()
    rows["spring property name/value"] = line(
        "beans.xml",
        f'  <property name="password" value="{s}"/>',
        [s],
        ['<property name="password" value="'],
    )
    s = password()
    rows["php define"] = line(
        "wp-config.php", f"define( 'DB_PASSWORD', '{s}' );", [s], ["define( 'DB_PASSWORD', '"]
    )
    s = password()
    rows["php array subscript"] = line(
        "config.php", f"$config['db_password'] = '{s}';", [s], ["$config['db_password'] = '"]
    )
    s = password()
    rows["python environ subscript"] = line(
        "conftest.py", f'os.environ["API_TOKEN"] = "{s}"', [s], ['os.environ["API_TOKEN"]']
    )
    s = password()
    rows["go os.Setenv"] = line(
        "main_test.go", f'os.Setenv("GITHUB_TOKEN", "{s}")', [s], ['os.Setenv("GITHUB_TOKEN", "']
    )
    return rows


SHAPES: dict[str, Row] = {
    **_key_rows(),
    **_token_rows(),
    **_declaration_rows(),
    **_connection_rows(),
    **_url_rows(),
    **_command_rows(),
    **_markup_rows(),
}


@pytest.mark.parametrize(("path", "lines", "secrets", "kept"), SHAPES.values(), ids=SHAPES.keys())
def test_shape_is_redacted(
    path: str, lines: list[str], secrets: list[str], kept: list[str]
) -> None:
    out = redact.redact_lines(lines, path=path, diff=True)
    text = "\n".join(out)
    for secret in secrets:
        assert secret not in text
    for part in kept:
        assert part in text
    assert redact.PLACEHOLDER in text
    assert [o[:1] for o in out] == [x[:1] for x in lines]  # diff markers kept
    assert redact.redact_lines(out, path=path, diff=True) == out  # idempotent
    if len(lines) == 1:
        alone = redact.redact_line(lines[0][1:], code=is_code(path))
        assert alone == out[0][1:]


# (id, path, added line or hunk lines): ordinary text that looks a little like a secret.
_KEY_LOOK_ALIKES: list[tuple[str, str, str | list[str]]] = [
    (
        "sha256 digests, one a line",
        "dist/SHA256SUMS",
        ["@@ -1,3 +1,3 @@", *(f"+{rand(HEX, 64)}" for _ in range(3))],
    ),
    (
        "git shas in .git-blame-ignore-revs",
        ".git-blame-ignore-revs",
        ["@@ -1,4 +1,4 @@", "+# ruff format", *(f"+{rand(HEX, 40)}" for _ in range(3))],
    ),
    (
        "requirements hash",
        "requirements.txt",
        f"    --hash=sha256:{rand(HEX, 64)} \\",
    ),
    (
        "base64 png in a test assignment",
        "tests/test_img.py",
        'PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA'
        '60e6kgAAAABJRU5ErkJggg=="',
    ),
    (
        "long identifier alone on a line",
        "Beans.java",
        "        AbstractSingletonProxyFactoryBeanConfigurationHolder",
    ),
    (
        "certificate with its BEGIN line in view",
        "tls.yaml",
        [
            "@@ -1,5 +1,5 @@",
            "   ca: |",
            "     -----BEGIN CERTIFICATE-----",
            *(f"+    {b}" for b in key_body(3)),
            "     -----END CERTIFICATE-----",
        ],
    ),
]
_TOKEN_LOOK_ALIKES: list[tuple[str, str, str | list[str]]] = [
    (
        "hf_hub_download",
        "download.py",
        'path = hf_hub_download(repo_id="org/model-GGUF", filename="model.gguf")',
    ),
    (
        "hf_-prefixed objective-c identifier",
        "Health.m",
        "- (id)hf_requiredCharacteristicTypesForDisplayMetadata;",
    ),
    ("telegram-like id with short text", "log.py", 'log.info("12345678:short text")'),
    (
        "xsd type with a telegram-like shape",
        "schema.xsd",
        '<xsd:element name="Code" type="clm12345678:AgencyIdentificationCodeContentType"/>',
    ),
    (
        "dotted name shaped like a discord token",
        "app.py",
        "MessageDispatcherFactory.create.withDefaultSettingsAndRetryPolicy()",
    ),
    (
        "twilio account sid",
        "sms.py",
        f'TWILIO_ACCOUNT_SID = "AC{rand(HEX, 32)}"',
    ),
]
_DECLARATION_LOOK_ALIKES: list[tuple[str, str, str | list[str]]] = [
    ("form field named password", "forms.py", 'password_field = form.get("password")'),
    ("token from a function", "lexer.py", "token = next_token()"),
    ("uuid", "ids.py", 'REQUEST_ID = "123e4567-e89b-12d3-a456-426614174000"'),
    ("version string", "pkg.py", '__version__ = "1.2.3"'),
    ("dependency version", "package.json", '    "typescript": "^5.4.2",'),
    ("typescript property declaration", "src/api.ts", "  apiToken: string;"),
    ("typescript typed const from a call", "src/api.ts", "const apiToken: string = getToken();"),
    ("python empty default", "auth.py", 'def login(user: str, password: str = "") -> None:'),
]
_CONNECTION_LOOK_ALIKES: list[tuple[str, str, str | list[str]]] = [
    ("sig from a function", "crypto.py", "sig = signature(payload, key)"),
    (
        "connection string without a password",
        "Db.cs",
        'var cs = "Server=db;Integrated Security=true;";',
    ),
    (
        "connection string built from parts",
        "Db.cs",
        'var cs = $"Server={host};User Id={user};Password={password};";',
    ),
    ("connection string concatenated", "db.js", "const cs = 'Server=db;Password=' + pw + ';';"),
    ("connection string format", "db.py", 'cs = "Server=db;Pwd=%s;" % pwd'),
    ("AccountKey concatenated", "Store.cs", 'var c = "AccountName=a;AccountKey=" + key;'),
]
_URL_LOOK_ALIKES: list[tuple[str, str, str | list[str]]] = [
    ("url with a port and no password", "app.py", 'URL = "https://example.com:8080/@user/posts"'),
    ("url template password", "db.py", 'DSN = f"postgres://{user}:{password}@{host}/app"'),
    (
        "url password from the environment",
        "compose.yml",
        "      DB_URL: postgres://app:${DB_PASS}@db/app",
    ),
    ("ssh remote", "README.md", "git clone git@github.com:org/repo.git"),
    (
        "package url with @ in the path",
        "index.html",
        '<script src="https://cdn.example.com/npm/@scope/pkg@1.2.3/x.js">',
    ),
    ("query without secrets", "app.js", "fetch(`/search?q=${query}&page=2&sort=name`)"),
    ("query token from a template", "app.js", "fetch(`/api/items?token=${token}`)"),
    ("query token concatenated", "app.py", 'url = base + "?token=" + token'),
    (
        "query describing a token",
        "app.py",
        'URL = "https://auth.example.com/authorize?token_type=bearer"',
    ),
]
_COMMAND_LOOK_ALIKES: list[tuple[str, str, str | list[str]]] = [
    ("mysql -p asks for the password", "backup.sh", "mysql -u root -p app < schema.sql"),
    ("mysql -P is the port", "backup.sh", "mysql -h db -P 3306 -u app app"),
    ("mysql -p from a variable", "backup.sh", 'mysqldump -u root -p"$MYSQL_PWD" app'),
    ("mkdir -p", "Makefile", "\tmkdir -p build/dist"),
    ("curl -u from variables", "ci.yml", '  - curl -u "$USER:$TOKEN" https://x.example.com'),
    ("curl -u user only", "ci.sh", "curl -u deploy https://x.example.com"),
    ("--password-stdin", "ci.sh", 'echo "$PW" | docker login -u ci --password-stdin reg'),
    ("--password flag declared", "cli.py", "parser.add_argument('--password', help='db')"),
    ("--password placeholder", "README.md", "    tool login --password <password>"),
    ("--index-url", "ci.sh", "pip install --index-url https://pkgs.example.com/simple app"),
]
_MARKUP_LOOK_ALIKES: list[tuple[str, str, str | list[str]]] = [
    ("dockerfile ENV ordinary", "Dockerfile", "ENV DB_HOST db.internal"),
    ("dockerfile ENV from an ARG", "Dockerfile", "ENV DB_PASSWORD ${DB_PASSWORD}"),
    ("xml ordinary element", "pom.xml", "    <artifactId>app</artifactId>"),
    ("xml password from a property", "settings.xml", "  <password>${env.REPO_PW}</password>"),
    ("xml password field label", "form.xml", "  <passwordLabel>Password</passwordLabel>"),
    ("xml ordinary key/value", "Web.config", '    <add key="Theme" value="dark" />'),
    ("php define ordinary", "wp-config.php", "define( 'DB_NAME', 'wordpress' );"),
    ("php define from getenv", "wp-config.php", "define('DB_PASSWORD', getenv('DB_PW'));"),
    ("environ subscript read", "app.py", 'token = os.environ["API_TOKEN"]'),
    ("environ subscript compared", "app.py", 'if os.environ["API_TOKEN"] == "": sys.exit(1)'),
]
LOOK_ALIKES: dict[str, tuple[str, list[str]]] = {
    name: (path, ["+" + text] if isinstance(text, str) else text)
    for name, path, text in [
        *_KEY_LOOK_ALIKES,
        *_TOKEN_LOOK_ALIKES,
        *_DECLARATION_LOOK_ALIKES,
        *_CONNECTION_LOOK_ALIKES,
        *_URL_LOOK_ALIKES,
        *_COMMAND_LOOK_ALIKES,
        *_MARKUP_LOOK_ALIKES,
    ]
}


@pytest.mark.parametrize(("path", "lines"), LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_look_alike_is_sent_unchanged(path: str, lines: list[str]) -> None:
    assert redact.redact_lines(lines, path=path, diff=True) == lines
    if len(lines) == 1:
        assert redact.redact_line(lines[0][1:], code=is_code(path)) == lines[0][1:]
