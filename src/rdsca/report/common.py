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


def md_cell(text: object) -> str:
    """A Markdown table cell: escape pipes, HTML and newlines so data cannot break the table."""
    s = "" if text is None else str(text)
    for a, b in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"), ("\n", " ")):
        s = s.replace(a, b)
    return s
