"""Public Terraform modules whose default pinned a CA, and the versions that did.

The ranges are those issue 9 lists (terraform-aws-modules/rds v2.9.0 to v2.29.x,
terraform-aws-modules/rds-aurora v2.16.0 to v5.x, cloudposse/terraform-aws-rds 0.18.0 to 0.35.x):
releases whose `ca_cert_identifier` input defaulted to "rds-ca-2019". A module call with such a
source and version and no explicit input pins that CA "from the module default".
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

Version = tuple[int, int, int]


@dataclass(frozen=True)
class PinningModule:
    registry: str  # namespace/name/provider
    repository: str  # github.com/<owner>/<repo>
    first: Version  # first version whose default pins `value`
    until: Version  # first version that no longer does
    value: str
    input: str = "ca_cert_identifier"


PINNING_MODULES = (
    PinningModule("terraform-aws-modules/rds/aws", "terraform-aws-modules/terraform-aws-rds",
                  (2, 9, 0), (2, 30, 0), "rds-ca-2019"),
    PinningModule("terraform-aws-modules/rds-aurora/aws",
                  "terraform-aws-modules/terraform-aws-rds-aurora", (2, 16, 0), (6, 0, 0), "rds-ca-2019"),
    PinningModule("cloudposse/rds/aws", "cloudposse/terraform-aws-rds",
                  (0, 18, 0), (0, 36, 0), "rds-ca-2019"),
)  # fmt: skip

_BIG = (1 << 30, 0, 0)


def parse_version(text: str) -> Version | None:
    parts = text.strip().lstrip("vV=").strip().split(".")
    try:
        numbers = [int(p) for p in parts if p != ""]
    except ValueError:
        return None
    if not numbers or len(numbers) > 3:
        return None
    padded = [*numbers, 0, 0]
    return padded[0], padded[1], padded[2]


def constraint_range(constraint: str) -> tuple[Version, Version] | None:
    """The versions [low, high) a Terraform version constraint allows, or None if unreadable."""
    low: Version = (0, 0, 0)
    high: Version = _BIG
    for part in constraint.split(","):
        part = part.strip()
        op = next((o for o in ("~>", ">=", "<=", "!=", ">", "<", "=") if part.startswith(o)), "=")
        version = parse_version(part[len(op) :] if part.startswith(op) else part)
        if version is None:
            return None
        given = len(part[len(op) :].strip().lstrip("vV").split(".")) if part.startswith(op) else 3
        if op == "=":
            low, high = max(low, version), min(high, (version[0], version[1], version[2] + 1))
        elif op == "~>":
            bump = (version[0] + 1, 0, 0) if given <= 2 else (version[0], version[1] + 1, 0)
            low, high = max(low, version), min(high, bump)
        elif op in (">=", ">"):
            low = max(low, version if op == ">=" else (version[0], version[1], version[2] + 1))
        elif op in ("<", "<="):
            high = min(high, version if op == "<" else (version[0], version[1], version[2] + 1))
    return (low, high) if low < high else None


def identify(source: str) -> tuple[PinningModule, str | None] | None:
    """The pinning module a `source` names, and the version a git `?ref=` gives, if any."""
    plain = source.strip()
    if plain.startswith("registry.terraform.io/"):
        plain = plain.removeprefix("registry.terraform.io/")
    for module in PINNING_MODULES:
        if plain == module.registry:
            return module, None
    url = plain.removeprefix("git::")
    parts = urlsplit(url if "://" in url else "https://" + url)
    path = parts.path.strip("/").removesuffix(".git").split("//")[0]
    for module in PINNING_MODULES:
        if parts.hostname == "github.com" and path == module.repository:
            ref = parse_qs(parts.query).get("ref", [None])[0]
            return module, ref
    return None


def pins(module: PinningModule, constraint: str) -> str | None:
    """'yes' when every version the constraint allows pins the CA, 'maybe' when some do."""
    allowed = constraint_range(constraint)
    if allowed is None:
        return None
    low, high = allowed
    if low >= module.until or high <= module.first:
        return None
    return "yes" if module.first <= low and high <= module.until else "maybe"


def show(version: Version) -> str:
    return ".".join(str(n) for n in version)
