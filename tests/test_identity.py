"""Instances are known by DbiResourceId as well as by name: a re-created or switched-over instance
(Blue/Green: the green instance takes the name, not the id) or a renamed one is recognised, and a
name held by another instance is never written."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from rdsca.cli.app import main
from rdsca.rollout.journal import Journal
from support import crash
from support.sandbox import SandboxHandle

A1, US = "111111111111", "us-east-1"
FAST = ("--poll-interval", "0.05", "--yes")


def create(rds: Any, name: str) -> str:
    raw = rds.create_db_instance(
        DBInstanceIdentifier=name, Engine="postgres", EngineVersion="16.4", DBInstanceClass="db.t3.micro",
        AllocatedStorage=20, MasterUsername="app", MasterUserPassword="sandbox-password-1",
        CACertificateIdentifier="rds-ca-rsa4096-g1",
    )  # fmt: skip
    return str(raw["DBInstance"]["DbiResourceId"])


@pytest.fixture
def rds(sandbox_env: SandboxHandle, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("RDSCA_REGIONS", US)
    client = sandbox_env.client("rds", US, account=A1)
    create(client, "idt-orders")
    return client


def plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "plan.json"
    assert main(["plan", "--to", "rds-ca-rsa2048-g1", "--id", "idt-*", "-o", str(path)]) == 0, (
        capsys.readouterr()
    )
    capsys.readouterr()
    return path


def recreate(rds: Any, name: str) -> None:
    rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)
    create(rds, name)


def test_each_instance_has_its_own_resource_id(rds: Any) -> None:
    first = rds.describe_db_instances(DBInstanceIdentifier="idt-orders")["DBInstances"][0]["DbiResourceId"]
    other = create(rds, "idt-other")
    assert first.startswith("db-") and len(first) == 29 and other != first


def test_a_switched_over_instance_is_refused_before_any_call(
    rds: Any, sandbox_env: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = plan(tmp_path, capsys)
    recreate(rds, "idt-orders")  # same name, another instance: what a Blue/Green switchover leaves
    sandbox_env.control.reset_calls()
    code = main(["apply", str(path), "--journal", str(tmp_path / "j"), *FAST])
    _, err = capsys.readouterr()
    assert code == 2 and "another instance holds this name now" in err and "Blue/Green" in err, err
    assert sandbox_env.control.call_count("ModifyDBInstance") == 0


def test_a_renamed_instance_is_named_as_renamed(
    rds: Any, sandbox_env: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = plan(tmp_path, capsys)
    rds.modify_db_instance(DBInstanceIdentifier="idt-orders", NewDBInstanceIdentifier="idt-orders-v2",
                           ApplyImmediately=True)  # fmt: skip
    code = main(["apply", str(path), "--journal", str(tmp_path / "j"), *FAST])
    _, err = capsys.readouterr()
    assert code == 2 and "renamed to idt-orders-v2" in err, err


def test_resume_never_writes_a_name_that_another_instance_took(
    rds: Any, sandbox_env: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path, journal = plan(tmp_path, capsys), tmp_path / "j.sqlite"
    proc = subprocess.run([*crash.COMMAND, "modify-sending:1", "apply", str(path), "--journal", str(journal),
                           *FAST], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode < 0, proc.stdout + proc.stderr  # killed before the call went out
    recreate(rds, "idt-orders")
    sandbox_env.control.reset_calls()
    run_id = Journal(journal).runs()[-1].id
    code = main(["resume", run_id, "--journal", str(journal), *FAST])
    out, _ = capsys.readouterr()
    assert code == 1 and "is another instance now" in out, out
    assert sandbox_env.control.call_count("ModifyDBInstance") == 0
