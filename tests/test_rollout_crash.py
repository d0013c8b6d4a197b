"""Crash safety: SIGKILL `rdsca apply` at several points, then `rdsca resume` finishes the run.

The kill comes from tests/support/crash.py, which injects the executor's `on_event` callback (a
real SIGKILL of the process at a chosen point, not a timing guess). Ctrl-C is a real SIGINT.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rdsca.cli.app import main
from rdsca.rollout.journal import Journal
from support import crash as crash_hook
from support.sandbox import SandboxHandle

RDSCA = [sys.executable, "-c", "from rdsca.cli.app import run; run()"]
US = "us-east-1"
ACCEPTED = ("modify-accepted", "modify-assumed-accepted")


@pytest.fixture
def demo(sandbox_env: SandboxHandle) -> SandboxHandle:
    sandbox_env.control.seed_demo()
    return sandbox_env


def plan_three_waves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "plan.json"
    code = main(["plan", "--to", "rds-ca-rsa2048-g1", "--region", US, "--wave-tag", "env",
                 "--wave-order", "dev,staging,prod", "--max-parallel", "2", "-o", str(path),
                 "--id", "legacy-*", "--id", "shop-*", "--id", "orders-*"])  # fmt: skip
    capsys.readouterr()
    assert code == 0
    return path


def apply_subprocess(plan: Path, journal: Path, crash_at: str | None = None) -> subprocess.Popen[str]:
    args = [
        *([*crash_hook.COMMAND, crash_at] if crash_at else RDSCA),
        "apply",
        str(plan),
        "--region",
        US,
        "--journal",
        str(journal),
        "--yes",
        "--poll-interval",
        "0.05",
    ]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("crash", ["modify-sending:2", "modify-sent:3", "modify-accepted:4", "verified:6"])
def test_sigkill_then_resume_finishes_without_a_second_modify(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path, crash: str
) -> None:
    plan = plan_three_waves(tmp_path, capsys)
    journal = tmp_path / "j.sqlite"
    demo.control.reset_calls()
    proc = apply_subprocess(plan, journal, crash)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    j = Journal(journal)
    run_id = j.runs()[-1].id
    assert j.run(run_id).status == "running"  # the crash left the run open, as it was

    code = main(
        ["resume", run_id, "--region", US, "--journal", str(journal), "--yes", "--poll-interval", "0.05"]
    )
    out, err = capsys.readouterr()
    assert code == 0, out + err
    steps = j.steps(run_id)
    assert steps and all(s.status == "verified" for s in steps)
    history = j.step_events(run_id)
    for s in steps:
        accepted = [e for e in history[s.key] if e in ACCEPTED]
        assert len(accepted) == 1, (s.key, history[s.key])
    # At the sandbox: one ModifyDBInstance per step in all, across the crash and the resume.
    assert demo.control.call_count("ModifyDBInstance") == len(steps)
    for s in steps:
        raw = demo.client("rds", s.region, account=s.account).describe_db_instances(
            DBInstanceIdentifier=s.ident
        )
        assert raw["DBInstances"][0]["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"

    code = main(["show", run_id, "--journal", str(journal), "--events", "--no-check"])
    out, _ = capsys.readouterr()
    assert code == 0 and f"run {run_id} (apply): done" in out
    assert "run-resumed" in out
    if crash.startswith("modify-sent"):
        assert "modify-assumed-accepted" in out  # the change AWS took but the journal never heard of


def test_ctrl_c_marks_running_steps_interrupted_and_resume_continues(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    demo.control.config(reboot_seconds=3.0)
    plan = plan_three_waves(tmp_path, capsys)
    journal = tmp_path / "j.sqlite"
    proc = apply_subprocess(plan, journal)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if journal.exists():
            runs = Journal(journal).runs()
            if runs and any(e.event == "modify-accepted" for e in Journal(journal).events(runs[-1].id)):
                break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err and "unexpected" not in err, err  # was in the message: never checked
    assert "rdsca resume" in err, err
    j = Journal(journal)
    run_id = j.runs()[-1].id
    assert j.run(run_id).status == "interrupted", out + err
    assert "interrupted" in {s.status for s in j.steps(run_id)}, out + err

    demo.control.config(reboot_seconds=0.3)
    code = main(
        ["resume", run_id, "--region", US, "--journal", str(journal), "--yes", "--poll-interval", "0.05"]
    )
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert all(s.status == "verified" for s in j.steps(run_id))
    history = j.step_events(run_id)
    assert all(sum(e in ACCEPTED for e in evs) == 1 for evs in history.values())
