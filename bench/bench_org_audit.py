"""Benchmark: `rdsca audit --org` over 500 accounts x 17 regions, beside c7n-org and a thread script.

    .venv/bin/python bench/bench_org_audit.py [--runs 3] [--peer-runs 1] [--only rdsca,rdsca1,threads,c7n]

The stand-in (bench/standin: one asyncio process serving pre-rendered answers with 100-300 ms of
latency per call and AWS's throttling per account and region) holds a seeded organization of
500 accounts x 17 regions (8,500 account-regions, 25,000 DB instances, most account-regions empty,
a few with hundreds). Every contender is a separate process, timed whole; its CPU and peak memory
come from wait4() of that process, its calls and throttles are counted at the stand-in, and its
output is checked for completeness. Figures go to stdout, bench/results/org_audit.json and
docs/benchmarks-org.md (which run_all.py folds into docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from peers.tools import PEERS, PEERS_VENV, PROJECT_BIN, ensure_peers_venv, scratch_dir  # noqa: E402
from standin import handle  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "benchmarks-org.md"
ROLE = "rdsca-audit"
RUN_TIMEOUT = 1800.0
MEMORY_GUARD = (
    6 * 1024**3
)  # a contender above this is stopped and reported, not allowed to starve the machine


def log(msg: str) -> None:
    print(f"[bench-org] {msg}", file=sys.stderr, flush=True)


@dataclass
class Sample:
    seconds: float
    cpu: float  # user + system seconds of the contender's process tree
    maxrss_mb: float  # ru_maxrss: the peak resident memory of its largest process
    tree_rss_mb: float  # peak of the summed resident memory of the process and its children (polled)
    calls: int
    by_action: dict[str, int]
    throttled: int
    server_cpu: float
    load: float
    peak_in_flight: int
    ok: bool
    detail: str
    throttled_by_action: dict[str, int] = field(default_factory=dict)


@dataclass
class Series:
    key: str
    label: str
    reports: str
    samples: list[Sample] = field(default_factory=list)
    unavailable: str | None = None

    def median(self, attr: str) -> float | None:
        good = [getattr(s, attr) for s in self.samples if s.ok]
        return statistics.median(good) if good else None


def aws_env(url: str, workdir: Path) -> dict[str, str]:
    config, creds = workdir / "aws-config", workdir / "aws-credentials"
    config.write_text("[default]\nregion = us-east-1\n\n[profile bench]\nregion = us-east-1\n")
    creds.write_text(
        "[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n\n"
        "[bench]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RDSCA_"))}
    keep.pop("VIRTUAL_ENV", None)
    return {
        **keep,
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(creds),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": url,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


# -- the contenders --------------------------------------------------------------------------


def rdsca_argv(url: str, out: Path, *extra: str) -> list[str]:
    return [
        str(PROJECT_BIN / "rdsca"),
        "audit",
        "--org",
        "--role-name",
        ROLE,
        "--endpoint-url",
        url,
        *extra,
        "--format",
        "json",
        "--output",
        str(out),  # last: run_once puts the run's own file here
    ]


def threads_argv(url: str, fleet: dict) -> list[str]:
    regions = [a for r in fleet["regions"] for a in ("--region", r)]
    return [
        str(PROJECT_BIN / "python"),
        str(PEERS / "sequential_boto3.py"),
        "--endpoint-url",
        url,
        *regions,
        "--base-account",
        fleet["management_account"],
        "--accounts",
        ",".join(fleet["accounts"][1:]),
        "--role-name",
        ROLE,
        "--threads",
    ]


def c7n_accounts(fleet: dict, workdir: Path) -> Path:
    regions = ", ".join(fleet["regions"])
    lines = ["accounts:"]
    for a in fleet["accounts"]:
        lines += [
            f"  - account_id: '{a}'",
            f"    name: acct-{a}",
            f"    role: arn:aws:iam::{a}:role/{ROLE}",
            f"    regions: [{regions}]",
        ]
    path = workdir / "c7n-accounts.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def c7n_argv(fleet: dict, workdir: Path) -> list[str]:
    return [
        str(PEERS_VENV / "bin" / "c7n-org"),
        "run",
        "-c",
        str(c7n_accounts(fleet, workdir)),
        "-u",
        str(PEERS / "c7n-policy.yml"),
        "-s",
        str(workdir / "c7n-out"),
        "--cache-period",
        "0",
    ]


def check_rdsca(out: Path, fleet: dict, code: int) -> tuple[bool, str]:
    try:
        data = json.loads(out.read_text())
    except (OSError, ValueError) as exc:
        return False, f"no JSON output: {exc}"
    targets = data.get("targets", [])
    failed = [t for t in targets if not t.get("ok")]
    keys = {(t["account_id"], t["region"]) for t in targets if t.get("ok")}
    wanted = {(a, r) for a in fleet["accounts"] for r in fleet["regions"]}
    inst = data.get("instances", [])
    retired = sum(1 for i in inst if i.get("ca") == "rds-ca-2019")
    ok = (
        code == 0
        and not failed
        and keys == wanted
        and len(inst) == fleet["instances"]
        and retired == fleet["on_retired_ca"]
    )
    detail = (
        f"exit {code}; {len(inst)} records ({retired} on rds-ca-2019), {len(keys)}/{len(wanted)} "
        f"account-regions read, {len(failed)} failed"
    )
    if failed:
        detail += f" (first: {failed[0].get('error')})"
    return ok, detail


def check_threads(out: Path, fleet: dict, code: int) -> tuple[bool, str]:
    try:
        inst = json.loads(out.read_text() or "{}").get("instances", [])
    except (OSError, ValueError) as exc:
        return False, f"exit {code}; no JSON output: {exc}"
    retired = sum(1 for i in inst if i.get("ca") == "rds-ca-2019")
    ok = code == 0 and len(inst) == fleet["instances"] and retired == fleet["on_retired_ca"]
    return ok, f"exit {code}; {len(inst)} records ({retired} on rds-ca-2019)"


def check_c7n(workdir: Path, fleet: dict, code: int) -> tuple[bool, str]:
    files = list((workdir / "c7n-out").glob("**/rds-ca-at-risk/resources.json"))
    flagged = retired = 0
    for f in files:
        rows = json.loads(f.read_text() or "[]")
        flagged += len(rows)
        retired += sum(1 for r in rows if r.get("CACertificateIdentifier") == "rds-ca-2019")
    wanted = len(fleet["accounts"]) * len(fleet["regions"])
    ok = code == 0 and len(files) == wanted and retired == fleet["on_retired_ca"]
    return ok, (
        f"exit {code}; {flagged} flagged ({retired} on rds-ca-2019) in {len(files)}/{wanted} account-regions"
    )


# -- one run ---------------------------------------------------------------------------------


def _tree_rss(pid: int) -> int:
    """Summed resident bytes of a process and its descendants (Linux /proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    break
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        todo.extend(int(k) for k in kids)
    return total


def run_once(
    key: str,
    argv: list[str],
    env: dict[str, str],
    workdir: Path,
    sa: handle.Handle,
    fleet: dict,
    timeout: float = RUN_TIMEOUT,
) -> Sample:
    out, err = workdir / f"{key}.out", workdir / f"{key}.err"
    result = workdir / f"{key}.json"
    if key.startswith("rdsca"):
        result.unlink(missing_ok=True)
        argv = [*argv[:-1], str(result)]
    shutil.rmtree(workdir / "c7n-out", ignore_errors=True)
    sa.reset()
    server_before = sa.cpu_seconds()
    peak = [0]
    stop = threading.Event()
    with out.open("wb") as fo, err.open("wb") as fe:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=fo, stderr=fe, env=env, cwd=workdir)

        def watch() -> None:
            while not stop.wait(0.5):
                peak[0] = max(peak[0], _tree_rss(proc.pid))
                if peak[0] > MEMORY_GUARD or time.perf_counter() - started > timeout:
                    proc.kill()

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        stop.set()
        watcher.join()
    stats = sa.stats()
    code = proc.returncode
    if key.startswith("rdsca"):
        ok, detail = check_rdsca(result, fleet, code)
    elif key == "threads":
        ok, detail = check_threads(out, fleet, code)
    else:
        ok, detail = check_c7n(workdir, fleet, code)
    if peak[0] > MEMORY_GUARD:
        ok, detail = False, f"stopped above {MEMORY_GUARD / 1024**3:.0f} GB resident; " + detail
    elif seconds > timeout:
        ok, detail = False, f"stopped after {timeout:.0f} s; " + detail
    if not ok:
        tail = err.read_text(errors="replace").strip().splitlines()[-2:]
        detail += f" | {' | '.join(tail)[:300]}"
    # rdsca writes its own throttling note (if any) on stderr: a throttle that reached the user
    return Sample(
        seconds=seconds,
        cpu=usage.ru_utime + usage.ru_stime,
        maxrss_mb=usage.ru_maxrss / 1024,
        tree_rss_mb=peak[0] / 1024**2,
        calls=int(stats["total"]),
        by_action=dict(stats["by_action"]),
        throttled=int(stats["throttled"]),
        server_cpu=sa.cpu_seconds() - server_before,
        load=os.getloadavg()[0],
        peak_in_flight=int(stats["peak_in_flight"]),
        ok=ok,
        detail=detail,
        throttled_by_action=dict(stats["throttled_by_action"]),
    )


# -- the bound -------------------------------------------------------------------------------


def lower_bound(fleet: dict, latency: tuple[float, float], buckets: dict[str, list[float]]) -> dict:
    """The least wall time any client needs: the longest chain of dependent calls at the mean
    latency, or the time the throttles allow the calls that must be made, whichever is longer.

    Chain for the account listed on Organizations page p (20 accounts a page, pages one after
    another): p pages, AssumeRole, DescribeRegions, then its largest account-region's instance
    pages one after another and one last call that needs the last page (an engine version it
    names). Throttle budget: the STS calls of the whole run (one AssumeRole per account) against
    the STS bucket of the caller's account; RDS buckets are per account-region and an audit needs
    a handful of calls from each, far below a 300 burst."""
    mean = sum(latency) / 2
    per_page = 20
    counts = fleet["counts"]
    chain_calls = 0
    for i, account in enumerate(fleet["accounts"]):
        page = i // per_page + 1
        pages = max((-(-counts.get(f"{account}/{r}", 0) // 100) for r in fleet["regions"]), default=0)
        chain_calls = max(chain_calls, page + 2 + max(pages, 1) + (1 if pages else 0))
    burst, rate = buckets["sts"]
    sts_calls = len(fleet["accounts"]) + 1
    budget = max(0.0, (sts_calls - burst) / rate)
    return {
        "latency_mean": mean,
        "chain_calls": chain_calls,
        "chain_s": chain_calls * mean,
        "sts_budget_s": budget,
        "bound_s": max(chain_calls * mean, budget),
    }


def minimal_calls(fleet: dict) -> int:
    """The fewest calls that give a full record per instance: the Organizations pages, AssumeRole
    and DescribeRegions per account, per account-region its instance pages (at least one) and
    DescribeCertificates, per non-empty one DescribePendingMaintenanceActions and one DescribeEvents
    (the RDS-EVENT-0501/0502 the reboot forecast of issue 13 reads), and the engine versions once
    per region and (engine, version)."""
    counts = fleet["counts"]
    targets = len(fleet["accounts"]) * len(fleet["regions"])
    pages = sum(-(-n // 100) for n in counts.values()) + (targets - len(counts))
    engines = len(fleet["regions"]) * 8  # bench/standin/fleet.py ENGINES
    org_pages = -(-len(fleet["accounts"]) // 20)
    return org_pages + 2 * len(fleet["accounts"]) + pages + targets + 2 * len(counts) + engines


def cpu_floor(sa: handle.Handle, fleet: dict, latency: tuple[float, float]) -> dict:
    """What those calls cost a botocore client in CPU at least (bench/standin/cpu_floor.py, run at
    no latency), what the stand-in spends answering them, and the wall time the two take on this
    machine's cores: the stand-in shares the cores with whichever client is measured, so its part
    is as unavoidable here as the client's own."""
    biggest = max(fleet["counts"], key=lambda k: fleet["counts"][k])
    account, region = biggest.split("/")
    sa.configure(latency_min=0.0, latency_max=0.0)
    try:
        env = aws_env(sa.url, scratch_dir())
        script = BENCH / "standin" / "cpu_floor.py"
        out = subprocess.run(
            [PROJECT_BIN / "python", script, sa.url, account, region, str(sa.proc.pid)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        ).stdout
    finally:
        sa.configure(latency_min=latency[0], latency_max=latency[1])
    per = json.loads(out)
    calls = minimal_calls(fleet)
    cpu = (calls * per["ms_per_call"] + fleet["instances"] * per["ms_per_instance"]) / 1000
    served = (calls * per["server_ms_per_call"] + fleet["instances"] * per["server_ms_per_instance"]) / 1000
    cores = os.cpu_count() or 1
    return {
        **per,
        "calls": calls,
        "cpu_s": cpu,
        "server_cpu_s": served,
        "cores": cores,
        "client_wall_s": cpu / cores,  # the floor as it was counted before 2026-12-02 (client alone)
        "wall_s": (cpu + served) / cores,
    }


# -- report ----------------------------------------------------------------------------------


def fmt_range(series: Series, attr: str, digits: int = 1) -> str:
    good = [getattr(s, attr) for s in series.samples if s.ok]
    if not good:
        return "-"
    med = statistics.median(good)
    if len(good) == 1:
        return f"{med:.{digits}f}"
    return f"{med:.{digits}f} [{min(good):.{digits}f}-{max(good):.{digits}f}]"


def markdown(summary: dict, series: list[Series]) -> str:
    f, b = summary["fleet"], summary["bound"]
    cf = b["cpu_floor"]
    rd = next((s for s in series if s.key == "rdsca"), None)
    rd_med = rd.median("seconds") if rd else None
    client_floor = max(b["bound_s"], cf.get("client_wall_s", cf["wall_s"]))
    lines = [
        "# Organization-scale audit: `rdsca audit --org` vs c7n-org and a thread per account-region",
        "",
        f"Measured {summary['when']} on {summary['machine']} by `make bench` "
        f"(`.venv/bin/python bench/bench_org_audit.py`); 1-minute load average at the end of the runs "
        f"{summary['load_min']:.1f}-{summary['load_max']:.1f}.",
        "",
        f"Organization: {len(f['accounts'])} accounts (listed by Organizations, 20 a page; each reached "
        f"by AssumeRole) x {len(f['regions'])} regions = {f['account_regions']:,} account-regions, "
        f"{f['instances']:,} DB instances ({f['on_retired_ca']:,} on rds-ca-2019); "
        f"{f['empty_account_regions']:,} account-regions empty, the largest holding "
        f"{', '.join(str(n) for n in f['largest_account_regions'])}. Served by bench/standin (one asyncio "
        f"process, pre-rendered answers) with {summary['latency'][0] * 1000:.0f}-"
        f"{summary['latency'][1] * 1000:.0f} ms of latency per call (uniform, seeded) and token buckets "
        f"per account and region: "
        + ", ".join(f"{k} burst {v[0]:.0f} / {v[1]:.0f} per s" for k, v in summary["buckets"].items())
        + " (RDS as documented; STS, Organizations and EC2 assumed, see bench/standin/server.py).",
        "",
        f"Lower bound: {b['bound_s']:.1f} s = max(latency chain {b['chain_calls']} dependent calls x "
        f"{b['latency_mean'] * 1000:.0f} ms = {b['chain_s']:.1f} s, STS throttle budget "
        f"{b['sts_budget_s']:.1f} s). CPU floor: the {cf['calls']:,} calls a full record needs at "
        f"least cost a botocore client {cf['cpu_s']:.0f} s of CPU ({cf['ms_per_call']:.2f} ms a call, "
        f"{cf['ms_per_instance']:.2f} ms an instance parsed) and the stand-in, on the same cores, "
        f"{cf.get('server_cpu_s', 0.0):.0f} s to answer them (both measured in the same run by "
        f"bench/standin/cpu_floor.py): {cf['wall_s']:.1f} s on {cf['cores']} cores "
        f"({cf.get('client_wall_s', cf['wall_s']):.1f} s for the client's part alone). "
        f"`x bound` is against max(lower bound, CPU floor) = {b['bound_with_cpu_s']:.1f} s, "
        f"`x client floor` against the client's part alone (the bound as counted before 2026-12-02), "
        f"`x latency` against the lower bound alone.",
        "",
        "| contender | runs | wall s | x bound | x client floor | x latency | x rdsca | "
        "CPU s (per 1,000 instances) | peak memory MB (process / tree) | API calls (per instance) | "
        "throttled (retried) | reports |",
        "|---|---:|---|---:|---:|---:|---:|---|---|---:|---:|---|",
    ]
    for s in series:
        if s.unavailable:
            lines.append(f"| {s.label} | 0 | not run: {s.unavailable} | | | | | | | | | {s.reports} |")
            continue
        good = [x for x in s.samples if x.ok]
        if not good:
            last = s.samples[-1] if s.samples else None
            if last is not None and last.detail.startswith("stopped"):  # too slow or too big: a floor
                ratio = f"> {last.seconds / rd_med:.1f}x" if rd_med else ""
                lines.append(
                    f"| {s.label} | {len(s.samples)} | > {last.seconds:.0f} ({last.detail.split(';')[0]}) | "
                    f"> {last.seconds / b['bound_with_cpu_s']:.1f}x | > {last.seconds / client_floor:.1f}x | "
                    f"> {last.seconds / b['bound_s']:.1f}x | "
                    f"{ratio} | {last.cpu:.1f} (so far) | "
                    f"{last.maxrss_mb:.0f} / {last.tree_rss_mb:.0f} | {last.calls:,} (so far) | "
                    f"{last.throttled} | {s.reports} |"
                )
                continue
            why = last.detail if last else "no run"
            lines.append(f"| {s.label} | {len(s.samples)} | INVALID: {why} | | | | | | | | | {s.reports} |")
            continue
        med = statistics.median(x.seconds for x in good)
        cpu = statistics.median(x.cpu for x in good)
        calls = statistics.median(x.calls for x in good)
        lines.append(
            f"| {s.label} | {len(good)} | {fmt_range(s, 'seconds')} | {med / b['bound_with_cpu_s']:.2f}x | "
            f"{med / client_floor:.2f}x | {med / b['bound_s']:.2f}x | "
            f"{(med / rd_med) if rd_med else float('nan'):.2f}x | "
            f"{cpu:.1f} ({cpu / f['instances'] * 1000:.2f}) | "
            f"{statistics.median(x.maxrss_mb for x in good):.0f} / "
            f"{statistics.median(x.tree_rss_mb for x in good):.0f} | "
            f"{calls:,.0f} ({calls / f['instances']:.2f}) | "
            f"{statistics.median(x.throttled for x in good):.0f} | {s.reports} |"
        )
    lines += ["", "What each run printed, and its calls by action (last run):", ""]
    for s in series:
        for i, x in enumerate(s.samples, 1):
            lines.append(
                f"- {s.label}, run {i}: {'ok' if x.ok else 'INVALID'}: {x.detail}; {x.seconds:.1f} s, "
                f"load {x.load:.1f}, stand-in CPU {x.server_cpu:.1f} s, "
                f"peak {x.peak_in_flight} calls in flight"
            )
        if s.samples:
            acts = ", ".join(f"{k} {v:,}" for k, v in s.samples[-1].by_action.items())
            lines.append(f"  - calls: {acts}")
            throttled = ", ".join(f"{k} {v:,}" for k, v in s.samples[-1].throttled_by_action.items())
            if throttled:
                lines.append(f"  - throttled by the stand-in (and retried): {throttled}")
    notes = BENCH / "standin" / "org-audit-notes.md"
    if notes.exists():
        lines += ["", notes.read_text().strip()]
    return "\n".join(lines) + "\n"


def write_docs(summary: dict, series: list[Series]) -> None:
    DOC.write_text(markdown(summary, series))
    from run_all import assemble_docs

    assemble_docs()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of rdsca (median)")
    parser.add_argument("--peer-runs", type=int, default=1, help="runs of each peer (they take minutes)")
    parser.add_argument(
        "--peer-timeout", type=float, default=900.0, help="seconds after which a peer's run is stopped"
    )
    parser.add_argument("--only", default="", help="contenders: rdsca,rdsca1,threads,c7n (default: all)")
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--regions", type=int, default=17)
    parser.add_argument("--instances", type=int, default=25_000)
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks*.md")
    parser.add_argument("--docs-only", action="store_true", help="rewrite the docs from the last results")
    parser.add_argument("--candidate", metavar="TREE", help="time rdsca from this source tree (PYTHONPATH)")
    args = parser.parse_args(argv)
    if args.docs_only:
        data = json.loads((RESULTS / "org_audit.json").read_text())
        series = [Series(**{**s, "samples": [Sample(**x) for x in s["samples"]]}) for s in data["series"]]
        write_docs(data["summary"], series)
        return 0
    only = {x for x in args.only.split(",") if x}
    workdir = scratch_dir()
    started = time.perf_counter()
    scale = [
        "--accounts",
        str(args.accounts),
        "--regions",
        str(args.regions),
        "--instances",
        str(args.instances),
    ]
    with handle.start(workdir, scale) as sa:
        fleet = sa.fleet()
        stats = sa.stats()
        latency, buckets = tuple(stats["latency"]), stats["buckets"]
        bound = lower_bound(fleet, latency, buckets)
        floor = cpu_floor(sa, fleet, latency)
        bound["cpu_floor"] = floor
        bound["bound_with_cpu_s"] = max(bound["bound_s"], floor["wall_s"])
        sa.reset()
        log(
            f"stand-in at {sa.url}: {fleet['instances']} instances in "
            f"{fleet['account_regions']} account-regions; "
            f"lower bound {bound['bound_s']:.1f} s"
        )
        env = aws_env(sa.url, workdir)
        why_not = ensure_peers_venv(log)
        rd_env = dict(env)
        if args.candidate:
            rd_env["PYTHONPATH"] = str(Path(args.candidate).resolve() / "src")
        contenders = [
            ("rdsca", "rdsca audit --org -f json", "full record + verdict", rdsca_argv(sa.url, workdir / "x"),
             rd_env, args.runs, None),
            ("rdsca1", "rdsca audit --org -f json --processes 1", "full record + verdict",
             rdsca_argv(sa.url, workdir / "x", "--processes", "1"), rd_env, args.runs, None),
            ("threads", "a thread per account-region (boto3)", "full record", threads_argv(sa.url, fleet),
             env, args.peer_runs, None),
            ("c7n", "Cloud Custodian c7n-org", "flags only", c7n_argv(fleet, workdir),
             env, args.peer_runs, why_not),
        ]  # fmt: skip
        contenders = [c for c in contenders if not only or c[0] in only]
        series = {c[0]: Series(c[0], c[1], c[2], unavailable=c[6]) for c in contenders}
        rounds = max(c[5] for c in contenders)
        for n in range(rounds):  # interleaved, so that other work on the machine weighs on all alike
            for key, _label, _rep, cargv, cenv, runs, unavailable in contenders:
                s = series[key]
                if unavailable or n >= runs or (s.samples and not s.samples[-1].ok):
                    continue
                limit = RUN_TIMEOUT if key.startswith("rdsca") else args.peer_timeout
                sample = run_once(key, cargv, cenv, workdir, sa, fleet, limit)
                s.samples.append(sample)
                log(
                    f"round {n + 1} {key:8}: {sample.seconds:7.1f} s wall, {sample.cpu:6.1f} s CPU, "
                    f"{sample.maxrss_mb:6.0f} MB, {sample.calls} calls, {sample.throttled} throttled, "
                    f"load {sample.load:.1f}; {'ok' if sample.ok else 'INVALID'}: {sample.detail}"
                )
    loads = [x.load for s in series.values() for x in s.samples] or [os.getloadavg()[0]]
    summary = {
        "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "fleet": {k: v for k, v in fleet.items()},
        "latency": list(latency),
        "buckets": buckets,
        "bound": bound,
        "load_min": min(loads),
        "load_max": max(loads),
        "elapsed_s": time.perf_counter() - started,
        "runs": args.runs,
        "peer_runs": args.peer_runs,
    }
    published = not args.no_docs and not only and not args.candidate and args.accounts == 500
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"summary": summary, "series": [asdict(s) for s in series.values()]}
    (RESULTS / ("org_audit.json" if published else "org_audit-partial.json")).write_text(
        json.dumps(data, indent=1, default=str)
    )
    print(markdown(summary, list(series.values())))
    if published:
        write_docs(summary, list(series.values()))
    shutil.rmtree(workdir, ignore_errors=True)
    rd = series.get("rdsca")
    return 0 if rd is None or all(x.ok for x in rd.samples) else 1


if __name__ == "__main__":
    sys.exit(main())
