"""The edge side of forwarding: an LRS that stores all week offline and forwards to the
central LRS whenever a link is up (`lrs sync push`, `lrs sync run`).

What travels is what the edge stored: statements already pseudonymized at its door with the
tenant's keys (which edge and centre share, `anonymize.keys`), their sealed originals when
the central LRS holds the tenant's vault key, and their attachment data; never an identity
in clear (a statement stored before the tenant pseudonymized is pseudonymized on the way
out). The central side is `lrs.service.sync`.

Nothing lost, nothing twice: statements are read from the store's feed (`Storage.
read_feed`: every statement, in the order it became readable) after the position the
central LRS last acknowledged, which is kept in the edge's store (`SyncState`) and moved
only past a batch the central LRS answered for. Interrupted anywhere, the next push sends
again what was not acknowledged; a batch acknowledged but not yet noted is sent twice, and
the central LRS stores a statement re-sent with its id once (Communication 2.1.2). A
statement the central LRS refuses for its content (it would refuse it again) is found by
halving the batch, recorded as refused in this store's audit log (`sync.refused`, counted
by `status`) and passed: it stays here, and never holds back the statements after it.

Erasure reaches edges through the central LRS's erasure list: each push first pulls the
entries after the last one pulled into the edge's own list, so that nothing naming an
erased pseudonym is forwarded again, then runs the local erasure for each entry not yet
applied (`erase_local`, the erasure operation by pseudonym; until one is given, the entries
wait, counted in `status`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from lrs.service.audit import Auditor
from lrs.service.errors import InvalidRequestError, SyncFailedError, SyncRefusedError
from lrs.service.principal import ADMIN_SCOPES, Principal
from lrs.service.privacy import Privacy
from lrs.service.sync import PROTOCOL, encode_sealed
from lrs.service.tenants import Tenants, TenantView
from statements import (
    AttachmentData,
    attachment_hashes,
    build_multipart,
    is_signature_attachment,
    statement_index_fields,
    stored_timestamp,
)
from storage import FeedPage, Storage, StoredStatement, SyncState
from storage.commands import record_erasure, update_sync_state

ERASURES_PAGE = 1000
REFUSED_ACTION = "sync.refused"
_REFUSAL_TEXT = 500
# A batch body stays below the central LRS's limit (its `max_body_bytes`) by this margin.
_BODY_MARGIN = 64 * 1024


class Transport(Protocol):
    """How a Forwarder reaches one central LRS (over HTTP: `lrs.sync_client`). `target`
    names it (its sync URL) in the forwarding state. Every failure, of the network or an
    answer other than success, is a SyncFailedError saying what happened."""

    @property
    def target(self) -> str: ...

    def hello(self) -> Mapping[str, Any]:
        """The central LRS's `SyncService.hello`, with its `max_body_bytes`."""

    def send(self, content_type: str, body: bytes) -> Mapping[str, Any]:
        """POST one batch; the receipt `{"ids": [...], "skipped": [...]}`."""

    def erasures(self, after: int, limit: int) -> Mapping[str, Any]:
        """`{"erasures": [{"seq", "agent", "time"}...], "more": bool}` after `after`."""


@dataclass(frozen=True, slots=True)
class PushResult:
    """What one push did: statements the central LRS acknowledged, statements not sent
    because they name an erased pseudonym, batches sent, erasure list entries pulled,
    whether sealed originals travelled (the central LRS holds the vault key), what is
    left (0 unless stopped), and statements the central LRS refused (recorded, passed)."""

    forwarded: int
    skipped: int
    batches: int
    erasures: int
    originals: bool
    backlog: int
    refused: int = 0


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """A forwarding state as `lrs sync status` shows it: the acknowledged position, how
    many statements follow it, the last success and error, and erasure list entries
    pulled and waiting for the local erasure, and the statements the central LRS refused
    (how many, and the latest: time, id and answer)."""

    tenant: str
    target: str
    position: str
    backlog: int
    last_success: str
    last_error: str
    last_error_at: str
    erasures_pulled: int
    erasures_waiting: int
    refused: int = 0
    last_refused: str = ""


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the central LRS's hello allows: sealed originals or not, batch limits."""

    send_sealed: bool
    max_batch: int
    max_bytes: int


class Forwarder:
    """Forwards one store's statements to central LRSs (module docstring). `erase_local`
    erases a tenant's data of one pseudonym (tenant, agent key) here; refusals are recorded
    in `audit`."""

    def __init__(
        self,
        store: Storage,
        privacy: Privacy,
        tenants: Tenants,
        audit: Auditor,
        *,
        erase_local: Callable[[str, str], object] | None = None,
    ) -> None:
        self.store = store
        self.privacy = privacy
        self.tenants = tenants
        self.audit = audit
        self.erase_local = erase_local

    def push(
        self,
        principal: Principal,
        transport: Transport,
        *,
        batch_size: int,
        stop: Callable[[], bool] = lambda: False,
    ) -> PushResult:
        """Pull the erasure list, then forward the principal's tenant's statements after
        the acknowledged position in batches of at most `batch_size` until none is left
        (or `stop()` says so between batches). SyncFailedError, noted as the state's last
        error, when the central LRS cannot be reached, refuses, or disagrees on keys."""
        principal.require(ADMIN_SCOPES)
        tenant, target = principal.tenant, transport.target
        view = self.tenants.get(tenant)
        try:
            plan = self._agree(view, transport.hello())
            pulled = self._pull_erasures(tenant, transport)
            self._apply_erasures(tenant, target)
            forwarded, skipped, batches, refused = self._forward(
                principal, view, transport, plan, max(1, min(batch_size, plan.max_batch)), stop
            )
        except SyncFailedError as exc:
            message = exc.message
            self._change(tenant, target, lambda s: dataclasses.replace(
                s, last_error=message, last_error_at=_now()))
            raise
        state = self._change(tenant, target, lambda s: dataclasses.replace(
            s, last_success=_now(), last_error="", last_error_at=""))
        return PushResult(
            forwarded, skipped, batches, pulled, plan.send_sealed,
            self.store.count_feed(tenant, state.position), refused,
        )

    def status(self, principal: Principal, targets: tuple[str, ...] = ()) -> list[SyncStatus]:
        """Every forwarding state of the principal's tenant, and one for each of `targets`
        never pushed to yet; read from this store only (works offline)."""
        principal.require(ADMIN_SCOPES)
        tenant = principal.tenant
        states = {s.target: s for s in self.store.list_sync_states(tenant)}
        for target in targets:
            states.setdefault(target, SyncState(tenant, target))
        return [
            SyncStatus(
                tenant, state.target, state.position,
                self.store.count_feed(tenant, state.position),
                state.last_success, state.last_error, state.last_error_at,
                state.erasures_pulled, self._waiting(tenant, state.erasures_applied),
                *self._refusals(tenant, state.target),
            )
            for state in sorted(states.values(), key=lambda s: s.target)
        ]

    def _refusals(self, tenant: str, target: str) -> tuple[int, str]:
        """How many statements the central LRS at `target` refused, and the latest, from
        this store's audit log (`REFUSED_ACTION` entries)."""
        count, latest, after = 0, "", 0
        while page := self.audit.read(
            tenant, after=after, action=REFUSED_ACTION, limit=ERASURES_PAGE
        ):
            for entry in page:
                if entry.filters.get("target") == target:
                    count += 1
                    latest = (
                        f"{entry.time}  {entry.filters.get('statement')}: "
                        f"{entry.filters.get('error')}"
                    )
            after = page[-1].seq
        return count, latest

    def _waiting(self, tenant: str, applied: int) -> int:
        """How many entries of this store's erasure list follow entry `applied`."""
        count, after = 0, applied
        while page := self.store.read_erasures(tenant, after=after, limit=ERASURES_PAGE):
            count += len(page)
            after = page[-1].seq
        return count

    # -- the steps of a push ----------------------------------------------------------

    def _agree(self, view: TenantView, hello: Mapping[str, Any]) -> _Plan:
        """Check the central LRS's hello against this edge: protocol, tenant, keys."""
        tenant = view.name
        if hello.get("protocol") != PROTOCOL:
            raise SyncFailedError(
                f"the central LRS speaks sync protocol {hello.get('protocol')!r}; this edge "
                f"speaks {PROTOCOL}"
            )
        if hello.get("tenant") != tenant:
            raise SyncFailedError(
                f"the credential belongs to tenant {hello.get('tenant')!r} at the central LRS, "
                f"this edge forwards tenant {tenant!r}: they must be the same tenant (its "
                "keys and sealed originals are bound to its name)"
            )
        pseudonym_ids, vault_ids = self.privacy.forwarding_keys(view)
        central_pseudonym_ids = _ids(hello, "pseudonym_key_ids")
        if hello.get("pseudonymize") is True:
            if not pseudonym_ids:
                raise SyncFailedError(
                    f"the central LRS pseudonymizes tenant {tenant} and this edge does not: "
                    "identities would travel in clear"
                )
            if pseudonym_ids[0] not in central_pseudonym_ids:
                raise SyncFailedError(
                    f"this edge's pseudonym key for tenant {tenant} (id {pseudonym_ids[0]}) is "
                    "not the central LRS's: install the tenant keys it exports "
                    "(`lrs keys export` there, `lrs keys import` here)"
                )
        max_batch, max_bytes = hello.get("max_batch"), hello.get("max_body_bytes")
        if not (_positive(max_batch) and _positive(max_bytes)):
            raise SyncFailedError("the central LRS's hello is not one this edge understands")
        assert isinstance(max_batch, int) and isinstance(max_bytes, int)
        return _Plan(
            send_sealed=bool(vault_ids) and vault_ids[0] in _ids(hello, "vault_key_ids"),
            max_batch=max_batch,
            max_bytes=max(max_bytes - _BODY_MARGIN, 1),
        )

    def _pull_erasures(self, tenant: str, transport: Transport) -> int:
        """Copy the central erasure list's new entries into this store's list."""
        pulled = 0
        while True:
            after = self._state(tenant, transport.target).erasures_pulled
            page = transport.erasures(after, ERASURES_PAGE)
            entries = page.get("erasures")
            if not isinstance(entries, list):
                raise SyncFailedError("the central LRS's erasure list is not one this edge reads")
            last = after
            for entry in entries:
                seq, agent = _entry(entry)
                if seq <= last:
                    raise SyncFailedError("the central LRS's erasure list is out of order")
                record_erasure(self.store, tenant, agent, _now())
                last = seq
            if last > after:
                pulled += len(entries)
                self._change(tenant, transport.target, _pulled_to(last))
            if not entries or page.get("more") is not True:
                return pulled

    def _apply_erasures(self, tenant: str, target: str) -> None:
        """Run the local erasure for the entries of this store's list not applied yet."""
        erase = self.erase_local
        if erase is None:
            return
        while entries := self.store.read_erasures(
            tenant, after=self._state(tenant, target).erasures_applied, limit=ERASURES_PAGE
        ):
            for entry in entries:
                erase(tenant, entry.agent)
            self._change(tenant, target, _applied_to(entries[-1].seq))

    def _forward(
        self,
        principal: Principal,
        view: TenantView,
        transport: Transport,
        plan: _Plan,
        limit: int,
        stop: Callable[[], bool],
    ) -> tuple[int, int, int, int]:
        """Send batches until the feed is exhausted; each acknowledged batch moves the
        position past it. A batch over the central LRS's body limit is read again at half
        the size (one statement too large for it goes alone, and the central answers). A
        batch the central LRS refuses (SyncRefusedError: its content, which it would refuse
        again) is read again at half the size until the statement to blame goes alone;
        that one is recorded as refused (`_refuse`) and passed, so that it never holds back
        the statements after it."""
        tenant, target = view.name, transport.target
        forwarded = skipped = batches = refused = 0
        full = limit
        erasures = bool(self.store.read_erasures(tenant, limit=1))
        while not stop():
            page = self.store.read_feed(tenant, self._state(tenant, target).position, limit)
            if not page.statements:
                break
            rows, erased = self._not_erased(tenant, page) if erasures else (page.statements, 0)
            if rows:
                content_type, body = self._batch(view, rows, plan)
                if len(body) > plan.max_bytes and limit > 1:
                    limit = max(1, limit // 2)
                    continue
                try:
                    receipt = transport.send(content_type, body)
                except SyncRefusedError as exc:
                    if len(page.statements) > 1:
                        limit = max(1, len(page.statements) // 2)
                        continue
                    self._refuse(principal, target, rows[0], exc)
                    refused += 1
                    limit = full
                    self._change(tenant, target, _acknowledged_to(page.position))
                    continue
                _check_receipt(receipt, [row.id for row in rows])
                batches += 1
            forwarded += len(rows)
            skipped += erased
            self._change(tenant, target, _acknowledged_to(page.position))
        return forwarded, skipped, batches, refused

    def _refuse(
        self, principal: Principal, target: str, row: StoredStatement, exc: SyncRefusedError
    ) -> None:
        """Record that the central LRS at `target` refused statement `row` (an audit entry
        naming it, the answer's code and message), before the position moves past it: the
        statement stays in this store, and `status` counts it."""
        self.audit.record(
            principal, REFUSED_ACTION, "statements",
            filters={
                "target": target, "statement": row.id, "code": exc.code,
                "error": exc.message[:_REFUSAL_TEXT],
            },
            count=1,
        )

    def _not_erased(
        self, tenant: str, page: FeedPage
    ) -> tuple[tuple[StoredStatement, ...], int]:
        """The page's statements naming no pseudonym of the erasure list, and how many do."""
        agents = {row.id: _agents(row) for row in page.statements}
        erased = self.store.erased_agents(
            tenant, sorted({key for keys in agents.values() for key in keys})
        )
        rows = tuple(row for row in page.statements if not erased & agents[row.id])
        return rows, len(page.statements) - len(rows)

    def _batch(
        self, view: TenantView, rows: tuple[StoredStatement, ...], plan: _Plan
    ) -> tuple[str, bytes]:
        """The body of one batch (`lrs.service.sync`): the stored bytes joined, never
        re-encoded, with attachment parts when any statement has data here."""
        raws: list[bytes] = []
        sealed: dict[str, str] = {}
        hashes: dict[str, None] = {}
        pseudonymizes = self.privacy.pseudonymizes(view)
        for row in rows:
            raw, blob = row.statement, row.sealed
            if blob is None and pseudonymizes:
                raw, blob = self._pseudonymized(view, row)
            raws.append(raw)
            if blob is not None and plan.send_sealed:
                sealed[row.id] = encode_sealed(blob)
            if b'"attachments"' in raw:
                statement = orjson.loads(raw)
                # A signature's JWS names the learner: with pseudonymization on it travels
                # only sealed (`lrs.service.sync`), never as a part.
                unsent = set(_signature_hashes(statement)) if pseudonymizes else set()
                hashes.update(
                    dict.fromkeys(h for h in attachment_hashes(statement) if h not in unsent)
                )
        body = b'{"statements":[' + b",".join(raws) + b'],"sealed":' + orjson.dumps(sealed) + b"}"
        data = self.store.get_attachments(view.name, list(hashes)) if hashes else {}
        if not data:
            return "application/json", body
        return build_multipart(body, data)

    def _pseudonymized(self, view: TenantView, row: StoredStatement) -> tuple[bytes, bytes | None]:
        """A statement stored before its tenant pseudonymized, as it travels: pseudonymized
        and sealed now (nothing leaves this LRS in clear), a signed one with its JWS (stored
        here as plain attachment data then) sealed in its entry as at the door."""
        statement = orjson.loads(row.statement)
        signatures: AttachmentData = {}
        if b'"attachments"' in row.statement and (hashes := _signature_hashes(statement)):
            signatures = self.store.get_attachments(view.name, hashes)
        try:
            prepared = self.privacy.prepare(view, [statement], signatures)
        except InvalidRequestError as exc:
            raise SyncFailedError(
                f"statement {row.id} was stored before pseudonymization and cannot be "
                f"forwarded pseudonymized: {exc.message}"
            ) from None
        return orjson.dumps(prepared.statements[0]), prepared.sealed.get(row.id)

    def _state(self, tenant: str, target: str) -> SyncState:
        return self.store.get_sync_state(tenant, target) or SyncState(tenant, target)

    def _change(
        self, tenant: str, target: str, change: Callable[[SyncState], SyncState]
    ) -> SyncState:
        return update_sync_state(self.store, tenant, target, change)


def _pulled_to(seq: int) -> Callable[[SyncState], SyncState]:
    return lambda s: dataclasses.replace(s, erasures_pulled=max(s.erasures_pulled, seq))


def _applied_to(seq: int) -> Callable[[SyncState], SyncState]:
    return lambda s: dataclasses.replace(s, erasures_applied=max(s.erasures_applied, seq))


def _acknowledged_to(position: str) -> Callable[[SyncState], SyncState]:
    """The position only ever moves on (another forwarder may have gone further)."""
    return lambda s: dataclasses.replace(
        s, position=max(s.position, position), last_success=_now(), last_error="",
        last_error_at="",
    )


def _check_receipt(receipt: Mapping[str, Any], sent: list[str]) -> None:
    """The central LRS must have answered for exactly the statements sent."""
    ids, skipped = receipt.get("ids"), receipt.get("skipped")
    if not (isinstance(ids, list) and isinstance(skipped, list)) or sorted(
        map(str, [*ids, *skipped])
    ) != sorted(sent):
        raise SyncFailedError("the central LRS acknowledged other statements than were sent")


def _signature_hashes(statement: Mapping[str, Any]) -> list[str]:
    return [
        attachment["sha2"].lower()
        for attachment in statement.get("attachments") or ()
        if is_signature_attachment(attachment)
    ]


def _agents(row: StoredStatement) -> set[str]:
    fields = statement_index_fields(orjson.loads(row.statement))
    return set(fields.agents) | set(fields.related_agents)


def _entry(entry: Any) -> tuple[int, str]:
    if not isinstance(entry, dict):
        raise SyncFailedError("the central LRS's erasure list is not one this edge reads")
    seq, agent = entry.get("seq"), entry.get("agent")
    if not _positive(seq) or not isinstance(agent, str) or not agent:
        raise SyncFailedError("the central LRS's erasure list is not one this edge reads")
    assert isinstance(seq, int)
    return seq, agent


def _ids(hello: Mapping[str, Any], name: str) -> list[str]:
    found = hello.get(name)
    return [i for i in found if isinstance(i, str)] if isinstance(found, list) else []


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _now() -> str:
    return stored_timestamp(datetime.now(UTC))
