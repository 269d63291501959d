"""Latency of ordinary requests while hostile clients hold connections or burn CPU.

Starts a fresh `lrs serve` (as bench/ingest.py does: a temporary SQLite store, a key
file and an `all` credential made with the `lrs` command), measures an unloaded baseline,
then opens the attackers and measures again meanwhile:
  * --tricklers N: connections sending request headers one line per --interval seconds,
    never finishing them (slowloris);
  * --slow-bodies N: authenticated POSTs that send their headers, then the body one byte
    per --interval seconds;
  * --bad-logins N: keep-alive clients, each its own process, sending a wrong secret for
    the real key (and for unknown keys, every other request) as fast as they can.
Probes alternate `GET /xapi/about` (no credentials) and an authenticated
`GET /xapi/statements?limit=10`, every --pace seconds for --duration seconds, each on a
new connection (--probe-keepalive: one keep-alive connection instead, which isolates the
server's CPU from connection handling); per kind it prints median, p95, max (ms) and
errors (no answer within --probe-timeout, or a status other than 200). For the
connection attackers it prints how long they survived before the server cut them.
Prints figures; asserts nothing.

    python bench/slow_clients.py [--tricklers 200] [--slow-bodies 0] [--bad-logins 0]
                                 [--duration 20] [--interval 1] [--pace 0.05]
                                 [--lrs PATH]   (another `lrs` executable, e.g. an older
                                                 checkout's virtualenv, to compare)
                                 [--workers 2] [--threads N] [--env NAME=VALUE ...]
"""

from __future__ import annotations

import argparse
import base64
import errno
import http.client
import json
import multiprocessing
import os
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

HOST = "127.0.0.1"


def lrs_cmd(lrs, *args, env):
    return subprocess.run([lrs, *args], env=env, capture_output=True, text=True, check=True)


def free_port():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_server(args):
    """A fresh `lrs serve`: (process, port, Authorization header value, key, directory)."""
    directory = Path(tempfile.mkdtemp(prefix="lrs-bench-slow-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LRS_")}
    env["LRS_STORAGE_URI"] = f"sqlite:///{directory / 'lrs.db'}"
    env["LRS_KEY_FILE"] = str(directory / "master.key")
    env.update(item.split("=", 1) for item in args.env)
    lrs_cmd(args.lrs, "keys", "init", env=env)
    credential = json.loads(lrs_cmd(args.lrs, "credentials", "create", "--scopes", "all",
                                    "--json", env=env).stdout)
    auth = "Basic " + base64.b64encode(
        f"{credential['key']}:{credential['secret']}".encode()).decode()
    port = free_port()
    log = (directory / "serve.log").open("wb")
    command = [args.lrs, "serve", "--host", HOST, "--port", str(port),
               "--workers", str(args.workers),
               *(["--threads", str(args.threads)] if args.threads else [])]
    server = subprocess.Popen(command, env=env, cwd=directory, stdout=log,
                              stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            with socket.create_connection((HOST, port), timeout=1) as sock:
                sock.sendall(b"GET /xapi/about HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if sock.recv(12).startswith(b"HTTP/1.1 200"):
                    break
        except OSError:
            time.sleep(0.1)
    else:
        raise RuntimeError(f"lrs serve did not start; see {directory / 'serve.log'}")
    # A few statements, so the authenticated probe reads a page.
    statements = [{"id": str(uuid.uuid4()), "actor": {"mbox": f"mailto:l{i}@example.com"},
                   "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                   "object": {"id": "http://example.com/course"}} for i in range(20)]
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    connection.request("POST", "/xapi/statements", body=json.dumps(statements), headers={
        "Authorization": auth, "X-Experience-API-Version": "1.0.3",
        "Content-Type": "application/json"})
    assert connection.getresponse().status == 200
    connection.close()
    return server, port, auth, credential["key"], directory, log


class SlowConnections:
    """Connections fed one line (trickler) or one body byte (slow body) per interval from
    one thread, noting when the server closes each."""

    def __init__(self, port, auth, tricklers, slow_bodies, interval):
        self.interval = interval
        self.selector = selectors.DefaultSelector()
        self.open = {}  # socket -> (kind, opened at, lines sent)
        self.cut = {"trickler": [], "slow body": []}
        self.refused = 0
        self.stopping = threading.Event()
        for kind, count in (("trickler", tricklers), ("slow body", slow_bodies)):
            for _ in range(count):
                try:
                    sock = socket.create_connection((HOST, port), timeout=5)
                except OSError:
                    self.refused += 1
                    continue
                if kind == "trickler":
                    sock.sendall(b"GET /xapi/about HTTP/1.1\r\nHost: x\r\n")
                else:
                    sock.sendall(
                        (f"POST /xapi/statements HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n"
                         "X-Experience-API-Version: 1.0.3\r\nContent-Type: application/json\r\n"
                         "Content-Length: 100000\r\n\r\n[").encode())
                sock.setblocking(False)
                self.open[sock] = (kind, time.monotonic(), 0)
                self.selector.register(sock, selectors.EVENT_READ)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _close(self, sock, now):
        kind, opened, _ = self.open.pop(sock)
        self.selector.unregister(sock)
        sock.close()
        self.cut[kind].append(now - opened)

    def _run(self):
        next_send = time.monotonic() + self.interval
        while not self.stopping.is_set() and self.open:
            timeout = max(next_send - time.monotonic(), 0)
            for key, _ in self.selector.select(timeout):
                try:
                    data = key.fileobj.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:  # closed by the server (a response first, or not)
                    self._close(key.fileobj, time.monotonic())
            if time.monotonic() >= next_send:
                next_send += self.interval
                for sock, (kind, opened, sent) in list(self.open.items()):
                    line = (f"X-Slow-{sent}: {sent}\r\n".encode() if kind == "trickler"
                            else b" ")
                    try:
                        sock.send(line)
                    except OSError as exc:
                        if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                            continue
                        self._close(sock, time.monotonic())
                        continue
                    self.open[sock] = (kind, opened, sent + 1)

    def stop(self):
        self.stopping.set()
        self.thread.join()
        for sock in list(self.open):
            sock.close()

    def report(self, elapsed):
        for kind, times in self.cut.items():
            still = sum(1 for k, _, _ in self.open.values() if k == kind)
            total = len(times) + still
            if not total:
                continue
            line = f"  {kind} connections: {len(times)} of {total} cut by the server"
            if times:
                times = sorted(times)
                line += (f" after median {statistics.median(times):.1f} s "
                         f"(min {times[0]:.1f}, max {times[-1]:.1f})")
            print(line + f"; {still} still open after {elapsed:.0f} s")
        if self.refused:
            print(f"  {self.refused} attacker connections refused")


def _bad_logins(port, key, index, stop, results):
    """One attacker process: wrong secrets on one keep-alive connection until `stop`."""
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    statuses = {}
    sent = 0
    while not stop.is_set():
        name = key if sent % 2 == 0 else uuid.uuid4().hex[:20]
        wrong = base64.b64encode(f"{name}:wrong-{index}-{sent}".encode()).decode()
        sent += 1
        try:
            connection.request("GET", "/xapi/statements?limit=10", headers={
                "Authorization": f"Basic {wrong}", "X-Experience-API-Version": "1.0.3"})
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            connection.close()
            status = "error"
        statuses[status] = statuses.get(status, 0) + 1
    results.put(statuses)


class BadLogins:
    """Clients sending wrong secrets as fast as they can, each in its own process (threads
    of this one would take the GIL from the probes and inflate their latency)."""

    def __init__(self, port, key, count):
        context = multiprocessing.get_context("spawn")
        self.stopping = context.Event()
        self.results = context.Queue()
        self.processes = [
            context.Process(target=_bad_logins,
                            args=(port, key, i, self.stopping, self.results), daemon=True)
            for i in range(count)]
        for process in self.processes:
            process.start()
        self.statuses = {}

    def stop(self):
        self.stopping.set()
        for _ in self.processes:
            for status, n in self.results.get(timeout=30).items():
                self.statuses[status] = self.statuses.get(status, 0) + n
        for process in self.processes:
            process.join()

    def report(self, elapsed):
        total = sum(self.statuses.values())
        counts = ", ".join(f"{status}: {n}" for status, n in sorted(
            self.statuses.items(), key=str))
        print(f"  bad logins: {total / elapsed:,.0f}/s answered ({counts})")


def probe(port, auth, args):
    """{kind: [latency ms or None for an error]} for probes spread over --duration s."""
    kinds = {"about": ("/xapi/about", {}),
             "statements": ("/xapi/statements?limit=10",
                            {"Authorization": auth, "X-Experience-API-Version": "1.0.3"})}
    results = {kind: [] for kind in kinds}
    keepalive = http.client.HTTPConnection(HOST, port, timeout=args.probe_timeout)
    stop = time.monotonic() + args.duration
    sent = 0
    while time.monotonic() < stop:
        kind = "about" if sent % 2 == 0 else "statements"
        path, headers = kinds[kind]
        sent += 1
        started = time.perf_counter()
        connection = keepalive if args.probe_keepalive else http.client.HTTPConnection(
            HOST, port, timeout=args.probe_timeout)
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            connection.close()
            ok = False
        finally:
            if not args.probe_keepalive:
                connection.close()
        elapsed = (time.perf_counter() - started) * 1000
        results[kind].append(elapsed if ok else None)
        time.sleep(max(args.pace - elapsed / 1000, 0))
    keepalive.close()
    return results


def report(label, results):
    print(label)
    for kind, values in results.items():
        times = sorted(v for v in values if v is not None)
        errors = len(values) - len(times)
        if not times:
            print(f"  {kind:<11} no answer ({errors} errors)")
            continue
        p95 = times[max(int(len(times) * 0.95) - 1, 0)]
        print(f"  {kind:<11} median {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms  "
              f"max {times[-1]:7.1f} ms  errors {errors}/{len(values)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tricklers", type=int, default=200)
    parser.add_argument("--slow-bodies", type=int, default=0)
    parser.add_argument("--bad-logins", type=int, default=0)
    parser.add_argument("--duration", type=float, default=20.0,
                        help="seconds of probing, unloaded and again under attack")
    parser.add_argument("--interval", type=float, default=1.0,
                        help="seconds between two lines (bytes) of a slow connection")
    parser.add_argument("--pace", type=float, default=0.05, help="seconds between probes")
    parser.add_argument("--probe-timeout", type=float, default=5.0)
    parser.add_argument("--probe-keepalive", action="store_true")
    parser.add_argument("--lrs", default=str(Path(sys.executable).with_name("lrs")))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--env", action="append", default=[],
                        help="NAME=VALUE for the server's environment, e.g. LRS_HEADER_TIMEOUT=5")
    args = parser.parse_args()

    server, port, auth, key, directory, log = start_server(args)
    try:
        print(f"lrs serve ({args.lrs}): {args.workers} workers, threads "
              f"{args.threads or 'default'}, {os.cpu_count()} CPUs, log in {directory}")
        report(f"Unloaded ({args.duration:.0f} s of probes)", probe(port, auth, args))
        slow = SlowConnections(port, auth, args.tricklers, args.slow_bodies, args.interval)
        logins = BadLogins(port, key, args.bad_logins) if args.bad_logins else None
        started = time.monotonic()
        time.sleep(min(args.interval * 2, 2))  # every attacker under way
        results = probe(port, auth, args)
        elapsed = time.monotonic() - started
        if logins:
            logins.stop()
        slow.stop()
        report(f"With {args.tricklers} tricklers, {args.slow_bodies} slow bodies, "
               f"{args.bad_logins} bad-login clients", results)
        slow.report(elapsed)
        if logins:
            logins.report(elapsed)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


if __name__ == "__main__":
    main()
