"""Read a trust bundle in any common format and describe each certificate in it.

Formats: PEM (LF or CRLF, text between blocks, no final newline, PKCS#7 blocks), DER, PKCS#7
(.p7b, PEM or DER), Java keystores (JKS, JCEKS) and PKCS#12. Damage is reported, not raised, when
something usable remains: a truncated PEM block is named in `Bundle.notes` and the complete blocks
are still used. Input that holds no certificate at all raises `BundleError` (exit code 2).

Size: a trust bundle is small (AWS's global bundle is 165 KB, a whole JDK `cacerts` about 200 KB).
Files over `max_bytes` (10 MB by default) are refused from their size alone, before reading, so
a 50 MB log or dump costs neither time nor memory.
"""

from __future__ import annotations

import base64
import binascii
import re
import stat
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jks
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12

from rdsca.catalog import Catalog, KnownCA, classify, common_name, key_description, load_catalog
from rdsca.errors import ConfigError
from rdsca.files import read_input

MAX_BUNDLE_BYTES = 10 * 1024 * 1024
JKS_DEFAULT_PASSWORD = "changeit"

_CERT_LABELS = frozenset({"CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"})
_P7_LABELS = frozenset({"PKCS7", "CMS", "PKCS #7 SIGNED DATA"})
_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9 #]+)-----")
_END = re.compile(r"-----END ([A-Z0-9 #]+)-----")
_PKCS7_DATA_OID = bytes.fromhex("06092a864886f70d010701")


class BundleError(ConfigError):
    """A file that cannot be read as a trust bundle (bad input: exit code 2)."""


@dataclass(frozen=True)
class BundleCert:
    """One certificate of a bundle, with what the RDS catalogue knows about it."""

    index: int  # 1-based position in the bundle
    location: str  # where it is: "block 3 (line 41)", "alias rds-root", "certificate 2"
    subject: str
    issuer: str
    common_name: str
    kind: str  # root | intermediate | leaf
    sha256: str
    key_id: str  # SHA-1 of the public key (RFC 5280 method 1): what AWS puts in its SKIs
    authority_key_id: str | None
    not_before: datetime
    not_after: datetime
    key: str  # RSA2048 | ECC384 | ...
    rds: KnownCA | None  # the catalogue entry, matched by fingerprint or key identifier
    rds_lookalike: bool  # named like an RDS CA, but its key is not one of AWS's

    def expired(self, now: datetime) -> bool:
        return self.not_after < now


@dataclass(frozen=True)
class Bundle:
    source: str
    format: str  # pem | der | pkcs7 | jks | jceks | pkcs12
    certificates: tuple[BundleCert, ...]
    notes: tuple[str, ...] = ()  # damage met while reading: truncated or unreadable blocks


def read_bundle(
    source: Path | str | bytes,
    *,
    password: str | None = None,
    catalog: Catalog | None = None,
    max_bytes: int = MAX_BUNDLE_BYTES,
    name: str | None = None,
) -> Bundle:
    """Read a bundle from a path or from bytes; `name` labels bytes in messages."""
    if isinstance(source, bytes):
        data, label = source, name or "<bytes>"
        if len(data) > max_bytes:
            raise BundleError(_too_big(label, len(data), max_bytes))
    else:
        data, label = read_limited(Path(source), max_bytes), name or str(source)
    return parse_bundle(data, label, password=password, catalog=catalog)


def read_limited(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, refusing directories, FIFOs, devices, unreadable files and files over
    `max_bytes` (a FIFO would block and /dev/zero never end: neither is read)."""
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise BundleError(f"{path}: no such file") from exc
    except OSError as exc:
        raise BundleError(f"cannot read {path}: {exc.strerror}") from exc
    if stat.S_ISREG(info.st_mode) and info.st_size > max_bytes:
        raise BundleError(_too_big(str(path), info.st_size, max_bytes))
    return read_input(path, what="", limit=max_bytes, error=BundleError)


def _too_big(label: str, size: int, limit: int) -> str:
    return (
        f"{label} is {size / 1048576:.1f} MB, over the {limit / 1048576:.0f} MB limit for a trust "
        "bundle (AWS's global bundle is 165 KB): not read. Raise it with --max-size MB if it "
        "really is a bundle"
    )


def parse_bundle(
    data: bytes, source: str, *, password: str | None = None, catalog: Catalog | None = None
) -> Bundle:
    """Detect the format of `data` and read its certificates."""
    cat = catalog or load_catalog()
    if not data.strip():
        raise BundleError(f"{source} is empty: no certificate in it")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fmt, found, notes = _read_any(data, source, password)
    with warnings.catch_warnings():  # odd but readable certificates (negative serials...)
        warnings.simplefilter("ignore")
        certs = tuple(_describe(i + 1, loc, cert, cat) for i, (loc, cert) in enumerate(found))
    return Bundle(source=source, format=fmt, certificates=certs, notes=tuple(notes))


def read_certificates(
    data: bytes, source: str, *, password: str | None = None
) -> tuple[str, list[x509.Certificate]]:
    """(format, certificates) of any bundle format `parse_bundle` reads, for a TLS context."""
    if not data.strip():
        raise BundleError(f"{source} is empty: no certificate in it")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fmt, found, _notes = _read_any(data, source, password)
    return fmt, [cert for _loc, cert in found]


def _read_any(data: bytes, source: str, password: str | None) -> tuple[str, Found, list[str]]:
    if b"-----BEGIN " in data:
        return "pem", *_read_pem(data, source)
    if data[:4] in (b"\xfe\xed\xfe\xed", b"\xce\xce\xce\xce"):
        return _read_java_keystore(data, source, password)
    if data[:1] == b"\x30":
        return _read_der(data, source, password)
    raise BundleError(_not_a_bundle(source, data))


def _not_a_bundle(source: str, data: bytes) -> str:
    return (
        f"{source} is not a certificate bundle: no PEM block, and not DER, PKCS#7, JKS/JCEKS or "
        f"PKCS#12 (first bytes: {data[:8].hex(' ')})"
    )


Found = list[tuple[str, x509.Certificate]]


def _read_pem(data: bytes, source: str) -> tuple[Found, list[str]]:
    """Certificates of every complete PEM block; notes for truncated or unreadable ones."""
    found: Found = []
    notes: list[str] = []
    block = 0
    label: str | None = None
    start = 0
    body: list[str] = []
    for lineno, raw in enumerate(data.decode("latin-1").splitlines(), start=1):
        line = raw.strip()
        begin = _BEGIN.search(line)
        if begin:
            if label is not None:
                notes.append(_truncated(block, start, label))
            block, label, start, body = block + 1, begin.group(1), lineno, []
            continue
        if label is None:
            continue  # text between blocks
        end = _END.search(line)
        if end:
            _decode_block(found, notes, block, start, label, "".join(body))
            label = None
        else:
            body.append(line)
    if label is not None:
        notes.append(_truncated(block, start, label))
    if not found:
        detail = "; ".join(notes) if notes else "its PEM blocks hold no certificate"
        raise BundleError(f"{source}: no readable certificate ({detail})")
    return found, notes


def _truncated(block: int, line: int, label: str) -> str:
    return f"PEM block {block} ({label}, line {line}) has no END line: truncated, ignored"


def _decode_block(found: Found, notes: list[str], block: int, line: int, label: str, text: str) -> None:
    where = f"block {block} (line {line})"
    if label not in _CERT_LABELS and label not in _P7_LABELS:
        notes.append(f"PEM {where} is a {label}, not a certificate: skipped")
        return
    try:
        der = base64.b64decode(text, validate=True)
        if label in _P7_LABELS:
            for n, cert in enumerate(pkcs7.load_der_pkcs7_certificates(der), start=1):
                found.append((f"{where} #{n}", cert))
            return
        if label == "TRUSTED CERTIFICATE":  # OpenSSL: the certificate, then trust settings
            der = der[: _der_length(der)]
        found.append((where, x509.load_der_x509_certificate(der)))
    except (binascii.Error, ValueError) as exc:
        notes.append(f"PEM {where} is damaged ({_short(exc)}): ignored")


def _der_length(der: bytes) -> int:
    """Total length of the first DER element (tag, length, value)."""
    if len(der) < 2:
        return len(der)
    first = der[1]
    if first < 0x80:
        return 2 + first
    n = first & 0x7F
    return 2 + n + int.from_bytes(der[2 : 2 + n], "big")


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


def _read_der(data: bytes, source: str, password: str | None) -> tuple[str, Found, list[str]]:
    try:
        return "der", [("certificate 1", x509.load_der_x509_certificate(data))], []
    except ValueError:
        pass
    try:
        certs = pkcs7.load_der_pkcs7_certificates(data)
        return "pkcs7", [(f"certificate {i}", c) for i, c in enumerate(certs, 1)], []
    except ValueError:
        pass
    if _looks_like_pkcs12(data):
        return _read_pkcs12(data, source, password)
    raise BundleError(_not_a_bundle(source, data))


def _looks_like_pkcs12(data: bytes) -> bool:
    """PFX: SEQUENCE { INTEGER 3, ContentInfo { id-data ... } ... }."""
    head = data[: 2 + (data[1] & 0x7F if data[1:2] and data[1] >= 0x80 else 0)]
    rest = data[len(head) : len(head) + 40]
    return rest.startswith(b"\x02\x01\x03") and _PKCS7_DATA_OID in rest


def _read_pkcs12(data: bytes, source: str, password: str | None) -> tuple[str, Found, list[str]]:
    tries: list[bytes | None] = [password.encode()] if password is not None else [None, b""]
    for pw in tries:
        try:
            p12 = pkcs12.load_pkcs12(data, pw)
        except ValueError:
            continue
        found: Found = []
        if p12.cert is not None:
            found.append((_p12_label(p12.cert, 1), p12.cert.certificate))
        for item in p12.additional_certs:
            found.append((_p12_label(item, len(found) + 1), item.certificate))
        if not found:
            raise BundleError(f"{source}: the PKCS#12 file holds no certificate")
        return "pkcs12", found, []
    hint = "" if password is not None else " (none given; Java truststores often use 'changeit')"
    raise BundleError(
        f"cannot open PKCS#12 file {source}: wrong password or damaged file{hint}. "
        "Give the password with --password-env VAR or --password-file FILE"
    )


def _p12_label(item: pkcs12.PKCS12Certificate, n: int) -> str:
    if item.friendly_name:
        return "alias " + item.friendly_name.decode("utf-8", "replace")
    return f"certificate {n}"


def _read_java_keystore(data: bytes, source: str, password: str | None) -> tuple[str, Found, list[str]]:
    kind = "jks" if data[:4] == b"\xfe\xed\xfe\xed" else "jceks"
    given = password if password is not None else JKS_DEFAULT_PASSWORD
    try:
        store = jks.KeyStore.loads(data, given, try_decrypt_keys=False)
    except jks.util.KeystoreSignatureException as exc:
        which = "the password given" if password is not None else "the default password 'changeit'"
        raise BundleError(
            f"cannot open {kind.upper()} keystore {source}: wrong password (the integrity check "
            f"failed with {which}). Give it with --password-env VAR or --password-file FILE"
        ) from exc
    except Exception as exc:  # pyjks raises struct, value and its own errors on damaged files
        raise BundleError(f"{source}: damaged {kind.upper()} keystore ({_short(exc)})") from exc
    found: Found = []
    notes: list[str] = []
    for alias, entry in sorted(store.entries.items()):
        ders: list[bytes] = []
        if isinstance(entry, jks.TrustedCertEntry):
            ders = [entry.cert]
        elif isinstance(entry, jks.PrivateKeyEntry):
            ders = [der for _type, der in entry.cert_chain]
        else:
            notes.append(f"entry {alias!r} is a secret key: skipped")
        for der in ders:
            try:
                found.append((f"alias {alias}", x509.load_der_x509_certificate(der)))
            except ValueError as exc:
                notes.append(f"entry {alias!r} holds a damaged certificate ({_short(exc)})")
    if not found:
        raise BundleError(f"{source}: the {kind.upper()} keystore holds no certificate")
    return kind, found, notes


def _key_id(cert: x509.Certificate) -> str:
    return x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest.hex()


def _authority_key_id(cert: x509.Certificate) -> str | None:
    try:
        ext = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    except (x509.ExtensionNotFound, ValueError):
        return None
    return ext.value.key_identifier.hex() if ext.value.key_identifier else None


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except (x509.ExtensionNotFound, ValueError):
        return False


def _kind(cert: x509.Certificate, key_id: str, aki: str | None) -> str:
    self_issued = cert.subject == cert.issuer and (aki is None or aki == key_id)
    if self_issued:
        return "root"
    return "intermediate" if _is_ca(cert) else "leaf"


def _describe(index: int, location: str, cert: x509.Certificate, cat: Catalog) -> BundleCert:
    key_id = _key_id(cert)
    aki = _authority_key_id(cert)
    known = _identify(cert, key_id, cat)
    return BundleCert(
        index=index,
        location=location,
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        common_name=common_name(cert.subject),
        kind=_kind(cert, key_id, aki),
        sha256=cert.fingerprint(hashes.SHA256()).hex(),
        key_id=key_id,
        authority_key_id=aki,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key=key_description(cert),
        rds=known,
        rds_lookalike=known is None and classify(cert) is not None,
    )


def _identify(cert: x509.Certificate, key_id: str, cat: Catalog) -> KnownCA | None:
    """Same fingerprint, or the same key as a catalogued certificate (a re-issued CA)."""
    known = cat.by_sha256(cert.fingerprint(hashes.SHA256()).hex())
    if known is not None:
        return known
    same_key = cat.by_key_identifier(key_id)
    return same_key[0] if same_key else None
