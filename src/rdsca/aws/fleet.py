"""Collect the fleet: one pass of paginated describes per target, targets in parallel."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from rdsca.aws import mapping
from rdsca.aws.errors import AWS_ERRORS, describe_error
from rdsca.aws.permissions import needs
from rdsca.aws.session import ResolvedTarget
from rdsca.model import (
    Authority,
    EngineCapability,
    Fleet,
    Instance,
    InstanceEvent,
    PendingAction,
    RegionCAs,
    TargetStatus,
)

PAGE_SIZE = 100
MAX_WORKERS = 128  # targets in flight; each mostly waits on AWS (see docs/benchmarks-org.md)


class EngineCache:
    """describe_db_engine_versions answers, once per (region, engine, version).

    The answer is the same in every account of a region, so concurrent targets share it. A lookup
    starts as soon as a page of instances names a new (engine, version), on the side pool, so
    the lookups run in parallel with each other and with the next page instead of one after
    another at the end of the target.
    """

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._pool = pool
        self._lock = threading.Lock()
        self._futures: dict[tuple[str, str, str], Future[EngineCapability]] = {}

    def start(
        self, region: str, engine: str, version: str, fetch: Callable[[], EngineCapability]
    ) -> Future[EngineCapability]:
        key = (region, engine, version)
        with self._lock:
            future = self._futures.get(key)
            if future is None or (future.done() and future.exception() is not None):
                future = self._futures[key] = self._pool.submit(fetch)  # a failed one is retried
            return future


@needs("rds:DescribeCertificates")
def read_certificates(rds: Any, account_id: str, region: str) -> RegionCAs:
    authorities: list[Authority] = []
    default = None
    for page in rds.get_paginator("describe_certificates").paginate(PaginationConfig={"PageSize": PAGE_SIZE}):
        default = page.get("DefaultCertificateForNewLaunches") or default
        authorities.extend(mapping.authority(c, account_id, region) for c in page["Certificates"])
    return RegionCAs(account_id, region, tuple(authorities), default)


@needs("rds:DescribeDBInstances")
def read_instances(
    rds: Any,
    filters: Sequence[dict[str, Any]] = (),
    on_page: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """All pages; `on_page` sees each page as it arrives (to start dependent calls early)."""
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"PaginationConfig": {"PageSize": PAGE_SIZE}}
    if filters:
        kwargs["Filters"] = list(filters)
    for page in rds.get_paginator("describe_db_instances").paginate(**kwargs):
        if on_page is not None:
            on_page(page["DBInstances"])
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


# DescribeEvents "Returns events ... for the past 14 days" (RDS API Reference): the window rdsca reads.
EVENT_DAYS = 14
log = logging.getLogger(__name__)
_WARNED: set[str] = set()
_WARNED_LOCK = threading.Lock()


@needs("rds:DescribeEvents")
def read_events(rds: Any, now: datetime) -> dict[str, tuple[InstanceEvent, ...]]:
    """The DB instances' maintenance events of the last 14 days, by instance id (the reboot forecast
    reads RDS-EVENT-0501/0502 from them). Optional: a refusal (an older policy without
    rds:DescribeEvents) leaves the forecast to pending actions and certificate ages, with a warning."""
    out: dict[str, list[InstanceEvent]] = {}
    pages = rds.get_paginator("describe_events").paginate(
        SourceType="db-instance",
        StartTime=now - timedelta(days=EVENT_DAYS),
        EndTime=now,
        EventCategories=["maintenance"],
        PaginationConfig={"PageSize": PAGE_SIZE},
    )
    try:
        for page in pages:
            for raw in page.get("Events") or ():
                event = mapping.instance_event(raw)
                if event is not None and raw.get("SourceIdentifier"):
                    out.setdefault(str(raw["SourceIdentifier"]), []).append(event)
    except AWS_ERRORS as exc:
        reason = describe_error(exc)
        with _WARNED_LOCK:  # once per kind of refusal, not once per account x region
            first = reason.split(":", 1)[0] not in _WARNED
            _WARNED.add(reason.split(":", 1)[0])
        if first:
            log.warning("RDS events not read (%s): reboot forecasts rest on pending actions and "
                        "certificate ages only", reason)  # fmt: skip
        return {}
    return {k: tuple(v) for k, v in out.items()}


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


def collect_target(
    resolved: ResolvedTarget, engines: EngineCache, side: ThreadPoolExecutor, now: datetime | None = None
) -> TargetResult:
    """One target's calls, as concurrent as their dependencies allow.

    describe_certificates starts with the first page of instances; the pending maintenance
    actions and the engine versions start as soon as the first page shows instances, beside the
    next page. The latency chain of a target is thus its pages plus one call, not the sum of all
    its calls.
    """
    target = resolved.target
    now = now or datetime.now(UTC)
    if resolved.factory is None:
        return TargetResult(TargetStatus(target, False, resolved.error), None, ())
    try:
        rds = resolved.factory.client("rds", target.region)
        certs = side.submit(read_certificates, rds, target.account_id, target.region)
        pending: list[Future[dict[str, tuple[PendingAction, ...]]]] = []
        events: list[Future[dict[str, tuple[InstanceEvent, ...]]]] = []

        def on_page(page: list[dict[str, Any]]) -> None:
            if page and not pending:
                pending.append(side.submit(read_pending_actions, rds))
                events.append(side.submit(read_events, rds, now))
            for raw in page:
                engine, version = raw.get("Engine", ""), raw.get("EngineVersion", "")
                engines.start(target.region, engine, version, partial(read_engine, rds, engine, version))

        raw_instances = read_instances(rds, on_page=on_page)
        region_cas = certs.result()
        actions = pending[0].result() if pending else {}
        recent = events[0].result() if events else {}
        instances = []
        for raw in raw_instances:
            engine, version = raw.get("Engine", ""), raw.get("EngineVersion", "")
            capability = engines.start(
                target.region, engine, version, partial(read_engine, rds, engine, version)
            ).result()
            instances.append(
                mapping.instance(raw, target.account_id, target.region, actions, capability, recent)
            )
    except AWS_ERRORS as exc:
        return TargetResult(TargetStatus(target, False, describe_error(exc)), None, ())
    return TargetResult(TargetStatus(target, True), region_cas, tuple(instances))


@dataclass(frozen=True)
class Progress:
    """How far a collection is, for a progress display (the library never prints it)."""

    targets_done: int
    targets_total: int
    accounts_done: int
    accounts_total: int
    instances: int
    failed: int
    throttled: int  # throttling answers retried so far (rdsca.aws.accounts)
    elapsed: float  # seconds since the collection started
    resolving: bool = False  # roles are still being assumed: the totals are those known so far

    @property
    def eta(self) -> float | None:
        """Seconds left at the pace so far; None until 2% of the targets (at least 10) are done,
        before which the pace says more about start-up than about the run, and while the totals
        are still growing."""
        if self.resolving or self.targets_done < min(self.targets_total, max(10, self.targets_total // 50)):
            return None
        return self.elapsed / self.targets_done * (self.targets_total - self.targets_done)


ProgressHook = Callable[[Progress], None]


def collect(
    targets: Sequence[ResolvedTarget],
    now: datetime,
    max_workers: int = MAX_WORKERS,
    progress: ProgressHook | None = None,
    processes: int | None = 1,
) -> Fleet:
    """Read every target concurrently. A failed target is recorded, never dropped.

    Targets run on one pool; the calls they start early (certificates, pending actions, engine
    versions) run on a side pool, so a target never waits for a worker held by another target.
    `progress`, when given, is called after each target (from a worker thread; keep it quick).
    `processes` above 1 (None: one per usable CPU) splits a large read between worker processes
    (rdsca.aws.shards); small reads stay in this process.
    """
    from rdsca.aws.shards import collect_sharded, shard_count  # it builds on this module

    shards = shard_count(processes, len(targets))
    if shards > 1:
        return collect_sharded(targets, now, shards, max_workers, progress)
    workers = max(1, min(max_workers, len(targets)))
    tracker = Tracker(targets, progress)
    with (
        ThreadPoolExecutor(max_workers=2 * workers, thread_name_prefix="rdsca-side") as side,
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rdsca-collect") as pool,
    ):
        engines = EngineCache(side)
        results = list(pool.map(lambda t: tracker.done(t, collect_target(t, engines, side, now)), targets))
    return fleet_of(now, results)


def fleet_of(now: datetime, results: Sequence[TargetResult]) -> Fleet:
    """The Fleet of the targets' results, in the targets' order."""
    return Fleet(
        collected_at=now,
        targets=tuple(r.status for r in results),
        regions=tuple(r.region_cas for r in results if r.region_cas is not None),
        instances=tuple(i for r in results for i in r.instances),
    )


class Tracker:
    """Counts finished targets and accounts for the progress hook (and the throttling retried,
    here and, with worker processes, in each of them)."""

    def __init__(self, targets: Sequence[ResolvedTarget], hook: ProgressHook | None) -> None:
        self.hook = hook
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.left: dict[str, int] = {}
        self.total = self.accounts = 0
        self.done_targets = self.done_accounts = self.instances = self.failed = 0
        self.limits: Any = None
        self.elsewhere: dict[int, int] = {}  # throttling retried by each worker process
        self.resolving = False  # more targets may come (rdsca.aws.shards reads while roles are assumed)
        self.add(targets)

    def add(self, targets: Sequence[ResolvedTarget]) -> None:
        with self.lock:
            for t in targets:
                account = t.target.account_id
                self.accounts += account not in self.left
                self.left[account] = self.left.get(account, 0) + 1
                if self.limits is None and t.factory is not None:
                    self.limits = t.factory.limits
            self.total += len(targets)

    def throttled_elsewhere(self, worker: int, count: int) -> None:
        with self.lock:
            self.elsewhere[worker] = count

    def done(self, resolved: ResolvedTarget, result: TargetResult) -> TargetResult:
        if self.hook is None:
            return result
        with self.lock:
            self.done_targets += 1
            self.instances += len(result.instances)
            self.failed += not result.status.ok
            account = resolved.target.account_id
            self.left[account] -= 1
            self.done_accounts += self.left[account] == 0
            snapshot = Progress(
                self.done_targets,
                self.total,
                self.done_accounts,
                self.accounts,
                self.instances,
                self.failed,
                (self.limits.throttled if self.limits else 0) + sum(self.elsewhere.values()),
                time.monotonic() - self.started,
                self.resolving,
            )
        self.hook(snapshot)
        return result
