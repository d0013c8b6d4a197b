"""The demo fleet, as data. Docs and tests read it from here; `fleet.seed_demo` builds it.

Two accounts reached by assuming `rdsca-audit`, three regions (ap-south-1 lists only
rds-ca-rsa2048-g1 of the G1 CAs), dev/staging/prod by an `env` tag, and one instance for each case
the tool must get right.
"""

from __future__ import annotations

from dataclasses import dataclass

ACCOUNTS = ("111111111111", "222222222222")
REGIONS = ("us-east-1", "eu-west-1", "ap-south-1")
ROLE_NAME = "rdsca-audit"
WINDOW = "sun:05:00-sun:06:00"

RETIRED = "rds-ca-2019"
RSA2048 = "rds-ca-rsa2048-g1"
RSA4096 = "rds-ca-rsa4096-g1"
ECC384 = "rds-ca-ecc384-g1"
XSS_TAG = "<script>alert(1)</script>"


@dataclass(frozen=True)
class DemoCluster:
    account: str
    region: str
    id: str
    engine: str
    version: str
    env: str


@dataclass(frozen=True)
class DemoInstance:
    account: str
    region: str
    id: str
    engine: str
    version: str  # ignored for cluster members (they take the cluster's)
    env: str | None  # the `env` tag; None: untagged
    ca: str | None  # None: not RDS-managed (Neptune)
    note: str  # why it is in the fleet
    cluster: str | None = None
    replica_of: str | None = None  # source id; `region/id` for a cross-region source
    multi_az: bool = False
    leaf_days: int | None = None  # server certificate valid-till, days from seeding
    pending_ca: str | None = None  # PendingModifiedValues.CACertificateIdentifier
    action: str | None = None  # a pending certificate maintenance action
    tags: tuple[tuple[str, str], ...] = ()


A1, A2 = ACCOUNTS
US, EU, AP = REGIONS

# The fleet, one row per item. fmt: off keeps it a table.
# fmt: off
CLUSTERS = (
    DemoCluster(A1, US, "catalog-prod", "aurora-postgresql", "14.9", "prod"),
    DemoCluster(A1, US, "docs-dev", "docdb", "5.0.0", "dev"),
    DemoCluster(A1, US, "graph-dev", "neptune", "1.3.2.1", "dev"),
)

INSTANCES = (
    # account 1, us-east-1
    DemoInstance(A1, US, "orders-prod-pg", "postgres", "15.8", "prod", RETIRED,
                 "primary on the retired CA, Multi-AZ, with two read replicas", multi_az=True),
    DemoInstance(A1, US, "orders-prod-pg-replica-1", "postgres", "15.8", "prod", RETIRED,
                 "same-region read replica", replica_of="orders-prod-pg"),
    DemoInstance(A1, US, "billing-prod-mysql", "mysql", "8.0.28", "prod", RETIRED,
                 "retired CA, engine needs a restart to rotate"),
    DemoInstance(A1, US, "catalog-prod-1", "aurora-postgresql", "14.9", "prod", RETIRED,
                 "Aurora writer", cluster="catalog-prod"),
    DemoInstance(A1, US, "catalog-prod-2", "aurora-postgresql", "14.9", "prod", RETIRED,
                 "Aurora reader", cluster="catalog-prod"),
    DemoInstance(A1, US, "catalog-prod-3", "aurora-postgresql", "14.9", "prod", RETIRED,
                 "Aurora reader", cluster="catalog-prod"),
    DemoInstance(A1, US, "web-staging-mysql", "mysql", "8.0.39", "staging", RSA2048,
                 "already on rds-ca-rsa2048-g1 (MySQL 8.0: no published answer, so a restart); RDS "
                 "posted a server-certificate-rotation (RDS-EVENT-0501) that will reboot it",
                 leaf_days=240, action="server-certificate-rotation"),
    DemoInstance(A1, US, "reports-staging-pg", "postgres", "13.16", "staging", RETIRED,
                 "a CA change waiting for the maintenance window", pending_ca=RSA2048),
    DemoInstance(A1, US, "sessions-dev-mariadb", "mariadb", "10.11.9", "dev", RSA4096,
                 "on rds-ca-rsa4096-g1", leaf_days=300),
    DemoInstance(A1, US, "legacy-dev-mysql57", "mysql", "5.7.44", "dev", RETIRED,
                 "old engine version: MySQL 5.7 needs a restart (5.7.33 reports false)"),
    DemoInstance(A1, US, "docs-dev-docdb", "docdb", "5.0.0", "dev", RSA2048,
                 "DocumentDB instance", cluster="docs-dev", leaf_days=200),
    DemoInstance(A1, US, "graph-dev-neptune", "neptune", "1.3.2.1", "dev", None,
                 "Neptune: certificates not managed by RDS CAs", cluster="graph-dev"),
    DemoInstance(A1, US, "scratch-pg", "postgres", "16.4", None, RSA2048,
                 "no env tag (lands in the 'untagged' wave)", leaf_days=150),
    # account 1, eu-west-1
    DemoInstance(A1, EU, "orders-prod-pg-replica-eu", "postgres", "15.8", "prod", RETIRED,
                 "cross-region read replica of orders-prod-pg", replica_of=f"{US}/orders-prod-pg"),
    DemoInstance(A1, EU, "crm-prod-pg", "postgres", "13.16", "prod", RSA2048,
                 "server certificate expires within 30 days; server-certificate-rotation pending",
                 leaf_days=20, action="server-certificate-rotation"),
    DemoInstance(A1, EU, "crm-staging-mariadb", "mariadb", "10.6.19", "staging", RETIRED,
                 "ca-certificate-rotation maintenance action pending",
                 action="ca-certificate-rotation"),
    DemoInstance(A1, EU, "analytics-dev-pg", "postgres", "16.4", "dev", ECC384,
                 "on rds-ca-ecc384-g1", leaf_days=330),
    # account 1, ap-south-1 (no RSA4096 / ECC384 CAs here)
    DemoInstance(A1, AP, "payments-prod-mysql", "mysql", "8.0.39", "prod", RETIRED,
                 "retired CA in a region without RSA4096/ECC384", multi_az=True),
    DemoInstance(A1, AP, "payments-dev-mysql", "mysql", "8.0.39", "dev", RSA2048,
                 "already rotated; RDS scheduled its server-certificate rotation (a reboot) for the next "
                 "window (RDS-EVENT-0502)", leaf_days=200, action="server-certificate-rotation"),
    # account 2, us-east-1
    DemoInstance(A2, US, "shop-prod-mysql", "mysql", "8.0.39", "prod", RETIRED,
                 "second account; primary with a read replica", multi_az=True),
    DemoInstance(A2, US, "shop-prod-mysql-ro", "mysql", "8.0.39", "prod", RETIRED,
                 "read replica", replica_of="shop-prod-mysql"),
    DemoInstance(A2, US, "shop-staging-mysql", "mysql", "8.0.28", "staging", RETIRED,
                 "needs a restart to rotate"),
    DemoInstance(A2, US, "shop-dev-pg", "postgres", "12.20", "dev", RETIRED,
                 "a tag value that reports must escape; postgres 12: no published answer, a restart",
                 tags=(("team", XSS_TAG),)),
    # account 2, eu-west-1
    DemoInstance(A2, EU, "inventory-prod-mariadb", "mariadb", "10.11.9", "prod", RSA2048,
                 "already rotated", leaf_days=280),
    DemoInstance(A2, EU, "inventory-dev-pg", "postgres", "15.8", "dev", RETIRED,
                 "retired CA, rotates without restart"),
    DemoInstance(A2, EU, "search-staging-pg", "postgres", "16.4", "staging", RSA2048,
                 "server certificate ends in about two months", leaf_days=60),
    DemoInstance(A2, EU, "events-dev-pg", "postgres", "16.4", "dev", RSA2048,
                 "server certificate already expired on a current CA", leaf_days=-3),
    DemoInstance(A2, EU, "queue-staging-mysql", "mysql", "8.0.39", "staging", RSA2048,
                 "a G1-to-G1 CA change waiting for the window", leaf_days=400, pending_ca=RSA4096),
    # account 2, ap-south-1
    DemoInstance(A2, AP, "ledger-prod-pg", "postgres", "16.4", "prod", RSA2048,
                 "already rotated", leaf_days=310),
    DemoInstance(A2, AP, "ledger-staging-pg", "postgres", "13.16", "staging", RETIRED,
                 "retired CA; postgres 13.4 and later rotate without a restart"),
)
# fmt: on


def instance(instance_id: str) -> DemoInstance:
    return next(i for i in INSTANCES if i.id == instance_id)
