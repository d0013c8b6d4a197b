"""Turn the benchmark's samples into figures: medians, ratios, targets, a text table and markdown."""

from __future__ import annotations

import platform
import statistics
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Dependent calls on the critical path of an audit, all targets in parallel: AssumeRole, then the
# two pages of describe_db_instances (page 2 needs page 1's Marker). Everything else can overlap.
CHAIN_CALLS = 3
FLOOR_RATIO_TARGET = 1.2
SEQ_SPEEDUP_TARGET = 5.0
HEADLINE_MS = 200
NOTES = Path(__file__).with_name("audit-notes.md")  # the hand-written reading of the figures


def _fmt(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.2f}"


def summarise(series: list[Any], fleet: Any, runs: int, elapsed: float) -> dict[str, Any]:
    floor_s = next((s for s in series if s.tool == "floor" and s.latency_ms == 0), None)
    floor = floor_s.median if floor_s and len(floor_s.good) == len(floor_s.samples) else None
    rows = []
    for s in series:
        good = s.good
        valid = bool(good) and len(good) == len(s.samples)
        med = s.median if valid else None  # a contender that failed a run gets no time
        calls = sorted(x.calls for x in good)
        chain = CHAIN_CALLS * s.latency_ms / 1000
        bound = max(chain, floor) if floor is not None else None
        rows.append(
            {
                "tool": s.tool,
                "label": s.label,
                "reports": s.reports,
                "latency_ms": s.latency_ms,
                "median_s": med,
                "min_s": min((x.seconds for x in good), default=None),
                "max_s": max((x.seconds for x in good), default=None),
                "runs": len(good),
                "calls": calls[len(calls) // 2] if calls else None,
                "calls_per_instance": (calls[len(calls) // 2] / fleet.instances) if calls else None,
                "by_action": good[0].by_action if good else {},
                "client_cpu_s": _median([x.client_cpu for x in good]),
                "server_cpu_s": _median([x.server_cpu for x in good]),
                "x_floor": (med / floor) if med and floor else None,
                "bound_s": bound,
                "x_bound": (med / bound) if med and bound else None,
                "detail": s.samples[-1].detail if s.samples else None,
                "valid": valid,
                "unavailable": s.unavailable,
            }
        )
    loads = [x.load for s in series for x in s.samples]
    return {
        "load_range": [min(loads, default=0.0), max(loads, default=0.0)],
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": f"{platform.machine()}, {_cpus()} CPUs, Python {platform.python_version()}",
        "fleet": {
            "instances": fleet.instances,
            "on_ca_2019": fleet.on_ca_2019,
            "accounts": 1 + len(fleet.role_accounts),
            "assume_role_accounts": len(fleet.role_accounts),
            "regions": list(fleet.regions),
        },
        "runs": runs,
        "elapsed_s": round(elapsed, 1),
        "floor_s": floor,
        "rows": rows,
        "targets": targets(rows, floor),
        "all_valid": all(r["valid"] for r in rows if not r["unavailable"]),
    }


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


def _row(rows: list[dict[str, Any]], tool: str, ms: int) -> dict[str, Any] | None:
    """The row of a contender at a latency; an invalid one has no time to compare."""
    row = next((r for r in rows if r["tool"] == tool and r["latency_ms"] == ms), None)
    if row is not None and not row["valid"] and not row["unavailable"]:
        return {**row, "median_s": None}
    return row


def targets(rows: list[dict[str, Any]], floor: float | None) -> list[dict[str, Any]]:
    """The issue's three targets, each met / missed / not measured, with the figures behind it."""
    out = []
    for ms in sorted({r["latency_ms"] for r in rows if r["tool"] == "rdsca"}):
        rd = _row(rows, "rdsca", ms)
        med = rd["median_s"] if rd else None
        if rd and med is None:
            out.append(_t(f"rdsca at {ms} ms", None, f"rdsca failed: {rd['detail']}"))
        if med and floor:
            ratio = med / floor
            out.append(
                _t(
                    f"within {FLOOR_RATIO_TARGET}x of the floor at {ms} ms",
                    ratio <= FLOOR_RATIO_TARGET,
                    f"{med:.2f} s / {floor:.2f} s = {ratio:.2f}x",
                )
            )
        c7n = _row(rows, "c7n", ms)
        if c7n and c7n["unavailable"]:
            out.append(
                _t(f"faster than c7n-org at {ms} ms", None, f"c7n-org could not run: {c7n['unavailable']}")
            )
        elif c7n and c7n["median_s"] and med:
            out.append(
                _t(
                    f"faster than c7n-org at {ms} ms (full record vs flags)",
                    med < c7n["median_s"],
                    f"{med:.2f} s vs {c7n['median_s']:.2f} s",
                )
            )
    rd, seq = _row(rows, "rdsca", HEADLINE_MS), _row(rows, "seq", HEADLINE_MS)
    if rd and seq and rd["median_s"] and seq["median_s"]:
        speedup = seq["median_s"] / rd["median_s"]
        out.append(
            _t(
                f">= {SEQ_SPEEDUP_TARGET:.0f}x faster than (a) at {HEADLINE_MS} ms",
                speedup >= SEQ_SPEEDUP_TARGET,
                f"{seq['median_s']:.2f} s / {rd['median_s']:.2f} s = {speedup:.1f}x",
            )
        )
    return out


def _t(name: str, met: bool | None, figures: str) -> dict[str, Any]:
    return {"target": name, "met": met, "figures": figures}


def _cell(r: dict[str, Any]) -> str:
    if r["unavailable"]:
        return "not run"
    if not r["valid"]:
        return "INVALID"
    return f"{_fmt(r['median_s'])} [{_fmt(r['min_s'])}-{_fmt(r['max_s'])}]"


def _ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}x"


def _per_instance(r: dict[str, Any]) -> str:
    return "-" if r["calls"] is None else f"{r['calls']} ({r['calls_per_instance']:.3f})"


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "MISSED", None: "not measured"}[met]


def _cpu(r: dict[str, Any]) -> str:
    return f"{_fmt(r['client_cpu_s'])} / {_fmt(r['server_cpu_s'])}"


def text_table(summary: dict[str, Any]) -> str:
    cols = (
        f"{'contender':46} {'lat':>6} {'wall s, median [min-max]':>25} {'x floor':>8} {'x bound':>8} "
        f"{'CPU s client/stand-in':>22} {'calls (per inst.)':>18}"
    )
    lines = [cols, "-" * len(cols)]
    for r in summary["rows"]:
        lines.append(
            f"{r['label']:46} {str(r['latency_ms']) + ' ms':>6} {_cell(r):>25} {_ratio(r['x_floor']):>8} "
            f"{_ratio(r['x_bound']):>8} {_cpu(r):>22} {_per_instance(r):>18}"
        )
        if r["unavailable"]:
            lines.append(f"{'':8}not run: {r['unavailable']}")
        elif not r["valid"]:
            lines.append(f"{'':8}invalid output: {r['detail']}")
    lines.append("")
    for t in summary["targets"]:
        lines.append(f"target {t['target']}: {_verdict(t['met'])} ({t['figures']})")
    low, high = summary["load_range"]
    lines.append(
        f"({summary['runs']} runs each, interleaved; load average {low:.1f}-{high:.1f}; "
        f"whole benchmark {summary['elapsed_s']} s)"
    )
    return "\n".join(lines)


def markdown(summary: dict[str, Any]) -> str:
    f = summary["fleet"]
    low, high = summary["load_range"]
    out = [
        "## Fleet audit: `rdsca audit` vs its peers",
        "",
        f"Measured {summary['generated_at']} on {summary['machine']} by `make bench` "
        f"(`.venv/bin/python bench/bench_audit.py`); 1-minute load average during the runs "
        f"{low:.1f}-{high:.1f}.",
        "",
        f"Fleet: {f['instances']:,} DB instances, {f['accounts']} accounts "
        f"({f['assume_role_accounts']} reached by assume-role) x {len(f['regions'])} regions "
        f"({', '.join(f['regions'])}), {f['on_ca_2019']} on rds-ca-2019, served by rdsca's sandbox "
        "(moto + the RDS certificate extension) in its own process, with the injected per-call "
        "latency shown. Wall: whole-process seconds, median of "
        f"{summary['runs']} interleaved runs [min-max]. x floor: median / the floor (the minimal "
        "concurrent client at 0 ms). x bound: median / max(latency chain, floor), the latency chain "
        f"being {CHAIN_CALLS} dependent calls (AssumeRole, page 1, page 2). CPU: user + system "
        "seconds of the contender's processes / of the stand-in during the run (medians). API calls "
        "counted at the stand-in (per instance).",
        "",
        "| contender | latency | wall s | x floor | x bound | CPU s client / stand-in "
        "| API calls (per instance) | reports |",
        "|---|---:|---|---:|---:|---:|---:|---|",
    ]
    for r in summary["rows"]:
        out.append(
            f"| {r['label']} | {r['latency_ms']} ms | {_cell(r)} | {_ratio(r['x_floor'])} "
            f"| {_ratio(r['x_bound'])} | {_cpu(r)} | {_per_instance(r)} | {r['reports']} |"
        )
    notes = [r for r in summary["rows"] if r["unavailable"] or not r["valid"]]
    if notes:
        out += ["", "Not measured:", ""]
        for r in notes:
            why = r["unavailable"] or f"invalid output: {r['detail']}"
            out.append(f"- {r['label']} at {r['latency_ms']} ms: {why}")
    out += ["", "Targets (from the issue):", ""]
    out += [f"- {t['target']}: **{_verdict(t['met'])}** ({t['figures']})" for t in summary["targets"]]
    out += ["", "What each printed (last run):", ""]
    for r in summary["rows"]:
        if r["detail"] and not r["unavailable"]:
            out.append(f"- {r['label']} at {r['latency_ms']} ms: {r['detail']}")
    out += ["", "Calls by action (one run each):", ""]
    for r in summary["rows"]:
        if r["by_action"]:
            acts = ", ".join(f"{k} {v}" for k, v in sorted(r["by_action"].items()))
            out.append(f"- {r['label']} at {r['latency_ms']} ms: {acts}")
    if NOTES.exists():
        out += ["", NOTES.read_text(encoding="utf-8").strip()]
    return "\n".join(out) + "\n"
