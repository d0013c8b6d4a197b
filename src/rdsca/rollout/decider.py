"""What each step of a run does next, from what AWS shows and what the journal says.

Each step is an idempotent poll: the instance is read first and the change is sent only when the
instance is not already on (or on its way to) the target, and never when the journal says a
modify for this step was accepted before. A write is sent exactly once: when its outcome is
unknown (a timeout, a reset, an answer that is not AWS's), the instances are read until they show
the change (taken) or show nothing for `confirm_reads` reads in a row (not taken: sent again, at
most `MAX_SENDS` times in all). An instance busy with another change is waited for, not written.
An instance that is gone, is another instance now (its DbiResourceId changed) or needs a person
(failed, stopped) fails its step. The executor reads, sends and schedules; a `Decider` judges each
step after each read and each send, and journals its judgement through the executor's `record`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from rdsca.model import Instance
from rdsca.rollout.around import Around, Record
from rdsca.rollout.contracts import ExecOptions
from rdsca.rollout.events import Event, open_write, sends, was_accepted
from rdsca.rollout.journal import StepStatus
from rdsca.rollout.live import LiveStep, Sent
from rdsca.rollout.outcome import awaiting_restart, busy, iso
from rdsca.rollout.plan import When

MAX_SENDS = 3  # sends of one step whose outcomes were all unknown, then the step fails
# What ModifyDBInstance / ModifyDBCluster answer for an instance or cluster that is not available
# (error code InvalidDBInstanceState, shape InvalidDBInstanceStateFault; InvalidDBClusterStateFault):
# "Errors" of ModifyDBInstance and ModifyDBCluster, RDS API Reference.
BUSY_CODES = frozenset(
    {"InvalidDBInstanceState", "InvalidDBInstanceStateFault", "InvalidDBClusterStateFault"}
)
# Statuses that need a person, not a wait ("Viewing Amazon RDS DB instance status", RDS User Guide).
BROKEN = frozenset(
    {"failed", "incompatible-parameters", "incompatible-network", "storage-full", "incompatible-restore",
     "inaccessible-encryption-credentials", "restore-error", "deleting", "stopped", "stopping"}
)  # fmt: skip


class Decider:
    """The executor's judge of its steps: each verdict is journalled through `record` (the executor's
    `_record`, which batches, shows and passes it on); nothing is read or sent here."""

    def __init__(
        self,
        record: Record,
        around: Around,
        options: ExecOptions,
        no_restart: bool,
        clock: Callable[[], float],
        now: Callable[[], datetime],
    ) -> None:
        self.record, self.around, self.options, self.no_restart = record, around, options, no_restart
        self.clock, self.now = clock, now

    # -- before a send -----------------------------------------------------------------------

    def decide(self, live: LiveStep, views: list[Instance] | None) -> bool:
        """Decide from what AWS shows and what the journal says; True when the change is to be sent."""
        step = live.step
        if live.started is None:
            live.started = self.clock()
        self.around.seen(live, views)
        views = self._usable(live, views, "instance not found")
        if views is None:
            return False
        accepted = was_accepted(live.history)
        if live.verified(views, self.now()):
            if sends(live.history) and not accepted:  # the journal must say the change AWS took was ours
                self.record(live, Event.ASSUMED_ACCEPTED, StepStatus.RUNNING, "the instance shows the change")
            self.record(
                live, Event.VERIFIED, StepStatus.VERIFIED, "already on the target", **self._after(views)
            )
            return False
        if step.when is When.WINDOW and all(v.pending_ca == step.to_ca for v in views):
            if open_write(live.history):
                self.record(live, Event.ASSUMED_ACCEPTED, StepStatus.RUNNING, "the change is pending")
            self.record(live, Event.SCHEDULED, StepStatus.SCHEDULED, f"pending change to {step.to_ca} seen")
            return False
        if accepted and live.provisional and not busy(views) and live.evidence(views) is None:
            self._unknown(live, "the busy status that confirmed the change was another change: reading again")
            return False
        if accepted:
            self.record(live, Event.RESUMED, StepStatus.RUNNING, "accepted earlier: waiting, not resending")
            return False
        if open_write(live.history):  # a crash after "modify-sending": was it sent? read, never guess
            if live.shows_change(views):
                why = "crash after sending: the instance shows the change, not resending"
                self._accept_on_evidence(live, views, Event.ASSUMED_ACCEPTED, why)
            else:
                self._unknown(live, "crash after sending: reading the instance before any resend")
            return False
        if sends(live.history) >= MAX_SENDS:
            reason = f"sent {sends(live.history)} times without a change to show for it; not sending again"
            self.record(live, Event.FAILED, StepStatus.FAILED, reason=reason)
            return False
        if busy(views):
            live.phase = "busy"
            status = ",".join(sorted({v.status for v in views}))
            self.record(live, Event.INSTANCE_BUSY, StepStatus.RUNNING,
                         f"{status}: another change is under way; waiting, sending nothing")  # fmt: skip
            return False
        return True

    def _usable(self, live: LiveStep, views: list[Instance] | None, gone: str) -> list[Instance] | None:
        """The views, or None after failing the step: its instance is gone, is another instance now
        (its DbiResourceId changed: a Blue/Green switchover, a re-creation), or failed or stopped
        (never written, never waited for: such an instance needs a person)."""
        broken = [v for v in views or () if v.status in BROKEN]
        swapped = [f"{v.id} is another instance now (DbiResourceId {rid} -> {v.resource_id}); nothing sent"
                   for v, rid in zip(views or (), live.step.resource_ids, strict=False)
                   if rid and v.resource_id and v.resource_id != rid]  # fmt: skip
        if views is None or broken or swapped:
            reason = (
                gone if views is None else swapped[0] if swapped else f"{broken[0].id} is {broken[0].status}"
            )
            self.record(live, Event.FAILED, StepStatus.FAILED, reason=reason)
            return None
        return views

    def _unknown(self, live: LiveStep, message: str) -> None:
        live.phase, live.quiet_reads, live.provisional = "unknown", 0, False
        self.record(live, Event.OUTCOME_UNKNOWN, StepStatus.RUNNING, message)

    def _accept_on_evidence(self, live: LiveStep, views: list[Instance], event: Event, message: str) -> None:
        """Journal that AWS took the change, and on what evidence (a busy status is provisional)."""
        seen = live.evidence(views)
        live.provisional = seen == "status"
        self.record(live, event, StepStatus.RUNNING, message, detail={"message": message, "evidence": seen})

    def reconsider(
        self, live: LiveStep, views: list[Instance] | None, again: list[tuple[LiveStep, list[Instance]]]
    ) -> None:
        """A busy step, or one whose write's outcome is unknown, after a new read."""
        views = self._usable(live, views, "instance no longer exists")
        if views is None:
            return
        if live.phase == "unknown":
            if live.shows_change(views):
                live.phase = ""
                self._accept_on_evidence(live, views, Event.CONFIRMED, "the instance shows the change")
                self.check(live, views)
                return
            live.quiet_reads += 1
            if live.quiet_reads < self.options.confirm_reads:
                self._timeout(live, views, "the outcome of the last send is still unknown")
                return
            live.phase = ""
            if sends(live.history) >= MAX_SENDS:
                reason = f"sent {sends(live.history)} times, each outcome unknown; not sending again"
                self.record(live, Event.FAILED, StepStatus.FAILED, reason=reason)
                return
            quiet = f"{live.quiet_reads} reads show no sign of the change: sending it again"
            self.record(live, Event.NOT_ACCEPTED, StepStatus.RUNNING, quiet)
        elif busy(views):
            self._timeout(live, views, "the instance stayed busy with another change")
            return
        live.phase = ""
        if self.decide(live, views):
            again.append((live, views))
        elif live.status is StepStatus.RUNNING:
            self._timeout(live, views, "still waiting to send")

    def _timeout(self, live: LiveStep, views: list[Instance], why: str) -> None:
        elapsed = self.clock() - (live.started or self.clock())
        if elapsed > self.options.step_timeout:
            status = ",".join(sorted({v.status for v in views}))
            reason = f"timed out after {elapsed:.0f}s: {why} (status {status}, CA {views[0].ca})"
            self.record(live, Event.TIMED_OUT, StepStatus.FAILED, reason=reason)

    # -- after a send ------------------------------------------------------------------------

    def answers(self, batch: Sequence[tuple[LiveStep, list[Instance]]], answers: Sequence[Sent]) -> None:
        for (live, _), sent in zip(batch, answers, strict=True):
            if sent.outcome == "accepted":
                self.record(live, Event.ACCEPTED, StepStatus.RUNNING, detail={"no_restart": self.no_restart})
            elif sent.outcome == "unknown":
                self._unknown(live, f"{sent.message}; reading the instance before any resend")
            elif sent.code in BUSY_CODES:
                live.phase = "busy"
                self.record(live, Event.REJECTED, StepStatus.RUNNING,
                             f"{sent.message}; waiting for the instance, then deciding again")  # fmt: skip
            else:
                self.record(live, Event.REJECTED, StepStatus.FAILED, reason=sent.message)

    # -- after a poll ------------------------------------------------------------------------

    def _after(self, views: list[Instance]) -> dict[str, Any]:
        first = views[0]
        return {"after_ca": first.ca, "after_valid_till": iso(first.server_cert_valid_till)}

    def check(self, live: LiveStep, views: list[Instance] | None) -> None:
        step = live.step
        views = self._usable(live, views, "instance no longer exists")
        if views is None:
            return
        if live.verified(views, self.now()):
            self.record(live, Event.VERIFIED, StepStatus.VERIFIED, **self._after(views))
            return
        if live.provisional and not busy(views) and live.evidence(views) is None:
            self._unknown(live, "the busy status that confirmed the change was another change: reading again")
            return
        if live.provisional and live.evidence(views) not in (None, "status"):
            live.provisional = False  # the CA or the pending change now shows: ours for certain
        if step.when is When.WINDOW and all(v.pending_ca == step.to_ca for v in views):
            self.record(live, Event.SCHEDULED, StepStatus.SCHEDULED, "waits for the maintenance window")
            return
        if self.no_restart and all(awaiting_restart(step, v) for v in views):
            served = ",".join(sorted({v.server_cert_ca or "-" for v in views}))
            self.record(live, Event.AWAITING_RESTART, StepStatus.AWAITING_RESTART,
                         f"{step.to_ca} recorded; still serves a {served} certificate until its next restart",
                         **self._after(views))  # fmt: skip
            return
        status = ",".join(sorted({v.status for v in views}))
        elapsed = self.clock() - (live.started or self.clock())
        if elapsed > self.options.step_timeout:
            reason = f"timed out after {elapsed:.0f}s (status {status}, CA {views[0].ca})"
            self.record(live, Event.TIMED_OUT, StepStatus.FAILED, reason=reason)
        elif status != live.last_status:
            live.last_status = status
            self.record(
                live, Event.STATUS_SEEN, StepStatus.RUNNING, detail={"status": status, "ca": views[0].ca}
            )
