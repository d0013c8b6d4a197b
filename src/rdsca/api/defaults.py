"""The account default CA for new instances (`rdsca default`): show it per region, set or remove it.

Part of the rotation's public API: `rdsca.api.rotation` exposes `default_show`, `default_set`,
`Defaults` and `DefaultChanges` (docs/api.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rdsca.api.target_ca import known_cas
from rdsca.api.targets import Resolve
from rdsca.aws import actions as aws_actions
from rdsca.aws.fleet import collect
from rdsca.errors import ConfigError, PlanError
from rdsca.model import Fleet


@dataclass(frozen=True)
class Defaults:
    """Each region's default CA for new instances, and whether it is the account's override."""

    fleet: Fleet


@dataclass(frozen=True)
class DefaultChanges:
    targets: tuple[str, ...]  # account/region keys changed
    ca: str | None  # None: the override was removed


def default_show(resolve: Resolve, now: datetime) -> Defaults:
    return Defaults(collect(resolve(()), now=now))


def default_set(resolve: Resolve, ca: str | None, now: datetime) -> DefaultChanges:
    """Set (or with None, remove) the default CA for new instances in every target region."""
    from rdsca.rollout.defaults import refuse_unsupported

    if ca is not None and ca not in known_cas():
        raise ConfigError(f"unknown CA {ca!r} (known: {', '.join(known_cas())})")
    targets = resolve(())
    fleet = collect(targets, now=now)
    for t in fleet.failed:
        raise PlanError(f"cannot read {t.target.key}: {t.error}")
    if ca is not None:
        refuse_unsupported(fleet, ca)
    done = []
    for r in targets:
        assert r.factory is not None
        aws_actions.set_default_ca(r.factory.client("rds", r.target.region, write=True), ca)
        done.append(r.target.key)
    return DefaultChanges(tuple(done), ca)
