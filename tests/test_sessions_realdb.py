"""`rdsca sessions` against real PostgreSQL and MariaDB: TLS and plaintext sessions told apart,
"unknown" (with the reason) when the account cannot see, and the password never shown."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest

from rdsca.cli.app import main
from support import realdb

pytestmark = pytest.mark.realdb
PW = realdb.PASSWORDS


@pytest.fixture(scope="module")
def pg_clients() -> Iterator[realdb.Postgres]:
    pg = realdb.postgres()
    common = {
        "host": "127.0.0.1",
        "port": pg.port,
        "user": "app",
        "dbname": "postgres",
        "password": PW["app"],
    }
    tls = psycopg.connect(**common, sslmode="require", application_name="billing-tls")
    plain = psycopg.connect(**common, sslmode="disable", application_name="reports-plain")
    yield pg
    tls.close()
    plain.close()


@pytest.fixture(scope="module")
def maria_clients() -> Iterator[realdb.MariaDB]:
    maria = realdb.mariadb()
    common: dict[str, Any] = {"host": "127.0.0.1", "port": maria.port, "user": "app", "password": PW["app"]}
    tls = pymysql.connect(**common, ssl={"ca": str(realdb.pki().both_bundle)}, program_name="billing-tls")
    plain = pymysql.connect(**common, ssl_disabled=True, program_name="reports-plain")
    yield maria
    tls.close()
    plain.close()


def _sessions(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code = main(["sessions", *args, "--format", "json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if code == 0 else {}, captured.out + captured.err


def _by_app(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["application"]: s for s in doc["sessions"] if s["application"]}


def test_postgres_lists_tls_and_plaintext_sessions(pg_clients: realdb.Postgres, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MONITOR_PW", PW["monitor"])
    code, doc, text = _sessions(capsys, pg_clients.dsn("monitor"), "--password-env", "MONITOR_PW")
    assert code == 0 and doc["schema"] == "rdsca.sessions/1"
    assert doc["visibility"] == "complete" and doc["engine"] == "postgresql"
    apps = _by_app(doc)
    assert apps["billing-tls"]["tls"] is True and apps["billing-tls"]["tls_version"].startswith("TLSv1")
    assert apps["billing-tls"]["cipher"]
    assert apps["reports-plain"]["tls"] is False and apps["reports-plain"]["tls_version"] is None
    assert apps["billing-tls"]["user"] == "app" and apps["billing-tls"]["client_addr"] == "127.0.0.1"
    assert PW["monitor"] not in text


def test_postgres_without_privilege_says_unknown(pg_clients: realdb.Postgres, capsys) -> None:  # type: ignore[no-untyped-def]
    code, doc, _ = _sessions(capsys, pg_clients.dsn("low", password=True))
    assert code == 0
    assert doc["visibility"] == "unknown" and "pg_read_all_stats" in doc["reason"]
    others = [s for s in doc["sessions"] if s["user"] == "app"]
    assert len(others) >= 2 and all(s["tls"] == "unknown" for s in others)
    assert "0 with TLS, 0 without" in doc["summary"] and "unknown" in doc["summary"]
    main(["sessions", pg_clients.dsn("low", password=True)])
    assert "unknown: " in capsys.readouterr().out


def test_mariadb_lists_tls_and_plaintext_sessions(
    maria_clients: realdb.MariaDB, capsys, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    pw = tmp_path / "pw"
    pw.write_text(PW["monitor"] + "\n")
    code, doc, text = _sessions(capsys, maria_clients.dsn("monitor"), "--password-file", str(pw))
    assert code == 0 and doc["visibility"] == "complete", doc["reason"]
    apps = _by_app(doc)
    assert apps["billing-tls"]["tls"] is True and apps["billing-tls"]["connection"] == "SSL/TLS"
    assert apps["billing-tls"]["tls_version"].startswith("TLSv1") and apps["billing-tls"]["cipher"]
    assert apps["reports-plain"]["tls"] is False and apps["reports-plain"]["connection"] == "TCP/IP"
    assert PW["monitor"] not in text


def test_mariadb_without_privilege_says_unknown(maria_clients: realdb.MariaDB, capsys) -> None:  # type: ignore[no-untyped-def]
    code, doc, _ = _sessions(capsys, maria_clients.dsn("low", password=True))
    assert code == 0
    assert doc["visibility"] == "unknown"
    assert "PROCESS" in doc["reason"] and "performance_schema" in doc["reason"]
    assert all(s["tls"] == "unknown" for s in doc["sessions"])


def test_mariadb_with_performance_schema_off_says_unknown(capsys) -> None:  # type: ignore[no-untyped-def]
    maria = realdb.mariadb(pfs=False)
    common: dict[str, Any] = {"host": "127.0.0.1", "port": maria.port, "user": "app", "password": PW["app"]}
    client = pymysql.connect(**common, ssl={"ca": str(realdb.pki().both_bundle)})
    try:
        code, doc, _ = _sessions(capsys, maria.dsn("admin", password=True))
    finally:
        client.close()
    assert code == 0
    assert doc["visibility"] == "unknown" and "performance_schema is OFF" in doc["reason"]
    app = [s for s in doc["sessions"] if s["user"] == "app"]
    assert app and app[0]["tls"] == "unknown"
    assert "1 unknown" in doc["summary"]


@pytest.mark.parametrize("engine", ["postgres", "mariadb"])
def test_wrong_password_is_masked_and_exits_1(engine: str, capsys) -> None:  # type: ignore[no-untyped-def]
    server = realdb.postgres() if engine == "postgres" else realdb.mariadb()
    secret = "Sup3r-Secret-Wr0ng"
    dsn = server.dsn("monitor").replace("monitor@", f"monitor:{secret}@")
    code = main(["sessions", dsn])
    captured = capsys.readouterr()
    assert code == 1
    assert "cannot connect" in captured.err and "monitor" in captured.err
    assert secret not in captured.out + captured.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sessions", "oracle://u@h/db"], "expected postgresql://"),
        (["sessions", "postgresql://h/db"], "no user"),
        (["sessions", "postgresql://u@h/db", "--password-env", "RDSCA_NOT_SET_X"], "not set"),
        (["sessions", "postgresql://u@h/db", "--password-file", "/nonexistent/pw"], "no such file"),
        (["sessions", "mysql://u:pw123456@h/?ssl-mode=VERIFY_CA"], "needs ssl-ca"),
    ],
)
def test_bad_input_exits_2(args: list[str], message: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "pw123456" not in err


def test_unreachable_server_exits_1(capsys) -> None:  # type: ignore[no-untyped-def]
    port = realdb.free_port()
    assert main(["sessions", f"postgresql://u:hunter22@127.0.0.1:{port}/db", "--timeout", "2"]) == 1
    err = capsys.readouterr().err
    assert "cannot connect" in err and "hunter22" not in err
