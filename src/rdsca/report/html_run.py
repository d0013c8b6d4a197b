"""The rollout part of the HTML report: one run from the journal, its waves, steps, timings,
failures and the rollbacks that undid it (`rdsca.api.report.read_run` reads them); escaped HTML.

Beside each step's AWS status timeline (its `status-seen` events, seconds after the step started)
stands the downtime rdsca measured by probing the endpoint (`downtime` events; `-`: not measured)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from rdsca.api.report import RunHistory
from rdsca.report.html import Section, e
from rdsca.report.rotation import down_text, downtimes
from rdsca.rollout.events import Event
from rdsca.rollout.journal import EventRecord, RunRecord, StepRecord, StepStatus

BAD = frozenset({StepStatus.FAILED.value, StepStatus.INTERRUPTED.value})
LEAD_FAILURES = 10  # failed steps named at the top of the page; the rest are in the steps table


def _when(at: str | None) -> datetime | None:
    return datetime.fromisoformat(at) if at else None


def _span(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return ""
    seconds = (end - start).total_seconds()
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _times(events: Sequence[EventRecord]) -> dict[str, tuple[datetime, datetime]]:
    """When each step started working (its first event after planning) and its last event."""
    out: dict[str, tuple[datetime, datetime]] = {}
    for ev in events:
        if ev.step_key is None or ev.event == "planned":
            continue
        at = _when(ev.at)
        assert at is not None
        first, _ = out.get(ev.step_key, (at, at))
        out[ev.step_key] = (min(first, at), at)
    return out


def _timelines(events: Sequence[EventRecord]) -> dict[str, str]:
    """Per step: what AWS showed, in order, with seconds since the step's first event."""
    starts = {k: a for k, (a, _) in _times(events).items()}
    out: dict[str, list[str]] = {}
    for ev in events:
        if ev.step_key in starts and ev.event in (Event.STATUS_SEEN, Event.VERIFIED):
            at = _when(ev.at)
            assert at is not None
            what, after = str(ev.detail.get("status") or ev.event), (at - starts[ev.step_key]).total_seconds()
            out.setdefault(ev.step_key, []).append(f"{what} +{after:.1f}s")
    return {k: " \u2192 ".join(v) for k, v in out.items()}


def _downtime_cell(detail: dict[str, Any] | None) -> str:
    if not detail:
        return '<td class="num">-</td>'
    since = f"down {detail.get('first_failure')} to {detail.get('recovered') or 'the end of the step'}"
    title = f' title="{e(since)}"' if detail.get("first_failure") else ""
    return f'<td class="num"{title}>{e(down_text(detail))}</td>'


def _status(value: str, text: str | None = None) -> str:
    cls = "bad" if value in BAD else "ok" if value == StepStatus.VERIFIED.value else ""
    return f'<span class="{cls}">{e(value if text is None else text)}</span>'


def _steps_table(steps: Sequence[StepRecord], events: Sequence[EventRecord]) -> str:
    times, timelines, down = _times(events), _timelines(events), downtimes(events)
    rows = "".join(
        f'<tr data-step="{e(s.key)}"><td>{e(s.wave)}</td><td>{e(s.ident)}</td><td>{e(s.account)}</td>'
        f"<td>{e(s.region)}</td><td>{e(s.from_ca or '-')} &rarr; {e(s.to_ca)}</td>"
        f"<td>{_status(s.status)}</td><td>{e(s.after_ca or '')}</td>"
        f"<td>{e(times[s.key][0].strftime('%H:%M:%S')) if s.key in times else ''}</td>"
        f'<td class="num">{_span(*times[s.key]) if s.key in times else ""}</td>'
        f'<td class="timeline">{e(timelines.get(s.key, ""))}</td>{_downtime_cell(down.get(s.key))}'
        f"<td>{e(s.reason or '')}</td></tr>"
        for s in steps
    )
    return (
        '<table class="detail"><thead><tr><th>wave</th><th>instance</th><th>account</th><th>region</th>'
        "<th>change</th><th>status</th><th>CA after</th><th>started</th><th>took</th>"
        "<th>AWS status timeline</th><th>downtime (measured)</th><th>reason</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def _waves_table(steps: Sequence[StepRecord], times: dict[str, tuple[datetime, datetime]]) -> str:
    rows = []
    for wave in dict.fromkeys(s.wave for s in steps):
        members = [s for s in steps if s.wave == wave]
        spans = [times[s.key] for s in members if s.key in times]
        start = min((a for a, _ in spans), default=None)
        end = max((b for _, b in spans), default=None)
        counts = ", ".join(f"{n} {k}" for k, n in sorted(Counter(s.status for s in members).items()))
        rows.append(
            f'<tr data-wave="{e(wave)}"><td>{e(wave)}</td><td class="num">{len(members)}</td>'
            f"<td>{e(counts)}</td><td>{e(start.isoformat(timespec='seconds')) if start else ''}</td>"
            f'<td class="num">{_span(start, end)}</td></tr>'
        )
    return (
        '<table class="detail"><caption>Waves</caption><thead><tr><th>wave</th><th>steps</th>'
        f"<th>outcome</th><th>started</th><th>took</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _clock(at: str | None) -> str:
    """A journal time as people read it: 2026-12-02 15:00:23 UTC."""
    when = _when(at)
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if when else "-"


def _run_text(run: RunRecord) -> str:
    took = _span(_when(run.created_at), _when(run.updated_at))
    return (
        f"Run <strong>{e(run.id)}</strong> ({e(run.kind)}) to {e(run.target_ca)}: "
        f"{_status(run.status)}, started {_clock(run.created_at)}, last change {_clock(run.updated_at)} "
        f"({took})."
    )


def _run_line(run: RunRecord) -> str:
    return f"<p>{_run_text(run)}</p>"


def _wave_tile(wave: str, members: Sequence[StepRecord], span: str) -> str:
    """One wave at a glance: its name, its steps by status (failures first), how long it took."""
    counts = Counter(s.status for s in members)
    bad = sum(n for k, n in counts.items() if k in BAD)
    settled = sum(
        counts.get(k.value, 0) for k in (StepStatus.VERIFIED, StepStatus.ROLLED_BACK, StepStatus.SKIPPED)
    )
    kind = "bad" if bad else "ok" if settled == len(members) else "open"
    parts = ", ".join(
        _status(k, f"{n} {k}") for k, n in sorted(counts.items(), key=lambda kv: (kv[0] not in BAD, kv[0]))
    )
    steps = f"{len(members)} {'step' if len(members) == 1 else 'steps'}" + (f" in {span}" if span else "")
    return (
        f'<div class="card wave wave-{kind}" data-wave-tile="{e(wave)}" data-outcome="{kind}">'
        f'<span class="n">{e(wave)}</span><span class="counts">{parts}</span>'
        f'<span class="k">{steps}</span></div>'
    )


def outcome_lead(history: RunHistory) -> str:
    """What a reader of the change needs first: the run's status, its outcome per wave, the steps that
    failed and the rollbacks that undid it."""
    run, steps = history.run, history.steps
    times = _times(history.events)
    tiles = []
    for wave in dict.fromkeys(s.wave for s in steps):
        members = [s for s in steps if s.wave == wave]
        spans = [times[s.key] for s in members if s.key in times]
        start = min((a for a, _ in spans), default=None)
        tiles.append(_wave_tile(wave, members, _span(start, max((b for _, b in spans), default=None))))
    parts = [
        f'<p class="run-line">{_run_text(run)}</p>',
        '<div class="cards" role="group" aria-label="outcome per wave"><span class="cards-label">waves</span>'
        + ("".join(tiles) or '<span class="none">no steps</span>')
        + "</div>",
    ]
    failed = [s for s in steps if s.status in BAD]
    if failed:
        items = "".join(
            f"<li><strong>{e(s.ident)}</strong> ({e(s.account)} {e(s.region)}, wave {e(s.wave)}): "
            f"{e(s.status)}: {e(s.reason or '')}</li>"
            for s in failed[:LEAD_FAILURES]
        ) + (
            f"<li>and {len(failed) - LEAD_FAILURES} more, under Steps below</li>"
            if len(failed) > LEAD_FAILURES
            else ""
        )
        parts.append(
            f'<div class="failed" role="alert" id="run-failures"><strong>{len(failed)} '
            f"{'step' if len(failed) == 1 else 'steps'} failed or interrupted</strong><ul>{items}</ul></div>"
        )
    if history.rollbacks:
        items = "".join(
            f'<li data-rollback="{e(rb.run.id)}">rolled back by <strong>{e(rb.run.id)}</strong>: '
            f"{_status(rb.run.status)}, "
            + e(
                ", ".join(f"{n} {k}" for k, n in sorted(Counter(s.status for s in rb.steps).items()))
                or "no steps"
            )
            + f" ({_clock(rb.run.created_at)})</li>"
            for rb in history.rollbacks
        )
        parts.append(f'<ul class="rollbacks" id="run-rollbacks">{items}</ul>')
    return "".join(parts)


def run_section(history: RunHistory) -> Section:
    run, steps = history.run, history.steps
    times = _times(history.events)
    parts = [_run_line(run), _waves_table(steps, times)]
    parts.append("<h3>Steps</h3>" + _steps_table(steps, history.events))
    if history.rollbacks:
        parts.append("<h3>Rollbacks</h3>")
        for rb in history.rollbacks:
            parts.append(_run_line(rb.run) + _steps_table(rb.steps, rb.events))
    return Section(id="rollout", title=f"Rollout {run.id}", body="".join(parts), lead=outcome_lead(history))
