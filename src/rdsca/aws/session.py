"""The one session factory: profiles, assumed roles, regions, endpoints and retries."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
import botocore.exceptions as bce
import botocore.session
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.utils import parse_timestamp

from rdsca.aws.accounts import AccountClient, Caller, Limits, PerCallProvider
from rdsca.aws.errors import AWS_ERRORS, describe_error
from rdsca.aws.permissions import needs
from rdsca.errors import AwsAccessError, ConfigError
from rdsca.model import Target
from rdsca.redaction import register_credentials

DEFAULT_REGION = "us-east-1"
MAX_ASSUME_WORKERS = 64  # roles assumed at once (each is a round trip; STS answers many in parallel)
_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")


@dataclass(frozen=True)
class AwsSettings:
    """How to reach AWS: endpoint and retry policy. Shared by every client rdsca builds."""

    endpoint_url: str | None = None
    # "standard", not "adaptive": a client serves every account of its region (rdsca.aws.accounts),
    # and adaptive mode's client-side rate limit would let one throttled account slow them all.
    # Throttling is limited and retried per account and region in rdsca.aws.accounts instead.
    retry_mode: str = "standard"
    max_attempts: int = 6
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_pool_connections: int = 128  # one client carries the calls of every account of its region
    # Writes: one attempt (rdsca.aws.actions decides what to do when the outcome is unknown) and a
    # longer read timeout, since a reply that comes late is better than a write in doubt.
    write_read_timeout: float = 60.0

    def botocore_config(self, write: bool = False) -> Config:
        if write:
            return Config(
                retries={"mode": "standard", "total_max_attempts": 1},
                connect_timeout=self.connect_timeout,
                read_timeout=self.write_read_timeout,
                max_pool_connections=self.max_pool_connections,
            )
        return Config(
            retries={"mode": self.retry_mode, "total_max_attempts": self.max_attempts},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_pool_connections=self.max_pool_connections,
        )


def _timestamp(value: Any) -> datetime:
    """botocore's timestamp parser, with a short cut for the form AWS's query and XML answers use.

    botocore parses every timestamp of an answer with dateutil (botocore.utils.parse_timestamp,
    the default of ResponseParserFactory.set_parser_defaults(timestamp_parser=...) in
    botocore/parsers.py, https://github.com/boto/botocore/blob/develop/botocore/parsers.py): about
    60 us each, and a DBInstance carries several, so at 25,000 instances it was a seventh of the
    audit's CPU. "2024-08-22T17:08:50.123Z" is ISO 8601 in UTC, which datetime.fromisoformat reads
    (Python 3.11+) to the same instant in a few microseconds; anything else (epoch seconds,
    RFC 822, offsets, no zone) goes to botocore's parser as before.
    """
    if type(value) is str and len(value) >= 20 and value[-1] == "Z" and value[10] == "T" and value[4] == "-":
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    parsed: datetime = parse_timestamp(value)
    return parsed


class _Shared:
    """The boto3 session behind a profile and every role assumed from it, and the clients.

    One client per (service, region, read or write) serves every account: each account gets an
    `AccountClient` view that signs its calls with the account's keys (see rdsca.aws.accounts), so
    the service models are loaded once and the clients built once, not once per account-region.
    boto3 sessions are not thread-safe: client creation is serialised; the clients themselves are
    safe to share between threads.
    """

    def __init__(self, session: Any, profile: str | None) -> None:
        self.session = session
        self.profile = profile
        self.lock = threading.Lock()
        self.limits = Limits()
        self._signing: Any = None  # the session the shared clients come from (per-call credentials)
        self._clients: dict[tuple[str, bool, str], Any] = {}
        self._base_credentials: Any = None
        self._base_resolved = False

    def client(self, service: str, region: str, write: bool, settings: AwsSettings) -> Any:
        key = (service, write, region)
        with self.lock:
            found = self._clients.get(key)
            if found is None:
                if self._signing is None:
                    core = botocore.session.Session(profile=self.profile)
                    # First in the chain, whatever comes first: botocore leaves its "env" provider
                    # out when a profile is named (botocore/credentials.py, create_credential_resolver),
                    # so "insert before env" failed for every --profile.
                    chain = core.get_component("credential_provider")
                    chain.insert_before(chain.providers[0].METHOD, PerCallProvider())
                    core.get_component("response_parser_factory").set_parser_defaults(
                        timestamp_parser=_timestamp
                    )
                    self._signing = boto3.session.Session(botocore_session=core)
                found = self._clients[key] = self._signing.client(
                    service,
                    region_name=region,
                    endpoint_url=settings.endpoint_url,
                    config=settings.botocore_config(write),
                )
            return found

    def base_credentials(self) -> Any:
        """The profile's own credentials (refreshed by botocore when they are temporary)."""
        with self.lock:
            if not self._base_resolved:
                self._base_credentials = self.session.get_credentials()
                self._base_resolved = True
            return self._base_credentials


@dataclass
class SessionFactory:
    """Builds clients for one set of credentials: a profile, or a role assumed from it."""

    settings: AwsSettings = field(default_factory=AwsSettings)
    profile: str | None = None
    credentials: dict[str, str] | None = field(default=None, repr=False)
    _shared: _Shared | None = None
    account: str | None = None  # the assumed account (None: the profile's own)
    _keys: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self._shared is None:
            try:
                self._shared = _Shared(boto3.session.Session(profile_name=self.profile), self.profile)
            except bce.ProfileNotFound as exc:
                raise ConfigError(f"AWS profile {self.profile!r} not found in your AWS config") from exc
        if self.credentials:
            self._keys = Credentials(
                self.credentials["AccessKeyId"],
                self.credentials["SecretAccessKey"],
                self.credentials.get("SessionToken"),
            )

    @property
    def _session(self) -> Any:
        assert self._shared is not None
        return self._shared.session

    def client(self, service: str, region: str, write: bool = False) -> Any:
        """A client for reads (retried by botocore, throttles retried per account-region) or, with
        `write`, for writes (never retried: rdsca.aws.actions decides)."""
        shared = self._shared
        assert shared is not None
        keys = self._keys if self._keys is not None else shared.base_credentials()
        who = self.account or f"profile:{self.profile or 'default'}"
        caller = Caller(keys, (who, service, region))
        client = shared.client(service, region, write, self.settings)
        return AccountClient(client, caller, shared.limits, retry_throttles=not write)

    def frozen_keys(self) -> tuple[str, str, str | None] | None:
        """The keys this factory signs with, as they are now (access key, secret, token), for a
        worker process that reads some of its targets (rdsca.aws.shards); None: none found."""
        assert self._shared is not None
        keys = self._keys if self._keys is not None else self._shared.base_credentials()
        if keys is None:
            return None
        frozen = keys.get_frozen_credentials()
        return (frozen.access_key, frozen.secret_key, frozen.token)

    @property
    def limits(self) -> Limits:
        """The per account-region buckets and the throttling seen so far (shared by the roles)."""
        assert self._shared is not None
        return self._shared.limits

    @property
    def home_region(self) -> str:
        return self._session.region_name or DEFAULT_REGION

    @needs("sts:GetCallerIdentity", used_by=("audit",))
    def account_id(self) -> str:
        try:
            return str(self.client("sts", self.home_region).get_caller_identity()["Account"])
        except AWS_ERRORS as exc:
            raise AwsAccessError(f"cannot identify the AWS account: {describe_error(exc)}") from exc

    @needs("sts:AssumeRole", used_by=("audit",))
    def assume(self, role_arn: str) -> SessionFactory:
        resp = self.client("sts", self.home_region).assume_role(RoleArn=role_arn, RoleSessionName="rdsca")
        register_credentials(resp["Credentials"])  # never printed, even with --debug
        return SessionFactory(
            settings=self.settings,
            profile=self.profile,
            credentials=resp["Credentials"],
            _shared=self._shared,
            account=role_arn.split(":")[4] or None,
        )

    @needs("ec2:DescribeRegions", used_by=("audit",))
    def enabled_regions(self) -> tuple[str, ...]:
        resp = self.client("ec2", self.home_region).describe_regions(AllRegions=False)
        return tuple(sorted(r["RegionName"] for r in resp["Regions"]))

    @needs("organizations:ListAccounts", used_by=("audit",))
    def organization_pages(self) -> Iterator[tuple[str, ...]]:
        """The organization's active accounts, a page at a time (so that work on the first page
        can start while the next is read)."""
        pages = self.client("organizations", self.home_region).get_paginator("list_accounts")
        try:
            for page in pages.paginate():
                yield tuple(a["Id"] for a in page["Accounts"] if a.get("Status") == "ACTIVE")
        except AWS_ERRORS as exc:
            raise AwsAccessError(f"cannot list the organization's accounts: {describe_error(exc)}") from exc

    def organization_accounts(self) -> tuple[str, ...]:
        return tuple(sorted(a for page in self.organization_pages() for a in page))

    def known_regions(self) -> frozenset[str]:
        out: set[str] = set()
        for partition in self._session.get_available_partitions():
            out.update(self._session.get_available_regions("rds", partition_name=partition))
        return frozenset(out)


@dataclass(frozen=True)
class ResolvedTarget:
    """A target and the factory that reaches it, or the reason it cannot be reached."""

    target: Target
    factory: SessionFactory | None
    error: str | None = None


def validate_regions(factory: SessionFactory, regions: Sequence[str]) -> None:
    known = factory.known_regions()
    for region in regions:
        if region in known:
            continue
        if not _REGION_RE.match(region):
            raise ConfigError(f"unknown region {region!r} (expected a name like eu-west-1)")
        # A well-formed name botocore does not list yet: newer than this botocore; allow it.


def resolve_targets(
    *,
    profiles: Sequence[str] = (),
    regions: Sequence[str] = (),
    accounts: Sequence[str] = (),
    role_name: str | None = None,
    org: bool = False,
    settings: AwsSettings | None = None,
    on_account: Callable[[list[ResolvedTarget]], None] | None = None,
) -> list[ResolvedTarget]:
    """Turn the user's AWS flags into account x region targets.

    A profile that does not exist or credentials that do not work are errors for the whole run
    (nothing could be read). An account whose role cannot be assumed becomes failed targets, so
    the other accounts are still reported and the exit code says "partial".

    `on_account`, when given, sees each account's targets as soon as they are resolved (from a
    worker thread, in no particular order), so that reading them can start before the last role
    is assumed; the list returned at the end is in the usual order (accounts, then regions).
    """
    settings = settings or AwsSettings()
    out: list[ResolvedTarget] = []
    for profile in profiles or (None,):
        base = SessionFactory(settings=settings, profile=profile)
        if regions:
            validate_regions(base, regions)
        if not accounts and not org:
            mine = _targets_for(base, base.account_id(), profile, None, regions)
            if on_account is not None:
                on_account(mine)
            out.extend(mine)
            continue
        out.extend(_assume_all(base, profile, accounts, org, role_name, regions, on_account))
    return out


@dataclass(frozen=True)
class TargetQuery:
    """The user's AWS flags, turned into targets when called (`resolve_targets`). Called with a
    feed, it hands each account's targets to it as soon as they are known (rdsca.aws.shards reads
    them while the other roles are assumed)."""

    profiles: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    role_name: str | None = None
    org: bool = False
    settings: AwsSettings | None = None

    def __call__(
        self, on_account: Callable[[list[ResolvedTarget]], None] | None = None
    ) -> list[ResolvedTarget]:
        return resolve_targets(
            profiles=self.profiles,
            regions=self.regions,
            accounts=self.accounts,
            role_name=self.role_name,
            org=self.org,
            settings=self.settings,
            on_account=on_account,
        )


def _assume_all(
    base: SessionFactory,
    profile: str | None,
    accounts: Sequence[str],
    org: bool,
    role_name: str | None,
    regions: Sequence[str],
    on_account: Callable[[list[ResolvedTarget]], None] | None,
) -> list[ResolvedTarget]:
    """Every account's role, assumed as soon as the account is known: the organization's pages are
    read one after another (each names the next), and the accounts of a page are assumed while the
    next page is read. The caller's identity (the check that the credentials work) is asked for at
    the same time; when it fails, nothing else counts."""
    by_account: dict[str, list[ResolvedTarget]] = {}

    def reach(account_id: str) -> None:
        found = _assume(base, account_id, profile=profile, role_name=role_name, regions=regions)
        by_account[account_id] = found
        if on_account is not None:
            on_account(found)

    with ThreadPoolExecutor(max_workers=MAX_ASSUME_WORKERS) as pool:
        caller = pool.submit(base.account_id)
        wanted = list(dict.fromkeys(accounts))
        futures = [pool.submit(reach, a) for a in wanted]
        try:
            if org:
                caller.result()  # bad credentials: one clear error before listing the organization
                listed: list[str] = []
                for page in base.organization_pages():
                    new = [a for a in page if a not in wanted and a not in listed]
                    listed.extend(new)
                    futures.extend(pool.submit(reach, a) for a in new)
                wanted.extend(sorted(listed))
            caller.result()  # raises AwsAccessError when the credentials do not work
            for future in futures:
                future.result()
        finally:
            for future in futures:
                future.cancel()
    return [t for a in wanted for t in by_account[a]]


def _assume(
    base: SessionFactory,
    account_id: str,
    *,
    profile: str | None,
    role_name: str | None,
    regions: Sequence[str],
) -> list[ResolvedTarget]:
    role_arn = f"arn:aws:iam::{account_id}:role/{role_name}"
    try:
        assumed = base.assume(role_arn)
    except AWS_ERRORS as exc:
        reason = f"cannot assume {role_arn}: {describe_error(exc)}"
        return [
            ResolvedTarget(Target(account_id, r, profile, role_arn), None, reason) for r in regions or ("*",)
        ]
    return _targets_for(assumed, account_id, profile, role_arn, regions)


def _targets_for(
    factory: SessionFactory,
    account_id: str,
    profile: str | None,
    role_arn: str | None,
    regions: Sequence[str],
) -> list[ResolvedTarget]:
    if not regions:
        try:
            regions = factory.enabled_regions()
        except AWS_ERRORS as exc:
            reason = f"cannot list enabled regions: {describe_error(exc)}"
            return [ResolvedTarget(Target(account_id, "*", profile, role_arn), None, reason)]
    return [ResolvedTarget(Target(account_id, r, profile, role_arn), factory) for r in regions]
