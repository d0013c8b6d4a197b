"""The sandbox's answer to `DescribeDBEngineVersions`, per engine version, from what AWS published.

AWS publishes no complete matrix of `SupportsCertificateRotationWithoutRestart` (the tool reads it
from the API), so the sandbox answers from the few answers AWS and its users have published, one
rule per fact, each with its source. `RULES` is searched in order; the first rule whose engine and
version range match answers. Every rule says how it is known (`basis`):

- "published": AWS printed this version's answer (a user guide's sample output, or CLI output a
  user published);
- "extended": a published answer carried to the versions around it, with the reason;
- "unknown": nobody published it; the sandbox answers `False` (a restart is needed), the cautious
  answer, because a tool that plans for a restart that does not come loses nothing, and one that
  plans for none when one comes takes a database down.

Sources (cited again beside each rule):

- [TLS] "Using SSL/TLS to encrypt a connection to a DB instance or cluster", Amazon RDS User Guide,
  https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html: sample output of
  `aws rds describe-db-engine-versions --default-only --engine postgres`: postgres 13.4,
  "SupportsCertificateRotationWithoutRestart": true, SupportedCACertificateIdentifiers
  rds-ca-rsa2048-g1, rds-ca-ecc384-g1, rds-ca-rsa4096-g1 (the older edition of the page also listed
  rds-ca-2019). Same page: "If the DB engine version supports rotating the certificate without
  restart, the validity of the DB server certificate is 1 year. Otherwise the validity is 3 years."
- [ROTATE] "Rotating your SSL/TLS certificate", Amazon RDS User Guide,
  https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL-certificate-rotation.html
  (awsdocs/amazon-rds-user-guide, doc_source/UsingWithRDS.SSL-certificate-rotation.md): with
  `--no-certificate-rotation-restart` "This option will not rotate the certificate until the next
  time the database restarts, either for planned or unplanned maintenance."
- [MARIADB-CLI] `aws rds describe-db-engine-versions --engine mariadb` output for MariaDB 10.6.16,
  published 2024-08-12 in a user's post on rotating rds-ca-2019 (it follows the AWS blog "Rotate
  Your SSL/TLS Certificates Now - Amazon RDS and Amazon Aurora Expire in 2024",
  https://aws.amazon.com/blogs/aws/rotate-your-ssl-tls-certificates-now-amazon-rds-and-amazon-aurora-expire-in-2024/):
  "SupportsCertificateRotationWithoutRestart": true, CAs rds-ca-2019 + the three G1 CAs.
- [ISSUE9] the published data points gathered in this project's issue 9: MySQL 5.7.33 reports
  false; Aurora MySQL up to 2.11.1 false, later 2.x and all 3.x true. (Not re-verified against a
  stored copy of the original CLI output; kept because they agree with the engines' own abilities
  below.)
- [MYSQL-RELOAD] MySQL 8.0 Reference Manual, "ALTER INSTANCE ... RELOAD TLS" (added in 8.0.16):
  MySQL 5.7 has no way to load a new server certificate without a restart.
- [DOCDB] Amazon DocumentDB Developer Guide, "Updating your Amazon DocumentDB TLS certificates":
  DocumentDB 4.0 and 5.0 rotate without a reboot, 3.6 needs one.
- [ORACLE] "Updating applications to connect to Oracle DB instances using new SSL/TLS certificates",
  Amazon RDS User Guide: RDS for Oracle reports false; only the listener restarts
  (`rdsca.engines` has the restart behaviour).
- [NEPTUNE] Neptune's certificates are not RDS CAs (`rdsca.engines`): the fields are absent.

The CAs each version supports: every published current answer lists the three G1 CAs
([TLS], [MARIADB-CLI]); rds-ca-2019 is retired and no longer listed. No published answer restricts
a version to fewer G1 CAs, so the sandbox refuses none (the region's list still applies:
rds-ca-rsa4096-g1 and rds-ca-ecc384-g1 are missing in ap-south-1 and a few other regions [TLS]).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from rdsca import engines as engine_facts

G1_ALL = ("rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1")
Basis = Literal["published", "extended", "unknown"]
Version = tuple[int, ...]
OPEN_END: Version = (10**6,)


@dataclass(frozen=True)
class Rule:
    """Versions `first`..`last` of `engine` (inclusive, ordered by `version_key`) answer
    `without_restart`."""

    engine: str
    first: Version
    last: Version
    without_restart: bool | None  # None: the field is absent (certificates not RDS-managed)
    basis: Basis
    source: str

    def covers(self, engine: str, version: str) -> bool:
        if engine_family(engine) != self.engine:
            return False
        key = version_key(engine, version)
        return self.first <= key <= self.last


# fmt: off
RULES: tuple[Rule, ...] = (
    # PostgreSQL
    Rule("postgres", (13, 4), (13, 4), True, "published", "[TLS] sample output, postgres 13.4"),
    Rule("postgres", (13, 5), OPEN_END, True, "extended",
         "[TLS] 13.4 is true; AWS does not take the ability away in later minor or major versions, "
         "and PostgreSQL reloads its server certificate on SIGHUP since version 10"),
    Rule("postgres", (0,), (13, 3), False, "unknown",
         "nobody published an answer below 13.4: cautious, a restart"),
    # MySQL
    Rule("mysql", (5, 7, 33), (5, 7, 33), False, "published", "[ISSUE9] mysql 5.7.33 reports false"),
    Rule("mysql", (5, 7), (5, 7, 10**6), False, "extended",
         "[ISSUE9] 5.7.33 is false and [MYSQL-RELOAD] MySQL 5.7 cannot reload TLS without a restart"),
    Rule("mysql", (8,), OPEN_END, False, "unknown",
         "nobody published an RDS for MySQL 8.x answer (MySQL itself can reload TLS since 8.0.16 "
         "[MYSQL-RELOAD], but whether RDS uses it is not published): cautious, a restart"),
    # MariaDB
    Rule("mariadb", (10, 6, 16), (10, 6, 16), True, "published", "[MARIADB-CLI] mariadb 10.6.16"),
    Rule("mariadb", (10, 6, 17), OPEN_END, True, "extended",
         "[MARIADB-CLI] 10.6.16 is true; later 10.6 minors and later majors (10.11, 11.x) keep it"),
    Rule("mariadb", (0,), (10, 6, 15), False, "unknown",
         "nobody published an answer below 10.6.16: cautious, a restart"),
    # Aurora MySQL (version key: the Aurora track after `mysql_aurora.`)
    Rule("aurora-mysql", (0,), (2, 11, 1), False, "published", "[ISSUE9] Aurora MySQL up to 2.11.1: false"),
    Rule("aurora-mysql", (2, 11, 2), (2, 10**6), True, "published", "[ISSUE9] later 2.x: true"),
    Rule("aurora-mysql", (3,), (3, 10**6), True, "published", "[ISSUE9] all 3.x: true"),
    # Aurora PostgreSQL
    Rule("aurora-postgresql", (0,), OPEN_END, False, "unknown",
         "nobody published an Aurora PostgreSQL answer: cautious, a restart"),
    # DocumentDB
    Rule("docdb", (4,), OPEN_END, True, "published", "[DOCDB] 4.0 and 5.0 rotate without a reboot"),
    Rule("docdb", (0,), (3, 10**6), False, "published", "[DOCDB] 3.6 needs a reboot"),
    # Oracle (every edition), Neptune
    Rule("oracle", (0,), OPEN_END, False, "published", "[ORACLE] reports false (the listener restarts)"),
    Rule("neptune", (0,), OPEN_END, None, "published", "[NEPTUNE] not RDS CAs: the field is absent"),
)
# fmt: on

CAUTIOUS = Rule("*", (0,), OPEN_END, False, "unknown", "no rule for this engine: cautious, a restart")


def engine_family(engine: str) -> str:
    """`oracle-ee` -> `oracle`; other engines are their own family here."""
    return "oracle" if engine.startswith("oracle") else engine


def version_key(engine: str, version: str) -> Version:
    """Comparable numbers of a version: `13.16` -> (13, 16); Aurora MySQL
    `8.0.mysql_aurora.3.07.1` -> (3, 7, 1), its own track; text after the numbers is ignored."""
    if engine == "aurora-mysql" and "mysql_aurora." in version:
        version = version.split("mysql_aurora.", 1)[1]
    numbers: list[int] = []
    for part in version.split("."):
        match = re.match(r"\d+", part)
        if match is None:
            break
        numbers.append(int(match.group()))
        if match.end() != len(part):
            break
    return tuple(numbers) or (0,)


def rule_for(engine: str, version: str) -> Rule:
    """The rule that answers for this engine version (`CAUTIOUS` when none does)."""
    return next((r for r in RULES if r.covers(engine, version)), CAUTIOUS)


@dataclass(frozen=True)
class EngineVersion:
    engine: str
    version: str
    family: str  # DBParameterGroupFamily
    description: str
    default: bool = False

    @property
    def rule(self) -> Rule:
        return rule_for(self.engine, self.version)

    @property
    def rotation_without_restart(self) -> bool | None:
        return self.rule.without_restart

    @property
    def supported_cas(self) -> tuple[str, ...]:
        return G1_ALL if managed(self.engine) else ()


PG, MY, MARIA = "PostgreSQL", "MySQL Community Edition", "MariaDB Community Edition"
AMY, APG = "Aurora MySQL", "Aurora (PostgreSQL)"
DOCDB = "DocumentDB (with MongoDB compatibility)"

# The versions DescribeDBEngineVersions lists: the published data points and every version the
# seeded fleets (demo.py, fleet.py) and the tests use. Their answers come from RULES.
# fmt: off
ENGINE_VERSIONS: tuple[EngineVersion, ...] = (
    EngineVersion("mysql", "8.0.39", "mysql8.0", MY, True),
    EngineVersion("mysql", "8.0.35", "mysql8.0", MY),
    EngineVersion("mysql", "8.0.28", "mysql8.0", MY),
    EngineVersion("mysql", "5.7.44", "mysql5.7", MY),
    EngineVersion("mysql", "5.7.33", "mysql5.7", MY),
    EngineVersion("mariadb", "10.11.9", "mariadb10.11", MARIA, True),
    EngineVersion("mariadb", "10.6.19", "mariadb10.6", MARIA),
    EngineVersion("mariadb", "10.6.16", "mariadb10.6", MARIA),
    EngineVersion("mariadb", "10.5.25", "mariadb10.5", MARIA),
    EngineVersion("postgres", "16.4", "postgres16", PG, True),
    EngineVersion("postgres", "15.8", "postgres15", PG),
    EngineVersion("postgres", "15.4", "postgres15", PG),
    EngineVersion("postgres", "13.16", "postgres13", PG),
    EngineVersion("postgres", "13.4", "postgres13", PG),
    EngineVersion("postgres", "12.20", "postgres12", PG),
    EngineVersion("aurora-mysql", "8.0.mysql_aurora.3.07.1", "aurora-mysql8.0", AMY, True),
    EngineVersion("aurora-mysql", "8.0.mysql_aurora.3.05.2", "aurora-mysql8.0", AMY),
    EngineVersion("aurora-mysql", "5.7.mysql_aurora.2.11.2", "aurora-mysql5.7", AMY),
    EngineVersion("aurora-mysql", "5.7.mysql_aurora.2.11.1", "aurora-mysql5.7", AMY),
    EngineVersion("aurora-postgresql", "15.4", "aurora-postgresql15", APG, True),
    EngineVersion("aurora-postgresql", "14.9", "aurora-postgresql14", APG),
    EngineVersion("docdb", "5.0.0", "docdb5.0", DOCDB, True),
    EngineVersion("docdb", "4.0.0", "docdb4.0", DOCDB),
    EngineVersion("docdb", "3.6.0", "docdb3.6", DOCDB),
    EngineVersion("neptune", "1.3.2.1", "neptune1.3", "Neptune", True),
    EngineVersion("oracle-ee", "19.0.0.0.ru-2024-07.rur-2024-07.r1", "oracle-ee-19",
                  "Oracle Database Enterprise Edition", True),
)
# fmt: on


def managed(engine: str) -> bool:
    """Does the server certificate follow the instance's CA id? (`rdsca.engines` knows.)"""
    return engine_facts.rotated_by_rdsca(engine)


def lookup(engine: str, version: str) -> EngineVersion | None:
    return next((e for e in ENGINE_VERSIONS if e.engine == engine and e.version == version), None)


def rotates_without_restart(engine: str, version: str) -> bool:
    """Any version, listed or not, by `RULES`; unknown answers are False (the cautious one)."""
    return bool(rule_for(engine, version).without_restart)


def supports_ca(engine: str, version: str, ca_id: str) -> bool:
    """No published answer restricts a version's G1 CAs: only unmanaged engines refuse."""
    return ca_id in G1_ALL if managed(engine) else False


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
