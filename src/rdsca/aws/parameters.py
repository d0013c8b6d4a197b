"""The TLS parameters of DB parameter groups: does the server refuse plaintext connections?

Readiness needs it for clients that verify the certificate and, when that fails, fall back to
plaintext (libpq `sslmode=prefer`/`allow`, MySQL `PREFERRED` with a CA file): they keep connecting
after a CA change only where the server admits plaintext. RDS for PostgreSQL decides that with
`rds.force_ssl`, RDS for MySQL and MariaDB with `require_secure_transport`, each set in the
instance's DB parameter group (AWS, RDS User Guide: "Using SSL with a PostgreSQL DB instance",
"Requiring SSL/TLS for all connections to a MySQL DB instance on Amazon RDS", and the same page
for MariaDB).

Each distinct group is read once per account x region, however many instances share it, with
`DescribeDBParameters` filtered to the two names (RDS API Reference, DescribeDBParameters:
"Filters ... The only supported filter is parameter-name. The results list only includes
information about the DB parameters with these names"; earlier versions of the page said "This
parameter isn't currently supported"). The answer is filtered here too, whatever the endpoint does
with the filter (moto, behind `rdsca sandbox`, ignores it). A refusal (AccessDenied) is that
group's error, never an exception: readiness then judges as it did without the group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from rdsca.aws.errors import AWS_ERRORS, describe_error
from rdsca.aws.permissions import needs
from rdsca.aws.session import ResolvedTarget

# RDS for PostgreSQL; RDS for MySQL and MariaDB (rdsca.readiness.server_tls says which is whose)
TLS_PARAMETERS = ("rds.force_ssl", "require_secure_transport")
PAGE_SIZE = 100  # DescribeDBParameters MaxRecords: minimum 20, maximum 100
WORKERS = 8


@dataclass(frozen=True)
class GroupRead:
    """What one DB parameter group holds for the TLS parameters, or why it could not be read."""

    values: Mapping[str, str] = field(default_factory=dict)  # parameter name -> value the group holds
    error: str | None = None


GroupKey = tuple[str, str, str]  # (account id, region, parameter group name)


@needs("rds:DescribeDBParameters", used_by=("readiness",))
def read_parameters(rds: Any, group: str, names: Sequence[str] = TLS_PARAMETERS) -> dict[str, str]:
    """The values `group` holds for `names` (a parameter the group holds no value for is left out)."""
    pages = rds.get_paginator("describe_db_parameters").paginate(
        DBParameterGroupName=group,
        Filters=[{"Name": "parameter-name", "Values": list(names)}],
        PaginationConfig={"PageSize": PAGE_SIZE},
    )
    out: dict[str, str] = {}
    for page in pages:
        for raw in page.get("Parameters") or ():
            name, value = raw.get("ParameterName"), raw.get("ParameterValue")
            if name in names and value is not None:
                out[str(name)] = str(value)
    return out


def read_groups(
    targets: Sequence[ResolvedTarget], wanted: Iterable[GroupKey], names: Sequence[str] = TLS_PARAMETERS
) -> dict[GroupKey, GroupRead]:
    """`names` in each distinct (account, region, group) of `wanted`, each group read once,
    concurrently. A group whose account x region has no session (not in `targets`, or its role was
    not assumed) or whose read fails carries the reason in `error`."""
    factories = {(t.target.account_id, t.target.region): t.factory for t in targets if t.factory}
    keys = sorted(set(wanted))

    def read(key: GroupKey) -> GroupRead:
        account, region, group = key
        factory = factories.get((account, region))
        if factory is None:
            return GroupRead(error=f"no AWS session for {account}/{region}")
        try:
            return GroupRead(read_parameters(factory.client("rds", region), group, names))
        except AWS_ERRORS as exc:
            return GroupRead(error=describe_error(exc))

    if not keys:
        return {}
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(keys))) as pool:
        return dict(zip(keys, pool.map(read, keys), strict=True))
