"""What the executor asks of AWS: one read of many steps' instances (one describe per
account-region, the account-regions at once), and one write per step, sent once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from rdsca.errors import AwsAccessError
from rdsca.model import Instance
from rdsca.rollout.contracts import Actions
from rdsca.rollout.live import LiveStep, Sent
from rdsca.rollout.plan import Kind, Step, When

SEND_WORKERS = 10  # concurrent modify calls: a handful, so a wave's sends never burst the API
POLL_WORKERS = 16  # account-regions read at once in one poll

Seen = Mapping[tuple[str, str], Mapping[str, Instance]]  # (account, region) -> id -> instance


def poll(actions: Actions, lives: Sequence[LiveStep]) -> dict[tuple[str, str], Mapping[str, Instance]]:
    """One describe per (account, region) for every instance of `lives`."""
    wanted: dict[tuple[str, str], set[str]] = {}
    for live in lives:
        wanted.setdefault((live.step.account, live.step.region), set()).update(live.step.instance_ids)
    targets = sorted(wanted.items())
    if len(targets) <= 1:
        return {target: actions.poll(target[0], target[1], sorted(ids)) for target, ids in targets}
    # Each account-region has its own throttle budget, so their reads go out together: one
    # after another, a poll of N regions would take N round trips of each interval.
    workers = min(len(targets), POLL_WORKERS)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rdsca-poll") as pool:
        views = list(pool.map(lambda item: actions.poll(item[0][0], item[0][1], sorted(item[1])), targets))
    return {target: seen for (target, _), seen in zip(targets, views, strict=True)}


def views_of(live: LiveStep, seen: Seen) -> list[Instance] | None:
    """The step's instances as last read; None when one of them was not found."""
    region = seen.get((live.step.account, live.step.region), {})
    views = [region.get(i) for i in live.step.instance_ids]
    return None if any(v is None for v in views) else [v for v in views if v is not None]


def send_all(actions: Actions, steps: Sequence[Step], no_restart: bool) -> list[Sent]:
    """Each step's change sent once, up to SEND_WORKERS at a time; the answers in order."""
    workers = max(1, min(len(steps), SEND_WORKERS))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rdsca-send") as pool:
        return list(pool.map(lambda step: send(actions, step, no_restart), steps))


def send(actions: Actions, step: Step, no_restart: bool) -> Sent:
    """Send one step's change, once (writes are never retried by botocore)."""
    apply_now = step.when is When.NOW
    try:
        if step.kind is Kind.MODIFY_CLUSTER:
            actions.modify_cluster(step.account, step.region, step.id, step.to_ca,
                                   apply_now=apply_now, no_restart=no_restart)  # fmt: skip
        elif step.kind is Kind.APPLY_ACTION:
            actions.apply_action(step.account, step.region, step.arn or "", step.action or "",
                                 apply_now=apply_now)  # fmt: skip
        else:
            actions.modify_instance(step.account, step.region, step.id, step.to_ca,
                                    apply_now=apply_now, no_restart=no_restart)  # fmt: skip
    except AwsAccessError as exc:
        unknown = bool(getattr(exc, "outcome_unknown", False))
        return Sent("unknown" if unknown else "rejected", str(exc), getattr(exc, "code", None))
    return Sent("accepted")
