"""Collect the fleet: one pass of paginated describes per target, targets in parallel."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import botocore.exceptions as bce

from rdsca.aws import mapping
from rdsca.aws.errors import describe_error
from rdsca.aws.permissions import needs
from rdsca.aws.session import ResolvedTarget
from rdsca.model import Authority, EngineCapability, Fleet, Instance, PendingAction, RegionCAs, TargetStatus

PAGE_SIZE = 100
MAX_WORKERS = 16


class EngineCache:
    """describe_db_engine_versions answers, once per (region, engine, version).

    The answer is the same in every account of a region, so concurrent targets share it; the
    first caller fetches while the others wait on its future.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[tuple[str, str, str], Future[EngineCapability]] = {}

    def get(
        self, region: str, engine: str, version: str, fetch: Callable[[], EngineCapability]
    ) -> EngineCapability:
        key = (region, engine, version)
        with self._lock:
            future = self._futures.get(key)
            owner = future is None
            if owner:
                future = Future()
                self._futures[key] = future
        assert future is not None
        if owner:
            try:
                future.set_result(fetch())
            except BaseException as exc:
                future.set_exception(exc)
                with self._lock:  # let a later target try again
                    self._futures.pop(key, None)
        return future.result()


@needs("rds:DescribeCertificates")
def read_certificates(rds: Any, account_id: str, region: str) -> RegionCAs:
    authorities: list[Authority] = []
    default = None
    for page in rds.get_paginator("describe_certificates").paginate(PaginationConfig={"PageSize": PAGE_SIZE}):
        default = page.get("DefaultCertificateForNewLaunches") or default
        authorities.extend(mapping.authority(c, account_id, region) for c in page["Certificates"])
    return RegionCAs(account_id, region, tuple(authorities), default)


@needs("rds:DescribeDBInstances")
def read_instances(rds: Any, filters: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"PaginationConfig": {"PageSize": PAGE_SIZE}}
    if filters:
        kwargs["Filters"] = list(filters)
    for page in rds.get_paginator("describe_db_instances").paginate(**kwargs):
        out.extend(page["DBInstances"])
    return out


@needs("rds:DescribePendingMaintenanceActions")
def read_pending_actions(rds: Any) -> dict[str, tuple[PendingAction, ...]]:
    out: dict[str, tuple[PendingAction, ...]] = {}
    for page in rds.get_paginator("describe_pending_maintenance_actions").paginate(
        PaginationConfig={"PageSize": PAGE_SIZE}
    ):
        for resource in page["PendingMaintenanceActions"]:
            actions = tuple(
                mapping.pending_action(a) for a in resource.get("PendingMaintenanceActionDetails", ())
            )
            out[resource["ResourceIdentifier"]] = out.get(resource["ResourceIdentifier"], ()) + actions
    return out


@needs("rds:DescribeDBEngineVersions")
def read_engine(rds: Any, engine: str, version: str) -> EngineCapability:
    resp = rds.describe_db_engine_versions(Engine=engine, EngineVersion=version, IncludeAll=True)
    versions = resp.get("DBEngineVersions") or []
    return mapping.engine_capability(versions[0] if versions else None, engine, version)


@dataclass(frozen=True)
class TargetResult:
    status: TargetStatus
    region_cas: RegionCAs | None
    instances: tuple[Instance, ...]


def collect_target(resolved: ResolvedTarget, engines: EngineCache) -> TargetResult:
    target = resolved.target
    if resolved.factory is None:
        return TargetResult(TargetStatus(target, False, resolved.error), None, ())
    try:
        rds = resolved.factory.client("rds", target.region)
        raw_instances = read_instances(rds)
        region_cas = read_certificates(rds, target.account_id, target.region)
        pending = read_pending_actions(rds) if raw_instances else {}
        instances = []
        for raw in raw_instances:
            engine, version = raw.get("Engine", ""), raw.get("EngineVersion", "")
            capability = engines.get(
                target.region, engine, version, partial(read_engine, rds, engine, version)
            )
            instances.append(mapping.instance(raw, target.account_id, target.region, pending, capability))
    except (bce.BotoCoreError, bce.ClientError) as exc:
        return TargetResult(TargetStatus(target, False, describe_error(exc)), None, ())
    return TargetResult(TargetStatus(target, True), region_cas, tuple(instances))


def collect(targets: Sequence[ResolvedTarget], now: datetime, max_workers: int = MAX_WORKERS) -> Fleet:
    """Read every target concurrently. A failed target is recorded, never dropped."""
    engines = EngineCache()
    workers = max(1, min(max_workers, len(targets)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rdsca-collect") as pool:
        results = list(pool.map(lambda t: collect_target(t, engines), targets))
    return Fleet(
        collected_at=now,
        targets=tuple(r.status for r in results),
        regions=tuple(r.region_cas for r in results if r.region_cas is not None),
        instances=tuple(i for r in results for i in r.instances),
    )
