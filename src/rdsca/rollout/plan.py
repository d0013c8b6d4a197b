"""A rotation plan: its steps, waves, skips and policy, and what must hold for a plan to be run.

A plan is an ordered list of steps (one per instance, or per Multi-AZ DB cluster) grouped in
waves, plus the instances it skipped and why, plus a fingerprint of what was seen so that `apply`
can refuse to act on an estate that changed since. `rollout.planner` builds one from a fleet,
`rollout.drift` fingerprints the estate, `rollout.planfile` saves and loads one. Pure.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from rdsca import schemas
from rdsca.errors import ConfigError, PlanError

SCHEMA = schemas.PLAN


class Kind(enum.StrEnum):
    MODIFY_INSTANCE = "modify-instance"
    MODIFY_CLUSTER = "modify-cluster"
    APPLY_ACTION = "apply-maintenance-action"


class When(enum.StrEnum):
    NOW = "now"
    WINDOW = "window"


class Restart(enum.StrEnum):
    AUTO = "auto"
    NEVER = "never"


@dataclass(frozen=True)
class PlanPolicy:
    """How to rotate: waves, parallelism, timing, restarts."""

    wave_tag: str | None = None
    wave_order: tuple[str, ...] = ()
    strict_waves: bool = False
    max_parallel: int = 5  # steps of a wave at a time, across every account and region
    # ... and of these, at most this many in one account-region (None: no such limit). A value at
    # or above max_parallel changes nothing: it is kept as given, not clamped.
    max_parallel_per_region: int | None = None
    when: When = When.NOW
    restart: Restart = Restart.AUTO
    via_maintenance_action: bool = False


@dataclass(frozen=True)
class Step:
    key: str
    account: str
    region: str
    id: str
    engine: str
    engine_version: str
    kind: Kind
    from_ca: str | None
    to_ca: str
    restart: bool
    when: When
    wave: str
    order: int
    depends_on: tuple[str, ...] = ()
    members: tuple[str, ...] = ()  # instance ids a modify-cluster step changes
    arn: str | None = None
    action: str | None = None  # the pending maintenance action an apply step applies
    note: str | None = None
    # What AWS applies with this change besides the CA (`rides_along`); apply refuses the step unless
    # the user includes pending changes. Old plan files have none.
    also_applies: tuple[str, ...] = ()
    # DbiResourceId of each of `instance_ids`, as planned: a name now held by another instance
    # (a Blue/Green switchover, a re-creation) is refused, never written. Old plan files have none.
    resource_ids: tuple[str, ...] = ()

    @property
    def instance_ids(self) -> tuple[str, ...]:
        return self.members or (self.id,)

    @property
    def renews_only(self) -> bool:
        """A pending certificate action applied to an instance already on the target CA: it renews
        the server certificate (and restarts) without a CA change; done when the action is gone."""
        return self.kind is Kind.APPLY_ACTION and self.from_ca == self.to_ca


@dataclass(frozen=True)
class Skipped:
    key: str
    ca: str | None
    reason: str


@dataclass(frozen=True)
class Scope:
    """The selection the plan was built from, re-applied when `apply` checks for drift."""

    engines: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    id_globs: tuple[str, ...] = ()


# Per instance: CA, pending CA, status class, engine version, and (only when there are some) the
# pending changes a CA change would apply too; without them the tuple, and so the fingerprint of a
# plan made before they were covered, is unchanged.
Seen = tuple[str | None, ...]


@dataclass(frozen=True)
class Plan:
    created_at: datetime
    target_ca: str
    policy: PlanPolicy
    scope: Scope
    targets: tuple[tuple[str, str], ...]  # (account, region)
    waves: tuple[str, ...]
    steps: tuple[Step, ...]
    skipped: tuple[Skipped, ...]
    warnings: tuple[str, ...]
    fingerprint: str
    seen: Mapping[str, Seen] = field(default_factory=dict)

    @property
    def accounts(self) -> tuple[str, ...]:
        return tuple(sorted({a for a, _ in self.targets}))

    def wave_steps(self, wave: str) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.wave == wave)


# ---------------------------------------------------------------------------------------------
# checks and cuts


# An opt-in for the next window shows only in DescribePendingMaintenanceActions, never in the
# instance: rdsca could neither tell it was taken (a lost reply would be sent again) nor see it
# scheduled. So the combination is refused; `--when window` alone stages a modify that shows.
ACTION_IN_WINDOW = (
    "--via-maintenance-action with --when window is not supported: the window opt-in is not visible "
    "on the instance, so rdsca could not verify it; use --when now, or leave out --via-maintenance-action"
)


def check_consistent(plan: Plan, rollback_target: str = "previous") -> None:
    """Refuse a plan whose steps contradict each other or the plan (PlanError, nothing sent).

    The checksum of a plan file only catches accidents: anyone can recompute it. So a loaded plan
    is checked for meaning too: each step takes its instance to the plan's target CA (a rollback
    plan, target `rollback_target`, takes each one back to its own previous CA), names a target the
    plan reaches, has its own key, and depends only on planned steps, without a cycle (a cycle
    would wait forever).
    """
    targets = set(plan.targets)
    keys: set[str] = set()
    for s in plan.steps:
        if s.key in keys:
            raise PlanError(f"plan file: step {s.key} appears twice")
        keys.add(s.key)
        if s.key != f"{s.account}/{s.region}/{s.id}":
            raise PlanError(f"plan file: step {s.key} does not match its account, region and id")
        if plan.target_ca != rollback_target and s.to_ca != plan.target_ca:
            raise PlanError(
                f"plan file: step {s.key} goes to {s.to_ca}, not to the plan's target {plan.target_ca}"
            )
        if (s.account, s.region) not in targets:
            raise PlanError(f"plan file: step {s.key} is in {s.account}/{s.region}, not a target of the plan")
        if s.kind is Kind.APPLY_ACTION and not s.action:
            raise PlanError(f"plan file: step {s.key} applies a maintenance action but names none")
        if s.kind is Kind.APPLY_ACTION and s.when is When.WINDOW:
            raise PlanError(f"plan file: step {s.key}: {ACTION_IN_WINDOW}")
        if s.kind is Kind.MODIFY_CLUSTER and not s.members:
            raise PlanError(f"plan file: step {s.key} modifies a cluster but lists no members")
    for s in plan.steps:
        for d in s.depends_on:
            if d not in keys:
                raise PlanError(f"plan file: step {s.key} depends on {d}, which is not a step of the plan")
    _check_acyclic(plan.steps)


def _check_acyclic(steps: Sequence[Step]) -> None:
    """Kahn's algorithm: whatever is left when nothing more can start is on (or behind) a cycle."""
    waiting = {s.key: len(set(s.depends_on)) for s in steps}
    dependents: dict[str, list[str]] = {}
    for s in steps:
        for d in set(s.depends_on):
            dependents.setdefault(d, []).append(s.key)
    ready = [k for k, n in waiting.items() if n == 0]
    while ready:
        done = ready.pop()
        del waiting[done]
        for key in dependents.get(done, ()):
            waiting[key] -= 1
            if waiting[key] == 0:
                ready.append(key)
    if waiting:
        stuck = sorted(waiting)
        raise PlanError(
            "plan file: steps depend on each other in a cycle (they would wait forever): "
            + ", ".join(stuck[:5])
            + (" ..." if len(stuck) > 5 else "")
        )


def riders(plan: Plan) -> list[str]:
    """One line per step whose change applies more than the CA: the instance and what rides along."""
    return [f"{s.key}: {', '.join(s.also_applies)}" for s in plan.steps if s.also_applies]


def only_waves(plan: Plan, waves: Sequence[str]) -> Plan:
    """The plan cut down to some of its waves (dependencies outside them dropped)."""
    unknown = sorted(set(waves) - set(plan.waves))
    if unknown:
        raise ConfigError(f"--wave {', '.join(unknown)}: not a wave of this plan ({', '.join(plan.waves)})")
    steps = [s for s in plan.steps if s.wave in waves]
    keys = {s.key for s in steps}
    steps = [replace(s, depends_on=tuple(d for d in s.depends_on if d in keys)) for s in steps]
    return replace(plan, waves=tuple(w for w in plan.waves if w in waves), steps=tuple(steps))
