"""Rotation use cases: plan, apply, resume and rollback.

Each function takes plain arguments and its collaborators (a `Resolve` that turns regions into
reachable targets, a journal, a progress sink, a clock) and returns a frozen result. Nothing here
prints, prompts or exits; errors are `RdscaError`s. `rdsca.cli.rotate` is one client; a Step
Functions task that applies one wave of a saved plan is another (docs/api.md).

This module is the rotation's public API: it also exposes what is defined beside it, `reach` and
the `Resolve` and `Targets` types (rdsca.api.targets), `runs` and `show` (rdsca.api.runs), and the
account default CA, `default_show` and `default_set` (rdsca.api.defaults).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from rdsca.api.defaults import DefaultChanges, Defaults, default_set, default_show
from rdsca.api.runs import RunsView, RunView, runs, show, stored_plan
from rdsca.api.target_ca import check_target_ca, known_cas
from rdsca.api.targets import Resolve, Targets, bound_actions, reach
from rdsca.assess.select import select
from rdsca.aws import actions as aws_actions
from rdsca.aws.fleet import collect
from rdsca.aws.session import ResolvedTarget
from rdsca.errors import ConfigError, JournalError, PlanError
from rdsca.files import PLAN_LIMIT, read_text_input
from rdsca.model import Fleet
from rdsca.readiness import client_caps
from rdsca.readiness.saved import load_readiness, not_ready
from rdsca.rollout import plan as planmod
from rdsca.rollout import planfile, planner
from rdsca.rollout.contracts import ExecOptions, Progress
from rdsca.rollout.drift import drift, fingerprint, identity_changes, seen_of
from rdsca.rollout.events import Event
from rdsca.rollout.executor import Executor
from rdsca.rollout.journal import Journal, RunStatus, StepRecord, StepStatus
from rdsca.rollout.lease import Heartbeat, Holder
from rdsca.rollout.rollback import rollback_plan
from rdsca.words import count

__all__ = [
    "DefaultChanges",
    "Defaults",
    "PlanResult",
    "Resolve",
    "RollbackPlan",
    "RunOutcome",
    "RunView",
    "RunsView",
    "Started",
    "Targets",
    "apply",
    "check_drift",
    "check_ride_along",
    "cluster_writers",
    "default_set",
    "default_show",
    "load_plan",
    "mark_rolled_back",
    "plan",
    "reach",
    "read_scope",
    "resume",
    "rollback",
    "rollback_plan_for",
    "runs",
    "show",
]


# -- plan -----------------------------------------------------------------------------------------


def read_scope(targets: Targets, scope: planmod.Scope, now: datetime) -> Fleet:
    fleet = collect(list(targets.values()), now=now)
    for t in fleet.failed:
        raise PlanError(f"cannot re-read {t.target.key} to check the plan: {t.error}")
    return select(fleet, scope.engines, scope.tags, scope.id_globs)


def cluster_writers(targets: Sequence[ResolvedTarget]) -> frozenset[str]:
    out: set[str] = set()
    for r in targets:
        if r.factory is not None:
            rds = r.factory.client("rds", r.target.region)
            out |= aws_actions.cluster_writers(rds, r.target.account_id, r.target.region)
    return frozenset(out)


@dataclass(frozen=True)
class PlanResult:
    plan: planmod.Plan
    text: str  # the plan file (JSON)
    fleet: Fleet | None = None  # what was read to make it (None: a plan loaded from a file)


def plan(
    resolve: Resolve,
    target_ca: str,
    policy: planmod.PlanPolicy,
    scope: planmod.Scope,
    now: datetime,
    require_ready: Path | None = None,
) -> PlanResult:
    """Read the estate in scope and build the rotation plan (nothing is changed)."""
    check_target_ca(target_ca, now)
    if policy.wave_order and not policy.wave_tag:
        raise ConfigError("--wave-order needs --wave-tag")
    if policy.via_maintenance_action and policy.when is planmod.When.WINDOW:
        raise ConfigError(planmod.ACTION_IN_WINDOW)
    readiness = load_readiness(require_ready, "--require-ready") if require_ready else None
    targets = resolve(())
    fleet = select(collect(targets, now=now), scope.engines, scope.tags, scope.id_globs)
    failed_keys = {f.target.key for f in fleet.failed}
    writers = cluster_writers([t for t in targets if t.factory and t.target.key not in failed_keys])
    held = not_ready(readiness, (i.key for i in fleet.instances)) if readiness else None
    if readiness:  # a client that cannot use the target CA at all holds its instance back too
        held = client_caps.with_refusals(held or {}, readiness, target_ca, [i.key for i in fleet.instances])
    built = planner.build(
        fleet, target_ca, policy, fleet.collected_at, scope=scope, writers=writers, held=held
    )
    if fleet.failed:
        warnings = (*built.warnings, *(f"{t.target.key} not read: {t.error}" for t in fleet.failed))
        built = replace(built, warnings=warnings)
    return PlanResult(built, planfile.dumps(built), fleet)


def load_plan(path: Path, waves: Sequence[str] = ()) -> tuple[planmod.Plan, str]:
    """A saved plan, checked for meaning; with `waves`, only those waves (the fingerprint still
    covers the whole plan)."""
    text = read_text_input(path, what="plan file", limit=PLAN_LIMIT, error=PlanError)
    loaded = planfile.loads(text, known_cas())
    if waves:
        loaded = planmod.only_waves(loaded, waves)
        text = planfile.dumps(loaded)
    return loaded, text


def check_drift(plan_: planmod.Plan, targets: Targets, now: datetime) -> None:
    """Refuse a plan whose estate changed since it was made (PlanError, one line per instance)."""
    fleet = read_scope(targets, plan_.scope, now)
    changed = identity_changes(plan_, fleet.instances)
    if changed:
        raise PlanError(
            "the plan names instances that are not the ones it was made for; run `rdsca plan` again:\n  "
            + "\n  ".join(changed)
        )
    current = seen_of(fleet.instances)
    if fingerprint(current, plan_.targets) != plan_.fingerprint:
        lines = drift(plan_.seen, current)
        raise PlanError(
            "the estate changed since the plan was made; run `rdsca plan` again. Drifted:\n  "
            + "\n  ".join(lines)
        )


def check_ride_along(plan_: planmod.Plan, include: bool) -> None:
    """Refuse a plan whose changes would apply more than the CA (PlanError, nothing sent), unless
    `include`: ApplyImmediately applies every pending modification of an instance and the reboot
    applies its pending-reboot parameter and option groups. Pure: `check_drift` has made sure the
    plan's view (and so each step's `also_applies`) is the estate's."""
    lines = planmod.riders(plan_)
    if lines and not include:
        raise PlanError(
            f"{count(lines, 'change')} would also apply changes queued on the instance; apply them "
            "first (their window, or a reboot for pending-reboot groups), or let them go with the CA "
            "change: --include-pending-changes\n  " + "\n  ".join(lines)
        )


# -- running --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    kind: str
    status: RunStatus
    counts: Mapping[str, int]
    stopped_before: str | None
    steps: tuple[StepRecord, ...]
    taken_over: tuple[str, ...] = ()


Started = Callable[[str, Sequence[str]], None]  # (run id, leases taken over) once the run exists


def _run(
    plan_: planmod.Plan,
    journal: Journal,
    run_id: str,
    targets: Targets,
    options: ExecOptions,
    progress: Progress | None,
    holder: Holder,
    taken_over: Sequence[str],
    on_event: Callable[[str], None] | None = None,
) -> RunOutcome:
    """Run under the lease (renewed by a heartbeat, released however the run ends)."""
    journal.fence = holder  # every "modify-sending" checks that this process still holds the run
    try:
        with Heartbeat(journal.path, holder):
            executor = Executor(
                plan_, journal, run_id, bound_actions(targets), options, progress, on_event=on_event
            )
            result = executor.run()
    finally:
        journal.fence = None
        with contextlib.suppress(JournalError):
            journal.release(holder)
    run = journal.run(run_id)
    if run.kind == "rollback":
        mark_rolled_back(journal, run_id)
    return RunOutcome(run_id, run.kind, result.status, result.counts, result.stopped_before,
                      tuple(journal.steps(run_id)), tuple(taken_over))  # fmt: skip


def _taken_over(journal: Journal, run_id: str) -> list[str]:
    return [str(e.detail.get("message")) for e in journal.events(run_id) if e.event == "lease-taken-over"]


def apply(
    plan_: planmod.Plan,
    text: str,
    targets: Targets,
    journal: Journal,
    options: ExecOptions = ExecOptions(),  # noqa: B008  (frozen: a shared default is safe)
    progress: Progress | None = None,
    on_started: Started | None = None,
) -> RunOutcome:
    """Record a run of `plan_` (leased to this process) and execute it wave by wave."""
    holder = Holder.this_process("rdsca apply")
    run_id = journal.create_run(plan_, text, holder=holder, take_over=options.take_over)
    taken = _taken_over(journal, run_id)
    if on_started:
        on_started(run_id, taken)
    return _run(plan_, journal, run_id, targets, options, progress, holder, taken)


def resume(
    run_id: str,
    journal: Journal,
    resolve: Resolve,
    options: ExecOptions = ExecOptions(),  # noqa: B008
    progress: Progress | None = None,
    on_started: Started | None = None,
) -> RunOutcome:
    """Continue a run: re-read each step, never re-send an accepted change."""
    run = journal.run(run_id)
    plan_ = stored_plan(run.plan_json, run_id)
    targets = reach(resolve, plan_.targets)
    holder = Holder.this_process("rdsca resume")
    taken = journal.claim(run_id, plan_, holder, take_over=options.take_over)
    journal.set_run_status(run_id, RunStatus.RUNNING, "run-resumed")
    if on_started:
        on_started(run_id, taken)
    return _run(plan_, journal, run_id, targets, options, progress, holder, taken)


@dataclass(frozen=True)
class RollbackPlan:
    parent: str
    plan: planmod.Plan
    text: str
    targets: Targets


def rollback_plan_for(
    run_id: str,
    journal: Journal,
    resolve: Resolve,
    now: datetime,
    waves: Sequence[str] = (),
    id_globs: Sequence[str] = (),
    all_or_nothing: bool = False,
) -> RollbackPlan:
    """The plan that returns each instance `run_id` changed to its previous CA (nothing sent).

    Instances that cannot go back (retired or unsupported previous CA) are in `plan.skipped`;
    with `all_or_nothing` their presence is a PlanError instead."""
    original = stored_plan(journal.run(run_id).plan_json, run_id)
    targets = reach(resolve, original.targets)
    actions = bound_actions(targets)
    back = rollback_plan(original, journal, run_id, waves, actions, now, id_globs, all_or_nothing)
    return RollbackPlan(run_id, back, planfile.dumps(back), targets)


def rollback(
    prepared: RollbackPlan,
    journal: Journal,
    options: ExecOptions = ExecOptions(),  # noqa: B008
    progress: Progress | None = None,
    on_started: Started | None = None,
) -> RunOutcome:
    holder = Holder.this_process("rdsca rollback")
    new_id = journal.create_run(prepared.plan, prepared.text, kind="rollback", parent=prepared.parent,
                                holder=holder, take_over=options.take_over)  # fmt: skip
    taken = _taken_over(journal, new_id)
    if on_started:
        on_started(new_id, taken)
    return _run(prepared.plan, journal, new_id, prepared.targets, options, progress, holder, taken)


def mark_rolled_back(journal: Journal, rollback_id: str) -> None:
    """Each verified step of a rollback run marks the step it undid as rolled back."""
    parent = journal.run(rollback_id).parent
    if parent is None:
        return
    undone = {s.key for s in journal.steps(parent) if s.status == StepStatus.ROLLED_BACK}
    for s in journal.steps(rollback_id):
        if s.status == StepStatus.VERIFIED and s.key not in undone:
            detail = {"by": rollback_id, "ca": s.to_ca}
            journal.record(parent, s.key, Event.ROLLED_BACK, StepStatus.ROLLED_BACK, detail=detail)
