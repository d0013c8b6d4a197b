"""Python: SQLAlchemy MySQL URLs with `ssl_ca`, and python-oracledb wallets.

Django's `OPTIONS` and SQLAlchemy's `connect_args` are keyword dicts the generic rules read (libpq's
`sslmode`/`sslrootcert`, the MySQL `ssl` dict); a CA read from the environment there
(`os.environ["DB_CA"]`) is resolved by `common.fix_env_refs`.

Sources:
- SQLAlchemy's MySQL dialects gather the `ssl_*` query parameters of the URL into the `ssl` dict
  handed to the DBAPI ("SSL Connections", https://docs.sqlalchemy.org/en/20/dialects/mysql.html):
  PyMySQL verifies when that dict names a CA (PyMySQL `_create_ssl_ctx`: CERT_REQUIRED unless
  `verify_mode` says otherwise), mysqlclient hands it to the C library (assumed to verify). The
  mysql-connector-python dialect passes the parameters as keywords, and that driver verifies only
  with `ssl_verify_cert=True` (see settings_drivers).
- python-oracledb: `wallet_location` is the directory holding the wallet (`ewallet.pem` in Thin
  mode, `cwallet.sso` in Thick mode); without it a TCPS connection in Thin mode verifies against
  the system's default CAs (a plain `ssl.SSLContext.wrap_socket`: python-oracledb discussion #412);
  `ssl_server_dn_match` (default True) adds the host name check
  (https://python-oracledb.readthedocs.io/en/latest/user_guide/connection_handling.html,
  "Connecting using TLS" and "Connecting to Oracle Cloud Autonomous Databases").
"""

from __future__ import annotations

import re

from rdsca.readiness.ecosystems.common import CaValue, Found, Piece, Source, ca_value, query, through_base
from rdsca.readiness.trust_settings import NO_VERIFICATION, VERIFY


def wanted(src: Source) -> bool:
    low = src.lower
    if src.ext == ".py" and "ssl_mode" in low:
        return True
    return (
        ("ssl_ca" in low and "mysql" in low)
        or "wallet_location" in low
        or (src.ext == ".py" and "tcps" in low)
    )


def find(src: Source) -> list[Found]:
    out = _sqlalchemy(src) + _oracledb(src)
    if src.ext == ".py":
        out += _mysql_options(src)
    return out


_SSL_MODE = re.compile(r"""["']ssl_mode["']\s*:\s*["'](\w+)["']""")
_SSL_DICT_CA = re.compile(r"""["']ssl["']\s*:\s*(?:\{|dict\()[^}]*?["']?ca["']?\s*[:=]\s*([^,}]+)""", re.S)


def _mysql_options(src: Source) -> list[Found]:
    """Django's MySQL `OPTIONS` (or mysqlclient keywords): `ssl_mode` with the CA of the `ssl` dict
    beside it, handed together to mysqlclient (Django "MySQL notes: Connection settings",
    https://docs.djangoproject.com/en/stable/ref/databases/#mysql-notes)."""
    out = []
    for m in _SSL_MODE.finditer(src.text):
        line = src.line_of(m.start())
        window_start = sum(len(x) + 1 for x in src.lines[: max(0, line - 7)])
        window = "\n".join(src.lines[max(0, line - 7) : line + 6])
        ca_m = _SSL_DICT_CA.search(window)
        if not ca_m:
            continue
        ca_line = src.line_of(window_start + ca_m.start(1))
        ca = ca_value(ca_m.group(1), ca_line)
        pieces = [
            Piece("ssl-mode", m.group(1), line),
            Piece("ssl-ca", ca.ref if ca else None, ca_line, ca.env if ca else None),
        ]
        for f in through_base(src, pieces, "mysqlclient"):
            out.append(Found(f.setting, True, (ca_line,)))
    return out


_SA_URL = re.compile(r"""\b(mysql|mariadb)(?:\+(\w+))?://[^\s"'`]*\?[^\s"'`]*""")
_DBAPI = {
    None: "mysqlclient",
    "mysqldb": "mysqlclient",
    "pymysql": "pymysql",
    "aiomysql": "pymysql",
    "asyncmy": "pymysql",
    "mysqlconnector": "mysql-connector-python",
    "mariadbconnector": "mariadb-connector-python",
}


def _sqlalchemy(src: Source) -> list[Found]:
    out = []
    for m in _SA_URL.finditer(src.text):
        params = query(m.group(0))
        if "ssl_ca" not in params:
            continue
        line = src.line_of(m.start())
        client = _DBAPI.get(m.group(2), m.group(2) or "mysqlclient")
        ca = CaValue(params["ssl_ca"], line)
        mode = f"{m.group(1)}+{m.group(2) or 'mysqldb'} ?ssl_ca="
        if client == "mysql-connector-python" and params.get("ssl_verify_cert", "").lower() not in (
            "true",
            "1",
        ):
            note = "mysql-connector-python checks the CA only with ssl_verify_cert=true"
            out.append(Found(src.setting(line, client, mode, NO_VERIFICATION, note=note), replaces=True))
            continue
        note = "SQLAlchemy passes ssl_ca in the ssl dict, which verifies"
        if params.get("ssl_check_hostname", "").lower() in ("false", "0"):
            note += " (host name not checked)"
        out.append(Found(src.setting(line, client, mode, VERIFY, ca, note), replaces=True))
    return out


_WALLET = re.compile(r"""wallet_location\s*(?:=|:)\s*(.+)""", re.I)
_DN_OFF = re.compile(r"""ssl_server_dn_match\s*(?:=|:)\s*["']?(?:False|false|no|off|0)\b""")
_TCPS = re.compile(r"""(?:protocol\s*=\s*["']tcps["']|["']tcps://)""", re.I)


def _oracledb(src: Source) -> list[Found]:
    if src.ext == ".ora":
        return []  # sqlnet.ora: the Oracle Net rules
    out = []
    dn_off = bool(_DN_OFF.search(src.text))
    note = "ssl_server_dn_match off: the host name is not checked, the CA still is" if dn_off else ""
    for m in _WALLET.finditer(src.text):
        line = src.line_of(m.start())
        expr = m.group(1)
        ca = ca_value(expr.split("&")[0], line)
        if ca is None:
            continue
        out.append(Found(src.setting(line, "python-oracledb", "wallet_location", VERIFY, ca, note)))
    if not out and src.ext == ".py":
        for m in _TCPS.finditer(src.text):
            line = src.line_of(m.start())
            why = "TCPS without wallet_location: Thin mode verifies against the system's default CAs"
            out.append(Found(src.setting(line, "python-oracledb", "tcps", VERIFY, note=why)))
    return out
