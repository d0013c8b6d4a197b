"""The readiness part of the HTML report: which clients are at risk, from a saved readiness result
(`rdsca readiness --format json -o readiness.json`). Every value is escaped."""

from __future__ import annotations

from typing import Any

from rdsca.report.html import Section, e

ORDER = {"at-risk": 0, "unknown": 1, "ready": 2}


def _lines(items: Any) -> str:
    return "<br>".join(e(x) for x in items or []) or "-"


def _row(i: dict[str, Any]) -> str:
    verdict = i.get("verdict")
    cls = "bad" if verdict == "at-risk" else ""
    return (
        f'<tr data-verdict="{e(verdict)}"><td>{e(i.get("account_id"))}</td><td>{e(i.get("region"))}</td>'
        f'<td>{e(i.get("id"))}</td><td><span class="{cls}">{e(verdict)}</span></td>'
        f"<td>{_lines(i.get('reasons'))}</td><td>{_lines(i.get('clients'))}</td>"
        f"<td>{_lines(i.get('warnings'))}</td></tr>"
    )


def _bundle(b: dict[str, Any], target: Any) -> str:
    verdict = "trusts" if b.get("trusted") else "does not trust"
    notes = f" ({e('; '.join(b['warnings']))})" if b.get("warnings") else ""
    return f"<li>{e(b.get('path'))}: {verdict} {e(target)}{notes}</li>"


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
        "<th>verdict</th><th>why</th><th>TLS clients</th><th>warnings</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )
    return Section(id="readiness", title="Client readiness", body=body)
