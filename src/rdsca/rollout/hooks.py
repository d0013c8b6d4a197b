"""The user's commands around each step and wave: `--before-step`, `--after-step`, `--before-wave`,
`--after-wave`.

A hook runs through `/bin/sh -c` in a session of its own, with a timeout (the whole process group is
killed when it passes), with the parent's environment plus the `RDSCA_*` variables of `HookContext`:
nothing more, so no AWS credential reaches a hook that the parent process did not already have.
Its output is captured, never printed; what is kept (the last line of stderr, the tails of both
streams) is truncated and has every registered secret masked (`rdsca.redaction`) before anyone
journals it. A hook that cannot start (no shell, a bad command) is a failed hook, not an exception.
"""

from __future__ import annotations

import contextlib
import enum
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass

from rdsca.redaction import MASK, known_secrets

SHELL = "/bin/sh"
DEFAULT_TIMEOUT = 300.0  # seconds; a hook that drains traffic may take a while, not forever
TAIL = 2000  # characters of each stream kept
LINE = 300  # characters of the last stderr line kept for the step's reason


class Phase(enum.StrEnum):
    BEFORE_STEP = "before-step"
    AFTER_STEP = "after-step"
    BEFORE_WAVE = "before-wave"
    AFTER_WAVE = "after-wave"


@dataclass(frozen=True)
class Hooks:
    """The commands to run (None: none) and how long each may take."""

    before_step: str | None = None
    after_step: str | None = None
    before_wave: str | None = None
    after_wave: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    def command(self, phase: Phase) -> str | None:
        return {
            Phase.BEFORE_STEP: self.before_step,
            Phase.AFTER_STEP: self.after_step,
            Phase.BEFORE_WAVE: self.before_wave,
            Phase.AFTER_WAVE: self.after_wave,
        }[phase]


@dataclass(frozen=True)
class HookContext:
    """What a hook is told, as `RDSCA_*` environment variables (empty when not known)."""

    run_id: str
    wave: str
    phase: Phase
    step: str = ""  # the step key account/region/id; "" for a wave hook
    instance: str = ""
    endpoint: str = ""  # host:port when DescribeDBInstances showed one
    from_ca: str = ""
    to_ca: str = ""
    status: str = ""  # after-step: the step's status (verified, failed, ...)

    def environ(self) -> dict[str, str]:
        return {
            "RDSCA_RUN": self.run_id,
            "RDSCA_WAVE": self.wave,
            "RDSCA_PHASE": str(self.phase),
            "RDSCA_STEP": self.step,
            "RDSCA_INSTANCE": self.instance,
            "RDSCA_ENDPOINT": self.endpoint,
            "RDSCA_FROM_CA": self.from_ca,
            "RDSCA_TO_CA": self.to_ca,
            "RDSCA_STATUS": self.status,
        }


@dataclass(frozen=True)
class HookResult:
    phase: Phase
    command: str
    exit_code: int | None  # None: it did not finish (timed out) or did not start
    seconds: float
    timed_out: bool = False
    stderr_line: str = ""  # the last non-empty line of stderr (masked, truncated)
    stdout_tail: str = ""
    stderr_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def reason(self) -> str:
        """One line for the step's reason: what went wrong, with the hook's own last word."""
        if self.timed_out:
            what = f"{self.phase} hook timed out after {self.seconds:.0f}s"
        elif self.exit_code is None:
            what = f"{self.phase} hook could not run"
        else:
            what = f"{self.phase} hook exited {self.exit_code}"
        return f"{what}: {self.stderr_line}" if self.stderr_line else what

    def detail(self) -> dict[str, object]:
        """What the journal keeps of it (the command itself is the user's: kept, masked)."""
        return {
            "phase": str(self.phase),
            "command": mask(self.command)[:LINE],
            "exit_code": self.exit_code,
            "seconds": round(self.seconds, 3),
            "timed_out": self.timed_out,
            "stderr": self.stderr_line,
        }


def mask(text: str) -> str:
    for value in known_secrets():
        if value in text:
            text = text.replace(value, MASK)
    return text


def _tail(data: bytes) -> str:
    return mask(data.decode("utf-8", "replace")[-TAIL:])


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:LINE] if lines else ""


def run_hook(
    command: str, context: HookContext, timeout: float, environ: Mapping[str, str] | None = None
) -> HookResult:
    """Run `command` through the shell with `context` in its environment; never raises for its failure."""
    env = {**(os.environ if environ is None else environ), **context.environ()}
    started = time.monotonic()
    try:
        proc = subprocess.Popen(  # the user's own command, run as the user asked
            [SHELL, "-c", command],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: a timeout kills what it started too
        )
    except OSError as exc:
        return HookResult(context.phase, command, None, time.monotonic() - started,
                          stderr_line=mask(str(exc))[:LINE])  # fmt: skip
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        try:  # a child that left the group may still hold the pipes: do not wait for it
            out, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            out, err = b"", b""
    except BaseException:  # Ctrl-C while a hook runs: do not leave it behind
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    stderr = _tail(err)
    return HookResult(
        context.phase,
        command,
        None if timed_out else proc.returncode,
        time.monotonic() - started,
        timed_out,
        _last_line(stderr),
        _tail(out),
        stderr,
    )
