"""`rdsca probe` and `rdsca sessions`: what a database endpoint presents, and who connects with TLS."""

from __future__ import annotations

from pathlib import Path

import click

from rdsca.api.readiness import SESSIONS_TIMEOUT, FleetProbeReport, probe, probe_instances, sessions
from rdsca.catalog import Catalog
from rdsca.cli.app import cli
from rdsca.cli.common import failed_targets_code, now_utc, resolve
from rdsca.cli.options import (
    AwsOptions,
    FiniteFloat,
    Selection,
    aws_options,
    catalogue_options,
    password_options,
    read_password,
    selection_options,
)
from rdsca.cli.output import emit, output_options
from rdsca.errors import ConfigError, ExitCode
from rdsca.readiness.probe import DEFAULT_TIMEOUT, Outcome, ProbeResult, Protocol
from rdsca.redaction import register_secret
from rdsca.report import probe as _renderers  # noqa: F401  (registers the renderers)
from rdsca.report.registry import render


@cli.command("probe")
@click.argument("target", metavar="[HOST:PORT]", required=False)
@click.option(
    "--instances",
    is_flag=True,
    help="Probe the endpoint of every selected instance of the fleet (AWS and selection flags).",
)
@aws_options
@selection_options
@click.option(
    "--protocol",
    "-p",
    type=click.Choice([p.value for p in Protocol]),
    default="postgres",
    show_default=True,
    help="How to ask for TLS: PostgreSQL SSLRequest, MySQL SSL, or TLS at once.",
)
@click.option(
    "--bundle",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Trust bundle (PEM, DER, PKCS#7, JKS/JCEKS, PKCS#12): would a client using it connect?",
)
@password_options(
    "Keystore password of --bundle from this environment variable (JKS default: changeit).",
    "Keystore password of --bundle from the first line of this file.",
)
@click.option("--server-name", metavar="NAME", help="Hostname to send (SNI) and verify. Default: HOST.")
@click.option(
    "--timeout",
    type=FiniteFloat(0.1, 300),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds allowed for each connection.",
)
@catalogue_options
@output_options(["table", "json"])
@click.pass_context
def probe_command(ctx: click.Context, target: str | None, instances: bool, aws: AwsOptions,
                  selection: Selection, protocol: str, bundle: Path | None,
                  password_env: str | None, password_file: Path | None,
                  server_name: str | None, timeout: float, catalog: Catalog, fmt: str,
                  output: Path | None) -> None:  # fmt: skip
    """Fetch the certificate chain a database endpoint presents; no credentials are sent.

    \b
    Exit codes: 0 TLS and (with --bundle) trusted; 3 the bundle would not trust the
    chain, or the server offers no TLS; 1 nothing could be probed; 2 bad input.
    \b
    Examples:
      rdsca probe mydb.abc.eu-west-1.rds.amazonaws.com:5432
      rdsca probe mydb.abc.eu-west-1.rds.amazonaws.com:3306 -p mysql --bundle rds-combined-ca-bundle.pem
      rdsca probe --instances --region eu-west-1 --tag env=prod --bundle global-bundle.pem
    """
    if instances and target:
        raise ConfigError("give HOST:PORT or --instances, not both")
    password = read_password(password_env, password_file)
    register_secret(password)
    if instances:
        fleet = probe_instances(lambda: resolve(aws), bundle=bundle, bundle_password=password,
                                    engines=selection.engines,
                                    tags=selection.tags, id_globs=selection.id_globs, timeout=timeout,
                                    catalog=catalog, now=now_utc)  # fmt: skip
        emit(render(fleet, fmt), output)
        ctx.exit(fleet_exit_code(fleet))
    if not target:
        raise ConfigError("give HOST:PORT, or --instances to probe every instance of the fleet")
    one = probe(target, protocol, bundle=bundle, bundle_password=password, server_name=server_name,
                timeout=timeout, catalog=catalog, now=now_utc)  # fmt: skip
    emit(render(one, fmt), output)
    ctx.exit(probe_exit_code(one.result))


def probe_exit_code(result: ProbeResult) -> int:
    if result.outcome == Outcome.NO_TLS:
        return ExitCode.FINDINGS
    if result.outcome != Outcome.TLS:
        return ExitCode.ERROR
    if result.bundle is not None:
        if result.bundle.trusted is False:
            return ExitCode.FINDINGS
        if result.bundle.trusted is None:
            return ExitCode.ERROR
    return ExitCode.OK


def fleet_exit_code(fleet: FleetProbeReport) -> int:
    failed = failed_targets_code(fleet.fleet)
    if failed is not None:
        return failed
    codes = {probe_exit_code(r) for r in fleet.results}
    if ExitCode.FINDINGS in codes:  # a bundle that would not trust an endpoint, or no TLS
        return ExitCode.FINDINGS
    return ExitCode.ERROR if fleet.results and codes == {ExitCode.ERROR} else ExitCode.OK


@cli.command("sessions")
@click.argument("dsn", metavar="DSN")
@click.option("--password-env", metavar="VAR", help="Read the password from this environment variable.")
@click.option(
    "--password-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Read the password from this file (first line).",
)
@click.option(
    "--timeout",
    type=FiniteFloat(0.1, 300),
    default=SESSIONS_TIMEOUT,
    show_default=True,
    help="Seconds allowed to connect.",
)
@output_options(["table", "json"])
@click.pass_context
def sessions_command(ctx: click.Context, dsn: str, password_env: str | None,
                     password_file: Path | None, timeout: float, fmt: str,
                     output: Path | None) -> None:  # fmt: skip
    """List live sessions of a database and whether each uses TLS.

    \b
    DSN: postgresql://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=...] or
         mysql://USER[:PASSWORD]@HOST[:PORT][/DB][?ssl-mode=...] (also mariadb://).
    The password is never printed; prefer --password-env or --password-file to a DSN password.
    "unknown" means the account cannot see the answer (PostgreSQL: pg_read_all_stats or
    pg_monitor; MySQL/MariaDB: performance_schema on, SELECT on it and PROCESS).
    \b
    Example:
      PGPW=... rdsca sessions postgresql://monitor@db.example.com/postgres --password-env PGPW
    """
    listing = sessions(dsn, password=read_password(password_env, password_file), timeout=timeout)
    emit(render(listing, fmt), output)
    ctx.exit(ExitCode.OK)
