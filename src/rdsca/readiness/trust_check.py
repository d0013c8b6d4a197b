"""Will a client that verifies against this bundle trust servers of an RDS CA in a region?

A client verifies the server's chain up to a certificate it trusts. For an RDS server that
anchor must be the region's root of the instance's CA. A bundle certificate anchors the chain
when it *is* that root: same SHA-256 fingerprint, or the same key (key identifier), so a
re-issued root still counts and a look-alike with the right name but another key does not.
Names are only used to explain.

`evaluate` is pure (it takes `now`); `check_bundle` reads the file first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rdsca.catalog import Catalog, KnownCA, load_catalog
from rdsca.readiness.bundles import MAX_BUNDLE_BYTES, Bundle, BundleCert, read_bundle
from rdsca.words import count

RETIRED_CAS = frozenset({"rds-ca-2015", "rds-ca-2019"})

TRUSTED = "trusted"
EXPIRED = "expired-root"  # the root is there but expired: verification fails
PINNED = "intermediate-only"  # only an intermediate of the CA: fragile, and OpenSSL rejects it
MISSING = "missing"
UNKNOWN = "unknown-region"  # the catalogue knows no root of this CA for the region


@dataclass(frozen=True)
class TrustWarning:
    code: str  # pinned-intermediate | pinned-leaf | expired-root | expired-intermediate |
    # retired-only | retired-roots | keytool-first-only | lookalike | damaged
    message: str
    certificates: tuple[int, ...] = ()  # indexes into Bundle.certificates (1-based)


@dataclass(frozen=True)
class RegionTrust:
    region: str | None  # None: a CA with one global root (rds-ca-2015)
    status: str
    anchor: int | None  # index of the bundle certificate that anchors the chain
    detail: str


@dataclass(frozen=True)
class TrustResult:
    bundle: Bundle
    ca_id: str
    checked_at: datetime
    regions: tuple[RegionTrust, ...]
    warnings: tuple[TrustWarning, ...]

    @property
    def trusted(self) -> bool:
        return bool(self.regions) and all(r.status == TRUSTED for r in self.regions)

    def by_status(self, status: str) -> tuple[RegionTrust, ...]:
        return tuple(r for r in self.regions if r.status == status)


def default_regions(catalog: Catalog, ca_id: str) -> tuple[str | None, ...]:
    """Every region the catalogue knows for a CA (roots and intermediates), else one global."""
    regions = {e.region for e in catalog.entries if e.ca_id == ca_id and e.stage is None}
    named = sorted(r for r in regions if r)
    return tuple(named) if named else (None,)


def check_bundle(
    source: Path | str | bytes,
    ca_id: str,
    regions: Sequence[str | None] | str | None = None,
    *,
    now: datetime | None = None,
    catalog: Catalog | None = None,
    password: str | None = None,
    max_bytes: int = MAX_BUNDLE_BYTES,
) -> TrustResult:
    """Read a bundle (path or bytes) and evaluate it for `ca_id` in `regions` (default: all)."""
    cat = catalog or load_catalog()
    bundle = read_bundle(source, password=password, catalog=cat, max_bytes=max_bytes)
    wanted = (regions,) if isinstance(regions, str) else regions
    return evaluate(bundle, ca_id, wanted, now=now or datetime.now(UTC), catalog=cat)


def evaluate(
    bundle: Bundle,
    ca_id: str,
    regions: Sequence[str | None] | None,
    *,
    now: datetime,
    catalog: Catalog,
) -> TrustResult:
    wanted = tuple(regions) if regions else default_regions(catalog, ca_id)
    verdicts = tuple(_region_trust(bundle, ca_id, r, now, catalog) for r in wanted)
    warnings = _warnings(bundle, ca_id, wanted, now, catalog)
    return TrustResult(bundle, ca_id, now, verdicts, warnings)


def anchors(bundle: Bundle, roots: Sequence[KnownCA]) -> list[BundleCert]:
    """Bundle certificates that are one of `roots`: same fingerprint or same key."""
    fps = {r.sha256 for r in roots}
    keys = {r.key_identifier for r in roots}
    return [c for c in bundle.certificates if c.sha256 in fps or c.key_id in keys]


def _region_trust(bundle: Bundle, ca_id: str, region: str | None, now: datetime, cat: Catalog) -> RegionTrust:
    roots = cat.roots(ca_id, region)
    where = f"{ca_id} in {region}" if region else ca_id
    if not roots:
        return RegionTrust(region, UNKNOWN, None, f"the catalogue knows no root of {where}")
    found = anchors(bundle, roots)
    valid = [c for c in found if not c.expired(now)]
    if valid:
        best = valid[0]
        return RegionTrust(region, TRUSTED, best.index, f"root #{best.index} {best.common_name}")
    if found:
        c = found[0]
        return RegionTrust(
            region,
            EXPIRED,
            c.index,
            f"root #{c.index} {c.common_name} expired {c.not_after:%Y-%m-%d}",
        )
    pinned = _intermediates_of(bundle, ca_id, region, roots)
    if pinned:
        c = pinned[0]
        return RegionTrust(
            region,
            PINNED,
            c.index,
            f"only intermediate #{c.index} {c.common_name}, not its root: Java accepts it until "
            "it is replaced; OpenSSL-based clients (libpq, mysql, Python, Node) reject it",
        )
    expected = max(roots, key=lambda r: r.not_after)
    detail = f"no root of {where} (expected {expected.common_name!r}, sha256 {expected.sha256[:16]}...)"
    if any(c.rds_lookalike and c.common_name == expected.common_name for c in bundle.certificates):
        detail += "; a certificate with that name is present but its key is not AWS's"
    return RegionTrust(region, MISSING, None, detail)


def _intermediates_of(
    bundle: Bundle, ca_id: str, region: str | None, roots: Sequence[KnownCA]
) -> list[BundleCert]:
    root_keys = {r.key_identifier for r in roots}
    out = []
    for c in bundle.certificates:
        if c.kind == "root":
            continue
        issued_by_root = c.authority_key_id in root_keys
        named = c.rds is not None and c.rds.ca_id == ca_id and c.rds.region in (region, None)
        if issued_by_root or (named and c.rds is not None and c.rds.role == "intermediate"):
            out.append(c)
    return out


def _names(certs: Sequence[BundleCert], limit: int = 3) -> str:
    shown = ", ".join(f"#{c.index} {c.common_name or c.subject}" for c in certs[:limit])
    more = len(certs) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def _warnings(
    bundle: Bundle, ca_id: str, regions: Sequence[str | None], now: datetime, cat: Catalog
) -> tuple[TrustWarning, ...]:
    certs = bundle.certificates
    out: list[TrustWarning] = [TrustWarning("damaged", n) for n in bundle.notes]
    out.extend(_pin_warnings(certs, now))
    expired_roots = [c for c in certs if c.kind == "root" and c.expired(now)]
    if expired_roots:
        out.append(
            _warn(
                "expired-root",
                expired_roots,
                f"{count(expired_roots, 'expired root')} ({_names(expired_roots)}): "
                "they verify nothing any more",
            )
        )
    expired_int = [c for c in certs if c.kind == "intermediate" and c.expired(now)]
    if expired_int:
        out.append(
            _warn(
                "expired-intermediate",
                expired_int,
                f"{count(expired_int, 'expired intermediate')} ({_names(expired_int)})",
            )
        )
    out.extend(_retired_warnings(certs))
    lookalikes = [c for c in certs if c.rds_lookalike]
    if lookalikes:
        out.append(
            _warn(
                "lookalike",
                lookalikes,
                f"{_names(lookalikes)}: named like an RDS CA but the key is not one of "
                "AWS's published CAs (a test CA, or a forgery)",
            )
        )
    keytool = _keytool_warning(bundle, ca_id, regions, now, cat)
    if keytool:
        out.append(keytool)
    return tuple(out)


def _warn(code: str, certs: Sequence[BundleCert], message: str) -> TrustWarning:
    return TrustWarning(code, message, tuple(c.index for c in certs))


def _pin_warnings(certs: Sequence[BundleCert], now: datetime) -> list[TrustWarning]:
    out = []
    root_keys = {c.key_id for c in certs if c.kind == "root"}
    pinned = [c for c in certs if c.kind == "intermediate" and c.authority_key_id not in root_keys]
    if pinned:
        out.append(
            _warn(
                "pinned-intermediate",
                pinned,
                f"{count(pinned, 'intermediate')} without their root ({_names(pinned)}): "
                "a client trusting an intermediate breaks when the CA replaces it; "
                "trust the roots",
            )
        )
    leaves = [c for c in certs if c.kind == "leaf"]
    if leaves:
        out.append(
            _warn(
                "pinned-leaf",
                leaves,
                f"{count(leaves, 'server certificate')} pinned ({_names(leaves)}): they "
                "break at every server-certificate rotation; trust the roots",
            )
        )
    return out


def _retired_warnings(certs: Sequence[BundleCert]) -> list[TrustWarning]:
    rds_roots = [c for c in certs if c.kind == "root" and c.rds is not None and c.rds.stage is None]
    retired = [c for c in rds_roots if c.rds is not None and c.rds.ca_id in RETIRED_CAS]
    if not retired:
        return []
    ids = ", ".join(sorted({c.rds.ca_id for c in retired if c.rds is not None}))
    if len(retired) == len(rds_roots):
        return [
            _warn(
                "retired-only",
                retired,
                f"the only RDS roots are of retired CAs ({ids}): no current RDS CA is "
                "trusted; use AWS's current global-bundle.pem",
            )
        ]
    return [
        _warn(
            "retired-roots",
            retired,
            f"{count(retired, 'root')} of retired CAs ({ids}): harmless, but the file is "
            "stale; replace it with AWS's current global-bundle.pem",
        )
    ]


def _keytool_warning(
    bundle: Bundle, ca_id: str, regions: Sequence[str | None], now: datetime, cat: Catalog
) -> TrustWarning | None:
    """`keytool -importcert -file X.pem` imports the first certificate of a PEM and no other."""
    if bundle.format != "pem" or len(bundle.certificates) < 2:
        return None
    first = bundle.certificates[0]
    alone = Bundle(bundle.source, bundle.format, (first,))
    kept = [
        r.region or "all"
        for r in (_region_trust(alone, ca_id, g, now, cat) for g in regions)
        if r.status == TRUSTED
    ]
    scope = (
        f"trusts {ca_id} only in {', '.join(kept)}" if kept else f"does not trust {ca_id} in any region asked"
    )
    return TrustWarning(
        "keytool-first-only",
        f"`keytool -importcert -file` of this {len(bundle.certificates)}-certificate PEM imports "
        f"only the first, #1 {first.common_name or first.subject}: such a Java truststore {scope}. "
        "Import each certificate under its own alias",
        (1,),
    )
