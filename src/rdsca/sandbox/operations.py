"""The RDS certificate operations moto lacks, as methods for `moto.rds.responses.RDSResponse`.

moto dispatches an action to the response method of the same name (snake_case), and serialises
what it returns from the botocore output shape, so the answers below reach botocore exactly as
AWS's would.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from moto.core.responses import ActionResult
from moto.rds.exceptions import RDSClientError
from moto.rds.models import rds_backends

from rdsca.sandbox import certificates, engines, lifecycle

CERT_ACTIONS = ("ca-certificate-rotation", "server-certificate-rotation")
OPT_IN_TYPES = ("immediate", "next-maintenance", "undo-opt-in")


def check_max_records(params: Any) -> int:
    raw = params.get("MaxRecords")
    if raw is None:
        return 100
    value = int(raw)
    if not 20 <= value <= 100:
        raise RDSClientError(
            "InvalidParameterValue",
            f"Invalid value {value} for MaxRecords. Must be between 20 and 100",
        )
    return value


def paginate(items: Sequence[Any], params: Any) -> tuple[list[Any], str | None]:
    """One page of `items` and the next Marker (opaque: an offset)."""
    limit = check_max_records(params)
    start = 0
    marker = params.get("Marker")
    if marker:
        try:
            start = int(base64.urlsafe_b64decode(marker.encode()).decode().removeprefix("rdsca:"))
        except ValueError as exc:
            raise RDSClientError("InvalidParameterValue", f"Invalid marker: {marker}") from exc
    page = list(items[start : start + limit])
    more = start + limit < len(items)
    token = base64.urlsafe_b64encode(f"rdsca:{start + limit}".encode()).decode() if more else None
    return page, token


def filters_of(params: Any) -> dict[str, list[str]]:
    return {f["Name"]: list(f.get("Values") or []) for f in params.get("Filters") or []}


def describe_certificates(self: Any) -> ActionResult:
    wanted = self.params.get("CertificateIdentifier")
    certs, default = certificates.describe(self.backend, wanted.lower() if wanted else None)
    page, marker = paginate(certs, self.params)
    return ActionResult({"Certificates": page, "DefaultCertificateForNewLaunches": default, "Marker": marker})


def modify_certificates(self: Any) -> ActionResult:
    wanted = self.params.get("CertificateIdentifier")
    cert = certificates.modify(
        self.backend,
        wanted.lower() if wanted else None,  # AWS takes CA ids in any case
        bool(self.params.get("RemoveCustomerOverride")),
    )
    return ActionResult({"Certificate": cert})


def describe_db_engine_versions(self: Any) -> ActionResult:
    p = self.params
    found = engines.select(
        p.get("Engine"), p.get("EngineVersion"), p.get("DBParameterGroupFamily"), bool(p.get("DefaultOnly"))
    )
    page, marker = paginate([engines.to_wire(e) for e in found], p)
    return ActionResult({"DBEngineVersions": page, "Marker": marker})


def _matches(db: Any, resource: str | None, filters: dict[str, list[str]]) -> bool:
    if resource and db.arn != resource:
        return False
    ids = filters.get("db-instance-id")
    if ids and db.db_instance_identifier not in ids and db.arn not in ids:
        return False
    clusters = filters.get("db-cluster-id")
    return not (clusters and getattr(db, "db_cluster_identifier", None) not in clusters)


def resource_actions(db: Any) -> dict[str, Any]:
    return {
        "ResourceIdentifier": db.arn,
        "PendingMaintenanceActionDetails": [a.to_wire() for a in lifecycle.state(db).actions],
    }


def describe_pending_maintenance_actions(self: Any) -> ActionResult:
    resource = self.params.get("ResourceIdentifier")
    filters = filters_of(self.params)
    found = []
    for db in list(self.backend.databases.values()):
        lifecycle.settle(db)
        if lifecycle.state(db).actions and _matches(db, resource, filters):
            found.append(resource_actions(db))
    page, marker = paginate(found, self.params)
    return ActionResult({"PendingMaintenanceActions": page, "Marker": marker})


def find_by_arn(account_id: str, arn: str) -> Any:
    parts = arn.split(":")
    if len(parts) < 7 or parts[2] != "rds":
        raise RDSClientError("ResourceNotFoundFault", f"The specified resource ARN {arn} was not found.")
    backend = rds_backends[account_id][parts[3]]
    db = next((d for d in backend.databases.values() if d.arn == arn), None)
    if db is None:
        raise RDSClientError("ResourceNotFoundFault", f"The specified resource ARN {arn} was not found.")
    return db


def apply_action(db: Any, action_name: str, opt_in: str) -> None:
    """Opt an instance in (or out) of one of its pending certificate actions."""
    if opt_in not in OPT_IN_TYPES:
        raise RDSClientError("InvalidParameterValue", f"OptInType must be one of {', '.join(OPT_IN_TYPES)}")
    st = lifecycle.state(db)
    action = next((a for a in st.actions if a.action == action_name), None)
    if action is None:
        raise RDSClientError(
            "InvalidParameterValue",
            f"No pending maintenance action {action_name} for {db.db_instance_identifier}.",
        )
    now = lifecycle.utcnow()
    if opt_in == "undo-opt-in":
        if action.opt_in_status == "immediate":
            raise RDSClientError("InvalidParameterValue", "An immediate opt-in cannot be undone.")
        action.opt_in_status, action.current_apply_date = None, None
    elif opt_in == "next-maintenance":
        action.opt_in_status = "next-maintenance"
        action.current_apply_date = lifecycle.next_window(db.preferred_maintenance_window, now)
    else:
        lifecycle.require_available(db)
        action.opt_in_status, action.current_apply_date = "immediate", now
        carry_out(db, action, instant=False)


def carry_out(db: Any, action: lifecycle.PendingAction, instant: bool) -> None:
    if action.action == "ca-certificate-rotation":
        target = action.target_ca or certificates.effective_default(db.backend)
        restart = not lifecycle.without_restart(db)
        change = lifecycle.Change(new_ca=target, renew_leaf=True, done_action=action.action)
        lifecycle.start(db, change, restart, instant)
    else:
        change = lifecycle.Change(renew_leaf=True, done_action=action.action)
        lifecycle.start(db, change, not lifecycle.without_restart(db), instant)


def apply_pending_maintenance_action(self: Any) -> ActionResult:
    db = find_by_arn(self.current_account, self.params.get("ResourceIdentifier") or "")
    with lifecycle.LOCK:
        apply_action(db, self.params.get("ApplyAction") or "", self.params.get("OptInType") or "")
    return ActionResult({"ResourcePendingMaintenanceActions": resource_actions(db)})


OPERATIONS = {
    "describe_certificates": describe_certificates,
    "modify_certificates": modify_certificates,
    "describe_db_engine_versions": describe_db_engine_versions,
    "describe_pending_maintenance_actions": describe_pending_maintenance_actions,
    "apply_pending_maintenance_action": apply_pending_maintenance_action,
}
