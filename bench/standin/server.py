"""The stand-in's HTTP server: one asyncio process, pre-rendered answers, latency and throttling.

    python bench/standin/server.py --port 0 --url-file FILE [--accounts 500 --instances 25000 ...]

Every AWS call is routed by the SigV4 credential scope (`Credential=KEY/date/REGION/SERVICE/...`)
and its action (the `Action=` form field of the query protocols, the `X-Amz-Target` header of
JSON 1.1). The caller's account comes from the access key: the base keys belong to the management
account; AssumeRole hands out keys that name the assumed account (`ASIA<account>XXXX`), so every
later call is attributed to its account and region, as AWS attributes it.

Each call waits a latency drawn (seeded) from [--latency-min, --latency-max] seconds, then gets
its answer, or a throttling error when its token bucket is empty. A waiting call costs one
suspended coroutine, so thousands can be in flight at once.

Control API (plain HTTP, no signature): GET /_standin/fleet (the organization's shape and the
instances per account-region), GET /_standin/stats (calls and throttles by action, by service and
account-region), DELETE /_standin/stats (reset), POST /_standin/config (JSON: latency_min,
latency_max, buckets), POST /_standin/quit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from standin import fleet as fleetmod

_SCOPE = re.compile(rb"Credential=([^/]+)/[0-9]{8}/([^/]+)/([^/]+)/")
_ASSUMED = re.compile(r"^ASIA(\d{12})")
_ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role/")

# Token buckets: (burst, refill per second), per account and region for each service.
# RDS: "By default, you can make up to 300 requests in a burst and a sustained 12 requests per
#   second", per account and region ("Request throttling for the Amazon RDS API", Amazon RDS User
#   Guide, https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-api-throttling.html).
# EC2 DescribeRegions: a non-mutating action; the EC2 throttling page gives buckets per action and
#   per account-region ("Request throttling for the Amazon EC2 API"); 100 / 20 per second is an
#   assumption in the range it lists for non-mutating actions.
# STS AssumeRole and Organizations: no published figure was found; these are assumptions,
#   counted in the caller's account (STS) and the management account (Organizations).
BUCKETS: dict[str, tuple[float, float]] = {
    "rds": (300.0, 12.0),
    "ec2": (100.0, 20.0),
    "sts": (100.0, 50.0),  # assumed
    "organizations": (20.0, 10.0),  # assumed
}
# The throttling error each protocol answers with. RDS documents `ThrottlingException` / "Rate
# exceeded" (page above); its query protocol has long answered `Throttling`, which botocore's
# standard and adaptive retry modes treat alike (botocore/retries/standard.py, _THROTTLING_CODES).
THROTTLE_CODE = {"rds": "Throttling", "sts": "Throttling", "ec2": "RequestLimitExceeded"}


@dataclass
class Bucket:
    burst: float
    rate: float
    tokens: float
    at: float

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class StandIn:
    def __init__(self, fleet: fleetmod.Fleet, latency: tuple[float, float], seed: int) -> None:
        self.fleet = fleet
        self.latency = latency
        self.rng = random.Random(seed)
        self.buckets: dict[tuple[str, str, str], Bucket] = {}
        self.limits = dict(BUCKETS)
        self.base_account = fleet.accounts[0]
        self.known = frozenset(fleet.accounts)
        self.expiration = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 12 * 3600))
        self.reset()

    def reset(self) -> None:
        self.calls: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.by_target: Counter[str] = Counter()  # "account/region" -> RDS calls
        self.throttled_targets: Counter[str] = Counter()
        self.in_flight = 0
        self.peak_in_flight = 0
        self.buckets.clear()

    # -- routing ---------------------------------------------------------------------------
    async def answer(self, headers: dict[bytes, bytes], body: bytes) -> tuple[int, bytes, bytes]:
        auth = headers.get(b"authorization", b"")
        m = _SCOPE.search(auth)
        if not m:
            return 403, b"text/plain", b"unsigned request"
        key, region, service = m.group(1).decode(), m.group(2).decode(), m.group(3).decode()
        assumed = _ASSUMED.match(key)
        account = assumed.group(1) if assumed else self.base_account
        target = headers.get(b"x-amz-target", b"").decode()
        if target:
            action, form = target.rsplit(".", 1)[-1], {}
            params = json.loads(body or b"{}")
        else:
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            action, params = form.get("Action", ""), {}
        self.calls[action] += 1
        if service == "rds":
            self.by_target[f"{account}/{region}"] += 1
        bucket_region = "global" if service in ("sts", "organizations") else region
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.rng.uniform(*self.latency))
            if not self._admit(service, account, bucket_region):
                self.throttled[action] += 1
                if service == "rds":
                    self.throttled_targets[f"{account}/{region}"] += 1
                return self._throttle(service)
            return self._route(service, action, account, region, form, params)
        finally:
            self.in_flight -= 1

    def _admit(self, service: str, account: str, region: str) -> bool:
        limit = self.limits.get(service)
        if limit is None:
            return True
        key = (service, account, region)
        now = time.monotonic()
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = Bucket(limit[0], limit[1], limit[0], now)
        return bucket.take(now)

    def _throttle(self, service: str) -> tuple[int, bytes, bytes]:
        if service == "organizations":
            body = {"__type": "TooManyRequestsException", "Message": "Too many requests"}
            return 400, b"application/x-amz-json-1.1", json.dumps(body).encode()
        code = THROTTLE_CODE.get(service, "Throttling")
        if service == "ec2":
            xml = (
                f"<Response><Errors><Error><Code>{code}</Code><Message>Request limit exceeded."
                "</Message></Error></Errors><RequestID>throttled</RequestID></Response>"
            )
            return 503, b"text/xml", xml.encode()
        xml = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>Rate exceeded"
            "</Message></Error><RequestId>throttled</RequestId></ErrorResponse>"
        )
        return 400, b"text/xml", xml.encode()

    def _error(self, code: str, message: str, status: int = 400) -> tuple[int, bytes, bytes]:
        xml = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}"
            "</Message></Error><RequestId>error</RequestId></ErrorResponse>"
        )
        return status, b"text/xml", xml.encode()

    def _route(
        self, service: str, action: str, account: str, region: str, form: dict, params: dict
    ) -> tuple[int, bytes, bytes]:
        f = self.fleet
        if service == "rds":
            if action == "DescribeDBInstances":
                return self._paged(action, "DBInstances", f.instance_xml.get((account, region), []), form)
            if action == "DescribePendingMaintenanceActions":
                return self._paged(
                    action, "PendingMaintenanceActions", f.pending_xml.get((account, region), []), form
                )
            if action == "DescribeCertificates":
                return 200, b"text/xml", f.certificates[region]
            if action == "DescribeDBEngineVersions":
                key = (form.get("Engine", ""), form.get("EngineVersion", ""))
                return 200, b"text/xml", f.engine_versions.get(key) or fleetmod.empty_engine_answer()
            if action == "DescribeEvents":  # no maintenance events in the benchmark organization
                return 200, b"text/xml", fleetmod.rds_page(action, "Events", [], None, "events")
            if action == "DescribeDBClusters":
                return 200, b"text/xml", fleetmod.rds_page(action, "DBClusters", [], None, "clusters")
            return self._error("InvalidAction", f"{action} is not served by the stand-in")
        if service == "sts":
            if action == "GetCallerIdentity":
                return 200, b"text/xml", self._identity(account)
            if action == "AssumeRole":
                m = _ROLE_ARN.match(form.get("RoleArn", ""))
                if not m or m.group(1) not in self.known:
                    return self._error("AccessDenied", "not authorized to perform sts:AssumeRole", 403)
                return 200, b"text/xml", self._assumed(m.group(1), form)
        if service == "ec2" and action == "DescribeRegions":
            return 200, b"text/xml", f.regions_answer
        if service == "organizations" and action == "ListAccounts":
            token = params.get("NextToken")
            n = int(token.split("-")[1]) if token else 0
            if n >= len(f.account_pages):
                body = {"__type": "InvalidInputException", "Message": "bad NextToken"}
                return 400, b"application/x-amz-json-1.1", json.dumps(body).encode()
            return 200, b"application/x-amz-json-1.1", f.account_pages[n]
        return self._error("InvalidAction", f"{service}:{action} is not served by the stand-in")

    def _paged(self, action: str, list_name: str, items: list[bytes], form: dict) -> tuple[int, bytes, bytes]:
        size = max(20, min(100, int(form.get("MaxRecords") or 100)))
        start = int(form.get("Marker") or 0)
        end = start + size
        marker = str(end) if end < len(items) else None
        return 200, b"text/xml", fleetmod.rds_page(action, list_name, items[start:end], marker, "page")

    def _identity(self, account: str) -> bytes:
        return (
            f'<GetCallerIdentityResponse xmlns="{fleetmod.STS_NS}"><GetCallerIdentityResult>'
            f"<Arn>arn:aws:iam::{account}:user/bench</Arn><UserId>AIDABENCH{account}</UserId>"
            f"<Account>{account}</Account></GetCallerIdentityResult>"
            "<ResponseMetadata><RequestId>identity</RequestId></ResponseMetadata>"
            "</GetCallerIdentityResponse>"
        ).encode()

    def _assumed(self, account: str, form: dict) -> bytes:
        role = form["RoleArn"].rsplit("/", 1)[-1]
        session = form.get("RoleSessionName", "session")
        return (
            f'<AssumeRoleResponse xmlns="{fleetmod.STS_NS}"><AssumeRoleResult>'
            f"<AssumedRoleUser><AssumedRoleId>AROABENCH{account}:{session}</AssumedRoleId>"
            f"<Arn>arn:aws:sts::{account}:assumed-role/{role}/{session}</Arn></AssumedRoleUser>"
            f"<Credentials><AccessKeyId>ASIA{account}XXXX</AccessKeyId>"
            f"<SecretAccessKey>bench-secret-{account}</SecretAccessKey>"
            f"<SessionToken>bench-token-{account}</SessionToken>"
            f"<Expiration>{self.expiration}</Expiration></Credentials>"
            "</AssumeRoleResult><ResponseMetadata><RequestId>assume</RequestId></ResponseMetadata>"
            "</AssumeRoleResponse>"
        ).encode()

    # -- control ---------------------------------------------------------------------------
    def control(self, method: bytes, path: str, body: bytes) -> tuple[int, bytes, bytes] | None:
        if path == "/_standin/fleet" and method == b"GET":
            return _json(self.fleet.summary())
        if path == "/_standin/stats" and method == b"GET":
            return _json(self.stats())
        if path == "/_standin/stats" and method == b"DELETE":
            self.reset()
            return _json({"ok": True})
        if path == "/_standin/config" and method == b"POST":
            conf = json.loads(body or b"{}")
            if "latency_min" in conf:
                self.latency = (float(conf["latency_min"]), float(conf["latency_max"]))
            for service, (burst, rate) in (conf.get("buckets") or {}).items():
                self.limits[service] = (float(burst), float(rate))
            self.buckets.clear()
            return _json({"ok": True, "latency": self.latency, "buckets": self.limits})
        if path == "/_standin/quit" and method == b"POST":
            asyncio.get_running_loop().call_later(0.05, sys.exit, 0)
            return _json({"ok": True})
        return None

    def stats(self) -> dict:
        per = sorted(self.by_target.values())
        return {
            "total": sum(self.calls.values()),
            "by_action": dict(sorted(self.calls.items())),
            "throttled": sum(self.throttled.values()),
            "throttled_by_action": dict(sorted(self.throttled.items())),
            "throttled_account_regions": len(self.throttled_targets),
            "rds_account_regions_called": len(per),
            "rds_calls_max_per_account_region": per[-1] if per else 0,
            "peak_in_flight": self.peak_in_flight,
            "latency": list(self.latency),
            "buckets": {k: list(v) for k, v in self.limits.items()},
        }


def _json(data: dict) -> tuple[int, bytes, bytes]:
    return 200, b"application/json", json.dumps(data).encode()


REASONS = {200: b"OK", 400: b"Bad Request", 403: b"Forbidden", 404: b"Not Found", 503: b"Service Unavailable"}


async def serve_connection(app: StandIn, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.split(b"\r\n")
            method, target, _ = lines[0].split(b" ", 2)
            headers = {}
            for line in lines[1:]:
                if b":" in line:
                    k, v = line.split(b":", 1)
                    headers[k.strip().lower()] = v.strip()
            length = int(headers.get(b"content-length", b"0"))
            body = await reader.readexactly(length) if length else b""
            path = target.decode().split("?", 1)[0]
            result = app.control(method, path, body) if path.startswith("/_standin/") else None
            if result is None:
                result = await app.answer(headers, body)
            status, ctype, payload = result
            writer.write(
                b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nx-amzn-RequestId: bench\r\n\r\n"
                % (status, REASONS.get(status, b"Error"), ctype, len(payload))
                + payload
            )
            await writer.drain()
            if headers.get(b"connection", b"").lower() == b"close":
                return
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        writer.close()


async def run(app: StandIn, host: str, port: int, url_file: Path | None) -> None:
    server = await asyncio.start_server(
        lambda r, w: serve_connection(app, r, w), host, port, backlog=8192, limit=1 << 20
    )
    bound = server.sockets[0].getsockname()[1]
    url = f"http://{host}:{bound}"
    if url_file:
        tmp = url_file.with_suffix(".tmp")
        tmp.write_text(url)
        os.replace(tmp, url_file)
    print(f"stand-in at {url}: {app.fleet.instances} instances", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--url-file", type=Path)
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--regions", type=int, default=17)
    parser.add_argument("--instances", type=int, default=25_000)
    parser.add_argument("--occupied", type=float, default=0.22)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--latency-min", type=float, default=0.1)
    parser.add_argument("--latency-max", type=float, default=0.3)
    parser.add_argument(
        "--bucket",
        action="append",
        default=[],
        metavar="SERVICE=BURST/RATE",
        help="override a token bucket, e.g. rds=20/5",
    )
    args = parser.parse_args(argv)
    spec = fleetmod.Spec(
        accounts=args.accounts,
        regions=args.regions,
        instances=args.instances,
        occupied=args.occupied,
        seed=args.seed,
    )
    fleet = fleetmod.build(spec)
    app = StandIn(fleet, (args.latency_min, args.latency_max), args.seed)
    for item in args.bucket:
        service, limits = item.split("=", 1)
        burst, rate = limits.split("/", 1)
        app.limits[service] = (float(burst), float(rate))
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        asyncio.run(run(app, args.host, args.port, args.url_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
