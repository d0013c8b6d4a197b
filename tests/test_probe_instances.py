"""`rdsca probe --instances`: every endpoint of the selected fleet, probed concurrently with the
protocol its engine speaks, against the sandbox's live TLS endpoints."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rdsca.cli.app import main
from rdsca.sandbox import demo
from support.sandbox import SandboxHandle


def probe(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code = main(["probe", "--instances", "--format", "json", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    return code, json.loads(out) if out.strip() else {}, err


def test_every_instance_is_probed_with_its_protocol(
    sandbox_env: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox_env.control.seed_demo()
    code, doc, _ = probe(capsys)
    assert code == 0
    labels = {r["endpoint"]["label"].split("/")[-1]: r for r in doc["results"]}
    managed = {i.id for i in demo.INSTANCES if i.ca is not None}
    assert set(labels) == managed  # Neptune (no CA) is not an RDS-CA endpoint
    engine = {i.id: i.engine for i in demo.INSTANCES}
    for iid, r in labels.items():
        assert r["outcome"] == "tls", (iid, r["message"])
        want = (
            "tls"
            if engine[iid] == "docdb"
            else "mysql"
            if "mysql" in engine[iid] or "mariadb" in engine[iid]
            else "postgres"
        )
        assert r["endpoint"]["protocol"] == want
    assert all(t["ok"] for t in doc["targets"])


def test_bundle_and_selection(sandbox_env: SandboxHandle, capsys: pytest.CaptureFixture[str]) -> None:
    sandbox_env.control.seed_demo()
    files = sandbox_env.control.pki()["files"]
    code, doc, _ = probe(capsys, "--tag", "env=dev", "--bundle", files["old-bundle.pem"])
    dev = {i.id for i in demo.INSTANCES if i.env == "dev" and i.ca is not None}
    assert {r["endpoint"]["label"].split("/")[-1] for r in doc["results"]} == dev
    on_g1 = any(i.ca != "rds-ca-2019" for i in demo.INSTANCES if i.id in dev)
    assert code == (3 if on_g1 else 0)  # the old bundle cannot verify a G1 chain
    code, doc, _ = probe(capsys, "--tag", "env=dev", "--bundle", files["new-bundle.pem"])
    ca_of = {i.id: i.ca for i in demo.INSTANCES}
    for r in doc["results"]:
        iid = r["endpoint"]["label"].split("/")[-1]
        # The new bundle has every root; what still fails are leaves that have expired.
        assert r["bundle"]["trusted"] is (ca_of[iid] != "rds-ca-2019" and iid != "events-dev-pg"), iid
    assert code == 3


def test_target_and_instances_together_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "localhost:5432", "--instances"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["probe"]) == 2
    assert "--instances" in capsys.readouterr().err
