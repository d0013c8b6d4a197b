"""Readiness rules against real servers: `probe --bundle` reads Java truststores (JKS, PKCS#12) like
`trust check` does, and a client that would fall back to plaintext is at risk unless the live
sessions of the server show that it admits plaintext."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import jks
import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from rdsca.cli.app import main
from support import realdb
from support.keystores import write_p12_truststore
from support.sandbox import SandboxHandle

pytestmark = pytest.mark.realdb
G1 = "rds-ca-rsa2048-g1"
OLD_AWS = Path(str(resources.files("rdsca.catalog") / "data")) / "rds-combined-ca-bundle-2019.pem"


@pytest.fixture(scope="module")
def pg() -> realdb.Postgres:
    server = realdb.postgres()
    server.rotate("old")
    return server


def certs_of(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def p12_truststore(path: Path, pem: Path, password: str) -> Path:
    return write_p12_truststore(path, certs_of(pem), password, "ca")


def jks_truststore(path: Path, pem: Path, password: str) -> Path:
    entries = [
        jks.TrustedCertEntry.new(f"ca{i}", c.public_bytes(serialization.Encoding.DER))
        for i, c in enumerate(certs_of(pem))
    ]
    path.write_bytes(jks.KeyStore.new("jks", entries).saves(password))
    return path


def probe(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any] | None, str]:
    code = main(["probe", *args, "--catalogue-bundle", str(realdb.pki().known_cas), "--format", "json"])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, (json.loads(out)["results"][0] if out.strip() else None), err


def test_probe_bundle_reads_java_truststores(pg, capsys, tmp_path, monkeypatch):
    pki = realdb.pki()
    target = f"localhost:{pg.port}"
    old_p12 = p12_truststore(tmp_path / "old.p12", pki.old_bundle, "p12-store-pass")
    new_jks = jks_truststore(tmp_path / "new.jks", pki.new_bundle, "changeit")
    monkeypatch.setenv("STORE_PW", "p12-store-pass")

    code, r, _ = probe(capsys, target, "--bundle", str(old_p12), "--password-env", "STORE_PW")
    assert code == 0 and r is not None and r["bundle"]["trusted"] is True and r["bundle"]["handshake_checked"]
    code, r, _ = probe(capsys, target, "--bundle", str(new_jks))  # JKS: changeit by default
    assert code == 3 and r is not None and r["bundle"]["trusted"] is False

    monkeypatch.setenv("STORE_PW", "wrong-password")
    code, r, err = probe(capsys, target, "--bundle", str(old_p12), "--password-env", "STORE_PW")
    assert code == 2 and r is None
    assert "wrong password" in err and "wrong-password" not in err and len(err.strip().splitlines()) == 1


def readiness(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["readiness", "--to", G1, "--no-probe", "--format", "json", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    return code, json.loads(out)


def test_prefer_with_an_old_root_is_at_risk_unless_plaintext_sessions_show_the_server_admits_it(
    pg, demo: SandboxHandle, capsys, tmp_path, monkeypatch
):
    tree = tmp_path / "orders-service"
    (tree / "certs").mkdir(parents=True)
    shutil.copy(OLD_AWS, tree / "certs" / "rds-ca-2019-root.pem")
    (tree / "deploy.env").write_text("PGSSLMODE=prefer\nPGSSLROOTCERT=/certs/rds-ca-2019-root.pem\n")

    code, doc = readiness(capsys, "--scan", str(tree), "--id", "orders-prod-pg")
    (inst,) = doc["instances"]
    assert code == 3 and inst["verdict"] == "at-risk"
    reason = next(r for r in inst["reasons"] if "deploy.env:1" in r)
    assert "rds.force_ssl=1" in reason and "--sessions-dsn" in reason

    code, doc = readiness(capsys, "--scan", str(tree), "--id", "reports-staging-pg")  # PostgreSQL 13
    assert any("PostgreSQL 13 defaults rds.force_ssl=0" in r for r in doc["instances"][0]["reasons"])

    # A live plaintext session: this server admits plaintext, so the client falls back instead.
    monkeypatch.setenv("MONITOR_PW", realdb.PASSWORDS["monitor"])
    dsn = f"postgresql://monitor@127.0.0.1:{pg.port}/postgres"
    plain = f"host=127.0.0.1 port={pg.port} user=app dbname=postgres sslmode=disable application_name=orders"
    with psycopg.connect(plain, password=realdb.PASSWORDS["app"]):
        code, doc = readiness(
            capsys,
            "--scan",
            str(tree),
            "--id",
            "orders-prod-pg",
            "--sessions-dsn",
            dsn,
            "--password-env",
            "MONITOR_PW",
        )
    (inst,) = doc["instances"]
    assert inst["verdict"] != "at-risk", json.dumps(inst)
    assert any("the server admits it: " in w for w in inst["warnings"])
