"""Two network faults the audit's other fault tests leave open, through the real CLI (`main`) with the
loopback fault proxy (tests/support/faultproxy.py) between rdsca and the server.

1. A region whose every call gets an error page from a proxy or load balancer (502, or an HTML 503),
   on every attempt. botocore retries a 5xx (standard mode, AwsSettings.max_attempts attempts, with
   a back-off between them); the audit must still end in bounded time (at most one retry chain
   beyond a clean read, however many account-regions the region holds: they are read side by
   side), with that region's targets failed, one line each, exit 4 (docs/exit-codes.md), and every
   other region read exactly as without the fault. What bounds it: botocore's back-off between
   attempts (rand x 2^i x 50 ms on the botocore of .venv, at most 1.55 s a call; rand x 2^i x 1 s
   on botocore 1.34, the minimum: 15.5 s a call on average, 31 s at most), and its retry quota, per
   client, i.e. per process and region, which stops the retries once a region has used it up.
2. A reply lost after the server took the call: the connection closed without a byte of reply
   (`drop_reply`), or never answered until the client gives up (`hang_reply`). Every call of the
   audit is a read, safe to send again: the result must be the clean read's, in bounded time, with
   no target missing.

With one process (the moto sandbox's demo fleet, 2 accounts x 3 regions) and with worker processes
(the stand-in of bench/standin, 70 accounts x 3 regions: above shards.SHARD_MIN_TARGETS).

How long a reply that never comes costs: the audit's read timeout per attempt, `--read-timeout`
(default 30 s; botocore's own settings do not reach it, rdsca passing an explicit Config). The
`hang_reply` tests shorten it with that flag, which the workers' clients must honour too.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.retries.standard import ExponentialBackoff

from rdsca.aws import shards
from rdsca.aws.session import AwsSettings
from rdsca.cli.app import main
from rdsca.sandbox import demo
from support.faultproxy import FaultProxy, Rule, drop_reply, hang_reply, html_error
from support.orgenv import ACCOUNTS, INSTANCES, REGIONS, proxied, small_standin
from support.sandbox import SandboxHandle

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from standin import handle

MAX_ATTEMPTS = AwsSettings().max_attempts
SHORT_READ_TIMEOUT = 2.0  # the hang tests' --read-timeout (default 30 s)
SLACK = 10.0  # seconds: a loaded 2-core machine's noise
EU = "eu-west-1"  # the demo fleet's failing region (not the home region, where STS is called)
# Every call the audit makes (docs/audit.md's table, and reaching the accounts).
RDS_READS = (
    "DescribeDBInstances",
    "DescribeCertificates",
    "DescribePendingMaintenanceActions",
    "DescribeDBEngineVersions",
    "DescribeEvents",
)
REACH = ("GetCallerIdentity", "AssumeRole")
ORG_REACH = (*REACH, "ListAccounts", "DescribeRegions")

ROLE = "rdsca-audit"
ORG = ("--org", "--role-name", ROLE)
FAILING = "us-east-2"  # the stand-in's failing region (STS and Organizations are in us-east-1)
assert ACCOUNTS * REGIONS >= shards.SHARD_MIN_TARGETS  # or --processes 2 would read in this process


def longest_backoff(attempts: int = MAX_ATTEMPTS) -> float:
    """The longest botocore's standard retry mode sleeps between `attempts` attempts of one call that
    keeps failing with a 5xx or a lost connection: its own back-off, asked with rand() = 1. 1.55 s
    for 6 attempts on the botocore of .venv (a 50 ms base), 31 s on botocore 1.34 (a 1 s base)."""
    backoff = ExponentialBackoff(random=lambda: 1.0)
    context = partial(SimpleNamespace, http_response=None)
    return float(sum(backoff.delay_amount(context(attempt_number=n)) for n in range(1, attempts)))


def bound(clean_seconds: float, chains: int = 1, attempts: int = MAX_ATTEMPTS, hangs: int = 0) -> float:
    """The longest a faulty audit may take: twice the clean read (noise), `chains` retry chains one
    after another, `hangs` read timeouts, and some slack. A cost per target or per instance in the
    faulty region (70 of them with the stand-in) would be far above it."""
    return 2 * clean_seconds + chains * longest_backoff(attempts) + hangs * SHORT_READ_TIMEOUT + SLACK


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str
    data: dict[str, Any]
    seconds: float


def audit(capsys: pytest.CaptureFixture[str], output: Path | None, *args: str) -> Run:
    """`rdsca audit ARGS` (JSON into `output` when given, else the table on stdout), timed."""
    fmt = ["-f", "json", "-o", str(output)] if output is not None else []
    capsys.readouterr()
    started = time.monotonic()
    code = main(["audit", *args, *fmt])
    seconds = time.monotonic() - started
    out, err = capsys.readouterr()
    data = json.loads(output.read_text()) if output is not None and output.exists() else {}
    return Run(code, out, err, data, seconds)


def assert_clean(err: str) -> None:
    assert "Traceback" not in err and "unexpected" not in err.lower(), err
    assert "a worker process of the audit failed" not in err, err


def without_time(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "generated_at"}


def outside(data: dict[str, Any], region: str) -> dict[str, list[dict[str, Any]]]:
    """The targets, CAs and instances of every region but `region`, in the report's order."""
    return {k: [x for x in data[k] if x["region"] != region] for k in ("targets", "authorities", "instances")}


def failed(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(t["account_id"], t["region"], t["error"]) for t in data["targets"] if not t["ok"]]


def calls_in(proxy: FaultProxy, region: str) -> Counter[str]:
    return Counter(s.action for s in proxy.calls() if s.region == region)


def lost_and_taken(proxy: FaultProxy, rule: Rule) -> list[int | None]:
    """The upstream's status for each call `rule` lost: 200 each time the server took the call."""
    return [s.upstream_status for s in proxy.calls(rule.action) if s.kind == rule.kind]


# --- one process: the moto sandbox's demo fleet -------------------------------------------------


@pytest.fixture
def clean(
    estate: SandboxHandle, fault_proxy: FaultProxy, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Run:
    """The demo fleet read through the fault proxy with no fault: what each test compares with."""
    run = audit(capsys, tmp_path / "clean.json", "--processes", "1")
    fault_proxy.clear()  # its log: the faulty audit's calls only
    assert run.code == 0, run.err
    assert {t["region"] for t in run.data["targets"]} == set(demo.REGIONS)
    assert all(t["ok"] for t in run.data["targets"])
    assert [i for i in run.data["instances"] if i["region"] == EU]  # the fault will have something to hide
    return run


@pytest.mark.parametrize("status", [502, 503])
def test_a_region_answering_every_call_with_an_error_page_fails_alone_in_bounded_time(
    fault_proxy: FaultProxy, clean: Run, capsys: pytest.CaptureFixture[str], tmp_path: Path, status: int
) -> None:
    rule = fault_proxy.add(html_error(status, region=EU))
    run = audit(capsys, tmp_path / "a.json", "--processes", "1")

    assert run.code == 4, run.err  # partial
    assert_clean(run.err)
    reason = f"{status}: {HTTPStatus(status).phrase}"
    assert failed(run.data) == [(a, EU, reason) for a in demo.ACCOUNTS]
    assert outside(run.data, EU) == outside(clean.data, EU)  # every other region, all of it
    assert [i["id"] for i in run.data["instances"] if i["region"] == EU] == []
    # A target stops at its first page of instances; that call and the certificates' (started
    # beside it) are each tried MAX_ATTEMPTS times by botocore, and rdsca adds no retry of its own.
    assert calls_in(fault_proxy, EU) == {
        "DescribeDBInstances": len(demo.ACCOUNTS) * MAX_ATTEMPTS,
        "DescribeCertificates": len(demo.ACCOUNTS) * MAX_ATTEMPTS,
    }
    assert rule.fired == 2 * len(demo.ACCOUNTS) * MAX_ATTEMPTS
    assert run.seconds <= bound(clean.seconds), (run.seconds, clean.seconds, longest_backoff())


def test_each_target_of_a_region_behind_an_error_page_is_one_failed_line(
    fault_proxy: FaultProxy, clean: Run, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fault_proxy.add(html_error(503, region=EU))
    run = audit(capsys, None, "--processes", "1")

    assert run.code == 4, run.err
    assert_clean(run.err)
    lines = run.out.splitlines()
    failed_lines = [line for line in lines if line.startswith("FAILED")]
    assert failed_lines == [f"FAILED {a} {EU}: 503: Service Unavailable" for a in demo.ACCOUNTS]
    assert "503" not in run.err and "Service Unavailable" not in run.err  # said once, not again on stderr
    shown = sum(line.split()[0] in {i["id"] for i in clean.data["instances"]} for line in lines if line)
    assert shown == len(outside(clean.data, EU)["instances"])  # every instance of the other regions
    assert run.seconds <= bound(clean.seconds)


@pytest.mark.parametrize("action", [*RDS_READS, *REACH])
def test_a_dropped_reply_to_a_read_is_asked_again_and_the_result_is_the_clean_one(
    fault_proxy: FaultProxy, clean: Run, capsys: pytest.CaptureFixture[str], tmp_path: Path, action: str
) -> None:
    """The proxy forwards the call, the server answers, and the connection is closed without a byte
    of the reply; three times (fewer than MAX_ATTEMPTS, even if the three are one call's)."""
    rule = fault_proxy.add(drop_reply(action, count=3))
    run = audit(capsys, tmp_path / "a.json", "--processes", "1")

    assert rule.fired == 3
    assert lost_and_taken(fault_proxy, rule) == [200, 200, 200]  # the server took each
    assert run.code == 0, run.err
    assert_clean(run.err)
    assert without_time(run.data) == without_time(clean.data)
    assert run.seconds <= bound(clean.seconds, attempts=4)


@pytest.mark.parametrize("action", [*RDS_READS, *REACH])
def test_a_reply_that_never_comes_times_out_is_asked_again_and_the_result_is_the_clean_one(
    fault_proxy: FaultProxy,
    clean: Run,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    action: str,
) -> None:
    rule = fault_proxy.add(hang_reply(action, count=2))
    run = audit(capsys, tmp_path / "a.json", "--processes", "1", "--read-timeout", str(SHORT_READ_TIMEOUT))

    assert rule.fired == 2
    assert lost_and_taken(fault_proxy, rule) == [200, 200]
    assert run.code == 0, run.err
    assert_clean(run.err)
    assert without_time(run.data) == without_time(clean.data)
    assert run.seconds <= bound(clean.seconds, attempts=3, hangs=2)


# --- worker processes: the stand-in, 70 accounts x 3 regions --------------------------------------


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[handle.Handle]:
    with small_standin(tmp_path_factory.mktemp("standin")) as sa:
        yield sa


@pytest.fixture
def proxy(standin: handle.Handle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FaultProxy]:
    """rdsca's every call through a fault proxy in front of the stand-in (no rules yet)."""
    standin.reset()
    with proxied(monkeypatch, tmp_path, standin.url) as fp:
        yield fp


@pytest.fixture(scope="module")
def org_clean(standin: handle.Handle, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The organization read by two worker processes through a proxy with no fault."""
    tmp = tmp_path_factory.mktemp("clean")
    with pytest.MonkeyPatch.context() as mp, proxied(mp, tmp, standin.url):
        started = time.monotonic()
        code = main(["audit", *ORG, "--processes", "2", "-f", "json", "-o", str(tmp / "clean.json")])
        seconds = time.monotonic() - started
    data = json.loads((tmp / "clean.json").read_text())
    assert code == 0
    assert len(data["targets"]) == ACCOUNTS * REGIONS and all(t["ok"] for t in data["targets"])
    assert len(data["instances"]) == INSTANCES
    return Run(code, "", "", data, seconds)


@pytest.mark.parametrize(
    ("processes", "fault"),
    [("1", "502"), ("2", "502"), ("2", "503"), ("2", "closed")],
)
def test_a_region_failing_every_call_costs_one_retry_chain_not_one_per_target(
    proxy: FaultProxy,
    org_clean: Run,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    processes: str,
    fault: str,
) -> None:
    """70 account-regions in the failing region, read side by side: the time is the clean read's
    plus one retry chain, and botocore's retry quota (per client, so per process and region) cuts
    the retries short once the region has used it up."""
    region = FAILING
    rule = proxy.add(
        drop_reply(region=region) if fault == "closed" else html_error(int(fault), region=region)
    )
    run = audit(capsys, tmp_path / "a.json", *ORG, "--processes", processes)

    assert run.code == 4, run.err
    assert_clean(run.err)
    accounts = [t["account_id"] for t in org_clean.data["targets"] if t["region"] == region]
    assert len(accounts) == ACCOUNTS
    got = failed(run.data)
    assert [(a, r) for a, r, _ in got] == [(a, region) for a in accounts]
    if fault == "closed":
        reason = got[0][2]
        assert reason.startswith("ConnectionClosedError: Connection was closed before"), reason
    else:
        reason = f"{fault}: {HTTPStatus(int(fault)).phrase}"
    assert {e for _, _, e in got} == {reason} and "\n" not in reason
    assert outside(run.data, region) == outside(org_clean.data, region)
    assert [i["id"] for i in run.data["instances"] if i["region"] == region] == []
    asked = calls_in(proxy, region)
    assert set(asked) == {"DescribeDBInstances", "DescribeCertificates"}, asked
    assert ACCOUNTS <= asked["DescribeDBInstances"] <= ACCOUNTS * MAX_ATTEMPTS, asked
    assert rule.fired <= 2 * ACCOUNTS * MAX_ATTEMPTS
    assert run.seconds <= bound(org_clean.seconds), (run.seconds, org_clean.seconds, longest_backoff())


def test_dropped_replies_to_every_kind_of_read_change_nothing_with_workers(
    proxy: FaultProxy, org_clean: Run, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rules = [proxy.add(drop_reply(action, count=3)) for action in (*RDS_READS, *ORG_REACH)]
    run = audit(capsys, tmp_path / "a.json", *ORG, "--processes", "2")

    assert {r.action: r.fired for r in rules} == {r.action: 3 for r in rules}
    assert all(lost_and_taken(proxy, r) == [200, 200, 200] for r in rules)
    assert run.code == 0, run.err
    assert_clean(run.err)
    assert without_time(run.data) == without_time(org_clean.data)
    assert run.seconds <= bound(org_clean.seconds, chains=3, attempts=4)


def test_replies_that_never_come_to_every_kind_of_read_change_nothing_with_workers(
    proxy: FaultProxy,
    org_clean: Run,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The shortened read timeout is the workers' too (the settings travel with their targets)."""
    rules = [proxy.add(hang_reply(action, count=2)) for action in (*RDS_READS, *ORG_REACH)]
    run = audit(
        capsys, tmp_path / "a.json", *ORG, "--processes", "2", "--read-timeout", str(SHORT_READ_TIMEOUT)
    )

    assert {r.action: r.fired for r in rules} == {r.action: 2 for r in rules}
    assert all(lost_and_taken(proxy, r) == [200, 200] for r in rules)
    assert run.code == 0, run.err
    assert_clean(run.err)
    assert without_time(run.data) == without_time(org_clean.data)
    # Reaching the accounts (caller, organization, roles, regions) comes before reading them, so
    # their hangs add up; the reads' run side by side.
    assert run.seconds <= bound(org_clean.seconds, chains=3, attempts=3, hangs=2 * (len(ORG_REACH) + 1))


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon", "7200"])
def test_a_read_timeout_that_cannot_be_one_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], value: str
) -> None:
    code = main(["audit", "--read-timeout", value])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and "--read-timeout" in err and "Traceback" not in err, err
