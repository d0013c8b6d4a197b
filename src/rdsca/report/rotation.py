"""Plans, runs and steps as text, JSON and Markdown, registered in `rdsca.report.registry`."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from rdsca import engines, schemas
from rdsca.api.defaults import DefaultChanges, Defaults
from rdsca.api.rotation import PlanResult, RunOutcome
from rdsca.api.runs import RunsView, RunView
from rdsca.model import Fleet
from rdsca.report import table
from rdsca.report.registry import register
from rdsca.report.table import Column
from rdsca.report.words import count, plural
from rdsca.rollout.events import Event
from rdsca.rollout.journal import TERMINAL, EventRecord, RunRecord, RunStatus, StepRecord, StepStatus
from rdsca.rollout.plan import Plan, PlanPolicy, Step

RUN_SCHEMA = schemas.RUN


def _restart(step: Step) -> str:
    """What the change restarts: Oracle restarts its listener, not the instance (rdsca.engines)."""
    if not step.restart:
        return "no restart"
    return "listener restart" if engines.facts(step.engine).restart_behaviour == "listener" else "restart"


def parallel(policy: PlanPolicy) -> str:
    """'at most 50 at a time' and, with a per-region limit, ', 1 per account-region'."""
    per = policy.max_parallel_per_region
    return f"at most {policy.max_parallel} at a time" + (f", {per} per account-region" if per else "")


def plan_text(plan: Plan) -> str:
    """The plan like a diff: one line per change, grouped by wave, then what is skipped."""
    lines = [
        f"Plan: {count(plan.steps, 'change')} to {plan.target_ca} in {count(plan.waves, 'wave')}, "
        f"{parallel(plan.policy)}, "
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
            if s.also_applies:
                lines.append(f"      also applied by this change: {'; '.join(s.also_applies)}")
    if plan.skipped:
        lines.append("")
        lines.append(f"skipped ({len(plan.skipped)})")
        lines.extend(f"  = {s.key}: {s.reason}" for s in plan.skipped)
    riding = sum(1 for s in plan.steps if s.also_applies)
    if riding:
        lines.append("")
        lines.append(
            f"{count(riding, 'step')} also {'applies' if riding == 1 else 'apply'} pending changes "
            "(see above): `rdsca apply` refuses them unless --include-pending-changes"
        )
    if plan.warnings:
        lines.append("")
        lines.extend(f"warning: {w}" for w in plan.warnings)
    return "\n".join(lines) + "\n"


RUNS_COLUMNS = (
    *(Column(n) for n in ("RUN", "KIND", "STATUS", "TARGET CA", "CREATED")),
    Column("STEPS", True, 16),
)


def runs_text(runs: Sequence[RunRecord], counts: Mapping[str, Mapping[str, int]]) -> str:
    """One row per run; only the step counts wrap (tables.fitted), never a run id, CA or date."""
    if not runs:
        return "no runs in the journal\n"
    rows: list[list[str]] = []
    for r in runs:
        c = counts.get(r.id, {})
        summary = ", ".join(f"{n} {s}" for s, n in sorted(c.items()))
        parent = f" (undoes {r.parent})" if r.parent else ""
        rows.append([r.id, r.kind, r.status, r.target_ca, r.created_at, summary + parent])
    return table.render([table.fitted(None, RUNS_COLUMNS, rows, show_edge=False)], color=False)


STEP_COLUMNS = (*map(Column, ("STEP", "WAVE", "CHANGE", "STATUS", "DOWNTIME")), Column("REASON", True, 16))


def show_text(
    run: RunRecord, steps: Sequence[StepRecord], events: Sequence[EventRecord], all_events: bool
) -> str:
    parent = f", undoes {run.parent}" if run.parent else ""
    lines = [
        f"run {run.id} ({run.kind}{parent}): {run.status}",
        f"target {run.target_ca}, created {run.created_at},",
        f"last change {run.updated_at}",
        "",
    ]
    down = downtimes(events)
    rows = [
        [s.key, s.wave, f"{s.before_ca or s.from_ca or '-'} -> {s.after_ca or s.to_ca}", s.status,
         down_text(down.get(s.key)), s.reason or ""]
        for s in steps
    ]  # fmt: skip
    steps_table = table.render([table.fitted(None, STEP_COLUMNS, rows, show_edge=False)], False)
    lines.extend(steps_table.strip("\n").splitlines())
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


def downtimes(events: Sequence[EventRecord]) -> dict[str, dict[str, Any]]:
    """Per step, the detail of its last "downtime" event (rdsca.rollout.downtime.Downtime.detail)."""
    return {e.step_key: e.detail for e in events if e.step_key and e.event == Event.DOWNTIME}


def down_text(detail: Mapping[str, Any] | None) -> str:
    """`2.1s` measured, `2.1s+` still down when the step ended, `-` not measured."""
    if not detail or detail.get("measured") is False:  # never answered from here
        return "-"
    seconds = float(detail.get("seconds") or 0.0)
    still_down = seconds > 0 and not detail.get("recovered")
    return f"{seconds:.1f}s" + ("+" if still_down else "")


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


# -- the results of rdsca.api.rotation, by format ------------------------------------------------


def _outcome_text(o: RunOutcome) -> str:
    counts = ", ".join(f"{n} {s}" for s, n in sorted(o.counts.items()))
    lines = [f"run {o.run_id}: {o.status} ({counts})"]
    if o.stopped_before and o.status == RunStatus.INTERRUPTED:  # the executor's only such stop: a "no"
        lines.append(f"stopped before wave {o.stopped_before!r}: you declined it at the prompt, nothing of "
                     f"it was sent; continue with: rdsca resume {o.run_id}")  # fmt: skip
    elif o.stopped_before:
        lines.append(f"stopped before wave {o.stopped_before!r}: a step failed (see `rdsca show {o.run_id}`)")
    lines.extend(f"  {s.status}: {s.key}: {s.reason}" for s in o.steps if s.status in ("failed", "skipped"))
    waiting = [s.key for s in o.steps if s.status == "awaiting-restart"]
    if waiting:
        lines.append(
            f"{count(waiting, 'instance')} {plural(len(waiting), 'has')} the new CA recorded but serve"
            f"{'s' if len(waiting) == 1 else ''} the old certificate until {plural(len(waiting), 'its')} "
            f"next restart (--restart never): reboot them in a quiet moment, then `rdsca show {o.run_id}`"
        )
    if o.status == "scheduled":
        lines.append(
            f"scheduled steps wait for the maintenance window; check later with `rdsca show {o.run_id}`"
        )
    return "\n".join(lines) + "\n"


FINISHED = TERMINAL | {StepStatus.SCHEDULED, StepStatus.AWAITING_RESTART}


def standing_text(run: RunRecord, steps: Sequence[StepRecord]) -> str:
    """Where a run stands before `rdsca resume` goes on: per wave the steps done and left."""
    waves: dict[str, list[StepRecord]] = {}
    for s in steps:
        waves.setdefault(s.wave, []).append(s)
    finished = [w for w, ss in waves.items() if all(s.status in FINISHED for s in ss)]
    done = sum(1 for s in steps if s.status in FINISHED)
    lines = [f"run {run.id} ({run.kind}, {run.status}, target {run.target_ca}): {len(finished)} of "
             f"{count(waves, 'wave')} done, {done} of {count(steps, 'step')} done"]  # fmt: skip
    width = max((len(w) for w in waves), default=0)
    for wave, ss in waves.items():
        left = Counter(s.status for s in ss if s.status not in FINISHED)
        rest = ", ".join(f"{n} {st}" for st, n in sorted(left.items()))
        lines.append(f"  wave {wave:<{width}}  {len(ss) - sum(left.values())}/{len(ss)} done"
                     + (f"; left: {rest}" if rest else ""))  # fmt: skip
    pending = [w for w in waves if w not in finished]
    if pending:
        lines.append(f"left: {count(len(steps) - done, 'step')} in {plural(len(pending), 'wave')} "
                     f"{', '.join(pending)}")  # fmt: skip
    else:
        lines.append("left: nothing; resuming re-reads the steps and ends the run")
    return "\n".join(lines) + "\n"


def _show_text(v: RunView) -> str:
    return show_text(v.run, v.steps, v.events, v.all_events) + "".join(f"{n}\n" for n in v.notes)


register(PlanResult, "text", lambda r, _o: plan_text(r.plan))
register(PlanResult, "json", lambda r, _o: r.text)
register(PlanResult, "markdown", lambda r, _o: _plan_markdown(r.plan))
register(RunOutcome, "text", lambda o, _o: _outcome_text(o))
register(RunView, "text", lambda v, _o: _show_text(v))
register(RunView, "json", lambda v, _o: run_json(v.run, v.steps, v.events))
register(RunView, "standing", lambda v, _o: standing_text(v.run, v.steps))
register(RunsView, "table", lambda v, _o: runs_text(v.runs, v.counts))
register(RunsView, "text", lambda v, _o: runs_text(v.runs, v.counts))
register(RunsView, "json", lambda v, _o: runs_json(v.runs, v.counts))
register(Defaults, "table", lambda d, _o: region_lines(d.fleet))
register(Defaults, "text", lambda d, _o: region_lines(d.fleet))
register(Defaults, "json", lambda d, _o: defaults_json(d.fleet))
register(DefaultChanges, "text", lambda c, _o: "".join(
    f"{t}: default CA for new instances " + (f"set to {c.ca}" if c.ca else "override removed") + "\n"
    for t in c.targets
))  # fmt: skip


def runs_json(runs: Sequence[RunRecord], counts: Mapping[str, Mapping[str, int]]) -> str:
    doc = {
        "schema": schemas.RUNS,
        "runs": [{**{k: v for k, v in vars(r).items() if k != "plan_json"},
                  "steps": dict(counts.get(r.id, {}))} for r in runs],
    }  # fmt: skip
    return json.dumps(doc, indent=2) + "\n"


def defaults_json(fleet: Fleet) -> str:
    doc = {
        "schema": schemas.DEFAULTS,
        "regions": [{"account_id": r.account_id, "region": r.region, "default_ca": r.default_ca,
                     "override": r.override}
                    for r in sorted(fleet.regions, key=lambda r: (r.account_id, r.region))],
        "failed": [{"account_id": t.target.account_id, "region": t.target.region, "error": t.error}
                   for t in fleet.failed],
    }  # fmt: skip
    return json.dumps(doc, indent=2) + "\n"


REGION_COLUMNS = (Column("ACCOUNT/REGION"), Column("DEFAULT CA"), Column("SOURCE", True, 16))


def region_lines(fleet: Fleet) -> str:
    rows: list[list[str]] = []
    for r in sorted(fleet.regions, key=lambda r: (r.account_id, r.region)):
        source = "account override" if r.override else "AWS default"
        rows.append([f"{r.account_id}/{r.region}", r.default_ca or "-", source])
    rows.extend([t.target.key, "?", f"not read: {t.error}"] for t in fleet.failed)
    return table.render([table.fitted(None, REGION_COLUMNS, rows, show_edge=False)], color=False)


def _plan_markdown(plan: Plan) -> str:
    from rdsca.report.plan_markdown import plan_markdown

    return plan_markdown(plan)
