"""Build a rotation plan from a fleet: pure, no AWS, `now` passed in.

Each instance is either skipped (with the reason: `skip_reason`, or held back by the caller) or
becomes a step; the members of a Multi-AZ DB cluster move together in one step, or are all
skipped. Steps are grouped in waves by a tag and ordered within each wave (`rollout.waves`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from rdsca import engines
from rdsca.errors import PlanError
from rdsca.model import Fleet, Instance
from rdsca.rollout.drift import fingerprint, seen_of
from rdsca.rollout.plan import Kind, Plan, PlanPolicy, Restart, Scope, Skipped, Step, When
from rdsca.rollout.waves import order_wave
from rdsca.words import count, plural

UNTAGGED = "untagged"
SERVER_ROTATION = "server-certificate-rotation"
ALL = "all"
NO_CLUSTER_NO_RESTART = (
    "--restart never: a Multi-AZ DB cluster's CA change (modify_db_cluster) always restarts"
)


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
    _check_policy(policy)
    held = held or {}
    steps, skipped, clusters = _instance_steps(fleet, target_ca, policy, held)
    for members in clusters.values():
        cluster_steps, cluster_skipped = _cluster_steps(members, fleet, target_ca, policy, held)
        steps.extend(cluster_steps)
        skipped.extend(cluster_skipped)
    _check_strict_waves(steps, policy)
    waves, extra = _wave_names((s.wave for s in steps), policy)
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
        warnings=tuple(_warnings(policy, extra)),
        fingerprint=fingerprint(seen, targets),
        seen=seen,
    )


def _check_policy(policy: PlanPolicy) -> None:
    if policy.max_parallel < 1:
        raise PlanError("--max-parallel must be at least 1")
    if policy.max_parallel_per_region is not None and policy.max_parallel_per_region < 1:
        raise PlanError("--max-parallel-per-region must be at least 1")


def _instance_steps(
    fleet: Fleet, target_ca: str, policy: PlanPolicy, held: Mapping[str, str]
) -> tuple[list[Step], list[Skipped], dict[str, list[Instance]]]:
    """The step or skip of each instance outside a Multi-AZ DB cluster, in key order, and the
    members of each such cluster (by cluster key), left for `_cluster_steps`."""
    steps: list[Step] = []
    skipped: list[Skipped] = []
    clusters: dict[str, list[Instance]] = {}
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
    return steps, skipped, clusters


def _cluster_steps(
    members: Sequence[Instance], fleet: Fleet, target_ca: str, policy: PlanPolicy, held: Mapping[str, str]
) -> tuple[list[Step], list[Skipped]]:
    """One Multi-AZ DB cluster: one step for all its members, or every member skipped."""
    reasons = {m.key: skip_reason(m, target_ca, fleet) or held.get(m.key) for m in members}
    if policy.restart is Restart.NEVER:  # ModifyDBCluster has no CertificateRotationRestart
        reasons = {k: r or NO_CLUSTER_NO_RESTART for k, r in reasons.items()}
    blocking = {k: r for k, r in reasons.items() if r and not r.startswith("already on")}
    if all(r and r.startswith("already on") for r in reasons.values()):
        return [], [Skipped(m.key, m.ca, reasons[m.key] or "") for m in members]
    if blocking:
        why = "another member of its Multi-AZ DB cluster cannot be rotated"
        return [], [Skipped(m.key, m.ca, reasons[m.key] or why) for m in members]
    return [_cluster_step(members, target_ca, policy, _wave_of(members[0], policy))], []


def _check_strict_waves(steps: Sequence[Step], policy: PlanPolicy) -> None:
    untagged = [s.key for s in steps if s.wave == UNTAGGED]
    if policy.strict_waves and untagged:
        raise PlanError(
            f"--strict-waves: {count(untagged, 'instance')} {plural(len(untagged), 'has')} "
            f"no {policy.wave_tag!r} tag: "
            + ", ".join(untagged[:10])
            + (" ..." if len(untagged) > 10 else "")
        )


def _warnings(policy: PlanPolicy, extra_waves: Sequence[str]) -> list[str]:
    warnings: list[str] = []
    unknown = [w for w in extra_waves if w != UNTAGGED]
    if policy.wave_order and unknown:
        warnings.append(f"tag values not in --wave-order run after it: {', '.join(unknown)}")
    if policy.restart is Restart.NEVER:
        warnings.append(
            "--restart never: certificates are staged until each instance's next restart; "
            "only safe where no client uses TLS"
        )
    if policy.when is When.WINDOW:
        warnings.append("--when window: changes wait for each instance's maintenance window")
    return warnings
