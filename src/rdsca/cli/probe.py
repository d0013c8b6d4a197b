"""`rdsca probe` and `rdsca sessions`: what a database endpoint presents, and who connects with TLS."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs7
from rich import box
from rich.table import Table
from rich.text import Text

from rdsca import schemas
from rdsca.catalog import Catalog
from rdsca.cli import logs
from rdsca.cli.app import cli
from rdsca.cli.common import failed_targets_code, read_fleet
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
from rdsca.files import BUNDLE_LIMIT, read_input
from rdsca.readiness.gather import endpoints_of
from rdsca.readiness.probe import DEFAULT_TIMEOUT, Endpoint, Outcome, ProbeResult, Protocol, probe, probe_many
from rdsca.readiness.probe_chain import TrustBundle
from rdsca.readiness.sessions import SessionListing, Visibility, list_sessions, parse_dsn
from rdsca.report.audit import target_dicts
from rdsca.report.common import iso
from rdsca.report.table import render

PROBE_SCHEMA = schemas.PROBE
SESSIONS_SCHEMA = schemas.SESSIONS
_DEFAULT_PORTS = {Protocol.POSTGRES: 5432, Protocol.MYSQL: 3306}
_HOSTPORT = re.compile(r"^(?:\[(?P<v6>[0-9a-fA-F:.]+)\]|(?P<host>[A-Za-z0-9_.-]+))(?::(?P<port>\d+))?$")


def parse_target(text: str, protocol: Protocol) -> tuple[str, int]:
    m = _HOSTPORT.match(text.strip())
    port_text = m.group("port") if m else None
    if not m or (port_text is None and protocol not in _DEFAULT_PORTS):
        raise ConfigError(f"{text!r}: expected HOST:PORT, for example db.example.com:5432")
    port = int(port_text) if port_text else _DEFAULT_PORTS[protocol]
    if not 0 < port < 65536:
        raise ConfigError(f"{text!r}: port {port} is out of range 1-65535")
    return m.group("v6") or m.group("host"), port


def load_trust_bundle(path: Path) -> TrustBundle:
    """PEM, DER or PKCS#7 certificates from a file; bad input is a ConfigError (exit 2)."""
    data = read_input(path, what="--bundle", limit=BUNDLE_LIMIT)
    loaders = (
        x509.load_pem_x509_certificates,
        pkcs7.load_pem_pkcs7_certificates,
        lambda d: [x509.load_der_x509_certificate(d)],
        pkcs7.load_der_pkcs7_certificates,
    )
    for load in loaders:
        try:
            certs = load(data)
        except ValueError:
            continue
        if certs:
            return TrustBundle(str(path), tuple(certs))
    raise ConfigError(
        f"--bundle {path}: no certificate found (PEM, DER or PKCS#7 expected; "
        "for a Java keystore use `rdsca trust check`)"
    )


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
    help="Trust bundle (PEM, DER, PKCS#7): would a client using it connect?",
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
    if instances:
        if target:
            raise ConfigError("give HOST:PORT or --instances, not both")
        trust = load_trust_bundle(bundle) if bundle is not None else None
        _probe_fleet(ctx, aws, selection, trust, timeout, catalog, fmt, output)
        return
    if not target:
        raise ConfigError("give HOST:PORT, or --instances to probe every instance of the fleet")
    proto = Protocol(protocol)
    host, port = parse_target(target, proto)
    trust = load_trust_bundle(bundle) if bundle is not None else None
    endpoint = Endpoint(host, port, proto, server_name)
    result = probe(endpoint, timeout=timeout, bundle=trust, catalog=catalog,
                   now=datetime.now(UTC))  # fmt: skip
    if fmt == "json":
        text = json.dumps(
            {"schema": PROBE_SCHEMA, "results": [result_dict(result)]}, indent=2, sort_keys=False
        )
    else:
        text = probe_text(result)
    emit(text, output)
    ctx.exit(probe_exit_code(result))


def _probe_fleet(ctx: click.Context, aws: AwsOptions, selection: Selection, trust: TrustBundle | None,
                 timeout: float, catalog: Catalog, fmt: str, output: Path | None) -> None:  # fmt: skip
    """Every selected instance's endpoint, probed concurrently with the protocol its engine speaks."""
    fleet = read_fleet(aws, selection)
    endpoints, skipped = endpoints_of([i for i in fleet.instances if i.ca])
    results = probe_many(endpoints, timeout=timeout, bundle=trust, catalog=catalog, now=datetime.now(UTC))
    if fmt == "json":
        doc = {
            "schema": PROBE_SCHEMA,
            "results": [result_dict(r) for r in results],
            "not_probed": [{"instance": k, "reason": why} for k, why in sorted(skipped.items())],
            "targets": target_dicts(fleet),
        }
        text = json.dumps(doc, indent=2)
    else:
        text = fleet_probe_table(results, trust is not None)
        text += "".join(f"{k}: not probed: {why}\n" for k, why in sorted(skipped.items()))
        text += "".join(f"FAILED {t.target.key}: {t.error}\n" for t in fleet.failed)
    emit(text, output)
    failed = failed_targets_code(fleet)
    if failed is not None:
        ctx.exit(failed)
    codes = {probe_exit_code(r) for r in results}
    if ExitCode.FINDINGS in codes:  # a bundle that would not trust an endpoint, or no TLS
        ctx.exit(ExitCode.FINDINGS)
    ctx.exit(ExitCode.ERROR if results and codes == {ExitCode.ERROR} else ExitCode.OK)


def fleet_probe_table(results: list[ProbeResult], with_bundle: bool) -> str:
    """One line per endpoint: what it presents and, with --bundle, whether a client would connect."""
    table = Table(title="TLS endpoints", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in (
        "instance",
        "endpoint",
        "outcome",
        "RDS CA",
        "leaf ends",
        *(["bundle"] if with_bundle else []),
    ):
        table.add_column(col, overflow="fold")
    for r in results:
        leaf = r.chain[0].not_after.strftime("%Y-%m-%d") if r.chain else "-"
        row = [
            str(r.endpoint.label),
            r.endpoint.address,
            r.outcome.value,
            (r.rds.ca_id or "?") if r.rds else "-",
            leaf,
        ]
        if with_bundle:
            check = r.bundle
            row.append(
                "-" if check is None else f"{'trusted' if check.trusted else 'NOT trusted'}: {check.reason}"
            )
        table.add_row(*(Text(c) for c in row))
    return render([table], color=False)


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


def result_dict(r: ProbeResult) -> dict[str, Any]:
    """The JSON shape of one probe result (pinned by tests: add keys, never rename them)."""
    ep = r.endpoint
    return {
        "endpoint": {
            "host": ep.host,
            "port": ep.port,
            "protocol": ep.protocol.value,
            "server_name": ep.verify_name,
            "label": ep.label,
        },
        "outcome": r.outcome.value,
        "message": r.message,
        "offers_tls": r.offers_tls,
        "server_info": r.server_info,
        "tls_version": r.tls_version,
        "cipher": r.cipher,
        "elapsed_ms": round(r.elapsed_s * 1000, 1),
        "full_chain": r.full_chain,
        "chain": [
            {
                "subject": c.subject,
                "issuer": c.issuer,
                "common_name": c.common_name,
                "not_before": iso(c.not_before),
                "not_after": iso(c.not_after),
                "sha256": c.sha256,
                "key": c.key,
                "key_identifier": c.key_identifier,
                "authority_key_identifier": c.authority_key_identifier,
                "names": list(c.names),
                "is_ca": c.is_ca,
                "rds_ca": c.rds.ca_id if c.rds else None,
            }
            for c in r.chain
        ],
        "rds_ca": None
        if r.rds is None
        else {
            "ca_id": r.rds.ca_id,
            "region": r.rds.region,
            "matched_by": r.rds.matched_by,
            "anchor": r.rds.anchor,
            "detail": r.rds.detail,
        },
        "bundle": None
        if r.bundle is None
        else {
            "bundle": r.bundle.bundle,
            "trusted": r.bundle.trusted,
            "reason": r.bundle.reason,
            "handshake_checked": r.bundle.handshake_checked,
        },
    }


def probe_text(r: ProbeResult) -> str:
    ep = r.endpoint
    head = f"{ep.address} ({ep.protocol.value}): "
    if r.outcome != Outcome.TLS:
        extra = f" [{r.server_info}]" if r.server_info else ""
        return f"{head}{r.outcome.value}: {r.message}{extra}\n"
    lines = [f"{head}TLS {r.tls_version}, {r.cipher}" + (f" [{r.server_info}]" if r.server_info else "")]
    if r.rds is not None:
        ca = f"{r.rds.ca_id} ({r.rds.region or 'global'})" if r.rds.ca_id else "not recognised"
        lines.append(f"RDS CA: {ca}, matched by {r.rds.matched_by}: {r.rds.detail}")
    table = Table(title="chain presented" + ("" if r.full_chain else " (leaf only)"), title_justify="left")
    for col in ("#", "subject CN", "issuer CN", "not before", "not after", "sha256"):
        table.add_column(col, overflow="fold")
    for i, c in enumerate(r.chain):
        issuer_cn = c.issuer.split("CN=", 1)[1].split(",")[0] if "CN=" in c.issuer else c.issuer
        table.add_row(str(i), c.common_name, issuer_cn, f"{c.not_before:%Y-%m-%d}",
                      f"{c.not_after:%Y-%m-%d}", c.sha256)  # fmt: skip
    out = "\n".join(lines) + "\n" + render([table], color=False, width=240)
    if r.bundle is not None:
        verdict = {True: "would trust", False: "would NOT trust", None: "could not check"}[r.bundle.trusted]
        out += f"bundle {r.bundle.bundle}: {verdict}: {r.bundle.reason}\n"
    return out


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
    default=10.0,
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
    password = read_password(password_env, password_file)
    target = parse_dsn(dsn, password=password)
    logs.register_secret(target.password)  # masked in every log line, whatever a driver quotes
    listing = list_sessions(target, timeout=timeout)
    if fmt == "json":
        text = json.dumps({"schema": SESSIONS_SCHEMA, **listing_dict(listing)}, indent=2)
    else:
        text = sessions_text(listing)
    emit(text, output)
    ctx.exit(ExitCode.OK)


def listing_dict(s: SessionListing) -> dict[str, Any]:
    return {
        "engine": s.engine,
        "server": s.server,
        "server_version": s.server_version,
        "visibility": s.visibility.value,
        "reason": s.reason,
        "hidden": s.hidden,
        "summary": s.summary(),
        "sessions": [
            {
                "id": x.id,
                "user": x.user,
                "client_addr": x.client_addr,
                "client_port": x.client_port,
                "application": x.application,
                "database": x.database,
                "connection": x.connection,
                "tls": "unknown" if x.tls is None else x.tls,
                "tls_version": x.tls_version,
                "cipher": x.cipher,
                "is_self": x.is_self,
                "note": x.note,
            }
            for x in s.sessions
        ],
    }


def sessions_text(s: SessionListing) -> str:
    table = Table(title=f"sessions on {s.server} ({s.engine} {s.server_version})", title_justify="left")
    for col in ("id", "user", "client", "application", "database", "TLS", "version", "cipher", "note"):
        table.add_column(col, overflow="fold")
    for x in s.sessions:
        tls = "unknown" if x.tls is None else "yes" if x.tls else "no"
        client = x.client_addr or x.connection or "-"
        if x.client_addr and x.client_port:
            client = f"{x.client_addr}:{x.client_port}"
        note = "; ".join(n for n in ("this session" if x.is_self else "", x.note or "") if n)
        table.add_row(str(x.id), x.user or "-", client, x.application or "-", x.database or "-",
                      tls, x.tls_version or "-", x.cipher or "-", note)  # fmt: skip
    out = render([table], color=False, width=200)
    out += s.summary() + "\n"
    if s.visibility != Visibility.COMPLETE and s.reason:
        out += f"{s.visibility.value}: {s.reason}\n"
    return out
