"""Every AWS call that changes or polls instances during a rotation.

Plain functions take an `rds` client; `BoundActions` binds them to the right client per
(account, region) so that the executor works with ids and CA names only and never imports boto3.
Errors leave this module as `ActionError` (an `AwsAccessError`) with the AWS error code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from rdsca.aws import mapping
from rdsca.aws.errors import AWS_ERRORS, describe_error, error_code
from rdsca.aws.fleet import read_certificates, read_engine
from rdsca.aws.permissions import needs
from rdsca.errors import AwsAccessError
from rdsca.model import EngineCapability, Instance, RegionCAs

FILTER_CHUNK = 100  # values per db-instance-id filter, and the page size


class ActionError(AwsAccessError):
    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


@contextmanager
def _aws(what: str) -> Iterator[None]:
    try:
        yield
    except AWS_ERRORS as exc:
        raise ActionError(f"{what}: {describe_error(exc)}", error_code(exc)) from exc


@needs("rds:ModifyDBInstance", used_by=("rotate",))
def modify_instance(rds: Any, instance_id: str, ca: str, *, apply_now: bool, no_restart: bool) -> None:
    kwargs: dict[str, Any] = {
        "DBInstanceIdentifier": instance_id,
        "CACertificateIdentifier": ca,
        "ApplyImmediately": apply_now,
    }
    if no_restart:  # only valid together with CACertificateIdentifier
        kwargs["CertificateRotationRestart"] = False
    with _aws(f"modify {instance_id}"):
        rds.modify_db_instance(**kwargs)


@needs("rds:ModifyDBCluster", used_by=("rotate",))
def modify_cluster(rds: Any, cluster_id: str, ca: str, *, apply_now: bool, no_restart: bool) -> None:
    """Multi-AZ DB clusters only; Aurora members are rotated one by one with modify_instance.

    ModifyDBCluster has no CertificateRotationRestart: a cluster's CA change cannot skip the
    restart, so `no_restart` is refused here (nothing sent; the plan never asks for it).
    """
    if no_restart:
        raise ActionError(
            f"modify cluster {cluster_id}: ModifyDBCluster cannot skip the restart "
            "(it has no CertificateRotationRestart)",
            "InvalidParameterCombination",
        )
    with _aws(f"modify cluster {cluster_id}"):
        rds.modify_db_cluster(
            DBClusterIdentifier=cluster_id, CACertificateIdentifier=ca, ApplyImmediately=apply_now
        )


@needs("rds:ApplyPendingMaintenanceAction", used_by=("rotate",))
def apply_action(rds: Any, arn: str, action: str, *, apply_now: bool) -> None:
    with _aws(f"apply {action} to {arn}"):
        rds.apply_pending_maintenance_action(
            ResourceIdentifier=arn,
            ApplyAction=action,
            OptInType="immediate" if apply_now else "next-maintenance",
        )


@needs("rds:DescribeDBInstances", used_by=("rotate",))
def poll(rds: Any, account_id: str, region: str, ids: Sequence[str]) -> dict[str, Instance]:
    """The current state of `ids`: one describe call per 100 ids (the `db-instance-id` filter)."""
    out: dict[str, Instance] = {}
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), FILTER_CHUNK):
        chunk = wanted[start : start + FILTER_CHUNK]
        kwargs: dict[str, Any] = {
            "Filters": [{"Name": "db-instance-id", "Values": chunk}],
            "MaxRecords": FILTER_CHUNK,
        }
        with _aws(f"describe instances in {account_id}/{region}"):
            while True:
                resp = rds.describe_db_instances(**kwargs)
                for raw in resp.get("DBInstances", ()):
                    inst = mapping.instance(raw, account_id, region, {}, None)
                    out[inst.id] = inst
                if not resp.get("Marker"):
                    break
                kwargs["Marker"] = resp["Marker"]
    return out


@needs("rds:DescribeDBClusters", used_by=("rotate",))
def cluster_writers(rds: Any, account_id: str, region: str) -> frozenset[str]:
    """Keys of the writer instance of every DB cluster in the region."""
    out: set[str] = set()
    with _aws(f"describe clusters in {account_id}/{region}"):
        for page in rds.get_paginator("describe_db_clusters").paginate(PaginationConfig={"PageSize": 100}):
            for cluster in page.get("DBClusters", ()):
                for member in cluster.get("DBClusterMembers") or ():
                    if member.get("IsClusterWriter"):
                        out.add(f"{account_id}/{region}/{member['DBInstanceIdentifier']}")
    return frozenset(out)


@needs("rds:ModifyCertificates", used_by=("rotate",))
def set_default_ca(rds: Any, ca: str | None) -> None:
    """Set the account's default CA for new instances in this region; None removes the override."""
    kwargs: dict[str, Any] = {"RemoveCustomerOverride": True} if ca is None else {"CertificateIdentifier": ca}
    with _aws("modify the default CA"):
        rds.modify_certificates(**kwargs)


def region_cas(rds: Any, account_id: str, region: str) -> RegionCAs:
    with _aws(f"describe certificates in {account_id}/{region}"):
        return read_certificates(rds, account_id, region)


def engine_support(rds: Any, engine: str, version: str) -> EngineCapability:
    with _aws(f"describe engine {engine} {version}"):
        return read_engine(rds, engine, version)


class BoundActions:
    """The executor's view of AWS: calls by (account, region), each on its own client."""

    def __init__(self, clients: Callable[[str, str], Any]) -> None:
        self._clients = clients

    def _rds(self, account: str, region: str) -> Any:
        try:
            return self._clients(account, region)
        except KeyError:
            raise ActionError(f"no credentials for account {account} in {region}") from None

    def poll(self, account: str, region: str, ids: Sequence[str]) -> Mapping[str, Instance]:
        return poll(self._rds(account, region), account, region, ids)

    def modify_instance(
        self, account: str, region: str, instance_id: str, ca: str, *, apply_now: bool, no_restart: bool
    ) -> None:
        modify_instance(
            self._rds(account, region), instance_id, ca, apply_now=apply_now, no_restart=no_restart
        )

    def modify_cluster(
        self, account: str, region: str, cluster_id: str, ca: str, *, apply_now: bool, no_restart: bool
    ) -> None:
        modify_cluster(self._rds(account, region), cluster_id, ca, apply_now=apply_now, no_restart=no_restart)

    def apply_action(self, account: str, region: str, arn: str, action: str, *, apply_now: bool) -> None:
        apply_action(self._rds(account, region), arn, action, apply_now=apply_now)

    def region_cas(self, account: str, region: str) -> RegionCAs:
        return region_cas(self._rds(account, region), account, region)

    def engine_support(self, account: str, region: str, engine: str, version: str) -> EngineCapability:
        return engine_support(self._rds(account, region), engine, version)
