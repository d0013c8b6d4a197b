"""The expiry timeline: one SVG mark per instance at its earliest expiry, on a clamped time axis.

CA validities run from the past (rds-ca-2019, 2024) to 2061 and 2121, so a linear axis over all of
them would squeeze the months that matter into a few pixels. The axis covers the recent past to a
little beyond the warning horizon; earlier and later dates sit in labelled gutters at its ends, and
instances with no known expiry in a gutter of their own, so that every instance has exactly one mark.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from rdsca.model import Severity, Verdict
from rdsca.report.common import day

WIDTH = 1000
TOP = 34  # room for the today / horizon labels
ROWS = 16  # marks stacked per column before they wrap
STEP = 6  # px between stacked marks
RADIUS = 2.6
PLOT_BOTTOM = TOP + ROWS * STEP + 6
HEIGHT = PLOT_BOTTOM + 30
EARLIER = (8, 58)  # x ranges of the gutters and of the axis
AXIS = (74, 866)
LATER = (880, 930)
NODATE = (944, 994)


def earliest_expiry(v: Verdict) -> datetime | None:
    ends = [d for d in (v.ca_valid_till, v.instance.server_cert_valid_till) if d is not None]
    return min(ends) if ends else None


@dataclass(frozen=True)
class Axis:
    start: datetime
    end: datetime

    @classmethod
    def around(cls, dates: list[datetime], now: datetime, warn_days: int) -> Axis:
        past = timedelta(days=365 if any(d < now for d in dates) else 60)
        lo = now + timedelta(days=max(warn_days + 90, 365))
        hi = now + timedelta(days=max(warn_days * 2, 2 * 365))
        latest = max(dates, default=now) + timedelta(days=30)
        return cls(now - past, min(max(latest, lo), hi))

    def x(self, when: datetime) -> float:
        span = (self.end - self.start).total_seconds()
        frac = (when - self.start).total_seconds() / span
        return AXIS[0] + frac * (AXIS[1] - AXIS[0])

    def ticks(self) -> list[tuple[float, str]]:
        span_days = (self.end - self.start).days
        out: list[tuple[float, str]] = []
        year, month = self.start.year, self.start.month
        while True:
            month += 1
            if month > 12:
                year, month = year + 1, 1
            tick = self.start.replace(year=year, month=month, day=1, hour=0, minute=0, second=0)
            if tick > self.end:
                return out
            if span_days <= 900 and month in (1, 4, 7, 10):
                out.append((self.x(tick), f"{year}-{month:02d}"))
            elif span_days > 900 and month == 1 and (span_days <= 3000 or year % 2 == 0):
                out.append((self.x(tick), str(year)))


class _Stacker:
    """Stack marks that fall in the same few pixels, wrapping after ROWS."""

    def __init__(self) -> None:
        self.used: Counter[int] = Counter()

    def place(self, x: float) -> tuple[float, float]:
        col = round(x / 5)
        n = self.used[col]
        self.used[col] += 1
        return x, PLOT_BOTTOM - 6 - (n % ROWS) * STEP


def _gutter(index: int, span: tuple[int, int]) -> tuple[float, float]:
    per_row = max(1, (span[1] - span[0]) // STEP)
    col, row = index % per_row, (index // per_row) % ROWS
    return span[0] + 3 + col * STEP, PLOT_BOTTOM - 6 - row * STEP


def _mark(v: Verdict, when: datetime | None, x: float, y: float) -> str:
    i = v.instance
    sev = v.severity.value
    label = f"{i.id} ({i.account_id} {i.region}): {day(when) if when else 'no known expiry'}, {v.state.value}"
    return (
        f'<circle class="mark sev-{sev}" cx="{x:.1f}" cy="{y:.1f}" r="{RADIUS}" '
        f'data-id="{html.escape(i.id, quote=True)}"><title>{html.escape(label)}</title></circle>'
    )


def timeline_svg(verdicts: Iterable[Verdict], now: datetime, warn_days: int) -> str:
    points = sorted(
        ((earliest_expiry(v), v) for v in verdicts),
        key=lambda p: (p[0] is None, p[0] or now, p[1].instance.key),
    )
    dates = [d for d, _ in points if d is not None]
    axis = Axis.around(dates, now, warn_days)
    horizon = now + timedelta(days=warn_days)
    stack = _Stacker()
    marks: list[str] = []
    earlier = later = nodate = 0
    for when, v in points:
        if when is None:
            x, y = _gutter(nodate, NODATE)
            nodate += 1
        elif when < axis.start:
            x, y = _gutter(earlier, EARLIER)
            earlier += 1
        elif when > axis.end:
            x, y = _gutter(later, LATER)
            later += 1
        else:
            x, y = stack.place(axis.x(when))
        marks.append(_mark(v, when, x, y))
    x_now, x_hor = axis.x(now), axis.x(horizon)
    base = PLOT_BOTTOM
    ticks = "".join(
        f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{base}" y2="{base + 4}"/>'
        f'<text class="tick-label" x="{x:.1f}" y="{base + 16}">{label}</text>'
        for x, label in axis.ticks()
    )
    latest = max(dates, default=None)
    gutters = (
        f'<text class="gutter-label" x="{EARLIER[0]}" y="{base + 16}">earlier ({earlier})</text>'
        f'<text class="gutter-label" x="{LATER[0]}" y="{base + 16}">later ({later})</text>'
        f'<text class="gutter-label" x="{NODATE[0]}" y="{base + 16}">no date ({nodate})</text>'
    )
    svg = (
        f'<svg id="timeline-svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="Earliest certificate expiry per instance">'
        f'<rect class="past" x="{AXIS[0]}" y="{TOP}" width="{max(0.0, x_now - AXIS[0]):.1f}" '
        f'height="{base - TOP}"/>'
        f'<rect class="warn-zone" x="{x_now:.1f}" y="{TOP}" width="{max(0.0, x_hor - x_now):.1f}" '
        f'height="{base - TOP}"/>'
        f'<line class="axis" x1="{AXIS[0]}" x2="{AXIS[1]}" y1="{base}" y2="{base}"/>{ticks}{gutters}'
        f'<line class="today" x1="{x_now:.1f}" x2="{x_now:.1f}" y1="4" y2="{base}"/>'
        f'<text class="today-label" x="{x_now - 4:.1f}" y="12">today {day(now)}</text>'
        f'<line class="horizon" x1="{x_hor:.1f}" x2="{x_hor:.1f}" y1="18" y2="{base}"/>'
        f'<text class="horizon-label" x="{x_hor + 4:.1f}" y="26">+{warn_days} days {day(horizon)}'
        f'</text><g class="marks">{"".join(marks)}</g></svg>'
    )
    counts = Counter(v.severity.value for _, v in points)
    legend = "".join(
        f'<span class="key"><span class="dot sev-{sev}"></span>{sev} ({counts.get(sev, 0)})</span>'
        for sev in (s.value for s in Severity)
    )
    notes = (
        f"Axis {day(axis.start)} to {day(axis.end)}; {earlier} earlier, {later} later"
        + (f" (latest {day(latest)})" if latest else "")
        + f", {nodate} with no known expiry (unmanaged). Click a mark to filter the table."
    )
    return (
        f'<section id="timeline"><h2>Expiry timeline</h2>{svg}'
        f'<p class="legend">{legend}</p><p class="note">{notes}</p></section>'
    )
