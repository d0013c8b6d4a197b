"""`rdsca readiness`: per instance, ready / at risk / unknown for the target CA."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.table import Table
from rich.text import Text

from rdsca.catalog import Catalog
from rdsca.cli.app import cli
from rdsca.cli.common import failed_targets_code, now_utc, read_fleet, use_color
from rdsca.cli.options import (
    AwsOptions,
    FiniteFloat,
    Selection,
    aws_options,
    catalogue_options,
    emit,
    output_options,
    read_password,
    selection_options,
)
from rdsca.errors import ConfigError, ExitCode
from rdsca.files import check_input
from rdsca.model import Fleet
from rdsca.readiness.gather import ReadinessInputs, ReadinessResult, gather
from rdsca.readiness.saved import READINESS_SCHEMA
from rdsca.readiness.trust_check import TRUSTED
from rdsca.readiness.verdict import Readiness
from rdsca.report import audit as audit_report
from rdsca.report.common import iso
from rdsca.report.table import render

STYLE = {"ready": "green", "at-risk": "bold red", "unknown": "yellow"}


def readiness_dict(fleet: Fleet, result: ReadinessResult, target_ca: str) -> dict[str, Any]:
    results = result.instances
    return {
        "schema": READINESS_SCHEMA,
        "generated_at": iso(fleet.collected_at),
        "target_ca": target_ca,
        "targets": audit_report.target_dicts(fleet),
        "summary": dict(sorted(Counter(r.verdict.value for r in results).items())),
        "bundles": [
            {
                "path": b.bundle.source,
                "trusted": b.trusted,
                "regions": {str(r.region): r.status for r in b.regions},
                "warnings": [w.message for w in b.warnings],
            }
            for b in result.bundles
        ],
        "scans": [{"path": s.root, "will_break": s.will_break} for s in result.scans],
        "instances": [
            {
                "account_id": r.instance.account_id,
                "region": r.instance.region,
                "id": r.instance.id,
                "engine": r.instance.engine,
                "ca": r.instance.ca,
                "presented_ca": r.presented_ca,
                "target_ca": r.target_ca,
                "verdict": r.verdict.value,
                "reasons": list(r.reasons),
                "clients": list(r.clients),
                "warnings": list(r.warnings),
            }
            for r in results
        ],
    }


def readiness_table(result: ReadinessResult, color: bool) -> str:
    results = result.instances
    table = Table(title="Client readiness", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("account", "region", "instance", "verdict", "why", "TLS clients", "warnings"):
        table.add_column(col, overflow="fold")
    order = {Readiness.AT_RISK: 0, Readiness.UNKNOWN: 1, Readiness.READY: 2}
    for r in sorted(results, key=lambda r: (order[r.verdict], r.instance.key)):
        table.add_row(
            r.instance.account_id,
            r.instance.region,
            Text(r.instance.id),
            Text(r.verdict.value, style=STYLE[r.verdict.value]),
            Text("\n".join(r.reasons)),
            Text("\n".join(r.clients) or "-"),
            Text("\n".join(r.warnings) or "-"),
        )
    counts = Counter(r.verdict.value for r in results)
    line = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no managed instances"
    notes: list[object] = [table, f"{len(results)} instances: {line}."]
    for b in result.bundles:
        lacking = sorted(str(r.region) for r in b.regions if r.status != TRUSTED)
        where = (
            f"does NOT trust it in {', '.join(lacking)}" if lacking else "trusts it in every region in scope"
        )
        notes.append(f"bundle {b.bundle.source} ({b.ca_id}): {where}")
        notes.extend(Text(f"  warning: {w.message}") for w in b.warnings)
    for s in result.scans:
        notes.append(f"scan of {s.root}: {'something will break' if s.will_break else 'nothing will break'}")
    return render(notes, color)


@cli.command()
@aws_options
@selection_options
@click.option("--to", "target_ca", required=True, metavar="CA", help="The CA you will rotate to.")
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
@click.option("--timeout", type=FiniteFloat(0.1, 120), default=5.0, show_default=True,
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
    known = catalog.ca_ids()
    if target_ca not in known:
        raise ConfigError(f"--to {target_ca}: not a known RDS CA (known: {', '.join(known)})")
    for path in bundles:
        check_input(path, what="--bundle")
    for path in scans:
        if not path.is_dir():
            raise ConfigError(f"--scan {path}: no such directory")
    if sessions_dsn:
        try:
            sessions_dsn.format(endpoint="h", port=1, id="i", region="r")
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(
                f"--sessions-dsn: unknown placeholder {exc}; use {{endpoint}} {{port}} {{id}} {{region}}"
            ) from exc
    inputs = ReadinessInputs(
        target_ca=target_ca,
        bundles=bundles,
        bundle_password=read_password(bundle_password_env, None, env_flag="--bundle-password-env"),
        scans=scans,
        dsn_template=sessions_dsn,
        db_password=read_password(password_env, password_file),
        probe=probe,
        timeout=timeout,
        catalog=catalog,
    )
    fleet = read_fleet(aws, selection)
    result = gather(fleet, inputs, now_utc())
    if fmt == "json":
        emit(json.dumps(readiness_dict(fleet, result, target_ca), indent=2) + "\n", output)
    else:
        text = readiness_table(result, use_color(output))
        for t in fleet.failed:
            text += f"FAILED {t.target.account_id} {t.target.region}: {t.error}\n"
        emit(text, output)
    failed = failed_targets_code(fleet)
    if failed is not None:
        ctx.exit(failed)
    at_risk = any(r.verdict is Readiness.AT_RISK for r in result.instances)
    ctx.exit(ExitCode.FINDINGS if at_risk else ExitCode.OK)
