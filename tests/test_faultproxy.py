"""The fault proxy (tests/support/faultproxy.py) through real boto3 clients, and rdsca audit behind it."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError
from botocore.parsers import ResponseParserError

from rdsca.cli.app import main
from rdsca.sandbox.environment import DUMMY_KEY
from support.faultproxy import (
    FaultProxy,
    Rule,
    delay_reply,
    drop_reply,
    garbage_reply,
    html_error,
    reset_before,
    reset_reply,
)
from support.sandbox import SandboxHandle

DB = "faulty-pg"
NEW_CA = "rds-ca-rsa4096-g1"


def via(proxy: FaultProxy, service: str = "rds", region: str = "us-east-1", read_timeout: float = 5.0) -> Any:
    """A boto3 client through the proxy, without retries: each fault reaches the test as it is."""
    config = Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=read_timeout)
    return boto3.client(service, region_name=region, endpoint_url=proxy.url, config=config,
                        aws_access_key_id=DUMMY_KEY, aws_secret_access_key=DUMMY_KEY)  # fmt: skip


@pytest.fixture
def db(sandbox: SandboxHandle) -> SandboxHandle:
    sandbox.client().create_db_instance(
        DBInstanceIdentifier=DB, Engine="postgres", DBInstanceClass="db.t3.micro", AllocatedStorage=20,
        MasterUsername="admin1", MasterUserPassword="password-1",
    )  # fmt: skip
    sandbox.control.reset_calls()
    return sandbox


def modify(client: Any) -> None:
    client.modify_db_instance(DBInstanceIdentifier=DB, CACertificateIdentifier=NEW_CA)


def pending_ca(sandbox: SandboxHandle) -> str | None:
    """The CA change the sandbox holds for DB, read directly (not through the proxy)."""
    inst = sandbox.client().describe_db_instances(DBInstanceIdentifier=DB)["DBInstances"][0]
    return inst.get("PendingModifiedValues", {}).get("CACertificateIdentifier")


def test_pass_through_equals_direct_and_keeps_the_connection(
    db: SandboxHandle, fault_proxy: FaultProxy
) -> None:
    def instances(client: Any) -> list[dict[str, Any]]:
        found = client.describe_db_instances()["DBInstances"]
        return [{k: v for k, v in i.items() if k != "LatestRestorableTime"} for i in found]  # moto: now()

    client = via(fault_proxy)
    got = [instances(client) for _ in range(3)]
    assert got[0] == got[2] == instances(db.client()) and got[0][0]["DBInstanceIdentifier"] == DB
    assert [s.kind for s in fault_proxy.calls()] == ["pass"] * 3
    assert fault_proxy.calls()[0].region == "us-east-1" and fault_proxy.count("DescribeDBInstances") == 3
    assert fault_proxy.connections == 1  # keep-alive: botocore reused its connection
    assert db.control.call_count("DescribeDBInstances") == 3 + 1


def test_identifies_json_protocol_and_region(sandbox: SandboxHandle, fault_proxy: FaultProxy) -> None:
    via(fault_proxy, "sts", region="eu-west-1").get_caller_identity()  # query protocol
    with pytest.raises(ClientError):
        via(fault_proxy, "secretsmanager", region="ap-south-1").get_secret_value(SecretId="none")  # JSON
    assert [(s.action, s.region) for s in fault_proxy.calls()] == [
        ("GetCallerIdentity", "eu-west-1"), ("GetSecretValue", "ap-south-1")]  # fmt: skip


def test_delay_reply_times_out_but_aws_applied_it(db: SandboxHandle, fault_proxy: FaultProxy) -> None:
    fault_proxy.add(delay_reply(1.5, action="ModifyDBInstance"))
    with pytest.raises(ReadTimeoutError):
        modify(via(fault_proxy, read_timeout=0.5))
    assert pending_ca(db) == NEW_CA
    assert fault_proxy.count("ModifyDBInstance") == 1 and db.control.call_count("ModifyDBInstance") == 1


@pytest.mark.parametrize("rule", [drop_reply(), reset_reply()], ids=["drop", "reset"])
def test_lost_reply_after_acceptance(db: SandboxHandle, fault_proxy: FaultProxy, rule: Rule) -> None:
    # Both a closed (FIN) and a reset (RST) connection reach the caller as ConnectionClosedError
    # (urllib3's ProtocolError: RemoteDisconnected / ConnectionResetError).
    fault_proxy.add(Rule(rule.kind, action="ModifyDBInstance", count=1))
    with pytest.raises(ConnectionClosedError):
        modify(via(fault_proxy))
    assert pending_ca(db) == NEW_CA and fault_proxy.count("ModifyDBInstance") == 1
    assert via(fault_proxy).describe_db_instances()["DBInstances"]  # count=1: the next call passes


def test_reset_before_never_reaches_aws(db: SandboxHandle, fault_proxy: FaultProxy) -> None:
    fault_proxy.add(reset_before(action="ModifyDBInstance"))
    with pytest.raises(ConnectionClosedError):  # ConnectionResetError under urllib3's ProtocolError
        modify(via(fault_proxy))
    assert pending_ca(db) is None
    assert fault_proxy.count("ModifyDBInstance") == 0
    assert fault_proxy.count("ModifyDBInstance", forwarded_only=False) == 1
    assert db.control.call_count("ModifyDBInstance") == 0


def test_html_error_pages(db: SandboxHandle, fault_proxy: FaultProxy) -> None:
    # 5xx with a body starting '<html>': botocore's generic error -> ClientError, code = the status.
    fault_proxy.add(html_error(502, action="ModifyDBInstance", count=1))
    with pytest.raises(ClientError) as info:
        modify(via(fault_proxy))
    assert info.value.response["Error"]["Code"] == "502"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 502
    # 4xx HTML (not XML: '<hr>' is never closed): botocore.parsers.ResponseParserError.
    fault_proxy.add(html_error(403, action="ModifyDBInstance", count=1))
    with pytest.raises(ResponseParserError):
        modify(via(fault_proxy))
    assert pending_ca(db) is None and fault_proxy.count("ModifyDBInstance") == 0


def test_garbage_reply_after_acceptance(db: SandboxHandle, fault_proxy: FaultProxy) -> None:
    fault_proxy.add(garbage_reply(action="ModifyDBInstance"))
    with pytest.raises(ResponseParserError):  # 200 with half an XML document
        modify(via(fault_proxy))
    assert pending_ca(db) == NEW_CA and fault_proxy.count("ModifyDBInstance") == 1


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        Rule("slow")


@pytest.fixture
def demo_via_proxy(estate: SandboxHandle, fault_proxy: FaultProxy) -> FaultProxy:
    """The demo fleet with AWS calls going through the proxy (conftest `estate`), as the proxy."""
    return fault_proxy


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        (html_error(502, region="eu-west-1"), "502: Bad Gateway"),  # retried 6 times, then given up
        (reset_before(region="eu-west-1"), "ConnectionClosedError: Connection was closed"),
        (html_error(403, region="eu-west-1"), "not an AWS response"),  # ResponseParserError: no retry
        (garbage_reply(region="eu-west-1"), "not an AWS response"),
    ],
    ids=["html_error", "reset_before", "html_403", "garbage_reply"],
)
def test_audit_with_one_region_behind_a_broken_network(
    demo_via_proxy: FaultProxy, capsys: pytest.CaptureFixture[str], rule: Rule, reason: str
) -> None:
    demo_via_proxy.add(rule)
    code = main(["audit", "--format", "json"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "unexpected" not in err.lower()
    assert code == 4, err
    doc = json.loads(out)
    failed = [t for t in doc["targets"] if not t["ok"]]
    assert {(t["account_id"], t["region"]) for t in failed} == {
        ("111111111111", "eu-west-1"), ("222222222222", "eu-west-1")}  # fmt: skip
    assert all(reason in t["error"] and "\n" not in t["error"] for t in failed), failed
    regions = {i["region"] for i in doc["instances"]}
    assert "us-east-1" in regions and "eu-west-1" not in regions
    assert "orders-prod-pg" in {i["id"] for i in doc["instances"]}
    eu = [s for s in demo_via_proxy.calls() if s.region == "eu-west-1"]
    assert eu and all(s.kind == rule.kind for s in eu)
    assert all((s.upstream_status is not None) == (rule.kind == "garbage_reply") for s in eu)
