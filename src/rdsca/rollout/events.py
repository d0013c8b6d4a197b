"""The journal's step events, one enum, and what they say about a change sent to AWS.

A step's write is open from its `SENDING` until one of `DECIDED` says what became of it. Resume
reads a step's events in order to know whether the change was sent, accepted, refused or unknown.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Event(enum.StrEnum):
    PLANNED = "planned"
    INSTANCE_BUSY = "instance-busy"  # another change is under way: wait, send nothing
    SENDING = "modify-sending"  # journalled before the AWS call
    ACCEPTED = "modify-accepted"  # AWS answered the call
    REJECTED = "modify-rejected"  # AWS refused the call: nothing changed
    OUTCOME_UNKNOWN = "modify-outcome-unknown"  # timeout, reset or garbage after sending
    CONFIRMED = "modify-confirmed"  # the instance shows the change an unknown outcome sent
    NOT_ACCEPTED = "modify-not-accepted"  # the instance shows no sign of it: safe to send again
    ASSUMED_ACCEPTED = "modify-assumed-accepted"  # a crash after sending; the instance shows it
    RESUMED = "resumed"
    STATUS_SEEN = "status-seen"
    SCHEDULED = "scheduled"
    AWAITING_RESTART = "awaiting-restart"  # the CA is recorded; the old certificate until a restart
    RESTART_SEEN = "restart-seen"  # `rdsca show` saw the restart serve the new certificate
    VERIFIED = "verified"
    TIMED_OUT = "timed-out"
    FAILED = "failed"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"
    ROLLED_BACK = "rolled-back"
    APPLIED_IN_WINDOW = "applied-in-window"  # `rdsca show` saw the window apply a scheduled step
    HOOK_RAN = "hook-ran"  # a --before/after-step/wave command exited 0 (rdsca.rollout.hooks)
    HOOK_FAILED = "hook-failed"  # it exited non-zero or timed out: before a step, the step fails unsent
    DOWNTIME = "downtime"  # what probing the endpoint during the step saw (rdsca.rollout.downtime)


# Events that mean AWS took the step's change (exactly one of them per changed step).
ACCEPTED = frozenset({Event.ACCEPTED, Event.CONFIRMED, Event.ASSUMED_ACCEPTED})
# Events that close an open write: after one of them, the change is known to be taken or not.
DECIDED = ACCEPTED | {Event.REJECTED, Event.NOT_ACCEPTED}

# The point between the AWS call's answer and the journal's record of it: not an event in the
# journal, but a place a crash can happen, so the crash tests name it too.
SENT = "modify-sent"


def was_accepted(history: Iterable[str]) -> bool:
    """True when the step's last decided write was taken by AWS (a later "not accepted" undoes a
    provisional confirmation; see outcome.evidence)."""
    last = None
    for e in history:
        if e in DECIDED:
            last = e
    return last in ACCEPTED


def open_write(history: Iterable[str]) -> bool:
    """True when the last write of the step was sent (or about to be) and nothing decided it."""
    state = False
    for e in history:
        if e == Event.SENDING:
            state = True
        elif e in DECIDED:
            state = False
    return state


def sends(history: Iterable[str]) -> int:
    return sum(1 for e in history if e == Event.SENDING)
