"""plan -> apply -> show -> rollback through the real CLI against the sandbox over HTTP."""

from __future__ import annotations

import io
import itertools
import json
import time
from pathlib import Path
from typing import Any

import pytest

from rdsca.rollout.journal import Journal
from support.cli import run
from support.sandbox import SandboxHandle

A1, A2 = "111111111111", "222222222222"
US, EU = "us-east-1", "eu-west-1"
G1 = "rds-ca-rsa2048-g1"
FAST = ("--poll-interval", "0.05", "--yes")


def make_plan(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> Path:
    path = tmp_path / "plan.json"
    code, _out, err = run(capsys, "plan", "--to", G1, "-o", str(path), *args)
    assert code == 0, err
    return path


def run_id_of(out: str) -> str:
    return next(line.split()[1] for line in out.splitlines() if line.startswith("run "))


def events(journal: Path, run_id: str) -> list[tuple[int, str | None, str]]:
    return [(e.id, e.step_key, e.event) for e in Journal(journal).events(run_id)]


def first(evs: list[tuple[int, str | None, str]], key_end: str, event: str) -> int:
    return min(i for i, k, e in evs if k and k.endswith(key_end) and e == event)


def ca_of(sb: SandboxHandle, account: str, region: str, id_: str) -> dict[str, Any]:
    rds = sb.client("rds", region, account=account)
    return dict(rds.describe_db_instances(DBInstanceIdentifier=id_)["DBInstances"][0])


def test_apply_in_waves_with_replicas_and_cluster_members_ordered(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(
        capsys, tmp_path, "--wave-tag", "env", "--wave-order", "dev,staging,prod", "--max-parallel", "3"
    )
    journal = tmp_path / "j.sqlite"
    code, out, err = run(capsys, "apply", str(plan), "--journal", str(journal), *FAST)
    assert code == 0, out + err
    run_id = run_id_of(out)
    steps = Journal(journal).steps(run_id)
    assert len(steps) == 19 and all(s.status == "verified" for s in steps)
    evs = events(journal, run_id)
    # Waves in order: every step of a wave verified before the next wave sends anything.
    for earlier, later in (("dev", "staging"), ("staging", "prod")):
        last_verified = max(i for i, k, e in evs if e == "verified" and _wave(steps, k) == earlier)
        first_sent = min(i for i, k, e in evs if e == "modify-sending" and _wave(steps, k) == later)
        assert last_verified < first_sent
    # Replicas before their source; Aurora readers one at a time, then the writer.
    assert first(evs, "/orders-prod-pg-replica-1", "verified") < first(
        evs, "/orders-prod-pg", "modify-sending"
    )
    assert first(evs, "/shop-prod-mysql-ro", "verified") < first(evs, "/shop-prod-mysql", "modify-sending")
    members = ["catalog-prod-2", "catalog-prod-3", "catalog-prod-1"]  # catalog-prod-1 is the writer
    spans = [(first(evs, f"/{m}", "modify-sending"), first(evs, f"/{m}", "verified")) for m in members]
    assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))
    # Every instance really is on the target, and each got exactly one modify.
    for s in steps:
        raw = ca_of(demo, s.account, s.region, s.ident)
        assert raw["CACertificateIdentifier"] == G1 and raw["CertificateDetails"]["CAIdentifier"] == G1
        assert not raw["PendingModifiedValues"].get("CACertificateIdentifier")
    assert demo.control.call_count("ModifyDBInstance") == 19
    # Batched polls: one describe per region per poll, never one per instance.
    polls = sum(1 for _, _, e in evs if e in ("status-seen",))
    assert demo.control.call_count("DescribeDBInstances") < 19 * 3 + polls + 60
    code, out, _ = run(capsys, "show", run_id, "--journal", str(journal), "--no-check")
    assert code == 0 and f"run {run_id} (apply): done" in out and "catalog-prod-1" in out
    code, out, _ = run(capsys, "runs", "--journal", str(journal))
    assert run_id in out and "19 verified" in out
    wal = Path(f"{journal}-wal")
    raw = journal.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    for secret in (b"SecretAccessKey", b"SessionToken", b"aws_secret_access_key", b"sandbox"):
        assert secret not in raw  # no credentials in the journal (the sandbox's keys are "sandbox")


def _wave(steps: list[Any], key: str | None) -> str | None:
    return next((s.wave for s in steps if s.key == key), None)


def test_a_failed_step_stops_the_run_before_the_next_wave(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    demo.control.misbehave(A1, US, "legacy-dev-mysql57", "fail")
    demo.control.misbehave(A2, US, "shop-dev-pg", "hang")
    plan = make_plan(capsys, tmp_path, "--wave-tag", "env", "--wave-order", "dev,staging,prod")
    journal = tmp_path / "j.sqlite"
    code, out, _ = run(capsys, "apply", str(plan), "--journal", str(journal), "--step-timeout", "1", *FAST)
    assert code == 1
    assert "stopped before wave 'staging'" in out
    assert "legacy-dev-mysql57: legacy-dev-mysql57 is failed" in out
    assert "shop-dev-pg: timed out after" in out
    run_id = run_id_of(out)
    by_wave = {s.key.rsplit("/", 1)[1]: (s.wave, s.status) for s in Journal(journal).steps(run_id)}
    assert {st for w, st in by_wave.values() if w != "dev"} == {"pending"}
    assert demo.control.call_count("ModifyDBInstance") == 5  # the dev wave only
    assert Journal(journal).run(run_id).status == "failed"


def test_drift_is_refused_and_names_the_instance(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(capsys, tmp_path, "--region", US)
    rds = demo.client("rds", US, account=A1)
    rds.modify_db_instance(
        DBInstanceIdentifier="billing-prod-mysql", CACertificateIdentifier=G1, ApplyImmediately=False
    )
    demo.control.reset_calls()
    code, _out, err = run(capsys, "apply", str(plan), "--region", US, "--journal", str(tmp_path / "j"), *FAST)
    assert code == 2
    assert "estate changed" in err and f"{A1}/{US}/billing-prod-mysql: pending CA - -> {G1}" in err
    assert demo.control.call_count("ModifyDBInstance") == 0


def test_window_leaves_pending_values_and_show_reports_them_applied(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(capsys, tmp_path, "--when", "window", "--id", "shop-*", "--region", US)
    journal = tmp_path / "j.sqlite"
    code, out, _ = run(capsys, "apply", str(plan), "--region", US, "--journal", str(journal), *FAST)
    assert code == 0 and "scheduled" in out
    run_id = run_id_of(out)
    assert Journal(journal).run(run_id).status == "scheduled"
    raw = ca_of(demo, A2, US, "shop-dev-pg")
    assert raw["PendingModifiedValues"]["CACertificateIdentifier"] == G1
    assert raw["CACertificateIdentifier"] == "rds-ca-2019"
    code, out, _ = run(capsys, "show", run_id, "--journal", str(journal), "--region", US)
    assert "still waiting for the maintenance window" in out
    demo.control.maintenance_window()
    code, out, _ = run(capsys, "show", run_id, "--journal", str(journal), "--region", US)
    assert code == 0 and "applied in the maintenance window, verified" in out
    assert Journal(journal).run(run_id).status == "done"
    assert all(s.status == "verified" for s in Journal(journal).steps(run_id))


def test_restart_never_sends_both_parameters_and_skips_the_reboot(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    demo.control.config(reboot_seconds=1.0)
    journal = tmp_path / "j.sqlite"
    seen: dict[str, set[str]] = {}
    for restart, instance in (("never", "billing-prod-mysql"), ("auto", "shop-staging-mysql")):
        plan = make_plan(capsys, tmp_path, "--restart", restart, "--id", instance, "--region", US)
        if restart == "never":
            assert "only safe where no client uses TLS" in json.loads(plan.read_text())["warnings"][0]
        code, out, _ = run(capsys, "apply", str(plan), "--region", US, "--journal", str(journal), *FAST)
        assert code == 0, out
        run_id = run_id_of(out)
        if restart == "never":  # mysql 8.0.28 needs a restart: the new CA waits for one, as on AWS
            steps = Journal(journal).steps(run_id)
            assert [s.status for s in steps] == ["awaiting-restart"], out
            assert "serves the old certificate until its next restart" in out
            demo.client("rds", US, account=A1).reboot_db_instance(DBInstanceIdentifier=instance)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                code, out, _ = run(capsys, "show", run_id, "--journal", str(journal))
                if "restarted: serves" in out:
                    break
                time.sleep(0.2)
            assert "restarted: serves rds-ca-rsa2048-g1" in out and ": done" in out, out
        seen[restart] = {
            e.detail.get("status") for e in Journal(journal).events(run_id) if e.event == "status-seen"
        }
        accepted = [e for e in Journal(journal).events(run_id) if e.event == "modify-accepted"]
        assert accepted[0].detail["no_restart"] is (restart == "never")
    assert "rebooting" not in seen["never"] and "rebooting" in seen["auto"]


def test_rollback_restores_each_previous_ca_and_refuses_a_retired_one(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    journal = tmp_path / "j.sqlite"
    plan = make_plan(capsys, tmp_path, "--id", "analytics-dev-pg", "--id", "sessions-dev-mariadb")
    code, out, _ = run(capsys, "apply", str(plan), "--journal", str(journal), *FAST)
    assert code == 0
    run_id = run_id_of(out)
    code, out, err = run(capsys, "rollback", run_id, "--journal", str(journal), *FAST)
    assert code == 0, out + err
    assert ca_of(demo, A1, EU, "analytics-dev-pg")["CACertificateIdentifier"] == "rds-ca-ecc384-g1"
    assert ca_of(demo, A1, US, "sessions-dev-mariadb")["CACertificateIdentifier"] == "rds-ca-rsa4096-g1"
    assert {s.status for s in Journal(journal).steps(run_id)} == {"rolled-back"}
    code, out, _ = run(capsys, "runs", "--journal", str(journal))
    assert f"(undoes {run_id})" in out

    plan = make_plan(capsys, tmp_path, "--id", "legacy-dev-mysql57", "--id", "sessions-dev-mariadb")
    code, out, _ = run(capsys, "apply", str(plan), "--journal", str(journal), *FAST)
    run_id = run_id_of(out)
    before = demo.control.call_count("ModifyDBInstance")
    code, out, err = run(capsys, "rollback", run_id, "--journal", str(journal), "--all-or-nothing", *FAST)
    assert code == 2
    assert "legacy-dev-mysql57: previous CA rds-ca-2019 is retired" in err
    assert demo.control.call_count("ModifyDBInstance") == before
    # In an incident: every instance that can go back does; the one on a retired CA is named.
    code, out, err = run(capsys, "rollback", run_id, "--journal", str(journal), *FAST)
    assert code == 4, out + err
    assert (
        "partial rollback: 1 instance cannot go back" in err
        and "legacy-dev-mysql57: previous CA rds-ca-2019" in err
    )
    assert ca_of(demo, A1, US, "sessions-dev-mariadb")["CACertificateIdentifier"] == "rds-ca-rsa4096-g1"
    assert ca_of(demo, A1, US, "legacy-dev-mysql57")["CACertificateIdentifier"] == G1
    assert demo.control.call_count("ModifyDBInstance") == before + 1


def test_bad_input_is_exit_2_with_nothing_sent(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = make_plan(capsys, tmp_path, "--region", US)
    text = plan.read_text()
    journal = str(tmp_path / "j.sqlite")
    truncated = tmp_path / "truncated.json"
    truncated.write_text(text[: len(text) // 3])
    edited = tmp_path / "edited.json"
    edited.write_text(text.replace('"to_ca": "rds-ca-rsa2048-g1"', '"to_ca": "rds-ca-rsa4096-g1"', 1))
    demo.control.reset_calls()
    for path, message in ((truncated, "not valid JSON"), (edited, "checksum")):
        code, out, err = run(capsys, "apply", str(path), "--journal", journal, *FAST)
        assert code == 2 and message in err and out == ""
    for args in (("show", "nope"), ("resume", "nope"), ("rollback", "nope")):
        code, _, err = run(capsys, *args, "--journal", str(tmp_path / "none.sqlite"))
        assert code == 2 and "no journal at" in err
        Journal(Path(journal)).close()
        code, _, err = run(capsys, *args, "--journal", journal)
        assert code == 2 and "no run 'nope'" in err
    assert demo.control.call_count() == 0  # not even a describe
    code, _, err = run(capsys, "plan", "--to", "rds-ca-bogus", "-o", str(tmp_path / "p2.json"))
    assert code == 2 and "unknown CA" in err
    assert demo.control.call_count() == 0
    monkeypatch.delenv("RDSCA_ACCOUNTS")
    code, _, err = run(capsys, "apply", str(plan), "--journal", journal, *FAST)
    assert code == 2 and "plan for another account" in err
    assert demo.control.call_count("ModifyDBInstance") == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))  # no terminal to answer the prompt
    monkeypatch.setenv("RDSCA_ACCOUNTS", f"{A1},{A2}")
    code, _, err = run(capsys, "apply", str(plan), "--journal", journal, "--region", US)
    assert code == 2 and "pass --yes" in err
    assert demo.control.call_count("ModifyDBInstance") == 0


def test_default_show_set_and_clear(demo: SandboxHandle, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "default", "show", "--region", EU)
    assert code == 0 and f"{A1}/{EU}" in out and "AWS default" in out
    code, _, err = run(capsys, "default", "set", "rds-ca-rsa4096-g1", "--region", "ap-south-1")
    assert code == 2 and "rds-ca-rsa4096-g1 is not offered there" in err, err
    assert demo.control.call_count("ModifyCertificates") == 0
    code, out, err = run(capsys, "default", "set", "rds-ca-ecc384-g1", "--region", EU)
    assert code == 0, err
    code, out, _ = run(capsys, "default", "show", "--region", EU)
    assert "rds-ca-ecc384-g1" in out and "account override" in out
    code, out, _ = run(capsys, "default", "clear", "--region", EU)
    assert code == 0 and "override removed" in out
    code, out, _ = run(capsys, "default", "show", "--region", EU)
    assert "account override" not in out


def test_a_pending_certificate_action_can_be_applied_instead_of_a_modify(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(
        capsys, tmp_path, "--via-maintenance-action", "--id", "crm-staging-mariadb", "--region", EU
    )
    step = json.loads(plan.read_text())["steps"][0]
    assert (step["kind"], step["action"]) == ("apply-maintenance-action", "ca-certificate-rotation")
    code, out, _ = run(capsys, "apply", str(plan), "--region", EU, "--journal", str(tmp_path / "j"), *FAST)
    assert code == 0 and "applies the pending maintenance action" in out
    assert demo.control.call_count("ApplyPendingMaintenanceAction") == 1
    assert demo.control.call_count("ModifyDBInstance") == 0
    assert ca_of(demo, A1, EU, "crm-staging-mariadb")["CACertificateIdentifier"] == G1
