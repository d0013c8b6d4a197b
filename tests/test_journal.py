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
from rdsca.rollout.plan import PlanPolicy
from rdsca.rollout.planner import build

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


def test_a_release_0_1_journal_opens_and_gains_leases(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    plan = small_plan()
    j = Journal(path)
    run_id = j.create_run(plan, planfile.dumps(plan))
    j.close()
    with sqlite3.connect(path) as db:  # what release 0.1 wrote: schema 1, no leases table
        db.execute("DROP TABLE leases")
        db.execute("PRAGMA user_version=1")
    j = Journal(path)
    assert j.run(run_id).status == "running" and j.leases() == []
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2


def test_a_journal_from_a_newer_rdsca_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    Journal(path).close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version=99")
    with pytest.raises(JournalError, match="newer rdsca"):
        Journal(path)


@pytest.mark.parametrize("damage", ["page", "garbage", "empty", "foreign"])
def test_every_reading_command_reports_a_damaged_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    from rdsca.cli.app import main

    path = tmp_path / "journal.sqlite"
    plan = small_plan()
    j = Journal(path)
    run_id = j.create_run(plan, planfile.dumps(plan))
    for n in range(200):  # enough pages that a damaged one is not the header
        j.set_run_status(run_id, RunStatus.RUNNING, "run-resumed", filler="x" * 500, n=n)
    j.close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if damage == "page":
        data = bytearray(path.read_bytes())
        data[8192:16384] = b"\xff" * 8192
        path.write_bytes(bytes(data))
    elif damage == "garbage":
        path.write_bytes(b"\x00\x01garbage" * 1000)
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.unlink()
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE notes (x)")
    for args in (
        ["runs"],
        ["show", run_id, "--no-check"],
        ["report", "--run", run_id, "-o", str(tmp_path / "r.html")],
    ):
        code = main([*args, "--journal", str(path)])
        _, err = capsys.readouterr()
        assert code == 2, (args, err)
        assert err.startswith("error: ") and "unexpected" not in err, (args, err)
        assert any(w in err for w in ("damaged", "not an rdsca journal", "empty")), (args, err)


@pytest.mark.parametrize("command", ["resume", "rollback"])
def test_a_damaged_plan_in_the_journal_is_named_as_the_journal_s(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """The journal's copy of a run's plan, damaged (a disk fault, a hand edit): resume and rollback
    say it is that copy, in one line with exit 2; before, they spoke of a plan file nobody gave."""
    from rdsca.cli.app import main

    path = tmp_path / "j.sqlite"
    plan = small_plan()
    j = Journal(path)
    run_id = j.create_run(plan, planfile.dumps(plan))
    j.set_run_status(run_id, RunStatus.INTERRUPTED, "test")
    j.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE runs SET plan_json = ? WHERE id = ?", ('{"steps": [', run_id))
    code = main([command, run_id, "--journal", str(path), "--yes"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"the plan the journal keeps for run {run_id} is not valid JSON" in err and "plan file" not in err
    assert len(err.strip().splitlines()) == 1, err
