"""`rdsca runs`, `rdsca show RUN` and `rdsca default show|set|clear`."""

from __future__ import annotations

from pathlib import Path

import click

from rdsca.aws import actions as aws_actions
from rdsca.aws.fleet import collect
from rdsca.aws.session import AwsSettings, resolve_targets
from rdsca.cli.app import cli
from rdsca.cli.common import now_utc
from rdsca.cli.options import AwsOptions, aws_options
from rdsca.cli.rotate_common import (
    bound_actions,
    default_journal,
    journal_option,
    known_cas,
    open_journal,
    resolve_for,
)
from rdsca.errors import ConfigError, PlanError, RdscaError
from rdsca.rollout import planfile, render
from rdsca.rollout.journal import Journal, RunStatus, StepStatus
from rdsca.rollout.outcome import is_verified

# -- runs / show ----------------------------------------------------------------------------------


@cli.command()
@journal_option
def runs(journal_path: Path | None) -> None:
    """List the runs in the journal.

    \b
    Example:
      rdsca runs --journal ./journal.sqlite
    """
    where = (journal_path or default_journal()).expanduser()
    if not where.exists():  # nothing applied yet on this machine: an empty list, not an error
        click.echo(render.runs_text([], {}), nl=False)
        return
    journal = open_journal(journal_path)  # damaged or not a journal: said, exit 2
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
    notes: list[str] = []
    if not no_check:
        try:
            notes = check_scheduled(journal, run_id, aws)
        except RdscaError as exc:  # the journal is still worth showing
            notes = [f"could not check the scheduled steps: {exc}"]
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
    """The account default CA for new instances, per region (modify_certificates).

    Without an override, new and restored instances may come back on an old CA; set the default
    to the CA you rotate to. rdsca refuses a CA that an engine in use in the region does not support.

    \b
    Examples:
      rdsca default show --region eu-west-1
      rdsca default set rds-ca-rsa2048-g1 --region eu-west-1
      rdsca default clear --region eu-west-1
    """


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
        aws_actions.set_default_ca(r.factory.client("rds", r.target.region, write=True), ca)
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
