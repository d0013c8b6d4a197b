r"""PHP: PDO MySQL attributes (plain PDO, Laravel config/database.php, Doctrine driver options) and
the pgsql `sslmode` / `sslrootcert` keys of Laravel and Doctrine.

Sources (each read for this rule):
- PDO_MYSQL (https://www.php.net/manual/en/ref.pdo-mysql.php): `PDO::MYSQL_ATTR_SSL_CA` names the
  CA file and `PDO::MYSQL_ATTR_SSL_VERIFY_SERVER_CERT` can turn verification off. That a CA alone
  verifies is mysqlnd's default: mysqlnd_vio::enable_ssl (php-src ext/mysqlnd/mysqlnd_vio.c) sets
  verify_peer and verify_peer_name when any SSL option is given and ssl_verify_peer is left at its
  default (MYSQLND_SSL_PEER_DEFAULT_ACTION is MYSQLND_SSL_PEER_VERIFY, mysqlnd_enum_n_def.h).
  PHP 8.4 added the driver subclass `Pdo\Mysql` with `Pdo\Mysql::ATTR_SSL_CA`; PHP 8.5 deprecates
  the `PDO::MYSQL_ATTR_*` names, and Laravel 12's config/database.php writes
  `Mysql::ATTR_SSL_CA` under `use Pdo\Mysql;` (laravel/framework#57842). Doctrine's YAML writes the
  constant as `!php/const PDO::MYSQL_ATTR_SSL_CA` or its number under `options` / `driverOptions`:
  1009 (and 1014 for VERIFY_SERVER_CERT) is the mysqlnd build's numbering up to PHP 8.4 (the enum in
  ext/pdo_mysql/php_pdo_mysql_int.h); other builds and PHP 8.5 number them differently, which a
  YAML file does not show (not handled).
- Laravel: config/database.php of laravel/laravel and laravel/framework: the mysql connection's
  `'options' => [PDO::MYSQL_ATTR_SSL_CA => env('MYSQL_ATTR_SSL_CA')]`; the pgsql connection's
  `sslmode` (default `prefer`), which PostgresConnector::addSslOptions (laravel/framework,
  src/Illuminate/Database/Connectors/PostgresConnector.php) appends to the DSN with `sslcert`,
  `sslkey` and `sslrootcert`, for libpq to read with its meanings (older Laravel appended only
  `sslmode`).
- `base_path()` and `%kernel.project_dir%` are the project root (the directory above config/).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from rdsca.readiness.ecosystems.common import (
    CaValue,
    Found,
    Piece,
    Source,
    ca_value,
    env_reference,
    from_dir,
    through_base,
)
from rdsca.readiness.trust_settings import NO_VERIFICATION, VERIFY

# PDO::MYSQL_ATTR_SSL_CA, or (PHP 8.4+, the only form without a deprecation in 8.5) Pdo\Mysql::ATTR_SSL_CA
_SSL_CA = re.compile(
    r"""(?:PDO::MYSQL_ATTR_SSL_CA|\bMysql::ATTR_SSL_CA|(?<![\w.])1009)["']?\s*(?:=>|:)\s*(.+)"""
)
_VERIFY = re.compile(
    r"""(?:PDO::MYSQL_ATTR_SSL_VERIFY_SERVER_CERT|\bMysql::ATTR_SSL_VERIFY_SERVER_CERT|(?<![\w.])1014)"""
    r"""["']?\s*(?:=>|:)\s*(\w+)"""
)
_PG_KEY = re.compile(r"""["'](sslmode|sslrootcert)["']\s*=>\s*(.+?),?\s*$""")


def wanted(src: Source) -> bool:
    low = src.lower
    if src.ext == ".php":
        return "mysql_attr_ssl" in low or "mysql::attr_ssl" in low or "sslmode" in low or "sslrootcert" in low
    return src.ext in (".yaml", ".yml") and ("mysql_attr_ssl" in low or ("1009" in low and "option" in low))


def find(src: Source) -> list[Found]:
    out = []
    root = _project_root(src.path)
    for m in _SSL_CA.finditer(src.text):
        line = src.line_of(m.start())
        ca = _php_path(src, m.group(1), line, root)
        if ca is None:
            continue
        off = _VERIFY.search("\n".join(src.lines[max(0, line - 8) : line + 8]))
        if off and off.group(1).lower() in ("false", "0"):
            note = "MYSQL_ATTR_SSL_VERIFY_SERVER_CERT is false: not verified"
            out.append(
                Found(src.setting(line, "pdo_mysql", "MYSQL_ATTR_SSL_CA", NO_VERIFICATION, note=note), True)
            )
        else:
            out.append(Found(src.setting(line, "pdo_mysql", "MYSQL_ATTR_SSL_CA", VERIFY, ca), replaces=True))
    if src.ext == ".php":
        out += _pgsql(src, root)
    return out


def _project_root(path: str) -> str:
    parts = PurePosixPath(path).parts
    if "config" in parts:
        return str(PurePosixPath(*parts[: parts.index("config")])) if parts.index("config") else ""
    return str(PurePosixPath(path).parent)


def _php_path(src: Source, expr: str, line: int, root: str) -> CaValue | None:
    here = str(PurePosixPath(src.path).parent)
    project = re.search(r"""%kernel\.project_dir%/?([^"'\s]*)""", expr)
    if project:
        return CaValue(from_dir(root, project.group(1)), line)
    m = re.search(
        r"""(base_path|storage_path|config_path|__DIR__)\s*(?:\(\s*|\.\s*)?["']([^"']*)["']""", expr
    )
    if m:
        base = {"storage_path": f"{root}/storage", "config_path": f"{root}/config", "__DIR__": here}.get(
            m.group(1), root
        )
        return CaValue(from_dir(base, m.group(2).lstrip("/")), line)
    return ca_value(expr.rstrip(",] )"), line)


def _pgsql(src: Source, root: str) -> list[Found]:
    pieces: list[Piece] = []
    notes: list[str] = []
    for no, text in enumerate(src.lines, start=1):
        m = _PG_KEY.search(text)
        if not m:
            continue
        key, expr = m.group(1), m.group(2)
        env = env_reference(expr)
        if key == "sslrootcert":
            ca = _php_path(src, expr, no, root)
            pieces.append(Piece(key, ca.ref if ca else None, no, ca.env if ca else None))
        elif env:
            if env[1] is None:
                notes.append(f"unknown: the sslmode comes from {env[0]}")
            else:
                notes.append(f"sslmode is {env[0]}, here its default {env[1]}")
            pieces.append(Piece(key, env[1], no))
        else:
            quoted = re.search(r"""["']([\w-]+)["']""", expr)
            pieces.append(Piece(key, quoted.group(1) if quoted else None, no))
    return through_base(src, pieces, "pdo_pgsql", "; ".join(notes))
