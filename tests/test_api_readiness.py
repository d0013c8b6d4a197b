"""The readiness use cases called as a library (`rdsca.api.readiness`): typed results, and the
registry's JSON is exactly what the CLI prints for the same question."""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from rdsca import schemas
from rdsca.api import readiness as api
from rdsca.api.readiness import (
    CatalogueReport,
    FleetProbeReport,
    ProbeReport,
    ReadinessReport,
    SessionsReport,
    TrustCheckReport,
    TrustScanReport,
    parse_endpoint,
)
from rdsca.aws.session import resolve_targets
from rdsca.catalog import load_catalog
from rdsca.cli.app import main
from rdsca.errors import ConfigError
from rdsca.readiness.probe import Outcome, Protocol
from rdsca.readiness.verdict import Readiness
from rdsca.report import probe as _probe_renderers  # noqa: F401  (registers the renderers)
from rdsca.report import readiness as _readiness_renderers  # noqa: F401
from rdsca.report import trust as _trust_renderers  # noqa: F401
from rdsca.report.registry import formats, render
from rdsca.sandbox import demo
from support.sandbox import SandboxHandle

DATA = Path(str(resources.files("rdsca.catalog") / "data"))
NEW_BUNDLE = DATA / "global-bundle-2025.pem"
OLD_BUNDLE = DATA / "rds-combined-ca-bundle-2019.pem"
TREE = Path(__file__).parent / "data" / "trust" / "tree"
G1 = "rds-ca-rsa2048-g1"
AT = datetime(2025, 6, 30, tzinfo=UTC)


def at() -> datetime:
    return AT


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main([*args, "--format", "json"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    return code, json.loads(out)


def test_every_result_renders_as_table_and_json() -> None:
    for kind in (ProbeReport, FleetProbeReport, SessionsReport, TrustCheckReport, TrustScanReport,
                 CatalogueReport, ReadinessReport):  # fmt: skip
        assert set(formats(kind)) == {"table", "json"}, kind
    for name in ("probe", "probe_instances", "sessions", "trust_check", "trust_scan", "trust_catalogue",
                 "readiness"):  # fmt: skip
        assert callable(getattr(api, name))


def test_trust_check_of_a_bundle(capsys: pytest.CaptureFixture[str]) -> None:
    report = api.trust_check(NEW_BUNDLE, G1, ["eu-west-1", "us-east-1"], now=at)
    assert isinstance(report, TrustCheckReport) and report.trusted
    assert [g.region for g in report.result.regions] == ["eu-west-1", "us-east-1"]
    assert report.result.checked_at == AT
    code, doc = cli_json(capsys, "trust", "check", str(NEW_BUNDLE), "--for", G1, "--region", "eu-west-1",
                         "--region", "us-east-1", "--at", "2025-06-30")  # fmt: skip
    assert code == 0 and json.loads(render(report, "json")) == doc and doc["schema"] == schemas.TRUST_CHECK

    old = api.trust_check(OLD_BUNDLE, G1, ["eu-west-1"], now=at)
    assert not old.trusted and old.result.regions[0].status == "missing"
    assert "NOT TRUSTED" in render(old, "table")
    listing = re.compile(r"^\s+#\s+kind\s+RDS CA", re.M)  # the table of the bundle's certificates
    assert listing.search(render(old, "table"))
    assert not listing.search(render(replace(old, list_certificates=False), "table"))


def test_trust_check_refuses_what_the_catalogue_does_not_know() -> None:
    with pytest.raises(ConfigError, match="unknown CA"):
        api.trust_check(NEW_BUNDLE, "rds-ca-nope")
    with pytest.raises(ConfigError, match="knows no rds-ca-rsa2048-g1 root there"):
        api.trust_check(NEW_BUNDLE, G1, ["xx-nowhere-9"])


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    shutil.copytree(TREE, root)
    certs = root / "app" / "certs"
    certs.mkdir(parents=True)
    shutil.copy(NEW_BUNDLE, certs / "global-bundle.pem")
    shutil.copy(OLD_BUNDLE, certs / "rds-combined-ca-bundle.pem")
    return root


def test_trust_scan_of_a_tree(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = api.trust_scan(tree, G1, now=at)
    assert isinstance(report, TrustScanReport) and report.will_break
    verdicts = {f"{f.setting.path}:{f.setting.line}": f.verdict for f in report.result.settings}
    assert verdicts["app/db.py:5"] == "will-break" and verdicts["app/settings.py:5"] == "ok"
    code, doc = cli_json(capsys, "trust", "scan", str(tree), "--for", G1, "--at", "2025-06-30")
    assert code == 3 and json.loads(render(report, "json")) == doc and doc["schema"] == schemas.TRUST_SCAN
    with pytest.raises(ConfigError, match="not a directory"):
        api.trust_scan(tree / "app" / "db.py")


def test_trust_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    report = api.trust_catalogue()
    assert isinstance(report, CatalogueReport) and report.added == () and not report.extended
    assert G1 in report.catalog.ca_ids()
    code, doc = cli_json(capsys, "trust", "catalogue")
    assert code == 0 and json.loads(render(report, "json")) == doc
    assert doc["schema"] == schemas.TRUST_CATALOGUE


def test_probe_refuses_bad_endpoints_before_any_connection() -> None:
    assert parse_endpoint("db.example.com", Protocol.MYSQL).port == 3306
    assert parse_endpoint("[::1]:6432", Protocol.POSTGRES).host == "::1"
    with pytest.raises(ConfigError, match="expected HOST:PORT"):
        api.probe("db.example.com", "tls")
    with pytest.raises(ConfigError, match="out of range"):
        api.probe("db.example.com:70000")


def test_probe_of_a_closed_port_is_an_outcome(capsys: pytest.CaptureFixture[str]) -> None:
    report = api.probe("127.0.0.1:1", timeout=1)
    assert isinstance(report, ProbeReport) and report.result.outcome is not Outcome.TLS
    code, doc = cli_json(capsys, "probe", "127.0.0.1:1", "--timeout", "1")
    assert code == 1 and doc["schema"] == schemas.PROBE
    ours = json.loads(render(report, "json"))
    for d in (ours, doc):
        d["results"][0].pop("elapsed_ms")
    assert ours == doc


def test_sessions_refuses_a_bad_dsn() -> None:
    with pytest.raises(ConfigError):
        api.sessions("oracle://someone@db.example.com/x")


# Against the sandbox: the demo fleet with live TLS endpoints and its bundle files.


@pytest.fixture
def demo_env(sandbox_env: SandboxHandle) -> SandboxHandle:
    sandbox_env.control.seed_demo()
    return sandbox_env


def targets() -> list[Any]:
    """What `rdsca` resolves from the sandbox's environment (boto3 reads AWS_ENDPOINT_URL)."""
    return resolve_targets(regions=demo.REGIONS, accounts=demo.ACCOUNTS, role_name=demo.ROLE_NAME)


def sandbox_catalog() -> Any:
    return load_catalog(extra=[Path(os.environ["RDSCA_CATALOGUE_BUNDLE"])])


def test_probe_instances_and_one_endpoint(
    demo_env: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    files = dict(demo_env.control.pki()["files"])
    cat = sandbox_catalog()
    report = api.probe_instances(
        targets, bundle=Path(files["new-bundle.pem"]), tags=[("env", "dev")], catalog=cat
    )
    assert isinstance(report, FleetProbeReport) and report.with_bundle and not report.failed
    dev = {f"{i.account}/{i.region}/{i.id}" for i in demo.INSTANCES if i.env == "dev" and i.ca}
    assert {str(r.endpoint.label) for r in report.results} == dev
    assert all(r.outcome is Outcome.TLS and r.bundle is not None for r in report.results)
    # The new bundle does not trust the expired chains of instances still on rds-ca-2019.
    trusted = {str(r.endpoint.label): bool(r.bundle and r.bundle.trusted) for r in report.results}
    assert not any(
        trusted[str(r.endpoint.label)] for r in report.results if r.rds and r.rds.ca_id == "rds-ca-2019"
    )
    assert not all(trusted.values()) and any(trusted.values())

    code, doc = cli_json(
        capsys, "probe", "--instances", "--tag", "env=dev", "--bundle", files["new-bundle.pem"]
    )
    ours = json.loads(render(report, "json"))
    for d in (ours, doc):
        for r in d["results"]:
            r.pop("elapsed_ms")
        d["results"].sort(key=lambda r: r["endpoint"]["label"])
    assert code == 3 and ours == doc

    first = next(r.endpoint for r in report.results if trusted[str(r.endpoint.label)])
    one = api.probe(
        f"{first.host}:{first.port}", first.protocol, bundle=Path(files["old-bundle.pem"]), catalog=cat
    )
    assert one.result.outcome is Outcome.TLS and one.result.bundle and one.result.bundle.trusted is False
    assert "would NOT trust" in render(one, "table")


def test_readiness_of_one_instance_from_a_bundle_and_a_source_tree(
    demo_env: SandboxHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/api.md, example 3: is orders-prod-pg ready for the change, given its clients' bundle
    and the settings in their source?"""
    bundle = Path(dict(demo_env.control.pki()["files"])["new-bundle.pem"])
    src = tmp_path / "service"
    (src / "certs").mkdir(parents=True)
    shutil.copy(bundle, src / "certs" / "rds.pem")
    (src / "db.py").write_text('DSN = "host=orders sslmode=verify-full sslrootcert=certs/rds.pem"\n')

    report = api.readiness(
        targets, G1, bundles=[bundle], scans=[src], id_globs=["orders-prod-pg"], catalog=sandbox_catalog()
    )
    assert isinstance(report, ReadinessReport) and not report.at_risk and not report.failed
    (only,) = report.instances
    assert only.instance.id == "orders-prod-pg" and only.verdict is Readiness.READY
    assert only.presented_ca == only.instance.ca  # the probe read the live chain
    assert [s.will_break for s in report.result.scans] == [False]

    code, doc = cli_json(capsys, "readiness", "--to", G1, "--bundle", str(bundle), "--scan", str(src),
                         "--id", "orders-prod-pg")  # fmt: skip
    ours = json.loads(render(report, "json"))
    assert ours.pop("generated_at") and doc.pop("generated_at")
    assert code == 0 and ours == doc and doc["schema"] == schemas.READINESS
    assert re.search(r"orders-prod-pg\s+\d{12}\s+ready", render(report, "table"))  # id, account, verdict


def test_readiness_refuses_bad_input_before_any_aws_call() -> None:
    def no_aws() -> list[Any]:
        raise AssertionError("targets resolved before the inputs were checked")

    with pytest.raises(ConfigError, match="not a known RDS CA"):
        api.readiness(no_aws, "rds-ca-nope")
    with pytest.raises(ConfigError, match="unknown placeholder"):
        api.readiness(no_aws, G1, sessions_dsn="postgresql://x@{host}/db")
    with pytest.raises(ConfigError, match="no such directory"):
        api.readiness(no_aws, G1, scans=[Path("/nonexistent")])
