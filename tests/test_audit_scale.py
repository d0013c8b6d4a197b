"""An organization-wide audit through the real entry point, against the benchmark's stand-in.

The stand-in (bench/standin, its own process) serves a seeded organization of 20 accounts x 3
regions over HTTP with AWS's wire protocols, and throttles RDS calls per account and region with a
bucket far tighter than AWS's (a burst of 4, 3 per second), so an audit is throttled many times.
The user must see none of it: every account-region read, every instance reported, exit 0.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cli import run
from support.orgenv import point_at_standin

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from standin import handle

ROLE = "rdsca-audit"


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[handle.Handle]:
    scale = ["--accounts", "20", "--regions", "3", "--instances", "600", "--seed", "7"]
    tight = ["--latency-min", "0.005", "--latency-max", "0.02", "--bucket", "rds=4/3"]
    with handle.start(tmp_path_factory.mktemp("standin"), [*scale, *tight]) as sa:
        yield sa


@pytest.fixture
def org_env(standin: handle.Handle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> handle.Handle:
    point_at_standin(monkeypatch, tmp_path, standin.url)
    standin.reset()
    return standin


def test_throttling_is_retried_and_never_reaches_the_user(
    org_env: handle.Handle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "audit.json"
    code, _, err = run(capsys, "audit", "--org", "--role-name", ROLE, "--format", "json", "-o", str(out))
    fleet, stats = org_env.fleet(), org_env.stats()
    data = json.loads(out.read_text())

    assert stats["throttled"] > 0, "the stand-in never throttled: the test proves nothing"
    assert code == 0, err
    assert "Throttl" not in err and "Rate exceeded" not in err
    read = {(t["account_id"], t["region"]) for t in data["targets"] if t["ok"]}
    assert read == {(a, r) for a in fleet["accounts"] for r in fleet["regions"]}
    assert len(data["instances"]) == fleet["instances"] == 600
    on_retired = sum(1 for i in data["instances"] if i["ca"] == "rds-ca-2019")
    assert on_retired == fleet["on_retired_ca"]


def test_progress_lines_count_account_regions_accounts_and_instances(
    org_env: handle.Handle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "audit.json"
    args = ("--org", "--role-name", ROLE, "--format", "json", "-o", str(out), "--progress", "lines")
    code, stdout, err = run(capsys, "audit", *args)
    assert code == 0, err
    assert stdout == ""  # progress goes to stderr only
    lines = [x for x in err.splitlines() if x.startswith("audit: ")]
    assert lines[0] == "audit: reaching the accounts and regions..."
    pattern = re.compile(
        r"audit: (\d+) of 60 account-regions, (\d+) of 20 accounts, ([\d,]+) instances"
        r"(, \d+ throttled and retried)?; \d+ (s|min \d\d s)(, about .+ left|, done)?$"
    )
    found = [pattern.match(x) for x in lines[1:]]
    assert found and all(found), lines
    last = found[-1]
    assert last is not None and last.group(0).endswith(", done")
    assert (last.group(1), last.group(2), last.group(3)) == ("60", "20", "600")
    done = [int(m.group(1)) for m in found if m]
    assert done == sorted(done)


def test_no_progress_without_a_terminal_unless_asked(
    org_env: handle.Handle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(
        capsys, "audit", "--org", "--role-name", ROLE, "-f", "json", "-o", str(tmp_path / "a.json")
    )
    assert code == 0, err
    assert not [x for x in err.splitlines() if x.startswith("audit: ")]
