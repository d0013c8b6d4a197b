"""The environment of an organization-wide audit against the benchmark's stand-in (bench/standin)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from support.faultproxy import FaultProxy

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from standin import handle

# The fault tests' organization: above shards.SHARD_MIN_TARGETS, small and fast enough for a test.
ACCOUNTS, REGIONS, INSTANCES = 70, 3, 300


@contextmanager
def small_standin(where: Path) -> Iterator[handle.Handle]:
    """The stand-in with ACCOUNTS x REGIONS and INSTANCES, a fixed seed and 2-10 ms of latency."""
    scale = ["--accounts", str(ACCOUNTS), "--regions", str(REGIONS), "--instances", str(INSTANCES)]
    fast = ["--seed", "5", "--latency-min", "0.002", "--latency-max", "0.01"]
    with handle.start(where, [*scale, *fast]) as sa:
        yield sa


def point_at_standin(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str, secret: str = "testing"
) -> None:
    """No AWS config or profile of the machine, dummy base keys, every call to the stand-in at `url`."""
    for name in ("AWS_PROFILE", "AWS_REGION", "RDSCA_ACCOUNTS", "RDSCA_REGIONS", "RDSCA_ROLE_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)


@contextmanager
def proxied(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str) -> Iterator[FaultProxy]:
    """A fault proxy (no rules yet) in front of the stand-in at `url`, and rdsca's every call to it."""
    with FaultProxy(url, timeout=30) as fp:
        point_at_standin(monkeypatch, tmp_path, fp.url)
        yield fp
