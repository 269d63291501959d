"""The central side of edge forwarding: what an edge LRS's `sync` credential may do here.

An edge LRS (a school's small machine, offline most of the week) pseudonymizes at its door
with the tenant's keys, which it shares with this LRS (`lrs keys export` / `import`), and
forwards what it stored, in batches (`lrs.service.forwarding`). Three operations, all
`sync` scope only:

- `hello`: what the edge must agree with before sending: this protocol's version, the
  tenant, whether it pseudonymizes and the ids of its pseudonym and vault keys (never the
  keys), the largest batch taken.
- `receive`: one batch, `{"statements": [...], "sealed": {id: base64url}}` with attachment
  parts (Communication 1.5.2 multipart/mixed, the batch JSON first). The statements are
  validated as xAPI, their attachments matched, their pseudonyms and sealed originals
  checked (`Privacy.accept_forwarded`), then stored through the ingest rules, so a batch
  sent again (the edge crashed before noting the answer) is a no-op: at-least-once
  forwarding stores each statement once. A statement naming a pseudonym of the erasure
  list is acknowledged and not stored. Each is stored with `authority` = a Group of the
  `sync` credential's Agent and the edge's writer (`forwarded_authority`).
- `erasures`: the tenant's erasure list after a position, which edges pull and apply.

A signed statement of a tenant that pseudonymizes comes with no part for its signature: its
JWS names the learner, so it travels in the sealed entry, which is verified here
(`Privacy.accept_forwarded`).

The batch is all or nothing like an xAPI POST; bad input is a 400 naming the field
(`statements[i]...`, `sealed.<id>`, `parts[i]`). The edge finds the statement to blame
by sending a refused batch again in halves, and passes it recorded
(`lrs.service.forwarding`).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lrs.service.audit import Auditor
from lrs.service.errors import InvalidRequestError
from lrs.service.ingest import store_statements
from lrs.service.principal import DEFINE_SCOPES, SYNC_SCOPES, Principal
from lrs.service.privacy import Privacy
from lrs.service.tenants import Tenants
from statements import (
    AttachmentData,
    AttachmentPart,
    StatementError,
    is_signature_attachment,
    match_attachments,
    negotiate_version,
    statement_index_fields,
    validate_agent,
    validate_statements,
)
from storage import Erasure, Storage

PROTOCOL = 1
MAX_BATCH = 1000
MAX_ERASURES_PAGE = 1000
_INDEX = re.compile(r"\[(\d+)\]")
_BATCH_INDEX = re.compile(r"^\[(\d+)\]")
_REQUIRED_ID = "is required: a forwarded statement keeps the id it was stored with"


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a batch's answer acknowledges: every statement id, in order, either stored now
    or before (`ids`) or not stored because it names an erased pseudonym (`skipped`)."""

    ids: list[str]
    skipped: list[str]


class SyncService:
    """The `sync` operations over one store (module docstring)."""

    def __init__(
        self, store: Storage, privacy: Privacy, tenants: Tenants, audit: Auditor
    ) -> None:
        self.store = store
        self.privacy = privacy
        self.tenants = tenants
        self.audit = audit

    def hello(self, principal: Principal) -> dict[str, Any]:
        """What an edge checks before it forwards (module docstring)."""
        principal.require(SYNC_SCOPES)
        view = self.tenants.get(principal.tenant)
        pseudonym_keys, vault_keys = self.privacy.forwarding_keys(view)
        return {
            "protocol": PROTOCOL,
            "tenant": principal.tenant,
            "pseudonymize": self.privacy.pseudonymizes(view),
            "pseudonym_key_ids": pseudonym_keys,
            "vault_key_ids": vault_keys,
            "max_batch": MAX_BATCH,
        }

    def receive(
        self, principal: Principal, body: Any, parts: Sequence[AttachmentPart] = ()
    ) -> Receipt:
        """Store one forwarded batch (module docstring), all or nothing."""
        principal.require(SYNC_SCOPES)
        raw, sealed = parse_batch(body)
        # The edge's authority is replaced here (Data 2.4.9): it is not validated with the
        # statement, only kept as the writer when it is a valid Agent.
        writers = [s.get("authority") if isinstance(s, dict) else None for s in raw]
        raw = [
            {k: v for k, v in s.items() if k != "authority"} if isinstance(s, dict) else s
            for s in raw
        ]
        view = self.tenants.get(principal.tenant)
        try:
            statements = _validated(raw)
            attachments = _attachments(
                statements, parts, sealed_signatures=self.privacy.pseudonymizes(view)
            )
        except StatementError as exc:
            raise StatementError(_prefixed(exc.errors)) from None
        missing = {
            f"statements[{i}].id": [_REQUIRED_ID] for i, s in enumerate(statements) if "id" not in s
        }
        if missing:
            raise InvalidRequestError(
                "forwarded statements must carry their ids", code="invalid_statement",
                fields=missing,
            )
        ids = [s["id"].lower() for s in statements]
        unknown = sorted(set(sealed) - set(ids))
        if unknown:
            raise InvalidRequestError(
                "sealed originals must belong to statements of the batch", code="invalid_sync",
                fields={f"sealed.{i}": ["names no statement of this batch"] for i in unknown},
            )
        try:
            prepared = self.privacy.accept_forwarded(view, statements, sealed)
        except InvalidRequestError as exc:
            raise InvalidRequestError(
                exc.message, code=exc.code, fields=_prefixed(exc.fields)
            ) from None
        kept = self._not_erased(principal.tenant, prepared.statements)
        link = principal.authority
        written = {ids[i]: writers[i] for i in kept}
        try:
            store_statements(
                self.store,
                principal.tenant,
                [prepared.statements[i] for i in kept],
                authority=lambda s: forwarded_authority(link, written[s["id"].lower()]),
                writer=principal.key,
                attachments=attachments,
                sealed=prepared.sealed,
                identities=prepared.identities,
                define_activities=principal.allows(DEFINE_SCOPES),
                dimensions=list(view.policy.dimension_iris.values()),
            )
        except StatementError as exc:
            raise StatementError(_prefixed(exc.errors, kept)) from None
        self.privacy.remember(prepared)
        stored = [ids[i] for i in kept]
        self.audit.record(
            principal, "sync.receive", "statements",
            filters={"sealed": str(len(prepared.sealed)), "skipped": str(len(ids) - len(kept))},
            count=len(stored),
        )
        kept_set = set(kept)
        return Receipt(stored, [ids[i] for i in range(len(ids)) if i not in kept_set])

    def _not_erased(self, tenant: str, statements: list[dict[str, Any]]) -> list[int]:
        """The indexes of the statements naming no pseudonym of the erasure list."""
        if not self.store.read_erasures(tenant, limit=1):
            return list(range(len(statements)))
        agents = [_agents(s) for s in statements]
        erased = self.store.erased_agents(tenant, sorted(set().union(*agents)))
        return [i for i, named in enumerate(agents) if not erased & named]

    def erasures(self, principal: Principal, *, after: int, limit: int) -> list[Erasure]:
        """The tenant's erasure list entries after `after`, at most `limit` (and
        `MAX_ERASURES_PAGE`); a read that returns entries is audited (they name
        pseudonyms)."""
        principal.require(SYNC_SCOPES)
        entries = self.store.read_erasures(
            principal.tenant, after=after, limit=min(limit, MAX_ERASURES_PAGE)
        )
        if entries:
            self.audit.record(
                principal, "sync.erasures", "erasures", filters={"after": str(after)},
                count=len(entries),
            )
        return entries


def _validated(raw: list[Any]) -> list[dict[str, Any]]:
    """The batch validated statement by statement under the rules of the xAPI version each
    was stored with at the edge (its `version`: a 2.0.0 statement by the 2.0 rules, others
    by 1.0.3's), in order; one StatementError for all (paths `[index]...`)."""
    families: dict[str, list[int]] = {}
    for index, statement in enumerate(raw):
        given = statement.get("version") if isinstance(statement, dict) else None
        families.setdefault(negotiate_version(given) or "1.0.3", []).append(index)
    valid: dict[int, dict[str, Any]] = {}
    errors: dict[str, list[str]] = {}
    for version, indexes in families.items():
        try:
            found = validate_statements([raw[i] for i in indexes], version=version)
        except StatementError as exc:
            errors.update({_renumbered(path, indexes): rules for path, rules in exc.errors.items()})
            continue
        valid.update(zip(indexes, found, strict=True))
    if errors:
        raise StatementError(errors)
    return [valid[i] for i in range(len(raw))]


def _renumbered(path: str, indexes: list[int]) -> str:
    """A path of a sub-batch (`[k]...`) as a path of the whole batch (`[indexes[k]]...`)."""
    match = _BATCH_INDEX.match(path)
    if match is None:
        return path
    return f"[{indexes[int(match.group(1))]}]" + path[match.end():]


def forwarded_authority(link: Mapping[str, Any], writer: Any) -> dict[str, Any]:
    """Data 2.4.9 for a forwarded statement: this LRS sets the authority of what it stores,
    a Group of two Agents, the `sync` credential's (the OAuth consumer's place: it vouches
    for the statement here) and the edge credential that wrote it (`writer`, its authority
    at the edge; of a Group, as an earlier hop forwarding it made, the last member). The
    `sync` credential's Agent alone when the edge's is missing or no valid Agent."""
    if isinstance(writer, dict) and writer.get("objectType") == "Group":
        members = writer.get("member")
        writer = members[-1] if isinstance(members, list) and members else None
    try:
        agent = validate_agent(writer, path="authority")
    except StatementError:
        return dict(link)
    if agent.get("objectType", "Agent") != "Agent" or agent == link:
        return dict(link)
    return {"objectType": "Group", "member": [dict(link), agent]}


def parse_batch(body: Any) -> tuple[list[Any], dict[str, bytes]]:
    """The statements (unvalidated) and sealed originals (by lowercase id) of a batch
    body; InvalidRequestError naming the field otherwise."""
    if not isinstance(body, dict):
        raise _invalid("", 'must be an object {"statements": [...], "sealed": {...}}')
    for key in body:
        if key not in ("statements", "sealed"):
            raise _invalid(key, "is not a field of a forwarded batch")
    raw = body.get("statements")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_BATCH:
        raise _invalid("statements", f"must be an array of 1 to {MAX_BATCH} statements")
    given = body.get("sealed", {})
    if not isinstance(given, dict):
        raise _invalid("sealed", "must be an object of statement id -> base64url text")
    sealed: dict[str, bytes] = {}
    for key, text in given.items():
        try:
            if not isinstance(text, str) or not text.isascii():
                raise ValueError
            sealed[key.lower()] = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (ValueError, binascii.Error):
            raise _invalid(f"sealed.{key}", "must be base64url text") from None
    return raw, sealed


def encode_sealed(blob: bytes) -> str:
    """A sealed blob as a batch carries it (base64url, unpadded)."""
    return base64.urlsafe_b64encode(blob).rstrip(b"=").decode("ascii")


def _attachments(
    statements: list[dict[str, Any]],
    parts: Sequence[AttachmentPart],
    *,
    sealed_signatures: bool,
) -> AttachmentData:
    """The data of the batch's attachments, matched by sha2 (Communication 1.5.2). A part's
    Content-Type is the type the edge stored the data with, which one statement naming
    the same data with another `contentType` must not make a mismatch: types are taken
    from the parts, not compared with the objects. For a tenant that pseudonymizes
    (`sealed_signatures`), a signature's JWS names the learner in clear: it travels only in
    the statement's sealed entry, so no part is expected (or taken) for it, and it is
    checked there (`Privacy.accept_forwarded`)."""
    if sealed_signatures:
        statements = [_without_signatures(s) for s in statements]
    data = match_attachments(
        statements, [dataclasses.replace(p, content_type=None) for p in parts], batch=True
    )
    types = {p.sha2: p.content_type for p in parts if p.content_type}
    return {sha2: (types.get(sha2, kind), blob) for sha2, (kind, blob) in data.items()}


def _without_signatures(statement: dict[str, Any]) -> dict[str, Any]:
    attachments = statement.get("attachments")
    if not attachments or not any(is_signature_attachment(a) for a in attachments):
        return statement
    return {
        **statement,
        "attachments": [a for a in attachments if not is_signature_attachment(a)],
    }


def _agents(statement: Mapping[str, Any]) -> set[str]:
    fields = statement_index_fields(dict(statement))
    return set(fields.agents) | set(fields.related_agents)


def _prefixed(
    errors: Mapping[str, list[str]], indexes: Sequence[int] | None = None
) -> dict[str, list[str]]:
    """Error paths of statement `[i]` as `statements[i]` of the batch body (`indexes` maps
    the position in a subset to the batch's)."""
    out: dict[str, list[str]] = {}
    for path, rules in errors.items():
        match = _INDEX.match(path)
        if match is None:
            out[path] = rules
            continue
        index = int(match.group(1))
        if indexes is not None:
            index = indexes[index]
        out[f"statements[{index}]{path[match.end():]}"] = rules
    return out


def _invalid(field: str, rule: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"{field or 'the body'} {rule}", code="invalid_sync", fields={field: [rule]}
    )
