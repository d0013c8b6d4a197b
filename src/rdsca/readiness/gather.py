"""Gather readiness evidence for a fleet: probe every endpoint, list sessions, check bundles and trees.

Everything here talks to the network or the disk; the verdict itself is `readiness.verdict.judge`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rdsca import engines
from rdsca.catalog import Catalog
from rdsca.errors import RdscaError
from rdsca.model import Fleet, Instance
from rdsca.readiness.probe import Endpoint, ProbeResult, probe_many
from rdsca.readiness.probe_wire import Protocol
from rdsca.readiness.scan import ScanResult, scan_tree
from rdsca.readiness.scan_judge import WILL_BREAK
from rdsca.readiness.server_tls import ParameterGroup, parameter_of
from rdsca.readiness.sessions import list_sessions, parse_dsn
from rdsca.readiness.trust_check import TrustResult, check_bundle
from rdsca.readiness.trust_settings import FALLBACK
from rdsca.readiness.verdict import Evidence, InstanceReadiness, SessionEvidence, judge

SESSION_WORKERS = 8
# The DB parameter group of each instance given, by instance key (rdsca.aws.parameters behind it).
GroupReader = Callable[[Sequence[Instance]], Mapping[str, ParameterGroup]]


def protocol_for(engine: str) -> Protocol | None:
    """How to reach an engine's TLS without credentials; None when rdsca cannot (SQL Server's TDS)."""
    protocol = engines.facts(engine).probe_protocol
    return None if protocol is None else Protocol(protocol)


def endpoints_of(instances: Sequence[Instance]) -> tuple[list[Endpoint], dict[str, str]]:
    """Endpoints to probe, and why the others are not probed (keyed by instance key)."""
    endpoints, skipped = [], {}
    for inst in instances:
        protocol = protocol_for(inst.engine)
        if protocol is None:
            skipped[inst.key] = f"rdsca cannot probe {inst.engine} (TDS) endpoints"
        elif not inst.endpoint or not inst.port:
            skipped[inst.key] = f"no endpoint (status {inst.status})"
        else:
            endpoints.append(Endpoint(inst.endpoint, inst.port, protocol, label=inst.key))
    return endpoints, skipped


@dataclass(frozen=True)
class ReadinessInputs:
    target_ca: str
    bundles: tuple[Path, ...] = ()
    bundle_password: str | None = None
    scans: tuple[Path, ...] = ()
    dsn_template: str | None = None
    db_password: str | None = None
    probe: bool = True
    timeout: float = 5.0
    catalog: Catalog | None = None  # default: the built-in catalogue
    parameter_groups: GroupReader | None = None  # None: the parameter groups are not read


def _sessions(inst: Instance, template: str, password: str | None, timeout: float) -> SessionEvidence:
    dsn = template.format(endpoint=inst.endpoint, port=inst.port, id=inst.id, region=inst.region)
    try:
        return SessionEvidence(list_sessions(parse_dsn(dsn, password=password), timeout=timeout))
    except RdscaError as exc:
        return SessionEvidence(None, str(exc))


def _falls_back(scans: Sequence[ScanResult]) -> bool:
    """A scanned client verifies, fails, then tries plaintext: the server's parameter group decides."""
    return any(
        s.verdict == WILL_BREAK and s.setting.category == FALLBACK for scan in scans for s in scan.settings
    )


def _parameter_groups(
    instances: Sequence[Instance], inputs: ReadinessInputs, scans: Sequence[ScanResult]
) -> Mapping[str, ParameterGroup]:
    """Read only when a finding depends on it, and only for the engines whose group decides."""
    if inputs.parameter_groups is None or not _falls_back(scans):
        return {}
    return inputs.parameter_groups([i for i in instances if parameter_of(i) and i.parameter_group])


@dataclass(frozen=True)
class ReadinessResult:
    instances: tuple[InstanceReadiness, ...]
    bundles: tuple[TrustResult, ...]  # each given bundle, checked once for every region in scope
    scans: tuple[ScanResult, ...]


def gather(fleet: Fleet, inputs: ReadinessInputs, now: datetime) -> ReadinessResult:
    """Evidence for every managed instance of the fleet, then a verdict each."""
    instances = [i for i in fleet.instances if engines.rotated_by_rdsca(i.engine) and i.ca]
    regions = tuple(sorted({i.region for i in instances}))
    bundles: tuple[TrustResult, ...] = tuple(
        check_bundle(
            path, inputs.target_ca, regions, now=now, password=inputs.bundle_password, catalog=inputs.catalog
        )
        for path in inputs.bundles
    )
    scans: tuple[ScanResult, ...] = tuple(
        scan_tree(path, inputs.target_ca, regions, now=now, catalog=inputs.catalog) for path in inputs.scans
    )
    probes: dict[str, ProbeResult] = {}
    skipped: dict[str, str] = {}
    if inputs.probe:
        endpoints, skipped = endpoints_of(instances)
        for result in probe_many(endpoints, timeout=inputs.timeout, now=now, catalog=inputs.catalog):
            probes[str(result.endpoint.label)] = result
    groups = _parameter_groups(instances, inputs, scans)
    sessions: dict[str, SessionEvidence] = {}
    if inputs.dsn_template:
        template, password, timeout = inputs.dsn_template, inputs.db_password, inputs.timeout
        reachable = [i for i in instances if i.endpoint]
        with ThreadPoolExecutor(max_workers=SESSION_WORKERS) as pool:
            listed = pool.map(lambda i: _sessions(i, template, password, timeout), reachable)
            sessions = {i.key: ev for i, ev in zip(reachable, listed, strict=True)}
    out = []
    for inst in instances:
        evidence = Evidence(
            probe=probes.get(inst.key),
            probe_skipped=skipped.get(inst.key) or (None if inputs.probe else "--no-probe"),
            sessions=sessions.get(inst.key),
            bundles=bundles,
            scans=scans,
            parameter_group=groups.get(inst.key),
        )
        region = fleet.region_cas(inst.account_id, inst.region)
        out.append(judge(inst, region, inputs.target_ca, evidence))
    return ReadinessResult(tuple(out), bundles, scans)
