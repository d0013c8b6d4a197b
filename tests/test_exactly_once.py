"""A change is sent exactly once: slow, lost, reset and garbled replies; throttling; two processes;
SIGTERM and SIGHUP. Through the real CLI, with the loopback FaultProxy between rdsca and the sandbox.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from rdsca.cli.app import main
from rdsca.rollout.events import was_accepted
from rdsca.rollout.journal import Journal
from support.faultproxy import (
    FaultProxy,
    delay_reply,
    drop_reply,
    foreign_page,
    garbage_reply,
    html_error,
    reset_before,
    reset_reply,
)
from support.gate import Gate
from support.sandbox import SandboxHandle

A1, US = "111111111111", "us-east-1"
G1 = "rds-ca-rsa2048-g1"
RDSCA = [sys.executable, "-c", "from rdsca.cli.app import run; run()"]
FAST = ("--poll-interval", "0.05", "--yes")
ONE = ("--region", US, "--id", "legacy-dev-mysql57")
THREE = ("--region", US, "--id", "legacy-*", "--id", "billing-*", "--id", "orders-prod-pg-replica-1")


def make_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> Path:
    path = tmp_path / "plan.json"
    assert main(["plan", "--to", G1, "-o", str(path), *args]) == 0, capsys.readouterr()
    capsys.readouterr()
    return path


def accepted_per_step(journal: Path) -> list[int]:
    j = Journal(journal)
    history = j.step_events(j.runs()[-1].id)
    return [sum(was_accepted([e]) for e in events) for events in history.values()]


FAULTS: dict[str, tuple[Callable[[FaultProxy, SandboxHandle], object], int]] = {
    # name: (how, writes the sandbox counts for one accepted write)
    "slow-reply": (lambda p, sb: p.add(delay_reply(2.0, "ModifyDBInstance", count=1)), 1),
    "lost-reply": (lambda p, sb: p.add(drop_reply("ModifyDBInstance", count=1)), 1),
    "reset-after": (lambda p, sb: p.add(reset_reply("ModifyDBInstance", count=1)), 1),
    "reset-before": (lambda p, sb: p.add(reset_before("ModifyDBInstance", count=1)), 1),
    "html-502": (lambda p, sb: p.add(html_error(502, "ModifyDBInstance", count=1)), 1),
    "garbage": (lambda p, sb: p.add(garbage_reply("ModifyDBInstance", count=1)), 1),
    "foreign-page": (lambda p, sb: p.add(foreign_page("ModifyDBInstance", count=1)), 1),
    "throttled": (lambda p, sb: sb.control.fault("ModifyDBInstance", "Throttling", count=2), 3),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_write_whose_reply_goes_wrong_is_accepted_exactly_once(
    estate: SandboxHandle,
    fault_proxy: FaultProxy,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    fault: str,
) -> None:
    plan = make_plan(tmp_path, capsys, *ONE)
    journal = tmp_path / "j.sqlite"
    how, counted = FAULTS[fault]
    estate.control.reset_calls()
    how(fault_proxy, estate)
    code = main(["apply", str(plan), "--journal", str(journal), "--write-timeout", "0.5", *FAST])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "unexpected" not in err and "Traceback" not in err
    j = Journal(journal)
    assert [s.status for s in j.steps(j.runs()[-1].id)] == ["verified"]
    assert accepted_per_step(journal) == [1]
    assert estate.control.call_count("ModifyDBInstance") == counted  # botocore resent nothing
    raw = estate.client("rds", US, account=A1).describe_db_instances(
        DBInstanceIdentifier="legacy-dev-mysql57"
    )
    assert raw["DBInstances"][0]["CACertificateIdentifier"] == G1
    if fault not in ("throttled",):
        assert "modify-outcome-unknown" in out


def test_a_lost_modify_db_cluster_reply_is_not_sent_again(
    estate: SandboxHandle, fault_proxy: FaultProxy, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from test_rollout_multiaz import MAZ, MEMBERS, _create

    _create(estate.client("rds", US, account=A1), MAZ, "postgres", "13.16", MEMBERS)
    path = tmp_path / "plan.json"
    assert (
        main(["plan", "--to", "rds-ca-rsa4096-g1", "--region", US, "--id", "ledger-*", "-o", str(path)]) == 0
    )
    capsys.readouterr()
    estate.control.reset_calls()
    fault_proxy.add(drop_reply("ModifyDBCluster", count=1))
    code = main(["apply", str(path), "--journal", str(tmp_path / "j"), *FAST])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert estate.control.call_count("ModifyDBCluster") == 1
    assert "modify-confirmed" in out


def _apply(plan: Path, journal: Path, *extra: str) -> subprocess.Popen[str]:
    args = [*RDSCA, "apply", str(plan), "--journal", str(journal), *FAST, *extra]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(journal: Path, event: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if journal.exists():
            try:
                j = Journal(journal)
                runs = j.runs()
                if runs and any(e.event == event for e in j.events(runs[-1].id)):
                    return runs[-1].id
            except Exception:  # the other process is creating the file
                pass
        time.sleep(0.02)
    raise AssertionError(f"no {event} in {journal}")


def test_two_applies_of_one_plan_send_each_write_once(
    estate: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(tmp_path, capsys, *THREE)
    journal = tmp_path / "j.sqlite"
    # Slow reads: both processes pass the drift check before either has changed anything, so only
    # the lease stands between them.
    estate.control.latency(1.0, action="DescribeDBInstances")
    estate.control.reset_calls()
    procs = [_apply(plan, journal), _apply(plan, journal)]
    results = [(p.pid, p.returncode, *p.communicate(timeout=90)) for p in procs]
    results = [(pid, p.returncode, out, err) for p, (pid, _, out, err) in zip(procs, results, strict=True)]
    assert sorted(code for _, code, _, _ in results) == [0, 2], results
    winner = next(pid for pid, code, _, _ in results if code == 0)
    refused = next(err for _, code, _, err in results if code == 2)
    # Refused by the lease (both passed the drift check) or, on a loaded machine where the first
    # already changed an instance before the second read the estate, by the drift check: either way
    # nothing is sent twice.
    assert ("is held by `rdsca apply`" in refused and f"pid {winner}" in refused) or (
        "the estate changed since the plan was made" in refused
    ), refused
    assert len(Journal(journal).runs()) == 1  # the refused apply recorded no run
    assert estate.control.call_count("ModifyDBInstance") == 3


def test_resume_beside_a_live_apply_is_refused_and_sends_nothing(
    estate: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(tmp_path, capsys, *THREE)
    journal = tmp_path / "j.sqlite"
    estate.control.reset_calls()
    # The apply holds its run until the test lets it go (during a 6 s reboot, on a loaded machine,
    # the apply once ended first and resume found the run done).
    gate = Gate(tmp_path)
    first = _apply(plan, journal, "--after-step", gate.hook)
    run_id = _wait_for(journal, "modify-accepted")
    gate.wait_held(first)
    try:
        code = main(["resume", run_id, "--journal", str(journal), *FAST])
    finally:
        gate.release()
    _, err = capsys.readouterr()
    assert code == 2 and f"run {run_id} is held by `rdsca apply`" in err
    out1, err1 = first.communicate(timeout=60)
    assert first.returncode == 0, out1 + err1
    assert estate.control.call_count("ModifyDBInstance") == 3
    assert Journal(journal).leases() == []  # released at the end


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_interrupt_like_ctrl_c(
    estate: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path, signum: int, code: int
) -> None:
    plan = make_plan(tmp_path, capsys, *THREE)
    journal = tmp_path / "j.sqlite"
    estate.control.config(reboot_seconds=3.0)
    proc = _apply(plan, journal)
    run_id = _wait_for(journal, "modify-accepted")
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, out + err
    assert f"rdsca resume {run_id}" in err and "Traceback" not in err
    j = Journal(journal)
    assert j.run(run_id).status == "interrupted"
    assert "interrupted" in {s.status for s in j.steps(run_id)}
    assert j.leases() == []
    estate.control.config(reboot_seconds=0.3)
    assert main(["resume", run_id, "--journal", str(journal), *FAST]) == 0, capsys.readouterr()
    assert {s.status for s in j.steps(run_id)} == {"verified"}
    assert accepted_per_step(journal) == [1, 1, 1]


def test_a_lease_that_stopped_renewing_is_taken_over_only_when_asked(
    estate: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(tmp_path, capsys, *ONE)
    journal = tmp_path / "j.sqlite"
    proc = subprocess.run(
        [*RDSCA, "apply", str(plan), "--journal", str(journal), "--yes", "--step-timeout", "0.1",
         "--poll-interval", "0.05"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    run_id = Journal(journal).runs()[-1].id
    # Another machine's process held the run and stopped renewing its lease ten minutes ago.
    with sqlite3.connect(journal) as db:
        db.execute(
            "INSERT INTO leases VALUES (?,?,?,?,?,?,?,?)",
            (f"run:{run_id}", run_id, "feedface", 4242, "other-host", "rdsca resume",
             "2026-01-01T00:00:00.000+00:00", "2026-01-01T00:00:00.000+00:00"),
        )  # fmt: skip
    code = main(["resume", run_id, "--journal", str(journal), *FAST])
    _, err = capsys.readouterr()
    assert code == 2 and "pid 4242 on other-host" in err and "--take-over" in err, (proc.stdout, err)
    code = main(["resume", run_id, "--journal", str(journal), "--take-over", *FAST])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "took over run" in err and "lease expired" in err
    assert any(e.event == "lease-taken-over" for e in Journal(journal).events(run_id))
