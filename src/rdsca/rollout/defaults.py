"""The account default CA for new instances: when a CA may not be set."""

from __future__ import annotations

from rdsca.errors import PlanError
from rdsca.model import UNMANAGED_ENGINES, Fleet


def refuse_unsupported(fleet: Fleet, ca: str) -> None:
    """PlanError unless every region lists `ca` and every engine version in use there supports it."""
    problems: list[str] = []
    for r in fleet.regions:
        if r.get(ca) is None:
            problems.append(f"{r.account_id}/{r.region}: {ca} is not offered there")
    seen: set[tuple[str, str, str, str]] = set()
    for i in fleet.instances:
        key = (i.account_id, i.region, i.engine, i.engine_version)
        if i.engine in UNMANAGED_ENGINES or key in seen:
            continue
        seen.add(key)
        if i.supported_cas and ca not in i.supported_cas:
            problems.append(
                f"{i.account_id}/{i.region}: {i.engine} {i.engine_version} ({i.id}) does not support {ca}"
            )
    if problems:
        raise PlanError(f"refusing to make {ca} the default (nothing changed):\n  " + "\n  ".join(problems))
