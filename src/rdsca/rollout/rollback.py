"""Build the plan that undoes a run: each changed instance back to its recorded previous CA.

In an incident, every instance that can be returned is: one whose previous CA is no longer listed
in the region (a retired CA cannot be chosen again) or not supported by its engine version stays
where it is and is listed in the plan's `skipped` with the reason. `all_or_nothing` refuses the
whole rollback instead (PlanError, nothing sent).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Protocol

from rdsca.errors import ConfigError, PlanError
from rdsca.model import EngineCapability, RegionCAs
from rdsca.rollout.events import was_accepted
from rdsca.rollout.journal import Journal, StepStatus
from rdsca.rollout.plan import Kind, Plan, Skipped, Step, When

PREVIOUS = "previous"  # the target of a rollback plan: each step's own previous CA


class Lookups(Protocol):
    def region_cas(self, account: str, region: str) -> RegionCAs: ...

    def engine_support(self, account: str, region: str, engine: str, version: str) -> EngineCapability: ...


def changed_steps(plan: Plan, journal: Journal, run_id: str) -> list[tuple[Step, str | None]]:
    """The run's steps whose change AWS accepted, with the CA each instance had before."""
    records = {r.key: r for r in journal.steps(run_id)}
    history = journal.step_events(run_id)
    out = []
    for s in plan.steps:
        rec = records.get(s.key)
        if rec is None or rec.status == StepStatus.ROLLED_BACK:
            continue
        if was_accepted(history.get(s.key, ())):
            out.append((s, rec.before_ca or s.from_ca))
    return out


def rollback_plan(
    plan: Plan,
    journal: Journal,
    run_id: str,
    waves: Sequence[str],
    lookups: Lookups,
    now: datetime,
    id_globs: Sequence[str] = (),
    all_or_nothing: bool = False,
) -> Plan:
    unknown = sorted(set(waves) - set(plan.waves))
    if unknown:
        raise ConfigError(
            f"--wave {', '.join(unknown)}: not a wave of run {run_id} ({', '.join(plan.waves)})"
        )
    changed = [
        (s, prev)
        for s, prev in changed_steps(plan, journal, run_id)
        if (not waves or s.wave in waves)
        and (not id_globs or any(fnmatchcase(i, g) for i in s.instance_ids for g in id_globs))
    ]
    problems: list[str] = []
    stays: list[Skipped] = []
    regions: dict[tuple[str, str], RegionCAs] = {}
    engines: dict[tuple[str, str, str, str], EngineCapability] = {}
    steps: list[Step] = []
    for s, prev in changed:
        if prev is None:
            problems.append(f"{s.key}: previous CA unknown (members were on different CAs)")
            stays.append(Skipped(s.key, s.to_ca, "previous CA unknown (members were on different CAs)"))
            continue
        where = (s.account, s.region)
        if where not in regions:
            regions[where] = lookups.region_cas(*where)
        if regions[where].get(prev) is None:
            problems.append(f"{s.key}: previous CA {prev} is retired or not offered in {s.region}")
            stays.append(
                Skipped(s.key, s.to_ca, f"previous CA {prev} is retired or not offered in {s.region}")
            )
            continue
        ekey = (s.account, s.region, s.engine, s.engine_version)
        if ekey not in engines:
            engines[ekey] = lookups.engine_support(*ekey)
        supported = engines[ekey].supported_cas
        if supported and prev not in supported:
            problems.append(f"{s.key}: {s.engine} {s.engine_version} does not support {prev}")
            stays.append(Skipped(s.key, s.to_ca, f"{s.engine} {s.engine_version} does not support {prev}"))
            continue
        kind = Kind.MODIFY_INSTANCE if s.kind is Kind.APPLY_ACTION else s.kind
        steps.append(
            replace(s, from_ca=s.to_ca, to_ca=prev, kind=kind, when=When.NOW, action=None,
                    note=f"rollback of run {run_id}")
        )  # fmt: skip
    if problems and all_or_nothing:
        raise PlanError(
            "cannot roll back every instance (--all-or-nothing; nothing sent):\n  " + "\n  ".join(problems)
        )
    keys = {s.key for s in steps}
    steps = [replace(s, depends_on=tuple(d for d in s.depends_on if d in keys)) for s in steps]
    order = tuple(w for w in reversed(plan.waves) if any(s.wave == w for s in steps))
    ordered = [s for w in order for s in steps if s.wave == w]
    return replace(
        plan,
        created_at=now,
        target_ca=PREVIOUS,
        policy=replace(plan.policy, when=When.NOW),
        waves=order,
        steps=tuple(ordered),
        skipped=tuple(stays),
        warnings=(f"rollback of run {run_id}",),
        fingerprint=f"rollback-of:{run_id}",
        seen={},
    )
