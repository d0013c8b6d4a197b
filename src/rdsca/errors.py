"""One exception base and the exit-code table; the CLI boundary maps one to the other."""

from __future__ import annotations

import signal
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2  # usage error or bad input
    FINDINGS = 3  # audit --fail-within found something, readiness found an instance at risk
    PARTIAL = 4  # some targets (account x region) failed
    HANGUP = 129  # SIGHUP: the terminal went away
    INTERRUPTED = 130  # SIGINT: Ctrl-C
    TERMINATED = 143  # SIGTERM: what CI runners, systemd and Kubernetes send


class RdscaError(Exception):
    """Base of every error rdsca raises on purpose. The message is shown to the user as is."""

    exit_code: ExitCode = ExitCode.ERROR


class ConfigError(RdscaError):
    """Bad input from the user: flags, files, profiles, regions."""

    exit_code = ExitCode.USAGE


class AwsAccessError(RdscaError):
    """AWS could not be reached or refused us (credentials, endpoint, permissions)."""

    exit_code = ExitCode.ERROR


class PlanError(RdscaError):
    """A plan file that cannot be used: truncated, edited, for another estate, drifted."""

    exit_code = ExitCode.USAGE


class JournalError(RdscaError):
    """The journal cannot be read or the run asked for does not exist."""

    exit_code = ExitCode.USAGE


class ProbeError(RdscaError):
    """A TLS probe, trust bundle or database session check could not run."""

    exit_code = ExitCode.ERROR


class Interrupted(KeyboardInterrupt):
    """A signal that ends a command the way Ctrl-C does: SIGINT, SIGTERM or SIGHUP.

    A KeyboardInterrupt, so every `except KeyboardInterrupt` that records "interrupted" (the
    executor's step boundary) handles all three alike; the exit code is 128 + the signal number.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.signame = signal.Signals(signum).name
        self.exit_code = 128 + signum
