"""A realistic audit built from model dataclasses and the real verdict rules, for the report tests.

`build_audit()` covers every state and severity, two accounts, three regions, three environments,
a failed target and a tag value that is an HTML script element. `synthetic_audit(n)` scales it up
for the size test and `bench/bench_report.py`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rdsca.assess import Policy, evaluate
from rdsca.model import (
    Audit,
    Authority,
    Fleet,
    Instance,
    PendingAction,
    RegionCAs,
    Severity,
    State,
    Target,
    TargetStatus,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
XSS = "<script>alert(1)</script>"
A1, A2 = "111111111111", "222222222222"


def _ca(ca_id: str, region: str, account: str, till: datetime) -> Authority:
    return Authority(
        id=ca_id,
        region=region,
        account_id=account,
        type="CA",
        thumbprint=None,
        valid_from=datetime(2021, 5, 24, tzinfo=UTC),
        valid_till=till,
    )


def region_cas(account: str, region: str) -> RegionCAs:
    cas = (
        _ca("rds-ca-rsa2048-g1", region, account, datetime(2061, 5, 24, tzinfo=UTC)),
        _ca("rds-ca-rsa4096-g1", region, account, datetime(2121, 5, 24, tzinfo=UTC)),
        _ca("rds-ca-ecc384-g1", region, account, datetime(2121, 5, 24, tzinfo=UTC)),
    )
    return RegionCAs(account, region, cas, "rds-ca-rsa2048-g1")


def instance(
    account: str,
    region: str,
    ident: str,
    *,
    ca: str | None = "rds-ca-rsa2048-g1",
    cert_days: float | None = 300,
    engine: str = "postgres",
    env: str = "dev",
    **extra: object,
) -> Instance:
    tags = {"env": env, "team": "payments"}
    tags.update(extra.pop("tags", {}))  # type: ignore[call-overload]
    return Instance(
        account_id=account,
        region=region,
        id=ident,
        arn=f"arn:aws:rds:{region}:{account}:db:{ident}",
        engine=engine,
        engine_version="15.4" if engine == "postgres" else "8.0.35",
        status="available",
        endpoint=f"{ident}.abc123.{region}.rds.amazonaws.com",
        port=5432,
        ca=ca,
        server_cert_ca=ca,
        server_cert_valid_till=None if cert_days is None else NOW + timedelta(days=cert_days),
        pending_ca=extra.pop("pending_ca", None),  # type: ignore[arg-type]
        pending_actions=extra.pop("pending_actions", ()),  # type: ignore[arg-type]
        rotation_without_restart=True,
        supported_cas=("rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"),
        tags=tags,
    )


def fleet_instances() -> list[Instance]:
    rotation = PendingAction("ca-certificate-rotation", "CA rotation", current_apply_date=NOW)
    return [
        instance(A1, "eu-west-1", "orders-prod", env="prod", cert_days=300),
        instance(A1, "eu-west-1", "orders-replica", env="prod", cert_days=10, engine="mysql"),
        instance(A1, "eu-west-1", "legacy-2019", ca="rds-ca-2019", cert_days=-200, env="prod"),
        instance(A1, "us-east-1", "billing-stg", env="staging", cert_days=60, tags={"owner": XSS}),
        instance(A1, "us-east-1", "reports-stg", env="staging", cert_days=120),
        instance(A1, "us-east-1", "expired-leaf", env="staging", cert_days=-3),
        instance(A2, "ap-south-1", "search-dev", env="dev", cert_days=3000),
        instance(A2, "ap-south-1", "pending-dev", env="dev", cert_days=400, pending_ca="rds-ca-rsa4096-g1"),
        instance(A2, "ap-south-1", "maint-dev", env="dev", cert_days=500, pending_actions=(rotation,)),
        instance(A2, "ap-south-1", "graph-dev", ca=None, cert_days=None, engine="neptune", env="dev"),
        instance(A2, "ap-south-1", "far-4096", ca="rds-ca-rsa4096-g1", cert_days=None, tags={"env": "qa"}),
        instance(A2, "ap-south-1", "junk-ca", ca="rds-ca-default", cert_days=250, env="qa"),  # moto's default
    ]


def build_audit(instances: list[Instance] | None = None, warn_days: int = 180) -> Audit:
    instances = fleet_instances() if instances is None else instances
    keys = sorted({(i.account_id, i.region) for i in instances})
    statuses = [TargetStatus(Target(a, r), True) for a, r in keys]
    statuses.append(TargetStatus(Target(A2, "eu-central-1"), False, "AccessDenied: rds:DescribeDBInstances"))
    fleet = Fleet(
        collected_at=NOW,
        targets=tuple(statuses),
        regions=tuple(region_cas(a, r) for a, r in keys),
        instances=tuple(instances),
    )
    return evaluate(fleet, NOW, Policy(warn_days=warn_days))


def synthetic_audit(n: int) -> Audit:
    """n instances spread over 4 accounts, 6 regions and 3 environments, every state represented."""
    base = fleet_instances()
    accounts = [f"{k:012d}" for k in (111111111111, 222222222222, 333333333333, 444444444444)]
    regions = ["eu-west-1", "us-east-1", "ap-south-1", "us-west-2", "eu-central-1", "sa-east-1"]
    out = []
    for k in range(n):
        proto = base[k % len(base)]
        out.append(
            instance(
                accounts[k % 4],
                regions[(k // 4) % 6],
                f"{proto.id}-{k:05d}",
                ca=proto.ca,
                cert_days=None if proto.server_cert_valid_till is None else (k * 7) % 900 - 60,
                engine=proto.engine,
                env=("dev", "staging", "prod")[k % 3],
                pending_ca=proto.pending_ca,
            )
        )
    return build_audit(out)


def test_fixture_covers_every_state_and_severity() -> None:
    audit = build_audit()
    assert {v.state for v in audit.verdicts} == set(State)
    assert {v.severity for v in audit.verdicts} == set(Severity)
    assert any(XSS in v.instance.tags.values() for v in audit.verdicts)
    assert audit.fleet.failed
