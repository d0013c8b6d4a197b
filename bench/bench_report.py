"""HTML report at scale: size and browser render time for a 5,000-instance audit.

Renders the audit the report tests use, scaled to N instances (default 5,000), opens it in headless
Chromium three times and takes the median of: navigation start to the load event, and navigation
start to the table being ready (the page's script has wired sorting and filtering). Prints the
figures and writes them to docs/benchmarks-report.md.

    .venv/bin/python bench/bench_report.py [--instances 5000] [--runs 3]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from rdsca.report.html import render_html  # noqa: E402
from test_report_fixture import synthetic_audit  # noqa: E402  (the fixture lives with the tests)
from test_report_html import CHROMIUM_ARGS, ensure_chromium  # noqa: E402

SIZE_LIMIT_MB = 5.0
TIME_LIMIT_S = 3.0


def measure(path: Path, runs: int) -> tuple[list[float], list[float]]:
    from playwright.sync_api import sync_playwright

    loads, ready = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=ensure_chromium(), args=CHROMIUM_ARGS, headless=True)
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_selector("body[data-ready]")
            nav = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
            mark = page.evaluate("performance.getEntriesByName('rdsca-table-ready')[0].startTime")
            loads.append(nav / 1000)
            ready.append(mark / 1000)
            page.close()
        browser.close()
    return loads, ready


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks-report.md")
    args = parser.parse_args()

    audit = synthetic_audit(args.instances)
    t0 = time.perf_counter()
    text = render_html(audit)
    render_s = time.perf_counter() - t0
    size_mb = len(text.encode("utf-8")) / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.html"
        path.write_text(text, encoding="utf-8")
        loads, ready = measure(path, args.runs)
    load_s, ready_s = statistics.median(loads), statistics.median(ready)
    lines = [
        "# Benchmark: the HTML report at scale",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} with `bench/bench_report.py` on {platform.machine()} "
        f"Python {platform.python_version()}, Debian's headless Chromium, {args.runs} fresh page loads "
        "(median). The audit is the report tests' fixture scaled up: every state and severity, "
        "4 accounts, 6 regions, 3 environments.",
        "",
        "| instances | file size | limit | Python render | to load event | to table ready | limit |",
        "|---|---|---|---|---|---|---|",
        f"| {args.instances:,} | {size_mb:.2f} MB | < {SIZE_LIMIT_MB:.0f} MB | {render_s:.2f} s "
        f"| {load_s:.2f} s | {ready_s:.2f} s | < {TIME_LIMIT_S:.0f} s |",
        "",
        f"All runs, load event: {', '.join(f'{x:.2f}' for x in loads)} s; "
        f"table ready: {', '.join(f'{x:.2f}' for x in ready)} s.",
        "",
        '"Table ready" is the moment the page\'s script has indexed every row and wired sorting and '
        "filtering (a `performance.mark` the script sets); the load event comes after it, since the "
        "script runs inline at the end of the document.",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    args.out.write_text(report, encoding="utf-8")
    ok = size_mb < SIZE_LIMIT_MB and max(load_s, ready_s) < TIME_LIMIT_S
    print("within limits" if ok else "OVER A LIMIT", file=sys.stderr)


if __name__ == "__main__":
    main()
