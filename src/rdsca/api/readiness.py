"""Readiness use cases: will the clients keep connecting after a CA change?

`probe` and `probe_instances` read the TLS chain endpoints present, `sessions` lists who connects
with TLS, `trust_check` / `trust_scan` / `trust_catalogue` judge trust bundles and source trees
against the catalogue of RDS CAs, and `readiness` combines all of them into a verdict per
instance. Each takes plain arguments and injected collaborators (the AWS targets, a clock) and
returns a frozen result that `rdsca.report.probe`, `rdsca.report.trust` and
`rdsca.report.readiness` render. Nothing here prints, prompts or exits; bad input is a
`ConfigError` (messages name the CLI flag that carries the value).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from rdsca import engines as engine_table
from rdsca.api.audit import Clock, TargetSource, read_fleet, utc_now
from rdsca.aws.session import ResolvedTarget
from rdsca.catalog import Catalog, KnownCA, load_catalog
from rdsca.errors import ConfigError
from rdsca.files import BUNDLE_LIMIT, check_input, read_input
from rdsca.model import Fleet, Instance, TargetStatus
from rdsca.readiness.probe import DEFAULT_TIMEOUT, Endpoint, ProbeResult, Protocol, probe_many
from rdsca.readiness.probe import probe as probe_endpoint
from rdsca.readiness.probe_chain import TrustBundle
from rdsca.redaction import register_secret

if TYPE_CHECKING:  # imported where they are used: `import rdsca.api` (every command) stays cheap
    from rdsca.readiness.gather import ReadinessResult  # keystores (jks), drivers, the scanner
    from rdsca.readiness.scan import ScanLimits, ScanResult
    from rdsca.readiness.server_tls import ParameterGroup
    from rdsca.readiness.sessions import SessionListing
    from rdsca.readiness.trust_check import TrustResult
    from rdsca.readiness.verdict import InstanceReadiness

DEFAULT_CA = "rds-ca-rsa2048-g1"
SESSIONS_TIMEOUT = 10.0
READINESS_TIMEOUT = 5.0
# A HOST:PORT without a port: the port of the engines that speak the protocol.
DEFAULT_PORTS = {
    Protocol.POSTGRES: engine_table.facts("postgres").default_port,
    Protocol.MYSQL: engine_table.facts("mysql").default_port,
}
_HOSTPORT = re.compile(r"^(?:\[(?P<v6>[0-9a-fA-F:.]+)\]|(?P<host>[A-Za-z0-9_.-]+))(?::(?P<port>\d+))?$")


@dataclass(frozen=True)
class ProbeReport:
    """What one endpoint presents and, with a bundle, whether a client using it would connect."""

    result: ProbeResult


@dataclass(frozen=True)
class FleetProbeReport:
    """The endpoint of every selected instance, probed with the protocol its engine speaks."""

    fleet: Fleet
    results: tuple[ProbeResult, ...]
    not_probed: tuple[tuple[str, str], ...]  # (instance key, why), sorted by key
    with_bundle: bool

    @property
    def failed(self) -> tuple[TargetStatus, ...]:
        return self.fleet.failed


@dataclass(frozen=True)
class SessionsReport:
    """The live sessions of one database and whether each uses TLS."""

    listing: SessionListing


@dataclass(frozen=True)
class TrustCheckReport:
    """One trust bundle judged against a CA in each region checked."""

    result: TrustResult
    list_certificates: bool = True  # the table lists every certificate of the bundle

    @property
    def trusted(self) -> bool:
        return self.result.trusted


@dataclass(frozen=True)
class TrustScanReport:
    """The trust bundles and database TLS settings found in a source tree, each with a verdict."""

    result: ScanResult
    show_all: bool = False  # the table also lists certificate files that hold no RDS CA

    @property
    def will_break(self) -> bool:
        return self.result.will_break


@dataclass(frozen=True)
class CatalogueReport:
    """The RDS CAs rdsca knows, and the certificates `extra` bundles added to them."""

    catalog: Catalog
    added: tuple[KnownCA, ...]
    extended: bool  # bundles were given (the table says what they added, even nothing)


@dataclass(frozen=True)
class ReadinessReport:
    """A verdict per managed instance for `target_ca`, with the evidence checked once for all."""

    fleet: Fleet
    target_ca: str
    result: ReadinessResult

    @property
    def instances(self) -> tuple[InstanceReadiness, ...]:
        return self.result.instances

    @property
    def at_risk(self) -> bool:
        from rdsca.readiness.verdict import Readiness

        return any(r.verdict is Readiness.AT_RISK for r in self.result.instances)

    @property
    def failed(self) -> tuple[TargetStatus, ...]:
        return self.fleet.failed


def parse_endpoint(text: str, protocol: Protocol, server_name: str | None = None) -> Endpoint:
    """HOST:PORT ([V6]:PORT); the port may be left out for PostgreSQL and MySQL."""
    m = _HOSTPORT.match(text.strip())
    port = None if not m else int(m.group("port")) if m.group("port") else DEFAULT_PORTS.get(protocol)
    if not m or port is None:
        raise ConfigError(f"{text!r}: expected HOST:PORT, for example db.example.com:5432")
    if not 0 < port < 65536:
        raise ConfigError(f"{text!r}: port {port} is out of range 1-65535")
    return Endpoint(m.group("v6") or m.group("host"), port, protocol, server_name)


def load_trust_bundle(path: Path, password: str | None = None) -> TrustBundle:
    """The certificates of a bundle file in any format `rdsca trust check` reads (PEM, DER,
    PKCS#7, JKS/JCEKS, PKCS#12; `password` for keystores); bad input is a ConfigError (exit 2)."""
    from rdsca.readiness.bundles import BundleError, read_certificates

    data = read_input(path, what="--bundle", limit=BUNDLE_LIMIT)
    try:
        _fmt, certs = read_certificates(data, f"--bundle {path}", password=password)
    except BundleError as exc:
        raise ConfigError(str(exc)) from exc
    return TrustBundle(str(path), tuple(certs))


def probe(
    target: str,
    protocol: Protocol | str = Protocol.POSTGRES,
    *,
    bundle: Path | None = None,
    bundle_password: str | None = None,
    server_name: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    catalog: Catalog | None = None,
    now: Clock = utc_now,
) -> ProbeReport:
    """The chain `target` (HOST:PORT) presents; no credentials are sent. Every way the endpoint can
    fail to answer is an outcome of the result, not an exception."""
    endpoint = parse_endpoint(target, Protocol(protocol), server_name)
    trust = load_trust_bundle(bundle, bundle_password) if bundle is not None else None
    return ProbeReport(
        probe_endpoint(endpoint, timeout=timeout, bundle=trust, catalog=catalog or load_catalog(), now=now())
    )


def probe_instances(
    targets: TargetSource,
    *,
    bundle: Path | None = None,
    bundle_password: str | None = None,
    engines: Sequence[str] = (),
    tags: Sequence[tuple[str, str]] = (),
    id_globs: Sequence[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
    catalog: Catalog | None = None,
    now: Clock = utc_now,
) -> FleetProbeReport:
    """Every selected instance's endpoint, probed concurrently; those rdsca cannot probe (SQL
    Server's TDS, no endpoint yet) are in `not_probed`, failed targets in `failed`."""
    from rdsca.readiness.gather import endpoints_of

    trust = load_trust_bundle(bundle, bundle_password) if bundle is not None else None
    fleet = read_fleet(targets, engines=engines, tags=tags, id_globs=id_globs, now=now)
    endpoints, skipped = endpoints_of([i for i in fleet.instances if i.ca])
    results = probe_many(
        endpoints, timeout=timeout, bundle=trust, catalog=catalog or load_catalog(), now=now()
    )
    return FleetProbeReport(fleet, tuple(results), tuple(sorted(skipped.items())), trust is not None)


def sessions(dsn: str, *, password: str | None = None, timeout: float = SESSIONS_TIMEOUT) -> SessionsReport:
    """The live sessions of the database `dsn` names. The password (given or in the DSN) is
    registered with `rdsca.redaction`, so no log line can show it."""
    from rdsca.readiness.sessions import list_sessions, parse_dsn

    target = parse_dsn(dsn, password=password)
    register_secret(target.password)
    return SessionsReport(list_sessions(target, timeout=timeout))


def trust_regions(catalog: Catalog, ca_id: str, regions: Sequence[str]) -> tuple[str, ...] | None:
    """`regions` checked against the catalogue (None: every region it knows for `ca_id`)."""
    if ca_id not in catalog.ca_ids():
        raise ConfigError(f"--for {ca_id!r}: unknown CA; known: {', '.join(catalog.ca_ids())}")
    for region in regions:
        if not catalog.roots(ca_id, region):
            known = ", ".join(catalog.regions(ca_id)) or "none"
            raise ConfigError(
                f"--region {region}: the catalogue knows no {ca_id} root there (known: {known}). "
                "For a newer region add AWS's current bundle with --catalogue-bundle FILE"
            )
    return tuple(regions) or None


def trust_check(
    bundle: Path,
    ca_id: str = DEFAULT_CA,
    regions: Sequence[str] = (),
    *,
    password: str | None = None,
    max_bytes: int = 10 * 1024 * 1024,
    catalog: Catalog | None = None,
    now: Clock = utc_now,
) -> TrustCheckReport:
    """Does a client verifying against `bundle` (PEM, DER, PKCS#7, JKS/JCEKS, PKCS#12) trust
    servers of `ca_id` in each region? A file that is not a bundle is a BundleError."""
    from rdsca.readiness.bundles import read_bundle
    from rdsca.readiness.trust_check import evaluate

    cat = catalog or load_catalog()
    wanted = trust_regions(cat, ca_id, regions)
    read = read_bundle(bundle, password=password, catalog=cat, max_bytes=max_bytes)
    return TrustCheckReport(evaluate(read, ca_id, wanted, now=now(), catalog=cat))


def trust_scan(
    root: Path,
    ca_id: str = DEFAULT_CA,
    regions: Sequence[str] = (),
    *,
    limits: ScanLimits | None = None,
    password: str | None = None,
    catalog: Catalog | None = None,
    now: Clock = utc_now,
) -> TrustScanReport:
    """The trust bundles and database TLS settings under `root` (a source tree or an unpacked
    image), each judged for `ca_id`: will-break, ok, no-verification, plaintext-fallback, ..."""
    from rdsca.readiness.scan import ScanLimits, scan_tree

    if not root.is_dir():
        raise ConfigError(f"{root}: not a directory (use `rdsca trust check` for one file)")
    cat = catalog or load_catalog()
    wanted = trust_regions(cat, ca_id, regions)
    bounds = limits or ScanLimits()
    return TrustScanReport(
        scan_tree(root, ca_id, wanted, now=now(), catalog=cat, limits=bounds, password=password)
    )


def trust_catalogue(extra: Sequence[Path] = ()) -> CatalogueReport:
    """The built-in catalogue of RDS CAs, extended with the roots of `extra` (newer AWS bundles)."""
    from rdsca.readiness.bundles import read_bundle

    base = load_catalog()
    for path in extra:  # fail early, with the bundle reader's clear messages
        read_bundle(path, catalog=base)
    try:
        cat = load_catalog(extra=extra)
    except ValueError as exc:
        raise ConfigError(f"--catalogue-bundle: not a PEM bundle ({exc})") from exc
    known = {e.sha256 for e in base.entries}
    added = tuple(e for e in cat.entries if e.sha256 not in known)
    return CatalogueReport(cat, added, bool(extra))


def _check_readiness_inputs(
    target_ca: str, bundles: Sequence[Path], scans: Sequence[Path], dsn: str | None, catalog: Catalog
) -> None:
    known = catalog.ca_ids()
    if target_ca not in known:
        raise ConfigError(f"--to {target_ca}: not a known RDS CA (known: {', '.join(known)})")
    for path in bundles:
        check_input(path, what="--bundle")
    for path in scans:
        if not path.is_dir():
            raise ConfigError(f"--scan {path}: no such directory")
    if dsn:
        try:
            dsn.format(endpoint="h", port=1, id="i", region="r")
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(
                f"--sessions-dsn: unknown placeholder {exc}; use {{endpoint}} {{port}} {{id}} {{region}}"
            ) from exc


def readiness(
    targets: TargetSource,
    target_ca: str,
    *,
    bundles: Sequence[Path] = (),
    bundle_password: str | None = None,
    scans: Sequence[Path] = (),
    sessions_dsn: str | None = None,
    db_password: str | None = None,
    probe: bool = True,
    timeout: float = READINESS_TIMEOUT,
    engines: Sequence[str] = (),
    tags: Sequence[tuple[str, str]] = (),
    id_globs: Sequence[str] = (),
    catalog: Catalog | None = None,
    now: Clock = utc_now,
) -> ReadinessReport:
    """Per managed instance of `targets`: ready, at-risk or unknown after the change to `target_ca`,
    from the probe of its endpoint, its live sessions (`sessions_dsn`, with {endpoint} {port} {id}
    {region} filled per instance), the trust `bundles` and the settings found in `scans`.

    The inputs are checked before the targets are resolved (`targets` may be a callable), so bad
    input costs no AWS call.
    """
    from rdsca.readiness.gather import ReadinessInputs, gather

    cat = catalog or load_catalog()
    _check_readiness_inputs(target_ca, bundles, scans, sessions_dsn, cat)
    resolved = list(targets() if callable(targets) else targets)  # the parameter groups' reads need them
    inputs = ReadinessInputs(
        target_ca=target_ca,
        bundles=tuple(bundles),
        bundle_password=bundle_password,
        scans=tuple(scans),
        dsn_template=sessions_dsn,
        db_password=db_password,
        probe=probe,
        timeout=timeout,
        catalog=cat,
        parameter_groups=partial(_read_parameter_groups, resolved),
    )
    fleet = read_fleet(resolved, engines=engines, tags=tags, id_globs=id_globs, now=now)
    return ReadinessReport(fleet, target_ca, gather(fleet, inputs, now()))


def _read_parameter_groups(
    resolved: Sequence[ResolvedTarget], instances: Sequence[Instance]
) -> dict[str, ParameterGroup]:
    """The DB parameter group of each instance, by instance key: each distinct group read once per
    account x region (rdsca.aws.parameters), a refusal kept as the group's error."""
    from rdsca.aws.parameters import read_groups
    from rdsca.readiness.server_tls import PARAMETER_OF, ParameterGroup

    keys = {i.key: (i.account_id, i.region, i.parameter_group) for i in instances if i.parameter_group}
    reads = read_groups(resolved, keys.values(), names=sorted(set(PARAMETER_OF.values())))
    return {
        key: ParameterGroup(
            group, reads[(account, region, group)].values, reads[(account, region, group)].error
        )
        for key, (account, region, group) in keys.items()
    }
