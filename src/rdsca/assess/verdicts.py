"""The state and severity of each instance, from a small table of thresholds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from rdsca import engines
from rdsca.assess.forecast import forecast, reboot_reason
from rdsca.catalog import load_catalog
from rdsca.model import (
    Audit,
    Fleet,
    Instance,
    RegionCAs,
    Severity,
    State,
    Verdict,
)

DEFAULT_WARN_DAYS = 180
PREFERRED_CA = "rds-ca-rsa2048-g1"  # the G1 CA AWS makes the default for new instances
# A CA is current (one to rotate to) when every root of it has this many years left. The
# generations before G1 (rds-ca-2015, rds-ca-2019) had roots of 5 years; G1's live 40 to 100.
CURRENT_CA_YEARS = 10

# (fewer than N days left, severity), first match wins; the most used scanner's grading.
SEVERITY_BANDS: tuple[tuple[int, Severity], ...] = (
    (30, Severity.HIGH),
    (90, Severity.MEDIUM),
    (180, Severity.LOW),
)


@dataclass(frozen=True)
class Policy:
    warn_days: int = DEFAULT_WARN_DAYS
    preferred_ca: str = PREFERRED_CA


def _date(d: datetime | None) -> str:
    return d.strftime("%Y-%m-%d") if d else "?"


def _days_left(until: datetime | None, now: datetime) -> int | None:
    if until is None:
        return None
    return int((until - now).total_seconds() / 86400)  # whole days, truncated toward zero


def _severity(state: State, days_left: int | None) -> Severity:
    if state in (State.EXPIRED, State.RETIRED_CA):
        return Severity.CRITICAL
    if state is State.UNKNOWN_CA:  # nothing says when it ends: high, not the critical of a known end
        return Severity.HIGH
    if state is State.UNMANAGED or days_left is None:
        return Severity.INFO
    for limit, severity in SEVERITY_BANDS:
        if days_left < limit:
            return severity
    return Severity.INFO


@cache
def _catalogue_cas() -> tuple[tuple[str, datetime], ...]:
    """(CA id, when its first production root expires), most widely supported key first."""
    catalog = load_catalog()
    earliest: dict[str, datetime] = {}
    keys: dict[str, str] = {}
    for e in catalog.entries:
        if e.role == "root" and e.stage is None:
            earliest[e.ca_id] = min(earliest.get(e.ca_id, e.not_after), e.not_after)
            keys[e.ca_id] = e.key
    return tuple(sorted(earliest.items(), key=lambda kv: (_key_rank(keys[kv[0]]), kv[0])))


@cache
def known_ca_ids() -> frozenset[str]:
    """Every CA id the catalogue knows, current or retired (rds-ca-2015, rds-ca-2019, the G1s)."""
    return frozenset(load_catalog().ca_ids())


def _key_rank(key: str) -> tuple[int, int]:
    """RSA before ECC, smaller keys first: RSA2048, RSA4096, ECC384 (what most clients accept)."""
    digits = "".join(c for c in key if c.isdigit())
    return (0 if key.startswith("RSA") else 1, int(digits or 0))


def current_cas(now: datetime) -> tuple[str, ...]:
    """The catalogue's CA ids worth rotating to: every root has `CURRENT_CA_YEARS` left at `now`."""
    horizon = now + timedelta(days=365 * CURRENT_CA_YEARS)
    return tuple(ca for ca, until in _catalogue_cas() if until > horizon)


def _recommended(inst: Instance, region: RegionCAs | None, now: datetime, policy: Policy) -> str | None:
    """The CA to rotate to: the preferred one when the region and engine offer it."""
    listed = {a.id for a in region.authorities} if region else set()
    candidates = [policy.preferred_ca, *current_cas(now)]
    for ca in candidates:
        if ca in listed and (not inst.supported_cas or ca in inst.supported_cas):
            return ca
    return None


def judge(inst: Instance, region: RegionCAs | None, now: datetime, policy: Policy) -> Verdict:
    """The verdict for one instance. The state is the first rule of the table that applies."""
    authority = region.get(inst.ca) if region else None
    ca_till = authority.valid_till if authority else None
    cert_till = inst.server_cert_valid_till
    ends = [d for d in (ca_till, cert_till) if d is not None]
    earliest = min(ends) if ends else None
    days = _days_left(earliest, now)
    target = _recommended(inst, region, now, policy)
    rotate = f"; rotate to {target}" if target and target != inst.ca else ""
    reasons: list[str] = []

    rotated = engines.rotated_by_rdsca(inst.engine)
    if not rotated or not inst.ca:
        what = engines.facts(inst.engine).display_name if not rotated else "no CA id reported"
        reasons.append(f"{what}: certificates not managed through RDS CAs (not rotated by rdsca)")
        state, days, target = State.UNMANAGED, None, None
    elif region is not None and authority is None:
        if inst.ca in known_ca_ids():
            state = State.RETIRED_CA
            reasons.append(f"CA {inst.ca} is retired: not listed in {inst.region}{rotate}")
        else:  # a junk id (moto's rds-ca-default, a typo): never called retired, nor given a date
            state = State.UNKNOWN_CA
            reasons.append(f"unknown CA {inst.ca}: not listed in {inst.region}, not an RDS CA{rotate}")
        if cert_till is not None and cert_till <= now:
            reasons.append(f"server certificate expired {_date(cert_till)}")
    elif earliest is not None and earliest <= now:
        state = State.EXPIRED
        if ca_till is not None and ca_till <= now:
            reasons.append(f"CA {inst.ca} expired {_date(ca_till)}{rotate}")
        if cert_till is not None and cert_till <= now:
            reasons.append(f"server certificate expired {_date(cert_till)}")
    elif days is not None and days < policy.warn_days:
        state = State.EXPIRING
        which = "CA " + str(inst.ca) if earliest == ca_till else "server certificate"
        reasons.append(f"{which} expires {_date(earliest)} ({days} days){rotate}")
    elif inst.pending_ca or inst.certificate_actions:
        state = State.PENDING
    else:
        state = State.OK
        reasons.append(
            f"CA {inst.ca} valid till {_date(ca_till)}, server certificate till {_date(cert_till)}"
        )

    reboot = None
    if state is not State.UNMANAGED:
        if inst.pending_ca:
            reasons.append(f"CA change to {inst.pending_ca} pending until the maintenance window")
        for action in inst.certificate_actions:
            when = action.current_apply_date or action.auto_applied_after or action.forced_apply_date
            opt = f", {action.opt_in_status}" if action.opt_in_status else ""
            reasons.append(f"maintenance action {action.action} pending ({_date(when)}{opt})")
        for action in inst.pending_actions:
            if not action.is_certificate:  # AWS adds types: listed, never forecast nor acted on
                reasons.append(f"maintenance action {action.action} pending (not a certificate action)")
        reboot = forecast(inst, now)  # the next reboot RDS makes by itself (assess.forecast)
        if reboot is not None:
            reasons.append(reboot_reason(reboot))
        if region is None:
            reasons.append(f"CAs of {inst.region} unknown: CA validity not checked")
    return Verdict(
        instance=inst,
        ca_valid_till=ca_till,
        state=state,
        severity=_severity(state, days),
        days_left=days,
        reasons=tuple(reasons),
        recommended_ca=target if state is not State.UNMANAGED else None,
        reboot_forecast=reboot,
    )


def evaluate(fleet: Fleet, now: datetime, policy: Policy | None = None) -> Audit:
    policy = policy or Policy()
    verdicts = tuple(
        judge(inst, fleet.region_cas(inst.account_id, inst.region), now, policy) for inst in fleet.instances
    )
    return Audit(fleet=fleet, verdicts=verdicts, generated_at=now, warn_days=policy.warn_days)
