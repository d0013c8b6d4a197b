"""Npgsql's version, read from the project files above a setting, and what `SSL Mode=Require` and
`Prefer` mean in it (the sources are listed in `dotnet`): before 6.0 both check the certificate;
since 6.0 Prefer never checks, Require is refused without Trust Server Certificate (6.0, 7.x) or
checks nothing (8.0+). The tree pass (`tree.TreeContext.refine`) applies this to the settings
`dotnet` marks NPGSQL_VERSIONED.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path, PurePosixPath

from rdsca.readiness.trust_settings import FALLBACK, NO_VERIFICATION, Setting

NPGSQL_DEFAULT = (
    "no Root Certificate: Npgsql reads PGSSLROOTCERT, else ~/.postgresql/root.crt, else the OS trust "
    "store (check that the target CA's RDS root is installed there)"
)
NPGSQL_VERSIONED = "npgsql-versioned"  # Setting.store: Require / Prefer, judged by the Npgsql version
PREFER_UNKNOWN = (
    "unknown: SSL Mode=Prefer depends on the Npgsql version, which no packages.lock.json or .csproj "
    "above it pins: before 6.0 it checks the certificate once TLS is up (against Root Certificate, "
    "else the OS store), 6.0 and later never check it and fall back to plaintext when the server "
    "refuses TLS"
)
REQUIRE_UNKNOWN = (
    "unknown: SSL Mode=Require depends on the Npgsql version, which no packages.lock.json or "
    ".csproj above it pins: before 6.0 it checks the certificate (against Root Certificate, else "
    "the OS store), 6.0 and 7.x refuse it without Trust Server Certificate=true, 8.0 and later "
    "do not check"
)


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
    """An Npgsql setting whose meaning changed with the version (NPGSQL_VERSIONED: Require without
    Trust Server Certificate, Prefer), judged by the pinned version: before 6.0 both check the
    certificate; since 6.0 Prefer never checks, Require is refused (6.0, 7.x) or checks nothing (8.0+).
    No pin: unknown (no CA file is checked, whatever Root Certificate names)."""
    version, where = pin if pin else ("", "")
    major = _major(version)
    if major is None:
        return replace(s, ca_ref=None, ca_line=None, store="custom")
    said = f"Npgsql {version} ({where})"
    env = s.note.split("unknown: SSL Mode=")[0].rstrip("; ")
    what = s.mode.partition("=")[2]
    if major < 6:
        note = f"{said}: {what} checks the certificate (before 6.0)"
        note += "" if s.ca_ref else ", against PGSSLROOTCERT, ~/.postgresql/root.crt or the OS store"
        return replace(s, store="", note="; ".join(n for n in (env, note) if n))
    if what.lower() == "prefer":
        note = (
            f"{said}: Prefer encrypts without checking the certificate (6.0+; Root Certificate is not "
            "used) and falls back to plaintext when the server refuses TLS"
        )
        return replace(s, category=FALLBACK, ca_ref=None, ca_line=None, store="", note=note)
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
