"""Build a rotation plan from a fleet: pure, no AWS, `now` passed in.

A plan is an ordered list of steps (one per instance, or per Multi-AZ DB cluster) grouped in
waves, plus the instances it skipped and why, plus a fingerprint of what was seen so that `apply`
can refuse to act on an estate that changed since.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from rdsca import engines, schemas
from rdsca.errors import ConfigError, PlanError
from rdsca.model import Fleet, Instance
from rdsca.rollout.waves import order_wave
from rdsca.words import count, plural

SCHEMA = schemas.PLAN
UNTAGGED = "untagged"
SERVER_ROTATION = "server-certificate-rotation"
ALL = "all"
NO_CLUSTER_NO_RESTART = (
    "--restart never: a Multi-AZ DB cluster's CA change (modify_db_cluster) always restarts"
)


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
SEEN_LABELS = ("CA", "pending CA", "status", "engine version", "pending changes")


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
# fingerprint


def status_class(status: str) -> str:
    return "available" if status == "available" else "busy"


def pending_summary(inst: Instance) -> str | None:
    """The instance's pending changes in one stable string (None: none)."""
    return "; ".join(sorted(c.describe() for c in inst.pending_changes)) or None


def seen_of(instances: Iterable[Instance]) -> dict[str, Seen]:
    """What the fingerprint covers, per instance: CA, pending CA, status class, engine version, and
    the pending changes a CA change would apply with it (so a change queued after planning is drift)."""
    out: dict[str, Seen] = {}
    for i in sorted(instances, key=lambda i: i.key):
        seen: Seen = (i.ca, i.pending_ca, status_class(i.status), i.engine_version)
        pending = pending_summary(i)
        out[i.key] = (*seen, pending) if pending else seen
    return out


def fingerprint(seen: Mapping[str, Sequence[str | None]], targets: Iterable[tuple[str, str]]) -> str:
    per_target: dict[str, list[str]] = {f"{a}/{r}": [] for a, r in sorted(targets)}
    for key in sorted(seen):
        per_target.setdefault(key.rsplit("/", 1)[0], []).append(key)
    doc = {"instances": {k: list(v) for k, v in sorted(seen.items())}, "targets": per_target}
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def drift(
    planned: Mapping[str, Sequence[str | None]], current: Mapping[str, Sequence[str | None]]
) -> list[str]:
    """One line per instance that differs between the plan and the estate now."""
    out: list[str] = []
    for key in sorted(set(planned) | set(current)):
        if key not in current:
            out.append(f"{key}: gone")
        elif key not in planned:
            out.append(f"{key}: new instance")
        else:
            width = len(SEEN_LABELS)  # a missing "pending changes" means none
            before = (*planned[key], *[None] * (width - len(planned[key])))
            after = (*current[key], *[None] * (width - len(current[key])))
            changes = [
                f"{label} {a or '-'} -> {b or '-'}"
                for label, a, b in zip(SEEN_LABELS, before, after, strict=True)
                if a != b
            ]
            if changes:
                out.append(f"{key}: " + ", ".join(changes))
    return out


# ---------------------------------------------------------------------------------------------
# skip rules


def skip_reason(inst: Instance, target_ca: str, fleet: Fleet) -> str | None:
    """Why an instance is left out of the plan, or None when it is to be rotated."""
    if not engines.rotated_by_rdsca(inst.engine) or not inst.ca:
        return "unmanaged: certificates not issued by an RDS CA"
    if inst.ca == target_ca and not inst.pending_ca:
        return f"already on {target_ca}"
    if inst.pending_ca == target_ca:
        return f"change to {target_ca} already pending (maintenance window)"
    region = fleet.region_cas(inst.account_id, inst.region)
    if region is None:
        return f"CAs of {inst.region} unknown (the region could not be read)"
    if region.get(target_ca) is None:
        return f"{target_ca} not available in {inst.region}"
    if not inst.supported_cas:
        return f"{inst.engine} {inst.engine_version}: supported CAs unknown"
    if target_ca not in inst.supported_cas:
        return f"{target_ca} not supported by {inst.engine} {inst.engine_version}"
    if inst.status != "available":
        return f"status {inst.status}, not available"
    return None


def _wave_of(inst: Instance, policy: PlanPolicy) -> str:
    if not policy.wave_tag:
        return ALL
    return inst.tags.get(policy.wave_tag) or UNTAGGED


def _wave_names(names: Iterable[str], policy: PlanPolicy) -> tuple[tuple[str, ...], list[str]]:
    found = set(names)
    ordered = [w for w in policy.wave_order if w in found]
    extra = sorted(found - set(ordered) - {UNTAGGED})
    if UNTAGGED in found:
        extra.append(UNTAGGED)
    return (*ordered, *extra), extra


# ---------------------------------------------------------------------------------------------
# build


def _restarts(inst: Instance, policy: PlanPolicy) -> bool:
    if policy.restart is Restart.NEVER:
        return False
    return inst.rotation_without_restart is not True


def rides_along(inst: Instance, when: When, restart: bool) -> tuple[str, ...]:
    """What a CA change of `inst` applies besides the CA. ApplyImmediately=True applies "the
    modifications in this request and any pending modifications" (ModifyDBInstance, RDS API
    Reference; "Using the schedule modifications setting", RDS User Guide); the reboot that follows
    applies parameter and option groups waiting in pending-reboot. In the window the pending
    modifications are applied anyway, with or without rdsca; the reboot still is this change's."""
    return tuple(c.describe() for c in inst.pending_changes if (restart if c.is_group else when is When.NOW))


def forecast_action(inst: Instance, target_ca: str, policy: PlanPolicy) -> str | None:
    """With --via-maintenance-action: the pending server-certificate rotation of an instance already on
    `target_ca`, which RDS would otherwise apply (and reboot for) at its own date (the audit's reboot
    forecast). Applied in the instance's wave, the reboot happens when the team chooses. Only
    certificate actions are taken; other types (AWS keeps adding them) are never acted on."""
    if not policy.via_maintenance_action or policy.restart is not Restart.AUTO:
        return None
    if inst.ca != target_ca or inst.pending_ca or inst.rotation_without_restart is True:
        return None
    return next((a.action for a in inst.certificate_actions if a.action == SERVER_ROTATION), None)


def _instance_step(
    inst: Instance, target_ca: str, policy: PlanPolicy, wave: str, default_ca: str | None
) -> Step:
    kind, action, note = Kind.MODIFY_INSTANCE, None, None
    cert_actions = inst.certificate_actions
    renewal = forecast_action(inst, target_ca, policy)
    if renewal:
        kind, action = Kind.APPLY_ACTION, renewal
        note = f"applies the pending {renewal} in this wave instead of at RDS's date (a forecast reboot)"
    elif (
        policy.via_maintenance_action
        and cert_actions
        and policy.restart is Restart.AUTO
        and default_ca == target_ca
    ):
        kind, action = Kind.APPLY_ACTION, cert_actions[0].action
        note = f"applies the pending maintenance action {action} instead of a modify"
    elif inst.pending_ca and inst.ca == target_ca:
        note = f"cancels the pending change to {inst.pending_ca}"
    return Step(
        key=inst.key,
        account=inst.account_id,
        region=inst.region,
        id=inst.id,
        engine=inst.engine,
        engine_version=inst.engine_version,
        kind=kind,
        from_ca=inst.ca,
        to_ca=target_ca,
        restart=_restarts(inst, policy),
        when=policy.when,
        wave=wave,
        order=0,
        arn=inst.arn,
        action=action,
        note=note,
        also_applies=rides_along(inst, policy.when, _restarts(inst, policy)),
        resource_ids=(inst.resource_id,) if inst.resource_id else (),
    )


def _cluster_step(members: Sequence[Instance], target_ca: str, policy: PlanPolicy, wave: str) -> Step:
    first = members[0]
    cluster = first.cluster or first.id
    cas = sorted({m.ca or "-" for m in members})
    return Step(
        key=f"{first.account_id}/{first.region}/{cluster}",
        account=first.account_id,
        region=first.region,
        id=cluster,
        engine=first.engine,
        engine_version=first.engine_version,
        kind=Kind.MODIFY_CLUSTER,
        from_ca=cas[0] if len(cas) == 1 else None,
        to_ca=target_ca,
        restart=any(_restarts(m, policy) for m in members),
        when=policy.when,
        wave=wave,
        order=0,
        members=tuple(sorted(m.id for m in members)),
        note="Multi-AZ DB cluster: one modify_db_cluster for all members",
        also_applies=tuple(
            f"{m.id}: {what}"
            for m in sorted(members, key=lambda m: m.id)
            for what in rides_along(m, policy.when, _restarts(m, policy))
        ),
        resource_ids=tuple(m.resource_id or "" for m in sorted(members, key=lambda m: m.id))
        if all(m.resource_id for m in members)
        else (),
    )


def _is_multi_az_cluster(inst: Instance) -> bool:
    return bool(inst.cluster) and engines.is_multi_az_cluster_engine(inst.engine)


def build(
    fleet: Fleet,
    target_ca: str,
    policy: PlanPolicy,
    now: datetime,
    *,
    scope: Scope | None = None,
    writers: frozenset[str] = frozenset(),
    held: Mapping[str, str] | None = None,
) -> Plan:
    """The plan that takes every selected instance of `fleet` to `target_ca`.

    `held` maps instance keys to a reason to leave them out (e.g. clients not ready).

    `writers` holds the keys of cluster writer instances (Aurora, DocumentDB) so that each
    cluster's readers go first. Instances are never in two steps.
    """
    if policy.max_parallel < 1:
        raise PlanError("--max-parallel must be at least 1")
    if policy.max_parallel_per_region is not None and policy.max_parallel_per_region < 1:
        raise PlanError("--max-parallel-per-region must be at least 1")
    steps: list[Step] = []
    skipped: list[Skipped] = []
    warnings: list[str] = []
    clusters: dict[str, list[Instance]] = {}
    held = held or {}
    for inst in sorted(fleet.instances, key=lambda i: i.key):
        reason = skip_reason(inst, target_ca, fleet) or held.get(inst.key)
        if reason and reason.startswith("already on") and forecast_action(inst, target_ca, policy):
            reason = held.get(inst.key)  # its forecast reboot is taken into the wave
        if _is_multi_az_cluster(inst):
            clusters.setdefault(f"{inst.account_id}/{inst.region}/{inst.cluster}", []).append(inst)
            continue
        if reason:
            skipped.append(Skipped(inst.key, inst.ca, reason))
            continue
        region = fleet.region_cas(inst.account_id, inst.region)
        steps.append(
            _instance_step(
                inst, target_ca, policy, _wave_of(inst, policy), region.default_ca if region else None
            )
        )
    for members in clusters.values():
        reasons = {m.key: skip_reason(m, target_ca, fleet) or held.get(m.key) for m in members}
        if policy.restart is Restart.NEVER:  # ModifyDBCluster has no CertificateRotationRestart
            reasons = {k: r or NO_CLUSTER_NO_RESTART for k, r in reasons.items()}
        blocking = {k: r for k, r in reasons.items() if r and not r.startswith("already on")}
        if all(r and r.startswith("already on") for r in reasons.values()):
            skipped.extend(Skipped(m.key, m.ca, reasons[m.key] or "") for m in members)
        elif blocking:
            for m in members:
                why = reasons[m.key] or "another member of its Multi-AZ DB cluster cannot be rotated"
                skipped.append(Skipped(m.key, m.ca, why))
        else:
            steps.append(_cluster_step(members, target_ca, policy, _wave_of(members[0], policy)))

    untagged = [s.key for s in steps if s.wave == UNTAGGED]
    if policy.strict_waves and untagged:
        raise PlanError(
            f"--strict-waves: {count(untagged, 'instance')} {plural(len(untagged), 'has')} "
            f"no {policy.wave_tag!r} tag: "
            + ", ".join(untagged[:10])
            + (" ..." if len(untagged) > 10 else "")
        )
    waves, extra = _wave_names((s.wave for s in steps), policy)
    unknown = [w for w in extra if w != UNTAGGED]
    if policy.wave_order and unknown:
        warnings.append(f"tag values not in --wave-order run after it: {', '.join(unknown)}")
    if policy.restart is Restart.NEVER:
        warnings.append(
            "--restart never: certificates are staged until each instance's next restart; "
            "only safe where no client uses TLS"
        )
    if policy.when is When.WINDOW:
        warnings.append("--when window: changes wait for each instance's maintenance window")

    ordered: list[Step] = []
    for wave in waves:
        ordered.extend(order_wave([s for s in steps if s.wave == wave], fleet.instances, writers))
    seen = seen_of(fleet.instances)
    targets = tuple(sorted((t.target.account_id, t.target.region) for t in fleet.targets if t.ok))
    return Plan(
        created_at=now,
        target_ca=target_ca,
        policy=policy,
        scope=scope or Scope(),
        targets=targets,
        waves=waves,
        steps=tuple(ordered),
        skipped=tuple(skipped),
        warnings=tuple(warnings),
        fingerprint=fingerprint(seen, targets),
        seen=seen,
    )


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


def identity_changes(plan: Plan, instances: Iterable[Instance]) -> list[str]:
    """Steps whose instance is no longer the one planned, in words (empty: every one is).

    A name now held by an instance with another DbiResourceId was re-created or switched over
    (Blue/Green: the green instance takes the name and keeps its own id); a planned id found under
    another name was renamed. Either way the plan no longer says what it will change.
    """
    by_key = {i.key: i for i in instances}
    by_rid = {i.resource_id: i for i in by_key.values() if i.resource_id}
    out: list[str] = []
    for step in plan.steps:
        for ident, rid in zip(step.instance_ids, step.resource_ids, strict=False):
            if not rid:
                continue
            key = f"{step.account}/{step.region}/{ident}"
            now = by_key.get(key)
            if now is not None and now.resource_id and now.resource_id != rid:
                out.append(f"{key}: another instance holds this name now (DbiResourceId {rid} -> "
                           f"{now.resource_id}: a Blue/Green switchover or a re-creation)")  # fmt: skip
            elif now is None and rid in by_rid:
                out.append(f"{key}: renamed to {by_rid[rid].id} (DbiResourceId {rid})")
    return out
