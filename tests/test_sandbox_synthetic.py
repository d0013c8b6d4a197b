"""`rdsca sandbox seed --synthetic` points rdsca at the accounts it created, and an audit that reads
no instance from targets that all answered says so instead of a silent "0 instances"."""

from __future__ import annotations

import json
import shlex

import pytest

from rdsca.cli.app import main
from rdsca.sandbox import demo
from support.sandbox import SandboxHandle


def exported(stdout: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in stdout.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            out[key] = shlex.split(value)[0]
    return out


def test_seed_synthetic_exports_the_accounts_it_created(
    sandbox_env: SandboxHandle, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["sandbox", "seed", "--url", sandbox_env.url, "--synthetic", "--accounts", "2",
                 "--regions", "us-east-1,eu-west-1", "--per-region", "3"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "seeded 12 instances" in err
    env = exported(out)
    assert set(env["RDSCA_ACCOUNTS"].split(",")).isdisjoint(demo.ACCOUNTS)  # the synthetic ones
    assert len(env["RDSCA_ACCOUNTS"].split(",")) == 2
    assert env["RDSCA_REGIONS"] == "eu-west-1,us-east-1"
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code = main(["audit", "--format", "json"])
    out, err = capsys.readouterr()
    assert code in (0, 3), err
    assert len(json.loads(out)["instances"]) == 12
    # `rdsca sandbox env` (another shell) says the same
    assert main(["sandbox", "env", "--url", sandbox_env.url]) == 0
    assert exported(capsys.readouterr().out)["RDSCA_ACCOUNTS"] == env["RDSCA_ACCOUNTS"]


def test_an_audit_that_reads_no_instance_says_so_on_stderr(
    sandbox_env: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["audit"])  # the sandbox is empty: every target answers, none holds an instance
    _, err = capsys.readouterr()
    assert code == 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "0 instances" in lines[0], err
