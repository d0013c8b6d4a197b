"""Small helpers every renderer shares."""

from __future__ import annotations

from datetime import datetime


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, or None."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "-"
