"""Pending modifications and pending-reboot groups of a sandbox DB instance, as AWS keeps them.

moto applies every ModifyDBInstance setting at once and reports every parameter and option group
`in-sync`. AWS does not (sources: "Settings for DB instances" and "Using the schedule modifications
setting", RDS User Guide; ModifyDBInstance, DBParameterGroupStatus, OptionGroupMembership and
PendingModifiedValues, RDS API Reference):

- Without ApplyImmediately, the settings in `DEFERRED` wait for the maintenance window and show in
  `PendingModifiedValues`. The master password and the port are applied at once whatever the flag
  ("This setting ignores the apply immediately setting"), so moto's behaviour stands for them.
- A modify with ApplyImmediately applies "the modifications in this request and any pending
  modifications", whatever the request is about (a CA change included).
- A static parameter changed in a DB parameter group (`ApplyMethod=pending-reboot`) and a newly
  associated parameter group ("The parameter group name itself is changed immediately, but the
  actual parameter changes are not applied until you reboot the instance") leave the instance's group
  `ParameterApplyStatus: pending-reboot` until the next restart; an option group likewise
  (`OptionGroupMemberships[].Status`), set here through the control API. A restart (a reboot, or a
  CA change that restarts) puts them back `in-sync` (`lifecycle.finish`).

The state lives in `lifecycle.CertState` (`pending_values`, `reboot_groups`), on moto's own object.
"""

from __future__ import annotations

from typing import Any

from rdsca.sandbox import lifecycle

# moto's ModifyDBInstance keyword -> the PendingModifiedValues member AWS shows while it waits.
DEFERRED = {
    "db_instance_class": "DBInstanceClass",
    "allocated_storage": "AllocatedStorage",
    "engine_version": "EngineVersion",
    "multi_az": "MultiAZ",
    "storage_type": "StorageType",
    "iops": "Iops",
    "storage_throughput": "StorageThroughput",
    "backup_retention_period": "BackupRetentionPeriod",
    "license_model": "LicenseModel",
}
PARAMETER_GROUP = "parameter-group"
OPTION_GROUP = "option-group"
GROUP_KINDS = (PARAMETER_GROUP, OPTION_GROUP)


def on_modify(db: Any, db_kwargs: dict[str, Any], apply_now: bool) -> None:
    """Before moto's modify: defer the deferrable settings, or (ApplyImmediately) add every pending
    one to the request so that moto applies them all now."""
    st = lifecycle.state(db)
    asked = {k: db_kwargs.pop(k) for k in DEFERRED if db_kwargs.get(k) is not None}
    if apply_now:
        db_kwargs.update({**st.pending_values, **asked})
        st.pending_values.clear()
    else:
        st.pending_values.update(asked)
    group = db_kwargs.get("db_parameter_group_name")
    if group and group != current_parameter_group(db):
        st.reboot_groups.add(PARAMETER_GROUP)


def apply_pending(db: Any) -> list[str]:
    """What the maintenance window does with the pending values: apply them; their names."""
    st = lifecycle.state(db)
    names = [DEFERRED[k] for k in sorted(st.pending_values)]
    db.update(**st.pending_values)
    st.pending_values.clear()
    return names


def wire(db: Any) -> dict[str, Any]:
    """The deferred settings as PendingModifiedValues members."""
    values = lifecycle.state(db).pending_values
    return {DEFERRED[k]: _wire_value(k, v) for k, v in values.items()}


def _wire_value(name: str, value: Any) -> Any:
    if name in ("allocated_storage", "iops", "storage_throughput", "backup_retention_period"):
        return int(value)
    if name == "multi_az":
        return str(value).lower() == "true" if isinstance(value, str) else bool(value)
    return value


def current_parameter_group(db: Any) -> str:
    return str(db.db_parameter_groups()[0].name)


def parameter_groups(db: Any) -> list[dict[str, Any]]:
    """DBParameterGroups (DBParameterGroupStatus): one per group, as plain dicts (moto's own sets an
    attribute on the shared group object, which another instance's answer would read)."""
    status = "pending-reboot" if PARAMETER_GROUP in lifecycle.state(db).reboot_groups else "in-sync"
    return [
        {"DBParameterGroupName": g.name, "ParameterApplyStatus": status} for g in db.db_parameter_groups()
    ]


def option_groups(db: Any) -> list[dict[str, Any]]:
    status = "pending-reboot" if OPTION_GROUP in lifecycle.state(db).reboot_groups else "in-sync"
    return [{"OptionGroupName": db.option_group_name, "Status": status}]


def mark_pending_reboot(db: Any, kind: str) -> None:
    if kind not in GROUP_KINDS:
        raise ValueError(f"group must be one of {', '.join(GROUP_KINDS)}")
    with lifecycle.LOCK:
        lifecycle.state(db).reboot_groups.add(kind)


def static_change(backend: Any, group: str, parameters: Any) -> None:
    """ModifyDBParameterGroup: a parameter applied `pending-reboot` leaves every instance of the
    group pending-reboot."""
    if not any(str(p.get("ApplyMethod", "")).lower() == "pending-reboot" for p in parameters or ()):
        return
    with lifecycle.LOCK:
        for db in list(backend.databases.values()):
            if current_parameter_group(db) == group:
                lifecycle.state(db).reboot_groups.add(PARAMETER_GROUP)
