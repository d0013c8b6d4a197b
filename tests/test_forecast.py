"""The reboot forecast: the pure rules, then `rdsca audit` and `rdsca plan --via-maintenance-action`
over HTTP against the sandbox's demo fleet (pending actions and RDS-EVENT-0501/0502 included)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rdsca.assess.forecast import RENEWAL_LEAD, certificate_event_kind, forecast, next_window
from rdsca.model import Instance, InstanceEvent, PendingAction
from rdsca.sandbox import events as sandbox_events
from support.cli import run
from support.sandbox import SandboxHandle

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # a Wednesday
WINDOW = "sun:05:00-sun:06:00"
SUNDAY = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)
G1 = "rds-ca-rsa2048-g1"
A1 = "111111111111"


def inst(**kw: Any) -> Instance:
    base: dict[str, Any] = dict(
        account_id=A1, region="us-east-1", id="db", arn=f"arn:aws:rds:us-east-1:{A1}:db:db",
        engine="mysql", engine_version="8.0.39", status="available", endpoint=None, port=None,
        ca=G1, server_cert_ca=G1, server_cert_valid_till=NOW + timedelta(days=400), pending_ca=None,
        rotation_without_restart=False, maintenance_window=WINDOW,
    )  # fmt: skip
    base.update(kw)
    return Instance(**base)


def action(name: str = "server-certificate-rotation", **kw: Any) -> PendingAction:
    return PendingAction(action=name, **kw)


def event(message: str, days_ago: float = 1) -> InstanceEvent:
    return InstanceEvent(at=NOW - timedelta(days=days_ago), message=message, categories=("maintenance",))


# --- pure rules ------------------------------------------------------------------------------------


def test_next_window_is_the_first_start_at_or_after() -> None:
    assert next_window(WINDOW, NOW) == SUNDAY
    assert next_window(WINDOW, SUNDAY) == SUNDAY
    assert next_window(WINDOW, SUNDAY + timedelta(minutes=1)) == SUNDAY + timedelta(days=7)
    assert next_window("Mon:23:30-Tue:00:00", NOW) == datetime(2026, 12, 7, 23, 30, tzinfo=UTC)
    assert next_window(None, NOW) is None and next_window("garbage", NOW) is None


def test_unscheduled_action_reboots_in_the_window_after_its_auto_apply_date() -> None:
    auto = NOW + timedelta(days=10)  # Saturday 12th
    f = forecast(
        inst(pending_actions=(action(auto_applied_after=auto, forced_apply_date=NOW + timedelta(days=40)),)),
        NOW,
    )
    assert f is not None
    assert (f.source, f.action, f.window) == ("pending-action", "server-certificate-rotation", WINDOW)
    assert f.auto_apply == auto and f.at == datetime(2026, 12, 13, 5, 0, tzinfo=UTC)


def test_forced_date_caps_and_opt_ins_take_their_apply_date() -> None:
    forced = NOW + timedelta(days=2)
    capped = forecast(
        inst(
            pending_actions=(action(auto_applied_after=NOW + timedelta(days=10), forced_apply_date=forced),)
        ),
        NOW,
    )
    assert capped is not None and capped.at == forced
    nxt = forecast(
        inst(pending_actions=(action(opt_in_status="next-maintenance", current_apply_date=SUNDAY),)), NOW
    )
    assert nxt is not None and nxt.at == SUNDAY
    asked = forecast(inst(pending_actions=(action(opt_in_status="next-maintenance"),)), NOW)
    assert asked is not None and asked.at == SUNDAY  # no date given: the next window
    later = action(auto_applied_after=NOW + timedelta(days=30))
    sooner = action("ca-certificate-rotation", forced_apply_date=NOW + timedelta(days=3))
    two = inst(pending_actions=(later, sooner))
    earliest = forecast(two, NOW)
    assert earliest is not None and earliest.action == "ca-certificate-rotation"


def test_no_restart_engines_and_unmanaged_ones_are_not_rebooted() -> None:
    pending = (action(auto_applied_after=NOW + timedelta(days=5)),)
    assert forecast(inst(rotation_without_restart=True, pending_actions=pending), NOW) is None
    assert forecast(inst(engine="neptune", engine_version="1.3.2.1", ca=None), NOW) is None
    unknown = forecast(inst(rotation_without_restart=None, pending_actions=pending), NOW)
    assert unknown is not None  # no published answer counts as "needs a restart"


def test_an_rds_event_says_reboot_even_where_the_engine_says_no_restart() -> None:
    pending = (action(auto_applied_after=NOW + timedelta(days=5)),)
    said = inst(rotation_without_restart=True, pending_actions=pending,
                events=(event(sandbox_events.EVENT_0501),))  # fmt: skip
    f = forecast(said, NOW)
    assert f is not None and f.source == "event" and f.at == datetime(2026, 12, 13, 5, 0, tzinfo=UTC)
    # the action is gone: the event was carried out (RDS keeps events 14 days), no forecast from it
    done = replace(said, pending_actions=())
    assert forecast(done, NOW) is None


def test_event_messages_are_recognised_in_any_case_and_others_ignored() -> None:
    assert certificate_event_kind(event(sandbox_events.EVENT_0501)) == "RDS-EVENT-0501"
    assert certificate_event_kind(event(sandbox_events.EVENT_0502.upper())) == "RDS-EVENT-0502"
    assert certificate_event_kind(event("Finished DB instance backup")) is None


def test_certificate_age_forecasts_a_renewal_before_the_end() -> None:
    till = NOW + timedelta(days=200)
    f = forecast(inst(server_cert_valid_till=till), NOW)
    assert f is not None and f.source == "certificate-age" and f.auto_apply is None
    assert till - RENEWAL_LEAD <= f.at < till - RENEWAL_LEAD + timedelta(days=7)
    assert f.at.strftime("%a %H:%M") == "Sun 05:00"
    soon = forecast(inst(server_cert_valid_till=NOW + timedelta(days=20)), NOW)
    assert soon is not None and soon.at == SUNDAY  # already inside the lead: the next window
    # no forecast: the leaf expired (RDS did not renew it), a CA without automatic rotation, a queued change
    assert forecast(inst(server_cert_valid_till=NOW - timedelta(days=1)), NOW) is None
    assert forecast(inst(ca="rds-ca-2019", server_cert_ca="rds-ca-2019"), NOW) is None
    assert forecast(inst(pending_ca="rds-ca-rsa4096-g1"), NOW) is None


def test_other_pending_action_types_are_listed_never_forecast() -> None:
    from rdsca.assess.verdicts import Policy, judge

    odd = inst(
        rotation_without_restart=True, pending_actions=(action("system-update", auto_applied_after=NOW),)
    )
    assert forecast(odd, NOW) is None
    verdict = judge(odd, None, NOW, Policy())
    assert "maintenance action system-update pending (not a certificate action)" in verdict.reasons
    assert verdict.reboot_forecast is None


# --- over HTTP -------------------------------------------------------------------------------------


def audit_doc(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, dict[str, Any]]:
    code, out, _ = run(capsys, "audit", "--format", "json", *args)
    assert code == 0
    return {i["id"]: i for i in json.loads(out)["instances"]}


def test_audit_shows_the_forecast_per_instance(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    found = audit_doc(capsys, "--accounts", A1)
    web = found["web-staging-mysql"]["reboot_forecast"]  # RDS-EVENT-0501 + an unscheduled action
    assert web["source"] == "pending-action" and web["action"] == "server-certificate-rotation"
    assert web["window"] == "sun:05:00-sun:06:00" and web["auto_apply"] and web["at"] >= web["auto_apply"]
    assert datetime.fromisoformat(web["at"]).strftime("%a %H:%M") == "Sun 05:00"
    pay = found["payments-dev-mysql"]["reboot_forecast"]  # RDS-EVENT-0502: opted in for the next window
    assert pay["source"] == "pending-action" and datetime.fromisoformat(pay["at"]) < datetime.now(
        UTC
    ) + timedelta(days=8)
    crm = found["crm-prod-pg"][
        "reboot_forecast"
    ]  # postgres 13.16 says "no restart"; RDS-EVENT-0501 says reboot
    assert crm["source"] == "event"
    assert found["scratch-pg"]["reboot_forecast"] is None  # postgres 16.4 rotates without a restart
    assert found["orders-prod-pg"]["reboot_forecast"] is None  # rds-ca-2019: no automatic rotation
    assert found["graph-dev-neptune"]["reboot_forecast"] is None
    assert any(
        r.startswith("RDS reboots it for server-certificate-rotation")
        for r in found["web-staging-mysql"]["reasons"]
    )

    code, table, _ = run(
        capsys, "audit", "--accounts", A1, "--region", "us-east-1", "--id", "web-staging-mysql"
    )
    assert code == 0 and "RDS reboots it for server-certificate-rotation" in " ".join(table.split())


def test_events_outside_14_days_or_other_categories_are_not_read(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    rds = demo.client(region="us-east-1", account=A1)
    now = datetime.now(UTC)
    seen = rds.describe_events(SourceType="db-instance", StartTime=now - timedelta(days=30), EndTime=now,
                               EventCategories=["maintenance"])["Events"]  # fmt: skip
    assert [e["SourceIdentifier"] for e in seen] == ["web-staging-mysql"]
    backups = rds.describe_events(SourceType="db-instance", EventCategories=["backup"])["Events"]
    assert {c for e in backups for c in e["EventCategories"]} <= {"backup"}  # moto's own, just made
    recent = rds.describe_events(SourceType="db-instance")["Events"]  # Duration: the last 60 minutes
    assert sandbox_events.EVENT_0501 not in {e["Message"] for e in recent}  # posted 2 days ago
    assert demo.control.calls()["by_action"].get("DescribeEvents") == 3


def test_plan_via_maintenance_action_takes_the_forecast_reboot_into_a_wave(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    demo.control.config(reboot_seconds=0.3)
    where = ["--accounts", A1, "--region", "us-east-1", "--id", "web-staging-mysql"]
    code, out, _ = run(capsys, "plan", "--to", G1, *where, "-o", str(tmp_path / "plain.json"))
    assert code == 0 and "already on rds-ca-rsa2048-g1" in out  # without the flag: nothing to do
    plan_file = tmp_path / "plan.json"
    code, out, _ = run(capsys, "plan", "--to", G1, "--via-maintenance-action", *where, "-o", str(plan_file))
    assert code == 0, out
    step = json.loads(plan_file.read_text())["steps"][0]
    assert step["kind"] == "apply-maintenance-action" and step["action"] == "server-certificate-rotation"
    assert step["from_ca"] == step["to_ca"] == G1 and "forecast reboot" in step["note"]
    before = audit_doc(capsys, *where)["web-staging-mysql"]
    code, out, err = run(capsys, "apply", str(plan_file), "--yes", "--journal", str(tmp_path / "j.sqlite"),
                         "--poll-interval", "0.05")  # fmt: skip
    assert code == 0, out + err
    after = audit_doc(capsys, *where)["web-staging-mysql"]
    assert after["pending_actions"] == [] and after["state"] == "ok"
    assert after["server_cert_valid_till"] > before["server_cert_valid_till"]  # a renewed, 36-month leaf
    assert after["reboot_forecast"]["source"] == "certificate-age"  # the event alone forecasts nothing now
    assert "verified" in out


@pytest.mark.parametrize("reboot_seconds", [0.0, 0.5])
def test_a_lost_reply_to_a_renewal_is_not_sent_again(
    estate: SandboxHandle,
    fault_proxy: Any,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    reboot_seconds: float,
) -> None:
    """The reply to ApplyPendingMaintenanceAction is lost after AWS took it. With an instant restart
    the instance is back, renewed, before rdsca first looks: no restart in progress is seen, and the
    renewed certificate alone must show the action taken (before, three quiet reads led to a second
    send, which AWS refuses since nothing is pending any more)."""
    from support import faultproxy

    estate.control.config(reboot_seconds=reboot_seconds)
    where = ["--accounts", A1, "--region", "us-east-1", "--id", "web-staging-mysql"]
    plan_file = tmp_path / "plan.json"
    code, out, _ = run(capsys, "plan", "--to", G1, "--via-maintenance-action", *where, "-o", str(plan_file))
    assert code == 0, out
    estate.control.reset_calls()
    fault_proxy.add(faultproxy.drop_reply(action="ApplyPendingMaintenanceAction", count=1))
    code, out, err = run(capsys, "apply", str(plan_file), "--yes", "--journal", str(tmp_path / "j.sqlite"),
                         "--poll-interval", "0.05")  # fmt: skip
    assert code == 0, out + err
    assert estate.control.call_count("ApplyPendingMaintenanceAction") == 1
    assert "verified" in out


def test_plan_leaves_other_action_types_alone(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # ca-certificate-rotation on a retired CA goes through the action only with the region's default target
    where = ["--accounts", A1, "--region", "us-east-1", "--id", "web-staging-mysql"]
    code, _, _ = run(capsys, "plan", "--to", "rds-ca-rsa4096-g1", "--via-maintenance-action", *where,
                     "-o", str(tmp_path / "p.json"))  # fmt: skip
    assert code == 0
    step = json.loads((tmp_path / "p.json").read_text())["steps"][0]
    assert step["kind"] == "modify-instance"  # another target CA: a modify, never the renewal action
