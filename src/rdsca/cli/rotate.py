"""`rdsca plan`, `apply`, `resume` and `rollback`."""

from __future__ import annotations

import contextlib
import sys
from dataclasses import replace
from pathlib import Path

import click

from rdsca.assess.select import select
from rdsca.aws.fleet import collect
from rdsca.aws.session import ResolvedTarget
from rdsca.cli.app import cli
from rdsca.cli.common import failed_targets_code, now_utc, resolve
from rdsca.cli.options import (
    AwsOptions,
    Selection,
    aws_options,
    emit,
    selection_options,
    writable_file,
    write_atomic,
)
from rdsca.cli.rotate_common import (
    bound_actions,
    cluster_writers,
    ended_on,
    exec_options,
    journal_option,
    known_cas,
    load_plan,
    open_journal,
    read_scope,
    resolve_for,
)
from rdsca.cli.rotate_progress import make_progress
from rdsca.errors import ConfigError, ExitCode, JournalError, PlanError
from rdsca.readiness.saved import load_readiness, not_ready
from rdsca.report.plan_markdown import plan_markdown
from rdsca.rollout import plan as planmod
from rdsca.rollout import planfile, render
from rdsca.rollout.executor import ExecOptions, Executor, RunResult
from rdsca.rollout.journal import Journal, RunStatus, StepStatus
from rdsca.rollout.lease import Heartbeat, Holder
from rdsca.rollout.rollback import rollback_plan

DEFAULT_PLAN = "rdsca-plan.json"
PROD_WAVES = frozenset({"prod", "production", "prd", "live"})

# Other commands (rdsca report) read the journal through these.
__all__ = ["journal_option", "open_journal"]

# -- plan -----------------------------------------------------------------------------------------


@cli.command()
@aws_options
@selection_options
@click.option(
    "--to", "target_ca", required=True, metavar="CA", help="The CA to rotate to, e.g. rds-ca-rsa2048-g1."
)
@click.option("--wave-tag", metavar="TAG", help="Group instances into waves by this tag (e.g. env).")
@click.option("--wave-order", metavar="A,B,C", help="Wave order by tag value, e.g. dev,staging,prod.")
@click.option("--strict-waves", is_flag=True, help="Refuse instances without the wave tag.")
@click.option(
    "--max-parallel",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Steps at a time per wave.",
)
@click.option("--when", type=click.Choice(["now", "window"]), default="now", show_default=True,
              help="Apply immediately, or at each instance's next maintenance window.")  # fmt: skip
@click.option("--restart", type=click.Choice(["auto", "never"]), default="auto", show_default=True,
              help="never: send CertificateRotationRestart=False (if no client uses TLS).")  # fmt: skip
@click.option("--via-maintenance-action", is_flag=True,
              help="Where a certificate maintenance action is pending and the target is the region "
              "default, apply that action instead of a modify.")  # fmt: skip
@click.option("--require-ready", type=click.Path(dir_okay=False, path_type=Path), metavar="READINESS.json",
              help="Leave out every instance without a `ready` verdict in this saved `rdsca readiness` "
              "result.")  # fmt: skip
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_PLAN,
              show_default=True, callback=writable_file, help="Write the plan file here.")  # fmt: skip
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="How to print the plan (the saved file is always JSON).")  # fmt: skip
@click.pass_context
def plan(
    ctx: click.Context,
    aws: AwsOptions,
    selection: Selection,
    target_ca: str,
    wave_tag: str | None,
    wave_order: str | None,
    strict_waves: bool,
    max_parallel: int,
    when: str,
    restart: str,
    via_maintenance_action: bool,
    require_ready: Path | None,
    output: Path,
    fmt: str,
) -> None:
    """Plan a CA rotation in waves; print it like a diff and save it for `rdsca apply`.

    \b
    Examples:
      rdsca plan --to rds-ca-rsa2048-g1 --wave-tag env --wave-order dev,staging,prod
      rdsca plan --to rds-ca-rsa4096-g1 --tag team=web --when window -o web.json
      rdsca plan --to rds-ca-rsa2048-g1 --require-ready readiness.json
    """
    if target_ca not in known_cas():
        raise ConfigError(f"--to {target_ca!r}: unknown CA (known: {', '.join(known_cas())})")
    ended = ended_on(target_ca, now_utc())
    if ended:
        raise ConfigError(f"--to {target_ca}: that CA's roots ended on {ended}; rotate to a current one "
                          "(rds-ca-rsa2048-g1, rds-ca-rsa4096-g1 or rds-ca-ecc384-g1)")  # fmt: skip
    order = tuple(p.strip() for p in (wave_order or "").split(",") if p.strip())
    if order and not wave_tag:
        raise ConfigError("--wave-order needs --wave-tag")
    policy = planmod.PlanPolicy(
        wave_tag=wave_tag,
        wave_order=order,
        strict_waves=strict_waves,
        max_parallel=max_parallel,
        when=planmod.When(when),
        restart=planmod.Restart(restart),
        via_maintenance_action=via_maintenance_action,
    )
    readiness = load_readiness(require_ready, "--require-ready") if require_ready else None
    targets = resolve(aws)
    fleet = select(collect(targets, now=now_utc()), selection.engines, selection.tags, selection.id_globs)
    writers = cluster_writers(
        [t for t in targets if t.factory and t.target.key not in {f.target.key for f in fleet.failed}]
    )
    scope = planmod.Scope(selection.engines, selection.tags, selection.id_globs)
    held = not_ready(readiness, (i.key for i in fleet.instances)) if readiness else None
    result = planmod.build(
        fleet, target_ca, policy, fleet.collected_at, scope=scope, writers=writers, held=held
    )
    if fleet.failed:
        result = replace(
            result,
            warnings=(*result.warnings, *(f"{t.target.key} not read: {t.error}" for t in fleet.failed)),
        )
    text = planfile.dumps(result)
    write_atomic(output, text)
    shown = {"json": text, "markdown": plan_markdown(result)}.get(fmt)
    emit(shown or render.plan_text(result) + f"\nplan saved to {output}\n", None)
    ctx.exit(failed_targets_code(fleet) or ExitCode.OK)


# -- apply / resume -------------------------------------------------------------------------------


def _execute(
    plan_: planmod.Plan,
    journal: Journal,
    run_id: str,
    targets: dict[tuple[str, str], ResolvedTarget],
    opts: ExecOptions,
    yes: bool,
    holder: Holder,
) -> RunResult:
    """Run the plan while holding its lease (renewed by a heartbeat, released at the end)."""

    def confirm_wave(wave: str) -> bool:
        if yes or wave.lower() not in PROD_WAVES:
            return True
        return click.confirm(f"Wave {wave!r} is production. Go on?", default=False)

    try:
        with Heartbeat(journal.path, holder), make_progress(sys.stdout.isatty(), confirm_wave) as progress:
            return Executor(plan_, journal, run_id, bound_actions(targets), opts, progress).run()
    except KeyboardInterrupt:
        click.echo(f"run {run_id} interrupted; continue with: rdsca resume {run_id}", err=True)
        raise
    finally:
        with contextlib.suppress(JournalError):
            journal.release(holder)


def _say_taken_over(messages: list[str]) -> None:
    for line in messages:
        click.echo(line, err=True)


def _outcome(ctx: click.Context, result: RunResult, journal: Journal) -> None:
    counts = ", ".join(f"{n} {s}" for s, n in sorted(result.counts.items()))
    click.echo(f"run {result.run_id}: {result.status} ({counts})")
    if result.stopped_before:
        click.echo(
            f"stopped before wave {result.stopped_before!r}: a step failed (see `rdsca show {result.run_id}`)"
        )
    for s in journal.steps(result.run_id):
        if s.status in (StepStatus.FAILED, StepStatus.SKIPPED):
            click.echo(f"  {s.status}: {s.key}: {s.reason}")
    if result.status is RunStatus.SCHEDULED:
        click.echo(
            f"scheduled steps wait for the maintenance window; check later with `rdsca show {result.run_id}`"
        )
    ok = result.status in (RunStatus.DONE, RunStatus.SCHEDULED)
    ctx.exit(
        ExitCode.OK
        if ok
        else ExitCode.INTERRUPTED
        if result.status is RunStatus.INTERRUPTED
        else ExitCode.ERROR
    )


@cli.command()
@aws_options
@click.argument("plan_path", metavar="PLAN", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--wave", "waves", multiple=True, metavar="WAVE", help="Only apply these waves (repeatable).")
@exec_options
@click.pass_context
def apply(
    ctx: click.Context,
    aws: AwsOptions,
    plan_path: Path,
    waves: tuple[str, ...],
    yes: bool,
    opts: ExecOptions,
    journal_path: Path | None,
) -> None:
    """Execute a saved plan wave by wave: modify, wait, verify; journal every step.

    \b
    Examples:
      rdsca apply rdsca-plan.json
      rdsca apply rdsca-plan.json --yes --poll-interval 10
      rdsca apply rdsca-plan.json --wave dev --wave staging
    """
    plan_, text = load_plan(plan_path)
    if waves:  # checked before any AWS call; the fingerprint still covers the whole plan
        plan_ = planmod.only_waves(plan_, waves)
        text = planfile.dumps(plan_)
    targets = resolve_for(aws, plan_.targets, opts.write_timeout)
    current = planmod.seen_of(read_scope(targets, plan_.scope).instances)
    if planmod.fingerprint(current, plan_.targets) != plan_.fingerprint:
        lines = planmod.drift(plan_.seen, current)
        raise PlanError(
            "the estate changed since the plan was made; run `rdsca plan` again. Drifted:\n  "
            + "\n  ".join(lines)
        )
    if not plan_.steps:
        click.echo("nothing to do: the plan has no steps")
        return
    click.echo(render.plan_text(plan_), nl=False)
    if not yes:
        click.confirm(f"Apply {len(plan_.steps)} change(s) in {len(plan_.waves)} wave(s)?", abort=True)
    journal = open_journal(journal_path, create=True)
    holder = Holder.this_process("rdsca apply")
    run_id = journal.create_run(plan_, text, holder=holder, take_over=opts.take_over)
    _say_taken_over([e.detail["message"] for e in journal.events(run_id) if e.event == "lease-taken-over"])
    click.echo(f"run {run_id} (journal {journal.path})")
    _outcome(ctx, _execute(plan_, journal, run_id, targets, opts, yes, holder), journal)


@cli.command()
@aws_options
@click.argument("run_id", metavar="RUN")
@exec_options
@click.pass_context
def resume(
    ctx: click.Context,
    aws: AwsOptions,
    run_id: str,
    yes: bool,
    opts: ExecOptions,
    journal_path: Path | None,
) -> None:
    """Continue a run after a crash or Ctrl-C: re-read each instance, never re-send an accepted change.

    \b
    Example:
      rdsca resume 20250101-120000-a1b2c3
    """
    journal = open_journal(journal_path)
    run = journal.run(run_id)
    plan_ = planfile.loads(run.plan_json, known_cas())
    targets = resolve_for(aws, plan_.targets, opts.write_timeout)
    holder = Holder.this_process("rdsca resume")
    _say_taken_over(journal.claim(run_id, plan_, holder, take_over=opts.take_over))
    journal.set_run_status(run_id, RunStatus.RUNNING, "run-resumed")
    result = _execute(plan_, journal, run_id, targets, opts, yes, holder)
    if run.kind == "rollback":
        mark_rolled_back(journal, run_id)
    _outcome(ctx, result, journal)


@cli.command()
@aws_options
@click.argument("run_id", metavar="RUN")
@click.option(
    "--wave", "waves", multiple=True, metavar="WAVE", help="Only roll back these waves (repeatable)."
)
@click.option(
    "--id", "id_globs", multiple=True, metavar="GLOB", help="Only roll back these instances (repeatable)."
)
@exec_options
@click.pass_context
def rollback(
    ctx: click.Context,
    aws: AwsOptions,
    run_id: str,
    waves: tuple[str, ...],
    id_globs: tuple[str, ...],
    yes: bool,
    opts: ExecOptions,
    journal_path: Path | None,
) -> None:
    """Return every instance a run changed to its previous CA, last wave first.

    \b
    Examples:
      rdsca rollback 20250101-120000-a1b2c3
      rdsca rollback 20250101-120000-a1b2c3 --wave dev --yes
      rdsca rollback 20250101-120000-a1b2c3 --id 'billing-*'
    """
    journal = open_journal(journal_path)
    run = journal.run(run_id)
    original = planfile.loads(run.plan_json, known_cas())
    targets = resolve_for(aws, original.targets, opts.write_timeout)
    back = rollback_plan(original, journal, run_id, waves, bound_actions(targets), now_utc(), id_globs)
    if not back.steps:
        narrowed = " matching --wave / --id" if waves or id_globs else ""
        click.echo(f"nothing to roll back: run {run_id} changed no instance{narrowed}")
        return
    text = planfile.dumps(back)
    click.echo(render.plan_text(back), nl=False)
    if not yes:
        click.confirm(f"Roll back {len(back.steps)} change(s)?", abort=True)
    holder = Holder.this_process("rdsca rollback")
    new_id = journal.create_run(back, text, kind="rollback", parent=run_id, holder=holder,
                                take_over=opts.take_over)  # fmt: skip
    _say_taken_over([e.detail["message"] for e in journal.events(new_id) if e.event == "lease-taken-over"])
    click.echo(f"run {new_id} rolls back {run_id} (journal {journal.path})")
    result = _execute(back, journal, new_id, targets, opts, yes, holder)
    mark_rolled_back(journal, new_id)
    _outcome(ctx, result, journal)


def mark_rolled_back(journal: Journal, rollback_id: str) -> None:
    """Each verified step of a rollback run marks the step it undid as rolled back."""
    parent = journal.run(rollback_id).parent
    if parent is None:
        return
    undone = {s.key for s in journal.steps(parent) if s.status == StepStatus.ROLLED_BACK}
    for s in journal.steps(rollback_id):
        if s.status == StepStatus.VERIFIED and s.key not in undone:
            detail = {"by": rollback_id, "ca": s.to_ca}
            journal.record(parent, s.key, "rolled-back", StepStatus.ROLLED_BACK, detail=detail)


# `rdsca runs`, `show` and `default` live beside these commands.
from rdsca.cli import rotate_runs  # noqa: E402, F401
