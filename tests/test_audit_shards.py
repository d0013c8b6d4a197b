"""An organization-wide audit read by worker processes (rdsca.aws.shards), against the stand-in.

The stand-in (bench/standin, its own process) serves 100 accounts x 3 regions (300 account-regions,
above the size from which `--processes auto` splits the read) over HTTP with AWS's wire
protocols, and throttles RDS per account and region far tighter than AWS (a burst of 4, 3 per
second). With worker processes the result must be the one a single process gets: every
account-region, every instance, in the same order; a worker that dies costs its unread targets
(recorded as failed, with the reason), never the audit; secrets stay out of the workers' command
lines and out of the logs they send back.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rdsca.api.audit import audit as run_audit
from rdsca.aws import shards
from rdsca.aws.fleet import MAX_WORKERS, Progress
from rdsca.aws.session import AwsSettings, resolve_targets
from support.cli import run
from support.orgenv import point_at_standin

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from standin import handle

ROLE = "rdsca-audit"
RDSCA = [sys.executable, "-c", "from rdsca.cli.app import run; run()"]
ACCOUNTS, REGIONS, INSTANCES = 100, 3, 900


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[handle.Handle]:
    scale = ["--accounts", str(ACCOUNTS), "--regions", str(REGIONS), "--instances", str(INSTANCES)]
    tight = ["--seed", "11", "--latency-min", "0.005", "--latency-max", "0.03", "--bucket", "rds=4/3"]
    with handle.start(tmp_path_factory.mktemp("standin"), [*scale, *tight]) as sa:
        yield sa


@pytest.fixture
def org_env(standin: handle.Handle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> handle.Handle:
    point_at_standin(monkeypatch, tmp_path, standin.url, secret="testing-secret-key")
    standin.reset()
    return standin


def audit_json(capsys: pytest.CaptureFixture[str], out: Path, *extra: str) -> tuple[int, str, dict]:
    code, _, err = run(capsys, "audit", "--org", "--role-name", ROLE, "-f", "json", "-o", str(out), *extra)
    return code, err, json.loads(out.read_text()) if out.exists() else {}


def without_time(data: dict) -> dict:
    return {k: v for k, v in data.items() if k not in ("generated_at", "collected_at")}


def workers_of(pid: int) -> list[int]:
    """The `python -m rdsca.aws.shards_worker` processes whose parent is `pid` (read from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"rdsca.aws.shards_worker" in cmdline:
            out.append(int(entry.name))
    return out


def test_worker_processes_give_the_result_of_one_process(
    org_env: handle.Handle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code1, err1, one = audit_json(capsys, tmp_path / "one.json", "--processes", "1")
    org_env.reset()
    code2, err2, two = audit_json(capsys, tmp_path / "two.json", "--processes", "2")
    fleet, stats = org_env.fleet(), org_env.stats()

    assert (code1, code2) == (0, 0), err1 + err2
    assert stats["throttled"] > 0, "the stand-in never throttled: the test proves nothing"
    assert "Throttl" not in err2 and "Rate exceeded" not in err2
    assert without_time(two) == without_time(one)  # same records, same order
    read = {(t["account_id"], t["region"]) for t in two["targets"] if t["ok"]}
    assert read == {(a, r) for a in fleet["accounts"] for r in fleet["regions"]}
    assert len(two["instances"]) == fleet["instances"] == INSTANCES


def test_auto_uses_worker_processes_for_a_large_estate_and_progress_counts_them_all(
    org_env: handle.Handle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    seen: list[int] = []
    stop = threading.Event()

    def watch() -> None:  # the workers exist only during the read
        while not stop.wait(0.02):
            seen.extend(workers_of(os.getpid()))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        code, err, data = audit_json(capsys, tmp_path / "a.json", "--progress", "lines")
    finally:
        stop.set()
        watcher.join()
    assert code == 0, err
    if os.cpu_count() and len(os.sched_getaffinity(0)) > 1:
        assert len(set(seen)) >= 2, "auto did not start a worker process per CPU"
    last = [x for x in err.splitlines() if x.startswith("audit: ")][-1]
    counts = f"audit: 300 of 300 account-regions, {ACCOUNTS} of {ACCOUNTS} accounts, 900 instances"
    assert last.startswith(counts)
    assert last.endswith(", done")
    assert len(data["instances"]) == INSTANCES


def test_a_killed_worker_costs_its_unread_targets_not_the_audit(
    org_env: handle.Handle, monkeypatch: pytest.MonkeyPatch
) -> None:
    org_env.configure(latency_min=0.05, latency_max=0.1)  # slow enough to kill a worker mid-read
    killed: list[int] = []
    cmdlines: list[bytes] = []
    lock = threading.Lock()

    def progress(p: Progress) -> None:
        with lock:
            if killed or p.targets_done < 20:
                return
            pids = workers_of(os.getpid())
            for pid in pids:
                cmdlines.append(Path(f"/proc/{pid}/cmdline").read_bytes())
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

    settings = AwsSettings(endpoint_url=org_env.url)
    targets = resolve_targets(org=True, role_name=ROLE, settings=settings)
    try:
        result = run_audit(targets, processes=2, progress=progress)
    finally:
        org_env.configure(latency_min=0.005, latency_max=0.03)

    assert killed, "no worker process was seen"
    assert all(b"secret" not in c and b"ASIA" not in c for c in cmdlines), "keys on a command line"
    fleet = result.fleet
    assert len(fleet.targets) == ACCOUNTS * REGIONS  # none silently missing
    failed = fleet.failed
    assert failed, "the killed worker's targets were not recorded as failed"
    assert all("killed by signal 9" in (t.error or "") for t in failed), failed[0].error
    # Only what the killed worker held: the queue went on to the other worker.
    assert len(failed) <= shards.HELD_PER_THREAD * (MAX_WORKERS // 2), len(failed)
    ok = {t.target.key for t in fleet.targets if t.ok}
    assert {(i.account_id, i.region) for i in fleet.instances} <= {
        (t.target.account_id, t.target.region) for t in fleet.targets if t.ok
    }
    assert ok


def test_debug_logs_of_the_workers_reach_the_user_masked(
    org_env: handle.Handle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, err, _ = audit_json(capsys, tmp_path / "a.json", "--processes", "2", "--debug")
    assert code == 0, err
    assert "DescribeDBInstances" in err  # botocore's debug lines, sent back by the workers
    assert "bench-secret-" not in err and "testing-secret-key" not in err


@pytest.mark.parametrize("value", ["0", "-1", "two", ""])
def test_a_bad_process_count_is_one_line_and_exit_2(
    org_env: handle.Handle, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    code, _, err = run(capsys, "audit", "--processes", value)
    assert code == 2
    assert "error:" in err and "--processes" in err


def alive(pid: int) -> bool:
    """Whether `pid` still runs (a zombie waiting for its reaper does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_until(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM", "Ctrl-C"])
def test_workers_stop_calling_aws_when_the_audit_is_killed(
    org_env: handle.Handle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, how: str
) -> None:
    """A killed or terminated audit leaves no worker reading on for a report nobody will write."""
    org_env.configure(latency_min=0.6, latency_max=1.2)  # the read takes far longer than the test waits
    try:
        proc = subprocess.Popen(
            [*RDSCA, "audit", "--org", "--role-name", ROLE, "--processes", "2", "-f", "json",
             "-o", str(tmp_path / "a.json")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )  # fmt: skip
        assert wait_until(lambda: len(workers_of(proc.pid)) == 2 or proc.poll() is not None, 30)
        workers = workers_of(proc.pid)
        assert len(workers) == 2, proc.communicate()
        assert wait_until(lambda: org_env.stats()["by_action"].get("DescribeDBInstances", 0) > 0, 30)
        if how == "Ctrl-C":  # a terminal's Ctrl-C reaches the whole process group, workers too
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(getattr(signal, how))
        proc.wait(timeout=30)  # not communicate(): that would wait for whoever holds its pipes
        # Gone at once: reading on would take each worker its queue of targets (some 10 s here).
        assert wait_until(lambda: not any(alive(pid) for pid in workers), 2), "a worker outlived the audit"
        out, err = proc.communicate(timeout=30)
        assert out == ""  # the report's stream: no worker writes to it
        if how != "SIGKILL":
            assert proc.returncode == {"SIGTERM": 143, "Ctrl-C": 130}[how], err
            assert "Traceback" not in err and "unexpected" not in err, err
        calls = org_env.stats()["total"]
        time.sleep(1.5)  # more than the stand-in's longest latency: a call still in flight has landed
        assert org_env.stats()["total"] == calls, "AWS was still called after the audit ended"
    finally:
        org_env.configure(latency_min=0.005, latency_max=0.03)
