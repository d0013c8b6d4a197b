"""Text for plans, runs and steps. Pure: returns strings, the CLI prints them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rdsca import schemas
from rdsca.rollout.journal import EventRecord, RunRecord, StepRecord
from rdsca.rollout.plan import Plan, Step

RUN_SCHEMA = schemas.RUN


def _restart(step: Step) -> str:
    return "restart" if step.restart else "no restart"


def plan_text(plan: Plan) -> str:
    """The plan like a diff: one line per change, grouped by wave, then what is skipped."""
    lines = [
        f"Plan: {len(plan.steps)} change(s) to {plan.target_ca} in {len(plan.waves)} wave(s), "
        f"at most {plan.policy.max_parallel} at a time, "
        f"when={plan.policy.when}, restart={plan.policy.restart}",
        f"fingerprint {plan.fingerprint}",
    ]
    for wave in plan.waves:
        steps = plan.wave_steps(wave)
        lines.append("")
        lines.append(f"wave {wave} ({len(steps)})")
        for s in steps:
            how = "" if s.kind == "modify-instance" else f" [{s.kind}]"
            after = f" after {', '.join(d.rsplit('/', 1)[-1] for d in s.depends_on)}" if s.depends_on else ""
            members = f" members {', '.join(s.members)}" if s.members else ""
            lines.append(
                f"  ~ {s.key}: {s.from_ca or '(mixed)'} -> {s.to_ca} ({_restart(s)}){how}{members}{after}"
            )
            if s.note:
                lines.append(f"      {s.note}")
    if plan.skipped:
        lines.append("")
        lines.append(f"skipped ({len(plan.skipped)})")
        lines.extend(f"  = {s.key}: {s.reason}" for s in plan.skipped)
    if plan.warnings:
        lines.append("")
        lines.extend(f"warning: {w}" for w in plan.warnings)
    return "\n".join(lines) + "\n"


def runs_text(runs: Sequence[RunRecord], counts: dict[str, dict[str, int]]) -> str:
    if not runs:
        return "no runs in the journal\n"
    lines = [f"{'RUN':<24} {'KIND':<9} {'STATUS':<12} {'TARGET CA':<18} {'CREATED':<30} STEPS"]
    for r in runs:
        c = counts.get(r.id, {})
        summary = ", ".join(f"{n} {s}" for s, n in sorted(c.items()))
        parent = f" (undoes {r.parent})" if r.parent else ""
        lines.append(
            f"{r.id:<24} {r.kind:<9} {r.status:<12} {r.target_ca:<18} {r.created_at:<30} {summary}{parent}"
        )
    return "\n".join(lines) + "\n"


def show_text(
    run: RunRecord, steps: Sequence[StepRecord], events: Sequence[EventRecord], all_events: bool
) -> str:
    parent = f", undoes {run.parent}" if run.parent else ""
    lines = [
        f"run {run.id} ({run.kind}{parent}): {run.status}",
        f"target {run.target_ca}, created {run.created_at}, last change {run.updated_at}",
        "",
        f"{'STEP':<52} {'WAVE':<10} {'CHANGE':<42} {'STATUS':<12} REASON",
    ]
    for s in steps:
        before = s.before_ca or s.from_ca or "-"
        change = f"{before} -> {s.after_ca or s.to_ca}"
        lines.append(f"{s.key:<52} {s.wave:<10} {change:<42} {s.status:<12} {s.reason or ''}".rstrip())
    lines.append("")
    lines.append("events:" if all_events else "events (per step: first, last; --events for all):")
    by_step: dict[str | None, list[EventRecord]] = {}
    for e in events:
        by_step.setdefault(e.step_key, []).append(e)
    for key, evs in by_step.items():
        shown = evs if all_events or len(evs) <= 4 else [*evs[:1], *evs[-3:]]
        for e in shown:
            lines.append(f"  {e.at}  {key or '(run)'}  {e.event}{_detail(e.detail)}")
    return "\n".join(lines) + "\n"


def _detail(detail: dict[str, Any]) -> str:
    if not detail:
        return ""
    return "  " + " ".join(f"{k}={v}" for k, v in sorted(detail.items()))


def run_json(run: RunRecord, steps: Sequence[StepRecord], events: Sequence[EventRecord]) -> str:
    doc = {
        "schema": RUN_SCHEMA,
        "run": {k: v for k, v in vars(run).items() if k != "plan_json"},
        "steps": [vars(s) for s in steps],
        "events": [vars(e) for e in events],
    }
    return json.dumps(doc, indent=2, default=str) + "\n"
