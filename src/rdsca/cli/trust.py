"""`rdsca trust check|scan|catalogue`: will a trust bundle, or a source tree, survive a CA change?"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from rdsca.catalog import Catalog, load_catalog
from rdsca.cli.app import cli
from rdsca.cli.options import (
    catalogue_bundle_option,
    check_regions,
    emit,
    load_catalogue,
    output_options,
    read_password,
)
from rdsca.errors import ConfigError, ExitCode
from rdsca.readiness import trust_report as report
from rdsca.readiness.bundles import BundleError, read_bundle
from rdsca.readiness.scan import ScanLimits, scan_tree
from rdsca.readiness.trust_check import evaluate

DEFAULT_CA = "rds-ca-rsa2048-g1"


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


def _now(at: str | None) -> datetime:
    if not at:
        return datetime.now(UTC)
    try:
        return datetime.fromisoformat(at).replace(tzinfo=UTC)
    except ValueError as exc:
        raise ConfigError(f"--at {at!r}: expected a date like 2025-06-30") from exc


def _regions(cat: Catalog, ca_id: str, given: tuple[str, ...]) -> tuple[str, ...] | None:
    if ca_id not in cat.ca_ids():
        raise ConfigError(f"--for {ca_id!r}: unknown CA; known: {', '.join(cat.ca_ids())}")
    regions = check_regions(given)
    for region in regions:
        if not cat.roots(ca_id, region):
            known = ", ".join(cat.regions(ca_id)) or "none"
            raise ConfigError(
                f"--region {region}: the catalogue knows no {ca_id} root there (known: {known}). "
                "For a newer region add AWS's current bundle with --catalogue-bundle FILE"
            )
    return regions or None


@trust.command("check")
@click.argument("file", type=click.Path(path_type=Path))
@_common
@click.option(
    "--password-env",
    metavar="VAR",
    help="Keystore password from this environment variable (JKS default: changeit).",
)
@click.option(
    "--password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Keystore password from the first line of this file.",
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
    cat = load_catalogue(extra)
    wanted = _regions(cat, ca_id, regions)
    bundle = read_bundle(
        file, password=read_password(password_env, password_file), catalog=cat, max_bytes=max_mb * 1024 * 1024
    )
    result = evaluate(bundle, ca_id, wanted, now=_now(at), catalog=cat)
    quiet = bool(ctx.obj and ctx.obj.get("quiet"))
    text = report.check_json(result) if fmt == "json" else report.check_table(result, list_certs=not quiet)
    emit(text, output)
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
    if not path.is_dir():
        raise ConfigError(f"{path}: not a directory (use `rdsca trust check` for one file)")
    cat = load_catalogue(extra)
    wanted = _regions(cat, ca_id, regions)
    limits = ScanLimits(max_files=max_files, max_bundle_bytes=max_mb * 1024 * 1024)
    result = scan_tree(path, ca_id, wanted, now=_now(at), catalog=cat, limits=limits)
    text = report.scan_json(result) if fmt == "json" else report.scan_table(result, show_all=show_all)
    emit(text, output)
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
    base = load_catalog()
    for path in extra:  # fail early, with the bundle reader's clear messages
        read_bundle(path, catalog=base)
    cat = load_catalogue(extra)
    known = {e.sha256 for e in base.entries}
    added = [e for e in cat.entries if e.sha256 not in known]
    rows = report.catalogue_rows(cat)
    if fmt == "json":
        emit(
            json.dumps(
                {
                    "schema": report.CATALOGUE_SCHEMA,
                    "cas": [
                        dict(
                            zip(
                                ["ca_id", "roots", "regions", "valid_from", "valid_until", "keys"],
                                r,
                                strict=True,
                            )
                        )
                        | {"region_list": list(cat.regions(r[0]))}
                        for r in rows
                    ],
                    "added": [
                        {
                            "ca_id": e.ca_id,
                            "region": e.region,
                            "role": e.role,
                            "subject": e.subject,
                            "sha256": e.sha256,
                        }
                        for e in added
                    ],
                },
                indent=2,
            ),
            output,
        )
        return
    text = report.table(["CA", "roots", "regions", "first valid", "last expiry", "keys"], rows)
    if extra:
        text += f"\n\n{len(added)} certificate(s) new to the catalogue from --bundle"
        text += "".join(f"\n  {e.ca_id:<18} {e.region or 'global':<15} {e.common_name}" for e in added)
    emit(text, output)


__all__ = ["BundleError", "trust"]
