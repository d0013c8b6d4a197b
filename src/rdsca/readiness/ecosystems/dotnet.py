""".NET: MySqlConnector, Npgsql and SqlClient connection strings (appsettings.json, web.config,
C# string literals) and connection string builders in C#.

Sources (each read for this rule, not from memory):
- MySqlConnector: "Connection Options" (https://mysqlconnector.net/connection-options/, source
  docs/content/connection-options.md in github.com/mysql-net/MySqlConnector) and
  ServerSession.ValidateRemoteCertificate (src/MySqlConnector/Core/ServerSession.cs): Preferred (the
  default) and Required accept any certificate; VerifyCA and VerifyFull build the chain with the
  `SslCa` file (aliases `SSL CA`, `CA Certificate File`, `Ssl-Ca`) added to the OS store's roots.
  `Disabled` is an alias of `None` since 2.1.9 (MySqlSslMode.cs). Since 2.4.0 a certificate that
  fails the chain is still accepted when a MariaDB 11.4+ server proves it with the password
  ("zero-configuration TLS", #1500): rdsca judges the CA file, which errs towards will-break.
- Npgsql: release notes 6.0 ("Changes to SSL configuration (SSL Mode=Require)") and 8.0 ("SSL
  Mode=Require no longer validates certificates"), https://www.npgsql.org/doc/release-notes/ ,
  "Security and Encryption" (https://www.npgsql.org/doc/security.html), and
  NpgsqlConnector.RawOpen / NegotiateEncryption in github.com/npgsql/npgsql at v5.0.18, v6.0.13,
  v7.0.10, v8.0.0 and v10.0.3:
  * before 6.0, Require (and Prefer once TLS is up) check the certificate: against `Root
    Certificate` (5.0+), else PGSSLROOTCERT, else ~/.postgresql/root.crt, else the OS store;
    `Trust Server Certificate=true` accepts any. The default mode was Disable.
  * 6.0 and 7.x: Require and Prefer never check the certificate (`Root Certificate` is not used);
    Require throws unless `Trust Server Certificate=true` (6.0.4+: or a
    UserCertificateValidationCallback set in code, which then decides). VerifyCA / VerifyFull check
    against `Root Certificate`, else PGSSLROOTCERT, else ~/.postgresql/root.crt, else the OS store;
    with `Trust Server Certificate=true` they throw. The default mode is Prefer.
  * 8.0 and later: Require encrypts without checking; `Trust Server Certificate` is obsolete and
    does nothing.
  A connection string does not say the version: Require without Trust Server Certificate is
  marked NPGSQL_VERSIONED, and the tree pass (`tree`) judges it by the Npgsql version the nearest
  packages.lock.json, *.csproj PackageReference or Directory.Packages.props pins (`npgsql`);
  without one it is unknown. Prefer likewise.
- Microsoft.Data.SqlClient: "Encryption and certificate validation in Microsoft.Data.SqlClient"
  (https://learn.microsoft.com/sql/connect/ado-net/encryption-and-certificate-validation, source
  docs/connect/ado-net/encryption-and-certificate-validation.md in MicrosoftDocs/sql-docs): Encrypt
  defaults to true since 4.0 (false before); with Encrypt true / Mandatory and
  TrustServerCertificate false the certificate is checked against the OS store; TrustServerCertificate
  true accepts any; Strict (5.0+) always checks. With Encrypt false / Optional the certificate is
  not checked unless the server forces encryption, which 2.0+ then check (by
  TrustServerCertificate): on RDS for SQL Server that is the rds.force_ssl parameter, 0 by default
  ("Updating applications to connect to Microsoft SQL Server DB instances using new SSL/TLS
  certificates", https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/ssl-certificate-rotation-sqlserver.html),
  which a connection string does not show: unknown.
"""

from __future__ import annotations

import re
from dataclasses import replace

from rdsca.readiness.ecosystems.common import CaValue, Found, Source, ca_value
from rdsca.readiness.ecosystems.npgsql import (
    NPGSQL_DEFAULT,
    NPGSQL_VERSIONED,
    PREFER_UNKNOWN,
    REQUIRE_UNKNOWN,
)
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
        or mode in ("none", "disabled", "preferred", "required", "verifyca", "verifyfull")
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
        table = {
            "none": NO_TLS,
            "disabled": NO_TLS,
            "preferred": NO_VERIFICATION,
            "required": NO_VERIFICATION,
        }
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
    elif low == "allow" or (low == "prefer" and trust):
        category, note = FALLBACK, "falls back to plaintext when TLS fails"
    elif not low:
        category, note = (
            FALLBACK,
            "no SSL Mode: Prefer since Npgsql 6.0 (falls back to plaintext), Disable before",
        )
    elif low == "require" and trust:
        category, note = NO_VERIFICATION, "Trust Server Certificate=true accepts any certificate"
    elif low in ("require", "prefer"):
        unknown = REQUIRE_UNKNOWN if low == "require" else PREFER_UNKNOWN
        setting = src.setting(line, "npgsql", f"SSL Mode={mode}", VERIFY, ca, unknown)
        return [Found(replace(setting, store=NPGSQL_VERSIONED), True)]
    else:
        category, note = VERIFY, "" if ca else NPGSQL_DEFAULT
    return [Found(src.setting(line, "npgsql", f"SSL Mode={mode or '(default)'}", category, ca, note), True)]


def _sqlclient(src: Source, line: int, p: dict[str, str]) -> Found:
    encrypt = p.get("encrypt", "true").lower()
    trust = p.get("trust", "false").lower() in ("true", "yes")
    mode = f"Encrypt={p.get('encrypt', '(default)')}" + (
        f";TrustServerCertificate={p['trust']}" if "trust" in p else ""
    )
    if encrypt == "strict":
        category, note = VERIFY, "Strict (TDS 8) always " + _OS_STORE
    elif trust:
        category, note = NO_VERIFICATION, "TrustServerCertificate=true accepts any certificate"
    elif encrypt in ("false", "no", "optional"):
        category, note = VERIFY, _NOT_FORCED
    else:
        category, note = VERIFY, _OS_STORE
    return Found(src.setting(line, "sqlclient", mode, category, note=note), True)


_NOT_FORCED = (
    "unknown: with Encrypt=False/Optional the certificate is checked only when the server forces "
    "encryption (RDS for SQL Server: rds.force_ssl=1), by Microsoft.Data.SqlClient 2.0 and later, "
    "against the OS trust store"
)


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
                note = f.setting.note if f.setting.store else ""
                setting = src.setting(line, f.setting.client, f.setting.mode, VERIFY, ca, note)
                f = Found(replace(setting, store=f.setting.store), True)
            out.append(f)
    return out
