"""The CA side of the sandbox: which CAs a region lists, their dates, the account default.

Dates come from rdsca's own catalogue of AWS's published bundles, per region. The account-level
override (`ModifyCertificates`) is kept on moto's RDS backend object for that account and region,
so `/moto-api/reset` clears it with everything else.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from moto.rds.exceptions import RDSClientError

from rdsca.catalog import load_catalog

SYSTEM_DEFAULT = "rds-ca-rsa2048-g1"
LISTED_CAS = ("rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1")
RETIRED_CAS = ("rds-ca-2019", "rds-ca-2015")
# Regions where AWS offers only rds-ca-rsa2048-g1 of the G1 family.
RSA2048_ONLY_REGIONS = frozenset(
    {
        "ap-south-1",
        "ap-southeast-4",
        "ca-west-1",
        "eu-central-2",
        "eu-south-2",
        "il-central-1",
    }
)
FALLBACK_REGION = "us-east-1"  # dates used for a region the catalogue does not know


@dataclass(frozen=True)
class RegionCA:
    ca_id: str
    region: str
    valid_from: datetime
    valid_till: datetime


class CertificateNotFound(RDSClientError):
    def __init__(self, ca_id: str) -> None:
        super().__init__("CertificateNotFound", f"Certificate {ca_id} not found.")


@cache
def validity(ca_id: str, region: str) -> tuple[datetime, datetime]:
    """(valid_from, valid_till) of a CA's root in a region, also for retired CAs."""
    catalog = load_catalog()
    found = catalog.validity(ca_id, region) or catalog.validity(ca_id, FALLBACK_REGION)
    if found is None:
        raise KeyError(f"no dates known for {ca_id}")
    return found


def listed(region: str) -> tuple[RegionCA, ...]:
    """The CAs `DescribeCertificates` lists in a region (retired ones are gone)."""
    ids = ("rds-ca-rsa2048-g1",) if region in RSA2048_ONLY_REGIONS else LISTED_CAS
    return tuple(RegionCA(ca, region, *validity(ca, region)) for ca in ids)


def is_listed(ca_id: str, region: str) -> bool:
    return any(c.ca_id == ca_id for c in listed(region))


def require_listed(ca_id: str, region: str) -> None:
    if not is_listed(ca_id, region):
        raise CertificateNotFound(ca_id)


def override(backend: Any) -> str | None:
    """The account override for new launches in this backend's account and region."""
    return getattr(backend, "_rdsca_default_ca", None)


def set_override(backend: Any, ca_id: str | None) -> None:
    backend._rdsca_default_ca = ca_id


def effective_default(backend: Any) -> str:
    return override(backend) or SYSTEM_DEFAULT


def to_wire(ca: RegionCA, override_id: str | None) -> dict[str, Any]:
    """The Certificate structure as AWS returns it."""
    thumb = hashlib.sha1(f"{ca.ca_id}:{ca.region}".encode(), usedforsecurity=False).hexdigest()
    out: dict[str, Any] = {
        "CertificateIdentifier": ca.ca_id,
        "CertificateType": "CA",
        "Thumbprint": thumb,
        "ValidFrom": ca.valid_from,
        "ValidTill": ca.valid_till,
        "CertificateArn": f"arn:aws:rds:{ca.region}::cert:{ca.ca_id}",
        "CustomerOverride": ca.ca_id == override_id,
    }
    if ca.ca_id == override_id:
        out["CustomerOverrideValidTill"] = ca.valid_till
    return out


def describe(backend: Any, ca_id: str | None) -> tuple[list[dict[str, Any]], str]:
    """(certificates, effective default) for DescribeCertificates."""
    region = backend.region_name
    cas = listed(region)
    if ca_id:
        cas = tuple(c for c in cas if c.ca_id == ca_id)
        if not cas:
            raise CertificateNotFound(ca_id)
    ov = override(backend)
    return [to_wire(c, ov) for c in cas], effective_default(backend)


def modify(backend: Any, ca_id: str | None, remove_override: bool) -> dict[str, Any]:
    """ModifyCertificates: set or remove the account default; returns the Certificate."""
    region = backend.region_name
    if bool(ca_id) == bool(remove_override):
        raise RDSClientError(
            "InvalidParameterCombination",
            "Specify either CertificateIdentifier or RemoveCustomerOverride, not both or neither.",
        )
    if remove_override:
        previous = override(backend) or SYSTEM_DEFAULT
        set_override(backend, None)
        ca = next(c for c in listed(region) if c.ca_id == previous)
        return to_wire(ca, None)
    assert ca_id is not None
    require_listed(ca_id, region)
    set_override(backend, ca_id)
    ca = next(c for c in listed(region) if c.ca_id == ca_id)
    return to_wire(ca, ca_id)
