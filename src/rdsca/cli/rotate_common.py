"""Flags shared by the rotation commands (journal, run options) and the journal they name."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from rdsca.api.targets import Resolve
from rdsca.cli.common import resolve
from rdsca.cli.options import AwsOptions, FiniteFloat, with_options
from rdsca.cli.rotate_progress import HEARTBEAT_SECONDS, MODES, choose
from rdsca.errors import JournalError
from rdsca.rollout.contracts import ExecOptions
from rdsca.rollout.hooks import DEFAULT_TIMEOUT, Hooks
from rdsca.rollout.journal import Journal


def default_journal() -> Path:
    from platformdirs import user_state_dir

    return Path(user_state_dir("rdsca")) / "journal.sqlite"


def journal_option(func: Any) -> Any:
    return click.option(
        "--journal",
        "journal_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="RDSCA_JOURNAL",
        help="The run journal (SQLite). Default: the user state directory. Env: RDSCA_JOURNAL.",
    )(func)


def _command(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A hook command; an empty one (an unset shell variable) would silently turn a safety hook
    off, so it is refused."""
    if value is not None and not value.strip():
        raise click.BadParameter("empty command (leave the option out to run no hook)")
    return value


_HOOK_ENV = (
    "Every hook runs through /bin/sh -c with RDSCA_RUN, RDSCA_WAVE, RDSCA_PHASE, RDSCA_STEP, "
    "RDSCA_INSTANCE, RDSCA_ENDPOINT (host:port), RDSCA_FROM_CA, RDSCA_TO_CA (and RDSCA_STATUS after "
    "a step) in its environment"
)
hook_options = [
    click.option("--before-step", metavar="CMD", callback=_command,
                 help="Run CMD before each step sends its change; "
                 f"a failing CMD (non-zero, timeout) fails the step, nothing sent. {_HOOK_ENV}."),
    click.option("--after-step", metavar="CMD", callback=_command,
                 help="Run CMD when a step that changed (or tried) "
                 "ends; its failure is journalled and shown, the change stands."),
    click.option("--before-wave", metavar="CMD", callback=_command,
                 help="Run CMD before each wave; a failing CMD fails "
                 "the wave's steps, nothing sent, and the run stops."),
    click.option("--after-wave", metavar="CMD", callback=_command,
                 help="Run CMD once after each wave, whatever its outcome."),
    click.option("--hook-timeout", type=FiniteFloat(min=0.1), default=DEFAULT_TIMEOUT, show_default=True,
                 help="Seconds a hook may take; then it is killed and counts as failed."),
    click.option("--measure-downtime/--no-measure-downtime", default=True, show_default=True,
                 help="Probe each running step's endpoint (TLS handshake, or TCP connect) to measure the "
                 "downtime it really had; journalled, shown by `rdsca show`. Needs the endpoint "
                 "in DescribeDBInstances."),
    click.option("--downtime-interval", type=FiniteFloat(min=0.01), default=1.0, show_default=True,
                 help="Seconds between two probes of one endpoint (the precision of the downtime)."),
]  # fmt: skip


# The options of `exec_options`, in the order --help lists them.
_EXEC_OPTIONS = (
    click.option(
        "--yes",
        "-y",
        is_flag=True,
        help="Do not ask for confirmation (also for production waves). "
        "Needed when standard input is not a terminal.",
    ),
    click.option(
        "--progress",
        "progress_mode",
        type=click.Choice(MODES),
        default="auto",
        show_default=True,
        envvar="RDSCA_PROGRESS",
        help="How to show the run: live (per wave a bar, counts by state and the steps under "
        "way or failed), lines (a line per state change of a step, and a summary line every "
        f"{HEARTBEAT_SECONDS:.0f} s), json (the same lines as JSON, schema rdsca.progress/1). "
        "auto: live on a terminal, lines otherwise. Env: RDSCA_PROGRESS.",
    ),
    click.option(
        "--poll-interval",
        type=FiniteFloat(min=0.01),
        default=15.0,
        show_default=True,
        help="Seconds between status polls (one describe call per region per poll).",
    ),
    click.option(
        "--step-timeout",
        type=FiniteFloat(min=0.1),
        default=1800.0,
        show_default=True,
        help="Seconds a step may take before it counts as failed.",
    ),
    click.option(
        "--write-timeout",
        type=FiniteFloat(min=0.1),
        default=60.0,
        show_default=True,
        help="Seconds to wait for AWS's answer to a change. A change whose answer does not come "
        "is never sent again blindly: rdsca reads the instance to learn whether AWS took it.",
    ),
    click.option(
        "--continue-on-failure", is_flag=True, help="Go on to the next wave even after a failed step."
    ),
    click.option(
        "--take-over",
        is_flag=True,
        help="Take over a run or instance whose lease holder stopped renewing it (another "
        "machine, or a stopped process). Leases of dead processes on this machine are taken "
        "over without it.",
    ),
    *hook_options,
    journal_option,
)


def exec_options(func: Any) -> Any:
    """Add --yes, --progress, --poll-interval, --step-timeout, --continue-on-failure, --journal, the
    hooks and the downtime probe; pass `yes`, `progress` (live, lines or json), `opts: ExecOptions`
    and `journal_path`."""

    def wrapper(*args: Any, progress_mode: str, poll_interval: float, step_timeout: float,
                continue_on_failure: bool, write_timeout: float, take_over: bool, before_step: str | None,
                after_step: str | None, before_wave: str | None, after_wave: str | None, hook_timeout: float,
                measure_downtime: bool, downtime_interval: float, **kwargs: Any) -> Any:  # fmt: skip
        hooks = Hooks(before_step, after_step, before_wave, after_wave, hook_timeout)
        kwargs["opts"] = ExecOptions(
            poll_interval, step_timeout, continue_on_failure, write_timeout=write_timeout,
            take_over=take_over, hooks=hooks, measure_downtime=measure_downtime,
            downtime_interval=downtime_interval,
        )  # fmt: skip
        kwargs["progress"] = choose(progress_mode, sys.stdout.isatty())
        return func(*args, **kwargs)

    result: Any = with_options(wrapper, func, _EXEC_OPTIONS)
    return result


def open_journal(path: Path | None, create: bool = False) -> Journal:
    """The journal; only `apply` creates one, every other command reads an existing one."""
    where = (path or default_journal()).expanduser()
    if not create and not where.exists():
        raise JournalError(f"no journal at {where}: runs are recorded there by `rdsca apply` (see --journal)")
    if where.exists() and not where.is_file():
        raise JournalError(f"the journal {where} is not a regular file")
    if not create and where.stat().st_size == 0:
        raise JournalError(f"the journal {where} is empty: not a journal written by `rdsca apply`")
    # A new or empty file becomes a journal; an existing database without rdsca's schema is refused.
    journal = Journal(where, create=not where.exists() or where.stat().st_size == 0)
    if where.stat().st_size > 0:
        journal.check()
    return journal


# -- targets --------------------------------------------------------------------------------------


def resolver(aws: AwsOptions, write_timeout: float | None = None) -> Resolve:
    """The user's AWS flags as the `Resolve` the rotation use cases take (regions -> targets)."""
    return lambda regions: resolve(aws, regions=regions, write_timeout=write_timeout)
