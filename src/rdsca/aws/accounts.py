"""One botocore client per service and region, shared by every account; a rate limit per account.

Building a botocore client costs about 10 ms of CPU and some 350 kB (it builds a class with every
operation of the service, copies the event hooks, opens its own connection pool). An organization
of 500 accounts x 17 regions would need 8,500 RDS clients: a minute and a half of CPU and 3 GB
before the first call. So rdsca builds one client per (service, region) and hands each account a
thin view of it, `AccountClient`: every call made through the view is signed with that account's
keys (a context variable read by the shared client's credentials at signing time, in the calling
thread), and, once AWS has throttled that account-region, starts only when its token bucket
allows it.

Throttling is per account and region at AWS ("Amazon RDS throttles API requests for each AWS
account in each AWS Region": Request throttling for the Amazon RDS API, Amazon RDS User Guide,
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-api-throttling.html), so the limiter
is too: one busy account never slows the others. A throttled call is retried here, after a
back-off, with the account-region's bucket emptied, up to THROTTLE_RETRIES times; only then does
the error reach the caller. botocore's own retries (standard mode) stay for transient errors.
"""

from __future__ import annotations

import copy
import random
import threading
import time
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import botocore.exceptions as bce
from botocore.credentials import CredentialProvider, Credentials, ReadOnlyCredentials

from rdsca.aws.errors import PARSE_SLIPS, error_code, not_an_answer

# Once AWS has throttled an (account, service, region), its calls wait for a token of its bucket.
# RDS allows a burst of 300 and 12 requests per second per account and region (page above); rdsca
# then keeps to less, leaving the user's other tools room: RATE per second, BURST at most.
BURST = 100.0
RATE = 10.0
THROTTLE_RETRIES = 8
BACKOFF_CAP = 20.0  # seconds

# The paces AWS documents, per service: (burst, refill per second) rdsca keeps to once throttled.
# EC2: "Request throttling for the Amazon EC2 API" (Amazon EC2 API Reference): non-mutating
# actions, a bucket of 100 and 20 per second; rdsca keeps to 80% of both, as for RDS.
DOCUMENTED = {"rds": (BURST, RATE), "ec2": (80.0, 16.0)}
# Others (STS's AssumeRole, Organizations) publish no rate: once throttled, their pace is found the
# way TCP finds a link's: halved at a throttle (at most once per HALVE_EVERY seconds, since the
# calls in flight are throttled together), then raised by a tenth plus one call per second for
# every second without one (additive increase, multiplicative decrease).
HALVE_EVERY = 1.0
MIN_RATE = 1.0


@dataclass(frozen=True)
class Caller:
    """Who a call is made for: the account's credentials and the bucket it is counted in."""

    credentials: Any  # botocore Credentials (static or refreshable), or None: no credentials found
    key: tuple[str, str, str]  # (account or profile, service, region)


_CALLER: ContextVar[Caller | None] = ContextVar("rdsca_aws_caller", default=None)


class _PerCallCredentials(Credentials):
    """The shared client's credentials: those of the account the calling thread works for."""

    def __init__(self) -> None:
        super().__init__("per-call", "per-call", method="rdsca-per-account")

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        caller = _CALLER.get()
        if caller is None:  # a call outside AccountClient: refuse rather than sign as anyone
            raise bce.NoCredentialsError()
        if caller.credentials is None:
            raise bce.NoCredentialsError()
        frozen: ReadOnlyCredentials = caller.credentials.get_frozen_credentials()
        return frozen


class PerCallProvider(CredentialProvider):
    """Put first in a botocore session's credential chain: its clients sign per call."""

    METHOD = "rdsca-per-account"
    CANONICAL_NAME = "rdsca-per-account"

    def load(self) -> Credentials:
        return _PerCallCredentials()


class Bucket:
    """An account-region's pace: unlimited until AWS throttles it, then a token bucket (BURST at
    most), so that the retries and the calls after them stay within its budget. `take` blocks until
    a token is there. With `rate` None the refill is learnt (see DOCUMENTED above): half the pace
    of the second before the throttle, halved again at each later throttle, raised while none come.
    """

    def __init__(
        self, burst: float = BURST, rate: float | None = RATE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst, self.adaptive = burst, rate is None
        self.rate = RATE if rate is None else rate
        self.clock = clock
        self.limited = False
        self.tokens = 0.0
        self.at = self.halved_at = self.window_at = clock()
        self.sent = self.window_sent = 0  # calls started this window and the one before (the pace)
        self.lock = threading.Lock()

    def take(self) -> None:
        if not self.limited:
            if self.adaptive:
                with self.lock:
                    self._count(self.clock())
            return
        while self.limited:
            with self.lock:
                now = self.clock()
                if self.adaptive:
                    self._count(now)
                    self.rate += (self.rate * 0.1 + 1.0) * (now - self.at)  # additive increase
                self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
                self.at = now
                if self.tokens >= 1.0:
                    self.tokens -= 1.0
                    return
                wait = (1.0 - self.tokens) / self.rate
            time.sleep(wait)

    def _count(self, now: float) -> None:
        if now - self.window_at >= 1.0:
            self.window_sent, self.sent, self.window_at = self.sent, 0, now
        self.sent += 1

    def pace(self) -> float:
        """Calls started per second lately (the last full window, or this one if busier)."""
        return float(max(self.window_sent, self.sent))

    def drain(self) -> None:
        """After a throttle: AWS's bucket is empty, so is ours; calls resume at the refill rate."""
        with self.lock:
            now = self.clock()
            if self.adaptive and (not self.limited or now - self.halved_at >= HALVE_EVERY):
                start = self.pace() if not self.limited else self.rate
                self.rate = max(MIN_RATE, start / 2)
                self.halved_at = now
            self.limited = True
            self.tokens = min(self.tokens, 0.0)
            self.at = now


class Limits:
    """The buckets of every (account, service, region), and what throttling was seen."""

    def __init__(self, burst: float = BURST, rate: float = RATE) -> None:
        self.burst, self.rate = burst, rate
        self._buckets: dict[tuple[str, str, str], Bucket] = {}
        self._lock = threading.Lock()
        self.throttled = 0  # throttling errors answered by AWS and retried here
        self.gave_up = 0  # throttling errors passed on to the caller after THROTTLE_RETRIES

    def bucket(self, key: tuple[str, str, str]) -> Bucket:
        with self._lock:
            found = self._buckets.get(key)
            if found is None:
                burst, rate = (
                    (self.burst, self.rate) if key[1] == "rds" else DOCUMENTED.get(key[1], (BURST, None))
                )
                found = self._buckets[key] = Bucket(burst, rate)
            return found

    def count(self, gave_up: bool) -> None:
        with self._lock:
            if gave_up:
                self.gave_up += 1
            else:
                self.throttled += 1


def _backoff(attempt: int) -> float:
    return float(random.uniform(0.5, 1.0) * min(BACKOFF_CAP, 2.0**attempt))


def is_throttle(exc: BaseException) -> bool:
    from rdsca.aws.actions import THROTTLING_CODES  # here: actions imports this module's importers

    return error_code(exc) in THROTTLING_CODES


# A botocore paginator per (shared client, operation), copied for each account's view: botocore's
# get_paginator builds a new class and its docstring on every call (botocore/client.py), which, at
# four paginated reads per account-region, was tens of microseconds on every one of them.
_PAGINATORS: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
_PAGINATORS_LOCK = threading.Lock()


def _paginator_template(client: Any, operation: str) -> Any:
    with _PAGINATORS_LOCK:
        found = _PAGINATORS.setdefault(client, {}).get(operation)
    if found is None:
        found = client.get_paginator(operation)
        with _PAGINATORS_LOCK:
            found = _PAGINATORS[client].setdefault(operation, found)
    return found


def _raise_foreign(exc: Exception) -> None:
    """Raise `exc` as a ResponseParserError if botocore's parser raised it (rdsca.aws.errors)."""
    foreign = not_an_answer(exc)
    if foreign is not None:
        raise foreign from exc


class AccountClient:
    """A shared botocore client as seen by one account: same methods, paginators and waiters."""

    __slots__ = ("_bucket", "_caller", "_client", "_limits", "_retry_throttles")

    def __init__(self, client: Any, caller: Caller, limits: Limits, retry_throttles: bool = True) -> None:
        self._client = client
        self._caller = caller
        self._limits = limits
        self._bucket = limits.bucket(caller.key)
        self._retry_throttles = retry_throttles

    @property
    def meta(self) -> Any:
        return self._client.meta

    @property
    def exceptions(self) -> Any:
        return self._client.exceptions

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr) or name.startswith("_") or name == "can_paginate":
            return attr
        if name == "get_paginator":
            return self._paginator
        if name == "get_waiter":
            return self._waiter
        return lambda *args, **kwargs: self.call(attr, *args, **kwargs)

    def call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        attempt = 0
        while True:
            self._bucket.take()
            token = _CALLER.set(self._caller)
            try:
                return method(*args, **kwargs)
            except PARSE_SLIPS as exc:
                _raise_foreign(exc)
                raise
            except bce.ClientError as exc:
                if not (self._retry_throttles and is_throttle(exc)):
                    raise
                if attempt >= THROTTLE_RETRIES:
                    self._limits.count(gave_up=True)
                    raise
                self._limits.count(gave_up=False)
                self._bucket.drain()
            finally:
                _CALLER.reset(token)
            time.sleep(_backoff(attempt))
            attempt += 1

    def _paginator(self, operation: str) -> Any:
        paginator = copy.copy(_paginator_template(self._client, operation))
        inner = paginator._method  # botocore.paginate.Paginator: the bound operation it pages with
        paginator._method = lambda **kwargs: self.call(inner, **kwargs)
        return paginator

    def _waiter(self, name: str) -> Any:
        waiter = self._client.get_waiter(name)
        view = self

        class _Waiter:
            def wait(self, **kwargs: Any) -> None:
                token = _CALLER.set(view._caller)
                try:
                    waiter.wait(**kwargs)
                except PARSE_SLIPS as exc:
                    _raise_foreign(exc)
                    raise
                finally:
                    _CALLER.reset(token)

        return _Waiter()
