"""The stand-in, stateful for a rotation: instances change CA, go through modifying and rebooting,
and come back after a drawn time with the new CA and a renewed server certificate.

    python bench/standin/rotation.py --port 0 --url-file FILE [--instances 2000 --regions 4 ...]

It serves everything the organization stand-in serves (server.StandIn: routing by SigV4 scope,
latency, per account-region token buckets answering `Throttling`) and adds, for RDS:

- DescribeDBInstances rendered from each instance's current state, with the `db-instance-id`
  filter (`Filters.Filter.N.Name` / `.Values.Value.M`, botocore's query serialisation of the RDS
  `Filters` shape), MaxRecords and Marker, as rdsca's executor polls;
- ModifyDBInstance with CACertificateIdentifier: refused with InvalidDBInstanceState while the
  instance is not `available` (as RDS refuses a modify of a busy instance: "Errors" of
  ModifyDBInstance, RDS API Reference); otherwise the instance shows `modifying` for the first
  quarter of its drawn time, then `rebooting`, then `available` on the new CA with a server
  certificate issued by it and a new ValidTill (what rdsca.rollout.outcome.is_verified checks).

How long one change takes is drawn per instance (seeded): log-normal with a median of
`--median-minutes` and spread `--sigma`, in real minutes. AWS publishes no distribution of CA
change times; the log-normal (most changes in a few minutes, a long tail of slow ones) is an
assumption. The benchmark runs `--scale` times faster than real time: every drawn time, and the
latency, is divided by it, and the RDS bucket's refill is multiplied by it (the burst, a count,
stays), so that a client polling at its real interval divided by the scale meets the same budget.

With `--others R`, the user's other tools are taken to call R times per second per account-region
all along and to have spent the burst already: the bucket starts empty and refills at 12 - R per
second for rdsca, which then meets `Throttling` from its first calls.

Control API, besides server.py's: GET /_standin/rotation (per instance: when the modify came, the
drawn seconds, when it finished; per RDS account-region: the time of every call and the lowest
level its token bucket reached).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from standin import fleet as fleetmod
from standin import server

TARGET_CA = "rds-ca-rsa2048-g1"
WAVE_TAGS = ("dev", "staging", "prod")
# Engines whose instances are rotated one by one (no Aurora: its members belong to clusters).
ENGINES = tuple(e for e in fleetmod.ENGINES if not e[0].startswith("aurora"))
MODIFYING_SHARE = 0.25  # of the drawn time shown as `modifying`, the rest as `rebooting`
RENEWED_TILL = "2027-12-01T08:00:00Z"  # the new server certificate's ValidTill (any future date)
_FILTER_NAME = re.compile(r"^Filters\.Filter\.(\d+)\.Name$")
_FILTER_VALUE = re.compile(r"^Filters\.Filter\.(\d+)\.Values\.Value\.\d+$")


@dataclass(frozen=True)
class RotationSpec:
    instances: int = 2000
    regions: int = 4
    median_minutes: float = 4.0
    sigma: float = 0.6
    scale: float = 60.0
    seed: int = 13
    others: float = 0.0  # real calls per second per account-region that the user's other tools make


def draw_minutes(spec: RotationSpec, keys: list[str]) -> dict[str, float]:
    """Real minutes one change of each instance takes (seeded, in the order of `keys`)."""
    rng = random.Random(spec.seed + 7)
    return {k: spec.median_minutes * math.exp(spec.sigma * rng.gauss(0.0, 1.0)) for k in keys}


def layout(spec: RotationSpec) -> list[tuple[str, str, str]]:
    """(account, region, name) of every instance: one account, spread evenly over the regions."""
    account = fleetmod.MANAGEMENT_ACCOUNT
    regions = fleetmod.REGIONS[: spec.regions]
    return [
        (account, regions[i % len(regions)], f"db-{i // len(regions):05d}") for i in range(spec.instances)
    ]


@dataclass
class Member:
    template: str  # the rendered instance with {status}, {ca} and {till} to fill in
    duration: float  # bench seconds one change takes
    modified_at: float | None = None
    ca: str = fleetmod.RETIRED_CA
    till: str = "2024-08-22T17:08:50Z"
    done_at: float | None = None

    def state(self, now: float) -> str:
        if self.modified_at is None:
            return "available"
        age = now - self.modified_at
        if age >= self.duration:
            if self.done_at is None:
                self.done_at = self.modified_at + self.duration
                self.ca, self.till = TARGET_CA, RENEWED_TILL
            return "available"
        return "modifying" if age < MODIFYING_SHARE * self.duration else "rebooting"

    def render(self, now: float) -> bytes:
        status = self.state(now)
        return self.template.format(status=status, ca=self.ca, till=self.till).encode()


def build(spec: RotationSpec) -> tuple[fleetmod.Fleet, dict[tuple[str, str], dict[str, Member]]]:
    """The fleet (answers that do not change) and the members (answers that do)."""
    places = layout(spec)
    minutes = draw_minutes(spec, [f"{a}/{r}/{n}" for a, r, n in places])
    accounts = (fleetmod.MANAGEMENT_ACCOUNT,)
    regions = fleetmod.REGIONS[: spec.regions]
    counts = {(accounts[0], r): sum(1 for _, rr, _ in places if rr == r) for r in regions}
    fleet = fleetmod.Fleet(fleetmod.Spec(accounts=1, regions=spec.regions, instances=spec.instances,
                                         retired=1.0, pending=0.0, seed=spec.seed),
                           accounts, regions, counts)  # fmt: skip
    rng = random.Random(spec.seed)
    members: dict[tuple[str, str], dict[str, Member]] = {(accounts[0], r): {} for r in regions}
    for account, region, name in places:
        engine = ENGINES[rng.randrange(len(ENGINES))]
        arn = f"arn:aws:rds:{region}:{account}:db:{name}"
        raw = fleetmod.instance_xml(rng, account, region, name, arn, engine, True).decode()
        raw = raw.replace("{", "{{").replace("}", "}}")
        raw = raw.replace("<DBInstanceStatus>available<", "<DBInstanceStatus>{status}<")
        raw = raw.replace(f">{fleetmod.RETIRED_CA}<", ">{ca}<").replace(">2024-08-22T17:08:50Z<", ">{till}<")
        minute = minutes[f"{account}/{region}/{name}"]
        members[(account, region)][name] = Member(raw, minute * 60.0 / spec.scale)
        fleet.on_retired += 1
    for key in members:
        fleet.pending_xml[key] = []
    for region in regions:
        fleet.certificates[region] = fleetmod.certificates_answer()
    for engine, version, family, no_restart in fleetmod.ENGINES:
        fleet.engine_versions[(engine, version)] = fleetmod.engine_answer(engine, version, family, no_restart)
    fleet.regions_answer = fleetmod.regions_answer(regions)
    fleet.account_pages = fleetmod.account_pages(accounts)
    return fleet, members


class RotationStandIn(server.StandIn):
    def __init__(self, spec: RotationSpec, latency: tuple[float, float]) -> None:
        fleet, self.members = build(spec)
        self.spec = spec
        super().__init__(fleet, latency, spec.seed)
        burst, rate = server.BUCKETS["rds"]
        # Other tools calling steadily at `others` per second leave rdsca the rest of the refill;
        # when they call at all, they have spent the burst before the rotation starts.
        self.limits["rds"] = (burst, (rate - spec.others) * spec.scale)
        self.started = time.monotonic()

    def reset(self) -> None:
        super().reset()
        self.call_times: dict[str, list[float]] = {}
        self.low_tokens: dict[str, float] = {}

    def _admit(self, service: str, account: str, region: str) -> bool:
        key = (service, account, region)
        if service == "rds" and self.spec.others and key not in self.buckets:
            burst, rate = self.limits["rds"]
            self.buckets[key] = server.Bucket(burst, rate, 0.0, time.monotonic())
        admitted = super()._admit(service, account, region)
        if service == "rds":
            target = f"{account}/{region}"
            self.call_times.setdefault(target, []).append(time.monotonic() - self.started)
            tokens = self.buckets[(service, account, region)].tokens
            self.low_tokens[target] = min(self.low_tokens.get(target, tokens), tokens)
        return admitted

    def _route(
        self, service: str, action: str, account: str, region: str, form: dict, params: dict
    ) -> tuple[int, bytes, bytes]:
        if service == "rds" and action in ("DescribeDBInstances", "ModifyDBInstance"):
            here = self.members.get((account, region), {})
            now = time.monotonic()
            if action == "ModifyDBInstance":
                return self._modify(here, form, now)
            return self._describe(here, form, now)
        return super()._route(service, action, account, region, form, params)

    def _describe(self, here: dict[str, Member], form: dict, now: float) -> tuple[int, bytes, bytes]:
        names = {m.group(1): v for k, v in form.items() if (m := _FILTER_NAME.match(k))}
        wanted: set[str] = set()
        filtered = False
        for key, value in form.items():
            m = _FILTER_VALUE.match(key)
            if m and names.get(m.group(1)) == "db-instance-id":
                filtered = True
                wanted.add(value.rsplit(":", 1)[-1])  # an ARN or an identifier
        if form.get("DBInstanceIdentifier"):
            one = form["DBInstanceIdentifier"]
            if one not in here:
                return self._error("DBInstanceNotFound", f"DBInstance {one} not found.", 404)
            filtered, wanted = True, {one}
        chosen = [n for n in here if n in wanted] if filtered else list(here)
        size = max(20, min(100, int(form.get("MaxRecords") or 100)))
        start = int(form.get("Marker") or 0)
        page = chosen[start : start + size]
        marker = str(start + size) if start + size < len(chosen) else None
        items = [here[n].render(now) for n in page]
        return (
            200,
            b"text/xml",
            fleetmod.rds_page("DescribeDBInstances", "DBInstances", items, marker, "page"),
        )

    def _modify(self, here: dict[str, Member], form: dict, now: float) -> tuple[int, bytes, bytes]:
        name = form.get("DBInstanceIdentifier", "")
        member = here.get(name)
        if member is None:
            return self._error("DBInstanceNotFound", f"DBInstance {name} not found.", 404)
        if member.state(now) != "available":
            return self._error("InvalidDBInstanceState", f"Instance {name} is not available.")
        if form.get("CACertificateIdentifier") != TARGET_CA:
            return self._error("InvalidParameterValue", "the stand-in only rotates to " + TARGET_CA)
        if member.ca != TARGET_CA:
            member.modified_at = now
        body = (
            f'<ModifyDBInstanceResponse xmlns="{fleetmod.RDS_NS}"><ModifyDBInstanceResult>'.encode()
            + member.render(now)
            + b"</ModifyDBInstanceResult><ResponseMetadata><RequestId>modify</RequestId>"
            b"</ResponseMetadata></ModifyDBInstanceResponse>"
        )
        return 200, b"text/xml", body

    def control(self, method: bytes, path: str, body: bytes) -> tuple[int, bytes, bytes] | None:
        if path == "/_standin/rotation" and method == b"GET":
            now = time.monotonic()
            instances = {}
            for (account, region), here in self.members.items():
                for name, m in here.items():
                    m.state(now)
                    instances[f"{account}/{region}/{name}"] = {
                        "modified_at": None if m.modified_at is None else m.modified_at - self.started,
                        "seconds": m.duration,
                        "done_at": None if m.done_at is None else m.done_at - self.started,
                    }
            data = {
                "spec": self.spec.__dict__,
                "now": now - self.started,
                "instances": instances,
                "call_times": self.call_times,
                "low_tokens": self.low_tokens,
                "buckets": {k: list(v) for k, v in self.limits.items()},
            }
            return server._json(data)
        return super().control(method, path, body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--url-file", type=Path)
    parser.add_argument("--instances", type=int, default=2000)
    parser.add_argument("--regions", type=int, default=4)
    parser.add_argument("--median-minutes", type=float, default=4.0)
    parser.add_argument("--sigma", type=float, default=0.6)
    parser.add_argument("--scale", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--others", type=float, default=0.0, help="real calls/s of other tools")
    parser.add_argument("--latency-min", type=float, default=0.1, help="real seconds (divided by --scale)")
    parser.add_argument("--latency-max", type=float, default=0.3, help="real seconds (divided by --scale)")
    args = parser.parse_args(argv)
    spec = RotationSpec(
        args.instances, args.regions, args.median_minutes, args.sigma, args.scale, args.seed, args.others
    )
    app = RotationStandIn(spec, (args.latency_min / spec.scale, args.latency_max / spec.scale))
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        asyncio.run(server.run(app, args.host, args.port, args.url_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
