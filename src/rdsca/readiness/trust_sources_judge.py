"""Judge what `trust_sources` found: each bundle URL, pin, OS anchor, embedded PEM and driver
profile against the target CA, in the regions checked. Bundle files of the tree are read through
the scan's checker (once each); AWS's bundles come from the catalogue's copies of them.
"""

from __future__ import annotations

import hashlib
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from rdsca.catalog import Catalog, classify
from rdsca.readiness import trust_settings as ts
from rdsca.readiness import trust_sources as src
from rdsca.readiness import trust_sources_libs as libs
from rdsca.readiness.bundles import BundleError, parse_bundle, read_limited
from rdsca.readiness.client_caps import ClientSeen, limits_for
from rdsca.readiness.trust_check import TrustResult, evaluate
from rdsca.words import count

OK, WILL_BREAK, UNKNOWN = "ok", "will-break", "unknown"
WARNING = "warning"  # not a connection failure: a build that breaks, a cost
_JS_EXTS = frozenset({".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx"})
_PROFILE = re.compile(r"""(?<![\w.])ssl\s*:\s*["']Amazon RDS["']""")
_DATASOURCE = re.compile(r"^\s*datasource\s+\w+\s*\{")
# sha256 of AWS's files as rdsca ships them (unchanged copies), to name what a pin pins.
_KNOWN_FILES = {
    "global-bundle-2025.pem": "AWS's current global bundle (2025)",
    "global-bundle-2023.pem": "AWS's 2023 global bundle",
    "rds-combined-ca-bundle-2019.pem": "the old rds-combined-ca-bundle.pem",
}


# The files OpenSSL-based clients read as the system store, in an unpacked image: Debian/Ubuntu,
# RHEL/Fedora/Amazon Linux (and its extracted form), Alpine.
OS_STORES = (
    "etc/ssl/certs/ca-certificates.crt",
    "etc/pki/tls/certs/ca-bundle.crt",
    "etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "etc/ssl/cert.pem",
)


class Checker(Protocol):
    def check(self, rel: str) -> TrustResult | str: ...

    def resolve(self, ref: str, from_file: str) -> str | None: ...


@dataclass(frozen=True)
class Judged:
    setting: ts.Setting
    verdict: str
    detail: str
    bundle: str | None = None


@cache
def _data(name: str) -> bytes:
    return (resources.files("rdsca.catalog") / "data" / name).read_bytes()


@cache
def _known_digests() -> dict[str, str]:
    return {hashlib.sha256(_data(name)).hexdigest(): name for name in _KNOWN_FILES}


@cache
def _subset(name: str, keep: str) -> bytes:
    """The certificates of a bundled file whose catalogue entry matches `keep`:
    "region:<r>", "ca:<id>:root" (global root of a retired CA), "ca:<id>:<region>"."""
    out = []
    for cert in x509.load_pem_x509_certificates(_data(name)):
        known = classify(cert)
        if known is None:
            continue
        kind, _, rest = keep.partition(":")
        if kind == "region" and known.region == rest:
            out.append(cert)
        elif kind == "ca":
            ca_id, _, where = rest.partition(":")
            wanted_region = None if where == "root" else where
            if known.ca_id == ca_id and known.region == wanted_region:
                out.append(cert)
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in out)


class Sources:
    """Collects what the walk finds in one tree, then judges it."""

    def __init__(
        self,
        base: Path,
        ca_id: str,
        regions: tuple[str | None, ...],
        explicit_regions: bool,
        now: datetime,
        catalog: Catalog,
    ) -> None:
        self.base, self.ca_id, self.regions, self.explicit = base, ca_id, regions, explicit_regions
        self.now, self.cat = now, catalog
        self.found: list[src.Found] = []
        self.packages: list[libs.Package] = []
        self.profile_uses: list[tuple[str, int]] = []
        self.prisma_schemas: list[str] = []
        self.anchors: list[tuple[str, TrustResult | None, str]] = []  # (where, result, detail)
        self.checker: Checker | None = None
        self.memo: dict[str, list[libs.Package] | None] = {}  # lockfile packages per directory

    def read(self, rel: str, text: str) -> None:
        self.found.extend(src.find(rel, text))
        name = rel.rsplit("/", 1)[-1]
        if name == "package.json":
            self.packages.extend(libs.find_packages(rel, text))
        suffix = os.path.splitext(name)[1].lower()
        if suffix in _JS_EXTS and "Amazon RDS" in text:
            for no, line in enumerate(text.splitlines(), start=1):
                if _PROFILE.search(line) and not src.is_comment(line):
                    self.profile_uses.append((rel, no))
        if suffix == ".prisma":
            at = next((n for n, ln in enumerate(text.splitlines(), 1) if _DATASOURCE.match(ln)), None)
            if at:
                self.prisma_schemas.append(f"{rel}:{at}")

    def read_lockfiles(self, rels: Sequence[str]) -> None:
        for rel in rels:
            try:
                data = read_limited(self.base / rel, libs.MAX_LOCKFILE_BYTES)
            except BundleError:
                continue
            self.packages.extend(libs.find_packages(rel, data.decode("utf-8", "replace")))

    def clients(self) -> list[ClientSeen]:
        """Clients known from lockfiles and Prisma schemas (settings add theirs in the scan)."""
        seen = [ClientSeen("prisma", p.where, p.version) for p in self.packages if "prisma" in p.name]
        return seen + [ClientSeen("prisma", where) for where in self.prisma_schemas]

    # --- judging ------------------------------------------------------------------------------

    def _image_store(self) -> tuple[str, str] | None:
        for rel in OS_STORES:
            result = self.checker.check(rel) if self.checker and (self.base / rel).is_file() else None
            if isinstance(result, TrustResult):
                return libs.verdict_of(result, f"OS store {rel} (an unpacked image)")
        return None

    def judge(self, checker: Checker) -> list[Judged]:
        self.checker = checker
        out: list[Judged] = []
        pins = {f.path: f.digest for f in self.found if f.kind == src.PIN and f.digest}
        for f in self.found:
            judged = {
                src.URL: lambda f=f: self._url(f, pins.get(f.path)),
                src.PIN: lambda f=f: self._pin(f),
                src.ANCHOR: lambda f=f: self._anchor(f, checker),
                src.PEM: lambda f=f: self._pem(f),
            }[f.kind]()
            if judged is not None:
                out.append(judged)
        out.extend(self._profiles())
        out.extend(self._limits())
        return out

    def _setting(self, f: src.Found) -> ts.Setting:
        return ts.Setting(f.path, f.line, f.client, f.what, ts.VERIFY, f.ref, None, f.text)

    def _url_result(self, url: str, digest: str | None) -> tuple[TrustResult | None, str]:
        """What a client holding this URL's file trusts; None with why when rdsca cannot know."""
        current = src.CURRENT_URL.match(url)
        if current:
            host, directory = current.group("host").lower(), current.group("dir").lower()
            if host != "truststore.pki.rds.amazonaws.com":
                return None, (
                    "a GovCloud or China bundle: rdsca's catalogue holds the commercial regions' roots "
                    "only (add that bundle with --catalogue-bundle)"
                )
            pinned = _known_digests().get(digest or "")
            name = pinned if pinned and pinned.startswith("global") else "global-bundle-2025.pem"
            if directory == "global":
                label = (
                    "AWS's current global bundle"
                    if not pinned
                    else f"{_KNOWN_FILES[name]} (pinned by sha256)"
                )
                return self._evaluate(_data(name), label), label
            label = f"AWS's {directory} bundle: that region's roots only"
            return self._evaluate(_subset("global-bundle-2025.pem", f"region:{directory}"), label), label
        file = src.file_of(url).lower()
        label = f"{file} from the pre-2020 location (2015/2019 CAs only, never the G1 roots)"
        m = re.match(r"rds-ca-(2015|2019)-(root|[a-z]+-[a-z]+-\d)\.pem$", file)
        pem = _subset("rds-combined-ca-bundle-2019.pem", f"ca:rds-ca-{m.group(1)}:{m.group(2)}") if m else b""
        return self._evaluate(pem or _data("rds-combined-ca-bundle-2019.pem"), label), label

    def _evaluate(
        self, pem: bytes, label: str, regions: tuple[str | None, ...] | None = None
    ) -> TrustResult | None:
        try:
            bundle = parse_bundle(pem, label, catalog=self.cat)
        except BundleError:
            return None
        return evaluate(bundle, self.ca_id, regions or self.regions, now=self.now, catalog=self.cat)

    def _url(self, f: src.Found, digest: str | None) -> Judged:
        assert f.url is not None
        result, label = self._url_result(f.url, digest)
        if result is None:
            return Judged(self._setting(f), UNKNOWN, label)
        region = src.CURRENT_URL.match(f.url)
        directory = region.group("dir").lower() if region else "global"
        if directory != "global" and not self.explicit:
            own = self._evaluate(
                _subset("global-bundle-2025.pem", f"region:{directory}"), label, (directory,)
            )
            if own is not None and own.trusted:
                return Judged(
                    self._setting(f),
                    UNKNOWN,
                    f"{label}: trusts {self.ca_id} in {directory} only; clients of instances in other "
                    "regions fail (give --region, or run `rdsca readiness`, to check your instances' "
                    "regions)",
                )
        verdict, detail = libs.verdict_of(result, label)
        when = "; fetched when the image is built" if f.client == "dockerfile" else ""
        return Judged(self._setting(f), verdict, detail + when)

    def _pin(self, f: src.Found) -> Judged:
        name = _known_digests().get(f.digest or "")
        what = f"the sha256 of {_KNOWN_FILES[name]}" if name else "a sha256 rdsca does not know"
        when = {
            "global-bundle-2023.pem": "AWS serves a newer file now, so this build already fails",
            "rds-combined-ca-bundle-2019.pem": "a file that will never hold the G1 roots",
        }.get(name or "", "the build breaks the next time AWS updates the file (new regions, new CAs)")
        return Judged(
            self._setting(f),
            WARNING,
            f"pins {what}: {when}; check the certificates (rdsca trust check) rather than the file's hash",
        )

    def _anchor(self, f: src.Found, checker: Checker) -> Judged:
        setting = self._setting(f)
        d = src.anchor_dir(f.dest)
        command = src.ANCHOR_DIRS.get(d, "")
        rel: str | None = None
        if f.url:
            result, label = self._url_result(f.url, None)
        else:
            rel = checker.resolve(f.ref or "", f.path)
            if rel is None:
                return Judged(
                    setting, UNKNOWN, f"the OS store gets {f.ref}, which is not in the scanned tree"
                )
            checked = checker.check(rel)
            if isinstance(checked, str):
                return Judged(setting, UNKNOWN, f"{rel} cannot be read: {checked}", rel)
            result, label = checked, rel
        if command == "update-ca-certificates" and not (f.dest or "").endswith(".crt"):
            # man update-ca-certificates: "Certificates must be in PEM format and have a .crt
            # extension in order to be included".
            name = PurePosixPath(f.dest or "").name
            detail = f"{command} includes only *.crt files: {name} never reaches the OS store"
            self.anchors.append((f"{f.path}:{f.line}", None, detail))
            return Judged(setting, WILL_BREAK, detail, rel)
        if not f.update:
            return Judged(
                setting, UNKNOWN, f"nothing in {f.path} runs {command}: the OS store may not hold it", rel
            )
        if result is None:
            return Judged(setting, UNKNOWN, label, rel)
        verdict, detail = libs.verdict_of(result, f"the OS store holds {label} ({command} at {f.update})")
        if command == "update-ca-certificates" and len(result.bundle.certificates) > 1:
            detail += (
                "; one certificate per file is what the tool expects (the hashed /etc/ssl/certs keeps "
                "the first)"
            )
        self.anchors.append((f"{f.path}:{f.line}", result, detail))
        return Judged(setting, verdict, detail, rel)

    def _pem(self, f: src.Found) -> Judged | None:
        pem = b"".join(_as_pem(der) for der in f.der)
        result = self._evaluate(pem, f"{f.path}:{f.line}") if pem else None
        if result is None or not any(c.rds or c.rds_lookalike for c in result.bundle.certificates):
            return None  # not an RDS CA: a web server's certificate, a private CA
        verdict, detail = libs.verdict_of(result, count(result.bundle.certificates, "certificate"))
        return Judged(self._setting(f), verdict, detail)

    def _profiles(self) -> list[Judged]:
        """The lockfile entry behind each `ssl: 'Amazon RDS'` use: what that version's profile trusts."""
        out: dict[str, Judged] = {}
        for rel, no in self.profile_uses:
            trust = libs.profile_trust(libs.nearest_packages(self.base, rel, self.memo))
            if trust is None or trust.package.where in out:
                continue
            bundle = libs.profile_bundle(trust, self.cat)
            p = trust.package
            setting = ts.Setting(
                p.path, p.line, "npm", f"{p.name} {p.version}", ts.VERIFY, None, None, f"{p.name} {p.version}"
            )
            if bundle is None:
                out[p.where] = Judged(setting, UNKNOWN, f"{trust.summary}; used by {rel}:{no}")
                continue
            result = evaluate(bundle, self.ca_id, self.regions, now=self.now, catalog=self.cat)
            verdict, detail = libs.verdict_of(result, trust.summary)
            out[p.where] = Judged(setting, verdict, f"{detail}; ssl: 'Amazon RDS' used by {rel}:{no}")
        return list(out.values())

    def _limits(self) -> list[Judged]:
        """A client that cannot use the target CA at all, once per file that names it."""
        out: dict[str, Judged] = {}
        for client in self.clients():
            path, _, line = client.where.rpartition(":")
            for lim in limits_for(client.client, self.ca_id):
                if path in out:
                    continue
                label = f"{client.client} {client.version}" if client.version else client.client
                setting = ts.Setting(path, int(line), client.client, label, ts.VERIFY, None, None, label)
                out[path] = Judged(setting, WILL_BREAK, f"{lim.reason} ({lim.source})")
        return list(out.values())

    def refine(self, setting: ts.Setting, verdict: str) -> tuple[str, str] | None:
        """A better (verdict, detail) for a connection setting, from what the tree puts where the
        setting looks: the OS store, or a file a Dockerfile downloads to the path it names."""
        if setting.category == ts.SYSTEM_STORE:
            return self.system_store(setting.path)
        ref = (setting.ca_ref or "").strip().strip("\"'").removeprefix("file:").removeprefix("//")
        if verdict != UNKNOWN or not ref:
            return None
        fetched = [f for f in self.found if f.kind == src.URL and f.dest == ref and f.url]
        if not fetched:
            return None
        f = fetched[0]
        pins = {p.path: p.digest for p in self.found if p.kind == src.PIN and p.digest}
        result, label = self._url_result(f.url or "", pins.get(f.path))
        if result is None:
            return UNKNOWN, f"{ref} is downloaded at {f.path}:{f.line}: {label}"
        return libs.verdict_of(result, f"{ref}, downloaded at {f.path}:{f.line}: {label}")

    def system_store(self, path: str) -> tuple[str, str] | None:
        """The verdict of a setting in `path` that verifies against the OS store, when the tree
        puts RDS roots there (a Dockerfile in the setting's directory or above it) or is an
        unpacked image with its OS store in it; None otherwise (the OS store then holds no RDS
        root)."""
        here = PurePosixPath(path).parent
        mine = [
            a for a in self.anchors if PurePosixPath(a[0].rpartition(":")[0]).parent in (here, *here.parents)
        ]
        if not mine:
            return self._image_store()
        trusted = [(where, d) for where, r, d in mine if r is not None and r.trusted]
        if trusted:
            return OK, f"OS store: {trusted[0][1]} ({trusted[0][0]})"
        where, _, detail = mine[0]
        return WILL_BREAK, f"OS store: {detail} ({where})"


def _as_pem(der: bytes) -> bytes:
    """PEM of a DER certificate; empty for bytes that are not one. Odd but readable certificates
    (a negative serial in some test data) load quietly."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
        except ValueError:
            return b""
