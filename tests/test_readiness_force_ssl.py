"""`rdsca readiness` reads the instance's DB parameter group for `rds.force_ssl` /
`require_secure_transport`: a client that verifies, fails, then falls back to plaintext keeps
connecting where the group lets the server admit plaintext, and breaks where it forbids it.

Through the CLI against the sandbox: the groups are made with boto3 (moto serves
CreateDBParameterGroup, ModifyDBParameterGroup and DescribeDBParameters for custom groups).
"""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from rdsca.cli.app import main
from rdsca.sandbox import demo
from support.sandbox import SandboxHandle

G1 = "rds-ca-rsa2048-g1"
OLD_AWS = Path(str(resources.files("rdsca.catalog") / "data")) / "rds-combined-ca-bundle-2019.pem"
PLAIN_15, FORCED_13 = "orders-prod-pg", "reports-staging-pg"  # demo: PostgreSQL 15.8 and 13.16
REPLICA_15 = "orders-prod-pg-replica-1"  # 15.8
IDS = ("--id", PLAIN_15, "--id", FORCED_13)


def group(sb: SandboxHandle, name: str, family: str, parameter: str, value: str, *instances: str) -> None:
    """A custom DB parameter group setting `parameter`, attached to `instances` (demo account A1)."""
    rds = sb.client(account=demo.A1, region=demo.US)
    rds.create_db_parameter_group(DBParameterGroupName=name, DBParameterGroupFamily=family, Description=name)
    rds.modify_db_parameter_group(
        DBParameterGroupName=name,
        Parameters=[{"ParameterName": parameter, "ParameterValue": value, "ApplyMethod": "immediate"}],
    )
    for instance in instances:
        rds.modify_db_instance(
            DBInstanceIdentifier=instance, DBParameterGroupName=name, ApplyImmediately=True
        )


@pytest.fixture
def prefer_tree(tmp_path: Path) -> Path:
    """A service whose libpq client verifies against the 2019 root only, then falls back."""
    tree = tmp_path / "orders-service"
    (tree / "certs").mkdir(parents=True)
    shutil.copy(OLD_AWS, tree / "certs" / "rds-ca-2019-root.pem")
    (tree / "deploy.env").write_text("PGSSLMODE=prefer\nPGSSLROOTCERT=/certs/rds-ca-2019-root.pem\n")
    return tree


def readiness(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, dict[str, Any]]]:
    code = main(["readiness", "--to", G1, "--no-probe", "--region", demo.US, "--format", "json", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    return code, {i["id"]: i for i in json.loads(out)["instances"]}


def finding(inst: dict[str, Any], field: str) -> str:
    return next(r for r in inst[field] if "deploy.env:1" in r)


def test_the_parameter_group_decides_whether_a_prefer_client_falls_back_or_breaks(
    demo: SandboxHandle, prefer_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Each against its engine version's default: 15 forces TLS, 13 does not.
    group(demo, "pg15-plaintext", "postgres15", "rds.force_ssl", "0", PLAIN_15, REPLICA_15)
    group(demo, "pg13-forced", "postgres13", "rds.force_ssl", "1", FORCED_13)
    demo.control.reset_calls()

    code, found = readiness(capsys, "--scan", str(prefer_tree), *IDS, "--id", REPLICA_15)
    assert code == 3  # the forced one is at risk

    # rds.force_ssl=0: verification fails, the client goes on in plaintext: a warning, not at-risk.
    for plain in (found[PLAIN_15], found[REPLICA_15]):
        assert plain["verdict"] == "unknown", plain  # no session listing: nothing says more
        assert not any("deploy.env" in r for r in plain["reasons"])
        warning = finding(plain, "warnings")
        assert "verification will fail, then it falls back to plaintext" in warning
        assert "(the server admits it: parameter group pg15-plaintext sets rds.force_ssl=0)" in warning

    # rds.force_ssl=1 on PostgreSQL 13 (default 0): the group wins, the client breaks.
    forced = found[FORCED_13]
    assert forced["verdict"] == "at-risk", forced
    reason = finding(forced, "reasons")
    assert "(parameter group pg13-forced sets rds.force_ssl=1: the server refuses plaintext)" in reason
    assert "defaults rds.force_ssl=0" not in reason  # the default no longer matters

    # Each distinct group read once, however many instances share it.
    assert demo.control.call_count("DescribeDBParameters") == 2


def test_default_groups_keep_the_engine_version_rule(
    demo: SandboxHandle, prefer_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A group that holds no value (the sandbox's default groups) changes nothing: 15 at risk
    because it forces TLS by default, 13 at risk with the hint that its default admits plaintext."""
    code, found = readiness(capsys, "--scan", str(prefer_tree), *IDS)
    assert code == 3 and {i["verdict"] for i in found.values()} == {"at-risk"}
    assert "rds.force_ssl=1" in finding(found[PLAIN_15], "reasons")
    assert "PostgreSQL 13 defaults rds.force_ssl=0" in finding(found[FORCED_13], "reasons")
    assert demo.control.call_count("DescribeDBParameters") == 2  # default.postgres15 and 13


def test_a_refused_read_keeps_the_verdict_and_says_so(
    demo: SandboxHandle, prefer_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    group(demo, "pg15-plaintext", "postgres15", "rds.force_ssl", "0", PLAIN_15)
    demo.control.fault("DescribeDBParameters", "AccessDenied")
    code, found = readiness(capsys, "--scan", str(prefer_tree), *IDS)
    assert code == 3
    plain = found[PLAIN_15]
    assert plain["verdict"] == "at-risk"  # as without the group: rds.force_ssl=1 by default on 15
    reason = finding(plain, "reasons")
    assert "parameter group pg15-plaintext not read: AccessDenied" in reason and "judged without" in reason
    assert "PostgreSQL 13 defaults rds.force_ssl=0" in finding(found[FORCED_13], "reasons")


def test_no_fallback_client_no_parameter_group_read(
    demo: SandboxHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "app.env").write_text("PGSSLMODE=verify-full\nPGSSLROOTCERT=/certs/global-bundle.pem\n")
    readiness(capsys, "--scan", str(tmp_path), *IDS)
    assert demo.control.call_count("DescribeDBParameters") == 0


def test_readiness_calls_are_in_its_iam_policy(
    demo: SandboxHandle, prefer_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readiness(capsys, "--scan", str(prefer_tree), *IDS)
    made = set(demo.control.calls()["by_action"])
    assert "DescribeDBParameters" in made
    assert main(["iam-policy", "--for", "readiness"]) == 0
    doc = json.loads(capsys.readouterr().out)
    allowed = {a.split(":", 1)[1] for s in doc["Statement"] for a in s["Action"]}
    assert made <= allowed, made - allowed


def test_require_secure_transport_decides_for_a_mysql_preferred_client(
    demo: SandboxHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = tmp_path / "billing-service"
    (tree / "certs").mkdir(parents=True)
    shutil.copy(OLD_AWS, tree / "certs" / "rds-ca-2019-root.pem")
    (tree / "my.cnf").write_text("[client]\nssl-mode=PREFERRED\nssl-ca=/certs/rds-ca-2019-root.pem\n")
    group(demo, "mysql80-plaintext", "mysql8.0", "require_secure_transport", "0", "billing-prod-mysql")
    group(demo, "mysql80-forced", "mysql8.0", "require_secure_transport", "1", "web-staging-mysql")
    code, found = readiness(
        capsys, "--scan", str(tree), "--id", "billing-prod-mysql", "--id", "web-staging-mysql"
    )
    assert code == 3
    plain, forced = found["billing-prod-mysql"], found["web-staging-mysql"]
    assert plain["verdict"] == "unknown" and not any("my.cnf" in r for r in plain["reasons"])
    assert any(
        "the server admits it: parameter group mysql80-plaintext sets require_secure_transport=0" in w
        for w in plain["warnings"]
    )
    assert forced["verdict"] == "at-risk"
    assert any(
        "parameter group mysql80-forced sets require_secure_transport=1: the server refuses plaintext" in r
        for r in forced["reasons"]
    )


def test_aurora_says_its_cluster_parameter_group_is_not_read(
    demo: SandboxHandle, prefer_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, found = readiness(capsys, "--scan", str(prefer_tree), "--id", "catalog-prod-1")
    assert code == 3 and found["catalog-prod-1"]["verdict"] == "at-risk"
    reason = finding(found["catalog-prod-1"], "reasons")
    assert (
        "aurora-postgresql: whether the server refuses plaintext is set in the DB cluster parameter group"
        in reason
    )
    assert demo.control.call_count("DescribeDBParameters") == 0
