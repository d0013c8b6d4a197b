"""Run a plan wave by wave: send each change once, wait with batched polls, verify, journal everything.

Each step is judged by `rollout.decider` after each read and each send: a change is sent only
when the instance is not already on (or on its way to) the target, and exactly once.
A failed step stops the run before the next wave unless `continue_on_failure`. Ctrl-C, SIGTERM
and SIGHUP mark the running steps "interrupted" and re-raise.

`on_event` is called with each event's name right after it is journalled (and with `SENT` between
an AWS answer and its record): the crash tests kill the process there.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from rdsca import signals
from rdsca.errors import AwsAccessError, JournalError
from rdsca.model import Instance
from rdsca.rollout import calls
from rdsca.rollout.around import Around
from rdsca.rollout.contracts import Actions, ExecOptions, Progress, RunResult, SilentProgress
from rdsca.rollout.decider import Decider
from rdsca.rollout.events import SENT, Event
from rdsca.rollout.journal import Journal, RunStatus, StepStatus
from rdsca.rollout.live import LiveStep, before_members, provisional_steps
from rdsca.rollout.outcome import iso
from rdsca.rollout.plan import Plan, Restart


class Executor:
    def __init__(
        self,
        plan: Plan,
        journal: Journal,
        run_id: str,
        actions: Actions,
        options: ExecOptions | None = None,
        progress: Progress | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.plan, self.journal, self.run_id, self.actions = plan, journal, run_id, actions
        self.options, self.progress = options or ExecOptions(), progress or SilentProgress()
        self.clock, self.sleep, self.now = clock, sleep, now
        self.on_event = on_event or (lambda _event: None)
        records = {r.key: r for r in journal.steps(run_id)}
        history = journal.step_events(run_id)
        members = before_members(journal, run_id) if any(s.members for s in plan.steps) else {}
        provisional = provisional_steps(journal, run_id)
        self.live: dict[str, LiveStep] = {}
        for s in plan.steps:
            rec = records.get(s.key)
            status = StepStatus(rec.status) if rec else StepStatus.PENDING
            live = LiveStep(s, status, list(history.get(s.key, ())))
            if rec is not None and Event.SENDING in live.history:
                live.before_ca, live.before_valid_till = rec.before_ca, rec.before_valid_till
                live.before_members = dict(members.get(s.key, {}).get("members_valid_till", {}))
                live.members_ca = dict(members.get(s.key, {}).get("members_ca", {}))
            live.provisional = s.key in provisional
            self.live[s.key] = live
        self.no_restart = plan.policy.restart is Restart.NEVER
        self.max_parallel = self.options.max_parallel or plan.policy.max_parallel
        per_region = self.options.max_parallel_per_region or plan.policy.max_parallel_per_region
        self.per_region = per_region or self.max_parallel  # at or above max_parallel: no extra limit
        self._unsaid: list[tuple[LiveStep, Event, StepStatus, str]] | None = None  # see _batch
        self.around = Around(run_id, journal, self.options, self.max_parallel, self._record, self.progress,
                             lambda event: self.on_event(event))  # hooks, downtime  # fmt: skip
        self.decider = Decider(self._record, self.around, self.options, self.no_restart, clock, now)

    # -- journal + progress ------------------------------------------------------------------

    def _record(
        self, live: LiveStep, event: Event, status: StepStatus, message: str = "", **fields: Any
    ) -> None:
        if message:
            fields.setdefault("detail", {"message": message})
        self.journal.record(self.run_id, live.step.key, event, status, **fields)
        live.status = status
        live.history.append(event)
        if self._unsaid is not None:  # in a batch: said once the batch is durable
            self._unsaid.append((live, event, status, message))
        else:
            self._say(live, event, status, message)

    def _say(self, live: LiveStep, event: Event, status: StepStatus, message: str) -> None:
        self.progress.step(live.step, event, status, message)
        self.on_event(event)
        self.around.recorded(live, status)

    @contextlib.contextmanager
    def _batch(self) -> Iterator[None]:
        """The events recorded inside go to the journal in one transaction (one fsync per poll
        round or batch of sends, not one per event); each is shown, passed to `on_event` and to
        the hooks and downtime watch once the batch is durable. Nothing is sent inside a batch."""
        if self._unsaid is not None:
            yield
            return
        self._unsaid = []
        try:
            with self.journal.batch():
                yield
        finally:
            unsaid, self._unsaid = self._unsaid, None
        for said in unsaid:
            self._say(*said)

    # -- sending -----------------------------------------------------------------------------

    def _send_all(self, batch: Sequence[tuple[LiveStep, list[Instance]]]) -> None:
        """Journal "modify-sending" for each, send the calls concurrently, journal each answer."""
        assert self._unsaid is None, "never inside a batch: each modify-sending is durable before its call"
        batch = [(live, views) for live, views in batch if self.around.before_send(live, views)]
        sending: list[tuple[LiveStep, dict[str, Any]]] = []
        for live, views in batch:
            first = views[0]
            cas = {v.ca for v in views}
            live.before_ca = first.ca if len(cas) == 1 else None  # members on different CAs: unknown
            live.before_valid_till = iso(first.server_cert_valid_till) if not live.step.members else None
            detail: dict[str, Any] = {}
            if live.step.members:  # each member's server certificate must be renewed
                live.before_members = {v.id: iso(v.server_cert_valid_till) for v in views}
                live.members_ca = {v.id: v.ca for v in views}
                detail = {"members_valid_till": live.before_members, "members_ca": live.members_ca}
            sending.append((live, detail))
        with self._batch():  # every "modify-sending" durable before the first call
            for live, detail in sending:
                self._record(live, Event.SENDING, StepStatus.RUNNING, before_ca=live.before_ca,
                             before_valid_till=live.before_valid_till, detail=detail)  # fmt: skip
        # Once more right before the calls: a process stopped after journalling (a suspended VM) may
        # have lost its run to another. AWS has no conditional write, so a stop between this check
        # and the call remains the one window no client can close (docs/rotation.md).
        self.journal.check_fence(self.run_id)
        answers = calls.send_all(self.actions, [live.step for live, _ in batch], self.no_restart)
        for sent in answers:
            if sent.outcome == "accepted":
                self.on_event(SENT)  # between AWS's answer and its record
        with self._batch():
            self.decider.answers(batch, answers)

    # -- a wave ------------------------------------------------------------------------------

    def _blocked_by(self, live: LiveStep) -> str | None:
        stopped = (StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.INTERRUPTED)
        deps = live.step.depends_on
        return next((d for d in deps if d in self.live and self.live[d].status in stopped), None)

    def _ready(self, live: LiveStep) -> bool:
        done = (StepStatus.VERIFIED, StepStatus.SCHEDULED, StepStatus.AWAITING_RESTART,
                StepStatus.ROLLED_BACK)  # fmt: skip
        return all(d not in self.live or self.live[d].status in done for d in live.step.depends_on)

    def _wave(self, wave: str, todo: list[LiveStep]) -> None:
        self.progress.wave(wave, [t.step for t in todo])
        for live in todo:  # re-evaluated from scratch: what AWS shows now decides
            live.status, live.phase = StepStatus.PENDING, ""
        waiting = list(todo)
        running: list[LiveStep] = []
        # One read of the whole wave, then polls of the running steps only (at most max-parallel
        # ids per region, so each describe stays small); a step starts from the latest view of it.
        seen = calls.poll(self.actions, waiting)
        last_poll = self.clock()
        while True:
            self._start_ready(waiting, running, seen)
            if not running:
                break
            # One poll per interval: the time the last poll and its bookkeeping took counts.
            self.sleep(max(0.0, self.options.poll_interval - (self.clock() - last_poll)))
            signals.check()  # a SIGTERM/SIGHUP whose exception was swallowed (rdsca.signals)
            last_poll = self.clock()
            polled = calls.poll(self.actions, running)
            seen = {t: {**seen.get(t, {}), **polled.get(t, {})} for t in {*seen, *polled}}
            again: list[tuple[LiveStep, list[Instance]]] = []
            with self._batch():  # the round's events: one transaction, durable before any send
                for live in list(running):
                    views = calls.views_of(live, seen)
                    if live.phase:
                        self.decider.reconsider(live, views, again)
                    else:
                        self.decider.check(live, views)
            if again:
                self._send_all(again)
            running[:] = [live for live in running if live.status is StepStatus.RUNNING]

    def _start_ready(
        self,
        waiting: list[LiveStep],
        running: list[LiveStep],
        seen: calls.Seen,
    ) -> None:
        progress = True
        while progress:  # a step that ends at once (already verified) may free a dependant
            progress = False
            to_send: list[tuple[LiveStep, list[Instance]]] = []
            # Steps under way per account-region: a step of a full region is passed over, so the
            # steps of other regions behind it start; plan order holds otherwise.
            in_use = Counter((r.step.account, r.step.region) for r in running)
            with self._batch():  # what the steps' first reads decide: one transaction
                for live in list(waiting):
                    blocker = self._blocked_by(live)
                    where = (live.step.account, live.step.region)
                    if blocker:
                        waiting.remove(live)
                        self._record(live, Event.SKIPPED, StepStatus.SKIPPED,
                                     reason=f"dependency {blocker} did not finish")  # fmt: skip
                        progress = True
                    elif (len(running) + len(to_send) < self.max_parallel
                          and in_use[where] < self.per_region and self._ready(live)):  # fmt: skip
                        waiting.remove(live)
                        progress = True
                        views = calls.views_of(live, seen)
                        if self.decider.decide(live, views) and views is not None:
                            to_send.append((live, views))
                            in_use[where] += 1
                        elif live.status is StepStatus.RUNNING:
                            running.append(live)
                            in_use[where] += 1
            if to_send:
                self._send_all(to_send)
                running.extend(live for live, _ in to_send if live.status is StepStatus.RUNNING)
        if not running and waiting:  # only with a dependency outside the wave; never spin
            for live in list(waiting):
                waiting.remove(live)
                self._record(live, Event.SKIPPED, StepStatus.SKIPPED, reason="dependency outside the run")

    # -- the run -----------------------------------------------------------------------------

    def run(self) -> RunResult:
        stopped_before = None
        passed: list[str] = []
        try:
            for wave in self.plan.waves:
                todo = [self.live[s.key] for s in self.plan.wave_steps(wave)]
                todo = [t for t in todo if t.status not in (StepStatus.VERIFIED, StepStatus.ROLLED_BACK)]
                if not todo:
                    continue
                if self._failed(passed) and not self.options.continue_on_failure:
                    stopped_before = wave
                    break
                signals.check()
                passed.append(wave)
                if not self.progress.confirm_wave(wave):
                    self.journal.set_run_status(self.run_id, RunStatus.INTERRUPTED, "declined", wave=wave)
                    return self._result(RunStatus.INTERRUPTED, wave)
                if self.around.before_wave(wave, todo):
                    self._wave(wave, todo)
                self.around.after_wave(wave, todo)
        except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP (rdsca.errors.Interrupted)
            why = getattr(exc, "signame", "Ctrl-C")
            for live in self.live.values():
                if live.status is StepStatus.RUNNING:
                    self._record(live, Event.INTERRUPTED, StepStatus.INTERRUPTED, why)
            self.journal.set_run_status(self.run_id, RunStatus.INTERRUPTED, "run-interrupted", signal=why)
            raise
        except AwsAccessError as exc:  # AWS unreachable mid-run: nothing is "running" any more
            for live in self.live.values():
                if live.status is StepStatus.RUNNING:
                    self._record(live, Event.INTERRUPTED, StepStatus.INTERRUPTED, f"AWS: {exc}")
            self.journal.set_run_status(self.run_id, RunStatus.INTERRUPTED, "run-interrupted", error=str(exc))
            raise
        except JournalError:  # disk full, a damaged file: say "interrupted" if the journal still can
            with contextlib.suppress(JournalError):
                self.journal.set_run_status(self.run_id, RunStatus.INTERRUPTED, "run-interrupted")
            raise
        finally:
            self.around.close()  # no downtime probe outlives the run
        return self._finish(stopped_before)

    def _failed(self, waves: Sequence[str]) -> bool:
        bad = (StepStatus.FAILED, StepStatus.SKIPPED)
        return any(live.status in bad and live.step.wave in waves for live in self.live.values())

    def _finish(self, stopped_before: str | None) -> RunResult:
        statuses = [live.status for live in self.live.values()]
        if StepStatus.FAILED in statuses or StepStatus.SKIPPED in statuses or stopped_before:
            status = RunStatus.FAILED
        elif StepStatus.SCHEDULED in statuses:
            status = RunStatus.SCHEDULED
        elif StepStatus.AWAITING_RESTART in statuses:
            status = RunStatus.AWAITING_RESTART
        else:
            status = RunStatus.DONE
        detail = {"stopped_before": stopped_before} if stopped_before else {}
        self.journal.set_run_status(self.run_id, status, f"run-{status}", **detail)
        return self._result(status, stopped_before)

    def _result(self, status: RunStatus, stopped_before: str | None) -> RunResult:
        counts: dict[str, int] = {}
        for live in self.live.values():
            counts[live.status] = counts.get(live.status, 0) + 1
        return RunResult(self.run_id, status, counts, stopped_before)
