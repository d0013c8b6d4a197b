""".NET: MySqlConnector, Npgsql and SqlClient connection strings (appsettings.json, web.config,
C# string literals) and connection string builders in C#.

Sources:
- MySqlConnector (https://mysqlconnector.net/connection-options/): `SslMode` None | Preferred
  (default) | Required | VerifyCA | VerifyFull; only VerifyCA and VerifyFull check the certificate,
  against `SslCa` (aliases `Ssl-Ca`, `CACertificateFile`) or else the OS trust store; with another
  mode a CA file is not used (Connector/NET says the same of its driver: "PEM certificates are only
  validated for VerifyCA and VerifyFull SSL mode values. All other mode values ignore certificates
  even if they are provided", https://dev.mysql.com/doc/connector-net/en/connector-net-tutorials-ssl-pem.html).
- Npgsql (https://www.npgsql.org/doc/connection-string-parameters.html and "Security and
  Encryption", https://www.npgsql.org/doc/security.html): `SSL Mode` Disable | Allow | Prefer |
  Require | VerifyCA | VerifyFull, `Root Certificate`, `Trust Server Certificate`. Since Npgsql 6.0
  Require no longer checks the certificate (as in libpq); before 6.0 it did, against the OS store,
  unless `Trust Server Certificate=true` (npgsql/npgsql#3988 describes the old behaviour). The
  version is not known from a connection string, so Require is "unknown" unless a root certificate
  or Trust Server Certificate says more.
- Microsoft.Data.SqlClient ("Connection string syntax: Encrypt", "TrustServerCertificate",
  https://learn.microsoft.com/en-us/sql/connect/ado-net/connection-string-syntax and "Enable
  encrypted connections", .../sql-server-encryption): the certificate is checked only when
  Encrypt is true / Mandatory / Strict and TrustServerCertificate is false (Strict ignores it), and
  always against the OS trust store, where the RDS root must be installed.
"""

from __future__ import annotations

import re

from rdsca.readiness.ecosystems.common import CaValue, Found, Source, ca_value
from rdsca.readiness.trust_settings import FALLBACK, NO_TLS, NO_VERIFICATION, VERIFY

_EXTS = frozenset({".json", ".config", ".cs", ".fs", ".vb", ".xml", ".cshtml"})
_OS_STORE = "verifies against the OS trust store: check that the target CA's RDS root is installed there"


def wanted(src: Source) -> bool:
    if src.ext not in _EXTS:
        return False
    low = src.lower
    if src.ext in (".cs", ".fs", ".vb"):
        return any(k in low for k in _CODE_WORDS)
    return any(k in low for k in _STRING_WORDS) and bool(_KEY_IN_STRING.search(low))


_CODE_WORDS = ("sslmode", "ssl mode", "encrypt", "trustservercertificate", "rootcertificate", "sslca")
_STRING_WORDS = (
    "sslmode",
    "ssl mode",
    "ssl-mode",
    "sslca",
    "ssl-ca",
    "cacertificatefile",
    "servercertificate",
    "server certificate",
    "root certificate",
    "rootcertificate",
    "encrypt=",
    "encrypt =",
)
_KEY_IN_STRING = re.compile(
    r"(?:sslmode|ssl mode|ssl-mode|sslca|ssl-ca|cacertificatefile|root ?certificate"
    r"|trust ?server ?certificate|encrypt)\s*="
)


def find(src: Source) -> list[Found]:
    out = []
    for m in _STRING.finditer(src.text):
        if ";" not in m.group(1) or "=" not in m.group(1):
            continue
        pairs = _pairs(m.group(1))
        if pairs:
            out += _judge(src, src.line_of(m.start()), pairs, m.group(1))
    if src.ext in (".cs", ".fs", ".vb"):
        out += _builders(src)
    return out


_STRING = re.compile(r'''"([^"\\\n]*(?:\\.[^"\\\n]*)*)"''')  # a string literal, in linear time
_KEYS = {
    "sslmode": "sslmode",
    "ssl mode": "sslmode",
    "ssl-mode": "sslmode",
    "sslca": "ca",
    "ssl-ca": "ca",
    "ssl ca": "ca",
    "cacertificatefile": "ca",
    "ca certificate file": "ca",
    "root certificate": "root",
    "rootcertificate": "root",
    "trust server certificate": "trust",
    "trustservercertificate": "trust",
    "encrypt": "encrypt",
    "host": "host",
    "server": "server",
    "data source": "server",
    "initial catalog": "catalog",
    "port": "port",
}


def _pairs(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        k = _KEYS.get(" ".join(key.strip().lower().split()))
        if sep and k:
            out[k] = value.strip().strip("'").replace("\\\\", "\\")
    if not ({"sslmode", "ca", "root", "trust", "encrypt"} & out.keys()):
        return {}
    return out


def _provider(p: dict[str, str]) -> str:
    mode = p.get("sslmode", "").lower()
    if (
        "root" in p
        or "host" in p
        or mode in ("disable", "allow", "prefer", "require")
        or p.get("port") == "5432"
    ):
        return "npgsql"
    if (
        "ca" in p
        or mode in ("none", "preferred", "required", "verifyca", "verifyfull")
        or p.get("port") == "3306"
    ):
        return "mysqlconnector"
    return "sqlclient"


def _judge(src: Source, line: int, p: dict[str, str], raw: str) -> list[Found]:
    provider = _provider(p)
    if provider == "sqlclient":
        return [_sqlclient(src, line, p)] if ("encrypt" in p or "trust" in p) else []
    mode = p.get("sslmode", "")
    low = mode.lower().replace("-", "").replace("_", "")
    ref = p.get("ca") or p.get("root")
    ca = ca_value(f'"{ref}"', line) if ref else None
    if provider == "mysqlconnector":
        table = {"none": NO_TLS, "preferred": NO_VERIFICATION, "required": NO_VERIFICATION}
        category = table.get(low or "preferred", VERIFY)
        note = "" if category != VERIFY or ca else _OS_STORE
        if category == NO_VERIFICATION:
            note = f"SslMode={mode or 'Preferred'} encrypts without checking the certificate"
            note += " (SslCa is used only by VerifyCA and VerifyFull)" if ca else ""
            ca = None
        return [
            Found(
                src.setting(line, "mysqlconnector", f"SslMode={mode or 'Preferred'}", category, ca, note),
                True,
            )
        ]
    trust = p.get("trust", "").lower() == "true"
    if low == "disable":
        category, note = NO_TLS, ""
    elif low in ("allow", "prefer", ""):
        category, note = FALLBACK, "falls back to plaintext when TLS fails"
    elif low == "require" and trust:
        category, note = NO_VERIFICATION, "Trust Server Certificate=true"
    elif low == "require" and not ca:
        category, note = (
            VERIFY,
            "Npgsql before 6.0 verifies Require against the OS store, 6.0 and later do not",
        )
    else:
        category, note = VERIFY, "" if ca else _OS_STORE
    return [Found(src.setting(line, "npgsql", f"SSL Mode={mode or 'Prefer'}", category, ca, note), True)]


def _sqlclient(src: Source, line: int, p: dict[str, str]) -> Found:
    encrypt = p.get("encrypt", "true").lower()
    trust = p.get("trust", "false").lower() in ("true", "yes")
    mode = f"Encrypt={p.get('encrypt', '(default)')}" + (
        f";TrustServerCertificate={p['trust']}" if "trust" in p else ""
    )
    if encrypt == "strict":
        category, note = VERIFY, "Strict (TDS 8) always " + _OS_STORE
    elif encrypt in ("false", "no", "optional"):
        category, note = (
            NO_VERIFICATION,
            "the certificate is not checked (data encrypted only when the server forces it)",
        )
    elif trust:
        category, note = NO_VERIFICATION, "TrustServerCertificate=true accepts any certificate"
    else:
        category, note = VERIFY, _OS_STORE
    return Found(src.setting(line, "sqlclient", mode, category, note=note), True)


_BUILDER = re.compile(
    r"""\b(SslMode|SslCa|CACertificateFile|RootCertificate|TrustServerCertificate|Encrypt)\s*=\s*([^,;\n}]+)"""
)
_ENUM = re.compile(r"(?:MySqlSslMode|SslMode|SqlConnectionEncryptOption)\.(\w+)")


def _builders(src: Source) -> list[Found]:
    """`new NpgsqlConnectionStringBuilder { SslMode = SslMode.VerifyFull, RootCertificate = ... }`."""
    out = []
    hits = [(src.line_of(m.start()), m.group(1), m.group(2).strip()) for m in _BUILDER.finditer(src.text)]
    hits = [h for h in hits if not src.lines[h[0] - 1].lstrip().startswith('"') and '";' not in h[2][:1]]
    used: set[int] = set()
    for line, key, value in hits:
        if key not in ("SslMode", "Encrypt") or line in used:
            continue
        near = [h for h in hits if abs(h[0] - line) <= 8]
        enum = _ENUM.search(value)
        p: dict[str, str] = {
            "sslmode" if key == "SslMode" else "encrypt": enum.group(1) if enum else value.strip('"')
        }
        ca: CaValue | None = None
        for no, k, v in near:
            if k in ("SslCa", "CACertificateFile", "RootCertificate"):
                ca = ca_value(v, no)
                p["root" if k == "RootCertificate" else "ca"] = (ca.ref or "$env") if ca else v
            elif k == "TrustServerCertificate":
                p["trust"] = v.strip('"').lower()
            used.add(no)
        if "MySqlSslMode" in value:
            p.setdefault("ca", "")
        found = _judge(src, line, p, "") if key == "SslMode" else [_sqlclient(src, line, p)]
        for f in found:
            if ca is not None and f.setting.category == VERIFY:
                f = Found(src.setting(line, f.setting.client, f.setting.mode, VERIFY, ca, ""), True)
            out.append(f)
    return out
