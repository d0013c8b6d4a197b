"""`rdsca runs`, `rdsca show RUN` and `rdsca default show|set|clear`."""

from __future__ import annotations

from pathlib import Path

import click

from rdsca.api import rotation as api
from rdsca.cli.app import cli
from rdsca.cli.common import now_utc
from rdsca.cli.options import AwsOptions, aws_options
from rdsca.cli.rotate_common import default_journal, journal_option, open_journal, resolver
from rdsca.report import rotation as _rotation_renderers  # noqa: F401  (registers the formats)
from rdsca.report.registry import render

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
    # No journal yet (nothing applied on this machine): an empty list. A damaged one: exit 2.
    journal = open_journal(journal_path) if where.exists() else None
    click.echo(render(api.runs(journal), "text"), nl=False)


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
    view = api.show(journal, run_id, None if no_check else resolver(aws), now_utc(), all_events)
    click.echo(render(view, fmt), nl=False)


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
    click.echo(render(api.default_show(resolver(aws), now_utc()), "text"), nl=False)


@default.command("set")
@aws_options
@click.argument("ca", metavar="CA")
def default_set(aws: AwsOptions, ca: str) -> None:
    """Make CA the default for new instances (refused where an engine in use does not support it).

    \b
    Example:
      rdsca default set rds-ca-rsa4096-g1 --region eu-west-1
    """
    click.echo(render(api.default_set(resolver(aws), ca, now_utc()), "text"), nl=False)


@default.command("clear")
@aws_options
def default_clear(aws: AwsOptions) -> None:
    """Remove the account override: new instances get AWS's default CA again.

    \b
    Example:
      rdsca default clear --region eu-west-1
    """
    click.echo(render(api.default_set(resolver(aws), None, now_utc()), "text"), nl=False)
