"""The runs the journal keeps: list them (`rdsca runs`), tell what one did (`rdsca show`), and
re-read the steps that wait for a maintenance window or a restart to record the ones that happened.

Part of the rotation's public API: `rdsca.api.rotation` exposes `runs`, `show`, `RunsView` and
`RunView` (docs/api.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from rdsca.api.target_ca import known_cas
from rdsca.api.targets import Resolve, bound_actions, reach
from rdsca.aws import actions as aws_actions
from rdsca.errors import ConfigError, PlanError
from rdsca.rollout import plan as planmod
from rdsca.rollout import planfile
from rdsca.rollout.events import Event
from rdsca.rollout.journal import EventRecord, Journal, RunRecord, RunStatus, StepRecord, StepStatus
from rdsca.rollout.outcome import is_verified, iso


def stored_plan(plan_json: str, run_id: str) -> planmod.Plan:
    """The plan the journal keeps for `run_id` (a damaged copy is named as such, not as a file)."""
    return planfile.loads(plan_json, known_cas(), source=f"the plan the journal keeps for run {run_id}")


@dataclass(frozen=True)
class RunsView:
    runs: tuple[RunRecord, ...]
    counts: Mapping[str, Mapping[str, int]]  # run id -> step status -> n


def runs(journal: Journal | None) -> RunsView:
    """Every run of the journal with its step counts (None: no journal yet, no runs)."""
    if journal is None:
        return RunsView((), {})
    all_runs = journal.runs()
    counts: dict[str, dict[str, int]] = {}
    for r in all_runs:
        for s in journal.steps(r.id):
            counts.setdefault(r.id, {}).setdefault(s.status, 0)
            counts[r.id][s.status] += 1
    return RunsView(tuple(all_runs), counts)


@dataclass(frozen=True)
class RunView:
    run: RunRecord
    steps: tuple[StepRecord, ...]
    events: tuple[EventRecord, ...]
    notes: tuple[str, ...] = ()  # what re-reading the scheduled steps found
    all_events: bool = False


def show(
    journal: Journal, run_id: str, resolve: Resolve | None, now: datetime, all_events: bool = False
) -> RunView:
    """What a run did; with `resolve`, scheduled steps are re-read to see whether the window applied them."""
    journal.run(run_id)  # an unknown run is an error before any AWS call
    notes: list[str] = []
    if resolve is not None:
        try:
            notes = check_scheduled(journal, run_id, resolve, now)
        except (ConfigError, PlanError, aws_actions.ActionError) as exc:  # still worth showing
            notes = [f"could not check the scheduled steps: {exc}"]
    return RunView(journal.run(run_id), tuple(journal.steps(run_id)), tuple(journal.events(run_id)),
                   tuple(notes), all_events)  # fmt: skip


def check_scheduled(journal: Journal, run_id: str, resolve: Resolve, now: datetime) -> list[str]:
    """Re-read the run's steps that wait for something outside rdsca: a maintenance window
    (`scheduled`) or a restart (`awaiting-restart`); record the ones that happened."""
    run = journal.run(run_id)
    waiting = [
        s for s in journal.steps(run_id) if s.status in (StepStatus.SCHEDULED, StepStatus.AWAITING_RESTART)
    ]
    if not waiting:
        return []
    plan_ = stored_plan(run.plan_json, run_id)
    steps = {s.key: s for s in plan_.steps}
    actions = bound_actions(reach(resolve, sorted({(s.account, s.region) for s in waiting})))
    notes = []
    for rec in waiting:
        step = steps[rec.key]
        seen = actions.poll(step.account, step.region, step.instance_ids)
        views = [seen.get(i) for i in step.instance_ids]
        done = [
            v is not None and is_verified(step, v, rec.before_ca, rec.before_valid_till, now) for v in views
        ]
        restart = rec.status == StepStatus.AWAITING_RESTART
        if all(done):
            first = views[0]
            assert first is not None
            event = Event.RESTART_SEEN if restart else Event.APPLIED_IN_WINDOW
            journal.record(run_id, rec.key, event, StepStatus.VERIFIED, after_ca=first.ca,
                           after_valid_till=iso(first.server_cert_valid_till))  # fmt: skip
            how = "restarted: serves" if restart else "applied in the maintenance window, verified on"
            notes.append(f"{rec.key}: {how} {step.to_ca}")
        elif restart:
            served = ", ".join(f"{v.id} serves {v.server_cert_ca or '-'}" for v in views if v)
            notes.append(
                f"{rec.key}: still waiting for a restart ({served}); reboot it to serve {step.to_ca}"
            )
        else:
            pending = ", ".join(f"{v.id} {v.ca} pending {v.pending_ca or '-'}" for v in views if v)
            notes.append(f"{rec.key}: still waiting for the maintenance window ({pending})")
    if all(s.status in (StepStatus.VERIFIED, StepStatus.ROLLED_BACK) for s in journal.steps(run_id)):
        journal.set_run_status(run_id, RunStatus.DONE, "run-done", by="show")
    return notes
