"""Which renderer draws an audit in which format. Add a format here and every command has it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rdsca.model import Audit
from rdsca.report import audit as audit_report
from rdsca.report import html, prometheus, table


@dataclass(frozen=True)
class RenderOptions:
    color: bool = False
    width: int | None = None


AuditRenderer = Callable[[Audit, RenderOptions], str]

AUDIT_FORMATS: dict[str, AuditRenderer] = {
    "table": lambda a, o: table.audit_table(a, o.color, o.width),
    "json": lambda a, o: audit_report.to_json(a),
    "csv": lambda a, o: audit_report.to_csv(a),
    "markdown": lambda a, o: audit_report.to_markdown(a),
    "html": lambda a, o: html.render_html(a),
    "prometheus": lambda a, o: prometheus.to_prometheus(a),
}
