"""RDS events in the sandbox: DescribeEvents with the certificate-rotation events RDS posts.

moto 5.2 keeps a few events of its own (creation, backups) and answers DescribeEvents with all of
them, ignoring the time window, the categories and MaxRecords. This operation answers as RDS does
(DescribeEvents, RDS API Reference): events of the last 14 days at most ("Returns events ... for the
past 14 days"), filtered by SourceType, SourceIdentifier, StartTime / EndTime / Duration (minutes,
default 60) and EventCategories, newest last, paginated by MaxRecords (20 to 100) and Marker. The
sandbox's own events (`add`) sit beside moto's on the account x region backend, so
`/moto-api/reset` clears them.

Messages are AWS's ("Amazon RDS event categories and event messages", RDS User Guide, DB instance
events, category maintenance): RDS-EVENT-0501 and RDS-EVENT-0502 below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.core.responses import ActionResult

from rdsca.sandbox import demo, lifecycle, operations

RETENTION = timedelta(days=14)
EVENT_0501 = (
    "Amazon RDS DB instance's server certificate requires rotation through a pending maintenance action."
)
EVENT_0502 = (
    "Amazon RDS has scheduled a server certificate rotation for DB instance during the next maintenance "
    "window. This maintenance will require a database reboot."
)


@dataclass(frozen=True)
class SandboxEvent:
    source_id: str
    source_arn: str
    message: str
    categories: tuple[str, ...]
    date: datetime
    source_type: str = "db-instance"

    def wire(self) -> dict[str, Any]:
        return {
            "SourceIdentifier": self.source_id,
            "SourceType": self.source_type,
            "Message": self.message,
            "EventCategories": list(self.categories),
            "Date": self.date,
            "SourceArn": self.source_arn,
        }


def _store(backend: Any) -> list[SandboxEvent]:
    found: list[SandboxEvent] | None = getattr(backend, "_rdsca_events", None)
    if found is None:
        found = []
        backend._rdsca_events = found
    return found


def add(db: Any, message: str, at: datetime, categories: tuple[str, ...] = ("maintenance",)) -> None:
    """An event of one DB instance, as RDS would post it."""
    _store(db.backend).append(SandboxEvent(db.db_instance_identifier, db.arn, message, categories, at))


def _moto_events(backend: Any, categories: set[str]) -> list[SandboxEvent]:
    out = []
    for e in list(getattr(backend, "events", ())):
        if categories and not categories & set(e.event_categories):
            continue  # filtered first: moto keeps a creation event per instance, thousands in a big fleet
        date = e.date if e.date.tzinfo else e.date.replace(tzinfo=UTC)
        out.append(SandboxEvent(e.source_identifier, e.source_arn, e.message,
                                tuple(e.event_categories), date, e.source_type))  # fmt: skip
    return out


def _time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def describe_events(self: Any) -> ActionResult:
    """moto's RDSResponse.describe_events, answered as RDS does (see the module docstring)."""
    p = self.params
    now = datetime.now(UTC)
    start, end = _time(p.get("StartTime")), _time(p.get("EndTime"))
    if start is None and end is None:
        start = now - timedelta(minutes=int(p.get("Duration") or 60))
    start = max(start or now - RETENTION, now - RETENTION)
    end = end or now
    categories = set(p.get("EventCategories") or [])
    wanted_type, wanted_id = p.get("SourceType"), p.get("SourceIdentifier")
    found = [
        e
        for e in [*_moto_events(self.backend, categories), *_store(self.backend)]
        if start <= e.date <= end
        and (not wanted_type or e.source_type == wanted_type)
        and (not wanted_id or e.source_id == wanted_id)
        and (not categories or categories & set(e.categories))
    ]
    found.sort(key=lambda e: e.date)
    page, marker = operations.paginate([e.wire() for e in found], p)
    return ActionResult({"Events": page, "Marker": marker})


OPERATIONS = {"describe_events": describe_events}


def seed_demo(now: datetime, find: Any) -> None:
    """The demo's certificate events: RDS-EVENT-0501 for the instances whose server-certificate rotation
    is pending, RDS-EVENT-0502 for one whose rotation RDS put in its next window (its action shows
    opted in for the next maintenance window, with that window as its current apply date)."""
    a1 = demo.ACCOUNTS[0]
    add(find(a1, "us-east-1", "web-staging-mysql"), EVENT_0501, now - timedelta(days=2))
    add(find(a1, "eu-west-1", "crm-prod-pg"), EVENT_0501, now - timedelta(days=3))  # its engine says
    # "no restart", RDS says a reboot: the forecast believes the event
    scheduled = find(a1, "ap-south-1", "payments-dev-mysql")
    add(scheduled, EVENT_0502, now - timedelta(days=1))
    for action in lifecycle.state(scheduled).actions:
        action.opt_in_status = "next-maintenance"
        action.current_apply_date = lifecycle.next_window(scheduled.preferred_maintenance_window, now)
