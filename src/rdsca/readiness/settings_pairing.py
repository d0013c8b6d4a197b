"""Pair each TLS setting with the CA file it verifies against, in the same statement.

A CA file is paired with the mode on the same line, else the nearest one within the same statement
(`trust_settings._Spans`: the same call or dict in code, the [group] of an option file, a few lines
elsewhere, anywhere in an env file). CA files no mode claims become findings of their own, assumed
to verify (a false alarm rather than a miss), except where the driver's rules say otherwise.
"""

from __future__ import annotations

from dataclasses import replace

from rdsca.readiness import settings_drivers as drv
from rdsca.readiness.trust_settings import (
    _SELF_VERIFYING,
    FALLBACK,
    NO_VERIFICATION,
    SYSTEM_STORE,
    VERIFY,
    Setting,
    _Ref,
    _Spans,
    is_env_file,
    redact,
)

_COMPATIBLE = {
    "libpq": {"pg"},
    "pgjdbc": {"pg"},
    "mysql": {"mysql"},
    "pymysql": {"mysql"},
    "mysql-connector-python": {"mysql"},
    "mysql-dict": {"dict", "mysql"},
    "node": {"dict", "node"},
    "mongodb": {"mongo"},
    "jdbc": {"java", "pg"},
    "java": {"java"},
    "mariadb-connector-j": {"java", "mariadb"},
    "mysql-connector-j": {"java"},
}


_PG_SOFT = frozenset({"sslmode=require", "sslmode=prefer", "sslmode=allow"})
_FALLBACK_WITH_ROOT = (
    "with a root file libpq verifies, and when that fails {how}: plaintext only where the server "
    "admits it, which RDS for PostgreSQL 15+ does not by default (rds.force_ssl=1)"
)


def _families(s: Setting) -> set[str]:
    if s.client == "pgjdbc" and s.store == "jvm":
        return {"java"}  # DefaultJavaSSLFactory: the JVM trust store, sslrootcert is not read
    return _COMPATIBLE.get(s.client, set())


def _mysql_chain_check(s: Setting) -> bool:
    """The MySQL / MariaDB client settings that a CA file turns into chain verification: a bare
    `ssl`, ssl-verify-server-cert turned off (which only drops the host name check), and
    ssl-mode PREFERRED / REQUIRED (whether the MySQL client then checks the CA is not documented
    clearly; AWS says a `preferred` client whose CA "isn't up to date" falls back to plaintext,
    so it is assumed to check it: a false alarm rather than a miss)."""
    if s.client != "mysql" or s.category not in (NO_VERIFICATION, FALLBACK):
        return False
    mode = s.mode.lower().replace("_", "-")
    if mode.endswith(("=preferred", "=required")):
        return True
    return s.category == NO_VERIFICATION and (
        "verify-server-cert" in mode or mode.lstrip("-") in drv.SSL_ON_FORMS
    )


def _verifies_with_ref(s: Setting) -> bool:
    """Settings that take a CA file: verifying ones, libpq's soft modes (a root file makes them
    verify), and the MySQL client's options that a CA file makes verify."""
    return (
        s.category == VERIFY
        or (s.client == "libpq" and s.mode in _PG_SOFT)
        or s.store == "jvm"
        or _mysql_chain_check(s)
    )


def pair(
    path: str, found: list[Setting], refs: list[_Ref], spans: _Spans, passwords: list[tuple[int, str]]
) -> list[Setting]:
    """Give each verifying setting its CA file; CA files nobody claimed become findings."""
    env = is_env_file(path)
    used: set[_Ref] = set()
    out: list[Setting] = []
    for s in (s for s in found if _verifies_with_ref(s)):
        if s.client == "pgjdbc":  # a root file pgjdbc does not read here is not another finding
            used.update(r for r in refs if r.line == s.line and r.family == "pg" and s.store)
        ref = _nearest(s, refs, env, found, spans, used)
        if ref is None:
            out.append(s)
            continue
        used.add(ref)
        out.append(_with_ref(s, ref, _password_near(ref, passwords, spans, env)))
    for s in (s for s in found if not _verifies_with_ref(s)):
        used.update(r for r in refs if r.line == s.line)  # a CA file it does not check
        if s.client == "pgjdbc":  # pgjdbc's soft modes never read sslrootcert
            ref = _nearest(s, refs, env, found, spans, used)
            if ref is not None:
                used.add(ref)
        out.append(s)
    for ref in refs:
        if ref in used or ref.family == "dict":
            continue
        out.append(_standalone(path, ref, spans, _password_near(ref, passwords, spans, env), found))
    return sorted(out, key=lambda s: (s.line, s.client))


def _with_ref(s: Setting, ref: _Ref, password: str | None) -> Setting:
    if s.client == "libpq" and s.mode == "sslmode=require":
        s = replace(s, category=VERIFY, note="sslmode=require with a root file verifies like verify-ca")
    elif s.client == "libpq" and s.mode in _PG_SOFT:
        how = (
            "prefer retries without TLS"
            if s.mode == "sslmode=prefer"
            else "allow (plaintext first) has no other try"
        )
        s = replace(s, note=_FALLBACK_WITH_ROOT.format(how=how))
    elif _mysql_chain_check(s) and s.category == FALLBACK:
        # "When you use the preferred SSL mode and the CA certificate doesn't exist or isn't up to
        # date, the connection falls back to not using SSL" (AWS, "Updating applications to
        # connect to MariaDB instances using new SSL/TLS certificates"): plaintext only where the
        # server admits it (require_secure_transport=OFF).
        s = replace(
            s,
            note="with an ssl-ca a PREFERRED client checks the chain, and when that fails falls back to "
            "plaintext: only where the server admits it (require_secure_transport=OFF)",
        )
    elif _mysql_chain_check(s):
        # Found by the real-client matrix (MariaDB Connector/C, the mariadb CLI 10.11): with an
        # ssl-ca the client verifies the chain against it whatever ssl-verify-server-cert says.
        s = replace(
            s,
            category=VERIFY,
            note="with an ssl-ca the MySQL / MariaDB client checks the chain against it (assumed for "
            "ssl-mode=REQUIRED); ssl-verify-server-cert only adds or drops the host name check",
        )
    if ref.value.lower() == "system" and s.client == "libpq":
        s = replace(
            s,
            category=SYSTEM_STORE,
            note="sslrootcert=system uses the OS trust store, which holds no RDS root",
        )
    return replace(s, ca_ref=ref.value, ca_line=ref.line, password=password)


def _standalone(path: str, ref: _Ref, spans: _Spans, password: str | None, found: list[Setting]) -> Setting:
    """A CA file named with no mode nearby: a finding of its own, assumed to verify."""
    client = _SELF_VERIFYING.get(ref.family)
    note = ""
    if client is None and ref.family == "pg" and spans.hints.pgjdbc:
        client = "pgjdbc"
        if not any(s.client == "pgjdbc" for s in found):
            # Seen by the real-client matrix (pgjdbc 42.5): a URL with sslrootcert and no sslmode
            # connects to any server; pgjdbc's default sslmode is prefer (SslMode.of).
            note = (
                "no sslmode or ssl=true in this file: pgjdbc's default, prefer, verifies nothing and "
                "does not read sslrootcert (set sslmode=verify-full to use it)"
            )
            line = redact(spans.lines[ref.line - 1])
            return Setting(path, ref.line, client, "sslrootcert without sslmode", NO_VERIFICATION,
                           ref.value, ref.line, line, note)  # fmt: skip
        note = (
            "no sslmode next to it: pgjdbc reads sslrootcert only under verify-ca / verify-full "
            "(its default, prefer, verifies nothing): assumed to verify"
        )
    elif client is None:
        client = {"pg": "libpq", "mariadb": "mariadb-connector-j"}.get(ref.family, "mysql")
        note = "a CA file without a verifying mode nearby: assumed to verify"
    line = redact(spans.lines[ref.line - 1])
    return Setting(
        path, ref.line, client, "CA file", VERIFY, ref.value, ref.line, line, note, password=password
    )


def _password_near(ref: _Ref, passwords: list[tuple[int, str]], spans: _Spans, env: bool) -> str | None:
    """The keystore password written beside a Java trust store: in the same statement (anywhere in
    an env file), else the only one in the file."""
    if ref.family not in ("java",) or not passwords:
        return None
    first, last = spans.span(ref.line)
    near = [(no, pw) for no, pw in passwords if env or first <= no <= last]
    if near:
        return min(near, key=lambda p: abs(p[0] - ref.line))[1]
    return passwords[0][1] if len(passwords) == 1 else None


def _nearest(
    s: Setting, refs: list[_Ref], env: bool, found: list[Setting], spans: _Spans, used: set[_Ref]
) -> _Ref | None:
    """The CA file on the same line, else the nearest one in the same statement (anywhere in
    an env file) that is not on another setting's line."""
    fams = _families(s)
    first, last = spans.span(s.line)
    taken = {o.line for o in found if o.line != s.line and fams & _families(o)}
    near = [
        r
        for r in refs
        if r.family in fams
        and r not in used
        and r.line not in taken
        and (r.line == s.line or env or first <= r.line <= last)
    ]
    if not near:
        return None
    return min(near, key=lambda r: (abs(r.line - s.line), r.line < s.line))
