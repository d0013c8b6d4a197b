"""Java truststores (PKCS#12 holding only trusted certificates) written for tests.

cryptography writes them from version 45 (`pkcs12.serialize_java_truststore`). On older versions
(the minimum-versions job pins cryptography 42) the same certificates are written as a PKCS#12's
plain certificate bags: rdsca reads both the same way, though Java would not take the second kind
as trust anchors (it wants its trusted-key-usage attribute). keytool could write the Java kind but
starts a JVM per certificate: a minute for AWS's bundle.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12


def write_p12_truststore(
    path: Path, certs: Sequence[x509.Certificate], password: str, alias: str = "ca"
) -> Path:
    """Write `certs` as entries `<alias>0`, `<alias>1`... of a password-protected PKCS#12 store."""
    path.parent.mkdir(parents=True, exist_ok=True)
    encryption = serialization.BestAvailableEncryption(password.encode())
    if hasattr(pkcs12, "serialize_java_truststore"):
        entries = [pkcs12.PKCS12Certificate(c, f"{alias}{i}".encode()) for i, c in enumerate(certs)]
        path.write_bytes(pkcs12.serialize_java_truststore(entries, encryption))
    else:
        bags = [pkcs12.PKCS12Certificate(c, f"{alias}{i}".encode()) for i, c in enumerate(certs)]
        path.write_bytes(pkcs12.serialize_key_and_certificates(None, None, None, bags, encryption))
    return path
