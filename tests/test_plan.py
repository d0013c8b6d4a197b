"""The pure plan builder and the strict plan file: no AWS involved."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from rdsca.errors import PlanError
from rdsca.model import Authority, Fleet, Instance, PendingAction, RegionCAs, Target, TargetStatus
from rdsca.rollout import planfile
from rdsca.rollout.drift import drift, fingerprint, seen_of
from rdsca.rollout.plan import Kind, PlanPolicy, Restart, When
from rdsca.rollout.planner import build

NOW = datetime(2025, 6, 1, tzinfo=UTC)
A, R = "111111111111", "us-east-1"
G1 = "rds-ca-rsa2048-g1"
OLD = "rds-ca-2019"
ALL_G1 = ("rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1")
KNOWN = ("rds-ca-2015", OLD, *ALL_G1)


def inst(id_: str, **kw: object) -> Instance:
    base = dict(
        account_id=A, region=R, id=id_, arn=f"arn:aws:rds:{R}:{A}:db:{id_}", engine="postgres",
        engine_version="15.8", status="available", endpoint=None, port=None, ca=OLD, server_cert_ca=OLD,
        server_cert_valid_till=None, pending_ca=None, rotation_without_restart=False, supported_cas=ALL_G1,
    )  # fmt: skip
    base.update(kw)
    return Instance(**base)  # type: ignore[arg-type]


def fleet(*instances: Instance, cas: tuple[str, ...] = ALL_G1, default: str = G1) -> Fleet:
    auths = tuple(Authority(c, R, A, "CA", None, None, None) for c in cas)
    return Fleet(NOW, (TargetStatus(Target(A, R), True),), (RegionCAs(A, R, auths, default),), instances)


def test_waves_follow_the_tag_order_and_untagged_goes_last() -> None:
    f = fleet(
        inst("p", tags={"env": "prod"}), inst("d", tags={"env": "dev"}),
        inst("s", tags={"env": "staging"}), inst("x"), inst("q", tags={"env": "qa"}),
    )  # fmt: skip
    plan = build(f, G1, PlanPolicy(wave_tag="env", wave_order=("dev", "staging", "prod")), NOW)
    assert plan.waves == ("dev", "staging", "prod", "qa", "untagged")
    assert [s.id for s in plan.steps] == ["d", "s", "p", "q", "x"]
    assert any("qa" in w for w in plan.warnings)
    with pytest.raises(PlanError, match="strict-waves"):
        build(f, G1, PlanPolicy(wave_tag="env", strict_waves=True), NOW)


def test_skip_reasons() -> None:
    f = fleet(
        inst("to-rotate", ca=G1),
        inst("on-target", ca="rds-ca-rsa4096-g1"),
        inst("neptune", engine="neptune", ca=None),
        inst("old-engine", supported_cas=(OLD, G1)),
        inst("busy", status="modifying"),
        inst("pending", pending_ca="rds-ca-rsa4096-g1"),
        inst("unknown-support", supported_cas=()),
        cas=(G1, "rds-ca-rsa4096-g1"),
    )
    plan = build(f, "rds-ca-rsa4096-g1", PlanPolicy(), NOW)
    reasons = {s.key.rsplit("/", 1)[1]: s.reason for s in plan.skipped}
    assert reasons["on-target"] == "already on rds-ca-rsa4096-g1"
    assert reasons["neptune"].startswith("unmanaged")
    assert "not supported by postgres 15.8" in reasons["old-engine"]
    assert reasons["busy"] == "status modifying, not available"
    assert "already pending" in reasons["pending"]
    assert "supported CAs unknown" in reasons["unknown-support"]
    assert [s.id for s in plan.steps] == ["to-rotate"]
    plan = build(fleet(inst("a")), "rds-ca-ecc384-g1", PlanPolicy(), NOW)
    assert plan.steps  # listed
    f_missing = fleet(inst("a"), cas=(G1,))
    plan = build(f_missing, "rds-ca-ecc384-g1", PlanPolicy(), NOW)
    assert plan.skipped[0].reason == "rds-ca-ecc384-g1 not available in us-east-1"


def test_replicas_before_source_and_cluster_readers_before_writer_one_at_a_time() -> None:
    f = fleet(
        inst("src", replicas=("rep1", "rep2")),
        inst("rep1", replica_of="src"),
        inst("rep2", replica_of="src"),
        inst("w", engine="aurora-postgresql", cluster="c1"),
        inst("r1", engine="aurora-postgresql", cluster="c1"),
        inst("r2", engine="aurora-postgresql", cluster="c1"),
    )
    plan = build(f, G1, PlanPolicy(max_parallel=10), NOW, writers=frozenset({f"{A}/{R}/w"}))
    steps = {s.id: s for s in plan.steps}
    assert set(steps["src"].depends_on) == {f"{A}/{R}/rep1", f"{A}/{R}/rep2"}
    assert steps["r1"].depends_on == ()
    assert steps["r2"].depends_on == (f"{A}/{R}/r1",)
    assert steps["w"].depends_on == (f"{A}/{R}/r2",)
    assert steps["w"].order == 2 and steps["src"].order == 1
    order = [s.id for s in plan.steps]
    assert order.index("w") > order.index("r2") > order.index("r1")


def test_multi_az_db_cluster_is_one_modify_cluster_step() -> None:
    f = fleet(
        inst("m1", cluster="maz"), inst("m2", cluster="maz"), inst("m3", cluster="maz"),
        inst("a1", engine="aurora-mysql", cluster="aur"),
    )  # fmt: skip
    plan = build(f, G1, PlanPolicy(), NOW)
    kinds = {s.id: s.kind for s in plan.steps}
    assert kinds == {"maz": Kind.MODIFY_CLUSTER, "a1": Kind.MODIFY_INSTANCE}
    maz = next(s for s in plan.steps if s.id == "maz")
    assert maz.members == ("m1", "m2", "m3")
    busy = fleet(inst("m1", cluster="maz"), inst("m2", cluster="maz", status="rebooting"))
    plan = build(busy, G1, PlanPolicy(), NOW)
    assert not plan.steps and len(plan.skipped) == 2


def test_restart_policy_and_maintenance_action() -> None:
    f = fleet(
        inst("needs", rotation_without_restart=False),
        inst("free", rotation_without_restart=True),
        inst("act", pending_actions=(PendingAction("ca-certificate-rotation"),)),
    )
    auto = {s.id: s for s in build(f, G1, PlanPolicy(via_maintenance_action=True), NOW).steps}
    assert auto["needs"].restart and not auto["free"].restart
    assert auto["act"].kind is Kind.APPLY_ACTION and auto["act"].action == "ca-certificate-rotation"
    never = build(f, G1, PlanPolicy(restart=Restart.NEVER, when=When.WINDOW), NOW)
    assert not any(s.restart for s in never.steps)
    assert all(s.kind is Kind.MODIFY_INSTANCE for s in never.steps)
    assert any("only safe where no client uses TLS" in w for w in never.warnings)


def test_fingerprint_and_drift() -> None:
    f = fleet(inst("a"), inst("b"))
    plan = build(f, G1, PlanPolicy(), NOW)
    same = seen_of(f.instances)
    assert fingerprint(same, plan.targets) == plan.fingerprint
    changed = seen_of([inst("a", ca=G1), inst("c")])
    assert fingerprint(changed, plan.targets) != plan.fingerprint
    lines = drift(plan.seen, changed)
    assert f"{A}/{R}/a: CA rds-ca-2019 -> rds-ca-rsa2048-g1" in lines
    assert f"{A}/{R}/b: gone" in lines and f"{A}/{R}/c: new instance" in lines


def test_plan_file_round_trip_and_strict_validation() -> None:
    f = fleet(inst("a", tags={"env": "dev"}), inst("b", tags={"env": "prod"}))
    plan = build(f, G1, PlanPolicy(wave_tag="env", wave_order=("dev", "prod")), NOW)
    text = planfile.dumps(plan)
    again = planfile.loads(text, KNOWN)
    assert again.steps == plan.steps and again.fingerprint == plan.fingerprint and again.waves == plan.waves
    doc = json.loads(text)
    assert doc["schema"] == "rdsca.plan/1"
    assert set(doc["steps"][0]) >= {"key", "account", "region", "id", "engine", "kind", "from_ca", "to_ca",
                                    "restart", "when", "wave", "order", "depends_on"}  # fmt: skip

    with pytest.raises(PlanError, match="not valid JSON"):
        planfile.loads(text[: len(text) // 2], KNOWN)
    with pytest.raises(PlanError, match="schema"):
        planfile.loads(json.dumps({**doc, "schema": "rdsca.plan/9"}), KNOWN)
    edited = json.loads(text)
    edited["steps"][0]["to_ca"] = "rds-ca-rsa4096-g1"
    with pytest.raises(PlanError, match="checksum"):
        planfile.loads(json.dumps(edited), KNOWN)
    # A consistent forgery (checksum recomputed) still has to name known CAs and valid types.
    forged = replace(plan, target_ca="rds-ca-bogus")
    with pytest.raises(PlanError, match="unknown target CA"):
        planfile.loads(planfile.dumps(forged), KNOWN)
    bad_step = replace(plan, steps=(replace(plan.steps[0], to_ca="rds-ca-nope"),))
    with pytest.raises(PlanError, match="unknown CA"):
        planfile.loads(planfile.dumps(bad_step), KNOWN)
    doc2 = planfile.to_dict(plan)
    doc2["steps"][0]["restart"] = "yes"
    doc2["checksum"] = planfile._checksum(doc2)
    with pytest.raises(PlanError, match="wrong type"):
        planfile.from_dict(doc2, KNOWN)
    with pytest.raises(PlanError, match="not a JSON object"):
        planfile.loads("[]", KNOWN)
