"""Flags shared by the rotation commands (journal, run options) and the journal they name."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import click

from rdsca.api.rotation import Resolve
from rdsca.cli.common import resolve
from rdsca.cli.options import AwsOptions, FiniteFloat
from rdsca.errors import JournalError
from rdsca.rollout.contracts import ExecOptions
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


def exec_options(func: Any) -> Any:
    """Add --yes, --poll-interval, --step-timeout, --continue-on-failure, --journal; pass
    `yes`, `opts: ExecOptions` and `journal_path`."""

    def wrapper(*args: Any, poll_interval: float, step_timeout: float, continue_on_failure: bool,
                write_timeout: float, take_over: bool, **kwargs: Any) -> Any:  # fmt: skip
        kwargs["opts"] = ExecOptions(
            poll_interval, step_timeout, continue_on_failure, write_timeout=write_timeout, take_over=take_over
        )
        return func(*args, **kwargs)

    functools.update_wrapper(wrapper, func)
    result: Any = wrapper
    for opt in reversed(
        [
            click.option(
                "--yes", "-y", is_flag=True, help="Do not ask for confirmation (also for production waves)."
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
            journal_option,
        ]
    ):
        result = opt(result)
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
