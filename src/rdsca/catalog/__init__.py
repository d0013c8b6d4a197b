"""The catalogue of known RDS CA certificates, built from AWS's published trust bundles.

Certificates are recognised by key identifier and fingerprint, not by name alone. The bundles
shipped in `data/` are AWS's public files, unchanged; `load_catalog(extra=...)` adds a newer bundle
(for example a fresh download of global-bundle.pem, or a private test hierarchy) without a new
release of rdsca. An extra bundle's CA certificates are all learned, whatever their names: a
certificate with the key of a known CA joins that CA; an intermediate joins the CA of the root that
issued it (authority key identifier); a root named like AWS's (`... RSA2048 G2`) gets that CA id;
any other root is its own CA, named after its subject (`CN=Example Test Root` -> `example-test-root`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

BUNDLED_FILES = ("global-bundle-2025.pem", "global-bundle-2023.pem", "rds-combined-ca-bundle-2019.pem")

# (pattern on the subject CN, CA id, role). The region is the named group when there is one.
_NAME_RULES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"^Amazon RDS (?P<region>[a-z0-9-]+) Root CA RSA2048 G1$"), "rds-ca-rsa2048-g1", "root"),
    (re.compile(r"^Amazon RDS (?P<region>[a-z0-9-]+) Root CA RSA4096 G1$"), "rds-ca-rsa4096-g1", "root"),
    (re.compile(r"^Amazon RDS (?P<region>[a-z0-9-]+) Root CA ECC384 G1$"), "rds-ca-ecc384-g1", "root"),
    (
        re.compile(r"^Amazon RDS (?P<region>[a-z0-9-]+) Subordinate CA (RSA2048|RSA4096|ECC384) G1"),
        "",
        "intermediate",
    ),
    (re.compile(r"^Amazon RDS Root 2019 CA$"), "rds-ca-2019", "root"),
    (re.compile(r"^Amazon RDS (?P<region>[a-z0-9-]+) 2019 CA$"), "rds-ca-2019", "intermediate"),
    # Regions opened after 2019 got their own 2019-generation root.
    (re.compile(r"^Amazon RDS (?P<region>[a-z]{2}-[a-z]+-\d) Root CA$"), "rds-ca-2019", "root"),
    (re.compile(r"^Amazon RDS Root CA$"), "rds-ca-2015", "root"),
    (re.compile(r"^Amazon RDS (?P<region>[a-z]{2}-[a-z]+-\d) CA$"), "rds-ca-2015", "intermediate"),
)

_STAGES = ("Beta ", "Preview ")


@dataclass(frozen=True)
class KnownCA:
    """One certificate of an RDS CA hierarchy."""

    ca_id: str  # rds-ca-2015 | rds-ca-2019 | rds-ca-rsa2048-g1 | rds-ca-rsa4096-g1 | rds-ca-ecc384-g1
    region: str | None  # None for the global 2015 / 2019 roots
    role: str  # root | intermediate
    stage: str | None  # None for production; "beta" / "preview" for AWS's own test stages
    subject: str
    common_name: str
    key_identifier: str  # hex SubjectKeyIdentifier
    sha256: str  # hex fingerprint of the DER
    not_before: datetime
    not_after: datetime
    key: str  # RSA2048 | RSA4096 | ECC384 | ...


def key_description(cert: x509.Certificate) -> str:
    pub = cert.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        return f"RSA{pub.key_size}"
    if isinstance(pub, ec.EllipticCurvePublicKey):
        return f"ECC{pub.curve.key_size}"
    return type(pub).__name__


def key_identifier(cert: x509.Certificate) -> str:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        return ext.value.digest.hex()
    except x509.ExtensionNotFound:
        return x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest.hex()


def common_name(name: x509.Name) -> str:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = attrs[0].value if attrs else ""
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def classify(cert: x509.Certificate) -> KnownCA | None:
    """Name a certificate that looks like an RDS CA by its subject; None when it is not one."""
    cn = common_name(cert.subject)
    stage = None
    for prefix in _STAGES:
        if cn.startswith("Amazon RDS " + prefix):
            stage = prefix.strip().lower()
            cn_plain = cn.replace(prefix, "", 1)
            break
    else:
        cn_plain = cn
    for pattern, ca_id, role in _NAME_RULES:
        m = pattern.match(cn_plain)
        if not m:
            continue
        region = m.groupdict().get("region")
        issuer_cn = common_name(cert.issuer)
        if ca_id == "rds-ca-2015" and issuer_cn.endswith(" Root CA") and issuer_cn != "Amazon RDS Root CA":
            ca_id = "rds-ca-2019"  # regions opened after 2019: "<region> CA" under "<region> Root CA"
        if not ca_id:  # G1 subordinate: the family is in the name
            family = m.group(2).lower()
            ca_id = f"rds-ca-{family}-g1"
        return KnownCA(
            ca_id=ca_id,
            region=region,
            role=role,
            stage=stage,
            subject=cert.subject.rfc4514_string(),
            common_name=cn,
            key_identifier=key_identifier(cert),
            sha256=cert.fingerprint(hashes.SHA256()).hex(),
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            key=key_description(cert),
        )
    return None


def _from_pem(data: bytes) -> Iterable[KnownCA]:
    for cert in x509.load_pem_x509_certificates(data):
        known = classify(cert)
        if known is not None:
            yield known


_REGION = re.compile(r"(?<![a-z0-9-])([a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d)(?![a-z0-9-])")
_FAMILY = re.compile(r"\b(RSA|ECC)\s?(\d{3,4})\s+(G\d+)\b", re.I)


def _entry(cert: x509.Certificate, ca_id: str, region: str | None, role: str, stage: str | None) -> KnownCA:
    return KnownCA(
        ca_id=ca_id,
        region=region,
        role=role,
        stage=stage,
        subject=cert.subject.rfc4514_string(),
        common_name=common_name(cert.subject),
        key_identifier=key_identifier(cert),
        sha256=cert.fingerprint(hashes.SHA256()).hex(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key=key_description(cert),
    )


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except (x509.ExtensionNotFound, ValueError):
        return cert.subject == cert.issuer  # an old self-signed root without the extension


def _authority_key(cert: x509.Certificate) -> str | None:
    try:
        value = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    except (x509.ExtensionNotFound, ValueError):
        return None
    return value.key_identifier.hex() if value.key_identifier else None


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "private-ca"


def learn(certs: Sequence[x509.Certificate], known: Sequence[KnownCA] = ()) -> list[KnownCA]:
    """The CA certificates of an extra bundle, each with a CA id, recognised by key, issuer key
    and fingerprint; the name decides only when nothing else does (a label)."""
    by_key = {e.key_identifier: e for e in known if e.stage is None}
    out: list[KnownCA] = []
    roots_first = sorted((c for c in certs if _is_ca(c)), key=lambda c: c.subject != c.issuer)
    for cert in roots_first:
        ski = key_identifier(cert)
        named = classify(cert)
        self_signed = cert.subject == cert.issuer
        role = "root" if self_signed else "intermediate"
        if named is not None:
            entry = named
        elif ski in by_key:  # the key of a known CA: a re-issued certificate of it
            same = by_key[ski]
            entry = _entry(cert, same.ca_id, same.region, same.role, same.stage)
        elif not self_signed and _authority_key(cert) in by_key:  # issued by a known root
            issuer = by_key[str(_authority_key(cert))]
            entry = _entry(cert, issuer.ca_id, issuer.region, "intermediate", issuer.stage)
        else:
            subject = cert.subject.rfc4514_string()
            region_m = _REGION.search(subject)
            family = _FAMILY.search(common_name(cert.subject))
            if family:
                ca_id = f"rds-ca-{family.group(1).lower()}{family.group(2)}-{family.group(3).lower()}"
            else:
                ca_id = _slug(common_name(cert.subject) or subject)
            entry = _entry(cert, ca_id, region_m.group(1) if region_m else None, role, None)
        out.append(entry)
        by_key.setdefault(entry.key_identifier, entry)
    return out


@dataclass(frozen=True)
class Catalog:
    entries: tuple[KnownCA, ...]

    def by_sha256(self, fingerprint: str) -> KnownCA | None:
        fp = fingerprint.lower().replace(":", "")
        return next((e for e in self.entries if e.sha256 == fp), None)

    def by_key_identifier(self, ski: str) -> tuple[KnownCA, ...]:
        return tuple(e for e in self.entries if e.key_identifier == ski.lower())

    def identify(self, cert: x509.Certificate) -> KnownCA | None:
        """The catalogue entry for this certificate: same fingerprint, or same key and subject."""
        known = self.by_sha256(cert.fingerprint(hashes.SHA256()).hex())
        if known:
            return known
        subject = cert.subject.rfc4514_string()
        ski = key_identifier(cert)
        return next((e for e in self.by_key_identifier(ski) if e.subject == subject), None)

    def roots(self, ca_id: str, region: str | None = None) -> tuple[KnownCA, ...]:
        """Production roots of a CA id; for rds-ca-2019 the global root serves every region."""
        out = [e for e in self.entries if e.ca_id == ca_id and e.role == "root" and e.stage is None]
        if region is not None:
            regional = [e for e in out if e.region == region]
            out = regional or [e for e in out if e.region is None]
        return tuple(out)

    def validity(self, ca_id: str, region: str) -> tuple[datetime, datetime] | None:
        """(not_before, not_after) of the root a region uses for `ca_id`, when known."""
        roots = self.roots(ca_id, region)
        if not roots:
            return None
        newest = max(roots, key=lambda e: e.not_after)
        return newest.not_before, newest.not_after

    def regions(self, ca_id: str) -> tuple[str, ...]:
        return tuple(sorted({e.region for e in self.roots(ca_id) if e.region}))

    def ca_ids(self) -> tuple[str, ...]:
        return tuple(sorted({e.ca_id for e in self.entries}))


def _dedupe(entries: Iterable[KnownCA]) -> tuple[KnownCA, ...]:
    seen: dict[str, KnownCA] = {}
    for e in entries:
        seen.setdefault(e.sha256, e)
    return tuple(seen.values())


@cache
def _bundled() -> tuple[KnownCA, ...]:
    data_dir = resources.files("rdsca.catalog") / "data"
    entries: list[KnownCA] = []
    for name in BUNDLED_FILES:
        entries.extend(_from_pem((data_dir / name).read_bytes()))
    return _dedupe(entries)


def load_catalog(extra: Sequence[Path] = ()) -> Catalog:
    """The bundled catalogue, plus every CA certificate of the `extra` PEM bundles (see `learn`)."""
    entries = list(_bundled())
    for path in extra:
        entries.extend(learn(x509.load_pem_x509_certificates(Path(path).read_bytes()), entries))
    return Catalog(_dedupe(entries))


def fingerprint_sha256(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()
