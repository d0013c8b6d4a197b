"""`rdsca plan`, `apply`, `resume`, `rollback`, `runs`, `show` and `default show|set|clear`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from rdsca.assess.select import select
from rdsca.aws import actions as aws_actions
from rdsca.aws.fleet import collect
from rdsca.aws.session import AwsSettings, ResolvedTarget, resolve_targets
from rdsca.catalog import load_catalog
from rdsca.cli.app import cli
from rdsca.cli.common import now_utc
from rdsca.cli.options import AwsOptions, Selection, aws_options, emit, selection_options, write_atomic
from rdsca.cli.rotate_progress import make_progress
from rdsca.errors import ConfigError, ExitCode, PlanError
from rdsca.model import Fleet
from rdsca.rollout import plan as planmod
from rdsca.rollout import planfile, render
from rdsca.rollout.executor import ExecOptions, Executor, RunResult, is_verified
from rdsca.rollout.journal import Journal, RunStatus, StepStatus
from rdsca.rollout.rollback import rollback_plan

DEFAULT_PLAN = "rdsca-plan.json"
PROD_WAVES = frozenset({"prod", "production", "prd", "live"})


def known_cas() -> tuple[str, ...]:
    return load_catalog().ca_ids()


def default_journal() -> Path:
    from platformdirs import user_state_dir

    return Path(user_state_dir("rdsca")) / "journal.sqlite"


def journal_option(func: Any) -> Any:
    return click.option(
        "--journal",
        "journal_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="RDSCA_JOURNAL",
        help="The run journal (SQLite). Default: the user state directory. Env: RDSCA_JOURNAL.",
    )(func)


def exec_options(func: Any) -> Any:
    for opt in reversed(
        [
            click.option(
                "--yes", "-y", is_flag=True, help="Do not ask for confirmation (also for production waves)."
            ),
            click.option(
                "--poll-interval",
                type=click.FloatRange(min=0.01),
                default=15.0,
                show_default=True,
                help="Seconds between status polls (one describe call per region per poll).",
            ),
            click.option(
                "--step-timeout",
                type=click.FloatRange(min=0.1),
                default=1800.0,
                show_default=True,
                help="Seconds a step may take before it counts as failed.",
            ),
            click.option(
                "--continue-on-failure", is_flag=True, help="Go on to the next wave even after a failed step."
            ),
            journal_option,
        ]
    ):
        func = opt(func)
    return func


def open_journal(path: Path | None) -> Journal:
    return Journal((path or default_journal()).expanduser())


# -- targets --------------------------------------------------------------------------------------


def resolve_for(
    aws: AwsOptions, plan_targets: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], ResolvedTarget]:
    """The plan's (account, region) targets, reached with the user's AWS flags.

    Refuses, before any change is sent, a plan whose accounts the flags do not reach.
    """
    regions = aws.regions or tuple(sorted({r for _, r in plan_targets}))
    resolved = resolve_targets(
        profiles=aws.profiles,
        regions=regions,
        accounts=aws.accounts,
        role_name=aws.role_name,
        org=aws.org,
        settings=AwsSettings(endpoint_url=aws.endpoint_url),
    )
    by_key = {(r.target.account_id, r.target.region): r for r in resolved}
    reached = {a for (a, _), r in by_key.items() if r.factory is not None}
    missing = sorted({a for a, _ in plan_targets} - reached)
    if missing:
        raise PlanError(
            f"plan for another account: {', '.join(missing)} not reached with these AWS flags "
            f"(reached: {', '.join(sorted(reached)) or 'none'}); use --profile or --accounts/--role-name"
        )
    out = {}
    for key in plan_targets:
        r = by_key.get(key)
        if r is None or r.factory is None:
            raise PlanError(f"cannot reach {key[0]}/{key[1]}: {r.error if r else 'region not selected'}")
        out[key] = r
    return out


def bound_actions(targets: dict[tuple[str, str], ResolvedTarget]) -> aws_actions.BoundActions:
    def client(account: str, region: str) -> Any:
        factory = targets[(account, region)].factory
        assert factory is not None
        return factory.client("rds", region)

    return aws_actions.BoundActions(client)


def read_scope(targets: dict[tuple[str, str], ResolvedTarget], scope: planmod.Scope) -> Fleet:
    fleet = collect(list(targets.values()), now=now_utc())
    for t in fleet.failed:
        raise PlanError(f"cannot re-read {t.target.key} to check the plan: {t.error}")
    return select(fleet, scope.engines, scope.tags, scope.id_globs)


def cluster_writers(targets: Sequence[ResolvedTarget]) -> frozenset[str]:
    out: set[str] = set()
    for r in targets:
        if r.factory is not None:
            rds = r.factory.client("rds", r.target.region)
            out |= aws_actions.cluster_writers(rds, r.target.account_id, r.target.region)
    return frozenset(out)


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
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_PLAN,
              show_default=True, help="Write the plan file here.")  # fmt: skip
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
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
    output: Path,
    fmt: str,
) -> None:
    """Plan a CA rotation in waves; print it like a diff and save it for `rdsca apply`.

    \b
    Examples:
      rdsca plan --to rds-ca-rsa2048-g1 --wave-tag env --wave-order dev,staging,prod
      rdsca plan --to rds-ca-rsa4096-g1 --tag team=web --when window -o web.json
    """
    if target_ca not in known_cas():
        raise ConfigError(f"--to {target_ca!r}: unknown CA (known: {', '.join(known_cas())})")
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
    targets = resolve_targets(
        profiles=aws.profiles,
        regions=aws.regions,
        accounts=aws.accounts,
        role_name=aws.role_name,
        org=aws.org,
        settings=AwsSettings(endpoint_url=aws.endpoint_url),
    )
    fleet = collect(targets, now=now_utc())
    fleet = select(fleet, selection.engines, selection.tags, selection.id_globs)
    writers = cluster_writers(
        [t for t in targets if t.factory and t.target.key not in {f.target.key for f in fleet.failed}]
    )
    scope = planmod.Scope(selection.engines, selection.tags, selection.id_globs)
    result = planmod.build(fleet, target_ca, policy, fleet.collected_at, scope=scope, writers=writers)
    if fleet.failed:
        result = replace(
            result,
            warnings=(*result.warnings, *(f"{t.target.key} not read: {t.error}" for t in fleet.failed)),
        )
    text = planfile.dumps(result)
    write_atomic(output, text)
    emit(text if fmt == "json" else render.plan_text(result) + f"\nplan saved to {output}\n", None)
    ctx.exit(ExitCode.PARTIAL if fleet.failed else ExitCode.OK)


# -- apply / resume -------------------------------------------------------------------------------


def load_plan(path: Path) -> tuple[planmod.Plan, str]:
    try:
        text = path.expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanError(f"cannot read the plan file {path}: {exc.strerror}") from exc
    return planfile.loads(text, known_cas()), text


def _execute(
    plan_: planmod.Plan,
    journal: Journal,
    run_id: str,
    targets: dict[tuple[str, str], ResolvedTarget],
    opts: ExecOptions,
    yes: bool,
) -> RunResult:
    def confirm_wave(wave: str) -> bool:
        if yes or wave.lower() not in PROD_WAVES:
            return True
        return click.confirm(f"Wave {wave!r} is production. Go on?", default=False)

    with make_progress(sys.stdout.isatty(), confirm_wave) as progress:
        return Executor(plan_, journal, run_id, bound_actions(targets), opts, progress).run()


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
@exec_options
@click.pass_context
def apply(
    ctx: click.Context,
    aws: AwsOptions,
    plan_path: Path,
    yes: bool,
    poll_interval: float,
    step_timeout: float,
    continue_on_failure: bool,
    journal_path: Path | None,
) -> None:
    """Execute a saved plan wave by wave: modify, wait, verify; journal every step.

    \b
    Examples:
      rdsca apply rdsca-plan.json
      rdsca apply rdsca-plan.json --yes --poll-interval 10
    """
    plan_, text = load_plan(plan_path)
    targets = resolve_for(aws, plan_.targets)
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
    journal = open_journal(journal_path)
    run_id = journal.create_run(plan_, text)
    click.echo(f"run {run_id} (journal {journal.path})")
    opts = ExecOptions(poll_interval, step_timeout, continue_on_failure)
    _outcome(ctx, _execute(plan_, journal, run_id, targets, opts, yes), journal)


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
    poll_interval: float,
    step_timeout: float,
    continue_on_failure: bool,
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
    targets = resolve_for(aws, plan_.targets)
    journal.set_run_status(run_id, RunStatus.RUNNING, "run-resumed")
    opts = ExecOptions(poll_interval, step_timeout, continue_on_failure)
    _outcome(ctx, _execute(plan_, journal, run_id, targets, opts, yes), journal)


@cli.command()
@aws_options
@click.argument("run_id", metavar="RUN")
@click.option(
    "--wave", "waves", multiple=True, metavar="WAVE", help="Only roll back these waves (repeatable)."
)
@exec_options
@click.pass_context
def rollback(
    ctx: click.Context,
    aws: AwsOptions,
    run_id: str,
    waves: tuple[str, ...],
    yes: bool,
    poll_interval: float,
    step_timeout: float,
    continue_on_failure: bool,
    journal_path: Path | None,
) -> None:
    """Return every instance a run changed to its previous CA, last wave first.

    \b
    Examples:
      rdsca rollback 20250101-120000-a1b2c3
      rdsca rollback 20250101-120000-a1b2c3 --wave dev --yes
    """
    journal = open_journal(journal_path)
    run = journal.run(run_id)
    original = planfile.loads(run.plan_json, known_cas())
    targets = resolve_for(aws, original.targets)
    back = rollback_plan(original, journal, run_id, waves, bound_actions(targets), now_utc())
    if not back.steps:
        click.echo(
            f"nothing to roll back: run {run_id} changed no instance" + (" in these waves" if waves else "")
        )
        return
    text = planfile.dumps(back)
    click.echo(render.plan_text(back), nl=False)
    if not yes:
        click.confirm(f"Roll back {len(back.steps)} change(s)?", abort=True)
    new_id = journal.create_run(back, text, kind="rollback", parent=run_id)
    click.echo(f"run {new_id} rolls back {run_id} (journal {journal.path})")
    opts = ExecOptions(poll_interval, step_timeout, continue_on_failure)
    result = _execute(back, journal, new_id, targets, opts, yes)
    for s in journal.steps(new_id):
        if s.status == StepStatus.VERIFIED:
            journal.record(
                run_id, s.key, "rolled-back", StepStatus.ROLLED_BACK, detail={"by": new_id, "ca": s.to_ca}
            )
    _outcome(ctx, result, journal)


# -- runs / show ----------------------------------------------------------------------------------


@cli.command()
@journal_option
def runs(journal_path: Path | None) -> None:
    """List the runs in the journal.

    \b
    Example:
      rdsca runs --journal ./journal.sqlite
    """
    journal = open_journal(journal_path)
    all_runs = journal.runs()
    counts: dict[str, dict[str, int]] = {}
    for r in all_runs:
        for s in journal.steps(r.id):
            counts.setdefault(r.id, {}).setdefault(s.status, 0)
            counts[r.id][s.status] += 1
    click.echo(render.runs_text(all_runs, counts), nl=False)


def check_scheduled(journal: Journal, run_id: str, aws: AwsOptions) -> list[str]:
    """Re-read the run's scheduled steps; record the ones the maintenance window applied."""
    run = journal.run(run_id)
    scheduled = [s for s in journal.steps(run_id) if s.status == StepStatus.SCHEDULED]
    if not scheduled:
        return []
    plan_ = planfile.loads(run.plan_json, known_cas())
    steps = {s.key: s for s in plan_.steps}
    targets = resolve_for(aws, sorted({(s.account, s.region) for s in scheduled}))
    actions = bound_actions(targets)
    now, notes = now_utc(), []
    for rec in scheduled:
        step = steps[rec.key]
        seen = actions.poll(step.account, step.region, step.instance_ids)
        views = [seen.get(i) for i in step.instance_ids]
        if all(
            v is not None and is_verified(step, v, rec.before_ca, rec.before_valid_till, now) for v in views
        ):
            first = views[0]
            assert first is not None
            after = first.server_cert_valid_till.isoformat() if first.server_cert_valid_till else None
            journal.record(
                run_id,
                rec.key,
                "applied-in-window",
                StepStatus.VERIFIED,
                after_ca=first.ca,
                after_valid_till=after,
            )
            notes.append(f"{rec.key}: applied in the maintenance window, verified on {step.to_ca}")
        else:
            pending = ", ".join(
                f"{v.id} {v.ca} pending {v.pending_ca or '-'}" for v in views if v is not None
            )
            notes.append(f"{rec.key}: still waiting for the maintenance window ({pending})")
    if all(s.status in (StepStatus.VERIFIED, StepStatus.ROLLED_BACK) for s in journal.steps(run_id)):
        journal.set_run_status(run_id, RunStatus.DONE, "run-done", by="show")
    return notes


@cli.command()
@aws_options
@click.argument("run_id", metavar="RUN")
@journal_option
@click.option("--events", "all_events", is_flag=True, help="Every event of every step.")
@click.option("--no-check", is_flag=True, help="Do not re-read scheduled steps from AWS.")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def show(
    aws: AwsOptions, run_id: str, journal_path: Path | None, all_events: bool, no_check: bool, fmt: str
) -> None:
    """Tell what a run did: each step, its CA before and after, its events.

    Steps scheduled for the maintenance window are re-read from AWS to see whether it applied them.

    \b
    Example:
      rdsca show 20250101-120000-a1b2c3 --events
    """
    journal = open_journal(journal_path)
    journal.run(run_id)  # an unknown run is an error before any AWS call
    notes = [] if no_check else check_scheduled(journal, run_id, aws)
    run = journal.run(run_id)
    steps, events = journal.steps(run_id), journal.events(run_id)
    if fmt == "json":
        click.echo(render.run_json(run, steps, events), nl=False)
        return
    click.echo(render.show_text(run, steps, events, all_events), nl=False)
    for n in notes:
        click.echo(n)


# -- default CA -----------------------------------------------------------------------------------


@cli.group()
def default() -> None:
    """The account default CA for new instances, per region (modify_certificates)."""


@default.command("show")
@aws_options
def default_show(aws: AwsOptions) -> None:
    """Show the default CA for new instances in each region, and whether it is an override.

    \b
    Example:
      rdsca default show --region eu-west-1
    """
    from rdsca.rollout.defaults import region_lines

    targets = resolve_targets(profiles=aws.profiles, regions=aws.regions, accounts=aws.accounts,
                              role_name=aws.role_name, org=aws.org,
                              settings=AwsSettings(endpoint_url=aws.endpoint_url))  # fmt: skip
    fleet = collect(targets, now=now_utc())
    click.echo(region_lines(fleet), nl=False)


def _set_default(aws: AwsOptions, ca: str | None) -> None:
    from rdsca.rollout.defaults import refuse_unsupported

    targets = resolve_targets(profiles=aws.profiles, regions=aws.regions, accounts=aws.accounts,
                              role_name=aws.role_name, org=aws.org,
                              settings=AwsSettings(endpoint_url=aws.endpoint_url))  # fmt: skip
    fleet = collect(targets, now=now_utc())
    for t in fleet.failed:
        raise PlanError(f"cannot read {t.target.key}: {t.error}")
    if ca is not None:
        refuse_unsupported(fleet, ca)
    for r in targets:
        assert r.factory is not None
        aws_actions.set_default_ca(r.factory.client("rds", r.target.region), ca)
        click.echo(
            f"{r.target.key}: default CA for new instances " + (f"set to {ca}" if ca else "override removed")
        )


@default.command("set")
@aws_options
@click.argument("ca", metavar="CA")
def default_set(aws: AwsOptions, ca: str) -> None:
    """Make CA the default for new instances (refused where an engine in use does not support it).

    \b
    Example:
      rdsca default set rds-ca-rsa4096-g1 --region eu-west-1
    """
    if ca not in known_cas():
        raise ConfigError(f"unknown CA {ca!r} (known: {', '.join(known_cas())})")
    _set_default(aws, ca)


@default.command("clear")
@aws_options
def default_clear(aws: AwsOptions) -> None:
    """Remove the account override: new instances get AWS's default CA again.

    \b
    Example:
      rdsca default clear --region eu-west-1
    """
    _set_default(aws, None)
