"""Shell completion of values: CA ids (the catalogue), run ids (the journal), regions.

click calls these while the user presses TAB (`rdsca completion bash`); each returns what starts
with the word typed so far, and nothing (never an error) when it cannot tell.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from click.shell_completion import CompletionItem


def _starting(values: list[tuple[str, str]], incomplete: str) -> list[CompletionItem]:
    return [CompletionItem(v, help=h or None) for v, h in values if v.startswith(incomplete)]


def complete_ca_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The RDS CA ids of the built-in catalogue (and the bundles RDSCA_CATALOGUE_BUNDLE names)."""
    from rdsca.api.target_ca import ended_on
    from rdsca.catalog import load_catalog
    from rdsca.cli.common import now_utc

    try:
        ids = load_catalog().ca_ids()
    except Exception:  # a completion never fails the shell
        return []
    now = now_utc()
    return _starting([(c, f"ended {ended_on(c, now)}" if ended_on(c, now) else "") for c in ids], incomplete)


def complete_run_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The runs of the journal the command would read (--journal, RDSCA_JOURNAL or the default),
    newest first, each with its kind and status."""
    from rdsca.cli.rotate_common import default_journal
    from rdsca.rollout.journal import Journal

    given: Any = ctx.params.get("journal_path") or os.environ.get("RDSCA_JOURNAL")
    where = Path(given or default_journal()).expanduser()
    try:
        if not where.is_file() or where.stat().st_size == 0:
            return []
        runs = Journal(where, create=False).runs()
    except Exception:  # a damaged journal: no completion, and no traceback in the shell
        return []
    return _starting([(r.id, f"{r.kind} {r.status}") for r in reversed(runs)], incomplete)


def complete_regions(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The regions where the AWS SDK knows RDS (no AWS call); after a comma, the next one."""
    from rdsca.aws.session import SessionFactory

    head, _, word = incomplete.rpartition(",")
    prefix = f"{head}," if head else ""
    try:
        regions = sorted(SessionFactory().known_regions())
    except Exception:  # no usable AWS configuration: no completion
        return []
    return [CompletionItem(prefix + r) for r in regions if r.startswith(word)]
