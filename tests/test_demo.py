"""`rdsca demo` (what `make demo` runs) tells the whole story against its own sandbox and ends with
the report, through the console script in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

RDSCA = Path(sys.executable).with_name("rdsca")


@pytest.mark.slow
def test_demo_runs_the_whole_story(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RDSCA_"))}
    out = tmp_path / "demo"
    proc = subprocess.run([str(RDSCA), "demo", "--output-dir", str(out), "--reboot-seconds", "0.6"],
                          capture_output=True, text=True, env=env, timeout=240, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = proc.stdout
    for step in ("1. Audit", "3. Will the clients keep connecting?", "4. Plan", "5. Apply dev and staging",
                 "8. Roll back", "never to a retired CA", "9. The report"):  # fmt: skip
        assert step in text
    assert "retired-ca" in text and "at-risk" in text and "ready" in text
    assert "cannot roll back every instance (--all-or-nothing; nothing sent)" in proc.stderr + text
    assert "partial rollback:" in proc.stderr + text
    assert "Traceback" not in proc.stderr
    plan = json.loads((out / "plan.json").read_text())
    assert plan["schema"] == "rdsca.plan/1"
    html = (out / "report.html").read_text()
    assert "Rollout" in html and "rolled-back" in html
    assert (out / "journal.sqlite").exists()
