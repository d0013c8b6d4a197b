"""Scan a source tree (or an unpacked container image) for trust bundles and TLS settings.

Each bundle file is checked like `rdsca trust check` against the target CA; each connection
setting gets a verdict: will-break, ok, no-verification, plaintext-fallback, no-tls or unknown
(see scan_judge). The walk is bounded (see scan_walk): it skips VCS and dependency directories,
symbolic links, binary files and files over the size limits, and stops after `max_files` files.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from rdsca.catalog import Catalog, load_catalog
from rdsca.errors import ConfigError
from rdsca.readiness import trust_settings as ts
from rdsca.readiness import trust_sources_judge as sources_judge
from rdsca.readiness.bundles import MAX_BUNDLE_BYTES
from rdsca.readiness.client_caps import ClientSeen
from rdsca.readiness.ecosystems.tree import TreeContext
from rdsca.readiness.scan_judge import UNKNOWN, WILL_BREAK, BundleFinding, Checker, SettingFinding
from rdsca.readiness.scan_walk import walk as walk_tree
from rdsca.readiness.trust_check import default_regions
from rdsca.readiness.trust_sources_libs import profile_verdict


@dataclass(frozen=True)
class ScanLimits:
    max_files: int = 200_000  # files looked at before the walk stops
    max_text_bytes: int = 1024 * 1024  # larger text files are not searched for settings
    max_bundle_bytes: int = MAX_BUNDLE_BYTES


@dataclass(frozen=True)
class ScanResult:
    root: str
    ca_id: str
    regions: tuple[str | None, ...]
    scanned_at: datetime
    bundles: tuple[BundleFinding, ...]
    settings: tuple[SettingFinding, ...]
    files_seen: int
    files_searched: int
    skipped: tuple[tuple[str, int], ...] = field(default=())  # (reason, count) pairs
    truncated: bool = False  # stopped at max_files
    clients: tuple[ClientSeen, ...] = ()  # database clients seen (settings, lockfiles): see client_caps

    @property
    def will_break(self) -> bool:
        return WILL_BREAK in self._verdicts()

    def _verdicts(self) -> list[str]:
        return [b.verdict for b in self.bundles] + [s.verdict for s in self.settings]

    def counts(self) -> dict[str, int]:
        c = Counter(self._verdicts())
        return dict(sorted(c.items()))


def scan_tree(
    root: Path | str,
    ca_id: str = "rds-ca-rsa2048-g1",
    regions: tuple[str | None, ...] | None = None,
    *,
    now: datetime | None = None,
    catalog: Catalog | None = None,
    limits: ScanLimits = ScanLimits(),
    password: str | None = None,
) -> ScanResult:
    """`password` opens keystores the tree gives no password for (never shown)."""
    base = Path(root)
    if not base.is_dir():
        raise ConfigError(f"{root}: not a directory")
    cat = catalog or load_catalog()
    when = now or datetime.now(UTC)
    wanted = tuple(regions) if regions else default_regions(cat, ca_id)
    walk = walk_tree(base, limits.max_files, limits.max_text_bytes)
    checker = Checker(base, ca_id, wanted, when, cat, limits.max_bundle_bytes, password)
    for rel in walk.bundle_files:
        checker.check(rel)
    settings: list[SettingFinding] = []
    sources = sources_judge.Sources(base, ca_id, wanted, bool(regions), when, cat)
    tree = TreeContext.build(base, walk.text_files + walk.bundle_files)  # env files, default stores
    for rel, text in walk.texts():
        for s in ts.find_settings(rel, text):
            settings.append(checker.judge(tree.refine(s)))
        sources.read(rel, text)
    sources.read_lockfiles(walk.lock_files)
    settings.extend(SettingFinding(j.setting, j.verdict, j.detail, j.bundle) for j in sources.judge(checker))
    settings = [_refined(f, sources.refine(f.setting, f.verdict)) for f in settings]
    profile = _ProfileJudge(base, ca_id, wanted, when, cat)
    settings = [_refined(f, profile(f)) for f in settings]
    seen = {f.setting.client: f"{f.setting.path}:{f.setting.line}" for f in reversed(settings)}
    clients = [ClientSeen(c, where) for c, where in sorted(seen.items())] + sources.clients()
    return ScanResult(
        root=str(root),
        ca_id=ca_id,
        regions=wanted,
        scanned_at=when,
        bundles=checker.bundle_findings(),
        settings=tuple(settings),
        files_seen=walk.seen,
        files_searched=walk.searched,
        skipped=tuple(sorted(walk.skipped.items())),
        truncated=walk.truncated,
        clients=tuple(clients),
    )


def _refined(f: SettingFinding, better: tuple[str, str] | None) -> SettingFinding:
    """A setting judged again by what the tree puts where it looks (the OS store, a download)."""
    return f if better is None else SettingFinding(f.setting, better[0], better[1], f.bundle)


_PROFILE_CLIENTS = ("node-mysql", "node-mysql2")


class _ProfileJudge:
    """`ssl: 'Amazon RDS'` (mysql, mysql2) trusts the CA list compiled into the installed driver: the
    lockfile nearest the setting says which version, and so whether it holds the target CA (see
    trust_sources_libs.profile_verdict for the versions and their sources)."""

    def __init__(self, base: Path, ca_id: str, regions: tuple[str | None, ...], now: datetime,
                 cat: Catalog) -> None:  # fmt: skip
        self.args = (base, ca_id, regions, now, cat)
        self.memo: dict[str, tuple[str, str] | None] = {}  # per directory of the setting

    def __call__(self, f: SettingFinding) -> tuple[str, str] | None:
        s = f.setting
        if f.verdict != UNKNOWN or s.mode != "ssl: 'Amazon RDS'" or s.client not in _PROFILE_CLIENTS:
            return None
        here = str(PurePosixPath(s.path).parent)
        if here not in self.memo:
            base, ca_id, regions, now, cat = self.args
            self.memo[here] = profile_verdict(base, s.path, ca_id, regions, now=now, catalog=cat)
        return self.memo[here]
