"""Pure functions on a presented certificate chain: describe it, name the RDS CA it chains to,
and decide whether a client holding a given trust bundle would accept it.

Nothing here does I/O or reads the clock: `now` is a parameter. The probe (`probe.py`) feeds these
functions what a server presented; `rdsca readiness` can feed them a chain seen earlier.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization

from rdsca.catalog import Catalog, KnownCA, classify, common_name, key_description

_MAX_PATH = 8


@dataclass(frozen=True)
class CertInfo:
    """One certificate of a presented chain, as rdsca reports it."""

    subject: str
    issuer: str
    common_name: str
    serial: str
    not_before: datetime
    not_after: datetime
    sha256: str
    key: str
    key_identifier: str | None
    authority_key_identifier: str | None
    names: tuple[str, ...]  # subjectAltName DNS names and IP addresses
    is_ca: bool
    self_signed: bool
    rds: KnownCA | None  # this very certificate is a known RDS CA (fingerprint or key + subject)
    der: bytes = field(repr=False, compare=False)

    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.der)


@dataclass(frozen=True)
class RdsMatch:
    """Which RDS CA a chain leads to, and how we know."""

    ca_id: str | None  # rds-ca-rsa2048-g1, rds-ca-2019, ... ; None when not recognised
    region: str | None
    matched_by: str  # fingerprint | key-identifier | authority-key-identifier | name-only | none
    anchor: str | None  # subject of the known RDS certificate the chain reaches
    detail: str


@dataclass(frozen=True)
class TrustBundle:
    """The CA certificates a client trusts (a PEM file, a keystore...), with a label for reports."""

    label: str
    certs: tuple[x509.Certificate, ...]

    def cadata(self) -> str:
        return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in self.certs)


@dataclass(frozen=True)
class TrustVerdict:
    """Would a client with this bundle and hostname verification accept this chain?"""

    trusted: bool
    reason: str
    anchor: str | None = None  # subject of the bundle certificate the path ends at
    path: tuple[str, ...] = ()  # common names from the leaf to the anchor


def describe(der: bytes, catalog: Catalog | None = None) -> CertInfo:
    cert = x509.load_der_x509_certificate(der)
    ski = _ski(cert)
    return CertInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        common_name=common_name(cert.subject),
        serial=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        sha256=cert.fingerprint(hashes.SHA256()).hex(),
        key=key_description(cert),
        key_identifier=ski,
        authority_key_identifier=_aki(cert),
        names=_san(cert),
        is_ca=_is_ca(cert),
        self_signed=cert.subject == cert.issuer,
        rds=catalog.identify(cert) if catalog is not None else None,
        der=der,
    )


def identify_chain(chain: Sequence[CertInfo], catalog: Catalog) -> RdsMatch:
    """The RDS CA a chain belongs to, recognised by fingerprint or key identifier, never by name."""
    for info in reversed(chain):  # the top of the chain first: root, then intermediate
        if info.rds is not None:
            how = "fingerprint" if info.rds.sha256 == info.sha256 else "key-identifier"
            return _match(info.rds, how, f"the server sent the known RDS CA {info.rds.common_name!r}")
    if chain:
        top = chain[-1]
        if top.authority_key_identifier:
            issuers = [
                e for e in catalog.by_key_identifier(top.authority_key_identifier) if e.subject == top.issuer
            ]
            if issuers:
                known = issuers[0]
                detail = f"{top.common_name!r} is issued by the known RDS CA {known.common_name!r}"
                return _match(known, "authority-key-identifier", detail)
        for info in reversed(chain):
            look = classify(info.certificate())
            if look is not None:
                return RdsMatch(
                    None,
                    look.region,
                    "name-only",
                    None,
                    f"{info.common_name!r} is named like {look.ca_id} but its key is not a known "
                    "RDS CA: not AWS's certificate (a sandbox or test CA, or an interception proxy)",
                )
    return RdsMatch(None, None, "none", None, "the chain does not lead to a known RDS CA")


def _match(known: KnownCA, how: str, detail: str) -> RdsMatch:
    return RdsMatch(known.ca_id, known.region, how, known.subject, detail)


def assess_trust(
    chain: Sequence[x509.Certificate],
    bundle: Sequence[x509.Certificate],
    *,
    hostname: str | None,
    now: datetime,
) -> TrustVerdict:
    """Decide as an OpenSSL-based client (libpq, mysql, Python) with `bundle` as its CA file would.

    The path runs from the leaf through the certificates the server sent to a self-signed
    certificate of the bundle; each link is checked by issuer name and signature, each certificate
    for validity at `now`, and the leaf for `hostname` when one is given.
    """
    if not chain:
        return TrustVerdict(False, "the server presented no certificate")
    leaf = chain[0]
    if hostname and not hostname_matches(leaf, hostname):
        names = ", ".join(_san(leaf)) or common_name(leaf.subject)
        return TrustVerdict(False, f"hostname mismatch: {hostname!r} is not one of ({names})")
    trusted_fps = {c.fingerprint(hashes.SHA256()) for c in bundle}
    pool = list(chain[1:])
    current, path = leaf, [common_name(leaf.subject)]
    for _ in range(_MAX_PATH):
        expired = _validity_problem(current, now)
        if expired:
            return TrustVerdict(False, expired, None, tuple(path))
        if current.fingerprint(hashes.SHA256()) in trusted_fps and _is_self_signed(current):
            return TrustVerdict(True, "chains to a root in the bundle", _subj(current), tuple(path))
        anchor = _issuer_in(current, bundle)
        if anchor is not None:
            path.append(common_name(anchor.subject))
            expired = _validity_problem(anchor, now)
            if expired:
                return TrustVerdict(False, f"{expired} (in the bundle)", _subj(anchor), tuple(path))
            if _is_self_signed(anchor):
                return TrustVerdict(True, "chains to a root in the bundle", _subj(anchor), tuple(path))
            current = anchor  # the bundle holds an intermediate: its root must be there too
            continue
        nxt = _issuer_in(current, pool)
        if nxt is None:
            return TrustVerdict(False, _missing_issuer(current, bundle), None, tuple(path))
        pool.remove(nxt)
        path.append(common_name(nxt.subject))
        current = nxt
    return TrustVerdict(False, "the chain is too long or loops", None, tuple(path))


def _missing_issuer(cert: x509.Certificate, bundle: Sequence[x509.Certificate]) -> str:
    aki = _aki(cert)
    key = f", key id {aki[:16]}" if aki else ""
    head = (
        f"unknown CA: the bundle does not hold the issuer of {common_name(cert.subject)!r} "
        f"({common_name(cert.issuer)!r}{key})"
    )
    if any(c.subject == cert.issuer for c in bundle):
        return f"{head}; it holds a certificate with that name but another key"
    names = sorted({common_name(c.subject) for c in bundle})
    if len(names) <= 3:
        return f"{head}; it holds {', '.join(repr(n) for n in names) or 'nothing'}"
    return f"{head}; none of its {len(bundle)} certificates is"


def _issuer_in(cert: x509.Certificate, candidates: Sequence[x509.Certificate]) -> x509.Certificate | None:
    aki = _aki(cert)
    for cand in candidates:
        if cand.subject != cert.issuer:
            continue
        ski = _ski(cand)
        if aki and ski and aki != ski:
            continue
        try:
            cert.verify_directly_issued_by(cand)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return cand
    return None


def _validity_problem(cert: x509.Certificate, now: datetime) -> str | None:
    name = common_name(cert.subject)
    if now > cert.not_valid_after_utc:
        return f"{name!r} expired on {cert.not_valid_after_utc:%Y-%m-%d}"
    if now < cert.not_valid_before_utc:
        return f"{name!r} is not valid before {cert.not_valid_before_utc:%Y-%m-%d}"
    return None


def hostname_matches(cert: x509.Certificate, hostname: str) -> bool:
    """RFC 6125 matching as OpenSSL does it: SAN first; the CN only when there is no SAN."""
    try:
        ip = ipaddress.ip_address(hostname)
    except ValueError:
        ip = None
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ip is None and _dns_match(common_name(cert.subject), hostname)
    if ip is not None:
        return ip in san.get_values_for_type(x509.IPAddress)
    return any(_dns_match(p, hostname) for p in san.get_values_for_type(x509.DNSName))


def _dns_match(pattern: str, hostname: str) -> bool:
    pattern, hostname = pattern.lower().rstrip("."), hostname.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = hostname.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == hostname


def _subj(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()


def _is_self_signed(cert: x509.Certificate) -> bool:
    if cert.subject != cert.issuer:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _ski(cert: x509.Certificate) -> str | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest.hex()
    except x509.ExtensionNotFound:
        return None


def _aki(cert: x509.Certificate) -> str | None:
    try:
        value = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    except x509.ExtensionNotFound:
        return None
    return value.key_identifier.hex() if value.key_identifier else None


def _san(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(san.get_values_for_type(x509.DNSName)) + tuple(
        str(a) for a in san.get_values_for_type(x509.IPAddress)
    )


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False
