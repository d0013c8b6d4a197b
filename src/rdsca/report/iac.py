"""Render `rdsca iac scan`: a table, Markdown, and the `rdsca.iac/1` JSON envelope."""

from __future__ import annotations

import json
from typing import Any

from rdsca import schemas
from rdsca.api.iac import IacScan
from rdsca.iac.model import Finding, Verdict
from rdsca.report.registry import RenderOptions, renders
from rdsca.report.words import count

# The keys of each finding in the JSON envelope; tests pin them.
FINDING_KEYS = (
    "file", "line", "tool", "resource", "resource_type", "value", "origin", "origin_detail",
    "module", "instances", "instances_from", "repeat", "verdict", "reason", "fix", "note",
)  # fmt: skip


def finding_json(f: Finding) -> dict[str, Any]:
    p = f.pin
    return {
        "file": p.file,
        "line": p.line,
        "tool": str(p.tool),
        "resource": p.resource,
        "resource_type": p.resource_type,
        "value": p.value,
        "origin": str(p.origin),
        "origin_detail": p.origin_detail or None,
        "module": p.module or None,
        "instances": list(p.instances),
        "instances_from": p.instances_from or None,
        "repeat": p.repeat or None,
        "verdict": str(f.verdict),
        "reason": f.reason,
        "fix": f.fix,
        "note": p.note or None,
    }


def _summary(result: IacScan) -> dict[str, int]:
    return {v.value: sum(1 for f in result.findings if f.verdict is v) for v in Verdict}


@renders(IacScan, "json")
def scan_json(result: IacScan, _options: RenderOptions) -> str:
    doc = {
        "schema": schemas.IAC,
        "scanned_at": result.scanned_at.isoformat().replace("+00:00", "Z"),
        "path": str(result.root),
        "target_ca": result.target_ca,
        "state": result.state,
        "summary": _summary(result),
        "findings": [finding_json(f) for f in result.findings],
        "errors": [{"file": e.file, "message": e.message} for e in result.errors],
    }
    return json.dumps(doc, indent=2) + "\n"


def _origin(f: Finding) -> str:
    detail = f.pin.origin_detail or f.pin.note
    return f"{f.pin.origin} ({detail})" if detail else str(f.pin.origin)


def _instances(f: Finding) -> str:
    if not f.pin.instances:
        return "-"
    return ", ".join(f.pin.instances) + (
        f" [{f.pin.instances_from}]" if f.pin.instances_from != "tree" else ""
    )


def _rows(result: IacScan) -> list[list[str]]:
    return [
        [f.pin.where, str(f.pin.tool), f.pin.resource + (f" ({f.pin.repeat})" if f.pin.repeat else ""),
         f.pin.value or "?", _origin(f), _instances(f), str(f.verdict)]
        for f in result.findings
    ]  # fmt: skip


HEADERS = ("where", "tool", "resource", "value", "from", "instances", "next apply")


def _verdict_line(result: IacScan) -> str:
    risky = len(result.at_risk)
    if not result.findings:
        return f"No CA pinned under {result.root}."
    if not risky:
        return f"{count(result.findings, 'pin')}; none would undo a rotation to {result.target_ca}."
    return (
        f"{risky} of {count(result.findings, 'pin')} would undo a rotation to {result.target_ca} "
        "(revert: the next apply sets the old CA back; fail: the old CA is retired)."
    )


@renders(IacScan, "table")
def scan_table(result: IacScan, _options: RenderOptions) -> str:
    rows = _rows(result)
    lines = [f"IaC pins under {result.root} (target {result.target_ca})", ""]
    if rows:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADERS)]
        for r in [list(HEADERS), *rows]:
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        lines.append("")
        fixes = [f"  {f.pin.where}: {f.fix}" for f in result.at_risk]
        if fixes:
            lines += ["Fix (--patch FILE writes these as a diff):", *fixes, ""]
    for e in result.errors:
        lines.append(f"not read: {e.file}: {e.message}")
    lines.append(_verdict_line(result))
    return "\n".join(lines) + "\n"


@renders(IacScan, "markdown")
def scan_markdown(result: IacScan, _options: RenderOptions) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [f"## IaC pins under `{result.root}` (target `{result.target_ca}`)", ""]
    if result.findings:
        lines += ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
        lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in _rows(result)]
        lines.append("")
    lines += [f"- not read: `{e.file}`: {e.message}" for e in result.errors]
    lines.append(_verdict_line(result))
    return "\n".join(lines) + "\n"
