"""Seed fleets straight into moto's in-process backends (fast: no HTTP, about 1 ms an instance)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from moto.rds.models import rds_backends

from rdsca.sandbox import certificates, demo, events, health, lifecycle

INSTANCE_CLASS = "db.t3.medium"
SYNTHETIC_ENGINES = (
    ("postgres", "16.4"),
    ("postgres", "13.16"),
    ("mysql", "8.0.39"),
    ("mysql", "8.0.28"),
    ("mariadb", "10.11.9"),
    ("mariadb", "10.6.19"),
)
ENVS = ("dev", "staging", "prod")
CREATED_DAYS_AGO = 200  # age of a seeded instance's current server certificate


@dataclass(frozen=True)
class Seeded:
    instances: int
    accounts: tuple[str, ...]
    regions: tuple[str, ...]


def backend(account: str, region: str) -> Any:
    return rds_backends[account][region]


def _tags(env: str | None, extra: Sequence[tuple[str, str]] = ()) -> list[dict[str, str]]:
    pairs = ([("env", env)] if env else []) + list(extra)
    return [{"Key": k, "Value": v} for k, v in pairs]


def force_state(
    db: Any, ca: str | None, now: datetime, leaf_days: int | None = None, pending_ca: str | None = None
) -> None:
    """Put an instance on `ca` (even a retired one) with a server certificate as RDS would."""
    lifecycle.init_instance(db, None)
    db.ca_certificate_identifier = ca
    st = lifecycle.state(db)
    st.served_ca = ca
    if ca is None:
        return
    if leaf_days is not None:
        st.leaf_valid_till = now + timedelta(days=leaf_days)
    elif ca in certificates.RETIRED_CAS:
        st.leaf_valid_till = certificates.validity(ca, db.region)[1]  # expired with its CA
    else:
        st.leaf_valid_till = lifecycle.new_leaf(db, ca, now - timedelta(days=CREATED_DAYS_AGO))
    st.pending_ca = pending_ca


def add_action(
    db: Any,
    action: str,
    now: datetime,
    target_ca: str | None = None,
    auto_days: int = 14,
    forced_days: int = 45,
) -> lifecycle.PendingAction:
    descriptions = {
        "ca-certificate-rotation": "CA certificate rotation to the default CA",
        "server-certificate-rotation": "Server certificate rotation",
    }
    pending = lifecycle.PendingAction(
        action=action,
        description=descriptions.get(action, action),
        auto_applied_after=now + timedelta(days=auto_days),
        forced_apply_date=now + timedelta(days=forced_days),
        target_ca=target_ca,
    )
    st = lifecycle.state(db)
    st.actions = [a for a in st.actions if a.action != action] + [pending]
    return pending


def _create(item: demo.DemoInstance) -> Any:
    be = backend(item.account, item.region)
    tags = _tags(item.env, item.tags)
    if item.replica_of:
        source = item.replica_of
        if "/" in source:
            src_region, src_id = source.split("/", 1)
            source = f"arn:aws:rds:{src_region}:{item.account}:db:{src_id}"
        return be.create_db_instance_read_replica(
            {
                "db_instance_identifier": item.id,
                "source_db_instance_identifier": source,
                "db_instance_class": INSTANCE_CLASS,
                "tags": tags,
            }
        )
    kwargs: dict[str, Any] = {
        "db_instance_identifier": item.id,
        "db_instance_class": INSTANCE_CLASS,
        "engine": item.engine,
        "tags": tags,
        "multi_az": item.multi_az,
        "preferred_maintenance_window": demo.WINDOW,
        "master_username": "admin",
    }
    if item.cluster:
        kwargs["db_cluster_identifier"] = item.cluster
    else:
        kwargs["engine_version"] = item.version
    return be.create_db_instance(kwargs)


def seed_demo(now: datetime | None = None) -> Seeded:
    """Build the demo fleet of `rdsca.sandbox.demo` (on top of whatever exists)."""
    now = now or lifecycle.utcnow()
    for c in demo.CLUSTERS:
        backend(c.account, c.region).create_db_cluster(
            {
                "db_cluster_identifier": c.id,
                "engine": c.engine,
                "engine_version": c.version,
                "master_username": "admin",
                "master_user_password": "sandbox-password",
                "preferred_maintenance_window": demo.WINDOW,
                "tags": _tags(c.env),
            }
        )
    for item in demo.INSTANCES:
        db = _create(item)
        force_state(db, item.ca, now, item.leaf_days, item.pending_ca)
        if item.action:
            add_action(
                db,
                item.action,
                now,
                target_ca=demo.RSA2048 if item.action == "ca-certificate-rotation" else None,
                auto_days=10,
                forced_days=19,
            )
    events.seed_demo(now, lambda account, region, iid: backend(account, region).databases[iid])
    health.seed_demo(now)
    return Seeded(len(demo.INSTANCES), demo.ACCOUNTS, demo.REGIONS)


def synthetic_accounts(count: int) -> tuple[str, ...]:
    return tuple(f"{100000000000 + n:012d}" for n in range(1, count + 1))


def seed_synthetic(
    accounts: Sequence[str],
    regions: Sequence[str],
    per_region: int,
    retired_fraction: float = 0.3,
    seed: int = 1,
    now: datetime | None = None,
) -> Seeded:
    """accounts x regions x per_region instances; `retired_fraction` of them on rds-ca-2019."""
    if not 0.0 <= retired_fraction <= 1.0:
        raise ValueError("retired_fraction must be between 0 and 1")
    now = now or lifecycle.utcnow()
    rng = random.Random(seed)
    total = 0
    for account in accounts:
        for region in regions:
            be = backend(account, region)
            for n in range(per_region):
                engine, version = SYNTHETIC_ENGINES[n % len(SYNTHETIC_ENGINES)]
                env = ENVS[n % len(ENVS)]
                db = be.create_db_instance(
                    {
                        "db_instance_identifier": f"{engine}-{env}-{n:05d}",
                        "db_instance_class": INSTANCE_CLASS,
                        "engine": engine,
                        "engine_version": version,
                        "tags": _tags(env),
                        "preferred_maintenance_window": demo.WINDOW,
                        "master_username": "admin",
                    }
                )
                retired = rng.random() < retired_fraction
                force_state(db, "rds-ca-2019" if retired else "rds-ca-rsa2048-g1", now)
                total += 1
    return Seeded(total, tuple(accounts), tuple(regions))
