"""The CAs a rotation may name: the catalogue's CA ids, the ones whose roots have ended, and the
check of the CA a command is asked to rotate to (or make the default)."""

from __future__ import annotations

from datetime import datetime

from rdsca.catalog import load_catalog
from rdsca.errors import ConfigError


def known_cas() -> tuple[str, ...]:
    return load_catalog().ca_ids()


def ended_on(ca_id: str, now: datetime) -> str | None:
    """The day every known root of `ca_id` had ended (rds-ca-2015, rds-ca-2019), or None."""
    roots = load_catalog().roots(ca_id)
    if roots and all(r.not_after <= now for r in roots):
        return max(r.not_after for r in roots).strftime("%Y-%m-%d")
    return None


def current_cas(now: datetime) -> tuple[str, ...]:
    return tuple(c for c in known_cas() if ended_on(c, now) is None)


def check_target_ca(ca: str, now: datetime, flag: str = "--to") -> None:
    if ca not in known_cas():
        raise ConfigError(f"{flag} {ca!r}: unknown CA (known: {', '.join(known_cas())})")
    ended = ended_on(ca, now)
    if ended:
        raise ConfigError(
            f"{flag} {ca}: that CA's roots ended on {ended}; rotate to a current one "
            f"({', '.join(current_cas(now))})"
        )
