"""Which target CAs the clients seen can use at all, whatever they trust. Pure.

A client can trust a CA and still fail against it: a TLS stack without the key type or signature
algorithm of the chain refuses the handshake. Each known limit is data with its source; a client
with no known limit can use every target. Costs that do not refuse (RSA 4096 handshakes on small
clients) are notes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

G1_TARGETS = ("rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1")


@dataclass(frozen=True)
class ClientSeen:
    """A database client found in a scanned tree: a setting's client, or a package in a lockfile."""

    client: str  # libpq | pgjdbc | node | mysql | ... | prisma
    where: str  # "file:line"
    version: str | None = None


@dataclass(frozen=True)
class Limit:
    client: str
    ca_id: str
    reason: str
    source: str


# Prisma's engines against an rds-ca-ecc384-g1 server: `prisma migrate` / `prisma db push` fail
# with "P1011: Error opening a TLS connection", fine with rds-ca-rsa2048-g1 and rds-ca-2019
# (https://github.com/prisma/prisma/issues/20921, "prisma commands dont worth with new AWS RDS CAs",
# open, Prisma 5.x). The query engine was reported working; the schema engine runs every deploy,
# so a tree with Prisma is held back from the ECC CA.
LIMITS: tuple[Limit, ...] = (
    Limit(
        "prisma",
        "rds-ca-ecc384-g1",
        "Prisma's schema engine (prisma migrate, prisma db push) fails with P1011 against "
        "rds-ca-ecc384-g1 servers",
        "https://github.com/prisma/prisma/issues/20921",
    ),
)
# No refusal: an RSA 4096 chain means larger certificates and a costlier signature check per
# handshake. Nobody publishes a client it breaks; it is said, not enforced.
NOTES: Mapping[str, str] = {
    "rds-ca-rsa4096-g1": "RSA 4096: each handshake checks a larger key and chain; "
    "on small or busy clients that open many connections, measure before choosing it",
}


@dataclass(frozen=True)
class TargetFit:
    """Whether the clients seen can use one target CA."""

    ca_id: str
    usable: bool | None  # None: no client was seen, so nothing is known
    refused_by: tuple[str, ...] = ()  # "prisma (package-lock.json:12): reason"
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"usable": self.usable, "refused_by": list(self.refused_by), "notes": list(self.notes)}


def limits_for(client: str, ca_id: str) -> tuple[Limit, ...]:
    return tuple(lim for lim in LIMITS if lim.client == client and lim.ca_id == ca_id)


def fit(clients: Iterable[ClientSeen], targets: Iterable[str] = G1_TARGETS) -> tuple[TargetFit, ...]:
    """For each target CA: usable by every client seen, or which ones refuse it and why."""
    seen = list(clients)
    out = []
    for ca_id in targets:
        if not seen:
            out.append(TargetFit(ca_id, None))
            continue
        refused = []
        for lim in (lim for lim in LIMITS if lim.ca_id == ca_id):
            where = list(dict.fromkeys(c.where for c in seen if c.client == lim.client))
            if where:
                more = f" and {len(where) - 3} more" if len(where) > 3 else ""
                refused.append(f"{lim.client} ({', '.join(where[:3])}{more}): {lim.reason}")
        notes = (NOTES[ca_id],) if ca_id in NOTES else ()
        out.append(TargetFit(ca_id, not refused, tuple(refused), notes))
    return tuple(out)


def short(ca_id: str) -> str:
    return ca_id.removeprefix("rds-ca-").removesuffix("-g1")


def summary(fits: Iterable[TargetFit]) -> str:
    """One cell: "rsa2048, rsa4096 (not ecc384: prisma)", or "not known" without any client."""
    fits = list(fits)
    if not fits or all(f.usable is None for f in fits):
        return "not known"
    usable = [short(f.ca_id) for f in fits if f.usable]
    refused = [
        f"{short(f.ca_id)}: {', '.join(sorted({r.split(' ', 1)[0] for r in f.refused_by}))}"
        for f in fits
        if f.usable is False
    ]
    text = ", ".join(usable) or "none"
    return text + (f" (not {'; '.join(refused)})" if refused else "")


def refusals(doc: Mapping[str, Any], target_ca: str, keys: Iterable[str]) -> dict[str, str]:
    """From a saved readiness document (`rdsca.readiness/1`): for each instance key whose clients
    cannot use `target_ca`, why. Instances without the field are not held here."""
    by_key = {f"{i.get('account_id')}/{i.get('region')}/{i.get('id')}": i for i in doc.get("instances", [])}
    out = {}
    for key in keys:
        entry = (by_key.get(key) or {}).get("target_cas")
        fitness = entry.get(target_ca) if isinstance(entry, dict) else None
        if isinstance(fitness, dict) and fitness.get("usable") is False:
            why = "; ".join(str(r) for r in fitness.get("refused_by") or []) or "a client cannot use it"
            out[key] = f"a client cannot use {target_ca}: {why}"
    return out


def with_refusals(
    held: Mapping[str, str], doc: Mapping[str, Any], target_ca: str, keys: Iterable[str]
) -> dict[str, str]:
    """`held` (instance key -> why it stays out of the plan) plus the instances whose clients
    cannot use `target_ca`; both reasons when both apply."""
    out = dict(held)
    for key, why in refusals(doc, target_ca, keys).items():
        out[key] = f"{why}; {out[key]}" if key in out else why
    return out
