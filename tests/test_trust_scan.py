"""`rdsca trust scan` over a small tree with one of each setting kind and real AWS bundles."""

from __future__ import annotations

import json
import os
import shutil
import time
from importlib import resources
from pathlib import Path

import jks
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from rdsca.cli.app import main
from rdsca.readiness.scan import scan_tree

DATA = Path(str(resources.files("rdsca.catalog") / "data"))
FIXTURE = Path(__file__).parent / "data" / "trust" / "tree"

# file:line -> (verdict, client) for every setting in the fixture tree.
EXPECTED = {
    "app/db.py:5": ("will-break", "libpq"),  # verify-full against the old combined bundle
    "app/db.py:7": ("no-verification", "pymysql"),  # ssl_ca alone does not verify
    "app/db.py:12": ("will-break", "pymysql"),  # ssl_ca + ssl_verify_cert, old bundle
    "app/db.py:16": ("no-verification", "libpq"),  # SQLAlchemy URL sslmode=require, no root
    "app/db.py:21": ("unknown", "libpq"),  # connect_args names a bundle not in the tree
    "app/db.py:25": ("ok", "mysql-dict"),  # PyMySQL ssl={'ca': global bundle}
    "app/db.py:28": ("will-break", "libpq"),  # sslrootcert=system: OS store has no RDS root
    "app/settings.py:5": ("ok", "libpq"),  # Django OPTIONS
    "deploy/.env:2": ("plaintext-fallback", "libpq"),  # PGSSLMODE=prefer
    "deploy/batch.env:1": ("will-break", "libpq"),  # PGSSLMODE + PGSSLROOTCERT (old bundle)
    "java/application.properties:1": ("ok", "pgjdbc"),
    "java/application.properties:2": ("will-break", "mysql-connector-j"),  # keytool-style one-cert JKS
    "java/application.properties:3": ("no-verification", "mysql-connector-j"),
    "java/jvm.options:2": ("will-break", "java"),  # -Djavax.net.ssl.trustStore
    "mongo/config.yaml:2": ("will-break", "mongodb"),  # tlsCAFile, old bundle
    "mongo/config.yaml:4": ("no-verification", "mongodb"),  # tlsAllowInvalidCertificates
    "mysql/my.cnf:3": ("ok", "mysql"),  # ssl-ca + ssl-mode=VERIFY_CA
    "mysql/nightly.sh:2": ("plaintext-fallback", "mysql"),  # --ssl-mode=PREFERRED
    "mysql/nightly.sh:3": ("no-tls", "mysql"),  # --ssl-mode=DISABLED
    "node/db.js:4": ("ok", "node"),  # ssl: { ca: readFileSync(global bundle) }
    "node/db.js:9": ("no-verification", "node"),  # rejectUnauthorized: false
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    shutil.copytree(FIXTURE, root)
    certs = root / "app" / "certs"
    certs.mkdir(parents=True)
    shutil.copy(DATA / "global-bundle-2025.pem", certs / "global-bundle.pem")
    shutil.copy(DATA / "rds-combined-ca-bundle-2019.pem", certs / "rds-combined-ca-bundle.pem")
    # What `keytool -importcert -file global-bundle.pem` makes: the first certificate only.
    first = x509.load_pem_x509_certificates((DATA / "global-bundle-2025.pem").read_bytes())[0]
    entry = jks.TrustedCertEntry.new("rds", first.public_bytes(serialization.Encoding.DER))
    (certs / "truststore.jks").write_bytes(jks.KeyStore.new("jks", [entry]).saves("changeit"))
    # Things the walk must not enter or follow.
    for skipped in ("node_modules/pg", ".git", ".venv/lib"):
        (root / skipped).mkdir(parents=True)
        (root / skipped / "config.js").write_text("x = 'sslmode=verify-full sslrootcert=/a.pem'")
    (root / "etc-link.pem").symlink_to("/etc/hostname")
    with (root / "dump.pem").open("wb") as fh:  # 50 MB, sparse
        fh.truncate(50 * 1024 * 1024)
    return root


def scan_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["trust", "scan", *args, "--format", "json"])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, json.loads(out)


def test_scan_classifies_each_setting_kind(capsys, tree):
    code, doc = scan_json(capsys, str(tree))
    assert code == 3 and doc["will_break"] is True
    assert doc["schema"] == "rdsca.trust-scan/1"
    found = {f"{s['path']}:{s['line']}": (s["verdict"], s["client"]) for s in doc["settings"]}
    assert found == EXPECTED


def test_scan_checks_bundle_files_and_links_them_to_settings(capsys, tree):
    _, doc = scan_json(capsys, str(tree))
    bundles = {b["path"]: b for b in doc["bundles"]}
    assert bundles["app/certs/global-bundle.pem"]["verdict"] == "ok"
    old = bundles["app/certs/rds-combined-ca-bundle.pem"]
    assert old["verdict"] == "will-break"
    assert set(old["referenced_by"]) == {
        "app/db.py:5",
        "app/db.py:12",
        "deploy/batch.env:1",
        "mongo/config.yaml:2",
    }
    jks_file = bundles["app/certs/truststore.jks"]
    assert jks_file["verdict"] == "will-break" and jks_file["format"] == "jks"
    assert "33 of 34" in jks_file["detail"]
    huge = bundles["dump.pem"]
    assert huge["verdict"] == "unreadable" and "50.0 MB" in huge["detail"]
    assert not any("node_modules" in p or ".git" in p or ".venv" in p for p in bundles)
    assert "etc-link.pem" not in bundles
    assert doc["skipped"]["symlink or special file"] == 1


def test_scan_redacts_secrets(capsys, tree):
    _, doc = scan_json(capsys, str(tree))
    text = json.dumps(doc)
    assert "hunter2" not in text and "s3cr3t" not in text
    assert "app:***@reports.example" in text


def test_scan_table_output(capsys, tree):
    code = main(["trust", "scan", str(tree)])
    out, _ = capsys.readouterr()
    assert code == 3
    assert "will-break          app/db.py:5" in out
    assert out.rstrip().splitlines()[-1].startswith("WILL BREAK:")


def test_scan_of_a_clean_tree_exits_0(capsys, tmp_path):
    (tmp_path / "certs").mkdir()
    shutil.copy(DATA / "global-bundle-2025.pem", tmp_path / "certs" / "global-bundle.pem")
    (tmp_path / "app.env").write_text("PGSSLMODE=verify-full\nPGSSLROOTCERT=/certs/global-bundle.pem\n")
    code, doc = scan_json(capsys, str(tmp_path), "--for", "rds-ca-ecc384-g1")
    assert code == 0 and doc["counts"] == {"ok": 2}


def test_scan_is_bounded(capsys, tmp_path):
    for i in range(300):
        (tmp_path / f"f{i:03}.txt").write_text("sslmode=disable\n")
    code, doc = scan_json(capsys, str(tmp_path), "--max-files", "100")
    assert code == 0 and doc["truncated"] is True and doc["files_seen"] == 100
    assert run_time_of_library_scan(tmp_path) < 5


def run_time_of_library_scan(path: Path) -> float:
    start = time.perf_counter()
    scan_tree(path)
    return time.perf_counter() - start


def test_scan_rejects_a_file_path(capsys):
    code = main(["trust", "scan", os.fspath(DATA / "global-bundle-2025.pem")])
    _, err = capsys.readouterr()
    assert code == 2 and "not a directory" in err
