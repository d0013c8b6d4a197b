"""Does the server admit plaintext? The instance's DB parameter group says (pure: evidence in).

A client that verifies the certificate and falls back to plaintext when that fails (libpq
`sslmode=prefer`/`allow` with a root file, MySQL `PREFERRED` with a CA file) keeps connecting
after a CA change only where the server admits plaintext. That is one parameter of the instance's
DB parameter group, read by `rdsca.aws.parameters`:

- RDS for PostgreSQL: `rds.force_ssl`, 1 from PostgreSQL 15, 0 before (AWS, RDS User Guide,
  "Using SSL with a PostgreSQL DB instance": "The rds.force_ssl parameter default value is 1 (on)
  for RDS for PostgreSQL version 15 and later").
- RDS for MySQL: `require_secure_transport`, OFF ("Requiring SSL/TLS for all connections to a
  MySQL DB instance on Amazon RDS": "For MySQL 8.4 and lower, the require_secure_transport
  parameter is set to 0 (OFF) by default"; it "defaults to 1 (ON)" for MySQL 9.7).
- RDS for MariaDB: `require_secure_transport` (from 10.5), OFF ("Requiring SSL/TLS for all
  connections to a MariaDB DB instance on Amazon RDS": "For versions 11.4 and earlier ... OFF by
  default. For 11.8 and later versions, the default value is set to ON").

A value the group holds is evidence and beats the default. Without one (a group that holds no
value, or could not be read) only the PostgreSQL default is mentioned, as a hint: the verdict stays
what it was without the group. Aurora keeps these parameters in the DB cluster parameter group,
which rdsca does not read: said in the finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from rdsca.model import Instance

FORCE_SSL = "rds.force_ssl"
REQUIRE_SECURE_TRANSPORT = "require_secure_transport"
PARAMETER_OF = {"postgres": FORCE_SSL, "mysql": REQUIRE_SECURE_TRANSPORT, "mariadb": REQUIRE_SECURE_TRANSPORT}
_ON = frozenset({"1", "on", "true"})
_OFF = frozenset({"0", "off", "false"})


@dataclass(frozen=True)
class ParameterGroup:
    """The instance's DB parameter group, as read for its TLS parameter."""

    name: str
    values: Mapping[str, str] = field(default_factory=dict)  # parameter name -> value the group holds
    error: str | None = None  # why it could not be read (AccessDenied: ...)


@dataclass(frozen=True)
class ServerTLS:
    """Whether the server refuses plaintext (None: not known) and the words that say why."""

    forced: bool | None
    note: str  # appended to the finding: starts with a space, or is empty


def parameter_of(instance: Instance) -> str | None:
    """The parameter that makes this instance refuse plaintext, in its DB parameter group; None for
    Aurora (the cluster parameter group holds it) and the engines readiness does not judge so."""
    return None if instance.is_aurora else PARAMETER_OF.get(instance.engine)


def _default_hint(instance: Instance) -> str:
    major = instance.engine_version.split(".", 1)[0]
    if instance.engine == "postgres" and major.isdigit() and int(major) < 15:
        return (
            f" (PostgreSQL {major} defaults rds.force_ssl=0: if this instance's parameter group keeps "
            "that, the client falls back to plaintext instead of failing)"
        )
    return ""


def server_tls(instance: Instance, group: ParameterGroup | None) -> ServerTLS:
    """What `group` (None: not read) says about plaintext on `instance`."""
    if instance.is_aurora:
        return ServerTLS(
            None,
            f" ({instance.engine}: whether the server refuses plaintext is set in the DB cluster "
            "parameter group, which rdsca does not read)",
        )
    name, hint = parameter_of(instance), _default_hint(instance)
    if name is None or group is None:
        return ServerTLS(None, hint)
    if group.error:
        why = group.error.rstrip(". ")
        return ServerTLS(None, f"{hint} (parameter group {group.name} not read: {why}; judged without it)")
    value = group.values.get(name)
    if value is None:
        return ServerTLS(None, hint)
    setting = f"parameter group {group.name} sets {name}={value}"
    if value.strip().lower() in _ON:
        return ServerTLS(True, f" ({setting}: the server refuses plaintext)")
    if value.strip().lower() in _OFF:
        return ServerTLS(False, f" (the server admits it: {setting})")
    return ServerTLS(None, f"{hint} ({setting}, a value rdsca does not understand)")
