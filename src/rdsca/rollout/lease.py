"""One process at a time per run and per instance: leases in the journal, renewed by a heartbeat.

`rdsca apply`, `resume` and `rollback` lease their run and every instance it names, in the same
transaction that creates (or resumes) the run. A second process on the same journal is refused
while the holder lives, naming it. A lease whose holder is gone is taken over:

- the holder ran on this host and its pid no longer exists (a SIGKILL, a crash): taken over at
  once, and the take-over is journalled;
- the holder stopped renewing it for `TTL` seconds (another host, or a stopped process): taken
  over only when the user says so (`--take-over`), since rdsca cannot tell whether it still runs.

A lease lives in one journal file. Two machines with two journals do not see each other's
leases; the executor still refuses to write an instance that is busy with a change (see
docs/rotation.md, "Two processes, two machines").
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rdsca.errors import ExitCode, RdscaError
from rdsca.rollout.plan import Plan

TTL = 120.0  # seconds without a heartbeat after which a holder may be taken over (--take-over)
HEARTBEAT = 15.0  # seconds between renewals


class LeaseHeld(RdscaError):
    """Another process holds the run or one of its instances."""

    exit_code = ExitCode.USAGE


class LeaseLost(RdscaError):
    """This process no longer holds its run (another process took it over): it must send nothing."""

    exit_code = ExitCode.ERROR


@dataclass(frozen=True)
class Holder:
    id: str
    pid: int
    host: str
    command: str

    @classmethod
    def this_process(cls, command: str) -> Holder:
        return cls(secrets.token_hex(8), os.getpid(), socket.gethostname(), command)


@dataclass(frozen=True)
class LeaseRecord:
    scope: str
    run_id: str
    holder: str
    pid: int
    host: str
    command: str
    acquired_at: str
    heartbeat_at: str


def scopes(run_id: str, plan: Plan) -> list[str]:
    instances = sorted({f"{s.account}/{s.region}/{i}" for s in plan.steps for i in s.instance_ids})
    return [f"run:{run_id}", *(f"instance:{k}" for k in instances)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def gone(rec: LeaseRecord, now: datetime, ttl: float = TTL) -> str | None:
    """Why the holder of `rec` is gone ("dead" or "expired"), or None while it may still run.

    A holder on this host whose process exists is never gone, whatever its heartbeat says (a
    stopped process wakes up and writes): stop it first. A heartbeat from more than `ttl` in the
    future comes from a clock that disagrees with ours and counts as expired.
    """
    if rec.host == socket.gethostname():
        return None if _alive(rec.pid) else "dead"
    age = (now - datetime.fromisoformat(rec.heartbeat_at)).total_seconds()
    return "expired" if age > ttl or age < -ttl else None


def describe(rec: LeaseRecord, now: datetime) -> str:
    age = (now - datetime.fromisoformat(rec.heartbeat_at)).total_seconds()
    what = rec.scope.replace("run:", "run ").replace("instance:", "instance ")
    beat = (
        f"last heartbeat {age:.0f}s ago"
        if age >= 0
        else f"last heartbeat {-age:.0f}s in the future: clocks disagree"
    )
    return (
        f"{what} is held by `{rec.command}` (run {rec.run_id}, pid {rec.pid} on {rec.host}, "
        f"since {rec.acquired_at}, {beat})"
    )


def check_fence(db: sqlite3.Connection, run_id: str, holder: Holder) -> None:
    """Inside the transaction of a "modify-sending": LeaseLost unless `holder` still holds the run."""
    row = db.execute("SELECT holder, pid, host FROM leases WHERE scope=?", (f"run:{run_id}",)).fetchone()
    if row is None or row[0] != holder.id:
        who = f"pid {row[1]} on {row[2]}" if row is not None else "nobody"
        raise LeaseLost(f"run {run_id} was taken over by {who}: this process sends nothing more")


def claim(
    db: sqlite3.Connection,
    run_id: str,
    wanted: list[str],
    holder: Holder,
    now: datetime,
    take_over: bool = False,
) -> list[str]:
    """Lease `wanted` scopes to `holder`, inside the caller's transaction.

    Raises LeaseHeld, naming the holder, when a live process holds one of them; returns a line
    for each lease taken over from a holder that is gone.
    """
    taken: list[str] = []
    stamp = now.isoformat(timespec="milliseconds")
    for scope in wanted:
        row = db.execute("SELECT * FROM leases WHERE scope=?", (scope,)).fetchone()
        if row is None or row["holder"] == holder.id:
            continue
        rec = LeaseRecord(**dict(row))
        why = gone(rec, now)
        if why is None:
            raise LeaseHeld(f"{describe(rec, now)}; wait for it to finish (see `rdsca runs`)")
        if why == "expired" and not take_over:
            raise LeaseHeld(
                f"{describe(rec, now)}; it stopped renewing its lease: if that process is gone "
                f"for good, run again with --take-over"
            )
        taken.append(
            f"took over {describe(rec, now)}: {'process ended' if why == 'dead' else 'lease expired'}"
        )
    for scope in wanted:
        db.execute(
            "INSERT OR REPLACE INTO leases (scope, run_id, holder, pid, host, command, acquired_at, "
            "heartbeat_at) VALUES (?,?,?,?,?,?,?,?)",
            (scope, run_id, holder.id, holder.pid, holder.host, holder.command, stamp, stamp),
        )
    return taken


class Heartbeat:
    """Renews `holder`'s leases every `interval` seconds on its own connection until stopped."""

    def __init__(self, path: Path, holder: Holder, interval: float = HEARTBEAT) -> None:
        self.path, self.holder, self.interval = path, holder, interval
        self._stop = threading.Event()
        self.lost = False
        self._thread = threading.Thread(target=self._run, name="rdsca-lease", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        db = sqlite3.connect(self.path, timeout=10)
        try:
            while not self._stop.wait(self.interval):
                stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
                try:
                    with db:
                        cur = db.execute(
                            "UPDATE leases SET heartbeat_at=? WHERE holder=?", (stamp, self.holder.id)
                        )
                    self.lost = self.lost or cur.rowcount == 0  # taken over: the fence stops our sends
                except sqlite3.Error:
                    continue  # a busy or full disk: the next beat tries again; the TTL is generous
        finally:
            db.close()
