"""Glue the commands share: read the fleet from the AWS flags, decide on colour."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import click

from rdsca.aws.session import AwsSettings, ResolvedTarget, TargetQuery
from rdsca.cli.options import AwsOptions
from rdsca.errors import ExitCode
from rdsca.model import Fleet


def now_utc() -> datetime:
    return datetime.now(UTC)


def resolve(
    aws: AwsOptions, regions: Sequence[str] = (), write_timeout: float | None = None
) -> list[ResolvedTarget]:
    """The account x region targets the user's AWS flags name (`regions` when the flags name none)."""
    return query(aws, regions, write_timeout)()


def query(aws: AwsOptions, regions: Sequence[str] = (), write_timeout: float | None = None) -> TargetQuery:
    """The user's AWS flags as a query that resolves them when called (and can stream them)."""
    settings = AwsSettings(endpoint_url=aws.endpoint_url, read_timeout=aws.read_timeout)
    if write_timeout is not None:
        settings = replace(settings, write_read_timeout=write_timeout)
    return TargetQuery(
        profiles=tuple(aws.profiles),
        regions=tuple(aws.regions or regions),
        accounts=tuple(aws.accounts),
        role_name=aws.role_name,
        org=aws.org,
        settings=settings,
    )


def failed_targets_code(fleet: Fleet) -> ExitCode | None:
    """The exit code the failed targets call for: ERROR when every target failed (nothing was
    read, said in one `error:` line), PARTIAL when some did, None when none did."""
    if not fleet.failed:
        return None
    if len(fleet.failed) < len(fleet.targets):
        return ExitCode.PARTIAL
    first = fleet.failed[0]
    click.echo(
        f"error: every target failed ({len(fleet.failed)}), nothing was read; "
        f"{first.target.key}: {first.error}",
        err=True,
    )
    return ExitCode.ERROR


def use_color(output: Path | None = None) -> bool:
    if output is not None or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()
