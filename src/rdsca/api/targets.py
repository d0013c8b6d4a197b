"""The account-regions a rotation reaches: `Resolve` turns the regions a plan names into targets
through the user's AWS flags, `reach` refuses a plan they do not reach, and `bound_actions` sends
the rotation's AWS calls to the target each names."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rdsca.aws import actions as aws_actions
from rdsca.aws.session import ResolvedTarget
from rdsca.errors import PlanError

Resolve = Callable[[Sequence[str]], list[ResolvedTarget]]  # regions wanted -> targets the flags reach
Targets = dict[tuple[str, str], ResolvedTarget]


def reach(resolve: Resolve, plan_targets: Sequence[tuple[str, str]]) -> Targets:
    """The plan's (account, region) targets; refuses a plan whose accounts `resolve` does not reach."""
    resolved = resolve(sorted({r for _, r in plan_targets}))
    by_key = {(r.target.account_id, r.target.region): r for r in resolved}
    reached = {a for (a, _), r in by_key.items() if r.factory is not None}
    missing = sorted({a for a, _ in plan_targets} - reached)
    if missing:
        raise PlanError(
            f"plan for another account: {', '.join(missing)} not reached with these AWS flags "
            f"(reached: {', '.join(sorted(reached)) or 'none'}); use --profile or --accounts/--role-name"
        )
    out = {}
    for key in plan_targets:
        r = by_key.get(key)
        if r is None or r.factory is None:
            raise PlanError(f"cannot reach {key[0]}/{key[1]}: {r.error if r else 'region not selected'}")
        out[key] = r
    return out


def bound_actions(targets: Targets) -> aws_actions.BoundActions:
    def client(account: str, region: str, write: bool = False) -> Any:
        factory = targets[(account, region)].factory
        assert factory is not None
        return factory.client("rds", region, write=write)

    return aws_actions.BoundActions(client, lambda a, r: client(a, r, write=True))
