"""Every crash point, every kind of step: SIGKILL `rdsca apply` right after each journalled event, then
`rdsca resume` ends with the instance on the target, verified, and exactly one accepted write.

The kill comes from tests/support/crash.py (the executor's `on_event` callback). Faults that make
the rarer events happen come from the sandbox (misbehaviours, AWS errors) and from the loopback
FaultProxy (a reply lost after AWS accepted the call; a reset before it reached AWS). The last test
checks that every event of `rdsca.rollout.events.Event` is covered here or exempted with a reason:
an event added to the executor without a crash case fails it.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rdsca.cli.app import main
from rdsca.rollout.events import SENT, Event, was_accepted
from rdsca.rollout.journal import Journal
from support import crash
from support.faultproxy import FaultProxy, drop_reply, reset_before
from support.sandbox import SandboxHandle
from test_rollout_multiaz import MAZ, MEMBERS, _create

A1, A2 = "111111111111", "222222222222"
US, EU = "us-east-1", "eu-west-1"
G1, RSA4096 = "rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1"
RENEWING = "web-staging-mysql"
POLL = ("--poll-interval", "0.05", "--yes")
WRITES = ("ModifyDBInstance", "ModifyDBCluster", "ApplyPendingMaintenanceAction")


@dataclass(frozen=True)
class Kind:
    name: str
    plan_args: tuple[str, ...]
    setup: Callable[[SandboxHandle], None] = lambda sb: None
    final: str = "verified"


def _clusters(sb: SandboxHandle) -> None:
    _create(sb.client("rds", US, account=A1), MAZ, "postgres", "13.16", MEMBERS)


KINDS = {
    "modify-instance": Kind("modify-instance", ("--to", G1, "--region", US, "--id", "legacy-dev-mysql57")),
    "modify-cluster": Kind(
        "modify-cluster", ("--to", RSA4096, "--region", US, "--id", "ledger-*"), _clusters
    ),
    "maintenance-action": Kind(
        "maintenance-action",
        ("--to", G1, "--region", EU, "--via-maintenance-action", "--id", "crm-staging-mariadb"),
    ),
    # web-staging-mysql is already on rds-ca-rsa2048-g1 with a pending server-certificate rotation
    # (the reboot RDS would make by itself): the step applies it now, the CA stays.
    "renewal": Kind(
        "renewal",
        ("--to", G1, "--accounts", A1, "--region", US, "--via-maintenance-action", "--id", RENEWING),
        lambda sb: sb.control.config(reboot_seconds=0.6),
    ),
    # queue-staging-mysql is on rds-ca-rsa2048-g1 with a pending change to rds-ca-rsa4096-g1:
    # the step cancels that pending change.
    "cancel-pending": Kind("cancel-pending", ("--to", G1, "--region", EU, "--id", "queue-staging-mysql")),
    # mysql 8.0.28 cannot rotate without a restart: with --restart never AWS records the CA and
    # keeps the old certificate until the next restart; the step ends "awaiting-restart".
    "restart-never": Kind(
        "restart-never",
        ("--to", G1, "--region", US, "--id", "billing-prod-mysql", "--restart", "never"),
        final="awaiting-restart",
    ),
    "window": Kind(
        "window",
        ("--to", G1, "--region", US, "--id", "legacy-dev-mysql57", "--when", "window"),
        final="scheduled",
    ),
}
HAPPY = (Event.SENDING, SENT, Event.ACCEPTED, Event.STATUS_SEEN, Event.VERIFIED)


@dataclass
class Fault:
    """How to make a rarer event happen in the first (crashing) run."""

    sandbox: Callable[[SandboxHandle], None] = lambda sb: None
    proxy: Callable[[FaultProxy], None] = lambda p: None
    during_run: Callable[[SandboxHandle], None] | None = None  # once the run is in the journal
    rejected_writes: int = 0  # writes the sandbox counted but answered with an error
    unreached_writes: int = 0  # writes the proxy never forwarded
    extra: tuple[str, ...] = field(default_factory=tuple)


def _slow_reads(sb: SandboxHandle) -> None:
    # Every describe waits 1 s at the sandbox before moto reads the state: the reboot below lands
    # after apply's drift check (which would refuse a busy instance) and before the wave's read.
    sb.control.latency(1.0, action="DescribeDBInstances")
    sb.control.config(reboot_seconds=2.0)


def _reboot(sb: SandboxHandle) -> None:
    sb.client("rds", US, account=A1).reboot_db_instance(DBInstanceIdentifier="legacy-dev-mysql57")


FAULTS: dict[str, Fault] = {
    Event.OUTCOME_UNKNOWN: Fault(proxy=lambda p: p.add(drop_reply("ModifyDBInstance", count=1))),
    Event.CONFIRMED: Fault(proxy=lambda p: p.add(drop_reply("ModifyDBInstance", count=1))),
    Event.NOT_ACCEPTED: Fault(proxy=lambda p: p.add(reset_before("ModifyDBInstance", count=1))),
    Event.INSTANCE_BUSY: Fault(sandbox=_slow_reads, during_run=_reboot),
    Event.REJECTED: Fault(
        sandbox=lambda sb: sb.control.misbehave(A1, US, "legacy-dev-mysql57", "reject"), rejected_writes=1
    ),
    Event.FAILED: Fault(sandbox=lambda sb: sb.control.misbehave(A1, US, "legacy-dev-mysql57", "fail")),
}
# Events with no crash case here, and why.
EXEMPT = {
    Event.PLANNED: "written in the transaction that creates the run: there is no point between them",
    Event.ROLLED_BACK: "written on the parent run by `rdsca rollback` after its own run ended",
    Event.APPLIED_IN_WINDOW: "written by `rdsca show` on a scheduled step, outside any run",
    Event.RESTART_SEEN: "written by `rdsca show` on an awaiting-restart step, outside any run",
    Event.INTERRUPTED: "written on Ctrl-C/SIGTERM/SIGHUP: test_signals_mark_the_run_interrupted",
    Event.SKIPPED: "a step whose dependency failed: never sent; resume decides it afresh",
    Event.TIMED_OUT: "the step failed after its timeout; resume decides it afresh (as after FAILED)",
    Event.ASSUMED_ACCEPTED: "written by resume itself (after a crash at modify-sending/modify-sent)",
    Event.RESUMED: "written by resume itself (after a crash at modify-accepted)",
    Event.HOOK_RAN: "only with --before/after-step/wave hooks: before a step it comes before modify-sending "
    "(resume decides the step afresh, runs the hook again, sends once: tests/test_hooks.py, "
    "test_a_crash_right_after_the_before_step_hook_then_resume_sends_once); after, the step has ended",
    Event.HOOK_FAILED: "a step failed by its before hook, never sent (resume decides it afresh, as after "
    "FAILED); after a step or wave, the step has already ended",
    Event.DOWNTIME: "journalled after the step's final status: a crash there leaves an ended step",
}

NEVER = {  # (kind, event) that does not happen on the kind's path
    ("window", Event.STATUS_SEEN): "a window change is scheduled, not watched",
    ("window", Event.VERIFIED): "verified at the window, later",
    ("restart-never", Event.VERIFIED): "verified after the user's restart, by `rdsca show`",
    ("cancel-pending", Event.STATUS_SEEN): "the cancel is verified at the first read after it",
}
CASES = [(k, e) for k in KINDS for e in HAPPY if (k, e) not in NEVER]
CASES += [("window", Event.SCHEDULED), ("restart-never", Event.AWAITING_RESTART)]
CASES += [("modify-instance", e) for e in FAULTS]


def _writes(sb: SandboxHandle) -> int:
    return sum(sb.control.call_count(a) for a in WRITES)


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "event"), CASES, ids=[f"{k}-at-{e}" for k, e in CASES])
def test_sigkill_at_every_event_then_resume(
    estate: SandboxHandle,
    fault_proxy: FaultProxy,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    kind: str,
    event: str,
) -> None:
    spec, fault = KINDS[kind], FAULTS.get(event, Fault())
    spec.setup(estate)
    plan, journal = tmp_path / "plan.json", tmp_path / "j.sqlite"
    assert main(["plan", *spec.plan_args, "-o", str(plan)]) == 0, capsys.readouterr()
    capsys.readouterr()
    estate.control.reset_calls()
    if event == Event.STATUS_SEEN:  # a change slower than a poll, so that a status is always seen
        estate.control.config(modify_seconds=0.6)
    fault.sandbox(estate)
    fault.proxy(fault_proxy)
    args = [*crash.COMMAND, f"{event}:1", "apply", str(plan), "--journal", str(journal), *POLL]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if fault.during_run is not None:
        deadline = time.monotonic() + 30
        while not (journal.exists() and Journal(journal).runs()) and time.monotonic() < deadline:
            time.sleep(0.01)
        fault.during_run(estate)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, f"{event} never happened for {kind}: {stdout}{stderr}"
    j = Journal(journal)
    run_id = j.runs()[-1].id
    assert j.run(run_id).status == "running"
    fault_proxy.clear()

    code = main(["resume", run_id, "--journal", str(journal), *POLL])
    out, err = capsys.readouterr()
    history = j.step_events(run_id)
    if event == Event.FAILED:  # the change was accepted once; the instance failed: never resent
        assert code == 1, out + err
        assert all(sum(was_accepted([e]) for e in h) == 1 for h in history.values())
        assert _writes(estate) == 1
        return
    assert code == 0, out + err
    steps = j.steps(run_id)
    assert steps and {s.status for s in steps} == {spec.final}, out + err
    for s in steps:
        accepted = [e for e in history[s.key] if was_accepted([e])]
        assert len(accepted) == 1, (s.key, history[s.key])
    # At the sandbox: one accepted write per step, across the crash and the resume.
    assert _writes(estate) - fault.rejected_writes == len(steps), (out, history)
    if kind == "cancel-pending":
        raw = estate.client("rds", EU, account=A2).describe_db_instances(
            DBInstanceIdentifier="queue-staging-mysql"
        )
        assert not raw["DBInstances"][0]["PendingModifiedValues"].get("CACertificateIdentifier")


def test_every_event_has_a_crash_case_or_a_reason() -> None:
    covered = {e for _, e in CASES}
    missing = [e for e in Event if e not in covered and e not in EXEMPT]
    assert not missing, f"events without a crash case: {missing} (add one to CASES, or a reason to EXEMPT)"
