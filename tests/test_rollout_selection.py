"""Narrowing a rotation through the CLI against the sandbox: `plan --require-ready` leaves out the
instances whose clients are not ready, `apply --wave` runs only some waves, `rollback --id` undoes
only some instances."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from rdsca.cli.app import main
from rdsca.rollout.journal import Journal
from support.sandbox import SandboxHandle

G1 = "rds-ca-rsa2048-g1"
FAST = ("--yes", "--poll-interval", "0.05")


@pytest.fixture
def demo_env(sandbox_env: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SandboxHandle:
    sandbox_env.control.seed_demo()
    monkeypatch.setenv("RDSCA_JOURNAL", str(tmp_path / "journal.sqlite"))
    return sandbox_env


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    return code, out + err


def plan_doc(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def cas(sb: SandboxHandle) -> dict[str, str | None]:
    return {i["id"]: i.get("ca") for i in sb.control.instances()}


def test_require_ready_keeps_out_instances_not_ready(
    demo_env: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    files = demo_env.control.pki()["files"]
    ready = tmp_path / "ready.json"
    code, _ = run(capsys, "readiness", "--to", G1, "--tag", "env=dev", "--bundle", files["new-bundle.pem"],
                  "-f", "json", "-o", str(ready))  # fmt: skip
    assert code == 0
    plan = tmp_path / "plan.json"
    code, out = run(capsys, "plan", "--to", G1, "--wave-tag", "env", "--require-ready", str(ready),
                    "-o", str(plan))  # fmt: skip
    assert code == 0
    doc = plan_doc(plan)
    assert doc["steps"] and {s["wave"] for s in doc["steps"]} == {"dev"}
    held = {s["key"].split("/")[-1]: s["reason"] for s in doc["skipped"]}
    assert held["billing-prod-mysql"] == "clients not known to be ready: no readiness verdict for it"
    assert "no readiness verdict" in out
    # With the old bundle the dev instances are at risk: held back with the readiness reason.
    risky = tmp_path / "risky.json"
    run(capsys, "readiness", "--to", G1, "--tag", "env=dev", "--bundle", files["old-bundle.pem"],
        "-f", "json", "-o", str(risky))  # fmt: skip
    code, _ = run(capsys, "plan", "--to", G1, "--require-ready", str(risky), "-o", str(plan))
    doc = plan_doc(plan)
    assert code == 0 and doc["steps"] == []
    reasons = {s["key"].split("/")[-1]: s["reason"] for s in doc["skipped"]}
    assert reasons["shop-dev-pg"].startswith("clients not ready (at-risk): bundle ")


def test_require_ready_bad_file_is_refused_before_aws(
    demo_env: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "r.json"
    bad.write_text('{"schema": "rdsca.plan/1"}')
    demo_env.control.reset_calls()
    code, out = run(capsys, "plan", "--to", G1, "--require-ready", str(bad), "-o", str(tmp_path / "p.json"))
    assert code == 2 and "--require-ready" in out and demo_env.control.call_count() == 0
    assert not (tmp_path / "p.json").exists()


def test_apply_some_waves_then_roll_back_some_instances(
    demo_env: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = tmp_path / "plan.json"
    run(capsys, "plan", "--to", G1, "--wave-tag", "env", "--wave-order", "dev,staging,prod", "-o", str(plan))
    before = cas(demo_env)
    waves = {s["key"].split("/")[-1]: s["wave"] for s in plan_doc(plan)["steps"]}
    code, out = run(capsys, "apply", str(plan), "--wave", "dev", *FAST)
    assert code == 0, out
    after = cas(demo_env)
    for iid, wave in waves.items():
        assert after[iid] == (G1 if wave == "dev" else before[iid]), iid  # dev moved, nothing else did
    code, out = run(capsys, "apply", str(plan), "--wave", "nope", *FAST)
    assert code == 2 and "--wave nope: not a wave of this plan" in out
    run_id = last_run_id()
    code, out = run(capsys, "rollback", run_id, "--id", "analytics-dev-pg", "--id", "sessions-dev-*", *FAST)
    assert code == 0, out
    back = cas(demo_env)
    assert back["analytics-dev-pg"] == before["analytics-dev-pg"] == "rds-ca-ecc384-g1"
    assert back["sessions-dev-mariadb"] == before["sessions-dev-mariadb"] == "rds-ca-rsa4096-g1"
    assert back["shop-dev-pg"] == G1  # not named: left alone (its previous CA is retired anyway)


def last_run_id() -> str:

    journal = Journal(Path(os.environ["RDSCA_JOURNAL"]))
    try:
        return journal.runs()[-1].id
    finally:
        journal.close()


def test_source_waits_for_its_cross_region_replica(
    demo_env: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = tmp_path / "plan.json"
    code, _ = run(capsys, "plan", "--to", G1, "--id", "orders-prod-pg*", "-o", str(plan))
    steps = {s["id"]: s for s in plan_doc(plan)["steps"]}
    assert code == 0 and set(steps) == {
        "orders-prod-pg",
        "orders-prod-pg-replica-1",
        "orders-prod-pg-replica-eu",
    }
    assert set(steps["orders-prod-pg"]["depends_on"]) == {
        "111111111111/us-east-1/orders-prod-pg-replica-1",
        "111111111111/eu-west-1/orders-prod-pg-replica-eu",
    }
