"""What the executor does around its steps and waves: the user's hooks and the downtime watch.

The executor calls five things, and this module journals what they give:

- `seen(live, views)` when a step decides (remembers its endpoint, for the hooks and the watch);
- `before_send(live, views)` right before a step's first send in this process: the before-step hook.
  A hook that fails (non-zero, timed out) fails the step with its exit code and the last line of its
  stderr (`hook-failed`); nothing is sent;
- `recorded(live, status)` after each journalled event: a running step gets its downtime watch; a
  step that ends stops it (`downtime`), then gets its after-step hook when the before-step hook was
  tried or the run sent its change (a resumed step too);
- `before_wave(wave, lives)` / `after_wave(wave, lives)`: a failing before-wave hook fails every
  step of the wave unsent (the run stops before the next wave, as after any failed step); the
  after-wave hook runs once per wave that was entered, whatever became of its steps.

A failing after hook is journalled (`hook-failed`) and shown, but the change stands. Wave hooks are
journalled on each step of the wave (the journal's events belong to steps). On Ctrl-C/SIGTERM no
hook runs; `rdsca resume` runs the after-step hook of each step it finishes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rdsca.model import Instance
from rdsca.rollout.contracts import ExecOptions, Progress
from rdsca.rollout.downtime import Watches
from rdsca.rollout.events import Event
from rdsca.rollout.hooks import HookContext, HookResult, Phase, run_hook
from rdsca.rollout.journal import Journal, StepStatus
from rdsca.rollout.live import LiveStep

Record = Callable[..., None]  # Executor._record(live, event, status, message, **fields)
QUIET = frozenset({StepStatus.PENDING, StepStatus.RUNNING})


def endpoints(views: Sequence[Instance] | None) -> str:
    """host:port of each instance of the step that shows one, comma-separated."""
    return ",".join(f"{v.endpoint}:{v.port}" for v in views or () if v.endpoint and v.port)


class Around:
    def __init__(
        self,
        run_id: str,
        journal: Journal,
        options: ExecOptions,
        max_parallel: int,
        record: Record,
        progress: Progress,
        on_event: Callable[[str], None],
    ) -> None:
        self.run_id, self.journal, self.hooks = run_id, journal, options.hooks
        self.record, self.progress, self.on_event = record, progress, on_event
        self.watches = Watches(options.measure_downtime, options.downtime_interval, max_parallel)
        self._views: dict[str, list[Instance]] = {}
        self._tried: set[str] = set()  # steps whose before-step hook ran (or failed) here
        self._ended: set[str] = set()

    # -- journal -------------------------------------------------------------------------------

    def note(self, live: LiveStep, event: Event, message: str, detail: dict[str, Any]) -> None:
        """An event that leaves the step's status as it is."""
        self.journal.record(self.run_id, live.step.key, event, None, detail={"message": message, **detail})
        live.history.append(event)
        self.progress.step(live.step, event, live.status, message)
        self.on_event(event)

    def _context(self, phase: Phase, wave: str, live: LiveStep | None = None) -> HookContext:
        if live is None:
            return HookContext(self.run_id, wave, phase)
        s, status = live.step, str(live.status) if phase is Phase.AFTER_STEP else ""
        where = endpoints(self._views.get(s.key))
        return HookContext(self.run_id, wave, phase, s.key, s.id, where, s.from_ca or "", s.to_ca, status)

    def _run(self, phase: Phase, wave: str, live: LiveStep | None) -> HookResult | None:
        command = self.hooks.command(phase)
        if not command:
            return None
        return run_hook(command, self._context(phase, wave, live), self.hooks.timeout)

    def _journal_hook(self, live: LiveStep, result: HookResult) -> None:
        event = Event.HOOK_RAN if result.ok else Event.HOOK_FAILED
        message = f"{result.phase} hook ok ({result.seconds:.1f}s)" if result.ok else result.reason
        self.note(live, event, message, result.detail())

    # -- steps ---------------------------------------------------------------------------------

    def seen(self, live: LiveStep, views: list[Instance] | None) -> None:
        if views:
            self._views[live.step.key] = views

    def before_send(self, live: LiveStep, views: list[Instance]) -> bool:
        """The before-step hook, once per step; False when it failed (the step is failed, unsent)."""
        key = live.step.key
        self._views[key] = views
        if key in self._tried:
            return True
        self._tried.add(key)
        result = self._run(Phase.BEFORE_STEP, live.step.wave, live)
        if result is None:
            return True
        if not result.ok:
            self.record(live, Event.HOOK_FAILED, StepStatus.FAILED, result.reason, reason=result.reason,
                        detail={"message": result.reason, **result.detail()})  # fmt: skip
            return False
        self._journal_hook(live, result)
        return True

    def recorded(self, live: LiveStep, status: StepStatus) -> None:
        key = live.step.key
        if status is StepStatus.RUNNING and not self.watches.watching(key) and key not in self._ended:
            self.watches.start(key, self._views.get(key, []))
        elif status not in QUIET and key not in self._ended:
            self._ended.add(key)
            self._end(live, status)

    def _end(self, live: LiveStep, status: StepStatus) -> None:
        seen = self.watches.stop(live.step.key)
        if seen is not None and status is not StepStatus.SCHEDULED:  # a window change restarts later
            said = (f"{seen.seconds:.1f}s down on {seen.endpoint}" if seen.measured
                    else f"not measured: {seen.endpoint} never answered from here")  # fmt: skip
            self.note(live, Event.DOWNTIME, said, seen.detail())
        if status is StepStatus.INTERRUPTED:
            return  # no hook while Ctrl-C/SIGTERM stops the run; resume runs it
        changed = live.step.key in self._tried or Event.SENDING in live.history
        result = self._run(Phase.AFTER_STEP, live.step.wave, live) if changed else None
        if result is not None:
            self._journal_hook(live, result)

    # -- waves ---------------------------------------------------------------------------------

    def before_wave(self, wave: str, lives: Sequence[LiveStep]) -> bool:
        """The before-wave hook; False when it failed (every step of the wave is failed, unsent)."""
        result = self._run(Phase.BEFORE_WAVE, wave, None)
        if result is None:
            return True
        for live in lives:
            if result.ok:
                self._journal_hook(live, result)
            else:
                self.record(live, Event.HOOK_FAILED, StepStatus.FAILED, result.reason, reason=result.reason,
                            detail={"message": result.reason, **result.detail()})  # fmt: skip
        return result.ok

    def after_wave(self, wave: str, lives: Sequence[LiveStep]) -> None:
        result = self._run(Phase.AFTER_WAVE, wave, None)
        if result is not None:
            for live in lives:
                self._journal_hook(live, result)

    def close(self) -> None:
        self.watches.stop_all()
