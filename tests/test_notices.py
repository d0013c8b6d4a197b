"""`rdsca notices` through the real entry point, against the sandbox's AWS Health over HTTP: the
notices of each account, the organizational view, an account without Health API access
(SubscriptionRequiredException), the links to the audited instances and to a runnable plan."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import boto3
import botocore
import pytest

from rdsca.sandbox import health as sandbox_health
from support.cli import run
from support.sandbox import SandboxHandle

A1, A2 = "111111111111", "222222222222"
CALLER = "123456789012"  # the sandbox's own credentials (moto's default account): the management account


def notices_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = run(capsys, "notices", "--format", "json", *args)
    return code, json.loads(out), err


def by_type(doc: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(n["account_id"], n["region"], n["type"]): n for n in doc["notices"]}


def health_calls(sandbox: SandboxHandle) -> dict[tuple[str, str], int]:
    """(action, account) -> count of the AWS Health calls. Health is signed in us-east-1; RDS's
    DescribeEvents has the same name and is made once per account x region, so the us-east-1 count
    less the eu-west-1 one is Health's."""
    out: dict[tuple[str, str], int] = {}
    for c in sandbox.control.calls()["calls"]:
        if c["action"] in sandbox_health.OPERATIONS and c["region"] in ("us-east-1", "eu-west-1"):
            sign = 1 if c["region"] == "us-east-1" else -1
            out[(c["action"], c["account"])] = out.get((c["action"], c["account"]), 0) + sign * c["count"]
    return {k: n for k, n in out.items() if n}


def test_each_accounts_notices_linked_to_the_audit(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc, err = notices_json(capsys)
    assert code == 0 and err == ""
    assert doc["schema"] == "rdsca.notices/1" and doc["view"] == "accounts"
    assert [(a["account_id"], a["ok"], a["source"]) for a in doc["accounts"]] == [
        (A1, True, "account"),
        (A2, True, "account"),
    ]
    found = by_type(doc)
    # scheduled changes for RDS only: the closed operational issue of A2 is not a notice here
    assert set(found) == {
        (A1, "us-east-1", sandbox_health.CERTIFICATE_TYPE),
        (A1, "ap-south-1", sandbox_health.CERTIFICATE_TYPE),
        (A2, "us-east-1", sandbox_health.LIFECYCLE_TYPE),
    }
    web = found[(A1, "us-east-1", sandbox_health.CERTIFICATE_TYPE)]
    assert web["about_certificates"] and web["status"] == "upcoming" and "certificate" in web["description"]
    linked = {a["resource"]: a for a in web["affected"]}
    assert linked["web-staging-mysql"]["in_audit"] is True
    assert linked["web-staging-mysql"]["instance"] == f"{A1}/us-east-1/web-staging-mysql"
    assert linked["web-staging-mysql"]["reboot_forecast"]["source"] == "pending-action"
    assert linked["reports-old-pg"] == {**linked["reports-old-pg"], "in_audit": False, "instance": None}
    assert web["plan"] == (
        "rdsca plan --to rds-ca-rsa2048-g1 --via-maintenance-action --accounts 111111111111 "
        "--role-name rdsca-audit --region us-east-1 --id web-staging-mysql"
    )
    eol = found[(A2, "us-east-1", sandbox_health.LIFECYCLE_TYPE)]
    assert not eol["about_certificates"] and eol["end"] and eol["affected"][0]["state"] == "retired-ca"
    assert doc["summary"] == {
        "notices": 3,
        "about_certificates": 2,
        "instances_in_audit": 3,
        "accounts_unread": 0,
    }
    calls = health_calls(demo)
    assert calls[("DescribeHealthServiceStatusForOrganization", CALLER)] == 1  # asked, not enabled
    assert calls[("DescribeEvents", A1)] == calls[("DescribeEvents", A2)] == 1  # each account itself


def test_an_account_without_health_access_is_named_and_the_others_reported(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.control.health_access(A2, plan="basic")
    code, doc, err = notices_json(capsys)
    assert code == 4  # partial, as for a failed account x region (docs/exit-codes.md)
    assert err.splitlines() == [
        f"notices: account {A2}: no AWS Health API access (SubscriptionRequiredException): the "
        "account's AWS Support plan does not include it (Business, Enterprise On-Ramp or Enterprise "
        "Support is needed)"
    ]
    unread = next(a for a in doc["accounts"] if a["account_id"] == A2)
    assert unread["ok"] is False and unread["code"] == "SubscriptionRequiredException"
    assert {n["account_id"] for n in doc["notices"]} == {A1}  # the other account is still reported
    assert doc["summary"]["accounts_unread"] == 1

    code, table, err = run(capsys, "notices")
    assert code == 4 and "Traceback" not in err
    flat = " ".join(table.split())
    assert (
        "web-staging-mysql: pending; RDS reboots it" in flat and "reports-old-pg (not in the audit)" in flat
    )
    assert f"account {A2}: no AWS Health API access" in flat
    assert "rdsca plan --to rds-ca-rsa2048-g1 --via-maintenance-action --accounts 111111111111" in flat

    demo.control.health_access(A1, plan="basic")
    code, doc, _ = notices_json(capsys)
    assert code == 4 and doc["notices"] == [] and doc["view"] == "none"


def test_the_organizational_view_answers_for_every_account(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.control.health_access(CALLER, organization_view=True)
    demo.control.health_access(A2, plan="basic")  # the organization answers for it anyway
    demo.control.reset_calls()
    code, doc, err = notices_json(capsys)
    assert code == 0 and err == ""
    assert doc["view"] == "organization"
    assert {(a["account_id"], a["source"]) for a in doc["accounts"]} == {
        (A1, "organization"),
        (A2, "organization"),
    }
    assert len(doc["notices"]) == 3
    eol = by_type(doc)[(A2, "us-east-1", sandbox_health.LIFECYCLE_TYPE)]
    assert (
        eol["affected"][0]["instance"] == f"{A2}/us-east-1/shop-dev-pg"
        and "PostgreSQL 12" in eol["description"]
    )
    calls = health_calls(demo)
    assert calls[("DescribeEventsForOrganization", CALLER)] == 1
    assert ("DescribeEvents", A1) not in calls and ("DescribeEvents", A2) not in calls

    demo.control.reset_calls()
    code, doc, _ = notices_json(capsys, "--no-organization-view")
    assert code == 4 and doc["view"] == "accounts"  # asked itself, A2 has no Health API access
    assert ("DescribeEventsForOrganization", CALLER) not in health_calls(demo)


def test_without_access_to_the_organizational_view_each_account_is_asked(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.control.health_access(CALLER, plan="basic", organization_view=True)  # enabled, caller refused
    code, doc, _ = notices_json(capsys)
    assert code == 0 and doc["view"] == "accounts" and len(doc["notices"]) == 3


def test_the_plan_command_of_a_notice_runs(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, doc, _ = notices_json(capsys)
    command = by_type(doc)[(A1, "us-east-1", sandbox_health.CERTIFICATE_TYPE)]["plan"].split()
    assert command[:2] == ["rdsca", "plan"]
    # as written, in a shell where the audit's account list and role name are not set
    monkeypatch.delenv("RDSCA_ACCOUNTS", raising=False)
    monkeypatch.delenv("RDSCA_ROLE_NAME", raising=False)
    code, _, _ = run(capsys, *command[1:], "-o", str(tmp_path / "plan.json"))
    assert code == 0
    step = json.loads((tmp_path / "plan.json").read_text())["steps"]
    assert [(s["id"], s["kind"], s["action"]) for s in step] == [
        ("web-staging-mysql", "apply-maintenance-action", "server-certificate-rotation")
    ]


def test_markdown_and_selection(demo: SandboxHandle, capsys: pytest.CaptureFixture[str]) -> None:
    code, md, _ = run(capsys, "notices", "--format", "markdown", "--id", "web-*")
    assert code == 0 and md.startswith("# AWS Health notices for RDS")
    assert "| 111111111111 | us-east-1 | AWS_RDS_MAINTENANCE_SCHEDULED | upcoming |" in md
    # outside the selection, a resource is not in the audit (the notice is still listed)
    assert "payments-dev-mysql (not in the audit)" in md


def test_a_cbor_speaking_botocore_gets_the_same_answers(
    demo: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore speaks Smithy RPC v2 CBOR to AWS Health where its model lists that protocol first and
    it supports it; the sandbox answers both. A Health model restricted to CBOR forces it here."""
    from botocore import parsers, serialize

    if "smithy-rpc-v2-cbor" not in getattr(serialize, "SERIALIZERS", {}) or not hasattr(
        parsers, "RpcV2CBORParser"
    ):
        pytest.skip(f"botocore {botocore.__version__} has no Smithy RPC v2 CBOR protocol")
    source = Path(botocore.__file__).parent / "data" / "health" / "2016-08-04"
    with gzip.open(source / "service-2.json.gz") as packed:
        model = json.loads(packed.read())
    model["metadata"]["protocol"] = "smithy-rpc-v2-cbor"
    model["metadata"]["protocols"] = ["smithy-rpc-v2-cbor"]
    target = tmp_path / "health" / "2016-08-04"
    target.mkdir(parents=True)
    (target / "service-2.json").write_text(json.dumps(model))
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path) + os.pathsep + os.environ.get("AWS_DATA_PATH", ""))
    # a session of its own: a loader reads AWS_DATA_PATH when it is made (boto3's default one is older)
    client = boto3.session.Session().client(
        "health", region_name="us-east-1", endpoint_url=demo.url, **demo.credentials(A1)
    )
    sent: list[str] = []
    client.meta.events.register("before-send.health.*", lambda request, **_: sent.append(request.url))
    events = client.describe_events(filter={"services": ["RDS"], "eventTypeCategories": ["scheduledChange"]})
    assert sent and sent[0].endswith("/service/AWSHealth_20160804/operation/DescribeEvents")
    assert sorted(e["region"] for e in events["events"]) == ["ap-south-1", "us-east-1"]
    entities = client.describe_affected_entities(filter={"eventArns": [e["arn"] for e in events["events"]]})
    assert {e["entityValue"] for e in entities["entities"]} == {
        "web-staging-mysql",
        "reports-old-pg",
        "payments-dev-mysql",
    }
    demo.control.health_access(A1, plan="basic")
    with pytest.raises(client.exceptions.ClientError) as refused:
        client.describe_events()
    assert refused.value.response["Error"]["Code"] == "SubscriptionRequiredException"


def test_a_region_that_fails_is_partial_and_its_instances_are_not_linked(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.control.fault("DescribeDBInstances", "AccessDenied", region="ap-south-1")
    code, doc, _ = notices_json(capsys)
    assert code == 4  # the notices are all read; one region of the fleet is not
    payments = by_type(doc)[(A1, "ap-south-1", sandbox_health.CERTIFICATE_TYPE)]
    assert payments["affected"][0]["in_audit"] is False and payments["plan"] is None
    assert by_type(doc)[(A1, "us-east-1", sandbox_health.CERTIFICATE_TYPE)]["plan"]


def test_no_plan_command_for_instances_a_plan_would_leave_alone() -> None:
    from datetime import UTC, datetime

    from rdsca.api.notices import plan_command
    from rdsca.model import HealthNotice, Instance, PendingAction, Severity, State, Verdict

    now = datetime(2026, 12, 2, tzinfo=UTC)
    notice = HealthNotice(A1, "us-east-1", "arn:aws:health:x", "RDS", "AWS_RDS_MAINTENANCE_SCHEDULED",
                          "scheduledChange", "upcoming", now, None, now, "certificate")  # fmt: skip

    def verdict(iid: str, ca: str, actions: tuple[PendingAction, ...] = ()) -> Verdict:
        inst = Instance(A1, "us-east-1", iid, f"arn:aws:rds:us-east-1:{A1}:db:{iid}", "mysql", "8.0.39",
                        "available", None, None, ca, ca, None, None, pending_actions=actions)  # fmt: skip
        return Verdict(inst, None, State.OK, Severity.INFO, None, (), recommended_ca="rds-ca-rsa2048-g1")

    done = verdict("done", "rds-ca-rsa2048-g1")
    assert plan_command(notice, [done]) is None  # already on the target, nothing pending: nothing to plan
    renewal = verdict("renew", "rds-ca-rsa2048-g1", (PendingAction("server-certificate-rotation"),))
    old = verdict("old", "rds-ca-2019")
    assert plan_command(notice, [done, renewal, old]) == (
        "rdsca plan --to rds-ca-rsa2048-g1 --via-maintenance-action --accounts 111111111111 "
        "--region us-east-1 --id old --id renew"
    )


def test_more_regions_than_a_health_filter_holds(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    """EventFilter.regions takes at most 10 regions: with more, rdsca asks for all and keeps its own."""
    regions = ["us-east-1", "eu-west-1", "ap-south-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-2",
               "eu-west-3", "eu-central-1", "eu-north-1", "ca-central-1"]  # fmt: skip
    code, doc, err = notices_json(capsys, "--region", ",".join(regions))
    assert code == 0, err
    assert len(doc["notices"]) == 3
    code, doc, _ = notices_json(capsys, "--region", "eu-west-1")
    assert code == 0 and doc["notices"] == []  # no RDS scheduled change there
