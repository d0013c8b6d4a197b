"""Ruby on Rails: config/database.yml, with ERB, for the postgresql and mysql2 adapters.

Sources:
- Rails hands the adapter's keys to the driver ("Configuring a Database",
  https://guides.rubyonrails.org/configuring.html#configuring-a-database). The postgresql adapter
  keeps the keys libpq knows and passes them to PG.connect: `conn_params.slice!(*valid_conn_param_keys)`
  with `valid_conn_param_keys = PG::Connection.conndefaults_hash.keys` (rails/rails
  activerecord/lib/active_record/connection_adapters/postgresql_adapter.rb), so `sslmode` and
  `sslrootcert` have libpq's meanings.
- mysql2 (README "SSL options", https://github.com/brianmario/mysql2#ssl-options): `sslca` (CA
  file), `sslcapath`, `sslverify: true` to require a valid server certificate, and in later
  releases `ssl_mode` (:disabled, :preferred, :required, :verify_ca, :verify_identity). They are
  read here like the MySQL client options `ssl-ca`, `ssl-capath`, `ssl-verify-server-cert`,
  `ssl-mode`; an `sslca` with neither `sslverify` nor a verifying `ssl_mode` is assumed to verify
  (what libmysqlclient then does depends on its version: not found in the stored docs).
- ERB: `<%= ENV["DB_CA"] %>`, `<%= ENV.fetch("DB_CA", "...") %>`, `<%= Rails.root.join("config",
  "rds.pem") %>` (the project root: the directory above config/).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from rdsca.readiness.ecosystems.common import Found, Piece, Source, env_reference, from_dir, through_base

_KEY = re.compile(r"^\s*(sslmode|sslrootcert|sslca|ssl_mode|sslverify|sslcapath)\s*:\s*(.*?)\s*$")
_ADAPTER = re.compile(r"^\s*adapter\s*:\s*[\"']?(\w+)")
_MYSQL_KEYS = {
    "sslca": "ssl-ca",
    "ssl_mode": "ssl-mode",
    "sslverify": "ssl-verify-server-cert",
    "sslcapath": "ssl-capath",
}


def wanted(src: Source) -> bool:
    return src.ext in (".yml", ".yaml", ".erb") and "adapter" in src.lower and "ssl" in src.lower


def find(src: Source) -> list[Found]:
    root = _project_root(src.path)
    adapters = [(no, m.group(1)) for no, text in enumerate(src.lines, start=1) if (m := _ADAPTER.match(text))]
    groups: dict[int, list[Piece]] = {}
    kinds: dict[int, str] = {}
    for no, text in enumerate(src.lines, start=1):
        m = _KEY.match(text)
        if not m:
            continue
        block = _block_start(src, no)
        adapter = next(
            (a for n, a in reversed(adapters) if n < no), adapters[0][1] if adapters else "postgresql"
        )
        mysql = "mysql" in adapter or m.group(1) in _MYSQL_KEYS
        kinds[block] = "mysql2" if mysql else "libpq"
        groups.setdefault(block, []).append(_piece(m.group(1), m.group(2), no, root, mysql))
    out: list[Found] = []
    for block, pieces in groups.items():
        client = "mysql2-ruby" if kinds[block] == "mysql2" else "libpq"
        out += through_base(src, pieces, client)
    return out


def _piece(key: str, raw: str, line: int, root: str, mysql: bool) -> Piece:
    name = _MYSQL_KEYS.get(key, key) if mysql else key
    value = raw.strip().strip("\"'")
    if "<%" in value:
        env = env_reference(value)
        if env:
            return Piece(name, env[1], line, env[0] if key in ("sslrootcert", "sslca") else None)
        parts = re.findall(r"""["']([^"']+)["']""", value)
        if "Rails.root" in value and parts:
            return Piece(name, from_dir(root, "/".join(parts)), line)
        return Piece(name, None, line)
    if key == "ssl_mode":
        value = value.lstrip(":").upper()
    if key == "sslverify":
        value = "1" if value.lower() == "true" else "0"
    return Piece(name, value or None, line)


def _block_start(src: Source, line: int) -> int:
    """The line of the top-level key (`production:`) above `line`."""
    for no in range(line, 0, -1):
        text = src.lines[no - 1]
        if text and not text[0].isspace() and not text.startswith("#"):
            return no
    return 0


def _project_root(path: str) -> str:
    parts = PurePosixPath(path).parts
    if "config" in parts and parts.index("config"):
        return str(PurePosixPath(*parts[: parts.index("config")]))
    return ""
