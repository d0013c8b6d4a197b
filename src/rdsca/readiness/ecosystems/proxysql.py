"""ProxySQL: the CA it checks backend servers with (`mysql-ssl_p2s_ca`).

In proxysql.cnf the variable sits in the `mysql_variables` block without its `mysql-` prefix
(`ssl_p2s_ca="..."`); on the admin interface it is `SET mysql-ssl_p2s_ca='...'` or an UPDATE of
global_variables. Backend TLS is per server (`use_ssl=1` in mysql_servers).

Source: ProxySQL "SSL Support" (https://proxysql.com/documentation/ssl-support/) and the MySQL
variables reference (https://proxysql.com/documentation/global-variables/mysql-variables/,
mysql-ssl_p2s_ca: the CA used for backend connections; doc/SSL.md in github.com/sysown/proxysql).
Its documentation does not say whether a backend whose certificate the CA does not sign is refused.
ProxySQL reaches backends through its bundled MariaDB Connector/C, which checks the chain against
the CA it is given whatever ssl-verify-server-cert says (the real-client matrix, case
mariadb-cnf-skip-verify-old): rdsca assumes it verifies (at worst a false alarm, never a miss).
"""

from __future__ import annotations

import re

from rdsca.readiness.ecosystems.common import Found, Source, ca_value
from rdsca.readiness.trust_settings import VERIFY

_CA = re.compile(r"""(?<![\w-])(?:mysql-)?ssl_p2s_ca(?:path)?["']?\s*(?:=|:)\s*(["'][^"']*["']|\S+)""", re.I)
_UPDATE = re.compile(
    r"""variable_value\s*=\s*(["'][^"']+["'])\s+where\s+variable_name\s*=\s*["']mysql-ssl_p2s_ca["']""", re.I
)


def wanted(src: Source) -> bool:
    return "ssl_p2s_ca" in src.lower


def find(src: Source) -> list[Found]:
    out = []
    for pattern in (_CA, _UPDATE):
        for m in pattern.finditer(src.text):
            line = src.line_of(m.start())
            ca = ca_value(m.group(1), line)
            if ca is None or not (ca.ref or ca.env):
                continue
            note = "ProxySQL's CA for backends with use_ssl=1; assumed to verify"
            out.append(Found(src.setting(line, "proxysql", "mysql-ssl_p2s_ca", VERIFY, ca, note)))
    return out
