"""Benchmark: rdsca's concurrent TLS probe vs a loop of `openssl s_client -starttls postgres`.

One child process serves N local endpoints (asyncio, one listener per port) that speak the
PostgreSQL SSLRequest and then TLS with an RDS-like chain (leaf + intermediate, RSA 2048, like
rds-ca-rsa2048-g1). rdsca probes all of them with `probe_many`; the openssl loop runs one
`openssl s_client` per endpoint on a sample (every k-th endpoint) and is extrapolated per endpoint.
Both read the same chain from the same server process. Medians of 3 runs; figures are printed and
written to docs/benchmarks-probe.md.

    .venv/bin/python bench/bench_probe.py [--endpoints 500] [--sample 50] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import os
import platform
import resource
import ssl
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rdsca.readiness.probe import Endpoint, Outcome, Protocol, probe_many, reading_context
from rdsca.readiness.probe_chain import CertInfo, describe
from rdsca.sandbox.pki import make_hierarchy

ROOT = Path(__file__).resolve().parent.parent


def _serve(cert: str, key: str, count: int, ready: mp.Queue) -> None:  # type: ignore[type-arg]
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # clients hanging up is the normal end
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readexactly(8)
            writer.write(b"S")
            await writer.drain()
            await writer.start_tls(ctx)
            await reader.read(1)  # until the client closes
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        servers = [await asyncio.start_server(handle, "127.0.0.1", 0, backlog=512) for _ in range(count)]
        ready.put([s.sockets[0].getsockname()[1] for s in servers])
        await asyncio.Event().wait()

    asyncio.run(main())


def _rdsca_rate(endpoints: list[Endpoint], concurrency: int) -> tuple[float, int]:
    started = time.perf_counter()
    results = probe_many(endpoints, timeout=10, concurrency=concurrency)
    elapsed = time.perf_counter() - started
    ok = sum(1 for r in results if r.outcome == Outcome.TLS and len(r.chain) == 2)
    return len(endpoints) / elapsed, ok


def _asyncio_rate(endpoints: list[Endpoint], concurrency: int) -> tuple[float, int]:
    """The alternative design, doing the same work: asyncio streams + start_tls, same parsing."""
    ctx = reading_context()
    seen: dict[bytes, CertInfo] = {}

    async def one(ep: Endpoint, gate: asyncio.Semaphore) -> int:
        async with gate:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(ep.host, ep.port), 10)
            try:
                writer.write(struct.pack("!ii", 8, 80877103))
                if await reader.readexactly(1) != b"S":
                    return 0
                await writer.start_tls(ctx, server_hostname=ep.host)
                sslobj = writer.get_extra_info("ssl_object")
                ders = [c.public_bytes(ssl._ssl.ENCODING_DER) for c in sslobj._sslobj.get_unverified_chain()]  # type: ignore[attr-defined]
                chain = [seen.get(d) or seen.setdefault(d, describe(d)) for d in ders]
                return len(chain)
            finally:
                writer.close()

    async def run() -> list[int]:
        gate = asyncio.Semaphore(concurrency)
        return await asyncio.gather(*(one(ep, gate) for ep in endpoints))

    started = time.perf_counter()
    counts = asyncio.run(run())
    elapsed = time.perf_counter() - started
    return len(endpoints) / elapsed, sum(1 for c in counts if c == 2)


def _openssl_rate(ports: list[int]) -> tuple[float, int]:
    ok = 0
    started = time.perf_counter()
    for port in ports:
        done = subprocess.run(
            ["openssl", "s_client", "-starttls", "postgres", "-connect", f"127.0.0.1:{port}", "-showcerts"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
        )
        ok += done.stdout.count(b"-----BEGIN CERTIFICATE-----") == 2
    elapsed = time.perf_counter() - started
    return len(ports) / elapsed, ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoints", type=int, default=500)
    ap.add_argument("--sample", type=int, default=50, help="openssl runs per round (extrapolated)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[16, 64, 128])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks-probe.md")
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 4 * args.endpoints + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    now = datetime.now(UTC)
    tmp = Path(tempfile.mkdtemp(prefix="rdsca-bench-probe-"))
    server_cert = make_hierarchy("new", now=now).issue_server(now=now)
    server_cert.write(tmp / "server.crt", tmp / "server.key")
    ready: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    proc = mp.Process(
        target=_serve,
        args=(str(tmp / "server.crt"), str(tmp / "server.key"), args.endpoints, ready),
        daemon=True,
    )
    proc.start()
    ports: list[int] = ready.get(timeout=60)
    endpoints = [Endpoint("127.0.0.1", p, Protocol.POSTGRES, label=f"db-{i}") for i, p in enumerate(ports)]
    step = max(1, len(ports) // args.sample)
    sample = ports[::step][: args.sample]
    try:
        probe_many(endpoints[:20], timeout=10)  # warm-up (imports, first contexts)
        by_conc: dict[int, list[float]] = {c: [] for c in args.concurrency}
        openssl: list[float] = []
        aio: list[float] = []
        for run in range(args.runs):
            for c in args.concurrency:
                rate, ok = _rdsca_rate(endpoints, c)
                if ok != len(endpoints):
                    raise SystemExit(f"rdsca read {ok}/{len(endpoints)} chains at concurrency {c}")
                by_conc[c].append(rate)
            rate, ok = _asyncio_rate(endpoints, max(args.concurrency))
            if ok != len(endpoints):
                raise SystemExit(f"asyncio variant read {ok}/{len(endpoints)} chains")
            aio.append(rate)
            rate, ok = _openssl_rate(sample)
            if ok != len(sample):
                raise SystemExit(f"openssl read {ok}/{len(sample)} chains")
            openssl.append(rate)
            print(f"run {run + 1}: " + ", ".join(f"rdsca c={c} {by_conc[c][-1]:.0f}/s" for c in by_conc)
                  + f", asyncio {aio[-1]:.0f}/s, openssl loop {rate:.1f}/s", flush=True)  # fmt: skip
    finally:
        proc.kill()
    medians = {c: statistics.median(v) for c, v in by_conc.items()}
    best = max(medians, key=lambda c: medians[c])
    ossl = statistics.median(openssl)
    report = _report(args, len(endpoints), len(sample), medians, by_conc, best, ossl, openssl, aio)
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    print(f"written to {args.out}")
    return 0


def _report(args, n, sample_n, medians, by_conc, best, ossl, openssl, aio) -> str:  # type: ignore[no-untyped-def]
    ossl_v = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()
    lines = [
        "## TLS probe: rdsca vs an `openssl s_client` loop",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {os.cpu_count()} cores (load average "
        f"{os.getloadavg()[0]:.1f} at the end), Python {platform.python_version()}, {ossl_v}. "
        "`.venv/bin/python bench/bench_probe.py`",
        "",
        f"{n} local endpoints (one asyncio server process, one port each) answer the PostgreSQL "
        "SSLRequest and present leaf + intermediate (RSA 2048, RDS-like names). rdsca probes all "
        f"{n} with `probe_many` (threads); the openssl loop runs `openssl s_client -starttls postgres "
        f"-connect ... -showcerts </dev/null` sequentially on {sample_n} of them (every "
        f"{max(1, n // sample_n)}th) and is extrapolated per endpoint. Every run checks that each "
        f"probe read both certificates. Medians of {args.runs} runs [min-max].",
        "",
        "| client | endpoints / s | ratio to openssl loop |",
        "|---|---|---|",
    ]
    for c, m in medians.items():
        rng = f"[{min(by_conc[c]):.0f}-{max(by_conc[c]):.0f}]"
        lines.append(f"| rdsca `probe_many`, {c} threads | {m:.0f} {rng} | {m / ossl:.1f}x |")
    a = statistics.median(aio)
    lines.append(
        f"| asyncio streams + start_tls (not used; same parsing), {max(medians)} at a time "
        f"| {a:.0f} [{min(aio):.0f}-{max(aio):.0f}] | {a / ossl:.1f}x |"
    )
    lines.append(f"| `openssl s_client` loop | {ossl:.1f} [{min(openssl):.1f}-{max(openssl):.1f}] | 1.0x |")
    lines += [
        "",
        f"Headline: {medians[best]:.0f} endpoints/s at {best} threads, {medians[best] / ossl:.1f}x the "
        f"openssl loop ({n} endpoints in {n / medians[best]:.2f} s vs {n / ossl:.1f} s).",
        "",
        f"Why threads: the asyncio variant above does the same work (same SSLRequest, same "
        f"chain parsing) at {a:.0f}/s against {medians[best]:.0f}/s for the thread pool: with "
        "threads the handshake runs inside OpenSSL with the GIL released, while asyncio drives "
        "TLS through memory BIOs from Python for every record. Client and server share the "
        "same cores here, so the server's RSA signatures bound every client; the default of "
        "64 threads is for real networks, where latency rather than CPU dominates.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
