"""The WSGI layer in front of moto: call counting, injected faults and latency, the control API.

Every AWS call is identified by (action, account, region): the action from the query-protocol form
body (`Action=...`) or the JSON protocol's `X-Amz-Target`, the region from the SigV4 credential
scope, the account from the access key (assumed-role keys map to their account, as in moto).
"""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

CONTROL_PREFIX = "/_rdsca/"
FAULTS: dict[str, tuple[int, str, str]] = {  # code -> (HTTP status, type, default message)
    "Throttling": (400, "Sender", "Rate exceeded"),
    "ThrottlingException": (400, "Sender", "Rate exceeded"),
    "RequestLimitExceeded": (400, "Sender", "Request limit exceeded."),
    "InternalFailure": (500, "Receiver", "An internal error has occurred."),
    "ServiceUnavailable": (503, "Receiver", "Service is unavailable."),
    "AccessDenied": (403, "Sender", "User is not authorized to perform this action."),
    "ExpiredToken": (400, "Sender", "The security token included in the request is expired"),
    "InvalidClientTokenId": (403, "Sender", "The security token included in the request is invalid."),
}


@dataclass
class Call:
    action: str
    account: str
    region: str


@dataclass
class FaultRule:
    """Answer matching calls with an AWS error. `count` None: always; else this many times."""

    code: str
    action: str = "*"
    region: str | None = None
    account: str | None = None
    count: int | None = None
    message: str | None = None
    fired: int = 0

    def matches(self, call: Call) -> bool:
        return (
            (self.action in ("*", call.action))
            and self.region in (None, call.region)
            and self.account in (None, call.account)
            and (self.count is None or self.fired < self.count)
        )


@dataclass
class LatencyRule:
    seconds: float
    action: str = "*"
    region: str | None = None
    account: str | None = None

    def matches(self, call: Call) -> bool:
        return (
            self.action in ("*", call.action)
            and self.region in (None, call.region)
            and self.account in (None, call.account)
        )


class Registry:
    """Faults, latency and call counts of one server. Thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.faults: list[FaultRule] = []
        self.latency: list[LatencyRule] = []
        self.calls: Counter[tuple[str, str, str]] = Counter()

    def reset(self) -> None:
        with self.lock:
            self.faults.clear()
            self.latency.clear()
            self.calls.clear()

    def add_fault(self, rule: FaultRule) -> None:
        if rule.code not in FAULTS:
            raise ValueError(f"unknown fault code {rule.code!r}; known: {', '.join(FAULTS)}")
        with self.lock:
            self.faults.append(rule)

    def set_latency(self, rule: LatencyRule) -> None:
        with self.lock:
            self.latency = [
                r
                for r in self.latency
                if (r.action, r.region, r.account) != (rule.action, rule.region, rule.account)
            ]
            if rule.seconds > 0:
                self.latency.append(rule)

    def record(self, call: Call) -> tuple[FaultRule | None, float]:
        """Count the call; return the fault to answer with (if any) and the delay to add."""
        with self.lock:
            self.calls[(call.action, call.account, call.region)] += 1
            delay = max((r.seconds for r in self.latency if r.matches(call)), default=0.0)
            fault = next((f for f in self.faults if f.matches(call)), None)
            if fault is not None:
                fault.fired += 1
            return fault, delay

    def counts(self) -> dict[str, Any]:
        with self.lock:
            items = sorted(self.calls.items())
        by_action: Counter[str] = Counter()
        for (action, _, _), n in items:
            by_action[action] += n
        return {
            "total": sum(n for _, n in items),
            "by_action": dict(sorted(by_action.items())),
            "calls": [{"action": a, "account": acct, "region": r, "count": n} for (a, acct, r), n in items],
        }

    def describe(self) -> dict[str, Any]:
        with self.lock:
            return {"faults": [asdict(f) for f in self.faults], "latency": [asdict(r) for r in self.latency]}


def identify(environ: dict[str, Any], body: bytes) -> Call | None:
    """The AWS call a request makes, or None for moto's own and other non-AWS paths."""
    path = environ.get("PATH_INFO", "")
    if path.startswith("/moto-api") or path.startswith(CONTROL_PREFIX):
        return None
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    action = target.rsplit(".", 1)[-1] if target else ""
    if not action and path.startswith("/service/") and "/operation/" in path:  # Smithy RPC v2 (CBOR)
        action = path.rstrip("/").rsplit("/", 1)[-1]
    if not action:
        form = parse_qs(body.decode("utf-8", "replace")) if body else {}
        query = parse_qs(environ.get("QUERY_STRING", ""))
        action = (form.get("Action") or query.get("Action") or [""])[0]
    if not action:
        action = f"{environ.get('REQUEST_METHOD', 'GET')} {path}"
    auth = environ.get("HTTP_AUTHORIZATION", "")
    region, access_key = "us-east-1", ""
    if "Credential=" in auth:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        access_key = scope[0]
        if len(scope) > 2:
            region = scope[2]
    return Call(action=action, account=_account_of(access_key), region=region)


def _account_of(access_key: str) -> str:
    from moto.iam.models import get_account_id_from

    return get_account_id_from(access_key) if access_key else "123456789012"


def error_body(code: str, message: str) -> bytes:
    request_id = str(uuid.uuid4())
    _, kind, _ = FAULTS.get(code, (400, "Sender", ""))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">'
        f"<Error><Type>{kind}</Type><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()


class Middleware:
    """WSGI app: control API under /_rdsca/, then faults/latency/counting, then moto."""

    def __init__(
        self, app: WsgiApp, registry: Registry, control: Callable[[str, str, bytes], tuple[int, bytes]]
    ) -> None:
        self.app = app
        self.registry = registry
        self.control = control

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body = _read_body(environ)
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX):
            if not body.strip() and environ.get("QUERY_STRING"):
                query = parse_qs(environ["QUERY_STRING"])
                body = json.dumps({k: v[-1] for k, v in query.items()}).encode()
            status, payload = self.control(
                environ.get("REQUEST_METHOD", "GET"), path[len(CONTROL_PREFIX) :], body
            )
            return _respond(start_response, status, payload, "application/json")
        call = identify(environ, body)
        if call is not None:
            fault, delay = self.registry.record(call)
            if delay:
                time.sleep(delay)
            if fault is not None:
                status, _, default_message = FAULTS[fault.code]
                return _respond(
                    start_response,
                    status,
                    error_body(fault.code, fault.message or default_message),
                    "text/xml",
                )
        return self.app(environ, start_response)


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _respond(start_response: StartResponse, status: int, payload: bytes, content_type: str) -> list[bytes]:
    start_response(
        f"{status} {_REASONS.get(status, 'Error')}",
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(payload))),
            ("x-amzn-RequestId", str(uuid.uuid4())),
        ],
    )
    return [payload]
