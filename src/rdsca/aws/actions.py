"""Every AWS call that changes or polls instances during a rotation.

Plain functions take an `rds` client; `BoundActions` binds them to the right clients per
(account, region) so that the executor works with ids and CA names only and never imports boto3.
Errors leave this module as `ActionError` (an `AwsAccessError`) with the AWS error code.

Writes (modify instance, modify cluster, apply maintenance action, modify certificates) go through
a client that botocore never retries (`SessionFactory.client(..., write=True)`): none of them is
idempotent, and a retried ModifyDBInstance whose first reply was only slow is another restart of a
production database. rdsca retries a write itself only when AWS answered that it did not process
it (throttling). When the outcome is unknown (a read timeout, a connection closed or reset after
the request went out, a 5xx, an answer that is not an AWS response) the error says so
(`ActionError.outcome_unknown`), and the executor reads the instance before it sends anything again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import botocore.exceptions as bce

from rdsca.aws import mapping
from rdsca.aws.errors import AWS_ERRORS, describe_error, error_code
from rdsca.aws.fleet import read_certificates, read_engine
from rdsca.aws.permissions import needs
from rdsca.errors import AwsAccessError
from rdsca.model import EngineCapability, Instance, RegionCAs

FILTER_CHUNK = 100  # values per db-instance-id filter, and the page size


# AWS answered that it throttled the request, so it was not processed: safe to send again after a
# pause. The codes are the throttling ones of botocore's standard retry mode
# (botocore/retries/standard.py, ThrottledRetryableChecker._THROTTLED_ERROR_CODES), without those
# that mean "another request is still in progress" (TransactionInProgressException,
# PriorRequestNotComplete): those are not a refusal of this one.
THROTTLING_CODES = frozenset(
    {"Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
     "TooManyRequestsException", "RequestThrottled", "RequestThrottledException", "SlowDown",
     "BandwidthLimitExceeded", "EC2ThrottledException"}
)  # fmt: skip
WRITE_ATTEMPTS = 5  # throttled attempts of one write, each after a longer pause
# Raised before a byte of the request left, so the request cannot have reached AWS: the connect,
# TLS-handshake and proxy-connect errors of botocore/httpsession.py (urllib3's NewConnectionError,
# ConnectTimeoutError, SSLError, ProxyError) and the errors raised before sending (credentials,
# parameter validation). Anything else after the connection opened may have been processed.
NOT_SENT: tuple[type[Exception], ...] = (
    bce.EndpointConnectionError, bce.ConnectTimeoutError, bce.ProxyConnectionError, bce.SSLError,
    bce.NoCredentialsError, bce.PartialCredentialsError, bce.ParamValidationError,
)  # fmt: skip


class ActionError(AwsAccessError):
    def __init__(self, message: str, code: str | None = None, outcome_unknown: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.outcome_unknown = outcome_unknown


def outcome_unknown(exc: BaseException) -> bool:
    """True when a write may have been processed although no success answer came back."""
    if isinstance(exc, NOT_SENT):
        return False
    if isinstance(exc, bce.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        # 5xx: InternalFailure (500) or ServiceUnavailable (503) are AWS's own failures ("Common
        # errors", RDS API Reference) after the request arrived, or a proxy's 502/504: unknown.
        # A 4xx is AWS's (or a proxy's) refusal of the request as sent: not processed.
        return int(status) >= 500
    return True  # read timeout, connection closed or reset, an answer that is not AWS's


def _write(what: str, send: Any, pause: Any = time.sleep) -> None:
    """Send one write once; again only after AWS said it throttled it (not processed)."""
    for attempt in range(WRITE_ATTEMPTS):
        try:
            send()
            return
        except AWS_ERRORS as exc:
            code = error_code(exc)
            if code in THROTTLING_CODES and attempt + 1 < WRITE_ATTEMPTS:
                pause(min(20.0, 0.5 * 2**attempt))
                continue
            raise ActionError(f"{what}: {describe_error(exc)}", code, outcome_unknown(exc)) from exc


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
    _write(f"modify {instance_id}", lambda: rds.modify_db_instance(**kwargs))


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
    _write(
        f"modify cluster {cluster_id}",
        lambda: rds.modify_db_cluster(
            DBClusterIdentifier=cluster_id, CACertificateIdentifier=ca, ApplyImmediately=apply_now
        ),
    )


@needs("rds:ApplyPendingMaintenanceAction", used_by=("rotate",))
def apply_action(rds: Any, arn: str, action: str, *, apply_now: bool) -> None:
    _write(
        f"apply {action} to {arn}",
        lambda: rds.apply_pending_maintenance_action(
            ResourceIdentifier=arn,
            ApplyAction=action,
            OptInType="immediate" if apply_now else "next-maintenance",
        ),
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


@needs("rds:DescribeDBClusters", used_by=("audit",))  # plan reads it: a read-only command
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
    _write("modify the default CA", lambda: rds.modify_certificates(**kwargs))


def region_cas(rds: Any, account_id: str, region: str) -> RegionCAs:
    with _aws(f"describe certificates in {account_id}/{region}"):
        return read_certificates(rds, account_id, region)


def engine_support(rds: Any, engine: str, version: str) -> EngineCapability:
    with _aws(f"describe engine {engine} {version}"):
        return read_engine(rds, engine, version)


class BoundActions:
    """The executor's view of AWS: calls by (account, region), each on its own client."""

    def __init__(
        self, clients: Callable[[str, str], Any], writers: Callable[[str, str], Any] | None = None
    ) -> None:
        self._clients = clients
        self._writers = writers or clients

    def _rds(self, account: str, region: str, write: bool = False) -> Any:
        try:
            return (self._writers if write else self._clients)(account, region)
        except KeyError:
            raise ActionError(f"no credentials for account {account} in {region}") from None

    def poll(self, account: str, region: str, ids: Sequence[str]) -> Mapping[str, Instance]:
        return poll(self._rds(account, region), account, region, ids)

    def modify_instance(
        self, account: str, region: str, instance_id: str, ca: str, *, apply_now: bool, no_restart: bool
    ) -> None:
        modify_instance(
            self._rds(account, region, write=True),
            instance_id,
            ca,
            apply_now=apply_now,
            no_restart=no_restart,
        )

    def modify_cluster(
        self, account: str, region: str, cluster_id: str, ca: str, *, apply_now: bool, no_restart: bool
    ) -> None:
        modify_cluster(
            self._rds(account, region, write=True), cluster_id, ca, apply_now=apply_now, no_restart=no_restart
        )

    def apply_action(self, account: str, region: str, arn: str, action: str, *, apply_now: bool) -> None:
        apply_action(self._rds(account, region, write=True), arn, action, apply_now=apply_now)

    def region_cas(self, account: str, region: str) -> RegionCAs:
        return region_cas(self._rds(account, region), account, region)

    def engine_support(self, account: str, region: str, engine: str, version: str) -> EngineCapability:
        return engine_support(self._rds(account, region), engine, version)
