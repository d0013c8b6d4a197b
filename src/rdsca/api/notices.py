"""AWS's own notices about the estate: AWS Health scheduled changes for RDS, linked to the audit.

`notices(targets)` reads the fleet (as `rdsca audit` does) and the AWS Health events of every
account, through the organizational view when the caller has it and account by account otherwise,
and links each notice's resources to the audited instances (by DB instance id or ARN, in the
notice's account and region) and to the `rdsca plan` command that takes them into a wave. An
account without Health API access (SubscriptionRequiredException) is in the result with its reason;
the other accounts are still reported. Nothing here prints or exits.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from rdsca.api.audit import Clock, TargetSource, read_fleet, utc_now
from rdsca.assess import Policy, evaluate
from rdsca.aws import health
from rdsca.aws.session import ResolvedTarget
from rdsca.model import Audit, HealthNotice, State, Target, Verdict

MAX_WORKERS = 16
# The words of a notice that is about certificates (AWS's type codes are an open list, and the
# certificate notices came under several: the text decides).
CERTIFICATE_WORDS = ("certificate", "rds-ca-", "ssl/tls")


@dataclass(frozen=True)
class Affected:
    """One resource a notice names, and the audited instance it is (None: not in this audit)."""

    value: str
    status: str | None
    verdict: Verdict | None


@dataclass(frozen=True)
class LinkedNotice:
    notice: HealthNotice
    affected: tuple[Affected, ...]
    plan_command: str | None  # `rdsca plan ...` for the instances found in the audit

    @property
    def about_certificates(self) -> bool:
        text = f"{self.notice.type_code} {self.notice.description or ''}".lower()
        return any(w in text for w in CERTIFICATE_WORDS)

    @property
    def instances(self) -> tuple[Verdict, ...]:
        return tuple(a.verdict for a in self.affected if a.verdict is not None)


@dataclass(frozen=True)
class NoticesResult:
    """The notices of every account read, each account's Health answer, and the audit they link to."""

    generated_at: datetime
    audit: Audit
    accounts: tuple[health.AccountHealth, ...]
    notices: tuple[LinkedNotice, ...]

    @property
    def unread(self) -> tuple[health.AccountHealth, ...]:
        """Accounts whose notices could not be read (no Health API access, or an error)."""
        return tuple(a for a in self.accounts if not a.ok)

    @property
    def view(self) -> str:
        sources = {a.source for a in self.accounts if a.ok}
        return "organization" if sources == {"organization"} else "accounts" if sources else "none"


def _match(verdicts: Sequence[Verdict], notice: HealthNotice, value: str) -> Verdict | None:
    for v in verdicts:
        i = v.instance
        if i.account_id != notice.account_id or (notice.region != "global" and i.region != notice.region):
            continue
        if value in (i.id, i.arn) or (i.resource_id and value == i.resource_id):
            return v
    return None


def _plannable(v: Verdict) -> bool:
    """A plan would do something: a CA change, or (--via-maintenance-action) a certificate action."""
    i = v.instance
    return v.recommended_ca != i.ca or bool(i.pending_ca) or bool(i.certificate_actions)


def plan_command(
    notice: HealthNotice, verdicts: Sequence[Verdict], reached: Target | None = None
) -> str | None:
    """The plan that takes the notice's instances into a wave: to the CA the audit recommends, through
    their pending certificate action where they have one (`--via-maintenance-action`). `reached`:
    the target through which the audit read the notice's account and region; the command reaches
    it the same way (its profile, the role it assumed), so that it selects that account's instances
    whatever RDSCA_ACCOUNTS / RDSCA_ROLE_NAME say."""
    managed = [v for v in verdicts if v.state is not State.UNMANAGED and v.recommended_ca and _plannable(v)]
    if not managed:
        return None
    target = sorted({v.recommended_ca or "" for v in managed})[0]
    args = ["rdsca", "plan", "--to", target]
    if any(v.instance.certificate_actions for v in managed):
        args.append("--via-maintenance-action")
    if reached is not None and reached.profile:
        args += ["--profile", reached.profile]
    role = reached.role_name if reached is not None else None
    if reached is None or role:
        args += ["--accounts", notice.account_id]
    if role:
        args += ["--role-name", role]
    args += ["--region", notice.region]
    for v in sorted(managed, key=lambda v: v.instance.id):
        args += ["--id", v.instance.id]
    return shlex.join(args)


def link(notice: HealthNotice, audit: Audit) -> LinkedNotice:
    affected = tuple(
        Affected(r.value, r.status, _match(audit.verdicts, notice, r.value)) for r in notice.affected
    )
    found = [a.verdict for a in affected if a.verdict is not None]
    reached = next(
        (t.target for t in audit.fleet.targets
         if t.ok and (t.target.account_id, t.target.region) == (notice.account_id, notice.region)),
        None,
    )  # fmt: skip
    return LinkedNotice(notice, affected, plan_command(notice, found, reached))


def read_health(
    resolved: Sequence[ResolvedTarget], organization: bool = True
) -> tuple[health.AccountHealth, ...]:
    """Each account's Health answer: the organizational view for the accounts it covers when the
    caller has it (`organization`), then each remaining account with its own credentials."""
    regions = sorted({t.target.region for t in resolved if t.target.region != "*"})
    accounts = sorted({t.target.account_id for t in resolved})
    found: dict[str, health.AccountHealth] = {}
    if organization:
        callers = {t.target.profile: t.factory for t in resolved if t.factory is not None}
        for factory in callers.values():
            caller = health.caller_of(factory)
            if health.organization_view(caller, regions):
                for acct, answer in (health.read_organization(caller, accounts, regions) or {}).items():
                    found.setdefault(acct, answer)
    rest = [a for a in accounts if a not in found]
    reach = {t.target.account_id: t for t in resolved if t.factory is not None}
    errors = {t.target.account_id: t.error for t in resolved if t.factory is None}

    def one(account: str) -> health.AccountHealth:
        target = reach.get(account)
        if target is None or target.factory is None:
            return health.AccountHealth(account, False, error=errors.get(account) or "account not reached")
        return health.read_account(target.factory, account, regions)

    if rest:
        with ThreadPoolExecutor(
            max_workers=min(MAX_WORKERS, len(rest)), thread_name_prefix="rdsca-health"
        ) as pool:
            for answer in pool.map(one, rest):
                found[answer.account_id] = answer
    return tuple(found[a] for a in accounts if a in found)


def notices(
    targets: TargetSource,
    *,
    organization: bool = True,
    engines: Sequence[str] = (),
    tags: Sequence[tuple[str, str]] = (),
    id_globs: Sequence[str] = (),
    now: Clock = utc_now,
) -> NoticesResult:
    """The AWS Health scheduled changes for RDS of every account of `targets`, linked to the audit.

    `engines`, `tags` and `id_globs` select the audited instances a notice links to (a resource
    outside the selection shows as not in the audit); every notice of the accounts is listed.
    """
    resolved = list(targets() if callable(targets) else targets)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rdsca-health") as side:
        answers = side.submit(read_health, resolved, organization)  # beside the fleet, not after it
        fleet = read_fleet(resolved, engines=engines, tags=tags, id_globs=id_globs, now=now)
        accounts = answers.result()
    audit = evaluate(fleet, fleet.collected_at, Policy())
    linked = [link(n, audit) for a in accounts for n in a.notices]
    linked.sort(
        key=lambda n: (
            n.notice.start or fleet.collected_at,
            n.notice.account_id,
            n.notice.region,
            n.notice.arn,
        )
    )
    return NoticesResult(fleet.collected_at, audit, accounts, tuple(linked))
