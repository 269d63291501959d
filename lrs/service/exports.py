"""Partner exports: the statements of an agreement's window, each reduced to its fields.

Only the export credential bound to the agreement exports it, and only while the agreement
is active (`lrs.service.agreements`: refused before `starts`, after `expires` and once
revoked, each with its own error code). What is sent:

- the statements stored in the agreement's window, oldest first (by (stored, id)), up to the
  moment the export started (its snapshot: later statements belong to the next export);
- each reduced to the agreement's fields (`anonymize.minimize`), ids re-keyed for the
  agreement (`anonymize.rekey`), dimension values generalized by the quasi-identifier rule
  (`anonymize.generalize`) with the tenant's `k`, counted over the whole snapshot;
- as NDJSON (one JSON object per line, keyed by field name) or CSV (RFC 4180, a header row of
  the field names; values that are not strings as JSON); each record ends with `withheld`
  (the dimension fields the rule withheld from it) and `cursor`.

A `cursor` continues an interrupted download right after its record, with the same snapshot
and `k` (so the rule withholds what it withheld the first time); a resumed CSV has no header row, so
the parts join into one file. It is sealed under a key of the agreement (`Rekeyer.
seal_cursor`): opaque, unforgeable, and useless with another agreement.

Memory stays flat: statements are read a page at a time by the (stored, id) keyset, and the
rule's count keeps at most `k` learner keys per combination of dimension values. The
rule's count is one more read of the snapshot, made only when the agreement has dimensions.
An export of a million statements is a minute of CPU: `pause` is called after each page, so
that under `lrs serve` (gevent) the worker's other connections and gunicorn's heartbeat run
meanwhile (without it the worker answered nobody else, and was killed as hung after 30 s).

Every export is audited when it ends, complete or interrupted: action `export`, its count and
`digest` (`sha256:<hex>` of every byte sent), the format and whether it was resumed; never
an identifier. That entry is the partner's receipt (`receipts`), matched to a download by
the request id the response carries.
"""

from __future__ import annotations

import csv
import hashlib
import io
import struct
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from anonymize import (
    MISSING,
    AnonymizeError,
    Generalization,
    GroupCounter,
    Keyring,
    Rekeyer,
    Selection,
)
from lrs.service.agreements import AgreementService
from lrs.service.audit import Auditor
from lrs.service.errors import InvalidRequestError, NotFoundError, invalid
from lrs.service.principal import EXPORT_SCOPES, Principal
from lrs.service.tenants import Tenants
from statements import stored_timestamp
from storage import Agreement, StatementFilter, Storage, StoredStatement

NDJSON = "application/x-ndjson"
CSV = "text/csv"
FORMATS = {NDJSON: "ndjson", CSV: "csv"}
PAGE = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# A cursor's position: the snapshot's end and the `k` the export began with (so a resumed
# download generalizes as its first part did), then the (stored, id) of the record it follows.
_POSITION = struct.Struct(">qIq16s")


@dataclass(frozen=True, slots=True)
class Export:
    """An export ready to stream: its media type, a file name, and the body in chunks
    (nothing is read before the first chunk is asked for; the audit entry is written when
    the chunks end or are closed)."""

    media_type: str
    filename: str
    chunks: Iterator[bytes]


def _no_pause() -> None:
    """Between pages outside an event loop: nothing to let run."""


class ExportService:
    """Exports and their receipts for the export credentials of one store. `pause` is
    called between pages (see the module docstring); `lrs serve` sets it."""

    def __init__(
        self,
        store: Storage,
        tenants: Tenants,
        audit: Auditor,
        keyring: Keyring | None,
        agreements: AgreementService,
    ) -> None:
        self.store = store
        self.tenants = tenants
        self.audit = audit
        self.keyring = keyring
        self.agreements = agreements
        self.pause: Callable[[], None] = _no_pause

    def _agreement(self, principal: Principal, agreement_id: str) -> Agreement:
        """The principal's own agreement, active; NotFoundError for any other (an export
        credential knows of no other agreement), ForbiddenError when it is not active."""
        principal.require(EXPORT_SCOPES)
        found = None
        if principal.agreement == agreement_id:
            found = self.store.get_agreement(principal.tenant, agreement_id)
        if found is None:
            raise NotFoundError(f"no agreement {agreement_id} for this credential")
        return found

    def open(
        self,
        principal: Principal,
        agreement_id: str,
        *,
        media_type: str = NDJSON,
        cursor: str | None = None,
    ) -> Export:
        """The export of the principal's agreement, from the start or after `cursor`. Every
        check is made here, before anything is sent."""
        agreement = self._agreement(principal, agreement_id)
        self.agreements.check_active(agreement)
        if media_type not in FORMATS:
            raise InvalidRequestError(
                f"exports are {' or '.join(FORMATS)}", code="not_acceptable",
                fields={"Accept": [f"must accept {' or '.join(FORMATS)}"]},
            )
        assert self.keyring is not None  # no agreement is made without one
        rekeyer = Rekeyer(self.keyring, agreement.tenant, agreement.id)
        if cursor is None:
            now = self.agreements.now()
            snapshot = now if agreement.until is None else min(agreement.until, now)
            k = self.tenants.get(agreement.tenant).policy.k
            after = None
        else:
            snapshot, k, after = _open_cursor(rekeyer, cursor)
        selection = Selection(
            agreement.fields, [iri for _, iri in agreement.dimensions], rekeyer
        )
        fmt = FORMATS[media_type]
        chunks = self._stream(
            principal, agreement, selection, rekeyer, k, snapshot, after, fmt,
            resumed=cursor is not None,
        )
        return Export(media_type, f"{agreement.id}.{fmt}", chunks)

    def _statements(
        self, agreement: Agreement, snapshot: str, after: tuple[str, str] | None
    ) -> Iterator[StoredStatement]:
        """The snapshot's statements after `after`, oldest first, a page at a time."""
        while True:
            page = self.store.query_statements(
                agreement.tenant,
                StatementFilter(since=agreement.since, until=snapshot, ascending=True,
                                after=after),
                PAGE,
            )
            yield from page
            if len(page) < PAGE:
                return
            after = (page[-1].stored, page[-1].id)
            self.pause()

    def _generalize(
        self, agreement: Agreement, selection: Selection, k: int, snapshot: str
    ) -> Generalization | None:
        """The quasi-identifier rule over the whole snapshot (None without dimensions)."""
        if not selection.dimensions:
            return None
        counter = GroupCounter(k, len(selection.dimensions))
        for row in self._statements(agreement, snapshot, None):
            counter.add(*selection.group(orjson.loads(row.statement)))
        return counter.generalize()

    def _stream(
        self,
        principal: Principal,
        agreement: Agreement,
        selection: Selection,
        rekeyer: Rekeyer,
        k: int,
        snapshot: str,
        after: tuple[str, str] | None,
        fmt: str,
        *,
        resumed: bool,
    ) -> Iterator[bytes]:
        digest = hashlib.sha256()
        count = 0
        complete = False
        try:
            generalization = self._generalize(agreement, selection, k, snapshot)
            render = _csv_rows if fmt == "csv" else _ndjson_rows
            if fmt == "csv" and not resumed:
                header = _csv_line([*selection.fields, "withheld", "cursor"])
                digest.update(header)
                yield header
            snapshot_micros = _micros(snapshot)
            page: list[tuple[list[Any], list[str], str]] = []
            for row in self._statements(agreement, snapshot, after):
                values, withheld = selection.row(orjson.loads(row.statement), generalization)
                position = _POSITION.pack(
                    snapshot_micros, k, _micros(row.stored),
                    bytes.fromhex(row.id.replace("-", "")),
                )
                page.append((values, withheld, rekeyer.seal_cursor(position)))
                if len(page) == PAGE:
                    chunk = render(selection.fields, page)
                    digest.update(chunk)
                    count += len(page)
                    page = []
                    yield chunk
            if page:
                chunk = render(selection.fields, page)
                digest.update(chunk)
                count += len(page)
                yield chunk
            complete = True
        finally:
            self.audit.record(
                principal, "export", "exports",
                filters={
                    "agreement": agreement.id, "format": fmt, "resumed": resumed,
                    "complete": complete, "digest": "sha256:" + digest.hexdigest(),
                },
                count=count, tenant=agreement.tenant,
            )

    def receipts(self, principal: Principal, agreement_id: str) -> list[dict[str, Any]]:
        """The audit entries of the agreement's exports, oldest first: what was sent, when,
        how many records and their digest. Readable whatever the agreement's status."""
        agreement = self._agreement(principal, agreement_id)
        found: list[dict[str, Any]] = []
        after = 0
        while True:
            entries = self.audit.read(agreement.tenant, after=after, action="export", limit=1000)
            for entry in entries:
                if entry.filters.get("agreement") == agreement.id:
                    found.append({
                        "seq": entry.seq, "time": entry.time, "request_id": entry.request_id,
                        "count": entry.count, **entry.filters, "hash": entry.hash,
                    })
            if len(entries) < 1000:
                return found
            after = entries[-1].seq


def _micros(stored: str) -> int:
    return (datetime.fromisoformat(stored) - _EPOCH) // _MICROSECOND


def _stored(micros: int) -> str:
    return stored_timestamp(_EPOCH + micros * _MICROSECOND)


def _open_cursor(rekeyer: Rekeyer, cursor: str) -> tuple[str, int, tuple[str, str]]:
    """The snapshot, `k` and position a cursor holds; 400 naming `cursor` for anything that
    is not a cursor of this agreement's export."""
    try:
        snapshot, k, stored, statement_id = _POSITION.unpack(rekeyer.open_cursor(cursor))
    except (AnonymizeError, struct.error):
        raise invalid("cursor is not a cursor of this agreement's export", field="cursor",
                      code="invalid_cursor") from None
    return _stored(snapshot), k, (_stored(stored), str(uuid.UUID(bytes=statement_id)))


def _ndjson_rows(fields: Sequence[str], page: list[tuple[list[Any], list[str], str]]) -> bytes:
    lines = []
    for values, withheld, cursor in page:
        record = {f: v for f, v in zip(fields, values, strict=True) if v is not MISSING}
        if withheld:
            record["withheld"] = withheld
        record["cursor"] = cursor
        lines.append(orjson.dumps(record))
    lines.append(b"")
    return b"\n".join(lines)


def _cell(value: Any) -> str:
    if value is MISSING:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _csv_line(cells: Sequence[str]) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerow(cells)
    return text.getvalue().encode()


def _csv_rows(_fields: Sequence[str], page: list[tuple[list[Any], list[str], str]]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    for values, withheld, cursor in page:
        writer.writerow([*map(_cell, values), " ".join(withheld), cursor])
    return text.getvalue().encode()
