"""The per account-region pace after a throttle (rdsca.aws.accounts.Bucket), on a test clock.

RDS and EC2 have documented rates, kept to once throttled; STS and Organizations publish none, so
their pace is learnt: half the pace before the first throttle, halved (at most once a second) at
each later one, raised while none come.
"""

from __future__ import annotations

import pytest

from rdsca.aws import accounts
from rdsca.aws.accounts import Bucket, Limits


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()

    def sleep(seconds: float) -> None:
        clock.now += seconds

    monkeypatch.setattr(accounts.time, "sleep", sleep)
    return clock


def test_documented_services_keep_their_rate() -> None:
    limits = Limits()
    assert limits.bucket(("a", "rds", "us-east-1")).rate == accounts.RATE
    ec2 = limits.bucket(("a", "ec2", "us-east-1"))
    assert (ec2.burst, ec2.rate, ec2.adaptive) == (80.0, 16.0, False)
    assert limits.bucket(("a", "sts", "us-east-1")).adaptive


def test_an_unpublished_rate_starts_at_half_the_pace_before_the_throttle(clock: Clock) -> None:
    bucket = Bucket(rate=None, clock=clock)
    for _ in range(3):  # three seconds at 80 calls a second, unthrottled
        for _ in range(80):
            bucket.take()
            clock.now += 1 / 80
    bucket.drain()
    assert bucket.limited and bucket.rate == pytest.approx(40, abs=1)


def test_throttles_together_halve_once_then_the_pace_rises(clock: Clock) -> None:
    bucket = Bucket(rate=None, clock=clock)
    for _ in range(100):
        bucket.take()
        clock.now += 0.01
    for _ in range(30):  # the calls in flight come back throttled at once
        bucket.drain()
    first = bucket.rate
    assert first == pytest.approx(50, abs=1)
    clock.now += accounts.HALVE_EVERY
    bucket.drain()
    assert bucket.rate == pytest.approx(first / 2)
    halved = bucket.rate
    started = clock.now
    taken = 0
    while clock.now - started < 10:  # ten seconds without a throttle: paced, and faster each second
        bucket.take()
        taken += 1
    assert bucket.rate > halved * 2
    assert taken > halved * 10


def test_the_pace_never_drops_below_one_call_a_second(clock: Clock) -> None:
    bucket = Bucket(rate=None, clock=clock)
    bucket.take()
    for _ in range(20):
        bucket.drain()
        clock.now += accounts.HALVE_EVERY
    assert bucket.rate == accounts.MIN_RATE
