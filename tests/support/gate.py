"""Hold a running `rdsca apply` at a known point, outside any journal transaction: its after-step
hook waits for a file. Tests that need a live holder use it instead of a long reboot, which a loaded
machine can outlast."""

from __future__ import annotations

import shlex
import subprocess
import time
from pathlib import Path


class Gate:
    def __init__(self, where: Path) -> None:
        self.started, self.go = where / "gate-started", where / "gate-go"

    @property
    def hook(self) -> str:
        """The `--after-step` command: say it started, then wait until `release`."""
        started, go = shlex.quote(str(self.started)), shlex.quote(str(self.go))
        return f"touch {started}; while [ ! -e {go} ]; do sleep 0.05; done"

    def wait_held(self, proc: subprocess.Popen[str], timeout: float = 60) -> None:
        """Until `proc` is inside the hook; AssertionError, with its output, if it never gets there."""
        deadline = time.monotonic() + timeout
        while not self.started.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if not self.started.exists():
            self.release()
            raise AssertionError(
                f"the apply never reached its after-step hook: {proc.communicate(timeout=30)}"
            )

    def release(self) -> None:
        self.go.touch()
