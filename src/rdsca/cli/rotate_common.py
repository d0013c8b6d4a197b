"""Helpers shared by the rotation commands: journal and run flags, targets of a plan, the plan file."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from rdsca.assess.select import select
from rdsca.aws import actions as aws_actions
from rdsca.aws.fleet import collect
from rdsca.aws.session import ResolvedTarget
from rdsca.catalog import load_catalog
from rdsca.cli.common import now_utc, resolve
from rdsca.cli.options import AwsOptions, FiniteFloat
from rdsca.errors import JournalError, PlanError
from rdsca.model import Fleet
from rdsca.rollout import plan as planmod
from rdsca.rollout import planfile
from rdsca.rollout.executor import ExecOptions
from rdsca.rollout.journal import Journal


def known_cas() -> tuple[str, ...]:
    return load_catalog().ca_ids()


def ended_on(ca_id: str, now: datetime) -> str | None:
    """The day every known root of `ca_id` had ended (rds-ca-2015, rds-ca-2019), or None."""
    roots = load_catalog().roots(ca_id)
    if roots and all(r.not_after <= now for r in roots):
        return max(r.not_after for r in roots).strftime("%Y-%m-%d")
    return None


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


def resolve_for(
    aws: AwsOptions, plan_targets: Sequence[tuple[str, str]], write_timeout: float | None = None
) -> dict[tuple[str, str], ResolvedTarget]:
    """The plan's (account, region) targets, reached with the user's AWS flags.

    Refuses, before any change is sent, a plan whose accounts the flags do not reach.
    """
    resolved = resolve(aws, regions=sorted({r for _, r in plan_targets}), write_timeout=write_timeout)
    by_key = {(r.target.account_id, r.target.region): r for r in resolved}
    reached = {a for (a, _), r in by_key.items() if r.factory is not None}
    missing = sorted({a for a, _ in plan_targets} - reached)
    if missing:
        raise PlanError(
            f"plan for another account: {', '.join(missing)} not reached with these AWS flags "
            f"(reached: {', '.join(sorted(reached)) or 'none'}); use --profile or --accounts/--role-name"
        )
    out = {}
    for key in plan_targets:
        r = by_key.get(key)
        if r is None or r.factory is None:
            raise PlanError(f"cannot reach {key[0]}/{key[1]}: {r.error if r else 'region not selected'}")
        out[key] = r
    return out


def bound_actions(targets: dict[tuple[str, str], ResolvedTarget]) -> aws_actions.BoundActions:
    def client(account: str, region: str, write: bool = False) -> Any:
        factory = targets[(account, region)].factory
        assert factory is not None
        return factory.client("rds", region, write=write)

    return aws_actions.BoundActions(client, functools.partial(client, write=True))


def read_scope(targets: dict[tuple[str, str], ResolvedTarget], scope: planmod.Scope) -> Fleet:
    fleet = collect(list(targets.values()), now=now_utc())
    for t in fleet.failed:
        raise PlanError(f"cannot re-read {t.target.key} to check the plan: {t.error}")
    return select(fleet, scope.engines, scope.tags, scope.id_globs)


def cluster_writers(targets: Sequence[ResolvedTarget]) -> frozenset[str]:
    out: set[str] = set()
    for r in targets:
        if r.factory is not None:
            rds = r.factory.client("rds", r.target.region)
            out |= aws_actions.cluster_writers(rds, r.target.account_id, r.target.region)
    return frozenset(out)


def load_plan(path: Path) -> tuple[planmod.Plan, str]:
    from rdsca.files import PLAN_LIMIT, read_text_input

    text = read_text_input(path, what="plan file", limit=PLAN_LIMIT, error=PlanError)
    return planfile.loads(text, known_cas()), text
