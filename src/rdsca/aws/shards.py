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
its log records and its throttling counts. Targets are given as the workers answer (each holds
at most HELD_PER_THREAD per thread), so the last ones go to whichever worker is free. A worker that
dies (killed, out of memory) does not take the audit with it: the targets it held and had not
answered are recorded as failed, with the reason, and the rest go to the other workers.

Workers are started as `python -m rdsca.aws.shards_worker` (their side of the pipes is there), not
through multiprocessing: a library user's script without an `if __name__ == "__main__"` guard
would otherwise be run again in every worker.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from rdsca.aws.fleet import (
    MAX_WORKERS,
    ProgressHook,
    TargetResult,
    Tracker,
    collect,
    fleet_of,
)
from rdsca.aws.session import AwsSettings, ResolvedTarget
from rdsca.model import Fleet, Target, TargetStatus

log = logging.getLogger(__name__)

# Below this many targets a worker process (its start-up, its own clients, its own engine-version
# answers) costs more than the second core saves.
SHARD_MIN_TARGETS = 200
FLUSH_SECONDS = 0.25  # how often a worker sends what it has (progress is drawn from it)
FLUSH_TARGETS = 64
# Targets a worker holds at once, per thread it reads with: enough that its threads never wait for
# the parent between two flushes, few enough that the last targets go to whichever worker is free
# (an even split by count left one worker reading 1.5 s after the other), and that a worker that
# dies costs only these, not a share of the whole estate.
HELD_PER_THREAD = 2
EXIT_ORPHANED = 3  # a worker whose parent went away without a word


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def wanted_processes(processes: int | None) -> int:
    """`processes`, None meaning one per usable CPU; 1 on Windows, where a worker cannot be handed
    the pipe it answers on (subprocess's pass_fds is POSIX only)."""
    if sys.platform == "win32":
        return 1
    return usable_cpus() if processes is None else processes


def shard_count(workers: int | None, targets: int) -> int:
    """How many worker processes to use: `workers` (None: one per usable CPU), 1 for small reads."""
    wanted = wanted_processes(workers)
    if wanted <= 1 or targets < SHARD_MIN_TARGETS:
        return 1
    return min(wanted, targets // (SHARD_MIN_TARGETS // 2))


@dataclass(frozen=True)
class Reach:
    """How a worker reaches one target: what it is and the keys to sign its calls with."""

    seq: int  # the parent's number for this target (results come back under it)
    target: Target
    profile: str | None
    account: str | None
    keys: tuple[str, str, str | None] | None


@dataclass(frozen=True)
class Job:
    now: datetime
    max_workers: int
    log_level: int


Feed = Callable[[list[ResolvedTarget]], None]


def read_streaming(
    resolve: Callable[[Feed | None], Sequence[ResolvedTarget]],
    now: datetime,
    processes: int | None,
    max_workers: int = MAX_WORKERS,
    progress: ProgressHook | None = None,
) -> Fleet:
    """Resolve the targets with `resolve` (which hands each account's targets to the feed it is
    given as soon as they are known, and returns them all in order) and read them: with worker
    processes once SHARD_MIN_TARGETS are known, so that the first accounts are read while the
    roles of the last are still being assumed; in this process for a smaller estate."""
    wanted = wanted_processes(processes)
    if wanted <= 1:
        return collect(resolve(None), now, max_workers, progress)
    read = _Sharded(wanted, now, max_workers, progress)
    try:
        targets = resolve(read.feed)
        if not read.started:
            return collect(targets, now, max_workers, progress)
        return read.finish(targets)
    finally:
        read.stop()


def collect_sharded(
    targets: Sequence[ResolvedTarget],
    now: datetime,
    shards: int,
    max_workers: int = MAX_WORKERS,
    progress: ProgressHook | None = None,
) -> Fleet:
    """`rdsca.aws.fleet.collect` over `shards` worker processes: the same Fleet, in the same order."""
    read = _Sharded(shards, now, max_workers, progress, threshold=0)
    try:
        read.feed(list(targets))
        return read.finish(targets)
    finally:
        read.stop()


class _Sharded:
    """A read split between worker processes, fed as targets become known."""

    def __init__(
        self,
        shards: int,
        now: datetime,
        max_workers: int,
        progress: ProgressHook | None,
        threshold: int = SHARD_MIN_TARGETS,
    ) -> None:
        self.shards, self.now, self.threshold = shards, now, threshold
        self.job = Job(now, max(1, max_workers // shards), _log_level())
        self.tracker = Tracker((), progress)
        self.tracker.resolving = True
        self.lock = threading.Condition()
        self.waiting: list[ResolvedTarget] = []  # known before the workers started
        self.workers: list[_Worker] = []
        self.readers: list[threading.Thread] = []
        self.sent: dict[int, ResolvedTarget] = {}
        self.results: dict[int, TargetResult] = {}
        self.queue: collections.deque[Reach] = collections.deque()  # not yet given to a worker
        self.settings: AwsSettings | None = None
        self.next_seq = 0
        self.started = False

    def feed(self, batch: list[ResolvedTarget]) -> None:
        with self.lock:
            self.tracker.add(batch)
            if not self.started:
                self.waiting.extend(batch)
                if len(self.waiting) < max(1, self.threshold):
                    return
                self._start()
                batch, self.waiting = self.waiting, []
            self._dispatch(batch)

    def _start(self) -> None:
        self.started = True
        self.workers = [_Worker(self.job) for _ in range(self.shards)]
        for worker in self.workers:
            worker.start()
            reader = threading.Thread(target=worker.read, args=(self,), daemon=True)
            reader.start()
            self.readers.append(reader)

    def _dispatch(self, batch: list[ResolvedTarget]) -> None:
        """Number the targets and queue them for the workers (under the lock)."""
        for resolved in batch:
            seq = self.next_seq
            self.next_seq += 1
            self.sent[seq] = resolved
            if resolved.factory is None:  # unreachable (a role not assumed): nothing to send
                status = TargetStatus(resolved.target, False, resolved.error)
                self.results[seq] = self.tracker.done(resolved, TargetResult(status, None, ()))
                continue
            self.settings = self.settings or resolved.factory.settings
            self.queue.append(_reach(seq, resolved))
        self._pump()

    def _pump(self) -> None:
        """Give queued targets to the live workers that hold fewer than they can (under the lock)."""
        limit = HELD_PER_THREAD * self.job.max_workers
        for worker in sorted((w for w in self.workers if w.alive), key=lambda w: w.held):
            room = min(limit - worker.held, len(self.queue))
            if room > 0:
                worker.send(("targets", (self.settings, [self.queue.popleft() for _ in range(room)])))

    def done(self, worker: _Worker, answered: list[tuple[int, TargetResult]]) -> None:
        """A worker's answers (from its reader thread): record them and give it more."""
        with self.lock:
            for seq, result in answered:
                self.results[seq] = self.tracker.done(self.sent[seq], result)
            worker.held -= len(answered)
            self._pump()
            self.lock.notify_all()

    def ended(self, worker: _Worker) -> None:
        """A worker's pipe closed: what is still queued goes to the others (or fails in finish)."""
        with self.lock:
            worker.alive = False
            self._pump()
            self.lock.notify_all()

    def finish(self, targets: Sequence[ResolvedTarget]) -> Fleet:
        self.tracker.resolving = False
        with self.lock:  # every target is known: wait until each is given (or no worker is left)
            while self.queue and any(w.alive for w in self.workers):
                self.lock.wait()
        for worker in self.workers:
            worker.send(("end", None))
            worker.close_input()
        for reader in self.readers:
            reader.join()
        for worker in self.workers:
            worker.raise_crash()
        by_target: dict[Target, list[int]] = {}
        for seq in sorted(self.sent):
            by_target.setdefault(self.sent[seq].target, []).append(seq)
        ordered = []
        for resolved in targets:
            seq = by_target[resolved.target].pop(0)
            result = self.results.get(seq)
            if result is None:  # a worker ended before it answered for this target (or all did)
                holder = next((w for w in self.workers if w.holds(seq)), None)
                reason = (holder.ended if holder else _all_ended(self.workers)) or "not read"
                result = TargetResult(TargetStatus(resolved.target, False, reason), None, ())
            ordered.append(result)
        return fleet_of(self.now, ordered)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()


def _all_ended(workers: Sequence[_Worker]) -> str | None:
    """Why a target given to no worker was not read: every worker had stopped."""
    how = next((w.ended for w in workers if w.ended), None)
    return how and how.replace("the worker process reading it stopped", "every worker process stopped", 1)


def _reach(seq: int, resolved: ResolvedTarget) -> Reach:
    factory = resolved.factory
    assert factory is not None
    return Reach(seq, resolved.target, factory.profile, factory.account, factory.frozen_keys())


def _log_level() -> int:
    """The lowest level any of rdsca's handlers would show (what a worker must send back)."""
    return min(logging.getLogger(name).getEffectiveLevel() for name in ("rdsca", "botocore", "urllib3"))


class _Worker:
    """One worker process, seen from the parent: its pipes, what it was given, how it ended."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.seqs: set[int] = set()
        self.held = 0  # targets given and not yet answered
        self.alive = True
        self.proc: subprocess.Popen[bytes] | None = None
        self.pipe: IO[bytes] | None = None
        self.lock = threading.Lock()
        self.ended: str | None = None
        self.crash: str | None = None

    def holds(self, seq: int) -> bool:
        return seq in self.seqs

    def start(self) -> None:
        read_fd, write_fd = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "rdsca.aws.shards_worker", str(write_fd)],
                stdin=subprocess.PIPE,
                stdout=2,  # never the report's stream (a pipe to jq would wait for a worker to close it)
                pass_fds=(write_fd,),
            )
        finally:
            os.close(write_fd)
        self.pipe = os.fdopen(read_fd, "rb")
        self.send(("job", self.job))

    def send(self, message: tuple[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        if message[0] == "targets":
            self.seqs.update(r.seq for r in message[1][1])
            self.held += len(message[1][1])
        with self.lock:
            try:
                pickle.dump(message, self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError):  # it died: read() sees the end and says how
                pass

    def close_input(self) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        with self.lock, contextlib.suppress(BrokenPipeError, ValueError):
            self.proc.stdin.close()

    def read(self, owner: _Sharded) -> None:
        assert self.pipe is not None and self.proc is not None
        try:
            while True:
                try:
                    kind, payload = pickle.load(self.pipe)
                except EOFError:
                    break
                if kind == "results":
                    done, throttled = payload
                    owner.tracker.throttled_elsewhere(id(self), throttled)
                    owner.done(self, done)
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
        owner.ended(self)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.pipe is not None:
            self.pipe.close()

    def raise_crash(self) -> None:
        if self.crash is not None:
            raise RuntimeError(f"a worker process of the audit failed: {self.crash}")
