"""Progress of a long audit on stderr: account-regions and accounts read, instances found, time left.

An audit of an organization (hundreds of accounts, every region) runs for minutes; without a sign of
life it looks hung. On a terminal one line is rewritten in place twice a second; with `--progress`
and no terminal (CI, a log file) a plain line is written every few seconds. The last line, when
every target is read, is always written. stdout (the report itself) is never touched.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any, TypeVar

import click

from rdsca.aws.fleet import Progress, ProgressHook
from rdsca.report.words import plural

F = TypeVar("F", bound=Callable[..., Any])

TERMINAL_INTERVAL = 0.5  # seconds between rewrites of the line on a terminal
LOG_INTERVAL = 5.0  # seconds between lines without a terminal


def progress_option(func: F) -> F:
    """Add `--progress/--no-progress`; pass `progress: bool | None` (None: when stderr is a terminal)."""
    option = click.option(
        "--progress/--no-progress",
        default=None,
        help="Show progress on stderr: account-regions and accounts read, instances found, time left. "
        "Default: when stderr is a terminal.",
    )
    return option(func)


def duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def line(p: Progress) -> str:
    """`audit: 1,234 of 8,500 account-regions, 120 of 500 accounts, 3,456 instances; 45 s, about
    1 min 20 s left` (with the failed targets and retried throttles when there are any)."""
    parts = [
        f"audit: {p.targets_done:,} of {p.targets_total:,} account-regions",
        f"{p.accounts_done:,} of {p.accounts_total:,} {plural(p.accounts_total, 'account')}",
        f"{p.instances:,} {plural(p.instances, 'instance')}",
    ]
    if p.failed:
        parts.append(f"{p.failed:,} failed")
    if p.throttled:
        parts.append(f"{p.throttled:,} throttled and retried")
    text = ", ".join(parts) + f"; {duration(p.elapsed)}"
    if p.targets_done >= p.targets_total:
        return text + ", done"
    eta = p.eta
    return text + (f", about {duration(eta)} left" if eta is not None else "")


class AuditProgress:
    """The hook handed to the library: called from worker threads, writes at most every interval."""

    def __init__(self, stream: IO[str], live: bool) -> None:
        self.stream = stream
        self.live = live
        self.interval = TERMINAL_INTERVAL if live else LOG_INTERVAL
        self.lock = threading.Lock()
        self.last = 0.0
        self.written = False
        self.finished = False

    def start(self) -> None:
        self._write("audit: reaching the accounts and regions...")

    def __call__(self, p: Progress) -> None:
        done = p.targets_done >= p.targets_total
        now = time.monotonic()
        with self.lock:
            if self.finished or (not done and now - self.last < self.interval):
                return
            self.last = now
            self.finished = done
            self._write(line(p))

    def _write(self, text: str) -> None:
        if self.live:
            self.stream.write("\r" + text + "\x1b[K")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self.written = True

    def close(self) -> None:
        if self.live and self.written:
            self.stream.write("\n")  # leave the last line, and any later message, readable
            self.stream.flush()


@contextmanager
def audit_progress(wanted: bool | None) -> Iterator[ProgressHook | None]:
    """The progress hook for an audit, or None when progress is not shown."""
    stream = sys.stderr
    live = stream.isatty()
    if wanted is False or (wanted is None and not live):
        yield None
        return
    reporter = AuditProgress(stream, live)
    reporter.start()
    try:
        yield reporter
    finally:
        reporter.close()
