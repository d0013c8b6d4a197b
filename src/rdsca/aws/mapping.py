"""One mapping function per AWS resource: raw boto3 dicts in, model dataclasses out.

Past this module nobody indexes `["CACertificateIdentifier"]`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rdsca.model import Authority, EngineCapability, Instance, InstanceEvent, PendingAction, PendingChange

# PendingModifiedValues members (botocore's RDS model: DBInstanceClass, AllocatedStorage,
# MasterUserPassword, Port, BackupRetentionPeriod, MultiAZ, EngineVersion, LicenseModel, Iops,
# StorageThroughput, StorageType, DBSubnetGroupName, ProcessorFeatures, ...) with a name of their own;
# any other member is turned into snake_case. The CA itself is `Instance.pending_ca`, not a rider.
PENDING_NAMES = {
    "DBInstanceClass": "instance_class",
    "DBInstanceIdentifier": "instance_identifier",
    "DBSubnetGroupName": "subnet_group",
    "MultiAZ": "multi_az",
    "IAMDatabaseAuthenticationEnabled": "iam_database_authentication",
    "PendingCloudwatchLogsExports": "cloudwatch_logs_exports",
}
NOT_RIDERS = frozenset({"CACertificateIdentifier"})
SECRET = frozenset({"MasterUserPassword"})
PENDING_REBOOT = "pending-reboot"


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


def authority(raw: Mapping[str, Any], account_id: str, region: str) -> Authority:
    return Authority(
        id=raw["CertificateIdentifier"],
        region=region,
        account_id=account_id,
        type=raw.get("CertificateType", "CA"),
        thumbprint=raw.get("Thumbprint"),
        valid_from=_utc(raw.get("ValidFrom")),
        valid_till=_utc(raw.get("ValidTill")),
        customer_override=bool(raw.get("CustomerOverride")),
        customer_override_valid_till=_utc(raw.get("CustomerOverrideValidTill")),
    )


def pending_action(raw: Mapping[str, Any]) -> PendingAction:
    return PendingAction(
        action=raw["Action"],
        description=raw.get("Description"),
        auto_applied_after=_utc(raw.get("AutoAppliedAfterDate")),
        forced_apply_date=_utc(raw.get("ForcedApplyDate")),
        current_apply_date=_utc(raw.get("CurrentApplyDate")),
        opt_in_status=raw.get("OptInStatus"),
    )


def instance_event(raw: Mapping[str, Any]) -> InstanceEvent | None:
    """An `Event` of DescribeEvents (Date, Message, EventCategories); None without a date."""
    at = _utc(raw.get("Date"))
    if at is None:
        return None
    return InstanceEvent(at=at, message=str(raw.get("Message") or ""),
                         categories=tuple(raw.get("EventCategories") or ()))  # fmt: skip


def engine_capability(raw: Mapping[str, Any] | None, engine: str, version: str) -> EngineCapability:
    if raw is None:
        return EngineCapability(engine, version, None, ())
    flag = raw.get("SupportsCertificateRotationWithoutRestart")
    return EngineCapability(
        engine=engine,
        version=version,
        rotation_without_restart=None if flag is None else bool(flag),
        supported_cas=tuple(raw.get("SupportedCACertificateIdentifiers") or ()),
    )


def instance(
    raw: Mapping[str, Any],
    account_id: str,
    region: str,
    pending: Mapping[str, tuple[PendingAction, ...]],
    capability: EngineCapability | None,
    events: Mapping[str, tuple[InstanceEvent, ...]] | None = None,
) -> Instance:
    endpoint = raw.get("Endpoint") or {}
    details = raw.get("CertificateDetails") or {}
    pmv = raw.get("PendingModifiedValues") or {}
    arn = raw.get("DBInstanceArn") or (f"arn:aws:rds:{region}:{account_id}:db:{raw['DBInstanceIdentifier']}")
    return Instance(
        account_id=account_id,
        region=region,
        id=raw["DBInstanceIdentifier"],
        resource_id=raw.get("DbiResourceId"),
        arn=arn,
        engine=raw.get("Engine", ""),
        engine_version=raw.get("EngineVersion", ""),
        status=raw.get("DBInstanceStatus", "unknown"),
        endpoint=endpoint.get("Address"),
        port=endpoint.get("Port"),
        ca=raw.get("CACertificateIdentifier") or None,
        server_cert_ca=details.get("CAIdentifier"),
        server_cert_valid_till=_utc(details.get("ValidTill")),
        pending_ca=pmv.get("CACertificateIdentifier"),
        pending_actions=pending.get(arn, ()),
        rotation_without_restart=capability.rotation_without_restart if capability else None,
        supported_cas=capability.supported_cas if capability else (),
        cluster=raw.get("DBClusterIdentifier"),
        replica_of=raw.get("ReadReplicaSourceDBInstanceIdentifier"),
        replicas=tuple(raw.get("ReadReplicaDBInstanceIdentifiers") or ()),
        multi_az=bool(raw.get("MultiAZ")),
        maintenance_window=raw.get("PreferredMaintenanceWindow"),
        tags={t["Key"]: t.get("Value", "") for t in raw.get("TagList") or ()},
        pending_changes=pending_changes(raw),
        events=(events or {}).get(raw["DBInstanceIdentifier"], ()),
        parameter_group=next(
            (g.get("DBParameterGroupName") for g in raw.get("DBParameterGroups") or ()), None
        ),
    )


def _snake(name: str) -> str:
    return PENDING_NAMES.get(name) or re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _value(name: str, value: Any) -> str:
    if name in SECRET:
        return "****"  # never echo a password, whatever the API returns for it
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def pending_changes(raw: Mapping[str, Any]) -> tuple[PendingChange, ...]:
    """What a CA change would apply besides the CA: the other `PendingModifiedValues`, and the
    `DBParameterGroups[].ParameterApplyStatus` / `OptionGroupMemberships[].Status` that are
    `pending-reboot` (DBParameterGroupStatus and OptionGroupMembership, RDS API Reference)."""
    pmv = raw.get("PendingModifiedValues") or {}
    out = [
        PendingChange("modification", _snake(k), _value(k, v))
        for k, v in sorted(pmv.items())
        if k not in NOT_RIDERS and v is not None
    ]
    out += [
        PendingChange("parameter-group", g.get("DBParameterGroupName", "?"))
        for g in raw.get("DBParameterGroups") or ()
        if g.get("ParameterApplyStatus") == PENDING_REBOOT
    ]
    out += [
        PendingChange("option-group", g.get("OptionGroupName", "?"))
        for g in raw.get("OptionGroupMemberships") or ()
        if g.get("Status") == PENDING_REBOOT
    ]
    return tuple(out)
