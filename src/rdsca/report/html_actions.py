"""The recommended action per instance, as `rdsca plan` would act on it.

The page never advises a change `rdsca plan` would not make: for every CA the audit recommends,
the plan itself is built (`rollout.planner.build`, pure, on the audit's fleet and clock) and each
instance's advice follows from its place in that plan: a step that modifies the instance, a step
that modifies its Multi-AZ DB cluster (the members of such a cluster cannot be modified one by one),
or the reason the plan leaves it out (a stopped or busy instance, CAs its engine does not list, ...).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from rdsca.errors import PlanError
from rdsca.model import Audit, Instance, State, Target, Verdict
from rdsca.rollout.plan import Kind, PlanPolicy, Skipped, Step
from rdsca.rollout.planner import build

# The states whose instances need something done; the others get "none".
ACTION_STATES = (State.RETIRED_CA, State.UNKNOWN_CA, State.EXPIRED, State.EXPIRING)

# "You can't modify the DB instances within a Multi-AZ DB cluster. All modifications must be done at
# the DB cluster level" ("Modifying a Multi-AZ DB cluster for Amazon RDS", RDS User Guide), and
# ModifyDBCluster's CACertificateIdentifier is "Valid for Cluster Type: Multi-AZ DB clusters"
# (ModifyDBCluster, RDS API Reference; the AWS CLI's `modify-db-cluster --ca-certificate-identifier`).
CLUSTER_NOTE = "Multi-AZ DB cluster {cluster}: one change for its members ({members})"


@dataclass(frozen=True)
class Advice:
    """What to do about one instance: exact commands, and words (why none, or what they change)."""

    commands: tuple[str, ...] = ()
    note: str | None = None


NONE = Advice(note="none")

Outcome = Step | Skipped


def plan_outcomes(audit: Audit) -> dict[tuple[str, str], Outcome]:
    """(target CA, instance key) -> the step that changes it, or why the plan leaves it out."""
    targets = sorted(
        {
            v.recommended_ca
            for v in audit.verdicts
            if v.state in ACTION_STATES and v.recommended_ca and v.recommended_ca != v.instance.ca
        }
    )
    out: dict[tuple[str, str], Outcome] = {}
    for ca in targets:
        try:
            plan = build(audit.fleet, ca, PlanPolicy(), audit.generated_at)
        except PlanError as exc:  # no plan, no command: the reason instead
            for v in audit.verdicts:
                out[(ca, v.instance.key)] = Skipped(v.instance.key, v.instance.ca, str(exc))
            continue
        for step in plan.steps:
            for ident in step.instance_ids:
                out[(ca, f"{step.account}/{step.region}/{ident}")] = step
        for skipped in plan.skipped:
            out[(ca, skipped.key)] = skipped
    return out


@dataclass(frozen=True)
class Reach:
    """The flags that reach one account x region as the audit reached it, so that a suggested command
    acts on that account's instance and never on a same-named one in another account of the audit.
    `rdsca`: for `rdsca plan` (`--accounts A --role-name N` when the audit assumed a role, which also
    overrides an RDSCA_ACCOUNTS naming several; `--profile P` when it used a profile). `aws`: for
    the AWS CLI, which has `--profile` but no flag to assume a role."""

    rdsca: str = ""
    aws: str = ""


def reach_of(target: Target | None) -> Reach:
    if target is None:
        return Reach()
    profile = f" --profile {shlex.quote(target.profile)}" if target.profile else ""
    role = target.role_name
    if role:
        rdsca = f"{profile} --accounts {target.account_id} --role-name {shlex.quote(role)}"
        return Reach(rdsca=rdsca)  # the AWS CLI would run as the profile's own account: no flag
    return Reach(rdsca=profile, aws=profile)


def reaches(audit: Audit) -> dict[tuple[str, str], Reach]:
    """(account, region) -> how the audit reached it (the first target that read it)."""
    out: dict[tuple[str, str], Reach] = {}
    for status in audit.fleet.targets:
        t = status.target
        if status.ok:
            out.setdefault((t.account_id, t.region), reach_of(t))
    return out


def _plan_command(to_ca: str, ids: tuple[str, ...], region: str, reach: Reach) -> str:
    ident = " ".join(f"--id {i}" for i in ids)
    return f"rdsca plan --to {to_ca} {ident}{reach.rdsca} --region {region}"


def _from_step(step: Step, inst: Instance, reach: Reach) -> Advice:
    region, ca = inst.region, step.to_ca
    if step.kind is Kind.MODIFY_CLUSTER:
        return Advice(
            (
                _plan_command(ca, step.members, region, reach),
                f"aws rds modify-db-cluster --db-cluster-identifier {step.id} "
                f"--ca-certificate-identifier {ca} --apply-immediately{reach.aws} --region {region}",
            ),
            CLUSTER_NOTE.format(cluster=step.id, members=", ".join(step.members)),
        )
    return Advice(
        (
            _plan_command(ca, (inst.id,), region, reach),
            f"aws rds modify-db-instance --db-instance-identifier {inst.id} "
            f"--ca-certificate-identifier {ca} --apply-immediately{reach.aws} --region {region}",
        )
    )


def _from_skip(skipped: Skipped, inst: Instance, reach: Reach) -> Advice:
    note = f"no change can be planned now: {skipped.reason}"
    if inst.status == "stopped" and not inst.cluster and skipped.reason.startswith("status"):
        return Advice(
            (
                f"aws rds start-db-instance --db-instance-identifier {inst.id}{reach.aws} "
                f"--region {inst.region}",
            ),
            note + "; start it, then audit again",
        )
    return Advice(note=note)


def advise(
    v: Verdict,
    outcomes: Mapping[tuple[str, str], Outcome],
    reach: Mapping[tuple[str, str], Reach] | None = None,
) -> Advice:
    """The advice for one verdict, given the plans of `plan_outcomes` and the accounts of `reaches`."""
    i = v.instance
    how = (reach or {}).get((i.account_id, i.region), Reach())
    if v.state not in ACTION_STATES:
        return NONE
    if v.recommended_ca and v.recommended_ca != i.ca:
        outcome = outcomes.get((v.recommended_ca, i.key))
        if isinstance(outcome, Step):
            return _from_step(outcome, i, how)
        if isinstance(outcome, Skipped):
            return _from_skip(outcome, i, how)
        return Advice(note=f"not in a plan to {v.recommended_ca}")
    if v.recommended_ca is None:
        return Advice(
            note=f"no CA to rotate to: {i.region} lists none that {i.engine} {i.engine_version} supports"
        )
    if i.status != "available":  # the plan's own rule for any change (rollout.planner.skip_reason)
        return Advice(note=f"no change can be sent now: status {i.status}, not available")
    commands = tuple(
        f"aws rds apply-pending-maintenance-action --resource-identifier {i.arn} "
        f"--apply-action {a.action} --opt-in-type immediate{how.aws} --region {i.region}"
        for a in i.certificate_actions
    )
    if commands:
        return Advice(commands)
    return Advice(note=f"no CA change: the server certificate renews under {i.ca}")
