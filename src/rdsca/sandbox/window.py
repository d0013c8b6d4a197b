"""Operator actions on the sandbox fleet: the maintenance window, misbehaviour, a listing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from moto.rds.models import rds_backends

from rdsca.sandbox import lifecycle, operations, pending


class NotFound(LookupError):
    pass


def databases(account: str | None = None, region: str | None = None) -> Iterator[tuple[str, str, Any]]:
    """(account, region, DBInstance) for every existing instance, optionally narrowed."""
    for acct, reg, backend in list(rds_backends.iter_backends()):
        if account not in (None, acct) or region not in (None, reg):
            continue
        for db in list(getattr(backend, "databases", {}).values()):
            yield acct, reg, db


def find(account: str, region: str, instance_id: str) -> Any:
    for _, _, db in databases(account, region):
        if db.db_instance_identifier == instance_id.lower():
            return db
    raise NotFound(f"no instance {instance_id} in account {account} region {region}")


def run_window(
    account: str | None = None, region: str | None = None, transition: bool = False
) -> list[dict[str, Any]]:
    """Apply what a maintenance window applies: pending modifications (with a pending CA change),
    then opted-in or overdue certificate actions. At once by default; through the status sequence
    with `transition`."""
    now = lifecycle.utcnow()
    applied: list[dict[str, Any]] = []
    for acct, reg, db in databases(account, region):
        with lifecycle.LOCK:
            what = _apply_due(db, now, transition)
        if what:
            applied.append(
                {
                    "account": acct,
                    "region": reg,
                    "id": db.db_instance_identifier,
                    "applied": what,
                    "status": lifecycle.settle(db),
                }
            )
    return applied


def _apply_due(db: Any, now: datetime, transition: bool) -> str | None:
    """Start (or make) the change a window would make on this instance; say what it was."""
    status = lifecycle.settle(db)
    st = lifecycle.state(db)
    if status != "available" or st.transition is not None:
        return None
    values = pending.apply_pending(db) if st.pending_values else []
    if st.pending_ca:
        what = f"ca {db.ca_certificate_identifier} -> {st.pending_ca}"
        lifecycle.change_ca(db, st.pending_ca, st.pending_restart, instant=not transition)
        return ", ".join([what, *values])
    if values:
        return ", ".join(values)
    for action in st.actions:
        overdue = action.auto_applied_after is not None and action.auto_applied_after <= now
        if action.opt_in_status == "next-maintenance" or overdue:
            operations.carry_out(db, action, instant=not transition)
            return action.action
    return None


def listing(account: str | None = None, region: str | None = None) -> list[dict[str, Any]]:
    out = []
    for acct, reg, db in databases(account, region):
        st = lifecycle.state(db)
        out.append(
            {
                "account": acct,
                "region": reg,
                "id": db.db_instance_identifier,
                "engine": db.engine,
                "status": lifecycle.settle(db),
                "ca": db.ca_certificate_identifier,
                "served_ca": st.served_ca,
                "pending_ca": st.pending_ca,
                "pending_values": pending.wire(db),
                "reboot_groups": sorted(st.reboot_groups),
                "pending_restart": st.pending_restart if st.pending_ca else None,
                "misbehaviour": st.misbehaviour,
                "actions": [a.action for a in st.actions],
            }
        )
    return out
