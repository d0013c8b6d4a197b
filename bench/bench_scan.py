"""Benchmark: `rdsca trust scan` of a 50,000-file tree, beside `grep -rE` of the same patterns.

The tree is generated in a temporary directory, the same for every run (a fixed seed): mostly
source files that hold no database setting (Python, JavaScript/TypeScript, Java, Go, Markdown,
JSON, YAML, CSS, SQL), a few hundred configuration files that do (env files, Spring properties,
my.cnf, DSNs in code), and a few trust bundles (AWS's global bundle and the old combined one).
Sizes follow a source tree: most files 0.5 to 6 KB, a few larger. Both commands are whole
processes, run in turn (scan, grep, scan, grep...) so that a drift of the machine's speed hits both;
each figure is the median of the runs. grep only lists matching lines; the scan also judges every
setting and checks every bundle, so grep is the floor, not a peer.

    .venv/bin/python bench/bench_scan.py [--files 50000] [--runs 3] [--keep DIR]

Writes docs/benchmarks-scan.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "src" / "rdsca" / "catalog" / "data"
RDSCA = [str(Path(sys.executable).parent / "rdsca")]  # the console script, as users run it
# What the scan looks for, as one extended regular expression (case-insensitive).
PATTERNS = (
    r"sslmode|sslrootcert|ssl[-_]?ca|ssl[-_]?mode|ssl[-_]verify|truststore|trustcertificatekeystore"
    r"|serversslcert|rejectunauthorized|node_extra_ca_certs|tlscafile|verifyservercertificate"
    r"|begin certificate"
)
SKIPPED_DIRS = (".git", "node_modules", ".venv", "venv", "__pycache__")

_WORDS = tuple(
    " ".join(
        (
            "request response handler client server value result config items index count total user",
            "order invoice account session token cache queue worker retry timeout status error record",
            "payload buffer stream parse format render update delete create insert select filter",
        )
    ).split()
)


def _code_line(rng: random.Random, ext: str) -> str:
    a, b, c = rng.sample(_WORDS, 3)
    return {
        ".py": f"    {a}_{b} = {c}.get('{a}', {rng.randint(0, 999)})",
        ".js": f"  const {a}{b.title()} = await {c}.{a}({rng.randint(0, 99)});",
        ".ts": f"  private {a}{b.title()}: {c.title()} | null = null;",
        ".java": f"        {c.title()} {a}{b.title()} = {c}.get{a.title()}({rng.randint(0, 9)});",
        ".go": f"\t{a}{b.title()}, err := {c}.{a.title()}(ctx, {rng.randint(0, 9)})",
        ".md": f"The {a} {b} keeps the {c} until the next {rng.choice(_WORDS)}.",
        ".json": f'  "{a}_{b}": "{c}-{rng.randint(0, 999)}",',
        ".yaml": f"  {a}_{b}: {c}-{rng.randint(0, 999)}",
        ".css": f"  .{a}-{b} {{ margin: {rng.randint(0, 32)}px; }}",
        ".sql": f"SELECT {a}, {b} FROM {c} WHERE id = {rng.randint(0, 9999)};",
    }[ext]


_SOURCE_EXTS = (".py", ".js", ".ts", ".java", ".go", ".md", ".json", ".yaml", ".css", ".sql")
_CONFIGS = (
    (
        "deploy/{n}/app.env",
        "PGHOST=db-{n}.example\nPGSSLMODE=verify-full\nPGSSLROOTCERT=/certs/global-bundle.pem\n",
    ),
    ("deploy/{n}/legacy.env", "PGSSLMODE=prefer\nPGSSLROOTCERT=/certs/rds-combined-ca-bundle.pem\n"),
    (
        "services/svc{n}/src/main/resources/application.properties",
        "spring.datasource.url=jdbc:postgresql://db-{n}.example:5432/app?sslmode=verify-full"
        "&sslrootcert=/certs/global-bundle.pem\n",
    ),
    (
        "services/svc{n}/conf/my.cnf",
        "[client]\nssl-ca = /certs/global-bundle.pem\nssl-mode = VERIFY_IDENTITY\n",
    ),
    (
        "services/svc{n}/app/db.py",
        'import psycopg\n\nconn = psycopg.connect("host=db-{n}.example sslmode=require")\n',
    ),
    (
        "services/svc{n}/src/db.js",
        "const pool = new Pool({{ host: 'db-{n}', ssl: {{ rejectUnauthorized: false }} }});\n",
    ),
)


def build_tree(root: Path, files: int, seed: int = 20261202) -> dict[str, int]:
    """Write the tree; return how many files of each kind."""
    rng = random.Random(seed)
    counts = {"source": 0, "config": 0, "bundle": 0}
    bundles = [("certs/global-bundle.pem", DATA / "global-bundle-2025.pem"),
               ("certs/rds-combined-ca-bundle.pem", DATA / "rds-combined-ca-bundle-2019.pem")]  # fmt: skip
    for i in range(4):
        bundles.append((f"services/svc{i}/certs/rds-ca.pem", DATA / "global-bundle-2023.pem"))
    for rel, src in bundles:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, root / rel)
        counts["bundle"] += 1
    configs = max(1, files // 150)  # about 0.7 % of the files hold a TLS setting
    for i in range(configs):
        pattern, text = _CONFIGS[i % len(_CONFIGS)]
        path = root / pattern.format(n=i)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.format(n=i))
        counts["config"] += 1
    remaining = files - counts["bundle"] - counts["config"]
    # About 15 files a directory, 1 to 5 levels deep, as in a source tree.
    dirs = [
        Path("src", f"m{d % 60}", *(rng.choice(_WORDS) for _ in range(rng.randint(0, 3))), f"pkg{d}")
        for d in range(max(1, remaining // 15))
    ]
    for i in range(remaining):
        ext = rng.choice(_SOURCE_EXTS)
        path = root / rng.choice(dirs) / f"{rng.choice(_WORDS)}_{i}{ext}"
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = rng.randint(12, 150) if rng.random() < 0.95 else rng.randint(400, 1500)
        path.write_text("\n".join(_code_line(rng, ext) for _ in range(lines)) + "\n")
        counts["source"] += 1
    return counts


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float  # user + system seconds of the child process
    proc: subprocess.CompletedProcess[bytes]


def timed(cmd: list[str]) -> Run:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(wall, cpu, proc)


def grep_cmd(tree: Path) -> list[str]:
    excludes = [f"--exclude-dir={d}" for d in SKIPPED_DIRS]
    return ["grep", "-rEInis", *excludes, PATTERNS, str(tree)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build the tree here and keep it")
    args = parser.parse_args(argv)
    base = args.keep or Path(tempfile.mkdtemp(prefix="rdsca-bench-scan-"))
    tree = base / "tree"
    try:
        if not tree.exists():
            build_start = time.perf_counter()
            counts = build_tree(tree, args.files)
            built = time.perf_counter() - build_start
        else:
            counts, built = {"source": 0, "config": 0, "bundle": 0}, 0.0
        size_mb = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file()) / 1e6
        out = base / "scan.json"
        scan = [*RDSCA, "trust", "scan", str(tree), "--format", "json", "-o", str(out)]
        timed(scan)  # warm the page cache and the imports once, for both commands
        timed(grep_cmd(tree))
        scans: list[Run] = []
        greps: list[Run] = []
        loads = []
        for _ in range(args.runs):
            run = timed(scan)
            if run.proc.returncode not in (0, 3):
                print(run.proc.stderr.decode(), file=sys.stderr)
                return 1
            scans.append(run)
            greps.append(timed(grep_cmd(tree)))
            loads.append(os.getloadavg()[0])
        doc = json.loads(out.read_text())
        grep_lines = len(greps[-1].proc.stdout.splitlines())
        write_page(args, counts, size_mb, built, scans, greps, loads, doc, grep_lines)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    return 0


def write_page(
    args: argparse.Namespace,
    counts: dict[str, int],
    size_mb: float,
    built: float,
    scans: list[Run],
    greps: list[Run],
    loads: list[float],
    doc: dict[str, object],
    grep_lines: int,
) -> None:
    scan_s, grep_s = statistics.median(r.wall for r in scans), statistics.median(r.wall for r in greps)
    scan_cpu, grep_cpu = statistics.median(r.cpu for r in scans), statistics.median(r.cpu for r in greps)
    files = int(str(doc["files_seen"]))
    settings = doc["settings"] if isinstance(doc["settings"], list) else []
    bundles = doc["bundles"] if isinstance(doc["bundles"], list) else []
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    took = f" in {built:.0f} s" if built else ""
    scan_row = (
        f"| `rdsca trust scan TREE --format json` | {_spread(scans)} | {scan_cpu:.2f} "
        f"| {files / scan_s:,.0f} | {files / scan_cpu:,.0f} "
        f"| {scan_s / grep_s:.1f}x | {scan_cpu / grep_cpu:.1f}x "
        f"| {len(settings)} settings judged, {len(bundles)} bundles checked against every region |"
    )
    grep_row = (
        f"| `grep -rEIni` of the same keywords | {_spread(greps)} | {grep_cpu:.2f} "
        f"| {files / grep_s:,.0f} | {files / grep_cpu:,.0f} | 1.0x | 1.0x "
        f"| {grep_lines} matching lines, no judgement |"
    )
    page = f"""# Source-tree scan: `rdsca trust scan` beside `grep -rE`

Measured {datetime.now(UTC):%Y-%m-%dT%H:%MZ} on {machine} by `.venv/bin/python bench/bench_scan.py`
(`make bench`); 1-minute load average during the runs {min(loads):.1f}-{max(loads):.1f} (a shared
machine).

Tree: {files:,} files, {size_mb:.0f} MB, generated with a fixed seed{took}: {counts["source"]:,} source
files with no database setting (Python, JS/TS, Java, Go, Markdown, JSON, YAML, CSS, SQL; mostly
0.5-6 KB, 5 % up to 60 KB), {counts["config"]} configuration files with a TLS setting (env files,
Spring properties, my.cnf, DSNs in Python and JavaScript) and {counts["bundle"]} trust bundles. Whole
processes, run in turn, median of {args.runs} runs [min-max], after one warm-up run of each (page
cache warm).

| command | wall s | CPU s | files/s (wall) | files/s (CPU) | x grep (wall) | x grep (CPU) | what it reports |
|---|---|---:|---:|---:|---:|---:|---|
{scan_row}
{grep_row}

grep is the floor (it reads every byte once and judges nothing); the scan reads the same files,
pairs each setting with its CA file and checks each bundle against the catalogue of AWS's CAs.
CPU is user + system seconds of the process: on a loaded machine it says more than the wall clock.
"""

    (ROOT / "docs" / "benchmarks-scan.md").write_text(page, encoding="utf-8")
    print(page)


def _spread(runs: list[Run]) -> str:
    walls = [r.wall for r in runs]
    return f"{statistics.median(walls):.2f} [{min(walls):.2f}-{max(walls):.2f}]"


if __name__ == "__main__":
    raise SystemExit(main())
