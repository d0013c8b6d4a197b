"""Certificate state of one sandbox DB instance and its status transitions.

The state lives on moto's own `DBInstance` object (attribute `_rdsca`), so `/moto-api/reset` clears
it. The instance's recorded CA (`CACertificateIdentifier`) and the CA of the server certificate it
serves (`CertificateDetails.CAIdentifier`, `served_ca`) are kept apart: a CA change with
`CertificateRotationRestart=False` on an engine version that cannot rotate without a restart records
the new CA but keeps serving the old certificate until the next restart ("This option will not
rotate the certificate until the next time the database restarts, either for planned or unplanned
maintenance": "Rotating your SSL/TLS certificate", Amazon RDS User Guide).

Status is computed lazily from timestamps: a transition is a list of phases
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
    """The sandbox clock. A CA change with restart takes `reboot_seconds` in all (after the
    `apply_delay_seconds` it stays `available` with the change pending)."""

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


# "fast" (the default) keeps tests quick. "realistic" plays minutes, as AWS does: the reboot itself
# "typically takes less than two minutes" (RDS User Guide, "Rotating your SSL/TLS certificate",
# quoted in issue 9); how long AWS keeps a change pending (`available`) before `modifying`, and how
# long `modifying` lasts, AWS does not publish: one and three minutes are what users report seeing,
# not documented figures.
PROFILES: dict[str, Settings] = {
    "fast": Settings(),
    "realistic": Settings(reboot_seconds=180.0 + 100.0, modify_seconds=180.0, apply_delay_seconds=60.0),
}
SETTINGS = Settings()


def use_profile(name: str) -> Settings:
    """Set the sandbox clock to a named profile (every setting); return it."""
    if name not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}")
    chosen = PROFILES[name]
    SETTINGS.reboot_seconds = chosen.reboot_seconds
    SETTINGS.modify_seconds = chosen.modify_seconds
    SETTINGS.apply_delay_seconds = chosen.apply_delay_seconds
    return SETTINGS


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
    restart: bool = False  # the instance restarts: a staged certificate becomes the served one


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
    served_ca: str | None = None  # CertificateDetails.CAIdentifier: the certificate served now
    pending_ca: str | None = None
    pending_restart: bool = True  # CertificateRotationRestart of the pending change, kept with it
    transition: Transition | None = None
    misbehaviour: str | None = None
    actions: list[PendingAction] = field(default_factory=list)
    pending_values: dict[str, Any] = field(default_factory=dict)  # deferred settings (`pending`)
    reboot_groups: set[str] = field(default_factory=set)  # "parameter-group" / "option-group"


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
    db.__dict__["_rdsca"] = CertState(leaf_valid_till=None, served_ca=ca_id)
    db.ca_certificate_identifier = ca_id
    if ca_id is not None:
        state(db).leaf_valid_till = new_leaf(db, ca_id, at or utcnow())


def served_ca(db: Any) -> str | None:
    """The CA of the server certificate the instance presents (not always its recorded CA)."""
    return state(db).served_ca


def staged(db: Any) -> bool:
    """A recorded CA that waits for a restart to be served."""
    st = state(db)
    return db.ca_certificate_identifier is not None and st.served_ca != db.ca_certificate_identifier


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
    st.pending_restart = True
    if t.end_status != "available":
        return
    at = datetime.fromtimestamp(t.end_time(), UTC)
    change = t.change
    if change.restart:  # the restart applies the groups waiting in pending-reboot
        st.reboot_groups.clear()
    if change.new_ca is not None:
        db.ca_certificate_identifier = change.new_ca
        st.actions = [a for a in st.actions if a.action != "ca-certificate-rotation"]
    current = db.ca_certificate_identifier
    live = current and (change.restart or without_restart(db))
    if live and (change.renew_leaf or st.served_ca != current):  # a staged certificate goes live
        st.served_ca = current
        st.leaf_valid_till = new_leaf(db, current, at)
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
        change.restart = restart
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
    """Without a restart, an engine that needs one records `ca_id` and keeps serving the old
    certificate (staged) until its next restart."""
    restart = restart_allowed and not without_restart(db)
    start(db, Change(new_ca=ca_id, renew_leaf=True), restart, instant)


def reboot(db: Any) -> None:
    """RebootDBInstance: `rebooting`, then a staged certificate is served."""
    require_available(db)
    with LOCK:
        change = Change(restart=True)
        state(db).transition = Transition(time.time(), [("rebooting", SETTINGS.rebooting())], change)


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
            st.pending_restart = True
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
