"""The next restart RDS makes of an instance by itself: (instance, now) -> a forecast, or None.

Pure: no AWS, no clock reads. For the G1 CAs RDS renews each server certificate itself. An engine
version that rotates without a restart takes the new certificate live; any other gets a pending
maintenance action, RDS events, and a reboot in its maintenance window by the action's auto-apply
date. Three sources, strongest first:

1. a pending certificate maintenance action (`ca-certificate-rotation`, `server-certificate-rotation`):
   its opt-in, current apply date, auto-apply date and forced date;
2. an RDS event of the last 14 days announcing the rotation (RDS-EVENT-0501 / RDS-EVENT-0502): it
   says the rotation reboots the instance even where the engine version reports a rotation without
   restart; the date is the pending action's. An event whose action is gone was carried out (RDS
   keeps events 14 days), so it forecasts nothing;
3. the server certificate's age: RDS renews it before it ends, so a restart is foreseen even
   before RDS posts anything.

Other pending-action types (AWS keeps adding them: system-update, db-upgrade, ...) are listed by
the audit, never forecast as certificate reboots and never acted on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import lru_cache

from rdsca import engines
from rdsca.model import Instance, InstanceEvent, PendingAction, RebootForecast

__all__ = ["RebootForecast", "certificate_event_kind", "forecast", "next_window", "reboot_reason"]

PENDING_ACTION = "pending-action"
EVENT = "event"
CERTIFICATE_AGE = "certificate-age"
SERVER_ROTATION = "server-certificate-rotation"

# The CAs whose server certificates RDS rotates itself: "This CA supports automatic server certificate
# rotation" is said of rds-ca-rsa2048-g1, rds-ca-rsa4096-g1 and rds-ca-ecc384-g1, and "doesn't support
# automatic server certificate rotation" of rds-ca-2019 ("Certificate authorities", RDS User Guide,
# "Using SSL/TLS to encrypt a connection to a DB instance or cluster").
AUTO_ROTATING_CAS = frozenset({"rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"})

# How long before its end RDS renews a server certificate. The RDS User Guide does not publish it.
# The DocumentDB Developer Guide does: "Amazon DocumentDB attempts to rotate your server certificate
# in your preferred maintenance window at the server certificate half life" ("Updating your Amazon
# DocumentDB TLS certificates"); for RDS only second-hand summaries say "half-life or >= 3 months
# before expiry". rdsca cannot see when a certificate was issued (only ValidTill), so it forecasts the
# latest of these it can be sure of, 90 days before the end, and says so ("certificate-age": an
# estimate, replaced as soon as RDS posts the pending action).
RENEWAL_LEAD = timedelta(days=90)

# RDS event messages ("Amazon RDS event categories and event messages", RDS User Guide, DB instance
# events, category maintenance):
# RDS-EVENT-0501 "Amazon RDS DB instance's server certificate requires rotation through a pending
#   maintenance action." (RDS reboots the database during that maintenance; unscheduled, it is applied
#   "in your maintenance window on the auto apply date shown in your maintenance action")
# RDS-EVENT-0502 "Amazon RDS has scheduled a server certificate rotation for DB instance during the
#   next maintenance window. This maintenance will require a database reboot."
# DescribeEvents returns the message, not the event id: rdsca matches the distinctive words, in any case.
EVENT_0501 = "server certificate requires rotation"
EVENT_0502 = "scheduled a server certificate rotation"

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def certificate_event_kind(event: InstanceEvent) -> str | None:
    """ "RDS-EVENT-0501", "RDS-EVENT-0502", or None for any other event."""
    text = " ".join(event.message.lower().split())
    if EVENT_0502 in text:
        return "RDS-EVENT-0502"
    if EVENT_0501 in text:
        return "RDS-EVENT-0501"
    return None


@lru_cache(maxsize=1024)  # an estate has few distinct windows, parsed once each
def _window_start(window: str) -> tuple[int, int, int] | None:
    """(weekday, hour, minute) of a window like `sun:05:00-sun:06:00` (UTC), None when unreadable."""
    try:
        day, hour, minute = window.split("-", 1)[0].split(":")
        return _DAYS.index(day.strip().lower()), int(hour), int(minute)
    except (ValueError, AttributeError):
        return None


def next_window(window: str | None, at: datetime) -> datetime | None:
    """The start of the first maintenance window at or after `at` (None: no readable window)."""
    start = _window_start(window) if window else None
    if start is None:
        return None
    weekday, hour, minute = start
    candidate = at.replace(hour=hour, minute=minute, second=0, microsecond=0)
    candidate += timedelta(days=(weekday - at.weekday()) % 7)
    if candidate < at:
        candidate += timedelta(days=7)
    return candidate


def _in_window(window: str | None, at: datetime) -> datetime:
    return next_window(window, at) or at


def _from_action(inst: Instance, action: PendingAction, now: datetime) -> RebootForecast | None:
    """When RDS applies one certificate action. Unscheduled, it is applied in the maintenance window on
    the auto-apply date (RDS-EVENT-0501's note); it is applied at the forced date whatever the window
    (PendingMaintenanceAction.ForcedApplyDate, RDS API Reference)."""
    window = inst.maintenance_window
    opt_in = (action.opt_in_status or "").lower()
    if opt_in in ("immediate", "next-maintenance") and action.current_apply_date is not None:
        at: datetime | None = action.current_apply_date
    elif opt_in == "next-maintenance":
        at = next_window(window, now)
    elif action.auto_applied_after is not None:
        at = _in_window(window, max(action.auto_applied_after, now))
    else:
        at = action.current_apply_date
    if action.forced_apply_date is not None:
        at = min(at, action.forced_apply_date) if at is not None else action.forced_apply_date
    if at is None:
        return None
    auto = action.auto_applied_after or action.forced_apply_date
    return RebootForecast(at=max(at, now), auto_apply=auto, window=window, source=PENDING_ACTION,
                          action=action.action)  # fmt: skip


def _announced(inst: Instance) -> bool:
    """RDS said (RDS-EVENT-0501/0502, last 14 days) that this instance's certificate rotation reboots it."""
    return any(certificate_event_kind(e) for e in inst.events)


def _from_age(inst: Instance, now: datetime) -> RebootForecast | None:
    served = inst.server_cert_ca or inst.ca
    if served not in AUTO_ROTATING_CAS or inst.server_cert_valid_till is None or inst.pending_ca:
        return None  # no automatic renewal, no date, or a change already queued renews it
    if inst.server_cert_valid_till <= now:
        return None  # RDS did not renew it in time: nothing says when it will (the verdict: expired)
    due = max(inst.server_cert_valid_till - RENEWAL_LEAD, now)
    return RebootForecast(
        at=_in_window(inst.maintenance_window, due),
        auto_apply=None,
        window=inst.maintenance_window,
        source=CERTIFICATE_AGE,
        action=SERVER_ROTATION,
    )


def _earliest(found: Iterable[RebootForecast | None]) -> RebootForecast | None:
    return min((f for f in found if f is not None), key=lambda f: f.at, default=None)


def forecast(inst: Instance, now: datetime) -> RebootForecast | None:
    """The next reboot RDS itself is expected to make of `inst` for its certificate, or None.

    None for an instance whose certificates RDS does not manage, and for an engine version that
    rotates without a restart (`SupportsCertificateRotationWithoutRestart`); an unknown answer
    counts as "needs a restart", as everywhere in rdsca. An RDS event is believed whatever the flag:
    RDS posts 0501/0502 only where it will reboot (source "event").
    """
    if not engines.rotated_by_rdsca(inst.engine) or not inst.ca:
        return None
    restarts = inst.rotation_without_restart is not True
    announced = _announced(inst)
    if restarts or announced:
        by_action = _earliest(_from_action(inst, a, now) for a in inst.certificate_actions)
        if by_action is not None:
            # the action gives the date; the event, where the engine claims no restart, the reboot
            return by_action if restarts else replace(by_action, source=EVENT)
    return _from_age(inst, now) if restarts else None


_SOURCE_WORDS = {
    PENDING_ACTION: "pending maintenance action",
    EVENT: "RDS event",
    CERTIFICATE_AGE: "server certificate age, estimated",
}


def reboot_reason(f: RebootForecast) -> str:
    """One line for the audit's reasons: when RDS reboots the instance by itself, and why."""
    auto = f"; auto-apply {f.auto_apply:%Y-%m-%d}" if f.auto_apply else ""
    window = f" in window {f.window}" if f.window else ""
    source = _SOURCE_WORDS.get(f.source, f.source)
    return f"RDS reboots it for {f.action} ~{f.at:%Y-%m-%d %H:%M}{window}{auto} ({source})"
