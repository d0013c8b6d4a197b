"""The real-client matrix: real database clients, configured by files, across a real CA rotation.

Each case is a small tree under tests/clients/cases/<name>/, written the way applications configure
that client (a pg_service.conf, a .env, a Django settings.py, a SQLAlchemy module, a Spring
application.properties, a my.cnf, a Node db.js). `render` copies the trees with the servers' ports
filled in and the bundles and truststores they name written beside them. rdsca's prediction for a
case is what `rdsca trust scan` says about that tree; the real outcome is what the client does when
it connects, through a small driver that reads the same files, while the servers present:

- `old`: the chain of the old hierarchy (what every bundle in the matrix trusts);
- `new`: the chain of the new hierarchy (the rotation);
- `rogue`: a look-alike of the new hierarchy (same names, other keys): a client that connects to it
  verifies nothing.

Cases marked `forced_tls` run again while the servers refuse plaintext (PostgreSQL `hostssl` only,
MariaDB `require_secure_transport=ON`), the way RDS for PostgreSQL 15+ does by default
(`rds.force_ssl=1`).

One Python process, one Node process and one JVM per distinct JAVA_TOOL_OPTIONS serve every case
and phase; psql and the MariaDB CLI run once per case and phase.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from support import realdb

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / "tests" / "clients"
CASES_DIR = CLIENTS / "cases"
NODE_DIR = CLIENTS / "node"
TARGET = "rds-ca-rsa2048-g1"
REGION = "us-east-1"  # the region the test hierarchies are named for
JARS = (Path("/usr/share/java/postgresql.jar"), Path("/usr/share/java/mariadb-java-client.jar"))
APT_PACKAGES = {"libpostgresql-jdbc-java": JARS[0], "libmariadb-java": JARS[1]}
STORE_PASSWORDS = {".jks": "changeit", ".p12": "s3cret-store"}

# Bundle files the fixture trees name, and which roots each holds (AWS's file names: the 2019 root,
# the old combined bundle, the current global bundle).
BUNDLE_FILES = {
    "rds-ca-2019-root.pem": "old",
    "rds-combined-ca-bundle.pem": "old",
    "global-bundle.pem": "both",
    "rds-truststore.jks": None,  # the case's `store` says which roots
    "rds-truststore.p12": None,
}

PREDICTIONS = ("will-break", "plaintext-fallback", "unknown", "no-verification", "ok", "no-tls")
# Real outcome -> the predictions that agree with it. `will-break` for a client that fell back to
# plaintext is the cautious reading: nothing in a source tree says whether the server admits
# plaintext (RDS for PostgreSQL 15+ does not), and where it does not the client breaks.
# `plaintext-fallback` for a client that stays on unverified TLS (prefer without a root file): it
# does not depend on the CA either way.
ACCEPTED = {
    "breaks": {"will-break"},
    "falls-back": {"plaintext-fallback", "will-break"},
    "verified": {"ok"},
    "unverified": {"no-verification", "plaintext-fallback"},
    "plaintext": {"no-tls"},
    "fails-before": {"will-break", "unknown"},
}
OUTCOME_TEXT = {
    "breaks": "breaks after the rotation",
    "falls-back": "connects after it, in plaintext",
    "verified": "connects after it, verified (refuses a look-alike CA)",
    "unverified": "connects after it, unverified (accepts a look-alike CA)",
    "plaintext": "connects in plaintext throughout",
    "fails-before": "cannot connect even before the rotation",
}


@dataclass(frozen=True)
class Case:
    name: str  # the fixture tree under tests/clients/cases/
    client: str  # as shown in the table
    driver: str  # psql | mariadb | python | node | java
    engine: str  # postgres | mariadb
    config: str  # the setting, in a few words
    entry: str = ""  # python: "path.py:name"; node: "src/db.js"
    store: str | None = None  # roots in the case's truststore: old | both
    bundles: tuple[tuple[str, str], ...] = ()  # (path, old | both): bundles no file names
    forced_tls: bool = False  # run while the server refuses plaintext
    known: str | None = None  # a known disagreement, with what is wrong (strict xfail)
    fails_before: str | None = None  # why the client cannot connect even to the old chain

    @property
    def id(self) -> str:
        return self.name + ("@forced-tls" if self.forced_tls else "")


# Name prefix -> (client as shown, driver, engine, entry): the name says what the tree is.
_KINDS = {
    "psql-": ("psql (libpq)", "psql", "postgres", ""),
    "psycopg-django-": ("psycopg (Django)", "python", "postgres", "mysite/settings.py:DATABASES"),
    "psycopg-": ("psycopg", "python", "postgres", "app/db.py:connect"),
    "sqlalchemy-psycopg-": ("SQLAlchemy + psycopg", "python", "postgres", "app/database.py:engine"),
    "pgjdbc-": ("pgjdbc 42.5", "java", "postgres", ""),
    "pymysql-": ("PyMySQL", "python", "mariadb", "app/db.py:connect"),
    "mysqlconnector-": ("mysql-connector-python", "python", "mariadb", "app/db.py:connect"),
    "sqlalchemy-pymysql-": ("SQLAlchemy + PyMySQL", "python", "mariadb", "app/database.py:engine"),
    "mariadb-cnf-": ("mariadb CLI", "mariadb", "mariadb", ""),
    "connectorj-": ("MariaDB Connector/J 2.7", "java", "mariadb", ""),
    "node-pg-": ("node pg 8", "node", "postgres", "src/db.js"),
    "mysql2-": ("mysql2 3", "node", "mariadb", "src/db.js"),
}


def _case(name: str, config: str, **kw: Any) -> Case:
    prefix = max((p for p in _KINDS if name.startswith(p)), key=len)
    client, driver, engine, entry = _KINDS[prefix]
    return Case(name, client, driver, engine, config, entry=entry, **kw)


FORCED = {"forced_tls": True}
CASES: tuple[Case, ...] = (
    _case("psql-service-verify-full-old", "pg_service.conf sslmode=verify-full, 2019 root"),
    _case("psql-service-verify-full-both", "pg_service.conf sslmode=verify-full, both roots"),
    _case("psql-env-verify-ca-old", ".env PGSSLMODE=verify-ca, old combined bundle"),
    _case("psql-env-require-noroot", ".env PGSSLMODE=require, no root file"),
    _case("psql-env-require-old-root", ".env PGSSLMODE=require + PGSSLROOTCERT (2019 root)"),
    _case("psql-env-prefer-noroot", ".env PGSSLMODE=prefer, no root file"),
    _case("psql-env-prefer-old-root", ".env PGSSLMODE=prefer + PGSSLROOTCERT (2019 root)"),
    _case("psql-env-prefer-old-root", ".env PGSSLMODE=prefer + PGSSLROOTCERT (2019 root)", **FORCED),
    _case("psql-env-disable", ".env PGSSLMODE=disable"),
    _case("psql-env-rootcert-only-old", ".env PGSSLROOTCERT (2019 root), no sslmode (libpq: prefer)"),
    _case("psql-home-root-crt-old", ".env PGSSLMODE=verify-full, image's /root/.postgresql/root.crt (2019)",
          bundles=(("root/.postgresql/root.crt", "old"),)),
    _case("psycopg-django-verify-full-old", "settings.py OPTIONS verify-full, old bundle"),
    _case("psycopg-django-verify-full-both", "settings.py OPTIONS verify-full, both roots"),
    _case("psycopg-django-basedir-old", "settings.py sslrootcert=os.path.join(BASE_DIR, ...), old bundle"),
    _case("psycopg-django-pathlib-both", "settings.py sslrootcert=str(BASE_DIR / 'certs' / ...), both roots"),
    _case("psycopg-url-verify-ca-old", ".env DATABASE_URL sslmode=verify-ca, 2019 root"),
    _case("psycopg-url-require-noroot", ".env DATABASE_URL sslmode=require"),
    _case("psycopg-kwargs-prefer-old-root", "connect(sslmode='prefer', sslrootcert=2019 root)"),
    _case("psycopg-kwargs-prefer-old-root", "connect(sslmode='prefer', sslrootcert=2019 root)", **FORCED),
    _case("sqlalchemy-psycopg-connect-args-old", "connect_args verify-full, old bundle"),
    _case("sqlalchemy-psycopg-url-both", "URL sslmode=verify-full, both roots"),
    _case("pgjdbc-verify-full-old", "sslmode=verify-full&sslrootcert= 2019 root"),
    _case("pgjdbc-verify-full-both", "sslmode=verify-full&sslrootcert= both roots"),
    _case("pgjdbc-yaml-verify-full-old", "application.yml url sslmode=verify-full&sslrootcert= 2019 root"),
    _case("pgjdbc-hikari-properties-old", "hikari data-source-properties sslmode/sslrootcert, old bundle"),
    _case("pgjdbc-env-url-old", ".env SPRING_DATASOURCE_URL verify-full, 2019 root (over a plain URL)"),
    _case("pgjdbc-require-old-root", "sslmode=require&sslrootcert= 2019 root"),
    _case("pgjdbc-prefer-old-root", "sslmode=prefer&sslrootcert= 2019 root"),
    _case("pgjdbc-prefer-old-root", "sslmode=prefer&sslrootcert= 2019 root", **FORCED),
    _case("pgjdbc-ssl-true-old-root", "ssl=true&sslrootcert= 2019 root"),
    _case("pgjdbc-nonvalidating-factory", "ssl=true&sslfactory=NonValidatingFactory"),
    _case("pgjdbc-sslrootcert-only-old", "sslrootcert= 2019 root, no sslmode (pgjdbc: prefer)"),
    _case("pgjdbc-java-factory-truststore-old", "DefaultJavaSSLFactory + JAVA_TOOL_OPTIONS trustStore (JKS, "
          "2019 root)", store="old"),
    _case("pgjdbc-java-factory-truststore-both", "DefaultJavaSSLFactory + JAVA_TOOL_OPTIONS trustStore (JKS, "
          "both roots)", store="both"),
    _case("pymysql-ssl-dict-old", "ssl={'ca': old bundle}"),
    _case("pymysql-ssl-dict-both", "ssl={'ca': both roots}"),
    _case("pymysql-ssl-ca-alone-old", "ssl_ca= 2019 root, nothing else"),
    _case("pymysql-verify-cert-both", "ssl_ca= both roots + ssl_verify_cert/identity"),
    _case("pymysql-option-file-ca-old", "my.cnf (read_default_file): ssl-ca old"),
    _case("pymysql-option-file-skipverify-old",
          "my.cnf (read_default_file): ssl-ca old + ssl-verify-server-cert=0"),
    _case("mysqlconnector-verify-cert-old", "ssl_ca= 2019 root + ssl_verify_cert"),
    _case("mysqlconnector-ca-alone-old", "ssl_ca= 2019 root, nothing else"),
    _case("mysqlconnector-verify-identity-both", "ssl_ca= both roots + ssl_verify_identity"),
    _case("mysqlconnector-ssl-disabled", "ssl_disabled=True"),
    _case("sqlalchemy-pymysql-connect-args-old", "connect_args={'ssl': {'ca': old bundle}}"),
    _case("sqlalchemy-pymysql-url-ssl-ca-old", "URL ?ssl_ca= old bundle"),
    _case("mariadb-cnf-verify-old", "my.cnf ssl-ca (old) + ssl-verify-server-cert"),
    _case("mariadb-cnf-verify-both", "my.cnf ssl-ca (both) + ssl-verify-server-cert"),
    _case("mariadb-cnf-ca-alone-old", "my.cnf ssl-ca (2019 root) alone"),
    _case("mariadb-cnf-skip-verify-old", "my.cnf ssl-ca (2019 root) + skip-ssl-verify-server-cert"),
    _case("mariadb-cnf-skip-ssl", "my.cnf skip-ssl"),
    _case("mariadb-cnf-ssl-no-ca", "my.cnf ssl, no CA file"),
    _case("mariadb-cnf-ssl-no-ca", "my.cnf ssl, no CA file", **FORCED),
    _case("connectorj-server-ssl-cert-old", "useSsl=true&serverSslCert= old bundle"),
    _case("connectorj-server-ssl-cert-both", "useSsl=true&serverSslCert= both roots"),
    _case("connectorj-trust-server-certificate", "useSsl=true&trustServerCertificate=true"),
    _case("connectorj-ssl-mode-verify-full-old", "sslMode=verify-full&serverSslCert= old (pom.xml: 2.7.6)"),
    _case("connectorj-truststore-old", "useSsl=true + JAVA_TOOL_OPTIONS trustStore (JKS, 2019 root)",
          store="old"),
    _case("connectorj-pkcs12-truststore-both", "trustStore= PKCS#12 (both roots) + trustStorePassword",
          store="both"),
    _case("node-pg-url-verify-full-old", ".env DATABASE_URL sslmode=verify-full&sslrootcert= 2019 root"),
    _case("node-pg-url-verify-full-both", ".env DATABASE_URL sslmode=verify-full&sslrootcert= both roots"),
    _case("node-pg-url-require-old-root", ".env DATABASE_URL sslmode=require&sslrootcert= 2019 root"),
    _case("node-pg-url-prefer-old-root", ".env DATABASE_URL sslmode=prefer&sslrootcert= 2019 root"),
    _case("node-pg-ssl-ca-old", "ssl: { ca: readFileSync(path.join(__dirname, ...)) }, old bundle"),
    _case("node-pg-ssl-ca-both", "ssl: { ca: readFileSync('certs/global-bundle.pem') }"),
    _case("node-pg-reject-unauthorized-false", "ssl: { rejectUnauthorized: false }"),
    _case("node-pg-url-no-verify", ".env DATABASE_URL sslmode=no-verify"),
    _case("node-pg-url-libpqcompat-require-noroot", ".env DATABASE_URL uselibpqcompat=true&sslmode=require"),
    _case("node-pg-ssl-true-extra-ca-old", "ssl: true + .env NODE_EXTRA_CA_CERTS= old bundle"),
    _case("node-pg-ssl-true-extra-ca-both", "ssl: true + .env NODE_EXTRA_CA_CERTS= both roots"),
    _case("mysql2-ssl-ca-old", "ssl: { ca: readFileSync(old bundle) }"),
    _case("mysql2-ssl-ca-both", "ssl: { ca: readFileSync(both roots) }"),
    _case("mysql2-reject-unauthorized-false", "ssl: { rejectUnauthorized: false }"),
    _case("mysql2-ssl-ca-reject-false-old", "ssl: { ca: 2019 root, rejectUnauthorized: false }"),
    _case("mysql2-amazon-rds-profile", "ssl: 'Amazon RDS' (AWS's roots, not the test CA)",
          fails_before="the profile holds AWS's own roots, which never signed the test servers' chain"),
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Installing the clients


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("RDSCA_REQUIRE_REAL") == "1":
        pytest.fail(f"real clients required (RDSCA_REQUIRE_REAL=1): {reason}")
    pytest.skip(reason)


def _apt_install(packages: list[str]) -> str | None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return f"{', '.join(packages)} not installed and not root with apt-get to install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
    ):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            return f"{' '.join(cmd)} failed: {done.stderr.strip()[-300:]}"
    return None


@cache
def java_unavailable() -> str | None:
    """Why the Java drivers cannot run (None when they can): JDK and the two Debian driver jars."""
    missing = [p for p, jar in APT_PACKAGES.items() if not jar.exists()]
    if not shutil.which("javac"):
        missing.append("default-jdk-headless")
    return _apt_install(missing) if missing else None


@cache
def node_unavailable() -> str | None:
    """Why the Node drivers cannot run: node and npm, then `npm ci` of the pinned pg and mysql2."""
    if not shutil.which("node") or not shutil.which("npm"):
        reason = _apt_install(["nodejs", "npm"])
        if reason:
            return reason
    if (NODE_DIR / "node_modules" / "pg").is_dir() and (NODE_DIR / "node_modules" / "mysql2").is_dir():
        return None
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return None if done.returncode == 0 else f"npm ci failed: {done.stderr.strip()[-300:]}"


def python_unavailable(case: Case) -> str | None:
    text = " ".join(p.read_text() for p in (CASES_DIR / case.name).rglob("*.py"))
    for module, package in (("mysql.connector", "mysql-connector-python"), ("sqlalchemy", "SQLAlchemy")):
        if module.split(".")[0] in text:
            try:
                __import__(module)
            except ImportError:
                return f"{package} not installed (pip install -e '.[dev]')"
    return None


def unavailable(case: Case) -> str | None:
    if case.driver == "java":
        return java_unavailable()
    if case.driver == "node":
        return node_unavailable()
    if case.driver == "python":
        return python_unavailable(case)
    tool = {"psql": "psql", "mariadb": "mariadb"}[case.driver]
    if not shutil.which(tool):
        reason = _apt_install(["postgresql-client" if tool == "psql" else "mariadb-client"])
        if reason:
            return reason
    return None


# ---------------------------------------------------------------------------------------------
# Rendering the trees


def render(case: Case, dest: Path, pg_port: int, maria_port: int, stores: dict[str, Path]) -> Path:
    """Copy the case's tree to dest/<id> with the ports filled in and the files it names written."""
    out = dest / case.id
    shutil.copytree(CASES_DIR / case.name, out)
    values = {
        "{{PG_PORT}}": str(pg_port),
        "{{MARIADB_PORT}}": str(maria_port),
        "{{PASSWORD}}": realdb.PASSWORDS["app"],
        "{{HERE}}": str(out),
    }
    named: set[str] = set()
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_text()
            for key, value in values.items():
                text = text.replace(key, value)
            path.write_text(text)
            named.update(name for name in BUNDLE_FILES if name in text)
    pki = realdb.pki()
    for rel, roots in case.bundles:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(pki.old_bundle if roots == "old" else pki.both_bundle, out / rel)
    certs = out / "certs"
    for name in named:
        certs.mkdir(exist_ok=True)
        roots = BUNDLE_FILES[name] or case.store
        if name.endswith(".pem"):
            shutil.copy(pki.old_bundle if roots == "old" else pki.both_bundle, certs / name)
        else:
            shutil.copy(stores[f"{roots}{Path(name).suffix}"], certs / name)
    return out


def make_stores(dest: Path) -> dict[str, Path]:
    """Java truststores: JKS (pyjks) with the old root only or both roots, and a PKCS#12 copy of the
    latter made by keytool (Java reads a PKCS#12 truststore's certificates only when they carry its
    trusted-certificate attribute, which keytool writes)."""
    import jks
    from cryptography.hazmat.primitives.serialization import Encoding

    pki = realdb.pki()
    roots = {
        "old": [("rds-2019", pki.old.root.cert)],
        "both": [("rds-2019", pki.old.root.cert), ("rds-g1", pki.new.root.cert)],
    }
    stores: dict[str, Path] = {}
    for kind, certs in roots.items():
        path = dest / f"{kind}.jks"
        entries = [jks.TrustedCertEntry.new(alias, c.public_bytes(Encoding.DER)) for alias, c in certs]
        jks.KeyStore.new("jks", entries).save(str(path), STORE_PASSWORDS[".jks"])
        stores[f"{kind}.jks"] = path
    if shutil.which("keytool"):
        p12 = dest / "both.p12"
        subprocess.run(
            [
                "keytool",
                "-J-XX:TieredStopAtLevel=1",
                "-importkeystore",
                "-noprompt",
                "-srckeystore",
                str(stores["both.jks"]),
                "-srcstorepass",
                STORE_PASSWORDS[".jks"],
                "-destkeystore",
                str(p12),
                "-deststoretype",
                "PKCS12",
                "-deststorepass",
                STORE_PASSWORDS[".p12"],
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        stores["both.p12"] = p12
    return stores


# ---------------------------------------------------------------------------------------------
# rdsca's prediction


def predict(tree: Path, work: Path) -> tuple[str, list[dict[str, Any]]]:
    """What `rdsca trust scan` says about the tree: the most severe verdict of its connection
    settings ("not-found" when it finds none), and the settings."""
    from rdsca.cli.app import main

    out = work / f"{tree.name}.scan.json"
    code = main(
        [
            "trust",
            "scan",
            str(tree),
            "--for",
            TARGET,
            "--region",
            REGION,
            "--catalogue-bundle",
            str(realdb.pki().known_cas),
            "--format",
            "json",
            "-o",
            str(out),
        ]
    )
    if code not in (0, 3):
        raise RuntimeError(f"rdsca trust scan {tree} exited {code}")
    settings = json.loads(out.read_text())["settings"]
    verdicts = [s["verdict"] for s in settings]
    worst = min(verdicts, key=PREDICTIONS.index, default="not-found")
    return worst, settings


# ---------------------------------------------------------------------------------------------
# Drivers


@dataclass(frozen=True)
class Attempt:
    ok: bool
    tls: bool | None
    error: str = ""


def read_env(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                env[key.strip()] = value.strip()
    return env


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PG", "MYSQL", "JAVA_TOOL", "NODE_"))}


class _LineProcess:
    """A driver process that answers one JSON line per JSON request line."""

    def __init__(self, cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._stderr: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stderr
        for line in self.proc.stderr:
            self._stderr.append(line)

    def ask(self, request: str) -> str:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(request + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        if not reply:
            raise RuntimeError(f"{self.proc.args[0]} driver died: {''.join(self._stderr)[-2000:]}")
        return reply

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class _JsonDriver:
    def __init__(self, cmd: list[str], env: dict[str, str]) -> None:
        self.process = _LineProcess(cmd, ROOT, env)

    def run(self, cases: list[tuple[Case, Path]]) -> dict[str, Attempt]:
        request = {
            "cases": [{"id": c.id, "dir": str(d), "entry": c.entry, "engine": c.engine} for c, d in cases]
        }
        reply = json.loads(self.process.ask(json.dumps(request)))
        return {cid: Attempt(r["ok"], r["tls"], r["error"]) for cid, r in reply.items()}


class _JavaDriver:
    """One JVM (per JAVA_TOOL_OPTIONS value) answering "ID\\tDIR" lines, then "end"."""

    def __init__(self, classes: Path, tool_options: str | None) -> None:
        env = _clean_env()
        if tool_options:
            env["JAVA_TOOL_OPTIONS"] = tool_options
        classpath = os.pathsep.join([str(classes), *(str(j) for j in JARS)])
        self.process = _LineProcess(
            ["java", "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", classpath, "ClientMatrix"], ROOT, env
        )

    def run(self, cases: list[tuple[Case, Path]]) -> dict[str, Attempt]:
        proc = self.process.proc
        assert proc.stdin and proc.stdout
        for case, d in cases:
            proc.stdin.write(f"{case.id}\t{d}\n")
        proc.stdin.write("end\n")
        proc.stdin.flush()
        out: dict[str, Attempt] = {}
        while (line := proc.stdout.readline().rstrip("\n")) != "end":
            if not line:
                raise RuntimeError(f"JVM died: {''.join(self.process._stderr)[-2000:]}")
            cid, status, tls, error = line.split("\t", 3)
            out[cid] = Attempt(status == "ok", None if tls == "-" else tls == "tls", error)
        return out

    def close(self) -> None:
        self.process.close()


def _cli_attempt(case: Case, d: Path) -> Attempt:
    env = _clean_env()
    if case.driver == "psql":
        env.update(read_env(d / ".env"))
        if (d / "root").is_dir():  # an image's /root: libpq reads ~/.postgresql/root.crt
            env["HOME"] = str(d / "root")
        args = ["psql", "-X", "-A", "-t", "-c", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"]
        if (d / "pg_service.conf").exists():
            env["PGSERVICEFILE"] = str(d / "pg_service.conf")
            args.insert(1, "service=app")
        env.setdefault("PGCONNECT_TIMEOUT", "30")
    else:
        args = [
            "mariadb",
            f"--defaults-file={d / 'my.cnf'}",
            "--connect-timeout=30",
            "-N",
            "-B",
            "-e",
            "SHOW STATUS LIKE 'Ssl_cipher'",
        ]
    done = subprocess.run(args, cwd=d, env=env, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        return Attempt(False, None, (done.stderr or done.stdout).strip()[:500])
    out = done.stdout.strip()
    return Attempt(True, out == "t" if case.driver == "psql" else bool(out.partition("\t")[2].strip()))


# ---------------------------------------------------------------------------------------------
# The matrix


@dataclass(frozen=True)
class Row:
    case: Case
    prediction: str  # rdsca's verdict, or "not-found", or "skipped"
    settings: tuple[dict[str, Any], ...]
    attempts: dict[str, Attempt]  # phase -> attempt
    outcome: str  # key of OUTCOME_TEXT, or "skipped"
    skip_reason: str = ""

    @property
    def agrees(self) -> bool:
        if self.outcome == "fails-before" and not self.case.fails_before:
            return False  # the case itself is broken: it proves nothing about the rotation
        return self.prediction in ACCEPTED.get(self.outcome, set())

    @property
    def false_ok(self) -> bool:
        return self.prediction in ("ok", "no-verification") and self.outcome in ("breaks", "fails-before")

    def evidence(self) -> str:
        parts = []
        for phase in ("old", "new", "rogue"):
            a = self.attempts.get(phase)
            if a:
                state = ("TLS" if a.tls else "plaintext") if a.ok else f"failed: {a.error[:160]}"
                parts.append(f"{phase}: {state}")
        return "; ".join(parts)


def outcome(attempts: dict[str, Attempt]) -> str:
    old, new, rogue = attempts["old"], attempts["new"], attempts["rogue"]
    if not old.ok:
        return "fails-before"
    if not new.ok:
        return "breaks"
    if not new.tls:
        return "falls-back" if old.tls else "plaintext"
    return "unverified" if rogue.ok and rogue.tls else "verified"


@contextlib.contextmanager
def forced_tls(pg: realdb.Postgres, maria: realdb.MariaDB) -> Iterator[None]:
    """PostgreSQL admits TLS connections only (hostssl), MariaDB requires secure transport."""
    hba = pg.data / "pg_hba.conf"
    original = hba.read_text()
    hba.write_text(
        "".join(
            "hostssl" + ln[4:] if ln.startswith("host ") else ln for ln in original.splitlines(keepends=True)
        )
    )
    with pg.admin() as conn:
        conn.execute("SELECT pg_reload_conf()")
    _maria_global(maria, "ON")
    try:
        yield
    finally:
        hba.write_text(original)
        with pg.admin() as conn:
            conn.execute("SELECT pg_reload_conf()")
        _maria_global(maria, "OFF")


def _maria_global(maria: realdb.MariaDB, value: str) -> None:
    import pymysql

    # Through the socket: a plaintext TCP connection is refused once secure transport is required.
    conn = pymysql.connect(
        unix_socket=str(maria.dir / "mysqld.sock"),
        user="admin",
        password=realdb.PASSWORDS["admin"],
        autocommit=True,
    )
    try:
        with conn.cursor() as cur:
            cur.execute(f"SET GLOBAL require_secure_transport = {value}")
    finally:
        conn.close()


def _rotate(servers: tuple[realdb.Postgres, realdb.MariaDB], generation: str, forced: bool) -> None:
    pg, maria = servers
    pg.rotate(generation)
    if forced:  # realdb rotates MariaDB through a plaintext admin connection
        _maria_global(maria, "OFF")
    maria.rotate(generation)
    if forced:
        _maria_global(maria, "ON")


@dataclass
class Matrix:
    work: Path
    rows: list[Row] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # step -> seconds

    @property
    def seconds(self) -> float:
        return sum(self.timings.values())


def _look_alike() -> None:
    """A look-alike of the new hierarchy (same names, other keys) the servers can present as
    `rogue`: a client that connects to it verifies nothing."""
    pki = realdb.pki()
    if "rogue" not in pki.servers:
        from rdsca.sandbox.pki import make_hierarchy

        now = datetime.now(UTC)
        pki.servers["rogue"] = make_hierarchy("new", now=now).issue_server(now=now)


def run_matrix(cases: tuple[Case, ...] = CASES, work: Path | None = None) -> Matrix:
    """Predict every case with rdsca, then run it before and after the rotation."""
    matrix = Matrix(work or Path(tempfile.mkdtemp(prefix="rdsca-clients-")))
    trees, scans = matrix.work / "trees", matrix.work / "scans"
    trees.mkdir(parents=True, exist_ok=True)
    scans.mkdir(exist_ok=True)
    clock = _Clock(matrix.timings)
    realdb.pki()  # made once, before any thread asks for it (functools.cache does not lock)
    with ThreadPoolExecutor(max_workers=4) as prep:
        # The slow set-up steps overlap: servers, truststores (keytool), javac, npm.
        drivers = {c.driver for c in cases}
        java = prep.submit(_compile_java, matrix.work) if "java" in drivers else None
        node = prep.submit(node_unavailable) if "node" in drivers else None
        stores = prep.submit(make_stores, matrix.work)
        realdb.require_servers()
        pg, maria = realdb.postgres(), realdb.mariadb()
        _look_alike()
        classes, stores_made = (java.result() if java else None), stores.result()
        if node:
            node.result()
    clock.lap("set-up (servers, truststores, javac, npm)")

    runnable: list[tuple[Case, Path]] = []
    skipped: dict[str, str] = {}
    predictions: dict[str, tuple[str, list[dict[str, Any]]]] = {}
    for case in cases:
        tree = render(case, trees, pg.port, maria.port, stores_made)
        predictions[case.id] = predict(tree, scans)
        reason = unavailable(case)
        if reason:
            skipped[case.id] = reason
        else:
            runnable.append((case, tree))
    clock.lap(f"rdsca trust scan of {len(cases)} trees")

    attempts: dict[str, dict[str, Attempt]] = {c.id: {} for c, _ in runnable}
    servers = (pg, maria)
    with _Drivers(runnable, classes) as drivers_:
        clock.lap("driver start")
        for forced in (False, True):
            batch = [(c, d) for c, d in runnable if c.forced_tls == forced]
            if not batch:
                continue
            with forced_tls(pg, maria) if forced else contextlib.nullcontext():
                try:
                    for phase in ("old", "new", "rogue"):
                        _rotate(servers, phase, forced)
                        for cid, attempt in drivers_.run(batch).items():
                            attempts[cid][phase] = attempt
                        clock.lap(f"{phase} phase{' (forced TLS)' if forced else ''}")
                finally:  # other tests of this process expect the old chain
                    _rotate(servers, "old", forced)

    for case in cases:
        prediction, settings = predictions[case.id]
        if case.id in skipped:
            matrix.rows.append(Row(case, prediction, tuple(settings), {}, "skipped", skipped[case.id]))
        else:
            got = attempts[case.id]
            matrix.rows.append(Row(case, prediction, tuple(settings), got, outcome(got)))
    clock.lap("stop")
    return matrix


class _Clock:
    def __init__(self, into: dict[str, float]) -> None:
        self.into, self.t = into, time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.into[step] = self.into.get(step, 0.0) + now - self.t
        self.t = now


def _compile_java(work: Path) -> Path | None:
    if java_unavailable():
        return None
    classes = work / "classes"
    subprocess.run(
        [
            "javac",
            "-J-XX:TieredStopAtLevel=1",
            "-d",
            str(classes),
            str(CLIENTS / "java" / "ClientMatrix.java"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return classes


class _Drivers:
    """The driver processes for a set of cases, started once and used for every phase."""

    def __init__(self, runnable: list[tuple[Case, Path]], classes: Path | None) -> None:
        self.runnable = runnable
        self.classes = classes
        self.python: _JsonDriver | None = None
        self.node: dict[str | None, _JsonDriver] = {}  # NODE_EXTRA_CA_CERTS -> process
        self.node_of: dict[str, str | None] = {}
        self.java: dict[str | None, _JavaDriver] = {}
        self.java_of: dict[str, str | None] = {}

    def __enter__(self) -> _Drivers:
        drivers = {c.driver for c, _ in self.runnable}
        if "python" in drivers:
            env = _clean_env()
            self.python = _JsonDriver([sys.executable, str(CLIENTS / "python" / "driver.py")], env)
        for case, d in self.runnable:
            if case.driver == "node":  # Node reads NODE_EXTRA_CA_CERTS once, at start
                extra = read_env(d / ".env").get("NODE_EXTRA_CA_CERTS")
                self.node_of[case.id] = extra
                if extra not in self.node:
                    env = {**_clean_env(), "NODE_PATH": str(NODE_DIR / "node_modules")}
                    if extra:
                        env["NODE_EXTRA_CA_CERTS"] = extra
                    self.node[extra] = _JsonDriver(["node", str(NODE_DIR / "driver.js")], env)
        if "java" in drivers and self.classes:
            for case, d in self.runnable:
                if case.driver == "java":
                    options = read_env(d / ".env").get("JAVA_TOOL_OPTIONS")
                    self.java_of[case.id] = options
                    if options not in self.java:
                        self.java[options] = _JavaDriver(self.classes, options)
        return self

    def __exit__(self, *exc: object) -> None:
        for driver in [self.python, *self.node.values(), *self.java.values()]:
            if driver:
                with contextlib.suppress(Exception):
                    (driver.process if isinstance(driver, _JsonDriver) else driver).close()

    def run(self, batch: list[tuple[Case, Path]]) -> dict[str, Attempt]:
        jobs: list[Any] = []
        by = {
            k: [(c, d) for c, d in batch if c.driver == k]
            for k in ("python", "node", "java", "psql", "mariadb")
        }
        if by["python"] and self.python:
            jobs.append((self.python.run, by["python"]))
        for extra, node in self.node.items():
            mine = [(c, d) for c, d in by["node"] if self.node_of[c.id] == extra]
            if mine:
                jobs.append((node.run, mine))
        for options, jvm in self.java.items():
            mine = [(c, d) for c, d in by["java"] if self.java_of[c.id] == options]
            if mine:
                jobs.append((jvm.run, mine))
        for cli in (by["psql"], by["mariadb"]):
            if cli:
                jobs.append((lambda cs: {c.id: _cli_attempt(c, d) for c, d in cs}, cli))
        results: dict[str, Attempt] = {}
        with ThreadPoolExecutor(max_workers=len(jobs) or 1) as pool:
            for part in pool.map(lambda job: job[0](job[1]), jobs):
                results.update(part)
        return results
