"""Real PostgreSQL 15 and MariaDB 10.11 servers with TLS, for tests.

The Debian packages are installed with apt when they are missing and we run as root (with a
policy-rc.d so that apt starts no service on 5432/3306); otherwise the tests are skipped, or fail
when RDSCA_REQUIRE_REAL=1. Each server runs from a temp directory as an unprivileged user, on a
free loopback port, with a server certificate from the "old" RDS-like hierarchy; `rotate("new")`
swaps in the new hierarchy's certificate and reloads without a restart.

Servers are started once per test process (`postgres()`, `mariadb()`, `mariadb(pfs=False)`) and
stopped when its session ends (`stop_all`, from conftest's pytest_sessionfinish: an xdist worker
leaves with os._exit, so atexit alone left two servers running after every `make test`); test
modules wrap them in session fixtures.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest

from rdsca.sandbox.pki import Hierarchy, ServerCert, make_hierarchy

PG_BIN = Path("/usr/lib/postgresql/15/bin")
MARIADBD = Path("/usr/sbin/mariadbd")
PASSWORDS = {"admin": "admin-pw-1", "monitor": "monitor-pw-2", "app": "app-secret-pw-3", "low": "low-pw-4"}


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("RDSCA_REQUIRE_REAL") == "1":
        pytest.fail(f"real database servers required (RDSCA_REQUIRE_REAL=1): {reason}")
    pytest.skip(reason)


@cache
def _install() -> str | None:
    """Install the packages if we can; the reason they are unavailable, or None."""
    missing = [
        p for p, b in (("postgresql", PG_BIN / "initdb"), ("mariadb-server", MARIADBD)) if not b.exists()
    ]
    if not missing:
        return None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return f"{', '.join(missing)} not installed and not root with apt-get to install it"
    policy = Path("/usr/sbin/policy-rc.d")
    if "exit 101" not in (policy.read_text() if policy.exists() else ""):
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            return f"{' '.join(cmd)} failed: {done.stderr.strip()[-300:]}"
    return None


def require_servers() -> None:
    reason = _install()
    if reason:
        _skip_or_fail(reason)


def _run_user() -> str | None:
    """The unprivileged account servers run as when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "mysql", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    return "nobody"


def _as_user(cmd: list[str]) -> list[str]:
    user = _run_user()
    return ["runuser", "-u", user, "--", *cmd] if user else cmd


def _chown(path: Path) -> None:
    user = _run_user()
    if user:
        pw = pwd.getpwnam(user)
        for p in [path, *path.rglob("*")]:
            os.chown(p, pw.pw_uid, pw.pw_gid)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Pki:
    """Both hierarchies, their server certificates and the bundles clients hold."""

    dir: Path
    old: Hierarchy
    new: Hierarchy
    servers: dict[str, ServerCert] = field(compare=False)

    @property
    def old_bundle(self) -> Path:
        return self.dir / "old-roots.pem"

    @property
    def new_bundle(self) -> Path:
        return self.dir / "new-roots.pem"

    @property
    def both_bundle(self) -> Path:
        return self.dir / "both-roots.pem"

    @property
    def known_cas(self) -> Path:
        """Roots and intermediates of both, for rdsca's catalogue (`--known-ca`)."""
        return self.dir / "known-cas.pem"


@cache
def pki() -> Pki:
    now = datetime.now(UTC)
    d = Path(tempfile.mkdtemp(prefix="rdsca-pki-"))
    atexit.register(shutil.rmtree, d, True)
    old, new = make_hierarchy("old", now=now), make_hierarchy("new", now=now)
    (d / "old-roots.pem").write_bytes(old.root_pem())
    (d / "new-roots.pem").write_bytes(new.root_pem())
    (d / "both-roots.pem").write_bytes(old.root_pem() + new.root_pem())
    (d / "known-cas.pem").write_bytes(old.ca_pem() + new.ca_pem())
    servers = {"old": old.issue_server(now=now), "new": new.issue_server(now=now)}
    return Pki(d, old, new, servers)


class _Server:
    name = "server"

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=f"rdsca-{self.name}-"))
        self.dir.chmod(0o755)
        self.port = free_port()
        self.host = "127.0.0.1"
        self.cert = self.dir / "server.crt"
        self.key = self.dir / "server.key"
        self.generation = "old"
        self._proc: subprocess.Popen[bytes] | None = None

    def _write_cert(self, generation: str) -> None:
        pki().servers[generation].write(self.cert, self.key)
        _chown(self.dir)
        self.generation = generation

    def log(self) -> str:
        path = self.dir / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        pid_file = self.dir / "mysqld.pid"
        if self._proc and self._proc.poll() is None and pid_file.exists():
            # Throw-away data: kill the server we started (by its pid file) rather than wait for
            # a clean shutdown; runuser, its parent, then exits on its own.
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
        if self._proc and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class Postgres(_Server):
    name = "pg"

    def start(self) -> Postgres:
        data = self.dir / "data"
        self._write_cert("old")
        _check(_as_user([str(PG_BIN / "initdb"), "-D", str(data), "-U", "admin", "--no-sync",
                         "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8"]))  # fmt: skip
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.dir}'\nssl = on\n"
                f"ssl_cert_file = '{self.cert}'\nssl_key_file = '{self.key}'\n"
                "fsync = off\nshared_buffers = 16MB\nmax_connections = 40\n"
            )
        _check(_as_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(self.dir / "server.log"),
                         "-w", "-t", "30", "start"]))  # fmt: skip
        self.data = data
        with self.admin() as conn:
            conn.execute(f"ALTER ROLE admin PASSWORD '{PASSWORDS['admin']}'")
            conn.execute(f"CREATE ROLE monitor LOGIN PASSWORD '{PASSWORDS['monitor']}' IN ROLE pg_monitor")
            conn.execute(f"CREATE ROLE app LOGIN PASSWORD '{PASSWORDS['app']}'")
            conn.execute(f"CREATE ROLE low LOGIN PASSWORD '{PASSWORDS['low']}'")
        return self

    def admin(self):  # type: ignore[no-untyped-def]
        import psycopg

        return psycopg.connect(host=str(self.dir), port=self.port, user="admin", dbname="postgres",
                               autocommit=True)  # fmt: skip

    def dsn(self, user: str, *, password: bool = False, **params: str) -> str:
        cred = f"{user}:{PASSWORDS[user]}" if password else user
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"postgresql://{cred}@{self.host}:{self.port}/postgres" + (f"?{query}" if query else "")

    def rotate(self, generation: str) -> None:
        """Serve `generation`'s certificate: rewrite the files, pg_reload_conf(), wait for it."""
        if generation == self.generation:
            return
        self._write_cert(generation)
        with self.admin() as conn:
            conn.execute("SELECT pg_reload_conf()")
        _wait_for_chain(self.host, self.port, "postgres", pki().servers[generation])

    def stop(self) -> None:
        if getattr(self, "data", None):
            subprocess.run(_as_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                                     "stop"]), capture_output=True, timeout=30)  # fmt: skip
        super().stop()


class MariaDB(_Server):
    name = "mariadb"

    def __init__(self, pfs: bool = True) -> None:
        super().__init__()
        self.pfs = pfs

    def start(self) -> MariaDB:
        data = self.dir / "data"
        self._write_cert("old")
        init = self.dir / "init.sql"
        init.write_text(_MARIADB_INIT)
        _chown(self.dir)
        _check(_as_user(["mariadb-install-db", "--no-defaults", f"--datadir={data}",
                         "--auth-root-authentication-method=normal", "--skip-test-db"]))  # fmt: skip
        cmd = [str(MARIADBD), "--no-defaults", f"--datadir={data}", f"--port={self.port}",
               "--bind-address=127.0.0.1", f"--socket={self.dir / 'mysqld.sock'}",
               f"--pid-file={self.dir / 'mysqld.pid'}", f"--log-error={self.dir / 'server.log'}",
               f"--ssl-cert={self.cert}", f"--ssl-key={self.key}", f"--init-file={init}",
               f"--performance-schema={'ON' if self.pfs else 'OFF'}", "--skip-name-resolve",
               "--innodb-buffer-pool-size=16M", "--skip-log-bin", "--max-connections=40"]  # fmt: skip
        self._proc = subprocess.Popen(_as_user(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.admin().close()
                return self
            except Exception:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"mariadbd did not start:\n{self.log()[-2000:]}") from None
                time.sleep(0.1)

    def admin(self):  # type: ignore[no-untyped-def]
        import pymysql

        return pymysql.connect(host=self.host, port=self.port, user="admin", password=PASSWORDS["admin"],
                               ssl_disabled=True, autocommit=True)  # fmt: skip

    def dsn(self, user: str, *, password: bool = False, **params: str) -> str:
        cred = f"{user}:{PASSWORDS[user]}" if password else user
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"mariadb://{cred}@{self.host}:{self.port}/" + (f"?{query}" if query else "")

    def rotate(self, generation: str) -> None:
        """Serve `generation`'s certificate: rewrite the files, FLUSH SSL (synchronous)."""
        if generation == self.generation:
            return
        self._write_cert(generation)
        conn = self.admin()
        try:
            with conn.cursor() as cur:
                cur.execute("FLUSH SSL")
        finally:
            conn.close()


_MARIADB_INIT = f"""
CREATE USER IF NOT EXISTS 'admin'@'%' IDENTIFIED BY '{PASSWORDS["admin"]}';
GRANT ALL ON *.* TO 'admin'@'%' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS 'monitor'@'%' IDENTIFIED BY '{PASSWORDS["monitor"]}';
GRANT PROCESS ON *.* TO 'monitor'@'%';
GRANT SELECT ON performance_schema.* TO 'monitor'@'%';
CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY '{PASSWORDS["app"]}';
CREATE USER IF NOT EXISTS 'low'@'%' IDENTIFIED BY '{PASSWORDS["low"]}';
"""


def _check(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def _wait_for_chain(host: str, port: int, protocol: str, expected: ServerCert, timeout: float = 10) -> None:
    from cryptography.hazmat.primitives import hashes

    from rdsca.readiness.probe import Endpoint, Protocol, probe

    want = expected.leaf.cert.fingerprint(hashes.SHA256()).hex()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe(Endpoint(host, port, Protocol(protocol)), timeout=2)
        if result.chain and result.chain[0].sha256 == want:
            return
        time.sleep(0.05)
    raise RuntimeError(f"the server on port {port} did not pick up the new certificate")


_STARTED: list[_Server] = []


def _started(server: _Server) -> None:
    _STARTED.append(server)
    atexit.register(server.stop)  # a process that is not a pytest session (a helper script)


def stop_all() -> None:
    """Stop every server this process started (each stop is safe to repeat)."""
    while _STARTED:
        server = _STARTED.pop()
        try:
            server.stop()
        except Exception as exc:  # a stop that fails must not fail the finished session
            print(f"could not stop {server.name} in {server.dir}: {exc!r}", file=sys.stderr)


@cache
def postgres() -> Postgres:
    require_servers()
    server = Postgres()
    _started(server)
    return server.start()


@cache
def mariadb(pfs: bool = True) -> MariaDB:
    require_servers()
    server = MariaDB(pfs=pfs)
    _started(server)
    return server.start()
