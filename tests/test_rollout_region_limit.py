"""`--max-parallel-per-region` through the CLI against the sandbox over HTTP: a wave's steps start
only while both limits allow, a full region does not hold back the others, the limit given to
`apply` is the run's (the journal keeps it for resume), old plan files still load, bad values
are refused in one line."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from rdsca.rollout.journal import Journal
from support.cli import run
from support.sandbox import SandboxHandle

A1 = "111111111111"
US, EU = "us-east-1", "eu-west-1"
G1 = "rds-ca-rsa2048-g1"
FAST = ("--poll-interval", "0.05", "--yes", "--no-measure-downtime")


@pytest.fixture
def two_regions(sandbox_env: SandboxHandle) -> SandboxHandle:
    """4 instances in each of two regions, all to be rotated; each change takes 0.4 s."""
    sandbox_env.control.seed_synthetic([A1], [US, EU], per_region=4, retired_fraction=1.0)
    sandbox_env.control.config(reboot_seconds=0.4)
    return sandbox_env


def make_plan(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> tuple[Path, str]:
    path = tmp_path / "plan.json"
    code, out, err = run(capsys, "plan", "--to", G1, "--region", f"{US},{EU}", "-o", str(path), *args)
    assert code == 0, err
    return path, out


def apply(capsys: pytest.CaptureFixture[str], plan: Path, journal: Path, *args: str) -> str:
    code, out, err = run(capsys, "apply", str(plan), "--region", f"{US},{EU}", "--journal", str(journal),
                         *FAST, *args)  # fmt: skip
    assert code == 0, out + err
    return next(line.split()[1] for line in out.splitlines() if line.startswith("run "))


def concurrency(journal: Path, run_id: str) -> list[Counter[str]]:
    """Steps under way per region after each journalled event (from "modify-sending" to "verified")."""
    under_way: Counter[str] = Counter()
    seen = []
    for e in Journal(journal).events(run_id):
        region = (e.step_key or "").split("/")[1] if e.step_key else ""
        if e.event == "modify-sending":
            under_way[region] += 1
        elif e.event == "verified":
            under_way[region] -= 1
        seen.append(Counter(under_way))
    return seen


def check_one_per_region(journal: Path, run_id: str) -> None:
    steps = Journal(journal).steps(run_id)
    assert len(steps) == 8 and all(s.status == "verified" for s in steps)
    seen = concurrency(journal, run_id)
    assert max(c[r] for c in seen for r in (US, EU)) == 1  # never two steps of one region at once
    # Both regions go on together (one of each under way), not one region after the other.
    together = sum(1 for c in seen if c[US] == 1 and c[EU] == 1)
    assert together >= 3, seen


def test_per_region_limit_runs_one_step_per_region_and_regions_together(
    two_regions: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan, out = make_plan(capsys, tmp_path, "--max-parallel", "3", "--max-parallel-per-region", "1")
    assert "at most 3 at a time, 1 per account-region" in out
    doc = json.loads(plan.read_text())
    assert doc["policy"]["max_parallel"] == 3 and doc["policy"]["max_parallel_per_region"] == 1
    # The plan's order puts every step of one region first: a limit per wave alone would start
    # three steps of that region; the full region is passed over for the other region's steps.
    regions = [s["region"] for s in doc["steps"]]
    assert regions == sorted(regions)
    journal = tmp_path / "j.sqlite"
    run_id = apply(capsys, plan, journal)
    check_one_per_region(journal, run_id)
    assert two_regions.control.call_count("ModifyDBInstance") == 8


def test_apply_sets_the_limit_and_the_journal_keeps_it_for_resume(
    two_regions: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan, out = make_plan(capsys, tmp_path, "--max-parallel", "3")
    assert "at most 3 at a time," in out and "per account-region" not in out
    doc = json.loads(plan.read_text())
    assert "max_parallel_per_region" not in doc["policy"]  # a plan as written before the option
    journal = tmp_path / "j.sqlite"
    run_id = apply(capsys, plan, journal, "--max-parallel-per-region", "1")
    check_one_per_region(journal, run_id)
    kept = json.loads(Journal(journal).run(run_id).plan_json)["policy"]  # what resume and rollback read
    assert kept["max_parallel"] == 3 and kept["max_parallel_per_region"] == 1


def test_without_the_limit_a_region_takes_every_slot(
    two_regions: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan, _ = make_plan(capsys, tmp_path, "--max-parallel", "3")
    journal = tmp_path / "j.sqlite"
    run_id = apply(capsys, plan, journal)
    assert max(c[r] for c in concurrency(journal, run_id) for r in (US, EU)) == 3


def _checksum(doc: dict[str, object]) -> str:
    body = {k: v for k, v in doc.items() if k != "checksum"}
    blob = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def one_error(result: tuple[int, str, str], *fragments: str) -> None:
    code, _out, err = result
    lines = [line for line in err.splitlines() if line.lower().startswith("error: ")]
    assert code == 2 and len(lines) == 1, err
    assert all(f in lines[0] for f in fragments), lines[0]


@pytest.mark.parametrize("value", ["0", "-1", "x", "1.5"])
def test_bad_values_exit_2_with_one_line(
    two_regions: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path, value: str
) -> None:
    one_error(
        run(capsys, "plan", "--to", G1, "--max-parallel-per-region", value), "--max-parallel-per-region"
    )
    plan, _ = make_plan(capsys, tmp_path)
    two_regions.control.reset_calls()
    for option in ("--max-parallel", "--max-parallel-per-region"):
        one_error(run(capsys, "apply", str(plan), *FAST, option, value), option)
    assert two_regions.control.call_count() == 0


@pytest.mark.parametrize("value", [0, "1", True])
def test_a_plan_file_with_a_bad_limit_is_refused(
    two_regions: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path, value: object
) -> None:
    plan, _ = make_plan(capsys, tmp_path)
    doc = json.loads(plan.read_text())
    doc["policy"]["max_parallel_per_region"] = value
    doc["checksum"] = _checksum(doc)
    plan.write_text(json.dumps(doc))
    two_regions.control.reset_calls()
    result = run(capsys, "apply", str(plan), "--journal", str(tmp_path / "j.sqlite"), *FAST)
    one_error(result, "policy.max_parallel_per_region")
    assert two_regions.control.call_count() == 0
