"""The target CA per client: a tree with Prisma cannot use rds-ca-ecc384-g1 (P1011). `trust scan`
says so for that target only, `readiness` says per instance which G1 CAs the clients seen can use,
and `plan --require-ready` leaves out the instances whose clients cannot use the plan's target."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from rdsca.sandbox import demo
from support.cli import run

FIXTURES = Path(__file__).parent / "data" / "trust-sources"
ECC, RSA2048, RSA4096 = "rds-ca-ecc384-g1", "rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1"
DEV = sorted(i.id for i in demo.INSTANCES if i.ca is not None and i.env == "dev")


@pytest.fixture
def prisma_app(tmp_path: Path) -> Path:
    root = tmp_path / "catalog-service"
    shutil.copytree(FIXTURES / "prisma-app", root)
    return root


def scan(capsys: pytest.CaptureFixture[str], path: Path, ca: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = run(capsys, "trust", "scan", str(path), "--for", ca, "--format", "json")
    return code, json.loads(out)


def test_scan_refuses_the_ecc_target_for_prisma_only(capsys, prisma_app):
    code, doc = scan(capsys, prisma_app, ECC)
    assert code == 3
    where = {(f["path"], f["line"]): f for f in doc["settings"]}
    assert set(where) == {("package-lock.json", 17), ("prisma/schema.prisma", 5)}
    for finding in where.values():
        assert finding["verdict"] == "will-break" and finding["client"] == "prisma"
        assert "P1011" in finding["detail"] and "prisma/prisma/issues/20921" in finding["detail"]
    for ca in (RSA2048, RSA4096):
        code, doc = scan(capsys, prisma_app, ca)
        assert code == 0 and doc["settings"] == []


def test_a_schema_file_alone_is_enough(capsys, prisma_app):
    (prisma_app / "package-lock.json").unlink()
    code, doc = scan(capsys, prisma_app, ECC)
    assert code == 3 and [(s["path"], s["line"]) for s in doc["settings"]] == [("prisma/schema.prisma", 5)]


def readiness(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = run(capsys, "readiness", "--no-probe", "--tag", "env=dev", *args)
    return code, (json.loads(out) if "--format" in args and "-o" not in args else {}), out + err


def test_readiness_says_which_target_cas_the_clients_can_use(capsys, demo, prisma_app, tmp_path):
    new = demo.control.pki()["files"]["new-bundle.pem"]
    code, doc, _ = readiness(
        capsys, "--to", RSA2048, "--bundle", new, "--scan", str(prisma_app), "--format", "json"
    )
    assert code == 0 and sorted(i["id"] for i in doc["instances"]) == DEV
    for inst in doc["instances"]:
        assert inst["verdict"] == "ready"
        fits = inst["target_cas"]
        assert fits[RSA2048]["usable"] is True and fits[RSA4096]["usable"] is True
        assert fits[ECC]["usable"] is False and "P1011" in fits[ECC]["refused_by"][0]
        assert fits[RSA4096]["notes"]  # a cost, said but not refused

    _, _, text = readiness(capsys, "--to", RSA2048, "--bundle", new, "--scan", str(prisma_app))
    assert "target CAs the clients seen can use: rsa2048, rsa4096 (not ecc384: prisma)" in text

    # No scan: nothing is known about the clients, so nothing is claimed either way.
    _, doc, _ = readiness(capsys, "--to", RSA2048, "--bundle", new, "--format", "json")
    assert {f["usable"] for i in doc["instances"] for f in i["target_cas"].values()} == {None}


def test_plan_leaves_out_instances_whose_clients_cannot_use_the_target(capsys, demo, prisma_app, tmp_path):
    new = demo.control.pki()["files"]["new-bundle.pem"]
    saved = tmp_path / "readiness.json"
    code, _, _ = readiness(
        capsys,
        "--to",
        RSA2048,
        "--bundle",
        new,
        "--scan",
        str(prisma_app),
        "--format",
        "json",
        "-o",
        str(saved),
    )
    assert code == 0

    plan = tmp_path / "plan.json"
    code, _, _ = run(
        capsys, "plan", "--to", ECC, "--tag", "env=dev", "--require-ready", str(saved), "-o", str(plan)
    )
    assert code == 0  # a plan with instances left out is still a plan
    doc = json.loads(plan.read_text())
    skipped = {s["key"].rsplit("/", 1)[1]: s["reason"] for s in doc["skipped"]}
    assert doc["steps"] == [] and set(DEV) <= set(skipped)
    refused = {k for k in DEV if "prisma" in skipped[k]}
    # the others: already on the ECC CA, not offered in its region, Neptune (unmanaged)
    assert refused == set(DEV) - {"analytics-dev-pg", "payments-dev-mysql", "graph-dev-neptune"}
    for key in refused:
        assert skipped[key].startswith(
            f"a client cannot use {ECC}: prisma (package-lock.json:17, package-lock.json:25, "
            "prisma/schema.prisma:5): Prisma's schema engine"
        ), skipped[key]
        assert "P1011" in skipped[key]

    code, _, _ = run(
        capsys, "plan", "--to", RSA2048, "--tag", "env=dev", "--require-ready", str(saved), "-o", str(plan)
    )
    doc = json.loads(plan.read_text())
    assert code == 0 and doc["steps"] and not any("prisma" in s["reason"] for s in doc["skipped"])
