"""The SQLite database file: connections, the write transaction and the schema.

One connection per OS thread, WAL mode so readers never block the single writer, and
`BEGIN IMMEDIATE` for every write so concurrent workers queue on the write lock instead of
failing on upgrade.

Per OS thread, not per `threading.local`: under gevent (`lrs serve`) that is one per
greenlet, that is per client connection, and each SQLite connection keeps its own page
cache (`CACHE_KIB`), so memory would grow with the number of clients. The greenlets of a
thread share its connection instead; they never run at once, and a transaction belongs to
the greenlet (or thread) that began it: another one waits for it to end before using the
connection, so it neither joins that transaction nor reads its uncommitted rows.

Deleted content is overwritten as it is deleted (`PRAGMA secure_delete`): a learner's
erased statements, an old version of a document, a freed page never stay readable in the
file's free space. The write-ahead log still holds page images written before a deletion
until it is checkpointed; `purge_wal` does that and truncates it (after an erasure or a
retention run).

The schema (tables, layout version, migrations) is `storage.sqlite.schema`'s.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from storage.errors import StorageError, UnavailableError

BUSY_TIMEOUT_MS = 30_000
# Measured with bench/storage.py on 100,000 statements: a batch commit touches hundreds of
# index pages (about 900 WAL frames per batch of 100, one per filter value), so a page cache
# larger than the 2 MiB default and fewer, larger WAL checkpoints (a page rewritten by many
# commits is checkpointed once) raise the insert rate: 4,000 pages to 16,000 (a 64 MiB WAL)
# took it from about 4,600-6,100 to 7,300-7,600 statements/s.
CACHE_KIB = 32 * 1024
WAL_CHECKPOINT_PAGES = 16000


T = TypeVar("T")


def _call(blocking: Callable[[], None]) -> None:
    blocking()


@dataclass(slots=True)
class _Queued:
    """A grouped write (`Database.write_grouped`) waiting for its turn, then its outcome."""

    work: Callable[[sqlite3.Connection], Any]
    done: bool = False
    result: Any = None
    error: BaseException | None = None


@dataclass(slots=True)
class _Slot:
    """An OS thread's connection and which of its greenlets, if any, is in a transaction."""

    conn: sqlite3.Connection
    owner: int | None = None


class Database:
    """Owns the database file: per-thread connections and the single writer's turn.

    `run_blocking` waits for the writer file lock while another process holds it: by
    default in the calling thread. Under gevent that would stop every greenlet of the
    process for the other's whole transaction, so `lrs serve` sets one that waits on an
    OS thread instead. (A sleep-and-retry loop wakes late: bench/ingest.py measured it at
    1,129 statements/s for POSTs of 10, against 2,089 waiting on a thread, median of 3.)"""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.run_blocking: Callable[[Callable[[], None]], None] = _call
        self._slots: dict[int, _Slot] = {}  # by threading.get_native_id()
        self._lock = threading.Lock()
        self._writer = threading.Lock()
        self._queued: list[_Queued] = []
        self._queue_lock = threading.Lock()
        self._writer_fd = os.open(
            f"{self.path}-writer", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
        )

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use); waits for another greenlet's
        transaction on it to end."""
        slot = self._slot()
        if slot.owner is not None and slot.owner != threading.get_ident():
            with self._writer:  # another greenlet's transaction: it holds this lock
                pass
        return slot.conn

    def _slot(self) -> _Slot:
        thread = threading.get_native_id()
        slot = self._slots.get(thread)
        if slot is None:
            slot = _Slot(self._connect())
            with self._lock:
                self._slots[thread] = slot
        return slot

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                check_same_thread=False,
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
            conn.execute("PRAGMA secure_delete=ON")
        except sqlite3.Error as exc:
            raise UnavailableError(f"cannot open SQLite database {self.path}: {exc}") from exc
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: everything inside commits together or not at all. Inside
        another one it joins it: the outer transaction commits or rolls back the whole."""
        conn = self.conn
        slot = self._slot()
        me = threading.get_ident()
        if slot.owner == me:
            yield conn
            return
        with self._writer_turn():
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StorageError(f"cannot start a write transaction: {exc}") from exc
            slot.owner = me
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
            finally:
                slot.owner = None

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: the queries inside all see the same state of the file (one
        WAL snapshot), whatever commits meanwhile. Inside this thread's transaction, that
        one."""
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")  # it wrote nothing: ends the snapshot

    def write_grouped(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work` in a write transaction, which it may share with the grouped writes of
        other threads or greenlets waiting for the writer's turn at the same time (group
        commit: one commit, and its pages written once, for all of them).

        The works run one after another, each seeing the writes of those before it, as if
        each had its own transaction. One that raises gets its error alone: the transaction
        is rolled back and the group runs again without it (`Storage.atomically` allows a
        work to be run again; a savepoint per work instead cost about 190 µs per
        single-statement POST, its page copies). Every caller returns only after the
        commit that made its work durable; a commit that fails fails every work in it, and
        nothing of them is stored. Inside a transaction already, `work` joins it."""
        slot = self._slot()
        if slot.owner == threading.get_ident():
            return work(slot.conn)
        entry = _Queued(work)
        with self._queue_lock:
            self._queued.append(entry)
        with self._writer:
            if not entry.done:  # else a writer before this one ran it in its group
                self._commit_group(slot)
        if entry.error is not None:
            raise entry.error
        result: T = entry.result
        return result

    def _commit_group(self, slot: _Slot) -> None:
        """Run every queued write in one transaction; the writer's turn is held."""
        self._lock_writer_file()
        try:
            with self._queue_lock:  # those that came while this one waited for the file
                group, self._queued = self._queued, []
            slot.owner = threading.get_ident()
            try:
                _run_group(slot.conn, group)
            finally:
                slot.owner = None
                for entry in group:  # neither committed nor failed: never acknowledged
                    if not entry.done:
                        entry.error = entry.error or StorageError("the write transaction failed")
                        entry.done = True
        finally:
            fcntl.flock(self._writer_fd, fcntl.LOCK_UN)

    @contextmanager
    def _writer_turn(self) -> Iterator[None]:
        """Queue writers of this file (threads or greenlets, then processes) on locks that
        let the next one in as soon as the lock is free. SQLite's busy handler polls
        instead, sleeping up to tens of milliseconds per retry, which left a quarter of the
        CPU idle under many small concurrent writes. The lock only orders writers;
        `BEGIN IMMEDIATE` still guards correctness against writers that do not take it
        (another tool on the file)."""
        with self._writer:
            self._lock_writer_file()
            try:
                yield
            finally:
                fcntl.flock(self._writer_fd, fcntl.LOCK_UN)

    def _lock_writer_file(self) -> None:
        try:
            fcntl.flock(self._writer_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another process writes: wait through `run_blocking`
            fd = self._writer_fd
            self.run_blocking(lambda: fcntl.flock(fd, fcntl.LOCK_EX))

    def purge_wal(self) -> bool:
        """Copy the write-ahead log into the database file and truncate it to nothing, so
        that no page image written before a deletion remains in it; in the writers' turn,
        so no writer adds to it meanwhile. False when a reader still used an older snapshot
        (its frames stay until the next checkpoint)."""
        conn = self.conn
        with self._writer_turn():
            try:
                busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            except sqlite3.Error as exc:
                raise StorageError(f"cannot checkpoint the write-ahead log: {exc}") from exc
        return not busy

    def close(self) -> None:
        with self._lock:
            for slot in self._slots.values():
                slot.conn.close()
            self._slots.clear()
            if self._writer_fd >= 0:
                os.close(self._writer_fd)
                self._writer_fd = -1


def _run_group(conn: sqlite3.Connection, group: list[_Queued]) -> None:
    """Run the works of `group` in one transaction and commit it, marking each `done` once
    committed or failed; a work that raises is dropped with its error and the others run
    again in a new transaction."""
    running = group
    while running:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            _fail(running, StorageError(f"cannot start a write transaction: {exc}"))
            return
        failed = None
        try:
            for entry in running:
                failed = entry
                entry.result = entry.work(conn)
            failed = None
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if failed is None or not isinstance(exc, Exception):  # the commit, or an interrupt
                _fail(running, StorageError(f"the write transaction failed: {exc}"))
                if not isinstance(exc, Exception):
                    raise
                return
            _fail([failed], exc)  # raised in its caller's thread
            running = [entry for entry in running if entry is not failed]
        else:
            for entry in running:
                entry.done = True
            return


def _fail(entries: list[_Queued], error: BaseException) -> None:
    for entry in entries:
        entry.error = error if len(entries) == 1 else StorageError(str(error))
        entry.done = True
