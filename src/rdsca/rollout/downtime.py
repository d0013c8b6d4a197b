"""The downtime an instance really had during its step, measured by probing its endpoint.

While a step runs, a thread probes the instance's endpoint every `interval` seconds: a TLS
handshake where the engine speaks TLS on its endpoint port (the credential-free probe of
`rdsca.readiness.probe`: PostgreSQL SSLRequest, MySQL greeting, or TLS at once), a TCP connect
otherwise. Downtime runs from the first probe that fails (refused, reset, closed, timed out) to the
first good one after it; several outages in one step add up, and only after the endpoint answered
once: an endpoint that never answers from here (another network, a firewall) is "not measured",
never "down all along". A step that ends while the endpoint is down is reported `recovered=None`.
Stopping a watch never waits for a probe in flight: the executor's loop must not slow down.

The precision is about one interval (plus the probe's own timeout for an endpoint that stops
answering rather than refusing). One thread per running step, and at most `limit` at once (the
executor passes its max-parallel, so the threads never outnumber the running steps).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from rdsca import engines
from rdsca.model import Instance

DEFAULT_INTERVAL = 1.0
PROBE_TIMEOUT = 2.0  # seconds one probe may take; an endpoint slower than that counts as down


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    protocol: str | None  # postgres | mysql | tls; None: a TCP connect only

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @classmethod
    def of(cls, inst: Instance) -> Target | None:
        if not inst.endpoint or not inst.port:
            return None
        facts = engines.facts(inst.engine)
        protocol = facts.probe_protocol if facts.tls_on_endpoint_port else None
        return cls(inst.endpoint, inst.port, protocol)


@dataclass(frozen=True)
class Downtime:
    """What one step's endpoint did: seconds down, from the first failure to the last recovery."""

    endpoint: str
    seconds: float
    first_failure: datetime | None
    recovered: datetime | None  # None while down (or down at the end of the step)
    outages: int
    probes: int
    failures: int
    last_error: str = ""
    measured: bool = True  # False: the endpoint never answered from here

    def detail(self) -> dict[str, object]:
        return {
            "measured": self.measured,
            "endpoint": self.endpoint,
            "seconds": round(self.seconds, 3),
            "first_failure": _iso(self.first_failure),
            "recovered": _iso(self.recovered),
            "outages": self.outages,
            "probes": self.probes,
            "failures": self.failures,
            "last_error": self.last_error,
        }


def _iso(at: datetime | None) -> str | None:
    return at.isoformat(timespec="milliseconds") if at else None


def check(target: Target, timeout: float = PROBE_TIMEOUT) -> str | None:
    """None when the endpoint answers (handshake done, or connected); else why not."""
    if target.protocol is None:
        try:
            with socket.create_connection((target.host, target.port), timeout=timeout):
                return None
        except OSError as exc:
            return f"connect: {exc.strerror or exc}"
    from rdsca.readiness.probe import Endpoint, probe  # imported when measuring: cheap CLI start
    from rdsca.readiness.probe_wire import Outcome, Protocol

    result = probe(Endpoint(target.host, target.port, Protocol(target.protocol)), timeout=timeout)
    return None if result.outcome in (Outcome.TLS, Outcome.NO_TLS) else f"{result.outcome}: {result.message}"


Check = Callable[[Target], str | None]


class Watch:
    """One step's endpoint, probed in a daemon thread until `stop()`."""

    def __init__(
        self,
        target: Target,
        interval: float = DEFAULT_INTERVAL,
        probe: Check = check,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.target, self.interval, self._probe, self._now = target, interval, probe, now
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._down_since: datetime | None = None
        self._first: datetime | None = None
        self._recovered: datetime | None = None
        self._seconds = 0.0
        self._outages = self._probes = self._failures = 0
        self._ever_up = False
        self._error = ""
        name = f"rdsca-downtime-{target.address}"
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> Watch:
        self._thread.start()
        return self

    def _once(self) -> None:
        at = self._now()
        error = self._probe(self.target)
        with self._lock:
            self._probes += 1
            if error is not None:
                self._failures += 1
                self._error = error[:200]
                if self._down_since is None and self._ever_up:
                    self._down_since, self._outages = at, self._outages + 1
                    self._first = self._first or at
            else:
                self._ever_up = True
                if self._down_since is not None:
                    self._seconds += (at - self._down_since).total_seconds()
                    self._down_since, self._recovered = None, at

    def join(self) -> None:
        self._thread.join(timeout=PROBE_TIMEOUT + self.interval + 1.0)

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self._once()
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def stop(self) -> Downtime:
        """Stop probing and say what was seen. A probe in flight is not waited for (its thread
        ends by itself; `Watches.stop_all` joins them once, at the end of the run): the executor's
        loop never blocks on it. An endpoint that went down (it answered before) is probed once
        more, to see it back."""
        self._stop.set()
        if self._down_since is not None:
            self._once()
        with self._lock:
            seconds = self._seconds
            if self._down_since is not None:  # still down at the end of the step
                seconds += (self._now() - self._down_since).total_seconds()
            return Downtime(self.target.address, seconds, self._first,
                            None if self._down_since else self._recovered, self._outages, self._probes,
                            self._failures, self._error, measured=self._ever_up)  # fmt: skip


class Watches:
    """The running steps' watches, keyed by step; at most `limit` at once."""

    def __init__(self, enabled: bool, interval: float, limit: int, probe: Check = check) -> None:
        self.enabled, self.interval, self.limit, self.probe = enabled, interval, limit, probe
        self._running: dict[str, Watch] = {}
        self._ending: list[Watch] = []  # stopped, a probe may still be in flight

    def start(self, key: str, views: list[Instance]) -> str | None:
        """Watch the step's instance (a single instance: a cluster step's members are not measured);
        the endpoint's address, or None when none is watched."""
        if not self.enabled or key in self._running or len(views) != 1 or len(self._running) >= self.limit:
            return None
        target = Target.of(views[0])
        if target is None:
            return None
        self._running[key] = Watch(target, self.interval, self.probe).start()
        return target.address

    def watching(self, key: str) -> bool:
        return key in self._running

    def stop(self, key: str) -> Downtime | None:
        found = self._running.pop(key, None)
        if found is None:
            return None
        self._ending.append(found)
        return found.stop()

    def stop_all(self) -> None:
        """At the end of a run: stop every watch and let the probes in flight finish."""
        for key in list(self._running):
            self.stop(key)
        for watch in self._ending:
            watch.join()
        self._ending.clear()

    def __len__(self) -> int:
        return len(self._running)
