"""rdsca as a library: one function per command's job, each returning a frozen result.

Render a result with `rdsca.report.registry.render(result, fmt)`; docs/api.md has examples.
"""

from __future__ import annotations

from rdsca.api.audit import CaInventory, audit, cas, findings
from rdsca.api.report import IamPolicy, Report, RunHistory, iam_policy, report

__all__ = [
    "CaInventory",
    "IamPolicy",
    "Report",
    "RunHistory",
    "audit",
    "cas",
    "findings",
    "iam_policy",
    "report",
]
