"""Progress of a long audit on stderr: account-regions and accounts read, instances found, time left.

An audit of an organization (hundreds of accounts, every region) runs for minutes; without a sign of
life it looks hung. `--progress` takes the rotation commands' shape: `auto` (the default) rewrites one
line in place twice a second on a terminal and shows nothing otherwise; `live` always rewrites the line;
`lines` writes a plain line every few seconds (CI, a log file); `none` shows nothing. A bare
`--progress` (the older on/off flag) shows it anyway: live on a terminal, lines otherwise; the older
`--no-progress` is a hidden alias of `none`. The last line, when every target is read, is always
written. stdout (the report itself) is never touched.
"""

from __future__ import annotations

import functools
import os
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


MODES = ("auto", "live", "lines", "none")
SHOWN = "shown"  # a bare `--progress`: live on a terminal, lines otherwise
ENV = "RDSCA_PROGRESS"


class _Mode(click.Choice):
    """The modes, plus the value a bare `--progress` carries (not offered in the help)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return SHOWN if value == SHOWN else super().convert(value, param, ctx)


def from_env(value: str) -> str:
    """`RDSCA_PROGRESS`, shared with the rotation commands: their `json` (machine lines on stdout) has
    no audit form, as stdout is the report; the audit writes its plain lines on stderr instead."""
    value = value.strip().lower()
    if value == "json":
        return "lines"
    if value not in MODES:
        raise click.BadParameter(f"{ENV}={value!r} is not one of {', '.join(map(repr, MODES))}",
                                 param_hint="'--progress'")  # fmt: skip
    return value


def progress_option(func: F) -> F:
    """Add `--progress [auto|live|lines|none]` (and the hidden `--no-progress`); pass `progress`, the
    mode (auto, live, lines, none, or `SHOWN` for a bare `--progress`)."""

    def wrapper(*args: Any, progress: str | None, no_progress: bool, **kwargs: Any) -> Any:
        if no_progress:
            progress = "none"
        elif progress is None:
            progress = from_env(os.environ[ENV]) if os.environ.get(ENV, "").strip() else "auto"
        return func(*args, progress=progress, **kwargs)

    functools.update_wrapper(wrapper, func)
    mode = click.option(
        "--progress",
        type=_Mode(MODES),
        is_flag=False,
        flag_value=SHOWN,
        default=None,
        metavar="[auto|live|lines|none]",
        help="Progress on stderr: account-regions and accounts read, instances found, time left. "
        "auto (default): a live line on a terminal, nothing otherwise; live: always the live line; "
        f"lines: a plain line every {LOG_INTERVAL:.0f} s (CI, logs); none: nothing. Env: {ENV}.",
    )
    hidden = click.option("--no-progress", "no_progress", is_flag=True, hidden=True)
    return mode(hidden(wrapper))  # type: ignore[return-value]


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
def audit_progress(mode: str) -> Iterator[ProgressHook | None]:
    """The progress hook for an audit in `mode` (see `progress_option`), or None when none is shown."""
    stream = sys.stderr
    tty = stream.isatty()
    if mode == "auto":
        mode = "live" if tty else "none"
    elif mode == SHOWN:
        mode = "live" if tty else "lines"
    if mode == "none":
        yield None
        return
    reporter = AuditProgress(stream, live=mode == "live")
    reporter.start()
    try:
        yield reporter
    finally:
        reporter.close()
