"""`rdsca sandbox` through the real console script, in subprocesses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from rdsca.sandbox import demo
from rdsca.sandbox.control import SandboxControl

RDSCA = str(Path(sys.executable).parent / "rdsca")


def run(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RDSCA, *args], env=env, capture_output=True, text=True, timeout=timeout)


def parse_exports(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            out[key] = value
    return out


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RDSCA_"))}
    env["RDSCA_STATE_DIR"] = str(tmp_path / "state")
    return env


def test_start_env_window_status_stop(cli_env: dict[str, str]) -> None:
    url = ""
    try:
        started = run(["sandbox", "start", "--reboot-seconds", "0.3"], cli_env, timeout=120)
        assert started.returncode == 0, started.stderr
        exports = parse_exports(started.stdout)
        assert started.stdout.splitlines()[0].startswith("unset AWS_PROFILE")
        assert exports["RDSCA_REGIONS"] == "us-east-1,eu-west-1,ap-south-1"
        assert exports["RDSCA_ACCOUNTS"] == "111111111111,222222222222"
        assert exports["RDSCA_ROLE_NAME"] == "rdsca-audit"
        url = exports["AWS_ENDPOINT_URL"]
        assert url.startswith("http://127.0.0.1:")
        assert "demo fleet" in started.stderr
        again = run(["sandbox", "env"], cli_env)
        assert again.returncode == 0 and parse_exports(again.stdout) == exports
        assert "already running" in run(["sandbox", "start"], cli_env).stderr  # no second server
        # `start` seeded the demo fleet: seeding it again is a user mistake, said in one line (it
        # was a 500 about a cluster snapshot, exit 1); --reset builds it again.
        twice = run(["sandbox", "seed"], cli_env)
        assert twice.returncode == 2 and twice.stderr.count("\n") == 1, twice.stderr
        assert "already in this sandbox" in twice.stderr and "--reset" in twice.stderr
        assert run(["sandbox", "seed", "--reset"], cli_env).returncode == 0

        # the exported variables are all boto3 needs (plus assume-role into a demo account)
        aws_env = {**cli_env, **exports}
        sts = boto3.client(
            "sts",
            endpoint_url=aws_env["AWS_ENDPOINT_URL"],
            region_name=aws_env["AWS_DEFAULT_REGION"],
            aws_access_key_id=aws_env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=aws_env["AWS_SECRET_ACCESS_KEY"],
        )
        creds = sts.assume_role(
            RoleArn="arn:aws:iam::111111111111:role/rdsca-audit", RoleSessionName="cli-test"
        )["Credentials"]
        rds = boto3.client(
            "rds",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
        ids = {d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]}
        assert {
            i.id for i in demo.INSTANCES if i.account == "111111111111" and i.region == "us-east-1"
        } == ids

        window = run(["sandbox", "window", "--account", "111111111111", "--region", "us-east-1"], cli_env)
        assert window.returncode == 0, window.stderr
        assert "reports-staging-pg: ca rds-ca-2019 -> rds-ca-rsa2048-g1" in window.stdout
        status = run(["sandbox", "status"], cli_env)
        assert status.returncode == 0 and url in status.stdout and "instances:" in status.stdout
    finally:
        stopped = run(["sandbox", "stop"], cli_env)
    assert stopped.returncode == 0 and "stopped" in stopped.stderr
    assert not SandboxControl(url, timeout=2).health()
    gone = run(["sandbox", "env"], cli_env)
    assert gone.returncode == 1 and "no sandbox is running" in gone.stderr
    assert "Traceback" not in gone.stderr


def test_serve_in_the_foreground_until_interrupted(cli_env: dict[str, str]) -> None:
    proc = subprocess.Popen(
        [RDSCA, "sandbox", "serve", "--empty"],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(8)]
        url = parse_exports("".join(lines))["AWS_ENDPOINT_URL"]
        control = SandboxControl(url, timeout=5)
        assert control.health() and control.instances() == []
        assert parse_exports(run(["sandbox", "env"], cli_env).stdout)["AWS_ENDPOINT_URL"] == url
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    assert run(["sandbox", "env"], cli_env).returncode == 1  # state file removed
