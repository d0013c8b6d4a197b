"""The audit and the CA inventory as data: the versioned JSON envelopes, CSV and Markdown."""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

from rdsca import schemas
from rdsca.api.audit import CaInventory
from rdsca.model import (
    Audit,
    Fleet,
    Instance,
    PendingAction,
    PendingChange,
    RebootForecast,
    RegionCAs,
    Verdict,
)
from rdsca.report.common import day, iso, json_document, md_cell
from rdsca.report.words import count

AUDIT_SCHEMA = schemas.AUDIT
CAS_SCHEMA = schemas.CAS

INSTANCE_KEYS = (
    "account_id",
    "region",
    "id",
    "arn",
    "engine",
    "engine_version",
    "status",
    "endpoint",
    "port",
    "ca",
    "ca_valid_till",
    "server_cert_valid_till",
    "pending_ca",
    "pending_actions",
    "pending_changes",
    "rotation_without_restart",
    "supported_cas",
    "cluster",
    "replica_of",
    "replicas",
    "multi_az",
    "tags",
    "state",
    "days_left",
    "severity",
    "reasons",
    "reboot_forecast",
)


def pending_action_dict(a: PendingAction) -> dict[str, Any]:
    return {
        "action": a.action,
        "description": a.description,
        "auto_applied_after": iso(a.auto_applied_after),
        "forced_apply_date": iso(a.forced_apply_date),
        "current_apply_date": iso(a.current_apply_date),
        "opt_in_status": a.opt_in_status,
    }


def pending_change_dict(c: PendingChange) -> dict[str, Any]:
    return {"kind": c.kind, "name": c.name, "value": c.value}


def pending_note(i: Instance) -> str | None:
    """One short line for tables: what a CA change of `i` would apply besides the CA."""
    if not i.pending_changes:
        return None
    return "a CA change also applies: " + "; ".join(c.describe() for c in i.pending_changes)


def verdict_dict(v: Verdict) -> dict[str, Any]:
    i = v.instance
    return {
        "account_id": i.account_id,
        "region": i.region,
        "id": i.id,
        "arn": i.arn,
        "engine": i.engine,
        "engine_version": i.engine_version,
        "status": i.status,
        "endpoint": i.endpoint,
        "port": i.port,
        "ca": i.ca,
        "ca_valid_till": iso(v.ca_valid_till),
        "server_cert_valid_till": iso(i.server_cert_valid_till),
        "pending_ca": i.pending_ca,
        "pending_actions": [pending_action_dict(a) for a in i.pending_actions],
        "pending_changes": [pending_change_dict(c) for c in i.pending_changes],
        "rotation_without_restart": i.rotation_without_restart,
        "supported_cas": list(i.supported_cas),
        "cluster": i.cluster,
        "replica_of": i.replica_of,
        "replicas": list(i.replicas),
        "multi_az": i.multi_az,
        "tags": dict(i.tags),
        "state": v.state.value,
        "days_left": v.days_left,
        "severity": v.severity.value,
        "reasons": list(v.reasons),
        "reboot_forecast": reboot_forecast_dict(v.reboot_forecast),
    }


def reboot_forecast_dict(f: RebootForecast | None) -> dict[str, Any] | None:
    if f is None:
        return None
    return {
        "at": iso(f.at),
        "auto_apply": iso(f.auto_apply),
        "window": f.window,
        "source": f.source,
        "action": f.action,
    }


def region_dict(r: RegionCAs) -> dict[str, Any]:
    return {
        "account_id": r.account_id,
        "region": r.region,
        "default_ca": r.default_ca,
        "override": r.override,
        "cas": [
            {
                "id": a.id,
                "type": a.type,
                "valid_from": iso(a.valid_from),
                "valid_till": iso(a.valid_till),
                "customer_override": a.customer_override,
                "thumbprint": a.thumbprint,
            }
            for a in r.authorities
        ],
    }


def target_dicts(fleet: Fleet) -> list[dict[str, Any]]:
    """Every account x region that was read, and the error of those that failed."""
    return [
        {"account_id": t.target.account_id, "region": t.target.region, "ok": t.ok, "error": t.error}
        for t in fleet.targets
    ]


def audit_dict(audit: Audit) -> dict[str, Any]:
    return {
        "schema": AUDIT_SCHEMA,
        "generated_at": iso(audit.generated_at),
        "warn_days": audit.warn_days,
        "targets": target_dicts(audit.fleet),
        "authorities": [region_dict(r) for r in audit.fleet.regions],
        "summary": summary(audit),
        "instances": [verdict_dict(v) for v in audit.verdicts],
    }


def summary(audit: Audit) -> dict[str, Any]:
    return {
        "instances": len(audit.verdicts),
        "by_state": dict(sorted(Counter(v.state.value for v in audit.verdicts).items())),
        "by_severity": dict(sorted(Counter(v.severity.value for v in audit.verdicts).items())),
        "targets_failed": len(audit.fleet.failed),
    }


def to_json(audit: Audit) -> str:
    return json_document(audit_dict(audit))


def cas_dict(inventory: CaInventory) -> dict[str, Any]:
    return {
        "schema": CAS_SCHEMA,
        "targets": target_dicts(inventory.fleet),
        "regions": [region_dict(r) for r in inventory.regions],
    }


def cas_json(inventory: CaInventory) -> str:
    return json_document(cas_dict(inventory))


CSV_COLUMNS = (
    "account_id",
    "region",
    "id",
    "engine",
    "engine_version",
    "status",
    "ca",
    "ca_valid_till",
    "server_cert_valid_till",
    "pending_ca",
    "rotation_without_restart",
    "state",
    "days_left",
    "severity",
    "reasons",
)


def to_csv(audit: Audit) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for v in audit.verdicts:
        row = verdict_dict(v)
        row["reasons"] = "; ".join(row["reasons"])
        writer.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
    return buf.getvalue()


def to_markdown(audit: Audit) -> str:
    s = summary(audit)
    lines = [
        f"# RDS CA audit, {day(audit.generated_at)}",
        "",
        f"{count(s['instances'], 'instance')} in {count(audit.fleet.targets, 'target')} "
        f"(account x region); {count(s['targets_failed'], 'target')} failed.",
        "",
        "| state | instances |",
        "|---|---|",
        *(f"| {k} | {n} |" for k, n in s["by_state"].items()),
        "",
        "| severity | instances |",
        "|---|---|",
        *(f"| {k} | {n} |" for k, n in s["by_severity"].items()),
        "",
    ]
    if audit.fleet.failed:
        lines += ["## Failed targets", ""]
        lines += [
            f"- {t.target.account_id} {t.target.region}: {md_cell(t.error)}" for t in audit.fleet.failed
        ]
        lines.append("")
    lines += [
        "## Instances",
        "",
        "| account | region | instance | engine | CA | expires | days | state | severity | reasons |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for v in sorted(audit.verdicts, key=sort_key):
        i = v.instance
        ends = [d for d in (v.ca_valid_till, i.server_cert_valid_till) if d]
        lines.append(
            f"| {i.account_id} | {i.region} | {md_cell(i.id)} "
            f"| {md_cell(i.engine)} {md_cell(i.engine_version)} "
            f"| {md_cell(i.ca)} | {day(min(ends) if ends else None)} | "
            f"{'' if v.days_left is None else v.days_left} | {v.state.value} | {v.severity.value} "
            f"| {md_cell('; '.join((*v.reasons, *filter(None, [pending_note(i)]))))} |"
        )
    return "\n".join(lines) + "\n"


SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


def sort_key(v: Verdict) -> tuple[int, int, str]:
    days = v.days_left if v.days_left is not None else 10**6
    return (SEVERITY_ORDER[v.severity.value], days, v.instance.key)
