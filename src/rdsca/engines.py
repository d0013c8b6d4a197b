"""What rdsca knows about each database engine, in one table: pure data, no imports from AWS.

`facts(engine)` takes an engine name as `DescribeDBInstances` reports it (`postgres`,
`aurora-postgresql`, `oracle-se2-cdb`, `sqlserver-web`, `custom-oracle-ee`, ...) and returns its
`EngineFacts`; names that share a family (the Oracle and SQL Server editions, RDS Custom) are
found by prefix, and an engine rdsca has never heard of gets `UNKNOWN`, a cautious default.

Sources (AWS documentation titles; cited again beside each fact):

- [TLS] "Using SSL/TLS to encrypt a connection to a DB instance or cluster", Amazon RDS User Guide,
  https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html
- [ROTATE] "Rotating your SSL/TLS certificate", Amazon RDS User Guide,
  https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL-certificate-rotation.html
- [ORACLE-ROTATE] "Updating applications to connect to Oracle DB instances using new SSL/TLS
  certificates": "only the database listener is restarted. The DB instance isn't restarted",
  https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/ssl-certificate-rotation-oracle.html
- [ORACLE-SSL] "Oracle Secure Sockets Layer": "Amazon RDS uses a second port, as required by
  Oracle, for SSL connections" (the SSL option's port, 2484 by default),
  https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.Oracle.Options.SSL.html
- [DB2-SSL] "Using SSL/TLS with an Amazon RDS for Db2 DB instance": a second port (SSL_SVCENAME),
  https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Db2.Concepts.SSL.html
- [PORTS] default ports: "Creating an Amazon RDS DB instance" (Settings for DB instances,
  "Database port"), Amazon RDS User Guide; DocumentDB: "Connecting to an Amazon DocumentDB
  cluster"; Neptune: "Connecting to an Amazon Neptune DB cluster" (port 8182).
- [MAZ] "Multi-AZ DB cluster deployments": RDS for MySQL and RDS for PostgreSQL only,
  https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/multi-az-db-clusters-concepts.html
- [CUSTOM] ModifyDBInstance, CACertificateIdentifier: "This setting doesn't apply to RDS Custom DB
  instances", https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBInstance.html
- [NEPTUNE] "Encrypting connections to your Amazon Neptune database with SSL/HTTPS": Neptune's
  certificates come from AWS Certificate Manager (Amazon Trust Services), not from RDS CAs.
- [SQLSERVER] "Using SSL with a Microsoft SQL Server DB instance": TLS is negotiated inside TDS
  (PRELOGIN), which rdsca's credential-free probe does not speak.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ClusterKind = Literal["aurora", "docdb", "neptune", "multi-az"]
ProbeProtocol = Literal["postgres", "mysql", "tls"]  # the values of readiness.probe_wire.Protocol
RestartBehaviour = Literal["instance", "listener"]


@dataclass(frozen=True)
class EngineFacts:
    """One engine family. `name` is the table's key (`oracle` for every Oracle edition)."""

    name: str
    display_name: str
    managed_by_rds_ca: bool  # does the server certificate follow the instance's RDS CA id?
    unmanaged_reason: str | None  # why not, when it does not
    cluster_kind: ClusterKind | None  # what a DB cluster of this engine is; None: no clusters
    probe_protocol: ProbeProtocol | None  # how rdsca reaches its TLS without credentials
    default_port: int | None
    restart_behaviour: RestartBehaviour  # what a CA change restarts (without the no-restart option)
    restart_note: str | None = None
    tls_on_endpoint_port: bool = True  # False: TLS listens on a second, configured port
    note: str | None = None


_ORACLE_SSL_PORT = (
    "TLS listens on the SSL option's own port (2484 by default), not on the endpoint port [ORACLE-SSL]"
)

# fmt: off
TABLE: tuple[EngineFacts, ...] = (
    # [TLS] every RDS engine below uses the instance's CA id; [PORTS] for the ports.
    EngineFacts("postgres", "PostgreSQL", True, None, "multi-az", "postgres", 5432, "instance"),
    EngineFacts("mysql", "MySQL", True, None, "multi-az", "mysql", 3306, "instance"),
    EngineFacts("mariadb", "MariaDB", True, None, None, "mysql", 3306, "instance"),
    EngineFacts("aurora-postgresql", "Aurora PostgreSQL", True, None, "aurora", "postgres", 5432,
                "instance"),
    EngineFacts("aurora-mysql", "Aurora MySQL", True, None, "aurora", "mysql", 3306, "instance"),
    # Aurora MySQL version 1 (engine "aurora", MySQL 5.6-compatible) reached end of life on
    # 2023-02-28. It speaks MySQL, but rdsca has never probed it: kept as before (None).
    EngineFacts("aurora", "Aurora MySQL 1 (MySQL 5.6)", True, None, "aurora", None, 3306, "instance",
                note="end of life 2023-02-28; not probed"),
    # DocumentDB uses the RDS CAs (rds-ca-rsa2048-g1, ...) and TLS from the first byte on 27017.
    EngineFacts("docdb", "DocumentDB", True, None, "docdb", "tls", 27017, "instance"),
    EngineFacts("neptune", "Neptune", False,
                "Neptune's certificates come from AWS Certificate Manager, not RDS CAs [NEPTUNE]",
                "neptune", None, 8182, "instance"),
    # [ORACLE-ROTATE] only the listener restarts; existing sessions stay connected.
    EngineFacts("oracle", "Oracle", True, None, None, "tls", 1521, "listener",
                restart_note="only the listener restarts: existing sessions stay, new connections "
                "fail briefly [ORACLE-ROTATE]",
                tls_on_endpoint_port=False, note=_ORACLE_SSL_PORT),
    EngineFacts("sqlserver", "SQL Server", True, None, None, None, 1433, "instance",
                note="TLS inside TDS: not probed [SQLSERVER]"),
    EngineFacts("db2", "Db2", True, None, None, None, 50000, "instance",
                tls_on_endpoint_port=False,
                note="TLS listens on the SSL_SVCENAME port, not the endpoint port [DB2-SSL]"),
    EngineFacts("custom-oracle", "RDS Custom for Oracle", False,
                "RDS Custom: the CA setting doesn't apply, the customer manages the host [CUSTOM]",
                None, None, 1521, "instance"),
    EngineFacts("custom-sqlserver", "RDS Custom for SQL Server", False,
                "RDS Custom: the CA setting doesn't apply, the customer manages the host [CUSTOM]",
                None, None, 1433, "instance"),
)
# fmt: on

# Engines a name belongs to by prefix: editions (oracle-ee-cdb, sqlserver-web, db2-ae) and
# RDS Custom (custom-oracle-se2-cdb). Longest prefix first, so custom-oracle is not oracle.
_FAMILIES: tuple[tuple[str, str], ...] = (
    ("custom-sqlserver", "custom-sqlserver"),
    ("custom-oracle", "custom-oracle"),
    ("aurora-postgresql", "aurora-postgresql"),
    ("aurora-mysql", "aurora-mysql"),
    ("sqlserver", "sqlserver"),
    ("oracle", "oracle"),
    ("db2", "db2"),
    ("aurora", "aurora"),
)

# The cautious default for an engine not in the table: its CA id is read and rotated like any
# RDS engine (as rdsca always did), it is not probed, and a CA change restarts the instance.
UNKNOWN = EngineFacts("unknown", "unknown engine", True, None, None, None, None, "instance")

_BY_NAME = {f.name: f for f in TABLE}


def facts(engine: str) -> EngineFacts:
    """The facts of an engine name as AWS reports it; `UNKNOWN` (with that name) when unknown."""
    found = _BY_NAME.get(engine)
    if found is not None:
        return found
    for prefix, name in _FAMILIES:
        if engine.startswith(prefix):
            return _BY_NAME[name]
    return UNKNOWN


def rotated_by_rdsca(engine: str) -> bool:
    """Does rdsca audit and rotate this engine's CA id? (False: the instance is `unmanaged`.)"""
    return facts(engine).managed_by_rds_ca  # RDS Custom follows AWS: not managed [CUSTOM]


def is_multi_az_cluster_engine(engine: str) -> bool:
    """A DB cluster of this engine is a Multi-AZ DB cluster (one modify_db_cluster) [MAZ]."""
    return facts(engine).cluster_kind == "multi-az"
