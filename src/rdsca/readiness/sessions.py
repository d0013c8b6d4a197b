"""Who is connected to a database right now, and with TLS or not.

PostgreSQL: `pg_stat_activity JOIN pg_stat_ssl`. MySQL / MariaDB: `information_schema.PROCESSLIST`
with `performance_schema.threads` (CONNECTION_TYPE) and `status_by_thread` (Ssl_version,
Ssl_cipher). When the account cannot see the answer the listing says "unknown" and why; it never
turns "cannot see" into "no TLS clients". The password is kept out of every repr and message.
"""

from __future__ import annotations

import enum
import re
import ssl
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from rdsca.errors import ConfigError, ProbeError
from rdsca.words import count, plural

_SCHEMES = {"postgresql": "postgresql", "postgres": "postgresql", "mysql": "mysql", "mariadb": "mysql"}
_MYSQL_MODES = ("DISABLED", "PREFERRED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY")


class Visibility(enum.StrEnum):
    COMPLETE = "complete"  # every session and its TLS state is visible
    UNKNOWN = "unknown"  # some or all TLS states cannot be seen by this account: see `reason`


@dataclass(frozen=True)
class DbTarget:
    """Where to connect and as whom. Build it with `parse_dsn`; `password` never shows in repr."""

    engine: str  # postgresql | mysql
    host: str
    port: int
    user: str
    database: str | None
    params: tuple[tuple[str, str], ...] = ()
    password: str | None = field(default=None, repr=False)

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"

    def mask(self, text: str) -> str:
        """`text` with the password replaced, for any message that may quote a driver error."""
        if self.password:
            text = text.replace(self.password, "***")
        return text


@dataclass(frozen=True)
class Session:
    id: int
    user: str | None
    client_addr: str | None
    client_port: int | None
    application: str | None
    database: str | None
    connection: str | None  # MySQL CONNECTION_TYPE (SSL/TLS, TCP/IP, Socket); PostgreSQL tcp/socket
    tls: bool | None  # None: this account cannot see it (see `note`)
    tls_version: str | None
    cipher: str | None
    is_self: bool = False  # rdsca's own connection
    note: str | None = None


@dataclass(frozen=True)
class SessionListing:
    engine: str
    server: str
    server_version: str
    sessions: tuple[Session, ...]
    visibility: Visibility
    reason: str | None = None
    hidden: int = 0  # sessions whose TLS state this account cannot see

    def summary(self) -> str:
        others = [s for s in self.sessions if not s.is_self]
        tls = sum(1 for s in others if s.tls is True)
        plain = sum(1 for s in others if s.tls is False)
        unknown = sum(1 for s in others if s.tls is None)
        text = f"{count(others, 'other session')}: {tls} with TLS, {plain} without"
        return text + (f", {unknown} unknown" if unknown else "")


def parse_dsn(dsn: str, *, password: str | None = None) -> DbTarget:
    """Read `postgresql://`, `mysql://` or `mariadb://` URLs; `password` overrides the DSN's."""
    try:
        parts = urlsplit(dsn)
        port = parts.port
    except ValueError:  # its text may quote a piece of the password ("...integer value as 'p'")
        raise ConfigError(f"bad DSN {_mask_dsn(dsn)}: cannot read HOST:PORT; {_ENCODE_HINT}") from None
    engine = _SCHEMES.get(parts.scheme.lower())
    if engine is None:
        raise ConfigError(
            f"bad DSN {_mask_dsn(dsn)}: expected postgresql://, mysql:// or mariadb://, "
            f"got {parts.scheme or 'no scheme'}"
        )
    params = tuple(parse_qsl(parts.query, keep_blank_values=True))
    host = unquote(parts.hostname or "") or dict(params).get("host", "")
    if not host:
        raise ConfigError(f"bad DSN {_mask_dsn(dsn)}: no host")
    if "@" in parts.path or "@" in parts.fragment:  # postgresql://u:p/s@host: host "p", path "s@host"
        raise ConfigError(f"bad DSN {_mask_dsn(dsn)}: '@' after the host; {_ENCODE_HINT}")
    user = unquote(parts.username or "")
    if not user:
        raise ConfigError(f"bad DSN {_mask_dsn(dsn)}: no user (postgresql://USER@HOST/DB)")
    secret = password if password is not None else unquote(parts.password or "") or None
    return DbTarget(
        engine=engine,
        host=host,
        port=port or (5432 if engine == "postgresql" else 3306),
        user=user,
        database=unquote(parts.path.lstrip("/")) or None,
        params=params,
        password=secret,
    )


_ENCODE_HINT = "percent-encode / ? # @ in the password (%2F %3F %23 %40), or use --password-env"
_KEYWORD_PASSWORD = re.compile(r"(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)")


def _mask_dsn(dsn: str) -> str:
    """`dsn` with its password as ***: all between the user's ':' and the last '@' (p@ss@host)."""
    scheme, sep, rest = dsn.partition("//")
    if not sep:  # a keyword DSN: host=... password=...
        return _KEYWORD_PASSWORD.sub(r"\1***", dsn)
    cred, at, tail = rest.rpartition("@")
    if not at or ":" not in cred:
        return _KEYWORD_PASSWORD.sub(r"\1***", dsn)  # no password, unless ?password=
    return _KEYWORD_PASSWORD.sub(r"\1***", f"{scheme}//{cred.split(':', 1)[0]}:***@{tail}")


def list_sessions(target: DbTarget, *, timeout: float = 10.0) -> SessionListing:
    """Connect and list sessions; a connection that fails raises ProbeError (password masked)."""
    if target.engine == "postgresql":
        return _postgres_sessions(target, timeout)
    return _mysql_sessions(target, timeout)


def connect_error(target: DbTarget, exc: BaseException) -> ProbeError:
    lines = [" ".join(line.split()) for line in str(exc).splitlines()]
    text = " / ".join(dict.fromkeys(line for line in lines if line)) or type(exc).__name__
    return ProbeError(
        f"cannot connect to {target.engine} at {target.server} as {target.user}: {target.mask(text)}"
    )


def mysql_ssl_kwargs(params: Mapping[str, str], host: str) -> dict[str, Any]:
    """PyMySQL TLS arguments for the mysql client's `ssl-mode` (default PREFERRED, like mysql)."""
    lowered = {k.lower().replace("_", "-"): v for k, v in params.items()}
    mode = lowered.get("ssl-mode", "PREFERRED").upper()
    if mode not in _MYSQL_MODES:
        raise ConfigError(f"ssl-mode={mode}: expected one of {', '.join(_MYSQL_MODES)}")
    ca = lowered.get("ssl-ca")
    if mode == "DISABLED":
        return {"ssl_disabled": True}
    if mode == "PREFERRED":
        return {}  # PyMySQL's default: TLS when offered, unverified (like the mysql client)
    if mode == "REQUIRED":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return {"ssl": ctx}
    if not ca:
        raise ConfigError(f"ssl-mode={mode} needs ssl-ca=FILE in the DSN")
    return {"ssl_ca": ca, "ssl_verify_cert": True, "ssl_verify_identity": mode == "VERIFY_IDENTITY"}


# --- PostgreSQL -----------------------------------------------------------------------------

# `visible` mirrors the server's own rule: pg_read_all_stats, or membership of the session's role.
_PG_SQL = """
SELECT a.pid, a.usename, a.application_name, host(a.client_addr), a.client_port, a.datname,
       s.ssl, s.version, s.cipher, a.pid = pg_backend_pid(),
       pg_has_role(current_user, 'pg_read_all_stats', 'USAGE')
         OR (a.usesysid IS NOT NULL AND pg_has_role(current_user, a.usesysid, 'USAGE'))
FROM pg_stat_activity a LEFT JOIN pg_stat_ssl s ON s.pid = a.pid
WHERE a.backend_type = 'client backend'
   OR (a.backend_type IS NULL AND a.usesysid IS NOT NULL AND a.datid IS NOT NULL)  -- hidden ones
ORDER BY a.pid
"""


def _postgres_sessions(target: DbTarget, timeout: float) -> SessionListing:
    import psycopg

    options: dict[str, Any] = {k: v for k, v in target.params if k != "host"}
    options.setdefault("application_name", "rdsca sessions")
    options.update(
        host=target.host,
        port=target.port,
        user=target.user,
        dbname=target.database or "postgres",
        password=target.password,
        connect_timeout=max(1, round(timeout)),
    )
    try:
        conn = psycopg.connect(psycopg.conninfo.make_conninfo(**options), autocommit=True)
    except (psycopg.Error, OSError) as exc:
        raise connect_error(target, exc) from None
    try:
        with conn.cursor() as cur:
            cur.execute(_PG_SQL)
            rows = cur.fetchall()
            version = conn.info.parameter_status("server_version") or "?"
    except psycopg.Error as exc:
        raise ProbeError(f"cannot list sessions on {target.server}: {target.mask(str(exc))}") from None
    finally:
        conn.close()
    sessions = tuple(_pg_session(row) for row in rows)
    hidden = sum(1 for x in sessions if x.tls is None)
    reason = None
    if hidden:
        reason = (
            f"{count(hidden, 'session')} of other roles {plural(hidden, 'is')} shown as "
            f"<insufficient privilege> to "
            f"{target.user}: grant it pg_read_all_stats (or pg_monitor) to see their TLS state"
        )
    visibility = Visibility.UNKNOWN if hidden else Visibility.COMPLETE
    return SessionListing("postgresql", target.server, version, sessions, visibility, reason, hidden)


def _pg_session(row: tuple[Any, ...]) -> Session:
    pid, user, app, addr, port, db, tls, version, cipher, is_self, visible = row
    if not visible:
        return Session(pid, user, None, None, None, db, None, None, None, None, bool(is_self),
                       "insufficient privilege")  # fmt: skip
    return Session(
        id=pid,
        user=user,
        client_addr=addr,
        client_port=port if port and port > 0 else None,
        application=app or None,
        database=db,
        connection="tcp" if addr else "socket",
        tls=bool(tls),
        tls_version=version,
        cipher=cipher,
        is_self=bool(is_self),
    )


# --- MySQL / MariaDB ------------------------------------------------------------------------

_MY_BASE_SQL = """
SELECT p.ID, p.USER, p.HOST, p.DB FROM information_schema.PROCESSLIST p
WHERE p.COMMAND <> 'Daemon' AND p.USER NOT IN ('system user', 'event_scheduler')
ORDER BY p.ID
"""

_MY_PFS_SQL = """
SELECT t.PROCESSLIST_ID, t.CONNECTION_TYPE,
  (SELECT v.VARIABLE_VALUE FROM performance_schema.status_by_thread v
    WHERE v.THREAD_ID = t.THREAD_ID AND v.VARIABLE_NAME = 'Ssl_version'),
  (SELECT v.VARIABLE_VALUE FROM performance_schema.status_by_thread v
    WHERE v.THREAD_ID = t.THREAD_ID AND v.VARIABLE_NAME = 'Ssl_cipher'),
  (SELECT a.ATTR_VALUE FROM performance_schema.session_connect_attrs a
    WHERE a.PROCESSLIST_ID = t.PROCESSLIST_ID AND a.ATTR_NAME = 'program_name' LIMIT 1)
FROM performance_schema.threads t WHERE t.PROCESSLIST_ID IS NOT NULL
"""


def _mysql_sessions(target: DbTarget, timeout: float) -> SessionListing:
    import pymysql

    params = dict(target.params)
    try:
        conn = pymysql.connect(
            host=target.host,
            port=target.port,
            user=target.user,
            password=target.password or "",
            database=target.database,
            connect_timeout=timeout,
            read_timeout=timeout,  # connect_timeout covers the TCP connect only, not the greeting
            write_timeout=timeout,
            program_name="rdsca sessions",
            **mysql_ssl_kwargs(params, target.host),
        )
    except (pymysql.Error, OSError, struct.error, IndexError, ValueError) as exc:
        # pymysql parses a short or odd greeting without checking it (struct.error, IndexError)
        raise connect_error(target, exc) from None
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT VERSION(), CONNECTION_ID(), @@performance_schema")
            version, own_id, pfs_on = cur.fetchone()
            cur.execute(
                "SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES WHERE PRIVILEGE_TYPE = 'PROCESS'"
            )
            has_process = cur.fetchone()[0] > 0
            cur.execute(_MY_BASE_SQL)
            base = cur.fetchall()
            tls_rows, pfs_problem = _mysql_tls_rows(cur, bool(pfs_on))
    except pymysql.Error as exc:
        raise ProbeError(f"cannot list sessions on {target.server}: {target.mask(str(exc))}") from None
    finally:
        conn.close()
    problems = [p for p in (pfs_problem, None if has_process else _NO_PROCESS) if p]
    missing = "performance_schema is OFF" if not pfs_on else "not visible in performance_schema"
    sessions = tuple(_my_session(row, tls_rows, own_id, missing) for row in base)
    hidden = sum(1 for x in sessions if x.tls is None)
    visibility = Visibility.UNKNOWN if problems or hidden else Visibility.COMPLETE
    reason = "; ".join(problems) or (
        f"{count(hidden, 'session')} {plural(hidden, 'has')} no performance_schema thread" if hidden else None
    )
    return SessionListing("mysql", target.server, str(version), sessions, visibility, reason, hidden)


_NO_PROCESS = (
    "the account lacks the PROCESS privilege, so it sees only its own sessions: "
    "other clients may be connected, with or without TLS"
)


def _mysql_tls_rows(cur: Any, pfs_on: bool) -> tuple[dict[int, tuple[Any, ...]], str | None]:
    import pymysql

    if not pfs_on:
        return {}, (
            "performance_schema is OFF on this server, so TLS use per session cannot be read "
            "(set performance_schema=1, for RDS in the parameter group, and restart)"
        )
    try:
        cur.execute(_MY_PFS_SQL)
    except pymysql.Error as exc:
        return {}, f"cannot read performance_schema ({exc.args[-1]}): grant SELECT on it"
    return {int(r[0]): r[1:] for r in cur.fetchall()}, None


def _my_session(
    row: tuple[Any, ...], tls_rows: Mapping[int, tuple[Any, ...]], own_id: int, missing: str
) -> Session:
    pid, user, host, db = row
    addr, _, port = (host or "").rpartition(":") if host and ":" in host else (host, "", "")
    info = tls_rows.get(int(pid))
    common = {
        "id": int(pid),
        "user": user,
        "client_addr": addr or None,
        "client_port": int(port) if port.isdigit() else None,
        "database": db,
        "is_self": int(pid) == int(own_id),
    }
    if info is None:
        return Session(application=None, connection=None, tls=None, tls_version=None, cipher=None,
                       note=missing, **common)  # fmt: skip
    conn_type, version, cipher, app = info
    return Session(
        application=app,
        connection=conn_type,
        tls=conn_type == "SSL/TLS" or bool(version),
        tls_version=version or None,
        cipher=cipher or None,
        **common,
    )
