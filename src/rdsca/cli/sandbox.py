"""`rdsca sandbox`: a local stand-in for AWS with a seeded demo fleet."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime

import click

from rdsca.cli.app import cli
from rdsca.cli.options import FiniteFloat
from rdsca.report.words import count
from rdsca.sandbox import demo, process
from rdsca.sandbox.control import SandboxControl
from rdsca.sandbox.environment import export_lines

NOT_RUNNING = 'no sandbox is running; start one with: eval "$(rdsca sandbox start)"'

url_option = click.option(
    "--url",
    envvar="RDSCA_SANDBOX_URL",
    metavar="URL",
    help="The sandbox to talk to. Default: the one `rdsca sandbox start` recorded. Env: RDSCA_SANDBOX_URL.",
)
reboot_option = click.option(
    "--reboot-seconds",
    type=FiniteFloat(min=0),
    default=3.0,
    show_default=True,
    help="How long an applied CA change takes (modifying, then rebooting where the engine restarts).",
)
port_option = click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="Port on 127.0.0.1 (default: a free one)."
)
empty_option = click.option("--empty", is_flag=True, help="Do not seed the demo fleet.")
profile_option = click.option(
    "--profile",
    type=click.Choice(["fast", "realistic"]),
    default=None,
    help="Timing profile: fast (seconds, the default) or realistic (minutes, as AWS takes); "
    "--reboot-seconds, when given, overrides its reboot time.",
)


def _reboot_given(reboot_seconds: float, profile: str | None) -> float | None:
    """With a profile, only a --reboot-seconds the user typed overrides the profile's."""
    source = click.get_current_context().get_parameter_source("reboot_seconds")
    if profile is not None and source is not click.core.ParameterSource.COMMANDLINE:
        return None
    return reboot_seconds


def _url(url: str | None) -> str:
    if url:
        return url
    proc = process.running()
    if proc is None or not proc.url:
        raise process.SandboxError(NOT_RUNNING)
    return proc.url


def _control(url: str | None) -> SandboxControl:
    control = SandboxControl(_url(url))
    if not control.health():
        raise process.SandboxError(f"the sandbox at {control.url} does not answer")
    return control


def _fleet_line(seeded: dict[str, object]) -> str:
    return (
        f"demo fleet: {count(int(str(seeded['instances'])), 'instance')} in "
        f"{count(demo.ACCOUNTS, 'account')} "
        f"x {count(demo.REGIONS, 'region')} (role {demo.ROLE_NAME})"
    )


@cli.group()
def sandbox() -> None:
    """A local stand-in for AWS RDS (moto plus rdsca's certificate extension).

    \b
    Example (every command, without an AWS account):
      eval "$(rdsca sandbox start)"
      rdsca audit
      rdsca sandbox stop
    """


@sandbox.command()
@port_option
@reboot_option
@profile_option
@empty_option
def start(port: int, reboot_seconds: float, profile: str | None, empty: bool) -> None:
    """Start a sandbox in the background; print the shell lines that point rdsca at it.

    The export lines go to standard output (for eval), everything else to standard error.

    \b
    Example:
      eval "$(rdsca sandbox start --reboot-seconds 1)"
    """
    proc = process.running()
    if proc is not None and not proc.url:
        raise process.SandboxError(f"a sandbox is starting (pid {proc.pid}); try again in a moment")
    if proc is not None:
        click.echo(f"sandbox already running at {proc.url} (pid {proc.pid})", err=True)
    else:
        proc = process.start(
            port=port, reboot_seconds=_reboot_given(reboot_seconds, profile), profile=profile
        )
        click.echo(f"sandbox running at {proc.url} (pid {proc.pid}, log {proc.log})", err=True)
        if not empty:
            click.echo(_fleet_line(SandboxControl(proc.url).seed_demo()), err=True)
    click.echo("\n".join(export_lines(proc.url)))


@sandbox.command()
@url_option
def env(url: str | None) -> None:
    """Print the shell lines that point rdsca (and boto3, and the AWS CLI) at the sandbox.

    \b
    Example (in another shell):
      eval "$(rdsca sandbox env)"
    """
    click.echo("\n".join(export_lines(_url(url))))


@sandbox.command()
def stop() -> None:
    """Stop the sandbox `rdsca sandbox start` started.

    \b
    Example:
      rdsca sandbox stop
    """
    proc = process.running()
    if proc is None:
        process.forget()
        click.echo("no sandbox is running", err=True)
        return
    process.stop(proc)
    click.echo(f"sandbox at {proc.url} (pid {proc.pid}) stopped", err=True)


@sandbox.command()
@port_option
@reboot_option
@profile_option
@empty_option
def serve(port: int, reboot_seconds: float, profile: str | None, empty: bool) -> None:
    """Run a sandbox in the foreground until Ctrl-C.

    \b
    Example:
      rdsca sandbox serve --port 5000 --reboot-seconds 0.5
    """
    SandboxServer = process.server_class()

    reboot = _reboot_given(reboot_seconds, profile)
    server = SandboxServer(port=port, reboot_seconds=reboot, profile=profile).start()
    try:
        started = datetime.now(UTC).isoformat(timespec="seconds")
        process.record(process.SandboxProcess(os.getpid(), server.url, "-", started))
        if not empty:
            click.echo(_fleet_line(SandboxControl(server.url).seed_demo()), err=True)
        click.echo("\n".join(export_lines(server.url)))
        click.echo(f"sandbox serving at {server.url}; Ctrl-C to stop", err=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        click.echo("sandbox stopped", err=True)  # Ctrl-C is how serve ends: not an error
    finally:
        server.stop()
        process.forget()


@sandbox.command()
@url_option
@click.option("--account", metavar="ID", help="Only this account.")
@click.option("--region", metavar="REGION", help="Only this region.")
@click.option(
    "--transition", is_flag=True, help="Go through modifying/rebooting instead of applying at once."
)
def window(url: str | None, account: str | None, region: str | None, transition: bool) -> None:
    """Run the maintenance window now: apply pending CA changes and opted-in certificate actions.

    \b
    Example:
      rdsca sandbox window --account 111111111111 --region us-east-1
    """
    applied = _control(url).maintenance_window(account, region, transition)
    for item in applied:
        click.echo(f"{item['account']} {item['region']} {item['id']}: {item['applied']} ({item['status']})")
    click.echo(f"{count(applied, 'change')} applied", err=True)


@sandbox.command()
@url_option
def status(url: str | None) -> None:
    """Say whether a sandbox runs, where, and what it holds.

    \b
    Example:
      rdsca sandbox status
    """
    control = _control(url)
    proc = process.running()
    pid = f" (pid {proc.pid})" if proc is not None and proc.url == control.url else ""
    listing = control.instances()
    statuses: dict[str, int] = {}
    for item in listing:
        statuses[item["status"]] = statuses.get(item["status"], 0) + 1
    targets = {(i["account"], i["region"]) for i in listing}
    config = control.config()
    click.echo(f"sandbox at {control.url}{pid}")
    summary = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) or "none"
    click.echo(f"instances: {len(listing)} in {len(targets)} account x region ({summary})")
    click.echo(f"reboot: {config['reboot_seconds']} s; API calls served: {control.call_count()}")
    endpoints = control.endpoints()
    if endpoints:
        pki = control.pki()["files"]
        click.echo(f"TLS endpoints: {len(endpoints)} on localhost (probe them: rdsca probe --instances)")
        click.echo(f"bundles: old {pki['old-bundle.pem']}, new {pki['new-bundle.pem']}")


@sandbox.command()
@url_option
@click.option("--demo", "fleet", flag_value="demo", default=True, help="The demo fleet (default).")
@click.option("--synthetic", "fleet", flag_value="synthetic", help="A large generated fleet.")
@click.option(
    "--accounts", type=click.IntRange(min=1), default=4, show_default=True, help="Synthetic: accounts."
)
@click.option(
    "--regions",
    default="us-east-1,eu-west-1,ap-south-1,us-west-2",
    show_default=True,
    help="Synthetic: regions.",
)
@click.option("--per-region", type=click.IntRange(min=1), default=125, show_default=True, help="Synthetic.")
@click.option("--retired-fraction", type=FiniteFloat(0, 1), default=0.3, show_default=True)
@click.option("--reset", "reset_first", is_flag=True, help="Empty the sandbox first.")
def seed(
    url: str | None,
    fleet: str,
    accounts: int,
    regions: str,
    per_region: int,
    retired_fraction: float,
    reset_first: bool,
) -> None:
    """Add a fleet to a running sandbox (the demo one, or accounts x regions x N instances).

    Prints, like `start`, the shell lines that point rdsca at the accounts and regions the sandbox
    now holds (for eval); the summary goes to standard error.

    \b
    Example (2,000 instances, 4 accounts x 4 regions):
      eval "$(rdsca sandbox seed --reset --synthetic --accounts 4 --per-region 125)"
    """
    control = _control(url)
    if reset_first:
        control.reset()
    if fleet == "demo":
        seeded = control.seed_demo()
    else:
        region_list = [r.strip() for r in regions.split(",") if r.strip()]
        seeded = control.seed_synthetic(accounts, region_list, per_region, retired_fraction)
    click.echo(
        f"seeded {count(seeded['instances'], 'instance')} in {count(seeded['accounts'], 'account')} "
        f"x {count(seeded['regions'], 'region')} in {seeded['seconds']} s",
        err=True,
    )
    click.echo(f"accounts: {','.join(seeded['accounts'])}; regions: {','.join(seeded['regions'])}", err=True)
    # The shell lines that point rdsca at what the sandbox now holds (for eval), as `start` prints:
    # without them a synthetic fleet's accounts are not the exported ones and audit reads nothing.
    click.echo("\n".join(export_lines(control.url)))
