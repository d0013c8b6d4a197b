"""What the executor needs and gives: its view of AWS, its progress sink, its options and result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from rdsca.model import Instance
from rdsca.rollout.downtime import DEFAULT_INTERVAL
from rdsca.rollout.hooks import Hooks
from rdsca.rollout.journal import RunStatus, StepStatus
from rdsca.rollout.plan import Step


class Actions(Protocol):
    def poll(self, account: str, region: str, ids: Sequence[str]) -> Mapping[str, Instance]: ...

    def modify_instance(
        self, account: str, region: str, instance_id: str, ca: str, *, apply_now: bool, no_restart: bool
    ) -> None: ...

    def modify_cluster(
        self, account: str, region: str, cluster_id: str, ca: str, *, apply_now: bool, no_restart: bool
    ) -> None: ...

    def apply_action(self, account: str, region: str, arn: str, action: str, *, apply_now: bool) -> None: ...


class Progress(Protocol):
    def wave(self, wave: str, steps: Sequence[Step]) -> None: ...

    def step(self, step: Step, event: str, status: StepStatus, message: str) -> None: ...

    def confirm_wave(self, wave: str) -> bool: ...


class SilentProgress:
    def wave(self, wave: str, steps: Sequence[Step]) -> None:
        pass

    def step(self, step: Step, event: str, status: StepStatus, message: str) -> None:
        pass

    def confirm_wave(self, wave: str) -> bool:
        return True


@dataclass(frozen=True)
class ExecOptions:
    poll_interval: float = 15.0
    step_timeout: float = 1800.0
    continue_on_failure: bool = False
    max_parallel: int | None = None  # None: the plan's
    max_parallel_per_region: int | None = None  # None: the plan's (which may have none)
    confirm_reads: int = 3  # reads in a row showing nothing before an unknown write counts as not taken
    write_timeout: float | None = None  # seconds to wait for a write's answer (None: the AWS settings')
    take_over: bool = False  # take over leases that stopped being renewed (rdsca.rollout.lease)
    hooks: Hooks = field(default_factory=Hooks)  # commands around each step and wave (rollout.hooks)
    measure_downtime: bool = True  # probe each running step's endpoint (rdsca.rollout.downtime)
    downtime_interval: float = DEFAULT_INTERVAL  # seconds between two probes of one endpoint


@dataclass(frozen=True)
class RunResult:
    run_id: str
    status: RunStatus
    counts: Mapping[str, int]
    stopped_before: str | None = None
