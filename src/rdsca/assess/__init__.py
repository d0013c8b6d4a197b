"""Pure verdicts: (fleet, now, policy) -> one verdict per instance. No AWS, no clock reads."""

from __future__ import annotations

from rdsca.assess.verdicts import Policy, evaluate, judge

__all__ = ["Policy", "evaluate", "judge"]
