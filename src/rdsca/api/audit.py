"""Audit use cases: read the fleet, judge every instance, list the CAs of each region.

Each function takes the targets to read (or a callable that resolves them, so that bad input is
refused before any AWS call) and a clock, and returns a frozen result; `rdsca.report` renders it.
Nothing here prints, prompts or exits. A failed account x region is in the result
(`fleet.failed`), never silently "no databases".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from rdsca.assess import Policy, evaluate
from rdsca.assess.select import select
from rdsca.assess.verdicts import DEFAULT_WARN_DAYS
from rdsca.aws.fleet import ProgressHook, collect
from rdsca.aws.session import ResolvedTarget, TargetQuery
from rdsca.aws.shards import read_streaming
from rdsca.model import Audit, Fleet, RegionCAs, State, TargetStatus, Verdict

# The targets themselves, or a callable that resolves them (called once, when they are needed); a
# rdsca.aws.session.TargetQuery also streams them to worker processes as roles are assumed.
TargetSource = Sequence[ResolvedTarget] | Callable[[], Sequence[ResolvedTarget]]
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CaInventory:
    """The CAs of each region that was read (validity, account default, override)."""

    fleet: Fleet

    @property
    def regions(self) -> tuple[RegionCAs, ...]:
        return self.fleet.regions

    @property
    def targets(self) -> tuple[TargetStatus, ...]:
        return self.fleet.targets

    @property
    def failed(self) -> tuple[TargetStatus, ...]:
        return self.fleet.failed


def read_fleet(
    targets: TargetSource,
    *,
    engines: Sequence[str] = (),
    tags: Sequence[tuple[str, str]] = (),
    id_globs: Sequence[str] = (),
    now: Clock = utc_now,
    progress: ProgressHook | None = None,
    processes: int | None = 1,
) -> Fleet:
    """One collection pass over `targets`, keeping the instances that match every criterion.
    `progress` is called as targets finish (rdsca.aws.fleet.Progress). `processes` above 1 (None:
    one per usable CPU) reads a large estate with worker processes (rdsca.aws.shards)."""
    if isinstance(targets, TargetQuery) and processes != 1:  # read while the roles are assumed
        fleet = read_streaming(targets, now(), processes, progress=progress)
    else:
        resolved = targets() if callable(targets) else targets
        fleet = collect(resolved, now=now(), progress=progress, processes=processes)
    if engines or tags or id_globs:
        fleet = select(fleet, engines, tags, id_globs)
    return fleet


def audit(
    targets: TargetSource,
    *,
    warn_days: int = DEFAULT_WARN_DAYS,
    engines: Sequence[str] = (),
    tags: Sequence[tuple[str, str]] = (),
    id_globs: Sequence[str] = (),
    now: Clock = utc_now,
    progress: ProgressHook | None = None,
    processes: int | None = 1,
) -> Audit:
    """Every DB instance of `targets` with a verdict: its CA, expiry dates, pending changes, state.
    `processes`: see `read_fleet`."""
    fleet = read_fleet(
        targets,
        engines=engines,
        tags=tags,
        id_globs=id_globs,
        now=now,
        progress=progress,
        processes=processes,
    )
    return evaluate(fleet, fleet.collected_at, Policy(warn_days=warn_days))


def cas(targets: TargetSource, *, now: Clock = utc_now) -> CaInventory:
    """The CAs of each region of `targets`."""
    return CaInventory(read_fleet(targets, now=now))


# The states a CI gate fails on whatever the days left. An unknown CA (an id neither the region
# nor the catalogue knows) cannot be shown to be safe: nothing says when it ends or that clients
# trust it, so its server certificate's date alone must not let the gate pass.
GATE_STATES = frozenset({State.EXPIRED, State.RETIRED_CA, State.UNKNOWN_CA})


def findings(audit: Audit, within_days: int) -> tuple[Verdict, ...]:
    """The verdicts a CI gate fails on: expired, on a retired or an unknown CA, or fewer than
    `within_days` left (instances whose certificates RDS does not manage excepted)."""
    return tuple(
        v
        for v in audit.verdicts
        if v.state in GATE_STATES
        or (v.days_left is not None and v.state is not State.UNMANAGED and v.days_left < within_days)
    )
