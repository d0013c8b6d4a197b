"""A rotation plan in Markdown, for change tickets: summary, a table per wave, skips, the diff."""

from __future__ import annotations

from rdsca.report.common import md_cell
from rdsca.report.rotation import parallel, plan_text
from rdsca.report.words import count
from rdsca.rollout.plan import Plan

PLAN_HEADER = "| # | account | region | instance | from | to | restart | after |"


def plan_markdown(plan: Plan) -> str:
    """The plan for a change ticket: a summary, a table per wave, what is skipped, and the diff."""
    lines = [
        f"## CA rotation plan: {count(plan.steps, 'change')} to `{plan.target_ca}`",
        "",
        f"{count(plan.waves, 'wave')} ({', '.join(plan.waves) or 'none'}), {parallel(plan.policy)}, "
        f"when={plan.policy.when}, restart={plan.policy.restart}; "
        f"fingerprint `{plan.fingerprint}`.",
    ]
    for wave in plan.waves:
        lines += ["", f"### Wave {md_cell(wave)}", "", PLAN_HEADER, "|---|---|---|---|---|---|---|---|"]
        for n, s in enumerate(plan.wave_steps(wave), 1):
            after = ", ".join(d.rsplit("/", 1)[-1] for d in s.depends_on)
            restart = "restart" if s.restart else "no restart"
            lines.append(
                f"| {n} | {s.account} | {s.region} | {md_cell(s.id)} | {md_cell(s.from_ca or '(mixed)')} "
                f"| {s.to_ca} | {restart} | {md_cell(after)} |"
            )
    riders = [s for s in plan.steps if s.also_applies]
    if riders:
        lines += ["", f"### Also applied by these changes ({len(riders)})", "",
                  "AWS applies these with the CA change; `rdsca apply` refuses them unless "
                  "`--include-pending-changes`.", "", "| instance | also applied |", "|---|---|"]  # fmt: skip
        for s in riders:
            lines.append(f"| {md_cell(s.key)} | {md_cell('; '.join(s.also_applies))} |")
    if plan.skipped:
        lines += ["", f"### Skipped ({len(plan.skipped)})", "", "| instance | CA | why |", "|---|---|---|"]
        for k in plan.skipped:
            lines.append(f"| {md_cell(k.key)} | {md_cell(k.ca or '-')} | {md_cell(k.reason)} |")
    if plan.warnings:
        lines += ["", *(f"> warning: {md_cell(w)}" for w in plan.warnings)]
    lines += ["", "```diff", plan_text(plan).rstrip("\n"), "```"]
    return "\n".join(lines) + "\n"
