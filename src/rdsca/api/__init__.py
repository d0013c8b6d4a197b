"""rdsca as a library: one function per command's job, each returning a frozen result.

Render a result with `rdsca.report.registry.render(result, fmt)`; docs/api.md has examples.
"""

from __future__ import annotations

from rdsca.api.audit import CaInventory, audit, cas, findings
from rdsca.api.readiness import (
    CatalogueReport,
    FleetProbeReport,
    ProbeReport,
    ReadinessReport,
    SessionsReport,
    TrustCheckReport,
    TrustScanReport,
    probe,
    probe_instances,
    readiness,
    sessions,
    trust_catalogue,
    trust_check,
    trust_scan,
)
from rdsca.api.report import IamPolicy, Report, RunHistory, iam_policy, report

__all__ = [
    "CaInventory",
    "CatalogueReport",
    "FleetProbeReport",
    "IamPolicy",
    "ProbeReport",
    "ReadinessReport",
    "Report",
    "RunHistory",
    "SessionsReport",
    "TrustCheckReport",
    "TrustScanReport",
    "audit",
    "cas",
    "findings",
    "iam_policy",
    "probe",
    "probe_instances",
    "readiness",
    "report",
    "sessions",
    "trust_catalogue",
    "trust_check",
    "trust_scan",
]
