"""What the next apply does to a rotated instance, given a pin: a pure function of the pin, the
target CA, the catalogue and `now`."""

from __future__ import annotations

from datetime import datetime

from rdsca.catalog import Catalog
from rdsca.iac.model import Finding, Origin, Pin, Verdict


def retired_on(catalog: Catalog, ca_id: str, now: datetime) -> str | None:
    """The day every known root of `ca_id` had ended, or None (unknown CAs are not retired)."""
    roots = catalog.roots(ca_id.lower())
    if roots and all(r.not_after <= now for r in roots):
        return max(r.not_after for r in roots).strftime("%Y-%m-%d")
    return None


def judge(pin: Pin, target_ca: str, catalog: Catalog, now: datetime) -> Finding:
    """AWS compares CA ids case-insensitively, so `RDS-CA-2019` is the same pin."""
    value = pin.value
    if pin.origin is Origin.COMPUTED:
        verdict, reason = Verdict.NONE, f"computed ({pin.note or 'not pinned here'})"
    elif value is None:
        verdict = Verdict.UNKNOWN
        reason = "the value is set outside this tree" + (f" ({pin.note})" if pin.note else "")
    elif value.lower() == target_ca.lower():
        verdict, reason = Verdict.NONE, f"already {target_ca}"
    elif ended := retired_on(catalog, value, now):
        verdict = Verdict.FAIL
        reason = f"{value} is retired (ended {ended}): the next apply fails with CertificateNotFound"
    else:
        verdict = Verdict.REVERT
        reason = f"the next apply sets {value} back over {target_ca}"
    return Finding(pin, verdict, reason, _fix(pin, target_ca, verdict))


def _fix(pin: Pin, target_ca: str, verdict: Verdict) -> str:
    if verdict is Verdict.NONE:
        return "nothing to change"
    edit = pin.value_edit
    if edit is None:
        return f"not patched: set {target_ca} where the value is decided"
    where = f"{edit.file}:{edit.line}"
    if pin.origin is Origin.MODULE_DEFAULT:
        return f'add input ca_cert_identifier = "{target_ca}" to the module block after {where}'
    return f"set {target_ca} at {where}"
