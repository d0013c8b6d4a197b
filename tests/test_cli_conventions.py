"""The habits people bring from the AWS CLI and other tools, through the real entry point: watching a
rollout (`--progress json`, `resume` without a run, a "no" at a prompt, no prompt without a
terminal), `--format json` / `-o` on every table, global flags after the command, one error style,
tables that never split an identifier, shell completion of values, the region the AWS CLI would
use, and counted nouns."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from rdsca.rollout.journal import Journal
from support import crash
from support.cli import run
from support.sandbox import SandboxHandle
from support.terminal import Pty

RDSCA = [sys.executable, "-c", "from rdsca.cli.app import run; run()"]
A1, A2 = "111111111111", "222222222222"
US, EU, AP = "us-east-1", "eu-west-1", "ap-south-1"
G1 = "rds-ca-rsa2048-g1"
FAST = ("--poll-interval", "0.05", "--no-measure-downtime")
WAVES = ("--wave-tag", "env", "--wave-order", "dev,staging,prod")


def make_plan(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> Path:
    path = tmp_path / "plan.json"
    code, _out, err = run(capsys, "plan", "--to", G1, "-o", str(path), *args)
    assert code == 0, err
    return path


def lines_of(out: str) -> list[dict[str, Any]]:
    """Every line of `out` is one JSON object (fails on any other line)."""
    return [json.loads(line) for line in out.splitlines()]


# -- watching a rollout ---------------------------------------------------------------------------


def test_progress_json_is_one_json_object_a_line_on_stdout(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(capsys, tmp_path, "--region", AP, *WAVES)
    journal = tmp_path / "j.sqlite"
    code, out, err = run(capsys, "apply", str(plan), "--journal", str(journal), "--yes", "--progress", "json",
                         *FAST)  # fmt: skip
    assert code == 0, out + err
    docs = lines_of(out)  # the plan, the run line and the summary went to stderr
    assert {d["schema"] for d in docs} == {"rdsca.progress/1"}
    run_id = Journal(journal).runs()[-1].id
    assert docs[0] == {**docs[0], "type": "run", "run": run_id}
    assert [d["wave"] for d in docs if d["type"] == "wave"] == ["staging", "prod"]
    steps = [d for d in docs if d["type"] == "step"]
    assert {d["step"] for d in steps} == {f"{A2}/{AP}/ledger-staging-pg", f"{A1}/{AP}/payments-prod-mysql"}
    assert {"modify-sending", "verified"} <= {d["event"] for d in steps}
    assert {d["state"] for d in steps if d["event"] == "modify-sending"} == {"sending"}
    assert (
        docs[-1]["type"] == "end" and docs[-1]["status"] == "done" and docs[-1]["counts"] == {"verified": 2}
    )
    assert "Plan: 2 changes" in err and f"run {run_id}: done" in err


def test_progress_json_heartbeat_says_where_the_wave_stands(capsys: pytest.CaptureFixture[str]) -> None:
    import time

    from rdsca.cli.rotate_progress import JsonProgress
    from rdsca.rollout.journal import StepStatus
    from rdsca.rollout.plan import Step

    steps = [Step.__new__(Step) for _ in range(3)]  # only the key and the wave are read
    for n, step in enumerate(steps):
        object.__setattr__(step, "key", f"{A1}/{US}/db-{n}")
        object.__setattr__(step, "wave", "prod")
    progress = JsonProgress(lambda wave: True, heartbeat=0.05)
    progress.wave("prod", steps)
    progress.step(steps[0], "verified", StepStatus.VERIFIED, "")
    progress.step(steps[1], "modify-sending", StepStatus.RUNNING, "")
    time.sleep(0.3)
    progress.close()
    docs = lines_of(capsys.readouterr().out)
    beat = [d for d in docs if d["type"] == "heartbeat"][-1]
    assert beat["steps"] == 3 and beat["done"] == 1
    assert beat["counts"] == {"pending": 1, "sending": 1, "verified": 1}
    assert beat["elapsed_s"] >= 0.2 and beat["left_s"] is not None


def test_progress_choices_and_auto(demo: SandboxHandle, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "apply", "plan.json", "--progress", "fancy")
    assert code == 2 and "'fancy' is not one of 'auto', 'live', 'lines', 'json'" in err


@pytest.mark.parametrize(
    ("args", "env", "shown"),
    [
        ((), None, False),  # auto without a terminal: nothing
        (("--progress",), None, True),  # the older bare flag still shows it
        (("--progress", "lines"), None, True),
        (("--progress", "none"), "lines", False),  # the flag wins over the environment
        (("--no-progress",), "lines", False),  # the older spelling of none
        ((), "lines", True),
        ((), "json", True),  # the rotation commands' json: plain lines on stderr, stdout is the report
    ],
)
def test_audit_progress_has_the_rotation_commands_shape(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...], env: str | None, shown: bool,
) -> None:  # fmt: skip
    if env is None:
        monkeypatch.delenv("RDSCA_PROGRESS", raising=False)
    else:
        monkeypatch.setenv("RDSCA_PROGRESS", env)
    code, out, err = run(capsys, "audit", "--region", US, "-f", "json", *args)
    assert code == 0, err
    assert json.loads(out)["instances"]  # stdout holds the report alone
    progress = [x for x in err.splitlines() if x.startswith("audit: ")]
    assert bool(progress) is shown, err
    if shown:
        assert progress[-1].endswith(", done") and "\r" not in err


def test_audit_progress_live_rewrites_one_line_even_without_a_terminal(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "audit", "--region", US, "-f", "json", "--progress", "live")
    assert code == 0 and json.loads(out)["instances"], err
    assert err.startswith("\raudit: reaching the accounts and regions...\x1b[K") and err.endswith("\n")
    assert ", done\x1b[K\n" in err and err.count("\n") == 1  # one line, rewritten, closed at the end


def test_audit_progress_refuses_an_unknown_mode_in_one_line(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(capsys, "audit", "--progress", "fancy")
    assert code == 2 and "'fancy' is not one of 'auto', 'live', 'lines', 'none'" in err
    monkeypatch.setenv("RDSCA_PROGRESS", "fancy")
    code, _, err = run(capsys, "audit", "--region", US)
    assert code == 2 and err.startswith("error: ") and "RDSCA_PROGRESS='fancy'" in err, err


def test_apply_without_yes_and_without_a_terminal_stops_before_any_call(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(capsys, tmp_path, "--region", AP)
    demo.control.reset_calls()
    code, out, err = run(capsys, "apply", str(plan), "--journal", str(tmp_path / "j.sqlite"))  # stdin: no tty
    assert code == 2, out + err
    assert err.startswith("error: ") and "pass --yes" in err and err.count("\n") == 1
    assert demo.control.call_count("ModifyDBInstance") == 0
    assert demo.control.call_count("DescribeDBInstances") == 0


def test_no_at_a_production_wave_says_declined_and_how_to_continue(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(capsys, tmp_path, "--region", AP, *WAVES)
    journal = tmp_path / "j.sqlite"
    term = Pty([*RDSCA, "apply", str(plan), "--journal", str(journal), "--progress", "lines", *FAST])
    try:
        assert term.wait_for(r"Apply 2 changes in 2 waves\? \[y/N\]", timeout=60), term.text[-1500:]
        term.type("y\n")
        assert term.wait_for(r"Wave 'prod' is production\. Go on\? \[y/N\]", timeout=60), term.text[-1500:]
        term.type("n\n")
        code = term.finish(timeout=60)
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
    text = term.text
    run_id = Journal(journal).runs()[-1].id
    assert code == 130, text[-1500:]
    assert "a step failed" not in text, text[-1500:]
    assert "you declined it at the prompt" in text and f"continue with: rdsca resume {run_id}" in text
    assert {s.key.rsplit("/", 1)[1]: s.status for s in Journal(journal).steps(run_id)} == {
        "ledger-staging-pg": "verified",
        "payments-prod-mysql": "pending",
    }


def test_resume_without_a_run_takes_the_latest_interrupted_one_and_says_where_it_stands(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(capsys, tmp_path, "--region", AP, *WAVES)
    journal = tmp_path / "j.sqlite"
    # A crash (SIGKILL) once the staging step is verified: the run stays "running" in the journal.
    proc = subprocess.run([*crash.COMMAND, "verified:1", "apply", str(plan), "--journal", str(journal),
                           "--yes", *FAST], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    run_id = Journal(journal).runs()[-1].id
    code, out, err = run(capsys, "resume", "--journal", str(journal), "--yes", *FAST)
    assert code == 0, out + err
    standing, rest = out.split(f"resuming run {run_id}", 1)
    assert f"run {run_id} (apply, running, target {G1}): 1 of 2 waves done, 1 of 2 steps done" in standing
    assert "wave staging  1/1 done" in standing and "wave prod     0/1 done; left: 1 pending" in standing
    assert "left: 1 step in wave prod" in standing
    assert f"run {run_id}: done" in rest
    code, out, err = run(capsys, "resume", "--journal", str(journal), "--yes")
    assert code == 2 and out == ""
    assert err == f"error: no interrupted run to resume in the journal {journal} (see `rdsca runs`)\n"


# -- formats and output files ---------------------------------------------------------------------


def test_runs_default_show_and_show_have_format_json_and_o(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = make_plan(capsys, tmp_path, "--region", AP)
    journal = tmp_path / "j.sqlite"
    code, out, err = run(capsys, "apply", str(plan), "--journal", str(journal), "--yes", *FAST)
    assert code == 0, out + err
    run_id = Journal(journal).runs()[-1].id
    code, out, _ = run(capsys, "runs", "--journal", str(journal), "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["schema"] == "rdsca.runs/1"
    assert [(r["id"], r["status"], r["steps"]) for r in doc["runs"]] == [(run_id, "done", {"verified": 2})]
    code, out, _ = run(capsys, "runs", "--journal", str(journal), "-o", str(tmp_path / "runs.json"))
    assert code == 0 and out == ""
    assert json.loads((tmp_path / "runs.json").read_text())["runs"][0]["id"] == run_id
    code, out, _ = run(capsys, "default", "show", "--region", AP, "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["schema"] == "rdsca.defaults/1"
    assert {(r["account_id"], r["region"], r["override"]) for r in doc["regions"]} == {
        (A1, AP, False), (A2, AP, False)
    }  # fmt: skip
    code, out, _ = run(capsys, "show", run_id, "--journal", str(journal), "--no-check",
                       "-o", str(tmp_path / "run.json"))  # fmt: skip
    assert code == 0 and json.loads((tmp_path / "run.json").read_text())["schema"] == "rdsca.run/1"


# -- global flags, errors -------------------------------------------------------------------------


def rdsca(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RDSCA, *args], env={**os.environ, **(env or {})}, capture_output=True,
                          text=True, timeout=60)  # fmt: skip


def test_global_flags_after_the_command_mean_the_same(tmp_path: Path) -> None:
    bad = tmp_path / "rdsca.toml"
    bad.write_text("warn_days = [\n")
    after = rdsca("audit", "--debug", env={"RDSCA_CONFIG": str(bad)})
    assert after.returncode != 0 and "Traceback" in after.stderr, after.stderr
    quiet = rdsca("runs", "--journal", str(tmp_path / "none.sqlite"), "-q")
    assert quiet.returncode == 0, quiet.stderr
    verbose = rdsca("trust", "catalogue", "--verbose")
    assert verbose.returncode == 0, verbose.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # click's own words differ between versions (8.1.0: "no such option: --nope"): the
        # pattern pins rdsca's style (the "error: " prefix, one line), not click's phrasing.
        (["audit", "--nope"], r"error: no such option:? '?--nope'?"),
        (["apply"], r"error: missing argument '?PLAN'?"),
        (["audit", "--format", "xml"], r"error: invalid value for '--format' / '-f': '?xml'? is not one of"),
        (["audt"], r"error: no such command '?audt'?"),
    ],
)
def test_usage_errors_have_the_error_style_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    first, usage = err.splitlines()
    assert re.match(message, first), err
    assert usage.startswith("usage: rdsca") and "--help" in usage
    assert "Error:" not in err and "Try '" not in err


# -- tables ---------------------------------------------------------------------------------------


def identifiers(doc: dict[str, Any]) -> set[str]:
    out = set()
    for i in doc["instances"]:
        out |= {i["id"], i["account_id"], i["region"]} | {i["ca"]} - {None}
        out |= {d[:10] for d in (i["server_cert_valid_till"], i["ca_valid_till"]) if d}
    return out


@pytest.mark.parametrize("columns", ["80", "100", "120"])
def test_tables_never_split_an_identifier_a_ca_or_a_date(
    demo: SandboxHandle,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    columns: str,
) -> None:
    code, out, _ = run(capsys, "audit", "--format", "json")
    names = identifiers(json.loads(out))
    bundle = str(resources.files("rdsca.catalog") / "data" / "rds-combined-ca-bundle-2019.pem")
    commands = {
        "audit": ["audit"],
        "cas": ["cas"],
        "readiness": ["readiness", "--to", G1, "--bundle", bundle],
    }
    wide = {name: run(capsys, *args)[1] for name, args in commands.items()}
    monkeypatch.setenv("COLUMNS", columns)
    for command, text in wide.items():
        code, narrow, err = run(capsys, *commands[command])
        assert code in (0, 3), err
        assert max(len(line.rstrip()) for line in narrow.splitlines()) <= int(columns), narrow
        for name in names:  # as often whole at this width as on a line of 220
            assert narrow.count(name) == text.count(name), (command, name, narrow)
    assert "instance" in run(capsys, "audit", "--id", "payments-prod-mysql", "--region", AP)[1]


def test_runs_table_keeps_run_ids_cas_and_dates_whole_at_80(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    plan = make_plan(capsys, tmp_path, "--region", AP)
    journal = tmp_path / "j.sqlite"
    assert run(capsys, "apply", str(plan), "--journal", str(journal), "--yes", *FAST)[0] == 0
    (record,) = Journal(journal).runs()
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run(capsys, "runs", "--journal", str(journal))
    assert code == 0
    for whole in (record.id, record.target_ca, record.created_at):
        assert any(whole in line for line in out.splitlines()), out
    assert max(len(line.rstrip()) for line in out.splitlines()) <= 80, out


def test_one_instance_is_not_1_instances(demo: SandboxHandle, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "audit", "--id", "payments-prod-mysql", "--region", AP)
    assert code == 0 and "1 instance: 1 retired-ca." in out and "1 instances" not in out


# -- completion, regions --------------------------------------------------------------------------


def complete(words: str, env: dict[str, str] | None = None) -> list[str]:
    cword = str(len(words.split()) - (0 if words.endswith(" ") else 1))
    result = rdsca(env={"_RDSCA_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": cword,
                        **(env or {})})  # fmt: skip
    assert result.returncode == 0, result.stderr
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if line]


def test_completion_of_ca_ids_run_ids_and_regions(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert {"rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1"} <= set(complete("rdsca plan --to rds-ca-rsa"))
    assert "rds-ca-ecc384-g1" in complete("rdsca default set rds-ca-e")
    assert {"eu-west-1", "eu-west-2"} <= set(complete("rdsca audit --region eu-west-"))
    assert "us-east-1,eu-west-1" in complete("rdsca audit --region us-east-1,eu-west-")
    plan = make_plan(capsys, tmp_path, "--region", AP)
    journal = tmp_path / "j.sqlite"
    assert run(capsys, "apply", str(plan), "--journal", str(journal), "--yes", *FAST)[0] == 0
    run_id = Journal(journal).runs()[-1].id
    assert complete("rdsca show ", {"RDSCA_JOURNAL": str(journal)}) == [run_id]
    assert complete(f"rdsca rollback --journal {journal} {run_id[:4]}") == [run_id]
    assert complete("rdsca resume ", {"RDSCA_JOURNAL": str(tmp_path / "none")}) == []


def test_default_set_takes_the_region_the_aws_cli_would(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RDSCA_REGIONS")  # rdsca's own region list would win over the AWS CLI's
    monkeypatch.setenv("AWS_DEFAULT_REGION", US)
    monkeypatch.setenv("AWS_REGION", EU)  # AWS_REGION wins, as in the AWS CLI v2
    code, out, err = run(capsys, "default", "set", "rds-ca-rsa4096-g1")
    assert code == 0, err
    assert out.splitlines() == [
        f"{a}/{EU}: default CA for new instances set to rds-ca-rsa4096-g1" for a in (A1, A2)
    ]
    code, out, _ = run(capsys, "default", "show", "--format", "json")
    overridden = {(r["account_id"], r["region"]) for r in json.loads(out)["regions"] if r["override"]}
    assert overridden == {(A1, EU), (A2, EU)}
    code, _, err = run(capsys, "audit", "--help")
    assert "AWS_REGION" in err + run(capsys, "audit", "--help")[1]


def test_every_command_with_a_format_also_writes_a_file_with_o() -> None:
    import click

    from rdsca.cli.app import cli

    def commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
        ctx = click.Context(group)
        out: list[tuple[str, click.Command]] = []
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None
            if isinstance(command, click.Group):
                out += commands(command, f"{prefix}{name} ")
            else:
                out.append((prefix + name, command))
        return out

    with_format = {
        path: {p.name for p in c.params} for path, c in commands(cli) if "fmt" in {p.name for p in c.params}
    }
    assert {"runs", "show", "default show", "audit", "cas", "readiness"} <= set(with_format)
    assert [path for path, names in with_format.items() if "output" not in names] == []


def test_trust_check_counts_one_expired_root_in_the_singular(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The library's messages count their nouns too: one expired root is not "1 expired root(s)"."""
    old = resources.files("rdsca.catalog") / "data" / "rds-combined-ca-bundle-2019.pem"
    first = old.read_text().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    bundle = tmp_path / "one-root.pem"
    bundle.write_text(first)  # rds-ca-2015's root, expired in 2020
    _, out, err = run(capsys, "trust", "check", str(bundle))
    text = " ".join((out + err).split())
    assert "1 expired root (#1 Amazon RDS Root CA)" in text, text
    assert "(s)" not in text
