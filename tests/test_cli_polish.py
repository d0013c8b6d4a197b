"""CLI polish: help with examples everywhere, no colour off a terminal, tracebacks only with --debug,
shell completion, the rdsca.toml config file and `rdsca iam-policy`."""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from rdsca.cli.app import cli, main

RDSCA = str(Path(sys.executable).with_name("rdsca"))


def command_paths(group: click.Command = cli, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command and subcommand of the group, whoever added it."""
    if isinstance(group, click.Group):
        ctx = click.Context(group)
        for name in sorted(group.list_commands(ctx)):  # the group loads its commands lazily
            cmd = group.get_command(ctx, name)
            assert cmd is not None, name
            yield (*prefix, name)
            yield from command_paths(cmd, (*prefix, name))


@pytest.mark.parametrize("path", [(), *command_paths()], ids=lambda p: " ".join(p) or "rdsca")
def test_help_exits_0_and_shows_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="rdsca")
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"`rdsca {' '.join(path)} --help` has no example"
    assert "\x1b[" not in result.output


def run(
    args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **(env or {})}
    return subprocess.run([RDSCA, *args], env=full, cwd=cwd, capture_output=True, text=True, timeout=60)


def run_in_tty(args: list[str], env: dict[str, str]) -> str:
    """Run with stdout on a pseudo-terminal, where colour would be on by default."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([RDSCA, *args], stdout=follower, stderr=follower, env={**os.environ, **env})
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # SGR: what NO_COLOR turns off (a progress line may still erase)


def test_no_color_and_non_tty_output_have_no_escape_codes(demo_sandbox: Any) -> None:
    env = {**demo_sandbox.env(), "COLUMNS": "200"}
    env.pop("NO_COLOR", None)
    coloured = run_in_tty(["audit"], {**env, "NO_COLOR": ""})
    assert COLOUR.search(coloured), "control: on a terminal the table is coloured"
    assert "retired-ca" in coloured
    plain = run_in_tty(["audit"], {**env, "NO_COLOR": "1"})
    assert "retired-ca" in plain and not COLOUR.search(plain)
    piped = run(["audit"], {**env, "NO_COLOR": ""})
    assert "retired-ca" in piped.stdout and "\x1b[" not in piped.stdout + piped.stderr


def test_tracebacks_only_with_debug(tmp_path: Path) -> None:
    bad = tmp_path / "rdsca.toml"
    bad.write_text("warn_days = [\n")
    quiet = run(["audit"], {"RDSCA_CONFIG": str(bad)})
    assert quiet.returncode == 2
    assert "not valid TOML" in quiet.stderr and "Traceback" not in quiet.stderr
    assert quiet.stderr.count("\n") == 1
    loud = run(["--debug", "audit"], {"RDSCA_CONFIG": str(bad)})
    assert loud.returncode != 0 and "Traceback" in loud.stderr


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(shell: str) -> None:
    result = run(["completion", shell])
    assert result.returncode == 0
    assert "_RDSCA_COMPLETE" in result.stdout


def test_completion_protocol_completes_commands_and_choices() -> None:
    words = run([], {"_RDSCA_COMPLETE": "bash_complete", "COMP_WORDS": "rdsca iam", "COMP_CWORD": "1"})
    assert "plain,iam-policy" in words.stdout.splitlines()
    choices = run(
        [], {"_RDSCA_COMPLETE": "bash_complete", "COMP_WORDS": "rdsca iam-policy --for r", "COMP_CWORD": "3"}
    )
    assert {"plain,readiness", "plain,rotate"} <= set(choices.stdout.splitlines())


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion_in_a_real_bash() -> None:
    script = (
        "source <(rdsca completion bash); COMP_WORDS=(rdsca comp); COMP_CWORD=1; "
        '_rdsca_completion rdsca; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    path = f"{Path(RDSCA).parent}:{os.environ.get('PATH', '')}"
    out = subprocess.run(
        ["bash", "-c", script], env={**os.environ, "PATH": path}, capture_output=True, text=True
    )
    assert out.stdout.split() == ["completion"], out.stderr


# --- rdsca.toml -------------------------------------------------------------------------------


@pytest.fixture
def no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory and user config directory of our own, and no RDSCA_* overrides."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in ("RDSCA_CONFIG", "RDSCA_REGIONS", "RDSCA_ACCOUNTS", "RDSCA_ROLE_NAME"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def audit_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["audit", "--format", "json", *args]) in (0, 3)
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    return doc


def test_config_file_sets_defaults_and_flags_win(
    demo_sandbox: Any, no_config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = demo_sandbox.env()
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, env[name])
    accounts = env["RDSCA_ACCOUNTS"].split(",")
    (no_config / "rdsca.toml").write_text(
        f'regions = ["eu-west-1"]\naccounts = {json.dumps(accounts)}\n'
        f'role_name = "{env["RDSCA_ROLE_NAME"]}"\nwarn_days = 400\n'
    )
    doc = audit_json(capsys)
    assert {t["region"] for t in doc["targets"]} == {"eu-west-1"}
    assert {t["account_id"] for t in doc["targets"]} == set(accounts)
    assert doc["warn_days"] == 400
    doc = audit_json(capsys, "--region", "us-east-1", "--warn-days", "10")
    assert {t["region"] for t in doc["targets"]} == {"us-east-1"}
    assert doc["warn_days"] == 10
    monkeypatch.setenv("RDSCA_REGIONS", "ap-south-1")  # an environment variable beats the file too
    assert {t["region"] for t in audit_json(capsys)["targets"]} == {"ap-south-1"}


def test_config_from_the_user_config_directory(no_config: Path) -> None:
    user = no_config / "xdg" / "rdsca"
    user.mkdir(parents=True)
    (user / "rdsca.toml").write_text("warn_days = 45\n")
    result = CliRunner().invoke(cli, ["audit", "--help"], prog_name="rdsca")
    assert "default: 45" in result.output
    (no_config / "rdsca.toml").write_text("warn_days = 30\n")  # the working directory comes first
    result = CliRunner().invoke(cli, ["audit", "--help"], prog_name="rdsca")
    assert "default: 30" in result.output


def test_config_errors_are_one_clear_line(no_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (no_config / "rdsca.toml").write_text('regoins = ["eu-west-1"]\n')
    assert main(["audit"]) == 2
    err = capsys.readouterr().err
    assert "unknown key regoins" in err and "rdsca.toml" in err
    (no_config / "rdsca.toml").write_text('warn_days = "soon"\n')
    assert main(["audit"]) == 2
    assert "warn_days must be a whole number" in capsys.readouterr().err


# --- rdsca iam-policy -------------------------------------------------------------------------


def policy(capsys: pytest.CaptureFixture[str], capability: str) -> set[str]:
    capsys.readouterr()
    assert main(["iam-policy", "--for", capability]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["Version"] == "2012-10-17"
    (statement,) = doc["Statement"]
    assert statement["Effect"] == "Allow"
    return set(statement["Action"])


def test_iam_policy_per_capability(capsys: pytest.CaptureFixture[str]) -> None:
    audit = policy(capsys, "audit")
    assert {"rds:DescribeDBInstances", "rds:DescribeCertificates"} <= audit
    assert not any(a.startswith(("rds:Modify", "rds:Apply")) for a in audit), "audit is read-only"
    rotate = policy(capsys, "rotate")
    assert audit <= rotate and "rds:ModifyDBInstance" in rotate
    readiness = policy(capsys, "readiness")
    assert audit <= readiness and "rds:ModifyDBInstance" not in readiness
    assert main(["iam-policy", "--for", "everything"]) == 2
