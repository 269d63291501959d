"""How `lrs serve` runs the app: gunicorn with gevent workers.

A gthread worker gives each connection a thread while it reads the request, so a handful
of clients sending their headers slowly took every thread and the service stopped
answering (issue 10). Under gevent a connection is a greenlet: waiting on a slow or idle
client costs a few kilobytes, no thread. gunicorn reads each request's headers (and
drains the unread body of the previous one) under `gevent.Timeout(keepalive)`, so
`header_timeout` is passed as `keepalive`: it bounds both the header read and the idle
time between requests. `LrsWorker` adds `body_timeout`: the body must have arrived that
many seconds after the headers, else reading it fails (400) and the connection closes,
and `auth_failure_delay_ms`: after a failed login the connection's next request is read
only that much later. Eight clients sending wrong secrets on keep-alive connections as
fast as they are answered kept both cores busy answering 2,000 429s a second and took a
valid client's p95 from 4 to 16 ms; the delay holds them to two tries a second each, at
the cost of a sleeping greenlet.

gunicorn sends a response's head and its body in two `send` calls, so a client wakes up
twice for a small answer. `OneSendResponse` sends the head with the first body chunk (up
to `ONE_SEND_BYTES`) in one call: the worker's CPU is the same (the kernel's work is per
byte more than per call), the client's is lower and its slowest answers faster (README
"Serving").

On SQLite the report facts of stored statements are made after ingest
(`storage.sqlite.reports`); with `report_fold_quiet_ms` set each worker runs
`fold_when_quiet` in a greenlet, so that the folding is done in the quiet after a burst of
statements rather than by the first report (off by default: it slows the reads that come
meanwhile).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import gevent
import gunicorn.http.wsgi
from gunicorn.app.base import BaseApplication
from gunicorn.workers.ggevent import GeventWorker

from lrs.config import Config
from lrs.extension import EXTENSION
from lrs.protocol import LOGIN_FAILED
from storage.errors import StorageError
from storage.sqlite import SQLiteStorage

T = TypeVar("T")
# The largest first body chunk sent in one call with the response head: a larger one goes
# in its own call rather than be copied behind the head.
ONE_SEND_BYTES = 64 * 1024
# Statements whose report facts a quiet worker folds in one write transaction: the longest
# a request arriving meanwhile waits for the event loop (the fold runs on it). 200 take
# about 12 ms of CPU on a machine where a statement's whole write path takes 500 µs; while
# a burst's backlog was folded in chunks of 1,000 a filtered GET's p95 at 1M statements was
# 193 ms, in chunks of 200 still 57 (the folding's own CPU and commits), 12-16 otherwise.
QUIET_FOLD_CHUNK = 200
log = logging.getLogger(__name__)


class BodyTimeoutError(TimeoutError):
    """The request body did not arrive within `body_timeout`."""


class DeadlineBody:
    """A gunicorn request body whose reads must all end by a deadline (monotonic time).

    Past it a read raises `BodyTimeoutError` (an OSError: Werkzeug answers 400) and
    `failed` tells gunicorn not to drain the rest but to close the connection."""

    def __init__(self, body: Any, deadline: float) -> None:
        self._body = body
        self._deadline = deadline
        self.failed = False

    def _timed(self, read: Callable[..., T], *args: Any) -> T:
        remaining = self._deadline - time.monotonic()
        if self.failed or remaining <= 0:
            self.failed = True
            raise BodyTimeoutError("request body too slow")
        try:
            with gevent.Timeout(remaining, BodyTimeoutError("request body too slow")):
                return read(*args)
        except BodyTimeoutError:
            self.failed = True
            raise

    def read(self, size: int | None = None) -> bytes:
        data: bytes = self._timed(self._body.read, size)
        return data

    def readline(self, size: int | None = None) -> bytes:
        line: bytes = self._timed(self._body.readline, size)
        return line

    def readlines(self, size: int | None = None) -> list[bytes]:
        lines: list[bytes] = self._timed(self._body.readlines, size)
        return lines

    def __iter__(self) -> DeadlineBody:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


class _Collected:
    """Stands in for the socket while a response's first write is gathered."""

    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data = b""

    def sendall(self, data: bytes) -> None:
        self.data += data


class OneSendResponse(gunicorn.http.wsgi.Response):  # type: ignore[misc]  # no types
    """gunicorn's response, with its head sent in the same call as the first body chunk
    (module docstring). What goes on the wire, and in what order, is gunicorn's: its own
    `write` runs against a stand-in socket and what it wrote is sent at once, also when it
    raises."""

    sock: Any  # the connection's socket, set by gunicorn

    def write(self, arg: Any) -> None:
        if self.headers_sent or type(arg) is not bytes or len(arg) > ONE_SEND_BYTES:
            super().write(arg)
            return
        sock = self.sock
        collected = _Collected()
        self.sock = collected
        try:
            super().write(arg)
        finally:
            self.sock = sock
            if collected.data:
                sock.sendall(collected.data)


def _slow_down_failed_login(
    worker: LrsWorker, req: Any, environ: dict[str, Any], resp: Any
) -> None:
    """gunicorn's post_request hook: runs in the connection's greenlet once the response
    is sent, so sleeping costs nothing but delays reading the connection's next request."""
    if environ.get(LOGIN_FAILED) and worker.login_failure_delay:
        gevent.sleep(worker.login_failure_delay)


def fold_when_quiet(store: SQLiteStorage, quiet: float) -> None:
    """A worker's greenlet: every `quiet` seconds, fold waiting report facts in chunks of
    `QUIET_FOLD_CHUNK` statements for as long as no statement is stored (the quiet after a
    burst), letting the worker's requests run between chunks."""
    while True:
        gevent.sleep(quiet)
        try:
            while store.fold_when_quiet(QUIET_FOLD_CHUNK):
                gevent.sleep(0)
        except StorageError as exc:  # the store's trouble is every request's too: logged
            log.warning("folding report facts failed: %s", exc)


def close_worker_app(server: Any, worker: Any) -> None:
    """gunicorn's worker_exit hook: stop folding, close the worker's store (connections,
    files)."""
    folding = getattr(worker, "folding", None)
    if folding is not None:
        folding.kill()
    app = getattr(worker, "wsgi", None)
    extension = getattr(app, "extensions", {}).get(EXTENSION)
    if extension is not None:
        extension.close()


class LrsWorker(GeventWorker):  # type: ignore[misc]  # gunicorn ships no types
    """gunicorn's gevent worker with a deadline on reading each request body, a delay
    after each failed login, a pool of `threads` OS threads for the blocking calls kept
    off the event loop, and responses sent by `OneSendResponse`."""

    def init_process(self) -> None:
        config = self.app.lrs_config
        self.body_timeout = config.body_timeout
        self.login_failure_delay = config.auth_failure_delay_ms / 1000
        # gunicorn builds each HTTP/1 response from this name (`gunicorn.http.wsgi.create`)
        # and takes no other class from a worker; this process is the worker's alone.
        gunicorn.http.wsgi.Response = OneSendResponse
        super().init_process()  # patches, then runs the worker: configure before

    def load_wsgi(self) -> None:
        gevent.get_hub().threadpool.maxsize = self.cfg.threads
        super().load_wsgi()
        store = self.wsgi.extensions[EXTENSION].store
        quiet = self.app.lrs_config.report_fold_quiet_ms / 1000
        if isinstance(store, SQLiteStorage) and quiet:
            self.folding = gevent.spawn(fold_when_quiet, store, quiet)

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> Any:
        if req.body is not None:
            req.body = DeadlineBody(req.body, time.monotonic() + self.body_timeout)
        return super().handle_request(listener_name, req, sock, addr)


class LrsServer(BaseApplication):  # type: ignore[misc]
    """gunicorn running `create_app(overrides)` in each worker, with `config`'s timeouts."""

    def __init__(
        self, config: Config, *, bind: str, workers: int, connections: int, threads: int
    ) -> None:
        self.lrs_config = config
        self._options = {
            "bind": bind,
            "workers": workers,
            "worker_class": f"{__name__}.{LrsWorker.__name__}",
            "worker_connections": connections,
            "threads": threads,
            "keepalive": config.header_timeout,
            "post_request": _slow_down_failed_login,
            "worker_exit": close_worker_app,
            "accesslog": None,
            "errorlog": "-",
        }
        super().__init__()

    def load_config(self) -> None:
        for name, value in self._options.items():
            self.cfg.set(name, value)
        # gunicorn 27 opens a control socket at one path per user ($HOME/.gunicorn), which
        # every `lrs serve` on the machine (an edge and a central LRS, test servers) would
        # share; nothing here uses it.
        if "control_socket_disable" in self.cfg.settings:
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Any:
        import dataclasses

        from lrs.app import create_app

        # Each worker builds its own app and store connections (no preload: SQLite
        # connections must not cross a fork).
        # Blocking calls on one of the worker's `threads` OS threads, so that the event loop
        # goes on meanwhile: scrypt (credentials stored before generated secrets got a fast
        # hash; it releases the GIL) and waiting for the SQLite writer lock.
        threadpool = gevent.get_hub().threadpool
        app = create_app(dataclasses.asdict(self.lrs_config), run_blocking=threadpool.apply)
        store = app.extensions[EXTENSION].store
        if isinstance(store, SQLiteStorage):
            store.run_blocking = threadpool.apply
        # A partner export is minutes of CPU in one greenlet: between its pages, let the
        # worker's other connections and its heartbeat run (lrs.service.exports).
        app.extensions[EXTENSION].service.exports.pause = gevent.sleep
        return app
