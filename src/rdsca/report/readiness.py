"""Render client readiness: the `rdsca.readiness/1` envelope (read back by `plan --readiness` and
`report --readiness`) and the table of `rdsca readiness`."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from rich.text import Text

from rdsca import schemas
from rdsca.api.readiness import ReadinessReport
from rdsca.readiness.client_caps import summary
from rdsca.readiness.trust_check import TRUSTED
from rdsca.readiness.verdict import Readiness
from rdsca.report.audit import target_dicts
from rdsca.report.common import iso
from rdsca.report.registry import RenderOptions, renders
from rdsca.report.table import Cell, Column, fitted, render
from rdsca.report.words import count

STYLE = {"ready": "green", "at-risk": "bold red", "unknown": "yellow"}
# Only the prose wraps; an instance id, account or region never does (rdsca.report.table.fitted).
COLUMNS = (
    Column("instance"), Column("account\nregion"), Column("verdict"), Column("why", True, 24),
    Column("TLS clients", True, 12), Column("warnings", True, 12),
)  # fmt: skip
ORDER = {Readiness.AT_RISK: 0, Readiness.UNKNOWN: 1, Readiness.READY: 2}


def readiness_dict(report: ReadinessReport) -> dict[str, Any]:
    results = report.instances
    return {
        "schema": schemas.READINESS,
        "generated_at": iso(report.fleet.collected_at),
        "target_ca": report.target_ca,
        "targets": target_dicts(report.fleet),
        "summary": dict(sorted(Counter(r.verdict.value for r in results).items())),
        "bundles": [
            {
                "path": b.bundle.source,
                "trusted": b.trusted,
                "regions": {str(r.region): r.status for r in b.regions},
                "warnings": [w.message for w in b.warnings],
            }
            for b in report.result.bundles
        ],
        "scans": [{"path": s.root, "will_break": s.will_break} for s in report.result.scans],
        "instances": [
            {
                "account_id": r.instance.account_id,
                "region": r.instance.region,
                "id": r.instance.id,
                "engine": r.instance.engine,
                "ca": r.instance.ca,
                "presented_ca": r.presented_ca,
                "target_ca": r.target_ca,
                "verdict": r.verdict.value,
                "reasons": list(r.reasons),
                "clients": list(r.clients),
                "warnings": list(r.warnings),
                "target_cas": {f.ca_id: f.as_dict() for f in r.target_cas},
            }
            for r in results
        ],
    }


@renders(ReadinessReport, "json")
def readiness_json(report: ReadinessReport, _options: RenderOptions) -> str:
    return json.dumps(readiness_dict(report), indent=2) + "\n"


@renders(ReadinessReport, "table")
def readiness_table(report: ReadinessReport, options: RenderOptions) -> str:
    results = report.instances
    rows: list[list[Cell]] = [
        [
            Text(r.instance.id),
            f"{r.instance.account_id}\n{r.instance.region}",
            Text(r.verdict.value, style=STYLE[r.verdict.value]),
            Text("\n".join(r.reasons)),
            Text("\n".join(r.clients) or "-"),
            Text("\n".join(r.warnings) or "-"),
        ]
        for r in sorted(results, key=lambda r: (ORDER[r.verdict], r.instance.key))
    ]
    table = fitted("Client readiness", COLUMNS, rows)
    counts = Counter(r.verdict.value for r in results)
    line = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no managed instances"
    notes: list[object] = [table, f"{count(results, 'instance')}: {line}."]
    for b in report.result.bundles:
        lacking = sorted(str(r.region) for r in b.regions if r.status != TRUSTED)
        where = (
            f"does NOT trust it in {', '.join(lacking)}" if lacking else "trusts it in every region in scope"
        )
        notes.append(f"bundle {b.bundle.source} ({b.ca_id}): {where}")
        notes.extend(Text(f"  warning: {w.message}") for w in b.warnings)
    for s in report.result.scans:
        notes.append(f"scan of {s.root}: {'something will break' if s.will_break else 'nothing will break'}")
    usable = {r.instance.id: summary(r.target_cas) for r in results}  # the same for all: from the scans
    if set(usable.values()) - {"not known"}:
        notes.append(f"target CAs the clients seen can use: {next(iter(usable.values()))}")
    text = render(notes, options.color, options.width)
    return text + "".join(
        f"FAILED {t.target.account_id} {t.target.region}: {t.error}\n" for t in report.failed
    )
