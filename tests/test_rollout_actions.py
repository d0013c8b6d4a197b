"""The exact AWS calls of `rdsca.aws.actions` (botocore Stubber with expected_params)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from rdsca.aws import actions
from rdsca.aws.permissions import actions_for


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    rds = boto3.client("rds", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(rds) as stub:
        yield rds, stub
        stub.assert_no_pending_responses()


def test_restart_never_sends_the_ca_and_the_restart_flag_together(stubbed: tuple[Any, Stubber]) -> None:
    rds, stub = stubbed
    stub.add_response(
        "modify_db_instance",
        {"DBInstance": {}},
        {"DBInstanceIdentifier": "db1", "CACertificateIdentifier": "rds-ca-rsa2048-g1",
         "ApplyImmediately": True, "CertificateRotationRestart": False},
    )  # fmt: skip
    stub.add_response(
        "modify_db_instance",
        {"DBInstance": {}},
        {
            "DBInstanceIdentifier": "db2",
            "CACertificateIdentifier": "rds-ca-rsa2048-g1",
            "ApplyImmediately": False,
        },
    )
    actions.modify_instance(rds, "db1", "rds-ca-rsa2048-g1", apply_now=True, no_restart=True)
    actions.modify_instance(rds, "db2", "rds-ca-rsa2048-g1", apply_now=False, no_restart=False)


def test_poll_is_one_filtered_describe_per_hundred_ids(stubbed: tuple[Any, Stubber]) -> None:
    rds, stub = stubbed
    ids = [f"db{n:03d}" for n in range(150)]
    for chunk in (ids[:100], ids[100:]):
        stub.add_response(
            "describe_db_instances",
            {"DBInstances": [{"DBInstanceIdentifier": i, "DBInstanceStatus": "available"} for i in chunk]},
            {"Filters": [{"Name": "db-instance-id", "Values": chunk}], "MaxRecords": 100},
        )
    seen = actions.poll(rds, "111111111111", "us-east-1", ids)
    assert len(seen) == 150 and seen["db149"].status == "available"


def test_errors_carry_the_aws_code_and_permissions_are_declared(stubbed: tuple[Any, Stubber]) -> None:
    rds, stub = stubbed
    stub.add_client_error("modify_db_instance", "InvalidDBInstanceState", "busy")
    with pytest.raises(actions.ActionError) as info:
        actions.modify_instance(rds, "db1", "rds-ca-rsa2048-g1", apply_now=True, no_restart=False)
    assert info.value.code == "InvalidDBInstanceState" and "modify db1: InvalidDBInstanceState: busy" in str(
        info.value
    )
    wanted = {"rds:ModifyDBInstance", "rds:ModifyDBCluster", "rds:ApplyPendingMaintenanceAction",
              "rds:DescribeDBInstances", "rds:ModifyCertificates", "rds:DescribeDBClusters"}  # fmt: skip
    assert wanted <= set(actions_for("rotate"))
