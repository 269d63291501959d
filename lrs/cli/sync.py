"""`lrs sync`: forward this (edge) LRS's statements to a central LRS, once (`push`) or as a
background loop (`run`), and show where forwarding stands (`status`). The rules are
`lrs.service.forwarding`'s; README "Offline schools" says how to set an edge up."""

from __future__ import annotations

import json
import random
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType

import click

from lrs.cli.common import config as _config
from lrs.cli.common import lrs_service, operator
from lrs.config import Config
from lrs.service import LearningRecordStore
from lrs.service.errors import ServiceError
from lrs.service.forwarding import PushResult
from lrs.sync_client import HttpTransport, load_credential, sync_endpoint
from storage import StorageError

_TO = click.option(
    "--to", "url", default=None,
    help="The central LRS's xAPI base, e.g. https://central.example.org/xapi/ (sync_url).",
)
_CREDENTIAL = click.option(
    "--credential", default=None,
    help="Its `sync` credential: a file holding key:secret or the JSON of `lrs credentials "
         "create --json` (sync_credential_file), or key:secret itself (visible to `ps`).",
)
_TENANT = click.option("--tenant", default=None, help="The tenant to forward (sync_tenant).")
_BATCH = click.option(
    "--batch-size", type=click.IntRange(1), default=None,
    help="Statements per batch (sync_batch_size).",
)


@click.group()
def sync() -> None:
    """Forward this LRS's statements to a central LRS (an edge LRS, offline at times)."""


@sync.command("push")
@_TO
@_CREDENTIAL
@_TENANT
@_BATCH
def push(url: str | None, credential: str | None, tenant: str | None,
         batch_size: int | None) -> None:
    """Forward everything stored since the last acknowledged position, then exit: 0 when
    all is forwarded, 1 when the central LRS cannot be reached or fails (the position
    stays where the central LRS last acknowledged; run it again). A statement it refuses
    for its content is recorded and passed (`status` counts them)."""
    settings = _config()
    transport = _transport(settings, url, credential)
    with lrs_service() as lrs:
        result = _push(lrs, settings, transport, tenant, batch_size, lambda: False)
    if result is None:
        raise SystemExit(1)


@sync.command("run")
@_TO
@_CREDENTIAL
@_TENANT
@_BATCH
def run(url: str | None, credential: str | None, tenant: str | None,
        batch_size: int | None) -> None:
    """Push every `sync_interval` seconds while all goes well; after a failure wait
    `sync_retry_initial` seconds, doubling up to `sync_retry_max` (with 10% jitter), then
    push again. SIGTERM or Ctrl-C stops it after the batch being sent."""
    settings = _config()
    transport = _transport(settings, url, credential)
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    failures = 0
    with lrs_service() as lrs:
        while not stopping.is_set():
            result = _push(lrs, settings, transport, tenant, batch_size, stopping.is_set)
            failures = 0 if result is not None else failures + 1
            if failures:
                wait = retry_wait(failures, settings.sync_retry_initial,
                                  settings.sync_retry_max)
                _log(f"next attempt in {wait:.0f} s")
            else:
                wait = settings.sync_interval
            stopping.wait(wait)
    transport.close()
    _log("stopped")


@sync.command("status")
@_TO
@_TENANT
@click.option("--json", "as_json", is_flag=True)
def status(url: str | None, tenant: str | None, as_json: bool) -> None:
    """Where forwarding stands, from this store only (works offline): the acknowledged
    position, the backlog, the last success and the last error, erasures pulled and
    waiting to be applied here."""
    settings = _config()
    targets = tuple(_endpoint(u) for u in (url or settings.sync_url,) if u)
    with lrs_service() as lrs:
        found = lrs.forwarding.status(operator(tenant or settings.sync_tenant), targets)
    if as_json:
        click.echo(json.dumps([
            {
                "tenant": s.tenant, "target": s.target, "position": s.position,
                "backlog": s.backlog, "last_success": s.last_success or None,
                "last_error": s.last_error or None, "last_error_at": s.last_error_at or None,
                "erasures_pulled": s.erasures_pulled, "erasures_waiting": s.erasures_waiting,
                "refused": s.refused, "last_refused": s.last_refused or None,
            }
            for s in found
        ]))
        return
    if not found:
        click.echo("nothing forwarded yet, and no sync_url configured")
    for s in found:
        click.echo(
            f"{s.tenant} -> {s.target}\n"
            f"  position      {s.position or '(start)'}\n"
            f"  backlog       {s.backlog} statement{'s' if s.backlog != 1 else ''}\n"
            f"  last success  {s.last_success or 'never'}\n"
            f"  last error    {(s.last_error_at + '  ' + s.last_error) if s.last_error else 'none'}"
            f"\n  erasures      {s.erasures_pulled} pulled, {s.erasures_waiting} waiting to be "
            "applied here"
            f"\n  refused       {s.refused}"
            + (f" (latest {s.last_refused})" if s.refused else "")
            + ("; `lrs audit --action sync.refused` lists them" if s.refused else "")
        )


def retry_wait(failures: int, initial: int, maximum: int) -> float:
    """Seconds before the next push after `failures` failures in a row: `initial` doubling
    with each, at most `maximum`, with 10% jitter (edges coming back after one outage must
    not all call the centre at the same second)."""
    base = min(maximum, initial << min(failures - 1, 30))
    return base * random.uniform(0.9, 1.1)  # noqa: S311 - spreading retries, not secrets


def _push(
    lrs: LearningRecordStore,
    settings: Config,
    transport: HttpTransport,
    tenant: str | None,
    batch_size: int | None,
    stop: Callable[[], bool],
) -> PushResult | None:
    """One push, reported; None when it failed (the reason is printed and kept as the
    state's last error)."""
    started = time.monotonic()
    batch_bytes, sent_bytes = transport.batch_bytes, transport.sent_bytes
    try:
        result = lrs.forwarding.push(
            operator(tenant or settings.sync_tenant), transport,
            batch_size=batch_size or settings.sync_batch_size, stop=stop,
        )
    except ServiceError as exc:  # SyncFailedError, or no such tenant here
        _log(f"failed: {exc.message}", err=True)
        return None
    except StorageError as exc:
        _log(f"failed: the local store: {exc}", err=True)
        return None
    seconds = time.monotonic() - started
    rate = f", {result.forwarded / seconds:.0f}/s" if result.forwarded and seconds else ""
    plain, sent = transport.batch_bytes - batch_bytes, transport.sent_bytes - sent_bytes
    if sent:
        rate += f", {sent / 1e6:.2f} MB sent gzipped, {plain / sent:.1f} times smaller"
    _log(
        f"forwarded {result.forwarded} statement{'s' if result.forwarded != 1 else ''} in "
        f"{result.batches} batch{'es' if result.batches != 1 else ''} ({seconds:.1f} s{rate}); "
        f"{result.skipped} not sent (erased); {result.refused} refused by the central LRS "
        f"(recorded, passed); {result.erasures} erasure(s) pulled; "
        f"backlog {result.backlog}"
        + ("" if result.originals else
           "; sealed originals stay here: the central LRS does not hold this tenant's vault key")
    )
    return result


def _transport(settings: Config, url: str | None, credential: str | None) -> HttpTransport:
    target = url or settings.sync_url
    given = credential or settings.sync_credential_file
    if not target:
        raise click.UsageError("name the central LRS with --to (or set sync_url)")
    if not given:
        raise click.UsageError("give its sync credential with --credential (or set "
                               "sync_credential_file)")
    try:
        key, secret = load_credential(given)
    except (ValueError, OSError) as exc:
        raise click.UsageError(f"--credential: {exc}") from None
    _endpoint(target)
    return HttpTransport(target, key, secret, timeout=settings.sync_timeout)


def _endpoint(url: str) -> str:
    try:
        return sync_endpoint(url)
    except ValueError as exc:
        raise click.UsageError(f"--to: {exc}") from None


def _log(message: str, *, err: bool = False) -> None:
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    click.echo(f"{now} {message}", err=err)
