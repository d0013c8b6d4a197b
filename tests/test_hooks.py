"""`--before-step`, `--after-step`, `--before-wave`, `--after-wave` through the real CLI against the
sandbox: what a hook is told, a failing before-step hook that stops its step with nothing sent (and
the run before the next wave), wave hooks once per wave, an after hook's failure that leaves the
change done, a timeout that kills the hook, and a crash right after a hook then `rdsca resume`."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest

from rdsca.rollout.events import Event
from rdsca.rollout.journal import Journal
from support import crash
from support.cli import run
from support.sandbox import SandboxHandle

A1, A2 = "111111111111", "222222222222"
US = "us-east-1"
G1 = "rds-ca-rsa2048-g1"
FAST = ("--poll-interval", "0.05", "--yes", "--no-measure-downtime")
LEGACY = f"{A1}/{US}/legacy-dev-mysql57"  # dev, mysql 5.7.44, rds-ca-2019: restarts
SESSIONS = f"{A1}/{US}/sessions-dev-mariadb"  # dev, rds-ca-rsa4096-g1
SHOP = f"{A2}/{US}/shop-staging-mysql"  # staging, rds-ca-2019
WAVES = ("--wave-tag", "env", "--wave-order", "dev,staging")


def make_plan(capsys: pytest.CaptureFixture[str], tmp_path: Path, *ids: str) -> Path:
    path = tmp_path / "plan.json"
    id_args = [a for i in ids for a in ("--id", i.rsplit("/", 1)[-1])]
    code, out, err = run(capsys, "plan", "--to", G1, "--region", US, *WAVES, *id_args, "-o", str(path))
    assert code == 0, out + err
    return path


def run_id_of(out: str) -> str:
    return next(line.split()[1] for line in out.splitlines() if line.startswith("run "))


def dump_env(directory: Path) -> str:
    """A hook that writes its whole environment to DIR/<phase>-<instance or wave>."""
    name = '"$RDSCA_PHASE-${RDSCA_INSTANCE:-$RDSCA_WAVE}"'
    return f"env > {shlex.quote(str(directory))}/{name}"


def read_env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def test_hooks_get_the_run_wave_step_instance_endpoint_and_cas(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(capsys, tmp_path, LEGACY)
    seen = tmp_path / "seen"
    seen.mkdir()
    hook = dump_env(seen)
    journal = tmp_path / "j.sqlite"
    code, out, err = run(capsys, "apply", str(plan), "--journal", str(journal), *FAST,
                         "--before-step", hook, "--after-step", hook, "--before-wave", hook,
                         "--after-wave", hook)  # fmt: skip
    assert code == 0, out + err
    run_id = run_id_of(out)
    port = next(e["port"] for e in demo.control.endpoints() if e["instance_id"] == "legacy-dev-mysql57")
    assert sorted(p.name for p in seen.iterdir()) == [
        "after-step-legacy-dev-mysql57", "after-wave-dev",
        "before-step-legacy-dev-mysql57", "before-wave-dev",
    ]  # fmt: skip
    before = read_env(seen / "before-step-legacy-dev-mysql57")
    assert {k: v for k, v in before.items() if k.startswith("RDSCA_") and k != "RDSCA_JOURNAL"} == {
        "RDSCA_RUN": run_id, "RDSCA_WAVE": "dev", "RDSCA_PHASE": "before-step", "RDSCA_STEP": LEGACY,
        "RDSCA_INSTANCE": "legacy-dev-mysql57", "RDSCA_ENDPOINT": f"localhost:{port}",
        "RDSCA_FROM_CA": "rds-ca-2019", "RDSCA_TO_CA": G1, "RDSCA_STATUS": "",
        **{k: v for k, v in os.environ.items() if k.startswith("RDSCA_") and k != "RDSCA_JOURNAL"},
    }  # fmt: skip
    assert read_env(seen / "after-step-legacy-dev-mysql57")["RDSCA_STATUS"] == "verified"
    wave = read_env(seen / "before-wave-dev")
    assert (wave["RDSCA_RUN"], wave["RDSCA_WAVE"], wave["RDSCA_STEP"], wave["RDSCA_ENDPOINT"]) == (
        run_id,
        "dev",
        "",
        "",
    )
    # The parent's environment and the RDSCA_* variables: nothing else (no credential of our own).
    parent = set(os.environ) | {"PWD", "SHLVL", "_", "OLDPWD"}
    assert set(before) - parent <= {k for k in before if k.startswith("RDSCA_")}
    # Journalled: before-step before the send, after-step after the verify.
    events = [e.event for e in Journal(journal).events(run_id, LEGACY)]
    ran = [i for i, e in enumerate(events) if e == Event.HOOK_RAN]
    assert events.index(Event.HOOK_RAN) < events.index(Event.SENDING)
    assert ran[-1] > events.index(Event.VERIFIED)
    assert len(ran) == 4  # before-wave, before-step, after-step, after-wave


def test_a_failing_before_step_hook_stops_the_step_unsent_and_the_run_before_the_next_wave(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(capsys, tmp_path, LEGACY, SESSIONS, SHOP)
    gate = (
        '[ "$RDSCA_INSTANCE" != legacy-dev-mysql57 ] || '
        '{ echo "checking writers"; echo "writers still connected to $RDSCA_ENDPOINT" >&2; exit 7; }'
    )
    journal = tmp_path / "j.sqlite"
    code, out, err = run(capsys, "apply", str(plan), "--journal", str(journal), *FAST, "--before-step", gate)
    assert code == 1, out + err
    assert "stopped before wave 'staging'" in out
    run_id = run_id_of(out)
    steps = {s.key: s for s in Journal(journal).steps(run_id)}
    legacy = steps[LEGACY]
    assert legacy.status == "failed"
    assert legacy.reason is not None and legacy.reason.startswith("before-step hook exited 7: writers still")
    failed = [e for e in Journal(journal).events(run_id, LEGACY) if e.event == Event.HOOK_FAILED]
    assert len(failed) == 1 and failed[0].detail["exit_code"] == 7
    assert Event.SENDING not in [e.event for e in Journal(journal).events(run_id, LEGACY)]
    # The other dev step went ahead; the staging wave never started.
    assert steps[SESSIONS].status == "verified"
    assert steps[SHOP].status == "pending"
    assert demo.control.call_count("ModifyDBInstance") == 1  # sessions-dev-mariadb only
    rds = demo.client("rds", US, account=A1)
    db = rds.describe_db_instances(DBInstanceIdentifier="legacy-dev-mysql57")["DBInstances"][0]
    assert db["CACertificateIdentifier"] == "rds-ca-2019" and db["DBInstanceStatus"] == "available"


def test_a_before_step_hook_that_hangs_is_killed_at_its_timeout_and_nothing_is_sent(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(capsys, tmp_path, LEGACY)
    pidfile = tmp_path / "pid"
    hang = f"sleep 60 & echo $! > {shlex.quote(str(pidfile))}; wait"
    started = time.monotonic()
    code, out, err = run(capsys, "apply", str(plan), "--journal", str(tmp_path / "j.sqlite"), *FAST,
                         "--before-step", hang, "--hook-timeout", "0.5")  # fmt: skip
    assert code == 1, out + err
    assert time.monotonic() - started < 20
    assert "before-step hook timed out after" in out
    assert demo.control.call_count("ModifyDBInstance") == 0
    child = int(pidfile.read_text())  # the hook's own child was killed with it (its process group)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie waiting for its reaper is gone
        return stat.read().split()[2] != "Z"


def test_wave_hooks_run_once_per_wave_and_a_failing_after_hook_leaves_the_change_done(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(capsys, tmp_path, LEGACY, SESSIONS, SHOP)
    log = tmp_path / "waves.log"
    append = f'echo "$RDSCA_PHASE $RDSCA_WAVE" >> {shlex.quote(str(log))}'
    journal = tmp_path / "j.sqlite"
    code, out, err = run(capsys, "apply", str(plan), "--journal", str(journal), *FAST,
                         "--before-wave", append, "--after-wave", append,
                         "--after-step", "echo 'traffic not restored' >&2; exit 3")  # fmt: skip
    assert code == 0, out + err
    assert log.read_text().splitlines() == [
        "before-wave dev",
        "after-wave dev",
        "before-wave staging",
        "after-wave staging",
    ]
    run_id = run_id_of(out)
    j = Journal(journal)
    assert {s.status for s in j.steps(run_id)} == {"verified"}
    for key in (LEGACY, SESSIONS, SHOP):
        failed = [e for e in j.events(run_id, key) if e.event == Event.HOOK_FAILED]
        assert [(e.detail["phase"], e.detail["exit_code"], e.detail["stderr"]) for e in failed] == [
            ("after-step", 3, "traffic not restored")
        ]
    assert "hook-failed" in out and "after-step hook exited 3: traffic not restored" in out
    assert demo.control.call_count("ModifyDBInstance") == 3


def test_a_failing_before_wave_hook_fails_the_wave_unsent(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(capsys, tmp_path, LEGACY, SESSIONS, SHOP)
    journal = tmp_path / "j.sqlite"
    log = tmp_path / "after.log"
    code, out, err = run(capsys, "apply", str(plan), "--journal", str(journal), *FAST,
                         "--before-wave", '[ "$RDSCA_WAVE" != dev ] || exit 4',
                         "--after-wave", f"echo $RDSCA_WAVE >> {shlex.quote(str(log))}")  # fmt: skip
    assert code == 1, out + err
    steps = {s.key: s for s in Journal(journal).steps(run_id_of(out))}
    assert steps[LEGACY].status == steps[SESSIONS].status == "failed"
    assert steps[LEGACY].reason == "before-wave hook exited 4"
    assert steps[SHOP].status == "pending"
    assert log.read_text().splitlines() == ["dev"]  # the wave was entered: its after hook ran
    assert demo.control.call_count("ModifyDBInstance") == 0


def test_hook_output_never_reaches_the_journal_with_a_secret(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rdsca import redaction

    secret = "hookSecretAlpha/Beta+Gamma"
    redaction.register_secret(secret)  # what the CLI does for AWS_SECRET_ACCESS_KEY and the like
    monkeypatch.setenv("APP_TOKEN", secret)
    plan = make_plan(capsys, tmp_path, LEGACY)
    journal = tmp_path / "j.sqlite"
    code, out, err = run(capsys, "apply", str(plan), "--journal", str(journal), *FAST,
                         "--before-step", 'echo "token $APP_TOKEN" >&2; exit 1')  # fmt: skip
    assert code == 1
    assert secret not in out + err
    text = b"".join(p.read_bytes() for p in tmp_path.glob("j.sqlite*"))
    assert secret.encode() not in text
    assert b"token ***" in text


def test_a_crash_right_after_the_before_step_hook_then_resume_sends_once(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(capsys, tmp_path, LEGACY)
    journal, log = tmp_path / "j.sqlite", tmp_path / "hooks.log"
    hook = f'echo "$RDSCA_PHASE" >> {shlex.quote(str(log))}'
    args = [*crash.COMMAND, f"{Event.HOOK_RAN}:1", "apply", str(plan), "--journal", str(journal), *FAST,
            "--before-step", hook, "--after-step", hook]  # fmt: skip
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    assert demo.control.call_count("ModifyDBInstance") == 0
    run_id = Journal(journal).runs()[-1].id
    code, out, err = run(capsys, "resume", run_id, "--journal", str(journal), *FAST,
                         "--before-step", hook, "--after-step", hook)  # fmt: skip
    assert code == 0, out + err
    assert demo.control.call_count("ModifyDBInstance") == 1
    assert log.read_text().splitlines() == ["before-step", "before-step", "after-step"]


@pytest.mark.parametrize("option", ["--before-step", "--after-step", "--before-wave", "--after-wave"])
def test_an_empty_hook_command_is_refused_not_ignored(
    option: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from rdsca.cli.app import main

    code = main(["apply", str(tmp_path / "plan.json"), option, "  "])
    _, err = capsys.readouterr()
    assert code == 2 and "empty command" in err, err
