"""`rdsca audit` and `rdsca cas`."""

from __future__ import annotations

from pathlib import Path

import click

from rdsca.assess import Policy, evaluate
from rdsca.cli.app import cli
from rdsca.cli.common import failed_targets_code, read_fleet, use_color
from rdsca.cli.options import (
    AwsOptions,
    Selection,
    aws_options,
    emit,
    output_options,
    selection_options,
    warn_days_option,
)
from rdsca.errors import ExitCode
from rdsca.model import Audit, State
from rdsca.report import audit as audit_report
from rdsca.report.formats import AUDIT_FORMATS, RenderOptions
from rdsca.report.table import cas_table


def exit_code(audit: Audit, fail_within: int | None) -> ExitCode:
    failed = failed_targets_code(audit.fleet)
    if failed is not None:
        return failed
    if fail_within is not None:
        for v in audit.verdicts:
            if v.state in (State.EXPIRED, State.RETIRED_CA):
                return ExitCode.FINDINGS
            if v.days_left is not None and v.state is not State.UNMANAGED and v.days_left < fail_within:
                return ExitCode.FINDINGS
    return ExitCode.OK


@cli.command()
@aws_options
@selection_options
@output_options(list(AUDIT_FORMATS))
@warn_days_option
@click.option(
    "--fail-within",
    type=click.IntRange(min=0),
    metavar="DAYS",
    help="Exit 3 when an instance has fewer days left, or is expired or on a retired CA.",
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
) -> None:
    """Inventory every DB instance: its CA, expiry dates, pending changes and a verdict.

    \b
    Examples:
      rdsca audit
      rdsca audit --region eu-west-1 --tag env=prod --format json -o audit.json
      rdsca audit --accounts 111111111111,222222222222 --role-name rdsca-audit --fail-within 90
    """
    fleet = read_fleet(aws, selection)
    result = evaluate(fleet, fleet.collected_at, Policy(warn_days=warn_days))
    text = AUDIT_FORMATS[fmt](result, RenderOptions(color=use_color(output)))
    emit(text, output)
    ctx.exit(exit_code(result, fail_within))


@cli.command()
@aws_options
@output_options(["table", "json"])
@click.pass_context
def cas(ctx: click.Context, aws: AwsOptions, fmt: str, output: Path | None) -> None:
    """List the CAs of each region: validity, the default for new instances, account override.

    \b
    Example:
      rdsca cas --region us-east-1 --region ap-south-1
    """
    fleet = read_fleet(aws)
    if fmt == "json":
        import json

        doc = {
            "schema": audit_report.CAS_SCHEMA,
            "targets": audit_report.target_dicts(fleet),
            "regions": [audit_report.region_dict(r) for r in fleet.regions],
        }
        emit(json.dumps(doc, indent=2) + "\n", output)
    else:
        text = cas_table(fleet.regions, use_color(output))
        for t in fleet.failed:
            text += f"FAILED {t.target.account_id} {t.target.region}: {t.error}\n"
        emit(text, output)
    ctx.exit(failed_targets_code(fleet) or ExitCode.OK)
