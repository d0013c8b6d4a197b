"""AWS Health in the sandbox: the RDS scheduled-change notices of each account, over HTTP.

moto 5.2 has no Health backend, so the sandbox serves the operations rdsca calls, with the shapes of
the AWS Health API Reference (2016-08-04): DescribeEvents, DescribeAffectedEntities,
DescribeEventDetails, DescribeHealthServiceStatusForOrganization and the organization view
(DescribeEventsForOrganization, DescribeAffectedAccountsForOrganization,
DescribeAffectedEntitiesForOrganization, DescribeEventDetailsForOrganization). A request comes as
the JSON protocol (`X-Amz-Target: AWSHealth_20160804.<Operation>`) or as Smithy RPC v2 CBOR
(`POST /service/AWSHealth_20160804/operation/<Operation>`), whichever the caller's botocore speaks,
and is answered in kind.

Per account: its notices, whether it has Health API access ("You must have a Business, Enterprise
On-Ramp, or Enterprise Support plan ... If you call the AWS Health API from an AWS account that
doesn't have [one], you receive a SubscriptionRequiredException error": AWS Health API Reference,
Welcome), and whether the organization view is enabled for it (the management account). The state
lives on moto's RDS backend of the account in us-east-1, so `/moto-api/reset` clears it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from moto.rds.models import rds_backends

from rdsca.sandbox import cbor, demo

TARGET_PREFIX = "AWSHealth_20160804"
RPC_PREFIX = f"/service/{TARGET_PREFIX}/operation/"
HOME = "us-east-1"  # the Health endpoint's region (health.us-east-1.amazonaws.com)
PLANS = ("business", "basic")
CERTIFICATE_TYPE = "AWS_RDS_MAINTENANCE_SCHEDULED"  # the example code of EventFilter.eventTypeCodes
LIFECYCLE_TYPE = "AWS_RDS_PLANNED_LIFECYCLE_EVENT"  # "Event type codes", AWS Health User Guide

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class HealthError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class Entity:
    value: str  # the DB instance id, as AWS Health names RDS resources in entityValue
    status: str = "PENDING"


@dataclass
class Notice:
    account: str
    region: str
    type_code: str
    category: str
    status: str  # open | closed | upcoming
    start: datetime
    end: datetime | None
    description: str
    entities: list[Entity]
    service: str = "RDS"
    arn: str = ""
    updated: datetime | None = None

    def __post_init__(self) -> None:
        if not self.arn:
            suffix = f"{self.type_code}_{uuid.uuid4().hex[:16]}"
            self.arn = f"arn:aws:health:{self.region}::event/{self.service}/{self.type_code}/{suffix}"

    def wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "arn": self.arn,
            "service": self.service,
            "eventTypeCode": self.type_code,
            "eventTypeCategory": self.category,
            "region": self.region,
            "startTime": self.start,
            "lastUpdatedTime": self.updated or self.start,
            "statusCode": self.status,
            "eventScopeCode": "ACCOUNT_SPECIFIC",
        }
        if self.end is not None:
            out["endTime"] = self.end
        return out

    def entity_wire(self, e: Entity) -> dict[str, Any]:
        entity_id = uuid.uuid5(uuid.NAMESPACE_URL, self.arn + e.value).hex[:20]
        return {
            "entityArn": f"arn:aws:health:{self.region}:{self.account}:entity/{entity_id}",
            "eventArn": self.arn,
            "entityValue": e.value,
            "awsAccountId": self.account,
            "lastUpdatedTime": self.updated or self.start,
            "statusCode": e.status,
        }


@dataclass
class AccountHealth:
    plan: str = "business"
    organization_view: bool = False  # DescribeHealthServiceStatusForOrganization: ENABLED
    notices: list[Notice] = field(default_factory=list)


def state(account: str) -> AccountHealth:
    backend: Any = rds_backends[account][HOME]
    found: AccountHealth | None = getattr(backend, "_rdsca_health", None)
    if found is None:
        found = AccountHealth()
        backend._rdsca_health = found
    return found


def _all_accounts() -> list[str]:
    return [a for a in list(rds_backends.keys()) if getattr(rds_backends[a][HOME], "_rdsca_health", None)]


# --- control ---------------------------------------------------------------------------------------


def configure(account: str, plan: str | None = None, organization_view: bool | None = None) -> dict[str, Any]:
    """The control API's switch: a support plan without Health API access ("basic"), or the
    organization view of a management account."""
    st = state(account)
    if plan is not None:
        if plan not in PLANS:
            raise ValueError(f"plan must be one of {', '.join(PLANS)}")
        st.plan = plan
    if organization_view is not None:
        st.organization_view = bool(organization_view)
    return {"account": account, "plan": st.plan, "organization_view": st.organization_view,
            "notices": len(st.notices)}  # fmt: skip


def add_notice(notice: Notice) -> Notice:
    state(notice.account).notices.append(notice)
    return notice


def seed_demo(now: datetime) -> list[Notice]:
    """The demo fleet's notices: a server-certificate rotation in each region where RDS posted one
    (the instances with a certificate action or an RDS-EVENT-0502), one for an instance that is gone,
    and an engine end-of-support notice."""
    a1, a2 = demo.ACCOUNTS
    cert_text = (
        "We are reaching out because one or more of your Amazon RDS DB instances need a server "
        "certificate rotation that restarts the database. If you take no action, Amazon RDS applies "
        "it in your maintenance window on or after the auto-apply date shown in the pending "
        "maintenance action. Clients that trust the RDS root certificate bundle keep connecting."
    )
    notices = [
        Notice(a1, "us-east-1", CERTIFICATE_TYPE, "scheduledChange", "upcoming", now + timedelta(days=10),
               None, cert_text, [Entity("web-staging-mysql"), Entity("reports-old-pg", "RESOLVED")]),
        Notice(a1, "ap-south-1", CERTIFICATE_TYPE, "scheduledChange", "upcoming", now + timedelta(days=5),
               None, cert_text, [Entity("payments-dev-mysql")]),
        Notice(a2, "us-east-1", LIFECYCLE_TYPE, "scheduledChange", "open", now - timedelta(days=30),
               now + timedelta(days=120),
               "Amazon RDS for PostgreSQL 12 reaches the end of standard support. Upgrade the DB "
               "instances below to a newer major version before the end date.",
               [Entity("shop-dev-pg")]),
        Notice(a2, "eu-west-1", "AWS_RDS_OPERATIONAL_ISSUE", "issue", "closed", now - timedelta(days=3),
               now - timedelta(days=3) + timedelta(hours=2), "Increased API error rates in eu-west-1.", []),
    ]  # fmt: skip
    for n in notices:
        add_notice(n)
    return notices


# --- the operations --------------------------------------------------------------------------------


def _require_access(account: str) -> None:
    if state(account).plan != "business":
        raise HealthError(
            "SubscriptionRequiredException",
            "The AWS Support plan of this account does not include the AWS Health API "
            "(Business, Enterprise On-Ramp or Enterprise Support is required).",
        )


def _matches(n: Notice, f: dict[str, Any]) -> bool:
    def allowed(key: str, value: str) -> bool:
        wanted = f.get(key)
        return not wanted or value in wanted

    return (
        allowed("services", n.service)
        and allowed("eventTypeCategories", n.category)
        and allowed("eventStatusCodes", n.status)
        and allowed("regions", n.region)
        and allowed("eventTypeCodes", n.type_code)
        and allowed("eventArns", n.arn)
        and allowed("awsAccountIds", n.account)
    )


def _page(items: list[Any], params: dict[str, Any], key: str) -> dict[str, Any]:
    size = int(params.get("maxResults") or 10)
    if not 1 <= size <= 100:
        raise HealthError("ValidationException", "maxResults must be between 1 and 100")
    token = params.get("nextToken")
    try:
        start = int(token) if token else 0
    except ValueError as exc:
        raise HealthError("InvalidPaginationToken", f"Invalid pagination token {token}") from exc
    out: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        out["nextToken"] = str(start + size)
    return out


def _find(account: str, arn: str) -> Notice | None:
    return next((n for n in state(account).notices if n.arn == arn), None)


def _details(n: Notice) -> dict[str, Any]:
    return {"event": n.wire(), "eventDescription": {"latestDescription": n.description}, "eventMetadata": {}}


def describe_events(account: str, p: dict[str, Any]) -> dict[str, Any]:
    _require_access(account)
    found = [n.wire() for n in state(account).notices if _matches(n, p.get("filter") or {})]
    return _page(found, p, "events")


def describe_affected_entities(account: str, p: dict[str, Any]) -> dict[str, Any]:
    _require_access(account)
    arns = (p.get("filter") or {}).get("eventArns") or []
    if not 1 <= len(arns) <= 10:
        raise HealthError("ValidationException", "filter.eventArns must hold 1 to 10 event ARNs")
    entities = [n.entity_wire(e) for arn in arns if (n := _find(account, arn)) for e in n.entities]
    return _page(entities, p, "entities")


def describe_event_details(account: str, p: dict[str, Any]) -> dict[str, Any]:
    _require_access(account)
    ok, failed = [], []
    for arn in p.get("eventArns") or []:
        n = _find(account, arn)
        if n is None:
            failed.append({"eventArn": arn, "errorName": "NotFound", "errorMessage": f"no event {arn}"})
        else:
            ok.append(_details(n))
    return {"successfulSet": ok, "failedSet": failed}


def describe_health_service_status_for_organization(account: str, p: dict[str, Any]) -> dict[str, Any]:
    enabled = state(account).organization_view
    return {"healthServiceAccessStatusForOrganization": "ENABLED" if enabled else "DISABLED"}


def _require_organization(account: str) -> None:
    _require_access(account)
    if not state(account).organization_view:
        raise HealthError(
            "AccessDeniedException",
            "The organizational view of AWS Health is not enabled for this account "
            "(EnableHealthServiceAccessForOrganization).",
        )


def describe_events_for_organization(account: str, p: dict[str, Any]) -> dict[str, Any]:
    _require_organization(account)
    f = p.get("filter") or {}
    found = [n.wire() for a in _all_accounts() for n in state(a).notices if _matches(n, f)]
    for event in found:
        event.pop("availabilityZone", None)
    return _page(found, p, "events")


def describe_affected_accounts_for_organization(account: str, p: dict[str, Any]) -> dict[str, Any]:
    _require_organization(account)
    arn = p.get("eventArn") or ""
    accounts = sorted({a for a in _all_accounts() if _find(a, arn)})
    return {**_page(accounts, p, "affectedAccounts"), "eventScopeCode": "ACCOUNT_SPECIFIC"}


def describe_affected_entities_for_organization(account: str, p: dict[str, Any]) -> dict[str, Any]:
    _require_organization(account)
    filters = p.get("organizationEntityFilters") or []
    if not 1 <= len(filters) <= 10:
        raise HealthError("ValidationException", "organizationEntityFilters must hold 1 to 10 filters")
    entities = []
    for f in filters:
        n = _find(str(f.get("awsAccountId") or ""), str(f.get("eventArn") or ""))
        entities += [n.entity_wire(e) for e in n.entities] if n else []
    return {**_page(entities, p, "entities"), "failedSet": []}


def describe_event_details_for_organization(account: str, p: dict[str, Any]) -> dict[str, Any]:
    _require_organization(account)
    ok, failed = [], []
    for f in p.get("organizationEventDetailFilters") or []:
        acct, arn = str(f.get("awsAccountId") or ""), str(f.get("eventArn") or "")
        n = _find(acct, arn)
        if n is None:
            failed.append({"awsAccountId": acct, "eventArn": arn, "errorName": "NotFound",
                           "errorMessage": f"no event {arn} in {acct}"})  # fmt: skip
        else:
            ok.append({"awsAccountId": acct, **_details(n)})
    return {"successfulSet": ok, "failedSet": failed}


OPERATIONS: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
    "DescribeEvents": describe_events,
    "DescribeAffectedEntities": describe_affected_entities,
    "DescribeEventDetails": describe_event_details,
    "DescribeHealthServiceStatusForOrganization": describe_health_service_status_for_organization,
    "DescribeEventsForOrganization": describe_events_for_organization,
    "DescribeAffectedAccountsForOrganization": describe_affected_accounts_for_organization,
    "DescribeAffectedEntitiesForOrganization": describe_affected_entities_for_organization,
    "DescribeEventDetailsForOrganization": describe_event_details_for_organization,
}


# --- the wire --------------------------------------------------------------------------------------


def operation_of(environ: dict[str, Any]) -> tuple[str, bool] | None:
    """(operation, is CBOR) of a Health request, or None for any other request."""
    path = environ.get("PATH_INFO", "")
    if path.startswith(RPC_PREFIX):
        return path[len(RPC_PREFIX) :].strip("/"), True
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target.startswith(TARGET_PREFIX + "."):
        return target.split(".", 1)[1], False
    return None


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()  # the JSON protocol's timestamps: epoch seconds
    raise TypeError(type(value).__name__)


class HealthApp:
    """WSGI: Health requests answered here, everything else passed to `app` (moto)."""

    def __init__(self, app: WsgiApp, account_of: Callable[[dict[str, Any]], str]) -> None:
        self.app = app
        self.account_of = account_of

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        found = operation_of(environ)
        if found is None:
            return self.app(environ, start_response)
        operation, is_cbor = found
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        status, payload = 200, {}
        try:
            params = cbor.loads(body) if is_cbor else (json.loads(body) if body.strip() else {})
            handler = OPERATIONS.get(operation)
            if handler is None:
                raise HealthError("UnknownOperationException", f"{operation} is not served by the sandbox")
            payload = handler(self.account_of(environ), params if isinstance(params, dict) else {})
        except HealthError as exc:
            status, payload = exc.status, {"__type": exc.code, "message": exc.message}
        except (ValueError, cbor.CborError) as exc:
            status, payload = 400, {"__type": "SerializationException", "message": str(exc)}
        if is_cbor:
            data, headers = cbor.dumps(payload), [("Content-Type", "application/cbor"),
                                                  ("smithy-protocol", "rpc-v2-cbor")]  # fmt: skip
        else:
            data = json.dumps(payload, default=_json_default).encode()
            headers = [("Content-Type", "application/x-amz-json-1.1")]
        start_response(
            f"{status} {'OK' if status == 200 else 'Bad Request'}",
            [*headers, ("Content-Length", str(len(data))), ("x-amzn-RequestId", str(uuid.uuid4()))],
        )
        return [data]
