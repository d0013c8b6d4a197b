"""`rdsca notices`: an adapter around `rdsca.api.notices`."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import click

from rdsca.api.notices import NoticesResult
from rdsca.api.notices import notices as read_notices
from rdsca.cli.app import cli
from rdsca.cli.common import failed_targets_code, resolve, use_color
from rdsca.cli.options import AwsOptions, Selection, aws_options, selection_options
from rdsca.cli.output import emit, output_options
from rdsca.errors import ExitCode
from rdsca.report.registry import RenderOptions, formats, render

FORMATS = ("table", "json", "markdown")


def exit_code(result: NoticesResult) -> ExitCode:
    """PARTIAL when an account's notices (or an account x region of the fleet) could not be read."""
    failed = failed_targets_code(result.audit.fleet)
    if failed is not None:
        return failed
    return ExitCode.PARTIAL if result.unread else ExitCode.OK


@cli.command()
@aws_options
@selection_options
@output_options(list(formats(NoticesResult)) or list(FORMATS))
@click.option(
    "--no-organization-view",
    is_flag=True,
    help="Ask each account's AWS Health, even where the caller has the organizational view.",
)
@click.pass_context
def notices(
    ctx: click.Context,
    aws: AwsOptions,
    selection: Selection,
    fmt: str,
    output: Path | None,
    no_organization_view: bool,
) -> None:
    """AWS Health's scheduled changes for RDS, linked to the audited instances and to a plan.

    Reads AWS Health (organizational view where the caller has it, else each account) and the
    fleet; an account without Health API access (SubscriptionRequiredException, Basic or Developer
    support) is named on stderr and the others are still reported (exit 4).

    \b
    Examples:
      rdsca notices
      rdsca notices --accounts 111111111111,222222222222 --role-name rdsca-audit --format json
    """
    result = read_notices(
        partial(resolve, aws),
        organization=not no_organization_view,
        engines=selection.engines,
        tags=selection.tags,
        id_globs=selection.id_globs,
    )
    emit(render(result, fmt, RenderOptions(color=use_color(output))), output)
    for account in result.unread:
        click.echo(f"notices: account {account.account_id}: {account.error}", err=True)
    ctx.exit(exit_code(result))
