"""Readiness verdicts from real evidence: real PostgreSQL and MariaDB servers (old RDS-like chain),
live TLS and plaintext sessions, and the bundles clients hold. The verdict must agree with what a
real client does after the server moves to the new hierarchy."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest

from rdsca.catalog import load_catalog
from rdsca.model import Authority, Fleet, Instance, RegionCAs, Target, TargetStatus
from rdsca.readiness.gather import ReadinessInputs, gather
from rdsca.readiness.verdict import Readiness
from support import realdb

pytestmark = pytest.mark.realdb
PW = realdb.PASSWORDS
TARGET = "rds-ca-rsa2048-g1"
NOW = datetime.now(UTC)


def instance(iid: str, engine: str, port: int) -> Instance:
    return Instance(
        account_id="111111111111", region="us-east-1", id=iid, arn=f"arn:aws:rds:us-east-1:1:db:{iid}",
        engine=engine, engine_version="15.8", status="available", endpoint="127.0.0.1", port=port,
        ca="rds-ca-2019", server_cert_ca="rds-ca-2019", server_cert_valid_till=None, pending_ca=None,
        supported_cas=("rds-ca-2019", TARGET),
    )  # fmt: skip


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[realdb.Postgres, realdb.MariaDB]]:
    pg, maria = realdb.postgres(), realdb.mariadb()
    pg.rotate("old")
    maria.rotate("old")
    pg_tls = psycopg.connect(host="127.0.0.1", port=pg.port, user="app", dbname="postgres",
                             password=PW["app"], sslmode="require", application_name="billing")  # fmt: skip
    both = str(realdb.pki().both_bundle)
    maria_tls = pymysql.connect(host="127.0.0.1", port=maria.port, user="app", password=PW["app"],
                                ssl={"ca": both}, program_name="billing")  # fmt: skip
    yield pg, maria
    pg_tls.close()
    maria_tls.close()


def fleet(*instances: Instance) -> Fleet:
    region = RegionCAs(
        "111111111111",
        "us-east-1",
        (Authority(TARGET, "us-east-1", "111111111111", "CA", None, None, None),),
        TARGET,
    )
    return Fleet(NOW, (TargetStatus(Target("111111111111", "us-east-1"), True),), (region,), instances)


def inputs(**kw: Any) -> ReadinessInputs:
    base = ReadinessInputs(target_ca=TARGET, catalog=load_catalog(extra=[realdb.pki().known_cas]), timeout=5)
    return replace(base, **kw)


def connect_pg(pg: realdb.Postgres, bundle: Path) -> None:
    psycopg.connect(host="127.0.0.1", port=pg.port, user="app", dbname="postgres", password=PW["app"],
                    sslmode="verify-full", sslrootcert=str(bundle)).close()  # fmt: skip


def connect_maria(maria: realdb.MariaDB, bundle: Path) -> None:
    pymysql.connect(host="127.0.0.1", port=maria.port, user="app", password=PW["app"],
                    ssl={"ca": str(bundle)}).close()  # fmt: skip


@contextmanager
def new_hierarchy(*servers: realdb.Postgres | realdb.MariaDB) -> Iterator[None]:
    """The servers present the new hierarchy's chain for the block, then the old one again."""
    for server in servers:
        server.rotate("new")
    try:
        yield
    finally:
        for server in servers:
            server.rotate("old")


def test_old_bundle_is_at_risk_and_real_clients_agree(
    servers: tuple[realdb.Postgres, realdb.MariaDB],
) -> None:
    pg, maria = servers
    f = fleet(instance("pg1", "postgres", pg.port), instance("maria1", "mariadb", maria.port))
    result = gather(f, inputs(bundles=(realdb.pki().old_bundle,)), NOW)
    by_id = {r.instance.id: r for r in result.instances}
    for iid in ("pg1", "maria1"):
        assert by_id[iid].verdict is Readiness.AT_RISK, by_id[iid]
        assert "missing for rds-ca-rsa2048-g1 in us-east-1" in by_id[iid].reasons[0]
        assert by_id[iid].presented_ca == "rds-ca-2019"  # the probe read the old chain
    # The prediction, checked: once the servers present the new chain, the old bundle fails.
    with new_hierarchy(pg, maria):
        with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
            connect_pg(pg, realdb.pki().old_bundle)
        with pytest.raises(pymysql.err.OperationalError, match="CERTIFICATE_VERIFY_FAILED"):
            connect_maria(maria, realdb.pki().old_bundle)


def test_both_roots_bundle_is_ready_and_really_connects(
    servers: tuple[realdb.Postgres, realdb.MariaDB],
) -> None:
    pg, maria = servers
    f = fleet(instance("pg1", "postgres", pg.port), instance("maria1", "mariadb", maria.port))
    result = gather(f, inputs(bundles=(realdb.pki().both_bundle,)), NOW)
    assert [r.verdict for r in result.instances] == [Readiness.READY, Readiness.READY]
    with new_hierarchy(pg, maria):
        connect_pg(pg, realdb.pki().both_bundle)
        connect_maria(maria, realdb.pki().both_bundle)


def test_live_tls_clients_without_bundles_are_unknown_and_named(
    servers: tuple[realdb.Postgres, realdb.MariaDB],
) -> None:
    pg, _ = servers
    f = fleet(instance("pg1", "postgres", pg.port))
    template = "postgresql://monitor@{endpoint}:{port}/postgres?sslmode=disable"
    result = gather(f, inputs(dsn_template=template, db_password=PW["monitor"]), NOW)
    (r,) = result.instances
    assert r.verdict is Readiness.UNKNOWN
    assert any(c.startswith("app@127.0.0.1 (billing)") for c in r.clients)
    assert "client with TLS" in r.reasons[0] and "--bundle" in r.reasons[0]
    # With the old bundle the same clients are the ones at risk.
    result = gather(f, inputs(dsn_template=template, db_password=PW["monitor"],
                              bundles=(realdb.pki().old_bundle,)), NOW)  # fmt: skip
    (r,) = result.instances
    assert r.verdict is Readiness.AT_RISK and r.clients


def test_sessions_not_visible_is_said(servers: tuple[realdb.Postgres, realdb.MariaDB]) -> None:
    _, maria = servers
    f = fleet(instance("maria1", "mariadb", maria.port))
    result = gather(f, inputs(dsn_template="mariadb://low@{endpoint}:{port}/", db_password=PW["low"]), NOW)
    (r,) = result.instances
    assert r.verdict is Readiness.UNKNOWN
    assert any("sessions partly hidden" in w or "sessions not listed" in w for w in r.warnings)


def test_wrong_password_is_a_warning_without_the_password(
    servers: tuple[realdb.Postgres, realdb.MariaDB],
) -> None:
    pg, _ = servers
    f = fleet(instance("pg1", "postgres", pg.port))
    secret = "not-the-password-4711"
    result = gather(
        f, inputs(dsn_template="postgresql://monitor@{endpoint}:{port}/postgres", db_password=secret), NOW
    )
    (r,) = result.instances
    assert any(w.startswith("sessions not listed") for w in r.warnings)
    assert secret not in repr(r)
