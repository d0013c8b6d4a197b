"""The contenders of the audit benchmark: how to run each one and how to check what it printed.

Every contender is a separate process, timed from start to exit (whole-process wall time, as a user
sees it), its standard output captured to a file and checked, so that a tool that failed or read
half the fleet cannot post a good time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import venv
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
ROOT = BENCH.parent
PEERS = BENCH / "peers"
PEERS_VENV = BENCH / ".peers-venv"
PROJECT_BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Fleet:
    """The shape of the benchmark fleet, and how each tool is told about it."""

    endpoint: str
    base_account: str
    role_accounts: tuple[str, ...]
    regions: tuple[str, ...]
    role_name: str
    instances: int
    on_ca_2019: int


@dataclass(frozen=True)
class Outcome:
    ok: bool
    detail: str  # what the output showed, or why it is not valid


@dataclass
class Tool:
    key: str
    label: str
    reports: str
    argv: list[str]
    check: Callable[[Path, Fleet], Outcome]
    env: dict[str, str] = field(default_factory=dict)
    unavailable: str | None = None  # why this peer cannot run here (then it is reported, not timed)


def _json_instances(path: Path) -> list[dict]:
    data = json.loads(path.read_text() or "{}")
    return list(data.get("instances", []))


def check_rdsca(out: Path, fleet: Fleet) -> Outcome:
    try:
        data = json.loads(out.read_text())
    except ValueError as exc:
        return Outcome(False, f"output is not JSON: {exc}")
    inst = data.get("instances", [])
    failed = [t for t in data.get("targets", []) if not t.get("ok")]
    old = sum(1 for i in inst if i.get("ca") == "rds-ca-2019")
    keys_ok = all("state" in i and "ca_valid_till" in i and "server_cert_valid_till" in i for i in inst)
    ok = len(inst) == fleet.instances and not failed and old == fleet.on_ca_2019 and keys_ok
    states = Counter(str(i.get("state")) for i in inst)
    flagged = sum(n for s, n in states.items() if s in ("retired-ca", "expired", "expiring"))
    by_state = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
    return Outcome(ok, f"{len(inst)} records ({by_state}; {flagged} at risk), {len(failed)} failed targets")


def check_records(out: Path, fleet: Fleet) -> Outcome:
    try:
        inst = _json_instances(out)
    except ValueError as exc:
        return Outcome(False, f"output is not JSON: {exc}")
    old = sum(1 for i in inst if i.get("ca") == "rds-ca-2019")
    ok = len(inst) == fleet.instances and old == fleet.on_ca_2019
    return Outcome(ok, f"{len(inst)} records, {old} on rds-ca-2019")


def check_awscli(out: Path, fleet: Fleet) -> Outcome:
    rows = [line.split("\t") for line in out.read_text().splitlines() if line.strip()]
    dbs = [r for r in rows if len(r) >= 5 and r[2] != "CA"]
    old = sum(1 for r in dbs if r[4] == "rds-ca-2019")
    ok = len(dbs) == fleet.instances and old == fleet.on_ca_2019
    return Outcome(ok, f"{len(dbs)} rows (id, engine, CA), {old} on rds-ca-2019")


def check_c7n(out_dir: Path, fleet: Fleet) -> Outcome:
    matched = 0
    files = list(out_dir.glob("**/rds-ca-at-risk/resources.json"))
    for f in files:
        matched += len(json.loads(f.read_text() or "[]"))
    old = 0
    for f in files:
        old += sum(
            1 for r in json.loads(f.read_text() or "[]") if r.get("CACertificateIdentifier") == "rds-ca-2019"
        )
    targets = len(fleet.regions) * (1 + len(fleet.role_accounts))
    ok = len(files) == targets and old == fleet.on_ca_2019
    return Outcome(ok, f"{matched} flagged ({old} on rds-ca-2019) in {len(files)}/{targets} account-regions")


def aws_files(fleet: Fleet, workdir: Path) -> dict[str, str]:
    """A private AWS config (so the user's ~/.aws plays no part) with a `bench` profile."""
    config = workdir / "aws-config"
    creds = workdir / "aws-credentials"
    config.write_text("[default]\nregion = us-east-1\n\n[profile bench]\nregion = us-east-1\n")
    creds.write_text(
        "[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n\n"
        "[bench]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    return {
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(creds),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": fleet.endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def c7n_accounts_file(fleet: Fleet, workdir: Path) -> Path:
    lines = ["accounts:"]
    lines += [
        f"  - account_id: '{fleet.base_account}'",
        "    name: base",
        "    profile: bench",
        f"    regions: [{', '.join(fleet.regions)}]",
    ]
    for account in fleet.role_accounts:
        lines += [
            f"  - account_id: '{account}'",
            f"    name: acct-{account}",
            f"    role: arn:aws:iam::{account}:role/{fleet.role_name}",
            f"    regions: [{', '.join(fleet.regions)}]",
        ]
    path = workdir / "c7n-accounts.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def ensure_peers_venv(log: Callable[[str], None]) -> str | None:
    """Create bench/.peers-venv with c7n and c7n-org on first use. Returns why not, or None."""
    c7n_org = PEERS_VENV / "bin" / "c7n-org"
    if c7n_org.exists():
        return None
    log(f"creating {PEERS_VENV.relative_to(ROOT)} with c7n and c7n-org from PyPI (first run only)")
    try:
        venv.EnvBuilder(with_pip=True, clear=True).create(PEERS_VENV)
        subprocess.run(
            [str(PEERS_VENV / "bin" / "pip"), "install", "--quiet", "c7n", "c7n-org"],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        stderr = getattr(exc, "stderr", "") or ""
        return f"c7n/c7n-org could not be installed: {exc} {stderr.strip()[-300:]}"
    return None if c7n_org.exists() else "c7n-org was installed but has no c7n-org executable"


def tools(
    fleet: Fleet, workdir: Path, log: Callable[[str], None], candidate: Path | None = None
) -> list[Tool]:
    """Every contender. `candidate`: a source tree (its `src/`) of rdsca to time beside the
    installed one, e.g. with a proposed change applied; it runs the same CLI with PYTHONPATH."""
    py = str(PROJECT_BIN / "python")
    accounts_all = ",".join((fleet.base_account, *fleet.role_accounts))
    region_args = [a for r in fleet.regions for a in ("--region", r)]
    peer_args = [
        "--endpoint-url",
        fleet.endpoint,
        *region_args,
        "--base-account",
        fleet.base_account,
        "--accounts",
        ",".join(fleet.role_accounts),
        "--role-name",
        fleet.role_name,
    ]
    c7n_dir = workdir / "c7n-out"
    why_not = ensure_peers_venv(log)
    rdsca_argv = [
        str(PROJECT_BIN / "rdsca"),
        "audit",
        "--format",
        "json",
        "--endpoint-url",
        fleet.endpoint,
        *region_args,
        "--accounts",
        accounts_all,
        "--role-name",
        fleet.role_name,
    ]
    extra = []
    if candidate is not None:
        src = candidate / "src" if (candidate / "src").is_dir() else candidate
        extra.append(
            Tool(
                "candidate",
                f"rdsca audit, candidate tree {candidate}",
                "full record + verdict per instance",
                rdsca_argv,
                check_rdsca,
                env={"PYTHONPATH": str(src)},
            )
        )
    return [
        Tool(
            "floor",
            "(d) minimal concurrent client",
            "raw facts per instance",
            [py, str(PEERS / "floor_client.py"), *peer_args],
            check_records,
        ),
        Tool(
            "rdsca",
            "rdsca audit --format json",
            "full record + verdict per instance",
            rdsca_argv,
            check_rdsca,
        ),
        *extra,
        Tool(
            "seq",
            "(a) sequential boto3 script",
            "full record per instance",
            [py, str(PEERS / "sequential_boto3.py"), *peer_args],
            check_records,
        ),
        Tool(
            "threads",
            "(a') same, a thread per account-region",
            "full record per instance",
            [py, str(PEERS / "sequential_boto3.py"), *peer_args, "--threads"],
            check_records,
        ),
        Tool(
            "awscli",
            "(b) AWS CLI loop (blog post)",
            "CA id per instance",
            ["bash", str(PEERS / "awscli_loop.sh")],
            check_awscli,
            env={
                "AWS": str(PROJECT_BIN / "aws"),
                "ENDPOINT": fleet.endpoint,
                "REGIONS": " ".join(fleet.regions),
                "ROLE_ACCOUNTS": " ".join(fleet.role_accounts),
                "ROLE_NAME": fleet.role_name,
            },
        ),
        Tool(
            "c7n",
            "(c) Cloud Custodian c7n-org",
            "flags only",
            [
                str(PEERS_VENV / "bin" / "c7n-org"),
                "run",
                "-c",
                str(c7n_accounts_file(fleet, workdir)),
                "-u",
                str(PEERS / "c7n-policy.yml"),
                "-s",
                str(c7n_dir),
                "--cache-period",
                "0",
            ],
            lambda _out, f: check_c7n(c7n_dir, f),
            env={"C7N_OUTPUT_DIR": str(c7n_dir)},
            unavailable=why_not,
        ),
    ]


def scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="rdsca-bench-"))


def child_env(fleet: Fleet, workdir: Path, extra: dict[str, str]) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    keep.pop("VIRTUAL_ENV", None)
    return {**keep, **aws_files(fleet, workdir), **extra}
