"""Frozen dataclasses shared by every layer. No AWS field names past `rdsca.aws`."""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from rdsca import engines

# Engine names rdsca treats as not RDS-CA managed; kept for rollout/defaults.py, which is to call
# `engines.rotated_by_rdsca` (the table knows families and prefixes; this set only exact names).
UNMANAGED_ENGINES = frozenset(f.name for f in engines.TABLE if not engines.rotated_by_rdsca(f.name))

CERTIFICATE_ACTIONS = frozenset({"ca-certificate-rotation", "server-certificate-rotation"})


@dataclass(frozen=True)
class Target:
    """One account x region that rdsca reads or changes."""

    account_id: str
    region: str
    profile: str | None = None
    role_arn: str | None = None

    @property
    def key(self) -> str:
        return f"{self.account_id}/{self.region}"

    @property
    def role_name(self) -> str | None:
        """The --role-name that reached this target: rdsca assumes
        arn:aws:iam::<account>:role/<name> (rdsca.aws.session._assume); None without a role."""
        if self.role_arn and ":role/" in self.role_arn:
            return self.role_arn.split(":role/", 1)[1]
        return None


@dataclass(frozen=True)
class TargetStatus:
    target: Target
    ok: bool
    error: str | None = None


@dataclass(frozen=True)
class Authority:
    """A CA as `describe_certificates` lists it in one region of one account."""

    id: str
    region: str
    account_id: str
    type: str
    thumbprint: str | None
    valid_from: datetime | None
    valid_till: datetime | None
    customer_override: bool = False
    customer_override_valid_till: datetime | None = None


@dataclass(frozen=True)
class RegionCAs:
    """The CAs of one account x region and the default for new instances."""

    account_id: str
    region: str
    authorities: tuple[Authority, ...]
    default_ca: str | None

    @property
    def override(self) -> bool:
        """True when the default is an account override (`modify_certificates`)."""
        return any(a.customer_override for a in self.authorities)

    def get(self, ca_id: str | None) -> Authority | None:
        return next((a for a in self.authorities if a.id == ca_id), None)


@dataclass(frozen=True)
class PendingAction:
    """A pending maintenance action on an instance (certificate ones matter most)."""

    action: str
    description: str | None = None
    auto_applied_after: datetime | None = None
    forced_apply_date: datetime | None = None
    current_apply_date: datetime | None = None
    opt_in_status: str | None = None

    @property
    def is_certificate(self) -> bool:
        return self.action in CERTIFICATE_ACTIONS


@dataclass(frozen=True)
class PendingChange:
    """A change AWS holds for an instance that a CA change would apply with it.

    `kind` "modification": a pending modification (`name` the setting in snake_case, `value` its new
    value). A modify with ApplyImmediately applies "the modifications in this request and any pending
    modifications" (ModifyDBInstance, RDS API Reference), not only the CA. `kind` "parameter-group" /
    "option-group": a group waiting in `pending-reboot` (`name` the group); the reboot that follows a
    CA change applies it ("Modifying an Amazon RDS DB instance", RDS User Guide).
    """

    kind: str
    name: str
    value: str | None = None

    @property
    def is_group(self) -> bool:
        return self.kind != "modification"

    def describe(self) -> str:
        if self.is_group:
            return f"{self.kind} {self.name} (pending-reboot)"
        return f"{self.name.replace('_', ' ')} -> {self.value}"


@dataclass(frozen=True)
class InstanceEvent:
    """An RDS event of one DB instance (`DescribeEvents`, SourceType db-instance): when and what."""

    at: datetime
    message: str
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class AffectedResource:
    """A resource an AWS Health notice names: for RDS, a DB instance id (or ARN) in `value`."""

    value: str
    status: str | None = None  # PENDING | RESOLVED | IMPAIRED | UNIMPAIRED | UNKNOWN


@dataclass(frozen=True)
class HealthNotice:
    """An AWS Health event of one account: AWS's own notice of a change to its resources."""

    account_id: str
    region: str
    arn: str
    service: str
    type_code: str  # AWS_RDS_PLANNED_LIFECYCLE_EVENT, AWS_RDS_MAINTENANCE_SCHEDULED, ... (an open list)
    category: str  # scheduledChange | issue | accountNotification | investigation
    status: str  # open | upcoming | closed
    start: datetime | None
    end: datetime | None
    last_updated: datetime | None
    description: str | None
    affected: tuple[AffectedResource, ...] = ()


@dataclass(frozen=True)
class EngineCapability:
    """What one (region, engine, version) supports, from `describe_db_engine_versions`."""

    engine: str
    version: str
    rotation_without_restart: bool | None
    supported_cas: tuple[str, ...]


@dataclass(frozen=True)
class Instance:
    account_id: str
    region: str
    id: str
    arn: str
    engine: str
    engine_version: str
    status: str
    endpoint: str | None
    port: int | None
    ca: str | None
    server_cert_ca: str | None
    server_cert_valid_till: datetime | None
    pending_ca: str | None
    pending_actions: tuple[PendingAction, ...] = ()
    rotation_without_restart: bool | None = None
    supported_cas: tuple[str, ...] = ()
    cluster: str | None = None
    replica_of: str | None = None
    replicas: tuple[str, ...] = ()
    multi_az: bool = False
    maintenance_window: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    resource_id: str | None = None  # DbiResourceId: stays across a rename, changes on re-creation
    # Other pending modifications and pending-reboot groups (not the CA): a CA change applies them too.
    pending_changes: tuple[PendingChange, ...] = ()
    # Recent RDS events of the instance (the last 14 days AWS keeps), for the reboot forecast.
    events: tuple[InstanceEvent, ...] = ()
    # The DB parameter group (DBParameterGroups[0].DBParameterGroupName): readiness reads its TLS
    # parameters. Internal: no audit output shows it.
    parameter_group: str | None = None

    @property
    def key(self) -> str:
        return f"{self.account_id}/{self.region}/{self.id}"

    @property
    def is_aurora(self) -> bool:
        return engines.facts(self.engine).cluster_kind == "aurora"

    @property
    def certificate_actions(self) -> tuple[PendingAction, ...]:
        return tuple(a for a in self.pending_actions if a.is_certificate)


@dataclass(frozen=True)
class Fleet:
    """Everything one collection pass saw, including the targets that failed."""

    collected_at: datetime
    targets: tuple[TargetStatus, ...]
    regions: tuple[RegionCAs, ...]
    instances: tuple[Instance, ...]

    @property
    def failed(self) -> tuple[TargetStatus, ...]:
        return tuple(t for t in self.targets if not t.ok)

    def region_cas(self, account_id: str, region: str) -> RegionCAs | None:
        return self._region_index.get((account_id, region))

    @functools.cached_property
    def _region_index(self) -> dict[tuple[str, str], RegionCAs]:
        # Looked up once per instance: a scan of `regions` would make an audit of 8,500
        # account-regions and 25,000 instances quadratic.
        out: dict[tuple[str, str], RegionCAs] = {}
        for r in self.regions:
            out.setdefault((r.account_id, r.region), r)
        return out


class State(enum.StrEnum):
    UNMANAGED = "unmanaged"
    RETIRED_CA = "retired-ca"
    UNKNOWN_CA = "unknown-ca"  # a CA id neither the region nor the catalogue knows
    EXPIRED = "expired"
    EXPIRING = "expiring"
    PENDING = "pending"
    OK = "ok"


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


@dataclass(frozen=True)
class RebootForecast:
    """The next restart RDS itself is expected to make of an instance (nobody scheduled it).

    Built by `rdsca.assess.forecast`; `source` says what it rests on: "pending-action" (a pending
    maintenance action), "event" (an RDS event announcing it) or "certificate-age" (the server
    certificate nears its end and RDS renews it). `at` is the best estimate, `auto_apply` the date
    after which RDS applies it without asking, `window` the preferred maintenance window text.
    """

    at: datetime
    auto_apply: datetime | None
    window: str | None
    source: str
    action: str


@dataclass(frozen=True)
class Verdict:
    """The assessment of one instance at one moment."""

    instance: Instance
    ca_valid_till: datetime | None
    state: State
    severity: Severity
    days_left: int | None
    reasons: tuple[str, ...]
    recommended_ca: str | None = None
    reboot_forecast: RebootForecast | None = None


@dataclass(frozen=True)
class Audit:
    """A fleet and its verdicts: what `rdsca audit` reports."""

    fleet: Fleet
    verdicts: tuple[Verdict, ...]
    generated_at: datetime
    warn_days: int
