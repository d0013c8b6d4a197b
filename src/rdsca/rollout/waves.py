"""Ordering inside a wave: replicas before their source, cluster readers before the writer.

Pure. The result is the wave's steps with `depends_on` (what must be verified first) and `order`
(the step's level: 0 has no dependency, 1 waits for level 0, ...), sorted by level then key.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from rdsca.errors import PlanError
from rdsca.model import Instance

if TYPE_CHECKING:
    from rdsca.rollout.plan import Step


def _replica_key(account: str, region: str, ref: str) -> str:
    """A replica reference is an id, or an ARN (arn:aws:rds:REGION:ACCOUNT:db:ID) for a cross-region one."""
    parts = ref.split(":")
    if len(parts) == 7 and parts[0] == "arn" and parts[5] == "db":
        return f"{parts[4]}/{parts[3]}/{parts[6]}"
    return f"{account}/{region}/{ref}"


def _dependencies(
    steps: Sequence[Step], instances: Iterable[Instance], writers: frozenset[str]
) -> dict[str, set[str]]:
    by_key = {s.key: s for s in steps}
    inst_by_key = {i.key: i for i in instances}
    deps: dict[str, set[str]] = {s.key: set() for s in steps}

    # Cluster members (Aurora, DocumentDB): one at a time, readers first, the writer last.
    clusters: dict[str, list[Step]] = {}
    for s in steps:
        inst = inst_by_key.get(s.key)
        if inst is not None and inst.cluster and not s.members:
            clusters.setdefault(f"{s.account}/{s.region}/{inst.cluster}", []).append(s)
    for members in clusters.values():
        members.sort(key=lambda s: (s.key in writers, s.id))
        for before, after in itertools.pairwise(members):
            deps[after.key].add(before.key)

    # Read replicas before their source, cross-region ones too (when they are in the same wave).
    for s in steps:
        inst = inst_by_key.get(s.key)
        if inst is None:
            continue
        for ref in inst.replicas:
            replica_key = _replica_key(s.account, s.region, ref)
            if replica_key in by_key:
                deps[s.key].add(replica_key)
    return deps


def _levels(deps: dict[str, set[str]]) -> dict[str, int]:
    level: dict[str, int] = {}
    visiting: set[str] = set()

    def visit(key: str) -> int:
        if key in level:
            return level[key]
        if key in visiting:
            raise PlanError(f"circular ordering involving {key}")
        visiting.add(key)
        level[key] = 1 + max((visit(d) for d in deps[key]), default=-1)
        visiting.discard(key)
        return level[key]

    for key in deps:
        visit(key)
    return level


def order_wave(steps: Sequence[Step], instances: Iterable[Instance], writers: frozenset[str]) -> list[Step]:
    deps = _dependencies(steps, instances, writers)
    level = _levels(deps)
    out = [replace(s, order=level[s.key], depends_on=tuple(sorted(deps[s.key]))) for s in steps]
    return sorted(out, key=lambda s: (s.order, s.key))
