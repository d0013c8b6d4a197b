"""Live TLS endpoints for sandbox instances: a PostgreSQL-, MySQL- or TLS-speaking listener each.

`listen_demo()` (called when the demo fleet is seeded) opens one listener on 127.0.0.1 per demo
instance rdsca can probe: postgres / aurora-postgresql (SSLRequest, then TLS), mysql / mariadb /
aurora-mysql (greeting with CLIENT_SSL, SSLRequest, then TLS) and docdb (TLS at once). Synthetic
fleets get none unless asked. One thread accepts on every listener; a small pool of threads runs
the short connections.

At each handshake the listener reads the instance from moto's backend (settling any finished
status transition) and presents a server certificate from the sandbox hierarchy of the CA it
*serves* (`CertificateDetails.CAIdentifier`), valid till its `CertificateDetails.ValidTill`: after a
rotation the next probe sees the new chain; after a CA change staged without a restart, the old
chain, until the instance restarts. While the instance is `rebooting` connections are closed at once.

The hook into moto: `DBInstance.endpoint` (the property moto's serialiser reads for `Endpoint`) is
wrapped so that an instance with a listener reports `Address=localhost`, `Port=<listener port>`;
every other instance keeps moto's made-up address. The listener is recorded on moto's own object,
so `/moto-api/reset` forgets it; the control API's reset also closes every listener.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import shutil
import socket
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from moto.rds.models import DBInstance, rds_backends

from rdsca import engines as engine_facts
from rdsca.sandbox import demo, endpoints_wire, fleet, lifecycle, process
from rdsca.sandbox.endpoints_pki import NAMING, SandboxPki, ServerIdentity

ADDRESS = "localhost"  # what DescribeDBInstances reports as Endpoint.Address
BIND_HOST = "127.0.0.1"
IO_TIMEOUT = 10.0  # seconds a client may take at each step
HANDLER_THREADS = 16
MAX_LISTENERS = 64  # listeners are for demo-sized fleets, not benchmarks
PKI_DIR = "sandbox-pki"
_ATTR = "_rdsca_listener"
_HOOK_FLAG = "_rdsca_endpoint_hook"

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Listener:
    account: str
    region: str
    instance_id: str
    engine: str
    engine_version: str
    protocol: str  # postgres | mysql | tls
    host: str
    port: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def protocol_for(engine: str) -> str | None:
    """What the listener speaks; None when rdsca cannot probe the engine (Neptune, SQL Server, ...)
    or its TLS is on a second, configured port (Oracle's SSL option), which the sandbox does not open."""
    found = engine_facts.facts(engine)
    return found.probe_protocol if found.tls_on_endpoint_port else None


class _Endpoints:
    """Every listener of this process, the accepting thread and the connection pool."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.selector = selectors.DefaultSelector()
        self.sockets: dict[tuple[str, str, str], tuple[Listener, socket.socket]] = {}
        self.pool: ThreadPoolExecutor | None = None
        self.thread: threading.Thread | None = None
        self._pki: SandboxPki | None = None
        self._connections = 0

    @property
    def pki(self) -> SandboxPki:
        with self.lock:
            if self._pki is None:
                self._pki = SandboxPki(_pki_directory())
            return self._pki

    def _start(self) -> None:
        if self.thread is None:
            self.pool = ThreadPoolExecutor(HANDLER_THREADS, thread_name_prefix="rdsca-endpoint")
            self.thread = threading.Thread(target=self._accept_loop, name="rdsca-endpoints", daemon=True)
            self.thread.start()

    def open(self, account: str, region: str, db: Any, protocol: str) -> Listener:
        key = (account, region, db.db_instance_identifier)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((BIND_HOST, 0))
        sock.listen(64)
        sock.setblocking(False)
        port = sock.getsockname()[1]
        version = str(db.engine_version)
        listener = Listener(account, region, key[2], db.engine, version, protocol, ADDRESS, port)
        with self.lock:
            self._close(key)
            self._start()
            self.sockets[key] = (listener, sock)
            self.selector.register(sock, selectors.EVENT_READ, listener)
            db.__dict__[_ATTR] = listener
        return listener

    def _close(self, key: tuple[str, str, str]) -> None:
        found = self.sockets.pop(key, None)
        if found is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(found[1])
            found[1].close()

    def close_all(self) -> int:
        with self.lock:
            keys = list(self.sockets)
            for key in keys:
                self._close(key)
            return len(keys)

    def _accept_loop(self) -> None:
        while True:
            events = self.selector.select(timeout=0.5)
            with self.lock:
                for key, _ in events:
                    try:
                        conn, _addr = key.fileobj.accept()  # type: ignore[union-attr]
                    except OSError:  # closed meanwhile, or another accept took it
                        continue
                    self._connections += 1
                    assert self.pool is not None
                    self.pool.submit(_handle, key.data, conn, self._connections)


ENDPOINTS = _Endpoints()


def _pki_directory() -> Path:
    """`<state dir>/sandbox-pki/<pid>`: each sandbox process has its own keys; dead ones' go."""
    base = process.state_dir() / PKI_DIR
    if base.is_dir():
        for child in base.iterdir():
            if child.name.isdigit() and int(child.name) != os.getpid() and not process.alive(int(child.name)):
                shutil.rmtree(child, ignore_errors=True)
    return base / str(os.getpid())


# --- one connection -------------------------------------------------------------------------------


def _handle(listener: Listener, conn: socket.socket, connection_id: int) -> None:
    try:
        with conn:
            conn.settimeout(IO_TIMEOUT)
            _serve(listener, conn, connection_id)
    except (OSError, endpoints_wire.Closed, ValueError):
        pass  # the client went away, timed out or refused our chain: the connection just ends
    except Exception:  # a bug here must not kill the pool's thread; say it in the sandbox log
        log.exception("sandbox endpoint %s:%s failed", listener.instance_id, listener.port)


def _serve(listener: Listener, conn: socket.socket, connection_id: int) -> None:
    db = _instance(listener)
    if db is None or lifecycle.settle(db) == "rebooting":
        return  # gone, or restarting: nothing answers, as with a real instance
    who = identity(listener, db)
    if who is None:
        return
    ctx = ENDPOINTS.pki.server_context(who)
    if listener.protocol == "postgres" and not endpoints_wire.postgres_accept(conn):
        return
    if listener.protocol == "mysql":
        version = endpoints_wire.mysql_server_version(listener.engine, listener.engine_version)
        if not endpoints_wire.mysql_accept(conn, version, connection_id):
            return
    with ctx.wrap_socket(conn, server_side=True) as tls:
        if listener.protocol == "postgres":
            endpoints_wire.postgres_after_tls(tls)
        elif listener.protocol == "mysql":
            endpoints_wire.mysql_after_tls(tls)
        else:
            tls.recv(1)


def _instance(listener: Listener) -> Any:
    backend = rds_backends[listener.account][listener.region]
    db = backend.databases.get(listener.instance_id)
    if db is None or db.__dict__.get(_ATTR) is not listener:
        return None
    return db


def identity(listener: Listener, db: Any) -> ServerIdentity | None:
    """The server certificate the instance presents now: its served CA and leaf valid-till."""
    ca = lifecycle.served_ca(db)
    valid_till = lifecycle.state(db).leaf_valid_till
    if ca not in NAMING or valid_till is None:
        return None
    days = lifecycle.LEAF_DAYS_NO_RESTART if lifecycle.without_restart(db) else lifecycle.LEAF_DAYS_RESTART
    return ServerIdentity(
        key=f"{listener.account}/{listener.region}/{listener.instance_id}",
        ca_id=ca,
        region=listener.region,
        hosts=(db.address, "localhost", "127.0.0.1"),
        valid_till=valid_till,
        days=days,
    )


# --- the hook into moto ------------------------------------------------------------------------


def install_endpoint_hook() -> None:
    """Wrap `DBInstance.endpoint` so that an instance with a listener reports it (idempotent)."""
    if getattr(DBInstance, _HOOK_FLAG, False):
        return
    original = DBInstance.endpoint

    def endpoint(db: Any) -> dict[str, Any]:
        listener: Listener | None = db.__dict__.get(_ATTR)
        if listener is None:
            return dict(original.fget(db))  # type: ignore[attr-defined]
        return {"Address": listener.host, "Port": listener.port}

    setattr(DBInstance, "endpoint", property(endpoint))  # noqa: B010
    setattr(DBInstance, _HOOK_FLAG, True)


# --- what the control API and the server call --------------------------------------------------


def listen(instances: Iterable[tuple[str, str, Any]]) -> list[Listener]:
    """A listener for each (account, region, DBInstance) rdsca can probe and whose CA is managed."""
    wanted = [
        (account, region, db, protocol)
        for account, region, db in instances
        if lifecycle.served_ca(db) in NAMING and (protocol := protocol_for(db.engine)) is not None
    ]
    if len(wanted) > MAX_LISTENERS:
        raise ValueError(f"{len(wanted)} endpoints asked; the sandbox opens at most {MAX_LISTENERS}")
    install_endpoint_hook()
    regions = sorted({region for _, region, _, _ in wanted} | set(demo.REGIONS))
    ENDPOINTS.pki.ensure(regions, {(str(lifecycle.served_ca(db)), r) for _, r, db, _ in wanted})
    return [ENDPOINTS.open(account, region, db, protocol) for account, region, db, protocol in wanted]


def listen_demo() -> list[Listener]:
    """Listeners for the demo fleet's instances (seed it first)."""
    found = []
    for item in demo.INSTANCES:
        db = rds_backends[item.account][item.region].databases.get(item.id)
        if db is not None:
            found.append((item.account, item.region, db))
    return listen(found)


def listen_seeded(kind: str, seeded: fleet.Seeded) -> list[Listener]:
    """Listeners for a fleet just seeded: the demo one, or every instance of the seeded targets."""
    if kind == "demo":
        return listen_demo()
    return listen(
        (account, region, db)
        for account in seeded.accounts
        for region in seeded.regions
        for db in list(rds_backends[account][region].databases.values())
    )


def close_all() -> int:
    return ENDPOINTS.close_all()


def listeners() -> list[Listener]:
    with ENDPOINTS.lock:
        return sorted(
            (listener for listener, _ in ENDPOINTS.sockets.values()),
            key=lambda x: (x.account, x.region, x.instance_id),
        )


def pki_info() -> dict[str, Any]:
    """Where the bundle files are (generated for the demo regions if needed), and their PEM text."""
    regions = sorted({x.region for x in listeners()} | set(demo.REGIONS))
    files = ENDPOINTS.pki.ensure(regions)
    return {
        "directory": str(ENDPOINTS.pki.directory),
        "files": files,
        "pem": {name: Path(path).read_text(encoding="ascii") for name, path in files.items()},
    }


__all__ = [
    "ADDRESS",
    "Listener",
    "close_all",
    "install_endpoint_hook",
    "listen",
    "listen_demo",
    "listen_seeded",
    "listeners",
    "pki_info",
    "protocol_for",
]
