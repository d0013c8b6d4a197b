"""`rdsca iac scan`: which infrastructure-as-code pins would undo a rotation (an adapter)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from rdsca.api.iac import patch as iac_patch
from rdsca.api.iac import scan as iac_scan
from rdsca.cli.app import cli
from rdsca.cli.common import now_utc
from rdsca.cli.completion import complete_ca_ids
from rdsca.cli.output import emit, output_options, writable_file, write_atomic
from rdsca.errors import ConfigError, ExitCode
from rdsca.report import iac as _renderers  # noqa: F401  (registers the renderers)
from rdsca.report.registry import render


@cli.group()
def iac() -> None:
    """Find infrastructure as code that would set an old CA back after a rotation.

    \b
    Example:
      rdsca iac scan ./infra --to rds-ca-rsa2048-g1 --state prod.tfstate --patch iac.diff
    """


def _at(at: str | None) -> datetime:
    if not at:
        return now_utc()
    try:
        return datetime.fromisoformat(at).replace(tzinfo=UTC)
    except ValueError as exc:
        raise ConfigError(f"--at {at!r}: expected a date like 2024-06-30") from exc


@iac.command("scan")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--to", "target_ca", required=True, metavar="CA", shell_complete=complete_ca_ids,
              help="The CA the rotation moves to.")  # fmt: skip
@click.option("--state", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="terraform.tfstate or `terraform show -json` output: names the instance of each "
              "Terraform address.")  # fmt: skip
@click.option("--patch", "patch_file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              callback=writable_file,
              help="Write a unified diff moving each pin that would revert or fail to the target CA "
              "(apply with `patch -p1` in PATH).")  # fmt: skip
@click.option("--at", metavar="DATE", help="Judge retired CAs as of this date (YYYY-MM-DD) instead of now.")
@output_options(["table", "json", "markdown"])
@click.pass_context
def scan(
    ctx: click.Context,
    path: Path,
    target_ca: str,
    state: Path | None,
    patch_file: Path | None,
    at: str | None,
    fmt: str,
    output: Path | None,
) -> None:
    """Find every CA pin under PATH and say what the next apply does after the rotation.

    Terraform (resources, variables, tfvars, locals, local modules, public modules whose default
    pinned rds-ca-2019), CloudFormation, CDK and Pulumi (TypeScript, Python), Crossplane and ACK.
    Verdicts: revert (the next apply sets the old CA back), fail (the old CA is retired: the apply
    fails with CertificateNotFound), none, unknown (set outside the tree). Exit 3 when any pin
    would revert or fail, 2 for bad input.

    \b
    Examples:
      rdsca iac scan ./infra --to rds-ca-rsa2048-g1
      rdsca iac scan ./infra --to rds-ca-rsa2048-g1 --state state.json --format json -o iac.json
      rdsca iac scan ./infra --to rds-ca-rsa2048-g1 --patch iac.diff && (cd infra && patch -p1 < ../iac.diff)
    """
    result = iac_scan(path, target_ca, _at(at), state=state)
    emit(render(result, fmt), output)
    if patch_file is not None:
        write_atomic(patch_file, iac_patch(result))
    if result.at_risk:
        ctx.exit(ExitCode.FINDINGS)
