"""An organization-wide audit read by worker processes (rdsca.aws.shards), behind a broken network.

The fault proxy (tests/support/faultproxy.py) sits between rdsca and the stand-in (bench/standin):
an HTML error page from a corporate proxy, a garbled or reset reply, a slow reply. Whatever the
network does to some calls, the sharded audit must end as a single process would: every
account-region in `targets` (read, or failed with a one-line reason), never a crash of the whole
audit, never a target silently read short, and exit code 4 (partial) when some targets failed.

The estate is 70 accounts x 3 regions (210 account-regions): above SHARD_MIN_TARGETS, so that
`--processes 2` really starts worker processes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rdsca.api.audit import audit as run_audit
from rdsca.aws import shards
from rdsca.aws.session import AwsSettings, TargetQuery
from rdsca.cli.app import main
from support.cli import run
from support.faultproxy import (
    FaultProxy,
    _parse_head,
    delay_reply,
    garbage_reply,
    html_error,
    identify,
    reset_before,
    reset_reply,
)
from support.orgenv import ACCOUNTS, INSTANCES, REGIONS, point_at_standin, proxied, small_standin

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from standin import handle

ROLE = "rdsca-audit"
TARGETS = ACCOUNTS * REGIONS
assert TARGETS >= shards.SHARD_MIN_TARGETS  # or --processes 2 would read in this process


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[handle.Handle]:
    with small_standin(tmp_path_factory.mktemp("standin")) as sa:
        yield sa


@pytest.fixture(scope="module")
def baseline(standin: handle.Handle, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The JSON report of a sharded audit straight to the stand-in, no proxy, no fault."""
    tmp = tmp_path_factory.mktemp("baseline")
    out = tmp / "baseline.json"
    with pytest.MonkeyPatch.context() as mp:
        point_at_standin(mp, tmp, standin.url)
        code = main(["audit", "--org", "--role-name", ROLE, "--processes", "2", "-f", "json", "-o", str(out)])
    data = json.loads(out.read_text())
    assert code == 0
    assert len(data["targets"]) == TARGETS and all(t["ok"] for t in data["targets"])
    assert len(data["instances"]) == INSTANCES
    return data


@pytest.fixture
def proxy(standin: handle.Handle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FaultProxy]:
    """rdsca's every call through a fault proxy in front of the stand-in (no rules yet)."""
    standin.reset()
    with proxied(monkeypatch, tmp_path, standin.url) as fp:
        yield fp


def audit_json(capsys: pytest.CaptureFixture[str], out: Path, *extra: str) -> tuple[int, str, dict]:
    code, _, err = run(
        capsys,
        "audit",
        "--org",
        "--role-name",
        ROLE,
        "--processes",
        "2",
        "-f",
        "json",
        "-o",
        str(out),
        *extra,
    )
    return code, err, json.loads(out.read_text()) if out.exists() else {}


def without_time(data: dict) -> dict:
    return {k: v for k, v in data.items() if k not in ("generated_at", "collected_at")}


def keys(targets: list[dict]) -> list[tuple[str, str]]:
    return [(t["account_id"], t["region"]) for t in targets]


def instances_by_target(data: dict) -> dict[tuple[str, str], list[dict]]:
    out: dict[tuple[str, str], list[dict]] = {}
    for inst in data["instances"]:
        out.setdefault((inst["account_id"], inst["region"]), []).append(inst)
    return out


def assert_clean(err: str) -> None:
    assert "Traceback" not in err and "unexpected" not in err.lower(), err
    assert "a worker process of the audit failed" not in err, err


def assert_read_or_failed(data: dict, baseline: dict) -> list[dict]:
    """Every target of the baseline is in `data`, in order; each read one has exactly the baseline's
    instances (none read short); each failed one a one-line reason. Returns the failed ones."""
    assert keys(data["targets"]) == keys(baseline["targets"])  # none missing, none twice, same order
    failed = [t for t in data["targets"] if not t["ok"]]
    for t in failed:
        assert t["error"] and "\n" not in t["error"], t
    got, want = instances_by_target(data), instances_by_target(baseline)
    for t in data["targets"]:
        key = (t["account_id"], t["region"])
        if t["ok"]:
            assert got.get(key, []) == want.get(key, []), key
        else:
            assert key not in got, f"a failed target reported instances: {key}"
    return failed


def test_an_html_error_page_for_one_region_fails_that_region_only(
    proxy: FaultProxy, baseline: dict, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    region = baseline["targets"][0]["region"]
    # 403: a corporate proxy refusing; botocore does not retry it (a 502 would be, for ~15 s each).
    proxy.add(html_error(403, action="DescribeDBInstances", region=region))
    code, err, data = audit_json(capsys, tmp_path / "a.json")

    assert code == 4, err  # partial (docs/exit-codes.md)
    assert_clean(err)
    failed = assert_read_or_failed(data, baseline)
    assert len(data["targets"]) == TARGETS
    assert {t["region"] for t in failed} == {region}
    assert len(failed) == ACCOUNTS  # every account's target in that region, no other
    # A 4xx page is not XML ('<hr>' is never closed): botocore cannot parse it (no status in the reason).
    assert all("not an AWS response" in t["error"] for t in failed), failed[0]["error"]
    assert proxy.count("DescribeDBInstances", forwarded_only=False) >= TARGETS


def test_a_transient_502_page_is_retried_and_costs_nothing(
    proxy: FaultProxy, baseline: dict, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rule = proxy.add(html_error(502, action="DescribeDBInstances", count=4))
    code, err, data = audit_json(capsys, tmp_path / "a.json")

    assert rule.fired == 4
    assert (code, assert_read_or_failed(data, baseline)) == (0, []), err
    assert_clean(err)
    assert without_time(data) == without_time(baseline)


def test_garbled_and_reset_replies_are_retried_or_failed_never_lost(
    proxy: FaultProxy, baseline: dict, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    garbled = proxy.add(garbage_reply(action="DescribeDBInstances", count=3))
    reset = proxy.add(reset_reply(action="DescribeCertificates", count=3))
    before = proxy.add(reset_before(action="DescribePendingMaintenanceActions", count=3))
    events = proxy.add(garbage_reply(action="DescribeEvents", count=2))
    code, err, data = audit_json(capsys, tmp_path / "a.json")

    assert garbled.fired == reset.fired == 3 and events.fired == 2
    assert_clean(err)
    failed = assert_read_or_failed(data, baseline)
    assert len(data["targets"]) == TARGETS
    # A truncated reply is not retried (the call may have been served): at most one target each.
    assert 1 <= len(failed) <= garbled.fired + events.fired + before.fired, failed
    assert code == 4, err
    reasons = {t["error"] for t in failed}
    assert any("not an AWS response" in r for r in reasons), reasons


def test_resets_alone_are_retried_and_the_result_is_the_baseline(
    proxy: FaultProxy, baseline: dict, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rules = [
        proxy.add(reset_reply(action="DescribeDBInstances", count=3)),
        proxy.add(reset_before(action="DescribeDBInstances", count=3)),
        proxy.add(reset_before(action="DescribeCertificates", count=2)),
    ]
    code, err, data = audit_json(capsys, tmp_path / "a.json")

    assert [r.fired for r in rules] == [3, 3, 2]
    assert code == 0, err
    assert_clean(err)
    assert without_time(data) == without_time(baseline)


def test_slow_replies_change_nothing(
    proxy: FaultProxy, baseline: dict, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Slow, within rdsca's read timeout (30 s, not settable from the command line)."""
    slow = proxy.add(delay_reply(2.0, action="DescribeDBInstances", count=3))
    slow_certs = proxy.add(delay_reply(2.0, action="DescribeCertificates", count=2))
    code, err, data = audit_json(capsys, tmp_path / "a.json")

    assert (slow.fired, slow_certs.fired) == (3, 2)
    assert code == 0, err
    assert_clean(err)
    assert without_time(data) == without_time(baseline)


def test_replies_slower_than_the_read_timeout_are_retried_in_the_workers(
    proxy: FaultProxy, baseline: dict
) -> None:
    """The library's settings (a 1 s read timeout) reach the worker processes; a reply held 4 s
    times out there and is retried, and the result is the baseline's."""
    slow = proxy.add(delay_reply(4.0, action="DescribeDBInstances", count=3))
    settings = AwsSettings(endpoint_url=proxy.url, read_timeout=1.0)
    query = TargetQuery(org=True, role_name=ROLE, settings=settings)
    result = run_audit(query, processes=2)

    assert slow.fired == 3
    fleet = result.fleet
    assert [t.error for t in fleet.targets if not t.ok] == []
    assert [(t.target.account_id, t.target.region) for t in fleet.targets] == keys(baseline["targets"])
    assert len(fleet.instances) == INSTANCES
    want = [(i["account_id"], i["region"], i["id"]) for i in baseline["instances"]]
    assert [(i.account_id, i.region, i.id) for i in fleet.instances] == want
    # Each held reply was given up on after about a second, then asked again.
    assert proxy.count("DescribeDBInstances") >= len(baseline["targets"]) + 3


def test_an_account_whose_assume_role_gets_an_html_page_fails_alone(
    proxy: FaultProxy, baseline: dict, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rule = proxy.add(html_error(403, action="AssumeRole", count=1))
    code, err, data = audit_json(capsys, tmp_path / "a.json")

    assert rule.fired == 1
    assert code == 4, err
    assert_clean(err)
    failed = [t for t in data["targets"] if not t["ok"]]
    assert len(failed) == 1, failed  # its regions are unknown (no DescribeRegions): one target, "*"
    (bad,) = failed
    assert bad["region"] == "*"
    assert bad["error"] == (
        f"cannot assume arn:aws:iam::{bad['account_id']}:role/{ROLE}: "
        "the endpoint answered with something that is not an AWS response"
    )
    assert "\n" not in bad["error"]
    others = [t for t in baseline["targets"] if t["account_id"] != bad["account_id"]]
    assert [t for t in data["targets"] if t["account_id"] != bad["account_id"]] == others
    want = [i for i in baseline["instances"] if i["account_id"] != bad["account_id"]]
    assert data["instances"] == want


def test_an_assume_role_page_with_named_regions_fails_each_of_its_regions(
    proxy: FaultProxy, baseline: dict, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    regions = sorted({t["region"] for t in baseline["targets"]})
    rule = proxy.add(garbage_reply(action="AssumeRole", count=1))
    code, err, data = audit_json(capsys, tmp_path / "a.json", "--region", ",".join(regions))

    assert rule.fired == 1
    assert code == 4, err
    assert_clean(err)
    failed = assert_read_or_failed(data, baseline)
    assert len(data["targets"]) == TARGETS
    assert len(failed) == REGIONS and len({t["account_id"] for t in failed}) == 1
    assert all("not an AWS response" in t["error"] for t in failed), failed


def test_describe_regions_failing_for_one_account_fails_that_account_only(
    proxy: FaultProxy, baseline: dict, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rule = proxy.add(html_error(404, action="DescribeRegions", count=1))
    code, err, data = audit_json(capsys, tmp_path / "a.json")

    assert rule.fired == 1
    assert code == 4, err
    assert_clean(err)
    failed = [t for t in data["targets"] if not t["ok"]]
    assert [(t["region"], t["error"].split(":")[0]) for t in failed] == [("*", "cannot list enabled regions")]
    assert len(data["targets"]) == TARGETS - REGIONS + 1


def test_the_organization_unreadable_is_one_error_line_and_exit_1(
    proxy: FaultProxy, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    proxy.add(html_error(403, action="ListAccounts"))
    code, err, _ = audit_json(capsys, tmp_path / "a.json")

    assert code == 1, err
    assert_clean(err)
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "organization" in lines[0], err


class WellFormedPage(FaultProxy):
    """Answers the first `count` calls of `action` (after forwarding them) with a 200 whose body is
    well-formed XML but no AWS response: a captive portal's or a filtering proxy's XHTML page."""

    PAGE = (
        b'<?xml version="1.0" encoding="UTF-8"?><html xmlns="http://www.w3.org/1999/xhtml">'
        b"<head><title>Sign in</title></head><body><p>Sign in to continue.</p></body></html>"
    )

    def __init__(self, upstream_url: str, action: str, count: int) -> None:
        super().__init__(upstream_url, timeout=30)
        self.action, self.left, self.fired = action, count, 0

    def _forward(self, head: bytes, body: bytes, method: str) -> tuple[int, bytes, bytes, bool]:
        status, reply_head, reply_body, closes = super()._forward(head, body, method)
        start, headers = _parse_head(head)
        with self._lock:
            lie = identify(start, headers, body)[0] == self.action and self.left > 0
            if lie:
                self.left -= 1
                self.fired += 1
        if not lie:
            return status, reply_head, reply_body, closes
        page_head = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n" % len(
            self.PAGE
        )
        return 200, page_head, self.PAGE, False


@pytest.mark.parametrize("action", ["DescribeDBInstances", "DescribeCertificates"])
def test_a_well_formed_page_that_is_no_aws_response_fails_one_target_not_the_audit(
    standin: handle.Handle,
    baseline: dict,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    action: str,
) -> None:
    """botocore raises KeyError('<Action>Result') on such a page, not ResponseParserError: it once
    ended the whole audit with 'error: unexpected RuntimeError' (rdsca.aws.errors.not_an_answer)."""
    standin.reset()
    page = WellFormedPage(standin.url, action, count=1)
    with page:
        point_at_standin(monkeypatch, tmp_path, page.url)
        code, err, data = audit_json(capsys, tmp_path / "a.json")

    assert page.fired == 1
    assert_clean(err)
    assert code == 4, err
    failed = assert_read_or_failed(data, baseline)
    assert len(failed) == 1, failed
    assert "not an AWS response" in failed[0]["error"], failed


def test_a_well_formed_page_for_the_events_leaves_the_forecast_to_the_rest_with_a_warning(
    standin: handle.Handle,
    baseline: dict,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """DescribeEvents is optional (an older policy may refuse it): an answer that is not one costs the
    forecast its events, says so once, and fails nothing."""
    standin.reset()
    page = WellFormedPage(standin.url, "DescribeEvents", count=1)
    with page:
        point_at_standin(monkeypatch, tmp_path, page.url)
        code, err, data = audit_json(capsys, tmp_path / "a.json")

    assert page.fired == 1
    assert_clean(err)
    assert code == 0, err
    assert "RDS events not read (the endpoint answered with something that is not an AWS response)" in err
    assert assert_read_or_failed(data, baseline) == []
