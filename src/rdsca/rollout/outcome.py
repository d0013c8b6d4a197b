"""Did AWS take a change? Pure answers from what the instances show, for writes whose reply was lost.

A ModifyDBInstance whose reply timed out, whose connection was reset, or whose answer was not an
AWS response may or may not have been accepted. Sending it again blindly can restart a production
database a second time; not sending it leaves the change undone. rdsca reads the instances and
decides from what they show, relative to what they showed before the send:

- a status of a change in progress (`modifying`, `rebooting`, ...): taken (ours or somebody
  else's: either way, sending now would be refused or would queue a second change);
- a pending CA equal to the target: taken (staged for the window, or for the next restart);
- the CA now the target while it was another before: taken;
- a step that cancels a pending change (the CA already the target): taken when nothing is pending.

AWS documents that ModifyDBInstance with ApplyImmediately sets the status to `modifying` at once
("Modifying an Amazon RDS DB instance", RDS User Guide), but not how soon DescribeDBInstances
reflects it. Nobody publishes that bound, so "not taken" is only concluded after several reads in
a row show nothing (ExecOptions.confirm_reads, one poll interval apart).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from rdsca.model import Instance
from rdsca.rollout.plan import Step

# Statuses of a change under way (DescribeDBInstances DBInstanceStatus, "Viewing Amazon RDS DB
# instance status", RDS User Guide).
IN_PROGRESS = frozenset(
    {"modifying", "rebooting", "maintenance", "upgrading", "configuring-enhanced-monitoring",
     "configuring-iam-database-auth", "configuring-log-exports", "converting-to-vpc", "moving-to-vpc",
     "renaming", "resetting-master-credentials", "storage-optimization", "backing-up", "starting"}
)  # fmt: skip


def busy(views: Sequence[Instance]) -> bool:
    """An instance of the step is in the middle of some change: a modify now would be refused."""
    return any(v.status in IN_PROGRESS for v in views)


def evidence(
    step: Step,
    views: Sequence[Instance],
    before: Mapping[str, str | None],
    fallback: str | None,
    valid_till_before: str | None = None,
) -> str | None:
    """What shows that the step's change was taken: "ca", "pending", "cancel", "renewed", "status",
    or None.

    A step that only renews the server certificate changes no CA: a server certificate whose end
    date differs from `valid_till_before` (recorded before the send) shows it done, even when the
    restart was over before the first look (a lost reply must not lead to a second send).

    `before` maps instance id to its CA before the send (members of a cluster step each have
    theirs); `fallback` is the step's recorded CA before, for ids missing from `before`. "status"
    (a change in progress) is the weakest: it may be somebody else's reboot, so it is provisional
    until the instance shows the CA or the pending change (see Executor._check).
    """
    found: str | None = None
    if step.renews_only:  # the CA does not change: a renewed certificate, or a restart under way
        if valid_till_before is not None and any(
            v.server_cert_valid_till is not None and iso(v.server_cert_valid_till) != valid_till_before
            for v in views
        ):
            return "renewed"
        return "status" if any(v.status in IN_PROGRESS for v in views) else None
    for v in views:
        was = before.get(v.id, fallback)
        if v.pending_ca == step.to_ca:
            return "pending"
        if was != step.to_ca and v.ca == step.to_ca:
            return "ca"
        if was == step.to_ca and v.ca == step.to_ca and not v.pending_ca:
            return "cancel"  # a cancel: the pending change to another CA is gone
        if v.status in IN_PROGRESS:
            found = "status"
    return found


def shows_change(
    step: Step,
    views: Sequence[Instance],
    before: Mapping[str, str | None],
    fallback: str | None,
    valid_till_before: str | None = None,
) -> bool:
    return evidence(step, views, before, fallback, valid_till_before) is not None


def _still_pending(step: Step, inst: Instance) -> bool:
    return any(a.action == step.action for a in inst.pending_actions)


def iso(d: datetime | None) -> str | None:
    return d.isoformat() if d else None


def is_verified(
    step: Step, inst: Instance, before_ca: str | None, before_valid_till: str | None, now: datetime
) -> bool:
    """Verified: on the target, nothing pending, available, server certificate issued by it and renewed
    (a step that only renews the certificate: renewed since the send, its action gone where seen)."""
    if inst.status != "available" or inst.ca != step.to_ca or inst.pending_ca:
        return False
    if step.renews_only:
        renewed = before_valid_till is not None and iso(inst.server_cert_valid_till) != before_valid_till
        return renewed and not _still_pending(step, inst)
    if inst.server_cert_ca is not None and inst.server_cert_ca != step.to_ca:
        return False
    if inst.server_cert_valid_till is not None:
        if inst.server_cert_valid_till <= now:
            return False
        unchanged = iso(inst.server_cert_valid_till) == before_valid_till
        if before_valid_till and before_ca and before_ca != step.to_ca and unchanged:
            return False  # the CA changed but the server certificate was not reissued (yet)
    return True


def awaiting_restart(step: Step, inst: Instance) -> bool:
    """The CA change is recorded but the instance still serves a certificate of another CA.

    What AWS does with CertificateRotationRestart=False on an engine version that cannot rotate
    without a restart: "will not rotate the certificate until the next time the database
    restarts" ("Rotating your SSL/TLS certificate", RDS User Guide). No reissue comes by waiting.
    """
    return (
        inst.status == "available"
        and inst.ca == step.to_ca
        and not inst.pending_ca
        and inst.server_cert_ca is not None
        and inst.server_cert_ca != step.to_ca
    )
