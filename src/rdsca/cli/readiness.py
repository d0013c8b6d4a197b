"""`rdsca readiness`: per instance, ready / at risk / unknown for the target CA."""

from __future__ import annotations

from pathlib import Path

import click

from rdsca.api.readiness import READINESS_TIMEOUT
from rdsca.api.readiness import readiness as judge_readiness
from rdsca.catalog import Catalog
from rdsca.cli.app import cli
from rdsca.cli.common import failed_targets_code, now_utc, resolve, use_color
from rdsca.cli.completion import complete_ca_ids
from rdsca.cli.options import (
    AwsOptions,
    FiniteFloat,
    Selection,
    aws_options,
    catalogue_options,
    read_password,
    selection_options,
)
from rdsca.cli.output import emit, output_options
from rdsca.errors import ExitCode
from rdsca.report import readiness as _renderers  # noqa: F401  (registers the renderers)
from rdsca.report.registry import RenderOptions, render


@cli.command()
@aws_options
@selection_options
@click.option("--to", "target_ca", required=True, metavar="CA", shell_complete=complete_ca_ids,
              help="The CA you will rotate to.")  # fmt: skip
@click.option("--bundle", "bundles", multiple=True, type=click.Path(path_type=Path, dir_okay=False),
              help="A trust bundle your clients use (PEM, DER, P7B, JKS, PKCS#12); repeatable.")  # fmt: skip
@click.option("--bundle-password-env", metavar="VAR", help="Keystore password from this variable.")
@click.option("--scan", "scans", multiple=True, type=click.Path(path_type=Path, file_okay=False),
              help="A source tree or unpacked image of the clients to scan; repeatable.")  # fmt: skip
@click.option("--sessions-dsn", metavar="TEMPLATE",
              help="DSN to list live sessions, with {endpoint} {port} {id} {region} filled per instance, "
              "e.g. postgresql://monitor@{endpoint}:{port}/postgres")  # fmt: skip
@click.option(
    "--password-env", metavar="VAR", help="Database password for --sessions-dsn from this variable."
)
@click.option("--password-file", type=click.Path(path_type=Path, dir_okay=False),
              help="Database password for --sessions-dsn from this file.")  # fmt: skip
@click.option("--probe/--no-probe", default=True, show_default=True, help="Probe each endpoint's TLS chain.")
@click.option("--timeout", type=FiniteFloat(0.1, 120), default=READINESS_TIMEOUT, show_default=True,
              help="Seconds per probe or session listing.")  # fmt: skip
@catalogue_options
@output_options(["table", "json"])
@click.pass_context
def readiness(
    ctx: click.Context,
    aws: AwsOptions,
    selection: Selection,
    target_ca: str,
    bundles: tuple[Path, ...],
    bundle_password_env: str | None,
    scans: tuple[Path, ...],
    sessions_dsn: str | None,
    password_env: str | None,
    password_file: Path | None,
    probe: bool,
    timeout: float,
    catalog: Catalog,
    fmt: str,
    output: Path | None,
) -> None:
    """Per instance: will its clients keep connecting after the change to --to CA?

    Combines the TLS probe of each endpoint, the live sessions (--sessions-dsn), the trust bundles
    your clients use (--bundle) and the settings found in their source (--scan) into a verdict:
    ready, at-risk (which bundles, settings and clients, and why) or unknown (what is missing).
    Exit 3 when any instance is at risk.

    \b
    Examples:
      rdsca readiness --to rds-ca-rsa2048-g1 --bundle certs/rds-combined-ca-bundle.pem
      rdsca readiness --to rds-ca-rsa2048-g1 --scan ./services --tag env=prod \\
          --sessions-dsn 'postgresql://monitor@{endpoint}:{port}/postgres' --password-env PGPW
    """
    report = judge_readiness(
        lambda: resolve(aws),
        target_ca,
        bundles=bundles,
        bundle_password=read_password(bundle_password_env, None, env_flag="--bundle-password-env"),
        scans=scans,
        sessions_dsn=sessions_dsn,
        db_password=read_password(password_env, password_file),
        probe=probe,
        timeout=timeout,
        engines=selection.engines,
        tags=selection.tags,
        id_globs=selection.id_globs,
        catalog=catalog,
        now=now_utc,
    )
    emit(render(report, fmt, RenderOptions(color=use_color(output))), output)
    failed = failed_targets_code(report.fleet)
    if failed is not None:
        ctx.exit(failed)
    ctx.exit(ExitCode.FINDINGS if report.at_risk else ExitCode.OK)
