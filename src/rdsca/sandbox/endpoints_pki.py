"""The sandbox's RDS-like CAs: one hierarchy per (CA id, region), server certificates per instance.

Named like AWS's (`Amazon RDS Root 2019 CA` -> `Amazon RDS us-east-1 2019 CA`; `Amazon RDS us-east-1
Root CA RSA2048 G1` -> `... Subordinate CA RSA2048 G1.A.1`), dated like AWS's roots in that region
(from rdsca's catalogue, so adding the sandbox roots to the catalogue changes no CA's dates), but
with keys of our own: RSA 2048 for the RSA families (also "RSA4096", for speed) and P-384 for ECC384.
rds-ca-2019 (and 2015) has one global root and an intermediate per region, as AWS had.

Generated once per process and kept; each server certificate (leaf + intermediate) is issued when
first needed and kept by (instance, CA, valid-till), so a rotated instance gets a new one.
"""

from __future__ import annotations

import os
import ssl
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from rdsca.sandbox import certificates, pki

ROOTS_FILE = "sandbox-roots.pem"  # every sandbox root: extends rdsca's catalogue
OLD_BUNDLE_FILE = "old-bundle.pem"  # the rds-ca-2019 root only: an app that never updated
NEW_BUNDLE_FILE = "new-bundle.pem"  # every root: an app with the current bundle
OLD_CAS = ("rds-ca-2019",)


@dataclass(frozen=True)
class Naming:
    root: str  # common name; {region} filled for regional roots
    intermediate: str
    key_type: str  # pki key type
    global_root: bool = False


NAMING: dict[str, Naming] = {
    "rds-ca-2015": Naming("Amazon RDS Root CA", "Amazon RDS {region} CA", "rsa2048", True),
    "rds-ca-2019": Naming("Amazon RDS Root 2019 CA", "Amazon RDS {region} 2019 CA", "rsa2048", True),
    "rds-ca-rsa2048-g1": Naming(
        "Amazon RDS {region} Root CA RSA2048 G1",
        "Amazon RDS {region} Subordinate CA RSA2048 G1.A.1",
        "rsa2048",
    ),
    "rds-ca-rsa4096-g1": Naming(
        "Amazon RDS {region} Root CA RSA4096 G1",
        "Amazon RDS {region} Subordinate CA RSA4096 G1.A.1",
        "rsa2048",
    ),
    "rds-ca-ecc384-g1": Naming(
        "Amazon RDS {region} Root CA ECC384 G1", "Amazon RDS {region} Subordinate CA ECC384 G1.A.1", "ecc384"
    ),
}


@dataclass(frozen=True)
class ServerIdentity:
    """What a server certificate is issued for."""

    key: str  # unique per instance, e.g. account/region/id
    ca_id: str
    region: str
    hosts: tuple[str, ...]  # the first is the common name
    valid_till: datetime
    days: int  # lifetime of the leaf


class SandboxPki:
    """Hierarchies, bundle files and server TLS contexts of one sandbox process."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.RLock()
        self._roots: dict[tuple[str, str | None], pki.Issued] = {}
        self._hierarchies: dict[tuple[str, str], pki.Hierarchy] = {}
        self._contexts: dict[ServerIdentity, ssl.SSLContext] = {}
        self._leaf_keys: dict[str, pki.PrivateKey] = {}

    # --- hierarchies and files ----------------------------------------------------------------

    def ensure(self, regions: Iterable[str], extra: Iterable[tuple[str, str]] = ()) -> dict[str, str]:
        """Hierarchies for rds-ca-2019 and the CAs each region lists (plus `extra` (ca, region)
        pairs); the bundle files rewritten when something was added. Returns the file paths."""
        wanted = [(ca, r) for r in regions for ca in (*OLD_CAS, *_listed(r))] + list(extra)
        with self._lock:
            added = [self._hierarchy(ca, region)[1] for ca, region in wanted]
            if any(added) or not (self.directory / ROOTS_FILE).exists():
                self._write_bundles()
        return self.files()

    def files(self) -> dict[str, str]:
        return {name: str(self.directory / name) for name in (ROOTS_FILE, OLD_BUNDLE_FILE, NEW_BUNDLE_FILE)}

    def roots(self, ca_ids: Iterable[str] | None = None) -> list[x509.Certificate]:
        keep = None if ca_ids is None else set(ca_ids)
        with self._lock:
            items = sorted(self._roots.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
        return [issued.cert for (ca, _), issued in items if keep is None or ca in keep]

    def hierarchy(self, ca_id: str, region: str) -> pki.Hierarchy:
        with self._lock:
            hierarchy, added = self._hierarchy(ca_id, region)
            if added:
                self._write_bundles()
            return hierarchy

    def _hierarchy(self, ca_id: str, region: str) -> tuple[pki.Hierarchy, bool]:
        found = self._hierarchies.get((ca_id, region))
        if found is not None:
            return found, False
        naming = NAMING.get(ca_id)
        if naming is None:
            raise KeyError(f"the sandbox has no CA hierarchy for {ca_id}")
        start, end = certificates.validity(ca_id, region)
        root_key = (ca_id, None if naming.global_root else region)
        root = self._roots.get(root_key)
        if root is None:
            root = _ca(naming.root.format(region=region), naming.key_type, start, end, None)
            self._roots[root_key] = root
        inter = _ca(naming.intermediate.format(region=region), naming.key_type, start, end, root)
        generation: pki.Generation = "old" if ca_id in ("rds-ca-2015", "rds-ca-2019") else "new"
        hierarchy = pki.Hierarchy(generation, region, root, inter)
        self._hierarchies[(ca_id, region)] = hierarchy
        return hierarchy, True

    def _write_bundles(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        every = _pem(self.roots())
        _write(self.directory / ROOTS_FILE, every)
        _write(self.directory / NEW_BUNDLE_FILE, every)
        _write(self.directory / OLD_BUNDLE_FILE, _pem(self.roots(OLD_CAS)))

    # --- server certificates ------------------------------------------------------------------

    def server_context(self, who: ServerIdentity) -> ssl.SSLContext:
        """A server-side TLS context presenting leaf + intermediate for `who` (kept per identity)."""
        with self._lock:
            ctx = self._contexts.get(who)
            if ctx is not None:
                return ctx
            hierarchy = self.hierarchy(who.ca_id, who.region)
            leaf_key = self._leaf_key(hierarchy)
            server = hierarchy.issue_server(
                who.hosts, now=who.valid_till - timedelta(days=who.days), days=who.days, key=leaf_key
            )
            servers = self.directory / "servers"
            servers.mkdir(parents=True, exist_ok=True)
            stem = _file_stem(who)
            cert_path, key_path = servers / f"{stem}.crt", servers / f"{stem}.key"
            server.write(cert_path, key_path)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert_path, key_path)
            self._contexts = {k: v for k, v in self._contexts.items() if k.key != who.key}
            self._contexts[who] = ctx
            return ctx

    def _leaf_key(self, hierarchy: pki.Hierarchy) -> pki.PrivateKey:
        """One leaf key per key family: a server certificate costs a signature, not a key."""
        kind = type(hierarchy.intermediate.key).__name__
        key = self._leaf_keys.get(kind)
        if key is None:
            key = pki._new_key(hierarchy.intermediate.key)
            self._leaf_keys[kind] = key
        return key


def _listed(region: str) -> tuple[str, ...]:
    return tuple(c.ca_id for c in certificates.listed(region))


def _ca(cn: str, key_type: str, start: datetime, end: datetime, issuer: pki.Issued | None) -> pki.Issued:
    """A CA certificate (a root when `issuer` is None) built with pki's helpers."""
    key = pki._generate(key_type)
    name = pki._rds_name(cn)
    builder = (
        pki._base(name, issuer.cert.subject if issuer else name, key, start, (end - start).days)
        .add_extension(
            x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0), critical=True
        )
        .add_extension(pki._key_usage(ca=True), critical=True)
    )
    if issuer is not None:
        builder = builder.add_extension(pki._aki(issuer.key), critical=False)
    return pki._sign(builder, issuer.key if issuer else key, key)


def _pem(certs: Iterable[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _file_stem(who: ServerIdentity) -> str:
    safe = who.key.replace("/", "-")
    return f"{safe}.{who.ca_id}.{who.valid_till:%Y%m%dT%H%M%S}"
