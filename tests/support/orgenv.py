"""The environment of an organization-wide audit against the benchmark's stand-in (bench/standin)."""

from __future__ import annotations

from pathlib import Path

import pytest


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
