"""The sandbox's RDS certificate surface, through boto3 over HTTP, as a client of AWS sees it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from rdsca.catalog import load_catalog
from rdsca.sandbox import demo, engines
from support.sandbox import SandboxHandle

A1, A2 = demo.ACCOUNTS


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def create(rds, instance_id: str, engine: str = "postgres", version: str = "16.4", **kw):  # type: ignore[no-untyped-def]
    return rds.create_db_instance(
        DBInstanceIdentifier=instance_id,
        DBInstanceClass="db.t3.micro",
        Engine=engine,
        EngineVersion=version,
        MasterUsername="admin",
        MasterUserPassword="password1",
        **kw,
    )["DBInstance"]


def describe(rds, instance_id: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return rds.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"][0]  # type: ignore[no-any-return]


def wait_status(rds, instance_id: str, wanted: str, timeout: float = 5.0) -> list[str]:  # type: ignore[no-untyped-def]
    """Poll until `wanted`; return the distinct statuses seen, in order."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = describe(rds, instance_id)["DBInstanceStatus"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == wanted:
            return seen
        time.sleep(0.03)
    raise AssertionError(f"{instance_id} never reached {wanted}: {seen}")


# --- DescribeCertificates / ModifyCertificates ---------------------------------------------------


def test_certificates_per_region_with_catalogue_dates(sandbox: SandboxHandle) -> None:
    catalog = load_catalog()
    for region in ("us-east-1", "eu-west-1"):
        answer = sandbox.client(region=region).describe_certificates()
        ids = [c["CertificateIdentifier"] for c in answer["Certificates"]]
        assert ids == ["rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"]
        assert answer["DefaultCertificateForNewLaunches"] == "rds-ca-rsa2048-g1"
        for cert in answer["Certificates"]:
            valid_from, valid_till = catalog.validity(cert["CertificateIdentifier"], region)  # type: ignore[misc]
            assert cert["ValidFrom"] == valid_from and cert["ValidTill"] == valid_till
            assert cert["CustomerOverride"] is False
            assert cert["CertificateArn"].startswith(f"arn:aws:rds:{region}::cert:")
    us = sandbox.client(region="us-east-1").describe_certificates()["Certificates"][0]
    eu = sandbox.client(region="eu-west-1").describe_certificates()["Certificates"][0]
    assert us["ValidTill"] != eu["ValidTill"]  # dates differ per region


@pytest.mark.parametrize("region", ["ap-south-1", "il-central-1", "eu-central-2"])
def test_regions_without_rsa4096_and_ecc384(sandbox: SandboxHandle, region: str) -> None:
    rds = sandbox.client(region=region)
    ids = [c["CertificateIdentifier"] for c in rds.describe_certificates()["Certificates"]]
    assert ids == ["rds-ca-rsa2048-g1"]
    with pytest.raises(ClientError) as exc:
        rds.describe_certificates(CertificateIdentifier="rds-ca-rsa4096-g1")
    assert error_of(exc) == ("CertificateNotFound", 404)


def test_retired_ca_is_not_listed(sandbox: SandboxHandle) -> None:
    rds = sandbox.client()
    listed = [c["CertificateIdentifier"] for c in rds.describe_certificates()["Certificates"]]
    assert "rds-ca-2019" not in listed
    with pytest.raises(ClientError) as exc:
        rds.describe_certificates(CertificateIdentifier="rds-ca-2019")
    assert error_of(exc) == ("CertificateNotFound", 404)
    one = rds.describe_certificates(CertificateIdentifier="rds-ca-ecc384-g1")["Certificates"]
    assert [c["CertificateIdentifier"] for c in one] == ["rds-ca-ecc384-g1"]


def test_certificates_pagination_and_max_records_range(sandbox: SandboxHandle) -> None:
    rds = sandbox.client()
    pages = list(rds.get_paginator("describe_certificates").paginate(PaginationConfig={"PageSize": 20}))
    assert sum(len(p["Certificates"]) for p in pages) == 3
    for bad in (19, 101):
        with pytest.raises(ClientError) as exc:
            rds.describe_certificates(MaxRecords=bad)
        assert error_of(exc)[0] == "InvalidParameterValue"


def test_account_override_applies_to_new_instances_only_there(sandbox: SandboxHandle) -> None:
    rds_us = sandbox.client(region="us-east-1", account=A1)
    create(rds_us, "before-override")
    answer = rds_us.modify_certificates(CertificateIdentifier="rds-ca-ecc384-g1")["Certificate"]
    assert answer["CustomerOverride"] is True and answer["CustomerOverrideValidTill"]
    listed = rds_us.describe_certificates()
    assert listed["DefaultCertificateForNewLaunches"] == "rds-ca-ecc384-g1"
    flags = {c["CertificateIdentifier"]: c["CustomerOverride"] for c in listed["Certificates"]}
    assert flags == {"rds-ca-rsa2048-g1": False, "rds-ca-rsa4096-g1": False, "rds-ca-ecc384-g1": True}
    assert create(rds_us, "after-override")["CACertificateIdentifier"] == "rds-ca-ecc384-g1"
    assert describe(rds_us, "before-override")["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"
    # per account x region
    other_region = sandbox.client(region="eu-west-1", account=A1).describe_certificates()
    other_account = sandbox.client(region="us-east-1", account=A2).describe_certificates()
    assert other_region["DefaultCertificateForNewLaunches"] == "rds-ca-rsa2048-g1"
    assert other_account["DefaultCertificateForNewLaunches"] == "rds-ca-rsa2048-g1"
    rds_us.modify_certificates(RemoveCustomerOverride=True)
    assert rds_us.describe_certificates()["DefaultCertificateForNewLaunches"] == "rds-ca-rsa2048-g1"
    with pytest.raises(ClientError) as exc:
        rds_us.modify_certificates(CertificateIdentifier="rds-ca-2019")
    assert error_of(exc) == ("CertificateNotFound", 404)


def test_moto_reset_clears_the_extension_state(sandbox: SandboxHandle) -> None:
    import urllib.request

    rds = sandbox.client()
    rds.modify_certificates(CertificateIdentifier="rds-ca-rsa4096-g1")
    urllib.request.urlopen(urllib.request.Request(f"{sandbox.url}/moto-api/reset", method="POST"))
    assert rds.describe_certificates()["DefaultCertificateForNewLaunches"] == "rds-ca-rsa2048-g1"


# --- DescribeDBEngineVersions --------------------------------------------------------------------


def test_engine_versions_table(sandbox: SandboxHandle) -> None:
    rds = sandbox.client()

    def one(engine: str, version: str) -> dict:  # type: ignore[type-arg]
        found = rds.describe_db_engine_versions(Engine=engine, EngineVersion=version)["DBEngineVersions"]
        assert len(found) == 1, found
        return found[0]  # type: ignore[no-any-return]

    assert one("docdb", "5.0.0")["SupportsCertificateRotationWithoutRestart"] is True
    assert one("docdb", "3.6.0")["SupportsCertificateRotationWithoutRestart"] is False
    assert one("postgres", "16.4")["SupportsCertificateRotationWithoutRestart"] is True
    assert one("postgres", "13.16")["SupportsCertificateRotationWithoutRestart"] is True  # 13.4+: true
    assert one("postgres", "12.20")["SupportsCertificateRotationWithoutRestart"] is False  # unknown: restart
    assert len(one("mysql", "5.7.44")["SupportedCACertificateIdentifiers"]) == 3  # no published restriction
    assert "rds-ca-ecc384-g1" in one("mysql", "8.0.39")["SupportedCACertificateIdentifiers"]
    neptune = one("neptune", "1.3.2.1")
    assert "SupportsCertificateRotationWithoutRestart" not in neptune
    assert rds.describe_db_engine_versions(Engine="postgres", EngineVersion="9.9")["DBEngineVersions"] == []
    everything = [
        v
        for page in rds.get_paginator("describe_db_engine_versions").paginate(
            PaginationConfig={"PageSize": 20}
        )
        for v in page["DBEngineVersions"]
    ]
    assert len(everything) == len(engines.ENGINE_VERSIONS)


# --- instances: CA on create, CertificateDetails ------------------------------------------------


def test_new_instance_gets_the_default_ca_and_a_leaf(sandbox: SandboxHandle) -> None:
    rds = sandbox.client()
    now = datetime.now(UTC)
    fast = create(rds, "pg16", version="16.4")
    slow = create(rds, "pg12", version="12.20")
    assert fast["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"  # not moto's rds-ca-default
    for db, days in ((fast, 365), (slow, 3 * 365)):
        details = db["CertificateDetails"]
        assert details["CAIdentifier"] == "rds-ca-rsa2048-g1"
        assert abs(details["ValidTill"] - (now + timedelta(days=days))) < timedelta(minutes=5)
        assert db["PendingModifiedValues"] == {}
    chosen = create(rds, "ecc", CACertificateIdentifier="rds-ca-ecc384-g1")
    assert chosen["CertificateDetails"]["CAIdentifier"] == "rds-ca-ecc384-g1"


@pytest.mark.parametrize(
    ("region", "version", "ca", "code"),
    [
        ("us-east-1", "16.4", "rds-ca-2019", "CertificateNotFound"),
        ("us-east-1", "16.4", "rds-ca-nonsense", "CertificateNotFound"),
        ("ap-south-1", "16.4", "rds-ca-rsa4096-g1", "CertificateNotFound"),
    ],
)
def test_create_validates_the_ca(
    sandbox: SandboxHandle, region: str, version: str, ca: str, code: str
) -> None:
    with pytest.raises(ClientError) as exc:
        create(sandbox.client(region=region), "bad-ca", version=version, CACertificateIdentifier=ca)
    assert error_of(exc) == (code, 404)


def test_engine_version_must_support_the_ca(sandbox: SandboxHandle) -> None:
    """No published answer restricts a version to fewer G1 CAs (mysql 5.7.44 was an invented
    rds-ca-rsa2048-g1-only row): every G1 CA is taken, the retired rds-ca-2019 is not."""
    rds = sandbox.client()
    create(rds, "old", "mysql", "5.7.44", CACertificateIdentifier="rds-ca-rsa4096-g1")
    rds.modify_db_instance(
        DBInstanceIdentifier="old", CACertificateIdentifier="rds-ca-ecc384-g1", ApplyImmediately=True
    )
    wait_status(rds, "old", "available")
    with pytest.raises(ClientError) as exc:
        rds.modify_db_instance(
            DBInstanceIdentifier="old", CACertificateIdentifier="rds-ca-2019", ApplyImmediately=True
        )
    assert error_of(exc) == ("CertificateNotFound", 404)


def test_docdb_and_neptune(sandbox: SandboxHandle) -> None:
    rds = sandbox.client()
    rds.create_db_cluster(
        DBClusterIdentifier="docs",
        Engine="docdb",
        EngineVersion="3.6.0",
        MasterUsername="admin",
        MasterUserPassword="password1",
    )
    rds.create_db_instance(
        DBInstanceIdentifier="docs-1",
        DBInstanceClass="db.r5.large",
        Engine="docdb",
        DBClusterIdentifier="docs",
    )
    doc = describe(rds, "docs-1")
    assert (doc["Engine"], doc["EngineVersion"], doc["Endpoint"]["Port"]) == ("docdb", "3.6.0", 27017)
    assert doc["CertificateDetails"]["CAIdentifier"] == "rds-ca-rsa2048-g1"
    assert rds.describe_db_clusters(DBClusterIdentifier="docs")["DBClusters"][0]["Engine"] == "docdb"
    # DocumentDB 3.6 needs a reboot to rotate
    rds.modify_db_instance(
        DBInstanceIdentifier="docs-1", CACertificateIdentifier="rds-ca-rsa4096-g1", ApplyImmediately=True
    )
    assert "rebooting" in wait_status(rds, "docs-1", "available")
    rds.create_db_cluster(DBClusterIdentifier="graph", Engine="neptune")
    rds.create_db_instance(
        DBInstanceIdentifier="graph-1",
        DBInstanceClass="db.r5.large",
        Engine="neptune",
        DBClusterIdentifier="graph",
    )
    neptune = describe(rds, "graph-1")
    assert "CertificateDetails" not in neptune and "CACertificateIdentifier" not in neptune
    assert [d["Engine"] for d in rds.describe_db_instances()["DBInstances"]] == ["docdb", "neptune"]


# --- modify: pending, immediate, status sequence, errors ----------------------------------------


def test_modify_without_apply_immediately_stays_pending_until_the_window(sandbox: SandboxHandle) -> None:
    rds = sandbox.client()
    create(rds, "pg", version="12.20", CACertificateIdentifier="rds-ca-rsa4096-g1")
    answer = rds.modify_db_instance(DBInstanceIdentifier="pg", CACertificateIdentifier="rds-ca-rsa2048-g1")
    db = answer["DBInstance"]
    assert db["CACertificateIdentifier"] == "rds-ca-rsa4096-g1"
    assert db["PendingModifiedValues"] == {"CACertificateIdentifier": "rds-ca-rsa2048-g1"}
    time.sleep(0.4)  # longer than a reboot: nothing happens by itself
    db = describe(rds, "pg")
    assert db["DBInstanceStatus"] == "available" and db["CACertificateIdentifier"] == "rds-ca-rsa4096-g1"
    applied = sandbox.control.maintenance_window()
    assert [(a["id"], a["applied"]) for a in applied] == [("pg", "ca rds-ca-rsa4096-g1 -> rds-ca-rsa2048-g1")]
    db = describe(rds, "pg")
    assert db["CACertificateIdentifier"] == "rds-ca-rsa2048-g1" and db["PendingModifiedValues"] == {}
    assert db["CertificateDetails"]["CAIdentifier"] == "rds-ca-rsa2048-g1"
    assert db["CertificateDetails"]["ValidTill"] > datetime.now(UTC) + timedelta(days=3 * 365 - 2)


def test_apply_immediately_goes_through_modifying_and_rebooting(sandbox: SandboxHandle) -> None:
    sandbox.control.config(reboot_seconds=0.9, modify_seconds=0.3)  # phases a slow poller still sees
    rds = sandbox.client()
    create(rds, "needs-restart", version="12.20")
    create(rds, "no-restart", version="16.4")
    create(rds, "told-no-restart", version="12.20")
    started = time.monotonic()
    answer = rds.modify_db_instance(
        DBInstanceIdentifier="needs-restart",
        CACertificateIdentifier="rds-ca-rsa4096-g1",
        ApplyImmediately=True,
    )["DBInstance"]
    assert answer["DBInstanceStatus"] == "modifying"
    assert answer["PendingModifiedValues"] == {"CACertificateIdentifier": "rds-ca-rsa4096-g1"}
    rds.modify_db_instance(
        DBInstanceIdentifier="no-restart", CACertificateIdentifier="rds-ca-rsa4096-g1", ApplyImmediately=True
    )
    rds.modify_db_instance(
        DBInstanceIdentifier="told-no-restart",
        CACertificateIdentifier="rds-ca-rsa4096-g1",
        ApplyImmediately=True,
        CertificateRotationRestart=False,
    )
    assert wait_status(rds, "needs-restart", "available") == ["modifying", "rebooting", "available"]
    assert 0.85 < time.monotonic() - started < 3.0  # the configured 0.9 s
    assert wait_status(rds, "no-restart", "available") == ["available"]  # a third of it, done by now
    assert wait_status(rds, "told-no-restart", "available") == ["available"]
    for name in ("needs-restart", "no-restart", "told-no-restart"):
        db = describe(rds, name)
        assert db["CACertificateIdentifier"] == "rds-ca-rsa4096-g1" and db["PendingModifiedValues"] == {}
        # told not to restart, an engine that needs one keeps serving the old certificate (staged)
        served = "rds-ca-rsa2048-g1" if name == "told-no-restart" else "rds-ca-rsa4096-g1"
        assert db["CertificateDetails"]["CAIdentifier"] == served


def test_no_reboot_phase_for_restart_free_engines(sandbox: SandboxHandle) -> None:
    sandbox.control.config(reboot_seconds=0.9, modify_seconds=0.3)
    rds = sandbox.client()
    create(rds, "pg16", version="16.4")
    rds.modify_db_instance(
        DBInstanceIdentifier="pg16", CACertificateIdentifier="rds-ca-ecc384-g1", ApplyImmediately=True
    )
    assert wait_status(rds, "pg16", "available") == ["modifying", "available"]


def test_modify_errors(sandbox: SandboxHandle) -> None:
    rds = sandbox.client()
    create(rds, "pg", version="13.16")
    with pytest.raises(ClientError) as exc:
        rds.modify_db_instance(
            DBInstanceIdentifier="pg", CertificateRotationRestart=False, ApplyImmediately=True
        )
    assert error_of(exc)[0] == "InvalidParameterCombination"
    assert "CACertificateIdentifier is required" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        rds.modify_db_instance(
            DBInstanceIdentifier="pg", CACertificateIdentifier="rds-ca-2019", ApplyImmediately=True
        )
    assert error_of(exc) == ("CertificateNotFound", 404)
    with pytest.raises(ClientError) as exc:
        rds.modify_db_instance(DBInstanceIdentifier="nope", CACertificateIdentifier="rds-ca-rsa4096-g1")
    assert error_of(exc)[0] == "DBInstanceNotFound"
    rds.modify_db_instance(
        DBInstanceIdentifier="pg", CACertificateIdentifier="rds-ca-rsa4096-g1", ApplyImmediately=True
    )
    with pytest.raises(ClientError) as exc:
        rds.modify_db_instance(
            DBInstanceIdentifier="pg", CACertificateIdentifier="rds-ca-ecc384-g1", ApplyImmediately=True
        )
    assert error_of(exc) == ("InvalidDBInstanceState", 400)


def test_apply_immediately_later_applies_the_pending_change(sandbox: SandboxHandle) -> None:
    rds = sandbox.client()
    create(rds, "pg", version="16.4")
    rds.modify_db_instance(DBInstanceIdentifier="pg", CACertificateIdentifier="rds-ca-ecc384-g1")
    rds.modify_db_instance(DBInstanceIdentifier="pg", ApplyImmediately=True)
    wait_status(rds, "pg", "available")
    assert describe(rds, "pg")["CACertificateIdentifier"] == "rds-ca-ecc384-g1"


def test_reboot_goes_through_rebooting(sandbox: SandboxHandle) -> None:
    rds = sandbox.client()
    create(rds, "pg")
    assert rds.reboot_db_instance(DBInstanceIdentifier="pg")["DBInstance"]["DBInstanceStatus"] == "rebooting"
    assert wait_status(rds, "pg", "available")[-1] == "available"


# --- misbehaviour -------------------------------------------------------------------------------


def test_misbehaviours(sandbox: SandboxHandle) -> None:
    sandbox.control.config(modify_seconds=0.4)
    rds = sandbox.client()
    account = "123456789012"  # moto's default account, for the dummy keys
    for name in ("rejects", "hangs", "fails"):
        create(rds, name, version="13.16")
    ctl = sandbox.control
    ctl.misbehave(account, "us-east-1", "rejects", "reject")
    ctl.misbehave(account, "us-east-1", "hangs", "hang")
    ctl.misbehave(account, "us-east-1", "fails", "fail")
    change = {"CACertificateIdentifier": "rds-ca-rsa4096-g1", "ApplyImmediately": True}
    with pytest.raises(ClientError) as exc:
        rds.modify_db_instance(DBInstanceIdentifier="rejects", **change)
    assert error_of(exc) == ("InvalidDBInstanceState", 400)
    rds.modify_db_instance(DBInstanceIdentifier="rejects", **change)  # only the next one is refused
    rds.modify_db_instance(DBInstanceIdentifier="hangs", **change)
    rds.modify_db_instance(DBInstanceIdentifier="fails", **change)
    assert wait_status(rds, "fails", "failed") == ["modifying", "failed"]
    assert describe(rds, "fails")["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"
    time.sleep(0.5)  # longer than any finite change
    hung = describe(rds, "hangs")
    assert hung["DBInstanceStatus"] == "modifying"
    assert hung["PendingModifiedValues"] == {"CACertificateIdentifier": "rds-ca-rsa4096-g1"}
    assert ctl.misbehave(account, "us-east-1", "hangs", None)["status"] == "available"
    assert describe(rds, "hangs")["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"
    with pytest.raises(Exception, match="404"):
        ctl.misbehave(account, "us-east-1", "nope", "hang")


def test_apply_delay_shows_available_with_the_change_pending(sandbox: SandboxHandle) -> None:
    sandbox.control.config(apply_delay_seconds=0.6, modify_seconds=0.4, reboot_seconds=1.0)
    rds = sandbox.client()
    create(rds, "pg", version="12.20")
    answer = rds.modify_db_instance(
        DBInstanceIdentifier="pg", CACertificateIdentifier="rds-ca-rsa4096-g1", ApplyImmediately=True
    )["DBInstance"]
    assert answer["DBInstanceStatus"] == "available"  # like AWS, right after the call
    assert answer["PendingModifiedValues"] == {"CACertificateIdentifier": "rds-ca-rsa4096-g1"}
    assert wait_status(rds, "pg", "rebooting")[:2] == ["available", "modifying"]
    wait_status(rds, "pg", "available")
    assert describe(rds, "pg")["CACertificateIdentifier"] == "rds-ca-rsa4096-g1"
