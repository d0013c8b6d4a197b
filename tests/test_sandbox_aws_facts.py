"""The sandbox behaves as AWS's published answers say, through boto3 over HTTP (issue 9, items 3-4).

Each test names the published fact it checks; `rdsca.sandbox.engines` cites the sources.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rdsca.cli.app import main
from rdsca.sandbox import demo, engines, fleet
from rdsca.sandbox.control import ControlError
from support.sandbox import SandboxHandle

G1, RSA4096, ECC384 = "rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"
G1_ALL = [G1, RSA4096, ECC384]
YEAR = timedelta(days=365)


def create(rds: Any, instance_id: str, engine: str, version: str, **kw: Any) -> dict[str, Any]:
    return dict(
        rds.create_db_instance(
            DBInstanceIdentifier=instance_id,
            DBInstanceClass="db.t3.micro",
            Engine=engine,
            EngineVersion=version,
            MasterUsername="admin",
            MasterUserPassword="password1",
            **kw,
        )["DBInstance"]
    )


def describe(rds: Any, instance_id: str) -> dict[str, Any]:
    return dict(rds.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"][0])


# The session's sandbox reboots in 0.3 s, and a change without restart stays `modifying` a third of
# that: a poll on a loaded CI machine can miss it whole (seen once, on 2026-12-02). These tests read
# the statuses between polls, so the sandbox plays them three times slower here.
FACTS_REBOOT_SECONDS = 0.9


@pytest.fixture(autouse=True)
def _slower_reboots(request: pytest.FixtureRequest) -> None:
    if "sandbox" in request.fixturenames:  # sandbox_env asks for it too
        request.getfixturevalue("sandbox").control.config(reboot_seconds=FACTS_REBOOT_SECONDS)


def wait_available(
    rds: Any, instance_id: str, timeout: float = 30.0, moved: bool = True, ca: str | None = None
) -> list[str]:
    """Poll until `available` with nothing pending (after a status change, when `moved`; once the
    instance reports `ca`, when given, whether or not a status change was seen); the distinct
    statuses seen, in order. The timeout is far above the sandbox's 0.9 s reboot: the sandbox serves
    from a thread of this test process, and at load 5-6 a 10 s wait once saw only `rebooting`."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db = describe(rds, instance_id)
        status = db["DBInstanceStatus"]
        if not seen or seen[-1] != status:
            seen.append(status)
        settled = status == "available" and not db["PendingModifiedValues"]
        done = db["CACertificateIdentifier"] == ca if ca is not None else len(seen) > 1 or not moved
        if settled and done:
            return seen
        time.sleep(0.03)
    raise AssertionError(f"{instance_id} never settled: {seen}")


def modify(rds: Any, instance_id: str, ca: str | None = None, **kw: Any) -> None:
    args: dict[str, Any] = {"DBInstanceIdentifier": instance_id, **kw}
    if ca is not None:
        args["CACertificateIdentifier"] = ca
    rds.modify_db_instance(**args)


# --- DescribeDBEngineVersions: the published answers -------------------------------------------


def one_version(rds: Any, engine: str, version: str) -> dict[str, Any]:
    found = rds.describe_db_engine_versions(Engine=engine, EngineVersion=version)["DBEngineVersions"]
    assert len(found) == 1, found
    return dict(found[0])


@pytest.mark.parametrize(
    ("engine", "version", "without_restart"),
    [
        ("postgres", "13.4", True),  # RDS User Guide, UsingWithRDS.SSL sample output
        ("mariadb", "10.6.16", True),  # published CLI output, 2024-08
        ("mysql", "5.7.33", False),  # issue 9
        ("aurora-mysql", "5.7.mysql_aurora.2.11.1", False),  # up to 2.11.1: false
        ("aurora-mysql", "5.7.mysql_aurora.2.11.2", True),  # later 2.x: true
        ("aurora-mysql", "8.0.mysql_aurora.3.05.2", True),  # all 3.x: true
        ("aurora-mysql", "8.0.mysql_aurora.3.07.1", True),
        ("docdb", "4.0.0", True),  # DocumentDB guide: 4.0 / 5.0 no reboot, 3.6 reboot
        ("docdb", "3.6.0", False),
    ],
)
def test_published_answers(sandbox: SandboxHandle, engine: str, version: str, without_restart: bool) -> None:
    answer = one_version(sandbox.client(), engine, version)
    assert answer["SupportsCertificateRotationWithoutRestart"] is without_restart
    assert sorted(answer["SupportedCACertificateIdentifiers"]) == sorted(G1_ALL)


def test_every_seeded_and_tested_version_has_an_answer(sandbox: SandboxHandle) -> None:
    rds = sandbox.client()
    used = {(c.engine, c.version) for c in demo.CLUSTERS}
    used |= {(i.engine, i.version) for i in demo.INSTANCES if not i.cluster and not i.replica_of}
    used |= set(fleet.SYNTHETIC_ENGINES)
    used |= {("postgres", "13.16"), ("mysql", "5.7.44"), ("aurora-postgresql", "14.9")}  # in tests
    for engine, version in sorted(used):
        answer = one_version(rds, engine, version)
        if engines.managed(engine):
            assert isinstance(answer["SupportsCertificateRotationWithoutRestart"], bool), (engine, version)
        else:
            assert "SupportsCertificateRotationWithoutRestart" not in answer
    # every rule says where it comes from, and what nobody knows is answered with a restart
    assert all(rule.source for rule in engines.RULES)
    assert all(rule.without_restart is False for rule in engines.RULES if rule.basis == "unknown")


def test_an_unknown_version_is_answered_with_a_restart(sandbox: SandboxHandle) -> None:
    """Nobody published postgres 11.x: the cautious answer (a restart) is played."""
    rds = sandbox.client()
    assert rds.describe_db_engine_versions(Engine="postgres", EngineVersion="11.22")["DBEngineVersions"] == []
    create(rds, "pg11", "postgres", "11.22")
    modify(rds, "pg11", ECC384, ApplyImmediately=True)
    assert "rebooting" in wait_available(rds, "pg11")
    assert describe(rds, "pg11")["CertificateDetails"]["CAIdentifier"] == ECC384


# --- CertificateRotationRestart=False: staged until the next restart ----------------------------


def test_no_restart_change_is_recorded_but_the_old_certificate_is_served_until_a_reboot(
    sandbox: SandboxHandle,
) -> None:
    rds = sandbox.client()
    create(rds, "my57", "mysql", "5.7.33")  # reports false: needs a restart
    before = describe(rds, "my57")["CertificateDetails"]
    modify(rds, "my57", ECC384, ApplyImmediately=True, CertificateRotationRestart=False)
    assert "rebooting" not in wait_available(rds, "my57")
    db = describe(rds, "my57")
    assert db["CACertificateIdentifier"] == ECC384  # recorded
    assert db["CertificateDetails"] == before  # still the old server certificate
    assert db["PendingModifiedValues"] == {}

    rds.reboot_db_instance(DBInstanceIdentifier="my57")
    assert "rebooting" in wait_available(rds, "my57")
    details = describe(rds, "my57")["CertificateDetails"]
    assert details["CAIdentifier"] == ECC384
    assert abs(details["ValidTill"] - (datetime.now(UTC) + 3 * YEAR)) < timedelta(minutes=5)


def test_no_restart_change_on_an_engine_that_rotates_live_is_served_at_once(sandbox: SandboxHandle) -> None:
    rds = sandbox.client()
    create(rds, "pg134", "postgres", "13.4")
    modify(rds, "pg134", ECC384, ApplyImmediately=True, CertificateRotationRestart=False)
    assert "rebooting" not in wait_available(rds, "pg134")
    details = describe(rds, "pg134")["CertificateDetails"]
    assert details["CAIdentifier"] == ECC384
    assert abs(details["ValidTill"] - (datetime.now(UTC) + YEAR)) < timedelta(minutes=5)  # 1-year leaf


def test_a_deferred_change_keeps_its_no_restart_flag(sandbox: SandboxHandle) -> None:
    rds = sandbox.client()
    for name in ("later-now", "later-window"):
        create(rds, name, "mysql", "8.0.28")  # no published answer: a restart
        modify(rds, name, RSA4096, ApplyImmediately=False, CertificateRotationRestart=False)
        assert describe(rds, name)["PendingModifiedValues"] == {"CACertificateIdentifier": RSA4096}
    modify(rds, "later-now", ApplyImmediately=True)  # applies the pending change, flag and all
    assert "rebooting" not in wait_available(rds, "later-now")
    sandbox.control.maintenance_window(transition=True)
    assert "rebooting" not in wait_available(rds, "later-window")
    for name in ("later-now", "later-window"):
        db = describe(rds, name)
        assert (db["CACertificateIdentifier"], db["CertificateDetails"]["CAIdentifier"]) == (RSA4096, G1)


def test_a_later_change_with_restart_serves_the_staged_certificate(sandbox: SandboxHandle) -> None:
    rds = sandbox.client()
    create(rds, "aur2", "mysql", "5.7.44")
    modify(rds, "aur2", ECC384, ApplyImmediately=True, CertificateRotationRestart=False)
    wait_available(rds, "aur2", ca=ECC384)
    modify(rds, "aur2", RSA4096, ApplyImmediately=True)  # with restart (the default)
    assert "rebooting" in wait_available(rds, "aur2")
    db = describe(rds, "aur2")
    assert db["CACertificateIdentifier"] == db["CertificateDetails"]["CAIdentifier"] == RSA4096


def test_the_endpoint_presents_the_old_chain_until_the_restart(
    sandbox_env: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox_env.control.seed_demo()
    item = demo.instance("shop-staging-mysql")  # mysql 8.0.28 on the retired rds-ca-2019
    port = next(e["port"] for e in sandbox_env.control.endpoints() if e["instance_id"] == item.id)
    rds = sandbox_env.client("rds", item.region, account=item.account)

    def served() -> str:
        assert main(["probe", f"localhost:{port}", "--protocol", "mysql", "--format", "json"]) in (0, 1)
        result = json.loads(capsys.readouterr().out)["results"][0]
        assert result["outcome"] == "tls", result
        return str(result["rds_ca"]["ca_id"])

    assert served() == "rds-ca-2019"
    modify(rds, item.id, G1, ApplyImmediately=True, CertificateRotationRestart=False)
    assert "rebooting" not in wait_available(rds, item.id)
    assert describe(rds, item.id)["CACertificateIdentifier"] == G1
    assert served() == "rds-ca-2019"  # staged: clients still see the old chain
    rds.reboot_db_instance(DBInstanceIdentifier=item.id)
    wait_available(rds, item.id)
    assert served() == G1


# --- the pending window and the timing profiles -----------------------------------------------


def test_an_immediate_change_stays_pending_while_available_first(sandbox: SandboxHandle) -> None:
    sandbox.control.config(apply_delay_seconds=0.8)
    rds = sandbox.client()
    create(rds, "pending", "postgres", "16.4")
    modify(rds, "pending", ECC384, ApplyImmediately=True)
    db = describe(rds, "pending")
    assert db["DBInstanceStatus"] == "available"
    assert db["PendingModifiedValues"] == {"CACertificateIdentifier": ECC384}
    assert db["CACertificateIdentifier"] == G1
    seen = wait_available(rds, "pending")
    assert seen[:2] == ["available", "modifying"]
    assert describe(rds, "pending")["CACertificateIdentifier"] == ECC384


def test_timing_profiles(sandbox: SandboxHandle) -> None:
    realistic = sandbox.control.config(profile="realistic")
    assert realistic["apply_delay_seconds"] >= 60 and realistic["modify_seconds"] >= 60
    assert 60 <= realistic["reboot_seconds"] - realistic["modify_seconds"] <= 120  # "< two minutes"
    rds = sandbox.client()
    create(rds, "slow", "mysql", "8.0.28")
    modify(rds, "slow", ECC384, ApplyImmediately=True)
    time.sleep(0.5)
    db = describe(rds, "slow")
    assert (db["DBInstanceStatus"], db["PendingModifiedValues"]) == (
        "available",
        {"CACertificateIdentifier": ECC384},
    )
    fast = sandbox.control.config(profile="fast", reboot_seconds=0.3)
    assert (fast["apply_delay_seconds"], fast["reboot_seconds"]) == (0.0, 0.3)
    with pytest.raises(ControlError, match="profile must be one of"):
        sandbox.control.config(profile="glacial")


# --- Multi-AZ DB clusters and CA ids in any case ------------------------------------------------


def create_multi_az(rds: Any, cluster: str, ca: str | None = None) -> None:
    extra = {"CACertificateIdentifier": ca} if ca else {}
    rds.create_db_cluster(DBClusterIdentifier=cluster, Engine="postgres", EngineVersion="13.4",
                          MasterUsername="admin", MasterUserPassword="sandbox-password",
                          DBClusterInstanceClass="db.m5d.large", AllocatedStorage=100, StorageType="io1",
                          Iops=1000)  # fmt: skip
    for n in range(2):
        rds.create_db_instance(DBInstanceIdentifier=f"{cluster}-{n}", DBInstanceClass="db.m5d.large",
                               Engine="postgres", DBClusterIdentifier=cluster, **extra)  # fmt: skip


def test_a_multi_az_db_cluster_carries_certificate_details(sandbox: SandboxHandle) -> None:
    rds = sandbox.client()
    create_multi_az(rds, "maz")
    cluster = rds.describe_db_clusters(DBClusterIdentifier="maz")["DBClusters"][0]
    assert cluster["CertificateDetails"]["CAIdentifier"] == G1
    assert cluster["CertificateDetails"]["ValidTill"] > datetime.now(UTC) + 300 * 24 * timedelta(hours=1)
    rds.modify_db_cluster(DBClusterIdentifier="maz", CACertificateIdentifier="RDS-CA-ECC384-G1",
                          ApplyImmediately=True)  # fmt: skip
    for n in range(2):
        wait_available(rds, f"maz-{n}", moved=False)
    cluster = rds.describe_db_clusters(DBClusterIdentifier="maz")["DBClusters"][0]
    assert cluster["CertificateDetails"]["CAIdentifier"] == ECC384
    rds.create_db_cluster(DBClusterIdentifier="aur", Engine="aurora-postgresql", EngineVersion="14.9",
                          MasterUsername="admin", MasterUserPassword="sandbox-password")  # fmt: skip
    create(rds, "aur-1", "aurora-postgresql", "14.9", DBClusterIdentifier="aur")
    aurora = rds.describe_db_clusters(DBClusterIdentifier="aur")["DBClusters"][0]
    assert "CertificateDetails" not in aurora  # Aurora: the CA is per instance


def test_ca_ids_are_accepted_in_any_case_and_stored_lower_case(sandbox: SandboxHandle) -> None:
    rds = sandbox.client()
    made = create(rds, "upper", "postgres", "16.4", CACertificateIdentifier="RDS-CA-RSA4096-G1")
    assert made["CACertificateIdentifier"] == RSA4096
    assert made["CertificateDetails"]["CAIdentifier"] == RSA4096
    modify(rds, "upper", "Rds-Ca-Ecc384-G1", ApplyImmediately=True)
    wait_available(rds, "upper", ca=ECC384)
    assert describe(rds, "upper")["CACertificateIdentifier"] == ECC384
    answer = rds.modify_certificates(CertificateIdentifier="RDS-CA-RSA4096-G1")
    assert answer["Certificate"]["CertificateIdentifier"] == RSA4096
    assert rds.describe_certificates()["DefaultCertificateForNewLaunches"] == RSA4096
    rds.modify_certificates(RemoveCustomerOverride=True)
