"""Fetch the certificate chain a database endpoint presents, without sending any credentials.

PostgreSQL: the 8-byte SSLRequest, one byte of answer (`S` or `N`), then TLS. MySQL / MariaDB: the
server greeting (CLIENT_SSL capability), the 32-byte SSLRequest packet, then TLS. `tls`: TLS at once
(DocumentDB, Oracle TCPS); which engine speaks which is `rdsca.engines`. Every way an endpoint can
fail to answer is a `ProbeResult` with an `Outcome`, never an exception. `probe_many` probes a fleet
concurrently (threads: see docs/benchmarks-probe.md for why).
"""

from __future__ import annotations

import socket
import ssl
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509

from rdsca.catalog import Catalog
from rdsca.readiness.probe_chain import (
    CertInfo,
    RdsMatch,
    TrustBundle,
    TrustVerdict,
    assess_trust,
    describe,
    identify_chain,
)
from rdsca.readiness.probe_wire import (
    Outcome,
    ProbeStop,
    Protocol,
    mysql_preamble,
    postgres_preamble,
    remaining,
)
from rdsca.words import count

DEFAULT_TIMEOUT = 5.0
DEFAULT_CONCURRENCY = 64


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    protocol: Protocol
    server_name: str | None = None  # SNI and hostname to verify; default: host
    label: str | None = None  # what the caller calls it (an instance id), carried through

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def verify_name(self) -> str:
        return self.server_name or self.host


@dataclass(frozen=True)
class BundleCheck:
    """Would a client using `bundle` (with hostname verification) connect?"""

    bundle: str  # the bundle's label
    trusted: bool | None  # None: the check could not be made (say why in `reason`)
    reason: str
    handshake_checked: bool  # True when a real verifying TLS handshake gave the verdict
    offline: TrustVerdict | None = None  # the same question answered from the chain alone


@dataclass(frozen=True)
class ProbeResult:
    endpoint: Endpoint
    outcome: Outcome
    message: str
    elapsed_s: float
    server_info: str | None = None  # MySQL / MariaDB version from the greeting
    tls_version: str | None = None
    cipher: str | None = None
    chain: tuple[CertInfo, ...] = ()
    full_chain: bool = True  # False when only the leaf could be read
    rds: RdsMatch | None = None
    bundle: BundleCheck | None = None
    probed_at: datetime | None = field(default=None, compare=False)

    def certificates(self) -> list[x509.Certificate]:
        """The presented chain, ready for `probe_chain.assess_trust` with any other bundle."""
        return [c.certificate() for c in self.chain]

    @property
    def offers_tls(self) -> bool | None:
        """True / False when the server said so; None when we could not find out."""
        if self.outcome in (Outcome.TLS, Outcome.TLS_FAILED):
            return True
        if self.outcome == Outcome.NO_TLS:
            return False
        return None


def reading_context() -> ssl.SSLContext:
    """A context that accepts any chain (we only read it) and old protocol versions."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():  # reading old servers' chains is the point here
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    return ctx


def verifying_context(bundle: TrustBundle) -> ssl.SSLContext:
    """What a careful client does: the bundle as its only CA file, hostname verification on."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if bundle.certs:
        ctx.load_verify_locations(cadata=bundle.cadata())
    return ctx


def probe(
    endpoint: Endpoint,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    bundle: TrustBundle | None = None,
    catalog: Catalog | None = None,
    now: datetime | None = None,
    _contexts: tuple[ssl.SSLContext, ssl.SSLContext | None] | None = None,
    _seen: dict[bytes, CertInfo] | None = None,
) -> ProbeResult:
    """Probe one endpoint. `timeout` bounds each connection (connect + preamble + handshake)."""
    now = now or datetime.now(UTC)
    read_ctx, verify_ctx = _contexts or (
        reading_context(),
        verifying_context(bundle) if bundle is not None else None,
    )
    started = time.monotonic()
    try:
        info, version, cipher, ders, full = _fetch(endpoint, read_ctx, timeout)
    except ProbeStop as stop:
        return ProbeResult(
            endpoint,
            stop.outcome,
            stop.message,
            time.monotonic() - started,
            stop.server_info,
            probed_at=now,
        )
    seen = _seen if _seen is not None else {}
    chain = tuple(seen.get(d) or seen.setdefault(d, describe(d, catalog)) for d in ders)
    rds = identify_chain(chain, catalog) if catalog is not None else None
    check = None
    if bundle is not None and verify_ctx is not None:
        check = _check_bundle(endpoint, chain, bundle, verify_ctx, timeout, now)
    return ProbeResult(
        endpoint,
        Outcome.TLS,
        f"TLS {version} offered; {count(chain, 'certificate')} presented",
        time.monotonic() - started,
        info,
        version,
        cipher,
        chain,
        full,
        rds,
        check,
        now,
    )


def probe_many(
    endpoints: Sequence[Endpoint],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    bundle: TrustBundle | None = None,
    catalog: Catalog | None = None,
    now: datetime | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> list[ProbeResult]:
    """Probe every endpoint, at most `concurrency` at a time; results in the order given."""
    if not endpoints:
        return []
    contexts = (reading_context(), verifying_context(bundle) if bundle is not None else None)
    now = now or datetime.now(UTC)
    workers = max(1, min(concurrency, len(endpoints)))
    seen: dict[bytes, CertInfo] = {}  # fleets share intermediates: parse each certificate once
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rdsca-probe") as pool:
        return list(
            pool.map(
                lambda ep: probe(
                    ep,
                    timeout=timeout,
                    bundle=bundle,
                    catalog=catalog,
                    now=now,
                    _contexts=contexts,
                    _seen=seen,
                ),
                endpoints,
            )
        )


def _fetch(
    endpoint: Endpoint, ctx: ssl.SSLContext, timeout: float
) -> tuple[str | None, str | None, str | None, list[bytes], bool]:
    """Connect, speak the preamble, handshake; (server info, version, cipher, DER chain, full)."""
    deadline = time.monotonic() + timeout
    sock = _connect(endpoint, deadline)
    try:
        info = _preamble(endpoint, sock, deadline)
        tls = _handshake(endpoint, sock, ctx, deadline, info)
        try:
            ders, full = _chain(tls)
            cipher = tls.cipher()
            return info, tls.version(), cipher[0] if cipher else None, ders, full
        finally:
            tls.close()
    finally:
        sock.close()


def _connect(endpoint: Endpoint, deadline: float) -> socket.socket:
    try:
        return socket.create_connection((endpoint.host, endpoint.port), timeout=remaining(deadline))
    except TimeoutError as exc:
        raise ProbeStop(Outcome.TIMEOUT, f"timed out connecting to {endpoint.address}") from exc
    except ConnectionRefusedError as exc:
        raise ProbeStop(
            Outcome.REFUSED, f"connection refused: nothing listens on {endpoint.address}"
        ) from exc
    except socket.gaierror as exc:
        raise ProbeStop(Outcome.UNREACHABLE, f"cannot resolve {endpoint.host}: {exc.strerror}") from exc
    except OSError as exc:
        raise ProbeStop(
            Outcome.UNREACHABLE, f"cannot reach {endpoint.address}: {exc.strerror or exc}"
        ) from exc


def _preamble(endpoint: Endpoint, sock: socket.socket, deadline: float) -> str | None:
    if endpoint.protocol == Protocol.POSTGRES:
        postgres_preamble(sock, deadline)
        return None
    if endpoint.protocol == Protocol.MYSQL:
        return mysql_preamble(sock, deadline)
    return None


def _handshake(
    endpoint: Endpoint, sock: socket.socket, ctx: ssl.SSLContext, deadline: float, info: str | None
) -> ssl.SSLSocket:
    try:
        sock.settimeout(remaining(deadline))
        # Python sends no SNI for an IP address, and checks the name only when ctx asks for it.
        tls = ctx.wrap_socket(sock, server_hostname=endpoint.verify_name, do_handshake_on_connect=False)
        tls.do_handshake()
        return tls
    except TimeoutError as exc:
        raise ProbeStop(Outcome.TIMEOUT, "timed out in the TLS handshake", info) from exc
    except ssl.SSLCertVerificationError:
        raise
    except ssl.SSLError as exc:
        what = _garbage_name(endpoint)
        reason = exc.reason or str(exc)
        if reason in ("WRONG_VERSION_NUMBER", "UNEXPECTED_RECORD", "RECORD_LAYER_FAILURE"):
            raise ProbeStop(Outcome.NOT_SERVER, f"not {what}: the TLS handshake got {reason}", info) from exc
        raise ProbeStop(Outcome.TLS_FAILED, f"TLS handshake failed: {reason}", info) from exc
    except (ConnectionError, OSError) as exc:
        raise ProbeStop(
            Outcome.CLOSED, "the server closed the connection in the TLS handshake", info
        ) from exc


def _garbage_name(endpoint: Endpoint) -> str:
    return {
        Protocol.POSTGRES: "a PostgreSQL server",
        Protocol.MYSQL: "a MySQL server",
        Protocol.TLS: "a TLS server",
    }[endpoint.protocol]


def _chain(tls: ssl.SSLSocket) -> tuple[list[bytes], bool]:
    """The chain as sent (3.11: private `get_unverified_chain`); else the leaf alone."""
    sslobj = getattr(tls, "_sslobj", None)
    getter = getattr(tls, "get_unverified_chain", None) or getattr(sslobj, "get_unverified_chain", None)
    if getter is not None:
        certs = getter() or []
        ders = [c if isinstance(c, bytes) else c.public_bytes(ssl._ssl.ENCODING_DER) for c in certs]  # type: ignore[attr-defined]
        if ders:
            return ders, True
    leaf = tls.getpeercert(binary_form=True)
    return ([leaf] if leaf else []), False


def _check_bundle(
    endpoint: Endpoint,
    chain: tuple[CertInfo, ...],
    bundle: TrustBundle,
    ctx: ssl.SSLContext,
    timeout: float,
    now: datetime,
) -> BundleCheck:
    """A second, verifying handshake with the bundle; the offline verdict explains a refusal."""
    certs = [c.certificate() for c in chain]
    offline = assess_trust(certs, bundle.certs, hostname=endpoint.verify_name, now=now)
    if not bundle.certs:
        return BundleCheck(bundle.label, False, "the bundle holds no certificate", False, offline)
    try:
        _fetch(endpoint, ctx, timeout)
    except ssl.SSLCertVerificationError as exc:
        why = exc.verify_message or exc.reason or str(exc)
        detail = f"{why}" + (f" ({offline.reason})" if not offline.trusted else "")
        return BundleCheck(bundle.label, False, detail, True, offline)
    except ProbeStop as stop:
        return BundleCheck(
            bundle.label,
            offline.trusted,
            f"verifying handshake failed ({stop.message}); from the chain alone: {offline.reason}",
            False,
            offline,
        )
    return BundleCheck(bundle.label, True, offline.reason, True, offline)
