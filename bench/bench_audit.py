"""Benchmark: `rdsca audit` on a 2,000-instance fleet, side by side with its peers and the floor.

    .venv/bin/python bench/bench_audit.py [--runs 3] [--latency-ms 50,200]

The stand-in (rdsca's sandbox: moto + the RDS certificate extension + a WSGI layer that adds
per-call latency and counts calls) runs in its own process. The fleet is seeded once: 4 accounts
(3 reached by assume-role) x 4 regions x 125 instances, about 10% on rds-ca-2019. Every contender
is a separate process, timed whole; calls are counted at the stand-in. Figures go to stdout,
bench/results/audit.json and docs/benchmarks-audit.md (which run_all.py folds into
docs/benchmarks.md). See bench/README.md for what each contender does and why.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import report, standin
from peers.tools import ROOT, Fleet, Tool, child_env, scratch_dir, tools

ACCOUNTS = ("123456789012", "111111111111", "222222222222", "333333333333")
REGIONS = ("us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2")
PER_TARGET = 125
RETIRED_FRACTION = 0.10
ROLE_NAME = "rdsca-audit"
RUN_TIMEOUT = 300.0
RESULTS = ROOT / "bench" / "results"


@dataclass
class Sample:
    seconds: float
    calls: int
    by_action: dict[str, int]
    ok: bool
    detail: str
    client_cpu: float = 0.0  # user + system seconds of the contender's processes
    server_cpu: float = 0.0  # user + system seconds the stand-in spent meanwhile
    load: float = 0.0  # 1-minute load average when the run ended (other work on the machine)


@dataclass
class Series:
    tool: str
    label: str
    reports: str
    latency_ms: int
    samples: list[Sample] = field(default_factory=list)
    unavailable: str | None = None

    @property
    def good(self) -> list[Sample]:
        return [s for s in self.samples if s.ok]

    @property
    def median(self) -> float | None:
        good = self.good
        return statistics.median(s.seconds for s in good) if good else None


def log(msg: str) -> None:
    print(f"[bench-audit] {msg}", file=sys.stderr, flush=True)


def run_once(tool: Tool, fleet: Fleet, sandbox: standin.StandIn, workdir: Path) -> Sample:
    out = workdir / f"{tool.key}.out"
    err = workdir / f"{tool.key}.err"
    if tool.key == "c7n":
        shutil.rmtree(workdir / "c7n-out", ignore_errors=True)
    sandbox.reset_calls()
    env = child_env(fleet, workdir, tool.env)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = sandbox.cpu_seconds()
    with out.open("wb") as fo, err.open("wb") as fe:
        started = time.perf_counter()
        try:
            proc = subprocess.run(tool.argv, stdout=fo, stderr=fe, env=env, cwd=workdir, timeout=RUN_TIMEOUT)
            code: int | str = proc.returncode
        except subprocess.TimeoutExpired:
            code = f"timed out after {RUN_TIMEOUT:.0f} s"
        seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = {
        "client_cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "server_cpu": sandbox.cpu_seconds() - server_before,
        "load": os.getloadavg()[0],
    }
    counts = sandbox.calls()
    if code not in (0, 3):  # rdsca exits 3 only with --fail-within; any other code is a failure
        tail = err.read_text(errors="replace").strip().splitlines()[-3:]
        detail = f"exit {code}: {' | '.join(tail)}"
        return Sample(seconds, counts["total"], counts["by_action"], False, detail, **cpu)
    outcome = tool.check(out, fleet)
    return Sample(seconds, counts["total"], counts["by_action"], outcome.ok, outcome.detail, **cpu)


def plan(contenders: list[Tool], latencies: list[int], floor_at_latency: bool) -> list[tuple[Tool, int]]:
    """One round: the floor at 0 ms, then every contender at each latency."""
    out = [(t, 0) for t in contenders if t.key == "floor"]
    for ms in latencies:
        out += [(t, ms) for t in contenders if t.key != "floor" or (floor_at_latency and ms > 0)]
    return out


def measure(
    rounds: int, steps: list[tuple[Tool, int]], fleet: Fleet, sandbox: standin.StandIn, workdir: Path
) -> list[Series]:
    """Interleave: round 1 of every contender, then round 2, ... so that other work on the machine
    weighs on all contenders alike rather than on whichever ran during a busy minute."""
    series = {
        (t.key, ms): Series(t.key, t.label, t.reports, ms, unavailable=t.unavailable) for t, ms in steps
    }
    for n in range(rounds):
        for tool, ms in steps:
            s = series[(tool.key, ms)]
            if tool.unavailable or (s.samples and not s.samples[-1].ok):
                continue  # a contender that failed once is reported as failing, not retried into a number
            sandbox.set_latency(ms / 1000)
            sample = run_once(tool, fleet, sandbox, workdir)
            s.samples.append(sample)
            log(
                f"round {n + 1}/{rounds} {tool.key:8} {ms:4d} ms: {sample.seconds:6.2f} s wall, "
                f"{sample.client_cpu:5.2f} s client CPU, {sample.server_cpu:5.2f} s stand-in CPU, "
                f"{sample.calls:4d} calls, load {sample.load:.1f}; {'ok' if sample.ok else 'INVALID'}: "
                f"{sample.detail}"
            )
    return list(series.values())


def write_docs(summary: dict) -> None:
    (ROOT / "docs" / "benchmarks-audit.md").write_text(report.markdown(summary))
    from run_all import assemble_docs

    assemble_docs()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per contender and latency (median)")
    parser.add_argument("--latency-ms", default="50,200", help="injected per-call latencies, comma-separated")
    parser.add_argument("--only", default="", help="contenders to run, e.g. rdsca,floor (default: all)")
    parser.add_argument(
        "--floor-at-latency",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the floor client at each latency (what perfect latency hiding achieves)",
    )
    parser.add_argument(
        "--candidate",
        metavar="TREE",
        help="also time rdsca from this source tree (a checkout with a proposed change); "
        "never written to the docs",
    )
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks*.md")
    parser.add_argument(
        "--docs-only",
        action="store_true",
        help="rewrite the docs from the last full run's bench/results/audit.json, measuring nothing",
    )
    args = parser.parse_args(argv)
    if args.docs_only:
        summary = json.loads((RESULTS / "audit.json").read_text())["summary"]
        write_docs(summary)
        return 0
    latencies = [int(x) for x in args.latency_ms.split(",") if x.strip()]
    only = {x for x in args.only.split(",") if x}

    started = time.perf_counter()
    workdir = scratch_dir()
    with standin.StandIn.start(workdir, log) as sandbox:
        seeded = sandbox.seed(list(ACCOUNTS), list(REGIONS), PER_TARGET, RETIRED_FRACTION)
        fleet = Fleet(
            endpoint=sandbox.url,
            base_account=ACCOUNTS[0],
            role_accounts=ACCOUNTS[1:],
            regions=REGIONS,
            role_name=ROLE_NAME,
            instances=seeded.instances,
            on_ca_2019=seeded.on_ca_2019,
        )
        log(
            f"stand-in at {sandbox.url}: {seeded.instances} instances, {seeded.on_ca_2019} on rds-ca-2019 "
            f"(seeded in {seeded.seconds:.1f} s)"
        )
        candidate = Path(args.candidate).resolve() if args.candidate else None
        if candidate and only:
            only.add("candidate")
        contenders = [t for t in tools(fleet, workdir, log, candidate) if not only or t.key in only]
        steps = plan(contenders, latencies, args.floor_at_latency)
        results = measure(args.runs, steps, fleet, sandbox, workdir)
    elapsed = time.perf_counter() - started

    summary = report.summarise(results, fleet, args.runs, elapsed)
    print(report.text_table(summary))
    published = not args.no_docs and not only and not args.candidate  # a partial run is not
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"summary": summary, "series": [asdict(s) for s in results]}
    name = "audit.json" if published else "audit-partial.json"
    (RESULTS / name).write_text(json.dumps(data, indent=2, default=str))
    if published:
        write_docs(summary)
    shutil.rmtree(workdir, ignore_errors=True)
    return 0 if summary["all_valid"] else 1


if __name__ == "__main__":
    sys.exit(main())
