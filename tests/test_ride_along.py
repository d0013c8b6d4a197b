"""Nothing rides along with the CA change unless the user says so (issue 9, item 1).

ApplyImmediately applies every pending modification of an instance, and the reboot that follows a
CA change applies the parameter and option groups waiting in pending-reboot. Audit and plan show
them, apply refuses them (exit 2, nothing sent) without --include-pending-changes, and a change
queued after planning is drift. Through the real CLI, against the sandbox over HTTP.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from rdsca.rollout import planfile
from support.cli import run
from support.sandbox import SandboxHandle

A1, US = "111111111111", "us-east-1"
G1 = "rds-ca-rsa2048-g1"
DB = "billing-prod-mysql"  # mysql 8.0.28: its CA change restarts it
KEY = f"{A1}/{US}/{DB}"
GROUP = "billing-mysql80"
FAST = ("--poll-interval", "0.05", "--yes")
RIDERS = f"instance class -> db.r6g.xlarge; parameter-group {GROUP} (pending-reboot)"


@pytest.fixture
def demo(sandbox_env: SandboxHandle) -> SandboxHandle:
    sandbox_env.control.seed_demo()
    return sandbox_env


def rds(sb: SandboxHandle) -> Any:
    return sb.client("rds", US, account=A1)


def describe(sb: SandboxHandle) -> dict[str, Any]:
    return dict(rds(sb).describe_db_instances(DBInstanceIdentifier=DB)["DBInstances"][0])


def queue_changes(sb: SandboxHandle) -> None:
    """A deferred instance-class change and a newly associated parameter group (pending-reboot)."""
    client = rds(sb)
    client.create_db_parameter_group(
        DBParameterGroupName=GROUP, DBParameterGroupFamily="mysql8.0", Description="billing"
    )
    client.modify_db_instance(
        DBInstanceIdentifier=DB, DBInstanceClass="db.r6g.xlarge", DBParameterGroupName=GROUP,
        ApplyImmediately=False,
    )  # fmt: skip


def make_plan(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> tuple[Path, str]:
    path = tmp_path / "plan.json"
    code, out, err = run(capsys, "plan", "--to", G1, "--id", DB, "-o", str(path), *args)
    assert code == 0, err
    return path, out


# -- the sandbox keeps what AWS keeps ------------------------------------------------------------


def test_sandbox_defers_settings_and_groups_until_applied_or_restarted(demo: SandboxHandle) -> None:
    before = describe(demo)["DBInstanceClass"]
    queue_changes(demo)
    db = describe(demo)
    assert db["DBInstanceClass"] == before  # moto alone would have changed it at once
    assert db["PendingModifiedValues"] == {"DBInstanceClass": "db.r6g.xlarge"}
    assert db["DBParameterGroups"] == [
        {"DBParameterGroupName": GROUP, "ParameterApplyStatus": "pending-reboot"}
    ]
    demo.control.pending_reboot(A1, US, DB, "option-group")
    assert describe(demo)["OptionGroupMemberships"][0]["Status"] == "pending-reboot"

    rds(demo).reboot_db_instance(DBInstanceIdentifier=DB)
    db = wait_available(demo)
    assert db["DBParameterGroups"][0]["ParameterApplyStatus"] == "in-sync"
    assert db["OptionGroupMemberships"][0]["Status"] == "in-sync"
    assert db["PendingModifiedValues"] == {"DBInstanceClass": "db.r6g.xlarge"}  # a reboot is no window

    applied = demo.control.maintenance_window(A1, US)
    assert any(a["id"] == DB and "DBInstanceClass" in a["applied"] for a in applied)
    db = describe(demo)
    assert db["DBInstanceClass"] == "db.r6g.xlarge" and db["PendingModifiedValues"] == {}


def test_sandbox_static_parameter_leaves_the_group_pending_reboot(demo: SandboxHandle) -> None:
    client = rds(demo)
    client.create_db_parameter_group(
        DBParameterGroupName=GROUP, DBParameterGroupFamily="mysql8.0", Description="billing"
    )
    client.modify_db_instance(DBInstanceIdentifier=DB, DBParameterGroupName=GROUP, ApplyImmediately=True)
    client.reboot_db_instance(DBInstanceIdentifier=DB)
    assert wait_available(demo)["DBParameterGroups"][0]["ParameterApplyStatus"] == "in-sync"
    client.modify_db_parameter_group(
        DBParameterGroupName=GROUP,
        Parameters=[{"ParameterName": "innodb_buffer_pool_size", "ParameterValue": "1024",
                     "ApplyMethod": "pending-reboot"}],
    )  # fmt: skip
    assert describe(demo)["DBParameterGroups"][0]["ParameterApplyStatus"] == "pending-reboot"


def wait_available(sb: SandboxHandle, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        db = describe(sb)
        if db["DBInstanceStatus"] == "available" or time.monotonic() > deadline:
            return db
        time.sleep(0.05)


# -- audit, plan, apply --------------------------------------------------------------------------


def test_audit_lists_the_pending_changes(demo: SandboxHandle, capsys: pytest.CaptureFixture[str]) -> None:
    queue_changes(demo)
    code, out, _ = run(capsys, "audit", "--format", "json", "--id", DB)
    assert code in (0, 3)
    (inst,) = json.loads(out)["instances"]
    assert inst["pending_changes"] == [
        {"kind": "modification", "name": "instance_class", "value": "db.r6g.xlarge"},
        {"kind": "parameter-group", "name": GROUP, "value": None},
    ]
    _, table, _ = run(capsys, "audit", "--id", DB)
    assert "a CA change also applies: instance class -> db.r6g.xlarge" in table
    _, markdown, _ = run(capsys, "audit", "--format", "markdown", "--id", DB)
    assert f"parameter-group {GROUP} (pending-reboot)" in markdown


def test_plan_lists_them_and_apply_refuses_before_sending(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    queue_changes(demo)
    plan, text = make_plan(capsys, tmp_path)
    assert f"also applied by this change: {RIDERS}" in text
    (step,) = json.loads(plan.read_text())["steps"]
    assert step["also_applies"] == RIDERS.split("; ")
    _, markdown = make_plan(capsys, tmp_path, "--format", "markdown")
    assert "### Also applied by these changes (1)" in markdown

    demo.control.reset_calls()
    code, out, err = run(capsys, "apply", str(plan), "--journal", str(tmp_path / "j.sqlite"), *FAST)
    assert code == 2, out + err
    assert f"{KEY}: {RIDERS.replace('; ', ', ')}" in err and "--include-pending-changes" in err
    assert demo.control.call_count("ModifyDBInstance") == 0
    assert describe(demo)["CACertificateIdentifier"] != G1


def test_include_pending_changes_applies_them_with_the_ca(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    queue_changes(demo)
    plan, _ = make_plan(capsys, tmp_path)
    journal = ("--journal", str(tmp_path / "j.sqlite"))
    code, out, err = run(capsys, "apply", str(plan), "--include-pending-changes", *journal, *FAST)
    assert code == 0, out + err
    db = describe(demo)
    assert db["CACertificateIdentifier"] == G1
    assert db["DBInstanceClass"] == "db.r6g.xlarge" and db["PendingModifiedValues"] == {}
    assert db["DBParameterGroups"][0]["ParameterApplyStatus"] == "in-sync"  # the CA reboot applied it


def test_a_change_queued_after_planning_is_drift(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan, text = make_plan(capsys, tmp_path)
    assert "also applied" not in text
    queue_changes(demo)
    demo.control.reset_calls()
    journal = ("--journal", str(tmp_path / "j.sqlite"))
    code, out, err = run(capsys, "apply", str(plan), "--include-pending-changes", *journal, *FAST)
    assert code == 2, out + err
    assert f"{KEY}: pending changes - -> {RIDERS}" in err
    assert demo.control.call_count("ModifyDBInstance") == 0


def test_no_restart_leaves_groups_behind_and_old_plan_files_still_load(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    queue_changes(demo)
    plan, _ = make_plan(capsys, tmp_path, "--restart", "never")
    (step,) = json.loads(plan.read_text())["steps"]
    assert step["also_applies"] == ["instance class -> db.r6g.xlarge"]  # no reboot: groups wait

    doc = json.loads(plan.read_text())  # a plan file from before `also_applies`: none ride along
    del doc["steps"][0]["also_applies"]
    doc["checksum"] = planfile._checksum(doc)
    assert planfile.loads(json.dumps(doc)).steps[0].also_applies == ()
