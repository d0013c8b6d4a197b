"""The plan file: `{"schema": "rdsca.plan/1", ...}`, written and read back strictly.

`dumps` adds a checksum over the content; `loads` checks the JSON, the schema, every field's
type, the CA ids and the checksum, so a truncated or hand-edited file is refused before any
AWS call. The checksum is no defence against someone who recomputes it, so the plan's meaning
is checked too (`plan.check_consistent`). Pure.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from rdsca.errors import PlanError
from rdsca.rollout.plan import (
    SCHEMA,
    Kind,
    Plan,
    PlanPolicy,
    Restart,
    Scope,
    Seen,
    Skipped,
    Step,
    When,
    check_consistent,
)

PREVIOUS = "previous"  # the target of a rollback plan (rollback.PREVIOUS): each step's previous CA


def _checksum(doc: Mapping[str, Any]) -> str:
    body = {k: v for k, v in doc.items() if k != "checksum"}
    blob = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def step_dict(s: Step) -> dict[str, Any]:
    return {
        "key": s.key,
        "account": s.account,
        "region": s.region,
        "id": s.id,
        "engine": s.engine,
        "engine_version": s.engine_version,
        "kind": str(s.kind),
        "from_ca": s.from_ca,
        "to_ca": s.to_ca,
        "restart": s.restart,
        "when": str(s.when),
        "wave": s.wave,
        "order": s.order,
        "depends_on": list(s.depends_on),
        "members": list(s.members),
        "arn": s.arn,
        "action": s.action,
        "note": s.note,
        "also_applies": list(s.also_applies),
        "resource_ids": list(s.resource_ids),
    }


def to_dict(plan: Plan) -> dict[str, Any]:
    p = plan.policy
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "created_at": plan.created_at.isoformat(),
        "target_ca": plan.target_ca,
        "policy": {
            "wave_tag": p.wave_tag,
            "wave_order": list(p.wave_order),
            "strict_waves": p.strict_waves,
            "max_parallel": p.max_parallel,
            "when": str(p.when),
            "restart": str(p.restart),
            "via_maintenance_action": p.via_maintenance_action,
            # written only when set, so a plan without it reads (and checksums) as before
            **({"max_parallel_per_region": p.max_parallel_per_region} if p.max_parallel_per_region else {}),
        },
        "scope": {
            "engines": list(plan.scope.engines),
            "tags": [list(t) for t in plan.scope.tags],
            "ids": list(plan.scope.id_globs),
        },
        "targets": [{"account": a, "region": r} for a, r in plan.targets],
        "waves": list(plan.waves),
        "steps": [step_dict(s) for s in plan.steps],
        "skipped": [{"key": s.key, "ca": s.ca, "reason": s.reason} for s in plan.skipped],
        "warnings": list(plan.warnings),
        "fingerprint": plan.fingerprint,
        "seen": {k: list(v) for k, v in plan.seen.items()},
    }
    doc["checksum"] = _checksum(doc)
    return doc


def dumps(plan: Plan) -> str:
    return json.dumps(to_dict(plan), indent=2) + "\n"


def with_parallel(plan: Plan, max_parallel: int | None, per_region: int | None) -> tuple[Plan, str]:
    """The plan with apply's --max-parallel / --max-parallel-per-region in its policy, and its text:
    the journal keeps that text, so resume and rollback run with the limits of the run."""
    policy = replace(plan.policy, max_parallel=max_parallel or plan.policy.max_parallel,
                     max_parallel_per_region=per_region or plan.policy.max_parallel_per_region)  # fmt: skip
    if policy.max_parallel < 1 or (policy.max_parallel_per_region or 1) < 1:
        raise PlanError("--max-parallel and --max-parallel-per-region must be at least 1")
    changed = replace(plan, policy=policy)
    return changed, dumps(changed)


# ---------------------------------------------------------------------------------------------
# strict reading


def _get(doc: Mapping[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    if name not in doc:
        raise PlanError(f"plan file: {where}{name} is missing")
    value = doc[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PlanError(f"plan file: {where}{name} has the wrong type ({type(value).__name__})")
    return value


def _opt_str(doc: Mapping[str, Any], name: str, where: str) -> str | None:
    value: str | None = _get(doc, name, (str, type(None)), where)
    return value


def _strs(doc: Mapping[str, Any], name: str, where: str) -> tuple[str, ...]:
    values = _get(doc, name, list, where)
    if not all(isinstance(v, str) for v in values):
        raise PlanError(f"plan file: {where}{name} must be a list of strings")
    return tuple(values)


def _enum(enum: Callable[[str], Any], value: str, what: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise PlanError(f"plan file: unknown {what} {value!r}") from None


def _step(raw: Any, n: int, known_cas: Collection[str]) -> Step:
    where = f"steps[{n}]."
    if not isinstance(raw, dict):
        raise PlanError(f"plan file: steps[{n}] is not an object")
    to_ca = _get(raw, "to_ca", str, where)
    from_ca = _opt_str(raw, "from_ca", where)
    for ca in (to_ca, from_ca):
        if ca is not None and known_cas and ca not in known_cas:
            raise PlanError(f"plan file: {where[:-1]} names an unknown CA {ca!r}")
    return Step(
        key=_get(raw, "key", str, where),
        account=_get(raw, "account", str, where),
        region=_get(raw, "region", str, where),
        id=_get(raw, "id", str, where),
        engine=_get(raw, "engine", str, where),
        engine_version=_get(raw, "engine_version", str, where),
        kind=_enum(Kind, _get(raw, "kind", str, where), "step kind"),
        from_ca=from_ca,
        to_ca=to_ca,
        restart=_get(raw, "restart", bool, where),
        when=_enum(When, _get(raw, "when", str, where), "'when'"),
        wave=_get(raw, "wave", str, where),
        order=_get(raw, "order", int, where),
        depends_on=_strs(raw, "depends_on", where),
        members=_strs(raw, "members", where),
        arn=_opt_str(raw, "arn", where),
        action=_opt_str(raw, "action", where),
        note=_opt_str(raw, "note", where),
        # a plan file written before pending changes were listed has none
        also_applies=_strs(raw, "also_applies", where) if "also_applies" in raw else (),
        # a plan file written before instances were identified by DbiResourceId has none
        resource_ids=_strs(raw, "resource_ids", where) if "resource_ids" in raw else (),
    )


def _policy(raw: Any) -> PlanPolicy:
    where = "policy."
    if not isinstance(raw, dict):
        raise PlanError("plan file: policy is not an object")
    max_parallel = _get(raw, "max_parallel", int, where)
    if max_parallel < 1:
        raise PlanError("plan file: policy.max_parallel must be at least 1")
    # a plan file written before the per-region limit has none
    per_region = (
        _get(raw, "max_parallel_per_region", int, where) if "max_parallel_per_region" in raw else None
    )
    if per_region is not None and per_region < 1:
        raise PlanError("plan file: policy.max_parallel_per_region must be at least 1")
    return PlanPolicy(
        wave_tag=_opt_str(raw, "wave_tag", where),
        wave_order=_strs(raw, "wave_order", where),
        strict_waves=_get(raw, "strict_waves", bool, where),
        max_parallel=max_parallel,
        max_parallel_per_region=per_region,
        when=_enum(When, _get(raw, "when", str, where), "'when'"),
        restart=_enum(Restart, _get(raw, "restart", str, where), "restart policy"),
        via_maintenance_action=_get(raw, "via_maintenance_action", bool, where),
    )


def _seen(raw: Any) -> dict[str, Seen]:
    """4 entries per instance, or 5 when it had pending changes (plan.seen_of)."""
    if not isinstance(raw, dict):
        raise PlanError("plan file: seen is not an object")
    out: dict[str, Seen] = {}
    for key, value in raw.items():
        if not (isinstance(value, list) and len(value) in (4, 5)) or not all(
            v is None or isinstance(v, str) for v in value
        ):
            raise PlanError(f"plan file: seen[{key!r}] must be a list of 4 or 5 strings or nulls")
        out[key] = (value[0], value[1], str(value[2]), str(value[3]), *value[4:])
    return out


def from_dict(doc: Any, known_cas: Collection[str] = ()) -> Plan:
    if not isinstance(doc, dict):
        raise PlanError("plan file: not a JSON object")
    schema = doc.get("schema")
    if schema != SCHEMA:
        raise PlanError(f"plan file: schema {schema!r} is not {SCHEMA!r}")
    checksum = _get(doc, "checksum", str, "")
    if checksum != _checksum(doc):
        raise PlanError(
            "plan file: content does not match its checksum (edited by hand?); run `rdsca plan` again"
        )
    target_ca = _get(doc, "target_ca", str, "")
    if known_cas and target_ca not in known_cas and target_ca != PREVIOUS:
        raise PlanError(f"plan file: unknown target CA {target_ca!r}")
    try:
        created_at = datetime.fromisoformat(_get(doc, "created_at", str, ""))
    except ValueError:
        raise PlanError("plan file: created_at is not a date") from None
    scope_raw = _get(doc, "scope", dict, "")
    targets = _get(doc, "targets", list, "")
    if not all(
        isinstance(t, dict) and isinstance(t.get("account"), str) and isinstance(t.get("region"), str)
        for t in targets
    ):
        raise PlanError("plan file: targets must be objects with account and region")
    steps = tuple(_step(raw, n, known_cas) for n, raw in enumerate(_get(doc, "steps", list, "")))
    waves = _strs(doc, "waves", "")
    for s in steps:
        if s.wave not in waves:
            raise PlanError(f"plan file: step {s.key} is in an unknown wave {s.wave!r}")
    skipped_raw = _get(doc, "skipped", list, "")
    if not all(isinstance(r, dict) for r in skipped_raw):
        raise PlanError("plan file: skipped must be a list of objects")
    skipped = tuple(
        Skipped(
            _get(r, "key", str, "skipped."), _opt_str(r, "ca", "skipped."), _get(r, "reason", str, "skipped.")
        )
        for r in skipped_raw
    )
    tags = _get(scope_raw, "tags", list, "scope.")
    if not all(isinstance(t, list) and len(t) == 2 and all(isinstance(v, str) for v in t) for t in tags):
        raise PlanError("plan file: scope.tags must be a list of [key, value] pairs")
    plan = Plan(
        created_at=created_at,
        target_ca=target_ca,
        policy=_policy(doc.get("policy")),
        scope=Scope(
            engines=_strs(scope_raw, "engines", "scope."),
            tags=tuple((k, v) for k, v in tags),
            id_globs=_strs(scope_raw, "ids", "scope."),
        ),
        targets=tuple((str(t["account"]), str(t["region"])) for t in targets),
        waves=waves,
        steps=steps,
        skipped=skipped,
        warnings=_strs(doc, "warnings", ""),
        fingerprint=_get(doc, "fingerprint", str, ""),
        seen=_seen(doc.get("seen")),
    )
    check_consistent(plan, rollback_target=PREVIOUS)
    return plan


def loads(text: str, known_cas: Collection[str] = (), source: str = "plan file") -> Plan:
    """The plan in `text`; `source` names where it came from in the errors (the journal's copy of a
    run's plan is not a file the user gave)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanError(f"{source} is not valid JSON (truncated?): {exc.msg} at line {exc.lineno}") from None
    except RecursionError:
        raise PlanError(f"{source} is not a plan: JSON nested too deeply") from None
    except ValueError:  # not a JSONDecodeError: an integer of more than 4300 digits
        raise PlanError(f"{source} is not a plan: a number has thousands of digits") from None
    try:
        return from_dict(doc, known_cas)
    except RecursionError:  # nesting deep enough to pass json but not json.dumps (the checksum)
        raise PlanError(f"{source} is not a plan: JSON nested too deeply") from None
