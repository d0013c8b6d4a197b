"""`rdsca trust scan` judges each client library by its own rules: one test per class of false
"ok" (or false "safe") the scan used to give. Each tree is written the way real repositories are:
a Spring `application.properties`, a `jvm.options`, a `my.cnf`, a `.env`, Python modules."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import jks
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from rdsca.cli.app import main
from support.keystores import write_p12_truststore

DATA = Path(str(resources.files("rdsca.catalog") / "data"))
GLOBAL = DATA / "global-bundle-2025.pem"
OLD = DATA / "rds-combined-ca-bundle-2019.pem"
STORE_PASSWORD = "tr0ub4dor-store"


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def with_bundles(root: Path) -> Path:
    certs = root / "certs"
    certs.mkdir(parents=True, exist_ok=True)
    shutil.copy(GLOBAL, certs / "global-bundle.pem")
    shutil.copy(OLD, certs / "rds-combined-ca-bundle.pem")
    return root


def scan(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    code = main(["trust", "scan", str(root), "--format", "json", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, json.loads(out), out + err


def settings(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{s['path']}:{s['line']}": s for s in doc["settings"]}


def verdicts(doc: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {k: (s["verdict"], s["client"]) for k, s in settings(doc).items()}


def test_libpq_prefer_or_allow_with_a_root_file_that_lacks_the_ca_will_break(capsys, tmp_path):
    root = with_bundles(tmp_path)
    write(
        root,
        "deploy/orders.env",
        "PGHOST=orders.example\nPGSSLMODE=prefer\nPGSSLROOTCERT=/certs/rds-combined-ca-bundle.pem\n",
    )
    write(root, "deploy/ledger.env", "PGSSLMODE=allow\nPGSSLROOTCERT=/certs/rds-combined-ca-bundle.pem\n")
    write(root, "deploy/search.env", "PGSSLMODE=prefer\nPGSSLROOTCERT=/certs/global-bundle.pem\n")
    write(root, "deploy/cache.env", "PGSSLMODE=prefer\n")  # no root file: no verification
    code, doc, _ = scan(capsys, root)
    found = settings(doc)
    assert code == 3
    assert verdicts(doc) == {
        "deploy/cache.env:1": ("plaintext-fallback", "libpq"),
        "deploy/ledger.env:1": ("will-break", "libpq"),
        "deploy/orders.env:2": ("will-break", "libpq"),
        "deploy/search.env:1": ("ok", "libpq"),
    }
    detail = found["deploy/orders.env:2"]["detail"]
    assert "rds.force_ssl=1" in detail  # why it breaks instead of falling back
    assert "--sessions-dsn" in detail and "require_secure_transport=OFF" in detail  # what would change it
    assert "~/.postgresql/root.crt" in found["deploy/cache.env:1"]["detail"]


def test_pgjdbc_is_not_libpq(capsys, tmp_path):
    root = with_bundles(tmp_path)
    write(
        root,
        "ledger/src/main/resources/application.properties",
        "spring.datasource.url=jdbc:postgresql://ledger.example:5432/ledger\n"
        "spring.datasource.hikari.data-source-properties.sslmode=require\n"
        "spring.datasource.hikari.data-source-properties.sslrootcert=/certs/rds-combined-ca-bundle.pem\n",
    )
    write(
        root,
        "reports/src/main/resources/application.properties",
        "reports.url=jdbc:postgresql://reports.example/r?sslmode=require&sslrootcert=/certs/rds-combined-ca-bundle.pem\n"
        "audit.url=jdbc:postgresql://audit.example/a?sslmode=require&sslfactory=org.postgresql.ssl.DefaultJavaSSLFactory\n"
        "orders.url=jdbc:postgresql://orders.example/o?sslmode=verify-full&sslrootcert=/certs/rds-combined-ca-bundle.pem\n"
        "raw.url=jdbc:postgresql://raw.example/o?sslmode=verify-full&sslfactory=org.postgresql.ssl.NonValidatingFactory\n",
    )
    write(
        root,
        "ledger/src/main/java/com/example/Db.java",
        "package com.example;\n\nimport java.util.Properties;\n\nfinal class Db {\n"
        "    static Properties props() {\n"
        "        Properties props = new Properties();\n"
        '        props.setProperty("sslmode", "verify-ca");\n'
        '        props.setProperty("sslrootcert", "/certs/global-bundle.pem");\n'
        "        return props;\n    }\n}\n",
    )
    write(  # sslrootcert and no sslmode anywhere: pgjdbc's default (prefer) reads no root file
        root,
        "billing/src/main/resources/application.properties",
        "spring.datasource.url=jdbc:postgresql://billing.example/b?sslrootcert=/certs/rds-combined-ca-bundle.pem\n",
    )
    code, doc, _ = scan(capsys, root)
    found = settings(doc)
    assert code == 3
    assert verdicts(doc) == {
        "billing/src/main/resources/application.properties:1": ("no-verification", "pgjdbc"),
        "ledger/src/main/java/com/example/Db.java:8": ("ok", "pgjdbc"),
        "ledger/src/main/resources/application.properties:2": ("no-verification", "pgjdbc"),
        "reports/src/main/resources/application.properties:1": ("no-verification", "pgjdbc"),
        "reports/src/main/resources/application.properties:2": ("unknown", "pgjdbc"),
        "reports/src/main/resources/application.properties:3": ("will-break", "pgjdbc"),
        "reports/src/main/resources/application.properties:4": ("no-verification", "pgjdbc"),
    }
    assert "even with sslrootcert" in found["reports/src/main/resources/application.properties:1"]["detail"]
    jvm = found["reports/src/main/resources/application.properties:2"]["detail"]
    assert "JVM" in jvm and "cacerts" in jvm
    # pgjdbc's require does not read the root file: it is not another "CA file" finding either.
    assert not any(s["setting"] == "CA file" for s in doc["settings"])


def test_mariadb_and_mysql_connector_j_settings_are_recognised(capsys, tmp_path):
    root = with_bundles(tmp_path)
    write(
        root,
        "billing/src/main/resources/application.properties",
        "billing.url=jdbc:mariadb://billing.example:3306/b?sslMode=verify-full&serverSslCert=/certs/rds-combined-ca-bundle.pem\n"
        "stock.url=jdbc:mariadb://stock.example:3306/s?sslMode=trust\n"
        "legacy.url=jdbc:mariadb://legacy.example:3306/l?useSsl=true&trustServerCertificate=true\n"
        "old.url=jdbc:mariadb://old.example:3306/l?useSsl=true&serverSslCert=/certs/global-bundle.pem\n"
        "off.url=jdbc:mariadb://off.example:3306/o?sslMode=disable\n",
    )
    write(
        root,
        "inventory/src/main/resources/application.properties",
        "inv.url=jdbc:mysql://inv.example:3306/i?sslMode=VERIFY_CA\n"
        "shop.url=jdbc:mysql://shop.example:3306/s?sslMode=REQUIRED\n"
        "web.url=jdbc:mysql://web.example:3306/w?sslMode=PREFERRED\n",
    )
    write(  # Connector/J 2.x has no sslMode (3.0 added it): it ignores it and uses no TLS
        root,
        "ledger/pom.xml",
        "<project>\n  <properties>\n    <mariadb.version>2.7.6</mariadb.version>\n  </properties>\n"
        "  <dependencies>\n    <dependency>\n      <groupId>org.mariadb.jdbc</groupId>\n"
        "      <artifactId>mariadb-java-client</artifactId>\n      <version>${mariadb.version}</version>\n"
        "    </dependency>\n  </dependencies>\n</project>\n",
    )
    write(
        root,
        "ledger/src/main/resources/application.properties",
        "ledger.url=jdbc:mariadb://ledger.example:3306/l?sslMode=verify-full&serverSslCert=/certs/rds-combined-ca-bundle.pem\n",
    )
    code, doc, _ = scan(capsys, root)
    found = settings(doc)
    assert code == 3
    assert "pom.xml:9" in found["ledger/src/main/resources/application.properties:1"]["detail"]
    assert verdicts(doc) == {
        "ledger/src/main/resources/application.properties:1": ("no-tls", "mariadb-connector-j"),
        "billing/src/main/resources/application.properties:1": ("will-break", "mariadb-connector-j"),
        "billing/src/main/resources/application.properties:2": ("no-verification", "mariadb-connector-j"),
        "billing/src/main/resources/application.properties:3": ("no-verification", "mariadb-connector-j"),
        "billing/src/main/resources/application.properties:4": ("ok", "mariadb-connector-j"),
        "billing/src/main/resources/application.properties:5": ("no-tls", "mariadb-connector-j"),
        "inventory/src/main/resources/application.properties:1": ("unknown", "mysql-connector-j"),
        "inventory/src/main/resources/application.properties:2": ("no-verification", "mysql-connector-j"),
        "inventory/src/main/resources/application.properties:3": ("plaintext-fallback", "mysql-connector-j"),
    }
    assert "cacerts" in found["inventory/src/main/resources/application.properties:1"]["detail"]


def _truststore_p12(path: Path, bundle: Path, password: str) -> None:
    write_p12_truststore(path, certs_of(bundle), password, "rds")


def certs_of(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def test_a_keystore_is_opened_with_the_password_written_beside_it(capsys, tmp_path, monkeypatch):
    root = tmp_path
    _truststore_p12(write(root, "app/certs/rds-truststore.p12", ""), GLOBAL, STORE_PASSWORD)
    write(
        root,
        "app/jvm.options",
        "-Xmx1g\n-Djavax.net.ssl.trustStore=/app/certs/rds-truststore.p12\n"
        f"-Djavax.net.ssl.trustStoreType=PKCS12\n-Djavax.net.ssl.trustStorePassword={STORE_PASSWORD}\n",
    )
    old_store = jks.KeyStore.new(
        "jks",
        [
            jks.TrustedCertEntry.new(f"rds{i}", c.public_bytes(serialization.Encoding.DER))
            for i, c in enumerate(certs_of(OLD))
        ],
    )
    (root / "inv/certs").mkdir(parents=True)
    (root / "inv/certs/inventory.jks").write_bytes(old_store.saves("inv-store-pw"))
    write(
        root,
        "inv/application.properties",
        "inventory.url=jdbc:mysql://inv.example:3306/inv?sslMode=VERIFY_IDENTITY"
        "&trustCertificateKeyStoreUrl=file:/inv/certs/inventory.jks&trustCertificateKeyStorePassword=inv-store-pw\n",
    )
    _truststore_p12(write(root, "batch/certs/batch.p12", ""), GLOBAL, "not-written-anywhere")
    write(root, "batch/jvm.options", "-Djavax.net.ssl.trustStore=/batch/certs/batch.p12\n")
    code, doc, text = scan(capsys, root)
    found = settings(doc)
    bundles = {b["path"]: b for b in doc["bundles"]}
    assert found["app/jvm.options:2"]["verdict"] == "ok"
    assert bundles["app/certs/rds-truststore.p12"]["verdict"] == "ok"
    assert found["inv/application.properties:1"]["verdict"] == "will-break"
    assert bundles["inv/certs/inventory.jks"]["verdict"] == "will-break"
    # No password beside it: "unknown", saying what is missing.
    batch = found["batch/jvm.options:1"]
    assert batch["verdict"] == "unknown" and "password needed" in batch["detail"]
    assert "--password-env" in batch["detail"]
    assert STORE_PASSWORD not in text and "inv-store-pw" not in text  # secrets stay out of the output
    table = main(["trust", "scan", str(root)])
    assert table == 3 and STORE_PASSWORD not in capsys.readouterr().out

    monkeypatch.setenv("BATCH_STORE_PW", "not-written-anywhere")
    code, doc, text = scan(capsys, root, "--password-env", "BATCH_STORE_PW")
    assert code == 3 and settings(doc)["batch/jvm.options:1"]["verdict"] == "ok"
    assert "not-written-anywhere" not in text


def test_my_cnf_option_prefixes(capsys, tmp_path):
    root = with_bundles(tmp_path)
    write(
        root,
        "etc/mysql/conf.d/client.cnf",
        "[client]\nloose-ssl-ca = /certs/rds-combined-ca-bundle.pem\nskip-ssl-verify-server-cert\n\n"
        "[mysqldump]\nssl-ca = /certs/rds-combined-ca-bundle.pem\nenable-ssl-verify-server-cert\n\n"
        "[mysqladmin]\nssl-ca=/certs/global-bundle.pem\nloose-ssl-verify-server-cert = 1\n\n"
        "[mysqlcheck]\ndisable-ssl-verify-server-cert\n\n"
        "[mysqlimport]\nloose-skip-ssl\n\n"
        "[mysqlshow]\nssl\n\n"
        "[mysqlpump]\nssl-mode = PREFERRED\nssl-ca = /certs/rds-combined-ca-bundle.pem\n",
    )
    write(
        root,
        "ops/backup.sh",
        "#!/bin/sh\nmariadb-dump --skip-ssl-verify-server-cert --host=db.example shop > shop.sql\n",
    )
    code, doc, _ = scan(capsys, root)
    assert code == 3
    assert verdicts(doc) == {
        # skip-ssl-verify-server-cert drops only the host name check: the chain is still checked
        # against the group's ssl-ca (the mariadb CLI, seen by the real-client matrix).
        "etc/mysql/conf.d/client.cnf:3": ("will-break", "mysql"),
        "etc/mysql/conf.d/client.cnf:7": ("will-break", "mysql"),
        "etc/mysql/conf.d/client.cnf:11": ("ok", "mysql"),
        "etc/mysql/conf.d/client.cnf:14": ("no-verification", "mysql"),
        "etc/mysql/conf.d/client.cnf:17": ("no-tls", "mysql"),
        "etc/mysql/conf.d/client.cnf:20": ("no-verification", "mysql"),  # bare `ssl`, no ssl-ca
        # PREFERRED with an ssl-ca checks the chain, then falls back: a failure where the server
        # requires TLS (require_secure_transport=ON).
        "etc/mysql/conf.d/client.cnf:23": ("will-break", "mysql"),
        "ops/backup.sh:2": ("no-verification", "mysql"),
    }


def test_mysql_connector_python_is_named_and_judged_as_itself(capsys, tmp_path):
    root = with_bundles(tmp_path)
    write(
        root,
        "app/inventory.py",
        "import mysql.connector\n\n"
        'stock = mysql.connector.connect(host="stock.example", ssl_ca="/certs/old.pem")\n\n'
        "orders = mysql.connector.connect(\n"
        '    host="orders.example",\n'
        '    ssl_ca="/certs/rds-combined-ca-bundle.pem",\n'
        "    ssl_verify_cert=True,\n"
        ")\n"
        'plain = mysql.connector.connect(host="plain.example", ssl_disabled=True)\n',
    )
    write(
        root,
        "app/config.py",
        "import mysql.connector\n\nDB_CONFIG = {\n"
        '    "host": "reports.example",\n'
        '    "ssl_ca": "/certs/rds-combined-ca-bundle.pem",\n'
        "}\n"
        'ARCHIVE = {"host": "archive.example", "ssl_disabled": True}\n'
        "conn = mysql.connector.connect(**DB_CONFIG)\n",
    )
    write(
        root,
        "app/legacy.py",
        'import pymysql\n\nlegacy = pymysql.connect(host="l.example", ssl_ca="/certs/global-bundle.pem")\n',
    )
    code, doc, _ = scan(capsys, root)
    found = settings(doc)
    assert code == 3
    assert verdicts(doc) == {
        "app/inventory.py:3": ("no-verification", "mysql-connector-python"),
        "app/inventory.py:7": ("will-break", "mysql-connector-python"),
        "app/inventory.py:10": ("no-tls", "mysql-connector-python"),
        "app/config.py:5": ("no-verification", "mysql-connector-python"),
        "app/config.py:7": ("no-tls", "mysql-connector-python"),
        "app/legacy.py:3": ("no-verification", "pymysql"),
    }
    assert "mysql-connector-python's ssl_ca alone" in found["app/inventory.py:3"]["detail"]


def test_a_ca_named_only_in_comments_or_documentation_is_no_finding(capsys, tmp_path):
    root = with_bundles(tmp_path)
    write(
        root,
        "README.md",
        "Connect with `sslmode=verify-full sslrootcert=/certs/rds-combined-ca-bundle.pem`.\n",
    )
    write(root, "docs/setup.rst", "Set PGSSLROOTCERT=/certs/rds-combined-ca-bundle.pem\n")
    write(
        root,
        "deploy/app.env",
        "# PGSSLMODE=verify-full\n# PGSSLROOTCERT=/certs/rds-combined-ca-bundle.pem\nPGHOST=db\n",
    )
    write(
        root,
        "app/db.py",
        "# psycopg.connect('sslmode=verify-full sslrootcert=/certs/rds-combined-ca-bundle.pem')\n",
    )
    write(
        root,
        "app/Db.java",
        '// props.setProperty("sslrootcert", "/certs/rds-combined-ca-bundle.pem");\nclass Db {}\n',
    )
    write(root, "etc/my.cnf", "[client]\n; ssl-ca = /certs/rds-combined-ca-bundle.pem\n")
    _code, doc, _ = scan(capsys, root)
    assert doc["settings"] == [] and not any(b["referenced_by"] for b in doc["bundles"])


def _ca(
    cn: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Certificate | None = None, issuer_key=None
) -> x509.Certificate:
    now = datetime.now(UTC)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Corp"),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    return builder.sign(issuer_key or key, hashes.SHA256())


def test_catalogue_learns_cas_by_key_whatever_their_names(capsys, tmp_path):
    root_key, int_key, g2_key = (ec.generate_private_key(ec.SECP384R1()) for _ in range(3))
    root = _ca("Example Corp Test Root", root_key)
    issuing = _ca("Example DB Issuing CA 7", int_key, root, root_key)
    future = _ca("Amazon RDS eu-west-1 Root CA ECC384 G2 (new naming)", g2_key)
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (issuing, root, future))
    extra = write(tmp_path, "private-cas.pem", "")
    extra.write_bytes(pem)
    code = main(["trust", "catalogue", "--bundle", str(extra), "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0 and "example-corp-test-root" in out and "rds-ca-ecc384-g2" in out

    client_bundle = write(tmp_path, "client/ca.pem", "")
    client_bundle.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    code = main(["trust", "check", str(client_bundle), "--for", "example-corp-test-root",
                 "--catalogue-bundle", str(extra), "--format", "json"])  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["trusted"] is True
    # The intermediate belongs to the root that issued it (by key identifier), not to its own name.
    assert doc["bundle"]["certificates"][0]["rds"]["ca_id"] == "example-corp-test-root"

    code = main(["trust", "check", str(client_bundle), "--for", "rds-ca-ecc384-g2", "--region", "eu-west-1",
                 "--catalogue-bundle", str(extra), "--format", "json"])  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert code == 3 and doc["regions"][0]["status"] == "missing"
