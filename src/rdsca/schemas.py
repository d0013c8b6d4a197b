"""The name and version of every JSON envelope rdsca writes: one constant each, nowhere else.

docs/json-schemas.md describes each of them; tests/test_docs.py keeps the two in step.
"""

from __future__ import annotations

AUDIT = "rdsca.audit/1"
CAS = "rdsca.cas/1"
PLAN = "rdsca.plan/1"
RUN = "rdsca.run/1"
READINESS = "rdsca.readiness/1"
TRUST_CHECK = "rdsca.trust/1"
TRUST_SCAN = "rdsca.trust-scan/1"
TRUST_CATALOGUE = "rdsca.trust-catalogue/1"
REPORT = "rdsca.report/1"
PROBE = "rdsca.probe/1"
SESSIONS = "rdsca.sessions/1"
IAC = "rdsca.iac/1"
NOTICES = "rdsca.notices/1"
PROGRESS = "rdsca.progress/1"
RUNS = "rdsca.runs/1"
DEFAULTS = "rdsca.defaults/1"

ALL = (
    AUDIT, CAS, PLAN, RUN, READINESS, TRUST_CHECK, TRUST_SCAN, TRUST_CATALOGUE, REPORT, PROBE, SESSIONS, IAC,
    PROGRESS, RUNS, DEFAULTS, NOTICES,
)  # fmt: skip
