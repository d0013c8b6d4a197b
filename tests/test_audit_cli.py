"""`rdsca audit` and `rdsca cas` through the real entry point, against the sandbox over HTTP."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rdsca.cli.app import main
from support.sandbox import SandboxHandle

# The JSON contract: changing these keys is a schema change (rdsca.audit/2).
ENVELOPE_KEYS = {"schema", "generated_at", "warn_days", "targets", "authorities", "summary", "instances"}
INSTANCE_KEYS = [
    "account_id", "region", "id", "arn", "engine", "engine_version", "status", "endpoint", "port",
    "ca", "ca_valid_till", "server_cert_valid_till", "pending_ca", "pending_actions", "pending_changes",
    "rotation_without_restart", "supported_cas", "cluster", "replica_of", "replicas", "multi_az",
    "tags", "state", "days_left", "severity", "reasons", "reboot_forecast",
]  # fmt: skip
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def audit_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run(capsys, "audit", "--format", "json", *args)
    assert "Traceback" not in err
    return code, json.loads(out)


def by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["id"]: i for i in doc["instances"]}


@pytest.fixture
def demo(sandbox_env: SandboxHandle) -> SandboxHandle:
    sandbox_env.control.seed_demo()
    return sandbox_env


def test_json_envelope_and_instance_keys_are_pinned(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = audit_json(capsys)
    assert code == 0
    assert set(doc) == ENVELOPE_KEYS and doc["schema"] == "rdsca.audit/1"
    assert ISO_Z.match(doc["generated_at"])
    assert {(t["account_id"], t["region"]) for t in doc["targets"]} == {
        (a, r) for a in ("111111111111", "222222222222") for r in ("us-east-1", "eu-west-1", "ap-south-1")
    }
    assert all(t["ok"] and t["error"] is None for t in doc["targets"])
    for inst in doc["instances"]:
        assert list(inst) == INSTANCE_KEYS
        for key in ("ca_valid_till", "server_cert_valid_till"):
            assert inst[key] is None or ISO_Z.match(inst[key])


def test_json_has_one_instance_per_line(demo: SandboxHandle, capsys: pytest.CaptureFixture[str]) -> None:
    """The envelope is indented; each instance (and target) is one line, so that grep and diff work
    per instance and the C encoder writes a large audit (docs/audit.md)."""
    code, out, _ = run(capsys, "audit", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    lines = out.splitlines()
    assert lines[0] == "{" and lines[1] == '  "schema": "rdsca.audit/1",'
    records = [json.loads(x.strip().rstrip(",")) for x in lines if x.startswith('    {"account_id"')]
    assert records == doc["targets"] + doc["authorities"] + doc["instances"]


def test_every_state_and_severity_band(demo: SandboxHandle, capsys: pytest.CaptureFixture[str]) -> None:
    _, doc = audit_json(capsys)
    insts = by_id(doc)
    expect = {
        "graph-dev-neptune": ("unmanaged", "info"),
        "orders-prod-pg": ("retired-ca", "critical"),
        "events-dev-pg": ("expired", "critical"),
        "crm-prod-pg": ("expiring", "high"),
        "search-staging-pg": ("expiring", "medium"),
        "scratch-pg": ("expiring", "low"),
        "queue-staging-mysql": ("pending", "info"),
        "ledger-prod-pg": ("ok", "info"),
        "web-staging-mysql": ("pending", "info"),  # RDS posted a server-certificate rotation
    }
    for iid, (state, severity) in expect.items():
        assert (insts[iid]["state"], insts[iid]["severity"]) == (state, severity), iid
    assert doc["summary"]["instances"] == len(doc["instances"])
    assert sum(doc["summary"]["by_state"].values()) == len(doc["instances"])


def test_retired_ca_docdb_and_neptune(demo: SandboxHandle, capsys: pytest.CaptureFixture[str]) -> None:
    _, doc = audit_json(capsys)
    insts = by_id(doc)
    retired = insts["orders-prod-pg"]
    assert retired["ca"] == "rds-ca-2019" and retired["ca_valid_till"] is None
    assert (
        retired["reasons"][0]
        == "CA rds-ca-2019 is retired: not listed in us-east-1; rotate to rds-ca-rsa2048-g1"
    )
    assert retired["replicas"] and retired["multi_az"] is True
    assert insts["orders-prod-pg-replica-eu"]["region"] == "eu-west-1"
    docdb = insts["docs-dev-docdb"]
    assert docdb["engine"] == "docdb" and docdb["state"] == "ok" and docdb["server_cert_valid_till"]
    assert docdb["rotation_without_restart"] is True
    neptune = insts["graph-dev-neptune"]
    assert neptune["days_left"] is None and "Neptune" in neptune["reasons"][0]
    assert insts["catalog-prod-2"]["cluster"] == "catalog-prod"
    crm = insts["crm-prod-pg"]
    assert [a["action"] for a in crm["pending_actions"]] == ["server-certificate-rotation"]
    assert insts["queue-staging-mysql"]["pending_ca"] == "rds-ca-rsa4096-g1"
    assert "<script>" in insts["shop-dev-pg"]["tags"]["team"]


def test_authorities_per_region(demo: SandboxHandle, capsys: pytest.CaptureFixture[str]) -> None:
    _, doc = audit_json(capsys)
    regions = {(r["account_id"], r["region"]): r for r in doc["authorities"]}
    assert len(regions) == 6
    ap = regions[("111111111111", "ap-south-1")]
    assert {c["id"] for c in ap["cas"]} == {"rds-ca-rsa2048-g1"}
    us = regions[("111111111111", "us-east-1")]
    assert {c["id"] for c in us["cas"]} >= {"rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"}
    assert "rds-ca-2019" not in {c["id"] for c in us["cas"]}
    assert us["default_ca"] == "rds-ca-rsa2048-g1" and us["override"] is False


def test_one_region_denied_is_partial_not_empty(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.control.fault("DescribeDBInstances", code="AccessDenied", region="eu-west-1", account="222222222222")
    code, doc = audit_json(capsys)
    assert code == 4
    failed = [t for t in doc["targets"] if not t["ok"]]
    assert [(t["account_id"], t["region"]) for t in failed] == [("222222222222", "eu-west-1")]
    assert failed[0]["error"].startswith("AccessDenied")
    regions = {(i["account_id"], i["region"]) for i in doc["instances"]}
    assert ("222222222222", "eu-west-1") not in regions and ("222222222222", "us-east-1") in regions
    code, out, _ = run(capsys, "audit")
    assert code == 4 and "FAILED 222222222222 eu-west-1: AccessDenied" in out


def test_throttling_is_retried(demo: SandboxHandle, capsys: pytest.CaptureFixture[str]) -> None:
    demo.control.fault("DescribeDBInstances", code="Throttling", count=2, region="us-east-1",
                       account="111111111111")  # fmt: skip
    demo.control.reset_calls()
    code, doc = audit_json(capsys)
    assert code == 0 and all(t["ok"] for t in doc["targets"])
    assert "orders-prod-pg" in by_id(doc)
    assert demo.control.call_count("DescribeDBInstances") == 6 + 2


def test_calls_per_target_are_batched(demo: SandboxHandle, capsys: pytest.CaptureFixture[str]) -> None:
    demo.control.reset_calls()
    _, doc = audit_json(capsys)
    calls = demo.control.calls()["by_action"]
    assert calls["DescribeDBInstances"] == 6 and calls["DescribeCertificates"] == 6
    assert calls["DescribePendingMaintenanceActions"] == 6
    distinct = {(i["region"], i["engine"], i["engine_version"]) for i in doc["instances"]}
    assert calls["DescribeDBEngineVersions"] == len(distinct)  # shared across accounts of a region


def test_pagination_past_100_instances(
    sandbox_env: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox_env.control.seed_synthetic(["111111111111"], ["us-east-1"], per_region=230)
    sandbox_env.control.reset_calls()
    code, doc = audit_json(capsys, "--region", "us-east-1", "--accounts", "111111111111")
    assert code == 0 and len(doc["instances"]) == 230
    assert len({i["id"] for i in doc["instances"]}) == 230
    assert sandbox_env.control.call_count("DescribeDBInstances") == 3


def test_fail_within_and_selection(demo: SandboxHandle, capsys: pytest.CaptureFixture[str]) -> None:
    assert audit_json(capsys, "--fail-within", "30")[0] == 3  # retired and expired instances
    code, doc = audit_json(capsys, "--id", "ledger-prod-pg", "--fail-within", "30")
    assert code == 0 and [i["id"] for i in doc["instances"]] == ["ledger-prod-pg"]
    days = doc["instances"][0]["days_left"]
    assert audit_json(capsys, "--id", "ledger-prod-pg", "--fail-within", str(days + 1))[0] == 3
    _, doc = audit_json(capsys, "--engine", "docdb")
    assert [i["id"] for i in doc["instances"]] == ["docs-dev-docdb"]
    _, doc = audit_json(capsys, "--tag", "env=prod", "--id", "orders-*")
    assert {i["id"] for i in doc["instances"]} == {"orders-prod-pg", "orders-prod-pg-replica-1",
                                                   "orders-prod-pg-replica-eu"}  # fmt: skip


def test_fail_within_fails_on_an_unknown_ca(demo: SandboxHandle, capsys: pytest.CaptureFixture[str]) -> None:
    """An instance on a CA id neither its region nor the catalogue knows (moto's `rds-ca-default`),
    whose server certificate has 300 days left: nothing shows it is safe, so the gate fails on it
    whatever DAYS is. The sandbox refuses such an id through the API, as AWS would: set in moto's state."""
    from moto.rds.models import rds_backends

    from rdsca.sandbox.demo import A1
    from rdsca.sandbox.fleet import force_state

    assert audit_json(capsys, "--id", "scratch-pg", "--fail-within", "30")[0] == 0  # before: ok
    force_state(rds_backends[A1]["us-east-1"].databases["scratch-pg"], "rds-ca-default",
                datetime.now(UTC), leaf_days=300)  # fmt: skip
    for days in ("30", "0"):
        code, doc = audit_json(capsys, "--id", "scratch-pg", "--fail-within", days)
        [inst] = doc["instances"]
        assert (inst["state"], inst["days_left"] >= 299) == ("unknown-ca", True)
        assert code == 3, days
    assert audit_json(capsys, "--id", "scratch-pg")[0] == 0  # no gate asked for: no exit 3
    code, out, _ = run(capsys, "audit", "--help")
    assert "unknown CA" in " ".join(out.split())


def test_csv_markdown_table_and_output_file(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    code, out, _ = run(capsys, "audit", "--format", "csv")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("account_id,region,id,engine")
    _, doc = audit_json(capsys)
    assert len(lines) == 1 + len(doc["instances"])
    code, out, _ = run(capsys, "audit", "--format", "markdown")
    assert "| retired-ca |" in out and "&lt;script&gt;" not in out.split("## Instances")[0]
    code, out, _ = run(capsys, "audit")
    assert "\x1b[" not in out and "orders-prod-pg" in out and "retired-ca" in out
    target = tmp_path / "audit.json"
    code, out, _ = run(capsys, "audit", "--format", "json", "--output", str(target))
    assert out == "" and json.loads(target.read_text())["schema"] == "rdsca.audit/1"
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind


def test_cas_command(demo: SandboxHandle, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "cas", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["schema"] == "rdsca.cas/1" and len(doc["regions"]) == 6
    code, out, _ = run(capsys, "cas")
    assert code == 0 and "rds-ca-ecc384-g1" in out and "2121" in out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--profile", "no-such-profile"], 2, "AWS profile 'no-such-profile' not found"),
        (["--region", "eu-wst1"], 2, "unknown region 'eu-wst1'"),
        (["--tag", "env"], 2, "expected KEY=VALUE"),
        (["--accounts", "12345"], 2, "not a 12-digit AWS account id"),
        (["--endpoint-url", "http://127.0.0.1:9"], 1, "cannot reach http://127.0.0.1:9"),
    ],
)
def test_bad_input_one_clear_line(
    sandbox_env: SandboxHandle, capsys: pytest.CaptureFixture[str], args: list[str], code: int, message: str
) -> None:
    got, out, err = run(capsys, "audit", *args)
    assert got == code and out == ""
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_expired_credentials(demo: SandboxHandle, capsys: pytest.CaptureFixture[str]) -> None:
    demo.control.fault("GetCallerIdentity", code="ExpiredToken")
    got, out, err = run(capsys, "audit")
    assert got == 1 and out == ""
    assert "credentials expired or invalid" in err and "Traceback" not in err


def test_role_that_cannot_be_assumed_is_a_failed_target(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.control.fault("AssumeRole", code="AccessDenied", account=None)
    code, doc = audit_json(capsys, "--region", "us-east-1")
    assert code == 1 and doc["instances"] == []  # every target failed: nothing was read (exit 1)
    assert all(not t["ok"] and "cannot assume arn:aws:iam::" in t["error"] for t in doc["targets"])


def test_org_lists_accounts_and_reaches_each(
    sandbox_env: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    org = sandbox_env.client("organizations")
    org.create_organization(FeatureSet="ALL")
    org.create_account(AccountName="workload", Email="workload@example.com")
    listed = {a["Id"] for a in org.list_accounts()["Accounts"] if a["Status"] == "ACTIVE"}
    assert len(listed) == 2
    code, doc = audit_json(capsys, "--org", "--role-name", "rdsca-audit", "--region", "us-east-1",
                           "--accounts", "")  # fmt: skip
    assert code == 0
    assert {t["account_id"] for t in doc["targets"]} == listed and all(t["ok"] for t in doc["targets"])


def test_org_needs_a_role_name(sandbox_env: SandboxHandle, capsys: pytest.CaptureFixture[str]) -> None:
    got, out, err = run(capsys, "audit", "--org", "--role-name", "", "--accounts", "")
    assert got == 2 and out == "" and "--accounts and --org need --role-name" in err


def test_server_errors_are_retried_then_reported(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.control.fault("DescribeCertificates", code="InternalFailure", count=2, region="eu-west-1",
                       account="111111111111")  # fmt: skip
    code, doc = audit_json(capsys)
    assert code == 0 and all(t["ok"] for t in doc["targets"])  # two 500s, then an answer
    demo.control.fault(
        "DescribeCertificates", code="InternalFailure", region="eu-west-1", account="111111111111"
    )
    code, doc = audit_json(capsys)
    failed = [t for t in doc["targets"] if not t["ok"]]
    assert code == 4 and [(t["account_id"], t["region"]) for t in failed] == [("111111111111", "eu-west-1")]
    assert failed[0]["error"].startswith("InternalFailure")


@pytest.mark.parametrize(
    "args",
    [
        ["audit", "-o", "/nonexistent-dir/a.json"],
        ["report", "-o", "/nonexistent-dir/r.html"],
        ["plan", "--to", "rds-ca-rsa2048-g1", "-o", "/nonexistent-dir/p.json"],
        ["readiness", "--to", "rds-ca-rsa2048-g1", "-o", "/nonexistent-dir/r.json"],
    ],
)
def test_unwritable_output_is_refused_before_any_aws_call(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    demo.control.reset_calls()
    got, out, err = run(capsys, *args)
    assert got == 2 and out == "" and "directory /nonexistent-dir does not exist" in err
    assert demo.control.call_count() == 0


def test_dash_output_is_standard_output(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    got, out, _ = run(capsys, "audit", "--id", "scratch-pg", "-f", "json", "-o", "-")
    assert got == 0 and json.loads(out)["instances"][0]["id"] == "scratch-pg"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("ca", ["rds-ca-2015", "rds-ca-2019"])
def test_plan_to_an_ended_ca_is_refused(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], ca: str
) -> None:
    demo.control.reset_calls()
    got, _, err = run(capsys, "plan", "--to", ca, "-o", "/tmp/never-written-plan.json")
    assert got == 2 and f"--to {ca}: that CA's roots ended on" in err
    assert demo.control.call_count() == 0


def test_a_named_profile_is_used(
    demo: SandboxHandle,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """`--profile NAME` reads with that profile's keys (botocore leaves its environment provider
    out of the chain when a profile is named; rdsca's per-call provider must not depend on it)."""
    keys = demo.credentials()
    creds = tmp_path / "credentials"
    creds.write_text("[team]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items()))
    (tmp_path / "config").write_text("[profile team]\nregion = us-east-1\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    code, out, err = run(capsys, "audit", "--profile", "team", "--region", "us-east-1", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["instances"] and all(t["ok"] for t in doc["targets"])
