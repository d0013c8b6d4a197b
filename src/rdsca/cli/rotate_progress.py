"""Live progress of a rotation: a summary per wave on a terminal, plain lines otherwise.

On a terminal each wave shows one bar with counts by state, elapsed time and an estimate, and under it
only the steps under way or failed, so a wave of hundreds of steps reads at a glance. Without a
terminal (CI, logs) each state change of a step is a line, and a summary line comes at a fixed
interval so that a long reboot does not look like a hang. `--progress json` gives the same lines as
JSON objects (`rdsca.progress/1`), for machines.

Cells are rich `Text`, never markup: a state without a style, or an identifier or message with
brackets, prints as it is (markup such as `[]pending[/]` is an error in current rich).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from rdsca import schemas
from rdsca.report.words import count
from rdsca.rollout.contracts import Progress
from rdsca.rollout.events import Event
from rdsca.rollout.journal import StepStatus
from rdsca.rollout.plan import Step

HEARTBEAT_SECONDS = 30.0

# A step's state as the person watching sees it: its status, and for a running step where it is.
STATES = ("pending", "waiting", "sending", "changing", "verified", "scheduled", "awaiting-restart",
          "skipped", "failed", "interrupted", "rolled-back")  # fmt: skip
ALWAYS_SHOWN = frozenset({"pending", "sending", "changing", "verified", "failed"})
LISTED = frozenset({"waiting", "sending", "changing", "failed", "interrupted"})
UNFINISHED = frozenset({"pending", "waiting", "sending", "changing", "interrupted"})
STYLE = {
    "pending": "dim",
    "waiting": "yellow",
    "sending": "bold cyan",
    "changing": "cyan",
    "verified": "green",
    "scheduled": "cyan",
    "awaiting-restart": "cyan",
    "skipped": "yellow",
    "failed": "bold red",
    "interrupted": "magenta",
    "rolled-back": "yellow",
}

Row = tuple[Step, StepStatus, str, str]  # step, status, last event, its message


def state_of(status: StepStatus | str, event: str) -> str:
    """`status`, except that a running step is waiting (instance busy), sending or changing."""
    if status != StepStatus.RUNNING:
        return str(status)
    if event == Event.SENDING:
        return "sending"
    if event == Event.INSTANCE_BUSY:
        return "waiting"
    return "changing"


def counts(rows: Iterable[Row]) -> Counter[str]:
    return Counter(state_of(status, event) for _, status, event, _ in rows)


def _duration(seconds: float) -> str:
    return str(timedelta(seconds=int(max(seconds, 0))))


def summary(wave: str, rows: Sequence[Row], elapsed: float) -> str:
    """One line: `wave W: 37/240 done (pending 183, ...), elapsed 0:01:10, about 0:06:00 left`."""
    by_state = counts(rows)
    done = len(rows) - sum(by_state[s] for s in UNFINISHED)
    parts = ", ".join(f"{s} {by_state[s]}" for s in STATES if s in ALWAYS_SHOWN or by_state[s])
    timing = f"elapsed {_duration(elapsed)}, {_eta(done, len(rows), elapsed)}"
    return f"wave {wave}: {done}/{len(rows)} done ({parts}), {timing}"


def _eta(done: int, total: int, elapsed: float) -> str:
    if done >= total:
        return "0:00:00 left"
    if done == 0 or elapsed <= 0:
        return "time left unknown"
    return f"about {_duration((total - done) * elapsed / done)} left"


def render_wave(wave: str, rows: Sequence[Row], elapsed: float, limit: int) -> Any:
    """The live view of a wave: bar, counts, and the steps under way or failed (at most `limit`)."""
    from rich.console import Group
    from rich.progress_bar import ProgressBar
    from rich.table import Table
    from rich.text import Text

    by_state = counts(rows)
    done = len(rows) - sum(by_state[s] for s in UNFINISHED)
    timing = f"elapsed {_duration(elapsed)}, {_eta(done, len(rows), elapsed)}"
    bar = ProgressBar(total=max(len(rows), 1), completed=done, width=40)
    head = Table.grid(padding=(0, 1))
    head.add_row(Text(f"wave {wave}", style="bold"), bar, Text(f"{done}/{len(rows)}"), Text(timing))
    line = Text()
    for state in (s for s in STATES if s in ALWAYS_SHOWN or by_state[s]):
        line.append(f"{state} {by_state[state]}", style=STYLE[state] if by_state[state] else "dim")
        line.append("  ")
    listed = [r for r in rows if state_of(r[1], r[2]) in LISTED]
    listed.sort(key=lambda r: (state_of(r[1], r[2]) not in ("failed", "interrupted"), r[0].key))
    table = Table(box=None, padding=(0, 2), show_edge=False)
    for col in ("step", "change", "state", "last event"):
        table.add_column(col, no_wrap=col != "last event")
    for step, status, event, message in listed[:limit]:
        state = state_of(status, event)
        change = f"{step.from_ca or '-'} -> {step.to_ca}"
        last = f"{event} {message}".strip()
        table.add_row(Text(step.key), Text(change), Text(state, style=STYLE[state]), Text(last))
    parts: list[Any] = [head, line]
    if listed:
        parts.append(table)
    if len(listed) > limit:
        parts.append(Text(f"... and {len(listed) - limit} more under way or failed", style="dim"))
    return Group(*parts)


class _Wave:
    """The steps of the current wave and their last state; safe to update from several threads."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.name = ""
        self.started = clock()
        self._rows: dict[str, Row] = {}

    def start(self, name: str, steps: Sequence[Step]) -> None:
        with self._lock:
            self.name, self.started = name, self._clock()
            self._rows = {s.key: (s, StepStatus.PENDING, "", "") for s in steps}

    def update(self, step: Step, event: str, status: StepStatus, message: str) -> None:
        with self._lock:
            self._rows[step.key] = (step, StepStatus(status), str(event), message)

    def rows(self) -> list[Row]:
        with self._lock:
            return list(self._rows.values())

    def elapsed(self) -> float:
        return self._clock() - self.started


class PlainProgress:
    """A line per state change of a step; every `heartbeat` seconds a summary line of the wave."""

    def __init__(
        self,
        confirm: Callable[[str], bool],
        heartbeat: float = HEARTBEAT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._confirm = confirm
        self._heartbeat = heartbeat
        self._wave = _Wave(clock)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _echo(self, line: str) -> None:
        with self._lock:
            click.echo(line)

    # What each happening prints: one line each (JsonProgress prints JSON instead).

    def wave_line(self, wave: str, steps: Sequence[Step]) -> str:
        return f"wave {wave}: {count(steps, 'step')}"

    def step_line(self, step: Step, event: str, status: StepStatus, message: str) -> str:
        return f"  {step.key}  {event}  [{status}]" + (f"  {message}" if message else "")

    def beat_line(self) -> str:
        return summary(self._wave.name, self._wave.rows(), self._wave.elapsed())

    def wave(self, wave: str, steps: Sequence[Step]) -> None:
        self.close()
        self._wave.start(wave, steps)
        self._echo(self.wave_line(wave, steps))
        if self._heartbeat > 0:
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._beat, args=(self._stop,), daemon=True)
            self._thread.start()

    def _beat(self, stop: threading.Event) -> None:
        while not stop.wait(self._heartbeat):
            self._echo(self.beat_line())

    def step(self, step: Step, event: str, status: StepStatus, message: str) -> None:
        self._wave.update(step, event, status, message)
        self._echo(self.step_line(step, event, status, message))

    def confirm_wave(self, wave: str) -> bool:
        self.close()
        return self._confirm(wave)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def json_line(kind: str, **fields: Any) -> str:
    """One line of `--progress json` (docs/json-schemas.md, `rdsca.progress/1`)."""
    return json.dumps({"schema": schemas.PROGRESS, "type": kind, "at": _now(), **fields}, sort_keys=False)


class JsonProgress(PlainProgress):
    """`--progress json`: the lines of PlainProgress as JSON objects, one a line, for machines."""

    def wave_line(self, wave: str, steps: Sequence[Step]) -> str:
        return json_line("wave", wave=wave, steps=len(steps))

    def step_line(self, step: Step, event: str, status: StepStatus, message: str) -> str:
        return json_line("step", wave=step.wave, step=step.key, event=str(event), status=str(status),
                         state=state_of(status, event), message=message or None)  # fmt: skip

    def beat_line(self) -> str:
        rows, elapsed = self._wave.rows(), self._wave.elapsed()
        by_state = counts(rows)
        done = len(rows) - sum(by_state[s] for s in UNFINISHED)
        left = None if done == 0 or elapsed <= 0 else round((len(rows) - done) * elapsed / done, 1)
        return json_line("heartbeat", wave=self._wave.name, steps=len(rows), done=done,
                         counts={s: by_state[s] for s in STATES if by_state[s]},
                         elapsed_s=round(elapsed, 1), left_s=0.0 if done >= len(rows) else left)  # fmt: skip


class RichProgress:
    """The live view of `render_wave`, redrawn four times a second by rich's own thread."""

    def __init__(self, confirm: Callable[[str], bool], clock: Callable[[], float] = time.monotonic) -> None:
        from rich.console import Console

        self._confirm = confirm
        self.console = Console()
        self.live: Any = None
        self._wave = _Wave(clock)

    def _render(self) -> Any:
        limit = max(self.console.size.height - 8, 3)
        return render_wave(self._wave.name, self._wave.rows(), self._wave.elapsed(), limit)

    def wave(self, wave: str, steps: Sequence[Step]) -> None:
        from rich.live import Live

        self.close()
        self._wave.start(wave, steps)
        self.live = Live(get_renderable=self._render, console=self.console, refresh_per_second=4)
        self.live.start()

    def step(self, step: Step, event: str, status: StepStatus, message: str) -> None:
        self._wave.update(step, event, status, message)

    def confirm_wave(self, wave: str) -> bool:
        self.close()
        return self._confirm(wave)

    def close(self) -> None:
        live, self.live = self.live, None
        if live is not None:
            live.stop()  # draws the last state of the wave, which stays on the screen


MODES = ("auto", "live", "lines", "json")


def choose(mode: str, tty: bool) -> str:
    """`auto`: the live view on a terminal, lines otherwise."""
    return ("live" if tty else "lines") if mode == "auto" else mode


@contextmanager
def make_progress(mode: str, confirm: Callable[[str], bool]) -> Iterator[Progress]:
    """The progress sink of a `--progress` mode that `choose` has resolved (live, lines, json)."""
    progress: PlainProgress | RichProgress
    if mode == "live":
        progress = RichProgress(confirm)
    elif mode == "json":
        progress = JsonProgress(confirm)
    else:
        progress = PlainProgress(confirm)
    try:
        yield progress
    finally:
        progress.close()
