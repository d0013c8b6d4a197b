"""The audit's renderers, registered in `rdsca.report.registry` (AUDIT_FORMATS is the same table)."""

from __future__ import annotations

from collections.abc import Callable

from rdsca.model import Audit
from rdsca.report import audit as audit_report
from rdsca.report import html, prometheus, table
from rdsca.report.registry import RenderOptions, register

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
