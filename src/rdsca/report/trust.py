"""Render trust results: plain-text tables and the versioned JSON envelopes of `trust check`
(`rdsca.trust/1`), `trust scan` (`rdsca.trust-scan/1`) and `trust catalogue`
(`rdsca.trust-catalogue/1`).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from typing import Any

from rdsca import schemas
from rdsca.api.readiness import CatalogueReport, TrustCheckReport, TrustScanReport
from rdsca.catalog import Catalog
from rdsca.readiness.bundles import BundleCert
from rdsca.readiness.scan_judge import NOT_RDS
from rdsca.readiness.trust_check import TRUSTED, TrustResult
from rdsca.report.registry import RenderOptions, renders
from rdsca.report.words import count


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = [indent + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def _wrap(text: str, indent: str = "    ") -> str:
    return textwrap.fill(
        text, width=100, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
    )


def _cert_json(c: BundleCert) -> dict[str, Any]:
    return {
        "index": c.index,
        "location": c.location,
        "subject": c.subject,
        "issuer": c.issuer,
        "kind": c.kind,
        "key": c.key,
        "sha256": c.sha256,
        "key_id": c.key_id,
        "not_before": c.not_before.isoformat(),
        "not_after": c.not_after.isoformat(),
        "rds": None
        if c.rds is None
        else {
            "ca_id": c.rds.ca_id,
            "region": c.rds.region,
            "role": c.rds.role,
            "stage": c.rds.stage,
        },
        "rds_lookalike": c.rds_lookalike,
    }


@renders(TrustCheckReport, "json")
def check_json(report: TrustCheckReport, _options: RenderOptions) -> str:
    r = report.result
    doc = {
        "schema": schemas.TRUST_CHECK,
        "checked_at": r.checked_at.isoformat(),
        "bundle": {
            "source": r.bundle.source,
            "format": r.bundle.format,
            "certificates": [_cert_json(c) for c in r.bundle.certificates],
            "notes": list(r.bundle.notes),
        },
        "ca_id": r.ca_id,
        "trusted": r.trusted,
        "regions": [
            {"region": g.region, "status": g.status, "anchor": g.anchor, "detail": g.detail}
            for g in r.regions
        ],
        "warnings": [
            {"code": w.code, "message": w.message, "certificates": list(w.certificates)} for w in r.warnings
        ],
    }
    return json.dumps(doc, indent=2)


def _cert_rows(certs: Sequence[BundleCert], r: TrustResult) -> list[list[str]]:
    rows = []
    for c in certs:
        rds = "-" if c.rds is None else c.rds.ca_id + (f" ({c.rds.stage})" if c.rds.stage else "")
        if c.rds_lookalike:
            rds = "look-alike!"
        expiry = f"{c.not_after:%Y-%m-%d}" + (" EXPIRED" if c.expired(r.checked_at) else "")
        region = c.rds.region if c.rds and c.rds.region else "-"
        rows.append(
            [str(c.index), c.kind, rds, region, expiry, c.sha256[:12], (c.common_name or c.subject)[:60]]
        )
    return rows


@renders(TrustCheckReport, "table")
def check_table(report: TrustCheckReport, _options: RenderOptions) -> str:
    r, b = report.result, report.result.bundle
    kinds = ", ".join(count(n, k) for k, n in _count(c.kind for c in b.certificates))
    rds = sum(1 for c in b.certificates if c.rds is not None)
    out = [
        f"Bundle  {b.source} ({b.format.upper()}, {count(b.certificates, 'certificate')}: "
        f"{kinds}; {rds} known RDS CA certificates)",
        f"Target  {r.ca_id}, {count(r.regions, 'region')}, as of {r.checked_at:%Y-%m-%d}",
    ]
    if report.list_certificates:
        out += [
            "",
            table(
                ["#", "kind", "RDS CA", "region", "expires", "sha256", "subject"],
                _cert_rows(b.certificates, r),
            ),
        ]
    out += ["", "Regions"]
    good = r.by_status(TRUSTED)
    if good:
        out.append(f"  trusted ({len(good)})")
        out.append(_wrap(" ".join(g.region or "global" for g in good)))
    for g in r.regions:
        if g.status != TRUSTED:
            out.append(f"  {g.status:<17} {g.region or 'global':<15} {g.detail}")
    if r.warnings:
        out += ["", "Warnings"]
        out += [_wrap(f"[{w.code}] {w.message}", "  ") for w in r.warnings]
    out += ["", _check_verdict(r)]
    return "\n".join(out)


def _check_verdict(r: TrustResult) -> str:
    n = len(r.regions)
    if r.trusted:
        return f"TRUSTED: {r.bundle.source} trusts {r.ca_id} in all {count(n, 'region')} checked"
    bad = n - len(r.by_status(TRUSTED))
    return f"NOT TRUSTED: {r.bundle.source} does not trust {r.ca_id} in {bad} of {count(n, 'region')}"


def _count(items: Any) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for i in items:
        counts[i] = counts.get(i, 0) + 1
    return sorted(counts.items())


@renders(TrustScanReport, "json")
def scan_json(report: TrustScanReport, _options: RenderOptions) -> str:
    r = report.result
    doc = {
        "schema": schemas.TRUST_SCAN,
        "root": r.root,
        "ca_id": r.ca_id,
        "regions": list(r.regions),
        "scanned_at": r.scanned_at.isoformat(),
        "will_break": r.will_break,
        "counts": r.counts(),
        "files_seen": r.files_seen,
        "files_searched": r.files_searched,
        "skipped": dict(r.skipped),
        "truncated": r.truncated,
        "bundles": [
            {
                "path": b.path,
                "verdict": b.verdict,
                "detail": b.detail,
                "format": b.format,
                "certificates": b.certificates,
                "rds_certificates": b.rds_certificates,
                "warnings": list(b.warnings),
                "referenced_by": list(b.referenced_by),
            }
            for b in r.bundles
        ],
        "settings": [
            {
                "path": f.setting.path,
                "line": f.setting.line,
                "client": f.setting.client,
                "setting": f.setting.mode,
                "verdict": f.verdict,
                "detail": f.detail,
                "ca_file": f.setting.ca_ref,
                "ca_file_line": f.setting.ca_line,
                "bundle": f.bundle,
                "text": f.setting.text,
            }
            for f in r.settings
        ],
    }
    return json.dumps(doc, indent=2)


@renders(TrustScanReport, "table")
def scan_table(report: TrustScanReport, _options: RenderOptions) -> str:
    r = report.result
    out = [
        f"Scanned {r.root} for {r.ca_id}: {count(r.files_seen, 'file')}, {r.files_searched} searched"
        + (" (stopped at the file limit)" if r.truncated else "")
    ]
    bundles = [b for b in r.bundles if report.show_all or b.verdict != NOT_RDS]
    hidden = len(r.bundles) - len(bundles)
    out += ["", f"Bundle files ({len(bundles)})"]
    if bundles:
        out.append(table(["verdict", "file", "detail"], [[b.verdict, b.path, b.detail] for b in bundles]))
    if hidden:
        out.append(f"  ({count(hidden, 'other certificate file')} hold no RDS CA: --all lists them)")
    out += ["", f"Connection settings ({len(r.settings)})"]
    if r.settings:
        out.append(
            table(
                ["verdict", "where", "client", "setting", "detail"],
                [
                    [
                        f.verdict,
                        f"{f.setting.path}:{f.setting.line}",
                        f.setting.client,
                        f.setting.mode,
                        f.detail,
                    ]
                    for f in r.settings
                ],
            )
        )
    counts = ", ".join(f"{n} {v}" for v, n in r.counts().items()) or "nothing found"
    head = "WILL BREAK" if r.will_break else "NOTHING WILL BREAK"
    out += ["", f"{head}: {counts}"]
    return "\n".join(out)


def catalogue_rows(cat: Catalog) -> list[list[str]]:
    rows = []
    for ca_id in cat.ca_ids():
        roots = [e for e in cat.entries if e.ca_id == ca_id and e.role == "root" and not e.stage]
        regions = cat.regions(ca_id)
        first = min((e.not_before for e in roots), default=None)
        last = max((e.not_after for e in roots), default=None)
        rows.append(
            [
                ca_id,
                str(len(roots)),
                str(len(regions)) if regions else "global",
                f"{first:%Y-%m-%d}" if first else "-",
                f"{last:%Y-%m-%d}" if last else "-",
                ", ".join(sorted({e.key for e in roots})),
            ]
        )
    return rows


CATALOGUE_COLUMNS = ("ca_id", "roots", "regions", "valid_from", "valid_until", "keys")


@renders(CatalogueReport, "json")
def catalogue_json(report: CatalogueReport, _options: RenderOptions) -> str:
    cat = report.catalog
    doc = {
        "schema": schemas.TRUST_CATALOGUE,
        "cas": [
            dict(zip(CATALOGUE_COLUMNS, r, strict=True)) | {"region_list": list(cat.regions(r[0]))}
            for r in catalogue_rows(cat)
        ],
        "added": [
            {"ca_id": e.ca_id, "region": e.region, "role": e.role, "subject": e.subject, "sha256": e.sha256}
            for e in report.added
        ],
    }
    return json.dumps(doc, indent=2)


@renders(CatalogueReport, "table")
def catalogue_table(report: CatalogueReport, _options: RenderOptions) -> str:
    rows = catalogue_rows(report.catalog)
    text = table(["CA", "roots", "regions", "first valid", "last expiry", "keys"], rows)
    if report.extended:
        text += f"\n\n{count(report.added, 'certificate')} new to the catalogue from --bundle"
        text += "".join(f"\n  {e.ca_id:<18} {e.region or 'global':<15} {e.common_name}" for e in report.added)
    return text
