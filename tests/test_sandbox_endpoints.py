"""The sandbox's live TLS endpoints: `rdsca probe` reads each demo instance's chain, the chain follows
the instance's CA through a real `rdsca plan` + `rdsca apply`, and real clients verify it."""

from __future__ import annotations

import json
import socket
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from rdsca.cli.app import main
from rdsca.sandbox import demo
from support.sandbox import SandboxHandle

G1 = "rds-ca-rsa2048-g1"
PROTOCOL = {"postgres": "postgres", "aurora-postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql",
            "docdb": "tls"}  # fmt: skip


@pytest.fixture
def demo_env(sandbox_env: SandboxHandle) -> SandboxHandle:
    seeded = sandbox_env.control.seed_demo()
    assert seeded["endpoints"] == sum(1 for i in demo.INSTANCES if i.engine in PROTOCOL)
    return sandbox_env


def listeners(sb: SandboxHandle) -> dict[str, dict[str, Any]]:
    return {e["instance_id"]: e for e in sb.control.endpoints()}


def described(sb: SandboxHandle, item: demo.DemoInstance) -> dict[str, Any]:
    rds = sb.client("rds", item.region, account=item.account)
    return dict(rds.describe_db_instances(DBInstanceIdentifier=item.id)["DBInstances"][0])


def probe_json(capsys: pytest.CaptureFixture[str], port: int, protocol: str, *extra: str) -> tuple[int, Any]:
    code = main(["probe", f"localhost:{port}", "--protocol", protocol, "--format", "json", *extra])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, json.loads(out)["results"][0]


def assert_chain_of(result: dict[str, Any], ca_id: str, region: str, db: dict[str, Any]) -> None:
    assert result["outcome"] == "tls", result["message"]
    assert result["rds_ca"]["ca_id"] == ca_id
    leaf, inter = result["chain"]
    assert leaf["rds_ca"] is None and not leaf["is_ca"]
    endpoint_name = f"{db['DBInstanceIdentifier']}.aaaaaaaaaa.{region}.rds.amazonaws.com"
    assert set(leaf["names"]) == {endpoint_name, "localhost", "127.0.0.1"}
    valid_till: datetime = db["CertificateDetails"]["ValidTill"]
    assert leaf["not_after"] == valid_till.strftime("%Y-%m-%dT%H:%M:%SZ")
    family = {"rds-ca-2019": f"Amazon RDS {region} 2019 CA"}.get(ca_id)
    if family is None:
        key = ca_id.split("-")[2].upper()  # rsa2048 -> RSA2048
        family = f"Amazon RDS {region} Subordinate CA {key} G1.A.1"
    assert inter["common_name"] == family and inter["is_ca"]


def test_every_demo_instance_presents_the_chain_of_its_ca(
    demo_env: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    found = listeners(demo_env)
    probeable = [i for i in demo.INSTANCES if i.engine in PROTOCOL]
    assert set(found) == {i.id for i in probeable}  # Neptune gets none
    for item in probeable:
        db = described(demo_env, item)
        ep = found[item.id]
        assert db["Endpoint"] == {"Address": "localhost", "Port": ep["port"]}
        assert ep["protocol"] == PROTOCOL[item.engine]
        code, result = probe_json(capsys, ep["port"], ep["protocol"])
        assert code == 0
        assert_chain_of(result, item.ca or "", item.region, db)
        if item.engine == "mariadb":
            assert result["server_info"] == f"5.5.5-{item.version}-MariaDB"
        elif item.engine == "mysql":
            assert result["server_info"] == item.version
    neptune = described(demo_env, demo.instance("graph-dev-neptune"))
    assert neptune["Endpoint"]["Address"] != "localhost"


def test_a_rotation_through_plan_and_apply_changes_the_presented_chain(
    demo_env: SandboxHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = ("billing-prod-mysql", "inventory-dev-pg", "sessions-dev-mariadb")
    items = [demo.instance(i) for i in ids]
    found = listeners(demo_env)
    before = {}
    for item in items:
        code, result = probe_json(capsys, found[item.id]["port"], found[item.id]["protocol"])
        assert code == 0 and result["rds_ca"]["ca_id"] == item.ca
        before[item.id] = result["chain"][0]["sha256"]

    plan = tmp_path / "plan.json"
    id_args = [arg for i in ids for arg in ("--id", i)]
    assert main(["plan", "--to", G1, *id_args, "-o", str(plan)]) == 0
    code = main(["apply", str(plan), "--yes", "--poll-interval", "0.05", "--journal", str(tmp_path / "j")])
    out, err = capsys.readouterr()
    assert code == 0, out + err

    for item in items:
        db = described(demo_env, item)
        assert db["CACertificateIdentifier"] == G1 and db["DBInstanceStatus"] == "available"
        ep = listeners(demo_env)[item.id]
        assert db["Endpoint"]["Port"] == ep["port"] == found[item.id]["port"]  # same listener
        code, result = probe_json(capsys, ep["port"], ep["protocol"])
        assert code == 0
        assert_chain_of(result, G1, item.region, db)
        assert result["chain"][0]["sha256"] != before[item.id]


def test_bundle_files_old_and_new(demo_env: SandboxHandle, capsys: pytest.CaptureFixture[str]) -> None:
    files = {name: Path(path) for name, path in demo_env.control.pki()["files"].items()}
    assert demo_env.env()["RDSCA_CATALOGUE_BUNDLE"] == str(files["sandbox-roots.pem"])
    old = x509.load_pem_x509_certificates(files["old-bundle.pem"].read_bytes())
    new = x509.load_pem_x509_certificates(files["new-bundle.pem"].read_bytes())
    names = {c.subject.rfc4514_string().split("CN=")[1].split(",")[0] for c in new}
    assert [c.subject for c in old] == [c.subject for c in new if "2019" in c.subject.rfc4514_string()]
    assert "Amazon RDS Root 2019 CA" in names
    for region in demo.REGIONS:
        assert f"Amazon RDS {region} Root CA RSA2048 G1" in names
    assert "Amazon RDS us-east-1 Root CA ECC384 G1" in names
    assert "Amazon RDS ap-south-1 Root CA ECC384 G1" not in names  # not offered there
    assert files["sandbox-roots.pem"].read_bytes() == files["new-bundle.pem"].read_bytes()

    g1 = listeners(demo_env)["web-staging-mysql"]["port"]
    code, result = probe_json(capsys, g1, "mysql", "--bundle", str(files["new-bundle.pem"]))
    assert code == 0 and result["bundle"]["trusted"] is True and result["bundle"]["handshake_checked"]
    code, result = probe_json(capsys, g1, "mysql", "--bundle", str(files["old-bundle.pem"]))
    assert code == 3 and result["bundle"]["trusted"] is False


def test_real_clients_verify_the_chain_and_meet_no_database(demo_env: SandboxHandle) -> None:
    import psycopg
    import pymysql

    files = demo_env.control.pki()["files"]
    found = listeners(demo_env)
    pg = found["scratch-pg"]["port"]  # on rds-ca-rsa2048-g1
    dsn = f"host=localhost port={pg} user=app dbname=app sslmode=verify-full connect_timeout=5"
    with pytest.raises(psycopg.OperationalError, match="no database behind it"):
        psycopg.connect(f"{dsn} sslrootcert={files['new-bundle.pem']}")  # verified, then refused
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        psycopg.connect(f"{dsn} sslrootcert={files['old-bundle.pem']}")
    with pytest.raises(psycopg.OperationalError, match="TLS connections only"):
        psycopg.connect(f"host=localhost port={pg} user=app dbname=app sslmode=disable")

    my = found["inventory-prod-mariadb"]["port"]
    with pytest.raises(pymysql.err.OperationalError, match="no database behind it"):
        pymysql.connect(host="localhost", port=my, user="app", password="x",
                        ssl={"ca": files["new-bundle.pem"]}, connect_timeout=5)  # fmt: skip
    with pytest.raises(pymysql.err.OperationalError, match="CERTIFICATE_VERIFY_FAILED"):
        pymysql.connect(host="localhost", port=my, user="app", password="x",
                        ssl={"ca": files["old-bundle.pem"]}, connect_timeout=5)  # fmt: skip
    with pytest.raises(pymysql.err.OperationalError, match="insecure transport"):
        pymysql.connect(host="localhost", port=my, user="app", password="x", ssl_disabled=True,
                        connect_timeout=5)  # fmt: skip


def test_synthetic_fleets_get_no_listeners_and_reset_closes_them(demo_env: SandboxHandle) -> None:
    port = listeners(demo_env)["orders-prod-pg"]["port"]
    demo_env.control.reset()
    assert demo_env.control.endpoints() == []
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    seeded = demo_env.control.seed_synthetic(["333333333333"], ["us-east-1"], 5)
    assert seeded["endpoints"] == 0 and demo_env.control.endpoints() == []
    rds = demo_env.client("rds", "us-east-1", account="333333333333")
    addresses = {d["Endpoint"]["Address"] for d in rds.describe_db_instances()["DBInstances"]}
    assert all(a.endswith(".rds.amazonaws.com") for a in addresses)
    assert demo_env.control.seed_demo(endpoints=False)["endpoints"] == 0


def test_a_rebooting_instance_answers_nothing(
    demo_env: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    item = demo.instance("shop-staging-mysql")  # mysql 8.0.28: the CA change restarts it
    demo_env.control.config(reboot_seconds=60, modify_seconds=0)
    rds = demo_env.client("rds", item.region, account=item.account)
    rds.modify_db_instance(DBInstanceIdentifier=item.id, CACertificateIdentifier=G1, ApplyImmediately=True)
    assert described(demo_env, item)["DBInstanceStatus"] == "rebooting"
    code, result = probe_json(capsys, listeners(demo_env)[item.id]["port"], "mysql")
    assert code == 1 and result["outcome"] == "closed"


def test_a_server_certificate_rotation_presents_a_new_leaf_under_the_same_ca(
    demo_env: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    item = demo.instance("crm-prod-pg")  # leaf ends in 20 days; server-certificate-rotation pending
    port = listeners(demo_env)[item.id]["port"]
    _, before = probe_json(capsys, port, "postgres")
    rds = demo_env.client("rds", item.region, account=item.account)
    db = described(demo_env, item)
    valid_till = db["CertificateDetails"]["ValidTill"]
    rds.apply_pending_maintenance_action(
        ResourceIdentifier=db["DBInstanceArn"],
        ApplyAction="server-certificate-rotation",
        OptInType="immediate",
    )
    deadline = time.monotonic() + 10
    while db["DBInstanceStatus"] != "available" or db["CertificateDetails"]["ValidTill"] == valid_till:
        assert time.monotonic() < deadline, db["DBInstanceStatus"]
        time.sleep(0.05)
        db = described(demo_env, item)
    code, after = probe_json(capsys, port, "postgres")
    assert code == 0
    assert_chain_of(after, G1, item.region, db)
    assert after["chain"][0]["not_after"] > before["chain"][0]["not_after"]
    assert after["chain"][1]["sha256"] == before["chain"][1]["sha256"]  # same intermediate
