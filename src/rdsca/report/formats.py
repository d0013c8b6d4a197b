"""Which renderer draws which of the audit's and the report's results, registered in
`rdsca.report.registry` (AUDIT_FORMATS is the audit's part of that table)."""

from __future__ import annotations

import json
from collections.abc import Callable

from rdsca.api.audit import CaInventory
from rdsca.api.report import IamPolicy, Report
from rdsca.model import Audit
from rdsca.report import audit as audit_report
from rdsca.report import html, prometheus, table
from rdsca.report.registry import RenderOptions, register, renders

AuditRenderer = Callable[[Audit, RenderOptions], str]

AUDIT_FORMATS: dict[str, AuditRenderer] = {
    "table": lambda a, o: table.audit_table(a, o.color, o.width),
    "json": lambda a, o: audit_report.to_json(a),
    "csv": lambda a, o: audit_report.to_csv(a),
    "markdown": lambda a, o: audit_report.to_markdown(a),
    "html": lambda a, o: html.render_html(a),
    "prometheus": lambda a, o: prometheus.to_prometheus(a),
}

for _fmt, _renderer in AUDIT_FORMATS.items():
    register(Audit, _fmt, _renderer)


@renders(CaInventory, "table")
def cas_table(inventory: CaInventory, options: RenderOptions) -> str:
    return table.cas_inventory_table(inventory, options.color, options.width)


@renders(CaInventory, "json")
def cas_json(inventory: CaInventory, _options: RenderOptions) -> str:
    return audit_report.cas_json(inventory)


@renders(Report, "html")
def report_html(report: Report, _options: RenderOptions) -> str:
    """The page, with the readiness and rollout sections the report carries, in that order."""
    from rdsca.report.html_readiness import readiness_section
    from rdsca.report.html_run import run_section  # the journal's code: only for the page

    sections = []
    if report.readiness is not None:
        sections.append(readiness_section(dict(report.readiness)))
    if report.run is not None:
        sections.append(run_section(report.run))
    return html.render_html(report.audit, sections, title=report.title)


# Markdown and Prometheus draw the audit alone: the extra sections are HTML only.
register(Report, "markdown", lambda r, o: audit_report.to_markdown(r.audit))
register(Report, "prometheus", lambda r, o: prometheus.to_prometheus(r.audit))


@renders(IamPolicy, "json")
def iam_policy_json(policy: IamPolicy, _options: RenderOptions) -> str:
    return json.dumps(policy.document, indent=2) + "\n"
