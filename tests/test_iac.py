"""`rdsca iac scan` over fixture trees written as real repositories are: every pin found with its
file:line, value, origin and verdict; no pin from a comment or a description; the patch applies."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from rdsca import schemas
from rdsca.api import iac
from rdsca.cli.app import main
from rdsca.iac import modules
from rdsca.report.iac import FINDING_KEYS

TREE = Path(__file__).parent / "data" / "iac"
STATE = TREE / "terraform" / "state" / "prod.json"
TARGET = "rds-ca-rsa2048-g1"
AFTER = "2026-01-01"  # rds-ca-2019 is retired (its roots ended in August 2024)
BEFORE = "2024-06-01"  # rds-ca-2019 still valid: setting it back succeeds

# file:line -> (value, origin, verdict after retirement, instances)
EXPECTED = {
    "cdk-py/stacks/database_stack.py:23": ("rds-ca-2019", "constant", "fail", ["reports-cdk"]),
    "cdk-ts/lib/database-stack.ts:17": ("rds-ca-2019", "constant", "fail", ["orders-cdk"]),
    "cdk-ts/lib/database-stack.ts:25": ("rds-ca-2019", "literal", "fail", []),  # CaCertificate.of(...)
    "cloudformation/cache.json:10": ("rds-ca-2019", "literal", "fail", ["sessions-db"]),
    "cloudformation/databases.yaml:31": ("rds-ca-2019", "parameter-default", "fail", ["billing-db"]),
    "cloudformation/databases.yaml:39": ("rds-ca-rsa4096-g1", "mapping", "revert", ["ledger-prod"]),
    "cloudformation/databases.yaml:46": ("rds-ca-2019", "literal", "fail", []),  # !Sub "rds-ca-2019"
    "k8s/databases.yaml:13": ("rds-ca-2019", "literal", "fail", ["payments-db"]),  # Crossplane
    "k8s/databases.yaml:25": ("rds-ca-2019", "literal", "fail", ["inventory-db"]),  # ACK
    "pulumi-py/__main__.py:10": ("rds-ca-rsa4096-g1", "literal", "revert", ["audit-db"]),
    "pulumi-ts/index.ts:12": ("rds-ca-2019", "literal", "fail", ["analytics-db"]),
    "pulumi-ts/index.ts:19": (None, "unresolved", "unknown", ["events-db"]),  # config.require(...)
    "terraform/envs/prod/docdb.tf:6": ("rds-ca-rsa2048-g1", "literal", "none", ["docs-prod-1"]),
    "terraform/envs/prod/main.tf:24": ("rds-ca-2019", "module-default", "fail", ["legacy-mysql"]),
    "terraform/envs/prod/main.tf:48": (
        "rds-ca-rsa4096-g1",
        "local",
        "revert",
        ["orders-replica-0", "orders-replica-1"],
    ),
    "terraform/envs/staging/main.tf:7": ("rds-ca-2019", "tfvars", "fail", []),
    "terraform/modules/postgres/main.tf:7": ("rds-ca-2019", "variable-default", "fail", ["orders-prod"]),
}


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    rc = main(["iac", "scan", *args, "--format", "json"])
    return rc, json.loads(capsys.readouterr().out)


def by_where(doc: dict) -> dict[str, dict]:
    return {f"{f['file']}:{f['line']}": f for f in doc["findings"]}


def test_every_pin_is_found_with_its_origin_and_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = run_json(capsys, str(TREE), "--to", TARGET, "--state", str(STATE), "--at", AFTER)
    assert rc == 3
    assert doc["schema"] == schemas.IAC == "rdsca.iac/1"
    assert set(doc) == {"schema", "scanned_at", "path", "target_ca", "state", "summary", "findings", "errors"}
    assert doc["errors"] == []
    found = by_where(doc)
    assert set(found) == set(EXPECTED), "every pin, and no pin from a comment or a description"
    for where, (value, origin, verdict, instances) in EXPECTED.items():
        f = found[where]
        assert tuple(f) == FINDING_KEYS
        assert (f["value"], f["origin"], f["verdict"], f["instances"]) == (
            value,
            origin,
            verdict,
            instances,
        ), where
    assert doc["summary"] == {"revert": 3, "fail": 12, "none": 1, "unknown": 1}


def test_terraform_details(capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = run_json(capsys, str(TREE / "terraform"), "--to", TARGET, "--state", str(STATE), "--at", AFTER)
    assert rc == 3
    found = by_where(doc)
    legacy = found["envs/prod/main.tf:24"]
    assert legacy["resource"] == "module.legacy"
    assert legacy["module"] == "terraform-aws-modules/rds/aws 2.20.0"
    assert legacy["instances_from"] == "prod.json"  # the state names it (module.legacy.module.db_instance...)
    assert legacy["fix"].startswith('add input ca_cert_identifier = "rds-ca-rsa2048-g1" to the module block')
    orders = found["modules/postgres/main.tf:7"]
    assert orders["resource"] == "module.orders_db.aws_db_instance.this"
    assert "set by module.orders_db (envs/prod/main.tf:15)" in orders["origin_detail"]
    assert orders["origin_detail"].endswith("envs/prod/variables.tf:9 var.db_ca")
    assert orders["fix"] == "set rds-ca-rsa2048-g1 at envs/prod/variables.tf:9"
    replica = found["envs/prod/main.tf:48"]
    assert (replica["repeat"], replica["origin_detail"]) == (
        "count = 2",
        "envs/prod/main.tf:52 local.replica_ca",
    )
    staging = found["envs/staging/main.tf:7"]
    assert staging["repeat"].startswith("for_each = ")
    assert staging["origin_detail"] == "envs/staging/staging.tfvars:1 ca"
    assert "module.reports" not in {f["resource"] for f in doc["findings"]}  # rds-aurora ~> 8.3 pins nothing


def test_before_retirement_the_old_ca_is_set_back(capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = run_json(capsys, str(TREE), "--to", TARGET, "--at", BEFORE)
    assert rc == 3
    assert doc["summary"] == {"revert": 15, "fail": 0, "none": 1, "unknown": 1}


def test_a_tree_that_only_mentions_the_ca_has_no_pin(capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = run_json(capsys, str(TREE / "clean"), "--to", TARGET)
    assert (rc, doc["findings"], doc["errors"]) == (0, [], [])


def test_table_and_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["iac", "scan", str(TREE / "terraform"), "--to", TARGET, "--at", AFTER]) == 3
    out = capsys.readouterr().out
    assert "envs/prod/main.tf:24" in out and "module-default (terraform-aws-modules/rds/aws 2.20.0)" in out
    assert "4 of 5 pins would undo a rotation to rds-ca-rsa2048-g1" in out
    assert main(["iac", "scan", str(TREE / "k8s"), "--to", TARGET, "--format", "markdown"]) == 3
    assert "| databases.yaml:13 | crossplane | Instance/payments |" in capsys.readouterr().out


@pytest.mark.skipif(shutil.which("patch") is None, reason="needs patch(1)")
def test_the_patch_applies_and_leaves_nothing_to_revert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = tmp_path / "infra"
    shutil.copytree(TREE, tree)
    diff = tmp_path / "iac.diff"
    assert (
        main(["iac", "scan", str(tree), "--to", TARGET, "--patch", str(diff), "-o", str(tmp_path / "s")]) == 3
    )
    text = diff.read_text()
    assert '+  ca_cert_identifier = "rds-ca-rsa2048-g1"' in text  # the module default, as an input
    assert "+      caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1," in text
    assert "+    Default: rds-ca-rsa2048-g1" in text
    subprocess.run(["patch", "-p1", "--dry-run", "-i", str(diff)], cwd=tree, check=True, capture_output=True)
    subprocess.run(["patch", "-p1", "-i", str(diff)], cwd=tree, check=True, capture_output=True)
    rc, doc = run_json(capsys, str(tree), "--to", TARGET, "--state", str(STATE))
    assert rc == 0
    assert {f["verdict"] for f in doc["findings"]} == {"none", "unknown"}
    assert len(doc["findings"]) == len(EXPECTED)  # still pinned, now to the target
    # comments and descriptions are left as they were
    assert (
        "(was rds-ca-2019 before the 2024 rotation)"
        in (tree / "terraform/envs/prod/variables.tf").read_text()
    )


def test_bad_input_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["iac", "scan", str(TREE), "--to", "rds-ca-bogus"]) == 2
    assert main(["iac", "scan", str(TREE), "--to", "rds-ca-2019"]) == 2  # retired: not a target
    assert main(["iac", "scan", str(tmp_path / "missing"), "--to", TARGET]) == 2
    bad = tmp_path / "state.json"
    bad.write_text('{"hello": 1}')
    assert main(["iac", "scan", str(TREE), "--to", TARGET, "--state", str(bad)]) == 2
    assert main(["iac", "scan", str(TREE), "--to", TARGET, "--at", "yesterday"]) == 2
    err = capsys.readouterr().err
    assert (
        "unknown CA" in err
        and "rds-ca-2019: that CA's roots ended on" in err
        and "neither a terraform.tfstate" in err
    )


def test_an_unreadable_file_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "main.tf").write_text('resource "aws_db_instance" "x" {\n  ca_cert_identifier = \n')
    rc, doc = run_json(capsys, str(tmp_path), "--to", TARGET)
    assert rc == 0 and doc["findings"] == []
    assert [e["file"] for e in doc["errors"]] == ["main.tf"]


def test_mark_plan_names_each_affected_step() -> None:
    result = iac.scan(TREE, TARGET, datetime(2026, 1, 1, tzinfo=UTC), state=STATE)
    step = SimpleNamespace(
        key="111111111111/eu-west-1/orders-prod", id="orders-prod", instance_ids=("orders-prod",)
    )
    other = SimpleNamespace(key="111111111111/eu-west-1/quiet", id="quiet", instance_ids=("quiet",))
    warnings = iac.mark_plan(SimpleNamespace(steps=(step, other)), result)  # type: ignore[arg-type]
    assert warnings[0] == (
        "111111111111/eu-west-1/orders-prod: terraform pin rds-ca-2019 at "
        "terraform/modules/postgres/main.tf:7 (module.orders_db.aws_db_instance.this, variable-default): "
        "the next apply will fail this rotation"
    )
    assert not any(w.startswith("111111111111/eu-west-1/quiet") for w in warnings)
    assert warnings[-1].startswith("14 IaC pins that would revert or fail, managing no instance of this plan")


@pytest.mark.parametrize(
    ("source", "version", "pinned"),
    [
        ("terraform-aws-modules/rds/aws", "2.20.0", "yes"),
        ("terraform-aws-modules/rds/aws", "~> 2.20.0", "yes"),
        ("terraform-aws-modules/rds/aws", "~> 2.20", "maybe"),  # 2.30+ no longer pins
        ("terraform-aws-modules/rds/aws", "2.30.0", None),
        ("terraform-aws-modules/rds/aws", "2.8.1", None),
        ("registry.terraform.io/terraform-aws-modules/rds-aurora/aws", ">= 5.0, < 6.0", "yes"),
        ("terraform-aws-modules/rds-aurora/aws", "6.0.0", None),
        ("cloudposse/rds/aws", "0.35.1", "yes"),
        ("git::https://github.com/cloudposse/terraform-aws-rds.git?ref=0.20.0", "", "yes"),
        ("github.com/terraform-aws-modules/terraform-aws-rds?ref=v2.9.0", "", "yes"),
    ],
)
def test_module_versions_that_pinned_the_ca(source: str, version: str, pinned: str | None) -> None:
    known = modules.identify(source)
    assert known is not None
    module, ref = known
    assert modules.pins(module, ref or version) == pinned
