"""Keep secrets out of the prompt.

Two layers, both applied before the prompt is built:

* files that exist to hold secrets (``.env``, ``*.pem``, ``id_rsa``, keystores, ``.netrc`` …)
  are listed by name only (``diff.skip_reason`` says "secret");
* in every other file, and in the user's draft and recent commit subjects, what follows
  becomes ``[REDACTED]``.

What is recognised:

* private keys: a block from its BEGIN line to its END line; without the BEGIN line in
  view (a hunk inside a key), lines of key material, in hunk bodies and in git's hunk
  header (see ``_key_material``);
* tokens by their shape: AWS key ids, GitHub, GitLab, Slack, OpenAI-style, Google, Stripe
  and package-registry tokens, JWTs, ``Bearer`` and ``Basic`` credentials, Hugging Face
  (``hf_``, ``api_org_``), SendGrid (``SG.``), Twilio (``SK`` API keys, and the auth token
  after an account SID or under a twilio name), Discord and Telegram bot tokens;
* passwords in URLs (``scheme://user:password@host``, the password running to the last
  ``@`` before the host), and secrets in a URL's query (``?password=``, ``&token=``,
  ``&access_token=``, Azure SAS ``sig=``, ``X-Amz-Signature=``);
* in connection strings, ``Password=`` and ``Pwd=`` (ADO.NET, ODBC), Azure ``AccountKey=``
  and ``SharedAccessKey=``: the value only, the rest of the string is kept;
* values assigned to secret-looking names (``password``, ``secret``, ``token``,
  ``api_key`` …), in code also past a declared type (``apiToken: string = "…"``);
* values that such a name marks in other ways: Dockerfile ``ENV DB_PASSWORD …``, XML
  ``<password>…</password>`` and ``<add key="DbPassword" value="…"/>``, PHP
  ``define('DB_PASSWORD', '…')``, ``setenv("TOKEN", "…")``, ``$cfg['db_password'] = '…'``,
  and a long option's next word (``--password …``);
* passwords on command lines: the mysql family's ``-p…``, ``sshpass -p …``, ``curl -u
  user:…``.

A value that is a reference (``$VAR``, ``${VAR}``, ``{password}``, ``%s``, ``<password>``,
``***`` …) names a secret rather than holding one, and is kept.

Assignments are judged with few false positives in mind: in source code only a string
literal counts as a value (``token = next_token()`` is code, not a secret); in config-like
files (``.env``, YAML, INI, shell, Markdown …) a bare word counts too, unless it is a number,
a boolean, or a reference such as ``${VAR}`` or ``%(name)s``.
"""

from __future__ import annotations

import base64
import fnmatch
import itertools
import re
from collections.abc import Iterable

PLACEHOLDER = "[REDACTED]"


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


SECRET_FILES = (
    ".env",
    ".env.*",
    "*.env",
    "*.pem",
    "*.key",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.ppk",
    "*.kdbx",
    ".netrc",
    "_netrc",
    ".npmrc",
    ".pypirc",
    ".git-credentials",
    ".htpasswd",
    "credentials*.json",
    "*.tfstate",
    "*.tfstate.*",
)

# Extensions whose files are program text: there, only a string literal is a value.
CODE_EXTENSIONS = _wordset(
    "py pyi pyx js jsx mjs cjs ts tsx go rs java kt kts scala rb php c h cc cpp cxx hpp hh "
    "cs swift m mm dart lua ex exs erl hs ml clj groovy r jl vue svelte pl pm"
)

# Words that make a name secret-looking, alone or as two adjacent words.
_SECRET_WORDS = _wordset(
    "password passwd pwd passphrase secret token apikey accesskey secretkey privatekey "
    "authtoken credential credentials"
)
_SECRET_PAIRS = frozenset(
    {
        ("api", "key"),
        ("access", "key"),
        ("secret", "key"),
        ("private", "key"),
        ("auth", "key"),
        ("signing", "key"),
        ("encryption", "key"),
        ("client", "secret"),
    }
)
# A name ending in one of these describes a secret, it does not hold one
# (``password_field``, ``token_type``, ``api_key_name``, ``SECRET_KEY_PATH``).
_DESCRIPTIVE_LAST = _wordset(
    "type types kind field fields name names label labels url uri urls endpoint path file "
    "filename dir env var header param params prefix suffix pattern regex re len length size "
    "count limit max min ttl timeout expiry expires expiration policy format class cls id ids "
    "index idx hint placeholder help prompt message msg error errors validator widget input "
    "column col attr attribute form strength reset changed stdin command cmd"
)
# ... or starting with one of these (``max_tokens``, ``show_password``, ``is_secret``).
_DESCRIPTIVE_FIRST = _wordset(
    "max min num n is has use show hide enable disable require required allow validate "
    "check reset forgot get set on handle toggle"
)

# Tokens with a recognisable shape. Those that start at a word boundary are written
# without their leading ``\b``: one alternation behind a single ``\b`` scans a line once,
# about three times faster than a pass for each pattern.
_WORD_TOKENS = (
    r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b",  # AWS access key id
    r"gh[opsur]_[A-Za-z0-9]{30,255}\b",  # GitHub tokens
    r"github_pat_[A-Za-z0-9_]{22,255}\b",
    r"glpat-[A-Za-z0-9_\-]{20,}",  # GitLab
    r"xox[abprse]-[A-Za-z0-9\-]{10,}",  # Slack
    r"sk-(?:proj-|svcacct-|admin-|ant-)?(?=[A-Za-z0-9_\-]*\d)[A-Za-z0-9_\-]{20,}",  # OpenAI
    r"[rs]k_(?:live|test)_[A-Za-z0-9]{16,}\b",  # Stripe
    r"AIza[0-9A-Za-z_\-]{35}",  # Google API key
    r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*",  # JWT
    r"npm_[A-Za-z0-9]{36}\b",  # npm
    r"pypi-AgE[A-Za-z0-9_\-]{50,}",  # PyPI
    # These follow the published gitleaks rules named in each comment.
    r"hf_[A-Za-z0-9]{34}\b",  # huggingface-access-token: exactly 34 after hf_
    r"api_org_[A-Za-z]{34}\b",  # huggingface-organization-api-token
    r"SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}(?![A-Za-z0-9_\-])",  # sendgrid-api-token
    r"SK[0-9a-fA-F]{32}\b",  # twilio-api-key
)
_OTHER_TOKENS = (
    r"https://hooks\.slack\.com/services/[A-Za-z0-9/_\-]+",
    r"(?<=\bBearer )[A-Za-z0-9._~+/=\-]{16,}",  # Authorization: Bearer …
    r"(?<=\bBasic )[A-Za-z0-9+/]{12,}={0,2}",  # Authorization: Basic …
    # telegram-bot-api-token: bot id, colon, A and 34 more; also inside .../bot<token>/...
    r"(?:(?<=bot)|(?<!\w))\d{8,10}:A[A-Za-z0-9_\-]{34}(?![A-Za-z0-9_\-])",
)
_TOKENS = re.compile(
    r"\b(?:" + "|".join(_WORD_TOKENS) + ")|" + "|".join(f"(?:{p})" for p in _OTHER_TOKENS)
)
# Discord bot token: base64url of the bot's numeric id (17-20 digits), a 6-character
# timestamp and an HMAC, dot-separated; the first part must decode to digits.
_DISCORD = re.compile(
    r"(?<![A-Za-z0-9_\-.])(?P<id>[MNO][A-Za-z0-9_\-]{22,26})"
    r"\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,38}(?![A-Za-z0-9_\-])"
)
# Twilio: an account SID (AC + 32 hex) is an identifier and is kept, but the 32-hex auth
# token that follows it in ``Client(sid, token)`` or ``sid:token`` is not; nor is 32 hex
# assigned to a name that says twilio (``twilioAuth``). (gitleaks covers only SK keys.)
_TWILIO_PAIR = re.compile(r"""\b(AC[0-9a-f]{32}["']?\s*[,:]\s*["']?)[0-9a-f]{32}\b""")
_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
# Connection strings: ``key=value`` pairs separated by ``;`` (ADO.NET and ODBC ``Password``
# and ``Pwd``; Azure Storage ``AccountKey`` and Service Bus ``SharedAccessKey``, as the
# Azure docs write them). A pair counts after ``;`` or an opening quote, so that
# ``password = getpass()`` in code is left to the assignment rule; its value runs to the
# next ``;`` or quote (spaces included), or is one single-quoted string.
_CONN_PAIR = re.compile(
    r"""(?i)\b(?P<key>(?:password|pwd|accountkey|sharedaccesskey)\s*=\s*)"""
    r"""(?P<value>'(?![\s+])[^'\n]*'|[^;"'\n]+)"""
)
# A value that names or templates a secret rather than being one: ``$VAR``, ``${VAR}``,
# ``$(cmd)``, ``%(name)s``, ``%s``, ``%VAR%``, ``{name}``, ``{{ x }}``, ``<password>``,
# ``[PASSWORD]`` (and ``[REDACTED]``), ``***``, ``xxx``, ``...``.
_REFERENCE = re.compile(
    r"""\$.*|%\(.*|%[-+ #0-9.]*[a-z]|%\w+%|\{.*|\[.*|<[^>]*>|\*+|x{3,}|\.{3}""", re.I
)
# scheme://user:password@host. The authority ends at the first / ? or # (RFC 3986) and the
# password at its last @, as urllib.parse splits it: a password may hold @ and :, and the
# user may be empty (redis://:password@host).
_URL_PASSWORD = re.compile(r"""(?P<head>://[^/?#\s:@'"]*):(?P<password>[^/?#\s'"]+)@""")
# In a URL's query: ?password=…, &token=…, &access_token=… (secret-looking names), and the
# signatures that make a URL a credential: Azure SAS ``sig=``, ``X-Amz-Signature=``.
_QUERY = re.compile(r"""(?P<head>[?&](?P<name>[A-Za-z_][\w.\-]*)=)(?P<value>[^&#\s'"`<>]+)""")

# Secrets that a name or a command marks, each ``(guard, pattern)``: the pattern runs only
# on lines holding its guard. Its ``value`` group is what is replaced; a ``name`` group, when
# present, must look secret (``is_secret_name``). A reference (``$PW``) is kept.
_VALUE_Q = r"""(?P<vq>["'])(?P<value>(?:\\.|(?!(?P=vq))[^\n])+)(?P=vq)"""
_NAMED: tuple[tuple[str, re.Pattern[str]], ...] = (
    # The mysql family's -pSECRET (only attached: a bare -p asks for it), as a word of a
    # shell line or one element of an argument list (``"-pSECRET"``).
    (
        "-p",
        re.compile(
            r"""\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlcheck|mysqlshow|mysqlpump"""
            r"""|mariadb(?:-dump|-admin|-import|-check|-show)?)\b[^\n|;&]*?(?<=[\s"',\[])-p"""
            r"""(?P<value>'[^'\n]+'|"[^"\n]+"|[^\s'"`;|&),\]]+)"""
        ),
    ),
    ("sshpass", re.compile(r"""\bsshpass\s+-p\s*(?P<value>'[^'\n]+'|"[^"\n]+"|[^\s'"`;|&]+)""")),
    # curl -u user:SECRET (--user, --proxy-user; wget's --user is a name, its password is
    # caught as --password=): the user is kept.
    (
        "-u",
        re.compile(
            r"""\bcurl\b[^\n|;&]*?\s(?:-u\s*|-U\s*|--user[\s=]+|--proxy-user[\s=]+)"""
            r"""["']?[^\s:'"]*:(?P<value>[^\s'"]+)"""
        ),
    ),
    # --password SECRET, --api-token SECRET …: a long option and its value as two words
    # (``--password=SECRET`` is an assignment).
    (
        "--",
        re.compile(
            r"""(?<![\w-])--(?P<name>[A-Za-z][\w\-]*)[ \t]+(?P<value>[^\s'"`\-][^\s'"`]*)"""
        ),
    ),
    # Dockerfile's legacy ENV NAME VALUE (no =): the value is the rest of the line.
    (
        "ENV",
        re.compile(
            r"""^[ \t]*ENV[ \t]+(?P<name>[A-Za-z_][\w.\-]*)[ \t]+(?P<value>[^\s=].*?)[ \t]*$"""
        ),
    ),
    # XML: <password>SECRET</password>, <db:password a="b">…</db:password>.
    (
        "</",
        re.compile(
            r"""<(?P<name>[A-Za-z_][\w.\-:]*)(?:\s[^<>]*)?>(?P<value>[^<>\n]+)</(?P=name)\s*>"""
        ),
    ),
    # XML settings: <add key="DbPassword" value="…"/>, <property name="password" value="…"/>.
    (
        "value",
        re.compile(
            r"""\b(?:key|name)\s*=\s*(?P<nq>["'])(?P<name>[^"'\n]+)(?P=nq)\s+value\s*=\s*"""
            + _VALUE_Q
        ),
    ),
    # A string set under a quoted name: PHP's define('DB_PASSWORD', '…'), setenv("TOKEN",
    # "…"), and subscripts: $cfg['db_password'] = '…'; os.environ["API_TOKEN"] = "…".
    (
        "(",
        re.compile(
            r"""\b(?:define|setenv|Setenv|putenv|setProperty|setdefault|set|put)\s*\(\s*"""
            r"""(?P<nq>["'])(?P<name>[\w.\-]+)(?P=nq)\s*,\s*""" + _VALUE_Q
        ),
    ),
    (
        "[",
        re.compile(
            r"""\[\s*(?P<nq>["'])(?P<name>[\w.\-]+)(?P=nq)\s*\]\s*=(?![=>])\s*""" + _VALUE_Q
        ),
    ),
)

_KEY_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_KEY_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_KEY_ONE_LINE = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----.*?"
    r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|$)"
)
# Any other armoured block (CERTIFICATE, PUBLIC KEY, PGP SIGNATURE …) is public: its body
# is kept when its BEGIN line is in view.
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]+-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]+-----")

# A line of key material seen without its BEGIN line: a hunk inside a PEM or OpenSSH key
# (the old, new and context lines are all key lines) or git's hunk header, whose function
# context is the nearest line above that starts with a letter. RFC 7468 wraps PEM bodies at
# 64 characters, OpenSSH at 70; a line is taken whole, bare or as one quoted string (with an
# optional ``\n`` and a trailing ``,`` or ``+``, as keys are pasted into code and JSON).
_KEY_BODY = re.compile(
    r"""[ \t]*(?:(?P<bare>[A-Za-z0-9+/]+={0,2})"""
    r"""|(?P<q>["'`])(?P<quoted>[A-Za-z0-9+/]+={0,2})(?:\\n)?(?P=q)[ \t]*[,+]?)[ \t]*"""
)
# Git's hunk header; what follows it is a line of the file (the function context).
_HUNK_HEAD = re.compile(r"@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@ ?")
_UPPER, _LOWER, _DIGIT = re.compile("[A-Z]"), re.compile("[a-z]"), re.compile("[0-9]")
_NOT_KEY, _BASE64, _KEY_LINE = 0, 1, 2

# NAME (optionally quoted) then an assignment operator, then the value.
# The name is taken whole (``(?![\w.\-])``): a shorter one could never be followed by an
# operator, and trying each would cost every line a retry per character of each name.
# A name starts where a run of name characters starts: tried at every position inside a
# run, a long one (a 64 KiB line of letters) cost quadratic time, about a minute.
_ASSIGN_NAME = r"""(?P<q>["']?)(?P<name>(?<![\w.\-$@])[\w$@][\w.\-]*(?![\w.\-]))(?P=q)"""
_ASSIGN_VALUE = (
    r"""\s*(?P<op>:=|=>|\?=|\+=|=(?!=)|:(?![:/]))[ \t]*"""
    r"""(?P<value>"""
    r"""(?P<prefix>[rRbBuUfF]{0,2})(?P<quote>["'`])(?P<inner>(?:\\.|(?!(?P=quote)).)*)(?P=quote)?"""
    r"""|(?P<bare>[^\s'"`,;]+))"""
)
# In code, a declared type may stand between the name and ``=``: TypeScript, Kotlin, Swift,
# Scala and Python annotations (``apiToken: string = "…"``, ``string | undefined``,
# ``Optional[str]``) and Rust's ``&str`` or ``&'static str``. Only taken when ``=`` follows,
# so ``apiToken: string;`` stays a declaration and YAML's ``key: a=b`` is not read as one.
_TYPE_WORD = r"""&?(?:'\w+\s+)?[A-Za-z_][\w.]*(?![\w.])(?:<[^<>=\n]*>|\[[^\[\]=\n]*\])?\??"""
_DECLARED_TYPE = rf"""(?:\s*:\s*{_TYPE_WORD}(?:\s*\|\s*{_TYPE_WORD})*(?=\s*=(?![=>])))?"""
_ASSIGN = re.compile(_ASSIGN_NAME + _ASSIGN_VALUE)
_ASSIGN_CODE = re.compile(_ASSIGN_NAME + _DECLARED_TYPE + _ASSIGN_VALUE)
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_NOT_A_VALUE = re.compile(
    r"""^(?:[-+]?\d+(?:\.\d+)?|true|false|yes|no|on|off|null|none|nil|undefined|~"""
    r"""|\$.*|%\(.*|\{\{.*|<[^>]*>|\*+|\[REDACTED\].*|[|>][-+]?|[\[{(].*)$""",
    re.IGNORECASE,
)


def is_secret_file(path: str) -> bool:
    """Whether ``path`` names a file that exists to hold secrets (listed by name only)."""
    name = path.rsplit("/", 1)[-1].lower()
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in SECRET_FILES)


def _words(name: str) -> list[str]:
    return [w.lower() for part in re.split(r"[_.\-$@]+", name) for w in _CAMEL.findall(part)]


def is_secret_name(name: str) -> bool:
    """Whether a variable or key called ``name`` probably holds a secret."""
    words = _words(name)
    if not words:
        return False
    if words[-1] in _DESCRIPTIVE_LAST or (len(words) > 1 and words[0] in _DESCRIPTIVE_FIRST):
        return False
    if any(w in _SECRET_WORDS for w in words):
        return True
    joined = "".join(words)
    if any(w in joined for w in ("password", "apikey", "secretkey", "accesskey")):
        return True
    return any(pair in _SECRET_PAIRS for pair in itertools.pairwise(words))


def _is_code(path: str | None) -> bool:
    if not path:
        return False
    name = path.rsplit("/", 1)[-1]
    return "." in name and name.rsplit(".", 1)[-1].lower() in CODE_EXTENSIONS


def _assignment(match: re.Match[str], code: bool) -> str:
    whole = match.group(0)
    name = match.group("name")
    value = match.group("inner") if match.group("quote") else match.group("bare")
    twilio = "twilio" in name.lower() and _HEX32.fullmatch(value or "")
    if not twilio and not is_secret_name(name):
        return whole
    start = match.start("value") - match.start()
    quote = match.group("quote")
    if quote:
        inner = match.group("inner")
        if not inner.strip() or _NOT_A_VALUE.match(inner.strip()):
            return whole
        closing = quote if whole.endswith(quote) and len(match.group("value")) > 1 else ""
        if code and not closing:  # the quote ends a literal: "?token=" + token
            return whole
        return whole[:start] + match.group("prefix") + quote + PLACEHOLDER + closing
    bare = match.group("bare") or ""
    if code or _NOT_A_VALUE.match(bare) or match.group("op") in ("=>", "+="):
        return whole
    return whole[:start] + PLACEHOLDER


def _key_material(line: str) -> int:
    """``_KEY_LINE`` for a line that is key material on its own: 40 or more base64
    characters with upper case, lower case and digits (hex digests, git shas and long
    identifiers lack one of them) and fewer than four slashes (not a path);
    ``_BASE64`` for any other line of base64 characters only, key material when next to a
    key line (the short last line of a body, a line that happens to lack a digit)."""
    match = _KEY_BODY.fullmatch(line)
    if not match:
        return _NOT_KEY
    b64 = match.group("bare") or match.group("quoted")
    if (
        len(b64) >= 40
        and b64.count("/") < 4
        and _UPPER.search(b64)
        and _LOWER.search(b64)
        and _DIGIT.search(b64)
    ):
        return _KEY_LINE
    return _BASE64


def _whole(line: str) -> str:
    """``line`` redacted whole, its indentation kept."""
    return line[: len(line) - len(line.lstrip())] + PLACEHOLDER


def redact_line(line: str, *, code: bool = False) -> str:
    """One line with every recognisable secret replaced by ``[REDACTED]``."""
    if _key_material(line) == _KEY_LINE:
        return _whole(line)
    return _redact(line, code)


def _is_reference(value: str) -> bool:
    value = value.strip().strip("'\"")
    return not value or _REFERENCE.fullmatch(value) is not None


def _conn_pair(match: re.Match[str]) -> str:
    before = match.string[: match.start()].rstrip()[-1:]
    if before not in (";", '"', "'") or _is_reference(match.group("value")):
        return match.group(0)
    return match.group("key") + PLACEHOLDER


def _url_password(match: re.Match[str]) -> str:
    if _is_reference(match.group("password")):
        return match.group(0)
    return match.group("head") + ":" + PLACEHOLDER + "@"


def _query(match: re.Match[str]) -> str:
    name = match.group("name")
    signature = _words(name)[-1:] in (["sig"], ["signature"])
    if not (signature or is_secret_name(name)) or _is_reference(match.group("value")):
        return match.group(0)
    return match.group("head") + PLACEHOLDER


def _named(match: re.Match[str]) -> str:
    groups = match.groupdict()
    name = groups.get("name")
    if (name is not None and not is_secret_name(name.rsplit(":", 1)[-1])) or _is_reference(
        match.group("value")
    ):
        return match.group(0)
    start, end = (i - match.start() for i in match.span("value"))
    whole = match.group(0)
    return whole[:start] + PLACEHOLDER + whole[end:]


def _discord(match: re.Match[str]) -> str:
    part = match.group("id")
    try:
        user_id = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except ValueError:  # binascii.Error: not base64 of whole bytes
        return match.group(0)
    return PLACEHOLDER if user_id.isdigit() else match.group(0)


def _redact(line: str, code: bool) -> str:
    line = _KEY_ONE_LINE.sub(PLACEHOLDER, line)
    line = _TOKENS.sub(PLACEHOLDER, line)
    if "." in line:
        line = _DISCORD.sub(_discord, line)
    if "AC" in line:
        line = _TWILIO_PAIR.sub(r"\1" + PLACEHOLDER, line)
    if "=" in line:
        line = _CONN_PAIR.sub(_conn_pair, line)
    if "://" in line:
        line = _URL_PASSWORD.sub(_url_password, line)
    if "=" in line and ("?" in line or "&" in line):
        line = _QUERY.sub(_query, line)
    for guard, pattern in _NAMED:
        if guard in line:
            line = pattern.sub(_named, line)
    return (_ASSIGN_CODE if code else _ASSIGN).sub(lambda m: _assignment(m, code), line)


def redact_lines(lines: Iterable[str], *, path: str | None = None, diff: bool = False) -> list[str]:
    """``lines`` with secrets redacted. With ``diff``, each line's first character is a
    diff marker (`` ``, ``+``, ``-``) and is kept as it is; a multi-line private key is
    redacted from its BEGIN line to its END line (or to the end, if the END is not there).
    Key material is redacted without its BEGIN line too: a run of consecutive base64 lines
    with a key line among them (see ``_key_material``), and a key line in git's hunk header.
    The body of a public block (a certificate) whose BEGIN line is in view is kept."""
    code = _is_code(path)
    out: list[str] = []
    in_key = in_public = False
    run: list[tuple[str, str]] = []  # base64 lines waiting for a key line next to them
    run_is_key = False
    for line in lines:
        marker, body = (line[:1], line[1:]) if diff and line[:1] in (" ", "+", "-") else ("", line)
        kind = _NOT_KEY
        head = _HUNK_HEAD.match(line) if diff and not marker else None
        begin = None if head or in_key else _KEY_BEGIN.search(body)
        if head:
            out.append(head.group() + redact_line(line[head.end() :], code=code))
        elif in_key:
            in_key = not _KEY_END.search(body)
            out.append(marker + PLACEHOLDER)
        elif begin and not _KEY_END.search(body, begin.end()):
            in_key, in_public = True, False
            out.append(marker + _redact(body[: begin.start()], code) + PLACEHOLDER)
        elif in_public:
            in_public = not _PEM_END.search(body)
            out.append(marker + _redact(body, code))
        else:
            public = _PEM_BEGIN.search(body) if "-----BEGIN" in body else None
            in_public = bool(public and not _PEM_END.search(body, public.end()))
            kind = _key_material(body)
            out.append(marker + (_whole(body) if kind == _KEY_LINE else _redact(body, code)))
        if kind == _NOT_KEY:
            run, run_is_key = [], False
        elif kind == _KEY_LINE or run_is_key:
            for i, (m, b) in enumerate(run, len(out) - 1 - len(run)):
                out[i] = m + _whole(b)
            out[-1] = marker + _whole(body)
            run, run_is_key = [], True
        else:
            run.append((marker, body))
    return out


def redact_text(text: str, *, path: str | None = None) -> str:
    """``text`` (a draft, commit subjects, any prose) with secrets redacted."""
    return "\n".join(redact_lines(text.split("\n"), path=path))
