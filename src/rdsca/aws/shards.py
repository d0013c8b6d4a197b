"""Read a large fleet with a process per shard of targets, so that every core does botocore's work.

An organization-wide audit is some 20,000 calls and 25,000 instances parsed; botocore spends about
2 ms of CPU on a call (signing, parsing) and half a millisecond on an instance, and one Python
process runs Python on one core at a time. Past a few hundred account-regions the client's CPU,
not AWS, sets the pace (docs/benchmarks-org.md), so rdsca splits the targets between worker
processes, each with its own clients and threads.

Nothing is shared between the shards but what is sent to them: each target is an account-region,
AWS limits requests per account and region, and a target is read by one process only, so every
per-account-region bucket (rdsca.aws.accounts) still sees all of its target's calls. The parent
has already resolved the targets (its profile's credentials, the roles it assumed); a worker gets
the keys to sign with through a pipe (never on its command line, never logged), reads its targets
with `rdsca.aws.fleet.collect_target`, and sends back each target's result as it finishes, with
its log records and its throttling counts. A worker that dies (killed, out of memory) does not
take the audit with it: the targets it had not answered are recorded as failed, with the reason.

Workers are started as `python -m rdsca.aws.shards`, not through multiprocessing: a library user's
script without an `if __name__ == "__main__"` guard would otherwise be run again in every worker.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import IO, Any

from rdsca.aws.fleet import (
    MAX_WORKERS,
    EngineCache,
    ProgressHook,
    TargetResult,
    Tracker,
    collect_target,
    fleet_of,
)
from rdsca.aws.session import AwsSettings, ResolvedTarget, SessionFactory
from rdsca.model import Fleet, Target, TargetStatus
from rdsca.redaction import register_credentials

log = logging.getLogger(__name__)

# Below this many targets a worker process (its start-up, its own clients, its own engine-version
# answers) costs more than the second core saves.
SHARD_MIN_TARGETS = 200
FLUSH_SECONDS = 0.25  # how often a worker sends what it has (progress is drawn from it)
FLUSH_TARGETS = 64


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def shard_count(workers: int | None, targets: int) -> int:
    """How many worker processes to use: `workers` (None: one per usable CPU), 1 for small reads."""
    wanted = usable_cpus() if workers is None else workers
    if wanted <= 1 or targets < SHARD_MIN_TARGETS:
        return 1
    return min(wanted, targets // (SHARD_MIN_TARGETS // 2))


@dataclass(frozen=True)
class _Reach:
    """How a worker reaches one target: what it is and the keys to sign its calls with."""

    index: int
    target: Target
    profile: str | None
    account: str | None
    keys: tuple[str, str, str | None] | None


@dataclass(frozen=True)
class _Job:
    settings: AwsSettings
    reaches: tuple[_Reach, ...]
    now: datetime
    max_workers: int
    log_level: int


def collect_sharded(
    targets: Sequence[ResolvedTarget],
    now: datetime,
    shards: int,
    max_workers: int = MAX_WORKERS,
    progress: ProgressHook | None = None,
) -> Fleet:
    """`rdsca.aws.fleet.collect` over `shards` worker processes: the same Fleet, in the same order."""
    results: list[TargetResult | None] = [None] * len(targets)
    tracker = Tracker(targets, progress)
    jobs: list[list[_Reach]] = [[] for _ in range(shards)]
    settings = AwsSettings()
    for index, resolved in enumerate(targets):
        if resolved.factory is None:  # unreachable (a role not assumed): nothing to send
            status = TargetStatus(resolved.target, False, resolved.error)
            results[index] = tracker.done(resolved, TargetResult(status, None, ()))
            continue
        settings = resolved.factory.settings
        jobs[index % shards].append(_reach(index, resolved))
    workers = [_Worker(_Job(settings, tuple(job), now, max(1, max_workers // shards), _log_level()))
               for job in jobs if job]  # fmt: skip
    try:
        for worker in workers:
            worker.start()
        readers = [
            threading.Thread(target=worker.read, args=(targets, results, tracker), daemon=True)
            for worker in workers
        ]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join()
    finally:
        for worker in workers:
            worker.stop()
    for worker in workers:
        worker.raise_crash()
    for index, result in enumerate(results):
        if result is None:  # a worker ended before it answered for this target
            reason = next((w.ended for w in workers if w.holds(index)), None) or "not read"
            results[index] = TargetResult(TargetStatus(targets[index].target, False, reason), None, ())
    return fleet_of(now, [r for r in results if r is not None])


def _reach(index: int, resolved: ResolvedTarget) -> _Reach:
    factory = resolved.factory
    assert factory is not None
    keys = factory.frozen_keys()
    return _Reach(index, resolved.target, factory.profile, factory.account, keys)


def _log_level() -> int:
    """The lowest level any of rdsca's handlers would show (what a worker must send back)."""
    return min(logging.getLogger(name).getEffectiveLevel() for name in ("rdsca", "botocore", "urllib3"))


class _Worker:
    """One worker process, seen from the parent: its job, its pipe, how it ended."""

    def __init__(self, job: _Job) -> None:
        self.job = job
        self.indexes = {r.index for r in job.reaches}
        self.proc: subprocess.Popen[bytes] | None = None
        self.pipe: IO[bytes] | None = None
        self.ended: str | None = None
        self.crash: str | None = None
        self.throttled = 0

    def holds(self, index: int) -> bool:
        return index in self.indexes

    def start(self) -> None:
        read_fd, write_fd = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "rdsca.aws.shards", str(write_fd)],
                stdin=subprocess.PIPE,
                pass_fds=(write_fd,),
                start_new_session=False,
            )
        finally:
            os.close(write_fd)
        self.pipe = os.fdopen(read_fd, "rb")
        assert self.proc.stdin is not None
        try:
            pickle.dump(self.job, self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.proc.stdin.close()
        except BrokenPipeError:  # it died at once: read() sees the end and says how
            pass

    def read(
        self, targets: Sequence[ResolvedTarget], results: list[TargetResult | None], tracker: Tracker
    ) -> None:
        assert self.pipe is not None and self.proc is not None
        try:
            while True:
                try:
                    kind, payload = pickle.load(self.pipe)
                except EOFError:
                    break
                if kind == "results":
                    done, self.throttled = payload
                    tracker.throttled_elsewhere(id(self), self.throttled)
                    for index, result in done:
                        results[index] = tracker.done(targets[index], result)
                elif kind == "log":
                    level, name, message = payload
                    logging.getLogger(name).log(level, "%s", message)
                elif kind == "crash":
                    self.crash = payload
        except (pickle.UnpicklingError, ValueError, OSError) as exc:
            self.crash = f"unreadable answer from a worker process: {exc}"
        code = self.proc.wait()
        if code != 0:
            how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
            self.ended = f"the worker process reading it stopped ({how}) before it was read"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.pipe is not None:
            self.pipe.close()

    def raise_crash(self) -> None:
        if self.crash is not None:
            raise RuntimeError(f"a worker process of the audit failed: {self.crash}")


# -- the worker process ------------------------------------------------------------------------


class _Sender:
    """The worker's end of the pipe: one pickled message at a time, from any thread."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.lock = threading.Lock()

    def send(self, kind: str, payload: Any) -> None:
        data = pickle.dumps((kind, payload), protocol=pickle.HIGHEST_PROTOCOL)
        with self.lock:
            self.out.write(data)
            self.out.flush()


class _Forward(logging.Handler):
    def __init__(self, sender: _Sender) -> None:
        super().__init__()
        self.sender = sender

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.sender.send("log", (record.levelno, record.name, self.format(record)))
        except Exception:  # a log line must never stop the audit
            self.handleError(record)


def _factories(job: _Job) -> dict[tuple[Any, ...], SessionFactory]:
    out: dict[tuple[Any, ...], SessionFactory] = {}
    shared = None
    for reach in job.reaches:
        key = (reach.profile, reach.account, reach.keys)
        if key in out:
            continue
        credentials = None
        if reach.keys is not None:
            credentials = {"AccessKeyId": reach.keys[0], "SecretAccessKey": reach.keys[1]}
            if reach.keys[2]:
                credentials["SessionToken"] = reach.keys[2]
            register_credentials(credentials)
        factory = SessionFactory(
            settings=job.settings,
            profile=reach.profile,
            credentials=credentials,
            _shared=shared,
            account=reach.account,
        )
        shared = factory._shared  # one set of clients for every account of this worker
        out[key] = factory
    return out


def work(job: _Job, sender: _Sender) -> None:
    """Read the job's targets, sending each result as it finishes (in batches)."""
    factories = _factories(job)
    resolved = [
        (r.index, ResolvedTarget(r.target, factories[(r.profile, r.account, r.keys)])) for r in job.reaches
    ]
    limits = next(iter(factories.values())).limits if factories else None
    workers = max(1, min(job.max_workers, len(resolved)))
    finished: queue.SimpleQueue[tuple[int, Future[TargetResult]]] = queue.SimpleQueue()
    with (
        ThreadPoolExecutor(max_workers=2 * workers, thread_name_prefix="rdsca-side") as side,
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rdsca-collect") as pool,
    ):
        engines = EngineCache(side)
        for index, target in resolved:  # a callback per target: no wait() over thousands of futures
            future = pool.submit(collect_target, target, engines, side, job.now)
            future.add_done_callback(partial(lambda i, f: finished.put((i, f)), index))
        left = len(resolved)
        batch: list[tuple[int, TargetResult]] = []
        flush_at = time.monotonic() + FLUSH_SECONDS
        while left:
            try:
                index, future = finished.get(timeout=max(0.0, flush_at - time.monotonic()))
                batch.append((index, future.result()))
                left -= 1
            except queue.Empty:
                pass
            if batch and (len(batch) >= FLUSH_TARGETS or not left or time.monotonic() >= flush_at):
                sender.send("results", (batch, limits.throttled if limits else 0))
                batch = []
            if time.monotonic() >= flush_at:
                flush_at = time.monotonic() + FLUSH_SECONDS


def main(argv: Sequence[str]) -> int:
    out = os.fdopen(int(argv[0]), "wb")
    sys.stdout = sys.stderr  # the parent's standard output carries the report: never write to it
    sender = _Sender(out)
    try:
        job: _Job = pickle.load(sys.stdin.buffer)
        root = logging.getLogger()
        root.handlers[:] = [_Forward(sender)]
        root.setLevel(job.log_level)
        work(job, sender)
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: the parent reports it
        return 130
    except BaseException as exc:  # sent to the parent, which raises it
        import traceback

        sender.send("crash", "".join(traceback.format_exception_only(type(exc), exc)).strip())
        logging.getLogger(__name__).debug("worker traceback:\n%s", traceback.format_exc())
        return 1
    finally:
        with contextlib.suppress(OSError):
            out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
