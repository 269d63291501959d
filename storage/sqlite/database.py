"""The SQLite database file: connections, the write transaction and the schema.

One connection per thread (gunicorn may run threads; sqlite3 connections must not cross
them), WAL mode so readers never block the single writer, and `BEGIN IMMEDIATE` for every
write so concurrent workers queue on the write lock instead of failing on upgrade.

The schema (tables, layout version, migrations) is `storage.sqlite.schema`'s.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from storage.errors import StorageError, UnavailableError

BUSY_TIMEOUT_MS = 30_000
# Measured with bench/storage.py on 100,000 statements: a batch commit touches hundreds of
# index pages (about 900 WAL frames per batch of 100, one per filter value), so a page cache
# larger than the 2 MiB default and fewer, larger WAL checkpoints (a page rewritten by many
# commits is checkpointed once) raise the insert rate: 4,000 pages to 16,000 (a 64 MiB WAL)
# took it from about 4,600-6,100 to 7,300-7,600 statements/s.
CACHE_KIB = 32 * 1024
WAL_CHECKPOINT_PAGES = 16000


class Database:
    """Owns the database file: per-thread connections and the single writer's turn."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._writer = threading.Lock()
        self._writer_fd = os.open(
            f"{self.path}-writer", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
        )

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
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
            except sqlite3.Error as exc:
                raise UnavailableError(f"cannot open SQLite database {self.path}: {exc}") from exc
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: everything inside commits together or not at all. Inside
        another one it joins it: the outer transaction commits or rolls back the whole."""
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        with self._writer_turn():
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StorageError(f"cannot start a write transaction: {exc}") from exc
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    @contextmanager
    def _writer_turn(self) -> Iterator[None]:
        """Queue writers of this file (threads, then processes) on locks that wake the next
        one as soon as the lock is free. SQLite's busy handler polls instead, sleeping up to
        tens of milliseconds per retry, which left a quarter of the CPU idle under many
        small concurrent writes. The lock only orders writers; `BEGIN IMMEDIATE` still
        guards correctness against writers that do not take it (another tool on the file)."""
        with self._writer:
            fcntl.flock(self._writer_fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._writer_fd, fcntl.LOCK_UN)

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
            if self._writer_fd >= 0:
                os.close(self._writer_fd)
                self._writer_fd = -1
        self._local = threading.local()
