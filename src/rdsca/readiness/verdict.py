"""Per instance: will its clients keep connecting after the CA change? Pure: evidence in, verdict out.

Evidence comes from three places, each optional: the trust bundles clients use (`--bundle`), the
settings and bundles found in source trees (`--scan`), the live sessions (`--sessions-dsn`) and
the TLS probe of the endpoint. The rules, first match wins for the verdict:

| rule | verdict |
|---|---|
| a given bundle does not trust the target CA in the instance's region | at-risk |
| a scanned setting or bundle will break (a client that verifies, then would fall back to
  plaintext, breaks unless the sessions or the instance's parameter group show the server admits
  plaintext: readiness.server_tls) | at-risk |
| the server offers no TLS at all | ready |
| every session is visible and none uses TLS | ready |
| bundles were given and all trust the target CA | ready |
| otherwise | unknown, saying what evidence is missing |
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from rdsca.model import Instance, RegionCAs
from rdsca.readiness.client_caps import TargetFit, fit
from rdsca.readiness.probe import ProbeResult
from rdsca.readiness.probe_wire import Outcome
from rdsca.readiness.scan import ScanResult
from rdsca.readiness.scan_judge import WILL_BREAK
from rdsca.readiness.server_tls import ParameterGroup, server_tls
from rdsca.readiness.sessions import SessionListing, Visibility
from rdsca.readiness.trust_check import TRUSTED, TrustResult
from rdsca.readiness.trust_settings import FALLBACK, NO_VERIFICATION
from rdsca.words import count


class Readiness(enum.StrEnum):
    READY = "ready"
    AT_RISK = "at-risk"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class SessionEvidence:
    listing: SessionListing | None
    error: str | None = None  # why the sessions could not be listed


@dataclass(frozen=True)
class Evidence:
    """What rdsca learned about one instance's clients."""

    probe: ProbeResult | None = None
    probe_skipped: str | None = None  # why no probe was made
    sessions: SessionEvidence | None = None
    bundles: tuple[TrustResult, ...] = ()
    scans: tuple[ScanResult, ...] = ()
    parameter_group: ParameterGroup | None = None  # read only when a finding depends on it


@dataclass(frozen=True)
class InstanceReadiness:
    instance: Instance
    target_ca: str
    verdict: Readiness
    reasons: tuple[str, ...]
    clients: tuple[str, ...]  # live TLS clients (user@address application): who must trust the new CA
    warnings: tuple[str, ...]
    presented_ca: str | None  # the CA the endpoint's chain leads to now, from the probe
    target_cas: tuple[TargetFit, ...] = ()  # which G1 CAs the clients seen in the scans can use


def _tls_clients(listing: SessionListing | None) -> tuple[str, ...]:
    if listing is None:
        return ()
    out = []
    for s in listing.sessions:
        if s.is_self or s.tls is not True:
            continue
        app = f" ({s.application})" if s.application else ""
        out.append(f"{s.user or '?'}@{s.client_addr or 'local'}{app}")
    return tuple(out)


def _bundle_reasons(instance: Instance, target_ca: str, bundles: Sequence[TrustResult]) -> list[str]:
    out = []
    for result in bundles:
        label = result.bundle.source
        for region in result.regions:
            if region.region not in (instance.region, None) or region.status == TRUSTED:
                continue
            consequence = (
                "clients that verify with it already fail: the instance is on it now"
                if instance.ca == target_ca
                else "clients that verify with it will fail to connect"
            )
            out.append(f"bundle {label}: {region.status} for {target_ca} in {instance.region}: {consequence}")
    return out


def _plaintext_sessions(listing: SessionListing | None) -> int:
    """Live TCP sessions without TLS: evidence that the server admits plaintext."""
    if listing is None:
        return 0
    local = ("socket", "Socket")
    return sum(1 for s in listing.sessions if not s.is_self and s.tls is False and s.connection not in local)


def _scan_findings(
    scans: Sequence[ScanResult],
    instance: Instance,
    listing: SessionListing | None,
    group: ParameterGroup | None,
) -> tuple[list[str], list[str]]:
    breaking, warnings = [], []
    plaintext = _plaintext_sessions(listing)
    server = server_tls(instance, group)  # the parameter group's word on plaintext
    for scan in scans:
        for b in scan.bundles:
            # A bundle that settings name is judged through them (each is below); one that no
            # setting names may be used by anything.
            if b.verdict == WILL_BREAK and not b.referenced_by:
                breaking.append(f"{b.path}: {b.detail}")
        for s in scan.settings:
            where = f"{s.setting.path}:{s.setting.line} ({s.setting.client} {s.setting.mode})"
            if s.verdict == WILL_BREAK and s.setting.category == FALLBACK and plaintext:
                warnings.append(
                    f"{where}: verification will fail, then it falls back to plaintext (the server admits "
                    f"it: {count(plaintext, 'plaintext session')})"
                )
            elif s.verdict == WILL_BREAK and s.setting.category == FALLBACK and server.forced is False:
                warnings.append(
                    f"{where}: verification will fail, then it falls back to plaintext{server.note}"
                )
            elif s.verdict == WILL_BREAK and s.setting.category == FALLBACK:
                breaking.append(f"{where}: {s.detail}{server.note}")
            elif s.verdict == WILL_BREAK:
                breaking.append(f"{where}: {s.detail}")
            elif s.setting.category == NO_VERIFICATION:
                warnings.append(f"{where}: verifies nothing, so it accepts any CA (and any server)")
            elif s.setting.category == FALLBACK:
                warnings.append(f"{where}: falls back to plaintext when verification fails")
            elif s.verdict == "warning":  # trust_sources: a pinned bundle hash, a cost
                warnings.append(f"{where}: {s.detail}")
    return breaking, warnings


def _probe_notes(instance: Instance, ev: Evidence) -> tuple[str | None, list[str]]:
    if ev.probe is None:
        return None, [f"not probed: {ev.probe_skipped}"] if ev.probe_skipped else []
    p = ev.probe
    if p.outcome is not Outcome.TLS:
        return None, [f"probe of {p.endpoint.address}: {p.message}"]
    presented = p.rds.ca_id if p.rds else None
    notes = []
    if presented and instance.ca and presented != instance.ca:
        notes.append(f"the endpoint presents a {presented} chain while AWS reports {instance.ca}")
    return presented, notes


def judge(instance: Instance, region: RegionCAs | None, target_ca: str, ev: Evidence) -> InstanceReadiness:
    """The readiness of one instance's clients for `target_ca`."""
    presented, warnings = _probe_notes(instance, ev)
    listed = {a.id for a in region.authorities} if region else set()
    if region is not None and target_ca not in listed:
        warnings.append(f"{target_ca} is not offered in {instance.region}: the plan will skip this instance")
    if instance.supported_cas and target_ca not in instance.supported_cas:
        warnings.append(f"{instance.engine} {instance.engine_version} does not support {target_ca}")
    listing = ev.sessions.listing if ev.sessions else None
    breaking, scan_warnings = _scan_findings(ev.scans, instance, listing, ev.parameter_group)
    warnings.extend(scan_warnings)

    clients = _tls_clients(listing)
    at_risk = _bundle_reasons(instance, target_ca, ev.bundles) + breaking
    reasons: list[str]
    if at_risk:
        verdict, reasons = Readiness.AT_RISK, at_risk
        if listing is not None and listing.visibility is Visibility.COMPLETE and not clients:
            reasons.append("no client uses TLS right now; clients that connect later still will fail")
    elif ev.probe is not None and ev.probe.outcome is Outcome.NO_TLS:
        verdict, reasons = Readiness.READY, ["the server offers no TLS: no client verifies its certificate"]
    elif listing is not None and listing.visibility is Visibility.COMPLETE and not clients:
        verdict = Readiness.READY
        reasons = ["no session uses TLS now (clients that connect only now and then are not seen)"]
    elif ev.bundles and all(r.trusted or _trusted_here(r, instance) for r in ev.bundles):
        verdict = Readiness.READY
        reasons = [f"every given bundle trusts {target_ca} in {instance.region}"]
    else:
        verdict, reasons = Readiness.UNKNOWN, [_missing(ev, listing, clients)]
    if ev.sessions and ev.sessions.error:
        warnings.append(f"sessions not listed: {ev.sessions.error}")
    elif listing is not None and listing.visibility is not Visibility.COMPLETE:
        warnings.append(f"sessions partly hidden: {listing.reason}")
    seen = [c for scan in ev.scans for c in scan.clients]
    return InstanceReadiness(
        instance, target_ca, verdict, tuple(reasons), clients, tuple(warnings), presented, fit(seen)
    )


def _trusted_here(result: TrustResult, instance: Instance) -> bool:
    here = [r for r in result.regions if r.region in (instance.region, None)]
    return bool(here) and all(r.status == TRUSTED for r in here)


def _missing(ev: Evidence, listing: SessionListing | None, clients: Sequence[str]) -> str:
    if clients:
        more = "..." if len(clients) > 3 else ""
        return (
            f"{count(clients, 'client')} with TLS ({', '.join(clients[:3])}{more}); "
            "give --bundle or --scan to know what they trust"
        )
    missing = []
    if not ev.bundles and not ev.scans:
        missing.append("no trust bundle (--bundle) or source tree (--scan)")
    if listing is None:
        missing.append("no session listing (--sessions-dsn)")
    elif listing.visibility is not Visibility.COMPLETE:
        missing.append("sessions only partly visible")
    return "not enough evidence: " + "; ".join(missing)
