"""`rdsca plan`, `apply`, `resume` and `rollback`: adapters around `rdsca.api.rotation`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import click

from rdsca.api import iac as iac_api
from rdsca.api import rotation as api
from rdsca.cli.app import cli
from rdsca.cli.common import failed_targets_code, now_utc
from rdsca.cli.options import (
    AwsOptions,
    Selection,
    aws_options,
    emit,
    selection_options,
    writable_file,
    write_atomic,
)
from rdsca.cli.rotate_common import exec_options, journal_option, open_journal, resolver
from rdsca.cli.rotate_progress import make_progress
from rdsca.errors import ExitCode
from rdsca.report import rotation as _rotation_renderers  # noqa: F401  (registers the formats)
from rdsca.report.registry import render
from rdsca.rollout import plan as planmod
from rdsca.rollout.contracts import ExecOptions
from rdsca.rollout.journal import RunStatus

DEFAULT_PLAN = "rdsca-plan.json"
PROD_WAVES = frozenset({"prod", "production", "prd", "live"})

# Other commands (rdsca report) read the journal through these.
__all__ = ["journal_option", "open_journal"]


@cli.command()
@aws_options
@selection_options
@click.option(
    "--to", "target_ca", required=True, metavar="CA", help="The CA to rotate to, e.g. rds-ca-rsa2048-g1."
)
@click.option("--wave-tag", metavar="TAG", help="Group instances into waves by this tag (e.g. env).")
@click.option("--wave-order", metavar="A,B,C", help="Wave order by tag value, e.g. dev,staging,prod.")
@click.option("--strict-waves", is_flag=True, help="Refuse instances without the wave tag.")
@click.option("--max-parallel", type=click.IntRange(min=1), default=5, show_default=True,
              help="Steps at a time per wave.")  # fmt: skip
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
@click.option("--iac", "iac_path", type=click.Path(exists=True, path_type=Path), metavar="PATH",
              help="Warn about steps whose instance an infrastructure-as-code pin would set back "
              "(see rdsca iac scan).")  # fmt: skip
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
    iac_path: Path | None,
    output: Path,
    fmt: str,
) -> None:
    """Plan a CA rotation in waves; print it like a diff and save it for `rdsca apply`.

    \b
    Examples:
      rdsca plan --to rds-ca-rsa2048-g1 --wave-tag env --wave-order dev,staging,prod
      rdsca plan --to rds-ca-rsa4096-g1 --tag team=web --when window -o web.json
      rdsca plan --to rds-ca-rsa2048-g1 --require-ready readiness.json
      rdsca plan --to rds-ca-rsa2048-g1 --iac ./infrastructure
    """
    api.check_target_ca(target_ca, now_utc())  # before any AWS call
    order = tuple(p.strip() for p in (wave_order or "").split(",") if p.strip())
    policy = planmod.PlanPolicy(wave_tag=wave_tag, wave_order=order, strict_waves=strict_waves,
                                max_parallel=max_parallel, when=planmod.When(when),
                                restart=planmod.Restart(restart),
                                via_maintenance_action=via_maintenance_action)  # fmt: skip
    scope = planmod.Scope(selection.engines, selection.tags, selection.id_globs)
    iac_found = iac_api.scan(iac_path, target_ca, now_utc()) if iac_path else None  # bad input: before AWS
    result = api.plan(resolver(aws), target_ca, policy, scope, now_utc(), require_ready)
    for warning in iac_api.mark_plan(result.plan, iac_found) if iac_found else ():
        click.echo(f"warning: {warning}", err=True)
    write_atomic(output, result.text)
    shown = render(result, fmt)
    emit(shown if fmt != "text" else shown + f"\nplan saved to {output}\n", None)
    ctx.exit((failed_targets_code(result.fleet) if result.fleet else None) or ExitCode.OK)


# -- apply / resume / rollback --------------------------------------------------------------------


def _confirm_wave(yes: bool) -> Callable[[str], bool]:
    def confirm(wave: str) -> bool:
        if yes or wave.lower() not in PROD_WAVES:
            return True
        return click.confirm(f"Wave {wave!r} is production. Go on?", default=False)

    return confirm


class _Started:
    """Says which run started (and which leases it took over); remembers it for the resume hint."""

    def __init__(self, run_line: Callable[[str], str]) -> None:
        self.run_line, self.ids = run_line, list[str]()

    def __call__(self, run_id: str, taken_over: Sequence[str]) -> None:
        for line in taken_over:
            click.echo(line, err=True)
        click.echo(self.run_line(run_id))
        self.ids.append(run_id)


def _run(
    ctx: click.Context, yes: bool, run: Callable[..., api.RunOutcome], run_line: Callable[[str], str]
) -> None:
    """Run a use case with the live progress; Ctrl-C/SIGTERM/SIGHUP print how to resume."""
    started = _Started(run_line)
    try:
        with make_progress(sys.stdout.isatty(), _confirm_wave(yes)) as progress:
            outcome = run(progress=progress, on_started=started)
    except KeyboardInterrupt:
        for run_id in started.ids:
            click.echo(f"run {run_id} interrupted; continue with: rdsca resume {run_id}", err=True)
        raise
    click.echo(render(outcome, "text"), nl=False)
    if outcome.status in (RunStatus.DONE, RunStatus.SCHEDULED, RunStatus.AWAITING_RESTART):
        ctx.exit(ExitCode.OK)
    ctx.exit(ExitCode.INTERRUPTED if outcome.status is RunStatus.INTERRUPTED else ExitCode.ERROR)


@cli.command()
@aws_options
@click.argument("plan_path", metavar="PLAN", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--wave", "waves", multiple=True, metavar="WAVE", help="Only apply these waves (repeatable).")
@click.option("--include-pending-changes", is_flag=True,
              help="Also apply what is queued on an instance (instance class, storage, engine version, "
              "pending-reboot parameter groups, ...): AWS applies it with the CA change.")  # fmt: skip
@exec_options
@click.pass_context
def apply(
    ctx: click.Context,
    aws: AwsOptions,
    plan_path: Path,
    waves: tuple[str, ...],
    include_pending_changes: bool,
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
      rdsca apply rdsca-plan.json --include-pending-changes
    """
    plan_, text = api.load_plan(plan_path, waves)  # checked before any AWS call
    targets = api.reach(resolver(aws, opts.write_timeout), plan_.targets)
    api.check_drift(plan_, targets, now_utc())
    api.check_ride_along(plan_, include_pending_changes)  # after drift: the plan's riders are current
    if not plan_.steps:
        click.echo("nothing to do: the plan has no steps")
        return
    click.echo(render(api.PlanResult(plan_, text), "text"), nl=False)
    if not yes:
        click.confirm(f"Apply {len(plan_.steps)} change(s) in {len(plan_.waves)} wave(s)?", abort=True)
    journal = open_journal(journal_path, create=True)
    _run(ctx, yes, lambda **kw: api.apply(plan_, text, targets, journal, opts, **kw),
         lambda run_id: f"run {run_id} (journal {journal.path})")  # fmt: skip


@cli.command()
@aws_options
@click.argument("run_id", metavar="RUN")
@exec_options
@click.pass_context
def resume(
    ctx: click.Context, aws: AwsOptions, run_id: str, yes: bool, opts: ExecOptions, journal_path: Path | None
) -> None:
    """Continue a run after a crash or Ctrl-C: re-read each instance, never re-send an accepted change.

    \b
    Example:
      rdsca resume 20250101-120000-a1b2c3
    """
    journal = open_journal(journal_path)
    _run(ctx, yes, lambda **kw: api.resume(run_id, journal, resolver(aws, opts.write_timeout), opts, **kw),
         lambda rid: f"resuming run {rid} (journal {journal.path})")  # fmt: skip


@cli.command()
@aws_options
@click.argument("run_id", metavar="RUN")
@click.option(
    "--wave", "waves", multiple=True, metavar="WAVE", help="Only roll back these waves (repeatable)."
)
@click.option(
    "--id", "id_globs", multiple=True, metavar="GLOB", help="Only roll back these instances (repeatable)."
)
@click.option("--all-or-nothing", is_flag=True,
              help="Refuse the whole rollback when any instance cannot go back (default: return every "
              "instance that can, name the others, exit 4).")  # fmt: skip
@exec_options
@click.pass_context
def rollback(
    ctx: click.Context,
    aws: AwsOptions,
    run_id: str,
    waves: tuple[str, ...],
    id_globs: tuple[str, ...],
    all_or_nothing: bool,
    yes: bool,
    opts: ExecOptions,
    journal_path: Path | None,
) -> None:
    """Return every instance a run changed to its previous CA, last wave first.

    An instance whose previous CA is retired (or not supported by its engine) stays where it is and
    is named; the others go back, and the exit code is 4 (partial).

    \b
    Examples:
      rdsca rollback 20250101-120000-a1b2c3
      rdsca rollback 20250101-120000-a1b2c3 --wave dev --yes
      rdsca rollback 20250101-120000-a1b2c3 --id 'billing-*'
    """
    journal = open_journal(journal_path)
    resolve = resolver(aws, opts.write_timeout)
    back = api.rollback_plan_for(run_id, journal, resolve, now_utc(), waves, id_globs, all_or_nothing)
    stays = [f"{k.key}: {k.reason}" for k in back.plan.skipped]
    if not back.plan.steps:
        narrowed = " matching --wave / --id" if waves or id_globs else ""
        if stays:
            click.echo(f"error: no instance of run {run_id}{narrowed} can go back:\n  " + "\n  ".join(stays),
                       err=True)  # fmt: skip
            ctx.exit(ExitCode.ERROR)
        click.echo(f"nothing to roll back: run {run_id} changed no instance{narrowed}")
        return
    click.echo(render(api.PlanResult(back.plan, back.text), "text"), nl=False)
    if not yes:
        click.confirm(f"Roll back {len(back.plan.steps)} change(s)?", abort=True)
    run_line = lambda rid: f"run {rid} rolls back {run_id} (journal {journal.path})"  # noqa: E731
    try:
        _run(ctx, yes, lambda **kw: api.rollback(back, journal, opts, **kw), run_line)
    except click.exceptions.Exit as done:
        if done.exit_code == ExitCode.OK and stays:
            lines = "\n  ".join(stays)
            click.echo(
                f"partial rollback: {len(stays)} instance(s) stay where they are:\n  {lines}", err=True
            )
            ctx.exit(ExitCode.PARTIAL)
        raise


# `rdsca runs`, `show` and `default` live beside these commands.
from rdsca.cli import rotate_runs  # noqa: E402, F401
