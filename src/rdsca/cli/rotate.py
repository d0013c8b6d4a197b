"""`rdsca plan`, `apply`, `resume` and `rollback`: adapters around `rdsca.api.rotation`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import click

from rdsca.api import iac as iac_api
from rdsca.api import rotation as api
from rdsca.api.target_ca import check_target_ca
from rdsca.api.targets import reach
from rdsca.cli.app import cli
from rdsca.cli.common import failed_targets_code, now_utc
from rdsca.cli.completion import complete_ca_ids, complete_run_ids
from rdsca.cli.options import AwsOptions, Selection, aws_options, selection_options
from rdsca.cli.output import emit, writable_file, write_atomic
from rdsca.cli.rotate_common import exec_options, journal_option, open_journal, resolver
from rdsca.cli.rotate_progress import json_line, make_progress
from rdsca.errors import ConfigError, ExitCode, JournalError
from rdsca.report import rotation as _rotation_renderers  # noqa: F401  (registers the formats)
from rdsca.report.registry import render
from rdsca.report.words import count
from rdsca.rollout import plan as planmod
from rdsca.rollout import planfile
from rdsca.rollout.contracts import ExecOptions
from rdsca.rollout.journal import TERMINAL, Journal, RunStatus, StepStatus

DEFAULT_PLAN = "rdsca-plan.json"
PROD_WAVES = frozenset({"prod", "production", "prd", "live"})
DONE_STEPS = TERMINAL | {StepStatus.SCHEDULED, StepStatus.AWAITING_RESTART}

# Other commands (rdsca report) read the journal through these.
__all__ = ["journal_option", "open_journal"]


@cli.command()
@aws_options
@selection_options
@click.option(
    "--to",
    "target_ca",
    required=True,
    metavar="CA",
    shell_complete=complete_ca_ids,
    help="The CA to rotate to, e.g. rds-ca-rsa2048-g1.",
)
@click.option("--wave-tag", metavar="TAG", help="Group instances into waves by this tag (e.g. env).")
@click.option("--wave-order", metavar="A,B,C", help="Wave order by tag value, e.g. dev,staging,prod.")
@click.option("--strict-waves", is_flag=True, help="Refuse instances without the wave tag.")
@click.option("--max-parallel", type=click.IntRange(min=1), default=5, show_default=True,
              help="Steps at a time per wave.")  # fmt: skip
@click.option("--max-parallel-per-region", type=click.IntRange(min=1), metavar="N",
              help="Of these, steps at a time per account-region (default: no such limit).")  # fmt: skip
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
    max_parallel_per_region: int | None,
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
      rdsca plan --to rds-ca-rsa2048-g1 --max-parallel 20 --max-parallel-per-region 5
    """
    check_target_ca(target_ca, now_utc())  # before any AWS call
    order = tuple(p.strip() for p in (wave_order or "").split(",") if p.strip())
    policy = planmod.PlanPolicy(wave_tag=wave_tag, wave_order=order, strict_waves=strict_waves,
                                max_parallel=max_parallel, max_parallel_per_region=max_parallel_per_region,
                                when=planmod.When(when),
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


def _confirm_wave(yes: bool, declined: list[str]) -> Callable[[str], bool]:
    def confirm(wave: str) -> bool:
        if yes or wave.lower() not in PROD_WAVES:
            return True
        if click.confirm(f"Wave {wave!r} is production. Go on?", default=False, err=True):
            return True
        declined.append(wave)
        return False

    return confirm


def need_terminal_or_yes(yes: bool, what: str) -> None:
    """A command that asks before it changes anything, run without a terminal to answer (CI, cron,
    a pipe) and without --yes: refused before any AWS call, not left to read end-of-file as "no"."""
    if not yes and not sys.stdin.isatty():
        raise ConfigError(f"{what} asks for confirmation and standard input is not a terminal: "
                          "pass --yes to go on without asking")  # fmt: skip


class _Started:
    """Says which run started (and which leases it took over); remembers it for the resume hint."""

    def __init__(self, run_line: Callable[[str], str], json_mode: bool) -> None:
        self.run_line, self.json_mode, self.ids = run_line, json_mode, list[str]()

    def __call__(self, run_id: str, taken_over: Sequence[str]) -> None:
        for line in taken_over:
            click.echo(line, err=True)
        click.echo(self.run_line(run_id), err=self.json_mode)
        if self.json_mode:
            click.echo(json_line("run", run=run_id))
        self.ids.append(run_id)


def _run(
    ctx: click.Context,
    yes: bool,
    mode: str,
    run: Callable[..., api.RunOutcome],
    run_line: Callable[[str], str],
) -> None:
    """Run a use case with the progress of `mode`; Ctrl-C/SIGTERM/SIGHUP print how to resume, and
    so does a "no" at a production wave's prompt (exit 130 both: the run is interrupted)."""
    json_mode = mode == "json"
    started, declined = _Started(run_line, json_mode), list[str]()
    try:
        with make_progress(mode, _confirm_wave(yes, declined)) as progress:
            outcome = run(progress=progress, on_started=started)
    except KeyboardInterrupt:
        for run_id in started.ids:
            click.echo(f"run {run_id} interrupted; continue with: rdsca resume {run_id}", err=True)
        raise
    if json_mode:
        end = json_line("end", run=outcome.run_id, status=str(outcome.status), counts=dict(outcome.counts),
                        stopped_before=outcome.stopped_before, declined=bool(declined))  # fmt: skip
        click.echo(end)
    click.echo(render(outcome, "text"), nl=False, err=json_mode)
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
@click.option("--max-parallel", type=click.IntRange(min=1), metavar="N",
              help="Steps at a time per wave, instead of the plan's (kept by resume, rollback).")  # fmt: skip
@click.option("--max-parallel-per-region", type=click.IntRange(min=1), metavar="N",
              help="Steps at a time per account-region, instead of the plan's (kept by resume, "
              "rollback).")  # fmt: skip
@exec_options
@click.pass_context
def apply(
    ctx: click.Context,
    aws: AwsOptions,
    plan_path: Path,
    waves: tuple[str, ...],
    include_pending_changes: bool,
    max_parallel: int | None,
    max_parallel_per_region: int | None,
    yes: bool,
    progress: str,
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
      rdsca apply rdsca-plan.json --yes --progress json > progress.jsonl
    """
    plan_, text = api.load_plan(plan_path, waves)  # checked before any AWS call
    if max_parallel or max_parallel_per_region:  # the journal keeps this plan: resume runs with them
        plan_, text = planfile.with_parallel(plan_, max_parallel, max_parallel_per_region)
    if plan_.steps:
        need_terminal_or_yes(yes, "apply")
    targets = reach(resolver(aws, opts.write_timeout), plan_.targets)
    api.check_drift(plan_, targets, now_utc())
    api.check_ride_along(plan_, include_pending_changes)  # after drift: the plan's riders are current
    if not plan_.steps:
        click.echo("nothing to do: the plan has no steps")
        return
    click.echo(render(api.PlanResult(plan_, text), "text"), nl=False, err=progress == "json")
    if not yes:
        click.confirm(f"Apply {count(plan_.steps, 'change')} in {count(plan_.waves, 'wave')}?", abort=True,
                      err=True)  # fmt: skip
    journal = open_journal(journal_path, create=True)
    _run(ctx, yes, progress, lambda **kw: api.apply(plan_, text, targets, journal, opts, **kw),
         lambda run_id: f"run {run_id} (journal {journal.path})")  # fmt: skip


@cli.command()
@aws_options
@click.argument("run_id", metavar="[RUN]", required=False, shell_complete=complete_run_ids)
@exec_options
@click.pass_context
def resume(
    ctx: click.Context,
    aws: AwsOptions,
    run_id: str | None,
    yes: bool,
    progress: str,
    opts: ExecOptions,
    journal_path: Path | None,
) -> None:
    """Continue a run after a crash or Ctrl-C: re-read each instance, never re-send an accepted change.

    Without RUN, the latest interrupted run of the journal (or one cut off by a crash). Before it
    starts, it says where the run stands: the waves and steps done, and what is left.

    \b
    Examples:
      rdsca resume
      rdsca resume 20250101-120000-a1b2c3 --yes
    """
    journal = open_journal(journal_path)
    run_id = run_id or latest_unfinished(journal)
    steps = journal.steps(run_id)
    click.echo(render(api.RunView(journal.run(run_id), tuple(steps), ()), "standing"), nl=False,
               err=progress == "json")  # fmt: skip
    if any(s.wave.lower() in PROD_WAVES for s in steps if s.status not in DONE_STEPS):
        need_terminal_or_yes(yes, "resume (a production wave is left)")
    _run(ctx, yes, progress,
         lambda **kw: api.resume(run_id, journal, resolver(aws, opts.write_timeout), opts, **kw),
         lambda rid: f"resuming run {rid} (journal {journal.path})")  # fmt: skip


def latest_unfinished(journal: Journal) -> str:
    """The latest run that was interrupted, or cut off while running (a crash, SIGKILL); a run still
    running in another process is refused by its lease when resumed."""
    for run in reversed(journal.runs()):
        if run.status in (RunStatus.INTERRUPTED, RunStatus.RUNNING):
            return run.id
    raise JournalError(f"no interrupted run to resume in the journal {journal.path} (see `rdsca runs`)")


@cli.command()
@aws_options
@click.argument("run_id", metavar="RUN", shell_complete=complete_run_ids)
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
    progress: str,
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
    journal.run(run_id)  # an unknown run: exit 2 before anything else
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
    need_terminal_or_yes(yes, "rollback")  # nothing sent yet
    click.echo(render(api.PlanResult(back.plan, back.text), "text"), nl=False, err=progress == "json")
    if not yes:
        click.confirm(f"Roll back {count(back.plan.steps, 'change')}?", abort=True, err=True)
    run_line = lambda rid: f"run {rid} rolls back {run_id} (journal {journal.path})"  # noqa: E731
    try:
        _run(ctx, yes, progress, lambda **kw: api.rollback(back, journal, opts, **kw), run_line)
    except click.exceptions.Exit as done:
        if done.exit_code == ExitCode.OK and stays:
            lines = "\n  ".join(stays)
            click.echo(f"partial rollback: {count(stays, 'instance')} cannot go back:\n  {lines}", err=True)
            ctx.exit(ExitCode.PARTIAL)
        raise


# `rdsca runs`, `show` and `default` live beside these commands.
from rdsca.cli import rotate_runs  # noqa: E402, F401
