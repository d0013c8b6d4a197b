"""The verdicts of a scan: each trust bundle file checked like `rdsca trust check` against the
target CA, each TLS setting judged by what it verifies and against which bundle.

A setting's verdict is one of will-break, ok, no-verification, plaintext-fallback, no-tls or
unknown; a bundle's one of ok, will-break, not-rds or unreadable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from rdsca.catalog import Catalog
from rdsca.readiness import settings_drivers as drv
from rdsca.readiness import trust_settings as ts
from rdsca.readiness.bundles import BundleError, parse_bundle, read_limited
from rdsca.readiness.trust_check import TRUSTED, TrustResult, evaluate
from rdsca.redaction import register_secret
from rdsca.words import count

OK = "ok"
WILL_BREAK = "will-break"
NO_VERIFICATION = ts.NO_VERIFICATION
FALLBACK = ts.FALLBACK
NO_TLS = ts.NO_TLS
UNKNOWN = "unknown"
NOT_RDS = "not-rds"  # a certificate file that holds no RDS CA and no setting names
UNREADABLE = "unreadable"

_OLD_BUNDLES = ("rds-combined-ca-bundle", "rds-ca-2019", "rds-ca-2015")


@dataclass(frozen=True)
class BundleFinding:
    path: str
    verdict: str  # ok | will-break | not-rds | unreadable
    detail: str
    format: str | None = None
    certificates: int = 0
    rds_certificates: int = 0
    warnings: tuple[str, ...] = ()
    referenced_by: tuple[str, ...] = ()  # "file:line" of the settings that name it


@dataclass(frozen=True)
class SettingFinding:
    setting: ts.Setting
    verdict: str
    detail: str
    bundle: str | None = None  # the bundle file it resolved to, relative to the root


class Checker:
    """Checks bundle files once each and judges settings against them."""

    def __init__(
        self,
        base: Path,
        ca_id: str,
        regions: tuple[str | None, ...],
        now: datetime,
        cat: Catalog,
        max_bundle_bytes: int,
        password: str | None = None,
    ) -> None:
        self.base = base.resolve()
        self.ca_id, self.regions, self.now, self.cat = ca_id, regions, now, cat
        self.max_bundle_bytes = max_bundle_bytes
        self.password = password  # given by the user for keystores the tree says nothing about
        self.tried: set[tuple[str, str]] = set()  # (bundle, password) pairs already tried
        self.results: dict[str, TrustResult | str] = {}  # rel path -> result or error text
        self.listed: list[str] = []
        self.refs: dict[str, list[str]] = {}

    def check(self, rel: str, password: str | None = None) -> TrustResult | str:
        """Check a bundle once; a keystore that did not open is tried again with a password found
        beside a setting that names it (or the one given to the scan)."""
        if rel not in self.results:
            self.listed.append(rel)
            self.results[rel] = self._read(rel, None)
            if isinstance(self.results[rel], str) and self.password is not None:
                self._retry(rel, self.password)
        if password is not None:
            self._retry(rel, password)
        return self.results[rel]

    def _connector_j_2(self, s: ts.Setting) -> SettingFinding | None:
        """MariaDB Connector/J before 3.0 has no sslMode option and ignores unknown options: a
        tree that pins 2.x connects without TLS (seen by the real-client matrix with 2.7.6, whose
        DefaultOptions list useSsl, trustServerCertificate, serverSslCert and no sslMode)."""
        if s.client != drv.MARIADB_J or not s.mode.lower().startswith("sslmode="):
            return None
        pin = drv.mariadb_j_version(self.base, s.path)
        if pin is None or (drv.major(pin[0]) or 3) >= 3:
            return None
        version, where = pin
        return SettingFinding(
            s,
            NO_TLS,
            f"MariaDB Connector/J {version} ({where}) has no sslMode option (added in 3.0): it ignores "
            "it and connects without TLS; use useSsl=true with serverSslCert, or Connector/J 3",
        )

    def _retry(self, rel: str, password: str) -> None:
        if not isinstance(self.results[rel], str) or (rel, password) in self.tried:
            return
        self.tried.add((rel, password))
        result = self._read(rel, password)
        self.results[rel] = result if isinstance(result, TrustResult) else self.results[rel]

    def _read(self, rel: str, password: str | None) -> TrustResult | str:
        try:
            data = read_limited(self.base / rel, self.max_bundle_bytes)
            bundle = parse_bundle(data, rel, password=password, catalog=self.cat)
            return evaluate(bundle, self.ca_id, self.regions, now=self.now, catalog=self.cat)
        except BundleError as exc:
            return _password_hint(str(exc))

    def judge(self, s: ts.Setting) -> SettingFinding:
        register_secret(s.password)  # a keystore password read from the tree: never in a log line
        pinned = self._connector_j_2(s)
        if pinned is not None:
            return pinned
        if s.category == ts.NO_TLS:
            return SettingFinding(s, NO_TLS, s.note or "TLS is off: not affected by the CA")
        if s.category == ts.NO_VERIFICATION:
            return SettingFinding(
                s, NO_VERIFICATION, s.note or "encrypts but accepts any certificate: a risk of another kind"
            )
        if s.category == ts.SYSTEM_STORE:
            return SettingFinding(s, WILL_BREAK, s.note)
        rel = self.resolve(s.ca_ref, s.path) if s.ca_ref else None
        if s.category == ts.FALLBACK and s.ca_ref is None:
            return SettingFinding(s, FALLBACK, s.note or "falls back to plaintext when TLS fails")
        if s.ca_ref is None:
            return SettingFinding(s, UNKNOWN, _default_store(s))
        if rel is None:
            return SettingFinding(s, UNKNOWN, _not_found(s.ca_ref))
        self.refs.setdefault(rel, []).append(f"{s.path}:{s.line}")
        result = self.check(rel, s.password)
        if isinstance(result, str):
            return SettingFinding(s, UNKNOWN, f"{rel} cannot be read: {result}", rel)
        verdict, detail = _bundle_verdict(result)
        if s.category == ts.FALLBACK and verdict != OK:
            # A client that verifies, then falls back: it reaches plaintext only where the server
            # admits plaintext, and RDS for PostgreSQL 15+ does not by default (see trust_settings).
            return SettingFinding(s, WILL_BREAK, f"{rel}: {detail}; {s.note}. {_FALLBACK_EVIDENCE}", rel)
        return SettingFinding(
            s,
            OK if verdict == OK else WILL_BREAK,
            f"{rel}: {detail}" + (f" ({s.note})" if s.note else ""),
            rel,
        )

    def resolve(self, ref: str, from_file: str) -> str | None:
        """The bundle file a setting names, looked up inside the scanned tree only."""
        value = ref.strip().strip("\"'")
        for prefix in ("file://", "file:"):
            if value.startswith(prefix):
                value = value[len(prefix) :]
        candidates = []
        if "$" not in value and "{" not in value and not value.startswith("~"):
            if value.startswith("/"):
                candidates.append(self.base / value.lstrip("/"))
            else:
                candidates += [self.base / from_file / ".." / value, self.base / value]
        for cand in candidates:
            try:
                real = cand.resolve()
            except OSError:
                continue
            if real.is_relative_to(self.base) and real.is_file():
                return real.relative_to(self.base).as_posix()
        name = PurePosixPath(value.replace("\\", "/")).name
        matches = [r for r in self.results if PurePosixPath(r).name == name]
        return matches[0] if len(matches) == 1 else None

    def bundle_findings(self) -> tuple[BundleFinding, ...]:
        return tuple(self._finding(rel) for rel in self.listed)

    def _finding(self, rel: str) -> BundleFinding:
        result = self.results[rel]
        refs = tuple(self.refs.get(rel, ()))
        if isinstance(result, str):
            return BundleFinding(rel, UNREADABLE, result, referenced_by=refs)
        certs = result.bundle.certificates
        rds = sum(1 for c in certs if c.rds is not None)
        verdict, detail = _bundle_verdict(result)
        if verdict != OK and rds == 0 and not refs:
            verdict, detail = NOT_RDS, "no RDS CA certificate in it"
        return BundleFinding(
            rel,
            verdict,
            detail,
            result.bundle.format,
            len(certs),
            rds,
            tuple(w.message for w in result.warnings),
            refs,
        )


def _bundle_verdict(result: TrustResult) -> tuple[str, str]:
    n = len(result.regions)
    if result.trusted:
        return OK, f"trusts {result.ca_id} in all {count(n, 'region')}"
    bad = [r for r in result.regions if r.status != TRUSTED]
    statuses = "/".join(sorted({r.status for r in bad}))
    if len(bad) == n:
        return WILL_BREAK, f"does not trust {result.ca_id} in any of {count(n, 'region')} ({statuses})"
    names = ", ".join(r.region or "global" for r in bad[:4]) + (" ..." if len(bad) > 4 else "")
    regions = count(n, "region")
    return WILL_BREAK, f"does not trust {result.ca_id} in {len(bad)} of {regions} ({statuses}: {names})"


_FALLBACK_EVIDENCE = (
    "Would be a plaintext fallback, not a failure, only where the server admits plaintext: "
    "evidence is a plaintext session (rdsca readiness --sessions-dsn) or rds.force_ssl=0 / "
    "require_secure_transport=OFF in the instance's parameter group"
)
_JVM_DEFAULT = (
    "no trust store named: the JVM's default (javax.net.ssl.trustStore, else the JDK's cacerts, "
    "which holds no RDS root unless added; check it with rdsca trust check)"
)


def _default_store(s: ts.Setting) -> str:
    if s.store == "custom" or (s.note and s.store != "jvm"):
        return s.note or "no CA file named: the client's default trust store"
    if s.store == "jvm":
        return _JVM_DEFAULT + (f"; {s.note}" if s.note else "")
    return {
        "libpq": "no sslrootcert: libpq reads ~/.postgresql/root.crt (or PGSSLROOTCERT)",
        "pgjdbc": "no sslrootcert: pgjdbc reads ~/.postgresql/root.crt (%APPDATA%\\postgresql\\root.crt "
        "on Windows)",
        "jdbc": _JVM_DEFAULT,
        "java": _JVM_DEFAULT,
        "mysql": "no CA file named: check the client's option files (my.cnf ssl-ca)",
        "node": "no ca given: Node's built-in CAs hold no RDS root",
    }.get(s.client, "no CA file named: the client's default trust store")


def _password_hint(message: str) -> str:
    """A keystore that would not open: say what evidence is missing, in one way for every reader."""
    if "wrong password" not in message:
        return message
    return (
        f"{message.split(':', 1)[0]}: password needed: no password beside it in the tree opens it "
        "(trustStorePassword=, trustCertificateKeyStorePassword=); pass --password-env VAR"
    )


def _not_found(ref: str) -> str:
    shown = ref if len(ref) <= 200 else f"{ref[:120]}...{ref[-60:]} ({len(ref)} characters)"
    text = f"{shown} is not in the scanned tree"
    if any(old in ref for old in _OLD_BUNDLES):
        text += "; that is the name of an old AWS bundle without the G1 roots: likely to break"
    return text
