"""The verdict table: every state, every severity band, reasons in words. Pure: `now` is passed in."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from rdsca.assess import Policy, judge
from rdsca.model import Authority, Instance, PendingAction, RegionCAs, Severity, State

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def authority(ca: str, till: datetime) -> Authority:
    return Authority(ca, "eu-west-1", "111111111111", "CA", None, NOW - timedelta(days=2000), till)


REGION = RegionCAs(
    "111111111111",
    "eu-west-1",
    (
        authority("rds-ca-rsa2048-g1", datetime(2061, 5, 24, tzinfo=UTC)),
        authority("rds-ca-rsa4096-g1", datetime(2121, 5, 24, tzinfo=UTC)),
        authority("rds-ca-old-test", NOW - timedelta(days=3)),
    ),
    "rds-ca-rsa2048-g1",
)


def inst(**kw: object) -> Instance:
    base = Instance(
        account_id="111111111111",
        region="eu-west-1",
        id="db1",
        arn="arn:aws:rds:eu-west-1:111111111111:db:db1",
        engine="postgres",
        engine_version="15.4",
        status="available",
        endpoint="db1.example",
        port=5432,
        ca="rds-ca-rsa2048-g1",
        server_cert_ca="rds-ca-rsa2048-g1",
        server_cert_valid_till=NOW + timedelta(days=400),
        pending_ca=None,
        supported_cas=("rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1"),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_ok_names_both_dates() -> None:
    v = judge(inst(), REGION, NOW, Policy())
    assert (v.state, v.severity, v.days_left) == (State.OK, Severity.INFO, 400)
    assert "valid till 2061-05-24" in v.reasons[0]


def test_neptune_and_missing_ca_are_unmanaged() -> None:
    v = judge(inst(engine="neptune", server_cert_valid_till=None), REGION, NOW, Policy())
    assert v.state is State.UNMANAGED and v.severity is Severity.INFO and v.days_left is None
    assert judge(inst(ca=None), REGION, NOW, Policy()).state is State.UNMANAGED


def test_retired_ca_is_critical_and_says_what_to_do() -> None:
    v = judge(
        inst(ca="rds-ca-2019", server_cert_valid_till=datetime(2024, 8, 22, tzinfo=UTC)),
        REGION,
        NOW,
        Policy(),
    )
    assert (v.state, v.severity) == (State.RETIRED_CA, Severity.CRITICAL)
    assert v.reasons[0] == "CA rds-ca-2019 is retired: not listed in eu-west-1; rotate to rds-ca-rsa2048-g1"


def test_expired_ca_listed_but_past() -> None:
    v = judge(inst(ca="rds-ca-old-test"), REGION, NOW, Policy())
    assert (v.state, v.severity, v.days_left) == (State.EXPIRED, Severity.CRITICAL, -3)
    assert "expired" in v.reasons[0]


def test_expired_server_certificate() -> None:
    v = judge(inst(server_cert_valid_till=NOW - timedelta(hours=1)), REGION, NOW, Policy())
    assert v.state is State.EXPIRED
    assert v.reasons == ("server certificate expired 2026-11-27",)


@pytest.mark.parametrize(
    ("days", "severity"),
    [
        (5, Severity.HIGH),
        (29, Severity.HIGH),
        (30, Severity.MEDIUM),
        (89, Severity.MEDIUM),
        (90, Severity.LOW),
        (179, Severity.LOW),
    ],
)
def test_severity_bands(days: int, severity: Severity) -> None:
    v = judge(inst(server_cert_valid_till=NOW + timedelta(days=days, hours=1)), REGION, NOW, Policy())
    assert (v.state, v.days_left, v.severity) == (State.EXPIRING, days, severity)


def test_warn_days_moves_the_horizon() -> None:
    i = inst(server_cert_valid_till=NOW + timedelta(days=100, hours=1))
    assert judge(i, REGION, NOW, Policy(warn_days=90)).state is State.OK
    assert judge(i, REGION, NOW, Policy(warn_days=180)).state is State.EXPIRING


def test_pending_change_and_certificate_action() -> None:
    v = judge(inst(pending_ca="rds-ca-rsa4096-g1"), REGION, NOW, Policy())
    assert v.state is State.PENDING
    assert "CA change to rds-ca-rsa4096-g1 pending until the maintenance window" in v.reasons
    action = PendingAction(
        "ca-certificate-rotation",
        auto_applied_after=NOW + timedelta(days=10),
        opt_in_status="next-maintenance",
    )
    v = judge(inst(pending_actions=(action,)), REGION, NOW, Policy())
    assert v.state is State.PENDING
    assert "maintenance action ca-certificate-rotation pending (2026-12-07, next-maintenance)" in v.reasons


def test_expiry_wins_over_pending() -> None:
    v = judge(
        inst(pending_ca="rds-ca-rsa4096-g1", server_cert_valid_till=NOW + timedelta(days=10)),
        REGION,
        NOW,
        Policy(),
    )
    assert v.state is State.EXPIRING and any("pending" in r for r in v.reasons)


def test_recommendation_respects_engine_support() -> None:
    i = inst(ca="rds-ca-2019", supported_cas=("rds-ca-2019", "rds-ca-rsa4096-g1"))
    assert judge(i, REGION, NOW, Policy()).recommended_ca == "rds-ca-rsa4096-g1"


def test_unknown_region_cas_is_said_not_hidden() -> None:
    v = judge(inst(), None, NOW, Policy())
    assert "CAs of eu-west-1 unknown: CA validity not checked" in v.reasons
