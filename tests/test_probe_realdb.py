"""`rdsca probe` against real PostgreSQL and MariaDB servers, before and after a CA rotation.

The verdict of the probe is checked against what real clients do: psycopg with
sslmode=verify-full and PyMySQL with ssl={'ca': ...} must fail exactly when rdsca says
"would not trust", and connect when it says "would trust".
"""

from __future__ import annotations

import json

import psycopg
import pymysql
import pytest

from rdsca.cli.app import main
from support import realdb

pytestmark = pytest.mark.realdb


@pytest.fixture(scope="module")
def pg() -> realdb.Postgres:
    return realdb.postgres()


@pytest.fixture(scope="module")
def maria() -> realdb.MariaDB:
    return realdb.mariadb()


def _probe(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["probe", *args, "--catalogue-bundle", str(realdb.pki().known_cas), "--format", "json"])
    out = capsys.readouterr().out
    return code, json.loads(out)["results"][0]


def _pg_client(pg: realdb.Postgres, bundle: str) -> None:
    with psycopg.connect(host="localhost", port=pg.port, user="app", dbname="postgres",
                         password=realdb.PASSWORDS["app"], sslmode="verify-full",
                         sslrootcert=bundle, connect_timeout=5) as conn:  # fmt: skip
        assert conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone() == (True,)


def _maria_client(maria: realdb.MariaDB, bundle: str) -> None:
    conn = pymysql.connect(host="localhost", port=maria.port, user="app", password=realdb.PASSWORDS["app"],
                           ssl={"ca": bundle}, connect_timeout=5)  # fmt: skip
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW STATUS LIKE 'Ssl_version'")
            assert cur.fetchone()[1].startswith("TLS")
    finally:
        conn.close()


@pytest.mark.parametrize("kind", ["postgres", "mysql"])
def test_probe_reads_chain_and_names_the_hierarchy(kind: str, pg, maria, capsys) -> None:  # type: ignore[no-untyped-def]
    server = pg if kind == "postgres" else maria
    server.rotate("old")
    code, r = _probe(capsys, f"127.0.0.1:{server.port}", "--protocol", kind)
    assert code == 0
    assert r["outcome"] == "tls" and r["offers_tls"] is True
    assert [c["common_name"] for c in r["chain"]] == ["localhost", "Amazon RDS us-east-1 2019 CA"]
    assert r["chain"][1]["rds_ca"] == "rds-ca-2019"  # the intermediate, known by fingerprint
    assert r["rds_ca"]["ca_id"] == "rds-ca-2019"
    leaf = realdb.pki().servers["old"].leaf.cert
    assert (
        r["chain"][0]["sha256"]
        == leaf.fingerprint(__import__("cryptography").hazmat.primitives.hashes.SHA256()).hex()
    )
    if kind == "mysql":
        assert "MariaDB" in r["server_info"]

    server.rotate("new")
    code, r = _probe(capsys, f"127.0.0.1:{server.port}", "--protocol", kind)
    assert code == 0
    assert r["rds_ca"]["ca_id"] == "rds-ca-rsa2048-g1"
    assert r["rds_ca"]["matched_by"] in ("fingerprint", "key-identifier", "authority-key-identifier")


def test_without_known_ca_a_lookalike_is_not_taken_for_aws(pg, capsys) -> None:  # type: ignore[no-untyped-def]
    pg.rotate("new")
    code = main(["probe", f"127.0.0.1:{pg.port}", "--format", "json"])
    r = json.loads(capsys.readouterr().out)["results"][0]
    assert code == 0
    assert r["rds_ca"]["ca_id"] is None and r["rds_ca"]["matched_by"] == "name-only"


@pytest.mark.parametrize("kind", ["postgres", "mysql"])
def test_old_bundle_breaks_after_rotation_and_real_clients_agree(kind: str, pg, maria, capsys) -> None:  # type: ignore[no-untyped-def]
    server = pg if kind == "postgres" else maria
    client = _pg_client if kind == "postgres" else _maria_client
    pki = realdb.pki()
    target = f"localhost:{server.port}"

    server.rotate("old")
    code, r = _probe(capsys, target, "--protocol", kind, "--bundle", str(pki.old_bundle))
    assert code == 0 and r["bundle"]["trusted"] is True
    client(server, str(pki.old_bundle))

    server.rotate("new")
    code, r = _probe(capsys, target, "--protocol", kind, "--bundle", str(pki.old_bundle))
    assert code == 3
    assert r["bundle"]["trusted"] is False and r["bundle"]["handshake_checked"] is True
    assert "unable to get local issuer certificate" in r["bundle"]["reason"]
    assert "Amazon RDS us-east-1 Root CA RSA2048 G1" in r["bundle"]["reason"]
    with pytest.raises((psycopg.OperationalError, pymysql.err.OperationalError)) as failed:
        client(server, str(pki.old_bundle))
    assert "certificate verify failed" in str(failed.value)

    code, r = _probe(capsys, target, "--protocol", kind, "--bundle", str(pki.both_bundle))
    assert code == 0 and r["bundle"]["trusted"] is True
    client(server, str(pki.both_bundle))


def test_hostname_verification_is_part_of_the_verdict(pg, capsys) -> None:  # type: ignore[no-untyped-def]
    pg.rotate("new")
    pki = realdb.pki()
    code, r = _probe(capsys, f"127.0.0.1:{pg.port}", "--server-name", "db.example.com",
                     "--bundle", str(pki.both_bundle))  # fmt: skip
    assert code == 3
    assert "mismatch" in r["bundle"]["reason"].lower()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(host="db.example.com", hostaddr="127.0.0.1", port=pg.port, user="app",
                        dbname="postgres", password=realdb.PASSWORDS["app"], sslmode="verify-full",
                        sslrootcert=str(pki.both_bundle), connect_timeout=5)  # fmt: skip


def test_table_output_names_verdict(pg, capsys) -> None:  # type: ignore[no-untyped-def]
    pg.rotate("new")
    code = main(["probe", f"localhost:{pg.port}", "--catalogue-bundle", str(realdb.pki().known_cas),
                 "--bundle", str(realdb.pki().old_bundle)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 3
    assert "RDS CA: rds-ca-rsa2048-g1 (us-east-1)" in out
    assert "would NOT trust" in out
