"""The sandbox's table of engine versions and their certificate capabilities.

AWS publishes no complete matrix (the tool must read it from `DescribeDBEngineVersions`), so this
table is a plausible mix, chosen to exercise every branch: versions that rotate certificates without
a restart and versions that need one, one old version that only supports rds-ca-rsa2048-g1, and
engines whose certificates RDS does not manage (Neptune).
"""

from __future__ import annotations

from dataclasses import dataclass

from rdsca import engines as engine_facts

G1_ALL = ("rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1")
RSA2048_ONLY = ("rds-ca-rsa2048-g1",)


@dataclass(frozen=True)
class EngineVersion:
    engine: str
    version: str
    family: str  # DBParameterGroupFamily
    description: str
    rotation_without_restart: bool | None  # None: the field is absent (certificates not RDS-managed)
    supported_cas: tuple[str, ...]
    default: bool = False


# fmt: off
ENGINE_VERSIONS: tuple[EngineVersion, ...] = (
    EngineVersion("mysql", "8.0.39", "mysql8.0", "MySQL Community Edition", True, G1_ALL, True),
    EngineVersion("mysql", "8.0.28", "mysql8.0", "MySQL Community Edition", False, G1_ALL),
    EngineVersion("mysql", "5.7.44", "mysql5.7", "MySQL Community Edition", False, RSA2048_ONLY),
    EngineVersion("mariadb", "10.11.9", "mariadb10.11", "MariaDB Community Edition", True, G1_ALL, True),
    EngineVersion("mariadb", "10.6.19", "mariadb10.6", "MariaDB Community Edition", False, G1_ALL),
    EngineVersion("postgres", "16.4", "postgres16", "PostgreSQL", True, G1_ALL, True),
    EngineVersion("postgres", "15.8", "postgres15", "PostgreSQL", True, G1_ALL),
    EngineVersion("postgres", "13.16", "postgres13", "PostgreSQL", False, G1_ALL),
    EngineVersion("postgres", "12.20", "postgres12", "PostgreSQL", False, G1_ALL),
    EngineVersion(
        "aurora-mysql", "8.0.mysql_aurora.3.07.1", "aurora-mysql8.0", "Aurora MySQL", True, G1_ALL, True
    ),
    EngineVersion(
        "aurora-mysql", "8.0.mysql_aurora.3.05.2", "aurora-mysql8.0", "Aurora MySQL", False, G1_ALL
    ),
    EngineVersion(
        "aurora-postgresql", "15.4", "aurora-postgresql15", "Aurora (PostgreSQL)", True, G1_ALL, True
    ),
    EngineVersion("aurora-postgresql", "14.9", "aurora-postgresql14", "Aurora (PostgreSQL)", False, G1_ALL),
    EngineVersion(
        "docdb", "5.0.0", "docdb5.0", "DocumentDB (with MongoDB compatibility)", True, G1_ALL, True
    ),
    EngineVersion("docdb", "4.0.0", "docdb4.0", "DocumentDB (with MongoDB compatibility)", True, G1_ALL),
    EngineVersion("docdb", "3.6.0", "docdb3.6", "DocumentDB (with MongoDB compatibility)", False, G1_ALL),
    EngineVersion("neptune", "1.3.2.1", "neptune1.3", "Neptune", None, (), True),
    EngineVersion(
        "oracle-ee",
        "19.0.0.0.ru-2024-07.rur-2024-07.r1",
        "oracle-ee-19",
        "Oracle Database Enterprise Edition",
        False,
        G1_ALL,
        True,
    ),
)
# fmt: on


def managed(engine: str) -> bool:
    """Does the server certificate follow the instance's CA id? (`rdsca.engines` knows.)"""
    return engine_facts.rotated_by_rdsca(engine)


def lookup(engine: str, version: str) -> EngineVersion | None:
    return next((e for e in ENGINE_VERSIONS if e.engine == engine and e.version == version), None)


def rotates_without_restart(engine: str, version: str) -> bool:
    """Unknown versions are assumed to need a restart (the cautious answer)."""
    found = lookup(engine, version)
    return bool(found and found.rotation_without_restart)


def supports_ca(engine: str, version: str, ca_id: str) -> bool:
    """Unknown versions accept every CA: the sandbox does not invent refusals."""
    found = lookup(engine, version)
    return found is None or ca_id in found.supported_cas


def default_version(engine: str) -> str | None:
    return next((e.version for e in ENGINE_VERSIONS if e.engine == engine and e.default), None)


def select(
    engine: str | None = None,
    version: str | None = None,
    family: str | None = None,
    default_only: bool = False,
) -> list[EngineVersion]:
    out = []
    for e in ENGINE_VERSIONS:
        if engine and e.engine != engine:
            continue
        if version and not (e.version == version or e.version.startswith(version + ".")):
            continue
        if family and e.family != family:
            continue
        if default_only and not e.default:
            continue
        out.append(e)
    return out


def to_wire(e: EngineVersion) -> dict[str, object]:
    """The DBEngineVersion structure as AWS returns it."""
    out: dict[str, object] = {
        "Engine": e.engine,
        "EngineVersion": e.version,
        "MajorEngineVersion": e.version.split(".")[0],
        "DBParameterGroupFamily": e.family,
        "DBEngineDescription": e.description,
        "DBEngineVersionDescription": f"{e.description} {e.version}",
        "Status": "available",
        "SupportsReadReplica": e.engine != "neptune",
    }
    if e.rotation_without_restart is not None:
        out["SupportsCertificateRotationWithoutRestart"] = e.rotation_without_restart
    if e.supported_cas:
        out["SupportedCACertificateIdentifiers"] = list(e.supported_cas)
    return out
