"""The SQLite journal: one transaction per state change, readable after a crash, no secrets."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rdsca.errors import JournalError
from rdsca.model import Fleet, Instance, Target, TargetStatus
from rdsca.rollout import planfile
from rdsca.rollout.journal import Journal, RunStatus, StepStatus
from rdsca.rollout.plan import PlanPolicy, build

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def small_plan():  # type: ignore[no-untyped-def]
    from rdsca.model import Authority, RegionCAs

    a, r = "111111111111", "us-east-1"
    inst = Instance(a, r, "db1", f"arn:aws:rds:{r}:{a}:db:db1", "postgres", "15.8", "available", None, None,
                    "rds-ca-2019", None, None, None, supported_cas=("rds-ca-rsa2048-g1",))  # fmt: skip
    auth = Authority("rds-ca-rsa2048-g1", r, a, "CA", None, None, None)
    f = Fleet(NOW, (TargetStatus(Target(a, r), True),), (RegionCAs(a, r, (auth,), None),), (inst,))
    return build(f, "rds-ca-rsa2048-g1", PlanPolicy(), NOW)


def test_runs_steps_events_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "state" / "journal.sqlite"
    plan = small_plan()
    j = Journal(path)
    run_id = j.create_run(plan, planfile.dumps(plan))
    key = plan.steps[0].key
    j.record(run_id, key, "modify-sending", StepStatus.RUNNING, before_ca="rds-ca-2019")
    j.record(run_id, key, "modify-accepted", StepStatus.RUNNING)
    j.record(run_id, key, "verified", StepStatus.VERIFIED, after_ca="rds-ca-rsa2048-g1")
    j.set_run_status(run_id, RunStatus.DONE, "run-done")
    j.close()

    again = Journal(path)  # a second process sees everything
    assert again.run(run_id).status == "done"
    step = again.steps(run_id)[0]
    assert (step.status, step.before_ca, step.after_ca) == ("verified", "rds-ca-2019", "rds-ca-rsa2048-g1")
    assert again.step_events(run_id)[key] == ["planned", "modify-sending", "modify-accepted", "verified"]
    assert [r.id for r in again.runs()] == [run_id]
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    with pytest.raises(JournalError, match="no run 'nope'"):
        again.run("nope")


def test_a_failed_write_leaves_no_half_state(tmp_path: Path) -> None:
    plan = small_plan()
    j = Journal(tmp_path / "j.sqlite")
    run_id = j.create_run(plan, planfile.dumps(plan))
    key = plan.steps[0].key
    with pytest.raises(ValueError):
        j.record(run_id, key, "modify-sending", StepStatus.RUNNING, password="x")
    assert j.step_events(run_id)[key] == ["planned"]
    assert j.steps(run_id)[0].status == "pending"


def test_a_corrupt_journal_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(JournalError, match="cannot open the journal"):
        Journal(path)
