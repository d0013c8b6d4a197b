"""`rdsca trust check|scan|catalogue`: will a trust bundle, or a source tree, survive a CA change?"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from rdsca.api.readiness import DEFAULT_CA, trust_catalogue, trust_check, trust_scan
from rdsca.cli.app import cli
from rdsca.cli.common import now_utc
from rdsca.cli.options import (
    catalogue_bundle_option,
    check_regions,
    load_catalogue,
    password_options,
    read_password,
)
from rdsca.cli.output import emit, output_options
from rdsca.errors import ConfigError, ExitCode
from rdsca.readiness.bundles import BundleError
from rdsca.readiness.scan import ScanLimits
from rdsca.redaction import register_secret
from rdsca.report import trust as _renderers  # noqa: F401  (registers the renderers)
from rdsca.report.registry import render


@cli.group()
def trust() -> None:
    """Check trust bundles and source trees against an RDS CA.

    \b
    Examples:
      rdsca trust check global-bundle.pem --for rds-ca-rsa2048-g1 --region eu-west-1
      rdsca trust scan ./my-service --for rds-ca-rsa2048-g1
    """


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed(
        [
            click.option(
                "--for",
                "ca_id",
                default=DEFAULT_CA,
                show_default=True,
                metavar="CA",
                help="The CA the servers will use: rds-ca-rsa2048-g1, rds-ca-rsa4096-g1, "
                "rds-ca-ecc384-g1, rds-ca-2019...",
            ),
            click.option(
                "--region",
                "regions",
                multiple=True,
                metavar="REGION",
                help="Region (repeatable or comma-separated). Default: every region the "
                "catalogue knows for the CA.",
            ),
            catalogue_bundle_option("extra"),
            click.option(
                "--max-size",
                "max_mb",
                type=click.IntRange(1, 1024),
                default=10,
                show_default=True,
                metavar="MB",
                help="Refuse bundle files larger than this.",
            ),
            click.option(
                "--at", "at", metavar="DATE", help="Judge expiry as of this date (YYYY-MM-DD) instead of now."
            ),
        ]
    ):
        func = opt(func)
    return func


def _now(at: str | None) -> Callable[[], datetime]:
    """The clock of --at DATE: that day, or now."""
    if not at:
        return now_utc
    try:
        day = datetime.fromisoformat(at).replace(tzinfo=UTC)
    except ValueError as exc:
        raise ConfigError(f"--at {at!r}: expected a date like 2025-06-30") from exc
    return lambda: day


@trust.command("check")
@click.argument("file", type=click.Path(path_type=Path))
@_common
@password_options(
    "Keystore password from this environment variable (JKS default: changeit).",
    "Keystore password from the first line of this file.",
)
@output_options(["table", "json"])
@click.pass_context
def check(
    ctx: click.Context,
    file: Path,
    ca_id: str,
    regions: tuple[str, ...],
    extra: tuple[Path, ...],
    max_mb: int,
    at: str | None,
    password_env: str | None,
    password_file: Path | None,
    fmt: str,
    output: Path | None,
) -> None:
    """Does a client verifying against FILE trust servers of an RDS CA?

    FILE is PEM, DER, PKCS#7 (.p7b), a Java keystore (JKS/JCEKS) or PKCS#12. Exit 0 when the
    bundle trusts the CA in every region checked, 3 when not, 2 for a file that is not a bundle.

    \b
    Example:
      rdsca trust check global-bundle.pem --for rds-ca-ecc384-g1 --region us-east-1
    """
    password = read_password(password_env, password_file)
    result = trust_check(
        file,
        ca_id,
        check_regions(regions),
        password=password,
        max_bytes=max_mb * 1024 * 1024,
        catalog=load_catalogue(extra),
        now=_now(at),
    )
    quiet = bool(ctx.obj and ctx.obj.get("quiet"))
    emit(render(replace(result, list_certificates=not quiet), fmt), output)
    if not result.trusted:
        ctx.exit(ExitCode.FINDINGS)


@trust.command("scan")
@click.argument("path", type=click.Path(path_type=Path))
@_common
@click.option(
    "--max-files",
    type=click.IntRange(1),
    default=ScanLimits.max_files,
    show_default=True,
    help="Stop after this many files.",
)
@click.option("--all", "show_all", is_flag=True, help="Also list certificate files that hold no RDS CA.")
@password_options(
    "Keystore password to try on keystores the tree gives no password for (never shown).",
    "The same password, from the first line of this file.",
)
@output_options(["table", "json"])
@click.pass_context
def scan(
    ctx: click.Context,
    path: Path,
    ca_id: str,
    regions: tuple[str, ...],
    extra: tuple[Path, ...],
    max_mb: int,
    at: str | None,
    max_files: int,
    show_all: bool,
    password_env: str | None,
    password_file: Path | None,
    fmt: str,
    output: Path | None,
) -> None:
    """Find trust bundles and database TLS settings under PATH; say which will break.

    PATH is a source tree or an unpacked container image. Verdicts: will-break, ok,
    no-verification (accepts any certificate), plaintext-fallback (prefer/preferred), no-tls,
    unknown (the CA file is not in the tree). Exit 3 if anything will break.

    \b
    Example:
      rdsca trust scan ./services --for rds-ca-rsa2048-g1 --format json -o scan.json
    """
    limits = ScanLimits(max_files=max_files, max_bundle_bytes=max_mb * 1024 * 1024)
    password = read_password(password_env, password_file)
    register_secret(password)
    result = trust_scan(
        path,
        ca_id,
        check_regions(regions),
        limits=limits,
        password=password,
        catalog=load_catalogue(extra),
        now=_now(at),
    )
    emit(render(replace(result, show_all=show_all), fmt), output)
    if result.will_break:
        ctx.exit(ExitCode.FINDINGS)


@trust.command("catalogue")
@click.option(
    "--bundle",
    "extra",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A newer AWS bundle (PEM): show what it adds to the catalogue.",
)
@output_options(["table", "json"])
def catalogue(extra: tuple[Path, ...], fmt: str, output: Path | None) -> None:
    """List the RDS CAs rdsca knows (built from AWS's bundles): regions and validity.

    \b
    Example:
      rdsca trust catalogue --bundle ~/Downloads/global-bundle.pem
    """
    emit(render(trust_catalogue(extra), fmt), output)


__all__ = ["BundleError", "trust"]
