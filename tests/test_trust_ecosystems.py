"""`rdsca trust scan` over one fixture tree per ecosystem (Node, Python, Java, .NET, PHP, Ruby, Go,
Oracle Net, ProxySQL, libpq's implicit root file), each scanned twice: with AWS's old combined
bundle (no G1 root) and with the 2025 global bundle placed where the tree's settings point."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jks
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from rdsca.cli.app import main
from support.cli import run

DATA = Path(str(resources.files("rdsca.catalog") / "data"))
TREES = Path(__file__).parent / "data" / "ecosystems"
BUNDLES = {"old": DATA / "rds-combined-ca-bundle-2019.pem", "new": DATA / "global-bundle-2025.pem"}
W, OK, NV, UNK, NT = "will-break", "ok", "no-verification", "unknown", "no-tls"
FB = "plaintext-fallback"


@dataclass(frozen=True)
class Tree:
    pem: tuple[str, ...]  # where the bundle is put (as a PEM file)
    expected: dict[str, tuple[str, str, str]]  # "file:line" -> (client, verdict with old, with new)
    jks: tuple[str, ...] = ()  # where it is put as a Java keystore (password changeit)


TREE = {
    "node": Tree(
        ("certs/rds-bundle.pem",),
        {
            ".env:2": ("prisma", W, OK),  # sslaccept=strict, sslcert relative to prisma/
            ".env:3": ("prisma", NV, NV),  # sslcert without sslaccept: accept_invalid_certs
            "Dockerfile:6": ("node", W, OK),  # ENV NODE_EXTRA_CA_CERTS
            "knexfile.js:10": ("node", W, OK),  # ca: readFileSync(path.join(__dirname, ...))
            "package.json:6": ("node", W, OK),  # NODE_EXTRA_CA_CERTS=... node src/server.js
            # ssl: 'Amazon RDS' is the CA list compiled into mysql2, whatever the tree's bundle: ^3.9.7 in
            # package.json holds AWS's 2023 G1 roots, which miss the regions opened since
            "src/data-source.ts:11": ("node-mysql", W, W),  # TypeORM (only mysql2 installed)
            "src/db.js:11": ("node-mysql2", W, W),  # mysql2
            "src/models/index.js:7": ("node-mysql2", W, W),  # Sequelize dialectOptions
            "src/reporting.js:6": ("node-postgres", W, OK),  # sslmode=require replaces ssl {ca}: Node's
            # CAs plus NODE_EXTRA_CA_CERTS, set in the Dockerfile
            "src/reporting.js:13": ("node-postgres", W, OK),  # sslrootcert in the URL
            "src/reporting.js:17": ("node-postgres", NV, NV),  # sslmode=no-verify
        },
    ),
    "python": Tree(
        ("srv/shop/certs/rds-bundle.pem", "srv/shop/wallet/ewallet.pem", "mysite/certs/rds-bundle.pem"),
        {
            "etl/engines.py:7": ("libpq", W, OK),  # SQLAlchemy URL sslmode + sslrootcert
            "etl/engines.py:11": ("pymysql", W, OK),  # mysql+pymysql ?ssl_ca=
            "etl/engines.py:15": ("mysql-connector-python", NV, NV),  # ?ssl_ca= without ssl_verify_cert
            "etl/engines.py:20": ("libpq", NV, NV),  # connect_args sslmode=require, no root file
            "ledger/oracle.py:13": ("python-oracledb", W, OK),  # wallet_location -> ewallet.pem
            "shop/settings.py:16": ("libpq", W, OK),  # Django OPTIONS, sslrootcert from .env
            "shop/settings.py:25": ("mysqlclient", W, OK),  # Django OPTIONS ssl_mode + ssl {'ca'}
            "mysite/mysite/settings.py:14": ("libpq", W, OK),  # str(BASE_DIR / "certs" / ...)
            "mysite/mysite/settings.py:22": ("libpq", W, OK),  # os.path.join(LEGACY_ROOT, ...)
        },
    ),
    "java": Tree(
        ("billing/certs/rds-bundle.pem",),
        {
            "billing/Dockerfile:5": ("java", W, OK),  # JAVA_TOOL_OPTIONS -Djavax.net.ssl.trustStore
            "billing/src/main/resources/application-legacy.properties:2": (
                "pgjdbc",
                W,
                OK,
            ),  # the JVM's store
            "billing/src/main/resources/application.yml:13": ("pgjdbc", W, OK),  # nested YAML
            "billing/src/main/resources/application.yml:24": ("pgjdbc", NV, NV),  # pgjdbc require
            "ledger/application-prod.properties:3": ("mariadb-connector-j", W, OK),  # serverSslCert
            "reporting/src/main/resources/application.properties:2": ("mysql-connector-j", W, OK),  # cacerts
        },
        jks=("billing/certs/rds-truststore.jks", "reporting/jre/lib/security/cacerts"),
    ),
    "dotnet": Tree(
        (
            "Orders.Api/certs/rds-bundle.pem",
            "app/certs/rds-bundle.pem",
            "Billing.Legacy/certs/rds-bundle.pem",
            "Billing/certs/rds-bundle.pem",
            "Shipping/certs/rds-bundle.pem",
            "home/app/.postgresql/root.crt",
        ),
        {
            "Orders.Api/appsettings.json:8": ("mysqlconnector", W, OK),  # SslMode=VerifyFull;SslCa
            "Orders.Api/appsettings.json:9": ("npgsql", W, OK),  # Root Certificate
            "Orders.Api/appsettings.json:10": ("npgsql", NV, NV),  # Trust Server Certificate=true
            "Orders.Api/appsettings.json:11": ("mysqlconnector", NV, NV),  # SslMode=Preferred
            "Orders.Api/appsettings.json:12": ("sqlclient", UNK, UNK),  # Encrypt: the OS store
            "Orders.Api/appsettings.json:13": ("sqlclient", NV, NV),  # TrustServerCertificate=True
            # Encrypt=False: SqlClient 2.0+ checks the certificate when the server forces encryption
            "Orders.Api/appsettings.json:14": ("sqlclient", UNK, UNK),
            "Orders.Api/appsettings.json:15": ("mysqlconnector", NT, NT),  # SslMode=Disabled (= None)
            # SSL Mode=Require with Root Certificate: what it does depends on the Npgsql version
            "Orders.Api/appsettings.json:16": ("npgsql", UNK, UNK),  # no project file pins one
            "Orders.Api/appsettings.json:17": ("npgsql", W, OK),  # VerifyFull: ~/.postgresql/root.crt
            "Billing.Legacy/appsettings.json:3": ("npgsql", W, OK),  # Npgsql 5.0.18: Require verifies
            "Billing/appsettings.json:3": ("npgsql", NV, NV),  # EF provider 8.0.4: Require does not
            "Shipping/appsettings.json:3": ("npgsql", UNK, UNK),  # 7.0.6 (lock file): refuses it
            # SSL Mode=Prefer checks the certificate before Npgsql 6.0 only
            "Orders.Api/appsettings.json:18": ("npgsql", UNK, UNK),  # no version pinned
            "Billing.Legacy/appsettings.json:4": ("npgsql", W, OK),  # 5.0.18: checks Root Certificate
            "Billing/appsettings.json:4": ("npgsql", FB, FB),  # 8.x: never checks, may fall back
            "Catalog.Worker/Db.cs:13": ("mysqlconnector", W, OK),  # builder SslMode + SslCa
            "Catalog.Worker/Db.cs:22": ("npgsql", UNK, UNK),  # RootCertificate from an env variable
        },
    ),
    "php": Tree(
        (
            "var/www/shop/certs/rds-bundle.pem",
            "shop/certs/rds-bundle.pem",
            "billing/config/certs/rds-bundle.pem",
            "certs/rds-bundle.pem",
            "portal/certs/rds-bundle.pem",
        ),
        {
            "billing/config/packages/doctrine.yaml:6": ("pdo_mysql", W, OK),  # %kernel.project_dir%
            # Laravel 12 (PHP 8.4+): the driver subclass's constants, Pdo\Mysql::ATTR_SSL_CA
            "portal/config/database.php:17": ("pdo_mysql", W, OK),
            "portal/config/database.php:25": ("pdo_mysql", NV, NV),  # ATTR_SSL_VERIFY_SERVER_CERT false
            "scripts/nightly-export.php:8": ("pdo_mysql", NV, NV),  # VERIFY_SERVER_CERT false
            "shop/config/database.php:21": ("pdo_mysql", W, OK),  # env('MYSQL_ATTR_SSL_CA') in .env
            "shop/config/database.php:33": ("pdo_pgsql", W, OK),  # sslmode default + base_path()
        },
    ),
    "ruby": Tree(
        ("rails/config/certs/rds-bundle.pem", "config/certs/rds-bundle.pem"),
        {
            "config/database.yml:14": ("libpq", W, OK),  # sslrootcert from ERB ENV.fetch default
            "config/database.yml:22": ("mysql2-ruby", W, OK),  # sslca Rails.root.join + :verify_identity
            "config/database.yml:28": ("mysql2-ruby", NV, NV),  # ssl_mode: :required
        },
    ),
    "go": Tree(
        ("etc/orders/certs/rds-bundle.pem",),
        {
            "Makefile:1": ("golang-migrate", W, OK),  # x-tls-ca
            "internal/db/mysql.go:26": ("go-mysql", W, OK),  # tls=rds, RegisterTLSConfig + ReadFile
            "internal/db/mysql.go:32": ("go-mysql", UNK, UNK),  # tls=true: system roots
            "internal/db/mysql.go:37": ("go-mysql", NV, NV),  # tls=skip-verify
            "internal/db/postgres.go:9": ("libpq", W, OK),  # pgx DSN sslrootcert
        },
    ),
    "oracle": Tree(
        ("opt/oracle/wallet/ewallet.pem",),
        {
            "network/admin/sqlnet.ora:2": ("oracle-net", W, OK),  # WALLET_LOCATION
            "network/admin/tnsnames.ora:3": ("oracle-net", W, OK),  # TCPS, the wallet beside it
        },
    ),
    "proxysql": Tree(
        ("etc/proxysql/rds-bundle.pem", "etc/proxysql/rds-bundle-2025.pem"),
        {
            "proxysql.cnf:15": ("proxysql", W, OK),  # ssl_p2s_ca in mysql_variables
            "rotate-ca.sql:2": ("proxysql", W, OK),  # SET mysql-ssl_p2s_ca on the admin interface
        },
    ),
    "libpq": Tree(
        ("home/app/.postgresql/root.crt",),
        {
            "app/.env:3": ("libpq", W, OK),  # PGSSLMODE=verify-full, no root file named
            "app/report.sh:4": ("libpq", W, OK),  # sslmode=verify-ca
            "app/report.sh:5": ("libpq", W, OK),  # sslmode=require with root.crt: verify-ca
        },
    ),
}
# Clients these trees are about; findings of other rules (lockfiles, images) are not pinned here.
CLIENTS = {client for tree in TREE.values() for client, _, _ in tree.expected.values()}


def build(tmp_path: Path, name: str, bundle: str) -> Path:
    root = tmp_path / name
    shutil.copytree(TREES / name, root)
    tree, pem = TREE[name], BUNDLES[bundle]
    for rel in tree.pem:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(pem, root / rel)
    certs = x509.load_pem_x509_certificates(pem.read_bytes())
    entries = [
        jks.TrustedCertEntry.new(f"rds{i}", c.public_bytes(serialization.Encoding.DER))
        for i, c in enumerate(certs)
    ]
    for rel in tree.jks:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(jks.KeyStore.new("jks", entries).saves("changeit"))
    return root


def scan(capsys: pytest.CaptureFixture[str], root: Path) -> tuple[int, dict[str, Any]]:
    code, out, _ = run(capsys, "trust", "scan", str(root), "--format", "json")
    return code, json.loads(out)


@pytest.mark.parametrize("bundle", ["old", "new"])
@pytest.mark.parametrize("name", sorted(TREE))
def test_each_ecosystem_tree(capsys, tmp_path, name, bundle):
    code, doc = scan(capsys, build(tmp_path, name, bundle))
    found = {
        f"{s['path']}:{s['line']}": (s["client"], s["verdict"])
        for s in doc["settings"]
        if s["client"] in CLIENTS
    }
    column = 1 if bundle == "old" else 2
    assert found == {where: (row[0], row[column]) for where, row in TREE[name].expected.items()}
    lines = [(s["path"], s["line"]) for s in doc["settings"]]
    assert len(lines) == len(set(lines)), "two findings for one line"
    if bundle == "old":
        assert code == 3
    else:
        assert not any(
            s["verdict"] == W
            for s in doc["settings"]
            if s["client"] in CLIENTS and "Amazon RDS" not in s["setting"]
        )


def test_a_ca_only_in_comments_and_documentation_gives_no_finding(capsys):
    code, doc = scan(capsys, TREES / "comments")
    assert code == 0 and doc["settings"] == [] and doc["bundles"] == []


def test_details_say_what_decides(capsys, tmp_path):
    _, doc = scan(capsys, build(tmp_path, "node", "old"))
    detail = {f"{s['path']}:{s['line']}": s["detail"] for s in doc["settings"]}
    assert (
        "mysql2 ^3.9.7 (no lockfile" in detail["src/db.js:11"] and "package.json:12" in detail["src/db.js:11"]
    )
    assert "replaces the ssl object on line 7" in detail["src/reporting.js:6"]
    assert "accept_invalid_certs" in detail[".env:3"]
    assert "hunter2" not in json.dumps(doc)  # the password in DATABASE_URL is masked
    _, doc = scan(capsys, build(tmp_path / "x", "dotnet", "new"))
    pricing = next(s for s in doc["settings"] if s["path"] == "Catalog.Worker/Db.cs" and s["line"] == 22)
    assert pricing["detail"] == "unknown: set by environment variable PRICING_DB_CA"
    npgsql = {s["path"].split("/")[0]: s["detail"] for s in doc["settings"] if "Require" in s["setting"]}
    assert "Npgsql 5.0.18 (Billing.Legacy/Billing.Legacy.csproj:7)" in npgsql["Billing.Legacy"]
    assert "Npgsql 8.x) (Billing/Billing.csproj:6)" in npgsql["Billing"]
    assert "Npgsql 7.0.6 (Shipping/packages.lock.json:5) refuses" in npgsql["Shipping"]
    _, doc = scan(capsys, build(tmp_path / "y", "python", "new"))
    shop = next(s for s in doc["settings"] if s["path"] == "shop/settings.py" and s["line"] == 16)
    assert "SHOP_DB_CA" in shop["detail"] and ".env:2" in shop["detail"]


def test_an_env_variable_no_env_file_sets_is_unknown(capsys, tmp_path):
    root = build(tmp_path, "python", "new")
    (root / ".env").unlink()
    _, doc = scan(capsys, root)
    shop = next(s for s in doc["settings"] if s["path"] == "shop/settings.py" and s["line"] == 16)
    assert shop["verdict"] == UNK and shop["detail"] == "unknown: set by environment variable SHOP_DB_CA"


def test_pgsslrootcert_set_elsewhere_in_the_tree_is_followed(capsys, tmp_path):
    root = build(tmp_path, "libpq", "new")
    (root / "home/app/.postgresql/root.crt").unlink()
    shutil.copy(BUNDLES["old"], root / "old-bundle.pem")
    (root / "Dockerfile").write_text("FROM debian:12\nENV PGSSLROOTCERT=/old-bundle.pem\n")
    _, doc = scan(capsys, root)
    report = next(s for s in doc["settings"] if s["path"] == "app/report.sh" and s["line"] == 4)
    assert report["verdict"] == W and report["bundle"] == "old-bundle.pem"
    assert "PGSSLROOTCERT from Dockerfile:2" in report["detail"]


def test_table_output_through_the_console_entry_point(capsys, tmp_path):
    code = main(["trust", "scan", str(build(tmp_path, "go", "old"))])
    out, err = capsys.readouterr()
    assert code == 3 and "Traceback" not in err
    assert re.search(r"will-break +internal/db/mysql\.go:26 +go-mysql +tls=rds ", out)


def test_readiness_scan_of_an_ecosystem_tree(sandbox_env, capsys, tmp_path):
    """`rdsca readiness --scan`: ProxySQL's backend CA (which only the ecosystem rules read) is the
    sandbox's old bundle: the instance is at risk; with its new bundle it is not."""
    sandbox_env.control.seed_demo()
    files = dict(sandbox_env.control.pki()["files"])
    verdicts = {}
    for which in ("old-bundle.pem", "new-bundle.pem"):
        root = tmp_path / which / "proxysql"
        shutil.copytree(TREES / "proxysql", root)
        (root / "etc/proxysql").mkdir(parents=True)
        for name in ("rds-bundle.pem", "rds-bundle-2025.pem"):
            shutil.copy(files[which], root / "etc/proxysql" / name)
        args = ("--to", "rds-ca-rsa2048-g1", "--no-probe", "--scan", str(root), "--id", "orders-prod-pg")
        code, out, _ = run(capsys, "readiness", *args, "--format", "json")
        doc = json.loads(out)
        (instance,) = doc["instances"]
        verdicts[which] = (code, instance["verdict"], doc["scans"][0]["will_break"])
    assert verdicts["old-bundle.pem"] == (3, "at-risk", True)
    assert verdicts["new-bundle.pem"][1] != "at-risk" and verdicts["new-bundle.pem"][2] is False


def test_look_alike_settings_of_other_systems_are_not_read(capsys, tmp_path):
    (tmp_path / "cache.go").write_text(
        'package cache\n\nvar url = "rediss://cache.example:6380/0?tls=true"\n'
        'var mongo = "mongodb://docs.example:27017/?tls=true&replicaSet=rs0"\n'
    )
    (tmp_path / "appsettings.json").write_text(
        '{"ConnectionStrings": {"Redis": "cache.example:6380,ssl=True,abortConnect=False"},\n'
        ' "Crypto": "Algorithm=AES;Mode=CBC"}\n'
    )
    (tmp_path / "values.yml").write_text("adapter: redis\nssl_params:\n  verify_mode: none\n")
    _, doc = scan(capsys, tmp_path)
    assert [s for s in doc["settings"] if s["client"] in CLIENTS] == []


ENV_FORMS = [
    ("db.js", "const pool = new Pool({\n  ssl: { ca: fs.readFileSync(process.env.DB_CA) },\n});\n", "node"),
    ("db.py", 'OPTIONS = {"sslmode": "verify-full", "sslrootcert": os.getenv("DB_CA")}\n', "libpq"),
    (
        "db.go",
        'pem, _ := os.ReadFile(os.Getenv("DB_CA"))\n'
        'mysql.RegisterTLSConfig("rds", &tls.Config{RootCAs: pool})\n'
        'dsn := "app@tcp(db:3306)/app?tls=rds"\n',
        "go-mysql",
    ),
    ("jvm.options", "-Xmx1g\n-Djavax.net.ssl.trustStore=${DB_CA}\n", "java"),
    (
        "config/database.php",
        "<?php\nreturn ['options' => [PDO::MYSQL_ATTR_SSL_CA => env('DB_CA')]];\n",
        "pdo_mysql",
    ),
    (
        "config/database.yml",
        "production:\n  adapter: mysql2\n  sslca: <%= ENV['DB_CA'] %>\n  ssl_mode: :verify_ca\n",
        "mysql2-ruby",
    ),
    (
        "config/packages/doctrine.yaml",
        "doctrine:\n  dbal:\n    options:\n      1009: '%env(DB_CA)%'\n",
        "pdo_mysql",
    ),
]


@pytest.mark.parametrize(("name", "text", "client"), ENV_FORMS, ids=[f[0] for f in ENV_FORMS])
def test_a_ca_file_read_from_the_environment_is_looked_up_in_the_env_files(
    capsys, tmp_path, name, text, client
):
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(text)
    shutil.copy(BUNDLES["old"], tmp_path / "old-bundle.pem")
    _, doc = scan(capsys, tmp_path)
    (unset,) = [s for s in doc["settings"] if s["client"] == client]
    assert unset["verdict"] == UNK and unset["detail"] == "unknown: set by environment variable DB_CA"
    (tmp_path / ".env").write_text("DB_CA=/old-bundle.pem\n")
    _, doc = scan(capsys, tmp_path)
    (found,) = [s for s in doc["settings"] if s["client"] == client]
    assert found["verdict"] == W and found["bundle"] == "old-bundle.pem", found
    assert "environment variable DB_CA, set in .env:1" in found["detail"]


def _profile_tree(root: Path, mysql2: str) -> Path:
    """A Node service whose pool trusts mysql2's 'Amazon RDS' profile, with npm's lockfile layout."""
    lock = {
        "name": "orders",
        "version": "1.0.0",
        "lockfileVersion": 3,
        "requires": True,
        "packages": {
            "": {"name": "orders", "version": "1.0.0", "dependencies": {"mysql2": f"^{mysql2}"}},
            "node_modules/mysql2": {
                "version": mysql2,
                "resolved": f"https://registry.npmjs.org/mysql2/-/mysql2-{mysql2}.tgz",
            },
        },
    }
    (root / "src").mkdir(parents=True)
    (root / "package-lock.json").write_text(json.dumps(lock, indent=2) + "\n")
    (root / "src" / "db.js").write_text(
        "const mysql = require('mysql2');\n"
        "module.exports = mysql.createPool({\n"
        "  host: process.env.DB_HOST,\n"
        "  ssl: 'Amazon RDS',\n"
        "});\n"
    )
    return root


@pytest.mark.parametrize(
    ("mysql2", "region", "verdict"),
    [
        ("3.9.2", "us-east-1", "will-break"),  # its profile predates the G1 roots (added in 3.9.3)
        ("3.11.0", "us-east-1", "ok"),  # AWS's 2023 G1 roots
        ("3.11.0", "ca-west-1", "will-break"),  # a region whose G1 root came after that bundle
    ],
)
def test_amazon_rds_profile_is_judged_by_the_locked_driver_version(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, mysql2: str, region: str, verdict: str
) -> None:
    root = _profile_tree(tmp_path / "orders", mysql2)
    code, out, err = run(capsys, "trust", "scan", str(root), "--region", region, "--format", "json")
    data = json.loads(out)
    setting = next(s for s in data["settings"] if s["path"] == "src/db.js")
    assert (setting["line"], setting["client"], setting["verdict"]) == (4, "node-mysql2", verdict), setting
    assert f"mysql2 {mysql2}" in setting["detail"] and "package-lock.json" in setting["detail"]
    assert code == (3 if verdict == "will-break" else 0), err
