"""Multi-AZ DB clusters: one ModifyDBCluster per cluster, every member rotated, verified, rolled back.

A Multi-AZ DB cluster (engine postgres/mysql with a cluster id, not Aurora) is created over HTTP
in the sandbox: `CreateDBCluster` with the engine and `DBClusterInstanceClass`, then one
`CreateDBInstance` per member with `DBClusterIdentifier` (moto creates no members by itself).
Rotation goes through the real CLI (`main([...])`).
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from rdsca.rollout.journal import Journal
from support import crash
from support.cli import run
from support.sandbox import SandboxHandle

A1 = "111111111111"
US = "us-east-1"
FROM, TO = "rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1"  # both G1: a rollback can go back
MAZ, MEMBERS = "ledger-maz", ("ledger-maz-1", "ledger-maz-2", "ledger-maz-3")
AURORA, AURORA_MEMBERS = "catalog-aur", ("catalog-aur-1", "catalog-aur-2")
POLL = 0.1


def _create(rds: Any, cluster: str, engine: str, version: str, members: tuple[str, ...]) -> None:
    tags = [{"Key": "env", "Value": "staging"}]
    multi_az: dict[str, Any] = {}
    if not engine.startswith("aurora"):  # what AWS requires of a Multi-AZ DB cluster
        multi_az = {"DBClusterInstanceClass": "db.m5d.large", "AllocatedStorage": 100, "StorageType": "io1",
                    "Iops": 1000}  # fmt: skip
    rds.create_db_cluster(DBClusterIdentifier=cluster, Engine=engine, EngineVersion=version,
                          MasterUsername="admin", MasterUserPassword="sandbox-password", Tags=tags,
                          **multi_az)  # fmt: skip
    for n, member in enumerate(members):
        rds.create_db_instance(DBInstanceIdentifier=member, DBInstanceClass="db.m5d.large", Engine=engine,
                               DBClusterIdentifier=cluster, AvailabilityZone=f"{US}{'abc'[n]}",
                               Tags=tags)  # fmt: skip


@pytest.fixture
def clusters(sandbox_env: SandboxHandle, monkeypatch: pytest.MonkeyPatch) -> SandboxHandle:
    """A Multi-AZ DB cluster (postgres 12.20: needs a restart) and an Aurora cluster, both staging."""
    monkeypatch.setenv("RDSCA_REGIONS", US)
    rds = sandbox_env.client("rds", US, account=A1)
    _create(rds, MAZ, "postgres", "12.20", MEMBERS)
    _create(rds, AURORA, "aurora-postgresql", "14.9", AURORA_MEMBERS)
    sandbox_env.control.reset_calls()
    return sandbox_env


def plan(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> tuple[Path, str]:
    path = tmp_path / "plan.json"
    code, out, err = run(capsys, "plan", "--to", TO, "--wave-tag", "env", "-o", str(path), *args)
    assert code == 0, err
    return path, out


def members(sb: SandboxHandle, ids: tuple[str, ...] = MEMBERS) -> dict[str, dict[str, Any]]:
    rds = sb.client("rds", US, account=A1)
    found = rds.describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": list(ids)}])
    return {d["DBInstanceIdentifier"]: d for d in found["DBInstances"]}


def run_id_of(out: str) -> str:
    return next(line.split()[1] for line in out.splitlines() if line.startswith("run "))


def test_plan_has_one_modify_cluster_step_for_the_cluster(
    clusters: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path, out = plan(capsys, tmp_path)
    steps = json.loads(path.read_text())["steps"]
    maz = [s for s in steps if s["kind"] == "modify-cluster"]
    assert len(maz) == 1 and maz[0]["id"] == MAZ and tuple(maz[0]["members"]) == MEMBERS
    assert not [s for s in steps if s["id"] in MEMBERS]  # no step per member
    assert sorted(s["id"] for s in steps if s["kind"] == "modify-instance") == list(AURORA_MEMBERS)
    lines = [line for line in out.splitlines() if f"/{MAZ}" in line]
    assert len(lines) == 1 and f"/{MAZ}: {FROM} -> {TO}" in lines[0]
    assert f"members {', '.join(MEMBERS)}" in out
    # --restart never cannot be honoured by ModifyDBCluster: the cluster is skipped, with the reason
    path, out = plan(capsys, tmp_path, "--restart", "never")
    assert all(s["kind"] == "modify-instance" for s in json.loads(path.read_text())["steps"])
    assert "Multi-AZ DB cluster's CA change (modify_db_cluster) always restarts" in out
    assert clusters.control.call_count("ModifyDBCluster") == 0


def test_apply_sends_one_modify_db_cluster_then_rollback_returns_every_member(
    clusters: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    before = {i: d["CertificateDetails"]["ValidTill"] for i, d in members(clusters).items()}
    path, _ = plan(capsys, tmp_path)
    journal = tmp_path / "j.sqlite"
    clusters.control.reset_calls()
    started = time.monotonic()
    code, out, err = run(capsys, "apply", str(path), "--journal", str(journal), "--yes",
                         "--poll-interval", str(POLL))  # fmt: skip
    elapsed = time.monotonic() - started
    assert code == 0, out + err
    calls = clusters.control.calls()["by_action"]
    assert calls.get("ModifyDBCluster") == 1  # one call for the Multi-AZ cluster, none for Aurora
    assert calls.get("ModifyDBInstance") == len(AURORA_MEMBERS)  # the Aurora members only
    # Batched polls: one describe per poll for the whole cluster (3 ids in one filter), plus the
    # drift check and the wave read; one call per member would need three times as many.
    assert calls["DescribeDBInstances"] <= 2 + math.ceil(elapsed / POLL) + 1
    for member, raw in members(clusters).items():
        assert raw["CACertificateIdentifier"] == TO and raw["CertificateDetails"]["CAIdentifier"] == TO
        assert raw["CertificateDetails"]["ValidTill"] != before[member]  # a renewed server certificate
        assert raw["DBInstanceStatus"] == "available" and not raw["PendingModifiedValues"]
    run_id = run_id_of(out)
    j = Journal(journal)
    step = next(s for s in j.steps(run_id) if s.ident == MAZ)
    assert (step.kind, step.status, step.before_ca, step.after_ca) == ("modify-cluster", "verified", FROM, TO)
    seen = {e.detail.get("status") for e in j.events(run_id, step.key) if e.event == "status-seen"}
    assert "rebooting" in seen  # postgres 12.20 restarts: modifying -> rebooting -> available
    sending = next(e for e in j.events(run_id, step.key) if e.event == "modify-sending")
    assert set(sending.detail["members_valid_till"]) == set(MEMBERS)

    code, out, err = run(capsys, "rollback", run_id, "--journal", str(journal), "--yes",
                         "--poll-interval", str(POLL))  # fmt: skip
    assert code == 0, out + err
    assert clusters.control.call_count("ModifyDBCluster") == 2
    for raw in members(clusters).values():
        assert raw["CACertificateIdentifier"] == FROM and raw["CertificateDetails"]["CAIdentifier"] == FROM
    for raw in members(clusters, AURORA_MEMBERS).values():
        assert raw["CACertificateIdentifier"] == FROM
    assert {s.status for s in j.steps(run_id)} == {"rolled-back"}


def test_resume_after_a_crash_never_sends_modify_db_cluster_twice(
    clusters: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path, _ = plan(capsys, tmp_path, "--id", "ledger-*")
    journal = tmp_path / "j.sqlite"
    args = [*crash.COMMAND, "modify-sent:1", "apply", str(path),  # the call returned, not journalled
            "--journal", str(journal), "--yes", "--poll-interval", str(POLL)]  # fmt: skip
    proc = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    run_id = Journal(journal).runs()[-1].id
    code, out, err = run(capsys, "resume", run_id, "--journal", str(journal), "--yes",
                         "--poll-interval", str(POLL))  # fmt: skip
    assert code == 0, out + err
    assert clusters.control.call_count("ModifyDBCluster") == 1
    events = [e.event for e in Journal(journal).events(run_id) if e.step_key and e.step_key.endswith(MAZ)]
    assert "modify-assumed-accepted" in events and events[-1] == "verified"
    assert {raw["CACertificateIdentifier"] for raw in members(clusters).values()} == {TO}


def test_sandbox_modify_db_cluster_validates_and_refuses_aurora(clusters: SandboxHandle) -> None:
    rds = clusters.client("rds", US, account=A1)

    def error(**kwargs: Any) -> str:
        with pytest.raises(botocore.exceptions.ClientError) as info:
            rds.modify_db_cluster(ApplyImmediately=True, **kwargs)
        return str(info.value.response["Error"]["Code"])

    assert error(DBClusterIdentifier=MAZ, CACertificateIdentifier="rds-ca-2019") == "CertificateNotFound"
    assert error(DBClusterIdentifier=AURORA, CACertificateIdentifier=TO) == "InvalidParameterCombination"
    assert (
        error(DBClusterIdentifier="no-such-cluster", CACertificateIdentifier=TO) == "DBClusterNotFoundFault"
    )
    with pytest.raises(botocore.exceptions.ClientError, match="Multi-AZ DB cluster"):
        rds.modify_db_instance(DBInstanceIdentifier=MEMBERS[0], CACertificateIdentifier=TO)
    assert {raw["CACertificateIdentifier"] for raw in members(clusters).values()} == {FROM}
    # ApplyImmediately=False: pending on every member until the maintenance window
    rds.modify_db_cluster(DBClusterIdentifier=MAZ, CACertificateIdentifier=TO, ApplyImmediately=False)
    raws = members(clusters).values()
    assert {r["PendingModifiedValues"].get("CACertificateIdentifier") for r in raws} == {TO}
    assert {r["CACertificateIdentifier"] for r in raws} == {FROM}
    clusters.control.maintenance_window(account=A1, region=US)
    assert {r["CertificateDetails"]["CAIdentifier"] for r in members(clusters).values()} == {TO}
