"""Benchmark: what looking for where the trust lives (bundle URLs, pins, OS anchors, PEM in YAML and
code, lockfiles) adds to `rdsca trust scan`.

The tree is bench_scan's generated source tree (same seed) plus the trust-sources fixture trees. Both
variants run in this process, in turn (with, without, with, without...), so that a drift of the
machine's speed hits both; "without" replaces the per-file reading of `Sources` with a no-op and
keeps everything else. Each figure is the median of the runs.

    .venv/bin/python bench/bench_sources.py [--files 20000] [--runs 3]

Writes docs/benchmarks-sources.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_scan import build_tree  # noqa: E402  (the generator of the scan benchmark)
from rdsca.readiness import scan, trust_sources_judge  # noqa: E402


def _timed(root: Path) -> tuple[float, int, int]:
    """CPU seconds of this process for one scan (on a shared, loaded machine the wall clock
    mostly measures the neighbours), files seen, findings."""
    start = time.process_time()
    result = scan.scan_tree(root)
    return time.process_time() - start, result.files_seen, len(result.settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rdsca-bench-sources-") as tmp:
        tree = Path(tmp) / "tree"
        build_tree(tree, args.files)
        shutil.copytree(ROOT / "tests" / "data" / "trust-sources", tree / "trust-sources")
        read = trust_sources_judge.Sources.read
        with_, without = [], []
        seen = findings_with = findings_without = 0
        for _ in range(args.runs):
            trust_sources_judge.Sources.read = read  # type: ignore[method-assign]
            t, seen, findings_with = _timed(tree)
            with_.append(t)
            trust_sources_judge.Sources.read = lambda self, rel, text: None  # type: ignore[method-assign]
            t, _, findings_without = _timed(tree)
            without.append(t)
        trust_sources_judge.Sources.read = read  # type: ignore[method-assign]
    load = os.getloadavg()
    on, off = statistics.median(with_), statistics.median(without)
    page = ROOT / "docs" / "benchmarks-sources.md"
    page.write_text(
        "# Benchmark: where trust lives, in `rdsca trust scan`\n\n"
        "What the search for bundle URLs, sha256 pins, OS anchors, PEM in YAML and code and driver\n"
        "lockfiles adds to a scan. Written by `bench/bench_sources.py` (the tree of\n"
        "`bench/bench_scan.py`, same seed, plus `tests/data/trust-sources`); both variants in one\n"
        "process, in turn; CPU seconds of the process, medians.\n\n"
        "| | files | findings | median CPU | runs (CPU s) |\n|---|---|---|---|---|\n"
        f"| with trust sources | {seen} | {findings_with} | {on:.2f} s | "
        f"{', '.join(f'{t:.2f}' for t in with_)} |\n"
        f"| without | {seen} | {findings_without} | {off:.2f} s | "
        f"{', '.join(f'{t:.2f}' for t in without)} |\n\n"
        f"**Ratio: {on / off:.3f}** (with / without).\n\n"
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{os.cpu_count()} CPU(s), Python {platform.python_version()}; load average "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min): a shared machine, so the\n"
        "ratio means more than the seconds.\n",
        encoding="utf-8",
    )
    print(f"{page.relative_to(ROOT)}: ratio {on / off:.3f} ({on:.2f} s / {off:.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
