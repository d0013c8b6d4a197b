"""The demo fleet, maintenance actions, pagination, faults, latency and call counting."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from rdsca.sandbox import demo
from rdsca.sandbox.control import ControlError
from support.sandbox import SandboxHandle

A1, A2 = demo.ACCOUNTS
EU = "eu-west-1"


def instances(sandbox: SandboxHandle, region: str, account: str | None = None) -> dict[str, dict]:  # type: ignore[type-arg]
    rds = sandbox.client(region=region, account=account)
    pages = rds.get_paginator("describe_db_instances").paginate()
    return {d["DBInstanceIdentifier"]: d for p in pages for d in p["DBInstances"]}


def test_demo_fleet_matches_its_description(demo_sandbox: SandboxHandle) -> None:
    seen: dict[tuple[str, str, str], dict] = {}  # type: ignore[type-arg]
    for account in demo.ACCOUNTS:
        for region in demo.REGIONS:
            for name, db in instances(demo_sandbox, region, account).items():
                seen[(account, region, name)] = db
    expected = {(i.account, i.region, i.id) for i in demo.INSTANCES}
    assert set(seen) == expected and 20 <= len(expected) <= 30
    for item in demo.INSTANCES:
        db = seen[(item.account, item.region, item.id)]
        assert db["Engine"] == item.engine
        assert db.get("CACertificateIdentifier") == item.ca
        tags = {t["Key"]: t["Value"] for t in db.get("TagList", [])}
        assert tags.get("env") == item.env
    now = datetime.now(UTC)
    us1 = {k[2]: v for k, v in seen.items() if k[:2] == (A1, "us-east-1")}
    assert us1["orders-prod-pg"]["CertificateDetails"]["ValidTill"] < now  # expired with rds-ca-2019
    assert us1["reports-staging-pg"]["PendingModifiedValues"] == {
        "CACertificateIdentifier": "rds-ca-rsa2048-g1"
    }
    assert sorted(us1["orders-prod-pg"]["ReadReplicaDBInstanceIdentifiers"]) == [
        "arn:aws:rds:eu-west-1:111111111111:db:orders-prod-pg-replica-eu",
        "orders-prod-pg-replica-1",
    ]
    assert "CertificateDetails" not in us1["graph-dev-neptune"]
    assert us1["docs-dev-docdb"]["Engine"] == "docdb"
    assert [m for m, d in us1.items() if d.get("DBClusterIdentifier") == "catalog-prod"] == [
        "catalog-prod-1",
        "catalog-prod-2",
        "catalog-prod-3",
    ]
    crm = seen[(A1, EU, "crm-prod-pg")]["CertificateDetails"]["ValidTill"]
    assert now < crm < now + timedelta(days=30)
    replica_eu = seen[(A1, EU, "orders-prod-pg-replica-eu")]
    assert replica_eu["ReadReplicaSourceDBInstanceIdentifier"].endswith(":db:orders-prod-pg")
    assert replica_eu["AvailabilityZone"].startswith(EU)
    xss = seen[(A2, "us-east-1", "shop-dev-pg")]["TagList"]
    assert {"Key": "team", "Value": demo.XSS_TAG} in xss


def test_demo_pending_maintenance_actions(demo_sandbox: SandboxHandle) -> None:
    rds = demo_sandbox.client(region=EU, account=A1)
    found = rds.describe_pending_maintenance_actions()["PendingMaintenanceActions"]
    by_id = {r["ResourceIdentifier"].rsplit(":", 1)[1]: r["PendingMaintenanceActionDetails"] for r in found}
    assert sorted(by_id) == ["crm-prod-pg", "crm-staging-mariadb"]
    assert by_id["crm-prod-pg"][0]["Action"] == "server-certificate-rotation"
    action = by_id["crm-staging-mariadb"][0]
    assert action["Action"] == "ca-certificate-rotation"
    assert action["AutoAppliedAfterDate"] < action["ForcedApplyDate"]
    assert "OptInStatus" not in action
    filtered = rds.describe_pending_maintenance_actions(
        Filters=[{"Name": "db-instance-id", "Values": ["crm-prod-pg"]}]
    )
    assert len(filtered["PendingMaintenanceActions"]) == 1
    assert (
        demo_sandbox.client(region=EU, account=A2).describe_pending_maintenance_actions()[
            "PendingMaintenanceActions"
        ]
        == []
    )


def test_apply_pending_maintenance_action_opt_ins(demo_sandbox: SandboxHandle) -> None:
    rds = demo_sandbox.client(region=EU, account=A1)
    arn = f"arn:aws:rds:{EU}:{A1}:db:crm-staging-mariadb"
    answer = rds.apply_pending_maintenance_action(
        ResourceIdentifier=arn, ApplyAction="ca-certificate-rotation", OptInType="next-maintenance"
    )["ResourcePendingMaintenanceActions"]
    detail = answer["PendingMaintenanceActionDetails"][0]
    assert detail["OptInStatus"] == "next-maintenance"
    assert detail["CurrentApplyDate"].strftime("%a %H:%M") == "Sun 05:00"  # the instance's window
    undone = rds.apply_pending_maintenance_action(
        ResourceIdentifier=arn, ApplyAction="ca-certificate-rotation", OptInType="undo-opt-in"
    )["ResourcePendingMaintenanceActions"]["PendingMaintenanceActionDetails"][0]
    assert "OptInStatus" not in undone
    assert demo_sandbox.control.maintenance_window(account=A1, region=EU) == []  # not opted in: not due
    rds.apply_pending_maintenance_action(
        ResourceIdentifier=arn, ApplyAction="ca-certificate-rotation", OptInType="next-maintenance"
    )
    applied = demo_sandbox.control.maintenance_window(account=A1, region=EU)
    assert [(a["id"], a["applied"]) for a in applied] == [("crm-staging-mariadb", "ca-certificate-rotation")]
    db = rds.describe_db_instances(DBInstanceIdentifier="crm-staging-mariadb")["DBInstances"][0]
    assert db["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"
    # mariadb 10.6.19 rotates without a restart (10.6.16 reports true): a 12-month leaf
    assert db["CertificateDetails"]["ValidTill"] > datetime.now(UTC) + timedelta(days=364)
    assert db["CertificateDetails"]["ValidTill"] < datetime.now(UTC) + timedelta(days=366)
    remaining = rds.describe_pending_maintenance_actions()["PendingMaintenanceActions"]
    assert [r["ResourceIdentifier"].rsplit(":", 1)[1] for r in remaining] == ["crm-prod-pg"]


def test_immediate_server_certificate_rotation(demo_sandbox: SandboxHandle) -> None:
    demo_sandbox.control.config(reboot_seconds=0.9, modify_seconds=0.3)
    rds = demo_sandbox.client(region=EU, account=A1)
    arn = f"arn:aws:rds:{EU}:{A1}:db:crm-prod-pg"
    answer = rds.apply_pending_maintenance_action(
        ResourceIdentifier=arn, ApplyAction="server-certificate-rotation", OptInType="immediate"
    )["ResourcePendingMaintenanceActions"]["PendingMaintenanceActionDetails"][0]
    assert answer["OptInStatus"] == "immediate"
    seen = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        db = rds.describe_db_instances(DBInstanceIdentifier="crm-prod-pg")["DBInstances"][0]
        if not seen or seen[-1] != db["DBInstanceStatus"]:
            seen.append(db["DBInstanceStatus"])
        if db["DBInstanceStatus"] == "available":
            break
        time.sleep(0.03)
    assert seen == ["modifying", "available"]  # postgres 13.16 rotates without a restart (13.4+)
    assert db["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"
    assert db["CertificateDetails"]["ValidTill"] > datetime.now(UTC) + timedelta(days=364)  # 12 months
    assert rds.describe_pending_maintenance_actions(ResourceIdentifier=arn)["PendingMaintenanceActions"] == []


def test_apply_pending_maintenance_action_errors(demo_sandbox: SandboxHandle) -> None:
    rds = demo_sandbox.client(region=EU, account=A1)
    with pytest.raises(ClientError) as exc:
        rds.apply_pending_maintenance_action(
            ResourceIdentifier=f"arn:aws:rds:{EU}:{A1}:db:nope",
            ApplyAction="ca-certificate-rotation",
            OptInType="immediate",
        )
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundFault"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as exc:
        rds.apply_pending_maintenance_action(
            ResourceIdentifier=f"arn:aws:rds:{EU}:{A1}:db:analytics-dev-pg",
            ApplyAction="ca-certificate-rotation",
            OptInType="immediate",
        )
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValue"


# --- pagination, large fleets -------------------------------------------------------------------


def test_pagination_past_100_instances_and_pending_actions(sandbox: SandboxHandle) -> None:
    seeded = sandbox.control.seed_synthetic(["333333333333"], ["us-east-1"], 150, retired_fraction=0.5)
    assert seeded["instances"] == 150
    rds = sandbox.client(account="333333333333")
    first = rds.describe_db_instances(MaxRecords=100)
    assert len(first["DBInstances"]) == 100 and first["Marker"]
    ids = [d["DBInstanceIdentifier"] for d in first["DBInstances"]]
    ids += [
        d["DBInstanceIdentifier"]
        for d in rds.describe_db_instances(MaxRecords=100, Marker=first["Marker"])["DBInstances"]
    ]
    assert len(set(ids)) == 150
    cas = [
        d["CACertificateIdentifier"]
        for p in rds.get_paginator("describe_db_instances").paginate()
        for d in p["DBInstances"]
    ]
    assert 40 < cas.count("rds-ca-2019") < 110
    with pytest.raises(ClientError) as exc:
        rds.describe_db_instances(MaxRecords=101)
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as exc:  # an XML error botocore parses, not moto's JSON
        rds.describe_db_instances(Marker="not-a-marker")
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValue"
    for name in ids[:45]:
        sandbox.control.add_maintenance_action("333333333333", "us-east-1", name, "ca-certificate-rotation")
    pages = list(
        rds.get_paginator("describe_pending_maintenance_actions").paginate(PaginationConfig={"PageSize": 20})
    )
    assert [len(p["PendingMaintenanceActions"]) for p in pages] == [20, 20, 5]


def test_seeding_2000_instances_is_fast(sandbox: SandboxHandle) -> None:
    started = time.perf_counter()
    seeded = sandbox.control.seed_synthetic(4, ["us-east-1", "eu-west-1", "ap-south-1", "us-west-2"], 125)
    elapsed = time.perf_counter() - started
    assert seeded["instances"] == 2000 and len(seeded["accounts"]) == 4
    assert elapsed < 10, f"seeding 2,000 instances took {elapsed:.1f} s"
    listing = sandbox.control.instances(account=seeded["accounts"][0], region="us-west-2")
    assert len(listing) == 125


# --- faults, retries, latency, counting ----------------------------------------------------------


def test_throttling_is_retried_by_botocore(sandbox: SandboxHandle) -> None:
    sandbox.control.fault("DescribeDBInstances", "Throttling", count=1)
    sandbox.control.fault("DescribeCertificates", "InternalFailure", count=1)
    for mode in ("standard", "adaptive"):
        rds = sandbox.client(retry_mode=mode, max_attempts=5)
        assert rds.describe_db_instances()["ResponseMetadata"]["RetryAttempts"] == (mode == "standard")
    assert sandbox.control.call_count("DescribeDBInstances") == 3
    assert rds.describe_certificates()["ResponseMetadata"]["RetryAttempts"] == 1  # 500: retried too


def test_faults_without_retries(sandbox: SandboxHandle) -> None:
    rds = sandbox.client()
    for code, status in (
        ("Throttling", 400),
        ("InternalFailure", 500),
        ("AccessDenied", 403),
        ("ExpiredToken", 400),
    ):
        sandbox.control.fault("DescribeCertificates", code, count=1)
        with pytest.raises(ClientError) as exc:
            rds.describe_certificates()
        assert exc.value.response["Error"]["Code"] == code
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert rds.describe_certificates()["Certificates"]  # every fault was used up


def test_fault_for_one_region_and_account_always(sandbox: SandboxHandle) -> None:
    sandbox.control.fault("*", "AccessDenied", region=EU, account=A2)
    with pytest.raises(ClientError) as exc:
        sandbox.client(region=EU, account=A2).describe_db_instances()
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError):
        sandbox.client(region=EU, account=A2).describe_certificates()  # always, not once
    sandbox.client(region="us-east-1", account=A2).describe_db_instances()
    sandbox.client(region=EU, account=A1).describe_db_instances()
    sandbox.control.clear_faults()
    sandbox.client(region=EU, account=A2).describe_db_instances()


def test_latency_and_call_counts(sandbox: SandboxHandle) -> None:
    rds_a1 = sandbox.client(account=A1)
    rds_eu = sandbox.client(region=EU, account=A1)
    sandbox.control.reset_calls()
    sandbox.control.latency(0.2, action="DescribeCertificates")
    started = time.perf_counter()
    rds_a1.describe_certificates()
    assert time.perf_counter() - started >= 0.2
    started = time.perf_counter()
    rds_a1.describe_db_instances()
    assert time.perf_counter() - started < 0.2
    sandbox.control.latency(0, action="DescribeCertificates")
    rds_eu.describe_db_instances()
    counts = sandbox.control.calls()
    assert counts["by_action"] == {"DescribeCertificates": 1, "DescribeDBInstances": 2}
    assert {"action": "DescribeDBInstances", "account": A1, "region": EU, "count": 1} in counts["calls"]
    sandbox.control.reset_calls()
    assert sandbox.control.call_count() == 0


def test_config_and_control_errors(sandbox: SandboxHandle) -> None:
    assert sandbox.control.config(reboot_seconds=2.5)["reboot_seconds"] == 2.5
    assert sandbox.control.config()["reboot_seconds"] == 2.5
    with pytest.raises(ControlError, match="unknown setting"):
        sandbox.control.config(reboot_minutes=1)
    with pytest.raises(ControlError, match="unknown fault code"):
        sandbox.control.fault("DescribeDBInstances", "Bogus")
    sandbox.control.reset()
    assert sandbox.control.config()["reboot_seconds"] == 0.3  # back to the server's start value
