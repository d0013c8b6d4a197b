"""The live view of `rdsca apply` in a real pseudo-terminal, with the rich version pip installs.

Under a pty `sys.stdout.isatty()` is true, so apply draws rich's live view (the path CliRunner and
pipes never take). A wave of 240 steps at most 20 at a time must show its summary while it runs, and
Ctrl-C must end with exit 130 and the resume command.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

from rdsca.cli.app import main
from rdsca.rollout.journal import Journal
from rdsca.sandbox import demo
from support.sandbox import SandboxHandle
from support.terminal import Pty

RDSCA = [sys.executable, "-c", "from rdsca.cli.app import run; run()"]
US = "us-east-1"


@pytest.fixture
def big_wave(sandbox_env: SandboxHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A plan of one wave of 240 steps, at most 20 at a time, each taking about 2 s."""
    sandbox_env.control.config(reboot_seconds=2.0)
    sandbox_env.control.seed_synthetic([demo.ACCOUNTS[0]], [US], 240, retired_fraction=1.0)
    plan = tmp_path / "plan.json"
    code = main(["plan", "--to", "rds-ca-rsa2048-g1", "--region", US, "--accounts", demo.ACCOUNTS[0],
                 "--max-parallel", "20", "-o", str(plan)])  # fmt: skip
    capsys.readouterr()
    assert code == 0
    return plan


def test_a_wave_larger_than_max_parallel_shows_progress_and_ctrl_c_exits_130(
    big_wave: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "j.sqlite"
    term = Pty([*RDSCA, "apply", str(big_wave), "--region", US, "--journal", str(journal), "--yes",
                "--poll-interval", "0.05"])  # fmt: skip
    try:
        # The summary counts by state and lists the steps under way, while the wave still runs.
        summary = term.wait_for(r"wave all\b.*?(\d+)/240", timeout=60)
        assert summary is not None, term.text[-1500:]
        active = term.wait_for(r"111111111111/us-east-1/\S+-\d{5}\s.*(sending|changing)", timeout=60)
        assert active is not None, term.text[-1500:]
        assert term.wait_for(r"verified \d+", timeout=60), term.text[-1500:]
        assert term.proc.poll() is None, "the wave ended before it could be watched:\n" + term.text[-1500:]
        assert "MarkupError" not in term.text
        term.proc.send_signal(signal.SIGINT)
        code = term.finish(timeout=60)
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
    text = term.text
    assert code == 130, text[-1500:]
    assert "unexpected" not in text and "Traceback" not in text, text[-1500:]
    run_id = Journal(journal).runs()[-1].id
    assert f"rdsca resume {run_id}" in text, text[-1500:]


def test_without_a_terminal_a_heartbeat_line_says_where_the_wave_stands(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from rdsca.cli.rotate_progress import PlainProgress
    from rdsca.rollout.journal import StepStatus
    from rdsca.rollout.plan import Step

    steps = [Step.__new__(Step) for _ in range(3)]  # only the key is read
    for n, step in enumerate(steps):
        object.__setattr__(step, "key", f"111111111111/us-east-1/db-{n}")
    progress = PlainProgress(lambda wave: True, heartbeat=0.05)
    progress.wave("prod", steps)
    progress.step(steps[0], "verified", StepStatus.VERIFIED, "")
    progress.step(steps[1], "modify-sending", StepStatus.RUNNING, "")
    time.sleep(0.3)  # a reboot that takes minutes: the heartbeat keeps saying so
    progress.close()
    out = capsys.readouterr().out
    beats = [line for line in out.splitlines() if line.startswith("wave prod: 1/3 done")]
    assert beats, out
    assert "pending 1, sending 1, changing 0, verified 1, failed 0" in beats[-1]
