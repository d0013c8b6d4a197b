"""Report use cases: the audit as a document (with a rollout run and client readiness), and the
least-privilege IAM policy of each capability.

`report()` reads everything a renderer needs (the run from the journal, the saved readiness
result) so that rendering reads nothing; `rdsca.report` registers the html, markdown and
prometheus renderers of `Report` and the json renderer of `IamPolicy`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rdsca.api.audit import Clock, TargetSource, audit, utc_now
from rdsca.assess.verdicts import DEFAULT_WARN_DAYS
from rdsca.aws.permissions import CAPABILITIES, actions_for, policy_document
from rdsca.errors import ConfigError
from rdsca.model import Audit
from rdsca.readiness.saved import load_readiness

if TYPE_CHECKING:  # the journal (and the rollout code under it) is imported only by who reads a run
    from rdsca.rollout.journal import EventRecord, Journal, RunRecord, StepRecord

DEFAULT_TITLE = "RDS certificate report"


@dataclass(frozen=True)
class RunHistory:
    """One rollout run as the journal recorded it, with the rollbacks that undid it."""

    run: RunRecord
    steps: tuple[StepRecord, ...]
    events: tuple[EventRecord, ...]
    rollbacks: tuple[RunHistory, ...] = ()


@dataclass(frozen=True)
class Report:
    """The audit, and what the HTML page adds to it: a rollout run, a saved readiness result."""

    audit: Audit
    title: str = DEFAULT_TITLE
    run: RunHistory | None = None
    readiness: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class IamPolicy:
    """The least-privilege IAM policy of one capability (audit, rotate, readiness)."""

    capability: str
    actions: tuple[str, ...]
    document: Mapping[str, Any]


def read_run(journal: Journal, run_id: str) -> RunHistory:
    """The run `run_id` (a JournalError when there is none) and its rollbacks."""
    run = journal.run(run_id)
    rollbacks = tuple(
        _history(journal, r) for r in journal.runs() if r.kind == "rollback" and r.parent == run_id
    )
    return RunHistory(run, *_records(journal, run_id), rollbacks=rollbacks)


def _history(journal: Journal, run: RunRecord) -> RunHistory:
    return RunHistory(run, *_records(journal, run.id))


def _records(journal: Journal, run_id: str) -> tuple[tuple[StepRecord, ...], tuple[EventRecord, ...]]:
    return tuple(journal.steps(run_id)), tuple(journal.events(run_id))


def report(
    targets: TargetSource,
    *,
    title: str = DEFAULT_TITLE,
    warn_days: int = DEFAULT_WARN_DAYS,
    engines: Sequence[str] = (),
    tags: Sequence[tuple[str, str]] = (),
    id_globs: Sequence[str] = (),
    readiness_file: Path | None = None,
    run_id: str | None = None,
    open_journal: Callable[[], Journal] | None = None,
    now: Clock = utc_now,
) -> Report:
    """The audit of `targets`, with the run `run_id` from the journal `open_journal` opens (it is
    closed again) and the readiness result saved in `readiness_file`.

    The files are read first: a bad readiness file or an unknown run fails before any AWS call.
    """
    readiness = load_readiness(readiness_file) if readiness_file is not None else None
    run = None
    if run_id is not None:
        if open_journal is None:
            raise ConfigError("a run needs a journal to read it from")
        journal = open_journal()
        try:
            run = read_run(journal, run_id)
        finally:
            journal.close()
    result = audit(targets, warn_days=warn_days, engines=engines, tags=tags, id_globs=id_globs, now=now)
    return Report(result, title=title, run=run, readiness=readiness)


def iam_policy(capability: str = "audit") -> IamPolicy:
    """The IAM actions rdsca's AWS calls declare for `capability`, as a policy document."""
    if capability not in CAPABILITIES:
        raise ConfigError(f"unknown capability {capability!r} (known: {', '.join(CAPABILITIES)})")
    document = json.loads(policy_document(capability))
    return IamPolicy(capability, actions_for(capability), document)
