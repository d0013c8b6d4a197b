"""`rdsca readiness` through the CLI against the sandbox's live TLS endpoints and its bundle files:
the old bundle puts every demo instance at risk, the new one makes them ready, and a rotation
changes the chain each endpoint presents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rdsca.cli.app import main
from rdsca.sandbox import demo
from support.sandbox import SandboxHandle

G1 = "rds-ca-rsa2048-g1"
ENVELOPE_KEYS = {"schema", "generated_at", "target_ca", "targets", "summary", "bundles", "scans", "instances"}
PROBED = [i for i in demo.INSTANCES if i.ca is not None]  # every managed demo instance has a listener


@pytest.fixture
def demo_env(sandbox_env: SandboxHandle) -> SandboxHandle:
    sandbox_env.control.seed_demo()
    return sandbox_env


def bundles(sb: SandboxHandle) -> dict[str, str]:
    return dict(sb.control.pki()["files"])


def readiness(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["readiness", "--to", G1, "--format", "json", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    return code, json.loads(out)


def by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["id"]: i for i in doc["instances"]}


def test_old_bundle_is_at_risk_and_new_bundle_is_ready(
    demo_env: SandboxHandle, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    files = bundles(demo_env)
    code, doc = readiness(capsys, "--bundle", files["old-bundle.pem"])
    assert code == 3
    assert set(doc) == ENVELOPE_KEYS and doc["schema"] == "rdsca.readiness/1" and doc["target_ca"] == G1
    assert doc["summary"] == {"at-risk": len(PROBED)}
    assert doc["bundles"][0]["trusted"] is False
    assert set(doc["bundles"][0]["regions"].values()) == {"missing"}
    found = by_id(doc)
    for item in PROBED:
        inst = found[item.id]
        assert inst["verdict"] == "at-risk" and inst["ca"] == item.ca
        assert inst["presented_ca"] == item.ca  # the probe read the live chain of the instance's CA
        assert any(f"missing for {G1} in {item.region}" in r for r in inst["reasons"])

    code, doc = readiness(capsys, "--bundle", files["new-bundle.pem"])
    assert code == 0
    assert doc["summary"] == {"ready": len(PROBED)} and doc["bundles"][0]["trusted"] is True
    assert all(i["presented_ca"] == i["ca"] and not i["warnings"] for i in doc["instances"])

    # Without the sandbox roots in the catalogue the chains are not recognised (still reachable).
    monkeypatch.delenv("RDSCA_CATALOGUE_BUNDLE")
    code, doc = readiness(capsys, "--bundle", files["new-bundle.pem"], "--tag", "env=dev")
    assert {i["presented_ca"] for i in doc["instances"]} == {None}


def test_readiness_follows_a_rotation_of_the_dev_wave(
    demo_env: SandboxHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = bundles(demo_env)
    dev = {i.id: i for i in PROBED if i.env == "dev"}
    code, before = readiness(capsys, "--bundle", files["old-bundle.pem"], "--tag", "env=dev")
    assert code == 3 and set(by_id(before)) == set(dev)
    assert {i["id"]: i["presented_ca"] for i in before["instances"]} == {k: v.ca for k, v in dev.items()}

    plan = tmp_path / "plan.json"
    assert main(["plan", "--to", G1, "--tag", "env=dev", "-o", str(plan)]) == 0
    code = main(["apply", str(plan), "--yes", "--poll-interval", "0.05", "--journal", str(tmp_path / "j")])
    out, err = capsys.readouterr()
    assert code == 0, out + err

    code, after = readiness(capsys, "--bundle", files["new-bundle.pem"], "--tag", "env=dev")
    assert code == 0 and after["summary"] == {"ready": len(dev)}
    for inst in after["instances"]:
        assert inst["ca"] == inst["presented_ca"] == G1, inst
    code, still = readiness(capsys, "--bundle", files["old-bundle.pem"], "--tag", "env=dev")
    assert code == 3 and {i["presented_ca"] for i in still["instances"]} == {G1}


def test_bad_readiness_input_names_the_flag(
    demo_env: SandboxHandle, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_SUCH_VAR", raising=False)
    demo_env.control.reset_calls()
    for args, message in (
        (
            ["--bundle-password-env", "NO_SUCH_VAR"],
            "--bundle-password-env NO_SUCH_VAR: the variable is not set",
        ),
        (["--password-env", "NO_SUCH_VAR"], "--password-env NO_SUCH_VAR: the variable is not set"),
        (["--scan", "/no/such/tree"], "--scan /no/such/tree: no such directory"),
        (["--sessions-dsn", "postgresql://{host}/x"], "unknown placeholder 'host'"),
    ):
        code = main(["readiness", "--to", G1, *args])
        err = capsys.readouterr().err
        assert code == 2 and message in err and "Traceback" not in err
    assert demo_env.control.call_count() == 0
