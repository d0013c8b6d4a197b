"""Connects with the Python clients exactly as each case's application code does.

A case names its entry: `app/db.py:connect` (a function returning a DB-API connection),
`app/database.py:engine` (a SQLAlchemy engine) or `mysite/settings.py:DATABASES` (Django settings:
the connection Django's PostgreSQL backend makes from them). The working directory is the case
directory and its `.env` is loaded first, as a process manager would.

Protocol: one JSON request per stdin line, {"cases": [{"id", "dir", "entry", "engine"}]}; one
JSON line back, {id: {"ok": bool, "tls": bool | null, "error": str}}.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sys
from typing import Any

PG_TLS = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
MY_TLS = "SHOW STATUS LIKE 'Ssl_cipher'"


def read_env(path: str) -> dict[str, str]:
    env: dict[str, str] = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    key, value = line.split("=", 1)
                    env[key.strip()] = value.strip().strip("\"'")
    return env


def load(path: str, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"case_{abs(hash(path))}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def django_connect(databases: dict[str, Any]) -> Any:
    # What django.db.backends.postgresql.base.DatabaseWrapper.get_connection_params builds:
    # the OPTIONS dict, plus dbname/user/password/host/port from the settings.
    import psycopg

    db = databases["default"]
    params = {**db.get("OPTIONS", {}), "dbname": db["NAME"], "user": db["USER"],
              "password": db["PASSWORD"], "host": db["HOST"], "port": db["PORT"]}  # fmt: skip
    return psycopg.connect(connect_timeout=30, **params)


def tls_in_use(obj: Any, engine: str) -> bool:
    sql = PG_TLS if engine == "postgres" else MY_TLS
    if hasattr(obj, "dialect"):  # a SQLAlchemy engine
        with obj.connect() as conn:
            row = conn.exec_driver_sql(sql).fetchone()
        obj.dispose()
    else:
        try:
            cur = obj.cursor()
            cur.execute(sql)
            row = cur.fetchone()
        finally:
            obj.close()
    return bool(row[0]) if engine == "postgres" else bool(row and row[1])


def run_case(case: dict[str, str]) -> dict[str, Any]:
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    try:
        os.chdir(case["dir"])
        os.environ.update(read_env(".env"))
        rel, name = case["entry"].split(":")
        target = load(os.path.join(case["dir"], rel), name)
        if name == "DATABASES":
            obj = django_connect(target)
        elif callable(target):  # a function that connects
            obj = target()
        else:  # an engine built at import
            obj = target
        return {"ok": True, "tls": tls_in_use(obj, case["engine"]), "error": ""}
    except Exception as exc:
        return {"ok": False, "tls": None, "error": f"{type(exc).__name__}: {exc}"[:500]}
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def main() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        results = {case["id"]: run_case(case) for case in request["cases"]}
        print(json.dumps(results), flush=True)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
