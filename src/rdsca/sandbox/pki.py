"""RDS-like certificate hierarchies (root -> intermediate -> server leaf), generated locally.

Two generations, named like AWS's: the "old" one mirrors rds-ca-2019 (`Amazon RDS Root 2019 CA`
-> `Amazon RDS <region> 2019 CA`), the "new" one rds-ca-rsa2048-g1 (`Amazon RDS <region> Root CA
RSA2048 G1` -> `Amazon RDS <region> Subordinate CA RSA2048 G1.A.1`). The keys are ours, so rdsca's
catalogue (which recognises AWS's CAs by key identifier and fingerprint) does not mistake them for
AWS's; add `Hierarchy.ca_pem()` to it as an extra bundle to have them recognised.

Every certificate carries what strict X.509 verification expects: BasicConstraints, KeyUsage,
SubjectKeyIdentifier / AuthorityKeyIdentifier, and for the leaf a SubjectAlternativeName and the
serverAuth extended key usage. Pure `cryptography`: importable without moto.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

Generation = Literal["old", "new"]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

DEFAULT_HOSTS = ("localhost", "127.0.0.1")


@dataclass(frozen=True)
class Issued:
    """One certificate and its private key."""

    cert: x509.Certificate
    key: PrivateKey

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


@dataclass(frozen=True)
class ServerCert:
    """A leaf and the intermediate a server sends with it."""

    leaf: Issued
    intermediate: Issued

    def chain_pem(self) -> bytes:
        """What a server's certificate file holds: leaf first, then the intermediate."""
        return self.leaf.cert_pem() + self.intermediate.cert_pem()

    def key_pem(self) -> bytes:
        return self.leaf.key_pem()

    def write(self, cert_path: Path, key_path: Path) -> None:
        """Write the chain and the key (mode 0600, as servers demand), each atomically."""
        _write(cert_path, self.chain_pem(), 0o644)
        _write(key_path, self.key_pem(), 0o600)


@dataclass(frozen=True)
class Hierarchy:
    generation: Generation
    region: str
    root: Issued
    intermediate: Issued

    def root_pem(self) -> bytes:
        return self.root.cert_pem()

    def ca_pem(self) -> bytes:
        """Root and intermediate, for a catalogue of known CAs."""
        return self.root.cert_pem() + self.intermediate.cert_pem()

    def issue_server(
        self,
        hosts: Sequence[str] = DEFAULT_HOSTS,
        *,
        now: datetime,
        days: int = 365,
        key: PrivateKey | None = None,
    ) -> ServerCert:
        """A server certificate for `hosts` (DNS names or IP addresses); the first is the CN."""
        leaf_key = key or _new_key(self.intermediate.key)
        names: list[x509.GeneralName] = []
        for h in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(h)))
            except ValueError:
                names.append(x509.DNSName(h))
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
        builder = (
            _base(subject, self.intermediate.cert.subject, leaf_key, now, days)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(ca=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(_aki(self.intermediate.key), critical=False)
        )
        return ServerCert(_sign(builder, self.intermediate.key, leaf_key), self.intermediate)


def make_hierarchy(
    generation: Generation,
    *,
    now: datetime,
    region: str = "us-east-1",
    key_type: Literal["rsa2048", "ecc384", "ecc256"] = "rsa2048",
) -> Hierarchy:
    """A root and one intermediate named like AWS's `generation` of RDS CAs."""
    root_cn, int_cn = _names(generation, region, key_type)
    root_key = _generate(key_type)
    root_name = _rds_name(root_cn)
    root_builder = (
        _base(root_name, root_name, root_key, now - timedelta(days=30), 40 * 365)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
    )
    root = _sign(root_builder, root_key, root_key)
    int_key = _generate(key_type)
    int_builder = (
        _base(_rds_name(int_cn), root_name, int_key, now - timedelta(days=30), 20 * 365)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(_aki(root_key), critical=False)
    )
    intermediate = _sign(int_builder, root_key, int_key)
    return Hierarchy(generation, region, root, intermediate)


def _names(generation: Generation, region: str, key_type: str) -> tuple[str, str]:
    if generation == "old":
        return "Amazon RDS Root 2019 CA", f"Amazon RDS {region} 2019 CA"
    family = {"rsa2048": "RSA2048", "ecc384": "ECC384", "ecc256": "ECC384"}[key_type]
    return (
        f"Amazon RDS {region} Root CA {family} G1",
        f"Amazon RDS {region} Subordinate CA {family} G1.A.1",
    )


def _rds_name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon Web Services, Inc."),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Amazon RDS"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "WA"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
            x509.NameAttribute(NameOID.LOCALITY_NAME, "Seattle"),
        ]
    )


def _generate(key_type: str) -> PrivateKey:
    if key_type == "rsa2048":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == "ecc384":
        return ec.generate_private_key(ec.SECP384R1())
    return ec.generate_private_key(ec.SECP256R1())


def _new_key(like: PrivateKey) -> PrivateKey:
    if isinstance(like, rsa.RSAPrivateKey):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _base(
    subject: x509.Name, issuer: x509.Name, key: PrivateKey, not_before: datetime, days: int
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=not ca,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _aki(issuer_key: PrivateKey) -> x509.AuthorityKeyIdentifier:
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key())


def _sign(builder: x509.CertificateBuilder, issuer_key: PrivateKey, key: PrivateKey) -> Issued:
    algorithm = hashes.SHA384() if isinstance(issuer_key, ec.EllipticCurvePrivateKey) else hashes.SHA256()
    return Issued(builder.sign(issuer_key, algorithm), key)


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
