"""`rdsca plan --format markdown`: the plan for a change ticket, with the same steps as the JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rdsca.cli.app import main
from support.sandbox import SandboxHandle


def test_markdown_plan_matches_the_saved_plan(
    sandbox_env: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sandbox_env.control.seed_demo()
    saved = tmp_path / "plan.json"
    code = main(["plan", "--to", "rds-ca-rsa2048-g1", "--wave-tag", "env", "--wave-order", "dev,staging,prod",
                 "--format", "markdown", "-o", str(saved)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    doc = json.loads(saved.read_text())
    assert out.startswith(f"## CA rotation plan: {len(doc['steps'])} changes to `rds-ca-rsa2048-g1`")
    for wave in ("dev", "staging", "prod"):
        assert f"### Wave {wave}" in out
    rows = [line for line in out.splitlines() if re.match(r"\| \d+ \| \d{12} \|", line)]
    assert len(rows) == len(doc["steps"])
    assert f"### Skipped ({len(doc['skipped'])})" in out
    assert "```diff" in out and "~ 111111111111/us-east-1/orders-prod-pg:" in out
