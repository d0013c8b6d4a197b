"""The contract of `rdsca.engines`: one table of engine facts, found by name or family."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rdsca import engines
from rdsca.assess.verdicts import current_cas
from rdsca.engines import UNKNOWN, facts
from rdsca.readiness.gather import protocol_for
from rdsca.readiness.probe_wire import Protocol
from rdsca.sandbox import demo
from rdsca.sandbox import endpoints as sandbox_endpoints
from rdsca.sandbox import engines as sandbox_engines

SRC = Path(engines.__file__).parent


@pytest.mark.parametrize(
    ("engine", "family"),
    [
        ("postgres", "postgres"),
        ("mysql", "mysql"),
        ("mariadb", "mariadb"),
        ("aurora-postgresql", "aurora-postgresql"),
        ("aurora-mysql", "aurora-mysql"),
        ("aurora", "aurora"),
        ("docdb", "docdb"),
        ("neptune", "neptune"),
        ("oracle-ee", "oracle"),
        ("oracle-ee-cdb", "oracle"),
        ("oracle-se2", "oracle"),
        ("oracle-se2-cdb", "oracle"),
        ("sqlserver-ee", "sqlserver"),
        ("sqlserver-se", "sqlserver"),
        ("sqlserver-ex", "sqlserver"),
        ("sqlserver-web", "sqlserver"),
        ("db2-se", "db2"),
        ("db2-ae", "db2"),
        ("custom-oracle-ee", "custom-oracle"),
        ("custom-oracle-se2-cdb", "custom-oracle"),
        ("custom-sqlserver-web", "custom-sqlserver"),
    ],
)
def test_lookup_by_name_and_family(engine: str, family: str) -> None:
    assert facts(engine).name == family


def test_an_unknown_engine_gets_the_cautious_default() -> None:
    f = facts("made-up-engine")
    assert f is UNKNOWN
    assert f.managed_by_rds_ca and f.probe_protocol is None and f.cluster_kind is None
    assert f.restart_behaviour == "instance" and f.default_port is None


def test_every_engine_the_sandbox_knows_has_facts() -> None:
    used = {c.engine for c in demo.CLUSTERS} | {i.engine for i in demo.INSTANCES}
    used |= {e.engine for e in sandbox_engines.ENGINE_VERSIONS}
    assert used  # the demo fleet is not empty
    for engine in used:
        assert facts(engine) is not UNKNOWN, engine


def test_the_table_is_consistent() -> None:
    names = [f.name for f in engines.TABLE]
    assert len(names) == len(set(names))
    for f in engines.TABLE:
        assert f.managed_by_rds_ca == (f.unmanaged_reason is None), f.name
        assert f.probe_protocol is None or f.probe_protocol in {p.value for p in Protocol}, f.name
        assert f.default_port is None or 0 < f.default_port < 65536, f.name
        assert (f.restart_behaviour == "listener") == (f.restart_note is not None), f.name


def test_aws_facts() -> None:
    # Neptune and RDS Custom do not follow an RDS CA id; Oracle restarts only its listener.
    assert not facts("neptune").managed_by_rds_ca
    assert not facts("custom-oracle-ee").managed_by_rds_ca
    assert not facts("custom-sqlserver-se").managed_by_rds_ca
    assert facts("docdb").managed_by_rds_ca
    assert facts("oracle-se2").restart_behaviour == "listener"
    assert not facts("oracle-ee").tls_on_endpoint_port
    # Multi-AZ DB clusters exist for RDS for MySQL and PostgreSQL only.
    multi_az = {f.name for f in engines.TABLE if f.cluster_kind == "multi-az"}
    assert multi_az == {"mysql", "postgres"}
    ports = {n: facts(n).default_port for n in ("postgres", "mysql", "docdb", "oracle-ee", "sqlserver-ex")}
    assert ports == {"postgres": 5432, "mysql": 3306, "docdb": 27017, "oracle-ee": 1521, "sqlserver-ex": 1433}


def test_what_rdsca_rotates_follows_aws() -> None:
    """Neptune and RDS Custom are not rotated: AWS says the RDS CA setting does not apply to them."""
    assert not engines.rotated_by_rdsca("neptune")
    assert not engines.rotated_by_rdsca("custom-oracle-ee")
    assert not engines.rotated_by_rdsca("custom-sqlserver-ee")
    assert engines.rotated_by_rdsca("made-up-engine")


@pytest.mark.parametrize(
    ("engine", "library", "sandbox"),
    [
        ("postgres", Protocol.POSTGRES, "postgres"),
        ("aurora-postgresql", Protocol.POSTGRES, "postgres"),
        ("mysql", Protocol.MYSQL, "mysql"),
        ("aurora-mysql", Protocol.MYSQL, "mysql"),
        ("mariadb", Protocol.MYSQL, "mysql"),
        ("docdb", Protocol.TLS, "tls"),
        ("oracle-ee", Protocol.TLS, None),  # the sandbox opens no Oracle SSL-option port
        ("sqlserver-se", None, None),
        ("neptune", None, None),
        ("custom-oracle-ee", None, None),
    ],
)
def test_probe_protocols(engine: str, library: Protocol | None, sandbox: str | None) -> None:
    assert protocol_for(engine) == library
    assert sandbox_endpoints.protocol_for(engine) == sandbox


def test_the_current_cas_come_from_the_catalogue() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert current_cas(now) == ("rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1")
    assert "rds-ca-2019" not in current_cas(datetime(2020, 1, 1, tzinfo=UTC))


def test_engines_is_pure_data() -> None:
    tree = ast.parse((SRC / "engines.py").read_text())
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    assert imported <= {"__future__", "dataclasses", "typing"}


def test_the_plan_says_oracle_restarts_its_listener_not_the_instance() -> None:
    from rdsca.report.rotation import _restart
    from rdsca.rollout.plan import Kind, Step, When

    def step(engine: str, restart: bool) -> Step:
        return Step("a/r/x", "a", "r", "x", engine, "19", Kind.MODIFY_INSTANCE, "rds-ca-2019",
                    "rds-ca-rsa2048-g1", restart, When.NOW, "all", 0)  # fmt: skip

    assert _restart(step("oracle-ee", True)) == "listener restart"
    assert _restart(step("postgres", True)) == "restart"
    assert _restart(step("oracle-ee", False)) == "no restart"
