"""`rdsca runs`, `rdsca show RUN` and `rdsca default show|set|clear`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from rdsca.api import defaults as defaults_api
from rdsca.api import runs as runs_api
from rdsca.aws.region import configured_region
from rdsca.cli.app import cli
from rdsca.cli.common import now_utc
from rdsca.cli.completion import complete_ca_ids, complete_run_ids
from rdsca.cli.options import AwsOptions, aws_options, check_regions
from rdsca.cli.output import emit, output_options
from rdsca.cli.rotate_common import default_journal, journal_option, open_journal, resolver
from rdsca.errors import ConfigError
from rdsca.report import rotation as _rotation_renderers  # noqa: F401  (registers the formats)
from rdsca.report.registry import render

# -- runs / show ----------------------------------------------------------------------------------


@cli.command()
@journal_option
@output_options(["table", "json"])
def runs(journal_path: Path | None, fmt: str, output: Path | None) -> None:
    """List the runs in the journal.

    \b
    Examples:
      rdsca runs --journal ./journal.sqlite
      rdsca runs --format json
    """
    where = (journal_path or default_journal()).expanduser()
    # No journal yet (nothing applied on this machine): an empty list. A damaged one: exit 2.
    journal = open_journal(journal_path) if where.exists() else None
    emit(render(runs_api.runs(journal), fmt), output)


@cli.command()
@aws_options
@click.argument("run_id", metavar="RUN", shell_complete=complete_run_ids)
@journal_option
@click.option("--events", "all_events", is_flag=True, help="Every event of every step.")
@click.option("--no-check", is_flag=True, help="Do not re-read scheduled steps from AWS.")
@output_options(["text", "json"], default="text")
def show(
    aws: AwsOptions,
    run_id: str,
    journal_path: Path | None,
    all_events: bool,
    no_check: bool,
    fmt: str,
    output: Path | None,
) -> None:
    """Tell what a run did: each step, its CA before and after, its events.

    Steps scheduled for the maintenance window are re-read from AWS to see whether it applied them.

    \b
    Example:
      rdsca show 20250101-120000-a1b2c3 --events
    """
    journal = open_journal(journal_path)
    view = runs_api.show(journal, run_id, None if no_check else resolver(aws), now_utc(), all_events)
    emit(render(view, fmt), output)


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
@output_options(["table", "json"])
def default_show(aws: AwsOptions, fmt: str, output: Path | None) -> None:
    """Show the default CA for new instances in each region, and whether it is an override.

    \b
    Examples:
      rdsca default show --region eu-west-1
      rdsca default show --format json -o defaults.json
    """
    emit(render(defaults_api.default_show(resolver(aws), now_utc()), fmt), output)


def one_region(aws: AwsOptions, verb: str) -> AwsOptions:
    """`default set/clear` change one region, as `aws rds modify-certificates` does: --region, else
    the region the AWS CLI would take (AWS_REGION, AWS_DEFAULT_REGION, the profile's region)."""
    if aws.regions:
        return aws
    region = configured_region(aws.profiles[0] if aws.profiles else None)
    if region is None:
        raise ConfigError(f"default {verb}: which region? Pass --region (repeatable), or set AWS_REGION "
                          "or a region in the AWS profile")  # fmt: skip
    return replace(aws, regions=check_regions([region], "AWS_REGION"))


@default.command("set")
@aws_options
@click.argument("ca", metavar="CA", shell_complete=complete_ca_ids)
def default_set(aws: AwsOptions, ca: str) -> None:
    """Make CA the default for new instances (refused where an engine in use does not support it).

    Without --region: the region the AWS CLI would use (AWS_REGION, AWS_DEFAULT_REGION, the
    profile's region), not every region as for the commands that read.

    \b
    Example:
      rdsca default set rds-ca-rsa4096-g1 --region eu-west-1
    """
    changes = defaults_api.default_set(resolver(one_region(aws, "set")), ca, now_utc())
    click.echo(render(changes, "text"), nl=False)


@default.command("clear")
@aws_options
def default_clear(aws: AwsOptions) -> None:
    """Remove the account override: new instances get AWS's default CA again.

    Without --region: the region the AWS CLI would use (AWS_REGION, AWS_DEFAULT_REGION, the
    profile's region), not every region as for the commands that read.

    \b
    Example:
      rdsca default clear --region eu-west-1
    """
    changes = defaults_api.default_set(resolver(one_region(aws, "clear")), None, now_utc())
    click.echo(render(changes, "text"), nl=False)
