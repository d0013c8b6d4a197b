"""Oracle Net: the wallet in sqlnet.ora and TCPS addresses in tnsnames.ora.

RDS for Oracle serves TLS through its SSL option, on its own port (2484 by convention); a client
reaches it with `(PROTOCOL = TCPS)` and checks the server certificate against the trusted
certificates of its wallet, which must hold the RDS root ("Using SSL with an RDS for Oracle DB
instance" and "Configuring Oracle SQL*Plus to use SSL with an RDS for Oracle DB instance",
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.Oracle.Options.SSL.html).

Sources: Oracle Database Net Services Reference, "Parameters for the sqlnet.ora File":
`WALLET_LOCATION = (SOURCE = (METHOD = FILE)(METHOD_DATA = (DIRECTORY = ...)))` and
`SSL_SERVER_DN_MATCH` (host name check; the certificate chain is checked either way)
(https://docs.oracle.com/en/database/oracle/oracle-database/19/netrf/parameters-for-the-sqlnet.ora.html).
A wallet directory holds `cwallet.sso` (auto-login, which rdsca cannot read), `ewallet.p12`
(PKCS#12, password-protected) and, for python-oracledb Thin mode, `ewallet.pem`; the tree-wide
pass picks the file to check.
"""

from __future__ import annotations

import re

from rdsca.readiness.ecosystems.common import CaValue, Found, Source
from rdsca.readiness.trust_settings import VERIFY

_WALLET = re.compile(r"""(?:^|\n)\s*(WALLET_LOCATION|ENCRYPTION_WALLET_LOCATION)\s*=""", re.I)
_DIRECTORY = re.compile(r"""DIRECTORY\s*=\s*["']?([^)"'\s]+)""", re.I)
_DN_MATCH = re.compile(r"""SSL_SERVER_DN_MATCH\s*=\s*\(?\s*(\w+)""", re.I)
_TCPS = re.compile(r"""PROTOCOL\s*=\s*TCPS""", re.I)
_EZ_TCPS = re.compile(r"""tcps://[^\s"'`]+""", re.I)


def wanted(src: Source) -> bool:
    low = src.lower
    return src.ext == ".ora" and ("wallet_location" in low or "tcps" in low)


def find(src: Source) -> list[Found]:
    out = []
    dn = _DN_MATCH.search(src.text)
    note = ""
    if dn and dn.group(1).lower() in ("off", "false", "no"):
        note = "SSL_SERVER_DN_MATCH off: the host name is not checked, the CA still is"
    for m in _WALLET.finditer(src.text):
        if m.group(1).upper().startswith("ENCRYPTION"):
            continue  # the database's TDE wallet, not trust
        start = m.start(1)
        d = _DIRECTORY.search(src.text, start, start + 400)
        line = src.line_of(start)
        ca = CaValue(d.group(1), src.line_of(d.start())) if d else None
        out.append(Found(src.setting(line, "oracle-net", "WALLET_LOCATION", VERIFY, ca, note)))
    if src.name != "sqlnet.ora":
        for m in _TCPS.finditer(src.text):
            line = src.line_of(m.start())
            why = "TCPS verifies the server against the wallet named by sqlnet.ora's WALLET_LOCATION"
            out.append(Found(src.setting(line, "oracle-net", "PROTOCOL=TCPS", VERIFY, note=why)))
    return out
