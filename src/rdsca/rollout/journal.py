"""The journal: every run, step and event in SQLite, one transaction per state change.

An event and the step's new status are written together, so the step table is always the sum of
its events. The executor writes "modify-sending" before the AWS call and "modify-accepted" after
it, each in its own transaction: after a crash the last event says exactly how far a step got.
Only CA ids, statuses, dates and AWS error messages are stored: never credentials.

Leases (schema 2): a process that runs a rotation holds its run and each instance of it
(`rdsca.rollout.lease`); a second process is refused while the holder lives.
"""

from __future__ import annotations

import contextlib
import enum
import json
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rdsca.errors import JournalError
from rdsca.rollout import lease
from rdsca.rollout.events import Event
from rdsca.rollout.lease import Holder
from rdsca.rollout.plan import Plan

SCHEMA_VERSION = 2  # 1: runs, steps, events (release 0.1); 2: + leases
BUSY_SECONDS = 10.0  # how long a write waits for another connection's transaction

_DDL = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,            -- apply | rollback
    parent TEXT,                   -- the run a rollback undoes
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    status TEXT NOT NULL,
    target_ca TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    plan_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT NOT NULL REFERENCES runs(id),
    key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    wave TEXT NOT NULL,
    kind TEXT NOT NULL,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    ident TEXT NOT NULL,
    from_ca TEXT,
    to_ca TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    before_ca TEXT,
    after_ca TEXT,
    before_valid_till TEXT,
    after_valid_till TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(id),
    step_key TEXT,
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    status TEXT,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS events_by_step ON events(run_id, step_key);
CREATE TABLE IF NOT EXISTS leases (
    scope TEXT PRIMARY KEY,        -- run:<run id> | instance:<account>/<region>/<id>
    run_id TEXT NOT NULL,
    holder TEXT NOT NULL,          -- one id per process invocation
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    command TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
);
"""


class StepStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SCHEDULED = "scheduled"  # --when window: accepted, waits for the maintenance window
    AWAITING_RESTART = "awaiting-restart"  # --restart never: new CA recorded, old certificate served
    VERIFIED = "verified"
    FAILED = "failed"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"
    ROLLED_BACK = "rolled-back"


TERMINAL = frozenset({StepStatus.VERIFIED, StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.ROLLED_BACK})


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    DONE = "done"
    SCHEDULED = "scheduled"
    AWAITING_RESTART = "awaiting-restart"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class RunRecord:
    id: str
    kind: str
    parent: str | None
    created_at: str
    updated_at: str
    status: str
    target_ca: str
    fingerprint: str
    plan_json: str


@dataclass(frozen=True)
class StepRecord:
    run_id: str
    key: str
    seq: int
    wave: str
    kind: str
    account: str
    region: str
    ident: str
    from_ca: str | None
    to_ca: str
    status: str
    reason: str | None
    before_ca: str | None
    after_ca: str | None
    before_valid_till: str | None
    after_valid_till: str | None
    updated_at: str


@dataclass(frozen=True)
class EventRecord:
    id: int
    run_id: str
    step_key: str | None
    at: str
    event: str
    status: str | None
    detail: dict[str, Any]


_STEP_FIELDS = frozenset({"reason", "before_ca", "after_ca", "before_valid_till", "after_valid_till"})


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _write_error(path: Path, exc: sqlite3.Error) -> JournalError:
    if "locked" in str(exc):  # sqlite's busy timeout passed: another connection holds the write lock
        return JournalError(
            f"cannot write the journal {path}: another process kept it locked for the "
            f"{BUSY_SECONDS:.0f} s rdsca waits (an rdsca on the same journal, or one stopped with "
            "Ctrl-Z: `fg` it, or end it)"
        )
    return JournalError(f"cannot write the journal {path}: {exc}")


class Journal:
    def __init__(self, path: Path, clock: Callable[[], datetime] = _utcnow, create: bool = True) -> None:
        self.path = path
        self._clock = clock
        self.fence: Holder | None = None  # set while a run executes: "modify-sending" checks the lease
        self._in_batch = False  # inside batch(): writes join its transaction
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(f"PRAGMA busy_timeout={BUSY_SECONDS * 1000:.0f}")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version == SCHEMA_VERSION:
                return  # already set up: opening to read takes no write lock
            if version == 0 and not create:
                raise JournalError(f"{path} is not an rdsca journal (it has no rdsca schema)")
            if version > SCHEMA_VERSION:
                raise JournalError(
                    f"the journal {path} was written by a newer rdsca (schema {version}); upgrade rdsca"
                )
            with self._tx():
                for statement in _DDL.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"cannot open the journal {path} (damaged, or not a journal): {exc}") from exc

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Every write inside goes into one transaction, committed (one fsync) at the end: the
        executor's events of one poll round, or of one batch of sends. Each write stays whole (a
        savepoint); interrupted (Ctrl-C, an AWS error), what was written is committed; a journal
        error rolls it all back."""
        if self._in_batch:
            yield
            return
        self._begin()
        self._in_batch = True
        try:
            yield
        except JournalError:
            self._end("ROLLBACK")
            raise
        except BaseException:
            with contextlib.suppress(JournalError):
                self._end("COMMIT")
            raise
        self._end("COMMIT")

    def _begin(self) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _write_error(self.path, exc) from exc

    def _end(self, how: str) -> None:
        self._in_batch = False
        try:
            self._db.execute(how)
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise _write_error(self.path, exc) from exc

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One transaction; inside batch(), a savepoint of the batch's (each write stays whole)."""
        batched = self._in_batch
        try:
            if batched:
                self._db.execute("SAVEPOINT tx")
            else:
                self._begin()
            yield self._db
            if batched:
                self._db.execute("RELEASE tx")
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK TO tx" if batched else "ROLLBACK")
                if batched:
                    self._db.execute("RELEASE tx")
            if isinstance(exc, sqlite3.Error):
                raise _write_error(self.path, exc) from exc
            raise
        if not batched:
            self._end("COMMIT")

    def _now(self) -> str:
        return self._clock().isoformat(timespec="milliseconds")

    # -- writing --------------------------------------------------------------------------------

    def create_run(
        self,
        plan: Plan,
        plan_json: str,
        kind: str = "apply",
        parent: str | None = None,
        holder: Holder | None = None,
        take_over: bool = False,
    ) -> str:
        """Record a run and its planned steps, all in one transaction, leased to `holder`.

        The lease on the run and on each of its instances is taken in the same transaction: when
        another live process holds one of them, LeaseHeld is raised and no run is recorded.
        """
        now = self._now()
        run_id = f"{self._clock():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        with self._tx() as db:
            if holder is not None:
                taken = lease.claim(db, run_id, lease.scopes(run_id, plan), holder, self._clock(), take_over)
            db.execute(
                "INSERT INTO runs (id, kind, parent, created_at, updated_at, status, target_ca, "
                "fingerprint, plan_json) "
                "VALUES (:id, :kind, :parent, :now, :now, :status, :target_ca, :fingerprint, :plan)",
                {"id": run_id, "kind": kind, "parent": parent, "now": now, "status": str(RunStatus.RUNNING),
                 "target_ca": plan.target_ca, "fingerprint": plan.fingerprint, "plan": plan_json},
            )  # fmt: skip
            for seq, s in enumerate(plan.steps):
                db.execute(
                    "INSERT INTO steps (run_id, key, seq, wave, kind, account, region, ident, from_ca, "
                    "to_ca, status, before_ca, updated_at) "
                    "VALUES (:run_id, :key, :seq, :wave, :kind, :account, "
                    ":region, :ident, :from_ca, :to_ca, :status, :from_ca, :now)",
                    {"run_id": run_id, "key": s.key, "seq": seq, "wave": s.wave, "kind": str(s.kind),
                     "account": s.account, "region": s.region, "ident": s.id, "from_ca": s.from_ca,
                     "to_ca": s.to_ca, "status": str(StepStatus.PENDING), "now": now},
                )  # fmt: skip
                self._insert_event(
                    db, run_id, s.key, Event.PLANNED, StepStatus.PENDING, {"wave": s.wave}, now
                )
            self._insert_event(db, run_id, None, "run-started", RunStatus.RUNNING, {"kind": kind}, now)
            if holder is not None:
                for message in taken:
                    self._insert_event(db, run_id, None, "lease-taken-over", None, {"message": message}, now)
        return run_id

    def claim(self, run_id: str, plan: Plan, holder: Holder, take_over: bool = False) -> list[str]:
        """Lease an existing run and its instances to `holder` (resume); LeaseHeld if held.

        Returns what was taken over from holders that are gone (also journalled as events).
        """
        now = self._now()
        with self._tx() as db:
            taken = lease.claim(db, run_id, lease.scopes(run_id, plan), holder, self._clock(), take_over)
            for message in taken:
                self._insert_event(db, run_id, None, "lease-taken-over", None, {"message": message}, now)
        return taken

    def check_fence(self, run_id: str) -> None:
        """LeaseLost unless this process (the `fence` holder) still holds the run; a read."""
        if self.fence is not None:
            with self._tx() as db:
                lease.check_fence(db, run_id, self.fence)

    def release(self, holder: Holder) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM leases WHERE holder=?", (holder.id,))

    def leases(self) -> list[lease.LeaseRecord]:
        return [lease.LeaseRecord(**dict(r)) for r in self._rows("SELECT * FROM leases ORDER BY scope")]

    def _insert_event(
        self,
        db: sqlite3.Connection,
        run_id: str,
        step_key: str | None,
        event: str,
        status: str | None,
        detail: dict[str, Any],
        now: str,
    ) -> None:
        db.execute(
            "INSERT INTO events (run_id, step_key, at, event, status, detail) VALUES (?,?,?,?,?,?)",
            (run_id, step_key, now, event, status, json.dumps(detail, sort_keys=True, default=str)),
        )

    def record(
        self,
        run_id: str,
        step_key: str,
        event: str,
        status: StepStatus | None = None,
        **fields: Any,
    ) -> None:
        """One event and the step's new status and fields, in one transaction."""
        unknown = set(fields) - _STEP_FIELDS - {"detail"}
        if unknown:
            raise ValueError(f"unknown step fields {sorted(unknown)}")
        detail = dict(fields.pop("detail", None) or {})
        detail.update({k: v for k, v in fields.items() if v is not None})
        now = self._now()
        with self._tx() as db:
            if event == Event.SENDING and self.fence is not None:
                lease.check_fence(db, run_id, self.fence)  # raises before anything is recorded or sent
            self._insert_event(db, run_id, step_key, event, status, detail, now)
            sets = ["updated_at=?"]
            values: list[Any] = [now]
            if status is not None:
                sets.append("status=?")
                values.append(str(status))
            for name, value in fields.items():
                if value is not None:
                    sets.append(f"{name}=?")
                    values.append(str(value))
            db.execute(
                f"UPDATE steps SET {', '.join(sets)} WHERE run_id=? AND key=?", [*values, run_id, step_key]
            )
            db.execute("UPDATE runs SET updated_at=? WHERE id=?", (now, run_id))

    def set_run_status(self, run_id: str, status: RunStatus, event: str, **detail: Any) -> None:
        now = self._now()
        with self._tx() as db:
            self._insert_event(db, run_id, None, event, status, detail, now)
            db.execute("UPDATE runs SET status=?, updated_at=? WHERE id=?", (str(status), now, run_id))

    # -- reading --------------------------------------------------------------------------------

    def _rows(self, sql: str, args: Any = ()) -> list[sqlite3.Row]:
        """A read; a damaged file is a JournalError that says so, not an empty answer."""
        try:
            return list(self._db.execute(sql, args).fetchall())
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"the journal {self.path} is damaged: {exc}") from exc

    def check(self) -> None:
        """Refuse a journal that is damaged (SQLite's quick_check) or not rdsca's."""
        rows = self._rows("PRAGMA quick_check")
        if [tuple(r) for r in rows] != [("ok",)]:
            raise JournalError(f"the journal {self.path} is damaged: {rows[0][0] if rows else 'unreadable'}")
        tables = {r[0] for r in self._rows("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"runs", "steps", "events"} <= tables:
            raise JournalError(f"{self.path} is not an rdsca journal (no runs, steps, events tables)")

    def run(self, run_id: str) -> RunRecord:
        found = self._rows("SELECT * FROM runs WHERE id=?", (run_id,))
        row = found[0] if found else None
        if row is None:
            raise JournalError(f"no run {run_id!r} in the journal {self.path} (see `rdsca runs`)")
        return RunRecord(**dict(row))

    def runs(self) -> list[RunRecord]:
        rows = self._rows("SELECT * FROM runs ORDER BY created_at, id")
        return [RunRecord(**dict(r)) for r in rows]

    def steps(self, run_id: str) -> list[StepRecord]:
        rows = self._rows("SELECT * FROM steps WHERE run_id=? ORDER BY seq", (run_id,))
        return [StepRecord(**dict(r)) for r in rows]

    def events(self, run_id: str, step_key: str | None = None) -> list[EventRecord]:
        sql, args = "SELECT * FROM events WHERE run_id=?", [run_id]
        if step_key is not None:
            sql += " AND step_key=?"
            args.append(step_key)
        rows = self._rows(sql + " ORDER BY id", args)
        return [
            EventRecord(
                r["id"],
                r["run_id"],
                r["step_key"],
                r["at"],
                r["event"],
                r["status"],
                json.loads(r["detail"] or "{}"),
            )
            for r in rows
        ]

    def step_events(self, run_id: str) -> dict[str, list[str]]:
        """Event names per step, in order: what resume reads to know how far each step got."""
        out: dict[str, list[str]] = {}
        for e in self.events(run_id):
            if e.step_key is not None:
                out.setdefault(e.step_key, []).append(e.event)
        return out
