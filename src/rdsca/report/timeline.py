"""The expiry timeline: per environment a labelled lane, each instance at its earliest expiry on a
dated time axis, and RDS's own foreseen reboots (`Verdict.reboot_forecast`) as a second kind of mark.

CA validities run from the past (rds-ca-2019, 2024) to 2061 and 2121, so a linear axis over all of
them would squeeze the months that matter into a few pixels. The axis covers the recent past to a
little beyond the warning horizon; earlier and later dates sit in labelled gutters at its ends, and
instances with no known expiry in a gutter of their own. Instances that fall in the same few pixels
of a lane share one mark that shows how many they are, so that no mark hides another.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rdsca.model import Severity, State, Verdict
from rdsca.report.common import day

WIDTH = 1320
TOP = 46  # room for the today / horizon / gutter labels
LANE = 34  # height of one lane
LABEL_X = 4  # lane labels, left of the gutters
EARLIER = (150, 208)  # x ranges of the gutters and of the axis
AXIS = (224, 1148)
LATER = (1164, 1222)
NODATE = (1238, 1314)
BIN = 15  # px of axis one mark stands for: marks in one bin of a lane are one mark
SINGLE_R, GROUP_R = 4.5, 7.0
MIN_TICK_GAP = 90  # px between dated ticks, so that their labels never touch
MAX_LANES = 8  # environments beyond the largest few share an "other" lane
SEVERITY_RANK = {s.value: n for n, s in enumerate(Severity)}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def earliest_expiry(v: Verdict) -> datetime | None:
    ends = [d for d in (v.ca_valid_till, v.instance.server_cert_valid_till) if d is not None]
    return min(ends) if ends else None


def e(value: object) -> str:
    return html.escape(str(value), quote=True)


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
        """First days of months, every `step` months, labelled `Apr 2025` (or `2031` past a year)."""
        px_per_month = (AXIS[1] - AXIS[0]) / max(1.0, (self.end - self.start).days / 30.44)
        step = next((s for s in (1, 2, 3, 6, 12, 24, 60, 120) if s * px_per_month >= MIN_TICK_GAP), 240)
        out: list[tuple[float, str]] = []
        year, month = self.start.year, self.start.month
        while True:
            month += 1
            if month > 12:
                year, month = year + 1, 1
            tick = self.start.replace(
                year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0
            )
            if tick > self.end:
                return out
            if (year * 12 + month - 1) % step:
                continue
            x = self.x(tick)
            if AXIS[0] + 24 <= x <= AXIS[1] - 24:  # a label never runs into a gutter
                out.append((x, str(year) if step >= 12 else f"{MONTHS[month - 1]} {year}"))


@dataclass(frozen=True)
class Point:
    """One thing to draw in a lane: an instance's expiry, or a reboot RDS is expected to make."""

    x: float
    place: str  # "axis", "earlier", "later", "nodate"
    id: str
    severity: str
    label: str  # one line for the hover text


def _where(when: datetime | None, axis: Axis) -> tuple[str, float]:
    if when is None:
        return "nodate", sum(NODATE) / 2
    if when < axis.start:
        return "earlier", sum(EARLIER) / 2
    if when > axis.end:
        return "later", sum(LATER) / 2
    return "axis", axis.x(when)


def _bins(points: Iterable[Point]) -> list[tuple[float, list[Point]]]:
    """Points that fall in the same BIN px (or the same gutter) become one mark at the bin's middle."""
    bins: dict[tuple[str, int], list[Point]] = {}
    for p in points:
        slot = int((p.x - AXIS[0]) // BIN) if p.place == "axis" else 0
        bins.setdefault((p.place, slot), []).append(p)
    out = []
    for (place, slot), members in sorted(bins.items(), key=lambda kv: kv[1][0].x):
        x = min(AXIS[0] + (slot + 0.5) * BIN, AXIS[1]) if place == "axis" else members[0].x
        out.append((x, members))
    return out


def _hover(members: Sequence[Point], what: str) -> str:
    head = f"{len(members)} {what}: " if len(members) > 1 else ""
    shown = "; ".join(p.label for p in members[:12])
    more = f"; and {len(members) - 12} more" if len(members) > 12 else ""
    return e(head + shown + more)


def _expiry_marks(points: Sequence[Point], y: float) -> str:
    out = []
    for x, members in _bins(points):
        sev = min((p.severity for p in members), key=lambda s: SEVERITY_RANK.get(s, 9))
        ids = e(" ".join(p.id for p in members))
        n = len(members)
        title = f"<title>{_hover(members, 'instances')}</title>"
        if n == 1:
            out.append(
                f'<circle class="mark sev-{sev}" cx="{x:.1f}" cy="{y:.1f}" r="{SINGLE_R}" data-count="1" '
                f'data-ids="{ids}" tabindex="0">{title}</circle>'
            )
        else:
            out.append(
                f'<g class="mark group sev-{sev}" data-count="{n}" data-ids="{ids}" tabindex="0">{title}'
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{GROUP_R}"/>'
                f'<text class="count" x="{x:.1f}" y="{y + 3.2:.1f}">{n if n < 100 else "99+"}</text></g>'
            )
    return "".join(out)


def _forecast_marks(points: Sequence[Point], y: float) -> str:
    out = []
    for x, members in _bins(points):
        ids = e(" ".join(p.id for p in members))
        n = len(members)
        count = f'<text class="fcount" x="{x + 6:.1f}" y="{y + 1:.1f}">{n}</text>' if n > 1 else ""
        out.append(
            f'<g class="forecast" data-count="{n}" data-ids="{ids}" tabindex="0">'
            f"<title>{_hover(members, 'reboots RDS is expected to make')}</title>"
            f'<path d="M{x - 4.5:.1f} {y - 5:.1f} L{x + 4.5:.1f} {y - 5:.1f} L{x:.1f} {y + 3:.1f} Z"/>'
            f"{count}</g>"
        )
    return "".join(out)


def env_lanes(verdicts: Sequence[Verdict], env_of: Callable[[Verdict], str]) -> list[str]:
    """The lanes: the largest environments by count (alphabetical, untagged last), then 'other'."""
    counts = Counter(env_of(v) for v in verdicts)
    kept = sorted(counts, key=lambda k: (-counts[k], k))[: MAX_LANES - 1 if len(counts) > MAX_LANES else None]
    lanes = sorted(kept, key=lambda k: (k == "(untagged)", k))
    return [*lanes, "other"] if len(kept) < len(counts) else lanes


def _short(text: str, limit: int = 22) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def timeline_svg(
    verdicts: Iterable[Verdict], now: datetime, warn_days: int, env_of: Callable[[Verdict], str]
) -> str:
    """The timeline section: lanes by environment, and the same marks in lanes by state (one shows)."""
    items = sorted(verdicts, key=lambda v: (earliest_expiry(v) or now, v.instance.key))
    dates = [d for d in (earliest_expiry(v) for v in items) if d is not None]
    axis = Axis.around(dates, now, warn_days)
    points = [_points(v, axis) for v in items]
    places = Counter(p.place for p, _ in points)
    reboots = sum(1 for _, f in points if f is not None and f.place == "axis")
    outside = sum(1 for _, f in points if f is not None and f.place != "axis")
    present = {v.state.value for v in items}
    states = [s.value for s in State if s.value in present]
    drawing = _Lanes(axis, now, warn_days, places)
    svgs = drawing.svg(items, points, env_lanes(items, env_of), env_of, "timeline-svg", "environment") + (
        drawing.svg(
            items, points, states, lambda v: v.state.value, "timeline-svg-state", "state", hidden=True
        )
    )
    return _frame(svgs, items, axis, places, reboots, outside, dates)


def _points(v: Verdict, axis: Axis) -> tuple[Point, Point | None]:
    """An instance's expiry mark, and its foreseen reboot (place "outside" when off the axis)."""
    i, when = v.instance, earliest_expiry(v)
    place, x = _where(when, axis)
    label = f"{i.id} ({i.account_id} {i.region}): {day(when) if when else 'no known expiry'}, {v.state}"
    f, reboot = v.reboot_forecast, None
    if f is not None:
        auto = f", applies itself after {day(f.auto_apply)}" if f.auto_apply else ""
        window = f", window {f.window}" if f.window else ""
        text = f"{i.id}: RDS reboot expected {day(f.at)} ({f.action}, from {f.source}{auto}{window})"
        on_axis = axis.start <= f.at <= axis.end
        reboot = Point(axis.x(f.at), "axis" if on_axis else "outside", i.id, v.severity.value, text)
    return Point(x, place, i.id, v.severity.value, label), reboot


class _Lanes:
    """The timeline drawn with one lane per value of a key (environment, state)."""

    def __init__(self, axis: Axis, now: datetime, warn_days: int, places: Counter[str]) -> None:
        self.axis, self.now, self.warn_days, self.places = axis, now, warn_days, places

    def svg(
        self,
        items: Sequence[Verdict],
        points: Sequence[tuple[Point, Point | None]],
        lanes: Sequence[str],
        key: Callable[[Verdict], str],
        svg_id: str,
        what: str,
        hidden: bool = False,
    ) -> str:
        lane_of = {name: n for n, name in enumerate(lanes)}
        expiry: list[list[Point]] = [[] for _ in lanes]
        reboots: list[list[Point]] = [[] for _ in lanes]
        for v, (mark, reboot) in zip(items, points, strict=True):
            lane = lane_of.get(key(v), len(lanes) - 1)
            expiry[lane].append(mark)
            if reboot is not None and reboot.place == "axis":
                reboots[lane].append(reboot)
        base = TOP + len(lanes) * LANE
        parts = self._frame_parts(base)
        for n, name in enumerate(lanes):
            top = TOP + n * LANE
            count = len(expiry[n])
            parts.insert(
                n,  # under the shading, which is see-through
                f'<g class="lane" data-lane="{e(name)}"><title>{e(name)}: {count}</title>'
                f'<rect class="lane-bg{" odd" if n % 2 else ""}" x="0" y="{top}" width="{WIDTH}" '
                f'height="{LANE}"/><text class="lane-label" x="{LABEL_X}" y="{top + LANE / 2 + 4:.1f}">'
                f"{e(_short(name))} ({count})</text></g>",
            )
            mid = top + LANE / 2
            parts.append(_expiry_marks(expiry[n], mid + 4) + _forecast_marks(reboots[n], mid - 9))
        return (
            f'<svg id="{svg_id}" class="timeline-svg" viewBox="0 0 {WIDTH} {base + 52}" role="img"'
            f'{" hidden" if hidden else ""} aria-label="Earliest certificate expiry per instance, by {what}">'
            f"{''.join(parts)}</svg>"
        )

    def _frame_parts(self, base: float) -> list[str]:
        """Past and warning shading, grid, ticks, axis, gutters, today and the horizon."""
        axis = self.axis
        horizon = self.now + timedelta(days=self.warn_days)
        x_now, x_hor = axis.x(self.now), axis.x(horizon)
        parts = [
            f'<rect class="past" x="{AXIS[0]}" y="{TOP}" width="{max(0.0, x_now - AXIS[0]):.1f}" '
            f'height="{base - TOP}"/>',
            f'<rect class="warn-zone" x="{x_now:.1f}" y="{TOP}" '
            f'width="{max(0.0, min(x_hor, AXIS[1]) - x_now):.1f}" height="{base - TOP}"/>',
        ]
        for x, label in axis.ticks():
            parts.append(
                f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{base}"/>'
                f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{base}" y2="{base + 5}"/>'
                f'<text class="tick-label" x="{x:.1f}" y="{base + 18}">{label}</text>'
            )
        gutters = (("earlier", "earlier", EARLIER), ("later", "later", LATER), ("nodate", "no date", NODATE))
        counts = self.places
        parts.append(
            f'<line class="axis" x1="{AXIS[0]}" x2="{AXIS[1]}" y1="{base}" y2="{base}"/>'
            f'<text class="axis-title" x="{sum(AXIS) / 2:.1f}" y="{base + 40}">Earliest expiry per instance '
            "(CA or server certificate), UTC</text>"
            + "".join(
                f'<text class="gutter-label" x="{sum(span) / 2:.1f}" y="{TOP - 6}">{name} ({counts[k]})'
                "</text>"
                for k, name, span in gutters
            )
            + f'<line class="today" x1="{x_now:.1f}" x2="{x_now:.1f}" y1="4" y2="{base}"/>'
            f'<text class="today-label" x="{x_now - 4:.1f}" y="13">today {day(self.now)}</text>'
        )
        if x_hor <= AXIS[1]:
            parts.append(
                f'<line class="horizon" x1="{x_hor:.1f}" x2="{x_hor:.1f}" y1="18" y2="{base}"/>'
                f'<text class="horizon-label" x="{x_hor + 4:.1f}" y="27">+{self.warn_days} days '
                f"{day(horizon)}</text>"
            )
        return parts


def _frame(
    svg: str,
    items: Sequence[Verdict],
    axis: Axis,
    places: Counter[str],
    reboots: int,
    outside: int,
    dates: Sequence[datetime],
) -> str:
    counts = Counter(v.severity.value for v in items)
    keys = [
        f'<span class="key"><span class="dot sev-{sev}"></span>{sev} ({counts.get(sev, 0)})</span>'
        for sev in (s.value for s in Severity)
    ]
    keys.append('<span class="key"><span class="dot group-key">3</span>instances in one spot</span>')
    if reboots or outside:
        keys.append(
            '<span class="key key-forecast"><svg width="12" height="10" aria-hidden="true">'
            '<path d="M1 1 L11 1 L6 9 Z"/></svg>reboot RDS is expected to make '
            f"({reboots + outside})</span>"
        )
    latest = max(dates, default=None)
    notes = (
        "Lanes by environment (env tag), or by state. "
        f"Axis {day(axis.start)} to {day(axis.end)}; {places['earlier']} earlier, {places['later']} later"
        + (f" (latest {day(latest)})" if latest else "")
        + f", {places['nodate']} with no known expiry (unmanaged)"
        + (
            f"; {outside} foreseen {'reboot falls' if outside == 1 else 'reboots fall'} outside the axis"
            if outside
            else ""
        )
        + ". Click a mark to filter the table."
    )
    return (
        '<section id="timeline"><h2>Expiry timeline<label class="lanes-by">lanes by '
        '<select id="lanes-by" aria-label="Timeline lanes by">'
        '<option value="timeline-svg">environment</option>'
        f'<option value="timeline-svg-state">state</option></select></label></h2>{svg}'
        f'<p class="legend">{"".join(keys)}</p><p class="note">{notes}</p></section>'
    )
