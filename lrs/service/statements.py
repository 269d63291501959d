"""The Statement resource's operations (Communication 2.1): store one or a batch, read one
or a page of a StatementResult.

Writes: validation (`statements`), attachment matching and signature checks (Data 2.6),
pseudonymization and masking (`lrs.service.privacy`), then the ingest rules
(`lrs.service.ingest`); nothing is written unless all of it passes.

Reads: stored statements are returned as the bytes the store holds (`exact`), or in the
`ids` / `canonical` format; only a `reidentify` reader gets the original agents back, and a
signed statement's signature data (`lrs.service.privacy`). A statement is shown to a reader
of any version as it was stored: a 2.0 one to a 1.0.x reader too (1.0.3 Communication 3.3:
statements of newer versions are not converted into a prior version's format), unless
`strip_2_0_properties` asks to drop what 1.0.3 does not define. A page
is continued by a cursor token holding the query and the keyset position (stored, id), so
paging neither repeats nor skips statements while others write. An `agent` goes into the
token as its pseudonym, so a raw identifier never travels in a URL that proxies may log.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from lrs.service.activities import canonical_definitions, with_canonical_definitions
from lrs.service.audit import UNPSEUDONYMIZED, Auditor
from lrs.service.errors import ForbiddenError, InvalidRequestError, NotFoundError, invalid
from lrs.service.ingest import store_statements
from lrs.service.principal import (
    DEFINE_SCOPES,
    STATEMENT_READ_SCOPES,
    STATEMENT_WRITE_SCOPES,
    Principal,
)
from lrs.service.privacy import Privacy
from lrs.service.tenants import Tenants, TenantView
from statements import (
    AttachmentData,
    AttachmentPart,
    StatementQuery,
    attachment_hashes,
    format_canonical,
    format_ids,
    match_attachments,
    parse_statement_query,
    validate_statements,
    version_family,
    without_2_0_properties,
)
from storage import StatementFilter, Storage, StoredStatement

_UUID_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class StatementPage:
    """What a statement read returns: the statements as serialized JSON in the asked format
    (one when `single`), the cursor token of the next page ("" when none), the newest
    `stored` among them (None for an empty page), and, when asked, the data of their
    attachments by sha2."""

    statements: list[bytes]
    single: bool
    more: str
    last_stored: str | None
    attachments: AttachmentData | None


class StatementService:
    """Statement writes and reads over one store, with the privacy of the service, the
    policy of each tenant and the audit log; `strip_2_0_properties` as in the
    configuration."""

    def __init__(
        self,
        store: Storage,
        privacy: Privacy,
        tenants: Tenants,
        audit: Auditor,
        *,
        limit_max: int,
        strip_2_0_properties: bool = False,
    ) -> None:
        self.store = store
        self.privacy = privacy
        self.tenants = tenants
        self.audit = audit
        self.limit_max = limit_max
        self.strip_2_0_properties = strip_2_0_properties

    # -- writes ---------------------------------------------------------------------------

    def post(
        self,
        principal: Principal,
        data: Any,
        parts: Sequence[AttachmentPart] = (),
        *,
        version: str,
    ) -> list[str]:
        """Store one statement or a batch, all or none; their ids in order (Communication
        2.1.2)."""
        principal.require(STATEMENT_WRITE_SCOPES)
        statements = validate_statements(data, version=version)
        attachments = match_attachments(
            statements, list(parts), batch=type(data) is list, version=version
        )
        return self._store(principal, statements, attachments, version)

    def put(
        self,
        principal: Principal,
        statement_id: str,
        data: Any,
        parts: Sequence[AttachmentPart] = (),
        *,
        version: str,
    ) -> None:
        """Store one statement under `statement_id` (Communication 2.1.1)."""
        principal.require(STATEMENT_WRITE_SCOPES)
        statement_id = parse_statement_id(statement_id, "statementId")
        if not isinstance(data, dict):
            raise InvalidRequestError(
                "PUT takes a single statement object", code="invalid_statement"
            )
        [statement] = validate_statements(data, version=version)
        sent_id = statement.get("id")
        if sent_id is None:
            statement["id"] = statement_id
        elif not isinstance(sent_id, str) or sent_id.lower() != statement_id:
            raise InvalidRequestError(
                "the statement id does not match the statementId parameter",
                code="invalid_statement",
                fields={"id": ["must match the statementId parameter"]},
            )
        attachments = match_attachments([statement], list(parts), batch=False, version=version)
        self._store(principal, [statement], attachments, version)

    def _store(
        self,
        principal: Principal,
        statements: list[dict[str, Any]],
        attachments: AttachmentData,
        version: str,
    ) -> list[str]:
        """The only write path of statements: pseudonymized and masked (`Privacy.prepare`,
        which seals a signature's data, holding the statement with identities in clear,
        rather than let it be stored as an attachment), then stored."""
        for statement in statements:
            if "id" not in statement:
                # The vault entry is bound to the id, so it is assigned before pseudonymizing.
                statement["id"] = str(uuid.uuid4())
        view = self.tenants.get(principal.tenant)
        sent = self.privacy.marks_of(view, statements) if view.policy.refuse_erased else []
        prepared = self.privacy.prepare(view, statements, attachments)
        if view.policy.refuse_erased:
            # As sent and as stored: a learner may be named by an identifier or a pseudonym.
            stored = self.privacy.marks_of(view, prepared.statements)
            self._refuse_erased(
                principal.tenant, [a | b for a, b in zip(sent, stored, strict=True)]
            )
        ids = store_statements(
            self.store,
            principal.tenant,
            prepared.statements,
            authority=principal.authority,
            writer=principal.key,
            attachments=prepared.attachments,
            sealed=prepared.sealed,
            identities=prepared.identities,
            define_activities=principal.allows(DEFINE_SCOPES),
            version=version,
            dimensions=[iri for _, iri in view.policy.dimensions],
        )
        self.privacy.remember(prepared)
        return ids

    def _refuse_erased(self, tenant: str, marks: list[set[str]]) -> None:
        """ForbiddenError naming each statement of the batch (`marks`: each one's) that names
        an erased learner (the tenant's `refuse_erased`); nothing is stored."""
        found = self.store.erased_among(tenant, sorted(set().union(*marks)))
        refused = [index for index, own in enumerate(marks) if own & found]
        if refused:
            rule = "names a learner erased from this tenant, whose policy refuses their statements"
            raise ForbiddenError(
                "the batch names a learner erased from this tenant (policy refuse_erased)",
                code="erased_learner_refused",
                fields={f"[{index}]": [rule] for index in refused},
            )

    # -- reads ----------------------------------------------------------------------------

    def read(
        self,
        principal: Principal,
        params: Mapping[str, str],
        *,
        more: str | None = None,
        languages: Sequence[str] = (),
        version: str = "1.0.3",
    ) -> StatementPage:
        """GET Statements (Communication 2.1.3): by statementId / voidedStatementId, or a
        page of the StatementResult the filters ask for; `more` continues a page from its
        cursor token (then `params` must be empty: the token holds the query). `version` is
        the reader's xAPI version (the token holds none: a page continues in the version
        of the request asking for it)."""
        principal.require(STATEMENT_READ_SCOPES)
        after = None
        if more is not None:
            params, after = decode_cursor(more)
        query = parse_statement_query(params)
        view = self.tenants.get(principal.tenant)
        if query.is_single:
            page, rows = self._single(principal, query, languages, version)
        else:
            limit = min(query.limit or self.limit_max, self.limit_max)
            rows = self.store.query_statements(
                principal.tenant, self._filter(query, principal, view, after), limit + 1
            )
            token = ""
            if len(rows) > limit:
                rows = rows[:limit]
                token = self._cursor(params, query, view, rows[-1])
            page = self._page(
                principal, rows, query, languages, version, single=False, more=token
            )
        filters = self._audit_filters(params, query, view)
        self.audit.record(
            principal, "statements.read", "statements", filters=filters, count=len(rows)
        )
        revealed = sum(1 for row in rows if row.sealed is not None and principal.reidentifies)
        if revealed:
            self.audit.record(
                principal, "statements.reidentify", "statements", filters=filters,
                count=revealed,
            )
        return page

    def _single(
        self,
        principal: Principal,
        query: StatementQuery,
        languages: Sequence[str],
        version: str,
    ) -> tuple[StatementPage, list[StoredStatement]]:
        """statementId / voidedStatementId (Communication 2.1.3, 2.1.4): not found for an
        unknown id, for a voided statement asked by statementId, and a live one asked by
        voidedStatementId."""
        wanted = query.statement_id or query.voided_statement_id
        assert wanted is not None
        found = self.store.get_statements(principal.tenant, [wanted]).get(wanted)
        if (
            found is None
            or found.voided != (query.voided_statement_id is not None)
            or (principal.reads_only_own and found.writer != principal.key)
        ):
            raise NotFoundError("no such statement")
        page = self._page(principal, [found], query, languages, version, single=True, more="")
        return page, [found]

    def _page(
        self,
        principal: Principal,
        rows: list[StoredStatement],
        query: StatementQuery,
        languages: Sequence[str],
        version: str,
        *,
        single: bool,
        more: str,
    ) -> StatementPage:
        """The rows as the reader may see them, in the asked format, and their attachment
        data when asked; `last_stored` is the newest `stored` (Last-Modified)."""
        readable = [self._readable(row, principal) for row in rows]
        statements = self._render(
            [raw for raw, _ in readable], query, principal.tenant, languages, version
        )
        attachments = None
        if query.attachments:
            sealed: AttachmentData = {}
            for _, parts in readable:
                sealed.update(parts)
            attachments = self._attachments(principal, rows, sealed)
        return StatementPage(
            statements=statements,
            single=single,
            more=more,
            last_stored=max((row.stored for row in rows), default=None),
            attachments=attachments,
        )

    def _filter(
        self,
        query: StatementQuery,
        principal: Principal,
        view: TenantView,
        after: tuple[str, str] | None,
    ) -> StatementFilter:
        """The storage filter for a query: the only place an `agent` parameter is read."""
        return StatementFilter(
            agent=(
                self.privacy.agent_key(view, query.agent)
                if query.agent is not None
                else None
            ),
            verb=query.verb,
            activity=query.activity,
            registration=query.registration,
            related_agents=query.related_agents,
            related_activities=query.related_activities,
            since=query.since,
            until=query.until,
            ascending=query.ascending,
            writer=principal.key if principal.reads_only_own else None,
            after=after,
        )

    def _readable(
        self, row: StoredStatement, principal: Principal
    ) -> tuple[bytes, AttachmentData]:
        """The stored statement, and no attachment data; for a `reidentify` reader the
        statement with its original agents and the sealed data of its signatures."""
        if row.sealed is None or not principal.reidentifies:
            return row.statement, {}
        return self.privacy.reveal(principal.tenant, row)

    def _render(
        self,
        raws: list[bytes],
        query: StatementQuery,
        tenant: str,
        languages: Sequence[str],
        version: str,
    ) -> list[bytes]:
        """Stored statements in the asked format; `exact` is the stored bytes untouched.
        `canonical` puts in the LRS's canonical Activity definitions (one read for all),
        then filters every language map by the reader's languages (Communication 2.1.3).
        With `strip_2_0_properties`, a 1.0.x reader's statements lose the properties 1.0.3
        does not define."""
        if query.format == "exact":
            rendered = raws
        else:
            statements = [orjson.loads(raw) for raw in raws]
            if query.format == "ids":
                rendered = [orjson.dumps(format_ids(statement)) for statement in statements]
            else:
                definitions = canonical_definitions(self.store, tenant, statements)
                rendered = [
                    orjson.dumps(
                        format_canonical(
                            with_canonical_definitions(statement, definitions), list(languages)
                        )
                    )
                    for statement in statements
                ]
        if not self.strip_2_0_properties or version_family(version) != "1.0":
            return rendered
        return [
            orjson.dumps(without_2_0_properties(orjson.loads(raw)))
            if b'"contextAgents"' in raw or b'"contextGroups"' in raw
            else raw
            for raw in rendered
        ]

    def _attachments(
        self, principal: Principal, rows: Iterable[StoredStatement], sealed: AttachmentData
    ) -> AttachmentData:
        """The data of every attachment of these statements, once per sha2, in order of
        first reference: from the store, or for signatures revealed to a `reidentify`
        reader from the vault (`sealed`). Attachments known only by fileUrl have none, nor
        does a signature for any other reader: they are left out. A reader limited to its
        own statements gets only stored data it sent itself: a statement may name any hash,
        and naming another writer's must not be a way to read its data (a reader of every
        statement may read every statement's data anyway)."""
        hashes: dict[str, None] = {}
        for row in rows:
            if b'"attachments"' in row.statement:
                hashes.update(dict.fromkeys(attachment_hashes(orjson.loads(row.statement))))
        wanted = [sha2 for sha2 in hashes if sha2 not in sealed]
        stored = self.store.get_attachments(
            principal.tenant, wanted,
            writer=principal.key if principal.reads_only_own else None,
        ) if wanted else {}
        found = {**stored, **sealed}
        return {sha2: found[sha2] for sha2 in hashes if sha2 in found}

    def _audit_filters(
        self, params: Mapping[str, str], query: StatementQuery, view: TenantView
    ) -> dict[str, str]:
        """The query as the audit log records it: an `agent` as its pseudonym, never raw."""
        filters = dict(params)
        if query.agent is not None:
            filters["agent"] = (
                orjson.dumps(self.privacy.stored_agent(view, query.agent)).decode()
                if self.privacy.pseudonymizes(view)
                else UNPSEUDONYMIZED
            )
        return filters

    def _cursor(
        self,
        params: Mapping[str, str],
        query: StatementQuery,
        view: TenantView,
        last: StoredStatement,
    ) -> str:
        """The cursor token: the query and the keyset position. An `agent` goes in as its
        pseudonym; reading the token maps the pseudonym to itself."""
        params = dict(params)
        if query.agent is not None:
            stored = self.privacy.stored_agent(view, query.agent)
            params["agent"] = orjson.dumps(stored).decode()
        payload = orjson.dumps({"q": params, "after": [last.stored, last.id]})
        return base64.urlsafe_b64encode(payload).rstrip(b"=").decode()


def decode_cursor(token: str) -> tuple[dict[str, str], tuple[str, str]]:
    """The query and keyset position of a cursor token; NotFoundError for one this LRS did
    not write (the page it names does not exist)."""
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        params, (stored, last_id) = data["q"], data["after"]
        if not (
            isinstance(params, dict)
            and all(isinstance(v, str) for v in params.values())
            and isinstance(stored, str)
            and isinstance(last_id, str)
        ):
            raise ValueError
    except (ValueError, TypeError, KeyError, binascii.Error, orjson.JSONDecodeError):
        raise NotFoundError("no such page of statements") from None
    return params, (stored, last_id)


def parse_statement_id(value: str | None, name: str) -> str:
    """A statement id parameter in canonical (lowercase) form; 400 naming `name` unless it
    is a UUID."""
    if value is None:
        raise invalid(f"{name} parameter is required", field=name)
    canonical = value.lower()
    if (
        len(canonical) != 36
        or [i for i, c in enumerate(canonical) if c == "-"] != [8, 13, 18, 23]
        or not set(canonical.replace("-", "")) <= _UUID_HEX
    ):
        raise invalid(f"{name} must be a UUID", field=name)
    return canonical
