"""The worker process of rdsca.aws.shards: `python -m rdsca.aws.shards_worker FD`.

It reads its job and then its targets from standard input (pickled by the parent, keys included:
never on its command line), reads each target with `rdsca.aws.fleet.collect_target` on a pool of
threads, and writes each target's result, its log records and its throttling counts to the pipe
`FD`, in batches. It ends when the parent says "end" and every target given is answered, or at once
when the parent is gone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import signal
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import IO, Any

from rdsca.aws.fleet import EngineCache, TargetResult, collect_target
from rdsca.aws.session import AwsSettings, ResolvedTarget, SessionFactory
from rdsca.aws.shards import EXIT_ORPHANED, FLUSH_SECONDS, FLUSH_TARGETS, Job, Reach
from rdsca.redaction import register_credentials


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


class _Factories:
    """The worker's session factories, one per set of keys, sharing one set of clients."""

    def __init__(self) -> None:
        self.made: dict[tuple[Any, ...], SessionFactory] = {}
        self.shared: Any = None

    def get(self, settings: AwsSettings, reach: Reach) -> SessionFactory:
        key = (reach.profile, reach.account, reach.keys)
        found = self.made.get(key)
        if found is None:
            credentials = None
            if reach.keys is not None:
                credentials = {"AccessKeyId": reach.keys[0], "SecretAccessKey": reach.keys[1]}
                if reach.keys[2]:
                    credentials["SessionToken"] = reach.keys[2]
                register_credentials(credentials)
            found = SessionFactory(
                settings=settings,
                profile=reach.profile,
                credentials=credentials,
                _shared=self.shared,
                account=reach.account,
            )
            self.shared = found._shared  # one set of clients for every account of this worker
            self.made[key] = found
        return found

    @property
    def limits(self) -> Any:
        return self.shared.limits if self.shared is not None else None


def work(job: Job, incoming: IO[bytes], sender: _Sender) -> None:
    """Read the targets that come in, sending each result as it finishes (in batches)."""
    factories = _Factories()
    workers = max(1, job.max_workers)
    finished: queue.SimpleQueue[tuple[int, Future[TargetResult]] | None] = queue.SimpleQueue()
    with (
        ThreadPoolExecutor(max_workers=2 * workers, thread_name_prefix="rdsca-side") as side,
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rdsca-collect") as pool,
    ):
        engines = EngineCache(side)
        counts = [0, 0]  # targets received (by receive), targets answered (by the loop below)

        def receive() -> None:  # the parent's targets, as its roles are assumed; then "end"
            try:
                while True:
                    kind, payload = pickle.load(incoming)
                    if kind == "end":
                        break
                    settings, reaches = payload
                    for reach in reaches:
                        target = ResolvedTarget(reach.target, factories.get(settings, reach))
                        future = pool.submit(collect_target, target, engines, side, job.now)
                        future.add_done_callback(partial(lambda i, f: finished.put((i, f)), reach.seq))
                        counts[0] += 1
            except (EOFError, pickle.UnpicklingError):
                # The parent always says "end" before it closes this pipe: it is gone (SIGKILL, out
                # of memory). Nobody will read the answers, so stop at once instead of calling AWS
                # for every target given (the pool would finish them all before this process ends).
                os._exit(EXIT_ORPHANED)
            except RuntimeError:  # the pool is shut down: this worker is ending (its crash is sent)
                pass
            finally:
                finished.put(None)

        receiver = threading.Thread(target=receive, name="rdsca-receive", daemon=True)
        receiver.start()
        batch: list[tuple[int, TargetResult]] = []
        flush_at = time.monotonic() + FLUSH_SECONDS
        fed = False
        while not (fed and counts[1] == counts[0]):
            try:
                item = finished.get(timeout=max(0.0, flush_at - time.monotonic()))
                if item is None:
                    fed = True
                else:
                    batch.append((item[0], item[1].result()))
                    counts[1] += 1
            except queue.Empty:
                pass
            now = time.monotonic()
            if batch and (len(batch) >= FLUSH_TARGETS or now >= flush_at or (fed and counts[1] == counts[0])):
                limits = factories.limits
                sender.send("results", (batch, limits.throttled if limits else 0))
                batch = []
            if now >= flush_at:
                flush_at = now + FLUSH_SECONDS


def main(argv: Sequence[str]) -> int:
    # Ctrl-C reaches the whole process group; the parent reports it and stops the workers. A worker
    # that took it too would print a traceback per thread on the user's terminal and then wait for
    # its calls in flight before the parent's kill arrives.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(int(argv[0]), "wb")
    sys.stdout = sys.stderr  # the parent's standard output carries the report: never write to it
    sender = _Sender(out)
    try:
        kind, job = pickle.load(sys.stdin.buffer)
        if kind != "job":
            raise ValueError(f"expected a job, got {kind!r}")
        root = logging.getLogger()
        root.handlers[:] = [_Forward(sender)]
        root.setLevel(job.log_level)
        work(job, sys.stdin.buffer, sender)
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
