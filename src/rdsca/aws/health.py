"""AWS Health: the RDS scheduled-change notices of each account, or of the organization at once.

Facts (AWS Health API Reference, "Welcome"; AWS Health User Guide, "Accessing the AWS Health API"):
- "You must have a Business, Enterprise On-Ramp, or Enterprise Support plan from AWS Support to use
  the AWS Health API. If you call the AWS Health API from an AWS account that doesn't have [one],
  you receive a SubscriptionRequiredException error." That is an answer about the account, not a
  failure of rdsca: it is reported as "no Health API access" and the other accounts still are.
- The endpoint is global: the API Reference names health.us-east-1.amazonaws.com; botocore's
  endpoint rules resolve the partition's global endpoint (global.health.amazonaws.com, .com.cn for
  China, global.health.us-gov.amazonaws.com for GovCloud), signed in the partition's first region.
  One client per account and partition, whatever the regions audited.
- The organizational view answers for every account of the organization from the management (or a
  delegated administrator) account once it is enabled:
  DescribeHealthServiceStatusForOrganization says ENABLED, then DescribeEventsForOrganization,
  DescribeAffectedEntitiesForOrganization and DescribeEventDetailsForOrganization. Without it, or
  when the caller may not use it, each account is asked itself.
- Limits: DescribeAffectedEntities and DescribeEventDetails take at most 10 event ARNs
  (`eventArnList`), the organization calls at most 10 (event, account) filters; maxResults 1..100.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from botocore.parsers import ResponseParserError

from rdsca.aws.errors import AWS_ERRORS, describe_error, error_code
from rdsca.aws.permissions import needs
from rdsca.aws.session import SessionFactory
from rdsca.model import AffectedResource, HealthNotice

SERVICE = "RDS"
CATEGORIES = ("scheduledChange",)
STATUSES = ("open", "upcoming")
BATCH = 10  # event ARNs (or event x account filters) per call
PAGE = 100
NO_ACCESS = "SubscriptionRequiredException"
NO_ACCESS_TEXT = (
    "no AWS Health API access (SubscriptionRequiredException): the account's AWS Support plan does not "
    "include it (Business, Enterprise On-Ramp or Enterprise Support is needed)"
)


def home_region(regions: Iterable[str]) -> str:
    """The region a Health client of this partition is made in (its global endpoint's signing region)."""
    for region in regions:
        if region.startswith("cn-"):
            return "cn-north-1"
        if region.startswith("us-gov-"):
            return "us-gov-west-1"
    return "us-east-1"


@dataclass(frozen=True)
class AccountHealth:
    """The notices one account's Health API gave, or why it gave none (`code` the AWS error code)."""

    account_id: str
    ok: bool
    notices: tuple[HealthNotice, ...] = ()
    source: str = "account"  # "account" | "organization"
    error: str | None = None
    code: str | None = None

    @property
    def no_access(self) -> bool:
        return self.code == NO_ACCESS


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(value), UTC)


def _notice(raw: dict[str, Any], account_id: str) -> HealthNotice:
    return HealthNotice(
        account_id=account_id,
        region=str(raw.get("region") or "global"),
        arn=str(raw["arn"]),
        service=str(raw.get("service") or SERVICE),
        type_code=str(raw.get("eventTypeCode") or "?"),
        category=str(raw.get("eventTypeCategory") or "?"),
        status=str(raw.get("statusCode") or "?"),
        start=_utc(raw.get("startTime")),
        end=_utc(raw.get("endTime")),
        last_updated=_utc(raw.get("lastUpdatedTime")),
        description=None,
    )


def _batches(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def _answer(resp: dict[str, Any], key: str) -> dict[str, Any]:
    """The reply, unless its body was not what Health sends. botocore does not always raise for a
    200 reply whose body it cannot read: its JSON parser returns the raw text as {'message': body}
    (botocore/parsers.py, BaseJSONParser._parse_body_as_json), and a body without the protocol's
    headers (a proxy's page, a truncated reply) comes back as no fields at all; either would read as
    "no notices". Whether Health sends `key` for an empty answer is not documented, so only a reply
    with no field of Health's and a body of more than a few bytes ('{}') is refused."""
    fields = set(resp) - {"ResponseMetadata"}
    headers = (resp.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
    size = str(headers.get("content-length") or "0")
    if key not in resp and (fields == {"message"} or (not fields and size.isdigit() and int(size) > 8)):
        raise ResponseParserError(f"the Health reply has no {key!r} ({size} bytes that are not Health's)")
    return resp


def _pages(call: Any, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    token = None
    while True:
        resp = _answer(call(**kwargs, maxResults=PAGE, **({"nextToken": token} if token else {})), key)
        yield from resp.get(key) or ()
        token = resp.get("nextToken")
        if not token:
            return


# EventFilter.regions holds at most 10 regions, OrganizationEventFilter.awsAccountIds at most 50
# (botocore's Health model, regionList and awsAccountIdsList): beyond, rdsca asks for all and keeps
# the wanted ones itself.
MAX_REGIONS = 10
MAX_ACCOUNTS = 50


def _filter(regions: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "services": [SERVICE],
        "eventTypeCategories": list(CATEGORIES),
        "eventStatusCodes": list(STATUSES),
    }
    wanted = sorted(set(regions))
    if 0 < len(wanted) <= MAX_REGIONS:
        out["regions"] = wanted
    return out


def _in_regions(raw: dict[str, Any], regions: Sequence[str]) -> bool:
    """The event is about one of the audited regions (or about none: global)."""
    region = raw.get("region")
    return not regions or region in (None, "global") or region in regions


@needs("health:DescribeEvents", "health:DescribeAffectedEntities", "health:DescribeEventDetails")
def read_account(factory: SessionFactory, account_id: str, regions: Sequence[str] = ()) -> AccountHealth:
    """One account's open and upcoming RDS scheduled changes, each with its resources and text."""
    try:
        health = factory.client("health", home_region(regions))
        pages = _pages(health.describe_events, "events", filter=_filter(regions))
        found = [_notice(e, account_id) for e in pages if _in_regions(e, regions)]
        affected: dict[str, list[AffectedResource]] = {}
        texts: dict[str, str] = {}
        for batch in _batches([n.arn for n in found]):
            for e in _pages(health.describe_affected_entities, "entities", filter={"eventArns": list(batch)}):
                affected.setdefault(e["eventArn"], []).append(_resource(e))
            details = _answer(health.describe_event_details(eventArns=list(batch)), "successfulSet")
            for d in details.get("successfulSet") or ():
                texts[d["event"]["arn"]] = (d.get("eventDescription") or {}).get("latestDescription") or ""
    except AWS_ERRORS as exc:
        code = error_code(exc)
        text = NO_ACCESS_TEXT if code == NO_ACCESS else describe_error(exc)
        return AccountHealth(account_id, False, error=text, code=code)
    notices = tuple(
        replace(n, description=texts.get(n.arn), affected=tuple(affected.get(n.arn, ()))) for n in found
    )
    return AccountHealth(account_id, True, notices)


def _resource(raw: dict[str, Any]) -> AffectedResource:
    return AffectedResource(value=str(raw.get("entityValue") or raw.get("entityArn") or "?"),
                            status=raw.get("statusCode"))  # fmt: skip


@needs("health:DescribeHealthServiceStatusForOrganization")
def organization_view(factory: SessionFactory, regions: Sequence[str] = ()) -> bool:
    """True when the caller may use the organizational view (it is ENABLED for the organization).
    Any refusal (not the management account, no support plan, no permission) means "ask each account"."""
    try:
        resp = factory.client(
            "health", home_region(regions)
        ).describe_health_service_status_for_organization()
    except AWS_ERRORS:
        return False
    return resp.get("healthServiceAccessStatusForOrganization") == "ENABLED"


@needs(
    "health:DescribeEventsForOrganization",
    "health:DescribeAffectedAccountsForOrganization",
    "health:DescribeAffectedEntitiesForOrganization",
    "health:DescribeEventDetailsForOrganization",
)
def read_organization(
    factory: SessionFactory, accounts: Sequence[str], regions: Sequence[str] = ()
) -> dict[str, AccountHealth] | None:
    """Every wanted account's notices through the organizational view, or None when it failed (the
    caller then asks each account). An account without notices is an empty, successful answer."""
    wanted = sorted(set(accounts))
    try:
        health = factory.client("health", home_region(regions))
        flt = _filter(regions)
        if 0 < len(wanted) <= MAX_ACCOUNTS:
            flt["awsAccountIds"] = wanted
        pages = _pages(health.describe_events_for_organization, "events", filter=flt)
        events = [e for e in pages if _in_regions(e, regions)]
        pairs: list[tuple[str, dict[str, Any]]] = []
        for event in events:
            for member in _pages(health.describe_affected_accounts_for_organization, "affectedAccounts",
                                 eventArn=event["arn"]):  # fmt: skip
                if not wanted or str(member) in wanted:
                    pairs.append((str(member), event))
        affected: dict[tuple[str, str], list[AffectedResource]] = {}
        texts: dict[tuple[str, str], str] = {}
        for batch in _batches(pairs):
            filters = [{"eventArn": e["arn"], "awsAccountId": acct} for acct, e in batch]
            for raw in _pages(health.describe_affected_entities_for_organization, "entities",
                              organizationEntityFilters=filters):  # fmt: skip
                key = (str(raw.get("awsAccountId")), str(raw.get("eventArn")))
                affected.setdefault(key, []).append(_resource(raw))
            details = _answer(
                health.describe_event_details_for_organization(organizationEventDetailFilters=filters),
                "successfulSet",
            )
            for d in details.get("successfulSet") or ():
                key = (str(d.get("awsAccountId")), str(d["event"]["arn"]))
                texts[key] = (d.get("eventDescription") or {}).get("latestDescription") or ""
    except AWS_ERRORS:
        return None
    out = {a: AccountHealth(a, True, source="organization") for a in wanted}
    for acct, raw_event in pairs:
        key = (acct, str(raw_event["arn"]))
        notice = replace(
            _notice(raw_event, acct), description=texts.get(key), affected=tuple(affected.get(key, ()))
        )
        current = out.get(acct) or AccountHealth(acct, True, source="organization")
        out[acct] = replace(current, notices=(*current.notices, notice))
    return out


def caller_of(factory: SessionFactory) -> SessionFactory:
    """The caller's own credentials behind `factory` (which may hold a role assumed from them): the
    organizational view is asked of the caller, the management account, not of a member's role."""
    return SessionFactory(settings=factory.settings, profile=factory.profile, _shared=factory._shared)
