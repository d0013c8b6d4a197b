"""Certificate state of one sandbox DB instance and its status transitions.

The state lives on moto's own `DBInstance` object (attribute `_rdsca`), so `/moto-api/reset` clears
it. Status is computed lazily from timestamps: a transition is a list of phases
(`modifying`, `rebooting`, ...) started at a wall-clock time; whoever reads the instance after the
last phase settles it (applies the new CA, renews the server certificate). No background thread.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.rds.exceptions import RDSClientError

from rdsca.sandbox import certificates, engines

LOCK = threading.RLock()
LEAF_DAYS_NO_RESTART = 365  # a G1 leaf renewed without restart lasts 12 months
LEAF_DAYS_RESTART = 3 * 365  # otherwise 36 months
MISBEHAVIOURS = ("reject", "hang", "fail")


@dataclass
class Settings:
    """The sandbox clock. A CA change with restart takes `reboot_seconds` in all."""

    reboot_seconds: float = 3.0
    modify_seconds: float | None = None  # time in `modifying`; default a third of reboot_seconds
    apply_delay_seconds: float = 0.0  # still `available` (change pending) right after the call

    def modifying(self) -> float:
        if self.modify_seconds is not None:
            return self.modify_seconds
        return self.reboot_seconds / 3

    def rebooting(self) -> float:
        return max(self.reboot_seconds - self.modifying(), 0.0)

    def as_dict(self) -> dict[str, float | None]:
        return {
            "reboot_seconds": self.reboot_seconds,
            "modify_seconds": self.modify_seconds,
            "apply_delay_seconds": self.apply_delay_seconds,
        }


SETTINGS = Settings()


@dataclass
class PendingAction:
    action: str  # ca-certificate-rotation | server-certificate-rotation
    description: str
    auto_applied_after: datetime | None
    forced_apply_date: datetime | None
    opt_in_status: str | None = None
    current_apply_date: datetime | None = None
    target_ca: str | None = None  # for ca-certificate-rotation; None: the region default

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Action": self.action, "Description": self.description}
        for key, value in (
            ("AutoAppliedAfterDate", self.auto_applied_after),
            ("ForcedApplyDate", self.forced_apply_date),
            ("OptInStatus", self.opt_in_status),
            ("CurrentApplyDate", self.current_apply_date or self.auto_applied_after),
        ):
            if value is not None:
                out[key] = value
        return out


@dataclass
class Change:
    """What a transition does to the instance when it completes."""

    new_ca: str | None = None
    renew_leaf: bool = False
    done_action: str | None = None  # the maintenance action this change carries out


@dataclass
class Transition:
    started: float
    phases: list[tuple[str, float]]
    change: Change
    end_status: str = "available"

    def position(self, now: float) -> str | None:
        """The current phase's status, or None once every phase is over."""
        elapsed = now - self.started
        for status, seconds in self.phases:
            if elapsed < seconds:
                return status
            elapsed -= seconds
        return None

    def end_time(self) -> float:
        return self.started + sum(s for _, s in self.phases)


@dataclass
class CertState:
    leaf_valid_till: datetime | None
    pending_ca: str | None = None
    transition: Transition | None = None
    misbehaviour: str | None = None
    actions: list[PendingAction] = field(default_factory=list)


def state(db: Any) -> CertState:
    st: CertState | None = db.__dict__.get("_rdsca")
    if st is None:
        st = CertState(leaf_valid_till=None)
        db.__dict__["_rdsca"] = st
    return st


def utcnow() -> datetime:
    return datetime.now(UTC)


def managed(db: Any) -> bool:
    return engines.managed(db.engine)


def without_restart(db: Any) -> bool:
    return engines.rotates_without_restart(db.engine, db.engine_version)


def new_leaf(db: Any, ca_id: str, at: datetime) -> datetime:
    """Valid-till of a leaf issued at `at` under `ca_id`, never past the CA's own end."""
    days = LEAF_DAYS_NO_RESTART if without_restart(db) else LEAF_DAYS_RESTART
    _, ca_end = certificates.validity(ca_id, db.region)
    return min(at + timedelta(days=days), ca_end)


def init_instance(db: Any, ca_id: str | None, at: datetime | None = None) -> None:
    """Fresh certificate state for a new instance on `ca_id` (None: not RDS-managed)."""
    db.__dict__["_rdsca"] = CertState(leaf_valid_till=None)
    db.ca_certificate_identifier = ca_id
    if ca_id is not None:
        state(db).leaf_valid_till = new_leaf(db, ca_id, at or utcnow())


def base_status(db: Any) -> str:
    return str(db.__dict__.get("_rdsca_status", "available"))


def settle(db: Any, now: float | None = None) -> str:
    """The instance's status now; completes a finished transition (once)."""
    with LOCK:
        st = state(db)
        t = st.transition
        if t is None:
            return base_status(db)
        status = t.position(time.time() if now is None else now)
        if status is not None:
            return status
        st.transition = None
        finish(db, t)
        return base_status(db)


def finish(db: Any, t: Transition) -> None:
    st = state(db)
    db.__dict__["_rdsca_status"] = t.end_status
    st.pending_ca = None
    if t.end_status != "available":
        return
    at = datetime.fromtimestamp(t.end_time(), UTC)
    change = t.change
    if change.new_ca is not None:
        db.ca_certificate_identifier = change.new_ca
        st.actions = [a for a in st.actions if a.action != "ca-certificate-rotation"]
    if change.renew_leaf and db.ca_certificate_identifier:
        st.leaf_valid_till = new_leaf(db, db.ca_certificate_identifier, at)
    if change.done_action:
        st.actions = [a for a in st.actions if a.action != change.done_action]


def invalid_state(db: Any, status: str) -> RDSClientError:
    return RDSClientError(
        "InvalidDBInstanceState",
        f"Database instance {db.db_instance_identifier} is in state {status}; "
        "it must be available to be modified.",
    )


def require_available(db: Any) -> None:
    status = settle(db)
    if status != "available" or state(db).transition is not None:
        raise invalid_state(db, status)
    st = state(db)
    if st.misbehaviour == "reject":
        st.misbehaviour = None
        raise invalid_state(db, "modifying")


def start(db: Any, change: Change, restart: bool, instant: bool = False) -> None:
    """Begin a change: through `modifying` (and `rebooting` when `restart`), or at once."""
    with LOCK:
        st = state(db)
        mode = st.misbehaviour
        if change.new_ca is not None:
            st.pending_ca = change.new_ca
        if instant and mode not in ("hang", "fail"):
            finish(db, Transition(time.time(), [], change))
            return
        phases: list[tuple[str, float]] = []
        if SETTINGS.apply_delay_seconds > 0 and not instant:
            phases.append(("available", SETTINGS.apply_delay_seconds))
        end_status = "available"
        if mode == "hang":
            phases.append(("modifying", math.inf))
        elif mode == "fail":
            phases.append(("modifying", SETTINGS.modifying()))
            end_status = "failed"
        else:
            phases.append(("modifying", SETTINGS.modifying()))
            if restart:
                phases.append(("rebooting", SETTINGS.rebooting()))
        if mode in ("hang", "fail"):
            st.misbehaviour = None
        st.transition = Transition(time.time(), phases, change, end_status)


def change_ca(db: Any, ca_id: str, restart_allowed: bool = True, instant: bool = False) -> None:
    restart = restart_allowed and not without_restart(db)
    start(db, Change(new_ca=ca_id, renew_leaf=True), restart, instant)


def reboot(db: Any) -> None:
    require_available(db)
    with LOCK:
        state(db).transition = Transition(time.time(), [("rebooting", SETTINGS.rebooting())], Change())


def set_misbehaviour(db: Any, mode: str | None) -> None:
    """reject | hang | fail for the next change; None clears it and revives a stuck instance."""
    if mode is not None and mode not in MISBEHAVIOURS:
        raise ValueError(f"misbehaviour must be one of {', '.join(MISBEHAVIOURS)} or none")
    with LOCK:
        st = state(db)
        st.misbehaviour = mode
        if mode is None:
            st.transition = None
            st.pending_ca = None
            db.__dict__["_rdsca_status"] = "available"


def next_window(window: str, after: datetime) -> datetime:
    """Start of the next maintenance window like `sun:05:00-sun:06:00` after `after`."""
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    try:
        day, hh, mm = window.split("-")[0].split(":")
        target = days.index(day.lower())
        hour, minute = int(hh), int(mm)
    except (ValueError, AttributeError):
        return after + timedelta(days=7)
    start_at = after.replace(hour=hour, minute=minute, second=0, microsecond=0)
    start_at += timedelta(days=(target - after.weekday()) % 7)
    if start_at <= after:
        start_at += timedelta(days=7)
    return start_at
