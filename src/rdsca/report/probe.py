"""Render probes and session listings: the `rdsca.probe/1` and `rdsca.sessions/1` envelopes and the
tables of `rdsca probe` and `rdsca sessions`."""

from __future__ import annotations

import json
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from rdsca import schemas
from rdsca.api.readiness import FleetProbeReport, ProbeReport, SessionsReport
from rdsca.readiness.probe import Outcome, ProbeResult
from rdsca.readiness.sessions import SessionListing, Visibility
from rdsca.report.audit import target_dicts
from rdsca.report.common import iso
from rdsca.report.registry import RenderOptions, renders
from rdsca.report.table import render


def result_dict(r: ProbeResult) -> dict[str, Any]:
    """The JSON shape of one probe result (pinned by tests: add keys, never rename them)."""
    ep = r.endpoint
    return {
        "endpoint": {
            "host": ep.host,
            "port": ep.port,
            "protocol": ep.protocol.value,
            "server_name": ep.verify_name,
            "label": ep.label,
        },
        "outcome": r.outcome.value,
        "message": r.message,
        "offers_tls": r.offers_tls,
        "server_info": r.server_info,
        "tls_version": r.tls_version,
        "cipher": r.cipher,
        "elapsed_ms": round(r.elapsed_s * 1000, 1),
        "full_chain": r.full_chain,
        "chain": [
            {
                "subject": c.subject,
                "issuer": c.issuer,
                "common_name": c.common_name,
                "not_before": iso(c.not_before),
                "not_after": iso(c.not_after),
                "sha256": c.sha256,
                "key": c.key,
                "key_identifier": c.key_identifier,
                "authority_key_identifier": c.authority_key_identifier,
                "names": list(c.names),
                "is_ca": c.is_ca,
                "rds_ca": c.rds.ca_id if c.rds else None,
            }
            for c in r.chain
        ],
        "rds_ca": None
        if r.rds is None
        else {
            "ca_id": r.rds.ca_id,
            "region": r.rds.region,
            "matched_by": r.rds.matched_by,
            "anchor": r.rds.anchor,
            "detail": r.rds.detail,
        },
        "bundle": None
        if r.bundle is None
        else {
            "bundle": r.bundle.bundle,
            "trusted": r.bundle.trusted,
            "reason": r.bundle.reason,
            "handshake_checked": r.bundle.handshake_checked,
        },
    }


@renders(ProbeReport, "json")
def probe_json(report: ProbeReport, _options: RenderOptions) -> str:
    return json.dumps({"schema": schemas.PROBE, "results": [result_dict(report.result)]}, indent=2)


@renders(ProbeReport, "table")
def probe_text(report: ProbeReport, _options: RenderOptions) -> str:
    r = report.result
    ep = r.endpoint
    head = f"{ep.address} ({ep.protocol.value}): "
    if r.outcome != Outcome.TLS:
        extra = f" [{r.server_info}]" if r.server_info else ""
        return f"{head}{r.outcome.value}: {r.message}{extra}\n"
    lines = [f"{head}TLS {r.tls_version}, {r.cipher}" + (f" [{r.server_info}]" if r.server_info else "")]
    if r.rds is not None:
        ca = f"{r.rds.ca_id} ({r.rds.region or 'global'})" if r.rds.ca_id else "not recognised"
        lines.append(f"RDS CA: {ca}, matched by {r.rds.matched_by}: {r.rds.detail}")
    table = Table(title="chain presented" + ("" if r.full_chain else " (leaf only)"), title_justify="left")
    for col in ("#", "subject CN", "issuer CN", "not before", "not after", "sha256"):
        table.add_column(col, overflow="fold")
    for i, c in enumerate(r.chain):
        issuer_cn = c.issuer.split("CN=", 1)[1].split(",")[0] if "CN=" in c.issuer else c.issuer
        table.add_row(str(i), c.common_name, issuer_cn, f"{c.not_before:%Y-%m-%d}",
                      f"{c.not_after:%Y-%m-%d}", c.sha256)  # fmt: skip
    out = "\n".join(lines) + "\n" + render([table], color=False, width=240)
    if r.bundle is not None:
        verdict = {True: "would trust", False: "would NOT trust", None: "could not check"}[r.bundle.trusted]
        out += f"bundle {r.bundle.bundle}: {verdict}: {r.bundle.reason}\n"
    return out


@renders(FleetProbeReport, "json")
def fleet_probe_json(report: FleetProbeReport, _options: RenderOptions) -> str:
    doc = {
        "schema": schemas.PROBE,
        "results": [result_dict(r) for r in report.results],
        "not_probed": [{"instance": k, "reason": why} for k, why in report.not_probed],
        "targets": target_dicts(report.fleet),
    }
    return json.dumps(doc, indent=2)


@renders(FleetProbeReport, "table")
def fleet_probe_table(report: FleetProbeReport, _options: RenderOptions) -> str:
    """One line per endpoint: what it presents and, with a bundle, whether a client would connect."""
    table = Table(title="TLS endpoints", box=box.SIMPLE_HEAD, pad_edge=False)
    with_bundle = report.with_bundle
    for col in (
        "instance",
        "endpoint",
        "outcome",
        "RDS CA",
        "leaf ends",
        *(["bundle"] if with_bundle else []),
    ):
        table.add_column(col, overflow="fold")
    for r in report.results:
        leaf = r.chain[0].not_after.strftime("%Y-%m-%d") if r.chain else "-"
        row = [
            str(r.endpoint.label),
            r.endpoint.address,
            r.outcome.value,
            (r.rds.ca_id or "?") if r.rds else "-",
            leaf,
        ]
        if with_bundle:
            check = r.bundle
            row.append(
                "-" if check is None else f"{'trusted' if check.trusted else 'NOT trusted'}: {check.reason}"
            )
        table.add_row(*(Text(c) for c in row))
    text = render([table], color=False)
    text += "".join(f"{k}: not probed: {why}\n" for k, why in report.not_probed)
    return text + "".join(f"FAILED {t.target.key}: {t.error}\n" for t in report.failed)


def listing_dict(s: SessionListing) -> dict[str, Any]:
    return {
        "engine": s.engine,
        "server": s.server,
        "server_version": s.server_version,
        "visibility": s.visibility.value,
        "reason": s.reason,
        "hidden": s.hidden,
        "summary": s.summary(),
        "sessions": [
            {
                "id": x.id,
                "user": x.user,
                "client_addr": x.client_addr,
                "client_port": x.client_port,
                "application": x.application,
                "database": x.database,
                "connection": x.connection,
                "tls": "unknown" if x.tls is None else x.tls,
                "tls_version": x.tls_version,
                "cipher": x.cipher,
                "is_self": x.is_self,
                "note": x.note,
            }
            for x in s.sessions
        ],
    }


@renders(SessionsReport, "json")
def sessions_json(report: SessionsReport, _options: RenderOptions) -> str:
    return json.dumps({"schema": schemas.SESSIONS, **listing_dict(report.listing)}, indent=2)


@renders(SessionsReport, "table")
def sessions_text(report: SessionsReport, _options: RenderOptions) -> str:
    s = report.listing
    table = Table(title=f"sessions on {s.server} ({s.engine} {s.server_version})", title_justify="left")
    for col in ("id", "user", "client", "application", "database", "TLS", "version", "cipher", "note"):
        table.add_column(col, overflow="fold")
    for x in s.sessions:
        tls = "unknown" if x.tls is None else "yes" if x.tls else "no"
        client = x.client_addr or x.connection or "-"
        if x.client_addr and x.client_port:
            client = f"{x.client_addr}:{x.client_port}"
        note = "; ".join(n for n in ("this session" if x.is_self else "", x.note or "") if n)
        table.add_row(str(x.id), x.user or "-", client, x.application or "-", x.database or "-",
                      tls, x.tls_version or "-", x.cipher or "-", note)  # fmt: skip
    out = render([table], color=False, width=200)
    out += s.summary() + "\n"
    if s.visibility != Visibility.COMPLETE and s.reason:
        out += f"{s.visibility.value}: {s.reason}\n"
    return out
