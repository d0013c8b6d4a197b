"""The executor's state of one step while a run goes on, rebuilt from the journal on resume."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rdsca.model import Instance
from rdsca.rollout.events import Event
from rdsca.rollout.journal import Journal, StepStatus
from rdsca.rollout.outcome import evidence, is_verified, shows_change
from rdsca.rollout.plan import Step


@dataclass(frozen=True)
class Sent:
    """What became of one call: accepted, refused (with AWS's code) or unknown."""

    outcome: str  # "accepted" | "rejected" | "unknown"
    message: str = ""
    code: str | None = None


@dataclass
class LiveStep:
    step: Step
    status: StepStatus
    history: list[str] = field(default_factory=list)
    started: float | None = None
    last_status: str | None = None
    before_ca: str | None = None
    before_valid_till: str | None = None
    before_members: dict[str, str | None] = field(default_factory=dict)  # member id -> valid-till
    members_ca: dict[str, str | None] = field(default_factory=dict)  # member id -> CA before
    phase: str = ""  # "" normal, "busy": waiting to send, "unknown": a write's outcome is being read
    quiet_reads: int = 0
    provisional: bool = False  # accepted only on a busy status: may be somebody else's change

    def verified(self, views: Sequence[Instance], now: datetime) -> bool:
        """Every instance of the step verified, each against its own server certificate before."""
        return all(
            is_verified(
                self.step,
                v,
                self.before_ca,
                self.before_members.get(v.id) if self.step.members else self.before_valid_till,
                now,
            )
            for v in views
        )

    def shows_change(self, views: Sequence[Instance]) -> bool:
        return shows_change(self.step, views, self.members_ca, self.before_ca, self.before_valid_till)

    def evidence(self, views: Sequence[Instance]) -> str | None:
        return evidence(self.step, views, self.members_ca, self.before_ca, self.before_valid_till)


def provisional_steps(journal: Journal, run_id: str) -> set[str]:
    """Steps whose last acceptance rests only on a busy status (see LiveStep.provisional)."""
    out: set[str] = set()
    for e in journal.events(run_id):
        if e.step_key and e.event in (Event.CONFIRMED, Event.ASSUMED_ACCEPTED, Event.ACCEPTED):
            if e.detail.get("evidence") == "status":
                out.add(e.step_key)
            else:
                out.discard(e.step_key)
    return out


def before_members(journal: Journal, run_id: str) -> dict[str, dict[str, Any]]:
    """Per Multi-AZ DB cluster step: the detail of its last "modify-sending" (members before)."""
    out: dict[str, dict[str, Any]] = {}
    for e in journal.events(run_id):
        if e.event == Event.SENDING and e.step_key and isinstance(e.detail.get("members_valid_till"), dict):
            out[e.step_key] = e.detail
    return out
