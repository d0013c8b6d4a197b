"""The readiness part of the HTML report: which clients are at risk, from a saved readiness result
(`rdsca readiness --format json -o readiness.json`). Every value is escaped."""

from __future__ import annotations

from typing import Any

from rdsca.readiness.client_caps import TargetFit, summary
from rdsca.report.html import Section, e, tiles

ORDER = {"at-risk": 0, "unknown": 1, "ready": 2}


def _lines(items: Any) -> str:
    return "<br>".join(e(x) for x in items or []) or "-"


def target_cas(i: dict[str, Any]) -> str:
    """Which target CAs the clients seen can use, as the table says it: "rsa2048, rsa4096 (not ecc384:
    prisma)", "not known" when no scan saw a client (or an older file has no `target_cas`)."""
    fits = [
        TargetFit(str(ca), d.get("usable"), tuple(d.get("refused_by") or ()), tuple(d.get("notes") or ()))
        for ca, d in (i.get("target_cas") or {}).items()
        if isinstance(d, dict)
    ]
    return summary(fits)


def _row(i: dict[str, Any]) -> str:
    verdict = i.get("verdict")
    cls = "bad" if verdict == "at-risk" else ""
    return (
        f'<tr data-verdict="{e(verdict)}"><td>{e(i.get("account_id"))}</td><td>{e(i.get("region"))}</td>'
        f'<td>{e(i.get("id"))}</td><td><span class="{cls}">{e(verdict)}</span></td>'
        f"<td>{_lines(i.get('reasons'))}</td><td>{_lines(i.get('clients'))}</td>"
        f"<td>{_lines(i.get('warnings'))}</td><td data-target-cas>{e(target_cas(i))}</td></tr>"
    )


def _bundle(b: dict[str, Any], target: Any) -> str:
    verdict = "trusts" if b.get("trusted") else "does not trust"
    notes = f" ({e('; '.join(b['warnings']))})" if b.get("warnings") else ""
    return f"<li>{e(b.get('path'))}: {verdict} {e(target)}{notes}</li>"


def readiness_lead(doc: dict[str, Any], insts: list[dict[str, Any]]) -> str:
    """The verdicts as tiles (at risk first), the trust bundles' answer, and who is at risk."""
    counts = {str(k): int(n) for k, n in (doc.get("summary") or {}).items()}
    for i in insts:  # a summary that lacks a verdict the instances carry still shows it
        counts.setdefault(
            str(i.get("verdict")), sum(1 for j in insts if j.get("verdict") == i.get("verdict"))
        )
    keys = [*ORDER, *sorted(set(counts) - set(ORDER))]
    at_risk = [str(i.get("id")) for i in insts if i.get("verdict") == "at-risk"]
    names = ", ".join(e(x) for x in at_risk[:15]) + (
        f" and {len(at_risk) - 15} more" if len(at_risk) > 15 else ""
    )
    target = e(doc.get("target_ca"))
    usable = {target_cas(i) for i in insts} - {"not known"}
    cas = (  # the scans serve every instance alike: one line when they agree
        f'<p class="lead" data-target-cas><strong>Target CAs the clients seen can use:</strong> '
        f"{e(next(iter(usable)))}</p>"
        if len(usable) == 1
        else ""
    )
    bundles = "".join(
        f"<li>{e(b.get('path'))}: {'trusts' if b.get('trusted') else 'does not trust'} {target}"
        + (" (why: under Client readiness below)" if b.get("warnings") else "")
        + "</li>"
        for b in doc.get("bundles") or []
    )
    return (
        f'<p class="lead">Clients checked for <strong>{e(doc.get("target_ca"))}</strong> at '
        f"{e(doc.get('generated_at'))}.</p>"
        + tiles("verdict", counts, keys, "readiness")
        + (f'<p class="lead"><strong>At risk:</strong> {names}</p>' if at_risk else "")
        + cas
        + (f'<ul class="bundles">{bundles}</ul>' if bundles else "")
    )


def readiness_section(doc: dict[str, Any]) -> Section:
    insts = sorted(doc["instances"], key=lambda i: (ORDER.get(str(i.get("verdict")), 3), str(i.get("id"))))
    summary = ", ".join(f"{e(n)} {e(k)}" for k, n in sorted((doc.get("summary") or {}).items()))
    rows = "".join(_row(i) for i in insts)
    bundles = "".join(_bundle(b, doc.get("target_ca")) for b in doc.get("bundles") or [])
    body = (
        f"<p>Clients of the fleet, checked for <strong>{e(doc.get('target_ca'))}</strong> at "
        f"{e(doc.get('generated_at'))}: {summary or 'no instances'}.</p>"
        + (f"<ul>{bundles}</ul>" if bundles else "")
        + '<table class="detail"><thead><tr><th>account</th><th>region</th><th>instance</th>'
        "<th>verdict</th><th>why</th><th>TLS clients</th><th>warnings</th><th>target CAs usable</th>"
        "</tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )
    return Section(id="readiness", title="Client readiness", body=body, lead=readiness_lead(doc, insts))
