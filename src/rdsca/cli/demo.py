"""`rdsca demo`: the whole story against the built-in sandbox, with a word between the steps."""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import click
from rich.console import Console
from rich.rule import Rule

from rdsca.cli.app import cli, main
from rdsca.cli.common import use_color
from rdsca.cli.options import FiniteFloat
from rdsca.errors import ConfigError
from rdsca.report.words import count
from rdsca.rollout.journal import Journal

TARGET_CA = "rds-ca-rsa2048-g1"


@dataclass(frozen=True)
class Step:
    title: str
    words: str
    args: tuple[str, ...]
    expect: tuple[int, ...] = (0,)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _bundle(out: Path, shipped: str, public_name: str) -> str:
    """Copy one of AWS's bundles that rdsca ships next to the demo's files, under its public name."""
    path = out / public_name
    path.write_bytes((resources.files("rdsca.catalog") / "data" / shipped).read_bytes())
    return str(path)


def story(out: Path, poll: float) -> list[Step]:
    plan = str(out / "plan.json")
    old = _bundle(out, "rds-combined-ca-bundle-2019.pem", "rds-combined-ca-bundle.pem")
    new = _bundle(out, "global-bundle-2025.pem", "global-bundle.pem")
    speed = ("--yes", "--poll-interval", str(poll))
    return [
        Step("1. Audit", "Every DB instance of both accounts and all three regions: its CA, when the CA "
             "and its own server certificate end, what is pending, and a verdict. rds-ca-2019 is retired: "
             "AWS no longer lists it, yet many instances still use it.", ("audit",)),
        Step("2. The CAs per region", "What each region offers, and the default new instances get. "
             "ap-south-1 has no RSA4096 / ECC384 CA, so rdsca never proposes them there.",
             ("cas", "--accounts", "111111111111")),
        Step("3. Will the clients keep connecting?", "An application that still ships the old "
             "rds-combined-ca-bundle.pem trusts only the 2015 and 2019 roots: after the change it "
             "cannot verify the server any more.",
             ("readiness", "--to", TARGET_CA, "--tag", "env=dev", "--bundle", old), (3,)),
        Step("   ... and with AWS's current global bundle", "The same clients with the current bundle "
             "are ready.", ("readiness", "--to", TARGET_CA, "--tag", "env=dev", "--bundle", new)),
        Step("4. Plan", "A reviewed plan in waves: dev, then staging, then prod, then untagged. Read "
             "replicas before their source, Aurora readers before the writer, one cluster member at a "
             "time; instances that cannot move are listed with the reason. Saved with a fingerprint "
             "of what was seen.",
             ("plan", "--to", TARGET_CA, "--wave-tag", "env", "--wave-order", "dev,staging,prod",
              "--max-parallel", "4", "--output", plan)),
        Step("5. Apply dev and staging", "Wave by wave: modify, wait (one batched describe per region "
             "per poll), verify the CA and the renewed server certificate. Every step is journaled "
             "before and after each AWS call, so a crash can be resumed.",
             ("apply", plan, "--wave", "dev", "--wave", "staging", *speed)),
        Step("6. What happened", "The journal of the run.", ("show", "{run}")),
        Step("7. Audit again", "dev and staging are on the new CA now, with new server certificates.",
             ("audit", "--tag", "env=dev")),
        Step("8. Roll back", "Say an application broke on analytics-dev-pg and sessions-dev-mariadb: "
             "return exactly those instances to the CA the run recorded for them, with the same wait "
             "and verify.", ("rollback", "{run}", "--id", "analytics-dev-pg", "--id", "sessions-dev-mariadb",
                             *speed)),
        Step("   ... but never to a retired CA", "Most of the staging wave came from rds-ca-2019, which AWS "
             "has retired: with --all-or-nothing rdsca refuses to send anything.",
             ("rollback", "{run}", "--wave", "staging", "--all-or-nothing", *speed), (2,)),
        Step("   ... or returns what it can", "In an incident, without it: every instance that can go "
             "back does, the ones from the retired CA stay and are named, and the exit code is 4.",
             ("rollback", "{run}", "--wave", "staging", *speed), (4,)),
        Step("9. The report", "One self-contained HTML file to attach to the change ticket.",
             ("report", "--run", "{run}", "--output", str(out / "report.html"))),
    ]  # fmt: skip


@cli.command()
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("rdsca-demo"),
              show_default=True, help="Where the plan, the journal and the report go.")  # fmt: skip
@click.option("--reboot-seconds", type=FiniteFloat(0), default=1.0, show_default=True,
              help="How long the sandbox's instances take to apply a CA change.")  # fmt: skip
def demo(output_dir: Path, reboot_seconds: float) -> None:
    """Walk the whole story against the built-in sandbox: audit, readiness, plan, apply, roll back, report.

    Nothing leaves this machine: the sandbox is a local stand-in for AWS with a seeded fleet.

    \b
    Example:
      rdsca demo --output-dir /tmp/rdsca-demo
    """
    from rdsca.sandbox import process
    from rdsca.sandbox.control import SandboxControl
    from rdsca.sandbox.environment import UNSET, environment

    SandboxServer = process.server_class()

    console = Console(highlight=False, no_color=not use_color(), width=None if use_color() else 110)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--output-dir {output_dir}: {exc.strerror}") from exc
    journal = output_dir / "journal.sqlite"
    journal.unlink(missing_ok=True)
    for name in UNSET:
        os.environ.pop(name, None)
    with SandboxServer(reboot_seconds=reboot_seconds) as sandbox:
        seeded = SandboxControl(sandbox.url).seed_demo()
        console.print(Rule("rdsca demo"))
        console.print(
            f"A sandbox stands in for AWS at {sandbox.url}: {count(seeded['instances'], 'instance')} in "
            f"{count(seeded['accounts'], 'account')} and {count(seeded['regions'], 'region')}.\n"
        )
        env = {**environment(sandbox.url), "RDSCA_JOURNAL": str(journal), "NO_COLOR": "1"}
        with _environment(env):
            run_id = ""
            for step in story(output_dir, poll=min(0.5, max(0.05, reboot_seconds / 4))):
                args = [a.replace("{run}", run_id) for a in step.args]
                console.print(Rule(step.title, align="left"))
                console.print(step.words + "\n")
                console.print("$ rdsca " + " ".join(shlex.quote(a) for a in args), style="bold")
                code = main(args)
                if code not in step.expect:
                    raise click.ClickException(f"demo step {step.title!r} ended with exit code {code}")
                if args[0] == "apply":
                    record = Journal(journal)
                    try:
                        run_id = record.runs()[-1].id
                    finally:
                        record.close()
                console.print()
    console.print(Rule("done"))
    console.print(f"Plan, journal and report are in {output_dir}/ (open report.html in a browser).")
