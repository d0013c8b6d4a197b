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
  packages.lock.json, *.csproj PackageReference or Directory.Packages.props pins (npgsql_version);
  without one it is unknown.
- Microsoft.Data.SqlClient: "Encryption and certificate validation in Microsoft.Data.SqlClient"
  (https://learn.microsoft.com/sql/connect/ado-net/encryption-and-certificate-validation, source
  docs/connect/ado-net/encryption-and-certificate-validation.md in MicrosoftDocs/sql-docs): Encrypt
  defaults to true since 4.0 (false before); with Encrypt true / Mandatory and
  TrustServerCertificate false the certificate is checked against the OS store; TrustServerCertificate
  true accepts any; Strict (5.0+) always checks. With Encrypt false / Optional the certificate is
  not checked unless the server forces encryption, which 2.0+ then check (by
  TrustServerCertificate): on RDS for SQL Server that is the rds.force_ssl parameter ("Using SSL
  with a Microsoft SQL Server DB instance"), which a connection string does not show: unknown.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path, PurePosixPath

from rdsca.readiness.ecosystems.common import CaValue, Found, Source, ca_value
from rdsca.readiness.trust_settings import FALLBACK, NO_TLS, NO_VERIFICATION, VERIFY, Setting

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
    elif low in ("allow", "prefer", ""):
        category, note = FALLBACK, "falls back to plaintext when TLS fails"
    elif low == "require" and trust:
        category, note = NO_VERIFICATION, "Trust Server Certificate=true accepts any certificate"
    elif low == "require":
        setting = src.setting(line, "npgsql", f"SSL Mode={mode}", VERIFY, ca, _REQUIRE_UNKNOWN)
        return [Found(replace(setting, store=NPGSQL_VERSIONED), True)]
    else:
        category, note = VERIFY, "" if ca else NPGSQL_DEFAULT
    return [Found(src.setting(line, "npgsql", f"SSL Mode={mode or 'Prefer'}", category, ca, note), True)]


NPGSQL_DEFAULT = (
    "no Root Certificate: Npgsql reads PGSSLROOTCERT, else ~/.postgresql/root.crt, else the OS trust "
    "store (check that the target CA's RDS root is installed there)"
)
NPGSQL_VERSIONED = "npgsql-versioned"  # Setting.store: SSL Mode=Require, judged by the Npgsql version
_REQUIRE_UNKNOWN = (
    "unknown: SSL Mode=Require depends on the Npgsql version, which no packages.lock.json or "
    ".csproj above it pins: before 6.0 it checks the certificate (against Root Certificate, else "
    "the OS store), 6.0 and 7.x refuse it without Trust Server Certificate=true, 8.0 and later "
    "do not check"
)


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


# --- Npgsql's version, from the project files above the setting -----------------------------------

_PACKAGE_TAG = re.compile(r"<(PackageReference|PackageVersion)\b([^>]*?)(?:/>|>(.*?)</\1\s*>)", re.S | re.I)
_ATTR = re.compile(r"""\b(Include|Update|Version|VersionOverride)\s*=\s*["']([^"']*)["']""", re.I)
_CHILD_VERSION = re.compile(r"<Version>\s*([^<\s]+)\s*</Version>", re.I)
_PROPERTY = re.compile(r"<([\w.-]+)>\s*(\d[\w.-]*)\s*</\1>")
_PROJECTS = ("*.csproj", "*.fsproj", "*.vbproj", "Directory.Packages.props")
# The EF Core provider builds on the Npgsql of its own major (npgsql/efcore.pg Directory.Packages.props:
# NpgsqlVersion 8.0 for provider 8.0); providers before 5.0 are taken to bring an Npgsql before 5.0
# (assumed, not checked: either way a version before 6.0).
_EF_PROVIDER = "npgsql.entityframeworkcore.postgresql"
_MAX_PROJECT_BYTES = 4 * 1024 * 1024


def npgsql_version(base: Path, rel: str) -> tuple[str, str] | None:
    """(version, "file:line") of Npgsql pinned by the nearest packages.lock.json, project file or
    Directory.Packages.props at or above the setting's directory, inside the scanned tree."""
    folder = PurePosixPath(rel).parent
    while True:
        here = base / folder
        lock = here / "packages.lock.json"
        found = _from_lock(lock) if lock.is_file() else None
        for path in [p for pattern in _PROJECTS for p in sorted(here.glob(pattern)) if p.is_file()]:
            if found:
                break
            found = _from_project(path)
        if found:
            version, name, line = found
            return version, f"{(folder / name).as_posix()}:{line}"
        if folder == PurePosixPath("."):
            return None
        folder = folder.parent


def _read(path: Path) -> str:
    if path.stat().st_size > _MAX_PROJECT_BYTES:
        return ""
    return path.read_text(encoding="utf-8", errors="replace")


def _from_lock(path: Path) -> tuple[str, str, int] | None:
    """NuGet's lock file: {"dependencies": {"net8.0": {"Npgsql": {"resolved": "8.0.3"}}}}."""
    text = _read(path)
    try:
        frameworks = json.loads(text).get("dependencies", {})
    except (ValueError, AttributeError):
        return None
    for packages in frameworks.values() if isinstance(frameworks, dict) else ():
        entry = packages.get("Npgsql") if isinstance(packages, dict) else None
        if isinstance(entry, dict) and isinstance(entry.get("resolved"), str):
            return entry["resolved"], path.name, text[: max(text.find('"Npgsql"'), 0)].count("\n") + 1
    return None


def _from_project(path: Path) -> tuple[str, str, int] | None:
    """<PackageReference Include="Npgsql" Version="8.0.3" /> (or a <Version> child, a $(Property),
    a central <PackageVersion>); the EF Core provider stands for its Npgsql major."""
    text = _read(path)
    best: tuple[str, str, int] | None = None
    for m in _PACKAGE_TAG.finditer(text):
        attrs = {k.lower(): v for k, v in _ATTR.findall(m.group(2))}
        name = (attrs.get("include") or attrs.get("update") or "").strip().lower()
        if name not in ("npgsql", _EF_PROVIDER):
            continue
        child = _CHILD_VERSION.search(m.group(3) or "")
        version = attrs.get("versionoverride") or attrs.get("version") or (child.group(1) if child else "")
        prop = re.fullmatch(r"\$\((\w[\w.-]*)\)", version.strip())
        if prop:
            version = dict(_PROPERTY.findall(text)).get(prop.group(1), "")
        number = re.search(r"\d+(?:\.\d+)*", version)
        if not number:
            continue
        value = number.group(0)
        if name == _EF_PROVIDER:
            major = int(value.split(".")[0])
            value = f"{value} (Npgsql.EntityFrameworkCore.PostgreSQL, Npgsql {major if major >= 5 else 4}.x)"
        found = (value, path.name, text.count("\n", 0, m.start()) + 1)
        if name == "npgsql":
            return found
        best = best or found
    return best


def npgsql_by_version(s: Setting, pin: tuple[str, str] | None) -> Setting:
    """An Npgsql `SSL Mode=Require` without Trust Server Certificate, judged by the pinned version:
    before 6.0 it checks the certificate, 6.0 and 7.x refuse to connect, 8.0 and later check
    nothing. No pin: unknown (no CA file is checked, whatever Root Certificate names)."""
    version, where = pin if pin else ("", "")
    major = _major(version)
    if major is None:
        return replace(s, ca_ref=None, ca_line=None, store="custom")
    said = f"Npgsql {version} ({where})"
    env = s.note.split(_REQUIRE_UNKNOWN)[0].rstrip("; ")
    if major < 6:
        note = f"{said}: Require checks the certificate (before 6.0)"
        note += "" if s.ca_ref else ", against PGSSLROOTCERT, ~/.postgresql/root.crt or the OS store"
        return replace(s, store="", note="; ".join(n for n in (env, note) if n))
    if major < 8:
        note = (
            f"{said} refuses SSL Mode=Require without Trust Server Certificate=true, unless the code "
            "sets a UserCertificateValidationCallback, which then decides"
        )
        return replace(s, ca_ref=None, ca_line=None, store="custom", note=note)
    note = f"{said}: Require encrypts without checking the certificate (8.0+); Root Certificate is not used"
    return replace(s, category=NO_VERIFICATION, ca_ref=None, ca_line=None, store="", note=note)


def _major(version: str) -> int | None:
    m = re.match(r"(\d+)\.", version)
    if not m:
        return None
    paren = re.search(r"Npgsql (\d+)\.x", version)
    return int(paren.group(1)) if paren else int(m.group(1))
