"""Live progress of a rotation: a rich table per wave on a terminal, plain lines otherwise."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from rdsca.rollout.executor import Progress
from rdsca.rollout.journal import StepStatus
from rdsca.rollout.plan import Step

STYLE = {
    StepStatus.VERIFIED: "green",
    StepStatus.SCHEDULED: "cyan",
    StepStatus.FAILED: "red",
    StepStatus.SKIPPED: "yellow",
    StepStatus.INTERRUPTED: "magenta",
    StepStatus.RUNNING: "bold",
}


class PlainProgress:
    def __init__(self, confirm: Callable[[str], bool]) -> None:
        self._confirm = confirm

    def wave(self, wave: str, steps: Sequence[Step]) -> None:
        click.echo(f"wave {wave}: {len(steps)} step(s)")

    def step(self, step: Step, event: str, status: StepStatus, message: str) -> None:
        click.echo(f"  {step.key}  {event}  [{status}]" + (f"  {message}" if message else ""))

    def confirm_wave(self, wave: str) -> bool:
        return self._confirm(wave)


class RichProgress:
    """One live table per wave: step, CA change, status, last event."""

    def __init__(self, confirm: Callable[[str], bool]) -> None:
        from rich.console import Console

        self._confirm = confirm
        self.console = Console()
        self.live: Any = None
        self.rows: dict[str, tuple[Step, str, str, str]] = {}
        self.wave_name = ""

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(title=f"wave {self.wave_name}", expand=False)
        for col in ("step", "change", "status", "last event"):
            table.add_column(col)
        for step, status, event, message in self.rows.values():
            style = STYLE.get(StepStatus(status), "")
            table.add_row(
                step.key, f"{step.from_ca or '-'} -> {step.to_ca}", f"[{style}]{status}[/]",
                f"{event} {message}".strip(),
            )  # fmt: skip
        return table

    def wave(self, wave: str, steps: Sequence[Step]) -> None:
        from rich.live import Live

        self.close()
        self.wave_name = wave
        self.rows = {s.key: (s, StepStatus.PENDING, "", "") for s in steps}
        self.live = Live(self._table(), console=self.console, refresh_per_second=4)
        self.live.start()

    def step(self, step: Step, event: str, status: StepStatus, message: str) -> None:
        self.rows[step.key] = (step, status, event, message)
        if self.live is not None:
            self.live.update(self._table())

    def confirm_wave(self, wave: str) -> bool:
        self.close()
        return self._confirm(wave)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


@contextmanager
def make_progress(tty: bool, confirm: Callable[[str], bool]) -> Iterator[Progress]:
    if not tty:
        yield PlainProgress(confirm)
        return
    progress = RichProgress(confirm)
    try:
        yield progress
    finally:
        progress.close()
