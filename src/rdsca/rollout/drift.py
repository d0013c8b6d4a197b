"""What a plan saw of the estate, and how the estate differs from it now: pure, no AWS.

The plan keeps, per instance, what `seen_of` returns (`plan.Seen`) and a fingerprint of it and of
the targets read; `apply` reads the estate again and refuses a plan whose fingerprint no longer
matches (`drift` says what changed) or whose instances are not the ones it was made for.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence

from rdsca.model import Instance
from rdsca.rollout.plan import Plan, Seen

# The labels of a `Seen` tuple's fields, in order.
SEEN_LABELS = ("CA", "pending CA", "status", "engine version", "pending changes")


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
