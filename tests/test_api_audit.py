"""The audit and report use cases called as a library against the sandbox: typed results, and
rendering them through the registry gives what the CLI prints."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rdsca.api import audit as audit_api
from rdsca.api import report as report_api
from rdsca.api.audit import findings
from rdsca.aws.session import AwsSettings, ResolvedTarget, resolve_targets
from rdsca.cli.app import main
from rdsca.errors import ConfigError, JournalError
from rdsca.model import Audit, State
from rdsca.report.registry import formats, render
from rdsca.rollout.journal import Journal
from rdsca.sandbox import demo
from support.sandbox import SandboxHandle

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def fixed_now() -> datetime:
    return NOW


@pytest.fixture
def fleet(sandbox_env: SandboxHandle) -> SandboxHandle:
    sandbox_env.control.seed_demo()
    return sandbox_env


def targets(sandbox: SandboxHandle) -> list[ResolvedTarget]:
    return resolve_targets(
        regions=demo.REGIONS,
        accounts=demo.ACCOUNTS,
        role_name=demo.ROLE_NAME,
        settings=AwsSettings(endpoint_url=sandbox.url),
    )


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out


def without_time(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "generated_at"}


def test_audit_returns_typed_verdicts(fleet: SandboxHandle) -> None:
    result = audit_api.audit(targets(fleet), warn_days=180, now=fixed_now)
    assert isinstance(result, Audit)
    assert result.generated_at == NOW and result.fleet.collected_at == NOW and result.warn_days == 180
    assert len(result.fleet.targets) == 6 and not result.fleet.failed
    states = {v.instance.id: v.state for v in result.verdicts}
    assert states["orders-prod-pg"] is State.RETIRED_CA
    assert states["graph-dev-neptune"] is State.UNMANAGED
    assert {v.instance.id for v in findings(result, 0)} >= {"orders-prod-pg"}


def test_audit_selects_and_resolves_lazily(fleet: SandboxHandle) -> None:
    calls: list[int] = []

    def resolver() -> list[ResolvedTarget]:
        calls.append(1)
        return targets(fleet)

    result = audit_api.audit(resolver, engines=("mysql",), tags=(("env", "staging"),))
    assert calls == [1]
    assert result.verdicts and all(v.instance.engine == "mysql" for v in result.verdicts)
    assert all(v.instance.tags.get("env") == "staging" for v in result.verdicts)


def test_audit_json_and_exit_code_match_the_cli(
    fleet: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    result = audit_api.audit(targets(fleet))
    code, out = cli(capsys, "audit", "--format", "json", "--fail-within", "30")
    assert without_time(json.loads(render(result, "json"))) == without_time(json.loads(out))
    assert code == 3 and findings(result, 30)
    assert set(formats(Audit)) == {"table", "json", "csv", "markdown", "html", "prometheus"}


def test_a_failed_region_is_data(fleet: SandboxHandle) -> None:
    fleet.control.fault("DescribeDBInstances", "AccessDenied", region="ap-south-1")
    result = audit_api.audit(targets(fleet))
    assert {t.target.region for t in result.fleet.failed} == {"ap-south-1"}
    assert all(v.instance.region != "ap-south-1" for v in result.verdicts)


def test_cas_inventory_renders_as_the_cli_prints(
    fleet: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = audit_api.cas(targets(fleet), now=fixed_now)
    assert isinstance(inventory, audit_api.CaInventory)
    assert {(r.account_id, r.region) for r in inventory.regions} == {
        (a, r) for a in demo.ACCOUNTS for r in demo.REGIONS
    }
    assert all(r.default_ca and r.authorities for r in inventory.regions)
    assert cli(capsys, "cas", "--format", "json") == (0, render(inventory, "json"))
    assert cli(capsys, "cas") == (0, render(inventory, "table"))


def test_report_carries_the_audit_and_renders_as_the_cli(
    fleet: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    result = report_api.report(targets(fleet), title="Estate")
    assert isinstance(result, report_api.Report) and isinstance(result.audit, Audit)
    assert result.run is None and result.readiness is None
    assert cli(capsys, "report", "--format", "markdown") == (0, render(result, "markdown"))
    page = render(result, "html")
    assert page.startswith("<!DOCTYPE html>") and "<h1>Estate</h1>" in page


def test_report_refuses_an_unknown_run_before_any_aws_call(fleet: SandboxHandle, tmp_path: Path) -> None:
    def no_aws() -> list[ResolvedTarget]:
        raise AssertionError("the targets were resolved before the run was read")

    path = tmp_path / "j.sqlite"
    Journal(path).close()
    with pytest.raises(JournalError, match="no run 'nope'"):
        report_api.report(no_aws, run_id="nope", open_journal=lambda: Journal(path, create=False))


def test_iam_policy_is_typed_and_renders_as_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    policy = report_api.iam_policy("audit")
    assert "rds:DescribeDBInstances" in policy.actions
    assert policy.document["Statement"][0]["Action"] == list(policy.actions)
    assert cli(capsys, "iam-policy", "--for", "audit") == (0, render(policy, "json"))
    with pytest.raises(ConfigError):
        report_api.iam_policy("everything")
