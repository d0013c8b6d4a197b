"""Adversarial tests of issue 8's exactly-once rotation: try to make rdsca send a write twice, touch an
instance the plan did not name, go on after a failure, leave a run "running", hang, or crash.

Each attack runs through the real entry point (`rdsca.cli.app.main`, or the console code in a
subprocess) against the sandbox, with the loopback FaultProxy in between. Seven attacks found real
bugs (an endless resend to a failed instance, a run left "running" after a failed describe, a
window opt-in that could not be verified, a confirmation by somebody else's reboot, no fencing of a
lost lease, a heartbeat from the future); they were fixed, and their tests say what now holds.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rdsca.cli.app import main
from rdsca.rollout import executor
from rdsca.rollout import journal as journal_mod
from rdsca.rollout.events import was_accepted
from rdsca.rollout.journal import Journal
from support import crash
from support.faultproxy import FaultProxy, delay_reply, drop_reply, reset_before
from support.gate import Gate
from support.sandbox import SandboxHandle

A1, US, EU = "111111111111", "us-east-1", "eu-west-1"
G1, ECC = "rds-ca-rsa2048-g1", "rds-ca-ecc384-g1"
RDSCA = [sys.executable, "-c", "from rdsca.cli.app import run; run()"]
FAST = ("--poll-interval", "0.05", "--yes")
LEGACY = "legacy-dev-mysql57"
ONE = ("--region", US, "--id", LEGACY)
TWO_WAVES = ("--region", US, "--id", LEGACY, "--id", "billing-prod-mysql",
             "--wave-tag", "env", "--wave-order", "dev,prod")  # fmt: skip
THREE = ("--region", US, "--id", "legacy-*", "--id", "billing-*", "--id", "orders-prod-pg-replica-1")
WRITES = ("ModifyDBInstance", "ModifyDBCluster", "ApplyPendingMaintenanceAction")

# `python -c HOOK EVENT N SIGNAL rdsca-args...`: rdsca's CLI that sends itself SIGNAL right after the
# N-th journalled EVENT (like tests/support/crash.py, which only knows SIGKILL).
HOOK = """
import os, signal, sys
from rdsca.rollout import executor
event, limit, signum = sys.argv[1], int(sys.argv[2]), getattr(signal, sys.argv[3])
seen = [0]
original = executor.Executor.__init__
def init(self, *args, **kwargs):
    original(self, *args, **kwargs)
    def on_event(name):
        if name == event:
            seen[0] += 1
            if seen[0] == limit:
                os.kill(os.getpid(), signum)
    self.on_event = on_event
executor.Executor.__init__ = init
from rdsca.cli.app import main
sys.exit(main(sys.argv[4:]))
"""


def make_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str, to: str = G1) -> Path:
    path = tmp_path / "plan.json"
    assert main(["plan", "--to", to, "-o", str(path), *args]) == 0, capsys.readouterr()
    capsys.readouterr()
    return path


def last_run(journal: Path) -> str:
    return Journal(journal).runs()[-1].id


def accepted_per_step(journal: Path, run_id: str | None = None) -> dict[str, int]:
    j = Journal(journal)
    history = j.step_events(run_id or last_run(journal))
    return {key: sum(was_accepted([e]) for e in events) for key, events in history.items()}


def writes(sb: SandboxHandle) -> int:
    return sum(sb.control.call_count(a) for a in WRITES)


def describe(sb: SandboxHandle, instance_id: str, region: str = US, account: str = A1) -> dict[str, Any]:
    raw = sb.client("rds", region, account=account).describe_db_instances(DBInstanceIdentifier=instance_id)
    return dict(raw["DBInstances"][0])


def fleet_state(sb: SandboxHandle) -> dict[str, tuple[Any, ...]]:
    """Every instance of account 1 in us-east-1: (CA, pending CA, status)."""
    raw = sb.client("rds", US, account=A1).describe_db_instances()["DBInstances"]
    return {
        d["DBInstanceIdentifier"]: (
            d.get("CACertificateIdentifier"),
            d.get("PendingModifiedValues", {}).get("CACertificateIdentifier"),
        )
        for d in raw
    }


def on_event(monkeypatch: pytest.MonkeyPatch, hook: Callable[[str], None]) -> None:
    """Call `hook(event)` after each event the in-process executor journals."""
    original = executor.Executor.__init__

    def init(self: executor.Executor, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.on_event = hook

    monkeypatch.setattr(executor.Executor, "__init__", init)


def once(event: str, action: Callable[[], None]) -> Callable[[str], None]:
    fired = [False]

    def hook(name: str) -> None:
        if name == event and not fired[0]:
            fired[0] = True
            action()

    return hook


def wait_for(journal: Path, event: str, timeout: float = 20, count: int = 1) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if journal.exists():
            with contextlib.suppress(Exception):  # the other process is creating the file
                j = Journal(journal)
                runs = j.runs()
                if runs and sum(e.event == event for e in j.events(runs[-1].id)) >= count:
                    return runs[-1].id
        time.sleep(0.02)
    raise AssertionError(f"no {event} in {journal}")


def stopped(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"
    return False


def finish(proc: subprocess.Popen[str], timeout: float) -> tuple[int | None, str, str]:
    """The process's exit code and output; None when it was still running after `timeout` (killed)."""
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return None, out, err


def deny_reads(sb: SandboxHandle) -> Callable[[], None]:
    """From now on every DescribeDBInstances is refused (AccessDenied: botocore does not retry it)."""

    def deny() -> None:
        sb.control.fault("DescribeDBInstances", "AccessDenied")

    return deny


def clean(text: str) -> None:
    assert "Traceback" not in text and "unexpected" not in text, text


# -- faults on the write and on the reads that decide its outcome ---------------------------------


def test_reads_failing_while_an_outcome_is_unknown_never_resend(
    estate: SandboxHandle,
    fault_proxy: FaultProxy,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The modify's reply is lost, then every DescribeDBInstances is refused: the step must not be
    concluded "not accepted" (no resend), and a later resume finishes with that one write."""
    plan = make_plan(tmp_path, capsys, *ONE)
    journal = tmp_path / "j.sqlite"
    estate.control.reset_calls()
    fault_proxy.add(drop_reply("ModifyDBInstance", count=1))
    on_event(monkeypatch, once("modify-outcome-unknown", deny_reads(estate)))
    code = main(["apply", str(plan), "--journal", str(journal), *FAST])
    out, err = capsys.readouterr()
    clean(err)
    assert code != 0
    assert "modify-not-accepted" not in out
    assert estate.control.call_count("ModifyDBInstance") == 1
    estate.control.clear_faults()
    monkeypatch.undo()
    monkeypatch.setenv("AWS_ENDPOINT_URL", fault_proxy.url)
    for name, value in estate.env().items():
        monkeypatch.setenv(name, value)
    run_id = last_run(journal)
    assert main(["resume", run_id, "--journal", str(journal), *FAST]) == 0, capsys.readouterr()
    assert [s.status for s in Journal(journal).steps(run_id)] == ["verified"]
    assert accepted_per_step(journal) == {f"{A1}/{US}/{LEGACY}": 1}
    assert estate.control.call_count("ModifyDBInstance") == 1


def test_reads_failing_while_an_outcome_is_unknown_do_not_leave_the_run_running(
    estate: SandboxHandle,
    fault_proxy: FaultProxy,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan = make_plan(tmp_path, capsys, *ONE)
    journal = tmp_path / "j.sqlite"
    fault_proxy.add(drop_reply("ModifyDBInstance", count=1))
    on_event(monkeypatch, once("modify-outcome-unknown", deny_reads(estate)))
    code = main(["apply", str(plan), "--journal", str(journal), *FAST])
    _, err = capsys.readouterr()
    assert code != 0 and "AccessDenied" in err
    j = Journal(journal)
    run_id = last_run(journal)
    assert j.leases() == []
    assert j.run(run_id).status != "running"
    assert "running" not in {s.status for s in j.steps(run_id)}


def test_a_lost_reply_then_a_failed_instance_is_not_written_in_a_loop(
    estate: SandboxHandle, fault_proxy: FaultProxy, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(tmp_path, capsys, *ONE)
    journal = tmp_path / "j.sqlite"
    estate.control.config(modify_seconds=0.001)  # the change fails at once: no `modifying` is seen
    estate.control.misbehave(A1, US, LEGACY, "fail")
    estate.control.reset_calls()
    fault_proxy.add(drop_reply("ModifyDBInstance", count=1))
    proc = subprocess.Popen(
        [*RDSCA, "apply", str(plan), "--journal", str(journal), "--step-timeout", "2", *FAST],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    code, out, err = finish(proc, 12)
    sent = estate.control.call_count("ModifyDBInstance")
    assert code == 1, (sent, out[-2000:], err)
    assert sent <= 3, sent
    assert Journal(journal).run(last_run(journal)).status == "failed"


def test_a_lost_reply_on_the_resend_is_still_one_write(
    estate: SandboxHandle, fault_proxy: FaultProxy, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The first send never reaches AWS (reset before), the resend's reply is lost after AWS took it."""
    plan = make_plan(tmp_path, capsys, *ONE)
    journal = tmp_path / "j.sqlite"
    estate.control.reset_calls()
    fault_proxy.add(reset_before("ModifyDBInstance", count=1))
    fault_proxy.add(drop_reply("ModifyDBInstance", count=1))
    code = main(["apply", str(plan), "--journal", str(journal), *FAST])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    clean(err)
    assert "modify-not-accepted" in out and "modify-confirmed" in out
    assert estate.control.call_count("ModifyDBInstance") == 1
    assert accepted_per_step(journal) == {f"{A1}/{US}/{LEGACY}": 1}
    assert describe(estate, LEGACY)["CACertificateIdentifier"] == G1


def test_three_unknown_sends_fail_the_step_and_stop_before_the_next_wave(
    estate: SandboxHandle, fault_proxy: FaultProxy, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(tmp_path, capsys, *TWO_WAVES)
    journal = tmp_path / "j.sqlite"
    before = fleet_state(estate)
    estate.control.reset_calls()
    fault_proxy.add(reset_before("ModifyDBInstance"))  # never reaches AWS, every time
    code = main(["apply", str(plan), "--journal", str(journal), *FAST])
    out, err = capsys.readouterr()
    clean(err)
    assert code == 1, out + err
    assert "stopped before wave 'prod'" in out
    assert fault_proxy.count("ModifyDBInstance", forwarded_only=False) == 3
    j = Journal(journal)
    run_id = last_run(journal)
    assert j.run(run_id).status == "failed"
    assert {s.ident: s.status for s in j.steps(run_id)} == {LEGACY: "failed", "billing-prod-mysql": "pending"}
    assert fleet_state(estate) == before  # nothing changed anywhere
    assert j.leases() == []


def test_a_lost_reply_then_a_failed_instance_stops_before_the_next_wave(
    estate: SandboxHandle, fault_proxy: FaultProxy, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(tmp_path, capsys, *TWO_WAVES)
    journal = tmp_path / "j.sqlite"
    estate.control.config(reboot_seconds=1.5)  # `modifying` lasts 0.5 s: the poll sees it
    estate.control.misbehave(A1, US, LEGACY, "fail")
    estate.control.reset_calls()
    fault_proxy.add(drop_reply("ModifyDBInstance", count=1))
    code = main(["apply", str(plan), "--journal", str(journal), *FAST])
    out, err = capsys.readouterr()
    clean(err)
    assert code == 1, out + err
    assert "modify-confirmed" in out and "stopped before wave 'prod'" in out
    assert estate.control.call_count("ModifyDBInstance") == 1
    assert describe(estate, "billing-prod-mysql")["CACertificateIdentifier"] != G1


def test_a_hung_change_with_a_lost_reply_times_out_and_ends_the_run(
    estate: SandboxHandle, fault_proxy: FaultProxy, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(tmp_path, capsys, *ONE)
    journal = tmp_path / "j.sqlite"
    estate.control.misbehave(A1, US, LEGACY, "hang")
    estate.control.reset_calls()
    fault_proxy.add(drop_reply("ModifyDBInstance", count=1))
    code = main(["apply", str(plan), "--journal", str(journal), "--step-timeout", "1", *FAST])
    out, err = capsys.readouterr()
    clean(err)
    assert code == 1 and "timed out" in out, out + err
    assert estate.control.call_count("ModifyDBInstance") == 1
    assert Journal(journal).run(last_run(journal)).status == "failed"
    estate.control.misbehave(A1, US, LEGACY, None)


def test_apply_delay_with_a_lost_reply_is_not_concluded_not_accepted(
    estate: SandboxHandle, fault_proxy: FaultProxy, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The instance stays `available` for 1 s after AWS took the change (20 polls): the pending CA
    is the evidence, not the status."""
    plan = make_plan(tmp_path, capsys, *ONE)
    journal = tmp_path / "j.sqlite"
    estate.control.config(apply_delay_seconds=1.0)
    estate.control.reset_calls()
    fault_proxy.add(drop_reply("ModifyDBInstance", count=1))
    code = main(["apply", str(plan), "--journal", str(journal), *FAST])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "modify-confirmed" in out and "modify-not-accepted" not in out
    assert estate.control.call_count("ModifyDBInstance") == 1


def test_when_window_with_a_lost_reply_is_scheduled_with_one_write(
    estate: SandboxHandle, fault_proxy: FaultProxy, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(tmp_path, capsys, *ONE, "--when", "window")
    journal = tmp_path / "j.sqlite"
    estate.control.reset_calls()
    fault_proxy.add(drop_reply("ModifyDBInstance", count=1))
    code = main(["apply", str(plan), "--journal", str(journal), *FAST])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert [s.status for s in Journal(journal).steps(last_run(journal))] == ["scheduled"]
    assert estate.control.call_count("ModifyDBInstance") == 1
    assert describe(estate, LEGACY)["PendingModifiedValues"]["CACertificateIdentifier"] == G1


def test_a_maintenance_action_with_a_lost_reply_is_applied_once(
    estate: SandboxHandle, fault_proxy: FaultProxy, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(
        tmp_path, capsys, "--region", EU, "--via-maintenance-action", "--id", "crm-staging-mariadb"
    )
    journal = tmp_path / "j.sqlite"
    estate.control.reset_calls()
    fault_proxy.add(drop_reply("ApplyPendingMaintenanceAction", count=1))
    code = main(["apply", str(plan), "--journal", str(journal), *FAST])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "modify-outcome-unknown" in out
    assert writes(estate) == 1
    assert describe(estate, "crm-staging-mariadb", EU)["CACertificateIdentifier"] == G1


WINDOW_ACTION = (
    "--region",
    EU,
    "--via-maintenance-action",
    "--id",
    "crm-staging-mariadb",
    "--when",
    "window",
)


def test_a_maintenance_action_in_the_window_is_refused_before_any_call(
    estate: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Was: the window opt-in is invisible on the instance, so rdsca could neither verify nor
    de-duplicate it (a lost reply was sent twice). Now the combination is refused, at plan time and
    in a plan file."""
    estate.control.reset_calls()
    code = main(["plan", "--to", G1, "-o", str(tmp_path / "plan.json"), *WINDOW_ACTION])
    _, err = capsys.readouterr()
    assert code == 2 and "--via-maintenance-action with --when window" in err, err
    assert writes(estate) == 0


def test_a_confirm_by_someone_elses_reboot_can_still_be_completed(
    estate: SandboxHandle,
    fault_proxy: FaultProxy,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan = make_plan(tmp_path, capsys, *ONE)
    journal = tmp_path / "j.sqlite"
    estate.control.config(reboot_seconds=1.0)
    estate.control.reset_calls()
    fault_proxy.add(reset_before("ModifyDBInstance", count=1))  # never reaches AWS
    reboot = lambda: estate.client("rds", US, account=A1).reboot_db_instance(DBInstanceIdentifier=LEGACY)  # noqa: E731
    on_event(monkeypatch, once("modify-outcome-unknown", reboot))
    code = main(["apply", str(plan), "--journal", str(journal), "--step-timeout", "3", *FAST])
    out, err = capsys.readouterr()
    clean(err)
    assert "modify-confirmed" in out
    # The reboot ended with the instance on its old CA and nothing pending: the confirmation was
    # provisional, so the apply read again, concluded "not accepted" and sent the change once.
    assert "modify-not-accepted" in out
    run_id = last_run(journal)
    if code != 0:  # the apply gave up: a resume must be able to finish the change
        code = main(["resume", run_id, "--journal", str(journal), "--step-timeout", "3", *FAST])
        out, err = capsys.readouterr()
    assert code == 0, out + err
    assert describe(estate, LEGACY)["CACertificateIdentifier"] == G1
    assert estate.control.call_count("ModifyDBInstance") == 1


# -- signals, crashes and a second process --------------------------------------------------------


def test_sigterm_while_the_writes_are_in_flight(
    estate: SandboxHandle, fault_proxy: FaultProxy, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """SIGTERM lands while the send pool waits for three slow ModifyDBInstance replies (AWS took them)."""
    plan = make_plan(tmp_path, capsys, *THREE)
    journal = tmp_path / "j.sqlite"
    estate.control.reset_calls()
    fault_proxy.add(delay_reply(2.0, "ModifyDBInstance"))
    proc = subprocess.Popen(
        [*RDSCA, "apply", str(plan), "--journal", str(journal), "--write-timeout", "10", *FAST],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    run_id = wait_for(journal, "modify-sending", count=3)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    code, out, err = finish(proc, 15)
    assert code == 143, out + err
    clean(err)
    assert f"rdsca resume {run_id}" in err
    j = Journal(journal)
    assert j.run(run_id).status == "interrupted" and j.leases() == []
    fault_proxy.clear()
    assert main(["resume", run_id, "--journal", str(journal), *FAST]) == 0, capsys.readouterr()
    assert {s.status for s in j.steps(run_id)} == {"verified"}
    assert set(accepted_per_step(journal, run_id).values()) == {1}
    assert estate.control.call_count("ModifyDBInstance") == 3


def test_sigkill_during_a_resend_then_resume_is_one_write(
    estate: SandboxHandle, fault_proxy: FaultProxy, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(tmp_path, capsys, *ONE)
    journal = tmp_path / "j.sqlite"
    estate.control.reset_calls()
    fault_proxy.add(reset_before("ModifyDBInstance", count=1))
    # Killed between AWS's acceptance of the resend and its record in the journal.
    proc = subprocess.run(
        [*crash.COMMAND, "modify-sent:1", "apply", str(plan), "--journal", str(journal), *FAST],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    run_id = last_run(journal)
    assert Journal(journal).step_events(run_id)[f"{A1}/{US}/{LEGACY}"][-2:] == [
        "modify-not-accepted",
        "modify-sending",
    ]
    fault_proxy.clear()
    code = main(["resume", run_id, "--journal", str(journal), *FAST])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "took over" in err and "process ended" in err
    assert "modify-assumed-accepted" in out
    assert estate.control.call_count("ModifyDBInstance") == 1
    assert accepted_per_step(journal) == {f"{A1}/{US}/{LEGACY}": 1}


def test_two_resumes_at_once_after_a_sigkill(
    estate: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Both see a dead holder; the claim is one BEGIN IMMEDIATE transaction: one takes over."""
    plan = make_plan(tmp_path, capsys, *THREE)
    journal = tmp_path / "j.sqlite"
    estate.control.reset_calls()
    proc = subprocess.run(
        [*crash.COMMAND, "modify-sending:2", "apply", str(plan), "--journal", str(journal), *FAST],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    run_id = last_run(journal)
    # Long enough that the first resume still holds the run when the second has started (at 1 s a
    # loaded machine once let the first finish before the second claimed).
    estate.control.config(reboot_seconds=3.0)
    resumes = [
        subprocess.Popen([*RDSCA, "resume", run_id, "--journal", str(journal), *FAST],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]  # fmt: skip
    results = [finish(p, 30) for p in resumes]
    assert sorted(code or 0 for code, _, _ in results) == [0, 2], results
    refused = next(err for code, _, err in results if code == 2)
    assert f"run {run_id} is held by `rdsca resume`" in refused
    j = Journal(journal)
    assert {s.status for s in j.steps(run_id)} == {"verified"}
    assert set(accepted_per_step(journal, run_id).values()) == {1}
    assert estate.control.call_count("ModifyDBInstance") == 3
    assert j.leases() == []


def test_a_journal_held_by_a_stopped_process_is_one_line_and_sends_nothing(
    estate: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An apply stopped with Ctrl-Z inside a journal transaction holds sqlite's write lock: the next
    command on that journal waits the busy timeout, then says what holds it (it said only
    "database is locked")."""
    plan = make_plan(tmp_path, capsys, *ONE)
    journal = tmp_path / "j.sqlite"
    Journal(journal).close()
    monkeypatch.setattr(journal_mod, "BUSY_SECONDS", 0.5)
    estate.control.reset_calls()
    holder = sqlite3.connect(journal, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        code = main(["apply", str(plan), "--journal", str(journal), *FAST])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1, err
    assert f"cannot write the journal {journal}: another process kept it locked" in err
    assert "Ctrl-Z" in err and "Traceback" not in err
    assert sum(estate.control.call_count(w) for w in WRITES) == 0
    assert Journal(journal).runs() == []


def test_take_over_does_not_take_a_live_holder(
    estate: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(tmp_path, capsys, "--region", EU, "--id", "analytics-dev-pg")
    journal = tmp_path / "j.sqlite"
    estate.control.reset_calls()
    # The apply holds its lease until the test lets it go (a 10 s modify once ended first on a loaded
    # machine, and resume then found nothing to do).
    gate = Gate(tmp_path)
    cmd = [*RDSCA, "apply", str(plan), "--journal", str(journal), *FAST, "--after-step", gate.hook]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run_id = wait_for(journal, "modify-accepted")
    gate.wait_held(proc)
    try:
        for command in (["resume", run_id], ["rollback", run_id]):
            code = main([*command, "--journal", str(journal), "--take-over", *FAST])
            _, err = capsys.readouterr()
            assert code == 2 and "is held by `rdsca apply`" in err, err
        # A second apply of the same plan with --take-over: refused (drift or lease), nothing sent.
        code = main(["apply", str(plan), "--journal", str(journal), "--take-over", *FAST])
        assert code == 2, capsys.readouterr()
    finally:
        gate.release()
    code, out, err = finish(proc, 30)
    assert code == 0, out + err
    assert estate.control.call_count("ModifyDBInstance") == 1
    assert len(Journal(journal).runs()) == 1
    assert describe(estate, "analytics-dev-pg", EU)["CACertificateIdentifier"] == G1


def test_a_dead_holder_with_a_clock_ahead_can_be_taken_over(
    estate: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(tmp_path, capsys, *ONE)
    journal = tmp_path / "j.sqlite"
    subprocess.run(
        [*crash.COMMAND, "modify-accepted:1", "apply", str(plan), "--journal", str(journal), *FAST],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    run_id = last_run(journal)
    future = "2099-01-01T00:00:00.000+00:00"
    with sqlite3.connect(journal) as db:  # the holder ran on another machine, whose clock was ahead
        db.execute("UPDATE leases SET host='other-host', pid=4242, heartbeat_at=?", (future,))
    code = main(["resume", run_id, "--journal", str(journal), "--take-over", *FAST])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "took over run" in err and "in the future: clocks disagree" in err, err
    assert "s ago" not in err.split("took over run")[1].split("\n")[0], err  # no negative age


def test_a_holder_that_lost_its_lease_sends_nothing_more(
    estate: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(tmp_path, capsys, *ONE)
    journal = tmp_path / "j.sqlite"
    estate.control.reset_calls()
    # The first apply is stopped (SIGSTOP: a suspended VM or laptop) right after "modify-sending".
    first = subprocess.Popen(
        [sys.executable, "-c", HOOK, "modify-sending", "1", "SIGSTOP",
         "apply", str(plan), "--journal", str(journal), *FAST],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        run_id = wait_for(journal, "modify-sending")
        deadline = time.monotonic() + 10
        while not stopped(first.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert stopped(first.pid)
        with sqlite3.connect(journal) as db:  # stopped past the lease's TTL
            db.execute("UPDATE leases SET heartbeat_at='2020-01-01T00:00:00.000+00:00'")
        # Its process still exists on this host: even --take-over is refused (stop it first).
        code = main(["resume", run_id, "--journal", str(journal), "--take-over", *FAST])
        _, err = capsys.readouterr()
        assert code == 2 and f"pid {first.pid}" in err, err
        # Another machine takes the run over (its own resume, on a shared journal).
        with sqlite3.connect(journal) as db:
            db.execute("UPDATE leases SET holder='other', host='other-host', pid=4242, "
                       "heartbeat_at='2099-01-01T00:00:00.000+00:00'")  # fmt: skip
    finally:
        first.send_signal(signal.SIGCONT)
    code, out, err = finish(first, 20)
    # Woken up, the first process finds it lost the run: it sends nothing and says why.
    assert code == 1 and "was taken over by pid 4242 on other-host" in err, out + err
    assert estate.control.call_count("ModifyDBInstance") == 0


# -- rollback and the journal ---------------------------------------------------------------------


def test_rollback_after_outcome_unknown_steps(
    estate: SandboxHandle, fault_proxy: FaultProxy, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A change confirmed after a lost reply is rolled back; the rollback's own lost reply too."""
    plan = make_plan(tmp_path, capsys, "--region", EU, "--id", "analytics-dev-pg")
    journal = tmp_path / "j.sqlite"
    estate.control.reset_calls()
    fault_proxy.add(drop_reply("ModifyDBInstance", count=2))
    code = main(["apply", str(plan), "--journal", str(journal), *FAST])
    out, err = capsys.readouterr()
    assert code == 0 and "modify-confirmed" in out, out + err
    run_id = last_run(journal)
    code = main(["rollback", run_id, "--journal", str(journal), *FAST])
    out, err = capsys.readouterr()
    assert code == 0 and "modify-confirmed" in out, out + err
    clean(err)
    assert describe(estate, "analytics-dev-pg", EU)["CACertificateIdentifier"] == ECC
    assert estate.control.call_count("ModifyDBInstance") == 2
    j = Journal(journal)
    assert [s.status for s in j.steps(run_id)] == ["rolled-back"]
    assert set(accepted_per_step(journal, last_run(journal)).values()) == {1}


def test_a_journal_deleted_mid_run_does_not_crash_or_resend(
    estate: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(tmp_path, capsys, *THREE)
    journal = tmp_path / "j.sqlite"
    estate.control.config(reboot_seconds=1.0)
    estate.control.reset_calls()
    proc = subprocess.Popen([*RDSCA, "apply", str(plan), "--journal", str(journal), *FAST],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    wait_for(journal, "modify-accepted")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{journal}{suffix}").unlink(missing_ok=True)
    code, out, err = finish(proc, 30)
    assert code is not None, out + err
    clean(err)
    assert estate.control.call_count("ModifyDBInstance") == 3
