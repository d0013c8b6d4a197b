"""The downtime each instance really had, measured by probing its endpoint during the step, through
the real CLI against the sandbox, whose TLS endpoints close every connection while an instance is
`rebooting`: about the sandbox's reboot time for an instance whose CA change restarts it, none for
one that rotates without a restart; journalled, shown by `rdsca show` and in the HTML report."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from rdsca.rollout.downtime import Target, Watch, Watches
from rdsca.rollout.events import Event
from rdsca.rollout.journal import Journal
from support.cli import run
from support.sandbox import SandboxHandle

A1 = "111111111111"
US, EU = "us-east-1", "eu-west-1"
G1 = "rds-ca-rsa2048-g1"
FAST = ("--poll-interval", "0.05", "--yes", "--downtime-interval", "0.1")
RESTARTS = f"{A1}/{US}/legacy-dev-mysql57"  # mysql 5.7.44: the CA change restarts it
NO_RESTART = f"{A1}/{EU}/analytics-dev-pg"  # postgres 16.4: rotates without a restart
MODIFYING, REBOOTING = 0.5, 2.0  # seconds the sandbox spends in each phase of a restarting change


@pytest.fixture
def demo(sandbox_env: SandboxHandle) -> SandboxHandle:
    sandbox_env.control.seed_demo()
    sandbox_env.control.config(reboot_seconds=MODIFYING + REBOOTING, modify_seconds=MODIFYING)
    sandbox_env.control.reset_calls()
    return sandbox_env


def apply(capsys: pytest.CaptureFixture[str], tmp_path: Path, *extra: str) -> tuple[Path, str]:
    plan, journal = tmp_path / "plan.json", tmp_path / "j.sqlite"
    ids = ("--id", "legacy-dev-mysql57", "--id", "analytics-dev-pg")
    code, out, err = run(capsys, "plan", "--to", G1, *ids, "-o", str(plan))
    assert code == 0, out + err
    code, out, err = run(capsys, "apply", str(plan), "--journal", str(journal), *FAST, *extra)
    assert code == 0, out + err
    return journal, next(line.split()[1] for line in out.splitlines() if line.startswith("run "))


def downtime(journal: Path, run_id: str, key: str) -> dict[str, object]:
    found = [e.detail for e in Journal(journal).events(run_id, key) if e.event == Event.DOWNTIME]
    assert len(found) == 1, found
    return found[0]


def test_downtime_of_a_restart_is_the_sandbox_reboot_and_none_without_restart(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    journal, run_id = apply(capsys, tmp_path)
    ports = {e["instance_id"]: e["port"] for e in demo.control.endpoints()}

    restarted = downtime(journal, run_id, RESTARTS)
    assert restarted["endpoint"] == f"localhost:{ports['legacy-dev-mysql57']}"
    seconds = float(restarted["seconds"])  # type: ignore[arg-type]
    assert abs(seconds - REBOOTING) < 1.0, restarted  # within a second of the sandbox's reboot
    assert restarted["outages"] == 1 and restarted["first_failure"] and restarted["recovered"]
    assert str(restarted["first_failure"]) < str(restarted["recovered"])

    steady = downtime(journal, run_id, NO_RESTART)
    assert steady["endpoint"] == f"localhost:{ports['analytics-dev-pg']}"
    assert steady["seconds"] == 0 and steady["failures"] == 0 and steady["first_failure"] is None
    assert int(steady["probes"]) >= 2  # type: ignore[call-overload]

    # The downtime is journalled once the step has ended, and no probe thread outlives the run.
    events = [e.event for e in Journal(journal).events(run_id, RESTARTS)]
    assert events.index(Event.VERIFIED) < events.index(Event.DOWNTIME)
    assert not [t for t in threading.enumerate() if t.name.startswith("rdsca-downtime")]

    code, out, err = run(capsys, "show", run_id, "--journal", str(journal), "--no-check")
    assert code == 0, out + err
    header = next(line for line in out.splitlines() if line.startswith("STEP"))
    assert "DOWNTIME" in header
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith(A1)}
    assert rows[RESTARTS][header.split().index("DOWNTIME") + 2] == f"{seconds:.1f}s"  # CHANGE has 3 words
    assert rows[NO_RESTART][header.split().index("DOWNTIME") + 2] == "0.0s"

    page = tmp_path / "r.html"
    code, out, err = run(capsys, "report", "--run", run_id, "--journal", str(journal), "-o", str(page))
    assert code == 0, out + err
    html = page.read_text()
    assert "downtime (measured)" in html and "AWS status timeline" in html
    row = html.split(f'data-step="{RESTARTS}"')[1].split("</tr>")[0]
    assert f">{seconds:.1f}s<" in row and "rebooting +" in row and "verified +" in row


def test_no_measure_downtime_probes_nothing(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    journal, run_id = apply(capsys, tmp_path, "--no-measure-downtime")
    assert not [e for e in Journal(journal).events(run_id) if e.event == Event.DOWNTIME]
    code, out, _ = run(capsys, "show", run_id, "--journal", str(journal), "--no-check")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith(RESTARTS))
    assert row.split()[5:7] == ["verified", "-"]  # STATUS, DOWNTIME (CHANGE has 3 words)


def test_watches_are_bounded_and_count_each_outage() -> None:
    answers = iter([None, "refused", "refused", None, "closed", None] + [None] * 1000)
    seen: list[str | None] = []

    def probe(_target: Target) -> str | None:
        seen.append(next(answers))
        return seen[-1]

    watch = Watch(Target("localhost", 1, None), interval=0.01, probe=probe).start()
    while len(seen) < 8:
        time.sleep(0.01)
    found = watch.stop()
    assert (found.outages, found.failures) == (2, 3) and found.seconds > 0 and found.recovered is not None

    watches = Watches(True, 0.05, limit=1, probe=lambda _t: None)
    from rdsca.model import Instance

    def inst(port: int | None) -> Instance:
        return Instance(A1, US, "db", "arn", "postgres", "16.4", "available", "localhost", port,
                        G1, G1, None, None)  # fmt: skip

    assert watches.start("a", [inst(5432)]) == "localhost:5432"
    assert watches.start("b", [inst(5433)]) is None  # at most `limit` at once
    assert watches.start("c", [inst(None)]) is None  # no endpoint known: nothing to measure
    assert len(watches) == 1
    watches.stop_all()
    assert len(watches) == 0
