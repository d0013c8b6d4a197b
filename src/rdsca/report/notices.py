"""`rdsca notices` rendered: a table, the versioned JSON envelope (`rdsca.notices/1`), Markdown."""

from __future__ import annotations

import json
from typing import Any

from rich import box
from rich.table import Table

from rdsca import schemas
from rdsca.api.notices import Affected, LinkedNotice, NoticesResult
from rdsca.report.audit import reboot_forecast_dict
from rdsca.report.common import day, iso, md_cell
from rdsca.report.registry import RenderOptions, renders
from rdsca.report.table import render
from rdsca.report.words import count

NOTICES_SCHEMA = schemas.NOTICES
NOTICE_KEYS = ("account_id", "region", "arn", "service", "type", "category", "status", "start", "end",
               "last_updated", "about_certificates", "description", "affected", "plan")  # fmt: skip


def _affected_dict(a: Affected) -> dict[str, Any]:
    v = a.verdict
    return {
        "resource": a.value,
        "status": a.status,
        "in_audit": v is not None,
        "instance": v.instance.key if v else None,
        "ca": v.instance.ca if v else None,
        "state": v.state.value if v else None,
        "recommended_ca": v.recommended_ca if v else None,
        "reboot_forecast": reboot_forecast_dict(v.reboot_forecast) if v else None,
    }


def notice_dict(n: LinkedNotice) -> dict[str, Any]:
    x = n.notice
    return {
        "account_id": x.account_id,
        "region": x.region,
        "arn": x.arn,
        "service": x.service,
        "type": x.type_code,
        "category": x.category,
        "status": x.status,
        "start": iso(x.start),
        "end": iso(x.end),
        "last_updated": iso(x.last_updated),
        "about_certificates": n.about_certificates,
        "description": x.description,
        "affected": [_affected_dict(a) for a in n.affected],
        "plan": n.plan_command,
    }


def notices_dict(result: NoticesResult) -> dict[str, Any]:
    return {
        "schema": NOTICES_SCHEMA,
        "generated_at": iso(result.generated_at),
        "view": result.view,
        "accounts": [
            {
                "account_id": a.account_id,
                "ok": a.ok,
                "source": a.source if a.ok else None,
                "notices": len(a.notices),
                "error": a.error,
                "code": a.code,
            }
            for a in result.accounts
        ],
        "summary": {
            "notices": len(result.notices),
            "about_certificates": sum(1 for n in result.notices if n.about_certificates),
            "instances_in_audit": len({v.instance.key for n in result.notices for v in n.instances}),
            "accounts_unread": len(result.unread),
        },
        "notices": [notice_dict(n) for n in result.notices],
    }


@renders(NoticesResult, "json")
def to_json(result: NoticesResult, options: RenderOptions) -> str:
    return json.dumps(notices_dict(result), indent=2) + "\n"


def _affected_text(n: LinkedNotice) -> str:
    parts = []
    for a in n.affected:
        if a.verdict is None:
            parts.append(f"{a.value} (not in the audit)")
            continue
        f = a.verdict.reboot_forecast
        reboot = f"; RDS reboots it ~{f.at:%Y-%m-%d %H:%M}" if f else ""
        parts.append(f"{a.value}: {a.verdict.state.value}{reboot}")
    return "\n".join(parts) or "-"


def _when(n: LinkedNotice) -> str:
    x = n.notice
    return day(x.start) + (f" to {day(x.end)}" if x.end else "")


@renders(NoticesResult, "table")
def to_table(result: NoticesResult, options: RenderOptions) -> str:
    """One row per notice; the plan commands below the table, by number (they are long, and meant to
    be copied whole)."""
    grid = Table(title="AWS Health notices for RDS (scheduled changes)", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("#", "account / region", "notice / status", "when"):
        grid.add_column(col, no_wrap=True, overflow="ignore")
    grid.add_column("affected (state in the audit)", overflow="fold", ratio=1, min_width=24)
    plans: list[str] = []
    for number, n in enumerate(result.notices, 1):
        x = n.notice
        if n.plan_command:
            plans.append(f"  {number}. {n.plan_command}")
        grid.add_row(str(number), f"{x.account_id}\n{x.region}", f"{x.type_code}\n{x.status}", _when(n),
                     _affected_text(n))  # fmt: skip
    certs = sum(1 for n in result.notices if n.about_certificates)
    lines = ["plans (rdsca plan, then rdsca apply):", *plans, ""] if plans else []
    lines.append(f"{count(result.notices, 'notice')} ({certs} about certificates) from "
                 f"{len(result.accounts) - len(result.unread)} of {count(result.accounts, 'account')}, "
                 f"{result.view} view.")  # fmt: skip
    lines += [f"account {a.account_id}: {a.error}" for a in result.unread]
    body: list[object] = [grid] if result.notices else []
    return render([*body, "\n".join(lines)], options.color, options.width)


@renders(NoticesResult, "markdown")
def to_markdown(result: NoticesResult, options: RenderOptions) -> str:
    lines = [
        f"# AWS Health notices for RDS, {day(result.generated_at)}",
        "",
        f"{count(result.notices, 'notice')} from {len(result.accounts) - len(result.unread)} of "
        f"{count(result.accounts, 'account')} ({result.view} view).",
        "",
    ]
    if result.unread:
        lines += ["## Accounts not read", ""]
        lines += [f"- {a.account_id}: {md_cell(a.error)}" for a in result.unread]
        lines.append("")
    lines += [
        "| account | region | notice | status | when | affected (audit) | plan |",
        "|---|---|---|---|---|---|---|",
    ]
    for n in result.notices:
        x = n.notice
        plan = f"`{n.plan_command}`" if n.plan_command else ""
        lines.append(
            f"| {x.account_id} | {x.region} | {md_cell(x.type_code)} | {x.status} | {_when(n)} "
            f"| {md_cell('; '.join(_affected_text(n).splitlines()))} | {md_cell(plan)} |"
        )
    return "\n".join(lines) + "\n"
