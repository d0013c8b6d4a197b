"""`rdsca audit` and `rdsca cas`: adapters around `rdsca.api.audit`."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import click

import rdsca.report.formats  # noqa: F401  (registers the renderers)
from rdsca.api.audit import CaInventory, findings
from rdsca.api.audit import audit as run_audit
from rdsca.api.audit import cas as read_cas
from rdsca.cli.app import cli
from rdsca.cli.audit_progress import audit_progress, progress_option
from rdsca.cli.common import failed_targets_code, query, resolve, use_color
from rdsca.cli.options import AwsOptions, Selection, aws_options, selection_options, warn_days_option
from rdsca.cli.output import emit, output_options
from rdsca.errors import ExitCode
from rdsca.model import Audit
from rdsca.report.registry import RenderOptions, formats, render
from rdsca.report.words import count


class ProcessCount(click.ParamType):
    """A number of worker processes (at least 1), or `auto`."""

    name = "processes"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | None:
        if value is None or isinstance(value, int):
            return value
        if str(value).strip().lower() == "auto":
            return None
        try:
            number = int(str(value))
        except ValueError:
            number = 0
        if number < 1:
            self.fail(f"{value!r} is not a number of processes (1 or more, or auto)", param, ctx)
        return number


def exit_code(audit: Audit, fail_within: int | None) -> ExitCode:
    failed = failed_targets_code(audit.fleet)
    if failed is not None:
        return failed
    if fail_within is not None and findings(audit, fail_within):
        return ExitCode.FINDINGS
    return ExitCode.OK


@cli.command()
@aws_options
@selection_options
@output_options(list(formats(Audit)))
@warn_days_option
@click.option(
    "--fail-within",
    type=click.IntRange(min=0),
    metavar="DAYS",
    help="Exit 3 when an instance has fewer days left, or is expired, or is on a retired or an "
    "unknown CA (an id neither its region nor rdsca knows: it cannot be shown to be safe).",
)
@progress_option
@click.option(
    "--processes",
    type=ProcessCount(),
    default="auto",
    show_default=True,
    metavar="N|auto",
    help="Worker processes for a large estate (auto: one per CPU from 200 account x region "
    "targets up; 1: none).",
)
@click.pass_context
def audit(
    ctx: click.Context,
    aws: AwsOptions,
    selection: Selection,
    fmt: str,
    output: Path | None,
    warn_days: int,
    fail_within: int | None,
    progress: str,
    processes: int | None,
) -> None:
    """Inventory every DB instance: its CA, expiry dates, pending changes and a verdict.

    \b
    Examples:
      rdsca audit
      rdsca audit --region eu-west-1 --tag env=prod --format json -o audit.json
      rdsca audit --accounts 111111111111,222222222222 --role-name rdsca-audit --fail-within 90
    """
    with audit_progress(progress) as hook:  # on stderr, for audits that take minutes
        result = run_audit(
            query(aws),
            warn_days=warn_days,
            engines=selection.engines,
            tags=selection.tags,
            id_globs=selection.id_globs,
            progress=hook,
            processes=processes,
        )
    emit(render(result, fmt, RenderOptions(color=use_color(output))), output)
    if not result.fleet.instances and result.fleet.targets and not result.fleet.failed:
        targets = len(result.fleet.targets)  # every target answered and holds nothing: say so
        click.echo(f"note: 0 instances in the {count(targets, 'account x region target')} read; "
                   "check --accounts/--region (RDSCA_ACCOUNTS, RDSCA_REGIONS)", err=True)  # fmt: skip
    ctx.exit(exit_code(result, fail_within))


@cli.command()
@aws_options
@output_options(list(formats(CaInventory)))
@click.pass_context
def cas(ctx: click.Context, aws: AwsOptions, fmt: str, output: Path | None) -> None:
    """List the CAs of each region: validity, the default for new instances, account override.

    \b
    Example:
      rdsca cas --region us-east-1 --region ap-south-1
    """
    result = read_cas(partial(resolve, aws))
    emit(render(result, fmt, RenderOptions(color=use_color(output))), output)
    ctx.exit(failed_targets_code(result.fleet) or ExitCode.OK)
