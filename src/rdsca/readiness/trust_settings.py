"""Find database TLS settings in source and configuration text, and what each one verifies.

The rules read one file's text at a time and are heuristics over lines, not parsers: a *mode*
(sslmode=verify-full, ssl_mode=PREFERRED, rejectUnauthorized: false...) is paired with the CA
file named on the same line, or else the nearest one within a few lines (anywhere in an env file).
When unsure whether a client verifies, the rules assume it does: a bundle that lacks the new CA
is then reported, a false alarm rather than a miss.

This module holds the Setting record and reads a file: its lines that can hold a setting, the
statement around each and the CA files it names. The line rules (what one line's mode says) are in
settings_lines, the pairing of modes with CA files in settings_pairing.

Categories (before the CA file is checked): verify (verifies against `ca_ref`, or a default
location when None), system-store (verifies against the OS store, which holds no RDS root),
no-verification, plaintext-fallback, no-tls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
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
    from rdsca.readiness.settings_lines import line_settings  # they import this module's names
    from rdsca.readiness.settings_pairing import pair

    found: list[Setting] = []
    for no in hot:
        found.extend(line_settings(path, no, lines[no - 1], spans))
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


# The ecosystem rules (rdsca.readiness.ecosystems) read what the line rules cannot: one finding per line.
from rdsca.readiness.ecosystems import with_ecosystems  # noqa: E402  (it imports this module's names)

find_settings = with_ecosystems(find_settings)
